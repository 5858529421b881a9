/* Suite "ipc": the semantics of the ipc system call as user code sees
 * them: send/receive (open and closed), call and reply-and-wait, register
 * and UTCB words, message cut, register-only calls of the fast path's
 * shapes, malformed tags, missing partners, zero,
 * finite and infinite timeouts, sleep, cancellation by lthread_ex_regs
 * and interrupts as IPC.
 *
 * Every thread of this task runs at the same priority (100, 10 ms slice),
 * so a thread made ready by main runs only when main blocks or yields:
 * main waits for the others with wait_state()/wait_flag(), which yield and
 * then sleep. Each case uses its own lthread numbers (threads never exit). */
#include "utest.h"

#define NEVER       L4_TO_NEVER
#define ZERO        L4_TO_ZERO
#define SND_TO(s)   L4_TIMEOUTS((s), 0, 0, 0)
#define RCV_TO(r)   L4_TIMEOUTS(0, (r), 0, 0)

/* ---- helpers ---- */

static void yield(void)
{
    l4_thread_switch(L4_NILTHREAD);
}

/* thread_schedule as a query: the thread's state (L4_TS_*) and partner. */
static uint64_t state_of(uint64_t id, uint64_t *partner)
{
    struct l4_sched_info si = { 0 };
    if (l4_thread_schedule(id, ~0ull, ~0ull, &si) != L4_OK)
        return ~0ull;
    if (partner)
        *partner = si.partner;
    return si.state;
}

/* Waits (about 2 s at most) until thread id is in state st and, if
 * check_partner, its partner is partner. */
static bool wait_state(uint64_t id, uint64_t st, bool check_partner, uint64_t partner)
{
    for (int i = 0; i < 2000; i++) {
        uint64_t p = 0;
        if (state_of(id, &p) == st && (!check_partner || p == partner))
            return true;
        if (i < 50)
            yield();
        else
            usleep_us(1000);
    }
    return false;
}

/* Waits (about 2 s at most) until *f >= v. */
static bool wait_flag(volatile int *f, int v)
{
    for (int i = 0; i < 2000; i++) {
        if (*f >= v)
            return true;
        if (i < 50)
            yield();
        else
            usleep_us(1000);
    }
    return *f >= v;
}

/* A thread that does nothing: it blocks at once, forever, in a receive
 * from nil (uthread_exit). It never waits for anyone's message. */
static void idle_fn(uint64_t arg)
{
    (void)arg;
}

static uint64_t pattern(unsigned i, uint64_t salt)
{
    return (0x0123456789abcdefull ^ salt) + (uint64_t)i * 0x9e3779b97f4a7c15ull;
}

/* ---- send, closed receive, open receive ---- */

static volatile int t1_stage;
static volatile uint64_t t1_r[2], t1_from[2], t1_tag[2], t1_w[2][6], t1_intended[2];
static volatile int t1_snd_done;
static volatile uint64_t t1_snd_r;

static void t1_receiver(uint64_t main_id)
{
    for (int k = 0; k < 2; k++) {
        struct l4_msg m = { 0 };
        uint64_t from = 0;
        if (k == 0)     /* closed: only from main */
            t1_r[k] = l4_ipc(main_id, L4_NODESC, 0, RCV_TO(NEVER), &m, &from);
        else            /* open: from anyone */
            t1_r[k] = l4_ipc(L4_NILTHREAD, L4_NODESC, L4_RCV_OPEN, RCV_TO(NEVER), &m, &from);
        t1_from[k] = from;
        t1_tag[k] = m.tag;
        t1_intended[k] = l4_utcb_of(1)->intended_receiver;
        for (int i = 0; i < 6; i++)
            t1_w[k][i] = m.w[i];
        t1_stage = k + 1;
    }
}

static void t1_sender(uint64_t dest)
{
    struct l4_msg m = { 0 };
    for (int i = 0; i < 6; i++)
        m.w[i] = 0x100 + (uint64_t)i;
    t1_snd_r = l4_ipc(dest, L4_TAG(0x5eed, 6, 0), L4_NODESC, SND_TO(NEVER), &m, 0);
    t1_snd_done = 1;
}

UTEST(send_to_closed_receiver_then_open_receive)
{
    uint64_t me = umyself();
    uint64_t a = uthread_start(1, t1_receiver, me);
    UCHECK(a != 0);
    UCHECK(wait_state(a, L4_TS_RECEIVING, true, me));
    UCHECK_EQ(t1_stage, 0);

    /* The receiver waits for me: even a zero send timeout succeeds. */
    struct l4_msg m = { 0 };
    m.w[0] = 0xaaaa0001;
    m.w[1] = 0xaaaa0002;
    m.w[2] = 0xaaaa0003;
    uint64_t r = l4_ipc(a, L4_TAG(0xabc, 3, 0), L4_NODESC, SND_TO(ZERO), &m, 0);
    UCHECK_EQ(r, L4_IPC_OK);
    UCHECK(wait_flag(&t1_stage, 1));
    UCHECK_EQ(t1_r[0], L4_IPC_OK);
    UCHECK_EQ(t1_from[0], me);
    UCHECK_EQ(t1_tag[0], L4_TAG(0xabc, 3, 0));
    UCHECK_EQ(L4_TAG_LABEL(t1_tag[0]), 0xabc);
    UCHECK_EQ(L4_TAG_U(t1_tag[0]), 3);
    UCHECK_EQ(t1_w[0][0], 0xaaaa0001);
    UCHECK_EQ(t1_w[0][1], 0xaaaa0002);
    UCHECK_EQ(t1_w[0][2], 0xaaaa0003);
    UCHECK_EQ(t1_intended[0], a);

    /* Open receive: a third thread's message, its id in "from". */
    UCHECK(wait_state(a, L4_TS_RECEIVING, true, L4_INVALID));
    uint64_t b = uthread_start(2, t1_sender, a);
    UCHECK(b != 0);
    UCHECK(wait_flag(&t1_stage, 2));
    UCHECK(wait_flag(&t1_snd_done, 1));
    UCHECK_EQ(t1_snd_r, L4_IPC_OK);
    UCHECK_EQ(t1_r[1], L4_IPC_OK);
    UCHECK_EQ(t1_from[1], b);
    UCHECK_EQ(L4_TAG_LABEL(t1_tag[1]), 0x5eed);
    UCHECK_EQ(L4_TAG_U(t1_tag[1]), 6);
    UCHECK_EQ(L4_TAG_T(t1_tag[1]), 0);
    for (int i = 0; i < 6; i++)
        UCHECK_EQ(t1_w[1][i], 0x100 + (uint64_t)i);
    UCHECK_EQ(t1_intended[1], a);
}

/* ---- a closed receive ignores other senders ---- */

static volatile int t2_stage, t2_snd_done;
static volatile uint64_t t2_r[2], t2_from[2], t2_label[2], t2_w0[2], t2_snd_r;

static void t2_receiver(uint64_t main_id)
{
    struct l4_msg m = { 0 };
    uint64_t from = 0;
    t2_r[0] = l4_ipc(main_id, L4_NODESC, 0, RCV_TO(NEVER), &m, &from);
    t2_from[0] = from;
    t2_label[0] = L4_TAG_LABEL(m.tag);
    t2_w0[0] = m.w[0];
    t2_stage = 1;
    /* main's message names the thread to receive from next */
    uint64_t other = m.w[0];
    umemset(&m, 0, sizeof m);
    from = 0;
    t2_r[1] = l4_ipc(other, L4_NODESC, 0, RCV_TO(NEVER), &m, &from);
    t2_from[1] = from;
    t2_label[1] = L4_TAG_LABEL(m.tag);
    t2_w0[1] = m.w[0];
    t2_stage = 2;
}

