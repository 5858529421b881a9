#pragma once
#include "../../types.h"

#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UDATA 0x23
#define SEL_UCODE 0x2B
#define SEL_TSS   0x30
#define IST_DOUBLE_FAULT 1
#define IST_NMI 2

void gdt_init(void);
void gdt_set_kernel_stack(uint64_t top);
/* Loads a task's I/O bitmap (8 KiB, NULL = no ports; past `extent` bytes
 * all ports denied) into the TSS; a copy is made only when the bitmap
 * differs from the loaded one, of the bytes either may allow. */
void gdt_load_io_bitmap(const uint8_t *bitmap, unsigned extent);
/* The kernel changed (or is freeing) this bitmap: the TSS copy, if it is
 * this one, is stale; if it is the running task's (current), reload now. */
void gdt_io_bitmap_changed(const uint8_t *bitmap, unsigned extent, bool current);
