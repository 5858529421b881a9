/* kmain: from the boot loader's hand-off to a running kernel. */
#include "assert.h"
#include "bootinfo.h"
#include "kmem.h"
#include "log.h"
#include "arch/x86_64/arch.h"
#include "arch/x86_64/layout.h"

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
    arch_late_init(limit);
    kprintf("free memory: %lu KiB in %u ranges; timer at %u Hz\n",
            kmem_pmm.nfree * (PAGE_SIZE / 1024), kmem_nfree_ranges, arch_tick_hz());
    if (ktest_main)
        ktest_main(&boot_info);
    kprintf("nothing more to run yet; idling (quit QEMU: Ctrl-A then X)\n");
    for (;;)
        arch_idle();
}
