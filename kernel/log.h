/* The kernel log (serial console) and panics. */
#pragma once
#include "types.h"

void kprintf(const char *fmt, ...) PRINTF(1, 2);
/* Raw bytes to the log: its ring, and COM1 unless released. */
void log_write(const char *s, size_t n);
/* true: the UART driver owns COM1; the log goes to the ring only. */
void log_release_serial(bool released);
/* Up to n bytes of the ring from *pos (bytes since boot; moved on to the
 * oldest kept if older), advancing *pos; returns how many. */
size_t log_read(uint64_t *pos, char *buf, size_t n);
/* Called first by every panic path: a panic inside a panic ends at once. */
void log_panic_begin(void);
/* One backtrace line: "  #depth 0xaddr <symbol+off>". */
void log_frame(int depth, uint64_t addr);
