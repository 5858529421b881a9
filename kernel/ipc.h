/* Synchronous IPC: send, receive, call, reply-and-wait; timeouts,
 * cancellation, clans and chiefs, kernel-generated IPC (faults, IRQs). */
#pragma once
#include "types.h"
#include "thread.h"

struct trap_frame;

/* thread.partner of a thread in an open receive (from anyone). */
#define IPC_OPEN L4_INVALID

/* Is tag a message tag the kernel takes (at most L4_MSG_WORDS words, no
 * reserved bit set)? */
static inline bool ipc_tag_valid(uint64_t tag)
{
    return L4_TAG_U(tag) + 2 * L4_TAG_T(tag) <= L4_MSG_WORDS && !(tag >> 14 & 0x3ffff);
}
/* ipc's mechanism (syscall.c checked the tag): me, the current thread
 * entered through f, sends (tag not L4_NODESC) to dest and then receives
 * (rcv not L4_NODESC) from dest or anyone, within the timeouts. A phase
 * that needs a page (string copy) is redone once the pager supplied it. */
void ipc_start(struct thread *me, struct trap_frame *f, uint64_t dest, uint64_t tag, uint64_t rcv,
               uint64_t timeouts);
/* fastpath.c: does the whole ipc and leaves the kernel if it can;
 * returns if not (then the general path does it). fastpath.S (the
 * common case in assembly) calls it for the cases it leaves. */
void ipc_fastpath(struct trap_frame *f);
/* The same for a message of one map or grant item after at most 4 words
 * (a pager's answer): fastpath.S calls it for such a tag; me: current. */
void ipc_fastpath_map(struct trap_frame *f, struct thread *me);
/* Where a thread that blocked in the fast path goes on (entry.S): a page
 * to fetch for a string copy, then the IPC again; or straight back. */
void ipc_resume(struct trap_frame *f);
/* Ends a thread's pending IPC with "cancelled" (lthread_ex_regs). */
void ipc_cancel(struct thread *t);
/* Takes a thread out of any IPC without a result (it is being stopped). */
void ipc_abort(struct thread *t);
/* Wakes every thread that waits for t with "aborted" (t goes away). */
void ipc_release_waiters(struct thread *t);
/* Ends the wait of every thread that waits for a reply from t, with
 * code: "aborted" when t goes away; "cancelled" when it starts afresh
 * and owes them nothing (L4_EXREGS_RESTART), so that a faulter faults
 * again, to the new body. Its queued senders stay. A scan of every
 * thread: its cost grows with the number of tasks. */
void ipc_release_callers(struct thread *t, unsigned code);
/* A finite timeout of t ran out. */
void ipc_timeout(struct thread *t);
/* The current thread (in user mode at the fault) calls its pager (or
 * exception handler) on the kernel's behalf: words in, result code out,
 * the reply's words in reply (if not NULL). */
unsigned ipc_kernel_call(uint64_t to, uint32_t label, const uint64_t *w, unsigned n, uint64_t *reply);
/* The same, waiting at most timeout (an ABI timeout field) in each phase. */
unsigned ipc_kernel_call_bounded(uint64_t to, uint32_t label, const uint64_t *w, unsigned n,
                                 uint64_t *reply, uint16_t timeout);
/* Writes the message of IRQ irq into t's registers. */
void ipc_irq_message(struct thread *t, unsigned irq);
/* Delivers an interrupt to the thread waiting for it; false if not waiting. */
bool ipc_deliver_irq(struct thread *t, unsigned irq);
