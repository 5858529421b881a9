/* The root's pager thread (docs/runtime.md "Lua tasks"): one thread of
 * the root (lthread RT_LT_PAGER), started at the first request, is the
 * pager, exception handler and service of every Lua task it spawns,
 * which runs this same image. This file is its server: the receive loop
 * and the requests of taskproto.h. The rest is elsewhere:
 *
 *   pool.c      the page pool (pages from sigma0, given to tasks and back)
 *   tasktab.c   the task table and the end of a task
 *   region.c    the regions of a task's address space
 *   fault.c     what a fault in each region gets
 *   keeper.c    the store and "where" (what outlives a component)
 *
 * It serves the tasks' requests about tasks they spawn (the same as the
 * root's threads', limited to their own tasks), hands them the I/O ports
 * spawn gave them (RT_REQ_IO), answers a Lua pager's "resolve this fault
 * for me" (RT_REQ_RESOLVE), and is the pager of the root's own Lua
 * threads, whose faults (stack overflows) stop them; a root Lua thread
 * that has ended tells it (RT_REQ_REAP) and it deletes its L4 thread.
 *
 * The memory cap: a task's sbrk asks for heap growth (RT_REQ_HEAP,
 * child.c) before it touches new pages, and the pager grants it only
 * within the cap and only if the pool can promise the pages (they are
 * reserved for the task), so malloc fails cleanly in the task and Lua
 * raises "not enough memory" there; nothing else is affected. A task
 * that faults outside its regions, or raises an exception, has failed:
 * the pager deletes it.
 *
 * The pager thread owns every variable here and in the files above; the
 * root's other threads reach it only by IPC, through the rt_task_* calls
 * of tasks.c (they may pass pointers: the caller waits in the call while
 * the pager uses them). It uses no malloc and no stdio (newlib's are not
 * thread-safe here) and prints with rt_kernel_write (never through the
 * console server, which may wait for this very thread to page it in). */
#include <stdbool.h>
#include <string.h>

#include "image.h"
#include "keeper.h"
#include "pager.h"
#include "pool.h"
#include "region.h"
#include "sb.h"
#include "taskproto.h"

#define HEAP_CHUNK  (64ull << 10)   /* heap grants are rounded up to this */
/* Replies with a zero send timeout (the client waits, abi.md "ipc"); no
 * waiting for pages of a client's string either: the pager would be
 * asked for them itself (child.c touches its message first). */
#define TIMEOUTS    L4_TIMEOUTS(L4_TO_ZERO, 0, L4_TO_ZERO, L4_TO_ZERO)

uint64_t rt_pager_id;          /* written by rt_pager_start before it is called */

/* Word i of the message this thread received or sends: the first
 * L4_REG_WORDS travel in registers (m), the rest in its UTCB. */
static uint64_t word(const struct l4_msg *m, unsigned i)
{
    return l4_mr_get(m, l4_utcb_of(RT_LT_PAGER), i);
}

static void put(struct l4_msg *m, unsigned i, uint64_t v)
{
    *l4_mr(m, l4_utcb_of(RT_LT_PAGER), i) = v;
}

static uint64_t pager_stack[2048] __attribute__((aligned(16)));
/* String receive buffers: a spawn block's body or an end message, and a
 * spawned task's name. */
static char rcv_buf[RT_ARGS_MAX];
static char name_buf[RT_NAME_MAX];

/* crt0.S: before any code writes .data (a Lua task has it zero: skip). */
void rt_data_save(void)
{
    if (!rt_is_child())
        memcpy(__pristine, __data_start, UP(__data_end) - (uint64_t)__data_start);
}

/* RT_REQ_HEAP: grants [RT_HEAP_BASE, end) within the cap, in chunks, if
 * the pool can keep the pages for the task; replies the end granted. */
