/* The pager of the Lua tasks the root spawns (docs/runtime.md "Lua
 * tasks"). One thread of the root (lthread RT_LT_PAGER), started at the
 * first spawn, is the pager, exception handler and service of every such
 * task, which runs this same image:
 *
 *   text, rodata, archive   the root's own pages, mapped read-only: shared
 *   .data's pages           a copy of the root's initial .data (__pristine)
 *   the rest of the image   (.bss) demand-zero
 *   the spawn block         pages written at spawn, mapped read-only
 *   heap                    demand-zero, up to the end it was granted
 *   stack                   demand-zero, 4 MiB below RT_STACK_TOP
 *   Lua threads' stacks     demand-zero, the top of each slot the task
 *                           declared (RT_REQ_STACK); the rest a guard gap
 *
 * It also serves the tasks' requests about tasks they spawn (the same
 * as the root's threads', limited to their own tasks), hands them the
 * I/O ports spawn gave them (RT_REQ_IO), answers a Lua pager's
 * "resolve this fault for me" (RT_REQ_RESOLVE), and is the pager of the
 * root's own Lua threads, whose faults (stack overflows) stop them.
 *
 * Private pages come from a pool the pager gets from sigma0 in blocks and
 * never gives back; a task's pages go back to the pool's free list when
 * it ends or is deleted. The memory cap: a task's sbrk asks for heap
 * growth (RT_REQ_HEAP, child.c) before it touches new pages, and the
 * pager grants it only within the cap and only if the pool can promise
 * the pages (they are reserved for the task), so malloc fails cleanly in
 * the task and Lua raises "not enough memory" there; nothing else is
 * affected. A task that faults outside its regions, or raises an
 * exception, has failed: the pager deletes it.
 *
 * The pager thread owns every variable here; the root's other threads
 * reach it only by IPC, through the rt_task_* calls of tasks.c (they may
 * pass pointers: the caller waits in the call while the pager uses them).
 * It uses no malloc and no stdio (newlib's are not thread-safe here) and
 * prints with rt_kernel_write (never through the console server, which
 * may wait for this very thread to page it in). */
#include <stdbool.h>
#include <string.h>

#include "rt.h"
#include "l4/syscalls.h"

#define PAGE        4096ull
#define UP(x)       (((uint64_t)(x) + PAGE - 1) & ~(PAGE - 1))
#define MAX_TASKS   32
#define FIRST_TASK  16              /* the tasks' numbers: FIRST_TASK + slot */
#define POOL_MAX    (1u << 16)      /* pages: 256 MiB */
#define POOL_K      20              /* blocks from sigma0: 1 MiB, halved when none is left */
#define HEAP_CHUNK  (64ull << 10)   /* heap grants are rounded up to this */
#define STACK_SIZE  (1ull << RT_STACK_LOG2)
#define LABEL_PF    0xfffffffeu
#define LABEL_EXC   0xfffffffdu
/* Replies with a zero send timeout (the client waits, abi.md "ipc"); no
 * waiting for pages of a client's string either: the pager would be
 * asked for them itself (child.c touches its message first). */
#define TIMEOUTS    L4_TIMEOUTS(L4_TO_ZERO, 0, L4_TO_ZERO, L4_TO_ZERO)

extern char _start[];
extern const char __text_start[], __text_end[], __rodata_start[], __rodata_end[];
extern const char __data_start[], __data_end[], __image_end[];
extern char __pristine[];

struct task {
    unsigned state;             /* 0 free, RT_TASK_RUNNING, _EXITED, _FAILED */
    uint64_t id;                /* its first thread */
    uint8_t mcp;                /* the highest priority it may give (and spawn with) */
    uint64_t memcap, heap_end;  /* bytes; granted heap [RT_HEAP_BASE, heap_end) */
    uint64_t reserved;          /* granted heap pages not yet touched, kept in the pool */
    uint64_t pages, shared, copied; /* see struct rt_task_info */
    uint32_t tstack[RT_TSTACK_SLOTS];   /* bytes of stack at the top of each
                                           thread-stack slot (RT_REQ_STACK) */
    unsigned nargs;             /* pages of the spawn block */
    uint32_t args[RT_ARGS_MAX / PAGE];
    int status;
    uint64_t ended;             /* order of ending: the oldest ended slot is reused first */
    uint64_t waiter;            /* a thread waiting for the end, or 0 */
    uint64_t parent;            /* the task that asked for it (its first thread), 0: the root */
    char name[RT_NAME_MAX];
    unsigned nio;               /* I/O port ranges it is given (RT_REQ_IO) */
    struct { uint32_t port, count; } io[RT_IO_MAX];
    char msg[RT_MSG_MAX];       /* why it failed, 0-terminated */
};
static struct task tasks[MAX_TASKS];
static uint64_t nrunning, nended;

