/* The host model of kernel threads of kthreads.h. */
#include "kthreads.h"

#include <sanitizer/common_interface_defs.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#include "assert.h"
#include "ipc.h"
#include "kdebug.h"
#include "kip.h"
#include "kmem.h"
#include "sched.h"
#include "space.h"
#include "syscall.h"
#include "thread.h"
#include "arch.h"

/* What kernel/kip.c, kmem.c and the architecture would define. */
struct l4_kip *kip;                 /* NULL: sched_tick writes no clock */
paddr_t kip_phys;
size_t kmem_limit;

#define KT_MAX 128
#define KT_STACK (256 * 1024)       /* ASan's frames are large */

/* One host context per thread (and one for idle, the test's main). */
struct kt {
    const struct thread *t;         /* whose (NULL: free) */
    uint64_t id;                    /* and its id: a freed block comes back */
    ucontext_t uc;
    char *stack;                    /* NULL: the main context's own */
    jmp_buf exit;                   /* its system call's way out to user mode */
    bool to_user;                   /* a fast switch left it straight in user mode */
    bool finished;                  /* its body returned */
    kt_body body;
    uint64_t arg;
};
static struct kt kts[KT_MAX];
unsigned long kt_fast_switches;
static struct thread *idle;
static void *main_stack;
static size_t main_stack_size;

static struct kt *kt_find(const struct thread *t)
{
    for (unsigned i = 0; i < KT_MAX; i++)
        if (kts[i].t == t && kts[i].id == t->id)
            return &kts[i];
    return NULL;
}

static struct kt *kt_of(const struct thread *t)
{
    struct kt *k = kt_find(t);
    if (!k && t == idle) {
        for (unsigned i = 0; i < KT_MAX && !k; i++)
            if (!kts[i].t)
                k = &kts[i];
        kassert(k);
        *k = (struct kt){ .t = t, .id = t->id };
    }
    kassert(k);                     /* a thread the kernel never started */
    return k;
}

/* From context a to b (ASan told of the stack change); returns when a
 * is switched back to. */
static void switch_to(struct kt *a, struct kt *b)
{
    void *fake = NULL;
    __sanitizer_start_switch_fiber(&fake, b->stack ? b->stack : main_stack,
                                   b->stack ? KT_STACK : main_stack_size);
    swapcontext(&a->uc, &b->uc);
    __sanitizer_finish_switch_fiber(fake, NULL, NULL);
}

/* a runs again: out to user mode if a fast switch said so. */
static void resumed(struct kt *a)
{
    if (a->to_user) {
        a->to_user = false;
        longjmp(a->exit, 1);
    }
}

static struct kt_ipc enter(struct thread *me)
{
    struct kt *k = kt_of(me);
    struct trap_frame *f = me->frame;
    if (!setjmp(k->exit)) {         /* syscall_entry */
        if (sys_nr(f) == L4_SYS_IPC)
            ipc_fastpath(f);
        syscall_dispatch(f);
    }
    kassert(current == me);         /* back in user mode */
    return (struct kt_ipc){ f->rax, sys_arg(f, IPC_DEST), sys_arg(f, IPC_TAG) };
}

static void first_entry(void)
{
    const void *from;
    size_t size;
    __sanitizer_finish_switch_fiber(NULL, &from, &size);
    if (!main_stack) {              /* the first switch of all is from main */
        main_stack = (void *)from;
        main_stack_size = size;
    }
    struct kt *k = kt_of(current);
    k->body(k->arg);
    k->finished = true;
    for (;;)                        /* a closed receive from nil: for ever */
        kt_ipc(L4_NILTHREAD, L4_NODESC, 0, L4_TIMEOUTS(L4_TO_NEVER, L4_TO_NEVER, 0, 0));
}

/* getcontext only fills uc for makecontext, which replaces its stack and
 * entry: out of line, so that no caller's variable lives across it. */
static __attribute__((noinline)) int init_context(ucontext_t *uc)
{
    return getcontext(uc);
}

void arch_thread_setup(struct thread *t, uint64_t ip, uint64_t sp)
{
    struct trap_frame *f = t->frame;
    memset(f, 0, sizeof *f);
    f->rip = ip;
    f->rsp = sp;
    struct kt *k = NULL;
    for (unsigned i = 0; i < KT_MAX && !k; i++)     /* its block's old context, or a free one */
        if (kts[i].t == t)
            k = &kts[i];
    for (unsigned i = 0; i < KT_MAX && !k; i++)     /* or one of a deleted thread */
        if (!kts[i].t || (kts[i].t != idle && thread_lookup(kts[i].id) != kts[i].t))
            k = &kts[i];
    kassert(k);
    free(k->stack);
    *k = (struct kt){ .t = t, .id = t->id, .body = (kt_body)(uintptr_t)ip, .arg = sp };
    if (!ip)
        return;                     /* lthread_ex_regs made it; no code yet */
    k->stack = malloc(KT_STACK);
    kassert(k->stack && init_context(&k->uc) == 0);
    k->uc.uc_stack.ss_sp = k->stack;
    k->uc.uc_stack.ss_size = KT_STACK;
    k->uc.uc_link = NULL;
    makecontext(&k->uc, first_entry, 0);
}

