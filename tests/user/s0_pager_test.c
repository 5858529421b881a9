/* Suite "s0_pager": a demand-zero pager written in C, in the root task
 * (booted with sigma0: program names s0_*, tests/run.py).
 *
 * The pager (lthread 1 of the root) gets its RAM from sigma0 a page at a
 * time (L4_SIGMA0_ANY, k = 12) into a pool in the root, and serves the
 * page faults of client tasks: a fault in the client's region REGION gets
 * a page of the pool, zeroed, mapped read-write-execute; a fault in the
 * root's image (the clients run the root's code) gets the root's page at
 * that address. Each client has a quota of region pages. A fault beyond
 * it is not answered: the client's thread stays blocked in its fault IPC
 * (thread_schedule: receiving, from the pager), and the pager remembers
 * it; raising the quota answers it late, and the client goes on. Faults
 * anywhere else (and exceptions) are not answered either.
 *
 * When a client is gone (the root deletes its task and tells the pager),
 * or when the root takes a live client's pages back, the pager unmaps each
 * page (fpage_unmap, flush: what derives from its own mapping) and puts it
 * on its free list; a later fault, of any client, reuses it, zeroed again.
 *
 * Clients are child tasks running a command loop (the root's code): touch
 * pages (check that each reads as zero, fill it with a pattern, read the
 * pattern back), read or write a word. The cases are independent: each
 * makes its own clients (own task numbers) and deletes them. */
#include "utest.h"

#define NIL        L4_NILTHREAD
#define PAGE       4096ull

#define POOL       0x100000000ull   /* root: the pager's pages from sigma0 */
#define POOL_MAX   256
#define REGION     0x10000000000ull /* client: demand-zero pages */
#define REGION_PAGES 64
#define MAX_TASK   16

enum { LT_PAGER = 1 };
/* Commands to the pager (from the root's own threads). */
enum { P_CLIENT = 1, P_RELEASE, P_SYNC };
/* Commands to a client. */
enum { C_TOUCH = 1, C_READ, C_WRITE };

static const uint64_t reply_zero = L4_TIMEOUTS(L4_TO_ZERO, 0, 0, 0);
#define TO_1S      L4_TIMEOUTS(uto_us(1000000), uto_us(1000000), 0, 0)

/* ==== The pager ==== */

struct client {
    bool known;
    unsigned quota, used;               /* region pages allowed, held */
    uint16_t page_of[REGION_PAGES];     /* region page -> pool page + 1 */
    uint64_t served;                    /* region faults answered */
    uint64_t blocked_id, blocked_addr;  /* a fault over quota, unanswered */
};

/* Written by the pager thread only; the root reads them after an IPC
 * with the pager or a client has ordered things. */
static volatile struct {
    struct client c[MAX_TASK];
    uint64_t pool_phys[POOL_MAX];       /* physical address of each pool page */
    unsigned npool;                     /* pages got from sigma0 */
    uint16_t free_list[POOL_MAX];
    unsigned nfree;
    uint64_t sigma0_calls, sigma0_fail;
    uint64_t refused;                   /* faults (and exceptions) not answered */
    uint64_t refused_from, refused_addr;
    uint64_t image_faults;              /* root pages mapped to clients */
} pg;
static uint64_t pager_id;

static uint64_t pool_va(unsigned i)
{
    return POOL + (uint64_t)i * PAGE;
}

static void zero_page(uint64_t va)
{
    uint64_t n = PAGE / 8, d = va;
    __asm__ volatile("rep stosq" : "+D"(d), "+c"(n) : "a"(0ull) : "memory");
}

/* A pool page: from the free list, else a new one from sigma0; -1 if
 * none. Not zeroed. */