/* The pool: pages [RT_POOL_BASE, + npages * PAGE) from sigma0. A free page
 * holds the index + 1 of the next one in its first word. */
static struct {
    unsigned npages, block_k;
    uint64_t free_head, nfree;
    uint64_t reserved;          /* free pages promised to granted heaps */
    uint8_t owner[POOL_MAX];    /* slot + 1 of the task holding the page, 0 none */
} pool;                         /* in .bss: not part of the tasks' .data copy */

uint64_t rt_pager_id;          /* written by rt_pager_start before it is called */

/* Word i of the message this thread received or sends: the first
 * L4_REG_WORDS travel in registers (m), the rest in its UTCB. */
static uint64_t word(const struct l4_msg *m, unsigned i)
{
    return i < L4_REG_WORDS ? m->w[i] : l4_utcb_of(RT_LT_PAGER)->mr[i];
}

static void put(struct l4_msg *m, unsigned i, uint64_t v)
{
    if (i < L4_REG_WORDS)
        m->w[i] = v;
    else
        l4_utcb_of(RT_LT_PAGER)->mr[i] = v;
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

/* ---- the pool ---- */

static uint64_t pool_va(uint64_t i)
{
    return RT_POOL_BASE + i * PAGE;
}

static void page_put(uint64_t i)
{
    *(volatile uint64_t *)pool_va(i) = pool.free_head;
    pool.free_head = i + 1;
    pool.nfree++;
    pool.owner[i] = 0;
}

/* A block from sigma0 at the pool's end; false when sigma0 has none left
 * (or the pool is full). The end stays aligned: blocks only get smaller. */
static bool pool_grow(void)
{
    uint64_t s0 = l4_kip()->sigma0;
    if (!pool.block_k)
        pool.block_k = POOL_K;
    while (s0) {
        unsigned k = pool.block_k;
        uint64_t n = 1ull << (k - 12);
        if (pool.npages + n > POOL_MAX)
            return false;
        struct l4_msg m = { 0 };
        m.w[0] = k;
        l4_utcb_of(RT_LT_PAGER)->rcv_window = L4_FPAGE(pool_va(pool.npages), k, L4_RWX);
        uint64_t r = l4_ipc(s0, L4_TAG(L4_SIGMA0_ANY, 1, 0), L4_RCV_MAPS, 0, &m, 0);
        if (L4_IPC_ERR(r) != L4_IPC_OK || L4_TAG_U(m.tag) < 1)
            return false;
        if (m.w[0] == L4_SIGMA0_OK && L4_TAG_T(m.tag) == 1) {
            for (uint64_t j = n; j-- > 0;)     /* lowest first out */
                page_put(pool.npages + j);
            pool.npages += (unsigned)n;
            return true;
        }
        if (m.w[0] != L4_SIGMA0_ENOMEM || k == 12)
            return false;
        pool.block_k = k - 1;
    }
    return false;
}

/* Promises n free pages; false if the pool cannot have them. */
static bool pool_reserve(uint64_t n)
{
    while (pool.nfree - pool.reserved < n)
        if (!pool_grow())
            return false;
    pool.reserved += n;
    return true;
}

/* A zeroed page for the task in slot; from its reserve, or -1 if none
 * is left. */
static int64_t page_take(unsigned slot, bool from_reserve)
{
    struct task *t = &tasks[slot];
    if (from_reserve) {
        t->reserved--;
        pool.reserved--;
    } else if (!pool_reserve(1)) {
        return -1;
    } else {
        pool.reserved--;
    }
    uint64_t i = pool.free_head - 1;
    pool.free_head = *(volatile uint64_t *)pool_va(i);
    pool.nfree--;
    memset((void *)pool_va(i), 0, PAGE);
    pool.owner[i] = (uint8_t)(slot + 1);
    t->pages++;
    return (int64_t)i;
}

/* Puts back every page of the task in slot (it is gone: the kernel took
 * its mappings with it) and its reserve; returns the pages. */
static uint64_t task_release(unsigned slot)
{
    uint64_t n = 0;
    for (uint64_t i = 0; i < pool.npages; i++)
        if (pool.owner[i] == slot + 1) {
            page_put(i);
            n++;
        }
    pool.reserved -= tasks[slot].reserved;
    tasks[slot].reserved = 0;
    return n;
}

/* ---- messages on the console ---- */

struct sb {
    char *p;
    size_t n, cap;
};

static void sb_put(struct sb *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n && b->n + 1 < b->cap; i++)
        b->p[b->n++] = s[i];
    b->p[b->n] = 0;
}

