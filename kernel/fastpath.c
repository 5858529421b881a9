/* The IPC fast path (docs/kernel.md "IPC", the fast path): a call or a
 * reply-and-wait with a register-only message, an infinite receive timeout, to
 * a thread of the same clan that already waits for it and may run at
 * once. Its common case (same priority, no TLB flush, no I/O bitmap to
 * copy) is written in assembly (arch/x86_64/fastpath.S), which comes here
 * for the rest: ipc_fastpath for a register-only message it did not take,
 * ipc_fastpath_map for a pager's answer (below). The message goes from the
 * sender's saved registers straight into the CPU's, which leaves the
 * kernel into the receiver: no scheduler, no kernel stack switch, nothing
 * written to the receiver's saved registers (they are stale from then on,
 * as for any running thread). Any other case returns before it has
 * changed anything, and the general path (ipc.c) runs: same results.
 *
 * The receiver waits in RECV_WAIT, not for the kernel (ipc_kernel): it
 * blocked here or in sys_ipc, and either way all that is left for it in
 * the kernel is the return to user mode (a page to fetch for a string copy
 * arrives only with a general-path wake-up, never while it waits). So
 * its kernel stack is dropped, as the caller's is: the caller's is
 * replaced by the continuation ipc_resume (arch_fast_switch). Its saved
 * rip, where sysretq takes it, is canonical: it is the return address of
 * its system call, made from a user page, all of which lie below
 * L4_USER_LIMIT (lthread_ex_regs and exception replies set a rip below
 * USER_TOP, and cancel any wait).
 *
 * One more case, a pager's answer: a message that carries one map (or
 * grant) item of one page, to such a receiver or to a thread that waits
 * in the kernel for the reply to its page fault (ipc_kernel: the words
 * go to its kmsg, and it goes on in its kernel context). */
#include "ipc.h"
#include "map.h"
#include "sched.h"
#include "space.h"
#include "syscall.h"
#include "arch_fast.h"

/* fastpath.S keeps nothing in registers across these calls:
 * the Makefile builds this file with rbx and r12 as scratch registers and
 * no frame pointer, which spares the saves of a function that, when it
 * succeeds, never returns; and without r13-r15, which then still hold the
 * sender's MR3-MR5 when arch_fast_switch leaves into the receiver. In the
 * kernel only fastpath.S calls them (the host's tests call ipc_fastpath
 * from their model of the entry). The parts below are inlined into each case,
 * which keeps the register-only one as short as it was; what the common
 * case does not need (another priority, an I/O bitmap to copy) is out of
 * line, so that it calls no function and saves no register. */

/* The checks on the receive phase and the receiver for a message of n
 * words from me: the receiver (in RECV_WAIT for me; if kernel_ok, maybe
 * for a kernel-made IPC's reply), or NULL. Nothing changed. *inner: the
 * receiver is my chief (then the message is FROM_INNER, see deliver). */
INLINE struct thread *receiver(struct thread *me, struct trap_frame *f, uint64_t id, uint64_t rd,
                               unsigned n, bool kernel_ok, bool *inner)
{
    /* A receive phase (open or closed; not a detach: L4_NODESC has that
     * bit too) that waits forever (a finite one needs the timeout list).
     * The send timeout does not matter: the receiver is already waiting.
     * Accepting maps or strings is fine: whoever sends them to me later
     * reads my descriptor then. */
    if ((rd & (L4_RCV_DETACH | ~0x7fffull)) || (uint16_t)(sys_arg(f, IPC_TIMEOUTS) >> 16))
        return NULL;
    if (me->irq_lines || ((rd & L4_RCV_OPEN) && me->sq_head))
        return NULL;                /* something may be waiting for me */
    /* thread_lookup, inline: an id with bits above 35 matches no d->id */
    struct space *ds = tasks[L4_ID_TASK(id)], *ms = me->space;
    if (!ds)
        return NULL;
    struct thread *d = ds->threads[L4_ID_LTHREAD(id)];
    if (!d || d->id != id)
        return NULL;
    if (!kernel_ok) {               /* thread.h: RECV_WAIT, not ipc_kernel, no deadline */
        if (d->fast_from != IPC_OPEN && d->fast_from != me->id)
            return NULL;
        if (d->ipc_kernel)          /* (so the compiler knows it too) */
            __builtin_unreachable();
    } else if (d->state != TS_RECV_WAIT || d->deadline_us ||
               (d->partner != IPC_OPEN && d->partner != me->id)) {
        return NULL;
    }
    if (!space_direct_chief(ms, ds, inner))
        return NULL;                /* a chief would see it: general path */
    unsigned max = kernel_ok && d->ipc_kernel ? ARRAY_SIZE(d->kmsg) : L4_RCV_MAXWORDS(d->rcv_desc);
    if (max && n > max)
        return NULL;                /* cut */
    return sched_may_hand_over(d) ? d : NULL;   /* or a thread above d is ready */
}

