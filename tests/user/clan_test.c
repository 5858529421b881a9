/* Suite "clan": clans and chiefs as a security boundary, and denial of
 * service (docs/reliability.md).
 *
 * root (2) -> C (3, mcp 150) -> S (4); O (5) is another task of the root.
 * S, inside C's subclan, tries what it must not do: reach O or the root
 * other than through its chief, claim another sender's id, map memory or
 * ports it was not given, give away ports it lacks, kill, ex_regs or
 * re-prioritise threads of other tasks, raise itself above its mcp, take
 * an interrupt line someone holds, use the root's debug ops, and touch an
 * I/O port. Each attempt must fail with a result code (or reach only C);
 * O must never hear of it. (task_test.c covers redirection and deceit by
 * a chief; this suite covers what the subclan member cannot do.)
 *
 * Children run the root's code (identity-paged: C's pager thread pages S
 * from C's own pages), so they share the root's memory: results go
 * through volatile variables. */
#include "utest.h"

#define KHALF     0xffff800000000000ull
#define NIL       L4_NILTHREAD
#define WINDOW    0x40000000000ull

enum { LT_PAGER = 1, LT_IRQ, LT_SRV, LT_SILENT, LT_BAD, LT_GOOD, LT_CONSOLE };
enum { TN_C = 3, TN_S = 4, TN_O = 5, TN_SPIN = 6, TN_UNOWNED = 50 };
enum { ST_C0, ST_C1, ST_S, ST_O, ST_SPIN, NST };
static uint64_t stacks[NST][2048] __attribute__((aligned(4096)));
static uint64_t stack_top(unsigned i) { return (uint64_t)&stacks[i][2048] - 8; }

static volatile uint64_t root_id, c_id, c_pager_id, s_id, o_id, irq_holder;

static uint64_t pager(void)             /* the root's identity pager, started once */
{
    static uint64_t id;
    if (!id)
        id = uthread_start(LT_PAGER, upager_identity, 0);
    return id;
}

static uint64_t kcheck(void)
{
    uint64_t a[6] = { L4_KDEBUG_CHECK };
    uint64_t r = l4_syscall6(L4_SYS_KDEBUG, a);
    if (r != L4_OK)
        uprintf("  kernel check failed: %lx (pool %lu used, %lu held)\n", a[3], a[1], a[2]);
    return r;
}

static bool wait_for(volatile uint64_t *p, uint64_t us)
{
    uint64_t t0 = unow_us();
    while (!*p) {
        if (unow_us() - t0 > us)
            return false;
        usleep_us(500);
    }
    return true;
}

static void __attribute__((noreturn)) block(void)
{
    struct l4_msg m = { 0 };
    for (;;)
        l4_ipc(NIL, L4_NODESC, 0, 0, &m, 0);
}

/* ---- O: another task of the root; counts what reaches it ---- */
static volatile uint64_t o_got;
static void __attribute__((noreturn)) o_main(void)
{
    struct l4_msg m = { 0 };
    for (;;)
        if (L4_IPC_ERR(l4_ipc(NIL, L4_NODESC, L4_RCV_OPEN | L4_RCV_MAPS, 0, &m, 0)) == L4_IPC_OK)
            o_got++;
}

/* ---- C: the chief. Thread 0 records what reaches it and answers
 * nothing; thread 1 pages S (identity, from C's own pages) and records
 * S's exceptions without answering them. ---- */
struct rec { uint64_t r, from, intended, label; };
static volatile struct rec c_recs[16];
static volatile uint64_t c_n, c_deaf, c_deaf_ack, c_exc_vector, c_exc_from, c_exc_n;

static void __attribute__((noreturn)) c_pager(void)
{
    struct l4_msg m = { 0 };
    uint64_t from;
    for (;;) {
        uint64_t r = l4_ipc(NIL, L4_NODESC, L4_RCV_OPEN, 0, &m, &from);
        if (L4_IPC_ERR(r))
            continue;
        if (L4_TAG_LABEL(m.tag) == L4_LABEL_EXCEPTION) {
            c_exc_vector = m.w[0];
            c_exc_from = from;
            c_exc_n++;
            continue;
        }
        uint64_t page = m.w[0] & ~0xfffull;
        if (L4_TAG_LABEL(m.tag) != L4_LABEL_PAGEFAULT || page < 0x400000 || page >= 0x40000000)
            continue;
        (void)*(volatile char *)page;
        m.w[0] = page | L4_ITEM_MAP;
        m.w[1] = L4_FPAGE(page, 12, L4_RWX);
        l4_ipc(from, L4_TAG(0, 0, 1), L4_NODESC, L4_TIMEOUTS(L4_TO_ZERO, 0, 0, 0), &m, 0);
    }
}

