/* Byte and string helpers. memset and memcpy move 8 bytes per step
 * (rep stosq / movsq): the kernel zeroes every frame it allocates, and
 * byte loops made a new page table cost some 30,000 instructions. */
#include "string.h"

void *memset(void *d, int c, size_t n)
{
    unsigned char *p = d;
    uint64_t v = 0x0101010101010101ull * (unsigned char)c;
    size_t q = n / 8, r = n % 8;
    __asm__ volatile("rep stosq" : "+D"(p), "+c"(q) : "a"(v) : "memory");
    __asm__ volatile("rep stosb" : "+D"(p), "+c"(r) : "a"(v) : "memory");
    return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
    unsigned char *dp = d;
    const unsigned char *sp = s;
    size_t q = n / 8, r = n % 8;
    __asm__ volatile("rep movsq" : "+D"(dp), "+S"(sp), "+c"(q) : : "memory");
    __asm__ volatile("rep movsb" : "+D"(dp), "+S"(sp), "+c"(r) : : "memory");
    return d;
}

void *memmove(void *d, const void *s, size_t n)
{
    unsigned char *dp = d;
    const unsigned char *sp = s;
    if (dp <= sp || dp >= sp + n)
        return memcpy(d, s, n);
    while (n--)
        dp[n] = sp[n];
    return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x - *y;
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++) {
        if (*a != *b)
            return (unsigned char)*a - (unsigned char)*b;
        if (!*a)
            return 0;
    }
    return 0;
}