static uint64_t on_heap(unsigned slot, struct l4_msg *m)
{
    struct task *t = tasks[slot];
    uint64_t need = m->w[0], cap_end = RT_HEAP_BASE + t->memcap;
    if (need > t->heap_end && need <= cap_end) {
        uint64_t want = (need + HEAP_CHUNK - 1) & ~(HEAP_CHUNK - 1);
        if (want > cap_end)
            want = cap_end;
        uint64_t ends[2] = { want, UP(need) };  /* a chunk, else just enough */
        for (int k = 0; k < 2; k++) {
            uint64_t n = (ends[k] - t->heap_end) / PAGE;
            if (pool_reserve(n)) {
                t->reserved += n;
                t->heap_end = ends[k];
                break;
            }
        }
    }
    m->w[0] = t->heap_end;
    return L4_TAG(0, 1, 0);
}

/* RT_REQ_EXIT: status, failed, and a string item with the message. */
static void on_exit(unsigned slot, struct l4_msg *m)
{
    struct task *t = tasks[slot];
    bool failed = m->w[1] != 0;
    t->msg[0] = 0;
    if (failed) {
        size_t n = L4_TAG_T(m->tag) == 1 && L4_TAG_U(m->tag) == 2 ? m->w[2] >> 4 : 0;
        if (n > sizeof rcv_buf)
            n = 0;
        if (n > RT_MSG_MAX - 1)
            n = RT_MSG_MAX - 1;
        memcpy(t->msg, rcv_buf, n);
        t->msg[n] = 0;
        if (!n)
            strcpy(t->msg, "(no message)");
    }
    task_end(slot, failed ? RT_TASK_FAILED : RT_TASK_EXITED, (int)(uint32_t)m->w[0]);
}

/* The I/O ports [port, port + count) as aligned power-of-two fpages:
 * calls f(fpage) for each, until it returns false. */
static bool io_fpages(uint32_t port, uint32_t count, bool (*f)(uint64_t fp, void *arg), void *arg)
{
    while (count) {
        unsigned k = 0;
        while (k < 16 && !(port & (1u << k)) && (2u << k) <= count)
            k++;
        if (!f(L4_IOFPAGE(port, k), arg))
            return false;
        port += 1u << k;
        count -= 1u << k;
    }
    return true;
}

/* The root takes a port fpage from sigma0 for a task it spawns; "taken"
 * is fine (the root got them before, e.g. through l4.io.request). */
static bool io_from_sigma0(uint64_t fp, void *arg)
{
    (void)arg;
    uint64_t s0 = l4_kip()->sigma0;
    if (!s0)
        return false;
    struct l4_msg m = { 0 };
    m.w[0] = L4_IOFPAGE_PORT(fp);
    m.w[1] = L4_FPAGE_SIZE(fp);
    l4_utcb_of(RT_LT_PAGER)->rcv_window = L4_FPAGE(0, L4_WHOLE_SPACE, L4_RWX);
    uint64_t r = l4_ipc(s0, L4_TAG(L4_SIGMA0_IOPORTS, 2, 0), L4_RCV_MAPS, 0, &m, 0);
    l4_utcb_of(RT_LT_PAGER)->rcv_window = 0;
    return L4_IPC_ERR(r) == L4_IPC_OK && L4_TAG_U(m.tag) >= 1 &&
           (m.w[0] == L4_SIGMA0_OK || m.w[0] == L4_SIGMA0_ETAKEN);
}

/* Is [port, port + count) within the ports task t was given? */
static bool io_within(const struct task *t, uint32_t port, uint32_t count)
{
    for (unsigned i = 0; i < t->nio; i++)
        if (port >= t->io[i].port && port + count <= t->io[i].port + t->io[i].count)
            return true;
    return false;
}

/* RT_REQ_SPAWN: w0 memcap, w1 mcp, w2 prio, w3 pager (0: this thread),
 * w4 n, w5.. n I/O port ranges (port | count << 32), then two string
 * items: the body (in rcv_buf) and the name (in name_buf). From a Lua
 * task (parent: its slot, else -1), ports only among its own. Reply w0 a
 * code, w1 the task's first thread. */