static void s_main(void);

static void __attribute__((noreturn)) c_main(void)
{
    uint64_t x;
    l4_lthread_ex_regs(1, (uint64_t)c_pager, stack_top(ST_C1), ~0ull, ~0ull, &x, 0);
    c_pager_id = x;
    /* S: pager and exception handler C's thread 1; mcp asked 255, gets 150. */
    l4_task_new(L4_ID(TN_S, 0, 0), 255, (uint64_t)s_main, stack_top(ST_S), x, 0, &x);
    s_id = x;
    struct l4_utcb *u = l4_utcb_of(0);
    struct l4_msg m = { 0 };
    for (;;) {
        if (c_deaf) {
            c_deaf_ack = 1;
            usleep_us(1000);
            continue;
        }
        c_deaf_ack = 0;
        uint64_t from = 0;
        u->rcv_window = L4_FPAGE(WINDOW, 16, L4_RWX);
        uint64_t r = l4_ipc(NIL, L4_NODESC, L4_RCV_OPEN | L4_RCV_MAPS,
                            L4_TIMEOUTS(0, L4_TO(1000, 0), 0, 0), &m, &from);
        if (L4_IPC_ERR(r) == L4_IPC_RCV_TIMEOUT)
            continue;
        uint64_t n = c_n;
        if (n < 16)
            c_recs[n] = (struct rec){ r, from, u->intended_receiver, L4_TAG_LABEL(m.tag) };
        c_n = n + 1;
    }
}

/* ---- S: the attempts, in order; results in s_res[] ---- */
enum {
    A_NEAR_O, A_NEAR_O_ID, A_SEND_O, A_SEND_ROOT, A_SEND_O_DEAF, A_DECEIVE, A_MAP_KERNEL,
    A_MAP_UTCB, A_EXREGS_O, A_EXREGS_BIG, A_DEL_O, A_DEL_ROOT, A_DEL_C, A_DEL_SELF,
    A_NEW_UNOWNED, A_SCHED_O, A_SCHED_ROOT, A_SCHED_C, A_RAISE, A_RAISE_OK, A_IRQ_ATTACH,
    A_IRQ_DETACH, A_KD_EXIT, A_KD_RAISE, A_KD_INFO, A_KD_CONSOLE, A_IO_MAP, A_IO_UNMAP,
    A_UNMAP_ALL, A_N
};
static const char *const a_names[A_N] = {
    "id_nearest(O) kind", "id_nearest(O) id", "send to O", "send to root", "send to O, chief deaf",
    "deceiving send", "map kernel fpage", "map UTCB fpage", "ex_regs O's id", "ex_regs lthread 256",
    "task_new delete O", "task_new delete root", "task_new delete C", "task_new delete self",
    "task_new unowned number", "thread_schedule O", "thread_schedule root", "thread_schedule C",
    "raise self above mcp", "raise self to mcp", "attach held IRQ", "detach held IRQ",
    "kdebug exit", "kdebug raise IRQ", "kdebug thread info", "kdebug console", "map ports not held",
    "unmap ports not held", "unmap whole space",
};
static volatile uint64_t s_res[A_N], s_done;

static uint64_t s_send(uint64_t dest, uint32_t label, uint64_t ms, unsigned t, uint64_t w0, uint64_t w1)
{
    struct l4_msg m = { 0 };
    m.w[0] = w0;
    m.w[1] = w1;
    return l4_ipc(dest, L4_TAG(label, t ? 0 : 2, t), L4_NODESC,
                  L4_TIMEOUTS(L4_TO((uint16_t)ms, 10), 0, 0, 0), &m, 0);
}