static int page_alloc(void)
{
    if (pg.nfree)
        return pg.free_list[--pg.nfree];
    if (pg.npool == POOL_MAX)
        return -1;
    unsigned i = pg.npool;
    struct l4_msg m = { 0 };
    m.w[0] = 12;
    l4_utcb_of(LT_PAGER)->rcv_window = L4_FPAGE(pool_va(i), 12, L4_RWX);
    uint64_t from;
    pg.sigma0_calls++;
    uint64_t r = l4_ipc(l4_kip()->sigma0, L4_TAG(L4_SIGMA0_ANY, 1, 0), L4_RCV_MAPS, 0, &m, &from);
    if (L4_IPC_ERR(r) != L4_IPC_OK || m.w[0] != L4_SIGMA0_OK || L4_TAG_T(m.tag) != 1) {
        pg.sigma0_fail++;
        return -1;
    }
    pg.pool_phys[i] = L4_FPAGE_BASE(m.w[2]);
    pg.npool = i + 1;
    return (int)i;
}

static void page_free(unsigned i)
{
    /* Revoke what the clients have of it (the pager keeps its own). */
    l4_fpage_unmap(L4_FPAGE(pool_va(i), 12, 0), L4_UNMAP_FLUSH);
    pg.free_list[pg.nfree++] = (uint16_t)i;
}

static void refuse(uint64_t from, uint64_t addr)
{
    pg.refused_from = from;
    pg.refused_addr = addr;
    pg.refused++;
}

/* Gives client c a zeroed page for region page idx; *src its pool
 * address. false: none left. */
static bool serve_region(volatile struct client *c, unsigned idx, uint64_t *src)
{
    unsigned have = c->page_of[idx];
    if (!have) {
        int i = page_alloc();
        if (i < 0)
            return false;
        zero_page(pool_va((unsigned)i));
        c->page_of[idx] = (uint16_t)(i + 1);
        c->used++;
        have = (unsigned)i + 1;
    }
    c->served++;
    *src = pool_va(have - 1);
    return true;
}

/* A page fault of thread 'from' at addr: true with the map item's words
 * in m if it is answered. */
static bool on_fault(uint64_t from, uint64_t addr, struct l4_msg *m)
{
    unsigned tn = L4_ID_TASK(from);
    volatile struct client *c = tn < MAX_TASK ? &pg.c[tn] : NULL;
    uint64_t page = addr & ~0xfffull, src = 0;
    if (!c || !c->known) {
        refuse(from, addr);
        return false;
    }
    if (page >= REGION && page < REGION + REGION_PAGES * PAGE) {
        unsigned idx = (unsigned)((page - REGION) / PAGE);
        if ((!c->page_of[idx] && c->used >= c->quota) || !serve_region(c, idx, &src)) {
            c->blocked_id = from;       /* over quota: no answer */
            c->blocked_addr = addr;
            refuse(from, addr);
            return false;
        }
    } else if (page >= 0x400000 && page < 0x40000000) {
        src = page;                     /* the root's code and data */
        pg.image_faults++;
    } else {
        refuse(from, addr);
        return false;
    }
    m->w[0] = page | L4_ITEM_MAP;
    m->w[1] = L4_FPAGE(src, 12, L4_RWX);
    return true;
}

/* P_CLIENT task quota: (re)sets the client's quota; a fault waiting over
 * the old quota is answered now if the new one allows it. Reply: w0 the
 * result of that late answer (0: none was due, or it was delivered). */
static uint64_t cmd_client(unsigned tn, unsigned quota)
{
    if (tn >= MAX_TASK)
        return ~0ull;
    volatile struct client *c = &pg.c[tn];
    c->known = true;
    c->quota = quota;
    if (!c->blocked_id || c->used >= quota)
        return 0;
    struct l4_msg m = { 0 };
    uint64_t who = c->blocked_id;
    if (!on_fault(who, c->blocked_addr, &m))
        return ~1ull;
    c->blocked_id = 0;
    return L4_IPC_ERR(l4_ipc(who, L4_TAG(0, 0, 1), L4_NODESC, reply_zero, &m, 0));
}

/* P_RELEASE task forget: unmaps and frees all the client's pages; forget:
 * the client is gone, its faults are no longer served. Reply: w0 pages. */
