/* Host tests of the IPC state machine and the scheduler: the real
 * kernel/ipc.c, fastpath.c, sched.c (ready queues, the timeout list),
 * thread.c, space.c and syscall.c, run by threads of the host model of
 * kthreads.h (each thread's "user mode" a C body making system calls).
 * Send, receive, call and reply-and-wait meet in every order; zero,
 * finite and infinite timeouts; partners deleted or cancelled while
 * others wait on them; the send queues. After every step the kernel's
 * own self-check (kcheck: ready queues, timeouts and send queues agree
 * with every thread's state, the pool's frames with its objects) must
 * pass, and at the end of each case every pool frame is back. */
#include "check.h"
#include "kshim.h"
#include "kthreads.h"

#include "assert.h"
#include "ipc.h"
#include "sched.h"
#include "space.h"
#include "thread.h"

#include <string.h>

unsigned kcheck(uint64_t *used, uint64_t *held);   /* kernel/check.h (a name this folder has) */

#define NEVER L4_TO_NEVER
#define ZERO L4_TO_ZERO
#define TO_US(us) L4_TO(us, 0)          /* up to 1023 us */
#define TO_MS(ms) L4_TO(ms, 10)         /* ms * 1024 us */
#define TOS(snd, rcv) L4_TIMEOUTS(snd, rcv, 0, 0)
#define CLOSED 0ull
#define OPEN L4_RCV_OPEN

/* A run's record: what each thread saw, in order. */
struct seen {
    uint64_t result, from, tag, w[3], at_us;
};
static struct seen seen[64];
static unsigned nseen;
static struct space *A, *B;
static struct thread *T[8];
static size_t pool_base;

static void see(struct kt_ipc r, unsigned words)
{
    kassert(nseen < 64);
    struct seen *s = &seen[nseen++];
    *s = (struct seen){ r.result, r.from, r.tag, { 0 }, sched_now_us };
    for (unsigned i = 0; i < words && i < 3; i++)
        s->w[i] = kt_mr_get(i);
}

/* The kernel's self-check passes now. */
static void kcheck_ok(int line)
{
    uint64_t used, held;
    unsigned bad = kcheck(&used, &held);
    if (bad) {
        printf("  kcheck failed: bits %#x, pool %lu used, %lu held (line %d)\n", bad,
               (unsigned long)used, (unsigned long)held, line);
        check_case_failed = 1;
    }
}
#define KCHECK() kcheck_ok(__LINE__)

/* Two tasks (1 and 2, no chief: one clan), threads made by the tests. */
static void setup(void)
{
    pool_base = shim_pool_used;
    kt_init();
    A = space_create(1, NULL, 255);
    B = space_create(2, NULL, 255);
    kassert(A && B);
    memset(T, 0, sizeof T);
    nseen = 0;
}

static struct thread *make(struct space *s, unsigned lt, unsigned prio)
{
    struct thread *t = thread_create(s, lt);
    kassert(t);
    t->prio = (uint8_t)prio;
    return t;
}

/* Deletes both tasks; every pool frame must come back. */
static void teardown(void)
{
    KCHECK();
    space_destroy(A);
    space_destroy(B);
    KCHECK();
    kt_fini();
    CHECK_EQ(shim_pool_used, pool_base);
}

/* ---- bodies ---- */

static void send3(uint64_t to)          /* a send of three words, waiting for ever */
{
    kt_mr(0, 11), kt_mr(1, 12), kt_mr(2, 13);
    see(kt_ipc(to, L4_TAG(0x42, 3, 0), L4_NODESC, TOS(NEVER, NEVER)), 0);
}

static void recv_open(uint64_t arg)
{
    (void)arg;
    see(kt_ipc(L4_NILTHREAD, L4_NODESC, OPEN, TOS(NEVER, NEVER)), 3);
}

static void nap_then_send3(uint64_t to)
{
    see(kt_ipc(L4_NILTHREAD, L4_NODESC, CLOSED, TOS(NEVER, TO_US(100))), 0);
    send3(to);
}

