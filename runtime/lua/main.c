/* The Lua root task: one Lua state with the standard libraries and LPeg,
 * whose modules come from the scripts archive; it runs init.lua from
 * there. Errors print a traceback and end the system (status 1); when
 * init.lua returns, the task idles (the REPL comes with console input).
 * A Lua task the root spawned runs the same image and comes here too: it
 * runs the script its spawn block names instead (task_main). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lauxlib.h"
#include "lua.h"
#include "lualib.h"
#include "rt.h"

int luaopen_lpeg(lua_State *L);
int luaopen_l4(lua_State *L);     /* bindings/l4.c */

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
 * memory" in that state; shrinking and freeing always work. The blocks
 * come from the one heap (malloc), so a state's bytes are its share of the
 * task's memory cap (pager.c), not counting malloc's own overhead. */
struct counter {
    size_t used, cap;
};

static void *capped_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct counter *c = ud;
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

/* luaL_newstate (its panic and warning functions), then our allocator:
 * the blocks luaL_newstate made are malloc's too, and Lua's own count of
 * them starts the counter. */
lua_State *rt_lua_newstate(size_t cap)
{
    struct counter *c = malloc(sizeof *c);
    lua_State *L = c ? luaL_newstate() : NULL;
    if (!L) {
        free(c);
        return NULL;
    }
    c->used = (size_t)lua_gc(L, LUA_GCCOUNT) * 1024 + (size_t)lua_gc(L, LUA_GCCOUNTB);
    c->cap = cap;
    lua_setallocf(L, capped_alloc, c);
    return L;
}

int rt_lua_setcap(lua_State *L, size_t cap)
{
    void *ud;
    lua_getallocf(L, &ud);
    struct counter *c = ud;
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
    free(c);
}

void rt_lua_memory(lua_State *L, uint64_t *used, uint64_t *cap)
{
    void *ud;
    lua_getallocf(L, &ud);
    const struct counter *c = ud;
    *used = c->used;
    *cap = c->cap == SIZE_MAX ? 0 : c->cap;
}

/* require looks in the archive (whose root is "/"); there is no loading
 * of C modules: LPeg is linked in and preloaded. */
static void set_paths(lua_State *L)
{
    lua_getglobal(L, "package");
    lua_pushliteral(L, "?.lua;?/init.lua");
    lua_setfield(L, -2, "path");
    lua_pushliteral(L, "");
    lua_setfield(L, -2, "cpath");
    lua_pop(L, 1);
}

/* The libraries: the same in the root and in a Lua task. */
void rt_lua_open_libs(lua_State *L)
{
    luaL_openlibs(L);
    luaL_requiref(L, "lpeg", luaopen_lpeg, 0);
    lua_pop(L, 1);
    luaL_requiref(L, "l4", luaopen_l4, 1);
    lua_pop(L, 1);
    set_paths(L);
}

/* Runs under lua_pcall, so that errors anywhere, also while opening the
 * libraries, reach msghandler rather than the panic function. */
static int pmain(lua_State *L)
{
    rt_lua_open_libs(L);
    lua_createtable(L, 0, 1);   /* arg[0], as the stock interpreter sets it */
    lua_pushliteral(L, "init.lua");
    lua_rawseti(L, -2, 0);
    lua_setglobal(L, "arg");
    if (luaL_loadfile(L, "init.lua") != LUA_OK)
        return lua_error(L);
    lua_call(L, 0, 0);
    return 0;
}

/* ---- a Lua task (docs/runtime.md "Lua tasks") ---- */

/* Pushes the values of the spawn block's body after the script's name
 * (format in rt.h); returns how many. */