static void cmd_spawn(struct l4_msg *m, int parent)
{
    unsigned u = L4_TAG_U(m->tag), nio = (unsigned)m->w[4];
    uint64_t size = word(m, u) >> 4, memcap = UP(m->w[0] ? m->w[0] : 1);
    size_t nlen = word(m, u + 2) >> 4;
    const unsigned char *body = (const unsigned char *)rcv_buf;
    uint64_t pager = m->w[3] ? m->w[3] : rt_pager_id;
    uint64_t mcp = m->w[1] > 255 ? 255 : m->w[1], prio = m->w[2] > 255 ? 255 : m->w[2];
    m->w[1] = 0;
    if (L4_TAG_T(m->tag) != 2 || nio > RT_IO_MAX || u != 5 + nio ||
        size > RT_ARGS_MAX - sizeof(struct rt_task_args) || memcap > RT_HEAP_END - RT_HEAP_BASE) {
        m->w[0] = RT_TASK_EINVAL;
        return;
    }
    for (unsigned i = 0; i < nio; i++) {
        uint32_t port = (uint32_t)word(m, 5 + i), count = (uint32_t)(word(m, 5 + i) >> 32);
        bool ok = port + count <= 0x10000 && count > 0 &&
                  (parent >= 0 ? io_within(tasks[parent], port, count)
                               : io_fpages(port, count, io_from_sigma0, NULL));
        if (!ok) {
            m->w[0] = RT_TASK_EPORTS;
            return;
        }
    }
    int why = 0, slot = task_new(&why);
    if (slot < 0) {
        m->w[0] = (uint64_t)why;
        return;
    }
    struct task *t = tasks[slot];
    t->memcap = memcap;
    t->heap_end = RT_HEAP_BASE;
    t->parent = parent >= 0 ? tasks[parent]->id : 0;
    memcpy(t->name, name_buf, nlen < RT_NAME_MAX ? nlen : RT_NAME_MAX - 1);
    t->nio = nio;
    for (unsigned i = 0; i < nio; i++) {
        t->io[i].port = (uint32_t)word(m, 5 + i);
        t->io[i].count = (uint32_t)(word(m, 5 + i) >> 32);
    }
    /* The spawn block: header and body, copied into pages of the task. */
    uint64_t total = sizeof(struct rt_task_args) + size;
    for (; t->nargs * PAGE < total; t->nargs++) {
        int64_t i = task_page((unsigned)slot, RT_ARGS_BASE + t->nargs * PAGE, false);
        if (i < 0) {
            task_release((unsigned)slot);
            task_forget((unsigned)slot);
            m->w[0] = RT_TASK_ENOMEM;
            return;
        }
        t->args[t->nargs] = (uint32_t)i;
    }
    struct rt_task_args h = { .magic = RT_ARGS_MAGIC, .size = size,
                              .epoch_us = rt_clock_epoch(), .service = rt_pager_id,
                              .memcap = memcap, .console = rt_console_id,
                              .files = rt_files_id, .nio = nio, .flags = rt_boot_flags };
    for (uint64_t off = 0; off < total;) {
        uint64_t n = PAGE - off % PAGE;
        if (n > total - off)
            n = total - off;
        unsigned char *dst = (unsigned char *)pool_va(t->args[off / PAGE]) + off % PAGE;
        for (uint64_t k = 0; k < n; k++, off++)
            dst[k] = off < sizeof h ? ((unsigned char *)&h)[off] : body[off - sizeof h];
    }
    /* A Lua task spawns at most at its own mcp: nothing it starts can
     * rise above what it may itself (the console's priority, say). */
    if (parent >= 0) {
        mcp = mcp < tasks[parent]->mcp ? mcp : tasks[parent]->mcp;
        prio = prio < tasks[parent]->mcp ? prio : tasks[parent]->mcp;
    }
    t->mcp = (uint8_t)mcp;
    /* The new thread starts at its creator's priority, and runs at once:
     * this thread takes the task's priority for the moment, so that it
     * never runs above it (nor above its mcp). */
    struct l4_sched_info me = { 0 };
    l4_thread_schedule(rt_pager_id, prio, ~0ull, &me);
    uint64_t id = 0, r = l4_task_new(L4_ID((unsigned)slot, 0, 0), mcp,
                                     (uint64_t)_start, RT_STACK_TOP, pager, 0, &id);
    l4_thread_schedule(rt_pager_id, me.prio, ~0ull, 0);
    if (r != L4_OK) {
        task_release((unsigned)slot);
        task_forget((unsigned)slot);
        m->w[0] = r == L4_ENOMEM ? RT_TASK_ENOMEM : RT_TASK_EKERNEL;
        return;
    }
    /* It cannot read the block before its first fault is answered. */
    ((struct rt_task_args *)pool_va(t->args[0]))->task = id;
    t->id = id;
    t->state = RT_TASK_RUNNING;
    tasks_running++;
    m->w[0] = RT_TASK_OK;
    m->w[1] = id;
}

