/* The Lua root task's runtime: what the newlib stubs (syscalls.c) and
 * main.c need from L4. The task's address space:
 *
 *   0x000000400000  the image (lua-root.ld), loaded by the kernel
 *   0x000100000000  the scripts archive, read-only (L4_SCRIPTS_BASE, KIP)
 *   0x000200000000  the heap (sbrk), grown in blocks from sigma0 up to
 *   0x010000000000  RT_HEAP_END
 *   0x7ff000000000  top of Lua's stack (2^RT_STACK_LOG2 bytes from sigma0,
 *                   nothing mapped below: an overflow is a page fault that
 *                   sigma0 logs and does not answer)
 *   0x7ffe00000000  top of the kernel's 128 KiB boot stack (crt0 leaves it)
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define RT_HEAP_BASE  0x0000000200000000ull
#define RT_HEAP_END   0x0000010000000000ull
#define RT_STACK_TOP  0x00007ff000000000ull
/* 4 MiB: Lua stops C recursion at 200 levels (LUAI_MAXCCALLS), and with
 * LPeg's match (about 10 KiB of frame) at each, as with lpeg.match called
 * from a Cmt capture, that takes some 2.1 MiB (tests/lua/smoke.lua). */
#define RT_STACK_LOG2 22

/* console.c: the one output path of fds 1 and 2 (the kernel's debug
 * console for now; the UART driver replaces it later). */
void rt_console_write(const char *s, size_t n);
void rt_console_puts(const char *s);

/* mem.c: a block of 2^k bytes of zeroed RAM from sigma0, mapped at va
 * (aligned to 2^k). Returns 0 or sigma0's error code (L4_SIGMA0_*), or
 * 0x100 + the IPC error if the call itself failed. */
uint64_t rt_sigma0_any(unsigned k, uint64_t va);
/* I/O ports [port, port + 2^k) from sigma0; same return codes. */
uint64_t rt_sigma0_ioports(unsigned port, unsigned k);
/* crt0.S calls this on the boot stack: the top of Lua's stack, or 0 to
 * stay on the boot stack (with a warning on the console). */
uint64_t rt_stack_init(void);

/* clock.c: reads the CMOS RTC once (ports from sigma0); without it the
 * wall clock counts from boot. */
void rt_clock_init(void);
uint64_t rt_wall_us(void);          /* microseconds since 1970 (or boot) */
uint64_t rt_cpu_us(void);           /* CPU time of this thread */

/* archive.c: the read-only scripts archive (tools/mkarchive.py). */
struct rt_file {
    const char *data;
    size_t size;
};
/* Checks the archive the KIP names; false (and a message) if it is
 * missing or malformed, and then every lookup fails. */
int rt_archive_init(void);
/* Looks a path up ("/" and "./" prefixes are ignored); 0 if found. */
int rt_archive_find(const char *path, struct rt_file *f);

/* Blocks this thread for good (a receive from nil, no timeout). */
void rt_idle(void) __attribute__((noreturn));
