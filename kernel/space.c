/* Address spaces: creation, user page tables, clans, and task_new. */
#include "space.h"
#include "assert.h"
#include "io.h"
#include "irq.h"
#include "ipc.h"
#include "kip.h"
#include "kmem.h"
#include "log.h"
#include "map.h"
#include "mdb.h"
#include "sched.h"
#include "string.h"
#include "arch.h"

struct space *tasks[L4_MAX_TASKS];
uint16_t task_owner[L4_MAX_TASKS];
/* Per task number, the version its next space starts from: past every
 * version its earlier spaces gave (space_destroy), so that no id of a
 * deleted task names a thread of a later one until 2^16 versions. The
 * first space of a number starts at 0x100, as the boot tasks always did. */
static uint16_t task_version[L4_MAX_TASKS] = { [0 ... L4_MAX_TASKS - 1] = 0x100 };

/* Frees the user half's page-table frames (not the pages they map: those
 * belong to whoever mapped them; a page table with its companion, see
 * paging.h), then the PML4. */
static void free_tables(paddr_t pml4)
{
    uint64_t *l4 = phys_to_virt(pml4);
    for (int i = 0; i < 256; i++) {
        if (!(l4[i] & PTE_P))
            continue;
        uint64_t *l3 = phys_to_virt(l4[i] & PTE_ADDR);
        for (int j = 0; j < 512; j++) {
            if (!(l3[j] & PTE_P) || (l3[j] & PTE_PS))
                continue;
            uint64_t *l2 = phys_to_virt(l3[j] & PTE_ADDR);
            for (int k = 0; k < 512; k++)
                if ((l2[k] & PTE_P) && !(l2[k] & PTE_PS))
                    kmem_free_contig(l2[k] & PTE_ADDR, 2);
            kmem_free_frame(l3[j] & PTE_ADDR);
        }
        kmem_free_frame(l4[i] & PTE_ADDR);
    }
    kmem_free_frame(pml4);
}

struct space *space_create(unsigned task, struct space *chief, uint8_t mcp)
{
    kassert(task > 0 && task < L4_MAX_TASKS && !tasks[task]);
    paddr_t sp = kmem_alloc_frame(), pml4 = kmem_alloc_frame();
    if (!sp || !pml4) {
        if (sp)
            kmem_free_frame(sp);
        if (pml4)
            kmem_free_frame(pml4);
        return NULL;
    }
    struct space *s = phys_to_virt(sp);
    s->task = task;
    s->pml4 = pml4;
    s->cr3 = paging_cr3(pml4, task);
    s->tlb_stale = true;            /* its PCID may hold a deleted task's entries */
    s->chief = chief;
    s->mcp = mcp;
    for (unsigned i = 0; i < L4_MAX_LTHREADS; i++)
        s->next_version[i] = task_version[task];
    /* The kernel half (PML4 slots 256..511) is shared by every space. */
    memcpy((uint64_t *)phys_to_virt(pml4) + 256, (uint64_t *)phys_to_virt(kernel_pml4) + 256, 256 * 8);
    if (!space_map_page(s, L4_KIP_BASE, kip_phys, false, false)) {
        free_tables(pml4);
        kmem_free_frame(sp);
        return NULL;
    }
    tasks[task] = s;
    task_owner[task] = (uint16_t)(chief ? chief->task : 0);
    return s;
}

void space_destroy(struct space *s)
{
    /* Deleting a chief deletes its clan first. */
    for (unsigned t = 1; t < L4_MAX_TASKS; t++)
        if (tasks[t] && tasks[t]->chief == s)
            space_destroy(tasks[t]);
    for (unsigned i = 0; i < L4_MAX_LTHREADS; i++)
        if (s->threads[i])
            thread_destroy(s->threads[i]);
    if ((READ_CR(3) & PTE_ADDR) == s->pml4)
        WRITE_CR(3, kernel_pml4);
    /* Each lthread counted up from task_version (thread_create): the
     * next space of this number starts past the one that went furthest. */
    uint16_t base = task_version[s->task], most = 0;
    for (unsigned i = 0; i < L4_MAX_LTHREADS; i++)
        most = MAX(most, (uint16_t)(s->next_version[i] - base));
    task_version[s->task] = (uint16_t)(base + most);
    tasks[s->task] = NULL;
    mdb_unmap_space(s);         /* what others have from s goes too */
    io_space_destroy(s);        /* and the ports */
    irq_task_gone(s->task);     /* its granted lines go back to the root task */
    /* Task numbers the deleted task owned go back to its chief. */
    uint16_t heir = (uint16_t)(s->chief ? s->chief->task : L4_ROOT_TASK);
    for (unsigned t = 1; t < L4_MAX_TASKS; t++)
        if (task_owner[t] == s->task && !tasks[t])
            task_owner[t] = heir;
    free_tables(s->pml4);
    kmem_free_frame(virt_to_phys(s));
}

