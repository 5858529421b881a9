/* The IPC fast path's switch (fastpath.c), inline there: from prev,
 * blocked in a system call, straight into next's user context. prev keeps
 * no kernel context: when something switches to it later it starts at
 * fastpath_resume (entry.S) with rsp at its trap frame. The words
 * arch_switch_stacks pops on the way there are the dead frames below the
 * trap frame (6 callee-saved registers: any value; then fastpath_resume in
 * the place of the return address to syscall_entry, which the fast path
 * never takes). Both are user threads. */
#pragma once
#include "gdt.h"
#include "layout.h"
#include "trap.h"
#include "../../space.h"
#include "../../thread.h"

extern char fastpath_resume[];
/* entry.S: into the user context `to` with the message registers of `msg`
 * and rax, rdi, rsi as given (sysretq). */
NORETURN void arch_fast_exit(uint64_t rdi, uint64_t rsi, uint64_t rax,
                             const struct trap_frame *msg, const struct trap_frame *to);

/* Leaves with rax = result, rdi = prev's id, rsi = tag, prev's message
 * registers, next's other registers as saved. */
static inline NORETURN void arch_fast_switch(struct thread *prev, struct trap_frame *pf,
                                             struct thread *next, uint64_t result, uint64_t tag)
{
    __asm__ volatile("fxsave64 %0" : "=m"(prev->fpu));
    __asm__ volatile("fxrstor64 %0" ::"m"(next->fpu));
    uint64_t *below = (uint64_t *)pf;   /* pf: prev's trap frame */
    below[-1] = (uint64_t)fastpath_resume;
    prev->ksp = (uint64_t)(below - 7);
    gdt_set_kernel_stack((uint64_t)next->frame + sizeof(struct trap_frame));
    struct space *ps = prev->space, *ns = next->space;
    if (ps != ns) {
        __asm__ volatile("mov %0, %%cr3" ::"r"(ns->pml4) : "memory");
        /* gdt_load_io_bitmap, with its short cases inline */
        const uint8_t *b = ns->io_bitmap ? phys_to_virt(ns->io_bitmap) : NULL;
        if (!b) {
            if (ps->io_bitmap)
                gdt_tss.tss.iomap_base = GDT_IOMAP_NONE;
        } else if (b == gdt_io_loaded) {
            gdt_tss.tss.iomap_base = sizeof gdt_tss.tss;
        } else {
            gdt_load_io_bitmap(b, ns->io_extent);
        }
    }
    arch_fast_exit(prev->id, tag, result, pf, next->frame);
}
