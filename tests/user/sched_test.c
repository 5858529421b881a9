/* Suite "sched": thread_switch, thread_schedule, priorities, round robin,
 * timer preemption and FPU/SSE isolation, seen from user mode.
 *
 * Every case uses its own lthread numbers (threads never exit; a thread
 * whose function returns blocks forever in uthread_exit). Spinning threads
 * watch a volatile flag and return, so no case leaves a ready thread
 * behind, and every case that changes main's priority restores it.
 * Times come from the KIP clock (1 ms steps); under -icount shift=0 one
 * guest instruction takes 1 ns, so the numbers are deterministic.
 *
 * lthreads in use: 1-4 schedule_reads_blocked_states, 5 set_and_read_back,
 * 6-8 higher_prio_*, 9 lower_prio_starves, 10 11 31 prio_change,
 * 12-14 round robin, 15 28 timer_preempts, 16 29 timeslice_length,
 * 17-19 switch_nil, 20-23 switch_donates, 24 25 fpu_sse, 26 27
 * fpu_double, 30 fpu_new_thread, 32-41 priority_range_edges. */
#include "utest.h"

#define KEEP (~0ull)

/* Build with -DSCHED_VERBOSE to see the measured numbers. */
#ifdef SCHED_VERBOSE
#define VERBOSE_ON 1
#else
#define VERBOSE_ON 0
#endif
#define VPRINT(...) (VERBOSE_ON ? uprintf(__VA_ARGS__) : (void)0)

extern char uthread_trampoline[];

/* ---- helpers ---- */

static uint64_t my_prio(void)
{
    struct l4_sched_info si;
    if (l4_thread_schedule(umyself(), KEEP, KEEP, &si) != L4_OK)
        return ~0ull;
    return si.prio;
}

static struct l4_sched_info info_of(uint64_t id)
{
    struct l4_sched_info si = { ~0ull, ~0ull, ~0ull, ~0ull, ~0ull };
    uint64_t r = l4_thread_schedule(id, KEEP, KEEP, &si);
    UCHECK_EQ(r, L4_OK);
    return si;
}

static void spin_us(uint64_t us)
{
    uint64_t t0 = unow_us();
    while (unow_us() - t0 < us)
        ;
}

/* Starts lthread lt running fn(arg) at priority prio (and timeslice slice,
 * KEEP = default): created inactive first, its parameters set, then
 * started, so it never runs at the creator's priority. */
static uint64_t start_at(unsigned lt, void (*fn)(uint64_t), uint64_t arg, uint64_t prio,
                         uint64_t slice)
{
    uint64_t id = 0;
    if (l4_lthread_ex_regs(lt, KEEP, KEEP, KEEP, KEEP, &id, 0) != L4_OK || !id)
        return 0;
    if (l4_thread_schedule(id, prio, slice, 0) != L4_OK)
        return 0;
    uint64_t *sp = uthread_stack_top(lt);
    *--sp = 0;
    *--sp = 0;
    *--sp = arg;
    *--sp = (uint64_t)fn;
    if (l4_lthread_ex_regs(lt, (uint64_t)uthread_trampoline, (uint64_t)sp, KEEP, KEEP, 0, 0) !=
        L4_OK)
        return 0;
    return id;
}

/* An order of events, for "who ran first". */
static volatile uint64_t evlog[32];
static volatile unsigned nev;

static void ev(uint64_t what)
{
    unsigned i = __atomic_fetch_add(&nev, 1, __ATOMIC_SEQ_CST);
    if (i < 32)
        evlog[i] = what;
}

static void ev_reset(void)
{
    nev = 0;
    for (unsigned i = 0; i < 32; i++)
        evlog[i] = 0;
}

static bool ev_is(const char *order)
{
    unsigned n = 0;
    while (order[n])
        n++;
    bool ok = nev == n;
    for (unsigned i = 0; ok && i < n; i++)
        ok = evlog[i] == (uint64_t)(unsigned char)order[i];
    return ok;
}

static void ev_expect(const char *order)
{
    bool ok = ev_is(order);
    if (!ok) {
        uprintf("  event order: expected \"%s\", got \"", order);
        for (unsigned i = 0; i < nev && i < 32; i++)
            uprintf("%c", (char)evlog[i]);
        uprintf("\"\n");
    }
    UCHECK(ok);
}

/* A thread that records its event letter and blocks forever. */
static void note_and_block(uint64_t letter)
{
    ev(letter);
}

static void do_nothing(uint64_t arg)
{
    (void)arg;
}

/* A watchdog for the cases where I hand the CPU to a thread that spins
 * until told to stop: if the kernel never gives it back, a prio-250
 * thread tells the spinner to stop after 'ms', so the case fails instead
 * of hanging the suite. */
struct watchdog {
    volatile int *stop;
    uint64_t ms, owner, id;
    volatile int fired;
};

static void watchdog_fn(uint64_t arg)
{
    struct watchdog *w = (struct watchdog *)arg;
    struct l4_msg m = { 0 };
    /* A closed receive from the owner: its message disarms me. */
    uint64_t r = l4_ipc(w->owner, L4_NODESC, 0, L4_TIMEOUTS(0, uto_us(w->ms * 1000), 0, 0), &m, 0);
    if (L4_IPC_ERR(r) == L4_IPC_RCV_TIMEOUT) {
        w->fired = 1;
        *w->stop = 1;
    }
}

static void watchdog_arm(struct watchdog *w, unsigned lt, volatile int *stop, uint64_t ms)
{
    w->stop = stop;
    w->ms = ms;
    w->owner = umyself();
    w->fired = 0;
    w->id = start_at(lt, watchdog_fn, (uint64_t)w, 250, KEEP);   /* runs into its receive */
    UCHECK(w->id != 0);
}

static void watchdog_disarm(struct watchdog *w)
{
    struct l4_msg m = { 0 };
    if (!w->fired)
        l4_ipc(w->id, L4_TAG(0, 0, 0), L4_NODESC, L4_TIMEOUTS(L4_TO_ZERO, 0, 0, 0), &m, 0);
    if (w->fired)
        uprintf("  watchdog: the spinner kept the CPU for %lu ms\n", w->ms);
    UCHECK(!w->fired);
    UCHECK_EQ(info_of(w->id).partner, L4_NILTHREAD);    /* gone to uthread_exit */
}

/* ---- thread_schedule: reading ---- */

