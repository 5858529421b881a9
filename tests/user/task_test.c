/* Suite "task": tasks and memory, seen from user mode. task_new, clans and
 * chiefs (id_nearest, redirection, deceiving sends), page faults answered
 * by a user pager with map items, cross-address-space IPC, user exceptions
 * delivered to an exception handler (or the thread stopped), deleting a
 * task releasing the threads that wait on it, lthread_ex_regs and
 * fpage_unmap argument checks, and kernel memory exhaustion.
 *
 * Child tasks run the root task's own code: a pager thread of the root
 * answers their page faults with map items of the root's pages at the same
 * addresses, so a child shares the root's code and data (what it writes the
 * root can read) and runs on a stack array reserved in the root's .bss.
 * Child code must never return; it ends blocked in a receive from nil. */
#include "utest.h"

#define USER_TOP  0x0000800000000000ull
#define KHALF     0xffff800000000000ull
#define NIL       L4_NILTHREAD
#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Root lthreads, each used once for the whole run. */
enum {
    LT_PAGER = 1, LT_SRV, LT_RCV, LT_SND, LT_R, LT_H, LT_X, LT_X2, LT_Y,
    LT_Z1, LT_Z2, LT_Z3, LT_W, LT_T1, LT_T2, LT_T3, LT_T4, LT_SINK,
    LT_UNUSED = 40,     /* never created: the argument checks name it */
};

/* Task numbers, one set per case. */
enum {
    TN_BASIC = 3, TN_PF = 4, TN_A = 5, TN_B = 6, TN_DEL = 7, TN_PASSED = 8,
    TN_ERR = 9, TN_EXH_FIRST = 10, TN_EXH_LAST = 4000, TN_UNMAP = 4001, TN_EAT = 4002,
    TN_NOT_A_OWNS = 100,
};

/* Stacks of child tasks' first threads (root .bss, mapped by the pager). */
enum { CS_BASIC, CS_DEL, CS_A, CS_B, CS_UNMAP, CS_EXH, CS_EAT, CS_COUNT };
static uint64_t child_stacks[CS_COUNT][1024] __attribute__((aligned(4096)));

static uint64_t child_sp(unsigned i)
{
    return (uint64_t)&child_stacks[i][1024] - 8;   /* rsp % 16 == 8, as after a call */
}

static uint64_t thread_sp(unsigned lthread)
{
    return (uint64_t)uthread_stack_top(lthread) - 8;
}

static uint64_t kmem_used(void)
{
    uint64_t used = 0, limit = 0;
    l4_kdebug(L4_KDEBUG_KMEM, 0, &used, &limit);
    return used;
}

static uint64_t ts_state(uint64_t id, uint64_t *partner)
{
    struct l4_sched_info i = { 0 };
    uint64_t r = l4_thread_schedule(id, ~0ull, ~0ull, &i);
    if (partner)
        *partner = i.partner;
    return r == L4_OK ? i.state : 0x100 + r;
}

/* Waits (sleeping) up to us microseconds for *p to become nonzero. */
static bool wait_set(volatile uint64_t *p, uint64_t us)
{
    uint64_t t0 = unow_us();
    while (!*p) {
        if (unow_us() - t0 > us)
            return false;
        usleep_us(500);
    }
    return true;
}

/* Waits for thread id to reach state (and partner, unless ~0). */
static bool wait_state(uint64_t id, uint64_t state, uint64_t partner, uint64_t us)
{
    uint64_t t0 = unow_us();
    for (;;) {
        uint64_t p;
        if (ts_state(id, &p) == state && (partner == ~0ull || p == partner))
            return true;
        if (unow_us() - t0 > us)
            return false;
        usleep_us(500);
    }
}

/* A child's (or helper's) end: blocked in a receive from nil, forever. */
static void __attribute__((noreturn, noinline)) child_block(void)
{
    struct l4_msg m = { 0 };
    for (;;)
        l4_ipc(NIL, L4_NODESC, 0, 0, &m, 0);
}

/* ---- The root's pager: maps its own page at the faulting address ---- */
struct pgrec {
    uint64_t from, label, w[4];
};
static volatile struct pgrec pglog[1024];
static volatile uint64_t pgn, pg_refused;
#define EAT_BASE 0x100000000ull
static uint64_t eat_page[512] __attribute__((aligned(4096)));
static uint64_t pager_id;

static void pager_fn(uint64_t arg)
{
    (void)arg;
    for (;;) {
        struct l4_msg m = { 0 };
        uint64_t from = 0;
        uint64_t r = l4_ipc(NIL, L4_NODESC, L4_RCV_OPEN, 0, &m, &from);
        while (L4_IPC_ERR(r) == L4_IPC_OK) {
            uint64_t n = pgn;
            if (n < COUNT_OF(pglog)) {
                pglog[n].from = from;
                pglog[n].label = L4_TAG_LABEL(m.tag);
                for (unsigned i = 0; i < 4; i++)
                    pglog[n].w[i] = m.w[i];
            }
            pgn = n + 1;
            if (L4_TAG_LABEL(m.tag) != L4_LABEL_PAGEFAULT)
                break;              /* an exception: the thread stays blocked */
            uint64_t page = m.w[0] & ~0xfffull, src = page;
            if (page >= EAT_BASE && page < EAT_BASE + (1ull << 40)) {
                src = (uint64_t)eat_page;   /* the eater: one page, anywhere */
            } else if (page < 0x400000 || page >= 0x40000000) {
                pg_refused++;       /* not the root image: no answer */
                break;
            }
            m.w[0] = page | L4_ITEM_MAP;
            m.w[1] = L4_FPAGE(src, 12, L4_RWX);
            r = l4_ipc(from, L4_TAG(0, 0, 1), L4_RCV_OPEN, L4_TIMEOUTS(L4_TO_ZERO, 0, 0, 0), &m,
                       &from);
        }
    }
}

static uint64_t pager(void)
{
    if (!pager_id)
        pager_id = uthread_start(LT_PAGER, pager_fn, 0);
    return pager_id;
}

/* Indexes of the pager's records from thread 'from', in order. */
static unsigned pg_records(uint64_t from, unsigned *idx, unsigned max)
{
    unsigned n = 0;
    uint64_t end = pgn < COUNT_OF(pglog) ? pgn : COUNT_OF(pglog);
    for (unsigned i = 0; i < end && n < max; i++)
        if (pglog[i].from == from)
            idx[n++] = i;
    return n;
}

static uint64_t new_task(unsigned tn, void (*entry)(void), unsigned stack, uint64_t pg,
                         uint64_t *first)
{
    *first = 0;
    return l4_task_new(L4_ID(tn, 0, 0), 255, (uint64_t)entry, child_sp(stack), pg, 0, first);
}

static uint64_t delete_task(unsigned tn)
{
    uint64_t x;
    return l4_task_new(L4_ID(tn, 0, 0), 0, 0, 0, NIL, 0, &x);
}

/* ==== task_new: the first thread runs; call into another space ==== */
struct srvrec {
    uint64_t r, from, tag, w0, w1, w2, intended, reply_r;
};
static volatile struct srvrec srv_log[32];
static volatile uint64_t srv_count, basic_srv;

static void srv_fn(uint64_t arg)
{
    (void)arg;
    for (;;) {
        struct l4_msg m = { 0 };
        uint64_t from = 0;
        uint64_t r = l4_ipc(NIL, L4_NODESC, L4_RCV_OPEN, 0, &m, &from);
        volatile struct srvrec *s = &srv_log[srv_count % COUNT_OF(srv_log)];
        s->r = r;
        s->from = from;
        s->tag = m.tag;
        s->w0 = m.w[0];
        s->w1 = m.w[1];
        s->w2 = m.w[2];
        s->intended = l4_utcb_of(LT_SRV)->intended_receiver;
        s->reply_r = ~0ull;
        if (L4_IPC_ERR(r) == L4_IPC_OK) {
            m.w[0] = m.w[0] + m.w[1];
            m.w[1] = m.w[2] ^ 0xfff;
            s->reply_r = l4_ipc(from, L4_TAG(0x43, 2, 0), L4_NODESC,
                                L4_TIMEOUTS(L4_TO_ZERO, 0, 0, 0), &m, 0);
        }
        srv_count++;
    }
}

