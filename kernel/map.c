/* Flexpage transfer, page by page through the mapping database,
 * skipping unmapped stretches quickly. */
#include "map.h"
#include "mdb.h"
#include "space.h"
#include "arch.h"

static inline bool valid(uint64_t f)
{
    unsigned s = L4_FPAGE_SIZE(f);
    uint64_t base = L4_FPAGE_BASE(f);
    if (s < 12 || s > L4_WHOLE_SPACE)
        return false;
    if (s == L4_WHOLE_SPACE)
        return base == 0;
    /* base < limit first: base + size may wrap past 2^64 */
    return (base & ((1ull << s) - 1)) == 0 && base < L4_USER_LIMIT &&
           (1ull << s) <= L4_USER_LIMIT - base;
}

bool map_fpage_valid(uint64_t f)
{
    return valid(f);
}

bool map_fpage(struct space *from, struct space *to, uint64_t w0, uint64_t f, uint64_t window)
{
    if (!valid(f) || !valid(window))
        return false;
    unsigned s = L4_FPAGE_SIZE(f), ws = L4_FPAGE_SIZE(window);
    uint64_t snd_base = w0 & ~0xfffull, src = L4_FPAGE_BASE(f), dst = L4_FPAGE_BASE(window);
    uint64_t len;
    if (s <= ws) {              /* the fpage lands inside the window */
        dst += snd_base & ((1ull << ws) - 1) & ~((1ull << s) - 1);
        len = 1ull << s;
    } else {                    /* the window selects a part of the fpage */
        src += snd_base & ((1ull << s) - 1) & ~((1ull << ws) - 1);
        len = 1ull << ws;
    }
    uint64_t end = MIN(src + len, L4_USER_LIMIT);
    bool grant = (w0 & 0xe) == L4_ITEM_GRANT;
    if (len == PAGE_SIZE)       /* a pager's usual answer: no stretch to skip */
        return src >= end || dst >= L4_USER_LIMIT ||
               mdb_map(from, src, to, dst, L4_FPAGE_RIGHTS(f), grant);
    for (uint64_t va = src; (va = paging_next_mapped(from->pml4, va, end)) < end &&
                            dst + (va - src) < L4_USER_LIMIT; va += PAGE_SIZE)
        if (!mdb_map(from, va, to, dst + (va - src), L4_FPAGE_RIGHTS(f), grant))
            return false;
    return true;
}

