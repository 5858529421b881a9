/* Host tests for kernel/mdb.c (the mapping database) and kernel/map.c
 * (flexpage transfer), running on the real arch/x86_64/paging.c over the
 * host model of tests/host/kshim.c. */
#include "check.h"
#include "kshim.h"
#include "map.h"
#include "mdb.h"
#include "space.h"
#include "arch/x86_64/layout.h"
#include "arch/x86_64/paging.h"

#include <stdint.h>

static struct space *A, *B, *C, *D;
static paddr_t frame[8];

static uint64_t pte(struct space *s, uint64_t va)
{
    uint64_t *e = paging_user_pte(s->pml4, va, false);
    return e ? *e : 0;
}

static paddr_t pa_of(struct space *s, uint64_t va)
{
    return pte(s, va) & PTE_ADDR;
}

static bool mapped(struct space *s, uint64_t va)
{
    return pte(s, va) & PTE_P;
}

static bool writable(struct space *s, uint64_t va)
{
    return pte(s, va) & PTE_W;
}

static void setup(void)
{
    shim_pool_fail_after = -1;
    A = shim_space_new(10);
    B = shim_space_new(11);
    C = shim_space_new(12);
    D = shim_space_new(13);
    for (unsigned i = 0; i < 8; i++)
        frame[i] = kmem_alloc_user_frame();
}

/* Deletes the spaces; the pool must be as before (no leak). */
static void teardown(void)
{
    CHECK(mdb_check());
    shim_space_free(A);
    shim_space_free(B);
    shim_space_free(C);
    shim_space_free(D);
    shim_user_reset();
    CHECK_EQ(mdb_frames(), 0);
    CHECK_EQ(shim_pool_used, 0);
}

#define V1 0x400000ull
#define V2 0x7f0000000000ull

static void test_map_root(void)
{
    setup();
    CHECK(mdb_check());
    CHECK(mdb_map_root(A, V1, frame[0], true, false));
    CHECK(mapped(A, V1));
    CHECK_EQ(pa_of(A, V1), frame[0]);
    CHECK(writable(A, V1));
    CHECK(pte(A, V1) & PTE_NX);
    CHECK(pte(A, V1) & PTE_U);
    CHECK(mdb_check());
    /* the same root again: nothing changes, no node more */
    size_t used = shim_pool_used;
    CHECK(mdb_map_root(A, V1, frame[0], true, false));
    CHECK_EQ(shim_pool_used, used);
    /* bad arguments */
    CHECK(!mdb_map_root(A, V1 + 1, frame[0], true, false));
    CHECK(!mdb_map_root(A, L4_USER_LIMIT, frame[0], true, false));
    CHECK(!mdb_map_root(A, V1, frame[0] | 1, true, false));
    CHECK(!mdb_map_root(A, V1, 1ull << 52, true, false));
    CHECK(mdb_check());
    teardown();
}

static void test_map_child_rights(void)
{
    setup();
    CHECK(mdb_map_root(A, V1, frame[0], true, true));
    CHECK(mdb_map(A, V1, B, V2, L4_R | L4_X, false));           /* read-only */
    CHECK(mdb_map(A, V1, C, V1, L4_RWX, false));
    CHECK_EQ(pa_of(B, V2), frame[0]);
    CHECK(!writable(B, V2));
    CHECK(!(pte(B, V2) & PTE_NX));
    CHECK(writable(C, V1));
    /* B maps on what it has: rights only shrink (asks for W, gets none) */
    CHECK(mdb_map(B, V2, D, V1, L4_RWX, false));
    CHECK(!writable(D, V1));
    CHECK(mdb_map(C, V1, D, V2, L4_R, false));                  /* no X: NX */
    CHECK(pte(D, V2) & PTE_NX);
    /* nothing at the source: nothing happens, true */
    CHECK(mdb_map(A, V2, B, V1, L4_RWX, false));
    CHECK(!mapped(B, V1));
    CHECK(mdb_check());
    teardown();
}

