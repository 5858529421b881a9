/* Threads of this task that run Lua (docs/runtime.md "Threads"), and the
 * lock that makes newlib usable from several of them.
 *
 * A Lua thread is an L4 thread of this task (lthread RT_LT_FIRST up to
 * RT_LT_LAST, each used once: an id never names a later thread) with a
 * stack from the heap and a Lua state of its own, prepared by its creator
 * (bindings/thread.c) with the body function and its arguments on it.
 *
 * Which thread am I? There is no register for it: a thread is found by
 * its stack pointer, which lies in its stack (slots[]); anything else is
 * lthread 0 (the main thread). Only lthread 0 and the Lua threads call
 * newlib (the pager and the echo thread never do), so that is enough.
 *
 * The libc lock: one recursive lock for malloc (newlib calls
 * __malloc_lock / __malloc_unlock; sbrk runs only inside malloc, so the
 * heap is under it too) and for stdio and the other newlib calls that
 * share state through the one reent struct (the ld --wrap list of
 * lua-root.mk: every such call Lua and the bindings make). One CPU with
 * preemption: a waiter donates its timeslice to the holder
 * (thread_switch), which runs on and releases it; that works whatever
 * the priorities. A thread never blocks in IPC while holding it, except
 * for sbrk's request to sigma0 (or, in a Lua task, to the root's pager),
 * which always answers. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lauxlib.h"
#include "lua.h"
#include "rt.h"
#include "l4/syscalls.h"

enum { T_FREE, T_RUNNING, T_ENDED, T_FAILED, T_KILLED };

static struct slot {
    uint64_t id;
    char *stack;                /* NULL once freed */
    size_t size;
    lua_State *L;               /* NULL once closed (or never, if killed) */
    int nargs;
    volatile int state;
} slots[256];
static volatile unsigned top_lt = RT_LT_FIRST;     /* slots below are taken */

unsigned rt_self_lthread(void)
{
    uint64_t sp = (uint64_t)__builtin_frame_address(0);
    for (unsigned lt = RT_LT_FIRST; lt < top_lt; lt++) {
        struct slot *s = &slots[lt];
        if (s->stack && sp - (uint64_t)s->stack < s->size)
            return lt;
    }
    return 0;
}

/* ---- the libc lock ---- */
static struct {
    volatile uint64_t owner;    /* thread id, 0 free */
    unsigned depth;
} libc_lock;

void rt_libc_lock(void)
{
    uint64_t me = l4_utcb_of(rt_self_lthread())->myself;
    if (libc_lock.owner == me) {
        libc_lock.depth++;
        return;
    }
    for (;;) {
        uint64_t held = 0;
        if (__atomic_compare_exchange_n(&libc_lock.owner, &held, me, 0, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED))
            break;
        l4_thread_switch(held);     /* let the holder run on and release it */
    }
    libc_lock.depth = 1;
}

void rt_libc_unlock(void)
{
    if (--libc_lock.depth == 0)
        __atomic_store_n(&libc_lock.owner, 0, __ATOMIC_RELEASE);
}

struct _reent;
void __malloc_lock(struct _reent *r)
{
    (void)r;
    rt_libc_lock();
}

void __malloc_unlock(struct _reent *r)
{
    (void)r;
    rt_libc_unlock();
}

/* ---- newlib calls under the lock (ld --wrap=name, lua-root.mk) ---- */
#define WRAP(ret, name, params, args)          \
    ret __real_##name params;                   \
    ret __wrap_##name params;                   \
    ret __wrap_##name params                    \
    {                                           \
        rt_libc_lock();                         \
        ret r = __real_##name args;             \
        rt_libc_unlock();                       \
        return r;                               \
    }
#define WRAPV(name, params, args)               \
    void __real_##name params;                  \
    void __wrap_##name params;                  \
    void __wrap_##name params                   \
    {                                           \
        rt_libc_lock();                         \
        __real_##name args;                     \
        rt_libc_unlock();                       \
    }
WRAP(size_t, fwrite, (const void *p, size_t s, size_t n, FILE *f), (p, s, n, f))
WRAP(size_t, fread, (void *p, size_t s, size_t n, FILE *f), (p, s, n, f))
WRAP(int, fputs, (const char *s, FILE *f), (s, f))
WRAP(char *, fgets, (char *s, int n, FILE *f), (s, n, f))
WRAP(int, getc, (FILE *f), (f))
WRAP(int, ungetc, (int c, FILE *f), (c, f))
WRAP(int, fflush, (FILE *f), (f))
WRAP(FILE *, fopen, (const char *p, const char *m), (p, m))
WRAP(FILE *, freopen, (const char *p, const char *m, FILE *f), (p, m, f))
WRAP(int, fclose, (FILE *f), (f))
WRAP(int, fseek, (FILE *f, long o, int w), (f, o, w))
WRAP(long, ftell, (FILE *f), (f))
WRAP(int, setvbuf, (FILE *f, char *b, int m, size_t s), (f, b, m, s))
WRAP(FILE *, tmpfile, (void), ())
WRAP(int, feof, (FILE *f), (f))
WRAP(int, ferror, (FILE *f), (f))
WRAPV(clearerr, (FILE *f), (f))
WRAP(double, strtod, (const char *s, char **e), (s, e))     /* dtoa's shared Bigint lists */

