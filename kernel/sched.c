/* The scheduler. One CPU; the kernel runs with interrupts off, so no locks.
 * The running thread stays at the head of its ready queue; a timeslice
 * that runs out moves it to the tail. Ready queues are circular lists,
 * with a bitmap of the non-empty ones. */
#include "sched.h"
#include "assert.h"
#include "ipc.h"
#include "kip.h"
#include "space.h"
#include "arch.h"

struct thread *current;
uint64_t sched_now_us;
bool sched_need_resched;

static struct thread idle_thread;           /* the boot context */
struct thread *sched_rq[256];               /* also read by sched_hand_over */
uint64_t sched_rq_bits[4];
int sched_rq_top = -1;                      /* also read by sched_may_hand_over */
static struct thread *timeouts;             /* sorted by deadline */

void sched_init(void)
{
    idle_thread.id = L4_NILTHREAD;
    idle_thread.state = TS_READY;
    current = &idle_thread;
    arch_fpu_init_state(idle_thread.fpu);
}

static void rq_add_tail(struct thread *t)
{
    struct thread **q = &sched_rq[t->prio];
    if (!*q) {
        t->rq_next = t->rq_prev = t;
        *q = t;
        sched_rq_bits[t->prio / 64] |= 1ull << (t->prio % 64);
        if (t->prio > sched_rq_top)
            sched_rq_top = t->prio;
    } else {
        t->rq_prev = (*q)->rq_prev;
        t->rq_next = *q;
        (*q)->rq_prev->rq_next = t;
        (*q)->rq_prev = t;
    }
}

/* The highest priority with a ready thread, from the bitmap; -1: none. */
static int top(void)
{
    for (int w = 3; w >= 0; w--)
        if (sched_rq_bits[w])
            return w * 64 + 63 - __builtin_clzll(sched_rq_bits[w]);
    return -1;
}

void sched_remove(struct thread *t)
{
    if (!t->rq_next)
        return;
    struct thread **q = &sched_rq[t->prio];
    if (t->rq_next == t) {
        *q = NULL;
        sched_rq_bits[t->prio / 64] &= ~(1ull << (t->prio % 64));
        if (t->prio == sched_rq_top)
            sched_rq_top = top();
    } else {
        t->rq_prev->rq_next = t->rq_next;
        t->rq_next->rq_prev = t->rq_prev;
        if (*q == t)
            *q = t->rq_next;
    }
    t->rq_next = t->rq_prev = NULL;
}

void sched_make_ready(struct thread *t)
{
    t->state = TS_READY;
    t->fast_from = L4_NILTHREAD;
    if (!t->rq_next)
        rq_add_tail(t);
    if (t->prio > current->prio || current == &idle_thread)
        sched_need_resched = true;
}

/* sched_hand_over's case of other priorities. */
void sched_hand_over_slow(struct thread *from, struct thread *to)
{
    /* (the fast path's common case, inline, asserts nothing) from runs,
     * so is queued; to waited, so is in no queue */
    kassert(from == current && from->rq_next && !to->rq_next && !to->sq_owner);
    sched_remove(from);
    rq_add_tail(to);
}

static struct thread *pick(void)
{
    return sched_rq_top >= 0 ? sched_rq[sched_rq_top] : &idle_thread;
}

void schedule(void)
{
    sched_need_resched = false;
    if (current->state != TS_READY && current != &idle_thread)
        sched_remove(current);
    struct thread *next = pick();
    if (next == current)
        return;
    struct thread *prev = current;
    current = next;
    arch_switch(prev, next);
}

void sched_cancel_timeout(struct thread *t)
{
    if (!t->deadline_us)
        return;
    if (t->to_prev)
        t->to_prev->to_next = t->to_next;
    else
        timeouts = t->to_next;
    if (t->to_next)
        t->to_next->to_prev = t->to_prev;
    t->to_next = t->to_prev = NULL;
    t->deadline_us = 0;
}

