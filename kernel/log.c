/* kprintf and panic. */
#include "log.h"
#include "assert.h"
#include "fmt.h"
#include "ksyms.h"
#include "arch.h"

static bool panicking;

/* Everything the kernel writes is kept in a ring (the root task reads it
 * with L4_KDEBUG_KLOG); it also goes to COM1 until the UART driver takes
 * the serial line (L4_KDEBUG_CONSOLE), and again from a panic on. */
#define RING_SIZE 16384u
static char ring[RING_SIZE];
static uint64_t ring_end;           /* bytes ever written */
static bool serial_released;

void log_write(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ring[ring_end++ % RING_SIZE] = s[i];
    if (!serial_released)
        arch_console_write(s, n);
}

void log_release_serial(bool released)
{
    serial_released = released;
}

size_t log_read(uint64_t *pos, char *buf, size_t n)
{
    if (*pos > ring_end || ring_end - *pos > RING_SIZE)
        *pos = ring_end > RING_SIZE ? ring_end - RING_SIZE : 0;     /* lost: skip to the oldest */
    size_t k = 0;
    for (; k < n && *pos < ring_end; k++)
        buf[k] = ring[(*pos)++ % RING_SIZE];
    return k;
}

void kprintf(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = fmt_vformat(buf, sizeof buf, fmt, ap);
    va_end(ap);
    log_write(buf, n < (int)sizeof buf ? (size_t)n : sizeof buf - 1);
}

void log_panic_begin(void)
{
    if (serial_released) {          /* the driver may have set the UART up its way */
        serial_released = false;
        arch_console_reset();
    }
    if (panicking) {
        kprintf("\nPANIC while panicking; stopping\n");
        arch_exit(EXIT_PANIC);
    }
    panicking = true;
}

void log_frame(int depth, uint64_t addr)
{
    /* A return address (depth > 0) may be the first byte after a call to a
     * noreturn function, i.e. the next function: look up the call itself. */
    uint64_t off, at = depth > 0 ? addr - 1 : addr;
    const char *name = ksyms_lookup(at, &off);
    off += addr - at;
    if (name)
        kprintf("  #%d %016lx <%s+0x%lx>\n", depth, addr, name, off);
    else
        kprintf("  #%d %016lx\n", depth, addr);
}

void panic(const char *fmt, ...)
{
    char buf[256];
    log_panic_begin();
    va_list ap;
    va_start(ap, fmt);
    fmt_vformat(buf, sizeof buf, fmt, ap);
    va_end(ap);
    kprintf("\nPANIC: %s\nbacktrace:\n", buf);
    arch_backtrace((uint64_t)__builtin_frame_address(0));
    kprintf("end of panic\n");
    arch_exit(EXIT_PANIC);
}
