/* The debug call's test-only operations, linked into the test kernel
 * only (build/kernel-test.elf): the tests end QEMU with a status, raise an
 * interrupt without a device, make the CMOS RTC raise a real one, and
 * shrink the kernel pool's limit (so that a fuzz boot runs out), and show
 * a task how its own page is mapped. The kernel that boots the system has
 * none of them (kernel/kdebug.h). */
#include "../../kernel/irq.h"
#include "../../kernel/kdebug.h"
#include "../../kernel/kmem.h"
#include "../../kernel/syscall.h"
#include "../../kernel/arch/x86_64/paging.h"

void kdebug_test_exit(struct trap_frame *f)
{
    arch_exit(sys_arg(f, 1) ? EXIT_FAIL : EXIT_PASS);
}

void kdebug_test_raise_irq(struct trap_frame *f)
{
    uint64_t irq = sys_arg(f, 1);
    if (irq == 0 || irq >= L4_NUM_IRQS) {
        sys_result(f, L4_EINVAL);       /* 0 is the kernel's timer */
        return;
    }
    irq_raise((unsigned)irq);
    sys_result(f, L4_OK);
}

/* The CMOS RTC's periodic interrupt (IRQ 8) on or off. As nobody reads
 * register C in between, it fires once per switch-on. */
void kdebug_test_rtc_irq(struct trap_frame *f)
{
    bool on = sys_arg(f, 1) != 0;
    outb(0x70, 0x8B);                   /* register B, NMI stays off */
    uint8_t b = inb(0x71);
    outb(0x70, 0x8B);
    outb(0x71, on ? (b | 0x40) : (b & ~0x40));
    outb(0x70, 0x0C);                   /* reading C re-arms the interrupt */
    (void)inb(0x71);
    sys_result(f, L4_OK);
}

/* The pool's limit, from 1 frame to the boot's: lower, allocations fail
 * as when the pool runs out (frames already used stay); back up, they
 * succeed again. Never above the boot's limit: the frames kmem_pmm keeps
 * free for the pool (sigma0's split, kernel/sigma0.c) are only those. */
void kdebug_test_kmem_limit(struct trap_frame *f)
{
    static size_t boot_limit;
    if (!boot_limit)
        boot_limit = kmem_limit;        /* only this op changes it */
    uint64_t n = sys_arg(f, 1);
    if (n == 0 || n > boot_limit) {
        sys_result(f, L4_EINVAL);
        return;
    }
    sys_set(f, 1, kmem_limit);
    kmem_limit = n;
    sys_result(f, L4_OK);
}

/* The caller's own mapping at an address: its rights and its page's PAT
 * index, so that a driver's test sees its BAR uncached as the page table
 * has it (docs/drivers.md "Device memory is uncached"). Not the frame:
 * a task learns no physical address through it. User pages are 4 KiB
 * (the mapping database maps no larger), whose bit 7 is PAT. */
void kdebug_test_mapping(struct trap_frame *f)
{
    paddr_t pa;
    uint64_t pte;
    if (!space_lookup(current->space, sys_arg(f, 1), &pa, &pte) || !(pte & PTE_P)) {
        sys_result(f, L4_EINVAL);
        return;
    }
    uint64_t rights = L4_R | (pte & PTE_W ? L4_W : 0) | (pte & PTE_NX ? 0 : L4_X);
    uint64_t pat = (pte & PTE_PWT ? 1 : 0) | (pte & PTE_PCD ? 2 : 0) | (pte & 0x80 ? 4 : 0);
    sys_set(f, 1, rights | pat << 4);
    sys_result(f, L4_OK);
}
