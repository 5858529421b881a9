/* Suite "hostile": system calls from odd CPU states and the regression
 * tests of the kernel bugs the fuzzers found (docs/reliability.md), each
 * named after what the bug was. */
#include "utest.h"

#define USER_TOP  0x0000800000000000ull
#define KHALF     0xffff800000000000ull
#define NIL       L4_NILTHREAD

enum { LT_H = 1, LT_TF, LT_RSP, LT_PAGER };
enum { TN_CHILD = 3 };

static uint64_t kcheck(void)
{
    uint64_t a[6] = { L4_KDEBUG_CHECK };
    uint64_t r = l4_syscall6(L4_SYS_KDEBUG, a);
    if (r != L4_OK)
        uprintf("  kernel check failed: %lx (pool %lu used, %lu held)\n", a[3], a[1], a[2]);
    return r;
}

/* An exception handler that records what it gets and never answers. */
static volatile uint64_t h_count, h_vector, h_rip, h_from;
static void handler(uint64_t arg)
{
    (void)arg;
    struct l4_msg m = { 0 };
    for (;;) {
        uint64_t from;
        uint64_t r = l4_ipc(NIL, L4_NODESC, L4_RCV_OPEN, 0, &m, &from);
        if (L4_IPC_ERR(r) || L4_TAG_LABEL(m.tag) != L4_LABEL_EXCEPTION)
            continue;
        h_vector = m.w[0];
        h_rip = m.w[2];
        h_from = from;
        h_count++;
    }
}

static bool wait_for(volatile uint64_t *p, uint64_t v, uint64_t us)
{
    uint64_t t0 = unow_us();
    while (*p < v) {
        if (unow_us() - t0 > us)
            return false;
        usleep_us(500);
    }
    return true;
}

/* ==== bug: task_new took any ip and sp; a non-canonical ip faults in
 * the kernel's own iretq on a real CPU (QEMU raises the #GP in user mode
 * instead, so only the argument check can be tested here) ==== */
static uint64_t stack_child[512] __attribute__((aligned(16)));
UTEST(task_new_noncanonical_ip_is_einval)
{
    uint64_t x, sp = (uint64_t)&stack_child[511];
    static const uint64_t bad[] = { USER_TOP, USER_TOP + 0x1000, KHALF, ~0ull, 0x8000000000000000ull };
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        UCHECK_EQ(l4_task_new(L4_ID(TN_CHILD, 0, 0), 255, bad[i], sp, l4_myself(0), 0, &x), L4_EINVAL);
        UCHECK_EQ(l4_task_new(L4_ID(TN_CHILD, 0, 0), 255, 0x400000, bad[i], l4_myself(0), 0, &x),
                  L4_EINVAL);
    }
    /* The check comes before the old task is deleted: it stays. */
    uint64_t first = 0;
    UCHECK_EQ(l4_task_new(L4_ID(TN_CHILD, 0, 0), 255, 0x10000000, sp, l4_myself(0), 0, &first), L4_OK);
    UCHECK_EQ(l4_task_new(L4_ID(TN_CHILD, 0, 0), 255, KHALF, sp, l4_myself(0), 0, &x), L4_EINVAL);
    uint64_t near;
    UCHECK_EQ(l4_id_nearest(first, &near), L4_NEAREST_SAME);
    UCHECK_EQ(near, first);
    UCHECK_EQ(l4_task_new(L4_ID(TN_CHILD, 0, 0), 0, 0, 0, NIL, 0, &x), L4_OK);
    UCHECK_EQ(kcheck(), L4_OK);
}

/* ==== a system call with the trap flag set: the kernel masks TF on
 * entry (no #DB in kernel mode); the thread's own #DB goes to its handler ==== */
static void __attribute__((noreturn)) tf_body(uint64_t arg)
{
    (void)arg;
    __asm__ volatile("pushfq\n\torq $0x100, (%%rsp)\n\tpopfq\n\t"
                     "mov $3, %%eax\n\txor %%edi, %%edi\n\tsyscall\n\t"
                     "nop\n\tnop\n\t"
                     "1: jmp 1b" ::: "rax", "rdi", "rcx", "r11", "memory");
    for (;;)
        ;
}

UTEST(syscall_with_trap_flag_set)
{
    uint64_t h = uthread_start(LT_H, handler, 0);
    UCHECK(h != 0);
    uint64_t id = 0;
    uint64_t *sp = uthread_stack_top(LT_TF);
    UCHECK_EQ(l4_lthread_ex_regs(LT_TF, (uint64_t)tf_body, (uint64_t)(sp - 2), ~0ull, h, &id, 0), L4_OK);
    UCHECK(wait_for(&h_count, 1, 200000));
    UCHECK_EQ(h_vector, 1);                 /* #DB, in user mode */
    UCHECK_EQ(h_from, id);
    UCHECK(h_rip >= 0x400000 && h_rip < USER_TOP);
    uprintf("  #DB at %lx after the system call\n", h_rip);
    UCHECK_EQ(kcheck(), L4_OK);
}