static void sb_str(struct sb *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

static void sb_num(struct sb *b, uint64_t v, unsigned base, bool sign)
{
    char d[24];
    int n = 0;
    if (sign && (int64_t)v < 0) {
        sb_put(b, "-", 1);
        v = -v;
    }
    if (base == 16)
        sb_put(b, "0x", 2);
    do
        d[sizeof d - ++n] = "0123456789abcdef"[v % base];
    while (v /= base);
    sb_put(b, d + sizeof d - n, (size_t)n);
}

/* ---- the life of a task ---- */

static unsigned task_number(unsigned slot)
{
    return FIRST_TASK + slot;
}

/* The running task a thread belongs to, or -1. */
static int slot_of_thread(uint64_t thread)
{
    unsigned tn = L4_ID_TASK(thread);
    if (tn < FIRST_TASK || tn >= FIRST_TASK + MAX_TASKS)
        return -1;
    unsigned slot = tn - FIRST_TASK;
    return tasks[slot].state == RT_TASK_RUNNING ? (int)slot : -1;
}

/* The task (running or ended) whose first thread is id, or -1. */
static int slot_of_id(uint64_t id)
{
    unsigned tn = L4_ID_TASK(id);
    if (tn < FIRST_TASK || tn >= FIRST_TASK + MAX_TASKS)
        return -1;
    unsigned slot = tn - FIRST_TASK;
    return tasks[slot].state && tasks[slot].id == id ? (int)slot : -1;
}

static void reply_waiter(struct task *t, uint64_t code)
{
    struct l4_msg m = { 0 };
    m.w[0] = code;
    m.w[1] = t->state;
    m.w[2] = (uint64_t)(int64_t)t->status;
    l4_ipc(t->waiter, L4_TAG(RT_REQ_WAIT, 3, 0), L4_NODESC, TIMEOUTS, &m, 0);
    t->waiter = 0;
}

static void task_delete(unsigned slot)
{
    uint64_t x;
    l4_task_new(L4_ID(task_number(slot), 0, 0), 0, 0, 0, L4_NILTHREAD, 0, &x);
}

/* The task has ended (t->msg holds why, if it failed): delete it, take
 * its pages back, say so on the console, tell a waiter. */
static void task_end(unsigned slot, unsigned state, int status)
{
    struct task *t = &tasks[slot];
    task_delete(slot);
    task_release(slot);
    t->state = state;
    t->status = status;
    t->ended = ++nended;
    nrunning--;
    char line[RT_MSG_MAX + 64];
    struct sb b = { line, 0, sizeof line };
    sb_str(&b, "lua-root: task ");
    sb_num(&b, task_number(slot), 10, false);
    if (state == RT_TASK_EXITED) {
        sb_str(&b, " exited (");
        sb_num(&b, (uint64_t)(int64_t)status, 10, true);
        sb_str(&b, ")\n");
    } else {
        sb_str(&b, " failed: ");
        sb_str(&b, t->msg);
        sb_str(&b, "\n");
    }
    rt_kernel_write(line, b.n);
    if (t->waiter)
        reply_waiter(t, RT_TASK_OK);
}

/* The task failed in a fault or exception: why goes into its message. */
static void task_fail(unsigned slot, const char *what, uint64_t addr, uint64_t ip, const char *why)
{
    struct task *t = &tasks[slot];
    struct sb b = { t->msg, 0, sizeof t->msg };
    sb_str(&b, what);
    sb_num(&b, addr, 16, false);
    sb_str(&b, " (ip ");
    sb_num(&b, ip, 16, false);
    sb_str(&b, "): ");
    sb_str(&b, why);
    task_end(slot, RT_TASK_FAILED, 1);
}

/* The task failed for a reason of its own (no address). */
static void task_fail_msg(unsigned slot, const char *why)
{
    struct sb b = { tasks[slot].msg, 0, sizeof tasks[slot].msg };
    sb_str(&b, why);
    task_end(slot, RT_TASK_FAILED, 1);
}

/* The largest naturally aligned block (up to 4 MiB) around page p that
 * lies in [lo, hi): shared regions are mapped in such blocks, so a task
 * faults a few times on the text, not once per page. */
static unsigned block_log2(uint64_t p, uint64_t lo, uint64_t hi)
{
    unsigned s = 12;
    while (s < 22) {
        uint64_t b = p & ~((2ull << s) - 1);
        if (b < lo || b + (2ull << s) > hi)
            break;
        s++;
    }
    return s;
}

static bool within(uint64_t p, uint64_t lo, uint64_t hi)
{
    return p >= lo && p < hi;
}

/* A page fault: fills m with the map item and returns its tag, or fails
 * the task and returns L4_NODESC (no answer). */
static uint64_t on_fault(unsigned slot, struct l4_msg *m)
{
    struct task *t = &tasks[slot];
    const struct l4_kip *kip = l4_kip();
    uint64_t addr = m->w[0] & ~7ull, ip = m->w[1], page = addr & ~(PAGE - 1);
    bool write = m->w[0] & 2, exec = m->w[0] & 1;
    uint64_t lo = 0, hi = 0;
    unsigned rights = L4_R;
    /* Shared: the root's own pages, read-only. */
    if (within(page, (uint64_t)__text_start, UP(__text_end)))
        lo = (uint64_t)__text_start, hi = UP(__text_end), rights = L4_R | L4_X;
    else if (within(page, (uint64_t)__rodata_start, UP(__rodata_end)))
        lo = (uint64_t)__rodata_start, hi = UP(__rodata_end);
    else if (kip->scripts && within(page, kip->scripts, UP(kip->scripts + kip->scripts_size)))
        lo = kip->scripts, hi = UP(kip->scripts + kip->scripts_size);
    if (hi) {
        if (write || (exec && !(rights & L4_X))) {
            task_fail(slot, "page fault at ", addr, ip,
                      write ? "write to read-only memory" : "execution outside the text");
            return L4_NODESC;
        }
        unsigned s = block_log2(page, lo, hi);
        uint64_t base = page & ~((1ull << s) - 1);
        t->shared += 1ull << (s - 12);
        m->w[0] = base | L4_ITEM_MAP;
        m->w[1] = L4_FPAGE(base, s, rights);
        return L4_TAG(0, 0, 1);
    }
    /* The spawn block: its own pages, read-only. */
    if (within(page, RT_ARGS_BASE, RT_ARGS_BASE + t->nargs * PAGE)) {
        if (write || exec) {
            task_fail(slot, "page fault at ", addr, ip,
                      write ? "write to read-only memory" : "execution outside the text");
            return L4_NODESC;
        }
        m->w[0] = page | L4_ITEM_MAP;
        m->w[1] = L4_FPAGE(pool_va(t->args[(page - RT_ARGS_BASE) / PAGE]), 12, L4_R);
        return L4_TAG(0, 0, 1);
    }
    /* Private: a new page, zeroed or a copy of the initial .data. */
    bool data = within(page, (uint64_t)__data_start, UP(__data_end));
    bool heap = within(page, RT_HEAP_BASE, t->heap_end);
    const char *why = NULL;
    if (exec)
        why = "execution outside the text";
    else if (within(page, RT_HEAP_BASE, RT_HEAP_END))
        why = heap ? NULL : "beyond the heap granted";
    else if (within(page, RT_STACK_TOP - 2 * STACK_SIZE, RT_STACK_TOP - STACK_SIZE))
        why = "stack overflow";
    else if (within(page, RT_TSTACK_BASE,
                    RT_TSTACK_BASE + ((uint64_t)RT_TSTACK_SLOTS << RT_TSTACK_LOG2))) {
        uint64_t i = (page - RT_TSTACK_BASE) >> RT_TSTACK_LOG2;
        uint64_t top = RT_TSTACK_BASE + ((i + 1) << RT_TSTACK_LOG2);
        if (page < top - t->tstack[i])
            why = "stack overflow of a Lua thread";
    }
    else if (!data && !within(page, (uint64_t)__data_start, UP(__image_end)) &&
             !within(page, RT_STACK_TOP - STACK_SIZE, RT_STACK_TOP) &&
             !within(page, RT_TSTACK_BASE,
                     RT_TSTACK_BASE + ((uint64_t)RT_TSTACK_SLOTS << RT_TSTACK_LOG2)))
        why = "nothing is mapped there";
    if (why) {
        task_fail(slot, "page fault at ", addr, ip, why);
        return L4_NODESC;
    }
    int64_t i = page_take(slot, heap && t->reserved > 0);
    if (i < 0) {
        task_fail(slot, "page fault at ", addr, ip, "out of memory");
        return L4_NODESC;
    }
    if (data) {
        memcpy((void *)pool_va((uint64_t)i), __pristine + (page - (uint64_t)__data_start), PAGE);
        t->copied++;
    }
    m->w[0] = page | L4_ITEM_MAP;
    m->w[1] = L4_FPAGE(pool_va((uint64_t)i), 12, L4_R | L4_W);
    return L4_TAG(0, 0, 1);
}

/* RT_REQ_HEAP: grants [RT_HEAP_BASE, end) within the cap, in chunks, if
 * the pool can keep the pages for the task; replies the end granted. */
static uint64_t on_heap(unsigned slot, struct l4_msg *m)
{
    struct task *t = &tasks[slot];
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
    struct task *t = &tasks[slot];
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
    int slot = -1;
    for (unsigned i = 0; i < MAX_TASKS; i++)   /* a free slot, else the oldest ended */
        if (!tasks[i].state) {
            slot = (int)i;
            break;
        } else if (tasks[i].state != RT_TASK_RUNNING &&
                   (slot < 0 || tasks[i].ended < tasks[slot].ended)) {
            slot = (int)i;
        }
    m->w[1] = 0;
    if (L4_TAG_T(m->tag) != 2 || nio > RT_IO_MAX || u != 5 + nio ||
        size > RT_ARGS_MAX - sizeof(struct rt_task_args) || memcap > RT_HEAP_END - RT_HEAP_BASE) {
        m->w[0] = RT_TASK_EINVAL;
        return;
    }
    for (unsigned i = 0; i < nio; i++) {
        uint32_t port = (uint32_t)word(m, 5 + i), count = (uint32_t)(word(m, 5 + i) >> 32);
        bool ok = port + count <= 0x10000 && count > 0 &&
                  (parent >= 0 ? io_within(&tasks[parent], port, count)
                               : io_fpages(port, count, io_from_sigma0, NULL));
        if (!ok) {
            m->w[0] = RT_TASK_EPORTS;
            return;
        }
    }
    if (slot < 0) {
        m->w[0] = RT_TASK_ENOSLOT;
        return;
    }
    struct task *t = &tasks[slot];
    memset(t, 0, sizeof *t);
    t->memcap = memcap;
    t->heap_end = RT_HEAP_BASE;
    t->parent = parent >= 0 ? tasks[parent].id : 0;
    memcpy(t->name, name_buf, nlen < RT_NAME_MAX ? nlen : RT_NAME_MAX - 1);
    t->nio = nio;
    for (unsigned i = 0; i < nio; i++) {
        t->io[i].port = (uint32_t)word(m, 5 + i);
        t->io[i].count = (uint32_t)(word(m, 5 + i) >> 32);
    }
    /* The spawn block: header and body, copied into pages of the task. */
    uint64_t total = sizeof(struct rt_task_args) + size;
    for (; t->nargs * PAGE < total; t->nargs++) {
        int64_t i = page_take((unsigned)slot, false);
        if (i < 0) {
            task_release((unsigned)slot);
            memset(t, 0, sizeof *t);
            m->w[0] = RT_TASK_ENOMEM;
            return;
        }
        t->args[t->nargs] = (uint32_t)i;
    }
    struct rt_task_args h = { .magic = RT_ARGS_MAGIC, .size = size,
                              .epoch_us = rt_clock_epoch(), .service = rt_pager_id,
                              .memcap = memcap, .console = rt_console_id,
                              .files = rt_files_id, .nio = nio };
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
        mcp = mcp < tasks[parent].mcp ? mcp : tasks[parent].mcp;
        prio = prio < tasks[parent].mcp ? prio : tasks[parent].mcp;
    }
    t->mcp = (uint8_t)mcp;
    /* The new thread starts at its creator's priority, and runs at once:
     * this thread takes the task's priority for the moment, so that it
     * never runs above it (nor above its mcp). */
    struct l4_sched_info me = { 0 };
    l4_thread_schedule(rt_pager_id, prio, ~0ull, &me);
    uint64_t id = 0, r = l4_task_new(L4_ID(task_number((unsigned)slot), 0, 0), mcp,
                                     (uint64_t)_start, RT_STACK_TOP, pager, 0, &id);
    l4_thread_schedule(rt_pager_id, me.prio, ~0ull, 0);
    if (r != L4_OK) {
        task_release((unsigned)slot);
        memset(t, 0, sizeof *t);
        m->w[0] = r == L4_ENOMEM ? RT_TASK_ENOMEM : RT_TASK_EKERNEL;
        return;
    }
    /* It cannot read the block before its first fault is answered. */
    ((struct rt_task_args *)pool_va(t->args[0]))->task = id;
    t->id = id;
    t->state = RT_TASK_RUNNING;
    nrunning++;
    m->w[0] = RT_TASK_OK;
    m->w[1] = id;
}

