/* The IPC fast path (see the design notes' FASTPATH.md): a call or a
 * reply-and-wait with a register-only message, an infinite receive timeout, to
 * a thread of the same clan that already waits for it and may run at
 * once. syscall_entry (entry.S) calls it before anything else for every
 * ipc. The message goes from the sender's saved registers straight into
 * the CPU's, which leaves the kernel into the receiver: no scheduler, no
 * kernel stack switch, nothing written to the receiver's saved registers
 * (they are stale from then on, as for any running thread). Any other case returns before it has changed
 * anything, and the general path (ipc.c) runs: same results.
 *
 * The receiver waits in RECV_WAIT, not for the kernel (ipc_kernel): it
 * blocked here or in sys_ipc, and either way all that is left for it in
 * the kernel is the return to user mode (a page to fetch for a string copy
 * arrives only with a general-path wake-up, never while it waits). So
 * its kernel stack is dropped, as the caller's is: the caller's is
 * replaced by the continuation ipc_resume (arch_fast_switch). Its saved
 * rip, where sysretq takes it, is canonical: it is the return address of
 * its system call, made from a user page, all of which lie below
 * MAP_USER_LIMIT (lthread_ex_regs and exception replies set a rip below
 * USER_TOP, and cancel any wait). */
#include "ipc.h"
#include "sched.h"
#include "space.h"
#include "arch/x86_64/fastswitch.h"
#include "arch/x86_64/trap.h"

/* syscall_entry keeps nothing in registers across this call: the
 * Makefile builds this file with rbx and r12-r15 as scratch registers and
 * no frame pointer, which spares the saves of a function that, when it
 * succeeds, never returns. Only syscall_entry may call it. */
void ipc_fastpath(struct trap_frame *f)
{
    struct thread *me = current;
    uint64_t tag = f->rsi, rd = f->rdx;
    /* Untyped words only, at most the register ones; no deceit, no label
     * bits that are not zero... only bits 0-31 of the tag count here: u
     * in 0-6 and every other bit of them clear. */
    if ((uint32_t)tag > L4_REG_WORDS)
        return;
    /* A receive phase (open or closed; not a detach: L4_NODESC has that
     * bit too) that waits forever (a finite one needs the timeout list).
     * The send timeout does not matter: the receiver is already waiting.
     * Accepting maps or strings is fine: whoever sends them to me later
     * takes the general path, which reads my descriptor then. */
    if ((rd & (L4_RCV_DETACH | ~0x7fffull)) || (uint16_t)(f->r10 >> 16))
        return;
    if (me->irq_lines || ((rd & L4_RCV_OPEN) && me->sq_head))
        return;                     /* something may be waiting for me */
    /* thread_lookup, inline: an id with bits above 35 matches no d->id */
    uint64_t id = f->rdi;
    struct space *ds = tasks[L4_ID_TASK(id)], *ms = me->space;
    if (!ds)
        return;
    struct thread *d = ds->threads[L4_ID_LTHREAD(id)];
    if (!d || d->id != id || d->state != TS_RECV_WAIT || d->ipc_kernel || d->deadline_us ||
        (d->partner != IPC_OPEN && d->partner != me->id))
        return;
    if (!space_direct(ms, ds))
        return;                     /* a chief would see it: general path */
    unsigned max = L4_RCV_MAXWORDS(d->rcv_desc);
    if (max && L4_TAG_U(tag) > max)
        return;
    me->timeouts = f->r10;          /* what sys_ipc would record for my receive */
    me->rcv_desc = rd;              /* (and sets itself if it runs instead) */
    me->partner = (rd & L4_RCV_OPEN) ? IPC_OPEN : id;
    d->utcb->intended_receiver = id;    /* (the general path would set it too) */
    /* Under space_direct, the sender is inside the receiver's subclans
     * exactly when the receiver is its chief. */
    uint64_t result = ds == ms->chief ? L4_IPC_OK | L4_IPC_FROM_INNER : L4_IPC_OK;
    if (!sched_hand_over(me, d))
        return;                     /* a thread above d is ready */
    arch_fast_switch(me, f, d, result, tag);
}
