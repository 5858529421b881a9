/* The page pool of the root's pager thread (pool.c): pages from sigma0 at
 * RT_POOL_BASE, which it maps to the Lua tasks as their private memory.
 * Only the pager thread uses it. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "rt.h"

#define PAGE  4096ull
#define UP(x) (((uint64_t)(x) + PAGE - 1) & ~(PAGE - 1))

struct pool_stats {
    uint64_t pages, free, reserved;     /* got from sigma0, on the free list, promised */
};

/* The root's address of pool page i. */
static inline uint64_t pool_va(uint64_t i)
{
    return RT_POOL_BASE + i * PAGE;
}
/* Promises n free pages (growing the pool from sigma0 if needed); false
 * if it cannot have them. pool_unreserve takes back such a promise. */
bool pool_reserve(uint64_t n);
void pool_unreserve(uint64_t n);
/* A promised page, zeroed, now held by owner (non-zero); its index. */
uint64_t pool_take(unsigned owner);
/* Puts back every page owner holds (their mappings are gone); returns
 * how many. */
uint64_t pool_release(unsigned owner);
void pool_stats(struct pool_stats *s);
