/* kprintf and panic. */
#include "log.h"
#include "assert.h"
#include "fmt.h"
#include "ksyms.h"
#include "arch/x86_64/arch.h"

static bool panicking;

void kprintf(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = fmt_vformat(buf, sizeof buf, fmt, ap);
    va_end(ap);
    arch_console_write(buf, n < (int)sizeof buf ? (size_t)n : sizeof buf - 1);
}

void log_panic_begin(void)
{
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