UTEST(schedule_reads_self)
{
    uint64_t me = umyself();
    struct l4_sched_info si = info_of(me);
    UCHECK_EQ(si.prio, 100);
    UCHECK_EQ(si.timeslice_us, 10000);
    UCHECK_EQ(si.state, L4_TS_READY);
    UCHECK_EQ(si.partner, L4_NILTHREAD);

    /* Busy work is charged to me: 5 ms of spinning, 5 ticks while I run. */
    uint64_t c0 = info_of(me).cpu_us;
    spin_us(5000);
    uint64_t c1 = info_of(me).cpu_us;
    VPRINT("  cpu %lu -> %lu -> ", c0, c1);
    if (c1 - c0 < 4000 || c1 - c0 > 7000)
        uprintf("  cpu_us grew by %lu over 5 ms of spinning\n", c1 - c0);
    UCHECK(c1 - c0 >= 4000 && c1 - c0 <= 7000);

    /* Sleeping is not: 5 ms blocked, at most the tick I was woken in. */
    usleep_us(5000);
    uint64_t c2 = info_of(me).cpu_us;
    VPRINT("%lu\n", c2);
    if (c2 - c1 > 1000)
        uprintf("  cpu_us grew by %lu over 5 ms of sleeping\n", c2 - c1);
    UCHECK(c2 - c1 <= 1000);
}

static volatile uint64_t st_got, st_from;

static void closed_receiver(uint64_t from)
{
    struct l4_msg m = { 0 };
    uint64_t who = 0;
    uint64_t r = l4_ipc(from, L4_NODESC, 0, 0, &m, &who);   /* closed, never */
    if (L4_IPC_ERR(r) == L4_IPC_OK && who == from)
        st_got = m.w[0];
}

static void open_receiver(uint64_t arg)
{
    (void)arg;
    struct l4_msg m = { 0 };
    uint64_t who = 0;
    uint64_t r = l4_ipc(L4_NILTHREAD, L4_NODESC, L4_RCV_OPEN, 0, &m, &who);
    if (L4_IPC_ERR(r) == L4_IPC_OK) {
        st_got = m.w[0];
        st_from = who;
    }
}

static void sender(uint64_t to)
{
    struct l4_msg m = { 0 };
    m.w[0] = 0x5e4d;
    l4_ipc(to, L4_TAG(5, 1, 0), L4_NODESC, 0, &m, 0);        /* send, never */
}

UTEST(schedule_reads_blocked_states)
{
    uint64_t me = umyself();
    struct l4_msg m = { 0 };

    /* A thread blocked in a closed receive from me. */
    uint64_t r1 = uthread_start(1, closed_receiver, me);
    UCHECK(r1 != 0);
    UCHECK_EQ(l4_thread_switch(r1), L4_OK);         /* it runs until it blocks */
    struct l4_sched_info si = info_of(r1);
    UCHECK_EQ(si.state, L4_TS_RECEIVING);
    UCHECK_EQ(si.partner, me);
    UCHECK_EQ(si.prio, 100);                        /* the creator's */
    UCHECK_EQ(si.timeslice_us, 10000);
    st_got = 0;
    m.w[0] = 0xabc;
    UCHECK_EQ(L4_IPC_ERR(l4_ipc(r1, L4_TAG(1, 1, 0), L4_NODESC, 0, &m, 0)), L4_IPC_OK);
    UCHECK_EQ(l4_thread_switch(r1), L4_OK);         /* let it finish */
    UCHECK_EQ(st_got, 0xabc);
    /* Now in uthread_exit: a receive from nil, forever. */
    si = info_of(r1);
    UCHECK_EQ(si.state, L4_TS_RECEIVING);
    UCHECK_EQ(si.partner, L4_NILTHREAD);

    /* An open receive. */
    uint64_t r2 = uthread_start(2, open_receiver, 0);
    UCHECK(r2 != 0);
    UCHECK_EQ(l4_thread_switch(r2), L4_OK);
    si = info_of(r2);
    UCHECK_EQ(si.state, L4_TS_RECEIVING);
    st_got = 0;
    m.w[0] = 0xdef;
    UCHECK_EQ(L4_IPC_ERR(l4_ipc(r2, L4_TAG(1, 1, 0), L4_NODESC, 0, &m, 0)), L4_IPC_OK);
    UCHECK_EQ(l4_thread_switch(r2), L4_OK);
    UCHECK_EQ(st_got, 0xdef);
    UCHECK_EQ(st_from, me);

    /* A thread blocked sending to me. */
    uint64_t s = uthread_start(3, sender, me);
    UCHECK(s != 0);
    UCHECK_EQ(l4_thread_switch(s), L4_OK);
    si = info_of(s);
    UCHECK_EQ(si.state, L4_TS_SENDING);
    UCHECK_EQ(si.partner, me);
    uint64_t from = 0;
    m.w[0] = 0;
    UCHECK_EQ(L4_IPC_ERR(l4_ipc(s, L4_NODESC, 0, 0, &m, &from)), L4_IPC_OK);
    UCHECK_EQ(from, s);
    UCHECK_EQ(m.w[0], 0x5e4d);

    /* Created but never started. */
    uint64_t idle = 0;
    UCHECK_EQ(l4_lthread_ex_regs(4, KEEP, KEEP, KEEP, KEEP, &idle, 0), L4_OK);
    si = info_of(idle);
    UCHECK_EQ(si.state, L4_TS_INACTIVE);
    UCHECK_EQ(si.cpu_us, 0);
    UCHECK_EQ(si.partner, L4_NILTHREAD);

    /* A blocked thread is not charged while I spin. */
    uint64_t c0 = info_of(r1).cpu_us;
    spin_us(3000);
    UCHECK_EQ(info_of(r1).cpu_us, c0);
}

/* ---- thread_schedule: setting, and its errors ---- */

