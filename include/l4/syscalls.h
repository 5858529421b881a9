/* User-side system call wrappers (inline, no library needed). The
 * register use is abi.md's; every wrapper returns the code in rax. */
#ifndef L4UA_SYSCALLS_H
#define L4UA_SYSCALLS_H

#include "abi.h"

/* A message as user code sees it: the tag and the words (the first
 * L4_REG_WORDS travel in registers, the rest in the UTCB). */
struct l4_msg {
    uint64_t tag;
    uint64_t w[L4_REG_WORDS];
};

static inline struct l4_utcb *l4_utcb_of(unsigned lthread)
{
    return (struct l4_utcb *)(L4_UTCB_BASE + (uint64_t)lthread * 4096);
}

/* Message word i of a message received into (or sent from) m by the
 * thread whose UTCB is u: the first L4_REG_WORDS travel in registers
 * (m->w), the rest in the UTCB (the same index in u->mr). */
static inline uint64_t *l4_mr(struct l4_msg *m, struct l4_utcb *u, unsigned i)
{
    return i < L4_REG_WORDS ? &m->w[i] : &u->mr[i];
}

static inline uint64_t l4_mr_get(const struct l4_msg *m, const struct l4_utcb *u, unsigned i)
{
    return i < L4_REG_WORDS ? m->w[i] : u->mr[i];
}

static inline const struct l4_kip *l4_kip(void)
{
    return (const struct l4_kip *)L4_KIP_BASE;
}

/* ipc: dest (send to / receive from), snd tag (L4_NODESC: no send),
 * rcv descriptor (L4_NODESC: no receive), timeouts. On return *from is
 * the sender, msg holds the received tag and register words. */
static inline uint64_t l4_ipc(uint64_t dest, uint64_t snd, uint64_t rcv, uint64_t timeouts,
                              struct l4_msg *msg, uint64_t *from)
{
    register uint64_t rax __asm__("rax") = L4_SYS_IPC;
    register uint64_t rdi __asm__("rdi") = dest;
    register uint64_t rsi __asm__("rsi") = snd;
    register uint64_t rdx __asm__("rdx") = rcv;
    register uint64_t r10 __asm__("r10") = timeouts;
    register uint64_t r8 __asm__("r8") = msg->w[0];
    register uint64_t r9 __asm__("r9") = msg->w[1];
    register uint64_t r12 __asm__("r12") = msg->w[2];
    register uint64_t r13 __asm__("r13") = msg->w[3];
    register uint64_t r14 __asm__("r14") = msg->w[4];
    register uint64_t r15 __asm__("r15") = msg->w[5];
    __asm__ volatile("syscall"
                     : "+r"(rax), "+r"(rdi), "+r"(rsi), "+r"(rdx), "+r"(r10), "+r"(r8), "+r"(r9),
                       "+r"(r12), "+r"(r13), "+r"(r14), "+r"(r15)
                     :
                     : "rcx", "r11", "memory");
    if (rcv != L4_NODESC) {
        msg->tag = rsi;
        msg->w[0] = r8;
        msg->w[1] = r9;
        msg->w[2] = r12;
        msg->w[3] = r13;
        msg->w[4] = r14;
        msg->w[5] = r15;
    }
    if (from)
        *from = rdi;
    return rax;
}

/* The other calls: up to six arguments in rdi rsi rdx r10 r8 r9, results
 * back in the same registers (out[0..5]), code in rax. */
static inline uint64_t l4_syscall6(uint64_t nr, uint64_t a[6])
{
    register uint64_t rax __asm__("rax") = nr;
    register uint64_t rdi __asm__("rdi") = a[0];
    register uint64_t rsi __asm__("rsi") = a[1];
    register uint64_t rdx __asm__("rdx") = a[2];
    register uint64_t r10 __asm__("r10") = a[3];
    register uint64_t r8 __asm__("r8") = a[4];
    register uint64_t r9 __asm__("r9") = a[5];
    __asm__ volatile("syscall"
                     : "+r"(rax), "+r"(rdi), "+r"(rsi), "+r"(rdx), "+r"(r10), "+r"(r8), "+r"(r9)
                     :
                     : "rcx", "r11", "r12", "r13", "r14", "r15", "memory");
    a[0] = rdi; a[1] = rsi; a[2] = rdx; a[3] = r10; a[4] = r8; a[5] = r9;
    return rax;
}

