/* The Lua root task's runtime: what the newlib stubs (syscalls.c) and
 * main.c need from L4. The task's address space:
 *
 *   0x000000400000  the image (lua-root.ld), loaded by the kernel
 *   0x000100000000  the scripts archive, read-only (L4_SCRIPTS_BASE, KIP)
 *   0x000180000000  a Lua task's spawn block, read-only (RT_ARGS_BASE)
 *   0x000200000000  the heap (sbrk), grown in blocks from sigma0 up to
 *   0x010000000000  RT_HEAP_END
 *   0x020000000000  the root only: the pool of pages its pager gives the
 *                   Lua tasks it spawns (pool.c), up to 1 TiB
 *   0x030000000000  the root only: the keeper's store (keeper.c)
 *   0x040000000000  the root only: the pool's table of pages, and at
 *   0x041000000000  the pager's records of tasks
 *   0x050000000000  the root only: its Lua states' arena chunks, pool
 *                   pages its pager maps there (RT_ARENA_BASE, arena.c)
 *   0x100000000000  the bindings' free area (l4b.h: windows, l4.mem)
 *   0x7f8000000000  the Lua threads' stacks (RT_TSTACK_BASE): 256 slots of
 *                   512 MiB, each a stack of at most 256 MiB at its top and
 *                   an unmapped guard gap below (threads.c); in the root,
 *                   RAM from sigma0 kept for the next thread of the slot;
 *                   in a Lua task, demand-zero from the root's pager
 *   0x7fa000000000  their end
 *   0x7ff000000000  top of Lua's stack (2^RT_STACK_LOG2 bytes from sigma0,
 *                   nothing mapped below: an overflow is a page fault that
 *                   sigma0 logs and does not answer; in a Lua task,
 *                   demand-zero from the root's pager, which ends the
 *                   task on an overflow)
 *   0x7ffe00000000  top of the kernel's 128 KiB boot stack (crt0 leaves it)
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define RT_HEAP_BASE  0x0000000200000000ull
#define RT_HEAP_END   0x0000010000000000ull
#define RT_STACK_TOP  0x00007ff000000000ull
/* 4 MiB: Lua stops C recursion at 200 levels (LUAI_MAXCCALLS), and with
 * LPeg's match (about 10 KiB of frame) at each, as with lpeg.match called
 * from a Cmt capture, that takes some 2.1 MiB (tests/lua/smoke.lua). */
#define RT_STACK_LOG2 22
/* The Lua threads' stacks (threads.c): slot i is [BASE + i * 2^LOG2,
 * BASE + (i + 1) * 2^LOG2); a thread's stack is the top `stack` bytes of
 * its slot (at most RT_TSTACK_MAX), the rest of the slot a guard gap.
 * Threads default to 1 MiB (bindings/thread.c): Lua's 200 nested C calls
 * fit easily; LPeg's match nested through Cmt captures needs a 4 MiB one
 * (above). */
#define RT_TSTACK_BASE  0x00007f8000000000ull
#define RT_TSTACK_LOG2  29
#define RT_TSTACK_SLOTS 256
#define RT_TSTACK_MAX   (256ull << 20)
#define RT_TSTACK_END   (RT_TSTACK_BASE + ((uint64_t)RT_TSTACK_SLOTS << RT_TSTACK_LOG2))
/* The thread-stack slot holding addr, or -1; the top of slot i. */
static inline int rt_tstack_slot(uint64_t addr)
{
    return addr - RT_TSTACK_BASE < RT_TSTACK_END - RT_TSTACK_BASE
               ? (int)((addr - RT_TSTACK_BASE) >> RT_TSTACK_LOG2) : -1;
}
static inline uint64_t rt_tstack_top(unsigned i)
{
    return RT_TSTACK_BASE + ((uint64_t)(i + 1) << RT_TSTACK_LOG2);
}

/* ---- Lua tasks (docs/runtime.md "Lua tasks") ----
 * The root task spawns tasks that run this same image; its pager thread
 * (pager.c, lthread RT_LT_PAGER of the root) is their pager, exception
 * handler and service: it maps them the root's text, read-only data and
 * scripts archive (shared), a copy of the initial .data, and demand-zero
 * pages for .bss, the heap and the stack, and it grants their heap growth
 * up to a memory cap. A task finds what to run in its spawn block. */