/* The server thread, started on first use (cases run in any order). */
static uint64_t server(void)
{
    if (!basic_srv)
        basic_srv = uthread_start(LT_SRV, srv_fn, 0);
    return basic_srv;
}

static volatile uint64_t basic_claim, basic_ran, basic_self, basic_r, basic_from, basic_tag,
    basic_w0, basic_w1, basic_near_kind, basic_near_id, basic_r2, basic_from2;

static void __attribute__((noreturn)) basic_child(void)
{
    basic_self = l4_myself(0);
    uint64_t near = 0;
    basic_near_kind = l4_id_nearest(basic_srv, &near);
    basic_near_id = near;
    struct l4_msg m = { 0 };
    m.w[0] = 40;
    m.w[1] = 2;
    m.w[2] = 0xabc;
    uint64_t from = 0;
    uint64_t r = l4_ipc(basic_srv, L4_TAG(0x42, 3, 0), 0,
                        L4_TIMEOUTS(uto_us(1000000), uto_us(1000000), 0, 0), &m, &from);
    basic_r = r;
    basic_from = from;
    basic_tag = m.tag;
    basic_w0 = m.w[0];
    basic_w1 = m.w[1];
    /* A deceiving send by a task that is nobody's chief: not believed. */
    l4_utcb_of(0)->virtual_sender = basic_claim;
    m.w[0] = m.w[1] = m.w[2] = 1;
    basic_r2 = l4_ipc(basic_srv, L4_TAG(0x44, 3, 0) | L4_TAG_DECEIVE, 0,
                      L4_TIMEOUTS(uto_us(1000000), uto_us(1000000), 0, 0), &m, &from);
    basic_from2 = from;
    basic_ran = 0x600d;
    child_block();
}

UTEST(task_new_runs_first_thread)
{
    UCHECK(pager() != 0);
    uint64_t srv = server();
    UCHECK(srv != 0);
    uint64_t calls = srv_count;
    basic_claim = umyself();
    uint64_t first = 0;
    /* Only the task number counts: lthread and version are ignored. */
    uint64_t r = l4_task_new(L4_ID(TN_BASIC, 5, 99), 255, (uint64_t)basic_child,
                             child_sp(CS_BASIC), pager(), 0, &first);
    UCHECK_EQ(r, L4_OK);
    UCHECK_EQ(L4_ID_TASK(first), TN_BASIC);
    UCHECK_EQ(L4_ID_LTHREAD(first), 0);
    UCHECK(L4_ID_VERSION(first) != 0);
    UCHECK(first >> 36 == 0);
    UCHECK(wait_set(&basic_ran, 2000000));
    /* The child ran, wrote the shared page, knows who it is. */
    UCHECK_EQ(basic_ran, 0x600d);
    UCHECK_EQ(basic_self, first);
    /* A thread of the chief is reached directly. */
    UCHECK_EQ(basic_near_kind, L4_NEAREST_SAME);
    UCHECK_EQ(basic_near_id, srv);
    /* The server saw the call from the child's thread, words intact. */
    UCHECK_EQ(srv_count, calls + 2);
    volatile struct srvrec *s = &srv_log[calls % COUNT_OF(srv_log)];
    UCHECK_EQ(L4_IPC_ERR(s->r), L4_IPC_OK);
    UCHECK(!(s->r & L4_IPC_REDIRECTED));
    UCHECK(!(s->r & L4_IPC_DECEIVED));
    UCHECK_EQ(s->from, first);
    UCHECK_EQ(L4_TAG_LABEL(s->tag), 0x42);
    UCHECK_EQ(L4_TAG_U(s->tag), 3);
    UCHECK_EQ(s->w0, 40);
    UCHECK_EQ(s->w1, 2);
    UCHECK_EQ(s->w2, 0xabc);
    UCHECK_EQ(s->intended, srv);
    UCHECK_EQ(s->reply_r, L4_IPC_OK);
    /* ... and the child got the reply. */
    UCHECK_EQ(L4_IPC_ERR(basic_r), L4_IPC_OK);
    UCHECK(!(basic_r & L4_IPC_REDIRECTED));
    UCHECK(!(basic_r & L4_IPC_DECEIVED));
    UCHECK_EQ(basic_from, srv);
    UCHECK_EQ(L4_TAG_LABEL(basic_tag), 0x43);
    UCHECK_EQ(L4_TAG_U(basic_tag), 2);
    UCHECK_EQ(basic_w0, 42);
    UCHECK_EQ(basic_w1, 0xabc ^ 0xfff);
    /* The false claim: the server still sees the child. */
    s = &srv_log[(calls + 1) % COUNT_OF(srv_log)];
    UCHECK_EQ(L4_IPC_ERR(s->r), L4_IPC_OK);
    UCHECK(!(s->r & L4_IPC_DECEIVED));
    UCHECK_EQ(s->from, first);
    UCHECK_EQ(L4_TAG_LABEL(s->tag), 0x44);
    UCHECK(!(s->tag & L4_TAG_DECEIVE));
    UCHECK_EQ(L4_IPC_ERR(basic_r2), L4_IPC_OK);
    UCHECK_EQ(basic_from2, srv);
    /* The child is now blocked in its receive from nil. */
    UCHECK(wait_state(first, L4_TS_RECEIVING, NIL, 1000000));
    UCHECK_EQ(delete_task(TN_BASIC), L4_OK);
    UCHECK_EQ(ts_state(first, 0), 0x100 + L4_ENOTHREAD);
}

/* ==== Page faults reach the pager with address, access and rip ==== */
uint64_t pf_probe_w[512] __attribute__((aligned(4096), used));
uint64_t pf_probe_r[512] __attribute__((aligned(4096), used)) = { [6] = 0xfeedface };
extern char pf_child_entry[], pf_child_store[], pf_child_load[], pf_child_ud2[];
__asm__(".text\n"
        ".p2align 12\n"
        ".globl pf_child_entry, pf_child_store, pf_child_load, pf_child_ud2\n"
        "pf_child_entry:\n"
        "pf_child_store:\n"
        "    movq $0x5a5a, pf_probe_w+0x28(%rip)\n"
        "pf_child_load:\n"
        "    movq pf_probe_r+0x30(%rip), %rax\n"
        "    movq %rax, pf_probe_w+0x38(%rip)\n"
        "pf_child_ud2:\n"
        "    ud2\n"
        "    jmp pf_child_ud2\n");

