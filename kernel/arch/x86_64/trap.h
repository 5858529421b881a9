/* The saved state of an interrupted context, as entry.S lays it out. */
#pragma once
#include "../../types.h"

struct trap_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;      /* pushed by the CPU */
};
/* entry.S's arch_fast_exit reads the frame by these offsets. */
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

void idt_init(void);
void trap_dispatch(struct trap_frame *f);
const char *trap_name(unsigned vector);
