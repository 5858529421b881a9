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
