/* I/O ports. Each space that holds ports has an 8 KiB bitmap (a 0 bit
 * allows the port, as the CPU wants it). Who gave which ports to whom is
 * kept in a list of derivation records, so unmap can revoke along them;
 * port mappings are rare, so a list is enough. */
#include "io.h"
#include "assert.h"
#include "kmem.h"
#include "space.h"
#include "string.h"
#include "arch.h"

#define BITMAP_FRAMES 2             /* 65,536 bits (8 KiB) */

static const unsigned kernel_ports[L4_KERNEL_PORTS_N][2] = L4_KERNEL_PORTS;

struct io_rec {
    struct space *from, *to;        /* from == NULL: a record slot is free */
    unsigned port, count;
    /* One revocation's work on this record: ports [lo, hi) still to take
     * from `to` (pend) and those taken (done); a range is lo | hi << 32,
     * 0 when empty. */
    uint64_t pend, done;
};
#define RECS_PER_FRAME (PAGE_SIZE / sizeof(struct io_rec))
#define MAX_REC_FRAMES 12          /* 1,224 records of 40 bytes */
static struct io_rec *rec_frames[MAX_REC_FRAMES];

static uint8_t *bitmap_of(const struct space *s)
{
    return s->io_bitmap ? phys_to_virt(s->io_bitmap) : NULL;
}

bool io_allowed(const struct space *s, unsigned port)
{
    const uint8_t *b = bitmap_of(s);
    return b && port < 65536 && !(b[port / 8] >> (port % 8) & 1);
}

const uint8_t *io_bitmap(const struct space *s, unsigned *extent)
{
    *extent = s->io_extent;
    return bitmap_of(s);
}

static uint8_t *ensure_bitmap(struct space *s)
{
    if (!s->io_bitmap) {
        paddr_t pa = kmem_alloc_contig(BITMAP_FRAMES);
        if (!pa)
            return NULL;
        memset(phys_to_virt(pa), 0xff, 8192);   /* all denied */
        s->io_bitmap = pa;
    }
    return phys_to_virt(s->io_bitmap);
}

static void set_ports(struct space *s, unsigned port, unsigned count, bool allow)
{
    uint8_t *b = allow ? ensure_bitmap(s) : bitmap_of(s);
    if (!b)
        return;
    if (allow && (port + count + 7) / 8 > s->io_extent)
        s->io_extent = (uint16_t)((port + count + 7) / 8);
    for (unsigned p = port; p < port + count; p++) {
        if (allow)
            b[p / 8] &= (uint8_t)~(1u << (p % 8));
        else
            b[p / 8] |= (uint8_t)(1u << (p % 8));
    }
    arch_io_bitmap_changed(b, false);
}

bool io_grant_all(struct space *s)
{
    uint8_t *b = ensure_bitmap(s);
    if (!b)
        return false;
    memset(b, 0, 8192);
    s->io_extent = 8192;
    for (unsigned i = 0; i < L4_KERNEL_PORTS_N; i++)
        set_ports(s, kernel_ports[i][0], kernel_ports[i][1] - kernel_ports[i][0] + 1, false);
    return true;
}

/* The port range of an I/O fpage; false if it is not a valid one. */
static bool decode(uint64_t f, unsigned *port, unsigned *count)
{
    unsigned s = L4_FPAGE_SIZE(f), p = L4_IOFPAGE_PORT(f);
    if (!(f & L4_FPAGE_IO) || s > 16 || (f >> 28) || (f & 7) || (p & ((1u << s) - 1)))
        return false;
    *port = p;
    *count = 1u << s;
    return p + *count <= 65536;
}

static struct io_rec *new_rec(void)
{
    for (unsigned i = 0; i < MAX_REC_FRAMES; i++) {
        if (!rec_frames[i]) {
            paddr_t pa = kmem_alloc_frame();
            if (!pa)
                return NULL;
            rec_frames[i] = phys_to_virt(pa);
        }
        for (unsigned j = 0; j < RECS_PER_FRAME; j++)
            if (!rec_frames[i][j].from)
                return &rec_frames[i][j];
    }
    return NULL;
}

bool io_map(struct space *from, struct space *to, uint64_t f, bool grant)
{
    unsigned port, count;
    if (!decode(f, &port, &count))
        return false;
    for (unsigned p = port; p < port + count; p++)
        if (!io_allowed(from, p))
            return false;
    if (from == to)
        return true;
    struct io_rec *r = new_rec();
    if (!r || !ensure_bitmap(to))
        return false;
    *r = (struct io_rec){ from, to, port, count, 0, 0 };
    set_ports(to, port, count, true);
    if (grant)      /* the sender loses the ports; what it derived stays */
        set_ports(from, port, count, false);
    return true;
}