UTEST(page_faults_reach_pager)
{
    uint64_t first = 0;
    uint64_t r = l4_task_new(L4_ID(TN_PF, 0, 0), 255, (uint64_t)pf_child_entry, child_sp(CS_BASIC),
                             pager(), 0, &first);
    UCHECK_EQ(r, L4_OK);
    /* It ends with ud2: an exception to its handler, which task_new made
     * the pager; the pager does not answer, so it stays blocked there. */
    uint64_t t0 = unow_us();
    unsigned idx[8], n = 0;
    while ((n = pg_records(first, idx, 8)) < 4 && unow_us() - t0 < 2000000)
        usleep_us(500);
    UCHECK_EQ(n, 4);
    if (n >= 4) {
        /* 1: instruction fetch at the entry (exec bit 0). */
        volatile struct pgrec *p = &pglog[idx[0]];
        UCHECK_EQ(p->label, L4_LABEL_PAGEFAULT);
        UCHECK_EQ(L4_FAULT_ADDR(p->w[0]), (uint64_t)pf_child_entry);
        UCHECK_EQ(p->w[0] & 3, 1);
        UCHECK_EQ(p->w[1], (uint64_t)pf_child_entry);
        /* 2: the store (write bit 1) at its exact address. */
        p = &pglog[idx[1]];
        UCHECK_EQ(p->label, L4_LABEL_PAGEFAULT);
        UCHECK_EQ(L4_FAULT_ADDR(p->w[0]), (uint64_t)&pf_probe_w[5]);
        UCHECK_EQ(p->w[0] & 3, 2);
        UCHECK_EQ(p->w[1], (uint64_t)pf_child_store);
        /* 3: the load: neither bit. */
        p = &pglog[idx[2]];
        UCHECK_EQ(p->label, L4_LABEL_PAGEFAULT);
        UCHECK_EQ(L4_FAULT_ADDR(p->w[0]), (uint64_t)&pf_probe_r[6]);
        UCHECK_EQ(p->w[0] & 3, 0);
        UCHECK_EQ(p->w[1], (uint64_t)pf_child_load);
        /* 4: #UD to the exception handler {vector, error, rip, address}. */
        p = &pglog[idx[3]];
        UCHECK_EQ(p->label, L4_LABEL_EXCEPTION);
        UCHECK_EQ(p->w[0], 6);
        UCHECK_EQ(p->w[1], 0);
        UCHECK_EQ(p->w[2], (uint64_t)pf_child_ud2);
        UCHECK_EQ(p->w[3], (uint64_t)pf_child_ud2);
    }
    /* The mapped pages are the root's: the child's writes are here. */
    UCHECK_EQ(((volatile uint64_t *)pf_probe_w)[5], 0x5a5a);
    UCHECK_EQ(((volatile uint64_t *)pf_probe_w)[7], 0xfeedface);
    /* Blocked in the exception IPC: waiting for the pager's reply. */
    uint64_t partner = 0;
    UCHECK_EQ(ts_state(first, &partner), L4_TS_RECEIVING);
    UCHECK_EQ(partner, pager());
    UCHECK_EQ(delete_task(TN_PF), L4_OK);
}

/* ==== A child unmaps its own mapping: the next touch faults again ==== */
static uint64_t cu_page[512] __attribute__((aligned(4096)));
static volatile uint64_t cu_r, cu_done;

static void __attribute__((noreturn)) unmap_child(void)
{
    ((volatile uint64_t *)cu_page)[0] = 1;
    cu_r = l4_fpage_unmap(L4_FPAGE((uint64_t)cu_page, 12, 0), L4_UNMAP_OWN | L4_UNMAP_FLUSH);
    ((volatile uint64_t *)cu_page)[1] = 2;
    cu_done = 1;
    child_block();
}

UTEST(child_unmap_own_refaults)
{
    uint64_t first = 0;
    UCHECK_EQ(new_task(TN_UNMAP, unmap_child, CS_UNMAP, pager(), &first), L4_OK);
    UCHECK(wait_set(&cu_done, 2000000));
    UCHECK_EQ(cu_r, L4_OK);
    unsigned idx[32], n = pg_records(first, idx, 32), hits = 0;
    for (unsigned i = 0; i < n; i++)
        if ((pglog[idx[i]].w[0] & ~0xfffull) == (uint64_t)cu_page) {
            hits++;
            UCHECK_EQ(pglog[idx[i]].w[0] & 3, 2);
        }
    UCHECK_EQ(hits, 2);
    /* The root's own mapping of the page is untouched. */
    UCHECK_EQ(((volatile uint64_t *)cu_page)[0], 1);
    UCHECK_EQ(((volatile uint64_t *)cu_page)[1], 2);
    UCHECK_EQ(delete_task(TN_UNMAP), L4_OK);
}

/* ==== task_new argument errors ==== */
UTEST(task_new_errors)
{
    UCHECK(pager() != 0);           /* made before the count below */
    uint64_t used = kmem_used(), first = 1;
    uint64_t ip = (uint64_t)child_block, sp = child_sp(CS_BASIC);
    UCHECK_EQ(l4_task_new(L4_ID(0, 0, 0), 255, ip, sp, pager(), 0, &first), L4_EINVAL);
    UCHECK_EQ(first, NIL);
    UCHECK_EQ(l4_task_new(L4_ID(TN_ERR, 0, 0) | (1ull << 36), 255, ip, sp, pager(), 0, &first),
              L4_EINVAL);
    UCHECK_EQ(l4_task_new(L4_ID(TN_ERR, 0, 0) | (1ull << 63), 255, ip, sp, pager(), 0, &first),
              L4_EINVAL);
    UCHECK_EQ(l4_task_new(L4_INVALID, 255, ip, sp, pager(), 0, &first), L4_EINVAL);
    UCHECK_EQ(l4_task_new(L4_ID(TN_ERR, 0, 0), 256, ip, sp, pager(), 0, &first), L4_EINVAL);
    UCHECK_EQ(l4_task_new(L4_ID(TN_ERR, 0, 0), ~0ull, ip, sp, pager(), 0, &first), L4_EINVAL);
    UCHECK_EQ(l4_task_new(L4_ID(TN_ERR, 0, 0), 256, ip, sp, NIL, 0, &first), L4_EINVAL);
    /* Nothing was made. */
    UCHECK_EQ(kmem_used(), used);
    uint64_t near;
    UCHECK_EQ(l4_id_nearest(L4_ID(TN_ERR, 0, 1), &near), L4_ENOTHREAD);
    /* The root task is nobody's to delete (it has no chief). */
    UCHECK_EQ(l4_task_new(L4_ID(L4_ROOT_TASK, 0, 0), 0, 0, 0, NIL, 0, &first), L4_EPERM);
    UCHECK_EQ(l4_task_new(L4_ID(L4_ROOT_TASK, 0, 0), 255, ip, sp, pager(), 0, &first), L4_EPERM);
    UCHECK(L4_ID_TASK(umyself()) == L4_ROOT_TASK);
    /* An inactive number the root owns may be "deleted" (nothing there). */
    UCHECK_EQ(l4_task_new(L4_ID(TN_ERR, 0, 0), 0, 0, 0, NIL, 0, &first), L4_OK);
    UCHECK_EQ(first, NIL);
    UCHECK_EQ(kmem_used(), used);
}

/* ==== Deleting a task releases the threads that wait on it ==== */
static volatile uint64_t del_runs;
static volatile uint64_t rcv_res = ~0ull, snd_res = ~0ull;

static void __attribute__((noreturn)) del_child(void)
{
    del_runs++;
    child_block();
}

static void rcv_fn(uint64_t id)
{
    struct l4_msg m = { 0 };
    rcv_res = l4_ipc(id, L4_NODESC, 0, 0, &m, 0);       /* closed, never */
}

static void snd_fn(uint64_t id)
{
    struct l4_msg m = { 0 };
    m.w[0] = 7;
    snd_res = l4_ipc(id, L4_TAG(1, 1, 0), L4_NODESC, 0, &m, 0);
}