static void recv_from(uint64_t from)
{
    see(kt_ipc(from, L4_NODESC, CLOSED, TOS(NEVER, NEVER)), 3);
}

/* ---- send and receive in both orders ---- */

static void test_send_then_receive(void)
{
    setup();
    T[0] = make(A, 0, 100);
    T[1] = make(B, 0, 100);
    kt_start(T[0], send3, T[1]->id);    /* runs first: T[1] does not wait yet */
    kt_start(T[1], recv_open, 0);
    kt_run();
    KCHECK();
    CHECK_EQ(nseen, 2);
    /* the sender queued (T[1] was not receiving), then T[1]'s receive took it */
    CHECK_EQ(seen[0].result, L4_IPC_OK);        /* receiver first: it took the message */
    CHECK_EQ(seen[0].from, T[0]->id);
    CHECK_EQ(seen[0].tag, L4_TAG(0x42, 3, 0));
    CHECK(seen[0].w[0] == 11 && seen[0].w[1] == 12 && seen[0].w[2] == 13);
    CHECK_EQ(seen[1].result, L4_IPC_OK);        /* the sender, made ready after */
    CHECK(kt_finished(T[0]) && kt_finished(T[1]));
    teardown();
}

static void test_receive_then_send(void)
{
    setup();
    T[0] = make(A, 0, 100);
    T[1] = make(B, 0, 100);
    kt_start(T[0], nap_then_send3, T[1]->id);   /* sleeps 100 us first */
    kt_start(T[1], recv_from, T[0]->id);        /* waits meanwhile */
    kt_run();
    CHECK_EQ(T[1]->state, TS_RECV_WAIT);
    CHECK_EQ(nseen, 0);
    KCHECK();
    kt_advance(200, 100);
    KCHECK();
    CHECK_EQ(nseen, 3);
    CHECK_EQ(seen[0].result, L4_IPC_RCV_TIMEOUT);   /* the nap */
    CHECK_EQ(seen[1].result, L4_IPC_OK);        /* the sender goes on at once */
    CHECK_EQ(seen[2].result, L4_IPC_OK);
    CHECK_EQ(seen[2].from, T[0]->id);
    CHECK(seen[2].w[0] == 11 && seen[2].w[2] == 13);
    teardown();
}

/* ---- call and reply-and-wait ---- */

/* Timeouts of the client's and the server's receive phases: NEVER lets
 * the fast path take every round trip; finite ones keep it out. */
static uint16_t rt_to;
static unsigned rt_rounds, rt_bad;

static void server(uint64_t arg)
{
    (void)arg;
    struct kt_ipc r = kt_ipc(L4_NILTHREAD, L4_NODESC, OPEN, TOS(NEVER, NEVER));
    for (;;) {
        if (r.result != L4_IPC_OK) {
            rt_bad++;
            r = kt_ipc(L4_NILTHREAD, L4_NODESC, OPEN, TOS(NEVER, NEVER));
            continue;
        }
        unsigned u = L4_TAG_U(r.tag);
        for (unsigned i = 0; i < u; i++)
            kt_mr(i, kt_mr_get(i) + 1);
        /* reply with a zero send timeout, then wait for the next */
        r = kt_ipc(r.from, L4_TAG(0, u, 0), OPEN, TOS(ZERO, rt_to));
    }
}

static void client(uint64_t server_id)
{
    for (unsigned i = 0; i < rt_rounds; i++) {
        unsigned u = i % 9;         /* register words and UTCB words */
        for (unsigned j = 0; j < u; j++)
            kt_mr(j, i * 100 + j);
        struct kt_ipc r = kt_ipc(server_id, L4_TAG(7, u, 0), CLOSED, TOS(rt_to, rt_to));
        bool good = r.result == L4_IPC_OK && r.from == server_id && L4_TAG_U(r.tag) == u;
        for (unsigned j = 0; j < u; j++)
            good = good && kt_mr_get(j) == i * 100 + j + 1;
        if (!good)
            rt_bad++;
        if (i % 16 == 0)
            kt_tick(100);           /* a timer interrupt now and then */
    }
}

