/* The saved state of an interrupted context, as entry.S lays it out. */
#pragma once
#include "../../types.h"

struct trap_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;      /* pushed by the CPU */
};

void idt_init(void);
void trap_dispatch(struct trap_frame *f);
const char *trap_name(unsigned vector);
