/* The system call layer: decode, check, then act. Each decoder reads its
 * call's arguments by name (syscall.h), makes every check first, each
 * failure with the code that says why (abi.md), and only then calls the
 * mechanism with typed arguments; nothing changes before the last check.
 * The mechanisms: ipc.c (ipc), space.c (id_nearest, task_new), map.c
 * (fpage_unmap), sched.c (thread_switch, thread_schedule), thread.c
 * (lthread_ex_regs), kdebug.c (the debug call). */
#include "syscall.h"
#include "io.h"
#include "ipc.h"
#include "kdebug.h"
#include "map.h"
#include "sched.h"
#include "space.h"

static const uint64_t KEEP = ~0ull;     /* "keep the value" in several calls */

/* ipc: dest, send tag, receive descriptor, timeouts; the message words in
 * the registers and the UTCB. */
static void sys_ipc(struct trap_frame *f)
{
    uint64_t tag = sys_arg(f, IPC_TAG);
    if (tag != L4_NODESC && !ipc_tag_valid(tag)) {
        sys_result(f, L4_IPC_INVAL);    /* too many words, or reserved bits set */
        return;
    }
    ipc_start(current, f, sys_arg(f, IPC_DEST), tag, sys_arg(f, IPC_RCV), sys_arg(f, IPC_TIMEOUTS));
}

/* id_nearest: the destination; out the kind (or L4_ENOTHREAD) and the id
 * the caller's IPC to it really reaches. */
static void sys_id_nearest(struct trap_frame *f)
{
    int kind;
    struct thread *d = space_nearest(current, sys_arg(f, NEAREST_DEST), &kind);
    sys_result(f, d ? (uint64_t)kind : L4_ENOTHREAD);
    sys_set(f, NEAREST_DEST, d ? d->id : L4_NILTHREAD);
}

/* fpage_unmap: an fpage (memory or I/O ports) of the caller's space and
 * L4_UNMAP_* flags. */
static void sys_fpage_unmap(struct trap_frame *f)
{
    uint64_t fp = sys_arg(f, UNMAP_FPAGE), flags = sys_arg(f, UNMAP_FLAGS);
    if (flags & ~(L4_UNMAP_FLUSH | L4_UNMAP_OWN)) {
        sys_result(f, L4_EINVAL);       /* unknown flags */
        return;
    }
    if (fp & L4_FPAGE_IO) {             /* ports: always "flush" */
        sys_result(f, io_unmap(current->space, fp, flags & L4_UNMAP_OWN) ? L4_OK : L4_EINVAL);
        return;
    }
    if (!map_fpage_valid(fp)) {
        sys_result(f, L4_EINVAL);       /* size, alignment, or beyond user memory */
        return;
    }
    map_unmap_fpage(current->space, fp, (unsigned)flags);
    sys_result(f, L4_OK);
}

/* thread_switch: nil (yield), or a thread to donate the rest of the
 * timeslice to. */
static void sys_thread_switch(struct trap_frame *f)
{
    uint64_t dest = sys_arg(f, SWITCH_DEST);
    struct thread *t = dest == L4_NILTHREAD ? NULL : thread_lookup(dest);
    if (dest != L4_NILTHREAD && !t) {
        sys_result(f, L4_ENOTHREAD);
        return;
    }
    sys_result(f, L4_OK);
    sched_yield_to(t);
}

/* May caller set t's parameters (to prio)? Own task or a task in its
 * subclans, and t's priority must not exceed the caller's mcp; but a
 * thread of the caller's own task that a chief put above that mcp
 * (task_new gives the creator's priority) may still be brought down to it
 * (found by clan_test.c: such a task could not even lower itself). */
static bool may_schedule(struct thread *caller, struct thread *t, uint64_t prio)
{
    struct space *s = caller->space;
    if (t->space == s && prio <= s->mcp)
        return true;
    return (t->space == s || space_is_ancestor(s, t->space)) && t->prio <= s->mcp;
}

/* thread_schedule: a thread, a priority and a timeslice in µs (~0 keeps
 * each); out the old ones, its CPU time, state and partner. */
static void sys_thread_schedule(struct trap_frame *f)
{
    struct thread *t = thread_lookup(sys_arg(f, SCHED_DEST));
    uint64_t prio = sys_arg(f, SCHED_PRIO), slice = sys_arg(f, SCHED_SLICE);
    if (!t) {
        sys_result(f, L4_ENOTHREAD);
        return;
    }
    if (!may_schedule(current, t, prio)) {
        sys_result(f, L4_EPERM);        /* not in my clan, or above my mcp */
        return;
    }
    if ((prio != KEEP && prio > 255) || (slice != KEEP && (slice < 100 || slice > 10000000))) {
        sys_result(f, L4_EINVAL);       /* priority 0..255, slice 100 µs..10 s */
        return;
    }
    if (prio != KEEP && prio > current->space->mcp) {
        sys_result(f, L4_EPERM);        /* above my mcp */
        return;
    }
    sys_set(f, SCHED_OLD_PRIO, t->prio);
    sys_set(f, SCHED_OLD_SLICE, t->timeslice_us);
    sys_set(f, SCHED_CPU, t->cpu_us);
    sys_set(f, SCHED_STATE, thread_abi_state(t));
    sys_set(f, SCHED_PARTNER, thread_waits(t) ? t->partner : L4_NILTHREAD);
    sys_result(f, L4_OK);
    sched_set_params(t, prio, slice);
}