/* A reply with the task's info (tasks.c, take_info): words, then its
 * name and message as strings (with their 0). */
static uint64_t send_info(const struct task *t, struct l4_msg *m, uint64_t next)
{
    uint64_t w[RT_INFO_WORDS + 4] = {
        [0] = RT_TASK_OK, [RT_INFO_ID] = t->id, [RT_INFO_STATE] = t->state,
        [RT_INFO_STATUS] = (uint64_t)(int64_t)t->status, [RT_INFO_PAGES] = t->pages,
        [RT_INFO_SHARED] = t->shared, [RT_INFO_COPIED] = t->copied,
        [RT_INFO_HEAP] = t->heap_end - RT_HEAP_BASE, [RT_INFO_MEMCAP] = t->memcap,
        [RT_INFO_NEXT] = next,
        [RT_INFO_WORDS] = (uint64_t)(strlen(t->name) + 1) << 4 | L4_ITEM_STRING,
        [RT_INFO_WORDS + 1] = (uint64_t)t->name,
        [RT_INFO_WORDS + 2] = (uint64_t)(strlen(t->msg) + 1) << 4 | L4_ITEM_STRING,
        [RT_INFO_WORDS + 3] = (uint64_t)t->msg };
    for (unsigned i = 0; i < RT_INFO_WORDS + 4; i++)
        put(m, i, w[i]);
    return L4_TAG(0, RT_INFO_WORDS, 2);
}

/* RT_REQ_RESOLVE, for a pager of a Lua task that is not this thread
 * (l4.task.resolve): w0 the faulting thread, w1 the fault address and
 * access, w2 ip. Reply w0 a code, w1 the send base, w2 this task's fpage
 * that the fault would get here. */
static uint64_t cmd_resolve(struct l4_msg *m)
{
    int slot = task_of_thread(m->w[0]);
    if (slot < 0) {
        m->w[0] = RT_TASK_ENOTASK;
        return L4_TAG(0, 1, 0);
    }
    m->w[0] = m->w[1];
    m->w[1] = m->w[2];
    if (fault_task((unsigned)slot, m) == L4_NODESC) {
        m->w[0] = RT_TASK_EFAILED;
        return L4_TAG(0, 1, 0);
    }
    m->w[2] = m->w[1];
    m->w[1] = m->w[0] & ~(PAGE - 1);
    m->w[0] = RT_TASK_OK;
    return L4_TAG(0, 3, 0);
}

/* RT_REQ_ARENA: the root's arena chunks (arena.c), backed by pool pages,
 * which go back to the pool when the chunk does: what a root Lua state
 * held serves any task then. The pages are on a list of their own, as a
 * task's are. */
static struct pool_list arena_pages;
#define ARENA_PAGES (RT_ARENA_CHUNK / PAGE)

static uint64_t cmd_arena(struct l4_msg *m)
{
    uint64_t va = m->w[0], n = m->w[1], slots = m->w[2];
    uint64_t end = RT_ARENA_BASE + RT_ARENA_SLOTS * RT_ARENA_CHUNK;
    if (va < RT_ARENA_BASE || va >= end || (va & (RT_ARENA_CHUNK - 1)) || n > ARENA_PAGES ||
        (!n && (!slots || slots > (end - va) / RT_ARENA_CHUNK))) {
        m->w[0] = RT_TASK_EINVAL;
        return L4_TAG(0, 1, 0);
    }
    if (!n) {
        m->w[1] = pool_release_range(&arena_pages, va, va + slots * RT_ARENA_CHUNK);
        m->w[0] = RT_TASK_OK;
        return L4_TAG(0, 2, 0);
    }
    if (!pool_reserve(n)) {
        m->w[0] = RT_TASK_ENOMEM;
        return L4_TAG(0, 1, 0);
    }
    for (unsigned k = 0; k < n; k++) {
        uint64_t i = pool_take(&arena_pages, va + k * PAGE);
        put(m, 1 + 2 * k, (va + k * PAGE) | L4_ITEM_MAP);
        put(m, 2 + 2 * k, L4_FPAGE(pool_va(i), 12, L4_R | L4_W));
    }
    m->w[0] = RT_TASK_OK;
    return L4_TAG(0, 1, n);
}

