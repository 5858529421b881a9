/* IPC round-trip benchmark (make bench): call + reply-and-wait with a
 * short message (two words each way), between two threads of one task
 * and between two tasks; the same between tasks with 64 words each way
 * (words 6-63 through the UTCBs: the general path); and the cheapest
 * system call (id_nearest on myself). Under -icount shift=0 rdtsc counts
 * guest instructions. Prints "bench <name> <instructions per operation>"
 * lines. */
#include "../user/utest.h"

#define ROUNDS 100000
#define WARMUP 1000

static volatile uint64_t child_stack[2][2048] __attribute__((aligned(16)));

/* Answers each message with arg words (2 or 64). */
static void server(uint64_t arg)
{
    struct l4_msg m = { 0 };
    uint64_t from, tag = L4_TAG(0, arg, 0);
    uint64_t r = l4_ipc(L4_NILTHREAD, L4_NODESC, L4_RCV_OPEN, 0, &m, &from);
    while (!L4_IPC_ERR(r))
        r = l4_ipc(from, tag, L4_RCV_OPEN, 0, &m, &from);
    for (;;)
        ;
}

/* The child task's servers: the same loop, entered without uthread_start. */
static void child_entry(void)
{
    server(2);
}

static void child64_entry(void)
{
    server(64);
}

/* Call + reply round trips with u words each way. */
static uint64_t measure(uint64_t srv, unsigned u)
{
    struct l4_msg m = { 0 };
    uint64_t from;
    for (unsigned i = 6; i < u; i++)
        l4_utcb_of(0)->mr[i] = i;
    for (int i = 0; i < WARMUP; i++)
        l4_ipc(srv, L4_TAG(0, u, 0), 0, 0, &m, &from);
    uint64_t t0 = urdtsc();
    for (int i = 0; i < ROUNDS; i++) {
        m.w[0] = (uint64_t)i;
        m.w[1] = 1;
        if (L4_IPC_ERR(l4_ipc(srv, L4_TAG(0, u, 0), 0, 0, &m, &from)))
            return 0;
    }
    uint64_t t = urdtsc() - t0;
    return L4_TAG_U(m.tag) == u ? t / ROUNDS : 0;
}

/* id_nearest on myself: the cheapest system call. */
static uint64_t syscall_null(void)
{
    uint64_t me = l4_myself(0), n;
    for (int i = 0; i < WARMUP; i++)
        l4_id_nearest(me, &n);
    uint64_t t0 = urdtsc();
    for (int i = 0; i < ROUNDS; i++)
        l4_id_nearest(me, &n);
    return (urdtsc() - t0) / ROUNDS;
}

/* Prints a figure; a 0 (an IPC that failed, a reply of the wrong size) is
 * a failure of the whole program, not a figure. */
static int failures;
static void report(const char *name, uint64_t v)
{
    if (v) {
        uprintf("bench %s %lu\n", name, v);
    } else {
        uprintf("bench: %s failed (an IPC did not complete)\n", name);
        failures++;
    }
}

int main(void)
{
    report("syscall_null", syscall_null());
    uint64_t same = uthread_start(1, server, 2);
    report("ipc_rtt_c_same_task", measure(same, 2));
    uint64_t pg = uthread_start(2, upager_identity, 0), child, child64;
    if (l4_task_new(L4_ID(5, 0, 0), 255, (uint64_t)child_entry,
                    (uint64_t)&child_stack[0][2047], pg, 0, &child) != L4_OK ||
        l4_task_new(L4_ID(6, 0, 0), 255, (uint64_t)child64_entry,
                    (uint64_t)&child_stack[1][2047], pg, 0, &child64) != L4_OK) {
        uprintf("bench: task_new failed\n");
        return 1;
    }
    report("ipc_rtt_c_cross_task", measure(child, 2));
    report("ipc_rtt_c_cross_task_64w", measure(child64, 64));
    uprintf("bench: done\n");
    return failures ? 1 : 0;
}
