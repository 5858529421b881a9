/* The IPC fast paths' switches (fastpath.c, ipc.c's kernel calls), inline
 * there: straight into the receiver's user context, which it left in a
 * system call, or (a thread waiting for a kernel-made IPC's reply) into
 * its kernel context.
 *
 * arch_fast_switch: from prev, blocked in a system call, which keeps no
 * kernel context: when something switches to it later it starts at
 * fastpath_resume (entry.S) with rsp at its trap frame. The words
 * arch_switch_stacks pops on the way there are the dead frames below the
 * trap frame (6 callee-saved registers: any value; then fastpath_resume in
 * the place of the return address to syscall_entry, which the fast path
 * never takes). Both are user threads. */
#pragma once
#include "gdt.h"
#include "layout.h"
#include "paging.h"
#include "trap.h"
#include "../../space.h"
#include "../../thread.h"

extern char fastpath_resume[];
/* entry.S: into the user context `to` with the message registers of `msg`
 * and rax, rdi, rsi as given (sysretq). */
NORETURN void arch_fast_exit(uint64_t rdi, uint64_t rsi, uint64_t rax,
                             const struct trap_frame *msg, const struct trap_frame *to);
/* The same from a thread that keeps its kernel context (saved as
 * arch_switch_stacks does, in *save_ksp): returns when switched back to. */
void arch_save_fast_exit(uint64_t rdi, uint64_t rsi, uint64_t rax, const struct trap_frame *msg,
                         const struct trap_frame *to, uint64_t *save_ksp);
/* Into the kernel context saved at ksp (arch_switch_stacks). */
NORETURN void arch_resume(uint64_t ksp);

/* Loads s's page tables and I/O bitmap (into the TSS) in place of those
 * of another task. With PCIDs, s's TLB entries survive unless they went
 * stale while it was not loaded. */
INLINE void arch_load_space(struct space *s)
{
    uint64_t cr3 = s->cr3;
    if (__builtin_expect(s->tlb_stale, 0)) {
        s->tlb_stale = false;
        cr3 &= ~CR3_NOFLUSH;
    }
    __asm__ volatile("mov %0, %%cr3" ::"r"(cr3) : "memory");
    /* gdt_load_io_bitmap, with its short cases inline */
    if (!s->io_bitmap)
        gdt_tss.tss.iomap_base = GDT_IOMAP_NONE;
    else if (phys_to_virt(s->io_bitmap) == gdt_io_loaded)
        gdt_tss.tss.iomap_base = sizeof gdt_tss.tss;
    else
        gdt_load_io_bitmap(phys_to_virt(s->io_bitmap), s->io_extent);
}

/* FPU state, kernel stack and address space from prev's to next's. */
INLINE void arch_fast_cpu(struct thread *prev, struct thread *next)
{
    __asm__ volatile("fxsave64 %0" : "=m"(prev->fpu));
    __asm__ volatile("fxrstor64 %0" ::"m"(next->fpu));
    gdt_set_kernel_stack((uint64_t)next->frame + sizeof(struct trap_frame));
    if (prev->space != next->space)
        arch_load_space(next->space);
}

/* Leaves into next with rax = result, rdi = prev's id, rsi = tag, prev's
 * message registers, next's other registers as saved; or, if next waits
 * for a kernel-made IPC's reply (its results in kres, ktag, kmsg), into
 * its kernel context. */
INLINE NORETURN void arch_fast_switch(struct thread *prev, struct trap_frame *pf,
                                      struct thread *next, uint64_t result, uint64_t tag)
{
    uint64_t *below = (uint64_t *)pf;   /* pf: prev's trap frame */
    below[-1] = (uint64_t)fastpath_resume;
    prev->ksp = (uint64_t)(below - 7);
    arch_fast_cpu(prev, next);
    if (next->ipc_kernel)
        arch_resume(next->ksp);
    arch_fast_exit(prev->id, tag, result, pf, next->frame);
}

/* From prev in the kernel, which keeps its kernel context (a kernel-made
 * IPC waiting for its reply), into next's user context with rax =
 * result, rdi = prev's id, rsi = tag and the message registers of next's
 * own trap frame. Returns when prev runs again. */
INLINE void arch_fast_call(struct thread *prev, struct thread *next, uint64_t result, uint64_t tag)
{
    arch_fast_cpu(prev, next);
    arch_save_fast_exit(prev->id, tag, result, next->frame, next->frame, &prev->ksp);
}
