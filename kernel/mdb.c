/* The mapping database (mdb.h): one node per mapped user page, in trees
 * of derivation; nodes carved from pool frames. */
#include "mdb.h"
#include "assert.h"
#include "kmem.h"
#include "map.h"
#include "space.h"
#include "arch.h"

struct mdb_node {
    struct space *space;            /* where this mapping is; NULL: free node */
    uint64_t va;
    struct mdb_node *parent;        /* mapped from; NULL: a root */
    struct mdb_node *child;         /* first of the mappings made from it */
    struct mdb_node *next, *prev;   /* siblings (same parent; roots have none);
                                       next links the free list of a slab */
};

/* What a mapping passes on to those made from it: frame, rights (which
 * may then shrink) and caching; not accessed/dirty. */
#define PTE_MAPPING (PTE_ADDR | PTE_P | PTE_U | PTE_W | PTE_NX | PTE_PCD | PTE_PWT)

/* ---- Nodes: pool frames (slabs) carved into nodes ---- */

/* A slab's header sits at the start of its frame, its nodes after it;
 * slabs with a free node are on a list. A slab whose nodes are all free
 * goes back to the pool at once, so the pool holds no idle node memory. */
struct slab {
    struct slab *next, *prev;
    struct mdb_node *free;
    unsigned used;
};
#define SLAB_NODES ((PAGE_SIZE - sizeof(struct slab)) / sizeof(struct mdb_node))

static struct slab *partial;        /* slabs with free nodes */
static size_t live;                 /* nodes in use */
static size_t slabs;                /* pool frames held as slabs */

static void slab_unlist(struct slab *sl)
{
    if (sl->next)
        sl->next->prev = sl->prev;
    if (sl->prev)
        sl->prev->next = sl->next;
    else
        partial = sl->next;
    sl->next = sl->prev = NULL;
}

static void slab_list(struct slab *sl)
{
    sl->prev = NULL;
    sl->next = partial;
    if (partial)
        partial->prev = sl;
    partial = sl;
}

/* A node with every link NULL, or NULL when the pool is exhausted. */
static struct mdb_node *node_alloc(void)
{
    struct slab *sl = partial;
    if (!sl) {
        paddr_t f = kmem_alloc_frame();     /* zeroed */
        if (!f)
            return NULL;
        sl = phys_to_virt(f);
        slabs++;
        struct mdb_node *n = (struct mdb_node *)(sl + 1);
        for (unsigned i = 0; i < SLAB_NODES; i++) {
            n[i].next = sl->free;
            sl->free = &n[i];
        }
        slab_list(sl);
    }
    struct mdb_node *n = sl->free;
    sl->free = n->next;
    if (++sl->used == SLAB_NODES)
        slab_unlist(sl);
    live++;
    *n = (struct mdb_node){ 0 };
    return n;
}

static void node_free(struct mdb_node *n)
{
    struct slab *sl = (struct slab *)((uintptr_t)n & ~(PAGE_SIZE - 1));
    n->space = NULL;
    n->next = sl->free;
    sl->free = n;
    if (sl->used-- == SLAB_NODES)
        slab_list(sl);
    if (sl->used == 0) {
        slab_unlist(sl);
        kmem_free_frame(virt_to_phys(sl));
        slabs--;
    }
    live--;
}

size_t mdb_frames(void)
{
    return slabs;
}

/* ---- Entries ---- */

static struct mdb_node **slot_of(uint64_t *pte)
{
    return (struct mdb_node **)PAGING_COMPANION(pte);
}

/* The node of s's page at va, NULL if none; *pte its entry (if any). */
static struct mdb_node *lookup(struct space *s, uint64_t va, uint64_t **pte)
{
    *pte = paging_user_pte(s->pml4, va, false);
    return *pte ? *slot_of(*pte) : NULL;
}

static uint64_t *pte_of(const struct mdb_node *n)
{
    uint64_t *e = paging_user_pte(n->space->pml4, n->va, false);
    kassert(e && *slot_of(e) == n);
    return e;
}

/* TLB: user pages are never global (no PTE_G below USER_TOP). A present
 * entry that changes may be cached: space_flush_page. An absent one is
 * never cached, so filling it needs nothing. */