static void s_main(void)
{
    uint64_t x, a[6];
    s_res[A_NEAR_O] = l4_id_nearest(o_id, &x);
    s_res[A_NEAR_O_ID] = x;
    s_res[A_SEND_O] = s_send(o_id, 0x51, 100, 0, 1, 2);
    s_res[A_SEND_ROOT] = s_send(root_id, 0x52, 100, 0, 1, 2);
    c_deaf = 1;
    while (!c_deaf_ack)
        usleep_us(500);
    s_res[A_SEND_O_DEAF] = s_send(o_id, 0x53, 20, 0, 1, 2);
    c_deaf = 0;
    while (c_deaf_ack)
        usleep_us(500);
    l4_utcb_of(0)->virtual_sender = o_id;
    struct l4_msg m = { 0 };
    s_res[A_DECEIVE] = l4_ipc(c_id, L4_TAG(0x54, 0, 0) | L4_TAG_DECEIVE, L4_NODESC,
                              L4_TIMEOUTS(L4_TO(100, 10), 0, 0, 0), &m, 0);
    s_res[A_MAP_KERNEL] = s_send(c_id, 0x55, 100, 1, KHALF | L4_ITEM_MAP, L4_FPAGE(KHALF, 12, 7));
    s_res[A_MAP_UTCB] = s_send(c_id, 0x56, 100, 1, L4_UTCB_BASE | L4_ITEM_MAP,
                               L4_FPAGE(L4_UTCB_BASE, 12, 7));
    s_res[A_EXREGS_O] = l4_lthread_ex_regs(o_id, 0x400000, 0x400000, ~0ull, ~0ull, 0, 0);
    s_res[A_EXREGS_BIG] = l4_lthread_ex_regs(256, ~0ull, ~0ull, ~0ull, ~0ull, 0, 0);
    s_res[A_DEL_O] = l4_task_new(o_id, 0, 0, 0, NIL, 0, &x);
    s_res[A_DEL_ROOT] = l4_task_new(root_id, 0, 0, 0, NIL, 0, &x);
    s_res[A_DEL_C] = l4_task_new(c_id, 0, 0, 0, NIL, 0, &x);
    s_res[A_DEL_SELF] = l4_task_new(l4_myself(0), 0, 0, 0, NIL, 0, &x);
    s_res[A_NEW_UNOWNED] = l4_task_new(L4_ID(TN_UNOWNED, 0, 0), 0, (uint64_t)block, stack_top(ST_S),
                                       c_pager_id, 0, &x);
    s_res[A_SCHED_O] = l4_thread_schedule(o_id, 1, ~0ull, 0);
    s_res[A_SCHED_ROOT] = l4_thread_schedule(root_id, ~0ull, ~0ull, 0);
    s_res[A_SCHED_C] = l4_thread_schedule(c_id, 1, ~0ull, 0);
    s_res[A_RAISE] = l4_thread_schedule(l4_myself(0), 151, ~0ull, 0);
    s_res[A_RAISE_OK] = l4_thread_schedule(l4_myself(0), 150, ~0ull, 0);
    l4_thread_schedule(l4_myself(0), 100, ~0ull, 0);
    s_res[A_IRQ_ATTACH] = l4_ipc(L4_IRQ_ID(5), L4_NODESC, 0, L4_TIMEOUTS(0, L4_TO_ZERO, 0, 0), &m, 0);
    s_res[A_IRQ_DETACH] = l4_ipc(L4_IRQ_ID(5), L4_NODESC, L4_RCV_DETACH, 0, &m, 0);
    s_res[A_KD_EXIT] = l4_kdebug(L4_KDEBUG_EXIT, 0, 0, 0);
    s_res[A_KD_RAISE] = l4_kdebug(L4_KDEBUG_RAISE_IRQ, 5, 0, 0);
    s_res[A_KD_INFO] = l4_kdebug(L4_KDEBUG_THREAD_INFO, 0, 0, 0);
    s_res[A_KD_CONSOLE] = l4_kdebug(L4_KDEBUG_CONSOLE, 1, 0, 0);
    s_res[A_IO_MAP] = s_send(c_id, 0x57, 100, 1, L4_ITEM_MAP, L4_IOFPAGE(0x3f8, 3));
    s_res[A_IO_UNMAP] = l4_fpage_unmap(L4_IOFPAGE(0x3f8, 3), L4_UNMAP_OWN | L4_UNMAP_FLUSH);
    a[0] = L4_FPAGE(0, L4_WHOLE_SPACE, 7);      /* only S's own pages go */
    a[1] = L4_UNMAP_FLUSH | L4_UNMAP_OWN;
    s_res[A_UNMAP_ALL] = l4_syscall6(L4_SYS_FPAGE_UNMAP, a);
    s_done = 1;
    /* Last: a port it was not given. #GP, to C's thread 1, unanswered. */
    __asm__ volatile("inb $0x80, %%al" ::: "rax");
    block();
}

