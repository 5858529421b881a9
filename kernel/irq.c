/* Interrupt lines owned by user threads, and the root task's grants of them. */
#include "irq.h"
#include "ipc.h"
#include "arch.h"

struct line {
    struct thread *owner;
    bool pending;           /* raised, not yet delivered */
    bool delivered;         /* delivered, not yet acknowledged */
    uint64_t count;
};
static struct line lines[L4_NUM_IRQS];
/* The task whose threads alone may attach the line (the root task's
 * grant, irq_grant); 0: any thread. Kept apart from struct line, which
 * an attach resets. Invariant: a granted line's owner, if any, is a
 * thread of the granted task. */
static unsigned granted[L4_NUM_IRQS];

/* Line 0 is the kernel's timer, line 2 the PIC cascade. */
static bool attachable(unsigned irq)
{
    return irq < L4_NUM_IRQS && irq != 0 && irq != 2;
}

bool irq_attach(unsigned irq, struct thread *t)
{
    if (!attachable(irq) || (lines[irq].owner && lines[irq].owner != t) ||
        (granted[irq] && granted[irq] != L4_ID_TASK(t->id)))
        return false;
    lines[irq] = (struct line){ .owner = t };
    t->irq_lines |= (uint16_t)(1u << irq);
    arch_irq_unmask(irq);
    return true;
}

bool irq_detach(unsigned irq, struct thread *t)
{
    if (!attachable(irq) || lines[irq].owner != t)
        return false;
    arch_irq_mask(irq);
    lines[irq].owner = NULL;
    t->irq_lines &= (uint16_t)~(1u << irq);
    return true;
}

bool irq_grant(unsigned irq, unsigned task)
{
    if (!attachable(irq) || task >= L4_MAX_TASKS)
        return false;
    granted[irq] = task;
    struct thread *o = lines[irq].owner;
    if (task && o && L4_ID_TASK(o->id) != task)
        irq_detach(irq, o);         /* the line is the grantee's now */
    return true;
}

void irq_task_gone(unsigned task)
{
    for (unsigned i = 0; i < L4_NUM_IRQS; i++)
        if (granted[i] == task)
            granted[i] = L4_ROOT_TASK;
}

uint64_t irq_info(unsigned irq, uint64_t *owner)
{
    *owner = lines[irq].owner ? lines[irq].owner->id : L4_NILTHREAD;
    return lines[irq].count;
}

void irq_detach_all(struct thread *t)
{
    if (!t->irq_lines)
        return;
    for (unsigned i = 0; i < L4_NUM_IRQS; i++)
        if (lines[i].owner == t)
            irq_detach(i, t);
}

bool irq_take_pending(struct thread *t, uint64_t from)
{
    for (unsigned i = 0; i < L4_NUM_IRQS; i++) {
        struct line *l = &lines[i];
        if (l->owner != t || !l->pending || (from != IPC_OPEN && from != L4_IRQ_ID(i)))
            continue;
        l->pending = false;
        l->delivered = true;
        ipc_irq_message(t, i);
        return true;
    }
    return false;
}

void irq_ack(struct thread *t)
{
    for (unsigned i = 0; i < L4_NUM_IRQS; i++)
        if (lines[i].owner == t && lines[i].delivered) {
            lines[i].delivered = false;
            arch_irq_unmask(i);
        }
}

void irq_raise(unsigned irq)
{
    struct line *l = &lines[irq];
    arch_irq_mask(irq);             /* until the handler acknowledges */
    if (!l->owner)
        return;
    l->count++;
    if (ipc_deliver_irq(l->owner, irq))
        l->delivered = true;
    else
        l->pending = true;
}
