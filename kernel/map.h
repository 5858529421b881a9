/* Map and grant items: flexpages between address spaces (abi.md
 * "Flexpages"), each page recorded in the mapping database (mdb.h). */
#pragma once
#include "types.h"
#include "../include/l4/abi.h"
#include "mdb.h"
#include "space.h"

struct space;

/* Maps (or grants) the item {w0, w1} from 'from' into 'to' through the
 * receive window; rights only shrink. False for a malformed fpage or when
 * kernel memory (page tables, mapping nodes) runs out: the pages before
 * the one that failed are mapped, the rest not. */
bool map_fpage(struct space *from, struct space *to, uint64_t w0, uint64_t fpage, uint64_t window);
/* Checks an fpage: size 12..47, base aligned, inside the user region. */
bool map_fpage_valid(uint64_t fpage);
/* fpage_unmap's mechanism for memory (syscall.c checked fp and flags):
 * each page of the fpage mapped in s, see mdb_unmap. Inline: one page is
 * map_unmap_4k's case, and it stays a call of mdb_unmap. */
static inline void map_unmap_fpage(struct space *s, uint64_t fp, unsigned flags)
{
    uint64_t end = MIN(L4_FPAGE_BASE(fp) + (1ull << L4_FPAGE_SIZE(fp)), L4_USER_LIMIT);
    if (L4_FPAGE_SIZE(fp) == PAGE_SHIFT)    /* one page: no stretch to skip */
        mdb_unmap(s, L4_FPAGE_BASE(fp), flags);
    else
        for (uint64_t va = L4_FPAGE_BASE(fp); (va = paging_next_mapped(s->pml4, va, end)) < end;
             va += PAGE_SIZE)
            mdb_unmap(s, va, flags);
}