UTEST(delete_releases_waiters)
{
    uint64_t did = 0;
    UCHECK_EQ(new_task(TN_DEL, del_child, CS_DEL, pager(), &did), L4_OK);
    UCHECK(wait_state(did, L4_TS_RECEIVING, NIL, 2000000));
    UCHECK_EQ(del_runs, 1);
    uint64_t rt = uthread_start(LT_RCV, rcv_fn, did);
    uint64_t st = uthread_start(LT_SND, snd_fn, did);
    UCHECK(rt && st);
    UCHECK(wait_state(rt, L4_TS_RECEIVING, did, 1000000));
    UCHECK(wait_state(st, L4_TS_SENDING, did, 1000000));
    UCHECK_EQ(rcv_res, ~0ull);
    UCHECK_EQ(snd_res, ~0ull);
    uint64_t x = 1;
    UCHECK_EQ(l4_task_new(L4_ID(TN_DEL, 0, 0), 0, 0, 0, NIL, 0, &x), L4_OK);
    UCHECK_EQ(x, NIL);
    uint64_t t0 = unow_us();
    while ((rcv_res == ~0ull || snd_res == ~0ull) && unow_us() - t0 < 1000000)
        usleep_us(500);
    UCHECK_EQ(rcv_res, L4_IPC_RCV_ABORTED);
    UCHECK_EQ(snd_res, L4_IPC_SND_ABORTED);
    /* The old id names no one now. */
    struct l4_msg m = { 0 };
    UCHECK_EQ(L4_IPC_ERR(l4_ipc(did, L4_TAG(1, 0, 0), L4_NODESC, L4_TIMEOUTS(uto_us(10000), 0, 0, 0),
                               &m, 0)),
              L4_IPC_NOPARTNER);
    UCHECK_EQ(L4_IPC_ERR(l4_ipc(did, L4_NODESC, 0, L4_TIMEOUTS(0, uto_us(1000), 0, 0), &m, 0)),
              L4_IPC_NOPARTNER);
    uint64_t near;
    UCHECK_EQ(l4_id_nearest(did, &near), L4_ENOTHREAD);
    UCHECK_EQ(ts_state(did, 0), 0x100 + L4_ENOTHREAD);
    /* The same number again: a new version. */
    uint64_t did2 = 0;
    UCHECK_EQ(new_task(TN_DEL, del_child, CS_DEL, pager(), &did2), L4_OK);
    UCHECK_EQ(L4_ID_TASK(did2), TN_DEL);
    UCHECK_EQ(L4_ID_LTHREAD(did2), 0);
    UCHECK(L4_ID_VERSION(did2) != L4_ID_VERSION(did));
    UCHECK(wait_state(did2, L4_TS_RECEIVING, NIL, 2000000));
    UCHECK_EQ(del_runs, 2);
    /* task_new on an active task deletes and re-creates it at once. */
    uint64_t did3 = 0;
    UCHECK_EQ(new_task(TN_DEL, del_child, CS_DEL, pager(), &did3), L4_OK);
    UCHECK(did3 != did2 && did3 != did);
    UCHECK_EQ(ts_state(did2, 0), 0x100 + L4_ENOTHREAD);
    UCHECK(wait_state(did3, L4_TS_RECEIVING, NIL, 2000000));
    UCHECK_EQ(del_runs, 3);
    UCHECK_EQ(delete_task(TN_DEL), L4_OK);
    UCHECK_EQ(ts_state(did3, 0), 0x100 + L4_ENOTHREAD);
}

/* ==== Clans and chiefs ====
 * root (2) -> A (5) -> B (6). B's pager is A's thread 0, which also
 * forwards whatever reaches it redirected, as a deceiving send. */
static volatile uint64_t clan_R;
static volatile uint64_t ca_go_r, ca_unowned_r, ca_newb_r, ca_bid, ca_near_b_kind, ca_near_b_id,
    ca_near_r_kind, ca_near_r_id, ca_ready, ca_pf, ca_nfw;
struct fwrec {
    uint64_t r, from, intended, tag, w0, w1, fwd_r;
};
static volatile struct fwrec ca_fw[4];
static volatile uint64_t cb_near_kind, cb_near_id, cb_r, cb_from, cb_tag, cb_w0, cb_w1, cb_done;
static volatile uint64_t cr_r, cr_from, cr_tag, cr_w0, cr_w1, cr_intended, cr_reply_r, cr_done;

static void __attribute__((noreturn)) clan_b_main(void)
{
    uint64_t x = 0;
    cb_near_kind = l4_id_nearest(clan_R, &x);
    cb_near_id = x;
    struct l4_msg m = { 0 };
    m.w[0] = 0x1111;
    m.w[1] = 0x2222;
    uint64_t from = 0;
    uint64_t r = l4_ipc(clan_R, L4_TAG(0x55, 2, 0), 0,
                        L4_TIMEOUTS(uto_us(2000000), uto_us(2000000), 0, 0), &m, &from);
    cb_r = r;
    cb_from = from;
    cb_tag = m.tag;
    cb_w0 = m.w[0];
    cb_w1 = m.w[1];
    cb_done = 1;
    child_block();
}

static void __attribute__((noreturn)) clan_a_main(void)
{
    struct l4_msg m = { 0 };
    uint64_t from = 0, x = 0, me = l4_myself(0);
    ca_go_r = l4_ipc(NIL, L4_NODESC, L4_RCV_OPEN, 0, &m, &from);
    /* A number A does not own. */
    ca_unowned_r = l4_task_new(L4_ID(TN_NOT_A_OWNS, 0, 0), 255, (uint64_t)child_block,
                               child_sp(CS_B), me, 0, &x);
    uint64_t bid = 0;
    ca_newb_r = l4_task_new(L4_ID(TN_B, 0, 0), 255, (uint64_t)clan_b_main, child_sp(CS_B), me, 0,
                            &bid);
    ca_bid = bid;
    ca_near_b_kind = l4_id_nearest(bid, &x);
    ca_near_b_id = x;
    ca_near_r_kind = l4_id_nearest(clan_R, &x);
    ca_near_r_id = x;
    ca_ready = 1;
    struct l4_utcb *u = l4_utcb_of(0);
    for (;;) {
        uint64_t r = l4_ipc(NIL, L4_NODESC, L4_RCV_OPEN, 0, &m, &from);
        if (L4_IPC_ERR(r) != L4_IPC_OK)
            continue;
        if (L4_TAG_LABEL(m.tag) == L4_LABEL_PAGEFAULT) {
            /* B's pager: fault the page into A, then map it on. */
            uint64_t page = m.w[0] & ~0xfffull;
            if (page < 0x400000 || page >= 0x40000000)
                continue;
            (void)*(volatile uint8_t *)page;
            ca_pf++;
            m.w[0] = page | L4_ITEM_MAP;
            m.w[1] = L4_FPAGE(page, 12, L4_RWX);
            l4_ipc(from, L4_TAG(0, 0, 1), L4_NODESC, L4_TIMEOUTS(L4_TO_ZERO, 0, 0, 0), &m, 0);
            continue;
        }
        uint64_t n = ca_nfw, intended = u->intended_receiver;
        if (n < COUNT_OF(ca_fw)) {
            ca_fw[n].r = r;
            ca_fw[n].from = from;
            ca_fw[n].intended = intended;
            ca_fw[n].tag = m.tag;
            ca_fw[n].w0 = m.w[0];
            ca_fw[n].w1 = m.w[1];
        }
        u->virtual_sender = from;
        uint64_t fr = l4_ipc(intended, m.tag | L4_TAG_DECEIVE, L4_NODESC,
                             L4_TIMEOUTS(uto_us(1000000), 0, 0, 0), &m, 0);
        if (n < COUNT_OF(ca_fw))
            ca_fw[n].fwd_r = fr;
        ca_nfw = n + 1;
    }
}

static void clan_r_fn(uint64_t arg)
{
    (void)arg;
    struct l4_msg m = { 0 };
    uint64_t from = 0;
    uint64_t r = l4_ipc(NIL, L4_NODESC, L4_RCV_OPEN, L4_TIMEOUTS(0, uto_us(3000000), 0, 0), &m,
                        &from);
    cr_r = r;
    cr_from = from;
    cr_tag = m.tag;
    cr_w0 = m.w[0];
    cr_w1 = m.w[1];
    cr_intended = l4_utcb_of(LT_R)->intended_receiver;
    if (L4_IPC_ERR(r) == L4_IPC_OK) {
        m.w[0] += 1;
        m.w[1] += 1;
        cr_reply_r = l4_ipc(from, L4_TAG(0x66, 2, 0), L4_NODESC,
                            L4_TIMEOUTS(uto_us(1000000), 0, 0, 0), &m, 0);
    }
    cr_done = 1;
}