/* Round trips between a server and two clients; fast: the fast path
 * must carry at least this many of the 1,000 calls and replies
 * (kt_fast_switches); -1: none. */
static void round_trips(uint16_t to, unsigned client_prio, unsigned server_prio, long fast)
{
    setup();
    kt_fast_switches = 0;
    rt_to = to;
    rt_rounds = 500;
    rt_bad = 0;
    T[0] = make(A, 0, server_prio);
    T[1] = make(B, 0, client_prio);
    T[2] = make(B, 1, client_prio);
    kt_start(T[0], server, 0);
    kt_run();
    kt_start(T[1], client, T[0]->id);
    kt_start(T[2], client, T[0]->id);
    kt_run();
    KCHECK();
    CHECK(kt_finished(T[1]) && kt_finished(T[2]));
    CHECK_EQ(rt_bad, 0);
    CHECK_EQ(T[0]->state, TS_RECV_WAIT);
    if (fast < 0 ? kt_fast_switches != 0 : (long)kt_fast_switches < fast)
        printf("  %lu fast switches (prio %u to %u)\n", kt_fast_switches, client_prio, server_prio);
    CHECK(fast < 0 ? kt_fast_switches == 0 : (long)kt_fast_switches >= fast);
    teardown();
}

static void test_call_reply_wait_fast_path(void)
{
    round_trips(NEVER, 100, 100, 1000);
}

static void test_call_reply_wait_general_path(void)
{
    round_trips(TO_MS(500), 100, 100, -1);      /* finite receives: never the fast path */
}

static void test_call_reply_wait_other_priorities(void)
{
    /* a call up to the server goes fast; its reply waits for the
     * scheduler (the server is above the client) */
    round_trips(NEVER, 90, 120, 400);
    /* a call down waits for the scheduler (the caller is above); the
     * reply finds the other client queued (an open receive with a
     * queue is the general path's): no round trip need go fast */
    round_trips(NEVER, 120, 90, 0);
    round_trips(TO_MS(500), 90, 120, -1);
}

/* ---- timeouts ---- */

static void send_zero(uint64_t to)
{
    see(kt_ipc(to, L4_TAG(0, 1, 0), L4_NODESC, TOS(ZERO, NEVER)), 0);
}

static void recv_zero(uint64_t from)
{
    see(kt_ipc(from, L4_NODESC, OPEN, TOS(NEVER, ZERO)), 0);
}

static void recv_timed(uint64_t to)
{
    see(kt_ipc(L4_NILTHREAD, L4_NODESC, OPEN, TOS(NEVER, (uint16_t)to)), 0);
}

static void send_timed(uint64_t arg)
{
    see(kt_ipc(arg >> 16, L4_TAG(0, 0, 0), L4_NODESC, TOS((uint16_t)arg, NEVER)), 0);
}

static void test_zero_timeouts(void)
{
    setup();
    T[0] = make(A, 0, 100);
    T[1] = make(B, 0, 100);
    kt_start(T[1], recv_from, L4_NILTHREAD);    /* waits, but not for T[0] ... */
    kt_run();
    kt_start(T[0], send_zero, T[1]->id);        /* ... so a zero send fails at once */
    kt_run();
    CHECK_EQ(nseen, 1);
    CHECK_EQ(seen[0].result, L4_IPC_SND_TIMEOUT);
    CHECK_EQ(seen[0].at_us, 0);
    CHECK(!T[1]->sq_head);
    KCHECK();
    T[2] = make(A, 1, 100);
    kt_start(T[2], recv_zero, 0);               /* nothing to receive */
    kt_run();
    CHECK_EQ(nseen, 2);
    CHECK_EQ(seen[1].result, L4_IPC_RCV_TIMEOUT);
    CHECK_EQ(T[2]->deadline_us, 0);
    teardown();
}

