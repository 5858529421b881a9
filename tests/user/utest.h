/* A tiny runtime for user-mode test programs (the root task of a test
 * boot): console output through the debug call, test cases, threads. */
#pragma once
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdarg.h>
#include "../../include/l4/syscalls.h"

void uprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void *umemset(void *d, int c, size_t n);
void *umemcpy(void *d, const void *s, size_t n);

/* Test cases: UTEST(name) { ... UCHECK(cond); ... }, run by utest_run(). */
struct utest {
    const char *name;
    void (*fn)(void);
};
#define UTEST(name)                                                          \
    static void utest_##name(void);                                          \
    static const struct utest ut_##name                                      \
        __attribute__((section("utests"), used, aligned(8))) = { #name, utest_##name }; \
    static void utest_##name(void)
void utest_fail(const char *what, const char *file, int line);
#define UCHECK(c) ((c) ? (void)0 : utest_fail(#c, __FILE__, __LINE__))
#define UCHECK_EQ(a, b)                                                      \
    do {                                                                     \
        uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                     \
        if (a_ != b_) {                                                      \
            uprintf("  %s == %s: %lx != %lx\n", #a, #b, a_, b_);             \
            utest_fail(#a " == " #b, __FILE__, __LINE__);                    \
        }                                                                    \
    } while (0)
/* Runs every case of the program (name: the suite), prints the summary
 * line "ktest: N passed, M failed" and ends QEMU. */
int utest_run(const char *suite);
void utest_exit(int code) __attribute__((noreturn));

/* Threads of this task: lthread n runs fn(arg) on its own stack; when fn
 * returns the thread blocks forever. Returns its id (0 on failure). */
uint64_t uthread_start(unsigned lthread, void (*fn)(uint64_t), uint64_t arg);
void uthread_exit(void) __attribute__((noreturn));
uint64_t *uthread_stack_top(unsigned lthread);

/* A pager thread body (for uthread_start) for child tasks that run the
 * root task's own code: each page fault is answered with the root's page
 * at the same address (RWX); anything else is left unanswered. */
void upager_identity(uint64_t arg);

/* Sleep: a receive from nil with a finite timeout. */
void usleep_us(uint64_t us);
/* A timeout field for about us microseconds (rounded up). */
uint16_t uto_us(uint64_t us);
static inline uint64_t unow_us(void) { return l4_kip()->clock_us; }
static inline uint64_t urdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}
static inline uint64_t umyself(void)
{
    /* lthread from the stack: each thread's UTCB says who it is, and we
     * find ours by asking every slot whose id... simpler: rsp range. */
    extern uint64_t umyself_slow(void);
    return umyself_slow();
}
