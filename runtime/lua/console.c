/* The console: where stdout and stderr go. For now each byte is a debug
 * call to the kernel (L4_KDEBUG_PUTC), which writes it to the serial line;
 * the UART driver will replace this function, and only this function. */
#include "rt.h"
#include "l4/syscalls.h"

void rt_console_write(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        l4_kdebug(L4_KDEBUG_PUTC, (unsigned char)s[i], 0, 0);
}

void rt_console_puts(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    rt_console_write(s, n);
}
