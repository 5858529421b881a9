/* IDT setup, trap dispatch, and the panic dump of a CPU exception. */
#include "trap.h"
#include "arch.h"
#include "cpu.h"
#include "gdt.h"
#include "pic.h"
#include "../../assert.h"
#include "../../log.h"
#include "../../ipc.h"
#include "../../irq.h"
#include "../../map.h"
#include "../../sched.h"
#include "../../sigma0.h"
#include "../../space.h"
#include "layout.h"

struct idt_entry {
    uint16_t off0, sel;
    uint8_t ist, flags;
    uint16_t off1;
    uint32_t off2, zero;
} __attribute__((packed));

static struct idt_entry idt[48];
extern char trap_vectors[];

static const char *const names[32] = {
    "#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
    "#BR bound range", "#UD invalid opcode", "#NM device not available",
    "#DF double fault", "coprocessor overrun", "#TS invalid TSS",
    "#NP segment not present", "#SS stack fault", "#GP general protection",
    "#PF page fault", "reserved", "#MF x87 error", "#AC alignment check",
    "#MC machine check", "#XM SIMD error", "#VE virtualization", "#CP control protection",
};

const char *trap_name(unsigned v)
{
    if (v < 32)
        return names[v] ? names[v] : "reserved";
    return "interrupt";
}

void idt_init(void)
{
    for (unsigned v = 0; v < ARRAY_SIZE(idt); v++) {
        uint64_t a = (uint64_t)trap_vectors + 16 * v;
        idt[v] = (struct idt_entry){
            .off0 = (uint16_t)a, .sel = SEL_KCODE, .flags = 0x8E, /* present, interrupt gate */
            .off1 = (uint16_t)(a >> 16), .off2 = (uint32_t)(a >> 32),
        };
    }
    idt[8].ist = IST_DOUBLE_FAULT;
    idt[2].ist = IST_NMI;
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) idtr = { sizeof idt - 1, (uint64_t)idt };
    __asm__ volatile("lidt %0" ::"m"(idtr));
}

static NORETURN void exception_panic(const struct trap_frame *f)
{
    log_panic_begin();
    kprintf("\nPANIC: CPU exception %s (vector %lu) in %s mode, error code 0x%lx\n",
            trap_name((unsigned)f->vector), f->vector, (f->cs & 3) ? "user" : "kernel", f->error);
    kprintf("  rip %016lx  cs %04lx  rflags %08lx  rsp %016lx  ss %04lx\n",
            f->rip, f->cs, f->rflags, f->rsp, f->ss);
    if (f->vector == 14)
        kprintf("  cr2 %016lx (faulting address)\n", READ_CR(2));
    kprintf("  rax %016lx  rbx %016lx  rcx %016lx  rdx %016lx\n", f->rax, f->rbx, f->rcx, f->rdx);
    kprintf("  rsi %016lx  rdi %016lx  rbp %016lx  r8  %016lx\n", f->rsi, f->rdi, f->rbp, f->r8);
    kprintf("  r9  %016lx  r10 %016lx  r11 %016lx  r12 %016lx\n", f->r9, f->r10, f->r11, f->r12);
    kprintf("  r13 %016lx  r14 %016lx  r15 %016lx  cr3 %016lx\n", f->r13, f->r14, f->r15, READ_CR(3));
    kprintf("backtrace:\n");
    log_frame(0, f->rip);
    arch_backtrace(f->rbp);
    kprintf("end of panic\n");
    arch_exit(EXIT_PANIC);
}

/* An exception in user mode: a page fault goes to the thread's pager as
 * IPC, anything else to its exception handler; with no one to tell, or if
 * that IPC fails, the thread is stopped and the kernel log says why. */
static void user_exception(struct trap_frame *f)
{
    struct thread *t = current;
    uint64_t w[4], reply[4];
    uint64_t addr = f->vector == 14 ? READ_CR(2) : f->rip;
    if (f->vector == 14 && addr < L4_USER_LIMIT) {
        if (t->space->task == L4_SIGMA0_TASK && sigma0_fault(t, addr, (f->error & 2) != 0))
            return;                 /* sigma0's idempotent memory */
        if (t->pager == L4_NILTHREAD) {
            thread_stop(t, "page fault with no pager", addr);
            schedule();
            return;
        }
        w[0] = L4_FAULT_WORD(addr, f->error & 2, f->error & 16);    /* #PF's W/R, I/D bits */
        w[1] = f->rip;
        unsigned r = ipc_kernel_call(t->pager, L4_LABEL_PAGEFAULT, w, 2, NULL);
        if (r != L4_IPC_OK && r != L4_IPC_SND_CANCELLED && r != L4_IPC_RCV_CANCELLED) {
            thread_stop(t, "page fault IPC to the pager failed", addr);
            schedule();
        }
        return;
    }
    if (t->exc_handler == L4_NILTHREAD) {
        thread_stop(t, trap_name((unsigned)f->vector), addr);
        schedule();
        return;
    }
    w[0] = f->vector;
    w[1] = f->error;
    w[2] = f->rip;
    w[3] = addr;
    unsigned r = ipc_kernel_call(t->exc_handler, L4_LABEL_EXCEPTION, w, 4, reply);
    if (r == L4_IPC_OK && L4_TAG_U(t->ktag) >= 2) {
        if (reply[0] < USER_TOP && reply[1] < USER_TOP) {
            f->rip = reply[0];      /* the handler says where to go on */
            f->rsp = reply[1];
        }
    } else if (r != L4_IPC_OK && r != L4_IPC_SND_CANCELLED && r != L4_IPC_RCV_CANCELLED) {
        thread_stop(t, trap_name((unsigned)f->vector), addr);
        schedule();
    }
}

void trap_dispatch(struct trap_frame *f)
{
    if (f->vector < 32) {
        if (!(f->cs & 3))
            exception_panic(f);
        user_exception(f);
    } else if (pic_irq((unsigned)f->vector - 32)) {
        unsigned irq = (unsigned)f->vector - 32;
        if (irq == 0)
            sched_tick(1000000 / arch_tick_hz());
        else
            irq_raise(irq);
    }
    if (sched_need_resched)
        schedule();
}