UTEST(clans_redirect_and_deceive)
{
    uint64_t R = uthread_start(LT_R, clan_r_fn, 0);
    UCHECK(R != 0);
    clan_R = R;
    uint64_t aid = 0, x = 0;
    UCHECK_EQ(new_task(TN_A, clan_a_main, CS_A, pager(), &aid), L4_OK);
    /* Hand numbers TN_B and TN_PASSED to A (inactive, A the new owner). */
    UCHECK_EQ(l4_task_new(L4_ID(TN_B, 0, 0), 0, 0, 0, NIL, aid, &x), L4_OK);
    UCHECK_EQ(l4_task_new(L4_ID(TN_PASSED, 0, 0), 0, 0, 0, NIL, aid, &x), L4_OK);
    /* Now they are A's: the root may neither create nor delete them. */
    UCHECK_EQ(new_task(TN_PASSED, child_block, CS_BASIC, pager(), &x), L4_EPERM);
    UCHECK_EQ(x, NIL);
    UCHECK_EQ(l4_task_new(L4_ID(TN_PASSED, 0, 0), 0, 0, 0, NIL, 0, &x), L4_EPERM);
    /* Go: A creates B. */
    UCHECK(wait_state(aid, L4_TS_RECEIVING, ~0ull, 2000000));
    struct l4_msg m = { 0 };
    UCHECK_EQ(l4_ipc(aid, L4_TAG(1, 0, 0), L4_NODESC, L4_TIMEOUTS(uto_us(1000000), 0, 0, 0), &m, 0),
              L4_IPC_OK);
    UCHECK(wait_set(&ca_ready, 2000000));
    UCHECK(wait_set(&cb_done, 4000000));
    UCHECK(wait_set(&cr_done, 1000000));
    uint64_t bid = ca_bid;

    /* What A saw. */
    UCHECK_EQ(L4_IPC_ERR(ca_go_r), L4_IPC_OK);
    UCHECK_EQ(ca_unowned_r, L4_EPERM);
    UCHECK_EQ(ca_newb_r, L4_OK);
    UCHECK_EQ(L4_ID_TASK(bid), TN_B);
    UCHECK_EQ(L4_ID_LTHREAD(bid), 0);
    UCHECK_EQ(ca_near_b_kind, L4_NEAREST_SAME);     /* B is in A's clan */
    UCHECK_EQ(ca_near_b_id, bid);
    UCHECK_EQ(ca_near_r_kind, L4_NEAREST_SAME);     /* A's chief: direct */
    UCHECK_EQ(ca_near_r_id, R);
    UCHECK(ca_pf > 0);                              /* A paged B */
    UCHECK_EQ(ca_nfw, 2);
    /* 1: B's call to R, redirected up to A. */
    UCHECK(ca_fw[0].r & L4_IPC_REDIRECTED);
    UCHECK(ca_fw[0].r & L4_IPC_FROM_INNER);
    UCHECK(!(ca_fw[0].r & L4_IPC_DECEIVED));
    UCHECK_EQ(L4_IPC_ERR(ca_fw[0].r), L4_IPC_OK);
    UCHECK_EQ(ca_fw[0].from, bid);
    UCHECK_EQ(ca_fw[0].intended, R);
    UCHECK_EQ(L4_TAG_LABEL(ca_fw[0].tag), 0x55);
    UCHECK_EQ(ca_fw[0].w0, 0x1111);
    UCHECK_EQ(ca_fw[0].w1, 0x2222);
    UCHECK_EQ(ca_fw[0].fwd_r, L4_IPC_OK);
    /* 2: R's reply to B, redirected down to A (B's chief). */
    UCHECK(ca_fw[1].r & L4_IPC_REDIRECTED);
    UCHECK_EQ(L4_IPC_ERR(ca_fw[1].r), L4_IPC_OK);
    UCHECK_EQ(ca_fw[1].from, R);
    UCHECK_EQ(ca_fw[1].intended, bid);
    UCHECK_EQ(L4_TAG_LABEL(ca_fw[1].tag), 0x66);
    UCHECK_EQ(ca_fw[1].w0, 0x1112);
    UCHECK_EQ(ca_fw[1].fwd_r, L4_IPC_OK);

    /* What R saw: B's message, forwarded by A claiming to be B. */
    UCHECK_EQ(L4_IPC_ERR(cr_r), L4_IPC_OK);
    UCHECK(cr_r & L4_IPC_DECEIVED);
    UCHECK(!(cr_r & L4_IPC_REDIRECTED));
    UCHECK_EQ(cr_from, bid);
    UCHECK_EQ(L4_TAG_LABEL(cr_tag), 0x55);
    UCHECK(!(cr_tag & L4_TAG_DECEIVE));
    UCHECK_EQ(cr_w0, 0x1111);
    UCHECK_EQ(cr_w1, 0x2222);
    UCHECK_EQ(cr_intended, R);
    UCHECK_EQ(cr_reply_r, L4_IPC_OK);

    /* What B saw: it cannot see past its chief. */
    UCHECK_EQ(cb_near_kind, L4_NEAREST_OUTER);
    UCHECK_EQ(cb_near_id, aid);
    UCHECK_EQ(L4_IPC_ERR(cb_r), L4_IPC_OK);
    UCHECK(cb_r & L4_IPC_DECEIVED);
    UCHECK(!(cb_r & L4_IPC_REDIRECTED));
    UCHECK_EQ(cb_from, R);
    UCHECK_EQ(L4_TAG_LABEL(cb_tag), 0x66);
    UCHECK_EQ(cb_w0, 0x1112);
    UCHECK_EQ(cb_w1, 0x2223);

    /* From the root: B lies in A's subclan. */
    uint64_t near = 0;
    UCHECK_EQ(l4_id_nearest(bid, &near), L4_NEAREST_INNER);
    UCHECK_EQ(near, aid);
    UCHECK_EQ(l4_id_nearest(aid, &near), L4_NEAREST_SAME);
    UCHECK_EQ(near, aid);
    /* B's chief is A: the root may neither delete nor re-create it. */
    UCHECK_EQ(new_task(TN_B, child_block, CS_BASIC, pager(), &x), L4_EPERM);
    UCHECK_EQ(l4_task_new(L4_ID(TN_B, 0, 0), 0, 0, 0, NIL, 0, &x), L4_EPERM);
    UCHECK_EQ(l4_id_nearest(bid, &near), L4_NEAREST_INNER);
    /* Deleting A deletes its clan. */
    UCHECK_EQ(delete_task(TN_A), L4_OK);
    UCHECK_EQ(l4_id_nearest(aid, &near), L4_ENOTHREAD);
    UCHECK_EQ(l4_id_nearest(bid, &near), L4_ENOTHREAD);
}

/* ==== Exceptions: to the handler, or the thread stops ==== */
extern char exc_ud2_entry[], exc_ud2_site[], exc_kpf_entry[], exc_kpf_site[];
__asm__(".text\n"
        ".p2align 4\n"
        ".globl exc_ud2_entry, exc_ud2_site, exc_kpf_entry, exc_kpf_site\n"
        "exc_ud2_entry:\n"
        "    nop\n"
        "exc_ud2_site:\n"
        "    ud2\n"
        "    jmp exc_ud2_site\n"
        "exc_kpf_entry:\n"
        "    movabs $0xffff800000001000, %rax\n"
        "exc_kpf_site:\n"
        "    movq (%rax), %rax\n"
        "    jmp exc_kpf_site\n");

struct hrec {
    uint64_t r, from, tag, w[4], reply_r;
};
static volatile struct hrec hlog[8];
static volatile uint64_t hn, plan_ip[8], plan_sp[8];
static volatile uint64_t resumed[3], resumed_fp[3];

static void handler_fn(uint64_t arg)
{
    (void)arg;
    for (;;) {
        struct l4_msg m = { 0 };
        uint64_t from = 0;
        uint64_t r = l4_ipc(NIL, L4_NODESC, L4_RCV_OPEN, 0, &m, &from);
        if (L4_IPC_ERR(r) != L4_IPC_OK)
            continue;
        uint64_t n = hn;
        if (n >= COUNT_OF(hlog))
            continue;
        hlog[n].r = r;
        hlog[n].from = from;
        hlog[n].tag = m.tag;
        for (unsigned i = 0; i < 4; i++)
            hlog[n].w[i] = m.w[i];
        hn = n + 1;
        if (!plan_ip[n])
            continue;
        m.w[0] = plan_ip[n];
        m.w[1] = plan_sp[n];
        hlog[n].reply_r = l4_ipc(from, L4_TAG(0, 2, 0), L4_NODESC,
                                 L4_TIMEOUTS(L4_TO_ZERO, 0, 0, 0), &m, 0);
    }
}

