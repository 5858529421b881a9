/* Suite "string": string items copy memory between buffers the sender and
 * the receiver name, up to 4 MiB, within a task and between tasks. */
#include "utest.h"

#define MIB (1ull << 20)
static uint8_t sbuf[4 * MIB + 4096] __attribute__((aligned(4096)));
static uint8_t rbuf[4 * MIB + 4096] __attribute__((aligned(4096)));
static volatile uint64_t child_stack[2048] __attribute__((aligned(16)));

struct rx {
    volatile uint64_t result, tag, w0, w1, done;
};

/* Receives one message with string buffer rbuf of cap bytes (or no
 * strings accepted if cap == 0), records it, then blocks. */
static struct rx rx;
static volatile uint64_t rx_cap;
static void receiver(uint64_t arg)
{
    (void)arg;
    struct l4_utcb *u = l4_utcb_of((unsigned)L4_ID_LTHREAD(umyself()));
    u->rcv_strings[0][0] = (uint64_t)rbuf;
    u->rcv_strings[0][1] = rx_cap;
    struct l4_msg m = { 0 };
    uint64_t from;
    rx.result = l4_ipc(L4_NILTHREAD, L4_NODESC, L4_RCV_OPEN | (rx_cap ? L4_RCV_STRINGS : 0), 0, &m, &from);
    rx.tag = m.tag;
    rx.w0 = m.w[0];
    rx.w1 = m.w[1];
    rx.done = 1;
    uthread_exit();
}

/* Sends one string item and waits (up to 100 ms) until the receiver,
 * which runs at the same priority, has recorded what it got. */
static uint64_t send_string(uint64_t to, uint64_t addr, uint64_t len)
{
    struct l4_msg m = { 0 };
    m.w[0] = len << 4 | L4_ITEM_STRING;
    m.w[1] = addr;
    uint64_t r = l4_ipc(to, L4_TAG(3, 0, 1), L4_NODESC, 0, &m, 0);
    for (int i = 0; i < 100 && !rx.done; i++)
        usleep_us(1000);
    return r;
}

static uint64_t start_rx(unsigned lt, uint64_t cap)
{
    umemset((void *)&rx, 0, sizeof rx);
    rx_cap = cap;
    uint64_t id = uthread_start(lt, receiver, 0);
    usleep_us(1000);            /* let it block in its receive */
    return id;
}

static void fill(uint64_t len, uint8_t seed)
{
    for (uint64_t i = 0; i < len; i++)
        sbuf[i] = (uint8_t)(i * 7 + seed + (i >> 12));
}

static bool same(uint64_t len, uint8_t seed)
{
    for (uint64_t i = 0; i < len; i++)
        if (rbuf[i] != (uint8_t)(i * 7 + seed + (i >> 12)))
            return false;
    return true;
}

UTEST(one_mib_within_a_task)
{
    fill(MIB + 123, 1);
    uint64_t r = start_rx(1, 4 * MIB);
    UCHECK_EQ(send_string(r, (uint64_t)sbuf, MIB + 123), L4_IPC_OK);
    UCHECK(rx.done);
    UCHECK_EQ(L4_IPC_ERR(rx.result), L4_IPC_OK);
    UCHECK_EQ(L4_TAG_T(rx.tag), 1);
    UCHECK_EQ(rx.w0, (MIB + 123) << 4 | L4_ITEM_STRING);    /* the length */
    UCHECK_EQ(rx.w1, (uint64_t)rbuf);                        /* where it landed */
    UCHECK(same(MIB + 123, 1));
}

UTEST(four_mib_is_the_limit)
{
    fill(4 * MIB, 2);
    uint64_t r = start_rx(2, 4 * MIB + 4096);
    UCHECK_EQ(send_string(r, (uint64_t)sbuf, 4 * MIB), L4_IPC_OK);
    UCHECK(same(4 * MIB, 2));
    r = start_rx(3, 4 * MIB + 4096);
    UCHECK_EQ(send_string(r, (uint64_t)sbuf, 4 * MIB + 1), L4_IPC_SND_CUT);
    UCHECK_EQ(L4_IPC_ERR(rx.result), L4_IPC_RCV_CUT);
}