static void t2_sender(uint64_t dest)
{
    struct l4_msg m = { 0 };
    m.w[0] = 0x5e5e;
    t2_snd_r = l4_ipc(dest, L4_TAG(0x22, 1, 0), L4_NODESC, SND_TO(NEVER), &m, 0);
    t2_snd_done = 1;
}

UTEST(closed_receive_ignores_other_senders)
{
    uint64_t me = umyself();
    uint64_t rcv = uthread_start(3, t2_receiver, me);
    UCHECK(rcv != 0);
    UCHECK(wait_state(rcv, L4_TS_RECEIVING, true, me));
    uint64_t snd = uthread_start(4, t2_sender, rcv);
    UCHECK(snd != 0);
    /* The sender blocks: the receiver waits for me, not for it. */
    UCHECK(wait_state(snd, L4_TS_SENDING, true, rcv));
    usleep_us(5000);
    UCHECK_EQ(state_of(snd, 0), L4_TS_SENDING);
    UCHECK_EQ(t2_snd_done, 0);
    uint64_t p = 0;
    UCHECK_EQ(state_of(rcv, &p), L4_TS_RECEIVING);
    UCHECK_EQ(p, me);
    UCHECK_EQ(t2_stage, 0);

    struct l4_msg m = { 0 };
    m.w[0] = snd;
    UCHECK_EQ(l4_ipc(rcv, L4_TAG(0x11, 1, 0), L4_NODESC, SND_TO(ZERO), &m, 0), L4_IPC_OK);
    UCHECK(wait_flag(&t2_stage, 2));
    UCHECK(wait_flag(&t2_snd_done, 1));
    UCHECK_EQ(t2_r[0], L4_IPC_OK);
    UCHECK_EQ(t2_from[0], me);
    UCHECK_EQ(t2_label[0], 0x11);
    UCHECK_EQ(t2_w0[0], snd);
    /* The receiver's later closed receive from the sender takes it. */
    UCHECK_EQ(t2_r[1], L4_IPC_OK);
    UCHECK_EQ(t2_from[1], snd);
    UCHECK_EQ(t2_label[1], 0x22);
    UCHECK_EQ(t2_w0[1], 0x5e5e);
    UCHECK_EQ(t2_snd_r, L4_IPC_OK);
}

/* ---- call and reply-and-wait: one server, several clients ---- */

#define T3_CLIENTS 4
#define T3_CALLS   50
static volatile int t3_srv_count, t3_srv_errors;
static volatile int t3_done[T3_CLIENTS], t3_bad[T3_CLIENTS], t3_ok[T3_CLIENTS];
static volatile uint64_t t3_srv;

static void t3_server(uint64_t arg)
{
    (void)arg;
    struct l4_msg m = { 0 };
    uint64_t from = 0;
    uint64_t r = l4_ipc(L4_NILTHREAD, L4_NODESC, L4_RCV_OPEN, RCV_TO(NEVER), &m, &from);
    for (;;) {
        if (r != L4_IPC_OK) {
            t3_srv_errors++;
            r = l4_ipc(L4_NILTHREAD, L4_NODESC, L4_RCV_OPEN, RCV_TO(NEVER), &m, &from);
            continue;
        }
        t3_srv_count++;
        uint32_t label = L4_TAG_LABEL(m.tag);
        unsigned u = L4_TAG_U(m.tag);
        m.w[0] = m.w[0] + 1;
        m.w[1] = from;
        m.w[2] = label;
        m.w[3] = u;
        /* reply (send timeout zero: the caller waits) and wait for the next */
        r = l4_ipc(from, L4_TAG(label + 100, 4, 0), L4_RCV_OPEN, L4_TIMEOUTS(ZERO, NEVER, 0, 0),
                   &m, &from);
    }
}

static void t3_client(uint64_t i)
{
    uint64_t me = umyself(), srv = t3_srv;
    for (uint64_t n = 0; n < T3_CALLS; n++) {
        struct l4_msg m = { 0 };
        m.w[0] = (i << 32) | (n * 7);
        m.w[1] = 0xdead;
        uint64_t from = 0;
        uint64_t r = l4_ipc(srv, L4_TAG(10 + i, 2, 0), 0, L4_TIMEOUTS(NEVER, NEVER, 0, 0), &m, &from);
        if (r == L4_IPC_OK && from == srv && L4_TAG_LABEL(m.tag) == 110 + i &&
            L4_TAG_U(m.tag) == 4 && m.w[0] == ((i << 32) | (n * 7)) + 1 && m.w[1] == me &&
            m.w[2] == 10 + i && m.w[3] == 2)
            t3_ok[i]++;
        else
            t3_bad[i]++;
        if (n % 8 == 3)
            yield();    /* mix the clients' calls up a little more */
    }
    t3_done[i] = 1;
}

UTEST(call_reply_and_wait_many_clients)
{
    t3_srv = uthread_start(5, t3_server, 0);
    UCHECK(t3_srv != 0);
    UCHECK(wait_state(t3_srv, L4_TS_RECEIVING, true, L4_INVALID));
    for (unsigned i = 0; i < T3_CLIENTS; i++)
        UCHECK(uthread_start(6 + i, t3_client, i) != 0);
    for (unsigned i = 0; i < T3_CLIENTS; i++)
        UCHECK(wait_flag(&t3_done[i], 1));
    for (unsigned i = 0; i < T3_CLIENTS; i++) {
        UCHECK_EQ(t3_ok[i], T3_CALLS);
        UCHECK_EQ(t3_bad[i], 0);
    }
    UCHECK_EQ(t3_srv_count, T3_CLIENTS * T3_CALLS);
    UCHECK_EQ(t3_srv_errors, 0);
    /* the server is back in its open receive */
    UCHECK(wait_state(t3_srv, L4_TS_RECEIVING, true, L4_INVALID));
}

/* ---- register-only calls of the fast path's shapes ----
 * A server of this task in reply-and-wait (infinite timeouts: the fast
 * path's case) with the receive window t13_window (words; 0: any),
 * answering each call with its words inverted (and, if t13_checking,
 * running the kernel's self-check first: between the call's hop and the
 * reply's, where the ready queue holds the server in the caller's place).
 * What each shape must give is the general path's result: the window cuts
 * the message, a server of higher priority, a third thread ready at the
 * caller's priority (which must still run afterwards). */

#define T13_SRV 31
#define T13_SPIN 32
static volatile uint64_t t13_window, t13_count, t13_cut, t13_other, t13_checking, t13_bad_check;
static volatile int t13_spinning, t13_spun;
static volatile uint64_t t13_spins;

