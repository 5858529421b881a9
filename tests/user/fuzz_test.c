/* Suite "fuzz": a short, seeded syscall fuzz (the full campaign is issue
 * 9's). Random and boundary arguments for every system call from one
 * thread, while a witness pair of threads keeps doing call/reply and
 * checks every answer. Pass: no panic, no hang, the witness saw only
 * correct replies, and the mapping database checks out at the end. */
#include "utest.h"

#define CALLS 60000
static uint64_t seed = 0x4c347561u;

static uint64_t rnd(void)
{
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed;
}

/* Boundary values and random ones, half and half. */
static uint64_t arg(void)
{
    static const uint64_t edge[] = {
        0, 1, ~0ull, 0x7fffffffffffull, 0x800000000000ull, 0xffff800000000000ull,
        0xffffffff80100000ull, 0x7ffe00000000ull, 0x7fff00000000ull, 0x400000, 0x1000,
        L4_ID(2, 0, 0), L4_ID(2, 1, 1), L4_ID(1, 0, 0x101), L4_IRQ_ID(3), L4_IRQ_ID(0),
        (1ull << 36), 0xfff, 0x8000000000000000ull, L4_IOFPAGE(0x3f8, 3), L4_IOFPAGE(0x20, 1),
        L4_FPAGE(0x400000, 12, 7), L4_FPAGE(0, 47, 7), L4_NODESC,
    };
    uint64_t r = rnd();
    if (r & 1)
        return edge[(r >> 1) % (sizeof edge / sizeof edge[0])];
    switch ((r >> 1) & 3) {
    case 0: return rnd();
    case 1: return rnd() & 0xffff;
    case 2: return rnd() & 0x7fffffffffffull;
    default: return L4_ID(rnd() % 8, rnd() % 4, rnd() & 0xffff);
    }
}

static volatile uint64_t witness_calls, witness_bad;

static void echo(uint64_t a)
{
    (void)a;
    struct l4_msg m = { 0 };
    uint64_t from;
    uint64_t r = l4_ipc(L4_NILTHREAD, L4_NODESC, L4_RCV_OPEN, 0, &m, &from);
    for (;;) {
        if (L4_IPC_ERR(r)) {
            r = l4_ipc(L4_NILTHREAD, L4_NODESC, L4_RCV_OPEN, 0, &m, &from);
            continue;
        }
        m.w[0] = ~m.w[0];
        r = l4_ipc(from, L4_TAG(9, 1, 0), L4_RCV_OPEN, 0, &m, &from);
    }
}

static volatile uint64_t echo_id;
static void witness(uint64_t a)
{
    (void)a;
    for (uint64_t i = 1;; i++) {
        struct l4_msg m = { 0 };
        m.w[0] = i;
        uint64_t from;
        uint64_t r = l4_ipc(echo_id, L4_TAG(1, 1, 0), 0, 0, &m, &from);
        if (L4_IPC_ERR(r) != L4_IPC_OK || m.w[0] != ~i || from != echo_id)
            witness_bad++;
        witness_calls++;
        if (i % 64 == 0)
            l4_thread_switch(L4_NILTHREAD);
    }
}

UTEST(random_syscalls_keep_kernel_and_witness_intact)
{
    echo_id = uthread_start(1, echo, 0);
    uthread_start(2, witness, 0);
    struct l4_utcb *u = l4_utcb_of(0);
    for (unsigned i = 0; i < CALLS; i++) {
        uint64_t a[6] = { arg(), arg(), arg(), arg(), arg(), arg() };
        unsigned call = (unsigned)(rnd() % 9);
        /* Keep the fuzzer itself and the witness alive: never ex_regs
         * lthreads 0-2, never give the timeouts of a blocking forever, and
         * leave the debug call's exit alone. */
        switch (call) {
        case L4_SYS_IPC: {
            struct l4_msg m = { rnd(), { arg(), arg(), arg(), arg(), arg(), arg() } };
            for (int k = 6; k < 64; k++)
                u->mr[k] = arg();
            u->rcv_window = arg();
            u->rcv_strings[0][0] = arg();
            u->rcv_strings[0][1] = rnd() & 0xfffff;
            uint64_t to = L4_TIMEOUTS(L4_TO_ZERO, L4_TO_ZERO, rnd() & 1 ? L4_TO_ZERO : 0, L4_TO_ZERO);
            uint64_t dest = a[0] == echo_id ? L4_NILTHREAD : a[0];
            l4_ipc(dest, a[1], a[2], to, &m, 0);
            break;
        }
        case L4_SYS_LTHREAD_EX_REGS:
            /* Threads of our own task could scribble over us: a started
             * one runs a function that only blocks, on a stack of its
             * own, or faults at once on an unmapped ip. */
            a[0] = 3 + a[0] % 300;       /* 3..302: above 255 invalid */
            if (a[1] != ~0ull && a[1] < 0x7fffffffffffull)
                a[1] = (rnd() & 1) ? (uint64_t)uthread_exit : 0x10000000 + (a[1] & 0xfff000);
            if (a[2] != ~0ull && a[2] < 0x7fffffffffffull)
                a[2] = (uint64_t)uthread_stack_top(4 + (unsigned)(rnd() % 40));
            l4_syscall6(call, a);
            break;
        case L4_SYS_TASK_NEW:
            if (L4_ID_TASK(a[0]) == L4_ROOT_TASK)
                a[0] = L4_ID(7, 0, 0);
            l4_syscall6(call, a);
            break;
        case L4_SYS_KDEBUG:
            a[0] = (a[0] & 1) ? L4_KDEBUG_KMEM : 99;
            l4_syscall6(call, a);
            break;
        case L4_SYS_THREAD_SCHEDULE:
            if (a[0] == echo_id || a[0] == umyself())
                a[1] = ~0ull;           /* do not starve the witness */
            l4_syscall6(call, a);
            break;
        case L4_SYS_FPAGE_UNMAP:
            if (L4_FPAGE_BASE(a[0]) < 0x1000000 && !(a[0] & L4_FPAGE_IO))
                a[0] = L4_FPAGE(0x40000000, 12, 7);     /* not our own image */
            l4_syscall6(call, a);
            break;
        default:
            l4_syscall6(call, a);
        }
    }
    usleep_us(20000);
    uint64_t r = l4_kdebug(L4_KDEBUG_MDB_CHECK, 0, 0, 0);
    UCHECK_EQ(r, L4_OK);
    uprintf("  %u calls; witness: %lu round trips, %lu bad\n", CALLS, witness_calls, witness_bad);
    UCHECK(witness_calls > 100);
    UCHECK_EQ(witness_bad, 0);
}

int main(void)
{
    return utest_run("fuzz");
}
