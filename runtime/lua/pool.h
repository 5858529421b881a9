/* The page pool of the root's pager thread (pool.c): pages from sigma0 at
 * RT_POOL_BASE, which it maps to the Lua tasks as their private memory
 * (and uses for its own records). Only the pager thread uses it. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "rt.h"

#define PAGE  4096ull
#define UP(x) (((uint64_t)(x) + PAGE - 1) & ~(PAGE - 1))

/* The pages one holder (a task) has, linked through the pool's table of
 * pages, each with the address it serves there. */
struct pool_list {
    uint32_t head;              /* index + 1 of the first page, 0: none */
    uint64_t n;                 /* pages on the list */
};

struct pool_stats {
    uint64_t pages, free, reserved;     /* got from sigma0, on the free list, promised */
    uint64_t meta;                      /* pages of the table of pages (not in `pages`) */
    uint64_t records;                   /* record pages (not in `pages`) */
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
/* A promised page, zeroed, now on list l (NULL: on none) for address va;
 * its index. */
uint64_t pool_take(struct pool_list *l, uint64_t va);
/* Puts back page i, which is on no list. */
void pool_put(uint64_t i);
/* Puts back every page of l (their mappings are gone: the task was
 * deleted); returns how many. */
uint64_t pool_release(struct pool_list *l);
/* Takes the pages of l serving [lo, hi) away from wherever they are
 * mapped and puts them back; returns how many. */
uint64_t pool_release_range(struct pool_list *l, uint64_t lo, uint64_t hi);
/* A zeroed page for a record of the pager's own (a task's, tasktab.c),
 * apart from the pool's pages: NULL if sigma0 has none. pool_record_put
 * gives it back for the next record. */
void *pool_record(void);
void pool_record_put(void *p);
void pool_stats(struct pool_stats *s);
