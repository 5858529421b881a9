/* Arenas: the root's Lua states each take their memory from an arena of
 * their own, not block by block from the one malloc heap (docs/runtime.md
 * "The heap"). Without them, each state closed among long-lived ones left
 * holes that the next state's blocks did not fill, and the heap's top rose
 * with every restart of a root thread (make soak: 8 -> 20 MiB).
 *
 * An arena takes chunks of CHUNK bytes and cuts its small
 * blocks (up to SMALL_MAX) out of them: no header, since Lua passes every
 * block's size back to the allocator (osize); NCLASS size classes, each
 * with a free list of the arena's freed blocks of that class. Larger
 * blocks have a header linking them into the arena's list: under RUN_MIN
 * (header included) they are malloc's; from RUN_MIN on, each is a run of
 * pool pages of its own. A chunk is a slot of the root's address space
 * (RT_ARENA_BASE) backed by pages of the pager's pool (rt_task_arena: the
 * pages any Lua task's faults take too); a run starts a run of slots, as
 * many of their pages backed as the block needs. When the state is
 * closed, or given up (a thread stopped inside C: threads.c), the arena
 * goes whole: its chunks to the list of spare chunks, which serves the
 * next arena (SPARE_MAX), and those beyond it back to the pool, its runs
 * back to the pool, its other large blocks back to malloc. So what a root
 * Lua state held serves any task once it is gone, and the heap holds
 * large blocks under RUN_MIN only, which malloc coalesces.
 *
 * An arena is used by its state's thread alone (one at a time: the
 * creator, then the thread). The spare chunks and the figures are the
 * task's, under the libc lock. Only the root uses arenas: a Lua task's
 * states all end with the task, whose heap goes with it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rt.h"

#define CHUNK       RT_ARENA_CHUNK  /* bytes of a chunk (64 KiB), its link included */
#define CHUNK_HEAD  16u             /* the link, keeping blocks 16-aligned */
#define SMALL_MAX   4096u
#define SPARE_MAX   16u             /* spare chunks kept (1 MiB); more go to the pool */
#define RUN_MIN     (8 * CHUNK)     /* bytes (header included) from which a block is a run */
#define PAGE        4096u
#define SLOT_PAGES  (CHUNK / PAGE)  /* pages a slot holds, and a request maps at most */
#define RUNS_FREE   256u            /* runs of slots given back, kept for reuse */
#define KEEP_PAGES  1024u           /* pages of its freed runs an arena keeps (4 MiB) */
/* Classes: 16 to 256 bytes by 16, to 1024 by 64, to 4096 by 256. */
#define NCLASS      40

struct big {                        /* before a large block: the arena's list */
    struct big *prev, *next;
    uint64_t slots;                 /* a run: the slots it starts (0: malloc's) */
    uint64_t pages;                 /* and the pages of them backed */
};

struct rt_arena {
    struct rt_counter c;            /* first: states.c counts through it */
    char *chunks;                   /* this arena's chunks, linked by their first word */
    char *bump, *end;               /* the free end of the newest chunk */
    void *free[NCLASS];             /* freed blocks per class, linked by their first word */
    struct big *bigs;               /* large blocks */
    struct big *odd;                /* large blocks shrunk to small ones (see shrink) */
    struct big *kept;               /* freed runs kept for its next ones, and their */
    uint64_t kept_pages;            /*   pages (KEEP_PAGES at most) */
    size_t nchunks, big_bytes;
    struct rt_arena *gone;          /* on the list of given-up arenas */
};

/* Under the libc lock. */
static char *spare;                 /* spare chunks, linked by their first word */
static unsigned nspare;
/* Chunk slots: the next never used, and those given back (a stack; one
 * more than it holds is left unused: the slots are 1M). */
static uint64_t slot_next = RT_ARENA_BASE;
static uint64_t slot_free[1024];
static unsigned nslot_free;
/* Runs of slots given back (address-ordered, neighbours merged): large
 * blocks' runs are cut from them first, else from slot_next. A run given
 * back when the list is full is not used again (64 GiB of slots). */
static struct { uint64_t va, slots; } runs_free[RUNS_FREE];
static unsigned nruns_free;
static uint64_t chunks_held;        /* chunks of living arenas */
static uint64_t big_held;           /* bytes of their large blocks */
/* Given up by threads.c (perhaps from the pager thread, which takes no
 * lock and calls no malloc): released by the next rt_arena_new. */
static struct rt_arena *volatile gone;

