/* Memory benchmarks (make bench; booted with sigma0, tests/bench/run.py):
 * guest instructions under -icount shift=0 (rdtsc deltas), each printed
 * as "bench <name> <instructions per operation>".
 *
 *   pagefault_c_pager  a child task writes to a fresh 4 KiB page; its
 *                      pager, a C thread of the root, zeroes a page of a
 *                      pool it got from sigma0 and answers with a map
 *                      item; measured in the child from before the first
 *                      write of a run of pages to after the last, divided
 *                      by the pages: the whole fault round trip (fault,
 *                      IPC to the pager, zeroing, map, reply, the write
 *                      redone) plus a few instructions of loop;
 *   map_unmap_4k       the root maps one page to a thread of another task
 *                      waiting with a receive window (a call carrying one
 *                      map item, answered with an empty reply, so that
 *                      the receiver waits again) and unmaps it
 *                      (fpage_unmap, flush): the pair;
 *   map_unmap_2m       the same for one 2 MiB fpage (512 pages: the kernel
 *                      maps and unmaps it page by page).
 *
 * Lines starting with two spaces break the figures down (not in
 * bench.json). */
#include "../user/utest.h"

#define NIL       L4_NILTHREAD
#define PAGE      4096ull

/* In the root: memory from sigma0. */
#define POOL      0x100000000ull    /* the fault benchmark's pool */
#define POOL_LOG  23                /* 8 MiB: 2,048 pages (two 4 MiB blocks) */
#define POOL_PAGES (1u << (POOL_LOG - 12))
#define ONE_PAGE  0x180000000ull    /* the page that map_unmap_4k maps */
#define BLOCK_2M  0x1c0000000ull    /* the 2 MiB block of map_unmap_2m */
/* In the children. */
#define REGION    0x10000000000ull  /* demand-zero pages of the toucher */
#define WIN       0x20000000000ull  /* the receiver's window */
#define WIN_LOG   30

#define FAULT_ROUNDS 5              /* measured; 5 x 2,048 = 10,240 faults */
#define MAP_OPS   10000
#define MAP_WARMUP 1000
#define MAP2M_WARMUP 100
#define MAP2M_OPS 1000              /* (not one of the figures) */

enum { LT_PAGER = 1 };
enum { TN_TOUCHER = 5, TN_RECEIVER = 6 };
enum { CMD_TOUCH = 1, CMD_PING };

static uint64_t toucher_stack[1024] __attribute__((aligned(4096)));
static uint64_t receiver_stack[1024] __attribute__((aligned(4096)));
static volatile uint64_t pager_unexpected;  /* faults the pager did not answer */
static volatile uint64_t pager_zeroed;      /* demand-zero faults served */
static uint64_t failures;                   /* calls or checks that failed */

static const uint64_t reply_to = L4_TIMEOUTS(L4_TO_ZERO, 0, 0, 0);

static void zero_page(uint64_t va)
{
    uint64_t n = PAGE / 8, d = va;
    __asm__ volatile("rep stosq" : "+D"(d), "+c"(n) : "a"(0ull) : "memory");
}

/* ---- The pager (lthread 1 of the root) ----
 * REGION + i pages: pool page i, zeroed; the root's image (the children
 * run the root's code): the root's page at the same address. */
static void pager_fn(uint64_t arg)
{
    (void)arg;
    struct l4_msg m = { 0 };
    uint64_t from = 0;
    uint64_t r = l4_ipc(NIL, L4_NODESC, L4_RCV_OPEN, 0, &m, &from);
    for (;;) {
        uint64_t page = m.w[0] & ~0xfffull, src;
        if (L4_IPC_ERR(r) || L4_TAG_LABEL(m.tag) != L4_LABEL_PAGEFAULT) {
            src = 0;
        } else if (page >= REGION && page < REGION + (uint64_t)POOL_PAGES * PAGE) {
            src = POOL + (page - REGION);
            zero_page(src);
            pager_zeroed++;
        } else if (page >= 0x400000 && page < 0x40000000) {
            src = page;
        } else {
            src = 0;
        }
        if (!src) {
            pager_unexpected++;
            r = l4_ipc(NIL, L4_NODESC, L4_RCV_OPEN, 0, &m, &from);
            continue;
        }
        m.w[0] = page | L4_ITEM_MAP;
        m.w[1] = L4_FPAGE(src, 12, L4_RWX);
        r = l4_ipc(from, L4_TAG(0, 0, 1), L4_RCV_OPEN, reply_to, &m, &from);
    }
}

