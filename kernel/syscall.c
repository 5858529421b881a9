/* System call dispatch, and the calls too small for a file of their own:
 * lthread_ex_regs, fpage_unmap and the debug call. */
#include "assert.h"
#include "check.h"
#include "io.h"
#include "ipc.h"
#include "irq.h"
#include "kip.h"
#include "kmem.h"
#include "log.h"
#include "map.h"
#include "mdb.h"
#include "sched.h"
#include "space.h"
#include "arch/x86_64/arch.h"
#include "arch/x86_64/layout.h"
#include "arch/x86_64/paging.h"
#include "arch/x86_64/trap.h"

/* lthread_ex_regs (abi.md): rdi lthread, rsi ip, rdx sp, r10 pager,
 * r8 exception handler (~0 = keep each). Creates the thread if needed.
 * Out: rax code, rdi id, rsi old ip, rdx old sp, r10 old pager,
 * r8 old exception handler, r9 old rflags. */
static void sys_lthread_ex_regs(struct trap_frame *f)
{
    uint64_t lt = f->rdi, ip = f->rsi, sp = f->rdx, pager = f->r10, exc = f->r8;
    const uint64_t keep = ~0ull;
    if (lt >= L4_MAX_LTHREADS || (ip != keep && ip >= USER_TOP) || (sp != keep && sp >= USER_TOP)) {
        f->rax = L4_EINVAL;
        return;
    }
    struct space *s = current->space;
    struct thread *t = s->threads[lt];
    if (!t) {
        t = thread_create(s, (unsigned)lt);
        if (!t) {
            f->rax = L4_ENOMEM;
            return;
        }
        t->prio = current->prio;
        t->pager = current->pager;
        t->exc_handler = current->exc_handler;
        arch_thread_setup(t, 0, 0);
    }
    bool started = t->state != TS_INACTIVE && t->state != TS_STOPPED;
    uint64_t old_ip = t->frame->rip, old_sp = t->frame->rsp, old_fl = t->frame->rflags;
    uint64_t old_pager = t->pager, old_exc = t->exc_handler;
    if (pager != keep)
        t->pager = pager;
    if (exc != keep)
        t->exc_handler = exc;
    ipc_cancel(t);              /* a pending IPC ends with "cancelled" */
    if (ip != keep)
        t->frame->rip = ip;
    if (sp != keep)
        t->frame->rsp = sp;
    if (!started && ip != keep && sp != keep) {
        t->ipc_kernel = false;
        sched_make_ready(t);
    }
    f->rax = L4_OK;
    f->rdi = t->id;
    f->rsi = old_ip;
    f->rdx = old_sp;
    f->r10 = old_pager;
    f->r8 = old_exc;
    f->r9 = old_fl;
}

/* fpage_unmap (abi.md): rdi fpage, rsi L4_UNMAP_* flags. Each page of
 * the fpage mapped in the caller's space: see mdb_unmap. */
static void sys_fpage_unmap(struct trap_frame *f)
{
    uint64_t fp = f->rdi, mask = f->rsi;
    if ((fp & L4_FPAGE_IO) && !(mask & ~3ull)) {    /* I/O ports: always "flush" */
        f->rax = io_unmap(current->space, fp, mask & L4_UNMAP_OWN) ? L4_OK : L4_EINVAL;
        return;
    }
    if (!map_fpage_valid(fp) || (mask & ~3ull)) {
        f->rax = L4_EINVAL;
        return;
    }
    struct space *s = current->space;
    uint64_t end = MIN(L4_FPAGE_BASE(fp) + (1ull << L4_FPAGE_SIZE(fp)), L4_USER_LIMIT);
    if (L4_FPAGE_SIZE(fp) == PAGE_SHIFT)    /* one page: no stretch to skip */
        mdb_unmap(s, L4_FPAGE_BASE(fp), (unsigned)mask);
    else
        for (uint64_t va = L4_FPAGE_BASE(fp); (va = paging_next_mapped(s->pml4, va, end)) < end;
             va += PAGE_SIZE)
            mdb_unmap(s, va, (unsigned)mask);
    f->rax = L4_OK;
}

/* The next thread after (task, lthread) of id `after` (0: the first). */
static struct thread *next_thread(uint64_t after)
{
    unsigned tn = after ? L4_ID_TASK(after) : 0, lt = after ? L4_ID_LTHREAD(after) + 1 : 0;
    for (; tn < L4_MAX_TASKS; tn++, lt = 0)
        for (; tasks[tn] && lt < L4_MAX_LTHREADS; lt++)
            if (tasks[tn]->threads[lt])
                return tasks[tn]->threads[lt];
    return NULL;
}

