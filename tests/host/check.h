/* A tiny unit-test framework for host tests of the kernel's pure logic.
 * Each test program prints "ok <name>" or "FAIL <name>: ..." per case
 * (tests/run.py counts them) and exits non-zero if any case failed. */
#pragma once
#include <stdio.h>
#include <stdlib.h>

static int check_case_failed, check_total_failed;
static const char *check_prog = "host";

#define CHECK(c)                                                            \
    do {                                                                    \
        if (!(c)) {                                                         \
            printf("  check failed: %s (%s:%d)\n", #c, __FILE__, __LINE__); \
            check_case_failed = 1;                                          \
        }                                                                   \
    } while (0)

#define CHECK_EQ(a, b)                                                      \
    do {                                                                    \
        long long a_ = (long long)(a), b_ = (long long)(b);                 \
        if (a_ != b_) {                                                     \
            printf("  check failed: %s == %s (%lld != %lld) (%s:%d)\n", #a, #b, \
                   a_, b_, __FILE__, __LINE__);                             \
            check_case_failed = 1;                                          \
        }                                                                   \
    } while (0)

#define RUN(fn)                                                             \
    do {                                                                    \
        check_case_failed = 0;                                              \
        fn();                                                               \
        printf("%s %s.%s\n", check_case_failed ? "FAIL" : "ok", check_prog, #fn); \
        check_total_failed += check_case_failed;                            \
    } while (0)

#define CHECK_EXIT() return check_total_failed ? 1 : 0