#define RT_ARGS_BASE   0x0000000180000000ull
#define RT_ARGS_MAX    (256u << 10)     /* bytes of a spawn block */
#define RT_POOL_BASE   0x0000020000000000ull
#define RT_POOL_META   0x0000040000000000ull    /* the pool's table of pages (pool.c) */
#define RT_POOL_RECORDS 0x0000041000000000ull   /* the pager's task records (pool.c) */
#define RT_LT_PAGER    1                /* lthread of the root's pager thread */
/* The root's arena chunks (arena.c): slots of RT_ARENA_CHUNK bytes from
 * RT_ARENA_BASE, each backed by pool pages while its chunk lives
 * (rt_task_arena). */
#define RT_ARENA_BASE  0x0000050000000000ull
#define RT_ARENA_CHUNK_LOG2 16
#define RT_ARENA_CHUNK (1ull << RT_ARENA_CHUNK_LOG2)
#define RT_ARENA_SLOTS (1ull << 20)     /* 64 GiB of address space */
#define RT_MSG_MAX     1024             /* bytes of an end message kept */
#define RT_ARGS_MAGIC  0x31534b5341547552ull    /* "RuTASKS1" */

#define RT_NAME_MAX    32               /* bytes of a task's name, with the 0 */
#define RT_IO_MAX      8                /* I/O port ranges handed to a task */

/* The spawn block at RT_ARGS_BASE in a Lua task (read-only there). The
 * body, written by bindings/task.c: the script's name, 0-terminated; a
 * 32-bit count n; n values, each a type byte and its data: 's' a 32-bit
 * length and the bytes, 'i' an int64, 'f' a double, 'b' one byte (0 or
 * 1), 'n' nothing (nil). Numbers are little-endian, unaligned. */
struct rt_task_args {
    uint64_t magic;         /* RT_ARGS_MAGIC */
    uint64_t size;          /* bytes of the body */
    uint64_t epoch_us;      /* the root's wall clock at boot (clock.c) */
    uint64_t service;       /* the root's pager thread: heap, stacks, exit, tasks */
    uint64_t memcap;        /* bytes of heap the task may have (and its main state) */
    uint64_t task;          /* its first thread's id */
    uint64_t console;       /* the console server (rt_console_id), 0: none */
    uint64_t files;         /* the file service (rt_files_id), 0: none */
    uint64_t nio;           /* I/O port ranges to fetch at start (RT_REQ_IO) */
    uint64_t flags;         /* the spawner's rt_boot_flags */
    unsigned char body[];
};

/* The messages of a Lua task to its service, and of the rt_task_* calls:
 * taskproto.h. */

/* Results of the rt_task_* calls (0 is success). */
enum {
    RT_TASK_OK, RT_TASK_ENOSLOT, RT_TASK_ENOMEM, RT_TASK_ENOTASK, RT_TASK_ETIMEOUT,
    RT_TASK_EKERNEL, RT_TASK_EINVAL, RT_TASK_EBUSY, RT_TASK_EIPC, RT_TASK_ENOTROOT,
    RT_TASK_EPORTS, RT_TASK_EFAILED,
};
/* How a task is: running, or how it ended. */
enum { RT_TASK_RUNNING = 1, RT_TASK_EXITED, RT_TASK_FAILED };

/* pager.c: the pager thread of the root, started by the first request
 * (RT_TASK_ENOTROOT in a Lua task); its id, 0 before. */
int rt_pager_start(void);
extern uint64_t rt_pager_id;

/* tasks.c, called by any thread of the root but its pager, or of a Lua
 * task (which sees only the tasks it spawned). */
