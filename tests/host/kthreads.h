/* A host model of kernel threads, so that the real kernel/ipc.c,
 * fastpath.c, sched.c, thread.c, space.c and syscall.c run in a test
 * program (test_ipc.c), with kshim.c below them:
 *
 * - Each thread has a host context (ucontext, its own host stack): its
 *   "user mode" is a C function, the body given to thread_start as ip
 *   (sp is the body's argument), which enters the kernel by kt_syscall,
 *   as syscall_entry would: the IPC fast path first, then
 *   syscall_dispatch, then the return to user mode. The kernel code it
 *   runs blocks where the kernel blocks (schedule, arch_switch) and goes
 *   on where the kernel goes on.
 * - The idle thread is the test's main context: the test runs threads
 *   with kt_run (schedule from idle until nothing is ready) and moves
 *   the clock with kt_advance (a timer tick while idle).
 * - The fast switches (arch_fast_switch, arch_fast_call) are modelled as
 *   fastswitch.h does them: results written into the receiver's user
 *   registers (here its trap frame, which the body reads when its
 *   system call returns), its kernel context dropped (a longjmp to its
 *   system call's exit); the blocked sender goes on at ipc_resume. */
#pragma once
#include "types.h"

struct thread;
struct trap_frame;

typedef void (*kt_body)(uint64_t arg);

/* A clean kernel: pools, the kernel's PML4 and KIP, the scheduler. */
void kt_init(void);
/* Every host stack freed (the kernel's objects are the test's to delete). */
void kt_fini(void);
/* Runs ready threads until none is (the idle thread's turn). */
void kt_run(void);
/* The timer: us microseconds pass, in ticks of at most tick_us, each
 * followed by kt_run. */
void kt_advance(uint64_t us, uint64_t tick_us);
/* Starts t (inactive) with body(arg) as its user code. */
void kt_start(struct thread *t, kt_body body, uint64_t arg);
/* Has t's body returned? (It then sleeps for ever in a receive from nil.) */
bool kt_finished(const struct thread *t);

/* In a body ("user mode"): the running thread's system calls. */
struct kt_ipc {
    uint64_t result, from, tag;
};
/* ipc with the message words set before by kt_mr (rdi rsi rdx r10:
 * dest, tag, receive descriptor, timeouts); the words received are read
 * with kt_mr_get. */
struct kt_ipc kt_ipc(uint64_t dest, uint64_t tag, uint64_t rcv, uint64_t timeouts);
void kt_mr(unsigned i, uint64_t v);
uint64_t kt_mr_get(unsigned i);
/* Any system call: nr and its six arguments; the result code, and the
 * arguments' slots as the call left them in out (if not NULL). */
uint64_t kt_syscall(uint64_t nr, const uint64_t a[6], uint64_t out[6]);
/* A timer interrupt of us microseconds while this thread runs. */
void kt_tick(uint64_t us);

/* The fast switches (fastswitch.h's, on the host), and how many
 * arch_fast_switch made (the tests reset it). */
extern unsigned long kt_fast_switches;
NORETURN void arch_fast_switch(struct thread *prev, struct trap_frame *pf, struct thread *next,
                               uint64_t result, uint64_t tag);
void arch_fast_call(struct thread *prev, struct thread *next, uint64_t result, uint64_t tag);
