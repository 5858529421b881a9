/* Suite "abi": the answers abi.md gives where a user would otherwise
 * guess (each case names the abi.md section it holds to):
 * - task_new's argument checks, and that a refused call deletes nothing;
 * - ids with bits above 35, in every call that takes an id;
 * - whether L4_IPC_FROM_INNER counts the sender's own task or clan;
 * - which side learns of each kind of map failure, whichever side came
 *   first;
 * - a message with more than 8 string items;
 * - detaching an interrupt line, held or not;
 * - thread_switch to a thread that is not there;
 * - lthread_ex_regs on a thread that runs, one that waits in an IPC, and
 *   the old values of one never started.
 * Child tasks run the root's code, identity-paged (as clan_test.c). */
#include "utest.h"

#define NIL       L4_NILTHREAD
#define KHALF     0xffff800000000000ull
#define HIGH_BIT  (1ull << 40)      /* an id bit above 35 */
#define TO_MS(ms) L4_TO((uint16_t)(ms), 10)     /* ms * 1024 µs */

enum { LT_PAGER = 1, LT_RCV, LT_SND, LT_SPIN, LT_FRESH, LT_GONE, LT_EXR };
enum { TN_CHILD = 3, TN_KEEP = 4 };
enum { ST_CHILD, ST_KEEP, ST_EXR, ST_NEW, NST };
static uint64_t stacks[NST][1024] __attribute__((aligned(4096)));
static uint64_t stack_top(unsigned i) { return (uint64_t)&stacks[i][1024] - 8; }

static uint64_t pager(void)             /* the root's identity pager, started once */
{
    static uint64_t id;
    if (!id)
        id = uthread_start(LT_PAGER, upager_identity, 0);
    return id;
}

