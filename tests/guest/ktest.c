/* The in-kernel test runner (see ktest.h). */
#include "ktest.h"
#include "../../kernel/log.h"
#include "../../kernel/string.h"
#include "../../kernel/arch/x86_64/arch.h"

extern const struct ktest __ktest_start[], __ktest_end[];
const struct boot_info *ktest_boot_info;
static unsigned failures;

void ktest_fail(const char *what, const char *file, int line)
{
    kprintf("  check failed: %s (%s:%d)\n", what, file, line);
    failures++;
}

void ktest_main(const struct boot_info *bi)
{
    char suite[32];
    if (!bootinfo_arg(bi, "ktest", suite, sizeof suite))
        return;
    ktest_boot_info = bi;
    unsigned passed = 0, failed = 0;
    for (const struct ktest *t = __ktest_start; t < __ktest_end; t++) {
        if (strcmp(t->suite, suite))
            continue;
        failures = 0;
        t->fn();
        if (failures) {
            kprintf("FAIL %s.%s: %u checks failed\n", t->suite, t->name, failures);
            failed++;
        } else {
            kprintf("ok %s.%s\n", t->suite, t->name);
            passed++;
        }
    }
    if (passed + failed == 0) {
        kprintf("ktest: no test in suite '%s'\n", suite);
        arch_exit(EXIT_FAIL);
    }
    kprintf("ktest: %u passed, %u failed\n", passed, failed);
    arch_exit(failed ? EXIT_FAIL : EXIT_PASS);
}