UTEST(buffer_too_small_or_not_offered_is_cut)
{
    uint64_t r = start_rx(4, 100);
    UCHECK_EQ(send_string(r, (uint64_t)sbuf, 101), L4_IPC_SND_CUT);
    UCHECK_EQ(L4_IPC_ERR(rx.result), L4_IPC_RCV_CUT);
    r = start_rx(5, 0);             /* no L4_RCV_STRINGS */
    UCHECK_EQ(send_string(r, (uint64_t)sbuf, 10), L4_IPC_SND_CUT);
    UCHECK_EQ(L4_IPC_ERR(rx.result), L4_IPC_RCV_CUT);
}

UTEST(unmapped_or_readonly_pages_are_pagefault_timeouts)
{
    uint64_t r = start_rx(6, 4 * MIB);
    /* Nothing is mapped at 256 MiB in the root task. */
    UCHECK_EQ(send_string(r, 0x10000000, 8192), L4_IPC_SND_PF_TIMEOUT);
    UCHECK_EQ(L4_IPC_ERR(rx.result), L4_IPC_SND_PF_TIMEOUT);
    /* Kernel addresses are never copied from. */
    r = start_rx(7, 4 * MIB);
    UCHECK_EQ(send_string(r, 0xffffffff80100000ull, 16), L4_IPC_SND_PF_TIMEOUT);
    /* A receive buffer in read-only text. */
    struct l4_utcb *u = l4_utcb_of(8);
    (void)u;
    rx_cap = 64;
    umemset((void *)&rx, 0, sizeof rx);
    extern char _start[];
    static uint64_t text_rx_result;
    uint64_t id = uthread_start(8, receiver, 0);
    usleep_us(1000);
    l4_utcb_of(8)->rcv_strings[0][0] = (uint64_t)_start;   /* redirect its buffer */
    UCHECK_EQ(send_string(id, (uint64_t)sbuf, 64), L4_IPC_RCV_PF_TIMEOUT);
    text_rx_result = rx.result;
    UCHECK_EQ(L4_IPC_ERR(text_rx_result), L4_IPC_RCV_PF_TIMEOUT);
}

/* Between tasks: a child task (its pages are the root's, mapped by a pager
 * thread) receives a 2 MiB string into its own buffer. */
static void child_entry(void)
{
    /* Touch the whole receive buffer first: strings need mapped pages. */
    for (uint64_t i = 0; i < 2 * MIB; i += 4096)
        rbuf[i] = 0;
    struct l4_utcb *u = l4_utcb_of(0);
    u->rcv_strings[0][0] = (uint64_t)rbuf;
    u->rcv_strings[0][1] = 2 * MIB;
    struct l4_msg m = { 0 };
    uint64_t from;
    rx.result = l4_ipc(L4_NILTHREAD, L4_NODESC, L4_RCV_OPEN | L4_RCV_STRINGS, 0, &m, &from);
    rx.w0 = m.w[0];
    rx.done = 1;
    for (;;)
        l4_ipc(L4_NILTHREAD, L4_NODESC, 0, 0, &m, &from);
}

UTEST(two_mib_between_tasks)
{
    umemset((void *)&rx, 0, sizeof rx);
    umemset(rbuf, 0xee, 2 * MIB);
    fill(2 * MIB, 9);
    uint64_t pg = uthread_start(9, upager_identity, 0), child = 0;
    UCHECK_EQ(l4_task_new(L4_ID(6, 0, 0), 255, (uint64_t)child_entry,
                          (uint64_t)&child_stack[2047], pg, 0, &child), L4_OK);   /* rsp % 16 == 8, as after a call */
    /* Wait until the child is in its receive (it touched its buffer). */
    uint64_t r = L4_IPC_SND_TIMEOUT;
    for (int i = 0; i < 1000 && L4_IPC_ERR(r) == L4_IPC_SND_TIMEOUT; i++) {
        struct l4_msg m = { 0 };
        m.w[0] = 2 * MIB << 4 | L4_ITEM_STRING;
        m.w[1] = (uint64_t)sbuf;
        r = l4_ipc(child, L4_TAG(3, 0, 1), L4_NODESC, L4_TIMEOUTS(L4_TO_ZERO, 0, 0, 0), &m, 0);
        if (L4_IPC_ERR(r) == L4_IPC_SND_TIMEOUT)
            usleep_us(1000);
    }
    if (L4_IPC_ERR(r) != L4_IPC_OK) {
        struct l4_sched_info si;
        l4_thread_schedule(child, ~0ull, ~0ull, &si);
        uprintf("  child %lx state %lu partner %lx cpu %lu\n", child, si.state, si.partner, si.cpu_us);
    }
    UCHECK_EQ(L4_IPC_ERR(r), L4_IPC_OK);
    for (int i = 0; i < 100 && !rx.done; i++)
        usleep_us(1000);
    UCHECK(rx.done);
    UCHECK_EQ(rx.w0, 2 * MIB << 4 | L4_ITEM_STRING);
    UCHECK(same(2 * MIB, 9));
}

