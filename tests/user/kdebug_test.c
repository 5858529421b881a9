/* Suite "kdebug": the root task's introspection calls for the shell
 * (abi.h L4_KDEBUG_THREAD_INFO, IRQ_INFO, CONSOLE, KLOG): the thread
 * list and what it says of each thread, interrupt lines and their counts,
 * the kernel log ring, handing COM1 to a driver, and that no other task
 * may make these calls, nor the unbounded checks or the test kernel's
 * operations (kernel/kdebug.h). tests/run.py also checks that the bytes written
 * while COM1 was released (RELEASED_MARK) never reached the serial line. */
#include "utest.h"

#define NIL L4_NILTHREAD
#define IRQ 5
#define RELEASED_MARK "kdebug-ring-only-7f3a"

struct tinfo {
    uint64_t id, state, prio, cpu_us, partner, pager;
};

static uint64_t thread_info(uint64_t after, struct tinfo *t)
{
    uint64_t a[6] = { L4_KDEBUG_THREAD_INFO, after };
    uint64_t r = l4_syscall6(L4_SYS_KDEBUG, a);
    *t = (struct tinfo){ a[1], a[2] & 0xff, (a[2] >> 8) & 0xff, a[3], a[4], a[5] };
    return r;
}

/* Finds id in the list; returns whether it is there. */
static bool find_thread(uint64_t id, struct tinfo *out)
{
    struct tinfo t = { 0 };
    for (uint64_t after = 0, n = 0; n < 10000; n++, after = t.id) {
        if (thread_info(after, &t) != L4_OK || t.id == 0)
            return false;
        if (t.id == id) {
            *out = t;
            return true;
        }
    }
    return false;
}

static void waiter(uint64_t arg)
{
    struct l4_msg m = { 0 };
    l4_ipc(arg, L4_NODESC, 0, 0, &m, 0);    /* a closed receive from arg, forever */
    uthread_exit();
}

UTEST(thread_list_is_ordered_and_ends)
{
    struct tinfo t = { 0 };
    uint64_t prev = 0, n = 0;
    for (;;) {
        UCHECK_EQ(thread_info(prev, &t), L4_OK);
        if (t.id == 0)
            break;
        if (prev) {
            bool later = L4_ID_TASK(t.id) > L4_ID_TASK(prev) ||
                         (L4_ID_TASK(t.id) == L4_ID_TASK(prev) &&
                          L4_ID_LTHREAD(t.id) > L4_ID_LTHREAD(prev));
            UCHECK(later);
        }
        prev = t.id;
        UCHECK(++n < 1000);
    }
    UCHECK(n >= 1);
}

UTEST(thread_list_shows_me_running)
{
    struct tinfo t;
    uint64_t me = l4_myself(0);
    UCHECK(find_thread(me, &t));
    UCHECK_EQ(t.state, L4_TS_READY);
    UCHECK_EQ(t.partner, NIL);
    struct l4_sched_info si = { 0 };
    UCHECK_EQ(l4_thread_schedule(me, ~0ull, ~0ull, &si), L4_OK);
    UCHECK_EQ(t.prio, si.prio);
    /* CPU time only grows: burn some and look again */
    uint64_t before = t.cpu_us, t0 = unow_us();
    while (unow_us() - t0 < 5000)
        ;
    UCHECK(find_thread(me, &t));
    UCHECK(t.cpu_us >= before + 3000);
}

UTEST(thread_list_shows_a_waiting_thread)
{
    uint64_t partner = l4_myself(0);    /* I never send to it */
    uint64_t w = uthread_start(3, waiter, partner);
    UCHECK(w != 0);
    usleep_us(2000);
    struct tinfo t;
    UCHECK(find_thread(w, &t));
    UCHECK_EQ(t.state, L4_TS_RECEIVING);
    UCHECK_EQ(t.partner, partner);
    UCHECK_EQ(t.pager, NIL);        /* ex_regs left it as mine: none in this boot */
    /* a stale cursor (an id that is gone) still moves on past its slot */
    UCHECK_EQ(thread_info(L4_ID(L4_ROOT_TASK, 200, 1), &t), L4_OK);
    UCHECK(t.id == 0 || L4_ID_TASK(t.id) > L4_ROOT_TASK);
}

