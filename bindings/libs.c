/* The libraries of every Lua state of L4ua (l4lib.h), as Lua's linit.c
 * lists its own: in the root's main state, a Lua task's, a Lua thread's. */
#include "l4lib.h"
#include "lauxlib.h"
#include "lualib.h"
#include "rt.h"

/* LPeg ships no header: its one entry point, linked in (liblpeg.a). */
int luaopen_lpeg(lua_State *L);
/* ext2.c: the ext2 module (docs/storage.md). */
int luaopen_ext2(lua_State *L);
/* lwip.c: the lwip module, the network service's stack (docs/network.md). */
int luaopen_lwip(lua_State *L);

void l4b_openlibs(lua_State *L)
{
    luaL_openlibs(L);
    luaL_requiref(L, "lpeg", luaopen_lpeg, 0);
    lua_pop(L, 1);
    luaL_requiref(L, "l4", luaopen_l4, 1);
    lua_pop(L, 1);
    /* ext2 and lwip only when required: most states never do */
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, luaopen_ext2);
    lua_setfield(L, -2, "ext2");
    lua_pushcfunction(L, luaopen_lwip);
    lua_setfield(L, -2, "lwip");
    lua_pop(L, 1);
    rt_lua_set_paths(L);
}
