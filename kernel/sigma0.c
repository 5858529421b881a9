/* The split of physical memory between the kernel and sigma0, the KIP's
 * table that describes it, and sigma0's idempotent page faults.
 *
 * The split is static: decided once at boot, so the KIP can say exactly
 * which frames are sigma0's and sigma0 can check a request against it
 * before it touches anything (a fault on kernel memory is not resolved).
 * Invariants after sigma0_init:
 *  - every frame of a SIGMA0 entry of kip->mem is marked used in kmem_pmm:
 *    the kernel never allocates it, sigma0 alone hands it out;
 *  - kmem_pmm keeps at least kmem_limit - kmem_used free frames, the
 *    pool's promise, taken from the top of memory (low memory, which old
 *    devices reach by DMA, goes to sigma0);
 *  - every RAM frame at or above 1 MiB that is not sigma0's, the kernel
 *    image, the boot info and the modules lie in KERNEL entries: an
 *    address in no entry is never memory the kernel uses, so sigma0 may
 *    map it as device memory. */
#include "sigma0.h"
#include "assert.h"
#include "kip.h"
#include "kmem.h"
#include "log.h"
#include "mdb.h"
#include "memmap.h"
#include "space.h"
#include "thread.h"
#include "arch.h"

#define LOW_MEM  (1ull << 20)   /* below: BIOS areas, device memory for sigma0 */
#define MAX_RUNS 16             /* runs of RAM sigma0 gets; smaller ones stay the kernel's */
#define KRANGES  (BOOT_MAX_RANGES + BOOT_MAX_MODULES + 2)

/* Removes [s, e) from the sorted, disjoint r[0..n); the caller leaves room
 * for the one range a hole in the middle adds. Returns the new count. */
static unsigned cut(struct range *r, unsigned n, paddr_t s, paddr_t e)
{
    for (unsigned i = 0; i < n; i++) {
        struct range x = r[i];
        if (e <= x.start || s >= x.end)
            continue;
        if (s > x.start && e < x.end) {         /* a hole: x splits in two */
            for (unsigned j = n; j > i + 1; j--)
                r[j] = r[j - 1];
            r[i].end = s;
            r[i + 1] = (struct range){ e, x.end };
            return n + 1;                       /* [s, e) lay inside x alone */
        }
        if (s <= x.start && e >= x.end) {
            for (unsigned j = i; j + 1 < n; j++)
                r[j] = r[j + 1];
            n--;
            i--;
        } else if (s <= x.start) {
            r[i].start = e;
        } else {
            r[i].end = s;
        }
    }
    return n;
}

/* What the kernel keeps, before sigma0's runs are cut out: RAM from 1 MiB
 * up (page-aligned outward: a page that is partly RAM is the kernel's),
 * the image, the boot info and the modules. At most max ranges: the
 * closest neighbours are merged until it fits (the device memory between
 * becomes the kernel's; refusing it is safe). */
static unsigned kernel_ranges(const struct boot_info *bi, struct range *k, unsigned max)
{
    static struct range add[KRANGES];
    unsigned na = 0, n = 0;
    for (unsigned i = 0; i < bi->nmem; i++)
        if (bi->mem[i].type == BOOT_MEM_AVAILABLE)
            add[na++] = (struct range){ MAX(bi->mem[i].base, LOW_MEM), bi->mem[i].base + bi->mem[i].len };
    add[na++] = (struct range){ (paddr_t)_kernel_phys_start, kimage_to_phys(_kernel_end) };
    add[na++] = (struct range){ bi->info_start, bi->info_end };
    for (unsigned i = 0; i < bi->nmod; i++)
        add[na++] = (struct range){ bi->mod[i].start, bi->mod[i].end };
    for (unsigned i = 0; i < na; i++) {
        paddr_t s = ALIGN_DOWN(add[i].start, PAGE_SIZE), e = ALIGN_UP(add[i].end, PAGE_SIZE);
        if (s < e)
            k[n++] = (struct range){ s, e };
    }
    n = memmap_normalize(k, n);
    while (n > max) {
        unsigned best = 0;
        for (unsigned i = 1; i + 1 < n; i++)
            if (k[i + 1].start - k[i].end < k[best + 1].start - k[best].end)
                best = i;
        k[best].end = k[best + 1].end;
        for (unsigned j = best + 1; j + 1 < n; j++)
            k[j] = k[j + 1];
        n--;
    }
    return n;
}

/* sigma0's RAM: the free frames below the top 'reserve' free ones (which
 * stay the kernel's), as at most max runs, the largest; sorted. Walked a
 * run at a time (pmm_next). */
