/* Scheduling: 256 priorities, round robin with timeslices, timeouts. */
#pragma once
#include "types.h"
#include "thread.h"

struct trap_frame;

#define SCHED_DEFAULT_PRIO 100
#define SCHED_DEFAULT_SLICE_US 10000

extern uint64_t sched_now_us;       /* the clock, advanced by the timer */
extern bool sched_need_resched;

void sched_init(void);
void sched_make_ready(struct thread *t);    /* state READY, in its queue */
void sched_remove(struct thread *t);        /* out of the ready queue */
/* Runs the highest-priority ready thread (or idle); returns when the
 * calling context is chosen again. */
void schedule(void);
/* Arms t's timeout (16-bit field of the ABI); false if it is "zero". */
bool sched_timeout_is_zero(uint16_t to);
void sched_set_timeout(struct thread *t, uint16_t to);
void sched_cancel_timeout(struct thread *t);
void sched_tick(unsigned us);               /* timer interrupt */
extern struct thread *sched_rq[256];        /* the ready queues, by priority */
extern uint64_t sched_rq_bits[4];           /* which of them are non-empty */
void sched_hand_over_slow(struct thread *from, struct thread *to);
/* The IPC fast path's share, inline there: from blocks in RECV_WAIT, to
 * becomes current (the caller switches the CPU), if no ready thread has a
 * higher priority than to; else false, nothing changed. When to has
 * from's priority and is not queued, it simply takes from's place at the
 * head of the queue, where the running thread stays; else from leaves its
 * queue and to joins the tail of its own. */
static inline bool sched_hand_over(struct thread *from, struct thread *to)
{
    const uint64_t *bits = sched_rq_bits;
    unsigned w = to->prio / 64, b = to->prio % 64;
    uint64_t above = bits[w] >> b >> 1;         /* ready threads above to */
    above |= (w < 1 ? bits[1] : 0) | (w < 2 ? bits[2] : 0) | (w < 3 ? bits[3] : 0);
    if (above)
        return false;
    to->state = TS_READY;
    if (__builtin_expect(from->rq_next == from && !to->rq_next && from->prio == to->prio, 1)) {
        to->rq_next = to->rq_prev = to;
        sched_rq[to->prio] = to;
        from->rq_next = from->rq_prev = NULL;
    } else {
        sched_hand_over_slow(from, to);
    }
    from->state = TS_RECV_WAIT;
    current = to;
    return true;
}
NORETURN void sched_start(void);            /* the boot context becomes idle */
/* Ready queues and timeouts consistent (check.c); *queued: threads queued. */
bool sched_check(size_t *queued);
void sys_thread_switch(struct trap_frame *f);
void sys_thread_schedule(struct trap_frame *f);
