/* Flexpage transfer, page by page, skipping unmapped stretches quickly. */
#include "map.h"
#include "space.h"
#include "arch/x86_64/paging.h"
#include "arch/x86_64/layout.h"

bool map_fpage_valid(uint64_t f)
{
    unsigned s = L4_FPAGE_SIZE(f);
    uint64_t base = L4_FPAGE_BASE(f);
    if (s < 12 || s > L4_WHOLE_SPACE)
        return false;
    if (s == L4_WHOLE_SPACE)
        return base == 0;
    return (base & ((1ull << s) - 1)) == 0 && base + (1ull << s) <= MAP_USER_LIMIT;
}

bool map_fpage(struct space *from, struct space *to, uint64_t w0, uint64_t f, uint64_t window)
{
    if (!map_fpage_valid(f) || !map_fpage_valid(window))
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
    uint64_t end = MIN(src + len, MAP_USER_LIMIT);
    unsigned rights = L4_FPAGE_RIGHTS(f);
    bool grant = (w0 & 0xe) == L4_ITEM_GRANT;
    for (uint64_t va = src; va < end && dst + (va - src) < MAP_USER_LIMIT;) {
        uint64_t *e = paging_lookup(from->pml4, va);
        if (!e) {
            va = paging_next_mapped(from->pml4, va, end);
            continue;
        }
        if (*e & PTE_U) {
            uint64_t pa = *e & PTE_ADDR;
            if (*e & PTE_PS)
                pa = (pa & ~((1ull << 21) - 1)) | (va & ((1ull << 21) - 1) & ~0xfffull);
            bool w = (*e & PTE_W) && (rights & L4_W);
            bool x = !(*e & PTE_NX) && (rights & L4_X);
            if (!space_map_page(to, dst + (va - src), pa, w, x))
                return false;
            if (grant && (from != to || va != dst + (va - src)))
                space_unmap_page(from, va);
        }
        va += PAGE_SIZE;
    }
    return true;
}