/* ---- The toucher (task 5): on CMD_TOUCH, writes one word in each of
 * w0 pages from REGION; replies the instructions it took, and those of a
 * second pass over the same (now mapped) pages. ---- */
static void __attribute__((noreturn, used)) toucher_main(void)
{
    struct l4_msg m = { 0 };
    uint64_t from = 0;
    uint64_t r = l4_ipc(NIL, L4_NODESC, L4_RCV_OPEN, 0, &m, &from);
    for (;;) {
        if (L4_IPC_ERR(r)) {
            r = l4_ipc(NIL, L4_NODESC, L4_RCV_OPEN, 0, &m, &from);
            continue;
        }
        uint64_t n = m.w[0];
        volatile uint64_t *p = (volatile uint64_t *)REGION;
        uint64_t t0 = urdtsc();
        for (uint64_t i = 0; i < n; i++)
            p[i * (PAGE / 8)] = i;
        uint64_t t1 = urdtsc();
        for (uint64_t i = 0; i < n; i++)
            p[i * (PAGE / 8)] = i;
        uint64_t t2 = urdtsc();
        m.w[0] = t1 - t0;
        m.w[1] = t2 - t1;
        r = l4_ipc(from, L4_TAG(0, 2, 0), L4_RCV_OPEN, reply_to, &m, &from);
    }
}

/* ---- The receiver (task 6): takes any message (mappings land in its
 * window) and answers with no words. ---- */
static void __attribute__((noreturn, used)) receiver_main(void)
{
    const uint64_t rcv = L4_RCV_OPEN | L4_RCV_MAPS;
    l4_utcb_of(0)->rcv_window = L4_FPAGE(WIN, WIN_LOG, 0);
    struct l4_msg m = { 0 };
    uint64_t from = 0;
    uint64_t r = l4_ipc(NIL, L4_NODESC, rcv, 0, &m, &from);
    for (;;) {
        if (L4_IPC_ERR(r)) {
            r = l4_ipc(NIL, L4_NODESC, rcv, 0, &m, &from);
            continue;
        }
        r = l4_ipc(from, L4_TAG(0, 0, 0), rcv, reply_to, &m, &from);
    }
}

/* ---- The root's side ---- */

/* 2^k bytes of RAM from sigma0 at va (a window of that size): true if
 * it came. */
static bool sigma0_any(unsigned k, uint64_t va)
{
    struct l4_msg m = { 0 };
    m.w[0] = k;
    l4_utcb_of(0)->rcv_window = L4_FPAGE(va, k, L4_RWX);
    uint64_t from;
    uint64_t r = l4_ipc(l4_kip()->sigma0, L4_TAG(L4_SIGMA0_ANY, 1, 0), L4_RCV_MAPS, 0, &m, &from);
    return L4_IPC_ERR(r) == L4_IPC_OK && m.w[0] == L4_SIGMA0_OK && L4_TAG_T(m.tag) == 1;
}

static uint64_t new_task(unsigned tn, void (*entry)(void), uint64_t *stack, uint64_t pager)
{
    uint64_t id = 0;
    if (l4_task_new(L4_ID(tn, 0, 0), 255, (uint64_t)entry, (uint64_t)&stack[1023], pager, 0,
                    &id) != L4_OK)
        return 0;
    return id;
}

static void pagefault_bench(uint64_t toucher)
{
    uint64_t faults = 0, fault_t = 0, mapped_t = 0;
    for (unsigned round = 0; round <= FAULT_ROUNDS; round++) {
        struct l4_msg m = { 0 };
        m.w[0] = POOL_PAGES;
        uint64_t r = l4_ipc(toucher, L4_TAG(CMD_TOUCH, 1, 0), 0, 0, &m, 0);
        if (L4_IPC_ERR(r)) {
            uprintf("bench: toucher failed (%lx)\n", r);
            failures++;
            return;
        }
        /* Every write faulted once and landed in its pool page. */
        uint64_t bad = pager_zeroed != (round + 1) * (uint64_t)POOL_PAGES;
        for (uint64_t i = 0; i < POOL_PAGES; i++)
            bad += *(volatile uint64_t *)(POOL + i * PAGE) != i;
        if (bad) {
            uprintf("bench: round %u: %lu pages wrong, %lu faults served\n", round, bad,
                    pager_zeroed);
            failures++;
        }
        if (round > 0) {        /* round 0: warm-up (code pages, page tables) */
            faults += POOL_PAGES;
            fault_t += m.w[0];
            mapped_t += m.w[1];
        }
        /* Take the pages back from the toucher: all fresh again. */
        if (l4_fpage_unmap(L4_FPAGE(POOL, POOL_LOG, 0), L4_UNMAP_FLUSH) != L4_OK)
            failures++;
    }
    uint64_t t0 = urdtsc();
    for (unsigned i = 0; i < 1000; i++)
        zero_page(POOL);
    uint64_t zero_t = (urdtsc() - t0) / 1000;
    uprintf("bench pagefault_c_pager %lu\n", fault_t / faults);
    uprintf("  (%lu faults; the same writes to mapped pages: %lu per page; zeroing a page "
            "(rep stosq) in the pager: %lu)\n",
            faults, mapped_t / faults, zero_t);
}

