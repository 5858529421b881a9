/* Threads: creation, start, destruction, lookup. */
#include "thread.h"
#include "assert.h"
#include "ipc.h"
#include "irq.h"
#include "kmem.h"
#include "log.h"
#include "sched.h"
#include "space.h"
#include "string.h"
#include "arch.h"

/* No range checks: an id with bits above 35 matches no t->id, and
 * tasks[0] stays NULL. */
struct thread *thread_lookup(uint64_t id)
{
    struct space *s = tasks[L4_ID_TASK(id)];
    struct thread *t = s ? s->threads[L4_ID_LTHREAD(id)] : NULL;
    return t && t->id == id ? t : NULL;
}

struct thread *thread_create(struct space *s, unsigned lthread)
{
    if (lthread >= L4_MAX_LTHREADS || s->threads[lthread])
        return NULL;
    paddr_t block = kmem_alloc_contig(THREAD_BLOCK_SIZE / PAGE_SIZE);
    paddr_t utcb = kmem_alloc_frame();
    if (!block || !utcb ||
        !space_map_page(s, L4_UTCB_BASE + (uint64_t)lthread * PAGE_SIZE, utcb, true, false)) {
        if (block)
            kmem_free_contig(block, THREAD_BLOCK_SIZE / PAGE_SIZE);
        if (utcb)
            kmem_free_frame(utcb);
        return NULL;
    }
    struct thread *t = phys_to_virt(block);
    uint16_t v = ++s->next_version[lthread];
    if (v == 0)
        v = ++s->next_version[lthread];
    t->id = L4_ID(s->task, lthread, v);
    t->space = s;
    t->state = TS_INACTIVE;
    t->fast_from = L4_NILTHREAD;
    t->utcb = phys_to_virt(utcb);
    t->utcb->myself = t->id;
    t->utcb_phys = utcb;
    t->prio = SCHED_DEFAULT_PRIO;
    t->timeslice_us = t->left_us = SCHED_DEFAULT_SLICE_US;
    t->pager = t->exc_handler = L4_NILTHREAD;
    t->canary = THREAD_CANARY;
    t->frame = (struct trap_frame *)((char *)t + THREAD_BLOCK_SIZE) - 1;
    arch_fpu_init_state(t->fpu);
    s->threads[lthread] = t;
    s->nthreads++;
    return t;
}

void thread_start(struct thread *t, uint64_t ip, uint64_t sp)
{
    arch_thread_setup(t, ip, sp);
    sched_make_ready(t);
}

struct thread *thread_ex_regs(struct thread *caller, unsigned lt, struct thread_regs *r)
{
    const uint64_t keep = ~0ull;
    struct space *s = caller->space;
    struct thread *t = s->threads[lt];
    if (!t) {
        t = thread_create(s, lt);
        if (!t)
            return NULL;
        t->prio = caller->prio;
        t->pager = caller->pager;
        t->exc_handler = caller->exc_handler;
        arch_thread_setup(t, 0, 0);
    }
    bool started = t->state != TS_INACTIVE && t->state != TS_STOPPED;
    uint64_t *ip = trap_user_ip(t->frame), *sp = trap_user_sp(t->frame);
    struct thread_regs old = { *ip, *sp, t->pager, t->exc_handler, trap_user_flags(t->frame) };
    if (r->pager != keep)
        t->pager = r->pager;
    if (r->exc != keep)
        t->exc_handler = r->exc;
    ipc_cancel(t);              /* a pending IPC ends with "cancelled" */
    if (r->ip != keep)
        *ip = r->ip;
    if (r->sp != keep)
        *sp = r->sp;
    if (!started && r->ip != keep && r->sp != keep) {
        t->ipc_kernel = false;
        sched_make_ready(t);
    }
    *r = old;
    return t;
}

void thread_stop(struct thread *t, const char *why, uint64_t addr)
{
    kprintf("l4ua: thread %lx (task %u) stopped: %s at %lx, ip %lx\n", t->id,
            L4_ID_TASK(t->id), why, addr, *trap_user_ip(t->frame));
    ipc_abort(t);
    t->state = TS_STOPPED;
    t->fast_from = L4_NILTHREAD;
    sched_remove(t);
}

void thread_destroy(struct thread *t)
{
    kassert(t != current);
    ipc_abort(t);
    ipc_release_waiters(t);
    irq_detach_all(t);
    sched_remove(t);
    struct space *s = t->space;
    s->threads[L4_ID_LTHREAD(t->id)] = NULL;
    s->nthreads--;
    space_unmap_page(s, L4_UTCB_BASE + (uint64_t)L4_ID_LTHREAD(t->id) * PAGE_SIZE);
    kmem_free_frame(t->utcb_phys);
    t->id = L4_INVALID;
    kmem_free_contig(virt_to_phys(t), THREAD_BLOCK_SIZE / PAGE_SIZE);
}