/* lthread_ex_regs: an lthread of the caller's task (created if needed), a
 * new ip, sp, pager and exception handler (~0 keeps each); out its id and
 * the old values, and its flags. With EXREGS_DELETE = L4_EXREGS_DELETE
 * (exactly; any other value is ignored): deletes the thread instead (not
 * lthread 0, not the caller), so that the number can serve a new thread,
 * with the next version. With L4_EXREGS_RESTART: the threads waiting for
 * its reply get "cancelled" (a pager restarted in place: they fault
 * again, to its new body). */
static void sys_lthread_ex_regs(struct trap_frame *f)
{
    uint64_t lt = sys_arg(f, EXREGS_LTHREAD), ip = sys_arg(f, EXREGS_IP);
    uint64_t sp = sys_arg(f, EXREGS_SP);
    if (lt >= L4_MAX_LTHREADS || (ip != KEEP && ip >= USER_TOP) || (sp != KEEP && sp >= USER_TOP)) {
        sys_result(f, L4_EINVAL);       /* no such lthread, or ip/sp not in user space */
        return;
    }
    if (sys_arg(f, EXREGS_DELETE) == L4_EXREGS_DELETE) {
        struct thread *d = current->space->threads[lt];
        if (!d) {
            sys_result(f, L4_ENOTHREAD);
        } else if (lt == 0 || d == current) {
            sys_result(f, L4_EINVAL);   /* the task's first thread, or itself */
        } else {
            thread_destroy(d);
            sys_result(f, L4_OK);
        }
        return;
    }
    bool restart = sys_arg(f, EXREGS_DELETE) == L4_EXREGS_RESTART;
    struct thread_regs r = { ip, sp, sys_arg(f, EXREGS_PAGER), sys_arg(f, EXREGS_EXC), 0 };
    struct thread *t = thread_ex_regs(current, (unsigned)lt, &r);
    if (!t) {
        sys_result(f, L4_ENOMEM);       /* could not create it */
        return;
    }
    if (restart)    /* a new body: what callers wait for will not come */
        ipc_release_callers(t, L4_IPC_RCV_CANCELLED);
    sys_result(f, L4_OK);
    sys_set(f, EXREGS_ID, t->id);
    sys_set(f, EXREGS_IP, r.ip);
    sys_set(f, EXREGS_SP, r.sp);
    sys_set(f, EXREGS_PAGER, r.pager);
    sys_set(f, EXREGS_EXC, r.exc);
    sys_set(f, EXREGS_OLD_FLAGS, r.flags);
}

/* task_new: a task number (in an id), mcp, ip, sp, pager (nil: leave it
 * inactive, its number passed to the task of the thread in TASK_CHIEF);
 * out the new task's first thread id. */
static void sys_task_new(struct trap_frame *f)
{
    uint64_t id = sys_arg(f, TASK_ID), mcp = sys_arg(f, TASK_MCP), pager = sys_arg(f, TASK_PAGER);
    uint64_t ip = sys_arg(f, TASK_IP), sp = sys_arg(f, TASK_SP);
    unsigned tn = L4_ID_TASK(id);
    sys_set(f, TASK_ID, L4_NILTHREAD);
    /* A non-canonical ip would fault in the kernel's iretq on real CPUs
     * (QEMU lets it through to user mode): user addresses only, as in
     * lthread_ex_regs. */
    if (id == L4_INVALID || id >> 36 || tn == 0 || mcp > 255 ||
        (pager != L4_NILTHREAD && (ip >= USER_TOP || sp >= USER_TOP))) {
        sys_result(f, L4_EINVAL);       /* no task number, mcp, or ip/sp not in user space */
        return;
    }
    if (!space_may_create(current->space, tn)) {
        sys_result(f, L4_EPERM);        /* only the chief or the owner of a number */
        return;
    }
    if (pager == L4_NILTHREAD) {
        space_task_pass(current->space, tn, sys_arg(f, TASK_CHIEF));
        sys_result(f, L4_OK);
        return;
    }
    struct thread *t = space_task_new(current, tn, (uint8_t)mcp, pager, ip, sp);
    sys_result(f, t ? L4_OK : L4_ENOMEM);
    if (t)
        sys_set(f, TASK_ID, t->id);
}

void syscall_dispatch(struct trap_frame *f)
{
    switch (sys_nr(f)) {
    case L4_SYS_IPC:             sys_ipc(f); break;
    case L4_SYS_ID_NEAREST:      sys_id_nearest(f); break;
    case L4_SYS_FPAGE_UNMAP:     sys_fpage_unmap(f); break;
    case L4_SYS_THREAD_SWITCH:   sys_thread_switch(f); break;
    case L4_SYS_THREAD_SCHEDULE: sys_thread_schedule(f); break;
    case L4_SYS_LTHREAD_EX_REGS: sys_lthread_ex_regs(f); break;
    case L4_SYS_TASK_NEW:        sys_task_new(f); break;
    case L4_SYS_KDEBUG:          kdebug(current, f, sys_arg(f, KDEBUG_OP)); break;
    default:                     sys_result(f, L4_EINVAL);
    }
    if (sched_need_resched)
        schedule();
}