/* A -> B -> C -> D and A -> D': flushing A's page takes all derived, not A. */
static void test_recursive_unmap(void)
{
    setup();
    CHECK(mdb_map_root(A, V1, frame[0], true, false));
    CHECK(mdb_map(A, V1, B, V1, L4_RWX, false));
    CHECK(mdb_map(B, V1, C, V1, L4_RWX, false));
    CHECK(mdb_map(C, V1, D, V1, L4_RWX, false));
    CHECK(mdb_map(A, V1, D, V2, L4_RWX, false));
    CHECK(mdb_check());
    /* reduce (no FLUSH): all below read-only, A keeps W */
    mdb_unmap(A, V1, 0);
    CHECK(writable(A, V1));
    CHECK(!writable(B, V1) && !writable(C, V1) && !writable(D, V1) && !writable(D, V2));
    CHECK(mdb_check());
    /* reduce with OWN: A too */
    mdb_unmap(A, V1, L4_UNMAP_OWN);
    CHECK(!writable(A, V1));
    /* flush from the middle: C and D go, A, B and D's other page stay */
    mdb_unmap(B, V1, L4_UNMAP_FLUSH);
    CHECK(mapped(A, V1) && mapped(B, V1) && !mapped(C, V1) && !mapped(D, V1) && mapped(D, V2));
    CHECK(mdb_check());
    mdb_unmap(A, V1, L4_UNMAP_FLUSH | L4_UNMAP_OWN);
    CHECK(!mapped(A, V1) && !mapped(B, V1) && !mapped(D, V2));
    CHECK(mdb_check());
    /* nothing mapped there: nothing happens */
    mdb_unmap(A, V1, L4_UNMAP_FLUSH | L4_UNMAP_OWN);
    CHECK(mdb_check());
    teardown();
}

/* B grants its page (derived from A, with C derived from B) to D: B's
 * entry goes, D takes its place in the tree; a grant with fewer rights
 * reduces what derives from it. */
static void test_grant(void)
{
    setup();
    CHECK(mdb_map_root(A, V1, frame[0], true, false));
    CHECK(mdb_map(A, V1, B, V1, L4_RWX, false));
    CHECK(mdb_map(B, V1, C, V1, L4_RWX, false));
    CHECK(mdb_map(B, V1, D, V2, L4_R, true));
    CHECK(!mapped(B, V1));
    CHECK_EQ(pa_of(D, V2), frame[0]);
    CHECK(!writable(D, V2));
    CHECK(!writable(C, V1));            /* reduced with the grant */
    CHECK(mdb_check());
    mdb_unmap(A, V1, L4_UNMAP_FLUSH);   /* the granted page still derives from A */
    CHECK(!mapped(D, V2) && !mapped(C, V1) && mapped(A, V1));
    CHECK(mdb_check());
    /* a root can be granted too */
    CHECK(mdb_map(A, V1, B, V2, L4_RWX, true));
    CHECK(!mapped(A, V1) && mapped(B, V2) && writable(B, V2));
    CHECK(mdb_check());
    teardown();
}

/* A page's caching passes on to every mapping made from it, by map or
 * grant, and stays through a reduction of rights: sigma0's device memory
 * is uncached (kernel/sigma0.c sets PCD on its root), so a driver's BAR is
 * too (docs/drivers.md "Device memory is uncached"); RAM stays cached. */
static void test_caching_passes_on(void)
{
    setup();
    CHECK(mdb_map_root(A, V1, frame[0], true, false));
    uint64_t *e = paging_user_pte(A->pml4, V1, false);
    CHECK(e);
    *e |= PTE_PCD;                      /* as sigma0's map_idempotent */
    CHECK(mdb_map_root(A, V2, frame[1], true, true));          /* RAM */
    CHECK(mdb_map(A, V1, B, V1, L4_RWX, false));
    CHECK(mdb_map(B, V1, C, V2, L4_RWX, false));
    CHECK(mdb_map(C, V2, D, V1, L4_R, true));
    CHECK(mdb_map(A, V2, B, V2, L4_RWX, false));
    CHECK((pte(B, V1) & (PTE_PCD | PTE_PWT)) == PTE_PCD);
    CHECK((pte(D, V1) & (PTE_PCD | PTE_PWT)) == PTE_PCD);
    CHECK(!mapped(C, V2));
    CHECK(!(pte(B, V2) & (PTE_PCD | PTE_PWT)));
    mdb_unmap(A, V1, 0);                /* read-only below A: still uncached */
    CHECK(!writable(B, V1) && (pte(B, V1) & PTE_PCD) && (pte(D, V1) & PTE_PCD));
    CHECK(mdb_check());
    teardown();
}

