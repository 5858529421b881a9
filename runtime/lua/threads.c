/* Threads of this task that run Lua (docs/runtime.md "Threads"): their
 * lifecycle, stacks, interrupts and kills.
 *
 * A Lua thread is an L4 thread of this task (lthread RT_LT_FIRST up to
 * RT_LT_LAST; an ended one's L4 thread is deleted and its number serves a
 * later thread, whose id has another version: an old id never names it)
 * with a Lua state of its own, prepared by its creator (bindings/thread.c)
 * with the body function and its arguments on it, and a stack in a slot of the
 * thread-stack region (rt.h): the stack at the slot's top, an unmapped
 * guard gap below it, so an overflow is a page fault, never a write into
 * somebody else's memory. In the root a slot keeps its memory when its
 * thread ends (sigma0 gives each frame once) and serves the next thread,
 * cleared; in a Lua task the pages go back to the root's pool.
 *
 * Which thread am I? There is no register for it: a thread is found by
 * its stack pointer; in a slot of the region it is that slot's thread,
 * anything else is lthread 0 (the main thread). Only lthread 0 and the
 * Lua threads call newlib (the pager and the echo thread never do).
 *
 * Interrupts and kills act at a safe point: the requester sets a Lua hook
 * on the target's state (lua_sethook is safe to call asynchronously, as
 * lua.c does for SIGINT), which runs in the target at its next Lua
 * instruction, where no malloc, stdio or libc lock is in progress. An
 * interrupt raises a Lua error there; a kill closes the state (its __gc
 * and to-be-closed code run in its own thread, its memory goes back to
 * the heap) and parks the thread.
 *
 * The lock that makes newlib usable from several threads: libc.c. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lauxlib.h"
#include "lua.h"
#include "rt.h"
#include "taskproto.h"
#include "l4/syscalls.h"

/* A slot's life: FREE (never used) -> RESERVED (rt_thread_reserve) ->
 * RUNNING -> ENDED, FAILED or KILLED, parked; then reaped (its L4 thread
 * deleted, `alive` 0): in the root at once by the pager thread (told by
 * park_notify, or by the fault; if the libc lock is busy, a millisecond
 * later) or by its killer; in a Lua task by the next reserve. Then a
 * reserve may pick it again:
 * RESERVED with a new L4 thread, whose id has the next version. Until
 * then its id and how it ended stay here for rt_thread_status.
 * A thread made with `keep` (its id is a role others hold: the pager of
 * tasks) is not reaped: parked, its L4 thread waits for a new body
 * (rt_thread_reserve with its id: RESERVED again, the same L4 thread and
 * id), or for a kill, which reaps it. */
enum { T_FREE, T_RUNNING, T_ENDED, T_FAILED, T_KILLED, T_RESERVED };
/* How often a kill cancels the target's IPC and donates the CPU to it,
 * waiting for its safe point, before it stops the thread where it is. */
#define KILL_TRIES 200

/* Per lthread; slots[0] is the main thread (its state from main.c). */
static struct slot {
    uint64_t id;
    lua_State *L;               /* NULL once closed (or given up: leaked) */
    int nargs;
    volatile int state;
    volatile int kill;          /* a kill is pending: end at the next instruction */
    struct rt_wait wait;        /* waits in the bindings; a pending interrupt */
    int alive;                  /* its L4 thread exists (running or parked) */
    int keep;                   /* parked, it waits for a new body (not reaped) */
    unsigned stack;             /* its stack slot */
    char why[RT_INTERRUPT_MAX]; /* the interrupt's message */
} slots[256];
/* Where rt_thread_reserve looks first: the lthreads are taken in turn,
 * so that an lthread's versions, and so its ids, repeat as late as
 * possible. Under the libc lock. */
static unsigned next_lt = RT_LT_FIRST;

/* The thread-stack region's slots: the lthread using it (0: never used),
 * the bytes at its top that are stack (mapped in the root; granted by
 * the pager in a Lua task), and whether a thread ran on it since it was
 * last cleared. Under the libc lock. */
static struct {
    unsigned char lt;
    unsigned char used;
    uint64_t size;
} stacks[RT_TSTACK_SLOTS];

