/* In-kernel test cases for the test kernel image (tests/guest/). A suite
 * is chosen by the kernel command line, "ktest=<suite>"; each case prints
 * "ok <suite>.<name>" or "FAIL <suite>.<name>: <why>"; the boot ends with
 * "ktest: N passed, M failed" and an isa-debug-exit status. */
#pragma once
#include "../../kernel/types.h"
#include "../../kernel/bootinfo.h"

struct ktest {
    const char *suite, *name;
    void (*fn)(void);
};

#define KTEST(suite, name)                                                  \
    static void ktest_##suite##_##name(void);                               \
    static const struct ktest kt_##suite##_##name                           \
        __attribute__((section(".ktest"), used, aligned(8))) = {            \
            #suite, #name, ktest_##suite##_##name };                        \
    static void ktest_##suite##_##name(void)

/* Records a failed check in the running case (the case goes on). */
void ktest_fail(const char *what, const char *file, int line);
#define KEXPECT(c) ((c) ? (void)0 : ktest_fail(#c, __FILE__, __LINE__))

extern const struct boot_info *ktest_boot_info;
