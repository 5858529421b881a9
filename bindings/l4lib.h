/* What the bindings export to the program's start-up (runtime/lua/
 * main.c), as lualib.h does for Lua's libraries: the one way the layer
 * below reaches the l4 table. Nothing else of the runtime includes it;
 * the bindings reach the runtime through rt.h (and keeper.h's client
 * calls) only (docs/architecture.md). */
#pragma once
#include "lua.h"

/* l4.c: the l4 table (docs/lua-api.md), as a module for luaL_requiref. */
int luaopen_l4(lua_State *L);
/* libs.c: every library a Lua state of L4ua gets, the same in the root,
 * a Lua task and a Lua thread: Lua's standard ones, LPeg (preloaded as
 * "lpeg"), l4 (as the global l4), ext2 (preloaded: loaded by the first
 * require "ext2", docs/storage.md), and this boot's package paths
 * (rt_lua_set_paths). */
void l4b_openlibs(lua_State *L);