static uint64_t cmd_release(unsigned tn, bool forget)
{
    if (tn >= MAX_TASK)
        return ~0ull;
    volatile struct client *c = &pg.c[tn];
    uint64_t n = 0;
    for (unsigned k = 0; k < REGION_PAGES; k++)
        if (c->page_of[k]) {
            page_free(c->page_of[k] - 1u);
            c->page_of[k] = 0;
            n++;
        }
    c->used = 0;
    c->blocked_id = 0;
    if (forget) {
        c->known = false;
        c->served = 0;
    }
    return n;
}

static void pager_fn(uint64_t arg)
{
    (void)arg;
    struct l4_msg m = { 0 };
    uint64_t from = 0;
    uint64_t r = l4_ipc(NIL, L4_NODESC, L4_RCV_OPEN, 0, &m, &from);
    for (;;) {
        bool answer = false;
        uint64_t tag = 0;
        if (L4_IPC_ERR(r) == L4_IPC_OK) {
            uint32_t label = L4_TAG_LABEL(m.tag);
            if (label == L4_LABEL_PAGEFAULT) {
                answer = on_fault(from, m.w[0], &m);
                tag = L4_TAG(0, 0, 1);
            } else if (label == L4_LABEL_EXCEPTION) {
                refuse(from, m.w[2]);
            } else if (L4_ID_TASK(from) == L4_ROOT_TASK) {
                uint64_t a = m.w[0], b = m.w[1];
                m.w[0] = label == P_CLIENT    ? cmd_client((unsigned)a, (unsigned)b)
                         : label == P_RELEASE ? cmd_release((unsigned)a, b != 0)
                         : label == P_SYNC    ? 0
                                              : ~2ull;
                answer = true;
                tag = L4_TAG(0, 1, 0);
            } else {
                refuse(from, 0);
            }
        }
        if (answer)
            r = l4_ipc(from, tag, L4_RCV_OPEN, reply_zero, &m, &from);
        else
            r = l4_ipc(NIL, L4_NODESC, L4_RCV_OPEN, 0, &m, &from);
    }
}

static uint64_t pager(void)
{
    if (!pager_id)
        pager_id = uthread_start(LT_PAGER, pager_fn, 0);
    return pager_id;
}

static uint64_t pager_cmd(uint32_t cmd, uint64_t a, uint64_t b)
{
    struct l4_msg m = { 0 };
    m.w[0] = a;
    m.w[1] = b;
    uint64_t r = l4_ipc(pager(), L4_TAG(cmd, 2, 0), 0, TO_1S, &m, 0);
    return L4_IPC_ERR(r) == L4_IPC_OK ? m.w[0] : 0x1000 + L4_IPC_ERR(r);
}

/* ==== The clients ==== */

/* C_TOUCH first n pattern: for each region page, counts the words that
 * are not zero, fills it with pattern ^ (page << 16 | word), counts the
 * words that do not read back. Reply: w0 nonzero words, w1 bad words,
 * w2 pages done. C_READ addr: w0 the word. C_WRITE addr value. Replies
 * wait for the root as long as it takes (a touch may be held up by the
 * quota and the root not be waiting by then). */
static void __attribute__((noreturn, used)) client_main(void)
{
    struct l4_msg m = { 0 };
    uint64_t from = 0;
    uint64_t r = l4_ipc(NIL, L4_NODESC, L4_RCV_OPEN, 0, &m, &from);
    for (;;) {
        if (L4_IPC_ERR(r) != L4_IPC_OK) {
            r = l4_ipc(NIL, L4_NODESC, L4_RCV_OPEN, 0, &m, &from);
            continue;
        }
        uint64_t a = m.w[0], b = m.w[1], c = m.w[2];
        m.w[0] = m.w[1] = m.w[2] = 0;
        switch (L4_TAG_LABEL(m.tag)) {
        case C_TOUCH:
            for (uint64_t p = a; p < a + b; p++) {
                volatile uint64_t *v = (volatile uint64_t *)(REGION + p * PAGE);
                for (unsigned w = 0; w < PAGE / 8; w++)
                    m.w[0] += v[w] != 0;
                for (unsigned w = 0; w < PAGE / 8; w++)
                    v[w] = c ^ (p << 16 | w);
                for (unsigned w = 0; w < PAGE / 8; w++)
                    m.w[1] += v[w] != (c ^ (p << 16 | w));
                m.w[2]++;
            }
            break;
        case C_READ:
            m.w[0] = *(volatile uint64_t *)a;
            break;
        case C_WRITE:
            *(volatile uint64_t *)a = b;
            break;
        }
        r = l4_ipc(from, L4_TAG(0, 3, 0), L4_RCV_OPEN, 0, &m, &from);
    }
}