/* A reply with the task's info (tasks.c, take_info): words, then its
 * name and message as strings (with their 0). */
static uint64_t send_info(const struct task *t, struct l4_msg *m, uint64_t next)
{
    uint64_t w[14] = { RT_TASK_OK, t->id, t->state, (uint64_t)(int64_t)t->status, t->pages,
                       t->shared, t->copied, t->heap_end - RT_HEAP_BASE, t->memcap, next,
                       (uint64_t)(strlen(t->name) + 1) << 4 | L4_ITEM_STRING, (uint64_t)t->name,
                       (uint64_t)(strlen(t->msg) + 1) << 4 | L4_ITEM_STRING, (uint64_t)t->msg };
    for (unsigned i = 0; i < 14; i++)
        put(m, i, w[i]);
    return L4_TAG(0, 10, 2);
}

/* RT_REQ_RESOLVE, for a pager of a Lua task that is not this thread
 * (l4.task.resolve): w0 the faulting thread, w1 the fault address and
 * access, w2 ip. Reply w0 a code, w1 the send base, w2 this task's fpage
 * that the fault would get here. */
static uint64_t cmd_resolve(struct l4_msg *m)
{
    int slot = slot_of_thread(m->w[0]);
    if (slot < 0) {
        m->w[0] = RT_TASK_ENOTASK;
        return L4_TAG(0, 1, 0);
    }
    m->w[0] = m->w[1];
    m->w[1] = m->w[2];
    if (on_fault((unsigned)slot, m) == L4_NODESC) {
        m->w[0] = RT_TASK_EFAILED;
        return L4_TAG(0, 1, 0);
    }
    m->w[2] = m->w[1];
    m->w[1] = m->w[0] & ~(PAGE - 1);
    m->w[0] = RT_TASK_OK;
    return L4_TAG(0, 3, 0);
}