#define RANGE(lo, hi) ((uint64_t)(lo) | (uint64_t)(hi) << 32)
#define LO(r) ((unsigned)(r))
#define HI(r) ((unsigned)((r) >> 32))

/* The smallest range holding both a and b (either may be empty). */
static uint64_t hull(uint64_t a, uint64_t b)
{
    if (!a || !b)
        return a | b;
    return RANGE(MIN(LO(a), LO(b)), MAX(HI(a), HI(b)));
}

/* Marks the records from s that meet [lo, hi) to be revoked there. */
static void mark_from(struct space *s, unsigned lo, unsigned hi)
{
    for (unsigned i = 0; i < MAX_REC_FRAMES && rec_frames[i]; i++)
        for (unsigned j = 0; j < RECS_PER_FRAME; j++) {
            struct io_rec *r = &rec_frames[i][j];
            if (r->from != s || r->port >= hi || r->port + r->count <= lo)
                continue;
            r->pend = hull(r->pend, RANGE(MAX(r->port, lo), MIN(r->port + r->count, hi)));
        }
}

/* Revokes [port, port+count) from everything derived from s: each record
 * from s that meets the range takes its part from its receiver, and so on
 * from there. A worklist in the records, not recursion: ports that came
 * back to their giver (a cycle of records) recursed for ever, and a long
 * chain of tasks overflowed the kernel stack (make fuzz LONG=1, seed
 * 0x57270d18: a triple fault). A record's ranges only grow within its
 * ports, so the walk ends; a record met twice by two paths is revoked over
 * the hull of both (more than either path alone when they do not touch:
 * revocation already takes a port from a space that holds it through
 * another record too). */
static void revoke_derived(struct space *s, unsigned port, unsigned count)
{
    for (unsigned i = 0; i < MAX_REC_FRAMES && rec_frames[i]; i++)
        for (unsigned j = 0; j < RECS_PER_FRAME; j++)
            rec_frames[i][j].pend = rec_frames[i][j].done = 0;
    mark_from(s, port, port + count);
    for (bool more = true; more;) {
        more = false;
        for (unsigned i = 0; i < MAX_REC_FRAMES && rec_frames[i]; i++)
            for (unsigned j = 0; j < RECS_PER_FRAME; j++) {
                struct io_rec *r = &rec_frames[i][j];
                uint64_t p = r->pend;
                r->pend = 0;
                if (!p || !r->from || hull(r->done, p) == r->done)
                    continue;
                r->done = hull(r->done, p);
                unsigned lo = LO(r->done), hi = HI(r->done);
                struct space *to = r->to;
                if (lo == r->port && hi == r->port + r->count)
                    r->from = NULL;     /* the whole record is gone */
                set_ports(to, lo, hi - lo, false);
                mark_from(to, lo, hi);
                more = true;
            }
    }
}

bool io_unmap(struct space *s, uint64_t f, bool own)
{
    unsigned port, count;
    if (!decode(f, &port, &count))
        return false;
    /* Records naming s as receiver stay: a grant re-maps from them. */
    revoke_derived(s, port, count);
    if (own)
        set_ports(s, port, count, false);
    return true;
}

void io_space_destroy(struct space *s)
{
    revoke_derived(s, 0, 65536);
    for (unsigned i = 0; i < MAX_REC_FRAMES && rec_frames[i]; i++)
        for (unsigned j = 0; j < RECS_PER_FRAME; j++)
            if (rec_frames[i][j].to == s)
                rec_frames[i][j].from = NULL;
    if (s->io_bitmap) {
        arch_io_bitmap_changed(bitmap_of(s), true);
        kmem_free_contig(s->io_bitmap, BITMAP_FRAMES);
        s->io_bitmap = 0;
        s->io_extent = 0;
    }
}

size_t io_frames(void)
{
    size_t n = 0;
    for (unsigned i = 0; i < MAX_REC_FRAMES; i++)
        n += rec_frames[i] != NULL;
    for (unsigned t = 1; t < L4_MAX_TASKS; t++)
        if (tasks[t] && tasks[t]->io_bitmap)
            n += BITMAP_FRAMES;
    return n;
}