UTEST(irq_info_counts_and_owner)
{
    uint64_t owner = 1, count = 1;
    UCHECK_EQ(l4_kdebug(L4_KDEBUG_IRQ_INFO, IRQ, &owner, &count), L4_OK);
    UCHECK_EQ(owner, NIL);
    struct l4_msg m = { 0 };
    uint64_t from;
    /* attach (a receive with timeout zero: "timeout" means attached) */
    UCHECK_EQ(L4_IPC_ERR(l4_ipc(L4_IRQ_ID(IRQ), L4_NODESC, 0, L4_TIMEOUTS(0, L4_TO_ZERO, 0, 0),
                                &m, &from)), L4_IPC_RCV_TIMEOUT);
    UCHECK_EQ(l4_kdebug(L4_KDEBUG_IRQ_INFO, IRQ, &owner, &count), L4_OK);
    UCHECK_EQ(owner, l4_myself(0));
    UCHECK_EQ(count, 0);
    for (int i = 0; i < 3; i++) {
        UCHECK_EQ(l4_kdebug(L4_KDEBUG_RAISE_IRQ, IRQ, 0, 0), L4_OK);
        UCHECK_EQ(L4_IPC_ERR(l4_ipc(L4_IRQ_ID(IRQ), L4_NODESC, 0, 0, &m, &from)), L4_IPC_OK);
    }
    UCHECK_EQ(l4_kdebug(L4_KDEBUG_IRQ_INFO, IRQ, &owner, &count), L4_OK);
    UCHECK_EQ(count, 3);
    l4_ipc(L4_IRQ_ID(IRQ), L4_NODESC, L4_RCV_DETACH, 0, &m, &from);
    UCHECK_EQ(l4_kdebug(L4_KDEBUG_IRQ_INFO, IRQ, &owner, &count), L4_OK);
    UCHECK_EQ(owner, NIL);
    UCHECK_EQ(l4_kdebug(L4_KDEBUG_IRQ_INFO, L4_NUM_IRQS, &owner, &count), L4_EINVAL);
    UCHECK_EQ(l4_kdebug(L4_KDEBUG_IRQ_INFO, ~0ull, &owner, &count), L4_EINVAL);
}

/* Reads the ring from pos into buf (at most n bytes); returns the count. */
static size_t klog(uint64_t *pos, char *buf, size_t n)
{
    size_t k = 0;
    while (k < n) {
        uint64_t a[6] = { L4_KDEBUG_KLOG, *pos };
        if (l4_syscall6(L4_SYS_KDEBUG, a) != L4_OK || a[0] == 0)
            break;
        UCHECK(a[0] <= 32);
        for (uint64_t i = 0; i < a[0] && k < n; i++)
            buf[k++] = ((char *)&a[2])[i];
        *pos = a[1];
    }
    return k;
}

static bool contains(const char *s, size_t n, const char *w)
{
    size_t m = 0;
    while (w[m])
        m++;
    for (size_t i = 0; i + m <= n; i++) {
        size_t j = 0;
        while (j < m && s[i + j] == w[j])
            j++;
        if (j == m)
            return true;
    }
    return false;
}

static void putstr(const char *s)
{
    while (*s)
        l4_kdebug(L4_KDEBUG_PUTC, (unsigned char)*s++, 0, 0);
}

static char buf[20000];

