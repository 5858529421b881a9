/* The address regions of a Lua task (region.c), as its pager sees them:
 * what each range of the task's space is, and what a fault there gets
 * (fault.c). rt.h draws the whole address space. */
#pragma once
#include <stdint.h>

enum region_kind {
    REGION_NONE,        /* nothing is mapped there */
    REGION_SHARED,      /* the root's own pages: text, rodata, archive */
    REGION_SPAWN,       /* the spawn block: its pages, read-only */
    REGION_DATA,        /* a copy of the initial .data */
    REGION_BSS,         /* the rest of the image: demand-zero */
    REGION_HEAP,        /* demand-zero up to the end granted */
    REGION_STACK,       /* the main stack: demand-zero */
    REGION_GUARD,       /* below the main stack: an overflow */
    REGION_TSTACK,      /* the Lua threads' stacks: the top of each slot */
};

struct region {
    uint64_t lo, hi;            /* [lo, hi), page-aligned */
    enum region_kind kind;
    unsigned rights;            /* L4_R, L4_W, L4_X that a task gets there */
};

/* Fills the table (the image's bounds and the archive's, from the KIP). */
void region_init(void);
/* The region holding addr; a REGION_NONE one if none does. */
const struct region *region_of(uint64_t addr);