struct rt_spawn {
    const void *body;       /* the spawn block's body (above) */
    size_t size;
    uint64_t memcap;        /* bytes of heap; rounded up to pages */
    unsigned mcp, prio;
    uint64_t pager;         /* its first thread's pager; 0: the root's pager thread */
    const char *name;       /* shown by info and list; cut to RT_NAME_MAX - 1 */
    unsigned nio;           /* I/O port ranges it gets before it starts */
    struct { uint32_t port, count; } io[RT_IO_MAX];
};
struct rt_task_info {
    uint64_t id;            /* its first thread */
    unsigned state;         /* RT_TASK_RUNNING, _EXITED, _FAILED */
    int status;             /* the exit status once it ended */
    uint64_t pages;         /* private pages it holds (held when it ended) */
    uint64_t shared;        /* pages of the root's mapped to it (text, rodata, archive) */
    uint64_t copied;        /* pages copied from the image (.data) */
    uint64_t heap, memcap;  /* heap bytes granted, and the cap */
    char name[RT_NAME_MAX];
    char msg[RT_MSG_MAX];   /* why it failed ("" else) */
};
struct rt_task_stats {
    uint64_t pool, free, reserved;  /* pages got from sigma0, on the free list,
                                       promised to granted heaps */
    uint64_t tasks;                 /* running */
    uint64_t text_pages, data_pages; /* of the image: shared / copied per task */
    uint64_t records;               /* the pager's own pages besides the pool */
    uint64_t arenas;                /* pool pages the root's arena chunks hold */
};
const char *rt_task_strerror(int code);
int rt_task_spawn(const struct rt_spawn *s, uint64_t *id);
/* Deletes a running task (*pages: the pages it gave back) or forgets an
 * ended one (*pages 0). */
int rt_task_delete(uint64_t id, uint64_t *pages);
/* Waits until the task ended, for at most the L4 timeout field `timeout`
 * (abi.md "ipc": L4_TO_NEVER, L4_TO_ZERO: only look), and then tells how
 * it is. */
int rt_task_wait(uint64_t id, uint16_t timeout, struct rt_task_info *i);
int rt_task_info(uint64_t id, struct rt_task_info *i);
/* The visible task after index *next (start with 0): fills i (without
 * msg) and advances *next; RT_TASK_ENOTASK when there is none left. */
int rt_task_next(unsigned *next, struct rt_task_info *i);
int rt_task_stats(struct rt_task_stats *s);
/* Root only (arena.c): pages (1-16) backs the first pages of the arena
 * slot at va (an RT_ARENA_CHUNK slot) with zeroed pool pages, mapped there
 * (RT_TASK_ENOMEM if the pool cannot have them); pages 0 gives the pages
 * of the `slots` slots from va back to the pool (any task's next fault
 * takes them; *released: how many; slots that have none are fine). */
int rt_task_arena(uint64_t va, unsigned pages, uint64_t slots, uint64_t *released);
/* For a pager of a Lua task that is not the root's (l4.task.resolve):
 * what the root's pager would map for the fault of thread `thread` at
 * `addr` (bits 0-2: the access, as in the fault message): *base the send
 * base, *fpage the root's own fpage to map there. RT_TASK_EFAILED if the
 * fault failed the task (the pager deleted it: info tells why). Root
 * only. */
int rt_task_resolve(uint64_t thread, uint64_t addr, uint64_t ip, uint64_t *base,
                    uint64_t *fpage);
/* crt0.S calls this first: the root keeps a copy of its initial .data
 * for the tasks it spawns. */
void rt_data_save(void);

/* child.c: the Lua task side. */
int rt_is_child(void);                      /* not the root task */
const struct rt_task_args *rt_task_args(void);  /* NULL in the root */
uint64_t rt_child_heap(uint64_t end);       /* asks for [RT_HEAP_BASE, end): the end granted */
int rt_child_stack(unsigned slot, uint64_t size);  /* thread-stack slot's top size bytes: ok */
void rt_child_exit(int status, const char *failure) __attribute__((noreturn));
int rt_child_io(void);          /* fetches its I/O ports (RT_REQ_IO): 0 or -1 */

/* main.c (the start-up): how this boot treats a user's scripts (docs/recovery.md);
 * the root decides, a Lua task takes its spawner's. RT_BOOT_NO_USER:
 * user/ is not on package.path (safe mode, and the rescue plan). */
#define RT_BOOT_NO_USER 1
extern uint64_t rt_boot_flags;

/* console.c: the one output path of fds 1 and 2: the console server
 * rt_console_id (docs/console.md), or the kernel's debug output while it
 * is 0. A Lua task starts with its spawner's (rt_task_args.console). */
