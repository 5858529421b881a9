/* sigma0's frame bookkeeping (ram.h). The bitmap lives in sigma0's own
 * RAM, so its size follows the machine's; bits past the last frame are
 * set, so a search for a clear bit never finds them. */
#include "ram.h"

struct ram {
    uint64_t start, end;    /* [start, end), page-aligned */
    uint64_t first;         /* bit of the frame at start */
};

static struct ram ram[L4_KIP_MEM_MAX];
static unsigned nram;
static uint64_t *bits;      /* 1 = handed out */
static uint64_t nbits, nwords, nfree;
static uint64_t hint;       /* every bit below it is set */

static bool bit(uint64_t i)
{
    return bits[i / 64] >> (i % 64) & 1;
}

static const struct ram *range_of(uint64_t pa)
{
    for (unsigned i = 0; i < nram; i++)
        if (pa >= ram[i].start && pa < ram[i].end)
            return &ram[i];
    return 0;
}

static uint64_t index_of(const struct ram *r, uint64_t pa)
{
    return r->first + (pa - r->start) / PAGE;
}

static uint64_t addr_of(uint64_t i)
{
    for (unsigned n = 0; n < nram; n++)
        if (i < ram[n].first + (ram[n].end - ram[n].start) / PAGE)
            return ram[n].start + (i - ram[n].first) * PAGE;
    return 0;
}

/* The first set bit in [i, i + n), or i + n. */
static uint64_t first_set(uint64_t i, uint64_t n)
{
    uint64_t e = i + n;
    while (i < e) {
        if (i % 64 == 0 && e - i >= 64 && bits[i / 64] == 0)
            i += 64;
        else if (bit(i))
            return i;
        else
            i++;
    }
    return e;
}

/* The first clear bit at or after i, or nbits. */
static uint64_t first_clear(uint64_t i)
{
    while (i < nbits) {
        if (i % 64 == 0 && bits[i / 64] == ~0ull)
            i += 64;
        else if (!bit(i))
            return i;
        else
            i++;
    }
    return nbits;
}

static void mark(uint64_t i, uint64_t n, bool given)
{
    for (uint64_t b = i; b < i + n; b++) {
        if (given)
            bits[b / 64] |= 1ull << (b % 64);
        else
            bits[b / 64] &= ~(1ull << (b % 64));
    }
    nfree = given ? nfree - n : nfree + n;
    if (!given && i < hint)
        hint = i;
}

uint64_t ram_layout(const struct l4_kip *kip, uint64_t *bytes)
{
    nram = 0;
    nbits = 0;
    for (unsigned i = 0; i < kip->nmem && i < L4_KIP_MEM_MAX; i++) {
        const struct l4_kip_mem *m = &kip->mem[i];
        if (m->type != L4_KIP_MEM_SIGMA0 || m->end <= m->start)
            continue;
        ram[nram++] = (struct ram){ m->start, m->end, nbits };
        nbits += (m->end - m->start) / PAGE;
    }
    nwords = (nbits + 63) / 64;
    *bytes = (nwords * 8 + PAGE - 1) & ~(PAGE - 1);
    for (unsigned i = 0; i < nram; i++)
        if (*bytes && ram[i].end - ram[i].start >= *bytes)
            return ram[i].start;
    return 0;
}

void ram_start(void)
{
    const struct ram *r = &ram[0];
    uint64_t bytes = (nwords * 8 + PAGE - 1) & ~(PAGE - 1);
    while (r->end - r->start < bytes)
        r++;                            /* where ram_layout put it */
    bits = (uint64_t *)r->start;
    nfree = nbits;
    for (uint64_t i = nbits; i < nwords * 64; i++)
        bits[i / 64] |= 1ull << (i % 64);
    mark(index_of(r, r->start), bytes / PAGE, true);
    hint = 0;
}

bool ram_ready(void)
{
    return bits != 0;
}

bool ram_find(unsigned k, uint64_t *pa)
{
    uint64_t size = 1ull << k, np = size / PAGE;
    if (np == 1) {
        hint = first_clear(hint);
        *pa = addr_of(hint);
        return hint < nbits;
    }
    for (unsigned n = 0; n < nram; n++) {
        const struct ram *r = &ram[n];
        uint64_t b = (r->start + size - 1) & ~(size - 1);
        while (b >= r->start && b + size <= r->end) {
            uint64_t i = index_of(r, b), s = first_set(i, np);
            if (s == i + np) {
                *pa = b;
                return true;
            }
            b = (r->start + (s - r->first + 1) * PAGE + size - 1) & ~(size - 1);
        }
    }
    return false;
}

bool ram_is_free(uint64_t pa, unsigned k)
{
    const struct ram *r = range_of(pa);
    uint64_t np = (1ull << k) / PAGE;
    return r && first_set(index_of(r, pa), np) == index_of(r, pa) + np;
}

bool ram_is_given(uint64_t pa, unsigned k)
{
    const struct ram *r = range_of(pa);
    uint64_t size = 1ull << k, np = size / PAGE, map = (nwords * 8 + PAGE - 1) & ~(PAGE - 1);
    if (!r || pa + size > r->end || (pa < (uint64_t)bits + map && pa + size > (uint64_t)bits))
        return false;
    for (uint64_t i = index_of(r, pa); i < index_of(r, pa) + np; i++)
        if (!bit(i))
            return false;
    return true;
}

void ram_mark(uint64_t pa, unsigned k, bool given)
{
    const struct ram *r = range_of(pa);
    if (r)
        mark(index_of(r, pa), (1ull << k) / PAGE, given);
}

uint64_t ram_free_frames(void)
{
    return nfree;
}
