/* The Lua root task: one Lua state with the standard libraries and LPeg,
 * whose modules come from the scripts archive; it runs init.lua from
 * there. Errors print a traceback and end the system (status 1); when
 * init.lua returns, the task idles (the REPL comes with console input). */
#include <stdio.h>

#include "lauxlib.h"
#include "lua.h"
#include "lualib.h"
#include "rt.h"

int luaopen_lpeg(lua_State *L);

/* As in lua.c: turn any error value into a message with a traceback. */
static int msghandler(lua_State *L)
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

/* Runs under lua_pcall, so that errors anywhere, also while opening the
 * libraries, reach msghandler rather than the panic function. */
static int pmain(lua_State *L)
{
    luaL_openlibs(L);
    luaL_requiref(L, "lpeg", luaopen_lpeg, 0);
    lua_pop(L, 1);
    set_paths(L);
    lua_createtable(L, 0, 1);   /* arg[0], as the stock interpreter sets it */
    lua_pushliteral(L, "init.lua");
    lua_rawseti(L, -2, 0);
    lua_setglobal(L, "arg");
    if (luaL_loadfile(L, "init.lua") != LUA_OK)
        return lua_error(L);
    lua_call(L, 0, 0);
    return 0;
}

int main(void)
{
    rt_clock_init();
    rt_archive_init();      /* without it, loading init.lua fails below */
    lua_State *L = luaL_newstate();
    if (L == NULL) {
        fputs("lua-root: cannot create a Lua state: not enough memory\n", stderr);
        return 1;
    }
    lua_pushcfunction(L, msghandler);
    lua_pushcfunction(L, pmain);
    if (lua_pcall(L, 0, 0, 1) != LUA_OK) {
        fprintf(stderr, "lua-root: %s\n", lua_tostring(L, -1));
        return 1;   /* crt0 calls exit: stdio is flushed, QEMU ends */
    }
    fflush(NULL);
    rt_console_puts("lua-root: init.lua returned; idling (quit QEMU: Ctrl-A then X)\n");
    rt_idle();
}