UTEST(schedule_set_and_read_back)
{
    uint64_t me = umyself();
    struct l4_sched_info old;

    UCHECK_EQ(l4_thread_schedule(me, 120, 20000, &old), L4_OK);
    UCHECK_EQ(old.prio, 100);
    UCHECK_EQ(old.timeslice_us, 10000);
    struct l4_sched_info now = info_of(me);
    UCHECK_EQ(now.prio, 120);
    UCHECK_EQ(now.timeslice_us, 20000);
    /* One at a time: the other is kept. */
    UCHECK_EQ(l4_thread_schedule(me, 110, KEEP, &old), L4_OK);
    UCHECK_EQ(old.prio, 120);
    UCHECK_EQ(old.timeslice_us, 20000);
    UCHECK_EQ(l4_thread_schedule(me, KEEP, 5000, &old), L4_OK);
    UCHECK_EQ(old.prio, 110);
    UCHECK_EQ(old.timeslice_us, 20000);
    UCHECK_EQ(l4_thread_schedule(me, 100, 10000, &old), L4_OK);
    UCHECK_EQ(old.prio, 110);
    UCHECK_EQ(old.timeslice_us, 5000);
    now = info_of(me);
    UCHECK_EQ(now.prio, 100);
    UCHECK_EQ(now.timeslice_us, 10000);

    /* Another thread of my task (blocked forever), up to my mcp 255, and
     * the bounds of the timeslice (100 us .. 10 s). */
    uint64_t t = uthread_start(5, do_nothing, 0);
    UCHECK(t != 0);
    UCHECK_EQ(l4_thread_switch(t), L4_OK);
    UCHECK_EQ(l4_thread_schedule(t, 255, 100, &old), L4_OK);
    UCHECK_EQ(old.prio, 100);
    UCHECK_EQ(old.timeslice_us, 10000);
    UCHECK_EQ(l4_thread_schedule(t, 0, 10000000, &old), L4_OK);
    UCHECK_EQ(old.prio, 255);
    UCHECK_EQ(old.timeslice_us, 100);
    now = info_of(t);
    UCHECK_EQ(now.prio, 0);
    UCHECK_EQ(now.timeslice_us, 10000000);
    UCHECK_EQ(now.state, L4_TS_RECEIVING);
    UCHECK_EQ(l4_thread_schedule(t, 30, 5000, &old), L4_OK);
    UCHECK_EQ(old.prio, 0);
    UCHECK_EQ(old.timeslice_us, 10000000);
    now = info_of(t);
    UCHECK_EQ(now.prio, 30);
    UCHECK_EQ(now.timeslice_us, 5000);
    UCHECK_EQ(my_prio(), 100);
}

UTEST(schedule_errors)
{
    uint64_t me = umyself();
    struct l4_sched_info si;

    /* Unknown threads: never created, a stale version, nil, invalid, a
     * task that does not exist. */
    UCHECK_EQ(l4_thread_schedule(L4_ID(L4_ROOT_TASK, 62, 1), KEEP, KEEP, &si), L4_ENOTHREAD);
    UCHECK_EQ(l4_thread_schedule(me + 1, KEEP, KEEP, &si), L4_ENOTHREAD);
    UCHECK_EQ(l4_thread_schedule(L4_NILTHREAD, KEEP, KEEP, &si), L4_ENOTHREAD);
    UCHECK_EQ(l4_thread_schedule(L4_INVALID, KEEP, KEEP, &si), L4_ENOTHREAD);
    UCHECK_EQ(l4_thread_schedule(L4_ID(77, 0, 1), 100, KEEP, &si), L4_ENOTHREAD);

    /* Priorities above 255 (the root task's mcp is 255, so nothing in
     * 0..255 is above it): a bad argument. */
    UCHECK_EQ(l4_thread_schedule(me, 256, KEEP, 0), L4_EINVAL);
    UCHECK_EQ(l4_thread_schedule(me, 1000, KEEP, 0), L4_EINVAL);
    UCHECK_EQ(l4_thread_schedule(me, 256, 10000, 0), L4_EINVAL);

    /* Timeslices outside 100 us .. 10 s: a bad argument too. */
    UCHECK_EQ(l4_thread_schedule(me, KEEP, 10, 0), L4_EINVAL);
    UCHECK_EQ(l4_thread_schedule(me, KEEP, 99, 0), L4_EINVAL);
    UCHECK_EQ(l4_thread_schedule(me, KEEP, 0, 0), L4_EINVAL);
    UCHECK_EQ(l4_thread_schedule(me, KEEP, 10000001, 0), L4_EINVAL);
    UCHECK_EQ(l4_thread_schedule(me, KEEP, 100000000, 0), L4_EINVAL);   /* 100 s */
    /* ... also when the priority given with it is fine (the caller may
     * set prio 120: nothing is "not allowed", the slice is bad). */
    UCHECK_EQ(l4_thread_schedule(me, 120, 10, 0), L4_EINVAL);
    UCHECK_EQ(l4_thread_schedule(me, 120, 100000000, 0), L4_EINVAL);

    /* A failed call changes nothing. */
    si = info_of(me);
    UCHECK_EQ(si.prio, 100);
    UCHECK_EQ(si.timeslice_us, 10000);
    if (si.prio != 100 || si.timeslice_us != 10000)
        l4_thread_schedule(me, 100, 10000, 0);
}

/* ---- priorities ---- */

static void high_starter(uint64_t arg)
{
    (void)arg;
    ev('H');
}

UTEST(higher_prio_started_runs_first)
{
    ev_reset();
    ev('0');
    uint64_t h = start_at(6, high_starter, 0, 150, KEEP);
    ev('M');
    UCHECK(h != 0);
    ev_expect("0HM");
    UCHECK_EQ(info_of(h).state, L4_TS_RECEIVING);   /* done, in uthread_exit */
}

static void high_receiver(uint64_t from)
{
    ev('h');
    struct l4_msg m = { 0 };
    uint64_t r = l4_ipc(from, L4_NODESC, 0, 0, &m, 0);
    ev(L4_IPC_ERR(r) == L4_IPC_OK && m.w[0] == 77 ? 'H' : 'X');
}

UTEST(higher_prio_woken_by_ipc_runs_first)
{
    ev_reset();
    uint64_t h = start_at(7, high_receiver, umyself(), 150, KEEP);
    UCHECK(h != 0);
    ev('0');
    /* It is blocked in its receive now; my send wakes it, and it runs
     * before my send returns to me. */
    UCHECK_EQ(info_of(h).state, L4_TS_RECEIVING);
    struct l4_msg m = { 0 };
    m.w[0] = 77;
    uint64_t r = l4_ipc(h, L4_TAG(1, 1, 0), L4_NODESC, 0, &m, 0);
    ev('M');
    UCHECK_EQ(L4_IPC_ERR(r), L4_IPC_OK);
    ev_expect("h0HM");
}

static volatile uint64_t tw_start, tw_woke;

static void high_sleeper(uint64_t arg)
{
    (void)arg;
    tw_start = unow_us();
    usleep_us(5000);
    tw_woke = unow_us();
    ev('H');
}

