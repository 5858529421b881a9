/* Bitmap frame allocator; pure logic, tested on the host. */
#include "pmm.h"
#include "assert.h"
#include "string.h"

#define FRAME(a) ((size_t)((a) >> PAGE_SHIFT))

static bool bit(const struct pmm *p, size_t f)
{
    return p->bits[f / 64] >> (f % 64) & 1;
}

static void set_free(struct pmm *p, size_t f, bool free)
{
    if (free)
        p->bits[f / 64] |= 1ull << (f % 64);
    else
        p->bits[f / 64] &= ~(1ull << (f % 64));
}

size_t pmm_bitmap_bytes(paddr_t limit)
{
    return ALIGN_UP(FRAME(ALIGN_UP(limit, PAGE_SIZE)), 64) / 8;
}

void pmm_init(struct pmm *p, uint64_t *bits, paddr_t limit)
{
    p->bits = bits;
    p->nframes = FRAME(ALIGN_UP(limit, PAGE_SIZE));
    p->nfree = 0;
    p->hint = 0;
    memset(bits, 0, pmm_bitmap_bytes(limit));
}

void pmm_release(struct pmm *p, paddr_t start, paddr_t end)
{
    size_t f = FRAME(ALIGN_UP(start, PAGE_SIZE)), e = FRAME(ALIGN_DOWN(end, PAGE_SIZE));
    if (f == 0)
        f = 1;                      /* 0 means "no frame" to callers */
    for (; f < e && f < p->nframes; f++)
        if (!bit(p, f)) {
            set_free(p, f, true);
            p->nfree++;
        }
}

paddr_t pmm_alloc(struct pmm *p)
{
    size_t words = (p->nframes + 63) / 64;
    for (size_t n = 0; n < words; n++) {
        size_t w = (p->hint + n) % words;
        if (p->bits[w]) {
            size_t f = w * 64 + (size_t)__builtin_ctzll(p->bits[w]);
            set_free(p, f, false);
            p->nfree--;
            p->hint = w;
            return (paddr_t)f << PAGE_SHIFT;
        }
    }
    return 0;
}

paddr_t pmm_alloc_contig(struct pmm *p, size_t n, size_t align)
{
    size_t step = MAX(align >> PAGE_SHIFT, (size_t)1);
    if (n == 0 || n > p->nfree)
        return 0;
    for (size_t f = step; f + n <= p->nframes; f += step) {
        if (!p->bits[f / 64]) {     /* no free frame in f's word: on to the next word */
            f = ((f / 64 + 1) * 64 + step - 1) / step * step - step;
            continue;
        }
        size_t i = 0;
        while (i < n && bit(p, f + i))
            i++;
        if (i == n) {
            for (i = 0; i < n; i++)
                set_free(p, f + i, false);
            p->nfree -= n;
            return (paddr_t)f << PAGE_SHIFT;
        }
    }
    return 0;
}

bool pmm_claim(struct pmm *p, paddr_t start, size_t n)
{
    size_t f = FRAME(start);
    if (start % PAGE_SIZE || f == 0 || f + n > p->nframes || f + n < f)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!bit(p, f + i))
            return false;
    for (size_t i = 0; i < n; i++)
        set_free(p, f + i, false);
    p->nfree -= n;
    return true;
}

void pmm_free(struct pmm *p, paddr_t start, size_t n)
{
    size_t f = FRAME(start);
    kassert(start % PAGE_SIZE == 0 && f != 0 && f + n <= p->nframes);
    for (size_t i = 0; i < n; i++) {
        kassert(!bit(p, f + i));    /* double free is a kernel bug */
        set_free(p, f + i, true);
    }
    p->nfree += n;
}

bool pmm_is_free(const struct pmm *p, paddr_t a)
{
    size_t f = FRAME(a);
    return f < p->nframes && bit(p, f);
}