static void t13_server(uint64_t arg)
{
    (void)arg;
    struct l4_msg m = { 0 };
    uint64_t from = 0;
    uint64_t r = l4_ipc(L4_NILTHREAD, L4_NODESC, L4_RCV_OPEN | t13_window << 8, RCV_TO(NEVER), &m,
                        &from);
    for (;;) {
        if (r != L4_IPC_OK) {
            if (r == L4_IPC_RCV_CUT)
                t13_cut++;
            else
                t13_other++;
            r = l4_ipc(L4_NILTHREAD, L4_NODESC, L4_RCV_OPEN | t13_window << 8, RCV_TO(NEVER), &m,
                       &from);
            continue;
        }
        t13_count++;
        if (t13_checking) {
            uint64_t a[6] = { L4_KDEBUG_CHECK };
            if (l4_syscall6(L4_SYS_KDEBUG, a) != L4_OK)
                t13_bad_check++;
        }
        unsigned u = L4_TAG_U(m.tag);
        for (unsigned i = 0; i < u; i++)
            m.w[i] = ~m.w[i];
        r = l4_ipc(from, L4_TAG(L4_TAG_LABEL(m.tag) + 1, u, 0), L4_RCV_OPEN | t13_window << 8,
                   L4_TIMEOUTS(NEVER, NEVER, 0, 0), &m, &from);
    }
}

/* A call of u words to the server; true if it came back answered. */
static bool t13_call(uint64_t srv, unsigned u, uint64_t salt)
{
    struct l4_msg m = { 0 };
    for (unsigned i = 0; i < u; i++)
        m.w[i] = pattern(i, salt);
    uint64_t from = 0;
    uint64_t r = l4_ipc(srv, L4_TAG(0x130, u, 0), 0, L4_TIMEOUTS(NEVER, NEVER, 0, 0), &m, &from);
    bool ok = r == L4_IPC_OK && from == srv && m.tag == L4_TAG(0x131, u, 0);
    for (unsigned i = 0; i < u; i++)
        ok = ok && m.w[i] == ~pattern(i, salt);
    return ok;
}

/* Runs beside main at its priority, yielding, until told to stop. */
static void t13_spinner(uint64_t arg)
{
    (void)arg;
    while (t13_spinning) {
        t13_spins++;
        yield();
    }
    t13_spun = 1;
}

/* Yields until the spinner has gone round n more times (false if not). */
static bool t13_spins_on(uint64_t n)
{
    uint64_t from = t13_spins;
    for (int i = 0; i < 2000 && t13_spins < from + n; i++)
        yield();
    return t13_spins >= from + n;
}

UTEST(register_only_calls_cut_prio_and_ready_queue)
{
    uint64_t srv = uthread_start(T13_SRV, t13_server, 0);
    UCHECK(srv != 0);
    UCHECK(wait_state(srv, L4_TS_RECEIVING, true, L4_INVALID));
    for (unsigned u = 0; u <= L4_REG_WORDS; u++)
        UCHECK(t13_call(srv, u, u));
    UCHECK_EQ(t13_count, L4_REG_WORDS + 1);

    /* a window of 4 words (from the server's next receive on): 5 are cut
     * on both sides, nothing delivered; 4 pass */
    t13_window = 4;
    UCHECK(t13_call(srv, 1, 10));
    struct l4_msg m = { 0 };
    for (unsigned i = 0; i < 5; i++)
        m.w[i] = pattern(i, 11);
    uint64_t from = 0;
    UCHECK_EQ(l4_ipc(srv, L4_TAG(0x130, 5, 0), 0, L4_TIMEOUTS(NEVER, NEVER, 0, 0), &m, &from),
              L4_IPC_SND_CUT);
    UCHECK(wait_state(srv, L4_TS_RECEIVING, true, L4_INVALID));
    UCHECK_EQ(t13_cut, 1);
    UCHECK(t13_call(srv, 4, 12));
    UCHECK_EQ(t13_count, L4_REG_WORDS + 3);
    t13_window = 0;
    UCHECK(t13_call(srv, 2, 13));

    /* the server above my priority: my calls may go to it at once, its
     * replies wait for the scheduler (my priority is below) */
    t13_checking = 1;
    UCHECK_EQ(l4_thread_schedule(srv, 101, ~0ull, 0), L4_OK);
    for (unsigned k = 0; k < 20; k++)
        UCHECK(t13_call(srv, L4_REG_WORDS, 20 + k));
    UCHECK_EQ(l4_thread_schedule(srv, 100, ~0ull, 0), L4_OK);

    /* a third thread ready at our priority all along: every call and
     * reply hands over past it in the ready queue, and it runs on */
    t13_spinning = 1;
    UCHECK(uthread_start(T13_SPIN, t13_spinner, 0) != 0);
    UCHECK(t13_spins_on(1));
    for (unsigned k = 0; k < 200; k++)
        UCHECK(t13_call(srv, 3, 100 + k));
    UCHECK(t13_spins_on(3));
    t13_spinning = 0;
    UCHECK(wait_flag(&t13_spun, 1));
    UCHECK_EQ(t13_count, L4_REG_WORDS + 3 + 1 + 20 + 200);
    UCHECK_EQ(t13_other, 0);
    UCHECK_EQ(t13_bad_check, 0);
    t13_checking = 0;
}

/* ---- 64 words: 6 in registers, 58 in the UTCB ---- */

#define T4_LT 10
static volatile int t4_stage;
static volatile uint64_t t4_r, t4_from, t4_tag, t4_got[L4_MSG_WORDS], t4_reply_r;

static void t4_server(uint64_t arg)
{
    (void)arg;
    struct l4_utcb *u = l4_utcb_of(T4_LT);
    for (int i = 0; i < L4_MSG_WORDS; i++)
        u->mr[i] = 0;
    struct l4_msg m = { 0 };
    uint64_t from = 0;
    t4_r = l4_ipc(L4_NILTHREAD, L4_NODESC, L4_RCV_OPEN, RCV_TO(NEVER), &m, &from);
    t4_from = from;
    t4_tag = m.tag;
    for (int i = 0; i < L4_REG_WORDS; i++)
        t4_got[i] = m.w[i];
    for (int i = L4_REG_WORDS; i < L4_MSG_WORDS; i++)
        t4_got[i] = u->mr[i];
    /* reply with 64 other words */
    for (int i = 0; i < L4_REG_WORDS; i++)
        m.w[i] = pattern((unsigned)i, 0x5a5a);
    for (int i = L4_REG_WORDS; i < L4_MSG_WORDS; i++)
        u->mr[i] = pattern((unsigned)i, 0x5a5a);
    t4_reply_r = l4_ipc(from, L4_TAG(0x64, 64, 0), L4_NODESC, SND_TO(ZERO), &m, 0);
    t4_stage = 1;
}

UTEST(sixty_four_words_registers_and_utcb)
{
    uint64_t me = umyself();
    unsigned my_lt = L4_ID_LTHREAD(me);
    UCHECK_EQ(my_lt, 0);
    struct l4_utcb *u = l4_utcb_of(my_lt);
    uint64_t srv = uthread_start(T4_LT, t4_server, 0);
    UCHECK(srv != 0);
    UCHECK(wait_state(srv, L4_TS_RECEIVING, true, L4_INVALID));
    struct l4_msg m = { 0 };
    for (int i = 0; i < L4_REG_WORDS; i++)
        m.w[i] = pattern((unsigned)i, 0);
    for (int i = L4_REG_WORDS; i < L4_MSG_WORDS; i++)
        u->mr[i] = pattern((unsigned)i, 0);
    uint64_t from = 0;
    uint64_t r = l4_ipc(srv, L4_TAG(0x40, 64, 0), 0, 0, &m, &from);
    UCHECK_EQ(r, L4_IPC_OK);
    UCHECK_EQ(from, srv);
    UCHECK_EQ(m.tag, L4_TAG(0x64, 64, 0));
    for (int i = 0; i < L4_REG_WORDS; i++)
        UCHECK_EQ(m.w[i], pattern((unsigned)i, 0x5a5a));
    for (int i = L4_REG_WORDS; i < L4_MSG_WORDS; i++)
        UCHECK_EQ(u->mr[i], pattern((unsigned)i, 0x5a5a));
    UCHECK(wait_flag(&t4_stage, 1));
    UCHECK_EQ(t4_r, L4_IPC_OK);
    UCHECK_EQ(t4_from, me);
    UCHECK_EQ(t4_tag, L4_TAG(0x40, 64, 0));
    for (int i = 0; i < L4_MSG_WORDS; i++)
        UCHECK_EQ(t4_got[i], pattern((unsigned)i, 0));
    UCHECK_EQ(t4_reply_r, L4_IPC_OK);
}