static uint64_t client_stacks[MAX_TASK][512] __attribute__((aligned(4096)));

/* Client task tn with the given quota; its first thread's id (0: none). */
static uint64_t client_new(unsigned tn, unsigned quota)
{
    uint64_t id = 0;
    if (pager_cmd(P_CLIENT, tn, quota) != 0)
        return 0;
    if (l4_task_new(L4_ID(tn, 0, 0), 255, (uint64_t)client_main,
                    (uint64_t)&client_stacks[tn][511], pager(), 0, &id) != L4_OK)
        return 0;
    return id;
}

/* Deletes client task tn; the pager takes its pages back. Returns the
 * pages it had. */
static uint64_t client_delete(unsigned tn)
{
    uint64_t x;
    UCHECK_EQ(l4_task_new(L4_ID(tn, 0, 0), 0, 0, 0, NIL, 0, &x), L4_OK);
    return pager_cmd(P_RELEASE, tn, 1);
}

struct touch {
    uint64_t r, nonzero, bad, pages;
};

static struct touch touch(uint64_t client, uint64_t first, uint64_t n, uint64_t pattern,
                          uint64_t timeouts)
{
    struct l4_msg m = { 0 };
    m.w[0] = first;
    m.w[1] = n;
    m.w[2] = pattern;
    uint64_t r = L4_IPC_ERR(l4_ipc(client, L4_TAG(C_TOUCH, 3, 0), 0, timeouts, &m, 0));
    if (r != L4_IPC_OK)
        return (struct touch){ r, ~0ull, ~0ull, 0 };
    return (struct touch){ r, m.w[0], m.w[1], m.w[2] };
}

static uint64_t read_in(uint64_t client, uint64_t addr)
{
    struct l4_msg m = { 0 };
    m.w[0] = addr;
    uint64_t r = L4_IPC_ERR(l4_ipc(client, L4_TAG(C_READ, 1, 0), 0, TO_1S, &m, 0));
    return r == L4_IPC_OK ? m.w[0] : 0xbad0000 + r;
}

static uint64_t ts_state(uint64_t id, uint64_t *partner)
{
    struct l4_sched_info i = { 0 };
    uint64_t r = l4_thread_schedule(id, ~0ull, ~0ull, &i);
    if (partner)
        *partner = i.partner;
    return r == L4_OK ? i.state : 0x100 + r;
}

static bool wait_state(uint64_t id, uint64_t state, uint64_t us)
{
    uint64_t t0 = unow_us();
    while (ts_state(id, 0) != state) {
        if (unow_us() - t0 > us)
            return false;
        usleep_us(500);
    }
    return true;
}

/* Client c is blocked in a fault IPC to the pager, and the pager has
 * dealt with that fault (a call to it comes after the fault in its queue,
 * or finds it done). */
static bool wait_blocked(uint64_t c)
{
    uint64_t partner = 0;
    if (!wait_state(c, L4_TS_RECEIVING, 1000000) || pager_cmd(P_SYNC, 0, 0) != 0)
        return false;
    return ts_state(c, &partner) == L4_TS_RECEIVING && partner == pager();
}

static bool mdb_ok(void)
{
    return l4_kdebug(L4_KDEBUG_MDB_CHECK, 0, 0, 0) == L4_OK;
}

