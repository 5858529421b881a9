/* The root's side of Lua tasks (docs/runtime.md "Lua tasks"): the
 * rt_task_* calls, which any thread of the root but the pager makes; each
 * is a call to the pager thread (pager.c), which owns the tasks. */
#include "rt.h"
#include "l4/syscalls.h"

const char *rt_task_strerror(int code)
{
    static const char *const why[] = {
        [RT_TASK_OK] = "no error",
        [RT_TASK_ENOSLOT] = "too many tasks",
        [RT_TASK_ENOMEM] = "not enough memory",
        [RT_TASK_ENOTASK] = "no such task",
        [RT_TASK_ETIMEOUT] = "timeout",
        [RT_TASK_EKERNEL] = "the kernel refused task_new",
        [RT_TASK_EINVAL] = "invalid argument",
        [RT_TASK_EBUSY] = "another thread waits for it",
        [RT_TASK_EIPC] = "IPC with the pager failed",
        [RT_TASK_ENOTROOT] = "only the root task spawns Lua tasks",
    };
    return code >= 0 && code < (int)(sizeof why / sizeof why[0]) && why[code] ? why[code]
                                                                            : "unknown error";
}

static int call(uint32_t label, unsigned u, struct l4_msg *m, uint16_t rcv_timeout)
{
    if (rt_is_child())
        return RT_TASK_ENOTROOT;
    if (!rt_pager_id)
        return RT_TASK_ENOTASK;     /* none was ever spawned */
    uint64_t r = l4_ipc(rt_pager_id, L4_TAG(label, u, 0), 0, L4_TIMEOUTS(0, rcv_timeout, 0, 0), m, 0);
    if (L4_IPC_ERR(r) == L4_IPC_RCV_TIMEOUT)
        return RT_TASK_ETIMEOUT;
    return L4_IPC_ERR(r) == L4_IPC_OK ? (int)m->w[0] : RT_TASK_EIPC;
}

int rt_task_spawn(const struct rt_spawn *s, uint64_t *id)
{
    int r = rt_pager_start();
    if (r)
        return r;
    struct l4_msg m = { 0, { (uint64_t)s->body, s->size, s->memcap, s->mcp, s->prio } };
    r = call(RT_REQ_SPAWN, 5, &m, 0);
    *id = m.w[1];
    return r;
}

int rt_task_delete(uint64_t id, uint64_t *pages)
{
    struct l4_msg m = { 0, { id } };
    int r = call(RT_REQ_DELETE, 1, &m, 0);
    *pages = r ? 0 : m.w[1];
    return r;
}

int rt_task_wait(uint64_t id, uint16_t timeout, struct rt_task_info *i)
{
    int r;
    if (timeout == L4_TO_ZERO) {    /* a zero receive timeout would not see the answer */
        r = rt_task_info(id, i);
        return !r && i->state == RT_TASK_RUNNING ? RT_TASK_ETIMEOUT : r;
    }
    struct l4_msg m = { 0, { id } };
    r = call(RT_REQ_WAIT, 1, &m, timeout);
    if (r == RT_TASK_ETIMEOUT || r == RT_TASK_EIPC) {
        /* Withdraw: once the pager has this, it answers the wait no more
         * (until then its answer, with a zero timeout, cannot reach us:
         * we are not receiving). */
        struct l4_msg c = { 0, { id } };
        call(RT_REQ_CANCEL, 1, &c, 0);
        return r;
    }
    return r ? r : rt_task_info(id, i);
}

int rt_task_info(uint64_t id, struct rt_task_info *i)
{
    struct l4_msg m = { 0, { id, (uint64_t)i } };
    return call(RT_REQ_INFO, 2, &m, 0);
}

int rt_task_stats(struct rt_task_stats *s)
{
    int r = rt_pager_start();
    if (r)
        return r;
    struct l4_msg m = { 0, { 0, (uint64_t)s } };
    return call(RT_REQ_STATS, 2, &m, 0);
}