#define RESUME(k)                                                            \
    static void __attribute__((noreturn, noinline)) resume_##k(void)        \
    {                                                                        \
        resumed_fp[k] = (uint64_t)__builtin_frame_address(0);               \
        resumed[k] = 1;                                                      \
        child_block();                                                       \
    }
RESUME(0)
RESUME(1)
RESUME(2)

static bool near_top(uint64_t fp, unsigned lthread)
{
    uint64_t top = (uint64_t)uthread_stack_top(lthread);
    return fp < top && fp >= top - 64;
}

UTEST(exceptions_to_handler_or_stop)
{
    uint64_t h = uthread_start(LT_H, handler_fn, 0);
    UCHECK(h != 0);
    uint64_t id = 0;

    /* X: ud2 with handler h; h sends it on to resume_0 on a fresh stack. */
    plan_ip[0] = (uint64_t)resume_0;
    plan_sp[0] = thread_sp(LT_X);
    UCHECK_EQ(l4_lthread_ex_regs(LT_X, (uint64_t)exc_ud2_entry, thread_sp(LT_X), ~0ull, h, &id, 0),
              L4_OK);
    uint64_t x = id;
    UCHECK(wait_set(&resumed[0], 1000000));
    UCHECK(near_top(resumed_fp[0], LT_X));
    UCHECK_EQ(hn, 1);
    UCHECK_EQ(L4_IPC_ERR(hlog[0].r), L4_IPC_OK);
    UCHECK_EQ(hlog[0].from, x);
    UCHECK_EQ(L4_TAG_LABEL(hlog[0].tag), L4_LABEL_EXCEPTION);
    UCHECK_EQ(L4_TAG_U(hlog[0].tag), 4);
    UCHECK_EQ(hlog[0].w[0], 6);
    UCHECK_EQ(hlog[0].w[1], 0);
    UCHECK_EQ(hlog[0].w[2], (uint64_t)exc_ud2_site);
    UCHECK_EQ(hlog[0].w[3], (uint64_t)exc_ud2_site);
    UCHECK_EQ(hlog[0].reply_r, L4_IPC_OK);

    /* X2: reads the kernel half: a #PF (not for a pager) to the handler.
     * The first reply names a kernel address: ignored, the access is
     * retried; the second sends it to resume_1. */
    plan_ip[1] = KHALF;
    plan_sp[1] = thread_sp(LT_X2);
    plan_ip[2] = (uint64_t)resume_1;
    plan_sp[2] = thread_sp(LT_X2);
    UCHECK_EQ(l4_lthread_ex_regs(LT_X2, (uint64_t)exc_kpf_entry, thread_sp(LT_X2), ~0ull, h, &id, 0),
              L4_OK);
    uint64_t x2 = id;
    UCHECK(wait_set(&resumed[1], 1000000));
    UCHECK(near_top(resumed_fp[1], LT_X2));
    UCHECK_EQ(hn, 3);
    for (unsigned i = 1; i <= 2; i++) {
        UCHECK_EQ(hlog[i].from, x2);
        UCHECK_EQ(L4_TAG_LABEL(hlog[i].tag), L4_LABEL_EXCEPTION);
        UCHECK_EQ(hlog[i].w[0], 14);
        UCHECK(hlog[i].w[1] & 4);                   /* user-mode access */
        UCHECK_EQ(hlog[i].w[2], (uint64_t)exc_kpf_site);
        UCHECK_EQ(hlog[i].w[3], KHALF + 0x1000);
        UCHECK_EQ(hlog[i].reply_r, L4_IPC_OK);
    }

    /* Y: ud2 with no exception handler: stopped; the rest goes on. */
    UCHECK_EQ(l4_lthread_ex_regs(LT_Y, (uint64_t)exc_ud2_entry, thread_sp(LT_Y), ~0ull, NIL, &id, 0),
              L4_OK);
    uint64_t y = id;
    UCHECK(wait_state(y, L4_TS_STOPPED, ~0ull, 1000000));
    usleep_us(2000);
    UCHECK_EQ(ts_state(y, 0), L4_TS_STOPPED);
    UCHECK_EQ(hn, 3);
    UCHECK_EQ(resumed[2], 0);
    /* ... and lthread_ex_regs starts it again elsewhere. */
    uint64_t old[4] = { 0 };
    UCHECK_EQ(l4_lthread_ex_regs(LT_Y, (uint64_t)resume_2, thread_sp(LT_Y), ~0ull, ~0ull, &id, old),
              L4_OK);
    UCHECK_EQ(id, y);
    UCHECK_EQ(old[0], (uint64_t)exc_ud2_site);
    UCHECK(wait_set(&resumed[2], 1000000));
    UCHECK(near_top(resumed_fp[2], LT_Y));
    UCHECK(wait_state(x, L4_TS_RECEIVING, NIL, 1000000));
}

/* ==== A fault with no pager (or in the kernel's part) stops the thread ==== */
static volatile uint64_t np_survived;

static void np_touch(uint64_t a)
{
    (void)*(volatile uint64_t *)a;
    np_survived++;
}

UTEST(fault_without_pager_stops_thread)
{
    /* The root task has no pager in a test boot (no sigma0). */
    uint64_t old[4] = { 1, 1, 1, 1 }, me = 0;
    UCHECK_EQ(l4_lthread_ex_regs(0, ~0ull, ~0ull, ~0ull, ~0ull, &me, old), L4_OK);
    UCHECK_EQ(me, umyself());
    UCHECK_EQ(old[2], NIL);
    UCHECK_EQ(old[3], NIL);
    static const uint64_t addrs[3] = {
        0x20000000ull,                          /* user region, unmapped */
        L4_UTCB_BASE + 200 * 4096ull,           /* an absent thread's UTCB */
        0x0000900000000000ull,                  /* not canonical: #GP */
    };
    static const unsigned lts[3] = { LT_Z1, LT_Z2, LT_Z3 };
    uint64_t ids[3];
    for (unsigned i = 0; i < 3; i++) {
        ids[i] = uthread_start(lts[i], np_touch, addrs[i]);
        UCHECK(ids[i] != 0);
    }
    for (unsigned i = 0; i < 3; i++)
        UCHECK(wait_state(ids[i], L4_TS_STOPPED, ~0ull, 1000000));
    UCHECK_EQ(np_survived, 0);
    /* The kernel goes on: a call to the server still works. */
    struct l4_msg m = { 0 };
    m.w[0] = 1;
    m.w[1] = 2;
    uint64_t from = 0;
    uint64_t r = l4_ipc(server(), L4_TAG(1, 3, 0), 0, L4_TIMEOUTS(uto_us(100000), uto_us(100000), 0, 0),
                        &m, &from);
    UCHECK_EQ(r, L4_IPC_OK);
    UCHECK_EQ(from, server());
    UCHECK_EQ(m.w[0], 3);
}

/* ==== lthread_ex_regs ==== */
static volatile uint64_t exr_ran;

static void __attribute__((noreturn)) exr_entry(void)
{
    exr_ran = 1;
    child_block();
}