static inline uint64_t l4_id_nearest(uint64_t dest, uint64_t *nearest)
{
    uint64_t a[6] = { dest };
    uint64_t r = l4_syscall6(L4_SYS_ID_NEAREST, a);
    *nearest = a[0];
    return r;
}

static inline uint64_t l4_fpage_unmap(uint64_t fpage, uint64_t mask)
{
    uint64_t a[6] = { fpage, mask };
    return l4_syscall6(L4_SYS_FPAGE_UNMAP, a);
}

static inline uint64_t l4_thread_switch(uint64_t dest)
{
    uint64_t a[6] = { dest };
    return l4_syscall6(L4_SYS_THREAD_SWITCH, a);
}

struct l4_sched_info {
    uint64_t prio, timeslice_us, cpu_us, state, partner;
};

static inline uint64_t l4_thread_schedule(uint64_t dest, uint64_t prio, uint64_t slice_us,
                                          struct l4_sched_info *old)
{
    uint64_t a[6] = { dest, prio, slice_us };
    uint64_t r = l4_syscall6(L4_SYS_THREAD_SCHEDULE, a);
    if (old)
        *old = (struct l4_sched_info){ a[1], a[2], a[4], a[5], a[3] };
    return r;
}

/* ~0 keeps a value. On return (if id/old given): the thread's id, and its
 * old ip, sp, pager, exception handler. */
static inline uint64_t l4_lthread_ex_regs(uint64_t lthread, uint64_t ip, uint64_t sp,
                                          uint64_t pager, uint64_t exc, uint64_t *id,
                                          uint64_t old[4])
{
    uint64_t a[6] = { lthread, ip, sp, pager, exc, 0 };
    uint64_t r = l4_syscall6(L4_SYS_LTHREAD_EX_REGS, a);
    if (id)
        *id = a[0];
    if (old) {
        old[0] = a[1]; old[1] = a[2]; old[2] = a[3]; old[3] = a[4];
    }
    return r;
}

/* As l4_lthread_ex_regs with a new ip and sp for a thread that ran: its
 * new body owes nothing to the threads that wait for its reply, whose
 * waits end "cancelled" (a faulter faults again, to the new body). */
static inline uint64_t l4_lthread_restart(uint64_t lthread, uint64_t ip, uint64_t sp,
                                          uint64_t *id)
{
    uint64_t a[6] = { lthread, ip, sp, ~0ull, ~0ull, L4_EXREGS_RESTART };
    uint64_t r = l4_syscall6(L4_SYS_LTHREAD_EX_REGS, a);
    if (id)
        *id = a[0];
    return r;
}

/* Deletes lthread `lthread` of my task (not 0, not myself): its number
 * then serves a new thread, with the next version (abi.md). */
static inline uint64_t l4_lthread_delete(uint64_t lthread)
{
    uint64_t a[6] = { lthread, ~0ull, ~0ull, ~0ull, ~0ull, L4_EXREGS_DELETE };
    return l4_syscall6(L4_SYS_LTHREAD_EX_REGS, a);
}

/* Deletes task 'task' (if I am its chief) and creates it anew running at
 * ip/sp with the given pager; pager nil: leave it inactive, owned by
 * new_chief. *first gets the new task's first thread id. */
static inline uint64_t l4_task_new(uint64_t task, uint64_t mcp, uint64_t ip, uint64_t sp,
                                   uint64_t pager, uint64_t new_chief, uint64_t *first)
{
    uint64_t a[6] = { task, mcp, ip, sp, pager, new_chief };
    uint64_t r = l4_syscall6(L4_SYS_TASK_NEW, a);
    if (first)
        *first = a[0];
    return r;
}

static inline uint64_t l4_kdebug(uint64_t op, uint64_t arg, uint64_t *out1, uint64_t *out2)
{
    uint64_t a[6] = { op, arg };
    uint64_t r = l4_syscall6(L4_SYS_KDEBUG, a);
    if (out1)
        *out1 = a[1];
    if (out2)
        *out2 = a[2];
    return r;
}

/* The caller's own thread id, from its UTCB. */
static inline uint64_t l4_myself(unsigned lthread)
{
    return l4_utcb_of(lthread)->myself;
}

#endif
