/* Map and grant items: flexpages between address spaces (abi.md
 * "Flexpages"), each page recorded in the mapping database (mdb.h). */
#pragma once
#include "types.h"
#include "../include/l4/abi.h"

struct space;

/* Maps (or grants) the item {w0, w1} from 'from' into 'to' through the
 * receive window; rights only shrink. False for a malformed fpage or when
 * kernel memory (page tables, mapping nodes) runs out: the pages before
 * the one that failed are mapped, the rest not. */
bool map_fpage(struct space *from, struct space *to, uint64_t w0, uint64_t fpage, uint64_t window);
/* Checks an fpage: size 12..47, base aligned, inside the user region. */
bool map_fpage_valid(uint64_t fpage);
