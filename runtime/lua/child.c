/* The Lua task side of docs/runtime.md "Lua tasks": a task the root
 * spawned runs this same image. It knows it is one because it is not the
 * task the KIP names as root; its spawn block (RT_ARGS_BASE, mapped by the
 * root's pager) says what to run and who serves it. It talks to that
 * service (the root's pager thread; the root is its chief, so the
 * messages go direct) for heap growth, its Lua threads' stacks, its end,
 * and the tasks it spawns (tasks.c). */
#include <string.h>

#include "rt.h"
#include "taskproto.h"
#include "l4/syscalls.h"

int rt_is_child(void)
{
    return L4_ID_TASK(l4_utcb_of(0)->myself) != L4_ID_TASK(l4_kip()->root_task);
}

const struct rt_task_args *rt_task_args(void)
{
    return rt_is_child() ? (const struct rt_task_args *)RT_ARGS_BASE : NULL;
}

/* A call to the service; the reply's w0, or 0 if the call failed. */
static uint64_t service_call(uint64_t tag, struct l4_msg *m)
{
    uint64_t r = l4_ipc(rt_task_args()->service, tag, 0, 0, m, 0);
    return L4_IPC_ERR(r) == L4_IPC_OK ? m->w[0] : 0;
}

/* The pager answers with the end of the heap it grants: at least `end`
 * (rounded up, so that the next requests are fewer), or less when `end`
 * would pass the memory cap or the pool has no pages left; sbrk then
 * fails and Lua raises "not enough memory". Granted pages are kept for
 * this task: touching them later never fails. */
uint64_t rt_child_heap(uint64_t end)
{
    struct l4_msg m = { 0 };
    m.w[0] = end;
    return service_call(L4_TAG(RT_REQ_HEAP, 1, 0), &m);
}

/* Thread-stack slot `slot` (threads.c) gets its top `size` bytes as
 * stack: the pager maps them demand-zero as they are touched, and ends
 * the task on a fault in the rest of the slot (a stack overflow). */
int rt_child_stack(unsigned slot, uint64_t size)
{
    struct l4_msg m = { 0 };
    m.w[0] = slot;
    m.w[1] = size;
    return service_call(L4_TAG(RT_REQ_STACK, 2, 0), &m) == 1;
}

/* The I/O ports the task was given at spawn: the service maps them (I/O
 * fpages land 1:1, with any receive window), noted in ports.c,
 * so l4.io's functions work on them. */
int rt_child_io(void)
{
    struct l4_utcb *u = l4_utcb_of(0);
    struct l4_msg m = { 0 };
    u->rcv_window = L4_FPAGE(0, L4_WHOLE_SPACE, L4_RWX);
    uint64_t r = l4_ipc(rt_task_args()->service, L4_TAG(RT_REQ_IO, 0, 0), L4_RCV_MAPS, 0, &m, 0);
    u->rcv_window = 0;
    if (L4_IPC_ERR(r) != L4_IPC_OK || m.w[0] != 0)
        return -1;
    for (unsigned i = 0; i < L4_TAG_T(m.tag); i++) {
        uint64_t fp = l4_mr_get(&m, u, 2 + 2 * i);
        rt_ports_note(L4_IOFPAGE_PORT(fp), 1u << L4_FPAGE_SIZE(fp), 1);
    }
    return 0;
}

/* Tells the service how this task ended and waits to be deleted. A
 * failure's message goes as a string item (cut at RT_MSG_MAX - 1 bytes);
 * strlen has touched its pages, so the kernel need not ask the pager for
 * them while the pager is the receiver. */
void rt_child_exit(int status, const char *failure)
{
    struct l4_msg m = { 0 };
    m.w[0] = (uint64_t)(uint32_t)status;
    m.w[1] = failure != NULL;
    uint64_t tag = L4_TAG(RT_REQ_EXIT, 2, 0);
    if (failure) {
        size_t n = strlen(failure);
        if (n > RT_MSG_MAX - 1)
            n = RT_MSG_MAX - 1;
        m.w[2] = (uint64_t)n << 4 | L4_ITEM_STRING;
        m.w[3] = (uint64_t)failure;
        tag = L4_TAG(RT_REQ_EXIT, 2, 1);
    }
    service_call(tag, &m);
    rt_idle();      /* the pager deletes the task; nothing more to do */
}
