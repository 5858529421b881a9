/* The kernel's own symbol table, linked into .ksyms by a second link pass
 * (tools/ksyms.sh), so a panic backtrace names functions. */
#pragma once
#include "types.h"

/* Name of the function containing addr and the offset into it, or NULL. */
const char *ksyms_lookup(uint64_t addr, uint64_t *off);
