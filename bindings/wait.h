/* The bindings' waits that an interrupt may cancel (ipc.c, irq.c;
 * runtime/lua/rt.h "rt_wait"). */
#ifndef L4B_WAIT_H
#define L4B_WAIT_H

#include "l4b.h"
#include "rt.h"

/* Around an IPC that may block (ipc.c, irq.c): an interrupt of the
 * thread (Ctrl-C at its REPL) cancels it. False when an interrupt is
 * already pending: then the call is not made and fails as cancelled, and
 * the interrupt is raised at the next Lua instruction.
 * The order matters: waiting is set before interrupt is looked at, as
 * the interrupter (runtime/lua/threads.c) sets interrupt before it looks
 * at waiting, so one of the two sees the other (the fields are volatile,
 * the CPU one). Looked at first, an interrupt that came between the look
 * and the IPC found no wait to cancel, and the IPC waited for good
 * (repl.interrupt_a_chunk_that_waits: Ctrl-C left an l4.receive()
 * waiting, once in a few full runs). */
static inline int rt_wait_begin(struct rt_wait *w)
{
    w->seq++;
    w->waiting = 1;
    if (w->interrupt) {
        w->waiting = 0;
        return 0;
    }
    return 1;
}
static inline void rt_wait_end(struct rt_wait *w)
{
    w->waiting = 0;
}

/* The state's thread's waits, found at its first wait. */
static inline struct rt_wait *l4b_wait(struct l4b_state *st)
{
    if (__builtin_expect(st->wait == NULL, 0))
        st->wait = rt_thread_wait_self();
    return st->wait;
}

#endif
