/* IPC round-trip benchmark (make bench): call + reply-and-wait with a
 * short message, between two threads of one task and between two tasks.
 * Under -icount shift=0 rdtsc counts guest instructions. Prints
 * "bench <name> <instructions per round trip>" lines. */
#include "../user/utest.h"

#define ROUNDS 100000
#define WARMUP 1000

static volatile uint64_t child_stack[2048] __attribute__((aligned(16)));

static void server(uint64_t arg)
{
    (void)arg;
    struct l4_msg m = { 0 };
    uint64_t from;
    uint64_t r = l4_ipc(L4_NILTHREAD, L4_NODESC, L4_RCV_OPEN, 0, &m, &from);
    while (!L4_IPC_ERR(r))
        r = l4_ipc(from, L4_TAG(0, 2, 0), L4_RCV_OPEN, 0, &m, &from);
    for (;;)
        ;
}

/* The child task's server: the same loop, entered without uthread_start. */
static void child_entry(void)
{
    server(0);
}

static uint64_t measure(uint64_t srv)
{
    struct l4_msg m = { 0 };
    uint64_t from;
    for (int i = 0; i < WARMUP; i++)
        l4_ipc(srv, L4_TAG(0, 2, 0), 0, 0, &m, &from);
    uint64_t t0 = urdtsc();
    for (int i = 0; i < ROUNDS; i++) {
        m.w[0] = (uint64_t)i;
        m.w[1] = 1;
        if (L4_IPC_ERR(l4_ipc(srv, L4_TAG(0, 2, 0), 0, 0, &m, &from)))
            return 0;
    }
    return (urdtsc() - t0) / ROUNDS;
}

int main(void)
{
    uint64_t same = uthread_start(1, server, 0);
    uprintf("bench ipc_rtt_c_same_task %lu\n", measure(same));
    uint64_t pg = uthread_start(2, upager_identity, 0), child;
    if (l4_task_new(L4_ID(5, 0, 0), 255, (uint64_t)child_entry,
                    (uint64_t)&child_stack[2047], pg, 0, &child) != L4_OK) {
        uprintf("bench: task_new failed\n");
        return 1;
    }
    uprintf("bench ipc_rtt_c_cross_task %lu\n", measure(child));
    uprintf("bench: done\n");
    return 0;
}