static void pte_set(const struct mdb_node *n, uint64_t *e, uint64_t v)
{
    uint64_t old = *e;
    *e = v;
    if (old & PTE_P)
        space_flush_page(n->space, n->va);
}

/* Gives n (space and va set) the empty entry e with value v. */
static void install(struct mdb_node *n, uint64_t *e, uint64_t v)
{
    kassert(!(*e & PTE_P) && !*slot_of(e));
    pte_set(n, e, v);
    *slot_of(e) = n;
}

/* ---- Trees ---- */

static void link_under(struct mdb_node *n, struct mdb_node *parent)
{
    n->parent = parent;
    n->prev = NULL;
    n->next = parent->child;
    if (n->next)
        n->next->prev = n;
    parent->child = n;
}

static void unlink(struct mdb_node *n)
{
    if (n->next)
        n->next->prev = n->prev;
    if (n->prev)
        n->prev->next = n->next;
    else if (n->parent)
        n->parent->child = n->next;
}

/* Removes n and everything derived from it: entries, links, nodes.
 * Iterative (a chain of mappings may be as deep as memory allows, the
 * kernel stack is not): take the first leaf below, remove it, go back up
 * to its parent; each node is passed down once and up once. */
static void remove_tree(struct mdb_node *n)
{
    struct mdb_node *c = n;
    for (;;) {
        while (c->child)
            c = c->child;
        struct mdb_node *up = c->parent;
        uint64_t *e = pte_of(c);
        pte_set(c, e, 0);
        *slot_of(e) = NULL;
        unlink(c);
        node_free(c);
        if (c == n)
            return;
        c = up;
    }
}

/* Clears the bits 'clear' and sets 'set' in n's entry; false if that
 * changed nothing (n lacked those rights already). */
static bool reduce_one(const struct mdb_node *n, uint64_t clear, uint64_t set)
{
    uint64_t *e = pte_of(n), v = (*e & ~clear) | set;
    if (v == *e)
        return false;
    pte_set(n, e, v);
    return true;
}

/* Rights only shrink: reduces (reduce_one) what derives from top, and top
 * itself if self. A node that lacked those rights already is skipped with
 * its subtree: a child never has more rights than its parent. */
static void reduce(struct mdb_node *top, bool self, uint64_t clear, uint64_t set)
{
    if (self && !reduce_one(top, clear, set))
        return;
    struct mdb_node *c = top->child;
    while (c) {
        if (reduce_one(c, clear, set) && c->child) {
            c = c->child;
            continue;
        }
        while (!c->next && c->parent != top)
            c = c->parent;
        c = c->next;
    }
}

/* Is n derived (at any depth) from a? */
static bool derives_from(const struct mdb_node *n, const struct mdb_node *a)
{
    for (n = n->parent; n; n = n->parent)
        if (n == a)
            return true;
    return false;
}

bool mdb_map_root(struct space *s, uint64_t va, paddr_t pa, bool writable, bool exec)
{
    if (va >= L4_USER_LIMIT || va % PAGE_SIZE || (pa & ~PTE_ADDR))
        return false;
    uint64_t *e = paging_user_pte(s->pml4, va, true);
    if (!e)
        return false;
    uint64_t v = pa | PTE_P | PTE_U | (writable ? PTE_W : 0) | (exec ? 0 : PTE_NX);
    struct mdb_node *old = *slot_of(e), *n;
    if (old && !old->parent && !((*e ^ v) & (PTE_ADDR | PTE_W | PTE_NX)))
        return true;
    if (!(n = node_alloc()))
        return false;
    if (old)
        remove_tree(old);
    n->space = s;
    n->va = va;
    install(n, e, v);
    return true;
}

