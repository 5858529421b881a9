/* Suites that must end in a panic (or never end): they show the harness
 * catches a broken kernel. tests/run.py expects each outcome. */
#include "ktest.h"
#include "../../kernel/assert.h"
#include "../../kernel/log.h"

KTEST(fault_ud, invalid_opcode)
{
    __asm__ volatile("ud2");
}

static __attribute__((noinline)) void write_to_null(void)
{
    volatile uint64_t *p = (uint64_t *)8;
    __asm__ volatile("" : "+r"(p));     /* hide the constant from gcc's checks */
    *p = 1;
}

KTEST(fault_pf, null_write)
{
    write_to_null();
}

static __attribute__((noinline)) uint64_t recurse(uint64_t n)
{
    volatile char pad[512];
    pad[0] = (char)n;
    if (n == ~0ull)                     /* never true; keeps gcc quiet */
        return 0;
    return recurse(n + 1) + pad[0];
}

KTEST(fault_stack, overflow_hits_guard)
{
    recurse(0);
}

KTEST(fault_assert, broken_invariant)
{
    int two = 2;
    __asm__ volatile("" : "+r"(two));
    kassert(two == 3);
}

/* The UART driver owns COM1 (the kernel writes its ring only), and then
 * the kernel panics: the panic report must still reach the serial line. */
KTEST(fault_released, panic_after_serial_release)
{
    log_release_serial(true);
    kprintf("fault_released: this line goes to the ring only\n");
    int two = 2;
    __asm__ volatile("" : "+r"(two));
    kassert(two == 4);
}

/* The runner requires the marker line: a boot that hung before the case
 * began (or never reached it) must not pass as this hang. */
KTEST(hang, spins_forever)
{
    kprintf("hang: marker 5f1c, spinning from here\n");
    for (;;)
        __asm__ volatile("pause");
}
