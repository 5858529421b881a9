/* Kernel invariants. kassert is always compiled in: a broken invariant
 * must stop the kernel loudly, in tests and in use alike. */
#pragma once
#include "types.h"

NORETURN void panic(const char *fmt, ...) PRINTF(1, 2);

#define kassert(c) \
    ((c) ? (void)0 : panic("assertion failed: %s (%s:%d)", #c, __FILE__, __LINE__))