static unsigned class_of(size_t n)
{
    if (n <= 256)
        return (unsigned)((n + 15) / 16) - 1 + (n == 0);
    if (n <= 1024)
        return 16 + (unsigned)((n - 256 + 63) / 64) - 1;
    return 28 + (unsigned)((n - 1024 + 255) / 256) - 1;
}

static size_t class_size(unsigned k)
{
    if (k < 16)
        return 16 * (size_t)(k + 1);
    if (k < 28)
        return 256 + 64 * (size_t)(k - 15);
    return 1024 + 256 * (size_t)(k - 27);
}

static void slot_put(uint64_t va)
{
    rt_libc_lock();
    if (nslot_free < sizeof slot_free / sizeof slot_free[0])
        slot_free[nslot_free++] = va;
    rt_libc_unlock();
}

/* A chunk of pool pages (the pager maps them; no lock held meanwhile),
 * or NULL if the pool has none or the slots are used up. */
static char *chunk_new(void)
{
    uint64_t va = 0;
    rt_libc_lock();
    if (nslot_free)
        va = slot_free[--nslot_free];
    else if (slot_next < RT_ARENA_BASE + RT_ARENA_SLOTS * CHUNK)
        va = (slot_next += CHUNK) - CHUNK;
    rt_libc_unlock();
    if (!va)
        return NULL;
    if (rt_task_arena(va, SLOT_PAGES, 1, NULL) != RT_TASK_OK) {
        rt_task_arena(va, 0, 1, NULL);      /* whatever was taken for it */
        slot_put(va);
        return NULL;
    }
    return (char *)va;
}

/* Its pages back to the pool, where any task's next fault takes them. */
static void chunk_free(char *ch)
{
    rt_task_arena((uint64_t)ch, 0, 1, NULL);
    slot_put((uint64_t)ch);
}

/* Runs of slots, under the libc lock: the first given back that is long
 * enough, else new ones (0: none left). */
static uint64_t run_take(uint64_t slots)
{
    for (unsigned i = 0; i < nruns_free; i++) {
        if (runs_free[i].slots < slots)
            continue;
        uint64_t va = runs_free[i].va;
        runs_free[i].va += slots * CHUNK;
        runs_free[i].slots -= slots;
        if (!runs_free[i].slots) {
            nruns_free--;
            memmove(&runs_free[i], &runs_free[i + 1], (nruns_free - i) * sizeof runs_free[0]);
        }
        return va;
    }
    if (slots > (RT_ARENA_BASE + RT_ARENA_SLOTS * CHUNK - slot_next) / CHUNK)
        return 0;
    slot_next += slots * CHUNK;
    return slot_next - slots * CHUNK;
}

static void run_put(uint64_t va, uint64_t slots)
{
    unsigned i = 0;
    while (i < nruns_free && runs_free[i].va < va)
        i++;
    if (i > 0 && runs_free[i - 1].va + runs_free[i - 1].slots * CHUNK == va) {
        runs_free[i - 1].slots += slots;            /* onto the one before */
        if (i < nruns_free && va + slots * CHUNK == runs_free[i].va) {
            runs_free[i - 1].slots += runs_free[i].slots;
            nruns_free--;
            memmove(&runs_free[i], &runs_free[i + 1], (nruns_free - i) * sizeof runs_free[0]);
        }
        return;
    }
    if (i < nruns_free && va + slots * CHUNK == runs_free[i].va) {
        runs_free[i].va = va;                       /* before the one after */
        runs_free[i].slots += slots;
        return;
    }
    if (nruns_free == RUNS_FREE)
        return;
    memmove(&runs_free[i + 1], &runs_free[i], (nruns_free - i) * sizeof runs_free[0]);
    runs_free[i].va = va;
    runs_free[i].slots = slots;
    nruns_free++;
}

/* Whether a run of `have` pages serves a block of `need` pages: not
 * smaller, and at most twice as large. */
static int run_fits(uint64_t have, uint64_t need)
{
    return need <= have && have < 2 * need + 1;
}

/* A run for a block of n bytes with its header: one of a's kept runs
 * that fits, else a new one, its pages backed (one request a slot,
 * outside the lock). NULL if the pool cannot have them. */
