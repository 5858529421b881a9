/* x86_64 4-level page tables. */
#pragma once
#include "../../types.h"

#define PTE_P   0x001ull
#define PTE_W   0x002ull
#define PTE_U   0x004ull
#define PTE_PWT 0x008ull
#define PTE_PCD 0x010ull
#define PTE_PS  0x080ull
#define PTE_G   0x100ull
#define PTE_NX  (1ull << 63)
#define PTE_ADDR 0x000ffffffffff000ull

extern paddr_t kernel_pml4;

/* PCIDs (CR4.PCIDE, when the CPU has them): each space's TLB entries are
 * tagged with its task number and survive switches to other spaces, so a
 * space whose present entries changed while it was not loaded must flush
 * its own at its next load (space.h, space_flush_page). */
extern bool paging_pcid;
#define CR3_NOFLUSH (1ull << 63)    /* with PCIDs: keep the PCID's entries */
/* The CR3 value that loads the tables pml4 with PCID pcid (no flush). */
static inline uint64_t paging_cr3(paddr_t pml4, unsigned pcid)
{
    return paging_pcid ? pml4 | pcid | CR3_NOFLUSH : pml4;
}

/* Builds the kernel's page tables (direct map of [0, phys_limit), the
 * kernel image by section rights) and switches to them. */
void paging_init(paddr_t phys_limit);
/* Maps one page of size 4 KiB or 2 MiB (PTE_PS in flags) in the tables at
 * pml4. Returns false if a page-table frame could not be allocated. */
bool paging_map(paddr_t pml4, vaddr_t va, paddr_t pa, uint64_t flags);
/* The first address >= va and < end that may be mapped (skips absent
 * tables), or end. */
uint64_t paging_next_mapped(paddr_t pml4, uint64_t va, uint64_t end);
/* Every page table of the user half (level 0, below USER_TOP) is the
 * first frame of an aligned pair; the second, its companion, holds one
 * word per entry for the kernel's bookkeeping (the mapping database's
 * node of that page), so it is found from the entry in O(1). The user
 * half has only 4 KiB pages. */
#define PAGING_COMPANION(pte) ((pte) + 512)
/* The level-0 entry for the user page va, with missing tables (and
 * companions) allocated if create; NULL if absent or out of memory. */
uint64_t *paging_user_pte(paddr_t pml4, vaddr_t va, bool create);
/* The entry that maps va (any level), or NULL if none. */
uint64_t *paging_lookup(paddr_t pml4, vaddr_t va);
