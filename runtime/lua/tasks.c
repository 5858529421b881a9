/* The requests about Lua tasks (docs/runtime.md "Lua tasks"): the
 * rt_task_* calls, which any thread of the root but the pager makes, and
 * the threads of a Lua task too (about the tasks it spawned); each is a
 * call to the root's pager thread (pager.c), which owns the tasks. The
 * same messages either way: words, and string items for what is not a
 * word (the spawn block's body and the name going, the name and the end
 * message coming back into buffers on the caller's stack, which it has
 * touched: the pager does not wait for pages of a client's string). */
#include <string.h>

#include "rt.h"
#include "taskproto.h"
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
        [RT_TASK_ENOTROOT] = "only the root task does this",
        [RT_TASK_EPORTS] = "I/O ports not available",
        [RT_TASK_EFAILED] = "the fault failed the task",
    };
    return code >= 0 && code < (int)(sizeof why / sizeof why[0]) && why[code] ? why[code]
                                                                            : "unknown error";
}

/* Word i of a message of this thread: the first L4_REG_WORDS travel in
 * registers (m), the rest in its UTCB. */
static uint64_t word(const struct l4_msg *m, unsigned i)
{
    return l4_mr_get(m, l4_utcb_of(rt_self_lthread()), i);
}

static void put(struct l4_msg *m, unsigned i, uint64_t v)
{
    *l4_mr(m, l4_utcb_of(rt_self_lthread()), i) = v;
}

/* String receive buffers for one call (NULL: none). */
struct bufs {
    char *a, *b;
    size_t na, nb;
};

/* window: an fpage to receive a map into (0: none). */
static int call(uint32_t label, unsigned u, unsigned t, struct l4_msg *m, uint16_t rcv_timeout,
                const struct bufs *b, uint64_t window)
{
    uint64_t to;
    if (rt_is_child()) {
        to = rt_task_args()->service;
    } else {
        int r = rt_pager_start();
        if (r)
            return r;
        to = rt_pager_id;
    }
    uint64_t rcv = 0, saved[2][2];
    struct l4_utcb *me = l4_utcb_of(rt_self_lthread());
    if (b) {    /* the bindings set rcv_strings once: they are put back below */
        memcpy(saved, me->rcv_strings, sizeof saved);
        memset(b->a, 0, b->na);
        memset(b->b, 0, b->nb);
        me->rcv_strings[0][0] = (uint64_t)b->a;
        me->rcv_strings[0][1] = b->na;
        me->rcv_strings[1][0] = (uint64_t)b->b;
        me->rcv_strings[1][1] = b->nb;
        rcv = L4_RCV_STRINGS;
    }
    uint64_t saved_window = me->rcv_window;
    if (window) {   /* the arena's slot, for RT_REQ_ARENA's map */
        me->rcv_window = window;
        rcv |= L4_RCV_MAPS;
    }
    uint64_t r = l4_ipc(to, L4_TAG(label, u, t), rcv, L4_TIMEOUTS(0, rcv_timeout, 0, 0), m, 0);
    if (b)
        memcpy(me->rcv_strings, saved, sizeof saved);
    if (window)
        me->rcv_window = saved_window;
    if (L4_IPC_ERR(r) == L4_IPC_RCV_TIMEOUT)
        return RT_TASK_ETIMEOUT;
    return L4_IPC_ERR(r) == L4_IPC_OK ? (int)m->w[0] : RT_TASK_EIPC;
}

int rt_task_spawn(const struct rt_spawn *s, uint64_t *id)
{
    struct l4_msg m = { 0, { s->memcap, s->mcp, s->prio, s->pager, s->nio } };
    unsigned u = 5;
    for (unsigned i = 0; i < s->nio && i < RT_IO_MAX; i++)
        put(&m, u++, s->io[i].port | (uint64_t)s->io[i].count << 32);
    const char *name = s->name ? s->name : "";
    size_t nlen = strnlen(name, RT_NAME_MAX - 1);
    put(&m, u, (uint64_t)s->size << 4 | L4_ITEM_STRING);
    put(&m, u + 1, (uint64_t)s->body);
    put(&m, u + 2, (uint64_t)nlen << 4 | L4_ITEM_STRING);
    put(&m, u + 3, (uint64_t)name);
    int r = call(RT_REQ_SPAWN, u, 2, &m, 0, NULL, 0);
    *id = r ? 0 : m.w[1];
    return r;
}