#define RT_CON_WRITE 0x101          /* the console protocol's write (docs/console.md) */
extern uint64_t rt_console_id;
void rt_console_set_thread(uint64_t id);    /* this Lua thread's own (0: the task's) */
uint64_t rt_console_current(void);          /* where this thread's output goes */
void rt_console_write(const char *s, size_t n);
/* Straight to the kernel's debug output (its log ring, and COM1 until the
 * driver has it; the root's watcher copies the ring to the console): for
 * the pager thread, which must never wait for a task it pages. */
void rt_kernel_write(const char *s, size_t n);
void rt_console_puts(const char *s);

/* files.c: the file service's client (scripts/files.lua, docs/runtime.md
 * "Files"): rt_files_id is its thread (0: none yet; the root sets it with
 * l4.sys.set_files, a Lua task starts with its spawner's). Each returns 0
 * or an errno value; RT_FILES_DOWN when the service does not answer. */
#define RT_FILES_DOWN (-1)
extern uint64_t rt_files_id;
int rt_files_up(void);          /* a service is named, and it is not this task */
/* The whole file: *data is malloc'd (*owned 1), or, for a file of the
 * archive that the RAM tree does not shadow and with in_archive true,
 * the archive's own bytes (*owned 0). */
int rt_files_read(const char *path, int in_archive, char **data, size_t *size, int *owned);
int rt_files_write(const char *path, const char *data, size_t size);
int rt_files_remove(const char *path);
/* lthread lt was stopped for good, its Lua state given up: the files it
 * opened are taken back at the next open (syscalls.c; no malloc here) */
void rt_files_orphan(unsigned lt);
/* newlib's FILEs (streams): how many it has made, how many are in use */
void rt_streams(unsigned *made, unsigned *used);

/* ports.c: the I/O ports this task holds, one record for all its
 * threads: the bindings note what l4.io.request, messages and unmaps
 * change, child.c what a Lua task was given at spawn. */
void rt_ports_note(unsigned port, unsigned count, int held);
int rt_ports_held(unsigned port);

/* mem.c: a block of 2^k bytes of RAM from sigma0, mapped at va (aligned
 * to 2^k): zeroed, or as it is (L4_SIGMA0_ANY_RAW: for memory nothing
 * reads before it writes, stacks; sigma0's zeroing of the root's 4 MiB
 * stack was half a million instructions of the boot). Returns 0 or
 * sigma0's error code (L4_SIGMA0_*), or 0x100 + the IPC error if the call
 * itself failed. */
uint64_t rt_sigma0_any(unsigned k, uint64_t va, int zeroed);
/* The heap behind sbrk, in bytes from its base: what sigma0 (in a Lua
 * task, the root's pager) gave, and what malloc took of it with sbrk. */
void rt_heap_size(uint64_t *mapped, uint64_t *taken);
/* I/O ports [port, port + 2^k) from sigma0; same return codes. */
uint64_t rt_sigma0_ioports(unsigned port, unsigned k);
/* crt0.S calls this on the boot stack: the top of Lua's stack, or 0 to
 * stay on the boot stack (with a warning on the console). */
uint64_t rt_stack_init(void);

/* clock.c: reads the CMOS RTC once (ports from sigma0); without it the
 * wall clock counts from boot. */
void rt_clock_init(void);
uint64_t rt_wall_us(void);          /* microseconds since 1970 (or boot) */
uint64_t rt_cpu_us(void);           /* CPU time of this thread */
uint64_t rt_clock_epoch(void);      /* wall-clock microseconds at boot */
void rt_clock_set_epoch(uint64_t us); /* a Lua task takes the root's */

/* archive.c: the read-only scripts archive (tools/mkarchive.py). */
struct rt_file {
    const char *data;
    size_t size;
};
/* Checks the archive the KIP names; false (and a message) if it is
 * missing or malformed, and then every lookup fails. */
int rt_archive_init(void);
/* Looks a path up ("/" and "./" prefixes are ignored); 0 if found. */
int rt_archive_find(const char *path, struct rt_file *f);
/* The file's bytes and its precompiled chunk (mkarchive.py --luac), if
 * the archive has both; 0 if found. */
int rt_archive_compiled(const char *path, struct rt_file *src, struct rt_file *chunk);
/* syscalls.c: true if opening path for reading now gives exactly the
 * archive's bytes f (found by rt_archive_find): neither the file
 * service's RAM tree nor its disk has a file of that name over them. */