unsigned rt_self_lthread(void)
{
    int i = rt_tstack_slot((uint64_t)__builtin_frame_address(0));
    return i < 0 ? 0 : stacks[i].lt;
}

/* ---- parking: where a thread that ended or was killed stays ----
 * A closed receive from nil without timeout, in a loop, using no stack:
 * the thread's stack slot serves another thread while it sits here. */
__attribute__((naked, noreturn, used)) static void park(void)
{
    __asm__ volatile("1: mov %0, %%eax\n\t"
                     "xor %%edi, %%edi\n\t"     /* from nil */
                     "mov $-1, %%rsi\n\t"       /* L4_NODESC: no send */
                     "xor %%edx, %%edx\n\t"     /* closed receive */
                     "xor %%r10d, %%r10d\n\t"   /* timeouts: never */
                     "syscall\n\t"
                     "jmp 1b" ::"i"(L4_SYS_IPC));
}
static uint64_t park_sp[2] __attribute__((aligned(16)));   /* any user address */

/* In the root, a thread that ended tells the pager thread first, which
 * deletes its L4 thread at once (rt_thread_reap_ended): its kernel frames
 * and its number come back when it ends, not at the next create. A send
 * without a reply, then park; no stack either. */
__attribute__((naked, noreturn, used)) static void park_notify(void)
{
    __asm__ volatile("mov rt_pager_id(%%rip), %%rdi\n\t"
                     "movabs %1, %%rsi\n\t"           /* the tag: RT_REQ_REAP, no words */
                     "mov $-1, %%rdx\n\t"             /* L4_NODESC: no receive */
                     "xor %%r10d, %%r10d\n\t"         /* timeouts: never */
                     "mov %0, %%eax\n\t"
                     "syscall\n\t"
                     "jmp park" ::"i"(L4_SYS_IPC), "i"(L4_TAG(RT_REQ_REAP, 0, 0)));
}

/* Closes the thread's own state (here, in its own thread: __gc and
 * to-be-closed code run as usual, its memory goes back to the heap) and
 * parks with `state`. */
static __attribute__((noreturn)) void finish(struct slot *s, int state)
{
    rt_libc_lock();
    lua_State *L = s->L;
    s->L = NULL;                /* interrupt and kill leave it alone now */
    rt_libc_unlock();
    rt_lua_close(L);
    /* The state's store is the last use of the stack: from here on the
     * slot may serve another thread. */
    void (*to)(void) = rt_is_child() ? park : park_notify;
    __asm__ volatile("movl %1, %0\n\t"
                     "jmp *%2" : "=m"(s->state) : "r"(state), "r"(to) : "memory");
    __builtin_unreachable();
}

/* The hook of interrupts and kills, in the target thread at its next Lua
 * instruction (or call or return). It removes itself (from the main
 * coroutine too: a coroutine made after the request inherits the hook). */
static void safe_point(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    struct slot *s = &slots[rt_self_lthread()];
    lua_sethook(L, NULL, 0, 0);
    if (s->L && s->L != L)
        lua_sethook(s->L, NULL, 0, 0);
    if (s->kill)
        finish(s, T_KILLED);
    if (!s->wait.interrupt)
        return;
    s->wait.interrupt = 0;
    lua_pushstring(L, s->why);
    lua_error(L);
}

/* A new thread starts here (ex_regs), on its own stack. */
static __attribute__((noreturn)) void thread_entry(void)
{
    struct slot *s = &slots[rt_self_lthread()];
    lua_State *L = s->L;
    int failed = lua_pcall(L, s->nargs, 0, 1) != LUA_OK;
    if (failed) {
        const char *msg = lua_tostring(L, -1);
        rt_libc_lock();
        fprintf(stderr, "lua-root: thread %llx failed: %s\n", (unsigned long long)s->id,
                msg ? msg : "(error object is not a string)");
        fflush(stderr);
        rt_libc_unlock();
    }
    finish(s, failed ? T_FAILED : T_ENDED);
}