int rt_task_delete(uint64_t id, uint64_t *pages)
{
    struct l4_msg m = { 0, { id } };
    int r = call(RT_REQ_DELETE, 1, 0, &m, 0, NULL, 0);
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
    r = call(RT_REQ_WAIT, 1, 0, &m, timeout, NULL, 0);
    if (r == RT_TASK_ETIMEOUT || r == RT_TASK_EIPC) {
        /* Withdraw: once the pager has this, it answers the wait no more
         * (until then its answer, with a zero timeout, cannot reach us:
         * we are not receiving). */
        struct l4_msg c = { 0, { id } };
        call(RT_REQ_CANCEL, 1, 0, &c, 0, NULL, 0);
        return r;
    }
    return r ? r : rt_task_info(id, i);
}

/* The reply of RT_REQ_INFO and RT_REQ_LIST (taskproto.h RT_INFO_*): the
 * words, then the name and the message as strings. */
static void take_info(const struct l4_msg *m, struct rt_task_info *i)
{
    i->id = word(m, RT_INFO_ID);
    i->state = (unsigned)word(m, RT_INFO_STATE);
    i->status = (int)(int64_t)word(m, RT_INFO_STATUS);
    i->pages = word(m, RT_INFO_PAGES);
    i->shared = word(m, RT_INFO_SHARED);
    i->copied = word(m, RT_INFO_COPIED);
    i->heap = word(m, RT_INFO_HEAP);
    i->memcap = word(m, RT_INFO_MEMCAP);
    i->name[RT_NAME_MAX - 1] = 0;
    i->msg[RT_MSG_MAX - 1] = 0;
}

int rt_task_info(uint64_t id, struct rt_task_info *i)
{
    struct l4_msg m = { 0, { id } };
    struct bufs b = { i->name, i->msg, RT_NAME_MAX - 1, RT_MSG_MAX - 1 };
    int r = call(RT_REQ_INFO, 1, 0, &m, 0, &b, 0);
    if (!r)
        take_info(&m, i);
    return r;
}

int rt_task_next(unsigned *next, struct rt_task_info *i)
{
    struct l4_msg m = { 0, { *next } };
    struct bufs b = { i->name, i->msg, RT_NAME_MAX - 1, RT_MSG_MAX - 1 };
    int r = call(RT_REQ_LIST, 1, 0, &m, 0, &b, 0);
    if (!r) {
        take_info(&m, i);
        *next = (unsigned)word(&m, RT_INFO_NEXT);
    }
    return r;
}

int rt_task_stats(struct rt_task_stats *s)
{
    struct l4_msg m = { 0 };
    int r = call(RT_REQ_STATS, 0, 0, &m, 0, NULL, 0);
    if (!r)
        *s = (struct rt_task_stats){ m.w[1], m.w[2], m.w[3], m.w[4], m.w[5], word(&m, 6),
                                     word(&m, 7), word(&m, 8) };
    return r;
}

int rt_task_arena(uint64_t va, unsigned pages, uint64_t slots, uint64_t *released)
{
    if (rt_is_child())
        return RT_TASK_ENOTROOT;
    struct l4_msg m = { 0, { va, pages, slots } };
    int r = call(RT_REQ_ARENA, 3, 0, &m, 0, NULL,
                 pages ? L4_FPAGE(va, RT_ARENA_CHUNK_LOG2, L4_RWX) : 0);
    if (released)
        *released = r == RT_TASK_OK && !pages ? m.w[1] : 0;
    return r;
}

int rt_task_resolve(uint64_t thread, uint64_t addr, uint64_t ip, uint64_t *base,
                    uint64_t *fpage)
{
    if (rt_is_child())
        return RT_TASK_ENOTROOT;
    struct l4_msg m = { 0, { thread, addr, ip } };
    int r = call(RT_REQ_RESOLVE, 3, 0, &m, 0, NULL, 0);
    *base = r ? 0 : m.w[1];
    *fpage = r ? 0 : m.w[2];
    return r;
}
