/* Tasks (address spaces), their clans, and the user half of their tables. */
#pragma once
#include "types.h"
#include "thread.h"
#include "arch.h"

struct space {
    unsigned task;                  /* task number (1.. L4_MAX_TASKS-1) */
    paddr_t pml4;                   /* user half own, kernel half shared */
    uint64_t cr3;                   /* loads it: pml4 (with PCIDs, PCID = task) */
    bool tlb_stale;                 /* TLB may hold changed entries: flush at next load */
    struct space *chief;            /* NULL: created by the kernel */
    uint8_t mcp;                    /* highest priority its threads may set */
    uint16_t next_version[L4_MAX_LTHREADS];
    struct thread *threads[L4_MAX_LTHREADS];
    unsigned nthreads;
    paddr_t io_bitmap;              /* its I/O ports (io.c), 0 if none */
    uint16_t io_extent;             /* bytes of it that may allow a port (the rest is 0xff) */
};

extern struct space *tasks[L4_MAX_TASKS];
extern uint16_t task_owner[L4_MAX_TASKS];   /* who may create task n (task number) */

/* A new empty space numbered task, chief as given; NULL if no memory. */
struct space *space_create(unsigned task, struct space *chief, uint8_t mcp);
/* Deletes the space, its threads and (recursively) every task it is chief
 * of; every mapping derived from its pages goes too (mdb.h). */
void space_destroy(struct space *s);
/* Maps one 4 KiB page of the kernel's in the user half (KIP, UTCB: at or
 * above L4_USER_LIMIT); false if out of kernel memory or va bad. User
 * memory below is mapped only through the mapping database (mdb.h). */
bool space_map_page(struct space *s, uint64_t va, paddr_t pa, bool writable, bool exec);
/* Unmaps such a page (a UTCB). */
void space_unmap_page(struct space *s, uint64_t va);
/* Physical address and page-table entry of a user page; false if not mapped. */
bool space_lookup(struct space *s, uint64_t va, paddr_t *pa, uint64_t *pte);
/* A present user entry of s changed (gone, or rights taken): the TLB may
 * still hold the old one. invlpg if s is loaded (CR3); else its next load
 * flushes (which, without PCIDs, every load does anyway). */
static inline void space_flush_page(struct space *s, uint64_t va)
{
    if ((READ_CR(3) & PTE_ADDR) == s->pml4)
        invlpg(va);
    else
        s->tlb_stale = true;
}
/* Does a message from 'from' to a thread of 'to' go there directly (my
 * own task, my clan, my own chief, or into my clan)? Inline: the IPC
 * fast path asks it on every call. */
static inline bool space_direct(const struct space *from, const struct space *to)
{
    return to == from || to->chief == from->chief || to == from->chief || to->chief == from;
}
/* The same, for the fast path, the calls between a task and its chief
 * first; *to_chief: is to from's chief (then the message comes from
 * inside to's subclans: FROM_INNER)? */
static inline bool space_direct_chief(const struct space *from, const struct space *to,
                                      bool *to_chief)
{
    *to_chief = to == from->chief;
    return *to_chief || to->chief == from || to == from || to->chief == from->chief;
}
/* Is other inside s's subclans (s is an ancestor chief of other)? */
bool space_is_ancestor(const struct space *s, const struct space *other);
/* The thread a message from 'from' addressed to dest really goes to (clans
 * and chiefs), with L4_NEAREST_* in *kind; NULL if dest does not exist. */
struct thread *space_nearest(struct thread *from, uint64_t dest, int *kind);
/* The syscall task_new. */
/* task_new's mechanism (syscall.c checked the values). May me delete and
 * create task number tn? (Its chief, or the owner of a free number.) */
bool space_may_create(struct space *me, unsigned tn);
/* Deletes task tn, if it exists, and passes the right to create it to the
 * task of the thread new_owner (or keeps it, if there is no such thread). */
void space_task_pass(struct space *me, unsigned tn, uint64_t new_owner);
/* Deletes task tn, if it exists, and makes it anew in creator's clan: mcp
 * at most creator's, thread 0 at ip/sp with pager as pager and exception
 * handler and creator's priority. NULL if out of kernel memory. */
struct thread *space_task_new(struct thread *creator, unsigned tn, uint8_t mcp, uint64_t pager,
                              uint64_t ip, uint64_t sp);