/* Holds IRQ 5 for the root, so that S finds it taken. */
static void irq_fn(uint64_t arg)
{
    (void)arg;
    struct l4_msg m = { 0 };
    uint64_t r = l4_ipc(L4_IRQ_ID(5), L4_NODESC, 0, L4_TIMEOUTS(0, L4_TO_ZERO, 0, 0), &m, 0);
    irq_holder = L4_IPC_ERR(r) == L4_IPC_RCV_TIMEOUT ? 1 : 2;
    for (;;)
        l4_ipc(L4_IRQ_ID(5), L4_NODESC, 0, 0, &m, 0);
}

UTEST(subclan_cannot_cross_its_chief)
{
    uint64_t x, pg = pager();
    root_id = l4_myself(0);
    UCHECK(uthread_start(LT_IRQ, irq_fn, 0) != 0);
    UCHECK(wait_for(&irq_holder, 1000000));
    UCHECK_EQ(irq_holder, 1);
    UCHECK_EQ(l4_task_new(L4_ID(TN_O, 0, 0), 150, (uint64_t)o_main, stack_top(ST_O), pg, 0, &x), L4_OK);
    o_id = x;
    UCHECK_EQ(l4_task_new(L4_ID(TN_S, 0, 0), 0, 0, 0, NIL, 0, &x), L4_OK);   /* stays the root's */
    UCHECK_EQ(l4_task_new(L4_ID(TN_C, 0, 0), 150, (uint64_t)c_main, stack_top(ST_C0), pg, 0, &x), L4_OK);
    c_id = x;
    /* C may create S only once the number is C's. */
    UCHECK_EQ(l4_task_new(L4_ID(TN_S, 0, 0), 0, 0, 0, NIL, c_id, &x), L4_OK);
    UCHECK(wait_for(&s_done, 3000000));
    UCHECK(wait_for(&c_exc_n, 1000000));
    static const uint64_t want[A_N] = {
        [A_NEAR_O] = L4_NEAREST_OUTER, [A_SEND_O] = L4_IPC_OK, [A_SEND_ROOT] = L4_IPC_OK,
        [A_SEND_O_DEAF] = L4_IPC_SND_TIMEOUT, [A_DECEIVE] = L4_IPC_OK,
        [A_MAP_KERNEL] = L4_IPC_MAP_FAILED, [A_MAP_UTCB] = L4_IPC_MAP_FAILED,
        [A_EXREGS_O] = L4_EINVAL, [A_EXREGS_BIG] = L4_EINVAL, [A_DEL_O] = L4_EPERM,
        [A_DEL_ROOT] = L4_EPERM, [A_DEL_C] = L4_EPERM, [A_DEL_SELF] = L4_EPERM,
        [A_NEW_UNOWNED] = L4_EPERM, [A_SCHED_O] = L4_EPERM, [A_SCHED_ROOT] = L4_EPERM,
        [A_SCHED_C] = L4_EPERM, [A_RAISE] = L4_EPERM, [A_RAISE_OK] = L4_OK,
        [A_IRQ_ATTACH] = L4_IPC_NOPARTNER, [A_IRQ_DETACH] = L4_IPC_NOPARTNER,
        [A_KD_EXIT] = L4_EPERM, [A_KD_RAISE] = L4_EPERM, [A_KD_INFO] = L4_EPERM,
        [A_KD_CONSOLE] = L4_EPERM, [A_IO_MAP] = L4_IPC_MAP_FAILED, [A_IO_UNMAP] = L4_OK,
        [A_UNMAP_ALL] = L4_OK,
    };
    for (unsigned i = 0; i < A_N; i++) {
        uint64_t got = i == A_NEAR_O_ID ? s_res[i] : (i >= A_SEND_O && i <= A_MAP_UTCB) ||
                       i == A_IRQ_ATTACH || i == A_IRQ_DETACH || i == A_IO_MAP
                       ? L4_IPC_ERR(s_res[i]) : s_res[i];
        uint64_t w = i == A_NEAR_O_ID ? c_id : want[i];
        if (got != w) {
            uprintf("  %s: got %lx, want %lx\n", a_names[i], got, w);
            UCHECK(!"an attempt from the subclan had the wrong result");
        }
    }
    /* What reached C: two messages redirected from S, the deceit not
     * honoured (S is chief of neither O nor C), the map attempts failed. */
    UCHECK(c_n >= 5);
    UCHECK_EQ(c_recs[0].from, s_id);
    UCHECK_EQ(c_recs[0].intended, o_id);
    UCHECK(c_recs[0].r & L4_IPC_REDIRECTED);
    UCHECK(c_recs[0].r & L4_IPC_FROM_INNER);
    UCHECK_EQ(c_recs[1].intended, root_id);
    UCHECK_EQ(c_recs[2].from, s_id);
    UCHECK_EQ(c_recs[2].label, 0x54);
    UCHECK(!(c_recs[2].r & L4_IPC_DECEIVED));
    UCHECK_EQ(L4_IPC_ERR(c_recs[3].r), L4_IPC_MAP_FAILED);
    UCHECK_EQ(o_got, 0);                            /* O heard nothing */
    UCHECK_EQ(c_exc_vector, 13);                    /* inb: #GP */
    UCHECK_EQ(c_exc_from, s_id);
    uint8_t lsr;                                    /* the root still has COM1 */
    __asm__ volatile("inb %w1, %0" : "=a"(lsr) : "Nd"((uint16_t)0x3fd));
    UCHECK(lsr != 0xff);
    UCHECK_EQ(l4_task_new(L4_ID(TN_C, 0, 0), 0, 0, 0, NIL, 0, &x), L4_OK);  /* C and S */
    UCHECK_EQ(l4_task_new(L4_ID(TN_O, 0, 0), 0, 0, 0, NIL, 0, &x), L4_OK);
    UCHECK_EQ(l4_kdebug(L4_KDEBUG_MDB_CHECK, 0, 0, 0), L4_OK);
    UCHECK_EQ(kcheck(), L4_OK);
}