UTEST(higher_prio_woken_by_timeout_preempts)
{
    ev_reset();
    tw_start = tw_woke = 0;
    uint64_t h = start_at(8, high_sleeper, 0, 150, KEEP);
    UCHECK(h != 0);
    UCHECK(tw_start != 0);
    UCHECK(tw_woke == 0);
    /* I never block: only preemption on its timeout lets it run. */
    uint64_t t0 = unow_us();
    unsigned seen_at_spin = 0;
    while (unow_us() - t0 < 50000) {
        if (tw_woke) {
            seen_at_spin = 1;
            break;
        }
    }
    ev('M');
    VPRINT("  slept %lu us, noticed %lu us later\n", tw_woke - tw_start, unow_us() - tw_woke);
    UCHECK(seen_at_spin);
    UCHECK(tw_woke - tw_start >= 5000 && tw_woke - tw_start <= 6000);
    if (tw_woke)
        UCHECK(unow_us() - tw_woke <= 1000);    /* I noticed at once */
    ev_expect("HM");
}

static volatile uint64_t lp_count;
static volatile int lp_stop, lp_done;

static void low_spinner(uint64_t arg)
{
    (void)arg;
    while (!lp_stop)
        lp_count++;
    lp_done = 1;
}

UTEST(lower_prio_starves_while_higher_spins)
{
    lp_count = 0;
    lp_stop = lp_done = 0;
    uint64_t l = start_at(9, low_spinner, 0, 50, KEEP);
    UCHECK(l != 0);
    UCHECK_EQ(lp_count, 0);             /* not run while I am ready */
    usleep_us(3000);                    /* I block: it runs */
    uint64_t c0 = lp_count, cpu0 = info_of(l).cpu_us;
    VPRINT("  low spinner: %lu iterations, %lu us in 3 ms\n", c0, cpu0);
    UCHECK(c0 > 0);
    UCHECK_EQ(info_of(l).state, L4_TS_READY);
    spin_us(30000);                     /* three of my timeslices */
    uint64_t c1 = lp_count, cpu1 = info_of(l).cpu_us;
    if (c1 != c0)
        uprintf("  prio-50 spinner advanced %lu iterations, %lu us\n", c1 - c0, cpu1 - cpu0);
    UCHECK_EQ(c1, c0);
    UCHECK_EQ(cpu1, cpu0);
    /* Yielding to equals does not hand the CPU down either. */
    for (int i = 0; i < 5; i++)
        UCHECK_EQ(l4_thread_switch(L4_NILTHREAD), L4_OK);
    UCHECK_EQ(lp_count, c0);
    lp_stop = 1;
    usleep_us(2000);
    UCHECK(lp_done);
}

UTEST(prio_change_reschedules)
{
    uint64_t me = umyself();
    /* Raising a ready thread above me: it runs before the call returns. */
    ev_reset();
    uint64_t a = uthread_start(10, note_and_block, 'A');   /* prio 100, queued */
    UCHECK(a != 0);
    ev('0');
    UCHECK_EQ(l4_thread_schedule(a, 150, KEEP, 0), L4_OK);
    ev('M');
    ev_expect("0AM");

    /* Lowering myself below a ready thread: it runs before the call
     * returns. */
    ev_reset();
    uint64_t b = uthread_start(11, note_and_block, 'B');
    UCHECK(b != 0);
    ev('0');
    UCHECK_EQ(l4_thread_schedule(me, 90, KEEP, 0), L4_OK);
    ev('M');
    UCHECK_EQ(l4_thread_schedule(me, 100, KEEP, 0), L4_OK);
    ev_expect("0BM");
    UCHECK_EQ(my_prio(), 100);

    /* Lowering a ready thread below me: it no longer gets my yields; it
     * runs once I block. */
    ev_reset();
    uint64_t c = uthread_start(31, note_and_block, 'C');
    UCHECK(c != 0);
    UCHECK_EQ(l4_thread_schedule(c, 60, KEEP, 0), L4_OK);
    UCHECK_EQ(l4_thread_switch(L4_NILTHREAD), L4_OK);
    ev('M');
    usleep_us(1000);
    ev('m');
    ev_expect("MCm");
}

/* The whole range, across the words of a 256-bit ready bitmap: for each
 * pair lo < hi, a thread at hi started by me at lo runs at once; one at lo
 * started by me at hi waits until I block. */
UTEST(priority_range_edges)
{
    static const uint8_t pairs[][2] = { { 0, 1 }, { 63, 64 }, { 127, 128 }, { 191, 192 },
                                        { 254, 255 } };
    uint64_t me = umyself();
    unsigned lt = 32;
    for (unsigned i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        uint64_t lo = pairs[i][0], hi = pairs[i][1];
        ev_reset();
        UCHECK_EQ(l4_thread_schedule(me, lo, KEEP, 0), L4_OK);
        UCHECK(start_at(lt++, note_and_block, 'H', hi, KEEP) != 0);
        ev('M');
        UCHECK_EQ(l4_thread_schedule(me, hi, KEEP, 0), L4_OK);
        UCHECK(start_at(lt++, note_and_block, 'L', lo, KEEP) != 0);
        UCHECK_EQ(l4_thread_switch(L4_NILTHREAD), L4_OK);
        ev('m');
        usleep_us(1000);
        ev('s');
        if (!ev_is("HMmLs"))
            uprintf("  priorities %lu and %lu:\n", lo, hi);
        ev_expect("HMmLs");
    }
    UCHECK_EQ(l4_thread_schedule(me, 100, KEEP, 0), L4_OK);
}

/* ---- round robin ---- */

#define RR_N 3
static volatile uint64_t rr_count[RR_N];
static volatile int rr_stop, rr_done[RR_N];

static void rr_spinner(uint64_t i)
{
    while (!rr_stop)
        rr_count[i]++;
    rr_done[i] = 1;
}

/* Three spinners at prio 100 share ~200 ms while I sleep at prio 200.
 * 200 ms is 20 slices of 10 ms: a fair round robin gives each 6 or 7 of
 * them (one may be cut short when I wake), i.e. within ~15% of the mean.
 * Bound: every thread's share within 0.8..1.2 of the mean (for two
 * threads this is the 40%..60% split); a thread skipped for two slices,
 * or a queue that does not rotate, falls outside it. */