/* A request about tasks, from a thread of the root (parent -1: it sees
 * every task) or of a running Lua task (parent its slot: it sees the
 * tasks it spawned); returns the reply's tag, or L4_NODESC for none now
 * (a wait for a running task). */
static uint64_t request(uint64_t from, int parent, struct l4_msg *m)
{
    uint32_t label = L4_TAG_LABEL(m->tag);
    uint64_t who = parent >= 0 ? tasks[parent]->id : 0;
    if (label == RT_REQ_SPAWN) {
        cmd_spawn(m, parent);
        return L4_TAG(0, 2, 0);
    }
    if (label == RT_REQ_STATS) {
        struct pool_stats ps;
        pool_stats(&ps);
        m->w[0] = RT_TASK_OK;
        m->w[1] = ps.pages;
        m->w[2] = ps.free;
        m->w[3] = ps.reserved;
        m->w[4] = tasks_running;
        m->w[5] = (UP(__text_end) - (uint64_t)__text_start + UP(__rodata_end) -
                   (uint64_t)__rodata_start) / PAGE;
        put(m, 6, (UP(__data_end) - (uint64_t)__data_start) / PAGE);
        put(m, 7, ps.meta + ps.records);
        put(m, 8, arena_pages.n);
        return L4_TAG(0, 9, 0);
    }
    if (label == RT_REQ_RESOLVE && parent < 0)
        return cmd_resolve(m);
    if (label == RT_REQ_ARENA && parent < 0)
        return cmd_arena(m);
    if (label == RT_REQ_LIST) {
        for (uint64_t i = m->w[0] > FIRST_TASK ? m->w[0] : FIRST_TASK; i < L4_MAX_TASKS; i++)
            if (tasks[i] && (parent < 0 || tasks[i]->parent == who))
                return send_info(tasks[i], m, i + 1);
        m->w[0] = RT_TASK_ENOTASK;
        return L4_TAG(0, 1, 0);
    }
    int slot = task_of_id(m->w[0]);
    struct task *t = slot >= 0 && (parent < 0 || tasks[slot]->parent == who) ? tasks[slot] : NULL;
    m->w[1] = 0;
    if (!t) {
        m->w[0] = RT_TASK_ENOTASK;
        return L4_TAG(0, 2, 0);
    }
    switch (label) {
    case RT_REQ_WAIT:
        if (t->state != RT_TASK_RUNNING) {
            m->w[0] = RT_TASK_OK;
            m->w[1] = t->state;
            m->w[2] = (uint64_t)(int64_t)t->status;
            return L4_TAG(RT_REQ_WAIT, 3, 0);
        }
        if (t->waiter && t->waiter != from) {
            m->w[0] = RT_TASK_EBUSY;
            return L4_TAG(0, 2, 0);
        }
        t->waiter = from;
        return L4_NODESC;
    case RT_REQ_CANCEL:
        if (t->waiter == from)
            t->waiter = 0;
        m->w[0] = RT_TASK_OK;
        return L4_TAG(0, 2, 0);
    case RT_REQ_DELETE:
        if (t->state == RT_TASK_RUNNING)
            m->w[1] = task_kill((unsigned)slot, RT_TASK_ENOTASK);
        task_forget((unsigned)slot);
        m->w[0] = RT_TASK_OK;
        return L4_TAG(0, 2, 0);
    case RT_REQ_INFO:
        return send_info(t, m, 0);
    }
    m->w[0] = RT_TASK_EINVAL;
    return L4_TAG(0, 2, 0);
}

/* RT_REQ_IO: the task's ports, as map items of I/O fpages (the root holds
 * them: it took them from sigma0 at spawn). */