static int push_args(lua_State *L, const unsigned char *p, const unsigned char *end)
{
    uint32_t n = 0;
    if (end - p < 4)
        luaL_error(L, "malformed spawn block");
    memcpy(&n, p, 4);
    p += 4;
    luaL_checkstack(L, (int)(n < 1000000 ? n : 1000000) + 2, "too many arguments");
    for (uint32_t i = 0; i < n; i++) {
        uint32_t len = 0;
        uint64_t v = 0;
        char type = p < end ? (char)*p++ : 0;
        size_t need = type == 's' ? 4 : type == 'i' || type == 'f' ? 8 : type == 'b' ? 1 : 0;
        if (type != 's' && type != 'i' && type != 'f' && type != 'b' && type != 'n')
            luaL_error(L, "malformed spawn block");
        if ((size_t)(end - p) < need)
            luaL_error(L, "malformed spawn block");
        memcpy(type == 's' ? (void *)&len : (void *)&v, p, need);
        p += need;
        if (type == 's') {
            if ((size_t)(end - p) < len)
                luaL_error(L, "malformed spawn block");
            lua_pushlstring(L, (const char *)p, len);
            p += len;
        } else if (type == 'i') {
            lua_pushinteger(L, (lua_Integer)v);
        } else if (type == 'f') {
            double d;
            memcpy(&d, &v, sizeof d);
            lua_pushnumber(L, d);
        } else if (type == 'b') {
            lua_pushboolean(L, v != 0);
        } else {
            lua_pushnil(L);
        }
    }
    return (int)n;
}

/* Runs the script with the arguments as `...` and in `arg` (arg[0] the
 * script's name, as the stock interpreter does). */
static int task_pmain(lua_State *L)
{
    const struct rt_task_args *a = rt_task_args();
    const unsigned char *body = a->body, *end = body + a->size;
    const char *script = (const char *)body;
    size_t len = strnlen(script, a->size);
    if (len == a->size)
        return luaL_error(L, "malformed spawn block");
    rt_lua_open_libs(L);
    int n = push_args(L, body + len + 1, end);
    lua_createtable(L, n, 1);
    lua_pushstring(L, script);
    lua_rawseti(L, -2, 0);
    for (int i = 1; i <= n; i++) {
        lua_pushvalue(L, -1 - n - 1 + i);
        lua_rawseti(L, -2, i);
    }
    lua_setglobal(L, "arg");
    if (luaL_loadfile(L, script) != LUA_OK)
        return lua_error(L);
    lua_insert(L, -n - 1);
    lua_call(L, n, 0);
    return 0;
}

/* A Lua task: no RTC (the root keeps the ports; the spawn block has the
 * root's time of boot), no sigma0 (its pager is the root's). An error
 * ends it as failed, with the message and traceback; the end of the
 * script or os.exit as exited (crt0's exit, then _exit: child.c). */
static int task_main(void)
{
    const struct rt_task_args *a = rt_task_args();
    if (a->magic != RT_ARGS_MAGIC)
        rt_child_exit(1, "no spawn block");
    rt_clock_set_epoch(a->epoch_us);
    rt_console_id = a->console;
    rt_files_id = a->files;
    if (a->nio && rt_child_io() < 0)
        rt_child_exit(1, "cannot get the I/O ports it was given");
    rt_archive_init();
    lua_State *L = rt_lua_newstate(a->memcap);     /* the spawn's cap, for this state too */
    if (L == NULL)
        rt_child_exit(1, "cannot create a Lua state: not enough memory");
    rt_thread_main(L);
    lua_pushcfunction(L, rt_lua_msghandler);
    lua_pushcfunction(L, task_pmain);
    if (lua_pcall(L, 0, 0, 1) != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        fflush(NULL);
        rt_child_exit(1, msg ? msg : "(error object is not a string)");
    }
    return 0;
}

int main(void)
{
    if (rt_is_child())
        return task_main();
    rt_clock_init();
    rt_archive_init();      /* without it, loading init.lua fails below */
    lua_State *L = rt_lua_newstate(SIZE_MAX);
    if (L == NULL) {
        fputs("lua-root: cannot create a Lua state: not enough memory\n", stderr);
        return 1;
    }
    rt_thread_main(L);
    lua_pushcfunction(L, rt_lua_msghandler);
    lua_pushcfunction(L, pmain);
    if (lua_pcall(L, 0, 0, 1) != LUA_OK) {
        fprintf(stderr, "lua-root: %s\n", lua_tostring(L, -1));
        return 1;   /* crt0 calls exit: stdio is flushed, QEMU ends */
    }
    fflush(NULL);
    rt_console_puts("lua-root: init.lua returned; idling (quit QEMU: Ctrl-] then X)\n");
    rt_idle();
}
