/* Kernel memory: physical frames for the kernel's own use. */
#pragma once
#include "types.h"
#include "bootinfo.h"
#include "memmap.h"
#include "pmm.h"

#define KMEM_MAX_RANGES 64

extern struct pmm kmem_pmm;
extern struct range kmem_free_ranges[KMEM_MAX_RANGES];
extern unsigned kmem_nfree_ranges;

/* Takes every available frame but the kernel image, boot info, modules
 * and the first MiB; returns the end of the highest free frame. */
paddr_t kmem_init(const struct boot_info *bi);
/* Kernel objects (TCBs, stacks, page tables, spaces) come from a bounded
 * pool: kmem_limit frames at most (kernel command line "kmem=<MiB>").
 * Exhaustion makes the call that needed memory fail, never a panic. */
extern size_t kmem_used, kmem_limit;
/* One zeroed 4 KiB frame of the pool, or 0 when it is exhausted. */
paddr_t kmem_alloc_frame(void);
void kmem_free_frame(paddr_t pa);
/* n contiguous zeroed frames aligned to n frames (n a power of two). */
paddr_t kmem_alloc_contig(size_t n);
void kmem_free_contig(paddr_t pa, size_t n);
/* Frames the pool may still take: kmem_limit - kmem_used (0 if none; all
 * free frames if there is no limit).
 * Once sigma0 has its memory (sigma0.h), kmem_pmm's free frames are this
 * reserve and what the pool gives back: the kernel's alone. */
size_t kmem_headroom(void);
/* A zeroed frame for user memory (boot modules), outside the pool: at
 * boot only, before sigma0_init splits the free memory. */
paddr_t kmem_alloc_user_frame(void);