/* ---- message cut ---- */

static volatile int t5_stage, t5_snd_done;
static volatile uint64_t t5_r[3], t5_tag[3], t5_w[3][6], t5_from[3], t5_snd_r;

static void t5_receiver(uint64_t main_id)
{
    for (int k = 0; k < 3; k++) {
        struct l4_msg m = { 0 };
        uint64_t from = 0;
        if (k == 2) {
            /* wait for main's go (a 0-word message), so that a sender
             * queues up before the limited receive */
            l4_ipc(main_id, L4_NODESC, 0, RCV_TO(NEVER), &m, &from);
            from = 0;
        }
        t5_r[k] = l4_ipc(L4_NILTHREAD, L4_NODESC, L4_RCV_OPEN | L4_RCV_WORDS(4), RCV_TO(NEVER),
                         &m, &from);
        t5_tag[k] = m.tag;
        t5_from[k] = from;
        for (int i = 0; i < 6; i++)
            t5_w[k][i] = m.w[i];
        t5_stage = k + 1;
    }
}

static void t5_sender(uint64_t dest)
{
    struct l4_msg m = { 0 };
    for (int i = 0; i < 6; i++)
        m.w[i] = 0x90 + (uint64_t)i;
    t5_snd_r = l4_ipc(dest, L4_TAG(0x10, 10, 0), L4_NODESC, SND_TO(NEVER), &m, 0);
    t5_snd_done = 1;
}

UTEST(message_cut)
{
    uint64_t me = umyself();
    uint64_t rcv = uthread_start(11, t5_receiver, me);
    UCHECK(rcv != 0);
    UCHECK(wait_state(rcv, L4_TS_RECEIVING, true, L4_INVALID));
    /* the receiver waits, accepting 4 words: 10 are too many */
    struct l4_msg m = { 0 };
    for (int i = 0; i < 6; i++)
        m.w[i] = 0x70 + (uint64_t)i;
    uint64_t r = l4_ipc(rcv, L4_TAG(0x10, 10, 0), L4_NODESC, SND_TO(NEVER), &m, 0);
    UCHECK_EQ(r, L4_IPC_SND_CUT);
    UCHECK(wait_flag(&t5_stage, 1));
    UCHECK_EQ(t5_r[0], L4_IPC_RCV_CUT);
    for (int i = 0; i < 6; i++)     /* no words copied */
        UCHECK_EQ(t5_w[0][i], 0);

    /* exactly 4 words fit */
    UCHECK(wait_state(rcv, L4_TS_RECEIVING, true, L4_INVALID));
    r = l4_ipc(rcv, L4_TAG(0x4, 4, 0), L4_NODESC, SND_TO(NEVER), &m, 0);
    UCHECK_EQ(r, L4_IPC_OK);
    UCHECK(wait_flag(&t5_stage, 2));
    UCHECK_EQ(t5_r[1], L4_IPC_OK);
    UCHECK_EQ(t5_from[1], me);
    UCHECK_EQ(t5_tag[1], L4_TAG(0x4, 4, 0));
    for (int i = 0; i < 4; i++)
        UCHECK_EQ(t5_w[1][i], 0x70 + (uint64_t)i);

    /* the sender queued first, the receiver then takes it: both cut */
    UCHECK(wait_state(rcv, L4_TS_RECEIVING, true, me));
    uint64_t snd = uthread_start(12, t5_sender, rcv);
    UCHECK(snd != 0);
    UCHECK(wait_state(snd, L4_TS_SENDING, true, rcv));
    r = l4_ipc(rcv, L4_TAG(0, 0, 0), L4_NODESC, SND_TO(ZERO), &m, 0);
    UCHECK_EQ(r, L4_IPC_OK);
    UCHECK(wait_flag(&t5_stage, 3));
    UCHECK(wait_flag(&t5_snd_done, 1));
    UCHECK_EQ(t5_r[2], L4_IPC_RCV_CUT);
    UCHECK_EQ(t5_snd_r, L4_IPC_SND_CUT);
    for (int i = 0; i < 6; i++)
        UCHECK_EQ(t5_w[2][i], 0);
}

/* ---- malformed tags ---- */

static volatile int t6_stage;
static volatile uint64_t t6_r, t6_tag, t6_from;

static void t6_receiver(uint64_t arg)
{
    (void)arg;
    struct l4_msg m = { 0 };
    uint64_t from = 0;
    t6_r = l4_ipc(L4_NILTHREAD, L4_NODESC, L4_RCV_OPEN, RCV_TO(NEVER), &m, &from);
    t6_tag = m.tag;
    t6_from = from;
    t6_stage = 1;
}

UTEST(malformed_tag_is_inval)
{
    uint64_t me = umyself();
    uint64_t rcv = uthread_start(13, t6_receiver, 0);
    UCHECK(rcv != 0);
    UCHECK(wait_state(rcv, L4_TS_RECEIVING, true, L4_INVALID));
    static const uint64_t bad[] = {
        L4_TAG(1, 65, 0),                   /* u > 64 */
        L4_TAG(1, 127, 0),
        L4_TAG(1, 64, 1),                   /* u + 2t = 66 */
        L4_TAG(1, 0, 33),                   /* 2t = 66 */
        L4_TAG(1, 2, 32),
        L4_TAG(1, 0, 63),
        L4_TAG(1, 1, 0) | (1ull << 14),     /* reserved bits 14..31 */
        L4_TAG(1, 1, 0) | (1ull << 20),
        L4_TAG(1, 1, 0) | (1ull << 31),
        L4_TAG(1, 1, 0) | (0x3ffffull << 14),
    };
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct l4_msg m = { 0 };
        /* a send and a call with a bad tag, to a waiting receiver */
        uint64_t r = l4_ipc(rcv, bad[i], L4_NODESC, SND_TO(ZERO), &m, 0);
        if (r != L4_IPC_INVAL)
            uprintf("  bad tag %lx: send gave %lx\n", bad[i], r);
        UCHECK_EQ(r, L4_IPC_INVAL);
        uint64_t t0 = unow_us();
        r = l4_ipc(rcv, bad[i], 0, L4_TIMEOUTS(uto_us(30000), uto_us(30000), 0, 0), &m, 0);
        if (r != L4_IPC_INVAL)
            uprintf("  bad tag %lx: call gave %lx\n", bad[i], r);
        UCHECK_EQ(r, L4_IPC_INVAL);
        UCHECK(unow_us() - t0 <= 1000);     /* did not wait */
    }
    /* none of them reached the receiver */
    UCHECK_EQ(t6_stage, 0);
    UCHECK_EQ(state_of(rcv, 0), L4_TS_RECEIVING);
    /* a good one does */
    struct l4_msg m = { 0 };
    UCHECK_EQ(l4_ipc(rcv, L4_TAG(0x77, 1, 0), L4_NODESC, SND_TO(ZERO), &m, 0), L4_IPC_OK);
    UCHECK(wait_flag(&t6_stage, 1));
    UCHECK_EQ(t6_r, L4_IPC_OK);
    UCHECK_EQ(t6_tag, L4_TAG(0x77, 1, 0));
    UCHECK_EQ(t6_from, me);
}