bool space_map_page(struct space *s, uint64_t va, paddr_t pa, bool writable, bool exec)
{
    if (va < L4_USER_LIMIT || va >= USER_TOP || va % PAGE_SIZE)
        return false;
    uint64_t flags = PTE_U | (writable ? PTE_W : 0) | (exec ? 0 : PTE_NX);
    uint64_t *e = paging_lookup(s->pml4, va);
    if (e) {
        *e = pa | flags | PTE_P;
        space_flush_page(s, va);
        return true;
    }
    return paging_map(s->pml4, va, pa, flags);
}

void space_unmap_page(struct space *s, uint64_t va)
{
    uint64_t *e = paging_lookup(s->pml4, va);
    if (e && !(*e & PTE_PS)) {
        *e = 0;
        space_flush_page(s, va);
    }
}

bool space_lookup(struct space *s, uint64_t va, paddr_t *pa, uint64_t *pte)
{
    if (va >= USER_TOP)
        return false;
    uint64_t *e = paging_lookup(s->pml4, va);
    if (!e || !(*e & PTE_U))
        return false;
    uint64_t mask = (*e & PTE_PS) ? (1ull << 21) - 1 : PAGE_SIZE - 1;
    *pa = (*e & PTE_ADDR & ~mask) | (va & mask);
    *pte = *e;
    return true;
}

bool space_is_ancestor(const struct space *s, const struct space *other)
{
    for (const struct space *c = other->chief; c; c = c->chief)
        if (c == s)
            return true;
    return false;
}

/* Clans (V2): a task's clan is the tasks it created. Inside a clan, from
 * a chief into its own clan and from a clan member to its chief, messages
 * go direct. A message into a
 * subclan goes to the chief of the outermost subclan that contains the
 * destination; a message out of the sender's clan goes to its chief. */
struct thread *space_nearest(struct thread *from, uint64_t dest, int *kind)
{
    struct thread *d = thread_lookup(dest);
    *kind = L4_NEAREST_SAME;
    if (!d)
        return NULL;
    struct space *me = from->space, *ds = d->space;
    if (space_direct(me, ds))
        return d;
    /* Is ds inside a subclan of my clan? Find its ancestor in my clan. */
    for (struct space *a = ds; a->chief; a = a->chief)
        if (a->chief == me->chief || a->chief == me) {
            *kind = L4_NEAREST_INNER;
            return a->threads[0];
        }
    *kind = L4_NEAREST_OUTER;
    if (!me->chief)
        return d;           /* kernel-created tasks have no chief above */
    return me->chief->threads[0];
}

bool space_may_create(struct space *me, unsigned tn)
{
    struct space *old = tasks[tn];
    return old ? old->chief == me : task_owner[tn] == me->task;
}

/* Deletes task tn (if it exists) and makes its number me's. */
static void task_clear(struct space *me, unsigned tn)
{
    if (tasks[tn])
        space_destroy(tasks[tn]);
    task_owner[tn] = (uint16_t)me->task;
}

void space_task_pass(struct space *me, unsigned tn, uint64_t new_owner)
{
    task_clear(me, tn);
    struct thread *nc = thread_lookup(new_owner);  /* (after: not one of tn's) */
    task_owner[tn] = (uint16_t)(nc ? nc->space->task : me->task);
}

struct thread *space_task_new(struct thread *creator, unsigned tn, uint8_t mcp, uint64_t pager,
                              uint64_t ip, uint64_t sp)
{
    struct space *me = creator->space;
    task_clear(me, tn);
    struct space *s = space_create(tn, me, MIN(mcp, me->mcp));
    struct thread *t = s ? thread_create(s, 0) : NULL;
    if (!t) {
        if (s)
            space_destroy(s);
        return NULL;
    }
    t->pager = pager;
    t->exc_handler = pager;
    t->prio = creator->prio;
    thread_start(t, ip, sp);
    return t;
}
