/* The kernel log (serial console) and panics. */
#pragma once
#include "types.h"

void kprintf(const char *fmt, ...) PRINTF(1, 2);
/* Called first by every panic path: a panic inside a panic ends at once. */
void log_panic_begin(void);
/* One backtrace line: "  #depth 0xaddr <symbol+off>". */
void log_frame(int depth, uint64_t addr);