UTEST(equal_prio_round_robin_is_fair)
{
    uint64_t me = umyself();
    uint64_t id[RR_N];
    rr_stop = 0;
    UCHECK_EQ(l4_thread_schedule(me, 200, KEEP, 0), L4_OK);
    for (unsigned i = 0; i < RR_N; i++) {
        rr_count[i] = 0;
        rr_done[i] = 0;
        id[i] = start_at(12 + i, rr_spinner, i, 100, KEEP);
        UCHECK(id[i] != 0);
    }
    uint64_t cpu0[RR_N];
    for (unsigned i = 0; i < RR_N; i++)
        cpu0[i] = info_of(id[i]).cpu_us;
    uint64_t t0 = unow_us();
    usleep_us(200000);
    uint64_t t1 = unow_us();
    uint64_t cnt[RR_N], cpu[RR_N], sum = 0, cpusum = 0;
    for (unsigned i = 0; i < RR_N; i++) {
        cnt[i] = rr_count[i];
        cpu[i] = info_of(id[i]).cpu_us - cpu0[i];
        sum += cnt[i];
        cpusum += cpu[i];
    }
    rr_stop = 1;
    usleep_us(3000);
    UCHECK_EQ(l4_thread_schedule(me, 100, KEEP, 0), L4_OK);
    for (unsigned i = 0; i < RR_N; i++)
        UCHECK(rr_done[i]);
    UCHECK(t1 - t0 >= 199000);
    uint64_t mean = sum / RR_N, cpumean = cpusum / RR_N;
    bool ok = true;
    for (unsigned i = 0; i < RR_N; i++) {
        if (cnt[i] * 10 < mean * 8 || cnt[i] * 10 > mean * 12)
            ok = false;
        if (cpu[i] * 10 < cpumean * 8 || cpu[i] * 10 > cpumean * 12)
            ok = false;
    }
    if (!ok || VERBOSE_ON)
        for (unsigned i = 0; i < RR_N; i++)
            uprintf("  spinner %u: %lu iterations (mean %lu), %lu us (mean %lu)\n", i, cnt[i],
                    mean, cpu[i], cpumean);
    UCHECK(ok);
    /* The CPU went to them, not to idle: ~200 ms between the three. */
    VPRINT("  total %lu us over %lu us\n", cpusum, t1 - t0);
    UCHECK(cpusum >= 190000 && cpusum <= 210000);
}

/* ---- timer preemption and timeslices ---- */

static volatile uint64_t sp_count;
static volatile int sp_stop, sp_done;

static void same_prio_spinner(uint64_t arg)
{
    (void)arg;
    while (!sp_stop)
        sp_count++;
    sp_done = 1;
}

UTEST(timer_preempts_equal_prio_spinner)
{
    static struct watchdog wd;
    sp_count = 0;
    sp_stop = sp_done = 0;
    watchdog_arm(&wd, 28, &sp_stop, 1000);
    uint64_t s = uthread_start(15, same_prio_spinner, 0);
    UCHECK(s != 0);
    uint64_t last = 0;
    for (int round = 0; round < 4; round++) {
        uint64_t t0 = unow_us();
        UCHECK_EQ(l4_thread_switch(L4_NILTHREAD), L4_OK);  /* it spins; never yields */
        uint64_t dt = unow_us() - t0;
        uint64_t c = sp_count;
        VPRINT("  round %d: back after %lu us, %lu iterations\n", round, dt, c - last);
        /* Back after its 10 ms timeslice, not before, not much later. */
        if (dt < 8000 || dt > 12000)
            uprintf("  round %d: back after %lu us\n", round, dt);
        UCHECK(dt >= 8000 && dt <= 12000);
        UCHECK(c > last);
        last = c;
    }
    watchdog_disarm(&wd);
    sp_stop = 1;
    UCHECK_EQ(l4_thread_switch(L4_NILTHREAD), L4_OK);
    UCHECK(sp_done);
}

static volatile uint64_t ts_count;
static volatile int ts_stop, ts_done;

static void slice_spinner(uint64_t arg)
{
    (void)arg;
    while (!ts_stop)
        ts_count++;
    ts_done = 1;
}

/* A timeslice set with thread_schedule is the time the thread runs before
 * an equal-priority thread gets the CPU back. (Rounds after the first: a
 * slice already begun may keep its old length.) */
UTEST(timeslice_length_is_honored)
{
    static struct watchdog wd;
    ts_count = 0;
    ts_stop = ts_done = 0;
    watchdog_arm(&wd, 29, &ts_stop, 1000);
    uint64_t s = uthread_start(16, slice_spinner, 0);
    UCHECK(s != 0);
    const uint64_t slices[2] = { 3000, 20000 };
    for (int k = 0; k < 2; k++) {
        UCHECK_EQ(l4_thread_schedule(s, KEEP, slices[k], 0), L4_OK);
        UCHECK_EQ(l4_thread_switch(L4_NILTHREAD), L4_OK);   /* finishes the old slice */
        for (int round = 0; round < 3; round++) {
            uint64_t t0 = unow_us(), c0 = ts_count;
            UCHECK_EQ(l4_thread_switch(L4_NILTHREAD), L4_OK);
            uint64_t dt = unow_us() - t0;
            UCHECK(ts_count > c0);
            VPRINT("  slice %lu: back after %lu us\n", slices[k], dt);
            if (dt + 1000 < slices[k] || dt > slices[k] + 2000)
                uprintf("  slice %lu us: back after %lu us\n", slices[k], dt);
            UCHECK(dt + 1000 >= slices[k] && dt <= slices[k] + 2000);
        }
    }
    watchdog_disarm(&wd);
    ts_stop = 1;
    UCHECK_EQ(l4_thread_switch(L4_NILTHREAD), L4_OK);
    UCHECK(ts_done);
}

/* ---- thread_switch ---- */

UTEST(thread_switch_nil_yields_to_equal)
{
    /* Nothing else ready: returns at once. */
    uint64_t t0 = unow_us();
    for (int i = 0; i < 100; i++)
        UCHECK_EQ(l4_thread_switch(L4_NILTHREAD), L4_OK);
    UCHECK(unow_us() - t0 <= 1000);

    ev_reset();
    uint64_t y = uthread_start(17, note_and_block, 'Y');
    UCHECK(y != 0);
    ev('0');
    UCHECK_EQ(l4_thread_switch(L4_NILTHREAD), L4_OK);
    ev('M');
    ev_expect("0YM");

    /* Two ready equals: they both run (in queue order) before I do. */
    ev_reset();
    UCHECK(uthread_start(18, note_and_block, 'P') != 0);
    UCHECK(uthread_start(19, note_and_block, 'Q') != 0);
    ev('0');
    UCHECK_EQ(l4_thread_switch(L4_NILTHREAD), L4_OK);
    ev('M');
    ev_expect("0PQM");
}

