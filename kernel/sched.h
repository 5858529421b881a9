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
/* The highest priority with a ready thread (the running one included). */
unsigned sched_top_prio(void);
/* from has just blocked; to is ready and may run now (IPC fast path):
 * switch without consulting the queues beyond what that changes. */
void sched_switch_direct(struct thread *from, struct thread *to);
NORETURN void sched_start(void);            /* the boot context becomes idle */
void sys_thread_switch(struct trap_frame *f);
void sys_thread_schedule(struct trap_frame *f);
