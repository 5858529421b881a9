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
/* fastpath.S: into the user context `to` with the message registers of `msg`
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

/* arch_fast_switch's case of a task whose I/O bitmap must be copied into
 * the TSS (CR3 is loaded; thread_switch.c): out of line, so that the
 * common case keeps nothing across a call. */
NORETURN void arch_fast_io_exit(struct thread *prev, struct trap_frame *pf, struct thread *next,
                                uint64_t result, uint64_t tag);

/* Leaves into next with rax = result, rdi = prev's id, rsi = tag, prev's
 * message registers, next's other registers as saved; or, if next waits
 * for a kernel-made IPC's reply (its results in kres, ktag, kmsg), into
 * its kernel context. arch_fast_cpu, with arch_load_space's common cases
 * inline. Only for fastpath.c: r13-r15, three of the message registers,
 * must still hold pf's since the system call's entry (the Makefile keeps
 * the compiler off them there; every function called is bound to keep
 * them: callee-saved). */
INLINE NORETURN void arch_fast_switch(struct thread *prev, struct trap_frame *pf,
                                      struct thread *next, uint64_t result, uint64_t tag)
{
    /* read before the CR3 write (a memory clobber): the compiler may
     * know them already */
    bool into_kernel = next->ipc_kernel;
    uint64_t id = prev->id;
    struct trap_frame *nf = next->frame;
    struct space *s = next->space;
    uint64_t *below = (uint64_t *)pf;   /* pf: prev's trap frame */
    below[-1] = (uint64_t)fastpath_resume;
    prev->ksp = (uint64_t)(below - 7);
    __asm__ volatile("fxsave64 %0" : "=m"(prev->fpu));
    __asm__ volatile("fxrstor64 %0" ::"m"(next->fpu));
    gdt_set_kernel_stack((uint64_t)nf + sizeof(struct trap_frame));
    if (prev->space != s) {
        uint64_t cr3 = s->cr3;
        if (__builtin_expect(s->tlb_stale, 0)) {
            s->tlb_stale = false;
            cr3 &= ~CR3_NOFLUSH;
        }
        __asm__ volatile("mov %0, %%cr3" ::"r"(cr3) : "memory");
        if (!s->io_bitmap)
            gdt_tss.tss.iomap_base = GDT_IOMAP_NONE;
        else if (phys_to_virt(s->io_bitmap) == gdt_io_loaded)
            gdt_tss.tss.iomap_base = sizeof gdt_tss.tss;
        else
            arch_fast_io_exit(prev, pf, next, result, tag);
    }
    if (into_kernel)
        arch_resume(next->ksp);
    /* arch_fast_exit without a C call's moves and r13-r15's loads */
    __asm__ volatile("mov %0, %%rsp\n\tjmp arch_fast_exit_mr"
                     ::"r"(nf), "D"(id), "S"(tag), "a"(result), "c"(pf) : "memory");
    __builtin_unreachable();
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