void arch_switch(struct thread *prev, struct thread *next)
{
    struct kt *a = kt_of(prev), *b = kt_of(next);
    kassert(b->stack || next == idle);
    switch_to(a, b);
    resumed(a);
}

void arch_fast_switch(struct thread *prev, struct trap_frame *pf, struct thread *next,
                      uint64_t result, uint64_t tag)
{
    struct kt *a = kt_of(prev), *b = kt_of(next);
    kt_fast_switches++;
    if (!next->ipc_kernel) {        /* into its user mode, my words in its registers */
        struct trap_frame *nf = next->frame;
        for (unsigned i = 0; i < L4_REG_WORDS; i++)
            *trap_mr(nf, i) = *trap_mr(pf, i);
        sys_result(nf, result);
        sys_set(nf, IPC_DEST, prev->id);
        sys_set(nf, IPC_TAG, tag);
        b->to_user = true;
    }                               /* else into its kernel context, waiting for this */
    switch_to(a, b);
    resumed(a);
    ipc_resume(pf);                 /* fastpath_resume */
    longjmp(a->exit, 1);
}

void arch_fast_call(struct thread *prev, struct thread *next, uint64_t result, uint64_t tag)
{
    struct kt *a = kt_of(prev), *b = kt_of(next);
    struct trap_frame *nf = next->frame;
    sys_result(nf, result);
    sys_set(nf, IPC_DEST, prev->id);
    sys_set(nf, IPC_TAG, tag);
    b->to_user = true;
    switch_to(a, b);
    resumed(a);
}

void arch_fpu_init_state(uint8_t *a)
{
    memset(a, 0, 512);
}

void arch_irq_mask(unsigned irq)
{
    (void)irq;
}

void arch_irq_unmask(unsigned irq)
{
    (void)irq;
}

/* The debug call has no operations here (each is L4_EINVAL): the tests
 * call kcheck themselves. */
const struct kdebug_op kdebug_ops[KDEBUG_NOPS];

void arch_idle(void)                /* (sched_start's; the tests use kt_run) */
{
    kassert(!"arch_idle");
}

uint64_t arch_tsc_per_us(void)      /* (sched_tick's, with a KIP: none here) */
{
    kassert(!"arch_tsc_per_us");
    return 0;
}

void kt_init(void)
{
    kernel_pml4 = kmem_alloc_frame();
    kip_phys = kmem_alloc_frame();
    kassert(kernel_pml4 && kip_phys);
    sched_init();
    sched_now_us = 0;
    idle = current;
}

void kt_fini(void)
{
    kassert(current == idle);
    for (unsigned i = 0; i < KT_MAX; i++) {
        free(kts[i].stack);
        kts[i] = (struct kt){ 0 };
    }
    kmem_free_frame(kernel_pml4);
    kmem_free_frame(kip_phys);
}

static bool any_ready(void)
{
    return sched_rq_bits[0] | sched_rq_bits[1] | sched_rq_bits[2] | sched_rq_bits[3];
}

void kt_run(void)
{
    kassert(current == idle);
    while (any_ready())
        schedule();                 /* back when nothing is ready */
}

void kt_advance(uint64_t us, uint64_t tick_us)
{
    while (us) {
        uint64_t d = us < tick_us ? us : tick_us;
        sched_tick((unsigned)d);
        us -= d;
        kt_run();
    }
}

void kt_start(struct thread *t, kt_body body, uint64_t arg)
{
    thread_start(t, (uint64_t)(uintptr_t)body, arg);
}

bool kt_finished(const struct thread *t)
{
    struct kt *k = kt_find(t);
    return k && k->finished;
}

void kt_mr(unsigned i, uint64_t v)
{
    if (i < L4_REG_WORDS)
        *trap_mr(current->frame, i) = v;
    else
        current->utcb->mr[i] = v;
}

uint64_t kt_mr_get(unsigned i)
{
    return i < L4_REG_WORDS ? *trap_mr(current->frame, i) : current->utcb->mr[i];
}

struct kt_ipc kt_ipc(uint64_t dest, uint64_t tag, uint64_t rcv, uint64_t timeouts)
{
    struct trap_frame *f = current->frame;
    sys_result(f, L4_SYS_IPC);      /* rax: the call's number on entry */
    sys_set(f, IPC_DEST, dest);
    sys_set(f, IPC_TAG, tag);
    sys_set(f, IPC_RCV, rcv);
    sys_set(f, IPC_TIMEOUTS, timeouts);
    return enter(current);
}

uint64_t kt_syscall(uint64_t nr, const uint64_t a[6], uint64_t out[6])
{
    struct trap_frame *f = current->frame;
    sys_result(f, nr);
    for (unsigned i = 0; i < 6; i++)
        sys_set(f, i, a[i]);
    uint64_t r = enter(current).result;
    for (unsigned i = 0; out && i < 6; i++)
        out[i] = sys_arg(f, i);
    return r;
}

void kt_tick(uint64_t us)
{
    sched_tick((unsigned)us);       /* trap_dispatch's timer interrupt */
    if (sched_need_resched)
        schedule();
}