/* Delivers the n words of my message to d (ready for it: receiver()),
 * records my receive phase (tag and rd: my system call's arguments, as
 * in f), and switches. kernel_ok as for receiver();
 * same_prio: d has my priority (sched_hand_over's short case). */
INLINE NORETURN void deliver(struct thread *me, struct trap_frame *f, struct thread *d, uint64_t tag,
                             uint64_t rd, unsigned n, bool inner, bool kernel_ok, bool same_prio)
{
    me->timeouts = sys_arg(f, IPC_TIMEOUTS);    /* what ipc_start would record for my receive */
    me->rcv_desc = rd;              /* (and sets itself if it runs instead) */
    me->partner = (rd & L4_RCV_OPEN) ? IPC_OPEN : d->id;
    me->fast_from = me->partner;    /* thread_fast_wait: I run, so no deadline */
    uint64_t result = L4_IPC_OK;
    if (kernel_ok && d->ipc_kernel) {   /* a fault's reply: the kernel takes it */
        for (unsigned i = 0; i < n; i++)
            d->kmsg[i] = *trap_mr(f, i);
        d->kres = L4_IPC_OK;
        d->ktag = tag;
    } else {
        d->utcb->intended_receiver = d->id;     /* (the general path would set it too) */
        /* Under space_direct, the sender is inside the receiver's subclans
         * exactly when the receiver is its chief. */
        if (inner)
            result |= L4_IPC_FROM_INNER;
    }
    if (same_prio)
        sched_hand_over_same(me, d);
    else
        sched_hand_over(me, d);     /* (thread_fast_wait(me): the same) */
    arch_fast_switch(me, f, d, result, tag);
}

/* deliver's case of a receiver of another priority: out of line, so that
 * the common case keeps nothing across a call (sched_hand_over_slow). */
static NORETURN __attribute__((noinline)) void deliver_any_prio(struct thread *me,
        struct trap_frame *f, struct thread *d, unsigned n, bool inner)
{
    deliver(me, f, d, sys_arg(f, IPC_TAG), sys_arg(f, IPC_RCV), n, inner, false, false);
}

/* The fast path with one map (or grant) item of one page after at most 4
 * words, typically a pager's answer to a page fault (then into the
 * faulting thread's kernel context, which waits for it). The page is
 * mapped once every check has passed: if that fails, nothing changed,
 * and the general path fails the same way (L4_IPC_MAP_FAILED). */
void __attribute__((noinline)) ipc_fastpath_map(struct trap_frame *f, struct thread *me)
{
    unsigned u = (uint32_t)sys_arg(f, IPC_TAG) & 0x7f;
    uint64_t w0 = *trap_mr(f, u), w1 = *trap_mr(f, u + 1);
    if ((w0 & 0xc) != L4_ITEM_MAP || (w1 & L4_FPAGE_IO) || L4_FPAGE_SIZE(w1) != PAGE_SHIFT)
        return;
    bool inner;
    struct thread *d = receiver(me, f, sys_arg(f, IPC_DEST), sys_arg(f, IPC_RCV), u + 2, true,
                                &inner);
    if (!d)
        return;
    uint64_t window = d->ipc_kernel ? L4_FPAGE(0, L4_WHOLE_SPACE, L4_RWX)
                    : (d->rcv_desc & L4_RCV_MAPS) ? d->utcb->rcv_window : 0;
    if (window && map_fpage(me->space, d->space, w0, w1, window))
        deliver(me, f, d, sys_arg(f, IPC_TAG), sys_arg(f, IPC_RCV), u + 2, inner, true, false);
}

/* The whole fast path, ipc's first three arguments as the system call
 * left them (dest, send tag, receive descriptor). */
static void fastpath(uint64_t dest, uint64_t tag, uint64_t rd, struct trap_frame *f)
{
    struct thread *me = current;
    /* Untyped words only, at most the register ones; no deceit, no label
     * bits that are not zero... only bits 0-31 of the tag count here: u
     * in 0-6 and every other bit of them clear. Or t = 1 and u <= 4. */
    unsigned n = (uint32_t)tag;
    if (n > L4_REG_WORDS) {
        if (n - (1u << 7) <= L4_REG_WORDS - 2)
            ipc_fastpath_map(f, me);
        return;
    }
    bool inner;
    struct thread *d = receiver(me, f, dest, rd, n, false, &inner);
    if (!d)
        return;
    if (__builtin_expect(me->prio != d->prio, 0))
        deliver_any_prio(me, f, d, n, inner);
    deliver(me, f, d, tag, rd, n, inner, false, true);
}

void ipc_fastpath(struct trap_frame *f)
{
    fastpath(sys_arg(f, IPC_DEST), sys_arg(f, IPC_TAG), sys_arg(f, IPC_RCV), f);
}