int __wrap_fprintf(FILE *f, const char *fmt, ...);
int __wrap_fprintf(FILE *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rt_libc_lock();
    int r = vfprintf(f, fmt, ap);
    rt_libc_unlock();
    va_end(ap);
    return r;
}

int __wrap_snprintf(char *s, size_t n, const char *fmt, ...);
int __wrap_snprintf(char *s, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rt_libc_lock();
    int r = vsnprintf(s, n, fmt, ap);
    rt_libc_unlock();
    va_end(ap);
    return r;
}

/* ---- parking: where a thread that ended or was killed stays ----
 * A closed receive from nil without timeout, in a loop, using no stack:
 * the thread's stack can be freed while it sits here. */
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

int rt_lua_msghandler(lua_State *L);    /* main.c */

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
    lua_close(L);       /* here, in its own thread: __gc and to-be-closed code run as usual */
    s->L = NULL;
    /* The state's store is the last use of the stack: from here on the
     * stack may be freed (rt_thread_kill, rt_thread_reap). */
    __asm__ volatile("movl %1, %0\n\t"
                     "jmp park" : "=m"(s->state) : "r"(failed ? T_FAILED : T_ENDED) : "memory");
    __builtin_unreachable();
}

/* Frees the stacks of threads that ended (parked, using none). */
static void reap(void)
{
    rt_libc_lock();
    for (unsigned lt = RT_LT_FIRST; lt < top_lt; lt++) {
        struct slot *s = &slots[lt];
        if (s->stack && s->state != T_RUNNING && s->state != T_FREE) {
            char *st = s->stack;
            s->stack = NULL;
            free(st);
        }
    }
    rt_libc_unlock();
}

int rt_thread_reserve(void)
{
    rt_libc_lock();
    int lt = top_lt <= RT_LT_LAST ? (int)top_lt : -1;
    rt_libc_unlock();
    return lt;
}

int rt_thread_start(unsigned lt, lua_State *L, int nargs, size_t stack, int prio, uint64_t *id)
{
    reap();
    rt_libc_lock();
    if (lt != top_lt || lt > RT_LT_LAST) {
        rt_libc_unlock();
        return L4_EBUSY;
    }
    stack = (stack + 4095) & ~(size_t)4095;
    char *st = malloc(stack);
    if (!st) {
        rt_libc_unlock();
        return L4_ENOMEM;
    }
    const uint64_t keep = ~0ull;
    uint64_t r = l4_lthread_ex_regs(lt, keep, keep, keep, keep, id, NULL);  /* created, inactive */
    if (r == L4_OK && prio >= 0)
        r = l4_thread_schedule(*id, (uint64_t)prio, keep, NULL);
    if (r != L4_OK) {
        free(st);
        top_lt = lt + 1;    /* the lthread may exist now: never used again */
        rt_libc_unlock();
        return (int)r;
    }
    struct slot *s = &slots[lt];
    *s = (struct slot){ .id = *id, .size = stack, .L = L, .nargs = nargs, .state = T_RUNNING };
    s->stack = st;
    top_lt = lt + 1;
    uint64_t sp = ((uint64_t)(st + stack) & ~15ull) - 8;   /* as after a call */
    r = l4_lthread_ex_regs(lt, (uint64_t)thread_entry, sp, keep, keep, id, NULL);
    if (r != L4_OK) {
        s->stack = NULL;
        s->state = T_FREE;
        free(st);
    }
    rt_libc_unlock();
    return (int)r;
}

static struct slot *slot_of(uint64_t id)
{
    unsigned lt = L4_ID_LTHREAD(id);
    if (L4_ID_TASK(id) != L4_ID_TASK(l4_utcb_of(0)->myself) || lt < RT_LT_FIRST ||
        lt >= top_lt || slots[lt].id != id || slots[lt].state == T_FREE)
        return NULL;
    return &slots[lt];
}

const char *rt_thread_status(uint64_t id)
{
    static const char *const names[] = { "", "running", "ended", "failed", "killed" };
    struct slot *s = slot_of(id);
    return s ? names[s->state] : NULL;
}

int rt_thread_kill(uint64_t id)
{
    struct slot *s = slot_of(id);
    if (!s)
        return L4_ENOTHREAD;
    if (s == &slots[rt_self_lthread()])
        return L4_EINVAL;
    /* With the lock held here, the thread holds it not: it is not inside
     * malloc or stdio, and newlib's state is whole when it stops. */
    rt_libc_lock();
    uint64_t r = L4_OK;
    if (s->state == T_RUNNING) {
        r = l4_lthread_ex_regs(L4_ID_LTHREAD(id), (uint64_t)park, (uint64_t)park_sp, ~0ull, ~0ull,
                               NULL, NULL);
        if (r == L4_OK)
            s->state = T_KILLED;    /* its Lua state stays allocated: see rt.h */
    }
    if (s->state != T_RUNNING && s->stack) {
        char *st = s->stack;
        s->stack = NULL;
        free(st);
    }
    rt_libc_unlock();
    return (int)r;
}