UTEST(thread_switch_donates)
{
    uint64_t me = umyself();
    ev_reset();
    uint64_t a = uthread_start(20, note_and_block, 'A');
    uint64_t b = uthread_start(21, note_and_block, 'B');
    uint64_t c = uthread_start(22, note_and_block, 'C');
    UCHECK(a && b && c);
    ev('0');
    /* C runs next, though A and B are ahead of it; then the queue goes
     * on in order, with me at its tail. */
    UCHECK_EQ(l4_thread_switch(c), L4_OK);
    ev('M');
    ev_expect("0CABM");

    /* Donation ignores priorities: a prio-50 thread runs now. */
    ev_reset();
    uint64_t d = start_at(23, note_and_block, 'D', 50, KEEP);
    UCHECK(d != 0);
    ev('0');
    UCHECK_EQ(l4_thread_switch(d), L4_OK);
    ev('M');
    ev_expect("0DM");

    /* To a blocked thread, or to myself: a plain yield, OK. */
    UCHECK_EQ(l4_thread_switch(a), L4_OK);
    UCHECK_EQ(l4_thread_switch(me), L4_OK);
    UCHECK_EQ(my_prio(), 100);
}

UTEST(thread_switch_unknown_thread)
{
    uint64_t me = umyself();
    UCHECK_EQ(l4_thread_switch(L4_ID(L4_ROOT_TASK, 63, 1)), L4_ENOTHREAD);
    UCHECK_EQ(l4_thread_switch(me + 1), L4_ENOTHREAD);         /* stale version */
    UCHECK_EQ(l4_thread_switch(L4_INVALID), L4_ENOTHREAD);
    UCHECK_EQ(l4_thread_switch(L4_ID(77, 1, 1)), L4_ENOTHREAD);
    UCHECK_EQ(l4_thread_switch(1ull << 40), L4_ENOTHREAD);    /* bits above the task */
}

/* ---- FPU / SSE isolation ---- */

/* Register layout of one xmm_hold() call (uint64_t indices):
 *   in:  [0..31] xmm0..15, [32] mxcsr, [33] [34] two x87 doubles,
 *        [35] [36] spin counts (>= 1) before and after the system call,
 *        [37] mxcsr to leave behind;
 *   out: [64..95] xmm0..15, [96] mxcsr, [97] [98] the x87 doubles. */
#define XB_WORDS 128

/* Loads xmm0..15, MXCSR and two x87 registers, spins, makes a system call
 * (nr ~0: none), spins, stores them all. Timer preemption (and the call)
 * happen while the registers hold the values. */
static void xmm_hold(uint64_t *buf, uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2,
                     uint64_t a3, uint64_t a4)
{
    register uint64_t r10 __asm__("r10") = a3;
    register uint64_t r8 __asm__("r8") = a4;
    __asm__ volatile(
        "ldmxcsr 256(%%rbx)\n\t"
        "fldl 264(%%rbx)\n\t"
        "fldl 272(%%rbx)\n\t"
        "movdqu 0(%%rbx), %%xmm0\n\t"
        "movdqu 16(%%rbx), %%xmm1\n\t"
        "movdqu 32(%%rbx), %%xmm2\n\t"
        "movdqu 48(%%rbx), %%xmm3\n\t"
        "movdqu 64(%%rbx), %%xmm4\n\t"
        "movdqu 80(%%rbx), %%xmm5\n\t"
        "movdqu 96(%%rbx), %%xmm6\n\t"
        "movdqu 112(%%rbx), %%xmm7\n\t"
        "movdqu 128(%%rbx), %%xmm8\n\t"
        "movdqu 144(%%rbx), %%xmm9\n\t"
        "movdqu 160(%%rbx), %%xmm10\n\t"
        "movdqu 176(%%rbx), %%xmm11\n\t"
        "movdqu 192(%%rbx), %%xmm12\n\t"
        "movdqu 208(%%rbx), %%xmm13\n\t"
        "movdqu 224(%%rbx), %%xmm14\n\t"
        "movdqu 240(%%rbx), %%xmm15\n\t"
        "mov 280(%%rbx), %%rcx\n"
        "1:\n\t"
        "dec %%rcx\n\t"
        "jnz 1b\n\t"
        "cmp $-1, %%rax\n\t"
        "je 2f\n\t"
        "syscall\n"
        "2:\n\t"
        "mov 288(%%rbx), %%rcx\n"
        "3:\n\t"
        "dec %%rcx\n\t"
        "jnz 3b\n\t"
        "movdqu %%xmm0, 512(%%rbx)\n\t"
        "movdqu %%xmm1, 528(%%rbx)\n\t"
        "movdqu %%xmm2, 544(%%rbx)\n\t"
        "movdqu %%xmm3, 560(%%rbx)\n\t"
        "movdqu %%xmm4, 576(%%rbx)\n\t"
        "movdqu %%xmm5, 592(%%rbx)\n\t"
        "movdqu %%xmm6, 608(%%rbx)\n\t"
        "movdqu %%xmm7, 624(%%rbx)\n\t"
        "movdqu %%xmm8, 640(%%rbx)\n\t"
        "movdqu %%xmm9, 656(%%rbx)\n\t"
        "movdqu %%xmm10, 672(%%rbx)\n\t"
        "movdqu %%xmm11, 688(%%rbx)\n\t"
        "movdqu %%xmm12, 704(%%rbx)\n\t"
        "movdqu %%xmm13, 720(%%rbx)\n\t"
        "movdqu %%xmm14, 736(%%rbx)\n\t"
        "movdqu %%xmm15, 752(%%rbx)\n\t"
        "stmxcsr 768(%%rbx)\n\t"
        "fstpl 784(%%rbx)\n\t"
        "fstpl 776(%%rbx)\n\t"
        "ldmxcsr 296(%%rbx)\n\t"
        : "+a"(nr), "+D"(a0), "+S"(a1), "+d"(a2), "+r"(r10), "+r"(r8)
        : "b"(buf)
        : "rcx", "r9", "r11", "r12", "r13", "r14", "r15", "xmm0", "xmm1", "xmm2",
          "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12",
          "xmm13", "xmm14", "xmm15", "memory", "cc");
}

static uint64_t dbits(double d)
{
    uint64_t u;
    __builtin_memcpy(&u, &d, 8);
    return u;
}

