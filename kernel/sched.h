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
/* Is the timeout (a 16-bit field of the ABI) "zero" (do not wait)? */
static inline bool sched_timeout_is_zero(uint16_t to)
{
    return (to & 0x3ff) == 0 && (to >> 10) != 0;
}
/* Arms t's timeout (16-bit field of the ABI); "never" disarms it. */
void sched_set_timeout(struct thread *t, uint16_t to);
void sched_cancel_timeout(struct thread *t);
void sched_tick(unsigned us);               /* timer interrupt */
extern struct thread *sched_rq[256];        /* the ready queues, by priority */
extern uint64_t sched_rq_bits[4];           /* which of them are non-empty */
extern int sched_rq_top;                    /* the highest non-empty one; -1: none */
void sched_hand_over_slow(struct thread *from, struct thread *to);
/* The IPC fast paths' share, inline there. May to run now in place of
 * the current thread: is no ready thread above its priority? */
static inline bool sched_may_hand_over(const struct thread *to)
{
    return sched_rq_top <= to->prio;
}
/* And if so: from (running, so queued) blocks in RECV_WAIT and to (which
 * waits, so is in no queue) becomes current; the caller switches the CPU.
 * sched_hand_over_same: to has from's priority, so it simply takes from's
 * place in the queue (usually the head, where the running thread stays,
 * and from alone there). sched_hand_over: any priorities; if they differ,
 * from leaves its queue and to joins the tail of its own. */
static inline void sched_hand_over_same(struct thread *from, struct thread *to)
{
    to->state = TS_READY;
    to->fast_from = L4_NILTHREAD;
    if (__builtin_expect(from->rq_next == from, 1)) {
        to->rq_next = to->rq_prev = to;
        sched_rq[to->prio] = to;
    } else {                        /* others ready at this priority */
        to->rq_next = from->rq_next;
        to->rq_prev = from->rq_prev;
        to->rq_next->rq_prev = to->rq_prev->rq_next = to;
        if (sched_rq[to->prio] == from)
            sched_rq[to->prio] = to;
    }
    from->rq_next = from->rq_prev = NULL;
    from->state = TS_RECV_WAIT;     /* (the caller sets its fast_from) */
    current = to;
}
static inline void sched_hand_over(struct thread *from, struct thread *to)
{
    if (__builtin_expect(from->prio == to->prio, 1)) {
        sched_hand_over_same(from, to);
        thread_fast_wait(from);
    } else {
        to->state = TS_READY;
        to->fast_from = L4_NILTHREAD;
        sched_hand_over_slow(from, to);
        from->state = TS_RECV_WAIT;
        thread_fast_wait(from);
        current = to;
    }
}
NORETURN void sched_start(void);            /* the boot context becomes idle */
/* Ready queues and timeouts consistent (check.c); *queued: threads queued. */
bool sched_check(size_t *queued);
/* thread_switch's mechanism: the current thread goes to the tail of its
 * queue; t (if ready and not NULL) runs now whatever the priorities say
 * (donation), else the scheduler picks. */
void sched_yield_to(struct thread *t);
/* thread_schedule's: t's priority and timeslice in µs (~0 keeps each; the
 * caller checked them); a new timeslice takes effect at once. */
void sched_set_params(struct thread *t, uint64_t prio, uint64_t slice_us);
