/* kmain: from the boot loader's hand-off to a running kernel. */
#include "assert.h"
#include "boot.h"
#include "kip.h"
#include "sched.h"
#include "bootinfo.h"
#include "kmem.h"
#include "log.h"
#include "sigma0.h"
#include "arch.h"

#define L4UA_VERSION "0.1"

struct boot_info boot_info;

/* In-guest test kernels link tests/guest/ktest.c, which defines this. */
void ktest_main(const struct boot_info *bi) __attribute__((weak));

static const char *mem_type(uint32_t t)
{
    switch (t) {
    case 1: return "available";
    case 2: return "reserved";
    case 3: return "ACPI reclaimable";
    case 4: return "ACPI NVS";
    case 5: return "bad";
    default: return "other";
    }
}

static void show_boot_info(const struct boot_info *bi)
{
    kprintf("boot: %s, command line \"%s\"\n", bi->loader, bi->cmdline);
    kprintf("memory map:\n");
    for (unsigned i = 0; i < bi->nmem; i++)
        kprintf("  %016lx-%016lx %s\n", bi->mem[i].base,
                bi->mem[i].base + bi->mem[i].len - 1, mem_type(bi->mem[i].type));
    kprintf("modules: %u\n", bi->nmod);
    for (unsigned i = 0; i < bi->nmod; i++)
        kprintf("  %016lx-%016lx %8lu bytes  %s\n", bi->mod[i].start, bi->mod[i].end - 1,
                bi->mod[i].end - bi->mod[i].start, bi->mod[i].name);
    if (bi->truncated)
        kprintf("warning: more memory ranges or modules than the kernel keeps\n");
}

void kmain(uint32_t magic, uint32_t info)
{
    arch_early_init();
    kprintf("\nL4ua kernel " L4UA_VERSION " (x86_64), built " __DATE__ " " __TIME__ "\n");
    if (bootinfo_parse(&boot_info, magic, info, PHYS_MAP) < 0)
        panic("not started by a multiboot loader (magic %x)", magic);
    show_boot_info(&boot_info);
    paddr_t limit = kmem_init(&boot_info);
    sched_init();
    arch_late_init(limit);
    uint64_t mem_total = kmem_pmm.nfree * PAGE_SIZE;
    char arg[16];
    kmem_limit = kmem_pmm.nfree / 4;
    if (bootinfo_arg(&boot_info, "kmem", arg, sizeof arg)) {
        uint64_t mib = 0;
        for (const char *p = arg; *p >= '0' && *p <= '9'; p++)
            mib = mib * 10 + (uint64_t)(*p - '0');
        kmem_limit = MIN(mib << (20 - PAGE_SHIFT), kmem_pmm.nfree);
    }
    kprintf("free memory: %lu KiB in %u ranges; kernel pool %lu KiB; timer at %u Hz%s\n",
            kmem_pmm.nfree * (PAGE_SIZE / 1024), kmem_nfree_ranges,
            kmem_limit * (PAGE_SIZE / 1024), arch_tick_hz(), paging_pcid ? "; PCIDs" : "");
    kip_init(mem_total, kmem_limit * PAGE_SIZE);
    /* Only passed on: the root task decides what safe mode means. */
    if (bootinfo_arg(&boot_info, "safe", arg, sizeof arg) && arg[0] == '1')
        kip->flags |= L4_KIP_SAFE_MODE;
    if (ktest_main)
        ktest_main(&boot_info);
    boot_start_tasks(&boot_info);
    sigma0_init(&boot_info, kip->sigma0 != L4_NILTHREAD);
    if (!kip->root_task)
        kprintf("no root task; idling (quit QEMU: Ctrl-A then X)\n");
    sched_start();
}