static unsigned pick_runs(size_t reserve, struct range *run, unsigned max)
{
    /* top: the lowest of the reserved frames (0: fewer are free) */
    size_t top = kmem_pmm.nframes;
    if (reserve > 0) {
        size_t below = kmem_pmm.nfree > reserve ? kmem_pmm.nfree - reserve : 0;
        top = 0;
        for (size_t f = pmm_next(&kmem_pmm, 0, true); kmem_pmm.nfree >= reserve && f < kmem_pmm.nframes;) {
            size_t e = pmm_next(&kmem_pmm, f, false);
            if (below < e - f) {
                top = f + below;
                break;
            }
            below -= e - f;
            f = pmm_next(&kmem_pmm, e, true);
        }
    }
    unsigned n = 0;
    for (size_t f = pmm_next(&kmem_pmm, 1, true); f < top && max > 0;) {
        size_t e = MIN(pmm_next(&kmem_pmm, f, false), top);
        struct range x = { (paddr_t)f << PAGE_SHIFT, (paddr_t)e << PAGE_SHIFT };
        f = pmm_next(&kmem_pmm, e, true);
        if (n < max) {
            run[n++] = x;
            continue;
        }
        unsigned small = 0;             /* full: replace the smallest */
        for (unsigned i = 1; i < n; i++)
            if (run[i].end - run[i].start < run[small].end - run[small].start)
                small = i;
        if (x.end - x.start > run[small].end - run[small].start)
            run[small] = x;
    }
    return memmap_normalize(run, n);
}

/* The CPU's physical address width, capped where sigma0's image begins. */
static uint64_t phys_end(void)
{
    uint32_t r[4];
    unsigned bits = 36;             /* the minimum when the leaf is missing */
    cpuid(0x80000000, 0, r);
    if (r[0] >= 0x80000008) {
        cpuid(0x80000008, 0, r);
        bits = r[0] & 0xff;
    }
    return bits >= 47 ? L4_SIGMA0_BASE : MIN(1ull << bits, L4_SIGMA0_BASE);
}

void sigma0_init(const struct boot_info *bi, bool split)
{
    static struct range k[KRANGES + 1], run[MAX_RUNS];
    /* Room: each run cut out of k adds at most one range, plus its own. */
    unsigned nk = kernel_ranges(bi, k, L4_KIP_MEM_MAX / 2);
    unsigned maxruns = MIN((unsigned)MAX_RUNS, (L4_KIP_MEM_MAX - nk) / 2);
    unsigned nrun = split ? pick_runs(kmem_headroom(), run, maxruns) : 0;
    uint64_t owned = 0;
    for (unsigned i = 0; i < nrun; i++) {
        size_t frames = (run[i].end - run[i].start) >> PAGE_SHIFT;
        kassert(pmm_claim(&kmem_pmm, run[i].start, frames));
        nk = cut(k, nk, run[i].start, run[i].end);
        owned += run[i].end - run[i].start;
    }
    /* Both lists are sorted and disjoint: merge them into the KIP. */
    unsigned n = 0;
    for (unsigned i = 0, j = 0; i < nk || j < nrun; n++) {
        bool take_run = j < nrun && (i == nk || run[j].start < k[i].start);
        struct range x = take_run ? run[j++] : k[i++];
        kassert(n < L4_KIP_MEM_MAX);
        kip->mem[n] = (struct l4_kip_mem){ x.start, x.end,
                                           take_run ? L4_KIP_MEM_SIGMA0 : L4_KIP_MEM_KERNEL };
    }
    kip->nmem = n;
    kip->mem_sigma0 = owned;
    kip->phys_end = phys_end();
    if (split)
        kprintf("sigma0: owns %lu KiB of RAM in %u ranges; the kernel keeps %lu KiB free\n",
                owned >> 10, nrun, kmem_pmm.nfree * (PAGE_SIZE / 1024));
}

static uint64_t mem_type(paddr_t pa)
{
    for (unsigned i = 0; i < kip->nmem; i++)
        if (pa >= kip->mem[i].start && pa < kip->mem[i].end)
            return kip->mem[i].type;
    return 0;                       /* device memory */
}

/* Maps frame pa at pa in sigma0's space s, as a root of the mapping
 * database: RAM cached and executable, device memory uncached (PCD) and
 * not executable. */
static bool map_idempotent(struct space *s, paddr_t pa, bool ram)
{
    if (!mdb_map_root(s, pa, pa, true, ram))
        return false;
    if (!ram) {
        uint64_t *e = paging_user_pte(s->pml4, pa, false);
        kassert(e);
        *e |= PTE_PCD;
        invlpg(pa);
    }
    return true;
}

bool sigma0_fault(struct thread *t, uint64_t addr, bool write)
{
    paddr_t pa = ALIGN_DOWN(addr, PAGE_SIZE), x;
    uint64_t pte;
    if (t->space->task != L4_SIGMA0_TASK || pa >= kip->phys_end)
        return false;
    uint64_t type = mem_type(pa);
    if (type && type != L4_KIP_MEM_SIGMA0) {
        kprintf("sigma0: %s at %lx refused: kernel memory\n", write ? "write" : "read", addr);
        return false;
    }
    if (space_lookup(t->space, pa, &x, &pte))
        return false;               /* mapped: a protection fault, not ours */
    if (!map_idempotent(t->space, pa, type == L4_KIP_MEM_SIGMA0)) {
        kprintf("sigma0: no kernel memory for the page tables to map %lx\n", pa);
        return false;
    }
    return true;
}
