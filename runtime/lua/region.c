/* The region table of a Lua task's address space (region.h): one row per
 * range, searched in order (the first that holds an address wins), filled
 * once when the pager thread starts. */
#include <stdbool.h>

#include "image.h"
#include "pool.h"
#include "region.h"
#include "rt.h"
#include "l4/syscalls.h"

#define STACK_SIZE (1ull << RT_STACK_LOG2)

static struct region table[12];
static unsigned nregions;
static const struct region none = { 0, 0, REGION_NONE, 0 };

static void add(uint64_t lo, uint64_t hi, enum region_kind kind, unsigned rights)
{
    if (lo < hi)
        table[nregions++] = (struct region){ lo, hi, kind, rights };
}

void region_init(void)
{
    const struct l4_kip *kip = l4_kip();
    if (nregions)
        return;
    add((uint64_t)__text_start, UP(__text_end), REGION_SHARED, L4_R | L4_X);
    add((uint64_t)__rodata_start, UP(__rodata_end), REGION_SHARED, L4_R);
    if (kip->scripts)
        add(kip->scripts, UP(kip->scripts + kip->scripts_size), REGION_SHARED, L4_R);
    add(RT_ARGS_BASE, RT_ARGS_BASE + RT_ARGS_MAX, REGION_SPAWN, L4_R);
    add((uint64_t)__data_start, UP(__data_end), REGION_DATA, L4_R | L4_W);
    add(UP(__data_end), UP(__image_end), REGION_BSS, L4_R | L4_W);
    add(RT_HEAP_BASE, RT_HEAP_END, REGION_HEAP, L4_R | L4_W);
    add(RT_STACK_TOP - STACK_SIZE, RT_STACK_TOP, REGION_STACK, L4_R | L4_W);
    add(RT_STACK_TOP - 2 * STACK_SIZE, RT_STACK_TOP - STACK_SIZE, REGION_GUARD, 0);
    add(RT_TSTACK_BASE, RT_TSTACK_END, REGION_TSTACK, L4_R | L4_W);
}

const struct region *region_of(uint64_t addr)
{
    for (unsigned i = 0; i < nregions; i++)
        if (addr >= table[i].lo && addr < table[i].hi)
            return &table[i];
    return &none;
}
