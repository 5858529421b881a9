/* Inside the root's pager thread (docs/runtime.md "Lua tasks"): the task
 * table (tasktab.c), the fault policy (fault.c) and the server (pager.c)
 * share these. Only the pager thread runs this code and touches this
 * state. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "pool.h"
#include "rt.h"
#include "l4/syscalls.h"

/* The tasks' numbers: FIRST_TASK up to L4_MAX_TASKS - 1 (the kernel's
 * bound); a slot of the table is the task's number. */
#define FIRST_TASK  16
/* Ended tasks whose record (how they ended, for wait and info) is kept:
 * beyond, the oldest ended is forgotten. */
#define ENDED_KEEP  64

struct task {
    unsigned state;             /* 0 free, RT_TASK_RUNNING, _EXITED, _FAILED */
    uint64_t id;                /* its first thread */
    uint8_t mcp;                /* the highest priority it may give (and spawn with) */
    uint64_t memcap, heap_end;  /* bytes; granted heap [RT_HEAP_BASE, heap_end) */
    uint64_t reserved;          /* granted heap pages not yet touched, kept in the pool */
    uint64_t pages, shared, copied; /* see struct rt_task_info */
    uint32_t tstack[RT_TSTACK_SLOTS];   /* bytes of stack at the top of each
                                           thread-stack slot (RT_REQ_STACK) */
    unsigned nargs;             /* pages of the spawn block */
    uint32_t args[RT_ARGS_MAX / 4096];
    struct pool_list held;      /* its private pages (pool.h) */
    int status;
    uint64_t ended;             /* order of ending: the oldest ended is forgotten first */
    uint64_t waiter;            /* a thread waiting for the end, or 0 */
    uint64_t parent;            /* the task that asked for it (its first thread), 0: the root */
    char name[RT_NAME_MAX];
    unsigned nio;               /* I/O port ranges it is given (RT_REQ_IO) */
    struct { uint32_t port, count; } io[RT_IO_MAX];
    char msg[RT_MSG_MAX];       /* why it failed, 0-terminated */
};
/* The records (a page each, pool_record), by task number; NULL: the
 * number is free. */
extern struct task *tasks[L4_MAX_TASKS];
extern uint64_t tasks_running;

/* ---- tasktab.c ---- */
/* The running task a thread belongs to, or -1. */
int task_of_thread(uint64_t thread);
/* The task (running or ended) whose first thread is id, or -1. */
int task_of_id(uint64_t id);
/* A zeroed record for a new task, at the next free number after the
 * last one given (in turn, wrapping), or at the oldest ended task's (the kernel gives a reused number's task ids of
 * versions its earlier tasks never had); its number (slot), or -1
 * (RT_TASK_ENOSLOT in *why) if every number runs, or -1 (RT_TASK_ENOMEM)
 * if there is no page for the record. */
int task_new(int *why);
/* Forgets the record (the task was deleted and its pages given back). */
void task_forget(unsigned slot);
/* A zeroed page of the pool for the task at address va, from its heap
 * reserve or not; its pool index, or -1 if the pool has none. */
int64_t task_page(unsigned slot, uint64_t va, bool from_reserve);
/* Gives back the task's pages and reserve (its mappings are gone);
 * returns the pages. */
uint64_t task_release(unsigned slot);
/* Deletes the running task in the kernel, gives back its pages and tells
 * a waiter (with code): what RT_REQ_DELETE does. Returns the pages. */
uint64_t task_kill(unsigned slot, uint64_t code);
/* The task has ended (t->msg holds why, if it failed): delete it, take
 * its pages back, say so on the console, tell a waiter. */
void task_end(unsigned slot, unsigned state, int status);
/* The task failed in a fault or exception at addr (ip): why goes into
 * its message. */
void task_fail(unsigned slot, const char *what, uint64_t addr, uint64_t ip, const char *why);
/* The task failed for a reason of its own (no address). */
void task_fail_msg(unsigned slot, const char *why);

/* ---- pager.c ---- */
/* Lua thread lt of the root has ended (lt 256: none new): its L4 thread
 * is deleted now, or as soon as the libc lock is free. */
void pager_reap(unsigned lt);

/* ---- fault.c ---- */
/* A page fault of the task (m as received): fills m with the map item
 * and returns its tag, or fails the task and returns L4_NODESC. */
uint64_t fault_task(unsigned slot, struct l4_msg *m);
/* A fault or exception of one of the root's own Lua threads (whose
 * pager this thread is, threads.c): in a guard gap of the thread-stack
 * region a stack overflow, anywhere else a bug; either way the thread is
 * stopped as failed (no answer: L4_NODESC) and the console says why. */
uint64_t fault_own(uint64_t from, struct l4_msg *m);
