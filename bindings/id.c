/* Thread ids (abi.md "Thread ids"): userdata holding the 64-bit id,
 * interned per Lua state in a weak table keyed by the value, so that
 * equal ids are the same userdata: they compare with == and work as table
 * keys, and pushing a known id (the sender of each message) allocates
 * nothing. */
#include <stdio.h>
#include <string.h>

#include "l4b.h"

static const char ids_key = 'i';    /* registry[&ids_key]: value -> userdata */

void l4b_pushid(lua_State *L, uint64_t id)
{
    lua_rawgetp(L, LUA_REGISTRYINDEX, &ids_key);
    if (lua_rawgeti(L, -1, (lua_Integer)id) == LUA_TUSERDATA) {
        lua_remove(L, -2);
        return;
    }
    lua_pop(L, 1);
    uint64_t *p = lua_newuserdatauv(L, sizeof *p, 0);
    *p = id;
    luaL_setmetatable(L, L4B_ID);
    lua_pushvalue(L, -1);
    lua_rawseti(L, -3, (lua_Integer)id);
    lua_remove(L, -2);
}

static int pushid_protected(lua_State *L)
{
    l4b_pushid(L, (uint64_t)lua_tointeger(L, 1));
    return 1;
}

void l4b_pushid_or_undo(lua_State *L, uint64_t id, void (*undo)(uint64_t id))
{
    lua_pushcfunction(L, pushid_protected);     /* light: no allocation */
    lua_pushinteger(L, (lua_Integer)id);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        undo(id);
        lua_error(L);
    }
}

void l4b_push_ids(lua_State *L)
{
    lua_rawgetp(L, LUA_REGISTRYINDEX, &ids_key);
}

uint64_t l4b_checkid(lua_State *L, int arg)
{
    return *(uint64_t *)luaL_checkudata(L, arg, L4B_ID);
}

uint64_t l4b_optid(lua_State *L, int arg, uint64_t def)
{
    return lua_isnoneornil(L, arg) ? def : l4b_checkid(L, arg);
}

static int is_irq_id(uint64_t id)
{
    return L4_IS_IRQ_ID(id);
}

/* l4.id(task, lthread, version) or l4.id(raw value) */
static int id_new(lua_State *L)
{
    if (lua_gettop(L) == 1) {
        lua_Integer v = luaL_checkinteger(L, 1);
        if ((uint64_t)v != L4_INVALID && ((uint64_t)v >> 36))
            luaL_argerror(L, 1, "not a thread id (bits above 35 set)");
        l4b_pushid(L, (uint64_t)v);
        return 1;
    }
    lua_Integer task = l4b_checkrange(L, 1, 0, L4_MAX_TASKS - 1, "task");
    lua_Integer lthread = l4b_checkrange(L, 2, 0, L4_MAX_LTHREADS - 1, "lthread");
    lua_Integer version = l4b_checkrange(L, 3, 0, 0xffff, "version");
    l4b_pushid(L, L4_ID(task, lthread, version));
    return 1;
}

static int id_irq(lua_State *L)
{
    lua_Integer n = l4b_checkrange(L, 1, 0, L4_NUM_IRQS - 1, "IRQ");
    l4b_pushid(L, L4_IRQ_ID(n));
    return 1;
}

static int id_self(lua_State *L)
{
    l4b_pushid(L, l4b_state(L)->utcb->myself);
    return 1;
}

/* l4.nearest(id): where a message to id goes (abi.md "Clans and chiefs"). */
static int id_nearest(lua_State *L)
{
    uint64_t near;
    uint64_t r = l4_id_nearest(l4b_checkid(L, 1), &near);
    static const char *const kinds[] = { "same", "inner", "outer" };
    if (r > L4_NEAREST_OUTER)
        return l4b_fail(L, l4b_sys_error(r), (lua_Integer)r);
    l4b_pushid(L, near);
    lua_pushstring(L, kinds[r]);
    return 2;
}

static int id_tostring(lua_State *L)
{
    uint64_t id = l4b_checkid(L, 1);
    if (id == L4_NILTHREAD)
        lua_pushliteral(L, "nilthread");
    else if (id == L4_INVALID)
        lua_pushliteral(L, "anythread");
    else if (is_irq_id(id))
        lua_pushfstring(L, "irq %d", (int)L4_IRQ_OF(id));
    else {
        char b[32];
        snprintf(b, sizeof b, "%x.%x.%04x", L4_ID_TASK(id), L4_ID_LTHREAD(id),
                 L4_ID_VERSION(id));
        lua_pushstring(L, b);
    }
    return 1;
}

static int id_eq(lua_State *L)
{
    lua_pushboolean(L, l4b_checkid(L, 1) == l4b_checkid(L, 2));
    return 1;
}

/* Fields: task, lthread, version, raw (the 64-bit value), irq (the line
 * of an IRQ id, else nil). */
static int id_index(lua_State *L)
{
    /* the ids' metatable is upvalue 1: cheaper than luaL_checkudata */
    uint64_t *p = lua_touserdata(L, 1);
    int ok = 0;
    if (p && lua_getmetatable(L, 1)) {
        ok = lua_rawequal(L, -1, lua_upvalueindex(1));
        lua_pop(L, 1);
    }
    uint64_t id = ok ? *p : l4b_checkid(L, 1);
    const char *k = luaL_checkstring(L, 2);
    if (!strcmp(k, "task"))
        lua_pushinteger(L, L4_ID_TASK(id));
    else if (!strcmp(k, "lthread"))
        lua_pushinteger(L, L4_ID_LTHREAD(id));
    else if (!strcmp(k, "version"))
        lua_pushinteger(L, L4_ID_VERSION(id));
    else if (!strcmp(k, "raw"))
        lua_pushinteger(L, (lua_Integer)id);
    else if (!strcmp(k, "irq") && is_irq_id(id))
        lua_pushinteger(L, (lua_Integer)L4_IRQ_OF(id));
    else
        lua_pushnil(L);
    return 1;
}

int l4b_open_id(lua_State *L)
{
    static const luaL_Reg meta[] = {
        { "__tostring", id_tostring }, { "__eq", id_eq }, { "__index", id_index },
        { NULL, NULL } };
    static const luaL_Reg fns[] = {
        { "id", id_new }, { "irq_id", id_irq }, { "self", id_self },
        { "nearest", id_nearest }, { NULL, NULL } };
    l4b_class(L, L4B_ID, meta, NULL);
    luaL_getmetatable(L, L4B_ID);       /* __index with the metatable as upvalue */
    lua_pushvalue(L, -1);
    lua_pushcclosure(L, id_index, 1);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    lua_newtable(L);                    /* the intern table, weak values */
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "v");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &ids_key);
    luaL_setfuncs(L, fns, 0);
    l4b_pushid(L, L4_NILTHREAD);
    lua_setfield(L, -2, "nilthread");
    l4b_pushid(L, L4_INVALID);
    lua_setfield(L, -2, "anythread");
    return 0;
}