int rt_file_is_archived(const char *path, const struct rt_file *f);
/* Calls fn with each name (not 0-terminated) in order; stops when it
 * returns non-zero. */
void rt_archive_each(void (*fn)(const char *name, size_t len, size_t size, void *arg),
                     void *arg);

/* threads.c: threads of this task that run Lua (docs/runtime.md
 * "Threads"), lthreads RT_LT_FIRST..RT_LT_LAST (0 is the main thread, 1
 * the root's pager, 254 and 255 are debug threads): at most that many at
 * a time; an ended one's number serves a later thread, under a new id. */
#define RT_LT_FIRST 2
#define RT_LT_LAST  253
#define RT_INTERRUPT_MAX 256            /* bytes of an interrupt's message, with the 0 */
struct lua_State;
/* The lthread running this (found by the stack pointer; 0 for any
 * thread that is not a Lua thread). */
unsigned rt_self_lthread(void);
/* The recursive lock of malloc, sbrk and stdio (libc.c). */
void rt_libc_lock(void);
void rt_libc_unlock(void);
/* Takes the lock for thread me (not a Lua thread: the pager) if it is
 * free, without waiting: true then. */
int rt_libc_trylock(uint64_t me);
/* Frees the lock if thread id holds it (it was stopped in it): true then. */
int rt_libc_lock_drop(uint64_t id);
/* Lets go of the lock for a wait in IPC (files.c: a call to the file
 * service, from inside stdio), however deep this thread holds it: its
 * depth, 0 if it held none. rt_libc_resume takes it again that deep. */
unsigned rt_libc_suspend(void);
int rt_libc_held(void);         /* this thread holds the libc lock */
void rt_libc_resume(unsigned depth);
/* Reserves an lthread for the next thread (deleting the L4 threads of
 * ended ones first), or -1 if all are running; with `keep`, the thread's
 * L4 thread outlives its body, parked, for a new body under the same id.
 * With `in` (an id), the lthread of that ended kept thread (the new body
 * runs under its id), or -2 if it still runs, -3 if it is no ended kept
 * thread of this task. Give it to rt_thread_start or back with
 * rt_thread_unreserve. */
int rt_thread_reserve(uint64_t in, int keep);
void rt_thread_unreserve(unsigned lt);
/* Starts lthread lt (from rt_thread_reserve) on a stack of `stack` bytes
 * in a slot of the thread-stack region (with a guard gap below), at
 * priority prio (-1: the creator's), running lua_pcall(L, nargs, 0, 1): L
 * (from rt_lua_newstate) holds a message handler, the body and its nargs
 * arguments. *id gets its id. Returns 0 or an L4 code (L4_ENOMEM: no
 * stack; L4_EBUSY: lt is not reserved); the lthread is free again on
 * failure. The thread then owns L: it closes it itself when the body
 * returns or fails, or when it is killed (at its next Lua instruction). */
int rt_thread_start(unsigned lt, struct lua_State *L, int nargs, size_t stack, int prio,
                    uint64_t *id);
/* The root's pager thread (pager.c), whose id is me: deletes the L4
 * thread of Lua thread lt if it has ended (not a kept one), as the next
 * rt_thread_reserve would; false if the libc lock was busy (nothing
 * done: try again later). */
int rt_thread_reap_ended(unsigned lt, uint64_t me);
/* main.c registers the main thread's state (lthread 0), so that it can
 * be interrupted and report its memory. */
void rt_thread_main(struct lua_State *L);
/* "running", "ended", "failed", "killed", or NULL if id is not a Lua
 * thread of this task. */
const char *rt_thread_status(uint64_t id);
struct rt_thread_info {
    const char *state;          /* as rt_thread_status */
    uint64_t memory, memcap;    /* bytes of its state (0 once closed), its cap */
    uint64_t stack;             /* bytes of its stack (0: the main thread's) */
};
/* A Lua thread of this task or the main thread: 0 or L4_ENOTHREAD. */
int rt_thread_info(uint64_t id, struct rt_thread_info *i);
/* Makes the thread (the main thread included) raise a Lua error with the
 * message `why` at its next Lua instruction. A thread waiting in a
 * binding's IPC (l4.receive, l4.call, l4.sleep, l4.pager_loop, an IRQ
 * wait: those that mark it in rt_wait) has that wait cancelled, so it
 * gets there at once; waits of the runtime's own (console output, files,
 * the libc lock) are left alone. 0, L4_ENOTHREAD (not a Lua thread of
 * this task), L4_EINVAL (it has ended). */