static struct big *run_new(struct rt_arena *a, size_t n)
{
    uint64_t pages = (n + PAGE - 1) / PAGE, slots = (pages + SLOT_PAGES - 1) / SLOT_PAGES;
    for (struct big **k = &a->kept; *k; k = &(*k)->next) {
        if (run_fits((*k)->pages, pages)) {
            struct big *h = *k;
            *k = h->next;
            a->kept_pages -= h->pages;
            return h;
        }
    }
    rt_libc_lock();
    uint64_t va = run_take(slots);
    rt_libc_unlock();
    if (!va)
        return NULL;
    for (uint64_t done = 0; done < pages; done += SLOT_PAGES) {
        unsigned k = pages - done < SLOT_PAGES ? (unsigned)(pages - done) : SLOT_PAGES;
        if (rt_task_arena(va + done * PAGE, k, 1, NULL) != RT_TASK_OK) {
            rt_task_arena(va, 0, slots, NULL);
            rt_libc_lock();
            run_put(va, slots);
            rt_libc_unlock();
            return NULL;
        }
    }
    struct big *h = (struct big *)va;
    h->slots = slots;
    h->pages = pages;
    return h;
}

/* A large block's memory back: a run's pages to the pool, else malloc's. */
static void big_free(struct big *h)
{
    if (!h->slots) {
        free(h);
        return;
    }
    uint64_t va = (uint64_t)h, slots = h->slots;
    rt_task_arena(va, 0, slots, NULL);
    rt_libc_lock();
    run_put(va, slots);
    rt_libc_unlock();
}

/* A new chunk for a: a spare one, else one of pool pages. What is left of
 * the old one goes to the free lists, in the largest blocks that fit. */
static int grow(struct rt_arena *a)
{
    size_t left = (size_t)(a->end - a->bump);
    while (left >= 16) {
        unsigned k = class_of(left);
        if (class_size(k) > left)
            k--;
        *(void **)a->bump = a->free[k];
        a->free[k] = a->bump;
        a->bump += class_size(k);
        left -= class_size(k);
    }
    rt_libc_lock();
    char *ch = spare;
    if (ch) {
        spare = *(char **)ch;
        nspare--;
    }
    rt_libc_unlock();
    if (!ch && !(ch = chunk_new()))
        return 0;
    rt_libc_lock();
    chunks_held++;
    rt_libc_unlock();
    *(char **)ch = a->chunks;
    a->chunks = ch;
    a->nchunks++;
    a->bump = ch + CHUNK_HEAD;
    a->end = ch + CHUNK;
    return 1;
}

static void *small_get(struct rt_arena *a, unsigned k)
{
    void *p = a->free[k];
    if (p) {
        a->free[k] = *(void **)p;
        return p;
    }
    size_t n = class_size(k);
    if ((size_t)(a->end - a->bump) < n && !grow(a))
        return NULL;
    p = a->bump;
    a->bump += n;
    return p;
}

static void *big_get(struct rt_arena *a, size_t n)
{
    struct big *h;
    if (sizeof *h + n >= RUN_MIN)
        h = run_new(a, sizeof *h + n);
    else if ((h = malloc(sizeof *h + n)))
        h->slots = 0;
    if (!h)
        return NULL;
    h->prev = NULL;
    h->next = a->bigs;
    if (a->bigs)
        a->bigs->prev = h;
    a->bigs = h;
    a->big_bytes += n;
    rt_libc_lock();
    big_held += n;
    rt_libc_unlock();
    return h + 1;
}

static void unlink_big(struct rt_arena *a, struct big *h)
{
    if (h->prev)
        h->prev->next = h->next;
    else
        a->bigs = h->next;
    if (h->next)
        h->next->prev = h->prev;
}

static void put(struct rt_arena *a, void *p, size_t n)
{
    if (n <= SMALL_MAX) {
        unsigned k = class_of(n);
        *(void **)p = a->free[k];
        a->free[k] = p;
        return;
    }
    struct big *h = (struct big *)p - 1;
    unlink_big(a, h);
    a->big_bytes -= n;
    rt_libc_lock();
    big_held -= n;
    rt_libc_unlock();
    if (h->slots && a->kept_pages + h->pages <= KEEP_PAGES) {
        /* kept, mapped, for the next run of about its size: a buffer
         * that grows by doubling, freed and made again, would map and
         * unmap its pages each time */
        h->next = a->kept;
        a->kept = h;
        a->kept_pages += h->pages;
        return;
    }
    big_free(h);
}