/* Fills buf's inputs for thread idx in round r; mxcsr selects a rounding
 * mode per thread, so a leaked MXCSR shows too. */
static void xb_fill(uint64_t *buf, uint64_t idx, uint64_t r, uint32_t mxcsr, uint64_t spin)
{
    uint64_t x = (idx + 1) * 0x9e3779b97f4a7c15ull ^ (r << 20);
    for (unsigned i = 0; i < 32; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = x;
    }
    buf[32] = mxcsr;
    buf[33] = dbits(1.5 * (double)(idx + 1) + (double)r);
    buf[34] = dbits(-3.25 * (double)(idx + 7) - (double)r);
    buf[35] = spin;
    buf[36] = spin;
    buf[37] = 0x1f80;
    for (unsigned i = 64; i < 99; i++)
        buf[i] = 0;
}

static unsigned xb_mismatches(const uint64_t *buf)
{
    unsigned bad = 0;
    for (unsigned i = 0; i < 32; i++)
        bad += buf[64 + i] != buf[i];
    bad += (buf[96] & 0xffffffffu) != buf[32];
    bad += buf[97] != buf[33];
    bad += buf[98] != buf[34];
    return bad;
}

#define XW_ROUNDS 200
#define XW_SPIN 150000      /* ~0.3 ms per loop: about 2/3 of the 1 ms slices end inside a round */
static uint64_t xbuf[3][XB_WORDS] __attribute__((aligned(16)));
static volatile uint64_t xw_owner;
static volatile unsigned xw_bad[3], xw_rounds[3], xw_mid[3], xw_mid_timer[3];
static volatile int xw_done[3];
static const uint32_t xw_mxcsr[3] = { 0x1f80, 0x7f80, 0x3f80 };   /* nearest, zero, down */

static void xmm_worker(uint64_t idx)
{
    uint64_t *buf = xbuf[idx];
    for (uint64_t r = 0; r < XW_ROUNDS; r++) {
        xb_fill(buf, idx, r, xw_mxcsr[idx], XW_SPIN);
        xw_owner = idx;
        /* Even rounds yield in the middle; odd ones rely on the timer. */
        bool yield = (r % 2) == 0;
        xmm_hold(buf, yield ? L4_SYS_THREAD_SWITCH : ~0ull, L4_NILTHREAD, 0, 0, 0, 0);
        if (xw_owner != idx) {
            xw_mid[idx]++;
            if (!yield)
                xw_mid_timer[idx]++;
        }
        unsigned bad = xb_mismatches(buf);
        if (bad && !xw_bad[idx])
            uprintf("  thread %lu round %lu: %u registers changed (xmm0 %lx -> %lx, mxcsr %lx -> %lx)\n",
                    idx, r, bad, buf[0], buf[64], buf[32], buf[96]);
        xw_bad[idx] += bad;
        xw_rounds[idx]++;
    }
    xw_done[idx] = 1;
}

UTEST(fpu_sse_registers_isolated)
{
    uint64_t me = umyself();
    for (unsigned i = 0; i < 3; i++)
        xw_bad[i] = xw_rounds[i] = xw_mid[i] = xw_mid_timer[i] = xw_done[i] = 0;
    UCHECK_EQ(l4_thread_schedule(me, 200, KEEP, 0), L4_OK);
    /* Two workers at prio 100 with 1 ms slices: preempted by the timer
     * about every millisecond, and by me whenever I wake. */
    uint64_t a = start_at(24, xmm_worker, 0, 100, 1000);
    uint64_t b = start_at(25, xmm_worker, 1, 100, 1000);
    UCHECK(a && b);
    /* I hold my own values (index 2) across each sleep. */
    uint64_t t0 = unow_us();
    unsigned my_rounds = 0, my_bad = 0;
    while (!(xw_done[0] && xw_done[1]) && unow_us() - t0 < 3000000) {
        xb_fill(xbuf[2], 2, my_rounds, xw_mxcsr[2], 1000);
        xmm_hold(xbuf[2], L4_SYS_IPC, L4_NILTHREAD, L4_NODESC, 0,
                 L4_TIMEOUTS(0, uto_us(2000), 0, 0), 0);
        unsigned bad = xb_mismatches(xbuf[2]);
        if (bad && !my_bad)
            uprintf("  main round %u: %u registers changed\n", my_rounds, bad);
        my_bad += bad;
        my_rounds++;
    }
    UCHECK_EQ(l4_thread_schedule(me, 100, KEEP, 0), L4_OK);
    UCHECK(xw_done[0] && xw_done[1]);
    UCHECK_EQ(xw_rounds[0], XW_ROUNDS);
    UCHECK_EQ(xw_rounds[1], XW_ROUNDS);
    UCHECK_EQ(xw_bad[0], 0);
    UCHECK_EQ(xw_bad[1], 0);
    UCHECK_EQ(my_bad, 0);
    VPRINT("  main rounds %u\n", my_rounds);
    UCHECK(my_rounds >= 10);
    /* The test means something only if the threads did interleave inside
     * the rounds, by yields and by timer preemption. */
    if (xw_mid_timer[0] < 10 || xw_mid_timer[1] < 10 || VERBOSE_ON)
        uprintf("  preempted mid-round: %u %u (of %u %u interleaved)\n", xw_mid_timer[0],
                xw_mid_timer[1], xw_mid[0], xw_mid[1]);
    UCHECK(xw_mid_timer[0] >= 10 && xw_mid_timer[1] >= 10);
    UCHECK(xw_mid[0] >= 50 && xw_mid[1] >= 50);
}

/* A new thread starts with the default FPU state, not its creator's: I
 * hold my values in all registers (and round-to-zero in MXCSR, a changed
 * x87 control word) while the start call runs a prio-150 thread, which
 * stores what it finds first thing. */
static uint64_t probe[40] __attribute__((aligned(16)));