/* Deletes the L4 thread of a slot whose thread has ended (it is parked,
 * holding nothing: finish, force_park, rt_thread_fault), so that its
 * kernel frames go back and the lthread can serve a new thread. In a Lua
 * task its stack's pages go back to the root's pool too; in the root
 * they stay mapped for the next thread of the stack slot, which gets
 * them cleared (stack_take). Under the libc lock. */
static void reap(unsigned lt)
{
    struct slot *s = &slots[lt];
    if (!s->alive || s->keep || s->state == T_RUNNING || s->state == T_RESERVED)
        return;
    l4_lthread_delete(lt);
    s->alive = 0;
    if (rt_is_child() && stacks[s->stack].lt == lt && stacks[s->stack].size) {
        rt_child_stack(s->stack, 0);
        stacks[s->stack].size = 0;
        stacks[s->stack].used = 0;
    }
}

int rt_thread_reap_ended(unsigned lt, uint64_t me)
{
    if (!rt_libc_trylock(me))
        return 0;
    if (lt >= RT_LT_FIRST && lt <= RT_LT_LAST)
        reap(lt);
    rt_libc_unlock();
    return 1;
}

int rt_thread_reserve(uint64_t in, int keep)
{
    rt_libc_lock();
    for (unsigned lt = RT_LT_FIRST; lt <= RT_LT_LAST; lt++)
        reap(lt);
    int pick = -1;
    if (in) {
        /* The parked L4 thread of an ended kept thread: its id stays. */
        unsigned lt = L4_ID_LTHREAD(in);
        struct slot *s = &slots[lt];
        bool mine = L4_ID_TASK(in) == L4_ID_TASK(l4_utcb_of(0)->myself) && lt >= RT_LT_FIRST &&
                    lt <= RT_LT_LAST && s->id == in && s->alive && s->keep;
        if (mine && s->state != T_RUNNING && s->state != T_RESERVED) {
            s->state = T_RESERVED;
            pick = (int)lt;
        } else {
            pick = mine ? -2 : -3;
        }
        rt_libc_unlock();
        return pick;
    }
    for (unsigned k = 0; k <= RT_LT_LAST - RT_LT_FIRST && pick < 0; k++) {
        unsigned lt = RT_LT_FIRST + (next_lt - RT_LT_FIRST + k) % (RT_LT_LAST - RT_LT_FIRST + 1);
        if (slots[lt].state != T_RUNNING && slots[lt].state != T_RESERVED && !slots[lt].alive)
            pick = (int)lt;
    }
    if (pick >= 0) {
        slots[pick] = (struct slot){ .state = T_RESERVED, .keep = keep };
        next_lt = pick == RT_LT_LAST ? RT_LT_FIRST : (unsigned)pick + 1;
    }
    rt_libc_unlock();
    return pick;
}

void rt_thread_unreserve(unsigned lt)
{
    rt_libc_lock();
    if (lt >= RT_LT_FIRST && lt <= RT_LT_LAST && slots[lt].state == T_RESERVED)
        slots[lt].state = slots[lt].alive ? T_ENDED : T_FREE;  /* a kept one stays parked */
    rt_libc_unlock();
}

/* Makes [top - size, top) of stack slot i stack: in the root, blocks of
 * RAM from sigma0, top down, each as large as its alignment allows (so
 * 1 MiB is one request); in a Lua task, a grant of the root's pager,
 * which maps the pages demand-zero. False if there is no memory. */
static int stack_map(unsigned i, uint64_t size)
{
    if (stacks[i].size >= size)
        return 1;
    if (rt_is_child()) {
        if (!rt_child_stack(i, size))
            return 0;
        stacks[i].size = size;
        return 1;
    }
    unsigned kmax = 22;
    while (stacks[i].size < size) {
        uint64_t low = rt_tstack_top(i) - stacks[i].size, rem = size - stacks[i].size;
        unsigned k = kmax;
        while (k > 12 && ((1ull << k) > rem || low % (1ull << k)))
            k--;
        uint64_t r = rt_sigma0_any(k, low - (1ull << k), 0);
        if (r == L4_SIGMA0_OK)
            stacks[i].size += 1ull << k;
        else if (r == L4_SIGMA0_ENOMEM && k > 12)
            kmax = k - 1;
        else
            return 0;
    }
    return 1;
}

