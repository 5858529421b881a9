/* The page pool (pool.h): pages [RT_POOL_BASE, + npages * PAGE) from
 * sigma0, got in blocks and kept; pages come and go to the Lua tasks
 * through a free list. A free page holds the index + 1 of the next one in
 * its first word. Reservations promise free pages (to a task's granted
 * heap, to a page about to be taken): nfree never drops below reserved.
 *
 * The table of pages (struct meta, 16 bytes per pool page at
 * RT_POOL_META, its pages from sigma0 as the pool grows: 1 in 256) links
 * the pages a holder has and says which address each serves, so that a
 * task's pages, or those of one range (a thread's stack), go back without
 * a walk over the whole pool. Only the pager thread uses the pool (its
 * UTCB for the requests to sigma0). */
#include <string.h>

#include "pool.h"
#include "l4/syscalls.h"

#define POOL_MAX (1ull << 28)   /* pages: 1 TiB of address space (RT_POOL_META above) */
#define POOL_K   20             /* blocks from sigma0: 1 MiB, halved when none is left */
#define POOL_RECORDS_MAX L4_MAX_TASKS   /* record pages: one per task at most */

struct meta {
    uint32_t next;              /* index + 1 of the next page of its list, 0: end */
    uint32_t pad;
    uint64_t va;                /* the address it serves in its holder */
};

static struct {
    uint64_t npages, nmeta;     /* pool pages, table pages (mapped) */
    unsigned block_k;
    uint64_t free_head, nfree;
    uint64_t reserved;          /* free pages promised */
} pool;                         /* in .bss: not part of the tasks' .data copy */

static struct meta *meta(uint64_t i)
{
    return (struct meta *)RT_POOL_META + i;
}

/* 2^k bytes of RAM from sigma0 at va; false if it has none. Zeroed, or
 * as it is (raw: pages zeroed here when they are taken). */
static bool from_sigma0(unsigned k, uint64_t va, bool raw, bool *nomem)
{
    uint64_t s0 = l4_kip()->sigma0;
    struct l4_msg m = { 0 };
    m.w[0] = k;
    *nomem = false;
    if (!s0)
        return false;
    l4_utcb_of(RT_LT_PAGER)->rcv_window = L4_FPAGE(va, k, L4_RWX);
    uint64_t r = l4_ipc(s0, L4_TAG(raw ? L4_SIGMA0_ANY_RAW : L4_SIGMA0_ANY, 1, 0), L4_RCV_MAPS,
                        0, &m, 0);
    if (L4_IPC_ERR(r) != L4_IPC_OK || L4_TAG_U(m.tag) < 1)
        return false;
    *nomem = m.w[0] == L4_SIGMA0_ENOMEM;
    return m.w[0] == L4_SIGMA0_OK && L4_TAG_T(m.tag) == 1;
}

void pool_put(uint64_t i)
{
    *(volatile uint64_t *)pool_va(i) = pool.free_head;
    pool.free_head = i + 1;
    pool.nfree++;
}

/* A block from sigma0 at the pool's end, and the table's pages for it;
 * false when sigma0 has none left. The end stays aligned: blocks only
 * get smaller. */
static bool pool_grow(void)
{
    bool nomem;
    if (!pool.block_k)
        pool.block_k = POOL_K;
    for (;;) {
        unsigned k = pool.block_k;
        uint64_t n = 1ull << (k - 12);
        if (pool.npages + n > POOL_MAX)
            return false;
        while (pool.nmeta * PAGE < (pool.npages + n) * sizeof(struct meta)) {
            if (!from_sigma0(12, (uint64_t)meta(0) + pool.nmeta * PAGE, false, &nomem))
                return false;
            pool.nmeta++;
        }
        if (from_sigma0(k, pool_va(pool.npages), true, &nomem)) {     /* pool_take zeroes */
            for (uint64_t j = n; j-- > 0;)     /* lowest first out */
                pool_put(pool.npages + j);
            pool.npages += n;
            return true;
        }
        if (!nomem || k == 12)
            return false;
        pool.block_k = k - 1;
    }
}

bool pool_reserve(uint64_t n)
{
    while (pool.nfree - pool.reserved < n)
        if (!pool_grow())
            return false;
    pool.reserved += n;
    return true;
}

void pool_unreserve(uint64_t n)
{
    pool.reserved -= n;
}

uint64_t pool_take(struct pool_list *l, uint64_t va)
{
    pool.reserved--;
    uint64_t i = pool.free_head - 1;
    pool.free_head = *(volatile uint64_t *)pool_va(i);
    pool.nfree--;
    memset((void *)pool_va(i), 0, PAGE);
    *meta(i) = (struct meta){ 0, 0, va };
    if (l) {
        meta(i)->next = l->head;
        l->head = (uint32_t)(i + 1);
        l->n++;
    }
    return i;
}

uint64_t pool_release(struct pool_list *l)
{
    uint64_t n = 0;
    for (uint32_t p = l->head; p; n++) {
        uint32_t next = meta(p - 1)->next;
        pool_put(p - 1);
        p = next;
    }
    *l = (struct pool_list){ 0, 0 };
    return n;
}

uint64_t pool_release_range(struct pool_list *l, uint64_t lo, uint64_t hi)
{
    uint64_t n = 0;
    uint32_t *link = &l->head;
    while (*link) {
        uint64_t i = *link - 1;
        if (meta(i)->va >= lo && meta(i)->va < hi) {
            *link = meta(i)->next;
            /* Out of the holder's space (the root keeps its own). */
            l4_fpage_unmap(L4_FPAGE(pool_va(i), 12, L4_RWX), L4_UNMAP_FLUSH);
            pool_put(i);
            l->n--;
            n++;
        } else {
            link = &meta(i)->next;
        }
    }
    return n;
}

/* Record pages: at RT_POOL_RECORDS, from sigma0 one by one as more are
 * in use at once than ever before, kept on a free list of their own (the
 * first word of a free one: the address of the next). */
static struct {
    uint64_t n, free_head;      /* pages mapped; first free one, 0 none */
} rec;

void *pool_record(void)
{
    bool nomem;
    uint64_t va = rec.free_head;
    if (va) {
        rec.free_head = *(uint64_t *)va;
    } else {
        va = RT_POOL_RECORDS + rec.n * PAGE;
        if (va >= RT_POOL_RECORDS + POOL_RECORDS_MAX * PAGE || !from_sigma0(12, va, true, &nomem))
            return NULL;
        rec.n++;
    }
    memset((void *)va, 0, PAGE);
    return (void *)va;
}

void pool_record_put(void *p)
{
    *(uint64_t *)p = rec.free_head;
    rec.free_head = (uint64_t)p;
}

void pool_stats(struct pool_stats *s)
{
    *s = (struct pool_stats){ pool.npages, pool.nfree, pool.reserved, pool.nmeta, rec.n };
}