/* Mapping onto a page revokes what was there first, unless it is the
 * source itself or the source derives from it. */
static void test_map_over(void)
{
    setup();
    CHECK(mdb_map_root(A, V1, frame[0], true, false));
    CHECK(mdb_map_root(A, V2, frame[1], true, false));
    CHECK(mdb_map(A, V1, B, V1, L4_RWX, false));
    CHECK(mdb_map(B, V1, C, V1, L4_RWX, false));
    /* A's other page onto B's: B's old page and C's (from it) go */
    CHECK(mdb_map(A, V2, B, V1, L4_RWX, false));
    CHECK_EQ(pa_of(B, V1), frame[1]);
    CHECK(!mapped(C, V1));
    CHECK(mdb_check());
    /* onto itself, and back onto its ancestor: left as is */
    CHECK(mdb_map(B, V1, B, V1, L4_R, false));
    CHECK(writable(B, V1));
    CHECK(mdb_map(B, V1, A, V2, L4_R, false));
    CHECK(writable(A, V2) && mapped(B, V1));
    CHECK(mdb_check());
    /* a new root over a mapped page revokes its tree */
    CHECK(mdb_map_root(A, V2, frame[2], true, false));
    CHECK(!mapped(B, V1));
    CHECK(mdb_check());
    teardown();
}

static void test_unmap_space(void)
{
    setup();
    for (unsigned i = 0; i < 8; i++)
        CHECK(mdb_map_root(A, V1 + i * PAGE_SIZE, frame[i], true, false));
    CHECK(mdb_map(A, V1, B, V1, L4_RWX, false));
    CHECK(mdb_map(B, V1, C, V1, L4_RWX, false));
    CHECK(mdb_map(A, V1 + 7 * PAGE_SIZE, D, V2, L4_RWX, false));
    CHECK(mdb_map(D, V2, B, V2, L4_RWX, false));
    mdb_unmap_space(A);
    for (unsigned i = 0; i < 8; i++)
        CHECK(!mapped(A, V1 + i * PAGE_SIZE));
    CHECK(!mapped(B, V1) && !mapped(C, V1) && !mapped(D, V2) && !mapped(B, V2));
    CHECK(mdb_check());
    teardown();
}