/* ---- no partner ---- */

static uint64_t send_to(uint64_t dest, uint16_t snd_to)
{
    struct l4_msg m = { 0 };
    return l4_ipc(dest, L4_TAG(1, 1, 0), L4_NODESC, SND_TO(snd_to), &m, 0);
}

UTEST(send_to_nonexistent_is_nopartner)
{
    uint64_t me = umyself();
    unsigned task = L4_ID_TASK(me), ver = L4_ID_VERSION(me);
    UCHECK_EQ(task, L4_ROOT_TASK);
    uint64_t idle = uthread_start(14, idle_fn, 0);
    UCHECK(idle != 0);
    UCHECK(wait_state(idle, L4_TS_RECEIVING, true, L4_NILTHREAD));
    unsigned iv = L4_ID_VERSION(idle);
    /* finite timeouts: a wrong kernel times out instead of hanging */
    uint16_t to = uto_us(20000);
    const uint64_t none[] = {
        L4_ID(task, 0, (ver + 1) & 0xffff),     /* me, wrong version */
        L4_ID(task, 0, ver ^ 0x8000),
        L4_ID(task, 14, (iv + 1) & 0xffff),     /* existing lthread, stale version */
        L4_ID(task, 14, (iv - 1) & 0xffff),
        L4_ID(task, 14, 0),
        L4_ID(task, 60, ver),                   /* lthread never created */
        L4_ID(task, 255, ver),
        L4_NILTHREAD,
        L4_INVALID,
        L4_ID(77, 0, ver),                      /* no such task */
        L4_ID(L4_SIGMA0_TASK, 0, ver),          /* no sigma0 in this boot */
        L4_ID(4095, 0, ver),
        idle | (1ull << 40),                    /* bits above the id */
    };
    for (unsigned i = 0; i < sizeof none / sizeof none[0]; i++) {
        uint64_t t0 = unow_us();
        uint64_t r = send_to(none[i], to);
        if (r != L4_IPC_NOPARTNER)
            uprintf("  dest %lx: send gave %lx\n", none[i], r);
        UCHECK_EQ(r, L4_IPC_NOPARTNER);
        UCHECK(unow_us() - t0 <= 1000);
        /* a call, too */
        struct l4_msg m = { 0 };
        r = l4_ipc(none[i], L4_TAG(1, 0, 0), 0, L4_TIMEOUTS(to, to, 0, 0), &m, 0);
        UCHECK_EQ(r, L4_IPC_NOPARTNER);
    }
    /* a closed receive from a thread that does not exist */
    struct l4_msg m = { 0 };
    uint64_t r = l4_ipc(L4_ID(task, 14, (iv + 1) & 0xffff), L4_NODESC, 0, RCV_TO(to), &m, 0);
    UCHECK_EQ(r, L4_IPC_NOPARTNER);
    r = l4_ipc(L4_ID(task, 61, ver), L4_NODESC, 0, RCV_TO(to), &m, 0);
    UCHECK_EQ(r, L4_IPC_NOPARTNER);
    /* the version matters: the right id finds the thread (which is not
     * waiting for me, so a zero timeout times out) */
    UCHECK_EQ(send_to(idle, ZERO), L4_IPC_SND_TIMEOUT);
    UCHECK_EQ(send_to(L4_ID(task, 14, iv), ZERO), L4_IPC_SND_TIMEOUT);
}

/* ---- zero timeouts ---- */

static volatile int t8_snd_done;
static volatile uint64_t t8_snd_r;

static void t8_sender(uint64_t dest)
{
    struct l4_msg m = { 0 };
    m.w[0] = 0x8888;
    t8_snd_r = l4_ipc(dest, L4_TAG(0x88, 1, 0), L4_NODESC, SND_TO(NEVER), &m, 0);
    t8_snd_done = 1;
}

UTEST(zero_timeouts)
{
    uint64_t me = umyself();
    uint64_t idle = uthread_start(15, idle_fn, 0);
    UCHECK(idle != 0);
    UCHECK(wait_state(idle, L4_TS_RECEIVING, true, L4_NILTHREAD));
    /* send: the thread does not wait for me */
    uint64_t t0 = unow_us();
    UCHECK_EQ(send_to(idle, ZERO), L4_IPC_SND_TIMEOUT);
    UCHECK(unow_us() - t0 <= 1000);
    uint64_t p = 0;
    UCHECK_EQ(state_of(idle, &p), L4_TS_RECEIVING);
    UCHECK_EQ(p, L4_NILTHREAD);
    /* a call whose send times out does not receive */
    struct l4_msg m = { 0 };
    t0 = unow_us();
    UCHECK_EQ(l4_ipc(idle, L4_TAG(1, 0, 0), 0, L4_TIMEOUTS(ZERO, NEVER, 0, 0), &m, 0),
              L4_IPC_SND_TIMEOUT);
    UCHECK(unow_us() - t0 <= 1000);

    /* receive: nothing queued */
    t0 = unow_us();
    uint64_t from = 0;
    UCHECK_EQ(l4_ipc(L4_NILTHREAD, L4_NODESC, L4_RCV_OPEN, RCV_TO(ZERO), &m, &from),
              L4_IPC_RCV_TIMEOUT);
    UCHECK_EQ(l4_ipc(idle, L4_NODESC, 0, RCV_TO(ZERO), &m, &from), L4_IPC_RCV_TIMEOUT);
    UCHECK_EQ(l4_ipc(L4_NILTHREAD, L4_NODESC, 0, RCV_TO(ZERO), &m, &from), L4_IPC_RCV_TIMEOUT);
    UCHECK(unow_us() - t0 <= 1000);

    /* but a queued sender is taken even with a zero receive timeout */
    uint64_t snd = uthread_start(16, t8_sender, me);
    UCHECK(snd != 0);
    UCHECK(wait_state(snd, L4_TS_SENDING, true, me));
    umemset(&m, 0, sizeof m);
    from = 0;
    UCHECK_EQ(l4_ipc(L4_NILTHREAD, L4_NODESC, L4_RCV_OPEN, RCV_TO(ZERO), &m, &from), L4_IPC_OK);
    UCHECK_EQ(from, snd);
    UCHECK_EQ(m.tag, L4_TAG(0x88, 1, 0));
    UCHECK_EQ(m.w[0], 0x8888);
    UCHECK(wait_flag(&t8_snd_done, 1));
    UCHECK_EQ(t8_snd_r, L4_IPC_OK);
    /* and taken once only */
    UCHECK_EQ(l4_ipc(L4_NILTHREAD, L4_NODESC, L4_RCV_OPEN, RCV_TO(ZERO), &m, &from),
              L4_IPC_RCV_TIMEOUT);
}

/* ---- finite and infinite timeouts ---- */

/* Receives from nil forever (until cancelled), then checks its own send
 * queue with an open zero-timeout receive. */
static volatile int t9_stage;
static volatile uint64_t t9_r[2];