/* ==== Denial of service: with timeouts, no one waits for good ==== */
static volatile uint64_t srv_id, srv_served, srv_reply_fail, silent_id, silent_got;
static void server(uint64_t arg)
{
    (void)arg;
    struct l4_msg m = { 0 };
    uint64_t from;
    uint64_t r = l4_ipc(NIL, L4_NODESC, L4_RCV_OPEN, 0, &m, &from);
    for (;;) {
        if (L4_IPC_ERR(r)) {
            r = l4_ipc(NIL, L4_NODESC, L4_RCV_OPEN, 0, &m, &from);
            continue;
        }
        srv_served++;
        m.w[0] += 1;
        /* reply and wait; a zero send timeout: a client that is not
         * receiving loses its answer, never the server its time */
        r = l4_ipc(from, L4_TAG(0, 1, 0), L4_RCV_OPEN, L4_TIMEOUTS(L4_TO_ZERO, 0, 0, 0), &m, &from);
        if (L4_IPC_ERR(r) == L4_IPC_SND_TIMEOUT) {
            srv_reply_fail++;
            r = l4_ipc(NIL, L4_NODESC, L4_RCV_OPEN, 0, &m, &from);
        }
    }
}

static void silent(uint64_t arg)       /* takes one message, then sleeps for ever */
{
    (void)arg;
    struct l4_msg m = { 0 };
    uint64_t from;
    l4_ipc(NIL, L4_NODESC, L4_RCV_OPEN, 0, &m, &from);
    silent_got++;
    for (;;)
        l4_ipc(NIL, L4_NODESC, 0, 0, &m, 0);
}

