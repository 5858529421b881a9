/* The KIP: version, clock, memory sizes (abi.md "KIP"). */
#include "kip.h"
#include "assert.h"
#include "kmem.h"
#include "arch.h"

struct l4_kip *kip;
paddr_t kip_phys;

void kip_init(uint64_t mem_total, uint64_t pool)
{
    kip_phys = kmem_alloc_frame();
    if (!kip_phys)
        panic("no memory for the kernel interface page");
    kip = phys_to_virt(kip_phys);
    kip->magic = L4_KIP_MAGIC;
    kip->version = 1;
    kip->page_size = PAGE_SIZE;
    kip->tick_us = 1000000 / arch_tick_hz();
    kip->mem_total = mem_total;
    kip->mem_kernel_pool = pool;
}