/* A request about tasks, from a thread of the root (parent -1: it sees
 * every task) or of a running Lua task (parent its slot: it sees the
 * tasks it spawned); returns the reply's tag, or L4_NODESC for none now
 * (a wait for a running task). */
static uint64_t request(uint64_t from, int parent, struct l4_msg *m)
{
    uint32_t label = L4_TAG_LABEL(m->tag);
    uint64_t who = parent >= 0 ? tasks[parent].id : 0;
    if (label == RT_REQ_SPAWN) {
        cmd_spawn(m, parent);
        return L4_TAG(0, 2, 0);
    }
    if (label == RT_REQ_STATS) {
        m->w[0] = RT_TASK_OK;
        m->w[1] = pool.npages;
        m->w[2] = pool.nfree;
        m->w[3] = pool.reserved;
        m->w[4] = nrunning;
        m->w[5] = (UP(__text_end) - (uint64_t)__text_start + UP(__rodata_end) -
                   (uint64_t)__rodata_start) / PAGE;
        put(m, 6, (UP(__data_end) - (uint64_t)__data_start) / PAGE);
        return L4_TAG(0, 7, 0);
    }
    if (label == RT_REQ_RESOLVE && parent < 0)
        return cmd_resolve(m);
    if (label == RT_REQ_LIST) {
        for (uint64_t i = m->w[0]; i < MAX_TASKS; i++)
            if (tasks[i].state && (parent < 0 || tasks[i].parent == who))
                return send_info(&tasks[i], m, i + 1);
        m->w[0] = RT_TASK_ENOTASK;
        return L4_TAG(0, 1, 0);
    }
    int slot = slot_of_id(m->w[0]);
    struct task *t = slot >= 0 && (parent < 0 || tasks[slot].parent == who) ? &tasks[slot] : NULL;
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
        if (t->state == RT_TASK_RUNNING) {
            task_delete((unsigned)slot);
            m->w[1] = task_release((unsigned)slot);
            nrunning--;
            if (t->waiter)
                reply_waiter(t, RT_TASK_ENOTASK);
        }
        memset(t, 0, sizeof *t);
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
    struct task *t = &tasks[slot];
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
    case LABEL_PF:
        return on_fault(slot, m);
    case LABEL_EXC: {
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
    case RT_REQ_STACK:      /* the pages come as they are touched */
        if (m->w[0] < RT_TSTACK_SLOTS && m->w[1] <= RT_TSTACK_MAX) {
            uint32_t *st = &tasks[slot].tstack[m->w[0]];
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

/* A fault or exception of one of the root's Lua threads (whose pager
 * this thread is, threads.c): in a guard gap of the thread-stack region
 * a stack overflow, anywhere else a bug; either way the thread is
 * stopped as failed (no answer) and the console says why. */
static uint64_t own_fault(uint64_t from, struct l4_msg *m)
{
    bool pf = L4_TAG_LABEL(m->tag) == LABEL_PF;
    uint64_t addr = pf ? m->w[0] & ~7ull : m->w[3], ip = pf ? m->w[1] : m->w[2];
    char line[160];
    struct sb b = { line, 0, sizeof line };
    sb_str(&b, "lua-root: thread ");
    sb_num(&b, from, 16, false);
    sb_str(&b, pf ? " failed: page fault at " : " failed: exception at ");
    sb_num(&b, addr, 16, false);
    sb_str(&b, " (ip ");
    sb_num(&b, ip, 16, false);
    if (!pf)
        sb_str(&b, "): an exception\n");
    else if (within(addr, RT_TSTACK_BASE,
                    RT_TSTACK_BASE + ((uint64_t)RT_TSTACK_SLOTS << RT_TSTACK_LOG2)))
        sb_str(&b, "): stack overflow\n");
    else
        sb_str(&b, "): nothing is mapped there\n");
    if (rt_thread_fault(L4_ID_LTHREAD(from)))
        rt_kernel_write(line, b.n);
    return L4_NODESC;
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
        uint64_t r = l4_ipc(to, tag, L4_RCV_OPEN | L4_RCV_STRINGS, TIMEOUTS, &m, &from);
        bool io_reply = sending_io;
        sending_io = false;
        if (L4_IPC_ERR(r) != L4_IPC_OK) {
            /* A page the kernel could not map for a task: it is stuck. */
            int slot = tag != L4_NODESC ? slot_of_thread(to) : -1;
            if (L4_IPC_ERR(r) == L4_IPC_MAP_FAILED && slot >= 0 && io_reply)
                task_fail_msg(slot, "its I/O ports: the root does not hold them all");
            else if (L4_IPC_ERR(r) == L4_IPC_MAP_FAILED && slot >= 0)
                task_fail(slot, "page fault at ", 0, 0, "the kernel could not map the page");
            tag = L4_NODESC;
            continue;
        }
        int slot = slot_of_thread(from);
        uint32_t label = L4_TAG_LABEL(m.tag);
        if (L4_ID_TASK(from) == me && (label == LABEL_PF || label == LABEL_EXC))
            tag = own_fault(from, &m);
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
 * Called by the root's thread that spawns first: the pager thread runs
 * above the caller's priority so that the tasks' faults are served before
 * anything of the same priority runs. */
int rt_pager_start(void)
{
    if (rt_is_child())
        return RT_TASK_ENOTROOT;
    if (rt_pager_id)
        return RT_TASK_OK;
    uint64_t id = 0, top = (uint64_t)&pager_stack[sizeof pager_stack / 8];
    if (l4_lthread_ex_regs(RT_LT_PAGER, (uint64_t)pager_main, top - 8, ~0ull, ~0ull, &id, 0) !=
        L4_OK)
        return RT_TASK_EKERNEL;
    struct l4_sched_info self = { 0 };
    l4_thread_schedule(l4_utcb_of(0)->myself, ~0ull, ~0ull, &self);
    l4_thread_schedule(id, self.prio + 50 > 254 ? 254 : self.prio + 50, ~0ull, 0);
    rt_pager_id = id;
    return RT_TASK_OK;
}