static void fresh_fpu_probe(uint64_t arg)
{
    (void)arg;
    __asm__ volatile("movdqu %%xmm0, 0(%0)\n\t"
                     "movdqu %%xmm1, 16(%0)\n\t"
                     "movdqu %%xmm2, 32(%0)\n\t"
                     "movdqu %%xmm3, 48(%0)\n\t"
                     "movdqu %%xmm4, 64(%0)\n\t"
                     "movdqu %%xmm5, 80(%0)\n\t"
                     "movdqu %%xmm6, 96(%0)\n\t"
                     "movdqu %%xmm7, 112(%0)\n\t"
                     "movdqu %%xmm8, 128(%0)\n\t"
                     "movdqu %%xmm9, 144(%0)\n\t"
                     "movdqu %%xmm10, 160(%0)\n\t"
                     "movdqu %%xmm11, 176(%0)\n\t"
                     "movdqu %%xmm12, 192(%0)\n\t"
                     "movdqu %%xmm13, 208(%0)\n\t"
                     "movdqu %%xmm14, 224(%0)\n\t"
                     "movdqu %%xmm15, 240(%0)\n\t"
                     "stmxcsr 256(%0)\n\t"
                     "fnstcw 264(%0)\n\t"
                     "fnstsw 272(%0)\n\t"
                     :
                     : "r"(probe)
                     : "memory");
    probe[35] = 1;
}

UTEST(fpu_new_thread_starts_clean)
{
    for (unsigned i = 0; i < 40; i++)
        probe[i] = 0;
    uint64_t id = 0;
    unsigned lt = 30;
    UCHECK_EQ(l4_lthread_ex_regs(lt, KEEP, KEEP, KEEP, KEEP, &id, 0), L4_OK);
    UCHECK_EQ(l4_thread_schedule(id, 150, KEEP, 0), L4_OK);
    uint64_t *sp = uthread_stack_top(lt);
    *--sp = 0;
    *--sp = 0;
    *--sp = 0;
    *--sp = (uint64_t)fresh_fpu_probe;
    uint64_t *buf = xbuf[2];
    xb_fill(buf, 5, 0, 0x7f80, 1);
    uint16_t fcw = 0x0c7f, fcw_after = 0;   /* round to zero, 64-bit precision */
    __asm__ volatile("fldcw %0" ::"m"(fcw));
    xmm_hold(buf, L4_SYS_LTHREAD_EX_REGS, lt, (uint64_t)uthread_trampoline, (uint64_t)sp, KEEP,
             KEEP);
    __asm__ volatile("fnstcw %0\n\t"
                     "fninit" : "=m"(fcw_after));   /* back to the default 0x037f */
    UCHECK_EQ(probe[35], 1);                    /* it ran within my call */
    UCHECK_EQ(xb_mismatches(buf), 0);           /* my registers survived */
    UCHECK_EQ(fcw_after, 0x0c7f);
    unsigned same = 0;
    for (unsigned i = 0; i < 32; i += 2)
        same += probe[i] == buf[i] && probe[i + 1] == buf[i + 1];
    UCHECK_EQ(same, 0);                         /* no xmm of mine in it */
    UCHECK_EQ(probe[32] & 0xffffffff, 0x1f80);  /* default MXCSR */
    UCHECK_EQ(probe[33] & 0xffff, 0x037f);      /* default x87 control word */
    UCHECK_EQ(probe[34] & 0x3800, 0);           /* x87 stack top 0: empty */
}

/* Doubles in plain C: a series whose checkpoints must come out bit for
 * bit as computed alone. gcc keeps the running values in xmm registers,
 * also across the inline thread_switch (which clobbers no xmm). */
#define FS_N 1200000
#define FS_EVERY 4096
#define FS_CP (FS_N / FS_EVERY)

static __attribute__((noinline)) void fseries(uint64_t seed, uint64_t *cp, int yield)
{
    double x = 1.0 + (double)seed * 0.001, s = 0.0, p = 1.0, q = (double)seed;
    for (unsigned i = 1; i <= FS_N; i++) {
        x = x * 1.0000001 + 1.0 / ((double)i + q);
        s += x / (double)i;
        p = p * 0.999 + s * 1e-9;
        if (i % FS_EVERY == 0) {
            cp[i / FS_EVERY - 1] = dbits(s + p * x);
            if (yield)
                l4_thread_switch(L4_NILTHREAD);
        }
    }
}

static uint64_t fs_expect[2][FS_CP], fs_got[2][FS_CP];
static volatile int fs_done[2];
static volatile uint64_t fs_seed[2] = { 3, 1000003 };

static void fs_worker(uint64_t idx)
{
    fseries(fs_seed[idx], fs_got[idx], idx == 0);   /* one yields, one is only preempted */
    fs_done[idx] = 1;
}

UTEST(fpu_double_series_isolated)
{
    uint64_t me = umyself();
    for (unsigned i = 0; i < 2; i++) {
        fs_done[i] = 0;
        fseries(fs_seed[i], fs_expect[i], 0);       /* alone */
    }
    UCHECK(fs_expect[0][FS_CP - 1] != fs_expect[1][FS_CP - 1]);
    UCHECK_EQ(l4_thread_schedule(me, 200, KEEP, 0), L4_OK);
    uint64_t a = start_at(26, fs_worker, 0, 100, 1000);
    uint64_t b = start_at(27, fs_worker, 1, 100, 1000);
    UCHECK(a && b);
    /* I compute too, waking every 2 ms in the middle of their work. */
    uint64_t t0 = unow_us(), to = L4_TIMEOUTS(0, uto_us(2000), 0, 0);
    double mine = 0.0;
    unsigned n = 0;
    while (!(fs_done[0] && fs_done[1]) && unow_us() - t0 < 3000000) {
        struct l4_msg m = { 0 };
        l4_ipc(L4_NILTHREAD, L4_NODESC, 0, to, &m, 0);  /* inline: mine may stay in xmm */
        mine = mine * 0.5 + 1.0 / (double)(++n);
    }
    UCHECK_EQ(l4_thread_schedule(me, 100, KEEP, 0), L4_OK);
    UCHECK(fs_done[0] && fs_done[1]);
    VPRINT("  main woke %u times\n", n);
    UCHECK(n >= 5);
    double want = 0.0;
    for (unsigned i = 1; i <= n; i++)
        want = want * 0.5 + 1.0 / (double)i;
    UCHECK_EQ(dbits(mine), dbits(want));
    for (unsigned k = 0; k < 2; k++) {
        unsigned bad = 0, first = FS_CP;
        for (unsigned i = 0; i < FS_CP; i++)
            if (fs_got[k][i] != fs_expect[k][i]) {
                if (first == FS_CP)
                    first = i;
                bad++;
            }
        if (bad)
            uprintf("  worker %u: %u of %u checkpoints differ, first %u (%lx != %lx)\n", k, bad,
                    FS_CP, first, fs_got[k][first], fs_expect[k][first]);
        UCHECK_EQ(bad, 0);
    }
}

int main(void)
{
    return utest_run("sched");
}