/* Out of pool memory: the call fails and changes no mapping. */
static void test_exhaustion(void)
{
    setup();
    CHECK(mdb_map_root(A, V1, frame[0], true, false));
    CHECK(mdb_map_root(A, V1 + PAGE_SIZE, frame[1], true, false));
    CHECK(mdb_map(A, V1, B, V1, L4_RWX, false));
    shim_pool_fail_after = 0;
    CHECK(!mdb_map(A, V1, C, V2, L4_RWX, false));         /* needs tables */
    CHECK(!mdb_map_root(D, V1, frame[2], true, false));
    CHECK(!mapped(C, V2) && !mapped(D, V1));
    /* B's tables exist; a node needs a new slab? Fill the slab first. */
    shim_pool_fail_after = -1;
    CHECK(mdb_check());
    size_t slabs = mdb_frames();
    unsigned n = 0;
    while (mdb_frames() == slabs && n < 4096) {
        CHECK(mdb_map(A, V1 + PAGE_SIZE, B, V2 + n * PAGE_SIZE, L4_RWX, false));
        n++;
    }
    CHECK(mdb_frames() == slabs + 1);
    /* the slab is now partly used: one more node needs no frame */
    shim_pool_fail_after = 0;
    CHECK(mdb_map(A, V1 + PAGE_SIZE, B, V2 + n * PAGE_SIZE, L4_RWX, false));
    /* the old mapping at the target stays when the node cannot be had:
     * fill this slab too, then ask for one more with the pool empty */
    shim_pool_fail_after = -1;
    for (n++; mdb_frames() == slabs + 1; n++)
        CHECK(mdb_map(A, V1 + PAGE_SIZE, B, V2 + n * PAGE_SIZE, L4_RWX, false));
    mdb_unmap(B, V2 + (n - 1) * PAGE_SIZE, L4_UNMAP_FLUSH | L4_UNMAP_OWN);  /* slab back */
    CHECK(mdb_frames() == slabs + 1);
    CHECK(mdb_map(A, V1, C, V1, L4_RWX, false));        /* C: tables */
    for (;;) {      /* fill the last slab exactly */
        size_t before = mdb_frames();
        shim_pool_fail_after = 0;
        bool ok = mdb_map(A, V1 + PAGE_SIZE, B, V2 + n * PAGE_SIZE, L4_RWX, false);
        shim_pool_fail_after = -1;
        if (!ok) {
            CHECK_EQ(mdb_frames(), before);
            break;
        }
        n++;
    }
    shim_pool_fail_after = 0;
    CHECK(!mdb_map(A, V1 + PAGE_SIZE, C, V1, L4_RWX, false));
    CHECK_EQ(pa_of(C, V1), frame[0]);                   /* still there */
    shim_pool_fail_after = -1;
    CHECK(mdb_check());
    teardown();
}

/* Only the space in CR3 needs invlpg. */
static void test_tlb(void)
{
    setup();
    CHECK(mdb_map_root(A, V1, frame[0], true, false));
    CHECK(mdb_map(A, V1, B, V1, L4_RWX, false));
    shim_cr3 = B->pml4;
    unsigned long before = shim_invlpgs;
    mdb_unmap(A, V1, 0);                /* B's entry changes */
    CHECK_EQ(shim_invlpgs, before + 1);
    mdb_unmap(A, V1, L4_UNMAP_OWN);     /* A's only: no invlpg */
    CHECK_EQ(shim_invlpgs, before + 1);
    mdb_unmap(A, V1, L4_UNMAP_FLUSH);
    CHECK_EQ(shim_invlpgs, before + 2);
    shim_cr3 = 0;
    teardown();
}

/* mdb_check notices entries changed behind the database's back. */
static void test_check_detects(void)
{
    setup();
    CHECK(mdb_map_root(A, V1, frame[0], true, false));
    CHECK(mdb_map(A, V1, B, V1, L4_R, false));
    uint64_t *e = paging_user_pte(B->pml4, V1, false), saved = *e;
    *e |= PTE_W;                        /* more rights than the parent's? no: A has W */
    CHECK(mdb_check());
    *e = (saved & ~PTE_ADDR) | frame[1];        /* another frame than the parent's */
    CHECK(!mdb_check());
    *e = saved & ~PTE_U;
    CHECK(!mdb_check());
    *e = saved;
    CHECK(mdb_check());
    uint64_t *a = paging_user_pte(A->pml4, V1, false), asaved = *a;
    *a &= ~PTE_W;                       /* parent read-only, child writable */
    *e |= PTE_W;
    CHECK(!mdb_check());
    *a = asaved;
    *e = saved;
    /* an entry without its node */
    *paging_user_pte(C->pml4, V1, true) = frame[2] | PTE_P | PTE_U;
    CHECK(!mdb_check());
    *paging_user_pte(C->pml4, V1, false) = 0;
    CHECK(mdb_check());
    teardown();
}

/* A chain as deep as memory allows goes without recursion; every slab
 * goes back. */
