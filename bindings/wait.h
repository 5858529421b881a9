/* The bindings' waits that an interrupt may cancel (ipc.c, irq.c;
 * runtime/lua/rt.h "rt_wait"). */
#ifndef L4B_WAIT_H
#define L4B_WAIT_H

#include "l4b.h"
#include "rt.h"

/* Around an IPC that may block (ipc.c, irq.c): an interrupt of the
 * thread (Ctrl-C at its REPL) cancels it. False when an interrupt is
 * already pending: then the call is not made and fails as cancelled, and
 * the interrupt is raised at the next Lua instruction. */
static inline int rt_wait_begin(struct rt_wait *w)
{
    if (w->interrupt)
        return 0;
    w->seq++;
    w->waiting = 1;
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
