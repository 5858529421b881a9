/* The protocol of the root's pager thread (pager.c, docs/runtime.md "Lua
 * tasks"): the labels and the words of the messages that the Lua tasks
 * (child.c) and the callers of the rt_task_* calls (tasks.c) send it.
 * The result codes of the replies' w0 are rt.h's RT_TASK_*. */
#pragma once

/* A Lua task's requests about itself:
 *   RT_REQ_HEAP   w0 the heap end it needs; reply w0 the end granted
 *                 (smaller: refused).
 *   RT_REQ_EXIT   w0 the status, w1 1 if it failed, then a string item
 *                 with the message if so; no reply: the task is deleted.
 *   RT_REQ_STACK  w0 a thread-stack slot, w1 bytes at its top that are
 *                 stack (threads.c), 0: its thread has gone, the pages
 *                 go back; reply w0 1 (0: refused).
 *   RT_REQ_IO     reply w0 0 and a map item per I/O fpage of the ports it
 *                 was given at spawn. */
enum { RT_REQ_HEAP = 1, RT_REQ_EXIT, RT_REQ_STACK, RT_REQ_IO };

/* A Lua thread of the root that has ended (threads.c, park_notify):
 *   RT_REQ_REAP   no words, no reply: the pager deletes its L4 thread
 *                 (rt_thread_reap_ended) now, or soon if the libc lock is
 *                 busy. */
enum { RT_REQ_REAP = 8 };

/* Requests about tasks, from the root's threads (any task) and from Lua
 * tasks (the tasks they spawned):
 *   RT_REQ_SPAWN    w0 memcap, w1 mcp, w2 prio, w3 pager (0: the pager
 *                   thread), w4 n, w5.. n I/O port ranges (port | count
 *                   << 32), then two string items: the spawn block's body
 *                   and the name. Reply w0 code, w1 the first thread.
 *   RT_REQ_WAIT     w0 id; reply (when it ended) w0 code, w1 state, w2
 *                   status.
 *   RT_REQ_CANCEL   w0 id: the caller waits no more; reply w0 code.
 *   RT_REQ_DELETE   w0 id; reply w0 code, w1 pages given back.
 *   RT_REQ_INFO     w0 id; reply RT_INFO_WORDS words (below) and two
 *                   strings: the name and the message, with their 0.
 *   RT_REQ_STATS    reply w0 code, w1 pool pages, w2 free, w3 reserved,
 *                   w4 running tasks, w5 shared image pages, w6 copied,
 *                   w7 the pager's own pages (table of pages, records).
 *   RT_REQ_LIST     w0 an index (start 0); reply as RT_REQ_INFO for the
 *                   next visible task, else w0 RT_TASK_ENOTASK.
 *   RT_REQ_RESOLVE  root only: w0 the faulting thread, w1 the fault
 *                   address and access, w2 ip; reply w0 code, w1 the send
 *                   base, w2 the root's fpage to map there.
 *   RT_REQ_ARENA    root only (arena.c): w0 the address of an arena slot,
 *                   w1 1-16: back its first w1 pages with pool pages,
 *                   reply w0 code and a map item per page (the caller
 *                   receives into the slot's fpage); w1 0: the pages of
 *                   the w2 slots from w0 go back to the pool, reply w0
 *                   code, w1 how many. RT_REQ_STATS' w8: the pages the
 *                   arenas hold. */
enum {
    RT_REQ_SPAWN = 16, RT_REQ_WAIT, RT_REQ_CANCEL, RT_REQ_DELETE, RT_REQ_INFO, RT_REQ_STATS,
    RT_REQ_LIST, RT_REQ_RESOLVE, RT_REQ_ARENA,
};

/* The words of an info reply: w0 code, then these. */
enum {
    RT_INFO_ID = 1, RT_INFO_STATE, RT_INFO_STATUS, RT_INFO_PAGES, RT_INFO_SHARED,
    RT_INFO_COPIED, RT_INFO_HEAP, RT_INFO_MEMCAP, RT_INFO_NEXT, RT_INFO_WORDS,
};