static void test_finite_receive_timeout(void)
{
    setup();
    T[0] = make(A, 0, 100);
    kt_start(T[0], recv_timed, TO_US(1000));    /* 1000 us */
    kt_run();
    CHECK_EQ(T[0]->state, TS_RECV_WAIT);
    CHECK_EQ(T[0]->deadline_us, 1000);
    kt_advance(999, 333);
    CHECK_EQ(nseen, 0);                         /* not before its time */
    KCHECK();
    kt_advance(1, 1);
    CHECK_EQ(nseen, 1);
    CHECK_EQ(seen[0].result, L4_IPC_RCV_TIMEOUT);
    CHECK_EQ(seen[0].at_us, 1000);
    CHECK_EQ(T[0]->deadline_us, 0);
    teardown();
}

static void test_finite_send_timeout_leaves_the_queue(void)
{
    setup();
    T[0] = make(A, 0, 100);
    T[1] = make(A, 1, 100);
    T[2] = make(B, 0, 100);
    kt_start(T[2], recv_from, L4_NILTHREAD);    /* receives, never from them */
    kt_run();
    kt_start(T[0], send_timed, T[2]->id << 16 | TO_US(500));
    kt_start(T[1], send_timed, T[2]->id << 16 | TO_US(800));
    kt_run();
    CHECK(T[2]->sq_head == T[0] && T[0]->sq_next == T[1]);
    KCHECK();
    kt_advance(600, 100);
    CHECK_EQ(nseen, 1);
    CHECK_EQ(seen[0].result, L4_IPC_SND_TIMEOUT);
    CHECK(T[2]->sq_head == T[1] && !T[1]->sq_next && T[1]->sq_prev == T[1]);
    KCHECK();
    kt_advance(300, 100);
    CHECK_EQ(nseen, 2);
    CHECK_EQ(seen[1].result, L4_IPC_SND_TIMEOUT);
    CHECK_EQ(seen[1].at_us, 800);
    CHECK(!T[2]->sq_head);
    teardown();
}

static void test_never_waits_for_ever(void)
{
    setup();
    T[0] = make(A, 0, 100);
    T[1] = make(B, 0, 100);
    kt_start(T[0], recv_timed, NEVER);
    kt_start(T[1], send_timed, (uint64_t)T[0]->id << 16 | NEVER);  /* to itself: T[0] waits open */
    T[2] = make(B, 1, 100);
    kt_start(T[2], send_timed, (uint64_t)T[2]->id << 16 | NEVER);  /* to itself: never met */
    kt_run();
    CHECK_EQ(nseen, 2);                         /* T[0] got T[1]'s message */
    kt_advance(10 * 1000 * 1000, 250 * 1000);   /* 10 s */
    CHECK_EQ(nseen, 2);
    CHECK_EQ(T[2]->state, TS_SEND_WAIT);
    CHECK(T[2]->sq_owner == T[2] && !T[2]->deadline_us);
    KCHECK();
    teardown();
}

/* Deadlines wake threads in their order, whatever the order they were set in. */
static void test_timeout_list_order(void)
{
    setup();
    static const unsigned us[] = { 700, 100, 900, 100, 400, 1000, 50 };
    for (unsigned i = 0; i < 7; i++) {
        T[i] = make(A, i, 100);
        kt_start(T[i], recv_timed, TO_US(us[i]));
    }
    kt_run();
    KCHECK();
    kt_advance(1000, 10);
    CHECK_EQ(nseen, 7);
    for (unsigned i = 0; i < nseen; i++)
        CHECK(seen[i].result == L4_IPC_RCV_TIMEOUT && (i == 0 || seen[i].at_us >= seen[i - 1].at_us));
    CHECK(seen[0].at_us == 50 && seen[6].at_us == 1000);
    teardown();
}

/* ---- partners that go away ---- */

static void test_receiver_of_a_deleted_thread_is_aborted(void)
{
    setup();
    T[0] = make(A, 0, 100);
    T[1] = make(B, 0, 100);
    kt_start(T[0], recv_timed, NEVER);          /* alive, waiting */
    kt_start(T[1], recv_from, T[0]->id);        /* closed receive from T[0] */
    kt_run();
    CHECK_EQ(T[1]->state, TS_RECV_WAIT);
    thread_destroy(T[0]);
    KCHECK();
    kt_run();
    CHECK_EQ(nseen, 1);
    CHECK_EQ(seen[0].result, L4_IPC_RCV_ABORTED);
    teardown();
}

