/* Basic types for the kernel. Only the compiler's freestanding headers. */
#pragma once
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdarg.h>

typedef uint64_t paddr_t;   /* a physical address */
typedef uint64_t vaddr_t;   /* a virtual address */

#define PAGE_SHIFT 12
#define PAGE_SIZE  (1ul << PAGE_SHIFT)
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))
#define ALIGN_UP(x, a)   ALIGN_DOWN((x) + (a) - 1, (a))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define NORETURN __attribute__((noreturn))
#define INLINE static inline __attribute__((always_inline))    /* even where gcc would not */
#define PRINTF(f, a) __attribute__((format(printf, f, a)))
