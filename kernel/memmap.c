/* Free-memory computation from a boot memory map; pure, tested on the host. */
#include "memmap.h"

/* Removes [s, e) from the n ranges in r (capacity max); returns the new n. */
static unsigned cut(struct range *r, unsigned n, unsigned max, paddr_t s, paddr_t e, bool *lost)
{
    for (unsigned i = 0; i < n; i++) {
        struct range x = r[i];
        if (e <= x.start || s >= x.end)
            continue;
        if (s > x.start && e < x.end) {         /* hole in the middle: split */
            if (n == max) {
                *lost = true;       /* drop the upper part: safe, only loses memory */
                r[i].end = s;
                continue;
            }
            r[i].end = s;
            r[n++] = (struct range){ e, x.end };
        } else if (s <= x.start && e >= x.end) { /* covered: remove */
            r[i--] = r[--n];
        } else if (s <= x.start) {
            r[i].start = e;
        } else {
            r[i].end = s;
        }
    }
    return n;
}

unsigned memmap_free(const struct boot_range *mem, unsigned nmem,
                     const struct range *resv, unsigned nresv,
                     struct range *out, unsigned max, bool *lost)
{
    unsigned n = 0;
    *lost = false;
    for (unsigned i = 0; i < nmem; i++) {
        if (mem[i].type != BOOT_MEM_AVAILABLE)
            continue;
        paddr_t s = ALIGN_UP(mem[i].base, PAGE_SIZE);
        paddr_t e = ALIGN_DOWN(mem[i].base + mem[i].len, PAGE_SIZE);
        if (s >= e)
            continue;
        if (n == max) {
            *lost = true;
            break;
        }
        out[n++] = (struct range){ s, e };
    }
    /* Entries overlap on some firmware: anything not available wins. */
    for (unsigned i = 0; i < nmem; i++)
        if (mem[i].type != BOOT_MEM_AVAILABLE)
            n = cut(out, n, max, ALIGN_DOWN(mem[i].base, PAGE_SIZE),
                    ALIGN_UP(mem[i].base + mem[i].len, PAGE_SIZE), lost);
    for (unsigned i = 0; i < nresv; i++)
        n = cut(out, n, max, ALIGN_DOWN(resv[i].start, PAGE_SIZE),
                ALIGN_UP(resv[i].end, PAGE_SIZE), lost);
    return memmap_normalize(out, n);
}

unsigned memmap_normalize(struct range *r, unsigned n)
{
    /* Insertion sort (n is small), then merge neighbours. */
    for (unsigned i = 1; i < n; i++) {
        struct range x = r[i];
        unsigned j = i;
        for (; j > 0 && r[j - 1].start > x.start; j--)
            r[j] = r[j - 1];
        r[j] = x;
    }
    unsigned m = 0;
    for (unsigned i = 0; i < n; i++) {
        if (m && r[m - 1].end >= r[i].start)
            r[m - 1].end = MAX(r[m - 1].end, r[i].end);
        else
            r[m++] = r[i];
    }
    return m;
}