static void test_senders_to_a_deleted_thread_are_aborted(void)
{
    setup();
    T[0] = make(A, 0, 100);
    kt_start(T[0], recv_from, L4_NILTHREAD);    /* never takes them */
    kt_run();
    for (unsigned i = 1; i < 4; i++) {
        T[i] = make(B, i, 100);
        kt_start(T[i], send3, T[0]->id);
    }
    kt_run();
    KCHECK();
    thread_destroy(T[0]);
    KCHECK();
    kt_run();
    CHECK_EQ(nseen, 3);
    for (unsigned i = 0; i < 3; i++)
        CHECK_EQ(seen[i].result, L4_IPC_SND_ABORTED);
    /* and a send to it now finds no one */
    T[4] = make(B, 4, 100);
    kt_start(T[4], send3, L4_ID(1, 0, A->next_version[0]));
    kt_run();
    CHECK_EQ(seen[3].result, L4_IPC_NOPARTNER);
    teardown();
}

static void test_deleting_a_queued_sender_relinks_the_queue(void)
{
    setup();
    T[0] = make(A, 0, 100);
    kt_start(T[0], recv_from, L4_NILTHREAD);
    kt_run();
    for (unsigned i = 1; i <= 4; i++) {
        T[i] = make(B, i, 100);
        kt_start(T[i], send3, T[0]->id);
    }
    kt_run();
    thread_destroy(T[2]);                       /* the middle */
    KCHECK();
    thread_destroy(T[4]);                       /* the tail */
    KCHECK();
    CHECK(T[0]->sq_head == T[1] && T[1]->sq_next == T[3] && !T[3]->sq_next &&
          T[1]->sq_prev == T[3] && T[3]->sq_prev == T[1]);
    thread_destroy(T[1]);                       /* the head */
    KCHECK();
    CHECK(T[0]->sq_head == T[3] && T[3]->sq_prev == T[3]);
    teardown();
}

/* A task deleted with its threads mid-call: the server's reply finds no one. */
static void test_client_task_deleted_mid_call(void)
{
    setup();
    rt_to = NEVER;
    rt_rounds = 1000000;
    rt_bad = 0;
    T[0] = make(A, 0, 100);
    kt_start(T[0], recv_from, L4_NILTHREAD);    /* a server that never answers */
    T[1] = make(B, 0, 100);
    kt_start(T[1], client, T[0]->id);
    kt_run();
    CHECK_EQ(T[1]->state, TS_SEND_WAIT);
    space_destroy(B);
    B = space_create(2, NULL, 255);
    KCHECK();
    CHECK(!T[0]->sq_head);
    teardown();
}

/* abi.md: NOPARTNER when the "closed-receive partner does not exist, or
 * has never been started", as for a send (it waited, up to its timeout
 * or for ever, before). */
static void test_closed_receive_from_a_thread_never_started(void)
{
    setup();
    T[0] = make(A, 0, 100);
    T[1] = make(B, 0, 100);                     /* created, never started */
    kt_start(T[0], recv_from, T[1]->id);
    kt_run();
    CHECK_EQ(nseen, 1);
    CHECK_EQ(seen[0].result, L4_IPC_NOPARTNER);
    T[2] = make(A, 2, 100);
    kt_start(T[2], send3, T[1]->id);            /* the send's answer, the same */
    kt_run();
    CHECK_EQ(nseen, 2);
    CHECK_EQ(seen[1].result, L4_IPC_NOPARTNER);
    teardown();
}

static void exregs_cancel(uint64_t lt)
{
    uint64_t a[6] = { lt, ~0ull, ~0ull, ~0ull, ~0ull, 0 }, out[6];
    see((struct kt_ipc){ kt_syscall(L4_SYS_LTHREAD_EX_REGS, a, out), out[0], 0 }, 0);
}

