/* Frame allocation for the kernel on top of the bitmap allocator. */
#include "kmem.h"
#include "assert.h"
#include "string.h"
#include "arch.h"

struct pmm kmem_pmm;
size_t kmem_used, kmem_limit;
struct range kmem_free_ranges[KMEM_MAX_RANGES];
unsigned kmem_nfree_ranges;

/* Until paging_init, only the first GiB is in the direct map (boot.S). */
#define BOOT_MAPPED (1ul << 30)

paddr_t kmem_init(const struct boot_info *bi)
{
    struct range resv[BOOT_MAX_MODULES + 3];
    unsigned n = 0;
    resv[n++] = (struct range){ 0, 1ul << 20 };    /* BIOS, real-mode data */
    resv[n++] = (struct range){ (paddr_t)_kernel_phys_start, kimage_to_phys(_kernel_end) };
    resv[n++] = (struct range){ bi->info_start, bi->info_end };
    for (unsigned i = 0; i < bi->nmod; i++)
        resv[n++] = (struct range){ bi->mod[i].start, bi->mod[i].end };
    bool lost;
    kmem_nfree_ranges = memmap_free(bi->mem, bi->nmem, resv, n, kmem_free_ranges,
                                    KMEM_MAX_RANGES, &lost);
    if (kmem_nfree_ranges == 0)
        panic("no free memory in the boot memory map");
    paddr_t limit = kmem_free_ranges[kmem_nfree_ranges - 1].end;

    /* The bitmap goes at the start of the first free range big enough. */
    size_t bytes = ALIGN_UP(pmm_bitmap_bytes(limit), PAGE_SIZE);
    paddr_t where = 0;
    for (unsigned i = 0; i < kmem_nfree_ranges && !where; i++) {
        struct range *r = &kmem_free_ranges[i];
        if (r->end - r->start >= bytes && r->start + bytes <= BOOT_MAPPED)
            where = r->start;
    }
    if (!where)
        panic("no room below 1 GiB for the frame bitmap (%lu bytes)", bytes);
    pmm_init(&kmem_pmm, phys_to_virt(where), limit);
    for (unsigned i = 0; i < kmem_nfree_ranges; i++)
        pmm_release(&kmem_pmm, kmem_free_ranges[i].start, kmem_free_ranges[i].end);
    kassert(pmm_claim(&kmem_pmm, where, bytes / PAGE_SIZE));
    return limit;
}

paddr_t kmem_alloc_frame(void)
{
    return kmem_alloc_contig(1);
}

void kmem_free_frame(paddr_t pa)
{
    kmem_free_contig(pa, 1);
}

paddr_t kmem_alloc_contig(size_t n)
{
    if (kmem_limit && kmem_used + n > kmem_limit)
        return 0;
    paddr_t pa = n == 1 ? pmm_alloc(&kmem_pmm) : pmm_alloc_contig(&kmem_pmm, n, n * PAGE_SIZE);
    if (!pa)
        return 0;
    kmem_used += n;
    memset(phys_to_virt(pa), 0, n * PAGE_SIZE);
    return pa;
}

void kmem_free_contig(paddr_t pa, size_t n)
{
    kassert(kmem_used >= n);
    pmm_free(&kmem_pmm, pa, n);
    kmem_used -= n;
}

size_t kmem_headroom(void)
{
    if (!kmem_limit)
        return kmem_pmm.nfree;      /* no limit: every free frame */
    return kmem_limit > kmem_used ? kmem_limit - kmem_used : 0;
}

paddr_t kmem_alloc_user_frame(void)
{
    paddr_t pa = pmm_alloc(&kmem_pmm);
    if (pa)
        memset(phys_to_virt(pa), 0, PAGE_SIZE);
    return pa;
}
