/* What generic kernel code asks of the architecture. */
#pragma once
#include "../../types.h"

/* Exit codes for QEMU's isa-debug-exit: QEMU's status is (code << 1) | 1. */
enum { EXIT_PASS = 0x10, EXIT_FAIL = 0x11, EXIT_PANIC = 0x12 };

void arch_early_init(void);             /* serial, GDT/TSS, IDT, FPU/SSE */
void arch_late_init(paddr_t phys_limit); /* kernel page tables, timer */
void arch_console_write(const char *s, size_t n);
/* Puts COM1 back the way the kernel writes it (polled, no interrupts). */
void arch_console_reset(void);
NORETURN void arch_exit(int code);      /* ends QEMU; halts if it cannot */
void arch_backtrace(uint64_t rbp);      /* prints the frame-pointer chain */
uint64_t arch_ticks(void);              /* timer ticks since boot */
unsigned arch_tick_hz(void);
void arch_idle(void);                   /* sti; hlt; cli: wait for one interrupt */
struct thread;
/* Switches from prev to next: FPU state, kernel stack, address space. */
void arch_switch(struct thread *prev, struct thread *next);
/* Prepares t's kernel stack to enter user mode at ip/sp on first switch
 * (or, if it ran before, just resets its user ip/sp and flags). */
void arch_thread_setup(struct thread *t, uint64_t ip, uint64_t sp);
void arch_fpu_init_state(uint8_t *fxsave_area);
/* A task's I/O bitmap changed (or is being freed: gone). */
void arch_io_bitmap_changed(const uint8_t *bitmap, bool gone);
void arch_irq_mask(unsigned irq);
void arch_irq_unmask(unsigned irq);
uint64_t arch_tsc_per_us(void);          /* measured against the timer; 0 until then */
extern char _kernel_phys_start[], _text[], _etext[], _erodata[], _bss[], _ebss[], _kernel_end[];