/* Page faults during the copy are served by the pagers, within the
 * page-fault timeouts. The child task below never touches its buffers
 * before the IPC: every page of them is missing when the copy starts. */
static uint8_t lazy_rx[MIB] __attribute__((aligned(4096)));
static uint8_t lazy_tx[MIB] __attribute__((aligned(4096)));
static uint8_t slow[64 * 1024] __attribute__((aligned(4096)));
static volatile uint64_t child2_stack[2048] __attribute__((aligned(16)));
static volatile uint64_t faults_served, slow_faults;
static volatile uint64_t c2_result, c2_w0, c2_phase;
static volatile uint64_t root_rx_id, root_rx_result, root_rx_w0;

/* Serves the child's faults with the root's own pages, except in `slow`,
 * where it counts the fault and never answers. */
static void pager2(uint64_t arg)
{
    (void)arg;
    struct l4_msg m = { 0 };
    uint64_t from;
    uint64_t r = l4_ipc(L4_NILTHREAD, L4_NODESC, L4_RCV_OPEN, 0, &m, &from);
    for (;;) {
        uint64_t page = m.w[0] & ~0xfffull;
        bool in_slow = page >= (uint64_t)slow && page < (uint64_t)slow + sizeof slow;
        if (L4_IPC_ERR(r) || L4_TAG_LABEL(m.tag) != L4_LABEL_PAGEFAULT || in_slow) {
            if (!L4_IPC_ERR(r) && in_slow)
                slow_faults++;
            r = l4_ipc(L4_NILTHREAD, L4_NODESC, L4_RCV_OPEN, 0, &m, &from);
            continue;
        }
        faults_served++;
        m.w[0] = page | L4_ITEM_MAP;
        m.w[1] = L4_FPAGE(page, 12, L4_RWX);
        r = l4_ipc(from, L4_TAG(0, 0, 1), L4_RCV_OPEN, 0, &m, &from);
    }
}

/* The child: receives 1 MiB into lazy_rx (phase 1), sends lazy_tx (1 MiB)
 * to the root (phase 2), then keeps receiving into `slow` (phases 3...). */
static void child2_entry(void)
{
    struct l4_utcb *u = l4_utcb_of(0);
    struct l4_msg m = { 0 };
    uint64_t from;
    u->rcv_strings[0][0] = (uint64_t)lazy_rx;
    u->rcv_strings[0][1] = MIB;
    c2_result = l4_ipc(L4_NILTHREAD, L4_NODESC, L4_RCV_OPEN | L4_RCV_STRINGS, 0, &m, &from);
    c2_w0 = m.w[0];
    c2_phase = 1;
    m.w[0] = MIB << 4 | L4_ITEM_STRING;
    m.w[1] = (uint64_t)lazy_tx;
    c2_result = l4_ipc(root_rx_id, L4_TAG(4, 0, 1), L4_NODESC, 0, &m, 0);
    c2_phase = 2;
    for (;;) {
        u->rcv_strings[0][0] = (uint64_t)slow;
        u->rcv_strings[0][1] = sizeof slow;
        c2_result = l4_ipc(L4_NILTHREAD, L4_NODESC, L4_RCV_OPEN | L4_RCV_STRINGS, 0, &m, &from);
        c2_phase++;
    }
}

static void wait_phase(uint64_t n)
{
    for (int i = 0; i < 2000 && c2_phase < n; i++)
        usleep_us(1000);
}

/* A root thread receiving the child's phase-2 string. */
static void root_receiver(uint64_t arg)
{
    (void)arg;
    struct l4_utcb *u = l4_utcb_of((unsigned)L4_ID_LTHREAD(umyself()));
    u->rcv_strings[0][0] = (uint64_t)rbuf;
    u->rcv_strings[0][1] = MIB;
    struct l4_msg m = { 0 };
    uint64_t from;
    root_rx_result = l4_ipc(L4_NILTHREAD, L4_NODESC, L4_RCV_OPEN | L4_RCV_STRINGS, 0, &m, &from);
    root_rx_w0 = m.w[0];
    uthread_exit();
}

