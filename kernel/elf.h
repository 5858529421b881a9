/* Loading ELF64 executables (boot modules) into a space. */
#pragma once
#include "types.h"

struct space;

/* Copies the PT_LOAD segments of the x86_64 ELF image [img, img + size)
 * (8-byte aligned) into fresh user frames mapped in s (as roots of the
 * mapping database: the kernel's own mappings), each segment and the
 * entry point inside [min_va, max_va);
 * returns the entry point, or 0 with a message naming 'name' if the image
 * is bad or memory ran out. Whatever is mapped by then stays in s, for
 * the caller to delete with it. */
uint64_t elf_load(struct space *s, const uint8_t *img, uint64_t size, uint64_t min_va,
                  uint64_t max_va, const char *name);
