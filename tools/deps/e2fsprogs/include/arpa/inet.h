/* newlib has no <arpa/inet.h> for this target. libext2fs's journal code
 * (jfs_compat.h) takes the byte-order functions from it: ext3's journal is
 * big-endian on disk, and x86_64 is little-endian. Target build only
 * (tools/deps/build.sh). */
#ifndef L4UA_ARPA_INET_H
#define L4UA_ARPA_INET_H
#include <stdint.h>
static inline uint32_t htonl(uint32_t x) { return __builtin_bswap32(x); }
static inline uint32_t ntohl(uint32_t x) { return __builtin_bswap32(x); }
static inline uint16_t htons(uint16_t x) { return __builtin_bswap16(x); }
static inline uint16_t ntohs(uint16_t x) { return __builtin_bswap16(x); }
#endif