/* The root task's view of the kernel for the shell (abi.h). */
static void kdebug_introspect(struct trap_frame *f)
{
    f->rax = L4_OK;
    switch (f->rdi) {
    case L4_KDEBUG_THREAD_INFO: {
        static const uint8_t states[] = { L4_TS_INACTIVE, L4_TS_READY, L4_TS_SENDING,
                                          L4_TS_RECEIVING, L4_TS_STOPPED };
        struct thread *t = next_thread(f->rsi);
        f->rsi = t ? t->id : 0;
        if (!t)
            break;
        bool waits = t->state == TS_SEND_WAIT || t->state == TS_RECV_WAIT;
        f->rdx = states[t->state] | (uint64_t)t->prio << 8;
        f->r10 = t->cpu_us;
        f->r8 = waits ? t->partner : L4_NILTHREAD;
        f->r9 = t->pager;
        break;
    }
    case L4_KDEBUG_IRQ_INFO:
        if (f->rsi >= L4_NUM_IRQS) {
            f->rax = L4_EINVAL;
            break;
        }
        f->rdx = irq_info((unsigned)f->rsi, &f->rsi);
        break;
    case L4_KDEBUG_CONSOLE:
        log_release_serial(f->rsi != 0);
        break;
    case L4_KDEBUG_KLOG: {
        uint64_t w[4] = { 0 };
        f->rdi = log_read(&f->rsi, (char *)w, sizeof w);
        f->rdx = w[0], f->r10 = w[1], f->r8 = w[2], f->r9 = w[3];
        break;
    }
    }
}

/* The debug call (not an L4 system call): rdi op, rsi/rdx arguments. */
static void sys_kdebug(struct trap_frame *f)
{
    switch (f->rdi) {
    case L4_KDEBUG_PUTC: {
        char c = (char)f->rsi;
        log_write(&c, 1);
        f->rax = L4_OK;
        break;
    }
    case L4_KDEBUG_EXIT:            /* tests end QEMU; root task only */
        if (current->space->task != L4_ROOT_TASK) {
            f->rax = L4_EPERM;
            break;
        }
        arch_exit(f->rsi ? EXIT_FAIL : EXIT_PASS);
    case L4_KDEBUG_RAISE_IRQ:       /* tests of interrupt IPC without a device */
        if (current->space->task != L4_ROOT_TASK || f->rsi == 0 || f->rsi >= L4_NUM_IRQS) {
            f->rax = current->space->task != L4_ROOT_TASK ? L4_EPERM : L4_EINVAL;
            break;
        }
        irq_raise((unsigned)f->rsi);
        f->rax = L4_OK;
        break;
    case L4_KDEBUG_RTC_IRQ:         /* a real device interrupt for tests */
        if (current->space->task != L4_ROOT_TASK) {
            f->rax = L4_EPERM;
            break;
        }
        arch_rtc_periodic(f->rsi != 0);
        f->rax = L4_OK;
        break;
    case L4_KDEBUG_MDB_CHECK:       /* read-only: any task */
        f->rax = mdb_check() ? L4_OK : L4_EINVAL;
        break;
    case L4_KDEBUG_THREAD_INFO:
    case L4_KDEBUG_IRQ_INFO:
    case L4_KDEBUG_CONSOLE:
    case L4_KDEBUG_KLOG:
        if (current->space->task != L4_ROOT_TASK) {
            f->rax = L4_EPERM;
            break;
        }
        kdebug_introspect(f);
        break;
    case L4_KDEBUG_CHECK: {        /* read-only: any task */
        unsigned bad = kcheck(&f->rsi, &f->rdx);
        f->r10 = bad;
        f->rax = bad ? L4_EINVAL : L4_OK;
        break;
    }
    case L4_KDEBUG_KMEM:
        f->rax = L4_OK;
        f->rsi = kmem_used;
        f->rdx = kmem_limit;
        break;
    default:
        f->rax = L4_EINVAL;
    }
}

void syscall_dispatch(struct trap_frame *f)
{
    switch (f->rax) {
    case L4_SYS_IPC:             sys_ipc(f); break;
    case L4_SYS_ID_NEAREST:      sys_id_nearest(f); break;
    case L4_SYS_FPAGE_UNMAP:     sys_fpage_unmap(f); break;
    case L4_SYS_THREAD_SWITCH:   sys_thread_switch(f); break;
    case L4_SYS_THREAD_SCHEDULE: sys_thread_schedule(f); break;
    case L4_SYS_LTHREAD_EX_REGS: sys_lthread_ex_regs(f); break;
    case L4_SYS_TASK_NEW:        sys_task_new(f); break;
    case L4_SYS_KDEBUG:          sys_kdebug(f); break;
    default:                     f->rax = L4_EINVAL;
    }
    if (sched_need_resched)
        schedule();
}
