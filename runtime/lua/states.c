/* The runtime's Lua states: each with its own memory cap (the allocator
 * counts its bytes), the message handler every pcall of the runtime uses,
 * and the package paths of this boot. Which libraries a state gets is the
 * bindings' to say (bindings/l4lib.h), not the runtime's. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lauxlib.h"
#include "lua.h"
#include "rt.h"

/* As in lua.c: turn any error value into a message with a traceback. */
int rt_lua_msghandler(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            return 1;
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* ---- states with a memory cap, whose memory can be taken back ----
 * Each Lua state has its own heap record: the bytes its allocator holds
 * now (osize/nsize as Lua passes them) and its cap. Growth past the cap
 * is refused, Lua collects garbage and tries again, then raises "not
 * enough memory" in that state; shrinking and freeing always work. The
 * blocks come from the one heap (malloc), so a state's bytes are its
 * share of the task's memory cap (pager.c), not counting malloc's own
 * overhead nor the 16-byte link below.
 *
 * Every block of a state is on its record's list (a header of two links
 * before the bytes Lua sees; 16 bytes, so Lua's blocks keep malloc's
 * alignment). A thread stopped inside C (threads.c: a kill that found no
 * safe point, a fault) may leave its state halfway through anything, so
 * it is not closed but given up: its blocks are freed from the list, all
 * of them, without looking at what Lua made of them. While a block is
 * malloc'd, realloc'd or freed and linked into the list or out of it,
 * the record is marked busy: a kill stops a thread only while holding the
 * libc lock (so never inside malloc) and while its record is not busy
 * (it lets the thread run on to the end of the change first: a few
 * instructions); a thread stopped while busy (a fault there, or a kill
 * that met it there after all) leaves its state's memory taken, as the
 * list may be halfway through a change. A flag and not the libc lock
 * around each change: the lock, taken again inside malloc, made every
 * allocation some 60 instructions dearer (the boot 15% longer). */
struct block {
    struct block *next, *prev;
};
struct heap {
    struct block list;          /* the ring of its blocks; list itself is no block */
    size_t used, cap;
    volatile int busy;          /* the list is being changed */
    struct heap *given_next;    /* on the given-up list (rt_lua_give_up) */
};
_Static_assert(sizeof(struct block) == 16, "Lua's blocks keep malloc's 16-byte alignment");

/* Marks h busy or not, in program order with the list's changes (a stop
 * is asynchronous but on this CPU: the compiler's order is what counts). */
static inline void mark(struct heap *h, int busy)
{
    __asm__ volatile("" ::: "memory");
    h->busy = busy;
    __asm__ volatile("" ::: "memory");
}

static void *capped_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct heap *h = ud;
    struct block *b = ptr ? (struct block *)ptr - 1 : NULL;
    if (ptr == NULL)
        osize = 0;      /* then osize is the kind of object, not a size */
    if (nsize == 0) {
        if (b) {
            mark(h, 1);
            b->prev->next = b->next;
            b->next->prev = b->prev;
            free(b);
            mark(h, 0);
            h->used -= osize;
        }
        return NULL;
    }
    if (nsize > osize && (h->used > h->cap || nsize - osize > h->cap - h->used))
        return NULL;
    if (nsize > SIZE_MAX - sizeof *b)
        return NULL;
    mark(h, 1);
    struct block *n = realloc(b, sizeof *b + nsize);
    if (n && !b) {
        n->next = h->list.next;
        n->prev = &h->list;
    }
    if (n) {    /* new, or moved: its neighbours point at it */
        n->next->prev = n;
        n->prev->next = n;
    }
    mark(h, 0);
    if (!n)
        return NULL;
    h->used = h->used - osize + nsize;
    return n + 1;
}

int rt_lua_heap_busy(void *heap)
{
    const struct heap *h = heap;
    return h && h->busy;
}

/* A binding's C buffer on the state's list: freed with the state if it is
 * given up while the binding holds it; outside the state's count and cap
 * (as malloc'd buffers were), so a Lua program sees no difference. */
