/* A minimal stand-alone Lua for the host smoke test of the cached
 * newlib/Lua/LPeg builds:
 *     lua [-L dir] script.lua [args...]
 * package.path is "<dir>/?.lua" (default: <dir of this program>/share,
 * where lua.mk copies re.lua and LPeg's test.lua); there is no C module
 * loading, so LPeg is linked in and preloaded, and ext2 (bindings/ext2.c)
 * preloaded for require. Errors are printed with a
 * traceback and give exit status 1. */
#include <stdio.h>
#include <string.h>

#include "lauxlib.h"
#include "lua.h"
#include "lualib.h"

int luaopen_lpeg(lua_State *L);
int luaopen_ext2(lua_State *L);     /* bindings/ext2.c */

/* As in lua.c: turn any error value into a message with a traceback. */
static int msghandler(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            return 1;
        msg = lua_pushfstring(L, "(error object is a %s value)",
                              luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

static void set_path(lua_State *L, const char *argv0, const char *dir)
{
    lua_getglobal(L, "package");
    if (dir) {
        lua_pushfstring(L, "%s/?.lua", dir);
    } else {
        const char *slash = strrchr(argv0, '/');
        if (slash)
            lua_pushlstring(L, argv0, (size_t)(slash - argv0));
        else
            lua_pushliteral(L, ".");
        lua_pushliteral(L, "/share/?.lua");
        lua_concat(L, 2);
    }
    lua_setfield(L, -2, "path");
    lua_pushliteral(L, "");
    lua_setfield(L, -2, "cpath");
    lua_pop(L, 1);
}

/* Runs under lua_pcall so that errors anywhere, including while opening
 * the libraries, reach msghandler rather than the panic function. */
static int pmain(lua_State *L)
{
    int argc = (int)lua_tointeger(L, 1);
    char **argv = lua_touserdata(L, 2);
    const char *dir = NULL;
    int script = 1;
    if (argc > 2 && strcmp(argv[1], "-L") == 0) {
        dir = argv[2];
        script = 3;
    }
    if (script >= argc)
        return luaL_error(L, "usage: %s [-L dir] script.lua [args...]", argv[0]);

    luaL_openlibs(L);
    luaL_requiref(L, "lpeg", luaopen_lpeg, 0);
    lua_pop(L, 1);
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, luaopen_ext2);
    lua_setfield(L, -2, "ext2");
    lua_pop(L, 1);
    set_path(L, argv[0], dir);

    /* arg[0] is the script, as with the stock interpreter. */
    lua_createtable(L, argc - script - 1, script + 1);
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - script);
    }
    lua_setglobal(L, "arg");

    if (luaL_loadfile(L, argv[script]) != LUA_OK)
        return lua_error(L);
    luaL_checkstack(L, argc - script, "too many arguments");   /* more than LUA_MINSTACK */
    for (int i = script + 1; i < argc; i++)
        lua_pushstring(L, argv[i]);
    lua_call(L, argc - script - 1, 0);
    return 0;
}

int main(int argc, char **argv)
{
    lua_State *L = luaL_newstate();
    if (L == NULL) {
        fputs("lua: cannot create state: not enough memory\n", stderr);
        return 1;
    }
    lua_pushcfunction(L, msghandler);
    lua_pushcfunction(L, pmain);
    lua_pushinteger(L, argc);
    lua_pushlightuserdata(L, argv);
    int status = lua_pcall(L, 2, 0, 1);
    if (status != LUA_OK) {
        fprintf(stderr, "lua: %s\n", lua_tostring(L, -1));
        fflush(stderr);
    }
    lua_close(L);
    return status == LUA_OK ? 0 : 1;
}