/* A free stack slot for lthread lt with `size` bytes of stack: one that
 * has exactly that already, else one never used (so the guard gap starts
 * where the size says), else the smallest larger one (the thread gets
 * more), else one grown. Its index, or -1. Under the libc lock. */
static int stack_take(unsigned lt, uint64_t size)
{
    int exact = -1, fresh = -1, larger = -1, any = -1;
    for (unsigned i = 0; i < RT_TSTACK_SLOTS && exact < 0; i++) {
        unsigned owner = stacks[i].lt;
        uint64_t have = stacks[i].size;
        if (owner && owner != lt && slots[owner].state == T_RUNNING)
            continue;
        if (have == size)
            exact = (int)i;
        else if (have == 0 && fresh < 0)
            fresh = (int)i;
        else if (have > size && (larger < 0 || have < stacks[larger].size))
            larger = (int)i;
        else if (any < 0)
            any = (int)i;
    }
    int pick = exact >= 0 ? exact : fresh >= 0 ? fresh : larger >= 0 ? larger : any;
    if (pick < 0 || !stack_map((unsigned)pick, size))
        return -1;
    /* The last thread's data must not be seen by the next (in a Lua task
     * reap gave the pages back: they come again zeroed). */
    if (stacks[pick].used)
        memset((void *)(rt_tstack_top((unsigned)pick) - stacks[pick].size), 0, stacks[pick].size);
    stacks[pick].lt = (unsigned char)lt;
    stacks[pick].used = 1;
    return pick;
}

int rt_thread_start(unsigned lt, lua_State *L, int nargs, size_t stack, int prio, uint64_t *id)
{
    /* In the root, the pager thread is the Lua threads' pager: it turns a
     * fault in a guard gap into "stack overflow" (rt_thread_fault). In a
     * Lua task they have the main thread's pager. */
    uint64_t pager = ~0ull;
    if (!rt_is_child()) {
        if (rt_pager_start() != RT_TASK_OK)
            return L4_ENOMEM;
        pager = rt_pager_id;
    }
    rt_libc_lock();
    if (lt < RT_LT_FIRST || lt > RT_LT_LAST || slots[lt].state != T_RESERVED) {
        rt_libc_unlock();
        return L4_EBUSY;
    }
    struct slot *s = &slots[lt];
    stack = (stack + 4095) & ~(size_t)4095;
    const uint64_t keep = ~0ull;
    /* A kept thread's parked L4 thread (in place) runs the new body
     * under its id; else a new L4 thread, created inactive. */
    int in_place = s->alive, kept = s->keep;
    uint64_t r = l4_lthread_ex_regs(lt, keep, keep, pager, pager, id, NULL);
    if (r == L4_OK) {
        s->alive = 1;
        s->id = *id;
        if (prio >= 0)
            r = l4_thread_schedule(*id, (uint64_t)prio, keep, NULL);
    }
    /* RUNNING before the stack is taken: stack_take sees the slot as used. */
    if (r == L4_OK) {
        *s = (struct slot){ .id = *id, .L = L, .nargs = nargs, .state = T_RUNNING, .alive = 1,
                            .keep = kept };
        int st = stack_take(lt, stack);
        if (st < 0)
            r = L4_ENOMEM;
        else
            s->stack = (unsigned)st;
    }
    if (r == L4_OK) {
        uint64_t sp = rt_tstack_top(s->stack) - 8;     /* as after a call */
        /* in place: the parked body's callers (a task's fault that the
         * old pager had received) wait for nothing: they call again */
        r = in_place ? l4_lthread_restart(lt, (uint64_t)thread_entry, sp, id)
                     : l4_lthread_ex_regs(lt, (uint64_t)thread_entry, sp, keep, keep, id, NULL);
    }
    if (r != L4_OK && in_place) {
        /* Not started: still parked, still waiting for a body. */
        s->L = NULL;
        s->state = T_FAILED;
    } else if (r != L4_OK) {
        /* Not started: its L4 thread (if made) goes, the lthread is free. */
        if (s->alive)
            l4_lthread_delete(lt);
        *s = (struct slot){ .state = T_FREE };
    }
    rt_libc_unlock();
    return (int)r;
}

