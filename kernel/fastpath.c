/* The IPC fast path (see the design notes' FASTPATH.md): a call or a
 * reply-and-wait with a register-only message, an infinite receive timeout, to
 * a thread of the same clan that already waits for it and may run at
 * once. The message goes straight into the receiver's saved registers and
 * the CPU switches straight to it. Any other case returns false before it
 * has changed anything, and the general path (ipc.c) runs: same results. */
#include "ipc.h"
#include "sched.h"
#include "space.h"
#include "arch/x86_64/trap.h"


bool ipc_fastpath(struct trap_frame *f)
{
    struct thread *me = current;
    uint64_t tag = f->rsi, rd = f->rdx;
    /* Untyped words only, at most the register ones; no deceit. */
    if ((tag & 0xffffff80ull) || L4_TAG_U(tag) > L4_REG_WORDS)
        return false;
    /* A receive phase (open or closed; not a detach) that waits forever
     * (a finite one needs the timeout list). The send timeout does not
     * matter: the receiver is already waiting. Accepting maps or strings
     * is fine: whoever sends them to me later takes the general path,
     * which reads my descriptor then. */
    if (rd == L4_NODESC || (rd & L4_RCV_DETACH) || (rd >> 15) || (uint16_t)(f->r10 >> 16))
        return false;
    if (me->irq_lines || ((rd & L4_RCV_OPEN) && me->sq_head))
        return false;               /* something may be waiting for me */
    struct thread *d = thread_lookup(f->rdi);
    if (!d || d->state != TS_RECV_WAIT || d->ipc_kernel || d->deadline_us ||
        (d->partner != IPC_OPEN && d->partner != me->id))
        return false;
    struct space *ds = d->space, *ms = me->space;
    if (!space_direct(ms, ds))
        return false;               /* a chief would see it: general path */
    unsigned max = L4_RCV_MAXWORDS(d->rcv_desc);
    if ((max && L4_TAG_U(tag) > max) || d->prio < sched_top_prio())
        return false;

    struct trap_frame *df = d->frame;
    df->r8 = f->r8;
    df->r9 = f->r9;
    df->r12 = f->r12;
    df->r13 = f->r13;
    df->r14 = f->r14;
    df->r15 = f->r15;
    df->rax = L4_IPC_OK | (ds != ms && space_is_ancestor(ds, ms) ? L4_IPC_FROM_INNER : 0);
    df->rdi = me->id;
    df->rsi = tag;
    d->utcb->intended_receiver = d->id;

    me->timeouts = f->r10;
    me->rcv_desc = rd;
    me->snd_tag = tag;
    me->send_to_id = d->id;
    me->partner = (rd & L4_RCV_OPEN) ? IPC_OPEN : d->id;
    me->state = TS_RECV_WAIT;
    sched_switch_direct(me, d);     /* returns when my reply has come */
    return true;
}