static bool wait_for(volatile uint64_t *p, uint64_t want, uint64_t us)
{
    uint64_t t0 = unow_us();
    while (*p < want) {
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

static uint64_t kcheck(void)
{
    uint64_t a[6] = { L4_KDEBUG_CHECK };
    return l4_syscall6(L4_SYS_KDEBUG, a);
}

/* ==== task_new (abi.md "task_new") ==== */
UTEST(task_new_refusals_delete_nothing)
{
    uint64_t x, keep;
    UCHECK_EQ(l4_task_new(L4_ID(TN_KEEP, 0, 0), 100, (uint64_t)block, stack_top(ST_KEEP), pager(), 0,
                          &keep), L4_OK);
    struct l4_sched_info si;
    for (unsigned i = 0; i < 100 && (l4_thread_schedule(keep, ~0ull, ~0ull, &si), si.state != 3); i++)
        usleep_us(1000);
    UCHECK_EQ(si.state, 3);                         /* in block(): receiving for ever */
    /* mcp above 255, with or without a pager: EINVAL, not min(rsi, mcp) */
    UCHECK_EQ(l4_task_new(keep, 256, (uint64_t)block, stack_top(ST_KEEP), pager(), 0, &x), L4_EINVAL);
    UCHECK_EQ(x, NIL);
    UCHECK_EQ(l4_task_new(keep, 256, 0, 0, NIL, 0, &x), L4_EINVAL);
    /* task 0 (the kernel's), an id with bits above 35, the invalid id */
    UCHECK_EQ(l4_task_new(L4_ID(0, 0, 0), 10, (uint64_t)block, stack_top(ST_NEW), pager(), 0, &x),
              L4_EINVAL);
    UCHECK_EQ(l4_task_new(keep | HIGH_BIT, 10, (uint64_t)block, stack_top(ST_KEEP), pager(), 0, &x),
              L4_EINVAL);
    UCHECK_EQ(l4_task_new(L4_INVALID, 10, 0, 0, NIL, 0, &x), L4_EINVAL);
    /* ip in the kernel half: refused before the old task is deleted */
    UCHECK_EQ(l4_task_new(keep, 10, KHALF, stack_top(ST_KEEP), pager(), 0, &x), L4_EINVAL);
    /* the task is still there, with the same first thread */
    UCHECK_EQ(l4_thread_schedule(keep, ~0ull, ~0ull, &si), L4_OK);
    UCHECK_EQ(si.state, 3);                         /* receiving (from nil, for ever) */
    /* mcp 255 is the largest accepted; the child gets min(255, mine) */
    UCHECK_EQ(l4_task_new(keep, 255, (uint64_t)block, stack_top(ST_KEEP), pager(), 0, &x), L4_OK);
    UCHECK(x != keep);                              /* a new first thread (new version) */
    UCHECK_EQ(l4_task_new(keep, 0, 0, 0, NIL, 0, &x), L4_OK);
    UCHECK_EQ(kcheck(), L4_OK);
}

/* ==== ids with bits above 35 (abi.md "Thread ids") ==== */
UTEST(ids_above_bit_35_name_nobody)
{
    uint64_t me = l4_myself(0), x = 0;
    uint64_t helper = uthread_start(LT_GONE, (void (*)(uint64_t))block, 0);
    UCHECK(helper != 0);
    uint64_t bad = helper | HIGH_BIT;
    struct l4_msg m = { 0 };
    UCHECK_EQ(L4_IPC_ERR(l4_ipc(bad, L4_TAG(1, 0, 0), L4_NODESC, L4_TIMEOUTS(TO_MS(10), 0, 0, 0), &m, 0)),
              L4_IPC_NOPARTNER);
    UCHECK_EQ(L4_IPC_ERR(l4_ipc(bad, L4_NODESC, 0, L4_TIMEOUTS(0, TO_MS(10), 0, 0), &m, 0)),
              L4_IPC_NOPARTNER);
    UCHECK_EQ(l4_id_nearest(bad, &x), L4_ENOTHREAD);
    UCHECK_EQ(l4_thread_switch(bad), L4_ENOTHREAD);
    UCHECK_EQ(l4_thread_schedule(bad, ~0ull, ~0ull, 0), L4_ENOTHREAD);
    UCHECK_EQ(l4_thread_schedule(me | HIGH_BIT, ~0ull, ~0ull, 0), L4_ENOTHREAD);
    /* the thread itself is untouched */
    UCHECK_EQ(l4_thread_schedule(helper, ~0ull, ~0ull, 0), L4_OK);
    UCHECK_EQ(l4_lthread_delete(LT_GONE), L4_OK);
}

/* ==== FROM_INNER (abi.md "Clans and chiefs"): only from inside a
 * subclan of mine, never from my own task or from my chief ==== */
static volatile uint64_t root_id, child_sent, child_got, child_res;
static void __attribute__((noreturn)) child_main(void)
{
    struct l4_msg m = { 0 };
    uint64_t from;
    child_res = L4_IPC_ERR(l4_ipc(root_id, L4_TAG(0x31, 0, 0), L4_NODESC,
                                  L4_TIMEOUTS(TO_MS(1000), 0, 0, 0), &m, 0));
    child_sent = 1;
    uint64_t r = l4_ipc(NIL, L4_NODESC, L4_RCV_OPEN, L4_TIMEOUTS(0, TO_MS(2000), 0, 0), &m, &from);
    child_got = r | 1ull << 63;     /* (never 0, so that the root sees it came) */
    block();
}

static volatile uint64_t sib_res;
static void sibling(uint64_t to)
{
    struct l4_msg m = { 0 };
    sib_res = l4_ipc(to, L4_TAG(0x32, 0, 0), L4_NODESC, L4_TIMEOUTS(TO_MS(1000), 0, 0, 0), &m, 0);
    block();
}

UTEST(from_inner_means_a_subclan_of_mine)
{
    uint64_t x, from, r;
    struct l4_msg m = { 0 };
    root_id = l4_myself(0);
    /* from a thread of my own task: not inner */
    UCHECK(uthread_start(LT_SND, sibling, root_id) != 0);
    r = l4_ipc(NIL, L4_NODESC, L4_RCV_OPEN, L4_TIMEOUTS(0, TO_MS(1000), 0, 0), &m, &from);
    UCHECK_EQ(L4_IPC_ERR(r), L4_IPC_OK);
    UCHECK_EQ(L4_TAG_LABEL(m.tag), 0x32);
    UCHECK(!(r & L4_IPC_FROM_INNER));
    UCHECK_EQ(l4_lthread_delete(LT_SND), L4_OK);
    /* from my child (its chief is me): inner */
    UCHECK_EQ(l4_task_new(L4_ID(TN_CHILD, 0, 0), 100, (uint64_t)child_main, stack_top(ST_CHILD),
                          pager(), 0, &x), L4_OK);
    uint64_t child = x;
    r = l4_ipc(NIL, L4_NODESC, L4_RCV_OPEN, L4_TIMEOUTS(0, TO_MS(1000), 0, 0), &m, &from);
    UCHECK_EQ(L4_IPC_ERR(r), L4_IPC_OK);
    UCHECK_EQ(from, child);
    UCHECK(r & L4_IPC_FROM_INNER);
    UCHECK(wait_for(&child_sent, 1, 1000000));
    UCHECK_EQ(child_res, L4_IPC_OK);
    /* from me, its chief, to the child: not inner on its side */
    UCHECK_EQ(L4_IPC_ERR(l4_ipc(child, L4_TAG(0x33, 0, 0), L4_NODESC, L4_TIMEOUTS(TO_MS(1000), 0, 0, 0),
                                &m, 0)), L4_IPC_OK);
    UCHECK(wait_for(&child_got, 1, 1000000));
    UCHECK_EQ(L4_IPC_ERR(child_got), L4_IPC_OK);
    UCHECK(!(child_got & L4_IPC_FROM_INNER));
    UCHECK_EQ(l4_task_new(child, 0, 0, 0, NIL, 0, &x), L4_OK);
}

/* ==== Map failures (abi.md "Memory: map items"): both sides learn ====
 * The receiver thread takes one message with the descriptor and window
 * it is given, records the result, and takes the next one. */
static volatile uint64_t rcv_desc, rcv_window, rcv_n, rcv_res[16], rcv_w0[16];
static void receiver(uint64_t arg)
{
    (void)arg;
    for (;;) {
        struct l4_msg m = { 0 };
        uint64_t from;
        l4_utcb_of(LT_RCV)->rcv_window = rcv_window;
        uint64_t r = l4_ipc(root_id, L4_NODESC, rcv_desc, L4_TIMEOUTS(0, TO_MS(3000), 0, 0), &m, &from);
        uint64_t n = rcv_n;
        if (n < 16) {
            rcv_res[n] = L4_IPC_ERR(r);
            rcv_w0[n] = m.w[0];
        }
        rcv_n = n + 1;
        usleep_us(30000);       /* a sender may queue meanwhile */
    }
}

static uint64_t page_a[512] __attribute__((aligned(8192)));
static uint64_t two_pages[1024] __attribute__((aligned(8192)));
#define WIN 0x2000000000ull

/* Sends {w0 marker, map item base/fpage} to the receiver; the receiver
 * is made to wait first (rcv_first) or the sender queues first. Returns
 * the sender's code; *their gets the receiver's. */
static uint64_t send_map(bool rcv_first, uint64_t base, uint64_t fpage, uint64_t *their)
{
    struct l4_msg m = { 0 };
    uint64_t n0 = rcv_n, rcv = l4_myself(LT_RCV);
    struct l4_sched_info si = { 0 };
    for (unsigned i = 0; i < 200; i++) {    /* waiting for me, or asleep (a receive from nil) */
        l4_thread_schedule(rcv, ~0ull, ~0ull, &si);
        if ((si.state == 3 && si.partner == root_id) == rcv_first)
            break;
        usleep_us(1000);
    }
    m.w[0] = 0x77;
    m.w[1] = base | L4_ITEM_MAP;
    m.w[2] = fpage;
    uint64_t r = L4_IPC_ERR(l4_ipc(rcv, L4_TAG(0x40, 1, 1), L4_NODESC, L4_TIMEOUTS(TO_MS(1000), 0, 0, 0),
                                   &m, 0));
    *their = wait_for(&rcv_n, n0 + 1, 2000000) ? rcv_res[n0 & 15] : ~0ull;
    return r;
}

UTEST(map_failures_reach_both_sides)
{
    root_id = l4_myself(0);
    rcv_desc = 0;                                   /* closed receive from the root, no maps */
    rcv_window = L4_FPAGE(WIN, 24, L4_RWX);
    page_a[0] = 1;
    two_pages[0] = two_pages[512] = 2;
    UCHECK(uthread_start(LT_RCV, receiver, 0) != 0);
    uint64_t their;
    for (int first = 1; first >= 0; first--) {
        /* a receiver that offers no maps: one page (the fast path's shape) and two */
        rcv_desc = 0;
        UCHECK_EQ(send_map(first, (uint64_t)page_a, L4_FPAGE((uint64_t)page_a, 12, L4_RWX), &their),
                  L4_IPC_MAP_FAILED);
        UCHECK_EQ(their, L4_IPC_MAP_FAILED);
        UCHECK_EQ(send_map(first, (uint64_t)two_pages, L4_FPAGE((uint64_t)two_pages, 13, L4_RWX), &their),
                  L4_IPC_MAP_FAILED);
        UCHECK_EQ(their, L4_IPC_MAP_FAILED);
        /* maps offered but no window */
        rcv_desc = L4_RCV_MAPS;
        rcv_window = 0;
        UCHECK_EQ(send_map(first, (uint64_t)page_a, L4_FPAGE((uint64_t)page_a, 12, L4_RWX), &their),
                  L4_IPC_MAP_FAILED);
        UCHECK_EQ(their, L4_IPC_MAP_FAILED);
        rcv_window = L4_FPAGE(WIN, 24, L4_RWX);
        /* an fpage the sender may not map: the kernel half, the UTCBs */
        UCHECK_EQ(send_map(first, KHALF, L4_FPAGE(KHALF, 12, L4_RWX), &their), L4_IPC_MAP_FAILED);
        UCHECK_EQ(their, L4_IPC_MAP_FAILED);
        UCHECK_EQ(send_map(first, L4_UTCB_BASE, L4_FPAGE(L4_UTCB_BASE, 12, L4_RWX), &their),
                  L4_IPC_MAP_FAILED);
        UCHECK_EQ(their, L4_IPC_MAP_FAILED);
        /* ports the sender does not hold (the kernel's PIC) */
        UCHECK_EQ(send_map(first, 0, L4_IOFPAGE(0x20, 1), &their), L4_IPC_MAP_FAILED);
        UCHECK_EQ(their, L4_IPC_MAP_FAILED);
        /* not a failure: a page the sender has not mapped is skipped */
        UCHECK_EQ(send_map(first, 0x3000000000ull, L4_FPAGE(0x3000000000ull, 12, L4_RWX), &their),
                  L4_IPC_OK);
        UCHECK_EQ(their, L4_IPC_OK);
        /* and the control: a good map works both ways round */
        UCHECK_EQ(send_map(first, (uint64_t)page_a, L4_FPAGE((uint64_t)page_a, 12, L4_RWX), &their),
                  L4_IPC_OK);
        UCHECK_EQ(their, L4_IPC_OK);
        UCHECK_EQ(rcv_w0[(rcv_n - 1) & 15], 0x77);
    }
    UCHECK_EQ(l4_kdebug(L4_KDEBUG_MDB_CHECK, 0, 0, 0), L4_OK);
    UCHECK_EQ(l4_lthread_delete(LT_RCV), L4_OK);
}

/* ==== String items (abi.md "String items"): at most 8 ==== */
static char sbuf[9][16], rbuf[8][16];
static volatile uint64_t str_res, str_n;
static void str_receiver(uint64_t arg)
{
    (void)arg;
    struct l4_utcb *u = l4_utcb_of(LT_RCV);
    for (;;) {
        for (unsigned i = 0; i < 8; i++) {
            u->rcv_strings[i][0] = (uint64_t)rbuf[i];
            u->rcv_strings[i][1] = sizeof rbuf[i];
        }
        struct l4_msg m = { 0 };
        uint64_t from;
        str_res = L4_IPC_ERR(l4_ipc(root_id, L4_NODESC, L4_RCV_STRINGS,
                                    L4_TIMEOUTS(0, TO_MS(3000), 0, 0), &m, &from));
        str_n++;
    }
}

static uint64_t send_strings(unsigned count)
{
    struct l4_utcb *u = l4_utcb_of(0);
    struct l4_msg m = { 0 };
    for (unsigned i = 0; i < count; i++) {
        sbuf[i][0] = (char)('a' + i);
        *l4_mr(&m, u, 2 * i) = 2ull << 4 | L4_ITEM_STRING;
        *l4_mr(&m, u, 2 * i + 1) = (uint64_t)sbuf[i];
    }
    uint64_t n0 = str_n;
    usleep_us(2000);                                /* the receiver waits first */
    uint64_t r = L4_IPC_ERR(l4_ipc(l4_myself(LT_RCV), L4_TAG(0x41, 0, count), L4_NODESC,
                                   L4_TIMEOUTS(TO_MS(1000), 0, 0, 0), &m, 0));
    UCHECK(wait_for(&str_n, n0 + 1, 2000000));
    return r;
}

UTEST(a_ninth_string_item_cuts_the_message)
{
    root_id = l4_myself(0);
    UCHECK(uthread_start(LT_RCV, str_receiver, 0) != 0);
    UCHECK_EQ(send_strings(8), L4_IPC_OK);
    UCHECK_EQ(str_res, L4_IPC_OK);
    UCHECK_EQ(rbuf[7][0], 'h');
    UCHECK_EQ(send_strings(9), L4_IPC_SND_CUT);
    UCHECK_EQ(str_res, L4_IPC_RCV_CUT);
    UCHECK_EQ(l4_lthread_delete(LT_RCV), L4_OK);
}

/* ==== Detaching an interrupt line (abi.md "Interrupts") ==== */
UTEST(detach_codes)
{
    struct l4_msg m = { 0 };
    uint64_t owner, count;
    const unsigned line = 6;
    UCHECK_EQ(l4_kdebug(L4_KDEBUG_IRQ_INFO, line, &owner, &count), L4_OK);
    UCHECK_EQ(owner, NIL);
    /* a line nobody holds: no partner */
    UCHECK_EQ(L4_IPC_ERR(l4_ipc(L4_IRQ_ID(line), L4_NODESC, L4_RCV_DETACH, 0, &m, 0)), L4_IPC_NOPARTNER);
    /* attach (receive with timeout zero answers "timeout": attached), detach, detach again */
    UCHECK_EQ(L4_IPC_ERR(l4_ipc(L4_IRQ_ID(line), L4_NODESC, 0, L4_TIMEOUTS(0, L4_TO_ZERO, 0, 0), &m, 0)),
              L4_IPC_RCV_TIMEOUT);
    UCHECK_EQ(l4_kdebug(L4_KDEBUG_IRQ_INFO, line, &owner, &count), L4_OK);
    UCHECK_EQ(owner, l4_myself(0));
    UCHECK_EQ(L4_IPC_ERR(l4_ipc(L4_IRQ_ID(line), L4_NODESC, L4_RCV_DETACH, 0, &m, 0)), L4_IPC_OK);
    UCHECK_EQ(l4_kdebug(L4_KDEBUG_IRQ_INFO, line, &owner, &count), L4_OK);
    UCHECK_EQ(owner, NIL);
    UCHECK_EQ(L4_IPC_ERR(l4_ipc(L4_IRQ_ID(line), L4_NODESC, L4_RCV_DETACH, 0, &m, 0)), L4_IPC_NOPARTNER);
    /* a line number past the last (16): not an IRQ id, a thread of task 0 that is not there */
    UCHECK_EQ(L4_IPC_ERR(l4_ipc(L4_IRQ_ID(L4_NUM_IRQS), L4_NODESC, L4_RCV_DETACH,
                                L4_TIMEOUTS(0, TO_MS(10), 0, 0), &m, 0)), L4_IPC_NOPARTNER);
}

/* ==== thread_switch (abi.md "thread_schedule and thread_switch") ==== */
UTEST(thread_switch_to_nobody)
{
    uint64_t id = uthread_start(LT_GONE, (void (*)(uint64_t))block, 0);
    UCHECK(id != 0);
    UCHECK_EQ(l4_thread_switch(id), L4_OK);
    UCHECK_EQ(l4_lthread_delete(LT_GONE), L4_OK);
    UCHECK_EQ(l4_thread_switch(id), L4_ENOTHREAD);     /* its old id */
    UCHECK_EQ(l4_thread_switch(L4_INVALID), L4_ENOTHREAD);
    UCHECK_EQ(l4_thread_switch(L4_IRQ_ID(3)), L4_ENOTHREAD);
    UCHECK_EQ(l4_thread_switch(NIL), L4_OK);
}

/* ==== lthread_ex_regs (abi.md "lthread_ex_regs") ==== */
static volatile uint64_t spins, exr_ran, exr_res;
static void spinner(uint64_t arg)
{
    (void)arg;
    for (;;)
        spins++;
}

static void waiter(uint64_t arg)
{
    (void)arg;
    struct l4_msg m = { 0 };
    l4_ipc(NIL, L4_NODESC, 0, 0, &m, 0);            /* for ever */
    exr_res = 0xdead;                               /* never: ex_regs moved it on */
    block();
}

/* The new body: rax is what the thread's old system call left there. */
static void __attribute__((noreturn, used)) new_body_c(uint64_t rax)
{
    exr_res = rax;
    exr_ran++;
    block();
}
extern char new_body[];
__asm__(".text\n.globl new_body\nnew_body:\n    mov %rax, %rdi\n    jmp new_body_c\n");

UTEST(ex_regs_on_threads_that_run_wait_or_never_started)
{
    uint64_t id, old[4];
    /* never started: old ip and sp are 0; with only ip given it stays unstarted */
    UCHECK_EQ(l4_lthread_ex_regs(LT_FRESH, ~0ull, ~0ull, ~0ull, ~0ull, &id, old), L4_OK);
    UCHECK_EQ(old[0], 0);
    UCHECK_EQ(old[1], 0);
    struct l4_sched_info si;
    UCHECK_EQ(l4_lthread_ex_regs(LT_FRESH, (uint64_t)new_body, ~0ull, ~0ull, ~0ull, &id, old), L4_OK);
    usleep_us(5000);
    UCHECK_EQ(l4_thread_schedule(id, ~0ull, ~0ull, &si), L4_OK);
    UCHECK_EQ(si.state, 0);                         /* inactive */
    UCHECK_EQ(exr_ran, 0);
    UCHECK_EQ(old[0], 0);
    /* sp alone in a later call does not start it either: both in one call */
    UCHECK_EQ(l4_lthread_ex_regs(LT_FRESH, ~0ull, stack_top(ST_EXR), ~0ull, ~0ull, &id, old), L4_OK);
    UCHECK_EQ(old[0], (uint64_t)new_body);          /* the ip given before */
    usleep_us(5000);
    UCHECK_EQ(exr_ran, 0);
    UCHECK_EQ(l4_lthread_ex_regs(LT_FRESH, (uint64_t)new_body, stack_top(ST_EXR), ~0ull, ~0ull, &id, old),
              L4_OK);
    UCHECK_EQ(old[1], stack_top(ST_EXR));
    UCHECK(wait_for(&exr_ran, 1, 1000000));         /* ip and sp both given: it runs */
    UCHECK_EQ(l4_lthread_delete(LT_FRESH), L4_OK);

    /* waiting in an IPC: the IPC ends (cancelled) and it goes on at the new ip */
    exr_ran = 0;
    UCHECK(uthread_start(LT_EXR, waiter, 0) != 0);
    usleep_us(5000);
    UCHECK_EQ(l4_lthread_ex_regs(LT_EXR, (uint64_t)new_body, stack_top(ST_EXR), ~0ull, ~0ull, &id, old),
              L4_OK);
    UCHECK(old[0] != 0 && old[0] != (uint64_t)new_body);
    UCHECK(wait_for(&exr_ran, 1, 1000000));
    UCHECK_EQ(L4_IPC_ERR(exr_res), L4_IPC_RCV_CANCELLED);
    UCHECK_EQ(l4_lthread_delete(LT_EXR), L4_OK);

    /* running: it leaves its loop for the new ip at once */
    exr_ran = 0;
    UCHECK(uthread_start(LT_SPIN, spinner, 0) != 0);
    UCHECK(wait_for(&spins, 1000, 1000000));
    UCHECK_EQ(l4_lthread_ex_regs(LT_SPIN, (uint64_t)new_body, stack_top(ST_EXR), ~0ull, ~0ull, &id, old),
              L4_OK);
    UCHECK(wait_for(&exr_ran, 1, 1000000));
    uint64_t s = spins;
    usleep_us(5000);
    UCHECK_EQ(spins, s);                            /* the loop is left */
    UCHECK_EQ(l4_lthread_delete(LT_SPIN), L4_OK);
    UCHECK_EQ(kcheck(), L4_OK);
}

int main(void)
{
    return utest_run("abi");
}