/* Sends a string to the child once it waits; sender pf timeout spf. */
static uint64_t send_to_child(uint64_t child, void *buf, uint64_t len, uint16_t spf)
{
    uint64_t r = L4_IPC_SND_TIMEOUT;
    struct l4_msg m = { 0 };
    for (int i = 0; i < 1000 && L4_IPC_ERR(r) == L4_IPC_SND_TIMEOUT; i++) {
        m.w[0] = len << 4 | L4_ITEM_STRING;
        m.w[1] = (uint64_t)buf;
        r = l4_ipc(child, L4_TAG(3, 0, 1), L4_NODESC, L4_TIMEOUTS(L4_TO_ZERO, 0, spf, 0), &m, 0);
        if (L4_IPC_ERR(r) == L4_IPC_SND_TIMEOUT)
            usleep_us(1000);
    }
    return r;
}

UTEST(faults_during_copy_served_within_pf_timeouts)
{
    for (uint64_t i = 0; i < MIB; i++) {
        lazy_tx[i] = (uint8_t)(i * 13 + 5);
        sbuf[i] = (uint8_t)(i * 7 + 3);
    }
    uint64_t pg = uthread_start(20, pager2, 0), child = 0;
    root_rx_id = uthread_start(21, root_receiver, 0);
    UCHECK_EQ(l4_task_new(L4_ID(7, 0, 0), 255, (uint64_t)child2_entry,
                          (uint64_t)&child2_stack[2047], pg, 0, &child), L4_OK);

    /* 1. Receiver-side faults: every page of the child's lazy_rx. */
    UCHECK_EQ(L4_IPC_ERR(send_to_child(child, sbuf, MIB, L4_TO_NEVER)), L4_IPC_OK);
    wait_phase(1);
    UCHECK_EQ(L4_IPC_ERR(c2_result), L4_IPC_OK);
    UCHECK_EQ(c2_w0, MIB << 4 | L4_ITEM_STRING);
    UCHECK(faults_served >= 256);
    bool ok = true;
    for (uint64_t i = 0; i < MIB; i++)
        ok = ok && lazy_rx[i] == (uint8_t)(i * 7 + 3);
    UCHECK(ok);

    /* 2. Sender-side faults: the child sends from its never-touched lazy_tx. */
    wait_phase(2);
    for (int i = 0; i < 100 && !root_rx_w0; i++)
        usleep_us(1000);
    UCHECK_EQ(L4_IPC_ERR(c2_result), L4_IPC_OK);
    UCHECK_EQ(L4_IPC_ERR(root_rx_result), L4_IPC_OK);
    UCHECK_EQ(root_rx_w0, MIB << 4 | L4_ITEM_STRING);
    UCHECK(faults_served >= 512);           /* lazy_rx's pages and lazy_tx's */
    ok = true;
    for (uint64_t i = 0; i < MIB; i++)
        ok = ok && rbuf[i] == (uint8_t)(i * 13 + 5);
    UCHECK(ok);

    /* 3. A zero send page-fault timeout: no waiting for the child's pager. */
    uint64_t t0 = unow_us(), s0 = slow_faults;
    UCHECK_EQ(L4_IPC_ERR(send_to_child(child, sbuf, 4096, L4_TO_ZERO)), L4_IPC_RCV_PF_TIMEOUT);
    wait_phase(3);
    UCHECK_EQ(L4_IPC_ERR(c2_result), L4_IPC_RCV_PF_TIMEOUT);
    UCHECK_EQ(slow_faults, s0);             /* the pager was never asked */

    /* 4. A finite one (5 ms) while the pager never answers. */
    t0 = unow_us();
    UCHECK_EQ(L4_IPC_ERR(send_to_child(child, sbuf, 4096, uto_us(5000))), L4_IPC_RCV_PF_TIMEOUT);
    uint64_t dt = unow_us() - t0;
    UCHECK(dt >= 4000 && dt <= 8000);
    wait_phase(4);
    UCHECK_EQ(L4_IPC_ERR(c2_result), L4_IPC_RCV_PF_TIMEOUT);
    UCHECK_EQ(slow_faults, s0 + 1);
}

int main(void)
{
    return utest_run("string");
}