bool mdb_map(struct space *from, uint64_t va, struct space *to, uint64_t dva, unsigned rights,
             bool grant)
{
    uint64_t *se, *de;
    struct mdb_node *n = lookup(from, va, &se);
    if (!n)
        return true;
    /* Tables first: then nothing below can fail after the old mapping
     * at dva is gone (tables are freed only with their space). */
    if (!(de = paging_user_pte(to->pml4, dva, true)))
        return false;
    struct mdb_node *old = *slot_of(de);
    if (old == n || (old && derives_from(n, old)))
        return true;
    uint64_t v = (*se & PTE_MAPPING) | (rights & L4_X ? 0 : PTE_NX);
    if (!(rights & L4_W))
        v &= ~PTE_W;
    struct mdb_node *m = grant ? n : node_alloc();
    if (!m)
        return false;
    if (old)
        remove_tree(old);
    if (grant) {
        /* The node moves: the receiver's mapping takes the sender's place
         * in the tree, the sender's entry goes. */
        uint64_t was = *se;
        pte_set(n, se, 0);
        *slot_of(se) = NULL;
        n->space = to;
        n->va = dva;
        install(n, de, v);
        uint64_t clear = was & ~v & PTE_W, set = v & ~was & PTE_NX;
        if (clear | set)
            reduce(n, false, clear, set);
        return true;
    }
    m->space = to;
    m->va = dva;
    link_under(m, n);
    install(m, de, v);
    return true;
}

void mdb_unmap(struct space *s, uint64_t va, unsigned flags)
{
    uint64_t *e;
    struct mdb_node *n = lookup(s, va, &e);
    bool own = flags & L4_UNMAP_OWN;
    if (!n)
        return;
    if (!(flags & L4_UNMAP_FLUSH))
        reduce(n, own, PTE_W, 0);
    else if (own)
        remove_tree(n);
    else
        while (n->child)
            remove_tree(n->child);
}

void mdb_unmap_space(struct space *s)
{
    uint64_t *e;
    for (uint64_t va = 0; (va = paging_next_mapped(s->pml4, va, L4_USER_LIMIT)) < L4_USER_LIMIT;
         va += PAGE_SIZE) {
        struct mdb_node *n = lookup(s, va, &e);
        if (n)
            remove_tree(n);
    }
}

/* ---- The check ---- */

/* Is n, reached from its parent p after its sibling prev, well formed? */
static bool node_ok(const struct mdb_node *n, const struct mdb_node *p, const struct mdb_node *prev)
{
    struct space *s = n->space;
    if (n->parent != p || n->prev != prev || !s || s->task >= L4_MAX_TASKS || tasks[s->task] != s ||
        n->va >= L4_USER_LIMIT || n->va % PAGE_SIZE)
        return false;
    uint64_t *e = paging_user_pte(s->pml4, n->va, false);
    if (!e || !(*e & PTE_P) || !(*e & PTE_U) || *slot_of(e) != n)
        return false;
    if (!p)
        return true;
    uint64_t pe = *pte_of(p);       /* p was checked before n */
    return (*e & PTE_ADDR) == (pe & PTE_ADDR) && (!(*e & PTE_W) || (pe & PTE_W)) &&
           ((*e & PTE_NX) || !(pe & PTE_NX));
}

/* Checks the tree of root r in preorder, counting its nodes in *reached;
 * more than all live nodes means the links loop. */
static bool tree_ok(const struct mdb_node *r, size_t *reached)
{
    const struct mdb_node *n = r;
    if (!node_ok(r, NULL, NULL) || r->next)
        return false;
    for (;;) {
        if (++*reached > live)
            return false;
        if (n->child) {
            if (!node_ok(n->child, n, NULL))
                return false;
            n = n->child;
            continue;
        }
        while (n != r && !n->next)
            n = n->parent;
        if (n == r)
            return true;
        if (!node_ok(n->next, n->parent, n))
            return false;
        n = n->next;
    }
}

/* Every user page of every space has its node (counted), every tree is
 * sound (reached); both counts must be all live nodes: none is lost, and
 * none hangs in a parent loop out of reach of a root. */
bool mdb_check(void)
{
    size_t mapped = 0, reached = 0;
    for (unsigned t = 1; t < L4_MAX_TASKS; t++) {
        struct space *s = tasks[t];
        uint64_t *e;
        for (uint64_t va = 0; s && (va = paging_next_mapped(s->pml4, va, L4_USER_LIMIT)) < L4_USER_LIMIT;
             va += PAGE_SIZE) {
            struct mdb_node *n = lookup(s, va, &e);
            if (!n || n->space != s || n->va != va)
                return false;
            mapped++;
            if (!n->parent && !tree_ok(n, &reached))
                return false;
        }
    }
    return mapped == live && reached == live;
}
