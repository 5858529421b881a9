/* The pager thread's string builder (sb.h). */
#include <string.h>

#include "sb.h"

void sb_put(struct sb *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n && b->n + 1 < b->cap; i++)
        b->p[b->n++] = s[i];
    b->p[b->n] = 0;
}

void sb_str(struct sb *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

void sb_num(struct sb *b, uint64_t v, unsigned base, bool sign)
{
    char d[24];
    int n = 0;
    if (sign && (int64_t)v < 0) {
        sb_put(b, "-", 1);
        v = -v;
    }
    if (base == 16)
        sb_put(b, "0x", 2);
    do
        d[sizeof d - ++n] = "0123456789abcdef"[v % base];
    while (v /= base);
    sb_put(b, d + sizeof d - n, (size_t)n);
}