static void test_exregs_cancels_a_wait(void)
{
    setup();
    T[0] = make(A, 0, 100);
    T[2] = make(A, 2, 90);
    kt_start(T[0], recv_timed, TO_MS(100));     /* waits, with a deadline */
    kt_run();
    kt_start(T[2], exregs_cancel, 0);
    kt_run();
    KCHECK();
    CHECK_EQ(seen[nseen - 2].result, L4_IPC_RCV_CANCELLED);
    CHECK_EQ(seen[nseen - 1].result, L4_OK);
    CHECK_EQ(T[0]->deadline_us, 0);
    teardown();
}

/* ---- the scheduler: a donation ends with the slice ---- */

/* T[0] (100) gives the CPU to T[2] (90) with thread_switch; T[2] never
 * blocks and takes timer ticks. When its slice is over, T[0], ready all
 * the while, must run again: a donee below it may not keep the CPU. */
static unsigned donor_back, donee_ticks;

static void donor(uint64_t to)
{
    uint64_t a[6] = { to };
    kt_syscall(L4_SYS_THREAD_SWITCH, a, NULL);
    donor_back = 1;
}

static void donee(uint64_t arg)
{
    (void)arg;
    while (!donor_back && donee_ticks < 100) {
        donee_ticks++;
        kt_tick(1000);
    }
}

static void test_donation_ends_with_the_slice(void)
{
    setup();
    donor_back = donee_ticks = 0;
    T[0] = make(A, 0, 100);
    T[2] = make(A, 2, 90);
    kt_start(T[2], donee, 0);
    kt_start(T[0], donor, T[2]->id);
    kt_run();
    KCHECK();
    CHECK_EQ(donor_back, 1);
    CHECK(donee_ticks <= SCHED_DEFAULT_SLICE_US / 1000 + 1);
    CHECK(kt_finished(T[0]) && kt_finished(T[2]));
    teardown();
}

/* ---- the send queue ---- */

/* T[0] receives, cancelled once by a sibling, then closed from one
 * sender (out of the queue's order), then open: first come, first served. */
static uint64_t pick_id;
static uint64_t picked[8];
static unsigned npicked;

static void picker(uint64_t arg)
{
    (void)arg;
    struct kt_ipc r = kt_ipc(L4_NILTHREAD, L4_NODESC, CLOSED, TOS(NEVER, NEVER));
    picked[npicked++] = r.result;
    r = kt_ipc(pick_id, L4_NODESC, CLOSED, TOS(NEVER, NEVER));
    picked[npicked++] = r.result == L4_IPC_OK ? r.from : 0;
    for (unsigned i = 0; i < 3; i++) {
        r = kt_ipc(L4_NILTHREAD, L4_NODESC, OPEN, TOS(NEVER, ZERO));
        picked[npicked++] = r.result == L4_IPC_OK ? r.from : 0;
    }
    r = kt_ipc(L4_NILTHREAD, L4_NODESC, OPEN, TOS(NEVER, ZERO));
    picked[npicked++] = r.result;               /* none left */
}

static void test_send_queue_order_and_closed_pick(void)
{
    setup();
    npicked = 0;
    T[0] = make(A, 0, 100);
    kt_start(T[0], picker, 0);
    kt_run();
    for (unsigned i = 1; i <= 4; i++) {
        T[i] = make(B, i, 100);
        kt_start(T[i], send3, T[0]->id);
        kt_run();
    }
    KCHECK();
    pick_id = T[3]->id;
    T[5] = make(A, 5, 100);
    kt_start(T[5], exregs_cancel, 0);
    kt_run();
    KCHECK();
    CHECK_EQ(npicked, 6);
    CHECK_EQ(picked[0], L4_IPC_RCV_CANCELLED);
    CHECK_EQ(picked[1], T[3]->id);
    CHECK_EQ(picked[2], T[1]->id);
    CHECK_EQ(picked[3], T[2]->id);
    CHECK_EQ(picked[4], T[4]->id);
    CHECK_EQ(picked[5], L4_IPC_RCV_TIMEOUT);
    CHECK(!T[0]->sq_head);
    for (unsigned i = 1; i <= 4; i++)
        CHECK(kt_finished(T[i]));
    teardown();
}

