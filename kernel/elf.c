/* Loading ELF64 executables (elf.h). The image is input: every field is
 * checked before it is used. */
#include "elf.h"
#include "kmem.h"
#include "log.h"
#include "mdb.h"
#include "space.h"
#include "string.h"
#include "arch.h"

struct elf64_ehdr {
    uint8_t ident[16];
    uint16_t type, machine;
    uint32_t version;
    uint64_t entry, phoff, shoff;
    uint32_t flags;
    uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf64_phdr {
    uint32_t type, flags;
    uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

uint64_t elf_load(struct space *s, const uint8_t *img, uint64_t size, uint64_t min_va,
                  uint64_t max_va, const char *name)
{
    const struct elf64_ehdr *eh = (const void *)img;
    /* Sums of fields may wrap: compare each against what is left. The
     * program headers must be aligned (img is: modules are page-aligned). */
    if (size < sizeof *eh || memcmp(eh->ident, "\177ELF\2\1", 6) || eh->machine != 62 ||
        eh->phentsize != sizeof(struct elf64_phdr) || eh->phoff % 8 || eh->phoff > size ||
        (uint64_t)eh->phnum * sizeof(struct elf64_phdr) > size - eh->phoff) {
        kprintf("boot: module %s is not an x86_64 ELF executable\n", name);
        return 0;
    }
    if (eh->entry < min_va || eh->entry >= max_va) {    /* else iretq faults in the kernel */
        kprintf("boot: module %s has its entry point at %lx\n", name, eh->entry);
        return 0;
    }
    const struct elf64_phdr *ph = (const void *)(img + eh->phoff);
    for (unsigned i = 0; i < eh->phnum; i++) {
        if (ph[i].type != 1)
            continue;
        uint64_t va = ph[i].vaddr, end = va + ph[i].memsz;
        if (ph[i].filesz > ph[i].memsz || ph[i].offset > size ||
            ph[i].filesz > size - ph[i].offset || end < va ||
            va < min_va || end > max_va) {
            kprintf("boot: module %s has a bad segment at %lx\n", name, va);
            return 0;
        }
        for (uint64_t p = ALIGN_DOWN(va, PAGE_SIZE); p < end; p += PAGE_SIZE) {
            paddr_t pa, pte;
            if (!space_lookup(s, p, &pa, &pte)) {
                pa = kmem_alloc_user_frame();
                if (!pa || !mdb_map_root(s, p, pa, ph[i].flags & 2, ph[i].flags & 1))
                    return 0;
            } else {
                pa &= ~0xfffull;    /* segments sharing a page: the root anew */
                if (!mdb_map_root(s, p, pa, (pte & 2) || (ph[i].flags & 2),
                                  !(pte >> 63) || (ph[i].flags & 1)))
                    return 0;
            }
            /* Copy the part of the file that falls in this page. */
            uint64_t from = MAX(p, va), to = MIN(p + PAGE_SIZE, va + ph[i].filesz);
            if (from < to)
                memcpy((uint8_t *)phys_to_virt(pa) + (from - p), img + ph[i].offset + (from - va), to - from);
        }
    }
    return eh->entry;
}
