/* The kernel's virtual address layout (x86_64, 4-level paging).
 *   0x0000000000000000 - 0x00007fffffffffff  user half (per task)
 *   0xffff800000000000 - ...                 all physical memory (direct map)
 *   0xffffffff80000000 - ...                 kernel image (linked here)   */
#pragma once

#define KERNEL_VMA 0xffffffff80000000
#define PHYS_MAP   0xffff800000000000
#define USER_TOP   0x0000800000000000

#ifndef __ASSEMBLER__
#include "../../types.h"
static inline void *phys_to_virt(paddr_t pa) { return (void *)(uintptr_t)(pa + PHYS_MAP); }
static inline paddr_t kimage_to_phys(const void *v) { return (paddr_t)(uintptr_t)v - KERNEL_VMA; }
static inline paddr_t virt_to_phys(const void *v)
{
    uintptr_t a = (uintptr_t)v;
    return a >= KERNEL_VMA ? a - KERNEL_VMA : a - PHYS_MAP;
}
#endif
