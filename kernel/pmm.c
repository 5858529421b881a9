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
    p->low = 0;
    memset(bits, 0, pmm_bitmap_bytes(limit));
}

/* The bits of [f, e) that lie in f's word (e > f). Ranges are walked a
 * word at a time: the boot releases and claims some 65,000 frames per 256
 * MiB, and frame by frame that was 3 million instructions of the boot. */
static uint64_t word_mask(size_t f, size_t e)
{
    size_t lo = f % 64, hi = MIN(e - f + lo, (size_t)64);
    uint64_t m = hi == 64 ? ~0ull : (1ull << hi) - 1;
    return m & ~((1ull << lo) - 1);
}

/* Set bits of x (the kernel is built for any x86-64: no popcnt). */
static size_t ones(uint64_t x)
{
    x -= (x >> 1) & 0x5555555555555555ull;
    x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
    return (size_t)((x * 0x0101010101010101ull) >> 56);
}

static size_t next_word(size_t f)
{
    return (f / 64 + 1) * 64;
}

/* Marks [f, e) free (free) or in use; -> how many frames changed. */
static size_t set_range(struct pmm *p, size_t f, size_t e, bool free)
{
    size_t changed = 0;
    if (free && f / 64 < p->low)
        p->low = f / 64;
    for (; f < e; f = next_word(f)) {
        uint64_t m = word_mask(f, e), *w = &p->bits[f / 64];
        changed += ones(free ? m & ~*w : m & *w);
        *w = free ? *w | m : *w & ~m;
    }
    return changed;
}

/* Whether every frame of [f, e) is free (free) or every one in use. */
static bool all(const struct pmm *p, size_t f, size_t e, bool free)
{
    for (; f < e; f = next_word(f)) {
        uint64_t m = word_mask(f, e), w = p->bits[f / 64];
        if ((w & m) != (free ? m : 0))
            return false;
    }
    return true;
}

size_t pmm_next(const struct pmm *p, size_t f, bool free)
{
    for (; f < p->nframes; f = next_word(f)) {
        uint64_t w = free ? p->bits[f / 64] : ~p->bits[f / 64];
        w &= ~0ull << (f % 64);
        if (w)      /* (bits past nframes are 0: in use) */
            return MIN(f / 64 * 64 + (size_t)__builtin_ctzll(w), p->nframes);
    }
    return p->nframes;
}

void pmm_release(struct pmm *p, paddr_t start, paddr_t end)
{
    size_t f = FRAME(ALIGN_UP(start, PAGE_SIZE)), e = FRAME(ALIGN_DOWN(end, PAGE_SIZE));
    if (f == 0)
        f = 1;                      /* 0 means "no frame" to callers */
    e = MIN(e, p->nframes);
    if (f < e)
        p->nfree += set_range(p, f, e, true);
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
    /* first fit: the lowest multiple of step (not 0) that starts n free
     * frames; from the lowest word with a free frame (the kernel's frames
     * lie at the top, above sigma0's: a scan from frame 0 crossed all of
     * sigma0's words at every call) */
    size_t words = (p->nframes + 63) / 64;
    while (p->low < words && !p->bits[p->low])
        p->low++;
    for (size_t f = MAX(step, p->low * 64); f < p->nframes;) {
        size_t s = (pmm_next(p, f, true) + step - 1) / step * step;
        if (s >= p->nframes || n > p->nframes - s)
            break;
        size_t e = pmm_next(p, s, false);   /* the run's end (s itself if s is in use) */
        if (e - s >= n) {
            set_range(p, s, s + n, false);
            p->nfree -= n;
            return (paddr_t)s << PAGE_SHIFT;
        }
        f = e > s ? e : s + 1;
    }
    return 0;
}

bool pmm_claim(struct pmm *p, paddr_t start, size_t n)
{
    size_t f = FRAME(start);
    if (start % PAGE_SIZE || f == 0 || f + n > p->nframes || f + n < f)
        return false;
    if (!all(p, f, f + n, true))
        return false;
    set_range(p, f, f + n, false);
    p->nfree -= n;
    return true;
}

void pmm_free(struct pmm *p, paddr_t start, size_t n)
{
    size_t f = FRAME(start);
    kassert(start % PAGE_SIZE == 0 && f != 0 && f + n <= p->nframes && f + n >= f);
    kassert(all(p, f, f + n, false));   /* double free is a kernel bug */
    set_range(p, f, f + n, true);
    p->nfree += n;
}

bool pmm_is_free(const struct pmm *p, paddr_t a)
{
    size_t f = FRAME(a);
    return f < p->nframes && bit(p, f);
}
