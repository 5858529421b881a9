#pragma once
#include "../../types.h"

#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UDATA 0x23
#define SEL_UCODE 0x2B
#define SEL_TSS   0x30
#define IST_DOUBLE_FAULT 1
#define IST_NMI 2

struct tss {
    uint32_t reserved0;
    uint64_t rsp[3];        /* rsp[0]: kernel stack on entry from ring 3 */
    uint64_t reserved1;
    uint64_t ist[7];        /* ist[0] = IST1 ... */
    uint64_t reserved2;
    uint16_t reserved3, iomap_base;
} __attribute__((packed));
/* The TSS and right after it the I/O permission bitmap (a 1 bit denies
 * the port) with the terminating all-ones byte the CPU needs. An I/O map
 * base of GDT_IOMAP_NONE (past the TSS limit) denies every port. */
struct gdt_tss_io {
    struct tss tss;
    uint8_t io[8192 + 1];
} __attribute__((packed));
extern struct gdt_tss_io gdt_tss;
#define GDT_IOMAP_NONE (sizeof(struct gdt_tss_io))
extern const uint8_t *gdt_io_loaded;    /* the bitmap copied there */

void gdt_init(void);
static inline void gdt_set_kernel_stack(uint64_t top)
{
    gdt_tss.tss.rsp[0] = top;
}
/* Loads a task's I/O bitmap (8 KiB, NULL = no ports; past `extent` bytes
 * all ports denied) into the TSS; a copy is made only when the bitmap
 * differs from the loaded one, of the bytes either may allow. */
void gdt_load_io_bitmap(const uint8_t *bitmap, unsigned extent);
/* The kernel changed (or is freeing) this bitmap: the TSS copy, if it is
 * this one, is stale; if it is the running task's (current), reload now. */
void gdt_io_bitmap_changed(const uint8_t *bitmap, unsigned extent, bool current);