UTEST(lthread_ex_regs_checks)
{
    uint64_t used = kmem_used(), id = 0, old[4];
    uint64_t sp = thread_sp(LT_UNUSED), ip = (uint64_t)exr_entry;
    UCHECK_EQ(l4_lthread_ex_regs(256, ip, sp, ~0ull, ~0ull, &id, 0), L4_EINVAL);
    UCHECK_EQ(l4_lthread_ex_regs(~0ull, ~0ull, ~0ull, ~0ull, ~0ull, &id, 0), L4_EINVAL);
    UCHECK_EQ(l4_lthread_ex_regs(1ull << 32, ip, sp, ~0ull, ~0ull, &id, 0), L4_EINVAL);
    UCHECK_EQ(l4_lthread_ex_regs(LT_UNUSED, KHALF, sp, ~0ull, ~0ull, &id, 0), L4_EINVAL);
    UCHECK_EQ(l4_lthread_ex_regs(LT_UNUSED, ip, KHALF, ~0ull, ~0ull, &id, 0), L4_EINVAL);
    UCHECK_EQ(l4_lthread_ex_regs(LT_UNUSED, USER_TOP, sp, ~0ull, ~0ull, &id, 0), L4_EINVAL);
    UCHECK_EQ(l4_lthread_ex_regs(LT_UNUSED, ip, USER_TOP, ~0ull, ~0ull, &id, 0), L4_EINVAL);
    UCHECK_EQ(l4_lthread_ex_regs(LT_UNUSED, ~0ull - 1, sp, ~0ull, ~0ull, &id, 0), L4_EINVAL);
    UCHECK_EQ(kmem_used(), used);                   /* no thread was made */

    /* A new thread, not started: pager and handler set, nothing else. */
    const uint64_t P1 = L4_ID(77, 1, 1), E1 = L4_ID(78, 2, 3);
    UCHECK_EQ(l4_lthread_ex_regs(LT_W, ~0ull, ~0ull, P1, E1, &id, old), L4_OK);
    uint64_t w = id;
    UCHECK_EQ(L4_ID_TASK(w), L4_ROOT_TASK);
    UCHECK_EQ(L4_ID_LTHREAD(w), LT_W);
    UCHECK_EQ(old[2], NIL);                         /* inherited from lthread 0 */
    UCHECK_EQ(old[3], NIL);
    UCHECK_EQ(ts_state(w, 0), L4_TS_INACTIVE);
    uint64_t sp_w = thread_sp(LT_W);
    UCHECK_EQ(l4_lthread_ex_regs(LT_W, ip, ~0ull, ~0ull, ~0ull, &id, old), L4_OK);
    UCHECK_EQ(id, w);
    UCHECK_EQ(old[2], P1);
    UCHECK_EQ(old[3], E1);
    UCHECK_EQ(l4_lthread_ex_regs(LT_W, ~0ull, sp_w, ~0ull, ~0ull, &id, old), L4_OK);
    UCHECK_EQ(old[0], ip);
    UCHECK_EQ(old[2], P1);
    UCHECK_EQ(exr_ran, 0);
    /* ip and sp together start it. */
    UCHECK_EQ(l4_lthread_ex_regs(LT_W, ip, sp_w, NIL, NIL, &id, old), L4_OK);
    UCHECK_EQ(old[0], ip);
    UCHECK_EQ(old[1], sp_w);
    UCHECK_EQ(old[2], P1);
    UCHECK_EQ(old[3], E1);
    UCHECK(wait_set(&exr_ran, 1000000));
    UCHECK(wait_state(w, L4_TS_RECEIVING, NIL, 1000000));
    /* Reading a running thread: ip in its code, sp on its stack. */
    UCHECK_EQ(l4_lthread_ex_regs(LT_W, ~0ull, ~0ull, ~0ull, ~0ull, &id, old), L4_OK);
    UCHECK_EQ(id, w);
    UCHECK(old[0] >= 0x400000 && old[0] < (uint64_t)child_stacks);
    UCHECK(old[1] < sp_w + 8 && old[1] > sp_w - 4096);
    UCHECK_EQ(old[2], NIL);
    UCHECK_EQ(old[3], NIL);
    UCHECK(wait_state(w, L4_TS_RECEIVING, NIL, 1000000));
}

/* ==== fpage_unmap ==== */
/* Page 0: made read-only, 1: flushed, 2: unmapped without OWN (stays),
 * 3 (and 4 next to it): only named by rejected calls, so must stay. */
static uint8_t um_pages[5][4096] __attribute__((aligned(8192)));
static volatile uint64_t um_read[5], um_wrote[5];

static void um_touch(uint64_t k)
{
    volatile uint64_t *p = (volatile uint64_t *)um_pages[k];
    um_read[k] = p[1] + 1;
    p[2] = 0x77;
    um_wrote[k] = 1;
}

static void um_touch_34(uint64_t arg)
{
    (void)arg;
    um_touch(4);
    um_touch(3);
}

UTEST(fpage_unmap_checks)
{
    for (unsigned k = 0; k < 5; k++)
        ((volatile uint64_t *)um_pages[k])[1] = 100 * (k + 1);
    /* Bad fpages. Were one taken, it could only harm pages 3 and 4 (or,
     * with mask 0 or without FLUSH, nothing this test needs). */
    uint64_t p3 = (uint64_t)um_pages[3];
    const uint64_t own_flush = L4_UNMAP_OWN | L4_UNMAP_FLUSH;
    UCHECK_EQ(l4_fpage_unmap(L4_FPAGE(p3, 11, 0), own_flush), L4_EINVAL);
    UCHECK_EQ(l4_fpage_unmap(L4_FPAGE(p3, 0, 0), own_flush), L4_EINVAL);
    UCHECK_EQ(l4_fpage_unmap(L4_FPAGE(p3, 13, 0), own_flush), L4_EINVAL);    /* misaligned */
    UCHECK_EQ(l4_fpage_unmap(L4_FPAGE(0, 48, 0), 0), L4_EINVAL);
    UCHECK_EQ(l4_fpage_unmap(L4_FPAGE(0, 63, 0), 0), L4_EINVAL);
    UCHECK_EQ(l4_fpage_unmap(L4_FPAGE(0x1000, 47, 0), 0), L4_EINVAL);         /* misaligned */
    UCHECK_EQ(l4_fpage_unmap(L4_FPAGE(0x400000, 13, 0) | 0x1000, 0), L4_EINVAL);
    UCHECK_EQ(l4_fpage_unmap(L4_FPAGE(KHALF, 12, 0), L4_UNMAP_OWN), L4_EINVAL);
    UCHECK_EQ(l4_fpage_unmap(L4_FPAGE(USER_TOP - 4096, 12, 0), L4_UNMAP_OWN), L4_EINVAL);
    UCHECK_EQ(l4_fpage_unmap(L4_FPAGE(L4_KIP_BASE, 12, 0), L4_UNMAP_OWN), L4_EINVAL);
    UCHECK_EQ(l4_fpage_unmap(L4_FPAGE(L4_UTCB_BASE, 12, 0), L4_UNMAP_OWN), L4_EINVAL);
    /* Unknown mask bits. */
    UCHECK_EQ(l4_fpage_unmap(L4_FPAGE(p3, 12, 0), 4), L4_EINVAL);
    UCHECK_EQ(l4_fpage_unmap(L4_FPAGE(p3, 12, 0), own_flush | 4), L4_EINVAL);
    UCHECK_EQ(l4_fpage_unmap(L4_FPAGE(p3, 12, 0), own_flush | (1ull << 63)), L4_EINVAL);
    UCHECK_EQ(l4_kip()->magic, L4_KIP_MAGIC);
    uint64_t t4 = uthread_start(LT_T4, um_touch_34, 0);
    UCHECK(wait_set(&um_wrote[3], 1000000));
    UCHECK_EQ(um_read[3], 401);
    UCHECK_EQ(um_read[4], 501);
    UCHECK(wait_state(t4, L4_TS_RECEIVING, NIL, 1000000));

    /* Without OWN only derived mappings go: none here, page stays. */
    UCHECK_EQ(l4_fpage_unmap(L4_FPAGE((uint64_t)um_pages[2], 12, 0), L4_UNMAP_FLUSH), L4_OK);
    uint64_t t3 = uthread_start(LT_T3, um_touch, 2);
    UCHECK(wait_set(&um_wrote[2], 1000000));
    UCHECK_EQ(um_read[2], 301);
    UCHECK(wait_state(t3, L4_TS_RECEIVING, NIL, 1000000));

    /* OWN without FLUSH: read-only. A read works, a write stops it. */
    UCHECK_EQ(l4_fpage_unmap(L4_FPAGE((uint64_t)um_pages[0], 12, 0), L4_UNMAP_OWN), L4_OK);
    uint64_t t1 = uthread_start(LT_T1, um_touch, 0);
    UCHECK(wait_state(t1, L4_TS_STOPPED, ~0ull, 1000000));
    UCHECK_EQ(um_read[0], 101);
    UCHECK_EQ(um_wrote[0], 0);
    if (um_read[0] == 101)      /* still readable here too */
        UCHECK_EQ(((volatile uint64_t *)um_pages[0])[2], 0);

    /* OWN | FLUSH: gone; with no pager, a read stops the thread. */
    UCHECK_EQ(l4_fpage_unmap(L4_FPAGE((uint64_t)um_pages[1], 12, 0), own_flush), L4_OK);
    uint64_t t2 = uthread_start(LT_T2, um_touch, 1);
    UCHECK(wait_state(t2, L4_TS_STOPPED, ~0ull, 1000000));
    UCHECK_EQ(um_read[1], 0);
    UCHECK_EQ(um_wrote[1], 0);
}