static void t9_target(uint64_t arg)
{
    (void)arg;
    struct l4_msg m = { 0 };
    t9_r[0] = l4_ipc(L4_NILTHREAD, L4_NODESC, 0, RCV_TO(NEVER), &m, 0);
    t9_r[1] = l4_ipc(L4_NILTHREAD, L4_NODESC, L4_RCV_OPEN, RCV_TO(ZERO), &m, 0);
    t9_stage = 1;
}

UTEST(finite_timeouts_fire_on_time)
{
    struct l4_msg m = { 0 };
    uint64_t from = 0;
    /* receive, 20 ms */
    uint64_t t0 = unow_us();
    uint64_t r = l4_ipc(L4_NILTHREAD, L4_NODESC, L4_RCV_OPEN, RCV_TO(uto_us(20000)), &m, &from);
    uint64_t dt = unow_us() - t0;
    UCHECK_EQ(r, L4_IPC_RCV_TIMEOUT);
    if (dt < 19000 || dt > 22000)
        uprintf("  open receive 20 ms took %lu us\n", dt);
    UCHECK(dt >= 19000 && dt <= 22000);

    /* closed receive from an existing thread that never sends, 100 ms */
    uint64_t idle = uthread_start(17, idle_fn, 0);
    UCHECK(idle != 0);
    UCHECK(wait_state(idle, L4_TS_RECEIVING, true, L4_NILTHREAD));
    t0 = unow_us();
    r = l4_ipc(idle, L4_NODESC, 0, RCV_TO(uto_us(100000)), &m, &from);
    dt = unow_us() - t0;
    UCHECK_EQ(r, L4_IPC_RCV_TIMEOUT);
    if (dt < 99000 || dt > 102000)
        uprintf("  closed receive 100 ms took %lu us\n", dt);
    UCHECK(dt >= 99000 && dt <= 102000);

    /* the smallest finite timeout (1 us) still blocks until the next tick */
    t0 = unow_us();
    r = l4_ipc(idle, L4_NODESC, 0, RCV_TO(L4_TO(1, 0)), &m, &from);
    dt = unow_us() - t0;
    UCHECK_EQ(r, L4_IPC_RCV_TIMEOUT);
    UCHECK(dt <= 2000);

    /* send, 20 ms, to a thread that does not receive */
    uint64_t tgt = uthread_start(18, t9_target, 0);
    UCHECK(tgt != 0);
    UCHECK(wait_state(tgt, L4_TS_RECEIVING, true, L4_NILTHREAD));
    t0 = unow_us();
    r = send_to(tgt, uto_us(20000));
    dt = unow_us() - t0;
    UCHECK_EQ(r, L4_IPC_SND_TIMEOUT);
    if (dt < 19000 || dt > 22000)
        uprintf("  send 20 ms took %lu us\n", dt);
    UCHECK(dt >= 19000 && dt <= 22000);
    /* and the timed-out send left the target's queue: it finds nothing */
    UCHECK_EQ(l4_lthread_ex_regs(18, ~0ull, ~0ull, ~0ull, ~0ull, 0, 0), L4_OK);
    UCHECK(wait_flag(&t9_stage, 1));
    UCHECK_EQ(t9_r[0], L4_IPC_RCV_CANCELLED);
    UCHECK_EQ(t9_r[1], L4_IPC_RCV_TIMEOUT);
}

static volatile int t9b_rcv_done, t9b_snd_done;
static volatile uint64_t t9b_rcv_r, t9b_rcv_from, t9b_snd_r;

static void t9b_receiver(uint64_t arg)
{
    (void)arg;
    struct l4_msg m = { 0 };
    uint64_t from = 0;
    t9b_rcv_r = l4_ipc(L4_NILTHREAD, L4_NODESC, L4_RCV_OPEN, RCV_TO(NEVER), &m, &from);
    t9b_rcv_from = from;
    t9b_rcv_done = 1;
}

static void t9b_sender(uint64_t dest)
{
    t9b_snd_r = send_to(dest, NEVER);
    t9b_snd_done = 1;
}

UTEST(infinite_timeouts_end_only_by_message_or_cancel)
{
    uint64_t me = umyself();
    uint64_t rcv = uthread_start(19, t9b_receiver, 0);
    uint64_t idle = uthread_start(20, idle_fn, 0);
    UCHECK(rcv != 0 && idle != 0);
    UCHECK(wait_state(idle, L4_TS_RECEIVING, true, L4_NILTHREAD));
    uint64_t snd = uthread_start(21, t9b_sender, idle);
    UCHECK(snd != 0);
    UCHECK(wait_state(rcv, L4_TS_RECEIVING, true, L4_INVALID));
    UCHECK(wait_state(snd, L4_TS_SENDING, true, idle));
    usleep_us(200000);
    UCHECK_EQ(t9b_rcv_done, 0);
    UCHECK_EQ(t9b_snd_done, 0);
    UCHECK_EQ(state_of(rcv, 0), L4_TS_RECEIVING);
    UCHECK_EQ(state_of(snd, 0), L4_TS_SENDING);
    /* a message ends the receive */
    UCHECK_EQ(send_to(rcv, ZERO), L4_IPC_OK);
    UCHECK(wait_flag(&t9b_rcv_done, 1));
    UCHECK_EQ(t9b_rcv_r, L4_IPC_OK);
    UCHECK_EQ(t9b_rcv_from, me);
    /* a cancel ends the send */
    UCHECK_EQ(t9b_snd_done, 0);
    UCHECK_EQ(l4_lthread_ex_regs(21, ~0ull, ~0ull, ~0ull, ~0ull, 0, 0), L4_OK);
    UCHECK(wait_flag(&t9b_snd_done, 1));
    UCHECK_EQ(t9b_snd_r, L4_IPC_SND_CANCELLED);
}

/* ---- sleep: receive from nil with a timeout ---- */

static volatile int t10_done;
static volatile uint64_t t10_r;

static void t10_poker(uint64_t dest)
{
    usleep_us(5000);
    t10_r = send_to(dest, ZERO);    /* the sleeper does not wait for me */
    t10_done = 1;
}

UTEST(sleep_is_receive_from_nil)
{
    uint64_t me = umyself();
    uint64_t poker = uthread_start(22, t10_poker, me);
    UCHECK(poker != 0);
    struct l4_msg m = { 0 };
    uint64_t t0 = unow_us();
    uint64_t r = l4_ipc(L4_NILTHREAD, L4_NODESC, 0, RCV_TO(uto_us(30000)), &m, 0);
    uint64_t dt = unow_us() - t0;
    UCHECK_EQ(r, L4_IPC_RCV_TIMEOUT);
    if (dt < 29000 || dt > 32000)
        uprintf("  sleep 30 ms took %lu us\n", dt);
    UCHECK(dt >= 29000 && dt <= 32000);
    UCHECK_EQ(t10_done, 1);
    UCHECK_EQ(t10_r, L4_IPC_SND_TIMEOUT);

    t0 = unow_us();
    usleep_us(15000);
    dt = unow_us() - t0;
    UCHECK(dt >= 14000 && dt <= 17000);
}

/* ---- cancellation by lthread_ex_regs ---- */

static volatile int t11_rcv_done, t11_snd_done, t11_call_done, t11_gate_done, t11_srv_got;
static volatile uint64_t t11_rcv_r, t11_snd_r, t11_call_r, t11_gate_r[2];

static void t11_receiver(uint64_t arg)
{
    (void)arg;
    struct l4_msg m = { 0 };
    t11_rcv_r = l4_ipc(L4_NILTHREAD, L4_NODESC, L4_RCV_OPEN, RCV_TO(NEVER), &m, 0);
    t11_rcv_done = 1;
}

