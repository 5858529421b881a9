/* The running C function's arguments and results, read and written in
 * Lua's stack directly, for the message functions' common case (ipc.c
 * fast_op): there the public API's calls (lua_tointegerx, lua_isinteger,
 * lua_touserdata, lua_pushinteger, ... each a call, an index check and a
 * walk to the value: some 20 instructions) were half of what the binding
 * cost a round trip (docs/performance.md, issue 20's third round).
 *
 * Only ipc.c includes this; its Makefile rule adds the Lua sources the
 * runtime's liblua.a is built from (LUA_SRC, tools/deps/build.sh) to the
 * include path, so the layouts are those of the library it links with.
 * What it relies on is what lapi.c itself does, nothing more:
 * - a C function's arguments are L->ci->func + 1 .. L->top - 1;
 * - it may push LUA_MINSTACK values without lua_checkstack (ldo.c,
 *   precallC gives it that much);
 * - an integer or a copy of a value on the stack needs no GC step and no
 *   barrier (lua_pushinteger, lua_pushvalue).
 * Anything else (strings, userdata made, errors) goes through the API. */
#ifndef L4B_LSTACK_H
#define L4B_LSTACK_H

#include "lua.h"
#include "lstate.h"
#include "lgc.h"      /* isdead, in setobj's liveness check (a no-op here) */

/* The layouts below are Lua 5.4.4's (lobject.h, lstate.h): a new Lua must
 * be looked at before this builds again. */
_Static_assert(LUA_VERSION_RELEASE_NUM == 50404, "lstack.h is written against Lua 5.4.4");

/* Argument i (1-based) of the running C function; the caller knows it
 * exists (i <= l4b_nargs). */
static inline const TValue *l4b_arg(lua_State *L, int i)
{
    return s2v(L->ci->func + i);
}

static inline int l4b_nargs(lua_State *L)
{
    return (int)(L->top - (L->ci->func + 1));
}

/* The block of a full userdata argument, or NULL if it is not one. */
static inline void *l4b_arg_udata(const TValue *o)
{
    return ttisfulluserdata(o) ? getudatamem(uvalue(o)) : NULL;
}

/* Whether o is an integer (not a float, not a string): *v its value. */
static inline int l4b_arg_int(const TValue *o, lua_Integer *v)
{
    if (!ttisinteger(o))
        return 0;
    *v = ivalue(o);
    return 1;
}

/* Pushes an integer (lua_pushinteger without the call). */
static inline void l4b_push_int(lua_State *L, lua_Integer v)
{
    setivalue(s2v(L->top), v);
    L->top++;
}

/* Makes stack slot i (1-based, below the top) the integer v: no push. */
static inline void l4b_set_int(lua_State *L, int i, lua_Integer v)
{
    setivalue(s2v(L->ci->func + i), v);
}

/* Pushes a copy of argument i (lua_pushvalue(L, i) without the call). */
static inline void l4b_push_arg(lua_State *L, int i)
{
    setobj2s(L, L->top, l4b_arg(L, i));
    L->top++;
}

#endif
