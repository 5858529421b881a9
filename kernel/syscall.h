/* System calls: each call's arguments and results by name (abi.md
 * "System calls"), read and written through the architecture's registers
 * (trap.h: argument i, the code), never by register name. syscall.c
 * decodes every call: it reads the arguments here, makes every check, and
 * only then calls the mechanism (ipc.c, thread.c, sched.c, space.c,
 * map.c, kdebug.c) with typed arguments. */
#pragma once
#include "types.h"
#include "arch.h"

/* Argument (and result) slots, per call. */
enum {
    /* ipc: in and out (out: the sender, the received tag) */
    IPC_DEST = 0, IPC_TAG = 1, IPC_RCV = 2, IPC_TIMEOUTS = 3,
    /* id_nearest: in the destination, out the nearest id */
    NEAREST_DEST = 0,
    /* fpage_unmap */
    UNMAP_FPAGE = 0, UNMAP_FLAGS = 1,
    /* thread_switch */
    SWITCH_DEST = 0,
    /* thread_schedule: in */
    SCHED_DEST = 0, SCHED_PRIO = 1, SCHED_SLICE = 2,
    /* thread_schedule: out */
    SCHED_OLD_PRIO = 1, SCHED_OLD_SLICE = 2, SCHED_PARTNER = 3, SCHED_CPU = 4, SCHED_STATE = 5,
    /* lthread_ex_regs: in (~0 keeps each) and out (the old values) */
    EXREGS_LTHREAD = 0, EXREGS_IP = 1, EXREGS_SP = 2, EXREGS_PAGER = 3, EXREGS_EXC = 4,
    EXREGS_DELETE = 5,      /* L4_EXREGS_DELETE: delete the thread instead;
                               L4_EXREGS_RESTART: end its callers' waits */
    EXREGS_ID = 0, EXREGS_OLD_FLAGS = 5,
    /* task_new: in; out the first thread's id in TASK_ID */
    TASK_ID = 0, TASK_MCP = 1, TASK_IP = 2, TASK_SP = 3, TASK_PAGER = 4, TASK_CHIEF = 5,
    /* the debug call: op in 0, arguments and results in 1..5 (kdebug.h) */
    KDEBUG_OP = 0,
};

static inline uint64_t sys_arg(struct trap_frame *f, unsigned slot)
{
    return *trap_sys_arg(f, slot);
}
static inline void sys_set(struct trap_frame *f, unsigned slot, uint64_t v)
{
    *trap_sys_arg(f, slot) = v;
}
/* The call's code (rax): its number on entry, its result on return. */
static inline uint64_t sys_nr(struct trap_frame *f)
{
    return *trap_sys_code(f);
}
static inline void sys_result(struct trap_frame *f, uint64_t code)
{
    *trap_sys_code(f) = code;
}

/* entry.S: every system call the fast path did not finish. */
void syscall_dispatch(struct trap_frame *f);