/* The pool page that holds client tn's region page k (or ~0). */
static uint64_t pool_of(unsigned tn, unsigned k)
{
    unsigned i = pg.c[tn].page_of[k];
    return i ? pool_va(i - 1) : ~0ull;
}

/* ==== The cases ==== */

/* Pages read as zero, keep what is written; one fault each, read or
 * write first; the pattern is in the pager's own page. */
UTEST(zero_pages_pattern_read_back)
{
    const unsigned tn = 3;
    uint64_t c = client_new(tn, 8);
    UCHECK(c != 0);
    uint64_t refused0 = pg.refused;
    struct touch t = touch(c, 0, 8, 0xa5a5000000000000ull, TO_1S);
    UCHECK_EQ(t.r, L4_IPC_OK);
    UCHECK_EQ(t.pages, 8);
    UCHECK_EQ(t.nonzero, 0);
    UCHECK_EQ(t.bad, 0);
    UCHECK_EQ(pg.c[tn].used, 8);
    UCHECK_EQ(pg.c[tn].served, 8);          /* the read faulted, the writes did not */
    UCHECK_EQ(pg.refused, refused0);
    UCHECK(pg.image_faults > 0);            /* its code and stack came from the root */
    /* The client's pages are the pager's pool pages, distinct frames. */
    for (unsigned k = 0; k < 8; k++) {
        uint64_t va = pool_of(tn, k);
        UCHECK(va != ~0ull);
        if (va != ~0ull)
            UCHECK_EQ(*(volatile uint64_t *)(va + 8 * 5), 0xa5a5000000000000ull ^ (k << 16 | 5));
        for (unsigned j = 0; j < k; j++)
            UCHECK(pg.c[tn].page_of[j] != pg.c[tn].page_of[k]);
    }
    /* A write first, to page 8 (the quota raised to 9 for it). */
    UCHECK_EQ(pager_cmd(P_CLIENT, tn, 9), 0);
    struct l4_msg m = { 0 };
    m.w[0] = REGION + 8 * PAGE + 16;
    m.w[1] = 0x1234;
    UCHECK_EQ(L4_IPC_ERR(l4_ipc(c, L4_TAG(C_WRITE, 2, 0), 0, TO_1S, &m, 0)), L4_IPC_OK);
    UCHECK_EQ(read_in(c, REGION + 8 * PAGE + 16), 0x1234);
    UCHECK_EQ(read_in(c, REGION + 8 * PAGE + 8), 0);
    UCHECK_EQ(pg.c[tn].served, 9);
    /* Read again: the pattern stays, no more faults. */
    UCHECK_EQ(read_in(c, REGION + 3 * PAGE + 8 * 7), 0xa5a5000000000000ull ^ (3 << 16 | 7));
    UCHECK_EQ(pg.c[tn].served, 9);
    UCHECK(mdb_ok());
    UCHECK_EQ(client_delete(tn), 9);
    UCHECK(mdb_ok());
}

/* A fault over the quota is not answered: the client waits in its fault
 * IPC, receiving from the pager, for as long as it takes. Deleting the
 * client ends it; its pages come back to the pager. */
