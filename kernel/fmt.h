/* printf-style formatting into a buffer; pure, tested on the host. */
#pragma once
#include "types.h"

/* Formats like vsnprintf for %d %i %u %x %X %p %s %c %%, with the flags
 * '-' and '0', a field width (for d i u x X s) and the length modifiers
 * l, ll, z.
 * Returns the length the full result would have (like C's vsnprintf). */
int fmt_vformat(char *buf, size_t size, const char *f, va_list ap);
int fmt_format(char *buf, size_t size, const char *f, ...) PRINTF(3, 4);