struct io_reply {
    struct l4_msg *m;
    unsigned n;
};

static bool io_item(uint64_t fp, void *arg)
{
    struct io_reply *r = arg;
    if (1 + 2 * (r->n + 1) > L4_MSG_WORDS)
        return false;
    put(r->m, 1 + 2 * r->n, L4_ITEM_MAP);
    put(r->m, 2 + 2 * r->n, fp);
    r->n++;
    return true;
}

static bool sending_io;     /* the reply being sent is on_io's */

static uint64_t on_io(unsigned slot, struct l4_msg *m)
{
    sending_io = true;
    struct task *t = tasks[slot];
    struct io_reply r = { m, 0 };
    bool ok = true;
    for (unsigned i = 0; i < t->nio && ok; i++)
        ok = io_fpages(t->io[i].port, t->io[i].count, io_item, &r);
    m->w[0] = ok ? 0 : 1;
    return L4_TAG(0, 1, ok ? r.n : 0);
}

/* A message from a thread of a running task. */
static uint64_t serve(uint64_t from, unsigned slot, struct l4_msg *m)
{
    switch (L4_TAG_LABEL(m->tag)) {
    case L4_LABEL_PAGEFAULT:
        return fault_task(slot, m);
    case L4_LABEL_EXCEPTION: {
        char why[48];
        struct sb b = { why, 0, sizeof why };
        sb_str(&b, "vector ");
        sb_num(&b, m->w[0], 10, false);
        sb_str(&b, ", error code ");
        sb_num(&b, m->w[1], 16, false);
        task_fail(slot, "exception at ", m->w[3], m->w[2], why);
        return L4_NODESC;
    }
    case RT_REQ_HEAP:
        return on_heap(slot, m);
    case RT_REQ_STACK:
        /* The pages come as they are touched; size 0: the slot's thread
         * has gone, its pages come back (the next thread gets new ones,
         * zeroed). */
        if (m->w[0] < RT_TSTACK_SLOTS && m->w[1] <= RT_TSTACK_MAX) {
            struct task *t = tasks[slot];
            uint32_t *st = &t->tstack[m->w[0]];
            if (m->w[1] == 0) {
                uint64_t top = rt_tstack_top((unsigned)m->w[0]);
                t->pages -= pool_release_range(&t->held, top - RT_TSTACK_MAX, top);
                *st = 0;
            }
            *st = (uint32_t)UP(m->w[1] > *st ? m->w[1] : *st);
            m->w[0] = 1;
        } else {
            m->w[0] = 0;
        }
        return L4_TAG(0, 1, 0);
    case RT_REQ_EXIT:
        on_exit(slot, m);
        return L4_NODESC;
    case RT_REQ_IO:
        return on_io(slot, m);
    }
    if (L4_TAG_LABEL(m->tag) >= RT_REQ_SPAWN && L4_TAG_LABEL(m->tag) <= RT_REQ_LIST)
        return request(from, (int)slot, m);
    m->w[0] = ~0ull;
    return L4_TAG(0, 1, 0);
}

/* Root Lua threads that ended and whose L4 thread is still to be
 * deleted (the libc lock was busy when they told this thread): bit lt.
 * Tried again at each message, and every millisecond while any is left. */
static uint64_t reap_pending[4];
#define REAP_TIMEOUTS L4_TIMEOUTS(L4_TO_ZERO, L4_TO(1000, 0), L4_TO_ZERO, L4_TO_ZERO)

void pager_reap(unsigned lt)
{
    if (lt < 256)
        reap_pending[lt / 64] |= 1ull << (lt % 64);
    for (unsigned w = 0; w < 4; w++)
        for (uint64_t b = reap_pending[w]; b; b &= b - 1) {
            unsigned i = w * 64 + (unsigned)__builtin_ctzll(b);
            if (!rt_thread_reap_ended(i, rt_pager_id))
                return;                     /* the lock is busy: later */
            reap_pending[w] &= ~(1ull << (i % 64));
        }
}

static bool reap_waits(void)
{
    return reap_pending[0] | reap_pending[1] | reap_pending[2] | reap_pending[3];
}