UTEST(over_quota_client_blocked)
{
    const unsigned tn = 4;
    uint64_t c = client_new(tn, 4);
    UCHECK(c != 0);
    uint64_t refused0 = pg.refused, free0 = pg.nfree;
    /* The call's reply never comes (within 100 ms). */
    struct touch t = touch(c, 0, 6, 0x4444, L4_TIMEOUTS(0, uto_us(100000), 0, 0));
    UCHECK_EQ(t.r, L4_IPC_RCV_TIMEOUT);
    UCHECK(wait_blocked(c));
    uint64_t partner = 0;
    UCHECK_EQ(ts_state(c, &partner), L4_TS_RECEIVING);
    UCHECK_EQ(partner, pager());
    UCHECK_EQ(pg.c[tn].used, 4);
    UCHECK_EQ(pg.c[tn].served, 4);
    UCHECK_EQ(pg.refused, refused0 + 1);
    UCHECK_EQ(pg.refused_from, c);
    UCHECK_EQ(pg.refused_addr, REGION + 4 * PAGE);     /* a read: bit 1 clear */
    UCHECK_EQ(pg.c[tn].blocked_id, c);
    /* Still so 50 ms later. */
    usleep_us(50000);
    UCHECK_EQ(ts_state(c, &partner), L4_TS_RECEIVING);
    UCHECK_EQ(partner, pager());
    UCHECK_EQ(pg.c[tn].used, 4);
    /* The four pages it got hold the pattern; the fifth never came. */
    UCHECK_EQ(*(volatile uint64_t *)pool_of(tn, 3), 0x4444 ^ (3 << 16));
    UCHECK_EQ(pool_of(tn, 4), ~0ull);
    UCHECK(mdb_ok());
    UCHECK_EQ(client_delete(tn), 4);
    UCHECK_EQ(ts_state(c, 0), 0x100 + L4_ENOTHREAD);
    UCHECK_EQ(pg.nfree, free0);             /* all back */
    UCHECK_EQ(pg.c[tn].blocked_id, 0);
    UCHECK(mdb_ok());
}

/* Raising the quota answers the waiting fault: the client goes on and
 * finishes what it was doing. */
UTEST(quota_raised_client_resumes)
{
    const unsigned tn = 5;
    uint64_t c = client_new(tn, 2);
    UCHECK(c != 0);
    struct touch t = touch(c, 0, 5, 0x5555, L4_TIMEOUTS(0, uto_us(100000), 0, 0));
    UCHECK_EQ(t.r, L4_IPC_RCV_TIMEOUT);
    UCHECK(wait_blocked(c));
    UCHECK_EQ(pg.c[tn].blocked_addr, REGION + 2 * PAGE);
    /* One more page: the waiting fault is answered, the next one waits. */
    UCHECK_EQ(pager_cmd(P_CLIENT, tn, 3), L4_IPC_OK);
    UCHECK(wait_blocked(c));
    UCHECK_EQ(pg.c[tn].used, 3);
    UCHECK_EQ(pg.c[tn].blocked_addr, REGION + 3 * PAGE);
    /* Enough for all: the touch ends, and its late reply comes to a
     * receive from the client. */
    UCHECK_EQ(pager_cmd(P_CLIENT, tn, 8), L4_IPC_OK);
    struct l4_msg m = { 0 };
    uint64_t from = 0;
    uint64_t r = l4_ipc(c, L4_NODESC, 0, TO_1S, &m, &from);
    UCHECK_EQ(L4_IPC_ERR(r), L4_IPC_OK);
    UCHECK_EQ(from, c);
    UCHECK_EQ(m.w[0], 0);           /* every page read as zero */
    UCHECK_EQ(m.w[1], 0);
    UCHECK_EQ(m.w[2], 5);
    UCHECK_EQ(pg.c[tn].used, 5);
    UCHECK_EQ(pg.c[tn].served, 5);
    UCHECK_EQ(pg.c[tn].blocked_id, 0);
    UCHECK_EQ(read_in(c, REGION + 4 * PAGE + 8), 0x5555 ^ (4 << 16 | 1));
    UCHECK(mdb_ok());
    UCHECK_EQ(client_delete(tn), 5);
}

/* Quotas are per client: one client at its limit does not hold up
 * another. */
