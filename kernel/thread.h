/* Threads: the TCB, creation and lookup by id. */
#pragma once
#include "types.h"
#include "../include/l4/abi.h"

struct space;
struct trap_frame;

enum thread_state {
    TS_INACTIVE,        /* created, never started, or killed */
    TS_READY,           /* runnable (in a ready queue, or running) */
    TS_SEND_WAIT,       /* in partner's send queue */
    TS_RECV_WAIT,       /* waiting for a message */
    TS_STOPPED,         /* stopped by an exception no one handles */
};

/* The TCB and the thread's kernel stack share one 16 KiB block: the TCB
 * at the bottom, the stack growing down from the top, with the user
 * context (struct trap_frame) saved at the very top on kernel entry. */
#define THREAD_BLOCK_SIZE (16 * 1024)
#define THREAD_CANARY 0x4c34756163616e61ull

struct thread {
    uint64_t id;
    struct space *space;
    enum thread_state state;
    uint64_t ksp;               /* saved kernel rsp while switched out */
    struct trap_frame *frame;   /* user context at the top of the stack */
    struct l4_utcb *utcb;       /* kernel view of the UTCB page */
    paddr_t utcb_phys;

    /* Scheduling (sched.c) */
    uint8_t prio;
    uint64_t timeslice_us, left_us;
    uint64_t cpu_us;                /* consumed CPU time */
    struct thread *rq_next, *rq_prev;
    uint64_t deadline_us;           /* finite timeout: wake-up time, else 0 */
    struct thread *to_next, *to_prev;   /* in the timeout list */

    /* IPC (ipc.c) */
    uint64_t pager, exc_handler;    /* ids; nil = none */
    uint64_t partner;               /* SEND_WAIT: whom; RECV_WAIT: from (nil = any) */
    /* Whom the fast path may hand a message to me from: partner while I
     * wait in RECV_WAIT for a user message (not ipc_kernel) with no
     * deadline; else L4_NILTHREAD, which nobody is. Set where I enter
     * RECV_WAIT (thread_fast_wait), nil at every other change of state
     * (check.c holds it so): fastpath.c's four tests in one. */
    uint64_t fast_from;
    uint64_t rcv_desc;              /* receive phase to enter after sending */
    uint64_t timeouts;
    uint64_t send_to_id;            /* the id the sender named (before redirection) */
    struct thread *sq_head;         /* threads waiting to send to me */
    struct thread *sq_next, *sq_prev;
    struct thread *sq_owner;        /* whose send queue I am in */
    uint64_t snd_tag;               /* tag of the message I am sending */
    bool ipc_kernel;                /* kernel speaks for me (fault IPC) */
    uint64_t kmsg[4];               /* that IPC's words */
    unsigned kres;                  /* and its result code */
    uint64_t ktag;                  /* and the reply's tag */
    uint16_t irq_lines;             /* bit n: IRQ n is attached to me */
    /* A string copy met a missing page in my space: I must ask my pager
     * for it (within pf_bound, the partner's page-fault timeout), then
     * redo the IPC phase pf_recv says. */
    bool pf_pending, pf_recv, pf_write;
    uint64_t pf_addr;
    uint16_t pf_bound;

    uint8_t fpu[512] __attribute__((aligned(16)));  /* FXSAVE area */
    uint64_t canary;
};

/* The thread with this id, or NULL (unknown, stale version, inactive slot). */
struct thread *thread_lookup(uint64_t id);
/* Makes a thread in slot lthread of s (inactive, prio 128 ...); NULL when
 * the slot is taken or kernel memory is exhausted. */
struct thread *thread_create(struct space *s, unsigned lthread);
/* Starts an inactive thread at user ip/sp. */
void thread_start(struct thread *t, uint64_t ip, uint64_t sp);
/* Ends a thread: leaves every queue, releases waiters, frees its memory. */
void thread_destroy(struct thread *t);
/* Stop a thread that faulted with no one to tell. */
void thread_stop(struct thread *t, const char *why, uint64_t addr);

/* lthread_ex_regs' values: in, the new ones (~0 keeps each; ip and sp
 * user addresses); out, the old ones and the user flags. */
struct thread_regs {
    uint64_t ip, sp, pager, exc, flags;
};
/* lthread_ex_regs' mechanism (syscall.c checked the values): lthread lt of
 * the caller's task, created if it does not exist (with the caller's
 * priority, pager and exception handler), gets the new values; a pending
 * IPC of it ends "cancelled"; an inactive or stopped thread given both an
 * ip and an sp starts. NULL if it could not be created (kernel memory). */
struct thread *thread_ex_regs(struct thread *caller, unsigned lt, struct thread_regs *r);

/* t has just entered RECV_WAIT (its partner, deadline and ipc_kernel
 * set): its fast_from. */
static inline void thread_fast_wait(struct thread *t)
{
    t->fast_from = t->ipc_kernel || t->deadline_us ? L4_NILTHREAD : t->partner;
}
/* The ABI's state of t (L4_TS_*: the same order as enum thread_state). */
static inline unsigned thread_abi_state(const struct thread *t)
{
    _Static_assert(TS_INACTIVE == L4_TS_INACTIVE && TS_READY == L4_TS_READY &&
                   TS_SEND_WAIT == L4_TS_SENDING && TS_RECV_WAIT == L4_TS_RECEIVING &&
                   TS_STOPPED == L4_TS_STOPPED, "thread states");
    return (unsigned)t->state;
}
/* Does t wait in an IPC phase (for t->partner)? */
static inline bool thread_waits(const struct thread *t)
{
    return t->state == TS_SEND_WAIT || t->state == TS_RECV_WAIT;
}

extern struct thread *current;