static void __attribute__((noreturn)) pager_main(void)
{
    struct l4_utcb *u = l4_utcb_of(RT_LT_PAGER);
    unsigned me = L4_ID_TASK(u->myself);
    struct l4_msg m = { 0 };
    uint64_t from = 0, to = 0, tag = L4_NODESC;
    for (;;) {
        u->rcv_strings[0][0] = (uint64_t)rcv_buf;
        u->rcv_strings[0][1] = sizeof rcv_buf;
        u->rcv_strings[1][0] = (uint64_t)name_buf;
        u->rcv_strings[1][1] = sizeof name_buf;
        uint64_t r = l4_ipc(to, tag, L4_RCV_OPEN | L4_RCV_STRINGS,
                            reap_waits() ? REAP_TIMEOUTS : TIMEOUTS, &m, &from);
        if (reap_waits())
            pager_reap(256);
        bool io_reply = sending_io;
        sending_io = false;
        if (L4_IPC_ERR(r) != L4_IPC_OK) {
            /* A page the kernel could not map for a task: it is stuck. */
            int slot = tag != L4_NODESC ? task_of_thread(to) : -1;
            if (L4_IPC_ERR(r) == L4_IPC_MAP_FAILED && slot >= 0 && io_reply)
                task_fail_msg(slot, "its I/O ports: the root does not hold them all");
            else if (L4_IPC_ERR(r) == L4_IPC_MAP_FAILED && slot >= 0)
                task_fail(slot, "page fault at ", 0, 0, "the kernel could not map the page");
            tag = L4_NODESC;
            continue;
        }
        int slot = task_of_thread(from);
        uint32_t label = L4_TAG_LABEL(m.tag);
        if (L4_ID_TASK(from) == me && (label == L4_LABEL_PAGEFAULT || label == L4_LABEL_EXCEPTION))
            tag = fault_own(from, &m);
        else if (L4_ID_TASK(from) == me && label == RT_REQ_REAP) {
            pager_reap(L4_ID_LTHREAD(from));    /* it has ended (park_notify) */
            tag = L4_NODESC;
        }
        else if (label >= KEEP_PUT && label <= KEEP_STATS && (L4_ID_TASK(from) == me || slot >= 0))
            tag = keeper_request(L4_ID_TASK(from) == me ? NULL : tasks[slot], &m, rcv_buf);
        else if (L4_ID_TASK(from) == me)
            tag = request(from, -1, &m);
        else if (slot >= 0)
            tag = serve(from, (unsigned)slot, &m);
        else
            tag = L4_NODESC;    /* a stranger, or a late word of a gone task */
        to = from;
    }
}

/* ---- its start ----
 * Called by the root's thread that asks first (its main thread, for the
 * first Lua state's arena chunk). The pager thread runs above every
 * thread that waits for it (PAGER_PRIO, or 50 above the caller if that is
 * higher): the root's Lua threads wait for it for their arena chunks, the
 * supervisor and its guard (210, 215) too, and the tasks for their pages.
 * At the caller's priority + 50 (150), the supervisor waited 601 ms for
 * a chunk while the file service (180) wrote a file to the disk, and its
 * guard killed it as hung. Each request is short. */
#define PAGER_PRIO 240
int rt_pager_start(void)
{
    if (rt_is_child())
        return RT_TASK_ENOTROOT;
    if (rt_pager_id)
        return RT_TASK_OK;
    region_init();
    uint64_t id = 0, top = (uint64_t)&pager_stack[sizeof pager_stack / 8];
    if (l4_lthread_ex_regs(RT_LT_PAGER, (uint64_t)pager_main, top - 8, ~0ull, ~0ull, &id, 0) !=
        L4_OK)
        return RT_TASK_EKERNEL;
    struct l4_sched_info self = { 0 };
    l4_thread_schedule(l4_utcb_of(0)->myself, ~0ull, ~0ull, &self);
    uint64_t prio = self.prio + 50 > PAGER_PRIO ? self.prio + 50 : PAGER_PRIO;
    l4_thread_schedule(id, prio > 254 ? 254 : prio, ~0ull, 0);
    rt_pager_id = id;
    return RT_TASK_OK;
}