void sched_set_timeout(struct thread *t, uint16_t to)
{
    sched_cancel_timeout(t);
    unsigned m = to & 0x3ff, e = to >> 10;
    if (m == 0)
        return;             /* never (or zero, which the caller handled) */
    uint64_t us = e >= 40 ? (1ull << 50) : (uint64_t)m << e;
    t->deadline_us = sched_now_us + us;
    struct thread **p = &timeouts, *prev = NULL;
    while (*p && (*p)->deadline_us <= t->deadline_us) {
        prev = *p;
        p = &(*p)->to_next;
    }
    t->to_next = *p;
    t->to_prev = prev;
    if (*p)
        (*p)->to_prev = t;
    *p = t;
}

void sched_tick(unsigned us)
{
    sched_now_us += us;
    if (kip) {
        kip->clock_us = sched_now_us;
        if (!kip->tsc_per_us)       /* the timer's interrupts measure it */
            kip->tsc_per_us = arch_tsc_per_us();
    }
    while (timeouts && timeouts->deadline_us <= sched_now_us) {
        struct thread *t = timeouts;
        sched_cancel_timeout(t);
        ipc_timeout(t);
    }
    if (current == &idle_thread)
        return;
    current->cpu_us += us;
    if (current->left_us > us) {
        current->left_us -= us;
        return;
    }
    current->left_us = current->timeslice_us;
    if (current->rq_next && current->rq_next != current) {
        sched_remove(current);      /* to the tail of its queue */
        rq_add_tail(current);
    }
    /* The slice is over: the highest ready thread runs. It is another of
     * the same priority, or, when current ran by donation (thread_switch
     * to a lower thread), the higher one that waited meanwhile: without
     * this a donee that never blocks kept the CPU for good. */
    if (pick() != current)
        sched_need_resched = true;
}

void sched_start(void)
{
    for (;;) {
        schedule();
        arch_idle();        /* sti; hlt: interrupts may reschedule */
        if (sched_need_resched)
            continue;
    }
}

void sched_yield_to(struct thread *t)
{
    sched_remove(current);
    rq_add_tail(current);
    if (t && t->state == TS_READY && t != current) {
        /* Donation: t runs now, whatever the priorities say. */
        struct thread *prev = current;
        current = t;
        arch_switch(prev, t);
        return;
    }
    schedule();
}

void sched_set_params(struct thread *t, uint64_t prio, uint64_t slice_us)
{
    if (slice_us != ~0ull)
        t->timeslice_us = t->left_us = slice_us;    /* takes effect at once */
    if (prio != ~0ull && prio != t->prio) {
        bool queued = t->rq_next != NULL;
        sched_remove(t);
        t->prio = (uint8_t)prio;
        if (queued)
            rq_add_tail(t);
        sched_need_resched = true;  /* a higher or lower prio may change who runs */
    }
}

/* The ready queues and the timeout list are sound (the kernel check,
 * check.c): a queue is non-empty exactly when its bit is set (and
 * sched_rq_top is the highest such), holds only
 * READY threads of its priority, linked both ways; the timeout list is
 * sorted, linked both ways, and holds only waiting threads. *queued
 * counts the threads in ready queues. */
bool sched_check(size_t *queued)
{
    *queued = 0;
    for (unsigned p = 0; p < 256; p++) {
        struct thread *h = sched_rq[p], *t = h;
        if (!h != !(sched_rq_bits[p / 64] >> (p % 64) & 1))
            return false;
        size_t n = 0;
        for (; t && (n == 0 || t != h); t = t->rq_next, n++)
            if (t->prio != p || t->state != TS_READY || !t->rq_next || t->rq_next->rq_prev != t ||
                n > (size_t)L4_MAX_TASKS * L4_MAX_LTHREADS)
                return false;
        *queued += n;
    }
    if (sched_rq_top != top())
        return false;
    uint64_t last = 0;
    for (struct thread *t = timeouts, *prev = NULL; t; prev = t, t = t->to_next) {
        if (t->to_prev != prev || !t->deadline_us || t->deadline_us < last ||
            (t->state != TS_SEND_WAIT && t->state != TS_RECV_WAIT))
            return false;
        last = t->deadline_us;
    }
    return true;
}
