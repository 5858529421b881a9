/* The saved state of an interrupted context, as entry.S lays it out. */
#pragma once
#include "../../types.h"

struct trap_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;      /* pushed by the CPU */
};
/* fastpath.S's exits read the frame by these offsets. */
_Static_assert(__builtin_offsetof(struct trap_frame, r8) == 56 &&
               __builtin_offsetof(struct trap_frame, r10) == 40 &&
               __builtin_offsetof(struct trap_frame, rbp) == 64 &&
               __builtin_offsetof(struct trap_frame, rdx) == 88 &&
               __builtin_offsetof(struct trap_frame, rbx) == 104 &&
               __builtin_offsetof(struct trap_frame, rip) == 136 &&
               __builtin_offsetof(struct trap_frame, rflags) == 152 &&
               __builtin_offsetof(struct trap_frame, rsp) == 160, "trap_frame layout");

/* Message word i < 6 (abi.md "ipc": r8 r9 r12 r13 r14 r15) in a frame. */
static inline uint64_t *trap_mr(struct trap_frame *f, unsigned i)
{
    return &((uint64_t *)f)[7 - i - (i >= 2 ? 2 : 0)];
}
_Static_assert(__builtin_offsetof(struct trap_frame, r9) == 48 &&
               __builtin_offsetof(struct trap_frame, r12) == 24 &&
               __builtin_offsetof(struct trap_frame, r15) == 0, "trap_mr");

/* The system call registers (abi.md "System calls"), the only place that
 * names them: the call number and the result code in rax; arguments and
 * results 0..5 in rdi rsi rdx r10 r8 r9. Generic code reaches them through
 * syscall.h's names for each call's arguments. */
static inline uint64_t *trap_sys_arg(struct trap_frame *f, unsigned i)
{
    switch (i) {
    case 0: return &f->rdi;
    case 1: return &f->rsi;
    case 2: return &f->rdx;
    case 3: return &f->r10;
    case 4: return &f->r8;
    default: return &f->r9;
    }
}
static inline uint64_t *trap_sys_code(struct trap_frame *f)
{
    return &f->rax;
}
/* Where a thread resumes in user mode, and its stack and flags there. */
static inline uint64_t *trap_user_ip(struct trap_frame *f) { return &f->rip; }
static inline uint64_t *trap_user_sp(struct trap_frame *f) { return &f->rsp; }
static inline uint64_t trap_user_flags(const struct trap_frame *f) { return f->rflags; }

void idt_init(void);
void trap_dispatch(struct trap_frame *f);
const char *trap_name(unsigned vector);
