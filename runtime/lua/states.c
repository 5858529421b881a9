/* The runtime's Lua states: each with its own memory cap (the allocator
 * counts its bytes), the message handler every pcall of the runtime uses,
 * and the package paths of this boot. Which libraries a state gets is the
 * bindings' to say (bindings/l4lib.h), not the runtime's. */
#include <stdint.h>
#include <stdio.h>
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

/* ---- states with a memory cap ----
 * Each Lua state has its own counter: the bytes its allocator holds now
 * (osize/nsize as Lua passes them) and its cap. Growth past the cap is
 * refused, Lua collects garbage and tries again, then raises "not enough
 * memory" in that state; shrinking and freeing always work. In a Lua
 * task the blocks come from the one heap (malloc), so a state's bytes are
 * its share of the task's memory cap (pager.c), not counting malloc's own
 * overhead; in the root they come from the state's arena (arena.c), whose
 * allocator keeps the same counter (first in struct rt_arena). */
static void *capped_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct rt_counter *c = ud;
    if (ptr == NULL)
        osize = 0;      /* then osize is the kind of object, not a size */
    if (nsize == 0) {
        free(ptr);
        c->used -= osize;
        return NULL;
    }
    if (nsize > osize && (c->used > c->cap || nsize - osize > c->cap - c->used))
        return NULL;
    void *p = realloc(ptr, nsize);
    if (p)
        c->used = c->used - osize + nsize;
    return p;
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
    return ((struct rt_counter *)ud)->arena ? rt_arena_alloc(ud, ptr, osize, nsize)
                                            : capped_alloc(ud, ptr, osize, nsize);
}

void rt_lua_alloclimit(lua_State *L, size_t n)
{
    void *ud;
    lua_getallocf(L, &ud);
    limit_left = n;
    limit_refused = 0;
    lua_Alloc plain = ((struct rt_counter *)ud)->arena ? rt_arena_alloc : capped_alloc;
    lua_setallocf(L, n == SIZE_MAX ? plain : limited_alloc, ud);
}

/* luaL_newstate's warning function, as lauxlib.c's (which are static):
 * off until the message "@on", then each warning on stderr as "Lua
 * warning: " and its pieces; "@off" turns them off again. */
static void warn_off(void *ud, const char *msg, int tocont);
static void warn_on(void *ud, const char *msg, int tocont);

static int warn_control(lua_State *L, const char *msg, int tocont)
{
    if (tocont || msg[0] != '@')
        return 0;
    if (!strcmp(msg + 1, "off"))
        lua_setwarnf(L, warn_off, L);
    else if (!strcmp(msg + 1, "on"))
        lua_setwarnf(L, warn_on, L);
    return 1;
}

static void warn_off(void *ud, const char *msg, int tocont)
{
    warn_control(ud, msg, tocont);
}

static void warn_more(void *ud, const char *msg, int tocont)
{
    fputs(msg, stderr);
    if (!tocont)
        fputs("\n", stderr);
    fflush(stderr);
    lua_setwarnf(ud, tocont ? warn_more : warn_on, ud);
}

static void warn_on(void *ud, const char *msg, int tocont)
{
    if (warn_control(ud, msg, tocont))
        return;
    fputs("Lua warning: ", stderr);
    warn_more(ud, msg, tocont);
}

/* lauxlib's panic function, taken once from a state luaL_newstate made. */
static lua_CFunction aux_panic;

/* In a Lua task: luaL_newstate (its panic and warning functions), then
 * our allocator: the blocks luaL_newstate made are malloc's too, and
 * Lua's own count of them starts the counter. In the root: lua_newstate
 * on an arena of its own (its first blocks are the arena's too), then
 * luaL_newstate's panic and warning functions. The cap applies once the
 * state is made, as in a task. */
lua_State *rt_lua_newstate(size_t cap)
{
    if (rt_is_child()) {
        struct rt_counter *c = malloc(sizeof *c);
        lua_State *L = c ? luaL_newstate() : NULL;
        if (!L) {
            free(c);
            return NULL;
        }
        c->used = (size_t)lua_gc(L, LUA_GCCOUNT) * 1024 + (size_t)lua_gc(L, LUA_GCCOUNTB);
        c->cap = cap;
        c->arena = 0;
        lua_setallocf(L, capped_alloc, c);
        return L;
    }
    if (!aux_panic) {
        lua_State *d = luaL_newstate();
        if (!d)
            return NULL;
        aux_panic = lua_atpanic(d, NULL);
        lua_close(d);
    }
    struct rt_arena *a = rt_arena_new();
    lua_State *L = a ? lua_newstate(rt_arena_alloc, a) : NULL;
    if (!L) {
        if (a)
            rt_arena_close(a);
        return NULL;
    }
    lua_atpanic(L, aux_panic);
    lua_setwarnf(L, warn_off, L);
    ((struct rt_counter *)a)->cap = cap;
    return L;
}

int rt_lua_setcap(lua_State *L, size_t cap)
{
    void *ud;
    lua_getallocf(L, &ud);
    struct rt_counter *c = ud;
    if (c->used > cap)
        return 0;
    c->cap = cap;
    return 1;
}

void rt_lua_close(lua_State *L)
{
    void *c;
    lua_getallocf(L, &c);
    lua_close(L);
    if (((struct rt_counter *)c)->arena)
        rt_arena_close(c);
    else
        free(c);
}

void rt_lua_giveup(lua_State *L)
{
    void *c;
    lua_getallocf(L, &c);
    if (((struct rt_counter *)c)->arena)
        rt_arena_giveup(c);
}

void rt_lua_memory(lua_State *L, uint64_t *used, uint64_t *cap)
{
    void *ud;
    lua_getallocf(L, &ud);
    const struct rt_counter *c = ud;
    *used = c->used;
    *cap = c->cap == SIZE_MAX ? 0 : c->cap;
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