static void test_deep_chain(void)
{
    setup();
    enum { DEPTH = 20000 };
    CHECK(mdb_map_root(A, V1, frame[0], true, false));
    uint64_t va = V1;
    struct space *from = A;
    for (unsigned i = 1; i <= DEPTH; i++) {
        struct space *to = i % 2 ? B : A;
        uint64_t dva = V1 + i * PAGE_SIZE;
        CHECK(mdb_map(from, va, to, dva, L4_RWX, false));
        from = to;
        va = dva;
    }
    CHECK(mdb_check());
    CHECK(mdb_frames() > 100);
    mdb_unmap(A, V1, L4_UNMAP_FLUSH);
    CHECK(mapped(A, V1) && !mapped(B, V1 + PAGE_SIZE) && !mapped(A, V1 + DEPTH * PAGE_SIZE));
    CHECK_EQ(mdb_frames(), 1);
    CHECK(mdb_check());
    teardown();
}

/* map_fpage: the fpage lands inside a larger window at the send base's
 * offset; a smaller window takes the part of the fpage the base selects;
 * unmapped stretches are skipped. */
static void test_map_fpage_windows(void)
{
    setup();
    for (unsigned i = 0; i < 4; i++)
        CHECK(mdb_map_root(A, 0x10000 + i * PAGE_SIZE, frame[i], true, false));
    /* 16 KiB fpage into a 1 MiB window, send base 0x34000 (offset into the window) */
    CHECK(map_fpage(A, B, 0x34000 | L4_ITEM_MAP, L4_FPAGE(0x10000, 14, L4_RWX),
                    L4_FPAGE(0x200000, 20, L4_RWX)));
    for (unsigned i = 0; i < 4; i++)
        CHECK_EQ(pa_of(B, 0x234000 + i * PAGE_SIZE), frame[i]);
    /* 64 KiB fpage (only its first 4 pages mapped) into an 8 KiB window:
     * the base 0x2000 selects pages 2 and 3 */
    CHECK(map_fpage(A, C, 0x2000 | L4_ITEM_MAP, L4_FPAGE(0x10000, 16, L4_R),
                    L4_FPAGE(0x500000, 13, L4_RWX)));
    CHECK_EQ(pa_of(C, 0x500000), frame[2]);
    CHECK_EQ(pa_of(C, 0x501000), frame[3]);
    CHECK(!writable(C, 0x500000));
    CHECK(!mapped(C, 0x502000) && !mapped(C, 0x4ff000));
    /* a grant item moves the pages */
    CHECK(map_fpage(A, D, L4_ITEM_GRANT, L4_FPAGE(0x10000, 13, L4_RWX),
                    L4_FPAGE(0x10000, 13, L4_RWX)));
    CHECK(!mapped(A, 0x10000) && !mapped(A, 0x11000) && mapped(A, 0x12000));
    CHECK_EQ(pa_of(D, 0x11000), frame[1]);
    /* the whole space into the whole space: a copy of all of A */
    CHECK(map_fpage(A, D, L4_ITEM_MAP, L4_FPAGE(0, L4_WHOLE_SPACE, L4_RWX),
                    L4_FPAGE(0, L4_WHOLE_SPACE, L4_RWX)));
    CHECK_EQ(pa_of(D, 0x13000), frame[3]);
    /* malformed fpage or window: refused */
    CHECK(!map_fpage(A, D, L4_ITEM_MAP, L4_FPAGE(0x10000, 11, L4_RWX), L4_FPAGE(0, 20, L4_RWX)));
    CHECK(!map_fpage(A, D, L4_ITEM_MAP, L4_FPAGE(0x10000, 14, L4_RWX), L4_FPAGE(0x1000, 20, L4_RWX)));
    CHECK(mdb_check());
    teardown();
}