UTEST(quota_per_client)
{
    const unsigned ta = 6, tb = 7;
    uint64_t a = client_new(ta, 3), b = client_new(tb, 5);
    UCHECK(a != 0 && b != 0);
    struct touch t = touch(a, 0, 3, 0x6a, TO_1S);
    UCHECK_EQ(t.pages, 3);
    UCHECK_EQ(t.nonzero, 0);
    t = touch(a, 3, 1, 0x6a, L4_TIMEOUTS(0, uto_us(50000), 0, 0));
    UCHECK_EQ(t.r, L4_IPC_RCV_TIMEOUT);
    UCHECK(wait_blocked(a));
    uint64_t partner = 0;
    UCHECK_EQ(ts_state(a, &partner), L4_TS_RECEIVING);
    UCHECK_EQ(partner, pager());
    /* b is served in full while a waits. */
    t = touch(b, 0, 5, 0x7b, TO_1S);
    UCHECK_EQ(t.r, L4_IPC_OK);
    UCHECK_EQ(t.pages, 5);
    UCHECK_EQ(t.nonzero, 0);
    UCHECK_EQ(t.bad, 0);
    t = touch(b, 10, 1, 0x7b, L4_TIMEOUTS(0, uto_us(50000), 0, 0));
    UCHECK_EQ(t.r, L4_IPC_RCV_TIMEOUT);
    UCHECK(wait_blocked(b));
    UCHECK_EQ(ts_state(b, &partner), L4_TS_RECEIVING);
    UCHECK_EQ(partner, pager());
    UCHECK_EQ(pg.c[ta].used, 3);
    UCHECK_EQ(pg.c[tb].used, 5);
    UCHECK_EQ(pg.c[tb].blocked_addr, REGION + 10 * PAGE);
    /* a still waits. */
    UCHECK_EQ(ts_state(a, &partner), L4_TS_RECEIVING);
    UCHECK_EQ(pg.c[ta].blocked_addr, REGION + 3 * PAGE);
    UCHECK(mdb_ok());
    UCHECK_EQ(client_delete(ta), 3);
    UCHECK_EQ(client_delete(tb), 5);
}

/* A client deleted, another made: the pager reuses the old pages (no new
 * ones from sigma0), and the new client sees zeros, not the old pattern,
 * which the frames still held. */
UTEST(pages_reused_after_delete_zeroed)
{
    const unsigned ta = 8, tb = 9;
    enum { N = 16 };
    uint64_t a = client_new(ta, N);
    UCHECK(a != 0);
    struct touch t = touch(a, 0, N, 0xdead000000000000ull, TO_1S);
    UCHECK_EQ(t.pages, N);
    UCHECK_EQ(t.nonzero, 0);
    UCHECK_EQ(t.bad, 0);
    uint16_t had[N];
    for (unsigned k = 0; k < N; k++)
        had[k] = pg.c[ta].page_of[k];
    UCHECK_EQ(client_delete(ta), N);
    UCHECK(pg.nfree >= N);
    /* The old pattern is still in the frames (the pager zeroes on reuse). */
    uint64_t stale = 0;
    for (unsigned k = 0; k < N; k++)
        stale += *(volatile uint64_t *)(pool_va(had[k] - 1u) + 8) ==
                 (0xdead000000000000ull ^ ((uint64_t)k << 16 | 1));
    UCHECK_EQ(stale, N);
    uint64_t calls0 = pg.sigma0_calls, npool0 = pg.npool;
    /* Another client: new task number. */
    uint64_t b = client_new(tb, N);
    UCHECK(b != 0);
    t = touch(b, 0, N, 0xbeef000000000000ull, TO_1S);
    UCHECK_EQ(t.r, L4_IPC_OK);
    UCHECK_EQ(t.pages, N);
    UCHECK_EQ(t.nonzero, 0);
    UCHECK_EQ(t.bad, 0);
    UCHECK_EQ(pg.sigma0_calls, calls0);     /* nothing new from sigma0 */
    UCHECK_EQ(pg.npool, npool0);
    /* b got a's frames (the free list is a stack: the last freed first). */
    uint64_t reused = 0;
    for (unsigned k = 0; k < N; k++)
        for (unsigned j = 0; j < N; j++)
            reused += pg.c[tb].page_of[k] == had[j];
    UCHECK_EQ(reused, N);
    /* And a's task number anew (a new generation of ids): zeros again. */
    UCHECK_EQ(client_delete(tb), N);
    uint64_t a2 = client_new(ta, N);
    UCHECK(a2 != 0 && a2 != a);
    t = touch(a2, 0, N, 0x1111, TO_1S);
    UCHECK_EQ(t.pages, N);
    UCHECK_EQ(t.nonzero, 0);
    UCHECK_EQ(pg.sigma0_calls, calls0);
    UCHECK(mdb_ok());
    UCHECK_EQ(client_delete(ta), N);
    UCHECK(mdb_ok());
}

