/* What the boot loader tells us: memory map, modules, command line.
 * Both multiboot2 (GRUB, `make run`) and multiboot1 (QEMU -kernel, the
 * test boots) are understood; the rest of the kernel sees only this. */
#pragma once
#include "types.h"

#define MB1_MAGIC 0x2BADB002u
#define MB2_MAGIC 0x36D76289u
#define BOOT_MAX_RANGES 64
#define BOOT_MAX_MODULES 16

enum { BOOT_MEM_AVAILABLE = 1 };   /* multiboot's type for usable RAM */

struct boot_range {
    paddr_t base, len;
    uint32_t type;
};

struct boot_module {
    paddr_t start, end;     /* [start, end) physical */
    const char *name;       /* the module's command line (in strings) */
};

struct boot_info {
    const char *loader;     /* "multiboot1" or "multiboot2" */
    const char *cmdline;    /* never NULL; points into strings */
    struct boot_range mem[BOOT_MAX_RANGES];
    unsigned nmem;
    struct boot_module mod[BOOT_MAX_MODULES];
    unsigned nmod;
    paddr_t info_start, info_end;   /* the info block itself, to reserve */
    bool truncated;         /* more ranges, modules or text than we keep */
    /* The strings are copied here: multiboot1 leaves them anywhere in
     * memory the kernel is about to hand out. */
    char strings[2048];
    size_t nstrings;
};

/* Parses the info block at physical address info; phys + phys_offset is
 * where physical memory is visible. Returns 0, or -1 for an unknown magic. */
int bootinfo_parse(struct boot_info *bi, uint32_t magic, paddr_t info, uintptr_t phys_offset);

/* Value of "key=value" in the command line, copied to out (truncated to
 * size - 1 bytes and terminated; nothing written if size is 0); false if absent. */
bool bootinfo_arg(const struct boot_info *bi, const char *key, char *out, size_t size);
