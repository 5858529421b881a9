/* The libc lock: one recursive lock for malloc (newlib calls
 * __malloc_lock / __malloc_unlock; sbrk runs only inside malloc, so the
 * heap is under it too) and for stdio and the other newlib calls that
 * share state through the one reent struct (the ld --wrap list of
 * lua-root.mk: every such call Lua and the bindings make, wrapped here).
 * One CPU with preemption: a waiter donates its timeslice to the holder
 * (thread_switch), which runs on and releases it; that works whatever
 * the priorities. A holder may block in IPC: sbrk's request to sigma0
 * (or, in a Lua task, to the root's pager); after a few donations a
 * waiter sleeps in short steps instead, so that the thread that must
 * answer the holder gets the CPU whatever its priority. File calls to
 * the file service from inside stdio (files.c), which may wait seconds
 * on the disk, let go of it for the call (rt_libc_suspend): a root
 * thread reading or writing a file of a few MiB held every other root
 * thread (the supervisor, its guard) at its next malloc for the whole
 * call, and the guard found the supervisor hung. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rt.h"
#include "l4/syscalls.h"

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
    for (unsigned tries = 0;; tries++) {
        uint64_t held = 0;
        if (__atomic_compare_exchange_n(&libc_lock.owner, &held, me, 0, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED))
            break;
        /* Let the holder run on and release it. Donated time reaches it
         * even when a thread between its priority and ours runs away (a
         * root thread in an endless loop): else the holder, and every
         * thread above that wants malloc (the supervisor), would wait. */
        l4_thread_switch(held);
        if (tries >= 8) {
            /* The holder waits in IPC (a file service call from inside
             * stdio, sbrk's request): donating does nothing, and spinning
             * here would starve whoever must answer it at a lower
             * priority. Sleep 200 us, letting everyone run. */
            struct l4_msg m = { 0 };
            l4_ipc(L4_NILTHREAD, L4_NODESC, 0, L4_TIMEOUTS(0, L4_TO(200, 0), 0, 0), &m, 0);
        }
    }
    libc_lock.depth = 1;
}

int rt_libc_trylock(uint64_t me)
{
    uint64_t held = 0;
    if (!__atomic_compare_exchange_n(&libc_lock.owner, &held, me, 0, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED))
        return 0;
    libc_lock.depth = 1;
    return 1;
}

void rt_libc_unlock(void)
{
    if (--libc_lock.depth == 0)
        __atomic_store_n(&libc_lock.owner, 0, __ATOMIC_RELEASE);
}

int rt_libc_lock_drop(uint64_t id)
{
    if (libc_lock.owner != id)
        return 0;
    libc_lock.depth = 0;
    __atomic_store_n(&libc_lock.owner, 0, __ATOMIC_RELEASE);
    return 1;
}

int rt_libc_held(void)
{
    return libc_lock.owner == l4_utcb_of(rt_self_lthread())->myself;
}

unsigned rt_libc_suspend(void)
{
    uint64_t me = l4_utcb_of(rt_self_lthread())->myself;
    if (libc_lock.owner != me)
        return 0;
    unsigned depth = libc_lock.depth;
    libc_lock.depth = 0;
    __atomic_store_n(&libc_lock.owner, 0, __ATOMIC_RELEASE);
    return depth;
}

void rt_libc_resume(unsigned depth)
{
    if (!depth)
        return;
    rt_libc_lock();
    libc_lock.depth = depth;
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

/* Lua makes the text of every integer with snprintf(s, n, "%lld", i)
 * (lua_integer2str: tostring, .., string.format's %d), for which newlib's
 * vfprintf, under the lock, took some 1,500 instructions (("%d"):format
 * with one integer; docs/performance.md). The same digits are made here,
 * with snprintf's result and cut; any other format goes to newlib, under
 * the lock. */
static int format_lld(char *s, size_t n, long long v)
{
    char buf[24];
    char *p = buf + sizeof buf;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    size_t len = (size_t)(buf + sizeof buf - p);
    if (n) {
        size_t k = len < n ? len : n - 1;
        memcpy(s, p, k);
        s[k] = 0;
    }
    return (int)len;
}

int __wrap_snprintf(char *s, size_t n, const char *fmt, ...);
int __wrap_snprintf(char *s, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (fmt[0] == '%' && fmt[1] == 'l' && fmt[2] == 'l' && fmt[3] == 'd' && !fmt[4]) {
        int r = format_lld(s, n, va_arg(ap, long long));
        va_end(ap);
        return r;
    }
    rt_libc_lock();
    int r = vsnprintf(s, n, fmt, ap);
    rt_libc_unlock();
    va_end(ap);
    return r;
}