/* ---- random interleavings ----
 * Twelve threads in three tasks, of three priorities, each doing
 * random sends, receives (open and closed), calls and reply-and-waits
 * to random partners (live, deleted, never started, nil), with zero,
 * finite and infinite timeouts and 0-12 words, each message's words
 * derived from its sender's id and a sequence number (the receiver
 * checks them), timer ticks in between; the test meanwhile moves the
 * clock, cancels waits (lthread_ex_regs' mechanism) and deletes and
 * recreates threads. After every step the self-check must pass. */
#define RN 12
static uint64_t rnd_state;
static unsigned rnd_step, rnd_bad, rnd_delivered, rnd_codes[16];
static struct thread *R[RN];
static uint64_t rnd_stale[RN];

static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

static uint64_t word(uint64_t id, uint64_t seq, unsigned k)
{
    return (id * 0x9e3779b97f4a7c15ull) ^ (seq << 8) ^ k;
}

static uint64_t rnd_partner(void)
{
    unsigned i = (unsigned)(rnd() % (RN + 3));
    if (i < RN)
        return R[i] ? R[i]->id : rnd_stale[i];
    return i == RN ? rnd_stale[rnd() % RN] : i == RN + 1 ? L4_NILTHREAD : L4_ID(3, 200, 1);
}

static uint16_t rnd_timeout(void)
{
    unsigned r = (unsigned)(rnd() % 32);
    return r == 0 ? NEVER : r < 8 ? ZERO : TO_US(1 + rnd() % 1000);
}

static void rnd_check(struct kt_ipc r, bool received)
{
    unsigned code = L4_IPC_ERR(r.result);
    rnd_codes[code < 16 ? code : 15]++;
    if (code > L4_IPC_INVAL || (r.result & ~0x7ffull))
        rnd_bad++;
    if (!received || code != L4_IPC_OK)
        return;
    rnd_delivered++;
    unsigned u = L4_TAG_U(r.tag);
    if (u >= 2 && kt_mr_get(0) != r.from)
        rnd_bad++;
    for (unsigned k = 2; k < u; k++)
        if (kt_mr_get(k) != word(r.from, kt_mr_get(1), k))
            rnd_bad++;
}

static void rnd_body(uint64_t seed)
{
    uint64_t seq = 0, last_from = L4_NILTHREAD;
    unsigned step = rnd_step, ops = 0;
    for (;;) {
        if (rnd_step != step)
            step = rnd_step, ops = 0;
        if (++ops > 40 || rnd() % 8 == 0) {     /* nap till the clock moves */
            kt_ipc(L4_NILTHREAD, L4_NODESC, CLOSED, TOS(NEVER, TO_US(10 + rnd() % 200)));
            continue;
        }
        if (rnd() % 16 == 0)
            kt_tick(50 + rnd() % 100);
        uint64_t me = current->id, to = rnd_partner();
        unsigned u = (unsigned)(rnd() % 13);
        seq++;
        kt_mr(0, me);
        kt_mr(1, seq);
        for (unsigned k = 2; k < u; k++)
            kt_mr(k, word(me, seq, k));
        uint64_t tag = L4_TAG(seed & 0xff, u, 0);
        uint64_t tos = TOS(rnd_timeout(), rnd_timeout());
        struct kt_ipc r;
        switch (rnd() % 5) {
        case 0:                                 /* send */
            rnd_check(kt_ipc(to, tag, L4_NODESC, tos), false);
            break;
        case 1:                                 /* open receive */
            r = kt_ipc(L4_NILTHREAD, L4_NODESC, OPEN, tos);
            rnd_check(r, true);
            if (L4_IPC_ERR(r.result) == L4_IPC_OK)
                last_from = r.from;
            break;
        case 2:                                 /* closed receive */
            rnd_check(kt_ipc(to, L4_NODESC, CLOSED, tos), true);
            break;
        case 3:                                 /* call */
            rnd_check(kt_ipc(to, tag, CLOSED, tos), true);
            break;
        default:                                /* reply and wait */
            r = kt_ipc(last_from, tag, OPEN, tos);
            rnd_check(r, true);
            if (L4_IPC_ERR(r.result) == L4_IPC_OK)
                last_from = r.from;
        }
    }
}

