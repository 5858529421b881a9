/* The kernel interface page, mapped read-only into every task. */
#pragma once
#include "types.h"
#include "../include/l4/abi.h"

extern struct l4_kip *kip;
extern paddr_t kip_phys;
void kip_init(uint64_t mem_total, uint64_t pool);