UTEST(klog_keeps_what_was_written)
{
    /* the position at the end: read everything, then a fresh read is empty */
    uint64_t pos = 0;
    while (klog(&pos, buf, sizeof buf) == sizeof buf)
        ;
    uint64_t end = pos;
    UCHECK_EQ(klog(&pos, buf, sizeof buf), 0);
    UCHECK_EQ(pos, end);
    putstr("klog-marker-1\n");
    size_t n = klog(&pos, buf, sizeof buf);
    UCHECK_EQ(n, 14);
    UCHECK(contains(buf, n, "klog-marker-1\n"));
    UCHECK_EQ(pos, end + 14);
    /* a position from the future is moved back to the oldest kept */
    uint64_t future = end + 1000000;
    n = klog(&future, buf, 8);
    UCHECK_EQ(n, 8);
}

UTEST(klog_drops_the_oldest)
{
    uint64_t zero = 0;
    size_t k = klog(&zero, buf, sizeof buf);
    UCHECK(contains(buf, k, "L4ua kernel"));      /* the boot banner, still kept */
    for (int i = 0; i < 1200; i++)
        putstr("0123456789abcde\n");        /* 19,200 bytes > the 16 KiB ring */
    uint64_t pos = 0;
    size_t n = klog(&pos, buf, sizeof buf);
    UCHECK_EQ(n, 16384);
    UCHECK(!contains(buf, n, "L4ua kernel"));
    UCHECK(contains(buf, n, "0123456789abcde\n"));
}

UTEST(release_serial_keeps_the_log_in_the_ring)
{
    uint64_t pos = 0;
    while (klog(&pos, buf, sizeof buf) == sizeof buf)
        ;
    UCHECK_EQ(l4_kdebug(L4_KDEBUG_CONSOLE, 1, 0, 0), L4_OK);
    putstr(RELEASED_MARK "\n");
    UCHECK_EQ(l4_kdebug(L4_KDEBUG_CONSOLE, 0, 0, 0), L4_OK);
    size_t n = klog(&pos, buf, sizeof buf);
    UCHECK(contains(buf, n, RELEASED_MARK));
    putstr("kdebug: serial is back\n");
}

/* ---- the test kernel's pool limit (make fuzz's squeeze) ---- */
UTEST(kmem_limit_runs_the_pool_dry_and_back)
{
    uint64_t used = 0, limit = 0, old = 0, id = 0;
    UCHECK_EQ(l4_kdebug(L4_KDEBUG_KMEM, 0, &used, &limit), L4_OK);
    UCHECK_EQ(l4_kdebug(L4_KDEBUG_KMEM_LIMIT, 0, 0, 0), L4_EINVAL);         /* 0: no limit */
    UCHECK_EQ(l4_kdebug(L4_KDEBUG_KMEM_LIMIT, limit + 1, 0, 0), L4_EINVAL); /* above the boot's */
    /* At what is used, a new thread (a block and a UTCB) cannot be had. */
    UCHECK_EQ(l4_kdebug(L4_KDEBUG_KMEM_LIMIT, used, &old, 0), L4_OK);
    UCHECK_EQ(old, limit);
    uint64_t after = 0, lim2 = 0;
    UCHECK_EQ(l4_kdebug(L4_KDEBUG_KMEM, 0, &after, &lim2), L4_OK);
    UCHECK_EQ(lim2, used);
    UCHECK_EQ(l4_lthread_ex_regs(7, ~0ull, ~0ull, ~0ull, ~0ull, &id, 0), L4_ENOMEM);
    /* Back to the boot's: it can, and deleting it gives the frames back. */
    UCHECK_EQ(l4_kdebug(L4_KDEBUG_KMEM_LIMIT, limit, &old, 0), L4_OK);
    UCHECK_EQ(old, used);
    UCHECK_EQ(l4_lthread_ex_regs(7, ~0ull, ~0ull, ~0ull, ~0ull, &id, 0), L4_OK);
    uint64_t del[6] = { 7, ~0ull, ~0ull, ~0ull, ~0ull, L4_EXREGS_DELETE };
    UCHECK_EQ(l4_syscall6(L4_SYS_LTHREAD_EX_REGS, del), L4_OK);
    UCHECK_EQ(l4_kdebug(L4_KDEBUG_KMEM, 0, &after, &lim2), L4_OK);
    UCHECK_EQ(after, used);
    UCHECK_EQ(lim2, limit);
}