static void rnd_spawn(unsigned i)
{
    struct space *s = i % 3 == 0 ? A : i % 3 == 1 ? B : tasks[3];
    R[i] = make(s, 1 + i / 3, 90 + 10 * (unsigned)(rnd() % 3));
    kt_start(R[i], rnd_body, rnd());
}

static void random_run(uint64_t seed, unsigned steps)
{
    setup();
    struct space *C = space_create(3, NULL, 255);
    kassert(C);
    rnd_state = seed;
    rnd_bad = rnd_delivered = 0;
    memset(rnd_codes, 0, sizeof rnd_codes);
    for (unsigned i = 0; i < RN; i++) {
        rnd_stale[i] = L4_ID(1 + i % 3, 1 + i / 3, 0x77);
        rnd_spawn(i);
    }
    for (rnd_step = 0; rnd_step < steps; rnd_step++) {
        kt_advance(rnd() % 300, 1 + rnd() % 100);
        unsigned i = (unsigned)(rnd() % RN);
        switch (rnd() % 16) {
        case 0:                                 /* deleted, and made anew */
            rnd_stale[i] = R[i]->id;
            thread_destroy(R[i]);
            rnd_spawn(i);
            break;
        case 1: {                               /* a pending IPC cancelled */
            unsigned j = (unsigned)(rnd() % RN);
            if (R[j]->space == R[i]->space && i != j) {
                struct thread_regs keep = { ~0ull, ~0ull, ~0ull, ~0ull, 0 };
                thread_ex_regs(R[j], L4_ID_LTHREAD(R[i]->id), &keep);
            }
            break;
        }
        default:
            break;
        }
        KCHECK();
        if (check_case_failed)
            break;
    }
    space_destroy(C);
    CHECK_EQ(rnd_bad, 0);
    CHECK(rnd_delivered > steps / 2);           /* messages got through */
    printf("  seed %#lx: %u steps, %u delivered; results ok %u, no partner %u, timeouts %u/%u, "
           "cancelled %u/%u, aborted %u/%u\n", (unsigned long)seed, steps, rnd_delivered,
           rnd_codes[0], rnd_codes[1], rnd_codes[2], rnd_codes[3], rnd_codes[4], rnd_codes[5],
           rnd_codes[10], rnd_codes[11]);
    teardown();
}

static void test_random_interleavings(void)
{
    static const uint64_t seeds[] = { 0x4c347561, 0x1234567, 0xfe03524d, 0xdeadbeef };
    for (unsigned i = 0; i < 4 && !check_case_failed; i++)
        random_run(seeds[i], 3000);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);      /* every line out before a sanitizer aborts */
    check_prog = "ipc";
    RUN(test_send_then_receive);
    RUN(test_receive_then_send);
    RUN(test_call_reply_wait_fast_path);
    RUN(test_call_reply_wait_general_path);
    RUN(test_call_reply_wait_other_priorities);
    RUN(test_zero_timeouts);
    RUN(test_finite_receive_timeout);
    RUN(test_finite_send_timeout_leaves_the_queue);
    RUN(test_never_waits_for_ever);
    RUN(test_timeout_list_order);
    RUN(test_receiver_of_a_deleted_thread_is_aborted);
    RUN(test_senders_to_a_deleted_thread_are_aborted);
    RUN(test_deleting_a_queued_sender_relinks_the_queue);
    RUN(test_client_task_deleted_mid_call);
    RUN(test_closed_receive_from_a_thread_never_started);
    RUN(test_exregs_cancels_a_wait);
    RUN(test_donation_ends_with_the_slice);
    RUN(test_send_queue_order_and_closed_pick);
    RUN(test_random_interleavings);
    CHECK_EXIT();
}