/* Taking pages back from a live client: fpage_unmap removes its mapping,
 * so its next access faults and gets a zeroed page; the old data is gone
 * for it. */
UTEST(release_live_client_unmaps)
{
    const unsigned tn = 10;
    uint64_t c = client_new(tn, 2);
    UCHECK(c != 0);
    struct touch t = touch(c, 0, 2, 0x2222, TO_1S);
    UCHECK_EQ(t.pages, 2);
    UCHECK_EQ(read_in(c, REGION + 8), 0x2222 ^ 1);
    UCHECK_EQ(pg.c[tn].served, 2);
    UCHECK_EQ(pager_cmd(P_RELEASE, tn, 0), 2);
    UCHECK_EQ(pg.c[tn].used, 0);
    UCHECK(mdb_ok());
    /* The client still lives; its pages fault anew and read as zero. */
    UCHECK_EQ(read_in(c, REGION + 8), 0);
    UCHECK_EQ(read_in(c, REGION + PAGE + 8), 0);
    UCHECK_EQ(pg.c[tn].served, 4);
    UCHECK_EQ(pg.c[tn].used, 2);
    UCHECK(mdb_ok());
    UCHECK_EQ(client_delete(tn), 2);
}

/* Faults outside the region and the root's image, and those of tasks the
 * pager does not know, are not answered either. */
UTEST(foreign_faults_not_answered)
{
    const unsigned tn = 11;
    uint64_t c = client_new(tn, 4);
    UCHECK(c != 0);
    uint64_t refused0 = pg.refused;
    struct l4_msg m = { 0 };
    m.w[0] = 0x50000000;
    uint64_t r = l4_ipc(c, L4_TAG(C_READ, 1, 0), 0, L4_TIMEOUTS(0, uto_us(50000), 0, 0), &m, 0);
    UCHECK_EQ(L4_IPC_ERR(r), L4_IPC_RCV_TIMEOUT);
    UCHECK(wait_blocked(c));
    uint64_t partner = 0;
    UCHECK_EQ(ts_state(c, &partner), L4_TS_RECEIVING);
    UCHECK_EQ(partner, pager());
    UCHECK_EQ(pg.refused, refused0 + 1);
    UCHECK_EQ(pg.refused_addr, 0x50000000);
    UCHECK_EQ(pg.c[tn].used, 0);
    UCHECK_EQ(client_delete(tn), 0);
    /* A task the pager was not told about: its first fault (its code)
     * stays unanswered. */
    uint64_t id = 0;
    UCHECK_EQ(l4_task_new(L4_ID(12, 0, 0), 255, (uint64_t)client_main,
                          (uint64_t)&client_stacks[12][511], pager(), 0, &id),
              L4_OK);
    UCHECK(wait_blocked(id));
    UCHECK_EQ(ts_state(id, &partner), L4_TS_RECEIVING);
    UCHECK_EQ(partner, pager());
    UCHECK_EQ(pg.refused, refused0 + 2);
    UCHECK_EQ(pg.refused_from, id);
    UCHECK_EQ(pg.refused_addr & ~0xfffull, (uint64_t)client_main & ~0xfffull);
    UCHECK_EQ(pg.refused_addr & 1, 1);      /* an instruction fetch */
    uint64_t x;
    UCHECK_EQ(l4_task_new(L4_ID(12, 0, 0), 0, 0, 0, NIL, 0, &x), L4_OK);
    UCHECK(mdb_ok());
}

int main(void)
{
    return utest_run("s0_pager");
}