static void t11_sender(uint64_t dest)
{
    t11_snd_r = send_to(dest, NEVER);
    t11_snd_done = 1;
}

/* waits for main's go, then looks for queued senders */
static void t11_gate(uint64_t main_id)
{
    struct l4_msg m = { 0 };
    t11_gate_r[0] = l4_ipc(main_id, L4_NODESC, 0, RCV_TO(NEVER), &m, 0);
    t11_gate_r[1] = l4_ipc(L4_NILTHREAD, L4_NODESC, L4_RCV_OPEN, RCV_TO(ZERO), &m, 0);
    t11_gate_done = 1;
}

/* receives one message and never replies */
static void t11_mute_server(uint64_t arg)
{
    (void)arg;
    struct l4_msg m = { 0 };
    l4_ipc(L4_NILTHREAD, L4_NODESC, L4_RCV_OPEN, RCV_TO(NEVER), &m, 0);
    t11_srv_got = 1;
}

static volatile int t11_sleep_done;
static volatile uint64_t t11_sleep_r;

static void t11_sleeper(uint64_t arg)
{
    (void)arg;
    struct l4_msg m = { 0 };
    t11_sleep_r = l4_ipc(L4_NILTHREAD, L4_NODESC, 0, RCV_TO(uto_us(1000000)), &m, 0);
    t11_sleep_done = 1;
}

static void t11_caller(uint64_t srv)
{
    struct l4_msg m = { 0 };
    t11_call_r = l4_ipc(srv, L4_TAG(1, 0, 0), 0, L4_TIMEOUTS(NEVER, NEVER, 0, 0), &m, 0);
    t11_call_done = 1;
}

UTEST(cancel_by_ex_regs)
{
    uint64_t me = umyself();
    /* a blocked receive */
    uint64_t rcv = uthread_start(23, t11_receiver, 0);
    UCHECK(rcv != 0);
    UCHECK(wait_state(rcv, L4_TS_RECEIVING, true, L4_INVALID));
    uint64_t id = 0, old[4] = { 0 };
    UCHECK_EQ(l4_lthread_ex_regs(23, ~0ull, ~0ull, ~0ull, ~0ull, &id, old), L4_OK);
    UCHECK_EQ(id, rcv);
    UCHECK(wait_flag(&t11_rcv_done, 1));        /* went on where it was */
    UCHECK_EQ(t11_rcv_r, L4_IPC_RCV_CANCELLED);

    /* a blocked send; afterwards it is no longer queued at the target */
    uint64_t gate = uthread_start(24, t11_gate, me);
    UCHECK(gate != 0);
    UCHECK(wait_state(gate, L4_TS_RECEIVING, true, me));
    uint64_t snd = uthread_start(25, t11_sender, gate);
    UCHECK(snd != 0);
    UCHECK(wait_state(snd, L4_TS_SENDING, true, gate));
    UCHECK_EQ(l4_lthread_ex_regs(25, ~0ull, ~0ull, ~0ull, ~0ull, &id, 0), L4_OK);
    UCHECK_EQ(id, snd);
    UCHECK(wait_flag(&t11_snd_done, 1));
    UCHECK_EQ(t11_snd_r, L4_IPC_SND_CANCELLED);
    UCHECK_EQ(send_to(gate, ZERO), L4_IPC_OK);
    UCHECK(wait_flag(&t11_gate_done, 1));
    UCHECK_EQ(t11_gate_r[0], L4_IPC_OK);
    UCHECK_EQ(t11_gate_r[1], L4_IPC_RCV_TIMEOUT);

    /* a call waiting for its reply: the receive phase is cancelled */
    uint64_t srv = uthread_start(26, t11_mute_server, 0);
    UCHECK(srv != 0);
    UCHECK(wait_state(srv, L4_TS_RECEIVING, true, L4_INVALID));
    uint64_t caller = uthread_start(27, t11_caller, srv);
    UCHECK(caller != 0);
    UCHECK(wait_flag(&t11_srv_got, 1));
    UCHECK(wait_state(caller, L4_TS_RECEIVING, true, srv));
    UCHECK_EQ(t11_call_done, 0);
    UCHECK_EQ(l4_lthread_ex_regs(27, ~0ull, ~0ull, ~0ull, ~0ull, 0, 0), L4_OK);
    UCHECK(wait_flag(&t11_call_done, 1));
    UCHECK_EQ(t11_call_r, L4_IPC_RCV_CANCELLED);

    /* a sleeping thread (receive from nil, finite timeout) is woken too */
    uint64_t t0 = unow_us();
    uint64_t sl = uthread_start(28, t11_sleeper, 0);
    UCHECK(sl != 0);
    UCHECK(wait_state(sl, L4_TS_RECEIVING, true, L4_NILTHREAD));
    UCHECK_EQ(l4_lthread_ex_regs(28, ~0ull, ~0ull, ~0ull, ~0ull, 0, 0), L4_OK);
    UCHECK(wait_flag(&t11_sleep_done, 1));
    UCHECK_EQ(t11_sleep_r, L4_IPC_RCV_CANCELLED);
    UCHECK(unow_us() - t0 < 100000);
}

/* ---- interrupts as IPC ---- */

#define IRQ 5
static volatile int t12_stage;
static volatile uint64_t t12_r[8], t12_from[8], t12_tag[8], t12_dt;

static void t12_handler(uint64_t main_id)
{
    const uint64_t irq = L4_IRQ_ID(IRQ);
    struct l4_msg m = { 0 };
    uint64_t from;
    /* 1: attach (receive timeout zero: "timeout" means attached) */
    from = 0;
    t12_r[1] = l4_ipc(irq, L4_NODESC, 0, RCV_TO(ZERO), &m, &from);
    t12_stage = 1;
    /* 2: wait for the interrupt */
    from = 0;
    m.tag = 0;
    t12_r[2] = l4_ipc(irq, L4_NODESC, 0, RCV_TO(NEVER), &m, &from);
    t12_from[2] = from;
    t12_tag[2] = m.tag;
    t12_stage = 2;
    /* 3: wait for main (meanwhile it raises the IRQ) */
    t12_r[3] = l4_ipc(main_id, L4_NODESC, 0, RCV_TO(NEVER), &m, &from);
    t12_stage = 3;
    /* 4: the pending interrupt comes at once */
    from = 0;
    m.tag = 0;
    uint64_t t0 = unow_us();
    t12_r[4] = l4_ipc(irq, L4_NODESC, 0, RCV_TO(uto_us(50000)), &m, &from);
    t12_dt = unow_us() - t0;
    t12_from[4] = from;
    t12_tag[4] = m.tag;
    t12_stage = 4;
    /* 5: only once */
    t12_r[5] = l4_ipc(irq, L4_NODESC, 0, RCV_TO(ZERO), &m, &from);
    t12_stage = 5;
    /* 6: detach, 7: detach again (not attached any more) */
    t12_r[6] = l4_ipc(irq, L4_NODESC, L4_RCV_DETACH, RCV_TO(NEVER), &m, &from);
    t12_stage = 6;
    t12_r[7] = l4_ipc(irq, L4_NODESC, L4_RCV_DETACH, RCV_TO(NEVER), &m, &from);
    t12_stage = 7;
}

/* attaches, then waits in an open receive */
static volatile int t12_open_stage;
static volatile uint64_t t12_open_r[2], t12_open_from, t12_open_tag;