/* Random map, grant, unmap and root operations among four spaces and 16
 * pages each, with the database checked after every step; in the end
 * every node and slab comes back. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void test_random_operations(void)
{
    setup();
    struct space *sp[4] = { A, B, C, D };
    unsigned bad = 0;
    for (unsigned step = 0; step < 20000; step++) {
        struct space *s = sp[rnd() % 4], *t = sp[rnd() % 4];
        uint64_t va = V1 + (rnd() % 16) * PAGE_SIZE, dva = V1 + (rnd() % 16) * PAGE_SIZE;
        switch (rnd() % 8) {
        case 0:
            mdb_map_root(s, va, frame[rnd() % 8], rnd() & 1, rnd() & 1);
            break;
        case 1: case 2: case 3:
            mdb_map(s, va, t, dva, (unsigned)(rnd() % 8), false);
            break;
        case 4:
            mdb_map(s, va, t, dva, (unsigned)(rnd() % 8), true);
            break;
        case 5: case 6:
            mdb_unmap(s, va, (unsigned)(rnd() % 4));
            break;
        case 7:
            if (rnd() % 16 == 0)
                mdb_unmap_space(s);
            break;
        }
        if (!mdb_check() && bad++ == 0)
            printf("  mdb_check failed after step %u\n", step);
    }
    CHECK_EQ(bad, 0);
    teardown();
}

/* The same random operations against a shadow model: what abi.md and
 * mdb.h promise, written as plainly as possible (a frame, rights and a
 * parent per mapping), compared with the real page tables and nodes
 * after every step. mdb_check only says the database is well formed;
 * this says it is the right one. */
enum { SP = 4, PG = 16, CELLS = SP * PG };
struct cell {
    bool present, w, x;
    paddr_t frame;
    int parent;             /* a cell, or -1: a root */
};
static struct cell model[CELLS];

/* mdb.c's node as the companion word points to it: its first three
 * fields (checked against the page each time, so a change of layout
 * fails loudly rather than comparing garbage). */
struct node_view {
    struct space *space;
    uint64_t va;
    struct node_view *parent;
};

static bool derives(int c, int from)          /* is c from, or below it? */
{
    for (; c >= 0; c = model[c].parent)
        if (c == from)
            return true;
    return false;
}

static void m_remove_tree(int c)
{
    bool gone[CELLS];           /* all of the tree first: clearing cuts the chains */
    for (int d = 0; d < CELLS; d++)
        gone[d] = model[d].present && derives(d, c);
    for (int d = 0; d < CELLS; d++)
        if (gone[d] || d == c)
            model[d] = (struct cell){ .parent = -1 };
}

static void m_reduce_below(int c, bool own, bool clear_w, bool clear_x)
{
    for (int d = 0; d < CELLS; d++)
        if (model[d].present && derives(d, c) && (own || d != c)) {
            if (clear_w)
                model[d].w = false;
            if (clear_x)
                model[d].x = false;
        }
}

static void m_map_root(int c, paddr_t f, bool w, bool x)
{
    if (model[c].present && model[c].parent < 0 && model[c].frame == f && model[c].w == w &&
        model[c].x == x)
        return;
    if (model[c].present)
        m_remove_tree(c);
    model[c] = (struct cell){ true, w, x, f, -1 };
}

static void m_map(int from, int to, unsigned rights, bool grant)
{
    if (!model[from].present)
        return;
    if (to == from || (model[to].present && derives(from, to)))
        return;
    bool w = model[from].w && (rights & L4_W), x = model[from].x && (rights & L4_X);
    if (model[to].present)
        m_remove_tree(to);
    if (!grant) {
        model[to] = (struct cell){ true, w, x, model[from].frame, from };
        return;
    }
    bool lost_w = model[from].w && !w, lost_x = model[from].x && !x;
    model[to] = (struct cell){ true, w, x, model[from].frame, model[from].parent };
    for (int d = 0; d < CELLS; d++)         /* from's children are to's now */
        if (model[d].present && model[d].parent == from)
            model[d].parent = to;
    model[from] = (struct cell){ .parent = -1 };
    m_reduce_below(to, false, lost_w, lost_x);
}

static void m_unmap(int c, unsigned flags)
{
    if (!model[c].present)
        return;
    bool own = flags & L4_UNMAP_OWN;
    if (!(flags & L4_UNMAP_FLUSH)) {
        m_reduce_below(c, own, true, false);
    } else if (own) {
        m_remove_tree(c);
    } else {
        for (int d = 0; d < CELLS; d++)
            if (d != c && model[d].present && model[d].parent == c)
                m_remove_tree(d);
    }
}

