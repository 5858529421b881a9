/* Physical memory ranges: what is free once the reserved parts are cut out. */
#pragma once
#include "types.h"
#include "bootinfo.h"

struct range {
    paddr_t start, end;     /* [start, end) */
};

/* Writes to out the sorted, merged, page-aligned ranges that are available
 * in mem and overlap neither a non-available entry of mem nor resv.
 * Returns how many; *lost is set if out had too little room. */
unsigned memmap_free(const struct boot_range *mem, unsigned nmem,
                     const struct range *resv, unsigned nresv,
                     struct range *out, unsigned max, bool *lost);
/* Sorts r[0..n) by start and merges ranges that overlap or touch; returns
 * the new count (memmap_free's last step, and sigma0.c's). */
unsigned memmap_normalize(struct range *r, unsigned n);
