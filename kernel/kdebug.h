/* The debug call (abi.md "Debug call"): not an L4 system call. A table of
 * operations, each open to every task or to the root task only; every
 * operation open to every task is bounded (a few instructions, or a copy
 * of at most 32 bytes). The test-only operations (end QEMU, raise an
 * IRQ, the RTC's interrupt, a task's own mapping) are linked into the
 * test kernel only (tests/guest/kdebug_ops.c): the kernel that boots the
 * system has none (their entries' handlers are weak symbols, NULL there). */
#pragma once
#include "thread.h"
#include "space.h"
#include "arch.h"

struct trap_frame;

/* An operation; the tables are indexed by op (L4_KDEBUG_*), and an entry
 * without a handler is no operation. */
struct kdebug_op {
    void (*handler)(struct trap_frame *f);  /* sets the code and results */
    bool root_only;             /* else open to every task: bounded */
};

/* The test kernel's operations (tests/guest/kdebug_ops.c; weak: NULL, so
 * no operation, in the real kernel). */
void kdebug_test_exit(struct trap_frame *f) __attribute__((weak));
void kdebug_test_raise_irq(struct trap_frame *f) __attribute__((weak));
void kdebug_test_rtc_irq(struct trap_frame *f) __attribute__((weak));
void kdebug_test_kmem_limit(struct trap_frame *f) __attribute__((weak));
void kdebug_test_mapping(struct trap_frame *f) __attribute__((weak));
/* Only in make fuzz's coverage kernel (tests/fuzz/kcov.c). */
void kdebug_test_cov(struct trap_frame *f) __attribute__((weak));

/* The kernel's own operations (kdebug.c), indexed by op. */
#define KDEBUG_NOPS (L4_KDEBUG_MAPPING + 1)
extern const struct kdebug_op kdebug_ops[KDEBUG_NOPS];

/* The debug call of `caller`, entered through f (syscall.c; inline there,
 * as raise_irq's round trip is a benchmark, irq_to_lua). */
static inline void kdebug(struct thread *caller, struct trap_frame *f, uint64_t op)
{
    const struct kdebug_op *o = op < KDEBUG_NOPS ? &kdebug_ops[op] : NULL;
    if (!o || !o->handler) {
        *trap_sys_code(f) = L4_EINVAL;  /* no such operation (in this kernel) */
        return;
    }
    if (o->root_only && caller->space->task != L4_ROOT_TASK) {
        *trap_sys_code(f) = L4_EPERM;   /* the root task's only */
        return;
    }
    o->handler(f);
}
