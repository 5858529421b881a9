/* runtime/lua/archive.c on the host: it finds the archive through the
 * KIP (l4_kip()), which here is host_kip, pointing at the bytes under
 * test. Include this, then archive.c itself. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "l4/syscalls.h"

static struct l4_kip host_kip;
#define l4_kip() (&host_kip)

/* The archive's messages (rt_console_puts) are not wanted here. */
void rt_console_puts(const char *s)
{
    (void)s;
}

/* Points the KIP at [data, data + size) (NULL: no module). */
static inline void host_archive(const void *data, size_t size)
{
    host_kip.scripts = (uint64_t)(uintptr_t)data;
    host_kip.scripts_size = size;
}