/* The block p of osize bytes (p NULL: none) made nsize bytes (not 0). */
static void *resize(struct rt_arena *a, void *p, size_t osize, size_t nsize)
{
    if (p == NULL)
        return nsize <= SMALL_MAX ? small_get(a, class_of(nsize)) : big_get(a, nsize);
    if (osize <= SMALL_MAX && nsize <= SMALL_MAX && class_of(osize) == class_of(nsize))
        return p;
    struct big *h = (struct big *)p - 1;
    if (osize > SMALL_MAX && nsize > SMALL_MAX &&
        (h->slots ? run_fits(h->pages, (sizeof *h + nsize + PAGE - 1) / PAGE)
                  : sizeof *h + nsize < RUN_MIN)) {
        /* A run that still fits stays; a malloc'd block that stays under
         * RUN_MIN is realloc's. Else moved, below. */
        struct big *nh = h->slots ? h : realloc(h, sizeof *h + nsize);
        if (!nh)
            return NULL;
        if (nh->prev)
            nh->prev->next = nh;
        else
            a->bigs = nh;
        if (nh->next)
            nh->next->prev = nh;
        a->big_bytes = a->big_bytes - osize + nsize;
        rt_libc_lock();
        big_held = big_held - osize + nsize;
        rt_libc_unlock();
        return nh + 1;
    }
    void *q = nsize <= SMALL_MAX ? small_get(a, class_of(nsize)) : big_get(a, nsize);
    if (q == NULL) {
        if (nsize > osize)
            return NULL;
        /* A shrink must not fail (Lua counts on it). A small block stays
         * where it is: freed later, its class is the smaller one's (its
         * tail is lost until the arena goes). A large block made small
         * becomes an odd one: kept whole until the arena goes. */
        if (osize > SMALL_MAX && nsize > SMALL_MAX) {
            /* a run that could not move to a smaller one stays as it is:
             * a large block still, of nsize bytes */
            a->big_bytes = a->big_bytes - osize + nsize;
            rt_libc_lock();
            big_held = big_held - osize + nsize;
            rt_libc_unlock();
        } else if (osize > SMALL_MAX) {
            unlink_big(a, h);
            h->next = a->odd;
            a->odd = h;
        }
        return p;
    }
    memcpy(q, p, osize < nsize ? osize : nsize);
    put(a, p, osize);
    return q;
}

/* Lua's allocator (lua_Alloc) of a state with an arena: as states.c's
 * capped_alloc, the counter and the cap, but the blocks are the arena's. */
void *rt_arena_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct rt_arena *a = ud;
    if (ptr == NULL)
        osize = 0;      /* then osize is the kind of object, not a size */
    if (nsize == 0) {
        if (ptr)
            put(a, ptr, osize);
        a->c.used -= osize;
        return NULL;
    }
    if (nsize > osize && (a->c.used > a->c.cap || nsize - osize > a->c.cap - a->c.used))
        return NULL;
    void *p = resize(a, ptr, osize, nsize);
    if (p)
        a->c.used = a->c.used - osize + nsize;
    return p;
}

/* Frees an arena: its chunks to the spare list, those beyond it to the
 * pool (outside the lock), its large blocks to malloc. */
static void release(struct rt_arena *a)
{
    uint64_t bytes = 0;
    char *extra = NULL;
    for (struct big *h = a->bigs, *next; h; h = next) {
        next = h->next;
        big_free(h);
    }
    for (struct big *h = a->odd, *next; h; h = next) {
        next = h->next;
        big_free(h);
    }
    for (struct big *h = a->kept, *next; h; h = next) {
        next = h->next;
        big_free(h);
    }
    bytes = a->big_bytes;
    rt_libc_lock();
    big_held -= bytes;
    chunks_held -= a->nchunks;
    for (char *ch = a->chunks, *next; ch; ch = next) {
        next = *(char **)ch;
        if (nspare < SPARE_MAX) {
            *(char **)ch = spare;
            spare = ch;
            nspare++;
        } else {
            *(char **)ch = extra;
            extra = ch;
        }
    }
    rt_libc_unlock();
    for (char *ch = extra, *next; ch; ch = next) {
        next = *(char **)ch;
        chunk_free(ch);
    }
    free(a);
}

struct rt_arena *rt_arena_new(void)
{
    struct rt_arena *g = __atomic_exchange_n(&gone, NULL, __ATOMIC_ACQUIRE);
    while (g) {
        struct rt_arena *next = g->gone;
        release(g);
        g = next;
    }
    struct rt_arena *a = calloc(1, sizeof *a);
    if (a) {
        a->c.cap = SIZE_MAX;
        a->c.arena = 1;
    }
    return a;
}

void rt_arena_close(struct rt_arena *a)
{
    release(a);
}

void rt_arena_giveup(struct rt_arena *a)
{
    struct rt_arena *head = gone;
    do
        a->gone = head;
    while (!__atomic_compare_exchange_n(&gone, &head, a, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED));
}

void rt_arena_figures(uint64_t *held, uint64_t *spare_bytes)
{
    rt_libc_lock();
    *held = chunks_held * CHUNK + big_held;
    *spare_bytes = (uint64_t)nspare * CHUNK;
    rt_libc_unlock();
}