/* ==== Kernel memory exhaustion: ENOMEM, not a panic; all comes back ==== */
/* The eater: a child task that, told k, touches EAT_BASE + k * 2 MiB. The
 * pager maps one page there, so each touch costs the kernel one new page
 * table: kernel memory is eaten a frame at a time. */
static volatile uint64_t eat_ready, eat_done;

static void __attribute__((noreturn)) eater_main(void)
{
    eat_ready = 1;
    struct l4_msg m = { 0 };
    uint64_t from = 0;
    for (;;) {
        uint64_t r = l4_ipc(NIL, L4_NODESC, L4_RCV_OPEN, 0, &m, &from);
        if (L4_IPC_ERR(r) != L4_IPC_OK)
            continue;
        *(volatile uint64_t *)(EAT_BASE + m.w[0] * (2ull << 20)) = 1;
        eat_done = m.w[0] + 1;
    }
}

/* Has the eater eat (k): true if it could, false once it was stopped. */
static bool eat(uint64_t eater, uint64_t k)
{
    struct l4_msg m = { 0 };
    m.w[0] = k;
    if (l4_ipc(eater, L4_TAG(0, 1, 0), L4_NODESC, L4_TIMEOUTS(uto_us(1000000), 0, 0, 0), &m, 0))
        return false;
    uint64_t t0 = unow_us();
    while (eat_done != k + 1) {
        if (ts_state(eater, 0) == L4_TS_STOPPED || unow_us() - t0 > 1000000)
            return false;
        usleep_us(200);
    }
    return true;
}

UTEST(kernel_memory_exhaustion)
{
    /* The tasks' threads fault at once; their pager never answers. */
    uint64_t sink = uthread_start(LT_SINK, (void (*)(uint64_t))child_block, 0);
    UCHECK(sink != 0);
    UCHECK(server() != 0);          /* made before the count below */
    UCHECK(pager() != 0);
    usleep_us(1000);
    uint64_t used0 = 0, limit = 0;
    l4_kdebug(L4_KDEBUG_KMEM, 0, &used0, &limit);
    UCHECK(limit > 0 && used0 < limit);
    uint64_t eater = 0;
    UCHECK_EQ(new_task(TN_EAT, eater_main, CS_EAT, pager(), &eater), L4_OK);
    UCHECK(wait_state(eater, L4_TS_RECEIVING, ~0ull, 2000000));
    UCHECK_EQ(eat_ready, 1);

    unsigned created = 0, enomem_at = 0;
    uint64_t bad = 0, first_id = 0, leak = 0;
    for (unsigned tn = TN_EXH_FIRST; tn <= TN_EXH_LAST; tn++) {
        uint64_t before = kmem_used(), id = 0;
        uint64_t r = l4_task_new(L4_ID(tn, 0, 0), 0, (uint64_t)child_block, child_sp(CS_EXH), sink,
                                 0, &id);
        if (r == L4_ENOMEM) {
            enomem_at = tn;
            leak = kmem_used() - before;    /* a failed task_new frees all it took */
            UCHECK_EQ(id, NIL);
            break;
        }
        if (r != L4_OK) {
            bad = r;
            break;
        }
        if (!first_id)
            first_id = id;
        created++;
    }
    uint64_t used_full = kmem_used();
    uprintf("  %u tasks made, kernel pool %lu of %lu frames used%s\n", created, used_full, limit,
            enomem_at ? ", then ENOMEM" : "");
    UCHECK_EQ(bad, 0);
    /* At least 7 frames a task (space, PML4, TCB block, UTCB): the pool
     * cannot hold them all. The runner boots this suite with a 16 MiB pool
     * (kmem=16, 4,096 frames), so running out is certain, not luck. */
    UCHECK((limit - used0) / 7 < TN_EXH_LAST - TN_EXH_FIRST + 1);
    UCHECK(enomem_at != 0);
    UCHECK(created >= 2);
    UCHECK_EQ(leak, 0);
    /* The kernel still works: the made threads wait for their pager. */
    UCHECK(wait_state(first_id, L4_TS_SENDING, sink, 1000000));
    struct l4_msg m = { 0 };
    m.w[0] = 5;
    m.w[1] = 6;
    uint64_t from = 0;
    UCHECK_EQ(l4_ipc(server(), L4_TAG(1, 3, 0), 0, L4_TIMEOUTS(uto_us(100000), uto_us(100000), 0, 0),
                     &m, &from),
              L4_IPC_OK);
    UCHECK_EQ(m.w[0], 11);

    /* With a little room again, the eater takes it back a frame at a time
     * while task_new is tried at each step: it fails at every place it can
     * run out (space, tables, TCB, UTCB) and must give back what it took. */
    if (enomem_at && created >= 2) {    /* (always, as checked above) */
        for (unsigned i = 0; i < 2; i++)
            UCHECK_EQ(delete_task(TN_EXH_FIRST + --created), L4_OK);
        unsigned ok = 0, nomem = 0, leaks = 0, other = 0, k = 0;
        for (unsigned step = 0; step < 100; step++) {
            uint64_t before = kmem_used(), id = 0;
            uint64_t r = l4_task_new(L4_ID(enomem_at, 0, 0), 0, (uint64_t)child_block,
                                     child_sp(CS_EXH), sink, 0, &id);
            if (r == L4_OK) {
                ok++;
                if (delete_task(enomem_at) != L4_OK)
                    other++;
            } else if (r == L4_ENOMEM) {
                nomem++;
            } else {
                other++;
            }
            if (kmem_used() != before) {
                uprintf("  step %u: task_new %lu, %lu frames used before, %lu after\n", step, r,
                        before, kmem_used());
                leaks++;
            }
            if (!eat(eater, k++))
                break;
        }
        uprintf("  eating: %u steps, task_new ok %u, ENOMEM %u\n", k, ok, nomem);
        UCHECK_EQ(leaks, 0);
        UCHECK_EQ(other, 0);
        UCHECK(ok > 0);
        UCHECK(nomem > 0);
        UCHECK(k < 100);
        UCHECK_EQ(ts_state(eater, 0), L4_TS_STOPPED);   /* its last fault failed */
    }

    /* Delete them all: the memory comes back. */
    UCHECK_EQ(delete_task(TN_EAT), L4_OK);
    unsigned del_fail = 0;
    for (unsigned i = 0; i < created; i++)
        if (delete_task(TN_EXH_FIRST + i) != L4_OK)
            del_fail++;
    UCHECK_EQ(del_fail, 0);
    uint64_t used1 = kmem_used();
    uprintf("  after deleting them: %lu frames used (before: %lu)\n", used1, used0);
    UCHECK(used1 <= used0 + 2 && used1 + 2 >= used0);
    UCHECK_EQ(ts_state(first_id, 0), 0x100 + L4_ENOTHREAD);
    /* And a task can be made again. */
    uint64_t id = 0;
    UCHECK_EQ(l4_task_new(L4_ID(TN_EXH_FIRST, 0, 0), 0, (uint64_t)child_block, child_sp(CS_EXH),
                          sink, 0, &id),
              L4_OK);
    UCHECK_EQ(delete_task(TN_EXH_FIRST), L4_OK);
    UCHECK(kmem_used() <= used0 + 2);
}

int main(void)
{
    return utest_run("task");
}
