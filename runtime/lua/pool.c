/* The page pool (pool.h): pages [RT_POOL_BASE, + npages * PAGE) from
 * sigma0, got in blocks and never given back; pages come and go to the
 * Lua tasks (by owner) through a free list. A free page holds the index +
 * 1 of the next one in its first word. Reservations promise free pages
 * (to a task's granted heap, to a page about to be taken): nfree never
 * drops below reserved. Only the pager thread uses it (its UTCB for the
 * requests to sigma0). */
#include <string.h>

#include "pool.h"
#include "rt.h"
#include "l4/syscalls.h"

#define POOL_MAX (1u << 16)     /* pages: 256 MiB */
#define POOL_K   20             /* blocks from sigma0: 1 MiB, halved when none is left */

static struct {
    unsigned npages, block_k;
    uint64_t free_head, nfree;
    uint64_t reserved;          /* free pages promised */
    uint8_t owner[POOL_MAX];    /* the owner holding the page, 0 none */
} pool;                         /* in .bss: not part of the tasks' .data copy */

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

uint64_t pool_take(unsigned owner)
{
    pool.reserved--;
    uint64_t i = pool.free_head - 1;
    pool.free_head = *(volatile uint64_t *)pool_va(i);
    pool.nfree--;
    memset((void *)pool_va(i), 0, PAGE);
    pool.owner[i] = (uint8_t)owner;
    return i;
}

uint64_t pool_release(unsigned owner)
{
    uint64_t n = 0;
    for (uint64_t i = 0; i < pool.npages; i++)
        if (pool.owner[i] == owner) {
            page_put(i);
            n++;
        }
    return n;
}

void pool_stats(struct pool_stats *s)
{
    *s = (struct pool_stats){ pool.npages, pool.nfree, pool.reserved };
}
