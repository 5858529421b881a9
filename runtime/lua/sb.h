/* A string builder on a caller's buffer, for the pager thread's messages
 * (it uses no stdio, docs/runtime.md "Lua tasks"): it cuts what does not
 * fit and keeps the text 0-terminated. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sb {
    char *p;
    size_t n, cap;      /* bytes written (without the 0), bytes of p */
};

void sb_put(struct sb *b, const char *s, size_t n);
void sb_str(struct sb *b, const char *s);
/* v in base 10 (signed if sign) or 16 (with "0x"). */
void sb_num(struct sb *b, uint64_t v, unsigned base, bool sign);