/* ==== a system call with a non-canonical or kernel stack pointer: the
 * kernel never uses the user's rsp ==== */
static volatile uint64_t rsp_results[4], rsp_done;
static uint64_t syscall_with_rsp(uint64_t nr, uint64_t rsp)
{
    register uint64_t rax __asm__("rax") = nr;
    register uint64_t rdi __asm__("rdi") = NIL;
    __asm__ volatile("mov %%rsp, %%rbx\n\tmov %[sp], %%rsp\n\tsyscall\n\tmov %%rbx, %%rsp"
                     : "+r"(rax), "+r"(rdi)
                     : [sp] "r"(rsp)
                     : "rbx", "rcx", "rsi", "rdx", "r8", "r9", "r10", "r11", "memory");
    return rax;
}

static void rsp_body(uint64_t arg)
{
    (void)arg;
    rsp_results[0] = syscall_with_rsp(L4_SYS_THREAD_SWITCH, 0x8000000000000000ull);
    rsp_results[1] = syscall_with_rsp(L4_SYS_THREAD_SWITCH, KHALF + 0x1000);
    rsp_results[2] = syscall_with_rsp(L4_SYS_ID_NEAREST, 0);
    rsp_results[3] = syscall_with_rsp(99, 0x0000800000000000ull);
    rsp_done = 1;
}

UTEST(syscall_with_odd_stack_pointer)
{
    UCHECK(uthread_start(LT_RSP, rsp_body, 0) != 0);
    UCHECK(wait_for(&rsp_done, 1, 200000));
    UCHECK_EQ(rsp_results[0], L4_OK);
    UCHECK_EQ(rsp_results[1], L4_OK);
    UCHECK_EQ(rsp_results[2], L4_ENOTHREAD);
    UCHECK_EQ(rsp_results[3], L4_EINVAL);
    UCHECK_EQ(kcheck(), L4_OK);
}

/* ==== ex_regs: ip and sp outside the user half are refused ==== */
UTEST(ex_regs_noncanonical_ip_is_einval)
{
    static const uint64_t bad[] = { USER_TOP, KHALF, 0x8000000000000000ull };
    for (unsigned i = 0; i < 3; i++) {
        UCHECK_EQ(l4_lthread_ex_regs(30, bad[i], 0x10000, ~0ull, ~0ull, 0, 0), L4_EINVAL);
        UCHECK_EQ(l4_lthread_ex_regs(30, 0x10000, bad[i], ~0ull, ~0ull, 0, 0), L4_EINVAL);
    }
}

/* ==== bug: a task whose first thread starts above its mcp (task_new
 * gives it the creator's priority) could not even lower itself: the
 * thread's priority was above the mcp (found by clan_test.c) ==== */
static volatile uint64_t mcp_lower, mcp_raise, mcp_done;
static void __attribute__((noreturn)) mcp_child(void)
{
    uint64_t me = l4_myself(0);
    mcp_raise = l4_thread_schedule(me, 151, ~0ull, 0);
    mcp_lower = l4_thread_schedule(me, 90, ~0ull, 0);
    mcp_done = 1;
    for (;;)
        usleep_us(100000);
}

UTEST(task_new_first_thread_above_mcp)
{
    uint64_t me = l4_myself(0), x, pg = uthread_start(LT_PAGER, upager_identity, 0);
    struct l4_sched_info i;
    l4_thread_schedule(me, 210, ~0ull, 0);
    UCHECK_EQ(l4_task_new(L4_ID(TN_CHILD, 0, 0), 150, (uint64_t)mcp_child, (uint64_t)&stack_child[510],
                          pg, 0, &x), L4_OK);
    UCHECK_EQ(l4_thread_schedule(x, ~0ull, ~0ull, &i), L4_OK);
    UCHECK(i.prio == 210 || i.prio == 90);
    UCHECK(wait_for(&mcp_done, 1, 1000000));
    UCHECK_EQ(mcp_raise, L4_EPERM);
    UCHECK_EQ(mcp_lower, L4_OK);
    UCHECK_EQ(l4_thread_schedule(x, ~0ull, ~0ull, &i), L4_OK);
    UCHECK_EQ(i.prio, 90);
    UCHECK_EQ(l4_task_new(L4_ID(TN_CHILD, 0, 0), 0, 0, 0, NIL, 0, &x), L4_OK);
    l4_thread_schedule(me, 100, ~0ull, 0);
    UCHECK_EQ(kcheck(), L4_OK);
}

int main(void)
{
    return utest_run("hostile");
}