void rt_thread_main(lua_State *L)
{
    slots[0] = (struct slot){ .id = l4_utcb_of(0)->myself, .L = L, .state = T_RUNNING };
}

/* The slot of a Lua thread of this task (lthread 0 with `main`), or NULL. */
static struct slot *slot_of(uint64_t id, int main)
{
    unsigned lt = L4_ID_LTHREAD(id);
    if (L4_ID_TASK(id) != L4_ID_TASK(l4_utcb_of(0)->myself))
        return NULL;
    if (lt == 0)
        return main && slots[0].id == id && slots[0].L ? &slots[0] : NULL;
    if (lt < RT_LT_FIRST || lt > RT_LT_LAST || slots[lt].id != id || slots[lt].state == T_FREE ||
        slots[lt].state == T_RESERVED)
        return NULL;
    return &slots[lt];
}

static const char *const state_names[] = { "", "running", "ended", "failed", "killed", "" };

const char *rt_thread_status(uint64_t id)
{
    struct slot *s = slot_of(id, 0);
    return s ? state_names[s->state] : NULL;
}

int rt_thread_info(uint64_t id, struct rt_thread_info *i)
{
    struct slot *s = slot_of(id, 1);
    if (!s)
        return L4_ENOTHREAD;
    rt_libc_lock();
    *i = (struct rt_thread_info){ state_names[s->state], 0, 0, 0 };
    if (s->L && s->state == T_RUNNING)
        rt_lua_memory(s->L, &i->memory, &i->memcap);
    if (s != &slots[0])
        i->stack = stacks[s->stack].size;
    rt_libc_unlock();
    return L4_OK;
}

/* Sets the safe-point hook on the thread's state; false if it has none
 * (ended, or ending). Under the libc lock: its state is not closed
 * meanwhile (finish). */
