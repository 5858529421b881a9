/* Interrupts as IPC (abi.md "Interrupts"): IRQ n speaks as thread id n+1
 * to the one thread attached to it; the line stays masked from delivery
 * until that thread's next receive. */
#pragma once
#include "types.h"
#include "thread.h"

bool irq_attach(unsigned irq, struct thread *t);
bool irq_detach(unsigned irq, struct thread *t);
/* From now on only threads of `task` may attach the line (0: any thread);
 * a thread of another task attached to it is detached. The root task's
 * (the device manager hands a driver its line). */
bool irq_grant(unsigned irq, unsigned task);
/* Task `task` was deleted: its granted lines are the root task's (so that
 * a later task of the same number does not inherit them). */
void irq_task_gone(unsigned task);
/* How often the line was raised; *owner its thread's id (nilthread if none). */
uint64_t irq_info(unsigned irq, uint64_t *owner);
void irq_detach_all(struct thread *t);
/* If t may take a pending interrupt (from = OPEN or that IRQ's id),
 * write it into t's registers and return true. This and irq_ack loop
 * over the lines: the IPC path calls them only if t->irq_lines. */
bool irq_take_pending(struct thread *t, uint64_t from);
/* t starts a receive: unmask the lines whose last interrupt it took. */
void irq_ack(struct thread *t);
/* From the interrupt path, for lines other than the timer. */
void irq_raise(unsigned irq);
