/* lwIP's platform header for L4ua: newlib's C library, x86_64 (little
 * endian), diagnostics on the task's console. An assertion that fails
 * ends the network service's task; its supervisor starts it again. */
#ifndef L4UA_LWIP_CC_H
#define L4UA_LWIP_CC_H

#include <stdio.h>
#include <stdlib.h>
#include <limits.h>

/* newlib's sys/types.h has ssize_t (lwIP would make its own without this) */
#ifndef SSIZE_MAX
#define SSIZE_MAX LONG_MAX
#endif

/* A random 32-bit value (DHCP transaction ids, DNS ids, TCP's initial
 * sequence numbers, local ports): bindings/lwip.c mixes the TSC. */
unsigned int l4ua_lwip_rand(void);
#define LWIP_RAND() ((u32_t)l4ua_lwip_rand())

#define LWIP_PLATFORM_DIAG(x) do { printf x; } while (0)
#define LWIP_PLATFORM_ASSERT(x) do { \
        printf("lwip: assertion \"%s\" failed at %s:%d\n", x, __FILE__, __LINE__); \
        abort(); } while (0)

#endif