/* ---- another task may not ---- */
static volatile uint64_t child_r[14], child_done;

static void __attribute__((noreturn)) child(void)
{
    uint64_t a[6] = { L4_KDEBUG_THREAD_INFO, 0 };
    child_r[0] = l4_syscall6(L4_SYS_KDEBUG, a);
    child_r[1] = l4_kdebug(L4_KDEBUG_IRQ_INFO, 1, 0, 0);
    child_r[2] = l4_kdebug(L4_KDEBUG_CONSOLE, 1, 0, 0);
    uint64_t k[6] = { L4_KDEBUG_KLOG, 0 };
    child_r[3] = l4_syscall6(L4_SYS_KDEBUG, k);
    child_r[4] = k[2];        /* the bytes: none */
    /* the checks that walk every mapping or object (unbounded, with
     * interrupts off) and the test kernel's operations are the root's */
    child_r[5] = l4_kdebug(L4_KDEBUG_MDB_CHECK, 0, 0, 0);
    uint64_t c[6] = { L4_KDEBUG_CHECK };
    child_r[6] = l4_syscall6(L4_SYS_KDEBUG, c);
    child_r[7] = l4_kdebug(L4_KDEBUG_EXIT, 0, 0, 0);
    child_r[8] = l4_kdebug(L4_KDEBUG_RAISE_IRQ, 5, 0, 0);
    child_r[9] = l4_kdebug(L4_KDEBUG_RTC_IRQ, 1, 0, 0);
    child_r[12] = l4_kdebug(L4_KDEBUG_KMEM_LIMIT, 1, 0, 0);
    /* the coverage count: only make fuzz's coverage kernel has it */
    child_r[13] = l4_kdebug(L4_KDEBUG_COV, 0, 0, 0);
    /* bounded ones are open to every task; no such op is "invalid" */
    uint64_t used = 0;
    child_r[10] = l4_kdebug(L4_KDEBUG_KMEM, 0, &used, 0) == L4_OK && used > 0;
    child_r[11] = l4_kdebug(99, 0, 0, 0);
    child_done = 1;
    struct l4_msg m = { 0 };
    for (;;)
        l4_ipc(NIL, L4_NODESC, 0, 0, &m, 0);
}

static uint64_t child_stack[512] __attribute__((aligned(16)));

UTEST(only_the_root_task_may)
{
    uint64_t pg = uthread_start(4, upager_identity, 0), first = 0;
    UCHECK(pg != 0);
    UCHECK_EQ(l4_task_new(L4_ID(9, 0, 0), 255, (uint64_t)child, (uint64_t)&child_stack[511],
                          pg, 0, &first), L4_OK);
    uint64_t t0 = unow_us();
    while (!child_done && unow_us() - t0 < 2000000)
        usleep_us(1000);
    UCHECK(child_done);
    UCHECK_EQ(child_r[0], L4_EPERM);
    UCHECK_EQ(child_r[1], L4_EPERM);
    UCHECK_EQ(child_r[2], L4_EPERM);
    UCHECK_EQ(child_r[3], L4_EPERM);
    UCHECK_EQ(child_r[4], 0);       /* nothing read */
    for (unsigned i = 5; i <= 9; i++)
        UCHECK_EQ(child_r[i], L4_EPERM);
    UCHECK_EQ(child_r[10], 1);
    UCHECK_EQ(child_r[11], L4_EINVAL);
    UCHECK_EQ(child_r[12], L4_EPERM);
    UCHECK_EQ(child_r[13], L4_EINVAL);
    /* the child is in the list, with its pager */
    struct tinfo t;
    UCHECK(find_thread(first, &t));
    UCHECK_EQ(t.pager, pg);
    UCHECK_EQ(t.state, L4_TS_RECEIVING);
    UCHECK_EQ(t.partner, NIL);
}

int main(void)
{
    return utest_run("kdebug");
}