void *rt_lua_cmalloc(lua_State *L, size_t n)
{
    struct heap *h = rt_lua_heap(L);
    if (n > SIZE_MAX - sizeof(struct block))
        return NULL;
    mark(h, 1);
    struct block *b = malloc(sizeof *b + n);
    if (b) {
        b->next = h->list.next;
        b->prev = &h->list;
        b->next->prev = b;
        h->list.next = b;
    }
    mark(h, 0);
    return b ? b + 1 : NULL;
}

void rt_lua_cfree(lua_State *L, void *p)
{
    if (!p)
        return;
    struct heap *h = rt_lua_heap(L);
    struct block *b = (struct block *)p - 1;
    mark(h, 1);
    b->prev->next = b->next;
    b->next->prev = b->prev;
    free(b);
    mark(h, 0);
}

/* Frees every block left on h's list, and h. Under the libc lock. */
static void heap_free(struct heap *h)
{
    for (struct block *b = h->list.next, *next; b != &h->list; b = next) {
        next = b->next;
        free(b);
    }
    free(h);
}

/* States given up and not yet freed: pushed by rt_lua_give_up (the
 * root's pager thread among others, which may not take the libc lock),
 * taken all at once by rt_lua_reclaim. */
static struct heap *given_up;
static uint64_t reclaimed;      /* given-up states freed since boot */

void *rt_lua_heap(lua_State *L)
{
    void *ud;
    lua_getallocf(L, &ud);
    return ud;
}

void rt_lua_give_up(void *heap)
{
    struct heap *h = heap;
    h->given_next = __atomic_load_n(&given_up, __ATOMIC_RELAXED);
    while (!__atomic_compare_exchange_n(&given_up, &h->given_next, h, 1, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED))
        ;
}

int rt_lua_reclaim(void)
{
    int n = 0;
    if (!__atomic_load_n(&given_up, __ATOMIC_RELAXED))
        return 0;
    rt_libc_lock();
    struct heap *h = __atomic_exchange_n(&given_up, NULL, __ATOMIC_ACQUIRE);
    while (h) {
        struct heap *next = h->given_next;
        heap_free(h);
        h = next;
        n++;
    }
    reclaimed += (uint64_t)n;
    rt_libc_unlock();
    return n;
}

uint64_t rt_lua_reclaimed(void)
{
    return reclaimed;
}

/* The knob of the allocation-failure tests (rt_lua_alloclimit,
 * l4.debug.alloc_limit), as ltests.c's countlimit is Lua's own: the
 * state that sets it gets limited_alloc instead of capped_alloc, so every
 * other state runs the allocator as it was, to the instruction (the soak,
 * tests/soak, is that sensitive). One state of the task at a time (the
 * last that set it): growths still allowed, and the refusals since they
 * ran out. It fires once: Lua retries a refused allocation after an
 * emergency collection (lmem.c's tryagain), and when that is refused too
 * it raises "not enough memory"; then the limit is off, so a state that
 * set it cannot lock itself out. */
static size_t limit_left;
static unsigned limit_refused;

static void *limited_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    size_t was = ptr == NULL ? 0 : osize;
    if (nsize > was && limit_refused < 2) {
        if (limit_left == 0) {
            limit_refused++;
            return NULL;
        }
        limit_left--;
    }
    return capped_alloc(ud, ptr, osize, nsize);
}

void rt_lua_alloclimit(lua_State *L, size_t n)
{
    void *ud;
    lua_getallocf(L, &ud);
    limit_left = n;
    limit_refused = 0;
    lua_setallocf(L, n == SIZE_MAX ? capped_alloc : limited_alloc, ud);
}

/* The panic and warning functions luaL_newstate gives a state (ours
 * are made with lua_newstate, for the allocator's list to hold every
 * block from the first): a panic prints the error and Lua aborts;
 * warnings are off until "@on" ("@off" turns them off again), and a
 * message, in as many pieces as the caller sends, goes to stderr after
 * "Lua warning: " and ends with a newline. */
static int state_panic(lua_State *L)
{
    const char *msg = lua_tostring(L, -1);
    lua_writestringerror("PANIC: unprotected error in call to Lua API (%s)\n",
                         msg ? msg : "error object is not a string");
    return 0;
}