/* Map the fpage (base, k) to the receiver at its window and unmap it:
 * per operation, the pair (ops times after warmup). Then, over ops / 10
 * more, the call carrying the map item and the unmap timed apart, and the
 * same call without the item. */
static uint64_t map_unmap(uint64_t recv, uint64_t base, unsigned k, uint64_t *ipc_t,
                          uint64_t *unmap_t)
{
    struct l4_msg m = { 0 };
    m.w[0] = L4_ITEM_MAP;
    m.w[1] = L4_FPAGE(base, k, L4_RWX);
    uint64_t a = ipc_t ? urdtsc() : 0;
    uint64_t bad = L4_IPC_ERR(l4_ipc(recv, L4_TAG(CMD_PING, 0, 1), 0, 0, &m, 0)) != L4_IPC_OK;
    uint64_t b = ipc_t ? urdtsc() : 0;
    bad += l4_fpage_unmap(L4_FPAGE(base, k, 0), L4_UNMAP_FLUSH) != L4_OK;
    if (ipc_t) {
        *ipc_t += b - a;
        *unmap_t += urdtsc() - b;
    }
    return bad;
}

static void map_unmap_bench(const char *name, uint64_t recv, uint64_t base, unsigned k,
                            unsigned warmup, unsigned ops)
{
    uint64_t bad = 0, ipc_t = 0, unmap_t = 0;
    for (unsigned i = 0; i < warmup; i++)
        bad += map_unmap(recv, base, k, 0, 0);
    uint64_t t0 = urdtsc();
    for (unsigned i = 0; i < ops; i++)
        bad += map_unmap(recv, base, k, 0, 0);
    uint64_t total = urdtsc() - t0;
    for (unsigned i = 0; i < ops / 10; i++)
        bad += map_unmap(recv, base, k, &ipc_t, &unmap_t);
    t0 = urdtsc();
    for (unsigned i = 0; i < ops / 10; i++) {
        struct l4_msg m = { 0 };
        bad += L4_IPC_ERR(l4_ipc(recv, L4_TAG(CMD_PING, 0, 0), 0, 0, &m, 0)) != L4_IPC_OK;
    }
    uint64_t rtt = (urdtsc() - t0) / (ops / 10);
    if (bad)
        uprintf("bench: %s: %lu calls failed\n", name, bad);
    failures += bad;
    uprintf("bench %s %lu\n", name, total / ops);
    uprintf("  (%u operations; apart: the call with the map item %lu, the unmap %lu; "
            "the same call without an item %lu)\n",
            ops, ipc_t / (ops / 10), unmap_t / (ops / 10), rtt);
}

int main(void)
{
    if (!sigma0_any(22, POOL) || !sigma0_any(22, POOL + (4ull << 20)) ||
        !sigma0_any(12, ONE_PAGE) || !sigma0_any(21, BLOCK_2M)) {
        uprintf("bench: sigma0 gave no memory\n");
        return 1;
    }
    uint64_t pager = uthread_start(LT_PAGER, pager_fn, 0);
    uint64_t toucher = new_task(TN_TOUCHER, toucher_main, toucher_stack, pager);
    uint64_t receiver = new_task(TN_RECEIVER, receiver_main, receiver_stack, pager);
    if (!pager || !toucher || !receiver) {
        uprintf("bench: no pager or child tasks\n");
        return 1;
    }
    pagefault_bench(toucher);
    map_unmap_bench("map_unmap_4k", receiver, ONE_PAGE, 12, MAP_WARMUP, MAP_OPS);
    map_unmap_bench("map_unmap_2m", receiver, BLOCK_2M, 21, MAP2M_WARMUP, MAP2M_OPS);
    if (pager_unexpected || failures)
        uprintf("bench: the pager left %lu faults unanswered; %lu calls failed\n",
                pager_unexpected, failures);
    uprintf("bench: done\n");
    return pager_unexpected || failures ? 1 : 0;
}
