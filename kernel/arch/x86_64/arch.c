/* CPU bring-up and the small services generic code asks for. */
#include "arch.h"
#include "cpu.h"
#include "gdt.h"
#include "paging.h"
#include "pic.h"
#include "serial.h"
#include "trap.h"
#include "../../log.h"

/* x87/SSE on: the user-mode Lua runtime computes with doubles. The kernel
 * itself is built with -mgeneral-regs-only and never touches these. */
static void fpu_init(void)
{
    uint64_t cr0 = READ_CR(0);
    cr0 &= ~(1ull << 2);                /* EM off */
    cr0 |= (1ull << 1) | (1ull << 5);   /* MP, NE */
    WRITE_CR(0, cr0);
    WRITE_CR(4, READ_CR(4) | (1u << 9) | (1u << 10));  /* OSFXSR, OSXMMEXCPT */
    uint32_t mxcsr = 0x1F80;
    __asm__ volatile("fninit\n ldmxcsr %0" ::"m"(mxcsr));
}

void arch_early_init(void)
{
    serial_init();
    gdt_init();
    idt_init();
    fpu_init();
}

void arch_syscall_init(void);

void arch_late_init(paddr_t phys_limit)
{
    paging_init(phys_limit);
    arch_syscall_init();
    pic_init();         /* interrupts come on with the first user thread */
}

void arch_console_write(const char *s, size_t n)
{
    serial_write(s, n);
}

void arch_console_reset(void)
{
    serial_init();
}

void arch_exit(int code)
{
    cli();
    outb(0xF4, (uint8_t)code);      /* isa-debug-exit, if QEMU has one */
    for (;;)
        hlt();
}

void arch_idle(void)
{
    __asm__ volatile("sti\n hlt\n cli" ::: "memory");
}

/* Is [a, a+16) inside the kernel's mapped writable image or the direct
 * map? Only then is it safe to read a saved frame pointer from it. */
static bool frame_readable(uint64_t a)
{
    if (a & 7)
        return false;
    return (a >= (uint64_t)_erodata && a + 16 <= (uint64_t)_kernel_end);
}

void arch_backtrace(uint64_t rbp)
{
    for (int depth = 1; depth < 24 && frame_readable(rbp); depth++) {
        uint64_t *fp = (uint64_t *)rbp;
        uint64_t ret = fp[1];
        if (ret < (uint64_t)_text || ret >= (uint64_t)_etext)
            break;
        log_frame(depth, ret);
        rbp = fp[0];
    }
}
