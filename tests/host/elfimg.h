/* Building small ELF64 images by hand for the loader's host tests and
 * fuzzer seeds: a header, n program headers right after it, then data. */
#pragma once
#include <stdint.h>
#include <string.h>

struct img_ehdr {
    uint8_t ident[16];
    uint16_t type, machine;
    uint32_t version;
    uint64_t entry, phoff, shoff;
    uint32_t flags;
    uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct img_phdr {
    uint32_t type, flags;
    uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

#define IMG_PF_X 1u
#define IMG_PF_W 2u
#define IMG_PF_R 4u

/* Writes a header for nph program headers at offset 64 into img. */
static inline void img_header(uint8_t *img, uint64_t entry, unsigned nph)
{
    struct img_ehdr eh = { .ident = { 0x7f, 'E', 'L', 'F', 2, 1, 1 }, .type = 2,
                           .machine = 62, .version = 1, .entry = entry, .phoff = 64,
                           .ehsize = 64, .phentsize = 56, .phnum = (uint16_t)nph };
    memcpy(img, &eh, sizeof eh);
}

/* Program header i: a PT_LOAD of the given place and sizes. */
static inline void img_load(uint8_t *img, unsigned i, uint32_t flags, uint64_t offset,
                            uint64_t vaddr, uint64_t filesz, uint64_t memsz)
{
    struct img_phdr ph = { .type = 1, .flags = flags, .offset = offset, .vaddr = vaddr,
                           .paddr = vaddr, .filesz = filesz, .memsz = memsz, .align = 4096 };
    memcpy(img + 64 + i * 56, &ph, sizeof ph);
}