/* The real state of cell c against the model's: NULL if they agree. */
static const char *differs(struct space *const sp[SP], int c)
{
    struct space *s = sp[c / PG];
    uint64_t va = V1 + (uint64_t)(c % PG) * PAGE_SIZE;
    uint64_t *e = paging_user_pte(s->pml4, va, false);
    bool present = e && (*e & PTE_P);
    const struct cell *m = &model[c];
    if (present != m->present)
        return present ? "mapped, the model has nothing" : "not mapped, the model has a page";
    if (!present)
        return NULL;
    if ((*e & PTE_ADDR) != m->frame)
        return "another frame";
    if (!!(*e & PTE_W) != m->w)
        return "write right differs";
    if (!(*e & PTE_NX) != m->x)
        return "execute right differs";
    const struct node_view *n = *(struct node_view **)PAGING_COMPANION(e);
    if (!n || n->space != s || n->va != va)
        return "no node beside the entry (or mdb_node's layout changed)";
    if (m->parent < 0)
        return n->parent ? "has a parent, the model's is a root" : NULL;
    struct space *ps = sp[m->parent / PG];
    uint64_t pva = V1 + (uint64_t)(m->parent % PG) * PAGE_SIZE;
    if (!n->parent || n->parent->space != ps || n->parent->va != pva)
        return "another parent";
    return NULL;
}

static void test_random_against_model(void)
{
    setup();
    struct space *const sp[SP] = { A, B, C, D };
    for (int c = 0; c < CELLS; c++)
        model[c] = (struct cell){ .parent = -1 };
    rng = 0x2545f4914f6cdd1dull;
    unsigned bad = 0, done[6] = { 0 };
    for (unsigned step = 0; step < 20000 && !bad; step++) {
        int c = (int)(rnd() % CELLS), d = (int)(rnd() % CELLS);
        struct space *s = sp[c / PG], *t = sp[d / PG];
        uint64_t va = V1 + (uint64_t)(c % PG) * PAGE_SIZE, dva = V1 + (uint64_t)(d % PG) * PAGE_SIZE;
        unsigned op = (unsigned)(rnd() % 16), r = (unsigned)(rnd() % 8);
        if (op == 0) {
            paddr_t f = frame[rnd() % 8];
            bool w = rnd() & 1, x = rnd() & 1;
            CHECK(mdb_map_root(s, va, f, w, x));
            m_map_root(c, f, w, x);
        } else if (op < 7) {
            CHECK(mdb_map(s, va, t, dva, r, false));
            m_map(c, d, r, false);
        } else if (op < 10) {
            CHECK(mdb_map(s, va, t, dva, r, true));
            m_map(c, d, r, true);
        } else if (op < 15) {
            mdb_unmap(s, va, r % 4);
            m_unmap(c, r % 4);
        } else {
            if (rnd() % 8)
                continue;
            mdb_unmap_space(s);
            for (int e = (c / PG) * PG; e < (c / PG + 1) * PG; e++)
                if (model[e].present)
                    m_remove_tree(e);
        }
        done[op == 0 ? 0 : op < 7 ? 1 : op < 10 ? 2 : op < 15 ? 3 : 4]++;
        for (int e = 0; e < CELLS; e++) {
            const char *why = differs(sp, e);
            if (why && bad++ == 0)
                printf("  step %u (op %u, cell %d -> %d): space %d page %d: %s\n", step, op, c, d,
                       e / PG, e % PG, why);
        }
        if (!mdb_check() && bad++ == 0)
            printf("  mdb_check failed after step %u\n", step);
    }
    CHECK_EQ(bad, 0);
    CHECK(done[0] > 100 && done[1] > 100 && done[2] > 100 && done[3] > 100);
    teardown();
}

int main(void)
{
    check_prog = "mdb";
    RUN(test_map_root);
    RUN(test_map_child_rights);
    RUN(test_recursive_unmap);
    RUN(test_grant);
    RUN(test_caching_passes_on);
    RUN(test_map_over);
    RUN(test_unmap_space);
    RUN(test_exhaustion);
    RUN(test_tlb);
    RUN(test_check_detects);
    RUN(test_deep_chain);
    RUN(test_map_fpage_windows);
    RUN(test_random_operations);
    RUN(test_random_against_model);
    CHECK_EXIT();
}