int rt_thread_interrupt(uint64_t id, const char *why);
/* A Lua thread's waits in the bindings: `waiting` is set around a call
 * that may block, which is not started while `interrupt` is set (an
 * interrupt that came first). One per thread, for the calling thread. */
struct rt_wait {
    volatile int waiting;
    volatile int interrupt;     /* an interrupt is pending: raise why */
    volatile unsigned seq;      /* waits begun: a cancel is for one of them */
};
struct rt_wait *rt_thread_wait_self(void);
/* os.exit in a Lua thread (not the task's first thread): the thread ends
 * ("ended" if ok, else "failed"), its state closed, the task goes on. */
__attribute__((noreturn)) void rt_thread_exit(int ok, int status);
/* Ends a running Lua thread for good: at its next Lua instruction (its
 * IPC is cancelled to get it there) it closes its state and parks; if it
 * does not get there soon, it is stopped where it is and its state is
 * given up (leaked). An ended kept thread (rt_thread_reserve) is
 * deleted: its id waits for a body no more. 0, L4_ENOTHREAD (not a Lua
 * thread), L4_EINVAL (itself). */
int rt_thread_kill(uint64_t id);
/* pager.c, in the root: lthread lt faulted where nothing may be: stop it
 * as failed. Returns false if lt is no running Lua thread. */
int rt_thread_fault(unsigned lt);

/* states.c: Lua states whose allocator counts their bytes and refuses
 * beyond `cap` (SIZE_MAX: no cap): Lua then raises "not enough memory"
 * in that state only. NULL if even the state cannot be made. */
struct lua_State *rt_lua_newstate(size_t cap);
void rt_lua_close(struct lua_State *L);     /* lua_close and the counter (the arena) */
/* A state given up (threads.c: its thread stopped inside C, never to run
 * again): in the root its arena is freed at the next rt_lua_newstate;
 * nothing else may use the state after this. No lock, no malloc here. */
void rt_lua_giveup(struct lua_State *L);
/* The allocator's counter of a state: bytes held (as Lua counts them) and
 * the cap; `arena`: the state's blocks are an arena's (arena.c). */
struct rt_counter {
    size_t used, cap;
    int arena;
};
/* arena.c, the root's states' arenas: a new one (its counter without a
 * cap), the allocator (lua_Alloc) of its state, freeing it (after
 * lua_close), giving it up (freed by the next rt_arena_new; lock-free: the
 * pager thread calls it), and the figures: bytes the living arenas hold
 * (chunks and large blocks) and bytes of spare chunks kept for the next. */
struct rt_arena *rt_arena_new(void);
void *rt_arena_alloc(void *ud, void *ptr, size_t osize, size_t nsize);
void rt_arena_close(struct rt_arena *a);
void rt_arena_giveup(struct rt_arena *a);
void rt_arena_figures(uint64_t *held, uint64_t *spare);
/* A new cap; false (and the old one kept) if the state has more already. */
int rt_lua_setcap(struct lua_State *L, size_t cap);
void rt_lua_memory(struct lua_State *L, uint64_t *used, uint64_t *cap);
/* For allocation-failure tests, one state of the task at a time: the
 * state's next n allocations that grow (a new block, a larger one)
 * succeed, and the one after fails, as over its cap, with Lua's retry of
 * it; then the limit is off (SIZE_MAX: lift it now). Freeing and
 * shrinking always work. */
void rt_lua_alloclimit(struct lua_State *L, size_t n);

/* states.c: the message handler that adds a traceback (as lua.c's);
 * package.path and cpath for this boot (require reads the archive, user/
 * first unless rt_boot_flags has RT_BOOT_NO_USER; no C modules); whether
 * the archive has a user's folder (user/). The libraries a state gets are
 * the bindings' (l4lib.h: l4b_openlibs, which calls rt_lua_set_paths). */
int rt_lua_msghandler(struct lua_State *L);
void rt_lua_set_paths(struct lua_State *L);
int rt_user_files(void);

/* Blocks this thread for good (a receive from nil, no timeout). */
void rt_idle(void) __attribute__((noreturn));
