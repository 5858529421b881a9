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
/* One zeroed 4 KiB frame, or 0 when memory is exhausted. */
paddr_t kmem_alloc_frame(void);
void kmem_free_frame(paddr_t pa);
