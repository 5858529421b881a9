/* The kernel's self-check for tests (the debug call L4_KDEBUG_CHECK):
 * thread states agree with the ready queues, send queues and timeouts
 * (sched_check), and the kernel pool's count of used frames equals the
 * frames its objects hold, so a leak or a double free shows at once.
 * Linear in threads and page tables: for tests, not for the fast path. */
#include "check.h"
#include "io.h"
#include "kip.h"
#include "kmem.h"
#include "mdb.h"
#include "sched.h"
#include "space.h"
#include "arch.h"

/* Frames of the page tables below an entry array of a level (3 = PML4),
 * slots [from, to): a user level-0 table comes with its companion frame. */
static size_t table_frames(const uint64_t *t, int level, unsigned from, unsigned to, bool user)
{
    size_t n = 0;
    for (unsigned i = from; i < to && level > 0; i++) {
        if (!(t[i] & PTE_P) || (t[i] & PTE_PS))
            continue;
        n += level == 1 && user ? 2 : 1;
        n += table_frames(phys_to_virt(t[i] & PTE_ADDR), level - 1, 0, 512, user);
    }
    return n;
}

/* Is t in its owner's send queue, and is that queue well linked? */
static bool in_send_queue(const struct thread *t)
{
    const struct thread *h = t->sq_owner->sq_head;
    size_t n = 0;
    for (const struct thread *s = h; s; s = s->sq_next, n++) {
        if (n > (size_t)L4_MAX_TASKS * L4_MAX_LTHREADS || s->sq_owner != t->sq_owner ||
            (s != h && s->sq_prev->sq_next != s))
            return false;
        if (s == t)
            return true;
    }
    return false;
}

unsigned kcheck(uint64_t *used, uint64_t *held)
{
    unsigned bad = 0;
    size_t queued, ready = 0;
    if (!sched_check(&queued))
        bad |= KCHECK_RUNQ;
    /* kernel half: the PML4 and the tables every space shares; the KIP */
    size_t frames = 1 + table_frames(phys_to_virt(kernel_pml4), 3, 256, 512, false) + 1;
    for (unsigned tn = 1; tn < L4_MAX_TASKS; tn++) {
        struct space *s = tasks[tn];
        if (!s)
            continue;
        if (s->task != tn)
            bad |= KCHECK_THREADS;
        frames += 2 + table_frames(phys_to_virt(s->pml4), 3, 0, 256, true);
        unsigned nthreads = 0;
        for (unsigned i = 0; i < L4_MAX_LTHREADS; i++) {
            struct thread *t = s->threads[i];
            if (!t)
                continue;
            nthreads++;
            frames += THREAD_BLOCK_SIZE / PAGE_SIZE + 1;
            if (t->space != s || L4_ID_LTHREAD(t->id) != i || t->canary != THREAD_CANARY)
                bad |= KCHECK_THREADS;
            if ((t->state == TS_READY) != (t->rq_next != NULL))
                bad |= KCHECK_RUNQ;
            ready += t->state == TS_READY;
            if ((t->state == TS_SEND_WAIT) != (t->sq_owner != NULL) ||
                (t->sq_owner && !in_send_queue(t)))
                bad |= KCHECK_SENDQ;
            if (t->deadline_us && t->state != TS_SEND_WAIT && t->state != TS_RECV_WAIT)
                bad |= KCHECK_RUNQ;
            if (t->fast_from != L4_NILTHREAD &&
                (t->state != TS_RECV_WAIT || t->ipc_kernel || t->deadline_us ||
                 t->fast_from != t->partner))
                bad |= KCHECK_SENDQ;    /* the fast path would take a wrong one */
        }
        if (nthreads != s->nthreads)
            bad |= KCHECK_THREADS;
    }
    if (ready != queued)
        bad |= KCHECK_RUNQ;
    frames += mdb_frames() + io_frames();
    *used = kmem_used;
    *held = frames;
    if (frames != kmem_used)
        bad |= KCHECK_KMEM;
    return bad;
}