UTEST(timeouts_bound_what_a_bad_partner_costs)
{
    srv_id = uthread_start(LT_SRV, server, 0);
    silent_id = uthread_start(LT_SILENT, silent, 0);
    struct l4_msg m = { 0 };
    uint64_t from;
    /* A client that sends and never receives the answer. */
    m.w[0] = 1;
    UCHECK_EQ(l4_ipc(srv_id, L4_TAG(0, 1, 0), L4_NODESC, 0, &m, 0), L4_IPC_OK);
    usleep_us(2000);
    UCHECK_EQ(srv_reply_fail, 1);
    /* The server still answers others. */
    m.w[0] = 41;
    UCHECK_EQ(l4_ipc(srv_id, L4_TAG(0, 1, 0), 0, L4_TIMEOUTS(L4_TO(100, 10), L4_TO(100, 10), 0, 0),
                     &m, &from), L4_IPC_OK);
    UCHECK_EQ(m.w[0], 42);
    /* A server that never answers: the call ends at its receive timeout. */
    uint64_t t0 = unow_us();
    UCHECK_EQ(L4_IPC_ERR(l4_ipc(silent_id, L4_TAG(0, 1, 0), 0,
                                L4_TIMEOUTS(L4_TO(100, 10), L4_TO(5, 10), 0, 0), &m, &from)),
              L4_IPC_RCV_TIMEOUT);
    uint64_t dt = unow_us() - t0;
    UCHECK(dt >= 5000 && dt < 20000);
    UCHECK_EQ(silent_got, 1);
    /* ... and one that no longer receives: the send times out. */
    UCHECK_EQ(L4_IPC_ERR(l4_ipc(silent_id, L4_TAG(0, 1, 0), 0,
                                L4_TIMEOUTS(L4_TO(3, 10), L4_TO(3, 10), 0, 0), &m, &from)),
              L4_IPC_SND_TIMEOUT);
    /* Nothing of it stuck to the server. */
    m.w[0] = 7;
    UCHECK_EQ(l4_ipc(srv_id, L4_TAG(0, 1, 0), 0, L4_TIMEOUTS(L4_TO(100, 10), L4_TO(100, 10), 0, 0),
                     &m, &from), L4_IPC_OK);
    UCHECK_EQ(m.w[0], 8);
    UCHECK_EQ(kcheck(), L4_OK);
}

/* A task whose mcp is 150 spins for ever at its highest priority; a
 * "console" thread at 200 (scripts/init.lua's console driver) still runs
 * on time, and the spinner cannot raise itself above its mcp. */
static volatile uint64_t spin_count, spin_raise, spin_ok, console_ticks;
static void __attribute__((noreturn)) spin_main(void)
{
    spin_raise = l4_thread_schedule(l4_myself(0), 201, ~0ull, 0);
    spin_ok = l4_thread_schedule(l4_myself(0), 150, ~0ull, 0) + 1;
    for (;;)
        spin_count++;
}

static void console(uint64_t arg)
{
    (void)arg;
    for (;;) {
        usleep_us(1000);
        console_ticks++;
    }
}

UTEST(spinning_task_cannot_starve_the_console)
{
    uint64_t x, me = l4_myself(0), pg = pager();
    l4_thread_schedule(me, 210, ~0ull, 0);
    uint64_t con = uthread_start(LT_CONSOLE, console, 0);
    l4_thread_schedule(con, 200, ~0ull, 0);
    UCHECK_EQ(l4_task_new(L4_ID(TN_SPIN, 0, 0), 150, (uint64_t)spin_main, stack_top(ST_SPIN), pg, 0, &x),
              L4_OK);
    l4_thread_schedule(x, 100, ~0ull, 0);
    usleep_us(20000);
    uint64_t c0 = console_ticks, s0 = spin_count;
    usleep_us(50000);
    uint64_t c1 = console_ticks, s1 = spin_count;
    uprintf("  in 50 ms: console %lu wake-ups, spinner %lu loops\n", c1 - c0, s1 - s0);
    UCHECK(c1 - c0 >= 40);
    UCHECK(s1 > s0);                        /* it does run, below the console */
    UCHECK_EQ(spin_raise, L4_EPERM);
    UCHECK_EQ(spin_ok, L4_OK + 1);
    struct l4_sched_info i;
    UCHECK_EQ(l4_thread_schedule(x, ~0ull, ~0ull, &i), L4_OK);
    UCHECK_EQ(i.prio, 150);
    UCHECK_EQ(l4_task_new(L4_ID(TN_SPIN, 0, 0), 0, 0, 0, NIL, 0, &x), L4_OK);
    UCHECK_EQ(kcheck(), L4_OK);
}

int main(void)
{
    return utest_run("clan");
}
