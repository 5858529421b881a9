/* Suite "smoke": user mode runs, system calls return, two threads talk. */
#include "utest.h"

UTEST(kip_mapped)
{
    UCHECK_EQ(l4_kip()->magic, L4_KIP_MAGIC);
    UCHECK_EQ(l4_kip()->page_size, 4096);
    UCHECK(L4_ID_TASK(umyself()) == L4_ROOT_TASK);
}

static void echo(uint64_t arg)
{
    (void)arg;
    struct l4_msg m = { 0 };
    uint64_t from;
    uint64_t r = l4_ipc(L4_NILTHREAD, L4_NODESC, L4_RCV_OPEN, 0, &m, &from);
    for (;;) {
        if (L4_IPC_ERR(r))
            break;
        m.w[0] += 1;
        r = l4_ipc(from, L4_TAG(7, 1, 0), L4_RCV_OPEN, 0, &m, &from);
    }
}

UTEST(call_and_reply)
{
    uint64_t srv = uthread_start(1, echo, 0);
    UCHECK(srv != 0);
    struct l4_msg m = { 0 };
    m.w[0] = 41;
    uint64_t from;
    uint64_t r = l4_ipc(srv, L4_TAG(1, 1, 0), 0, 0, &m, &from);
    UCHECK_EQ(r, L4_IPC_OK);
    UCHECK_EQ(from, srv);
    UCHECK_EQ(m.w[0], 42);
    UCHECK_EQ(L4_TAG_LABEL(m.tag), 7);
}


/* Flags a user can set with popf (NT, AC, DF) must not reach the kernel:
 * with NT set, the kernel's iretq back would fault. */
UTEST(user_flags_do_not_reach_kernel)
{
    uint64_t fl;
    __asm__ volatile("pushfq\n pop %0" : "=r"(fl));
    uint64_t set = fl | (1ull << 14) | (1ull << 18) | (1ull << 10);  /* NT AC DF */
    __asm__ volatile("push %0\n popfq" ::"r"(set) : "cc", "memory");
    uint64_t r = l4_thread_switch(L4_NILTHREAD);
    __asm__ volatile("push %0\n popfq" ::"r"(fl) : "cc", "memory");
    UCHECK_EQ(r, L4_OK);
}

int main(void)
{
    return utest_run("smoke");
}
