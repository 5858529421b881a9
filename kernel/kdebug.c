/* The debug call: a table of {op, root_only, handler} (kdebug.h). The
 * root task's view of the kernel for the shell (threads, lines, the log,
 * the console) and the checks that walk every mapping or every object
 * are root-only: they run with interrupts off for as long as the system
 * is large. */
#include "kdebug.h"
#include "check.h"
#include "irq.h"
#include "kmem.h"
#include "log.h"
#include "mdb.h"
#include "space.h"
#include "syscall.h"

/* Arguments and results of the debug call (abi.md "Debug call"). */
enum { KD_ARG = 1, KD_OUT1 = 1, KD_OUT2 = 2, KD_OUT3 = 3, KD_OUT4 = 4, KD_OUT5 = 5 };

static void kd_putc(struct trap_frame *f)
{
    char c = (char)sys_arg(f, KD_ARG);
    log_write(&c, 1);
    sys_result(f, L4_OK);
}

static void kd_kmem(struct trap_frame *f)
{
    sys_result(f, L4_OK);
    sys_set(f, KD_OUT1, kmem_used);
    sys_set(f, KD_OUT2, kmem_limit);
}

static void kd_mdb_check(struct trap_frame *f)
{
    sys_result(f, mdb_check() ? L4_OK : L4_EINVAL);
}

static void kd_check(struct trap_frame *f)
{
    uint64_t used, held;
    unsigned bad = kcheck(&used, &held);
    sys_set(f, KD_OUT1, used);
    sys_set(f, KD_OUT2, held);
    sys_set(f, KD_OUT3, bad);
    sys_result(f, bad ? L4_EINVAL : L4_OK);
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

static void kd_thread_info(struct trap_frame *f)
{
    struct thread *t = next_thread(sys_arg(f, KD_ARG));
    sys_result(f, L4_OK);
    sys_set(f, KD_OUT1, t ? t->id : 0);
    if (!t)
        return;
    sys_set(f, KD_OUT2, thread_abi_state(t) | (uint64_t)t->prio << 8);
    sys_set(f, KD_OUT3, t->cpu_us);
    sys_set(f, KD_OUT4, thread_waits(t) ? t->partner : L4_NILTHREAD);
    sys_set(f, KD_OUT5, t->pager);
}

static void kd_irq_info(struct trap_frame *f)
{
    uint64_t line = sys_arg(f, KD_ARG), owner;
    if (line >= L4_NUM_IRQS) {
        sys_result(f, L4_EINVAL);       /* no such line */
        return;
    }
    sys_set(f, KD_OUT2, irq_info((unsigned)line, &owner));
    sys_set(f, KD_OUT1, owner);
    sys_result(f, L4_OK);
}

static void kd_irq_grant(struct trap_frame *f)
{
    uint64_t a = sys_arg(f, KD_ARG);
    sys_result(f, irq_grant((unsigned)(a & 0xff), (unsigned)(a >> 8)) ? L4_OK : L4_EINVAL);
}

static void kd_console(struct trap_frame *f)
{
    log_release_serial(sys_arg(f, KD_ARG) != 0);
    sys_result(f, L4_OK);
}

static void kd_klog(struct trap_frame *f)
{
    uint64_t w[4] = { 0 }, pos = sys_arg(f, KD_ARG);
    uint64_t n = log_read(&pos, (char *)w, sizeof w);
    sys_result(f, L4_OK);
    sys_set(f, KDEBUG_OP, n);
    sys_set(f, KD_OUT1, pos);
    sys_set(f, KD_OUT2, w[0]);
    sys_set(f, KD_OUT3, w[1]);
    sys_set(f, KD_OUT4, w[2]);
    sys_set(f, KD_OUT5, w[3]);
}

const struct kdebug_op kdebug_ops[KDEBUG_NOPS] = {
    [L4_KDEBUG_PUTC] = { kd_putc, false },
    [L4_KDEBUG_KMEM] = { kd_kmem, false },
    [L4_KDEBUG_MDB_CHECK] = { kd_mdb_check, true },
    [L4_KDEBUG_THREAD_INFO] = { kd_thread_info, true },
    [L4_KDEBUG_IRQ_INFO] = { kd_irq_info, true },
    [L4_KDEBUG_CONSOLE] = { kd_console, true },
    [L4_KDEBUG_KLOG] = { kd_klog, true },
    [L4_KDEBUG_CHECK] = { kd_check, true },
    [L4_KDEBUG_IRQ_GRANT] = { kd_irq_grant, true },
    [L4_KDEBUG_EXIT] = { kdebug_test_exit, true },
    [L4_KDEBUG_RAISE_IRQ] = { kdebug_test_raise_irq, true },
    [L4_KDEBUG_RTC_IRQ] = { kdebug_test_rtc_irq, true },
    [L4_KDEBUG_COV] = { kdebug_test_cov, false },
    [L4_KDEBUG_KMEM_LIMIT] = { kdebug_test_kmem_limit, true },
    [L4_KDEBUG_MAPPING] = { kdebug_test_mapping, false },
};