static void warn_off(void *ud, const char *msg, int tocont);
static void warn_on(void *ud, const char *msg, int tocont);
static void warn_rest(void *ud, const char *msg, int tocont);

/* "@on" and "@off" switch; any other "@..." is ignored: true for those. */
static int warn_control(lua_State *L, const char *msg, int tocont)
{
    if (tocont || msg[0] != '@')
        return 0;
    if (strcmp(msg + 1, "on") == 0)
        lua_setwarnf(L, warn_on, L);
    else if (strcmp(msg + 1, "off") == 0)
        lua_setwarnf(L, warn_off, L);
    return 1;
}

static void warn_off(void *ud, const char *msg, int tocont)
{
    warn_control(ud, msg, tocont);
}

static void warn_rest(void *ud, const char *msg, int tocont)
{
    lua_writestringerror("%s", msg);
    if (!tocont)
        lua_writestringerror("%s", "\n");
    lua_setwarnf(ud, tocont ? warn_rest : warn_on, ud);
}

static void warn_on(void *ud, const char *msg, int tocont)
{
    if (warn_control(ud, msg, tocont))
        return;
    lua_writestringerror("%s", "Lua warning: ");
    warn_rest(ud, msg, tocont);
}

/* A state on a heap record of its own; the cap applies once it is made
 * (a state always gets its first blocks). */
lua_State *rt_lua_newstate(size_t cap)
{
    struct heap *h = malloc(sizeof *h);
    if (!h)
        return NULL;
    *h = (struct heap){ .list = { &h->list, &h->list }, .cap = SIZE_MAX };
    lua_State *L = lua_newstate(capped_alloc, h);
    if (!L) {
        rt_libc_lock();
        heap_free(h);   /* what lua_newstate got before it failed (it frees it: none) */
        rt_libc_unlock();
        return NULL;
    }
    lua_atpanic(L, state_panic);
    lua_setwarnf(L, warn_off, L);
    h->cap = cap;
    return L;
}

int rt_lua_setcap(lua_State *L, size_t cap)
{
    struct heap *h = rt_lua_heap(L);
    if (h->used > cap)
        return 0;
    h->cap = cap;
    return 1;
}

void rt_lua_free_heap(void *heap)
{
    if (!heap)
        return;
    rt_libc_lock();
    heap_free(heap);    /* lua_close freed every block: the record only */
    rt_libc_unlock();
}

void rt_lua_close(lua_State *L)
{
    void *h = rt_lua_heap(L);
    lua_close(L);
    rt_lua_free_heap(h);
}

void rt_lua_memory(lua_State *L, uint64_t *used, uint64_t *cap)
{
    const struct heap *h = rt_lua_heap(L);
    *used = h->used;
    *cap = h->cap == SIZE_MAX ? 0 : h->cap;
}

/* Whether the archive holds files of a user's folder (tools/mkarchive.py
 * -L puts them under user/); computed once per task (a race between
 * threads computes the same answer twice). */
static int user_files = -1;

static void seen_user(const char *name, size_t len, size_t size, void *arg)
{
    (void)size, (void)arg;
    if (len > 5 && !memcmp(name, "user/", 5))
        user_files = 1;
}

int rt_user_files(void)
{
    if (user_files < 0) {
        user_files = 0;
        rt_archive_each(seen_user, NULL);
    }
    return user_files;
}

/* require looks in the archive (whose root is "/"): first in user/, so
 * that a user's module shadows one of ours, unless this boot leaves the
 * user's scripts out (safe mode, rescue); there is no loading of C
 * modules: LPeg is linked in and preloaded. */
void rt_lua_set_paths(lua_State *L)
{
    lua_getglobal(L, "package");
    if (!(rt_boot_flags & RT_BOOT_NO_USER) && rt_user_files())
        lua_pushliteral(L, "user/?.lua;user/?/init.lua;?.lua;?/init.lua");
    else
        lua_pushliteral(L, "?.lua;?/init.lua");
    lua_setfield(L, -2, "path");
    lua_pushliteral(L, "");
    lua_setfield(L, -2, "cpath");
    lua_pop(L, 1);
}
