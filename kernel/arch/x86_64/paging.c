/* Kernel page tables: the direct map of physical memory and the image. */
#include "paging.h"
#include "arch.h"
#include "cpu.h"
#include "layout.h"
#include "../../assert.h"
#include "../../kmem.h"
#include "../../string.h"

paddr_t kernel_pml4;
bool paging_pcid;

static unsigned index_of(vaddr_t va, int level)   /* level 3 = PML4 ... 0 = PT */
{
    return (unsigned)(va >> (12 + 9 * level)) & 511;
}

/* The entry for va at the given level, allocating tables on the way if
 * create; NULL if a table is missing (or could not be allocated). A user
 * page table (level 0) comes with its companion frame (paging.h). */
static uint64_t *walk(paddr_t pml4, vaddr_t va, int level, bool create)
{
    uint64_t *table = phys_to_virt(pml4);
    for (int l = 3; l > level; l--) {
        uint64_t *e = &table[index_of(va, l)];
        if (!(*e & PTE_P)) {
            if (!create)
                return NULL;
            paddr_t t = l == 1 && va < USER_TOP ? kmem_alloc_contig(2) : kmem_alloc_frame();
            if (!t)
                return NULL;
            *e = t | PTE_P | PTE_W | (va < USER_TOP ? PTE_U : 0);
        } else if (*e & PTE_PS) {
            return NULL;    /* a large page is in the way */
        }
        table = phys_to_virt(*e & PTE_ADDR);
    }
    return &table[index_of(va, level)];
}

bool paging_map(paddr_t pml4, vaddr_t va, paddr_t pa, uint64_t flags)
{
    uint64_t *e = walk(pml4, va, (flags & PTE_PS) ? 1 : 0, true);
    if (!e)
        return false;
    *e = pa | flags | PTE_P;
    return true;
}

/* The walk for user pages, unrolled (every map and unmap takes it): the
 * user half has no large pages, so each level is one test; walk() makes
 * the tables that are missing. */
uint64_t *paging_user_pte(paddr_t pml4, vaddr_t va, bool create)
{
    uint64_t *t = phys_to_virt(pml4);
#pragma GCC unroll 3
    for (int l = 3; l > 0; l--) {
        uint64_t e = t[index_of(va, l)];
        if ((e & (PTE_P | PTE_PS)) != PTE_P)
            return create ? walk(pml4, va, 0, true) : NULL;
        t = phys_to_virt(e & PTE_ADDR);
    }
    return &t[index_of(va, 0)];
}

uint64_t *paging_lookup(paddr_t pml4, vaddr_t va)
{
    uint64_t *table = phys_to_virt(pml4);
    for (int l = 3; l >= 0; l--) {
        uint64_t *e = &table[index_of(va, l)];
        if (!(*e & PTE_P))
            return NULL;
        if (l == 0 || (*e & PTE_PS))
            return e;
        table = phys_to_virt(*e & PTE_ADDR);
    }
    return NULL;
}

static void map_image(paddr_t pml4)
{
    extern char boot_stack_guard[];
    for (char *v = _text; v < _kernel_end; v += PAGE_SIZE) {
        uint64_t flags = PTE_G;
        if (v >= _etext)
            flags |= PTE_NX;
        if (v >= _erodata)
            flags |= PTE_W;
        if (v == boot_stack_guard)
            continue;       /* the boot stack's guard page stays unmapped */
        if (!paging_map(pml4, (vaddr_t)v, kimage_to_phys(v), flags))
            goto nomem;
    }
    return;
nomem:
    panic("out of memory building kernel page tables");
}

void paging_init(paddr_t phys_limit)
{
    kernel_pml4 = kmem_alloc_frame();
    if (!kernel_pml4)
        panic("out of memory building kernel page tables");
    /* CR4.PGE so global kernel mappings survive address-space switches. */
    WRITE_CR(4, READ_CR(4) | (1u << 7));
    paddr_t top = ALIGN_UP(phys_limit, 1ul << 21);
    for (paddr_t pa = 0; pa < top; pa += 1ul << 21)
        if (!paging_map(kernel_pml4, PHYS_MAP + pa, pa, PTE_PS | PTE_W | PTE_G | PTE_NX))
            panic("out of memory building the direct map");
    map_image(kernel_pml4);
    WRITE_CR(3, kernel_pml4);
    /* CR4.PCIDE if CPUID.01H:ECX.PCID (CR3 bits 0-11 are 0 here, as
     * enabling requires: the kernel's tables have PCID 0). */
    uint32_t r[4];
    cpuid(1, 0, r);
    if (r[2] & (1u << 17)) {
        WRITE_CR(4, READ_CR(4) | (1u << 17));
        paging_pcid = true;
    }
}

uint64_t paging_next_mapped(paddr_t pml4, uint64_t va, uint64_t end)
{
    while (va < end) {
        uint64_t *table = phys_to_virt(pml4);
        int l = 3;
        for (; l >= 0; l--) {
            uint64_t e = table[index_of(va, l)];
            if (!(e & PTE_P))
                break;
            if (l == 0 || (e & PTE_PS))
                return va;
            table = phys_to_virt(e & PTE_ADDR);
        }
        /* Nothing at level l: skip to the next entry of that level. */
        uint64_t step = 1ull << (12 + 9 * l);
        uint64_t next = (va & ~(step - 1)) + step;
        if (next <= va)
            return end;
        va = next;
    }
    return end;
}