static void t12_open_handler(uint64_t arg)
{
    (void)arg;
    struct l4_msg m = { 0 };
    uint64_t from = 0;
    t12_open_r[0] = l4_ipc(L4_IRQ_ID(IRQ), L4_NODESC, 0, RCV_TO(ZERO), &m, &from);
    t12_open_stage = 1;
    from = 0;
    t12_open_r[1] = l4_ipc(L4_NILTHREAD, L4_NODESC, L4_RCV_OPEN, RCV_TO(NEVER), &m, &from);
    t12_open_from = from;
    t12_open_tag = m.tag;
    t12_open_stage = 2;
    l4_ipc(L4_IRQ_ID(IRQ), L4_NODESC, L4_RCV_DETACH, RCV_TO(ZERO), &m, &from);
    t12_open_stage = 3;
}

UTEST(interrupts_as_ipc)
{
    uint64_t me = umyself();
    const uint64_t irq = L4_IRQ_ID(IRQ);
    struct l4_msg m = { 0 };
    uint64_t from = 0;

    uint64_t h = uthread_start(29, t12_handler, me);
    UCHECK(h != 0);
    UCHECK(wait_flag(&t12_stage, 1));
    UCHECK_EQ(t12_r[1], L4_IPC_RCV_TIMEOUT);

    /* the line is taken: I cannot attach, with either timeout */
    UCHECK_EQ(l4_ipc(irq, L4_NODESC, 0, RCV_TO(ZERO), &m, &from), L4_IPC_NOPARTNER);
    UCHECK_EQ(l4_ipc(irq, L4_NODESC, 0, RCV_TO(uto_us(20000)), &m, &from), L4_IPC_NOPARTNER);
    /* nor detach it */
    UCHECK_EQ(l4_ipc(irq, L4_NODESC, L4_RCV_DETACH, RCV_TO(ZERO), &m, &from), L4_IPC_NOPARTNER);

    /* delivered to the waiting handler */
    UCHECK(wait_state(h, L4_TS_RECEIVING, true, irq));
    UCHECK_EQ(t12_stage, 1);
    UCHECK_EQ(l4_kdebug(L4_KDEBUG_RAISE_IRQ, IRQ, 0, 0), L4_OK);
    UCHECK(wait_flag(&t12_stage, 2));
    UCHECK_EQ(t12_r[2], L4_IPC_OK);
    UCHECK_EQ(t12_from[2], irq);
    UCHECK_EQ(L4_TAG_LABEL(t12_tag[2]), 0xffffffffu);
    UCHECK_EQ(L4_TAG_U(t12_tag[2]), 0);
    UCHECK_EQ(L4_TAG_T(t12_tag[2]), 0);

    /* raised while the handler waits for someone else: kept pending */
    UCHECK(wait_state(h, L4_TS_RECEIVING, true, me));
    UCHECK_EQ(l4_kdebug(L4_KDEBUG_RAISE_IRQ, IRQ, 0, 0), L4_OK);
    usleep_us(3000);
    UCHECK_EQ(t12_stage, 2);
    UCHECK_EQ(state_of(h, 0), L4_TS_RECEIVING);
    UCHECK_EQ(send_to(h, ZERO), L4_IPC_OK);
    UCHECK(wait_flag(&t12_stage, 7));
    UCHECK_EQ(t12_r[3], L4_IPC_OK);
    UCHECK_EQ(t12_r[4], L4_IPC_OK);
    UCHECK_EQ(t12_from[4], irq);
    UCHECK_EQ(L4_TAG_LABEL(t12_tag[4]), 0xffffffffu);
    UCHECK(t12_dt <= 1000);
    UCHECK_EQ(t12_r[5], L4_IPC_RCV_TIMEOUT);
    UCHECK_EQ(t12_r[6], L4_IPC_OK);
    UCHECK_EQ(t12_r[7], L4_IPC_NOPARTNER);

    /* detached: another thread (me) can attach now */
    UCHECK_EQ(l4_ipc(irq, L4_NODESC, 0, RCV_TO(ZERO), &m, &from), L4_IPC_RCV_TIMEOUT);
    UCHECK_EQ(l4_kdebug(L4_KDEBUG_RAISE_IRQ, IRQ, 0, 0), L4_OK);
    /* pending, taken by a zero-timeout receive */
    from = 0;
    m.tag = 0;
    UCHECK_EQ(l4_ipc(irq, L4_NODESC, 0, RCV_TO(ZERO), &m, &from), L4_IPC_OK);
    UCHECK_EQ(from, irq);
    UCHECK_EQ(L4_TAG_LABEL(m.tag), 0xffffffffu);
    /* an open receive takes interrupts too */
    UCHECK_EQ(l4_kdebug(L4_KDEBUG_RAISE_IRQ, IRQ, 0, 0), L4_OK);
    from = 0;
    m.tag = 0;
    UCHECK_EQ(l4_ipc(L4_NILTHREAD, L4_NODESC, L4_RCV_OPEN, RCV_TO(ZERO), &m, &from), L4_IPC_OK);
    UCHECK_EQ(from, irq);
    UCHECK_EQ(L4_TAG_LABEL(m.tag), 0xffffffffu);
    UCHECK_EQ(l4_ipc(irq, L4_NODESC, 0, RCV_TO(ZERO), &m, &from), L4_IPC_RCV_TIMEOUT);
    UCHECK_EQ(l4_ipc(irq, L4_NODESC, L4_RCV_DETACH, RCV_TO(ZERO), &m, &from), L4_IPC_OK);
    /* not attached: a receive with a non-zero timeout does not attach */
    UCHECK_EQ(l4_ipc(irq, L4_NODESC, 0, RCV_TO(uto_us(20000)), &m, &from), L4_IPC_NOPARTNER);

    /* delivered to a handler blocked in an open receive */
    uint64_t h3 = uthread_start(30, t12_open_handler, 0);
    UCHECK(h3 != 0);
    UCHECK(wait_flag(&t12_open_stage, 1));
    UCHECK_EQ(t12_open_r[0], L4_IPC_RCV_TIMEOUT);
    UCHECK(wait_state(h3, L4_TS_RECEIVING, true, L4_INVALID));
    UCHECK_EQ(l4_kdebug(L4_KDEBUG_RAISE_IRQ, IRQ, 0, 0), L4_OK);
    UCHECK(wait_flag(&t12_open_stage, 3));
    UCHECK_EQ(t12_open_r[1], L4_IPC_OK);
    UCHECK_EQ(t12_open_from, irq);
    UCHECK_EQ(t12_open_tag, L4_TAG(L4_LABEL_IRQ, 0, 0));

    /* the timer (0) and the cascade (2) cannot be attached */
    UCHECK_EQ(l4_ipc(L4_IRQ_ID(0), L4_NODESC, 0, RCV_TO(ZERO), &m, &from), L4_IPC_NOPARTNER);
    UCHECK_EQ(l4_ipc(L4_IRQ_ID(2), L4_NODESC, 0, RCV_TO(ZERO), &m, &from), L4_IPC_NOPARTNER);
    /* nor raised: 0 is the timer, 16 does not exist */
    UCHECK_EQ(l4_kdebug(L4_KDEBUG_RAISE_IRQ, 0, 0, 0), L4_EINVAL);
    UCHECK_EQ(l4_kdebug(L4_KDEBUG_RAISE_IRQ, 16, 0, 0), L4_EINVAL);
}

int main(void)
{
    return utest_run("ipc");
}