static int hook(struct slot *s)
{
    rt_libc_lock();
    int ok = s->state == T_RUNNING && s->L != NULL;
    if (ok)
        lua_sethook(s->L, safe_point, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
    rt_libc_unlock();
    return ok;
}

struct rt_wait *rt_thread_wait_self(void)
{
    return &slots[rt_self_lthread()].wait;
}

/* Cancels the binding's wait that s is in, if it is in one: ex_regs
 * without new registers ends the IPC it waits in ("cancelled"). The
 * thread may have set `waiting` and not yet entered the kernel: then the
 * cancel finds nothing, so it is tried again a few times, 1 ms apart, as
 * long as the thread is still in that same wait (not in a later one, such
 * as its REPL's next read of the console). */
static void cancel_wait(struct slot *s)
{
    unsigned lt = L4_ID_LTHREAD(s->id), seq = s->wait.seq;
    for (int i = 0; i < 5; i++) {
        if (i) {
            struct l4_msg m = { 0 };
            l4_ipc(L4_NILTHREAD, L4_NODESC, 0, L4_TIMEOUTS(0, L4_TO(1000, 0), 0, 0), &m, NULL);
        }
        /* checked right before each cancel: after the sleep it may be in
         * its next wait, which is not the interrupted chunk's */
        if (!s->wait.waiting || s->wait.seq != seq || s->state != T_RUNNING)
            break;
        l4_lthread_ex_regs(lt, ~0ull, ~0ull, ~0ull, ~0ull, NULL, NULL);
    }
}

__attribute__((noreturn)) void rt_thread_exit(int ok, int status)
{
    struct slot *s = &slots[rt_self_lthread()];
    fflush(stdout);
    fflush(stderr);
    if (!ok) {
        rt_libc_lock();
        fprintf(stderr, "lua-root: thread %llx called os.exit(%d)\n", (unsigned long long)s->id,
                status);
        fflush(stderr);
        rt_libc_unlock();
    }
    finish(s, ok ? T_ENDED : T_FAILED);
}

int rt_thread_interrupt(uint64_t id, const char *why)
{
    struct slot *s = slot_of(id, 1);
    if (!s)
        return L4_ENOTHREAD;
    if (s->state != T_RUNNING)
        return L4_EINVAL;
    size_t n = strlen(why);
    if (n >= sizeof s->why)
        n = sizeof s->why - 1;
    rt_libc_lock();
    memcpy(s->why, why, n);
    s->why[n] = 0;
    s->wait.interrupt = 1;
    rt_libc_unlock();
    if (!hook(s))
        return L4_EINVAL;
    if (s != &slots[rt_self_lthread()])
        cancel_wait(s);
    return L4_OK;
}

/* A kill that did not reach a safe point in time: the thread is stopped
 * where it is (under the libc lock: not inside malloc, and inside stdio
 * only while it waits in a file call, files.c; newlib's shared state is
 * whole) and its state is given up, not closed: it may be halfway
 * through an operation. The files it opened, which its state will never
 * close, are taken back at the next open (syscalls.c), and so is the
 * FILE of an fopen it was stopped in. */
static uint64_t force_park(struct slot *s)
{
    uint64_t r = l4_lthread_ex_regs(L4_ID_LTHREAD(s->id), (uint64_t)park, (uint64_t)park_sp,
                                    ~0ull, ~0ull, NULL, NULL);
    if (r == L4_OK && s->state == T_RUNNING) {
        if (s->L)
            rt_lua_giveup(s->L);
        s->L = NULL;
        s->state = T_KILLED;
        rt_files_orphan(L4_ID_LTHREAD(s->id));
    }
    return r;
}

int rt_thread_kill(uint64_t id)
{
    struct slot *s = slot_of(id, 0);
    if (!s)
        return L4_ENOTHREAD;
    if (s == &slots[rt_self_lthread()])
        return L4_EINVAL;
    if (s->state != T_RUNNING) {
        /* Ended: a kept one waits for a body no more (its id goes). */
        rt_libc_lock();
        if (s->keep && s->state != T_RESERVED) {
            s->keep = 0;
            reap(L4_ID_LTHREAD(id));
        }
        rt_libc_unlock();
        return L4_OK;
    }
    s->kill = 1;
    hook(s);
    /* Let it reach its next instruction: cancel the IPC it may wait in
     * (under the lock, so never sbrk's request) and give it the CPU,
     * until it has closed its state and parked. */
    for (int tries = 0; tries < KILL_TRIES && s->state == T_RUNNING; tries++) {
        rt_libc_lock();
        if (s->state == T_RUNNING)
            l4_lthread_ex_regs(L4_ID_LTHREAD(id), ~0ull, ~0ull, ~0ull, ~0ull, NULL, NULL);
        rt_libc_unlock();
        l4_thread_switch(id);
    }
    uint64_t r = L4_OK;
    rt_libc_lock();
    if (s->state == T_RUNNING)
        r = force_park(s);
    reap(L4_ID_LTHREAD(id));    /* parked either way: its L4 thread goes now */
    rt_libc_unlock();
    return (int)r;
}

/* Called by the root's pager thread (pager.c): lthread lt faulted (or
 * raised an exception) where nothing may be mapped; it is stopped for
 * good, as failed. Its state is given up, not closed (the thread may be
 * anywhere in it). If it held the libc lock (a fault inside malloc or
 * stdio), the lock is released: newlib's state may then be broken, and
 * the console says so. No malloc, no stdio here: this is the pager. */
int rt_thread_fault(unsigned lt)
{
    if (lt < RT_LT_FIRST || lt > RT_LT_LAST || slots[lt].state != T_RUNNING)
        return 0;
    struct slot *s = &slots[lt];
    l4_lthread_ex_regs(lt, (uint64_t)park, (uint64_t)park_sp, ~0ull, ~0ull, NULL, NULL);
    if (s->L)
        rt_lua_giveup(s->L);
    s->L = NULL;
    s->state = T_FAILED;
    rt_files_orphan(lt);
    if (rt_libc_lock_drop(s->id))
        rt_console_puts("lua-root: the thread held the libc lock: released; "
                        "the heap or stdio may be damaged\n");
    return 1;
}
