/* What generic kernel code asks of the architecture. */
#pragma once
#include "../../types.h"

/* Exit codes for QEMU's isa-debug-exit: QEMU's status is (code << 1) | 1. */
enum { EXIT_PASS = 0x10, EXIT_FAIL = 0x11, EXIT_PANIC = 0x12 };

void arch_early_init(void);             /* serial, GDT/TSS, IDT, FPU/SSE */
void arch_late_init(paddr_t phys_limit); /* kernel page tables, timer */
void arch_console_write(const char *s, size_t n);
NORETURN void arch_exit(int code);      /* ends QEMU; halts if it cannot */
void arch_backtrace(uint64_t rbp);      /* prints the frame-pointer chain */
uint64_t arch_ticks(void);              /* timer ticks since boot */
unsigned arch_tick_hz(void);
void arch_idle(void);                   /* wait for the next interrupt */
extern char _kernel_phys_start[], _text[], _etext[], _erodata[], _bss[], _ebss[], _kernel_end[];
