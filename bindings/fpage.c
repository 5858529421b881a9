/* Flexpages (abi.md "Flexpages and map items"): userdata holding the
 * fpage word; map/grant items built from them for messages; unmap. */
#include <stdio.h>
#include <string.h>

#include "l4b.h"
#include "rt.h"


struct item {
    uint64_t w[2];          /* {send base | L4_ITEM_MAP or _GRANT, fpage} */
};

void l4b_pushfpage(lua_State *L, uint64_t fpage)
{
    uint64_t *p = lua_newuserdatauv(L, sizeof *p, 0);
    *p = fpage;
    luaL_setmetatable(L, L4B_FPAGE);
}

uint64_t l4b_checkfpage(lua_State *L, int arg)
{
    return *(uint64_t *)luaL_checkudata(L, arg, L4B_FPAGE);
}

/* "rwx", "rw", "r", "" ... in any order; nil gives def. */
uint64_t l4b_checkrights(lua_State *L, int arg, const char *def)
{
    const char *s = luaL_optstring(L, arg, def);
    unsigned r = 0;
    for (const char *c = s; *c; c++) {
        unsigned bit = *c == 'r' ? L4_R : *c == 'w' ? L4_W : *c == 'x' ? L4_X : 0;
        if (!bit || (r & bit))
            luaL_argerror(L, arg, lua_pushfstring(L, "rights must be letters of \"rwx\", "
                                                     "each once (got \"%s\")", s));
        r |= bit;
    }
    return r;
}

static void push_rights(lua_State *L, unsigned r)
{
    char b[4], *p = b;
    if (r & L4_R) *p++ = 'r';
    if (r & L4_W) *p++ = 'w';
    if (r & L4_X) *p++ = 'x';
    lua_pushlstring(L, b, (size_t)(p - b));
}

int l4b_toitem(lua_State *L, const struct l4b_state *st, int arg, uint64_t item[2])
{
    void *p = lua_touserdata(L, arg);
    if (!p || !lua_getmetatable(L, arg))
        return 0;
    const void *mt = lua_topointer(L, -1);
    lua_pop(L, 1);
    if (mt == st->fpage_mt) {   /* a bare fpage: map item with its own base as send base */
        uint64_t f = *(uint64_t *)p;
        item[0] = ((f & L4_FPAGE_IO) ? 0 : L4_FPAGE_BASE(f)) | L4_ITEM_MAP;
        item[1] = f;
        return 1;
    }
    if (mt == st->item_mt) {
        const struct item *it = p;
        item[0] = it->w[0];
        item[1] = it->w[1];
        return 1;
    }
    return 0;
}

/* The fpage functions' upvalues: the fpage and item metatables (the
 * field functions also map_item, grant_item), cheaper than the lookups
 * by name of luaL_checkudata and luaL_setmetatable. */
#define UP_FMT   lua_upvalueindex(1)
#define UP_IMT   lua_upvalueindex(2)
#define UP_MAPI  lua_upvalueindex(3)
#define UP_GRANTI lua_upvalueindex(4)

/* The fpage at arg, checked against UP_FMT. */
static uint64_t check_fpage_up(lua_State *L, int arg)
{
    uint64_t *p = lua_touserdata(L, arg);
    if (p && lua_getmetatable(L, arg)) {
        int ok = lua_rawequal(L, -1, UP_FMT);
        lua_pop(L, 1);
        if (ok)
            return *p;
    }
    return l4b_checkfpage(L, arg);  /* the error */
}

/* A memory fpage from the arguments base, log2, [rights] at 1, 2, 3 (of
 * l4.fpage and l4.map_item). */
static uint64_t check_fpage_args(lua_State *L)
{
    lua_Integer base = luaL_checkinteger(L, 1);
    unsigned s = (unsigned)l4b_checkrange(L, 2, 12, L4_WHOLE_SPACE, "log2 size");
    uint64_t r = l4b_checkrights(L, 3, "rwx");
    uint64_t b = (uint64_t)base;
    if (b & ((1ull << s) - 1)) {
        char m[80];
        snprintf(m, sizeof m, "base 0x%llx not aligned to its size 2^%u", (unsigned long long)b, s);
        luaL_argerror(L, 1, m);
    }
    if (s == L4_WHOLE_SPACE ? b != 0 : b + (1ull << s) > L4_USER_LIMIT)
        luaL_argerror(L, 1, "fpage reaches beyond user memory (0x7ffe00000000)");
    return L4_FPAGE(b, s, r);
}

/* l4.fpage(base, log2, [rights]) */
static int fpage_new(lua_State *L)
{
    uint64_t f = check_fpage_args(L);
    uint64_t *p = lua_newuserdatauv(L, sizeof *p, 0);
    *p = f;
    lua_pushvalue(L, UP_FMT);
    lua_setmetatable(L, -2);
    return 1;
}

/* l4.iofpage(port, log2): 2^log2 ports from port */
static int iofpage_new(lua_State *L)
{
    unsigned s, port = l4b_checkports(L, 1, &s);
    l4b_pushfpage(L, L4_IOFPAGE(port, s));
    return 1;
}

static int fpage_tostring(lua_State *L)
{
    uint64_t f = l4b_checkfpage(L, 1);
    unsigned s = L4_FPAGE_SIZE(f);
    char b[80];
    if (f & L4_FPAGE_IO) {
        snprintf(b, sizeof b, "iofpage(0x%x, 2^%u)", L4_IOFPAGE_PORT(f), s);
    } else {
        unsigned r = L4_FPAGE_RIGHTS(f);
        snprintf(b, sizeof b, "fpage(0x%llx, 2^%u, %c%c%c)",
                 (unsigned long long)L4_FPAGE_BASE(f), s, r & L4_R ? 'r' : '-',
                 r & L4_W ? 'w' : '-', r & L4_X ? 'x' : '-');
    }
    lua_pushstring(L, b);
    return 1;
}

static int fpage_eq(lua_State *L)
{
    lua_pushboolean(L, l4b_checkfpage(L, 1) == l4b_checkfpage(L, 2));
    return 1;
}

/* Pushes the item {send base | kind, fpage f}: the send base the
 * integer at sb_arg rounded down to its page, or without one the
 * fpage's base (0 for ports). */
static int push_item(lua_State *L, uint64_t f, int sb_arg, uint64_t kind)
{
    uint64_t sb = (f & L4_FPAGE_IO) ? 0 : L4_FPAGE_BASE(f);
    if (!lua_isnoneornil(L, sb_arg))
        sb = (uint64_t)luaL_checkinteger(L, sb_arg) & ~0xfffull;
    struct item *it = lua_newuserdatauv(L, sizeof *it, 0);
    it->w[0] = sb | kind;
    it->w[1] = f;
    lua_pushvalue(L, UP_IMT);
    lua_setmetatable(L, -2);
    return 1;
}

/* fp:map_item([send_base]), fp:grant_item([send_base]) */
static int make_item(lua_State *L, uint64_t kind)
{
    return push_item(L, check_fpage_up(L, 1), 2, kind);
}

/* l4.map_item(base, log2, [rights], [send_base]): l4.fpage(base, log2,
 * rights):map_item(send_base) without the fpage (a pager's reply). */
static int map_item_new(lua_State *L)
{
    return push_item(L, check_fpage_args(L), 4, L4_ITEM_MAP);
}

static int fpage_map_item(lua_State *L)
{
    return make_item(L, L4_ITEM_MAP);
}

static int fpage_grant_item(lua_State *L)
{
    return make_item(L, L4_ITEM_GRANT);
}

/* Fields base, size (bytes, or ports), log2, rights, is_io; methods. */
static int fpage_index(lua_State *L)
{
    uint64_t f = check_fpage_up(L, 1);
    const char *k = luaL_checkstring(L, 2);
    unsigned s = L4_FPAGE_SIZE(f);
    int io = (f & L4_FPAGE_IO) != 0;
    if (!strcmp(k, "base"))
        lua_pushinteger(L, io ? L4_IOFPAGE_PORT(f) : (lua_Integer)L4_FPAGE_BASE(f));
    else if (!strcmp(k, "size"))
        lua_pushinteger(L, (lua_Integer)(1ull << s));
    else if (!strcmp(k, "log2"))
        lua_pushinteger(L, s);
    else if (!strcmp(k, "rights"))
        push_rights(L, io ? 0 : L4_FPAGE_RIGHTS(f));
    else if (!strcmp(k, "is_io"))
        lua_pushboolean(L, io);
    else if (!strcmp(k, "raw"))
        lua_pushinteger(L, (lua_Integer)f);
    else if (!strcmp(k, "map_item"))
        lua_pushvalue(L, UP_MAPI);
    else if (!strcmp(k, "grant_item"))
        lua_pushvalue(L, UP_GRANTI);
    else
        lua_pushnil(L);
    return 1;
}

static int item_tostring(lua_State *L)
{
    struct item *it = luaL_checkudata(L, 1, L4B_ITEM);
    char sb[24];
    snprintf(sb, sizeof sb, "0x%llx", (unsigned long long)(it->w[0] & ~0xfffull));
    l4b_pushfpage(L, it->w[1]);
    lua_pushfstring(L, "%s item of %s at %s",
                    (it->w[0] & 0xe) == L4_ITEM_GRANT ? "grant" : "map",
                    luaL_tolstring(L, -1, NULL), sb);
    return 1;
}

/* l4.unmap(fpage, ["flush" | "readonly"], [own]); l4.unmap(fpage, own) */
static int fpage_unmap(lua_State *L)
{
    static const char *const modes[] = { "flush", "readonly", NULL };
    uint64_t f = l4b_checkfpage(L, 1);
    int own_arg = 3, flush = 1;
    if (lua_type(L, 2) == LUA_TBOOLEAN)
        own_arg = 2;
    else
        flush = luaL_checkoption(L, 2, "flush", modes) == 0;
    int own = lua_toboolean(L, own_arg);
    int io = (f & L4_FPAGE_IO) != 0;
    uint64_t size = 1ull << L4_FPAGE_SIZE(f);
    if (own && !io && !l4b_in_free_area(L4_FPAGE_BASE(f), size))
        luaL_argerror(L, 1, "with own, the fpage must lie in 0x100000000000-0x7f0000000000 "
                            "(the runtime's image, heap and stacks are outside)");
    uint64_t r = l4_fpage_unmap(f, (flush ? L4_UNMAP_FLUSH : 0) | (own ? L4_UNMAP_OWN : 0));
    if (r != L4_OK)
        return l4b_fail(L, l4b_sys_error(r), (lua_Integer)r);
    if (io && own)
        rt_ports_note(L4_IOFPAGE_PORT(f), (unsigned)size, 0);
    lua_pushboolean(L, 1);
    return 1;
}

int l4b_open_fpage(lua_State *L)
{
    static const luaL_Reg fmeta[] = {
        { "__tostring", fpage_tostring }, { "__eq", fpage_eq }, { "__index", fpage_index },
        { NULL, NULL } };
    static const luaL_Reg imeta[] = { { "__tostring", item_tostring }, { NULL, NULL } };
    static const luaL_Reg fns[] = {
        { "fpage", fpage_new }, { "iofpage", iofpage_new }, { "map_item", map_item_new },
        { "unmap", fpage_unmap },
        { NULL, NULL } };
    l4b_class(L, L4B_FPAGE, fmeta, NULL);
    l4b_class(L, L4B_ITEM, imeta, NULL);
    struct l4b_state *st = l4b_state(L);
    luaL_getmetatable(L, L4B_FPAGE);
    st->fpage_mt = lua_topointer(L, -1);
    luaL_getmetatable(L, L4B_ITEM);
    st->item_mt = lua_topointer(L, -1);
    lua_pop(L, 2);
    luaL_getmetatable(L, L4B_FPAGE);
    luaL_getmetatable(L, L4B_ITEM);
    luaL_setfuncs(L, fns, 2);           /* into the l4 table below; pops them */
    luaL_getmetatable(L, L4B_FPAGE);    /* __index: fmt, imt, map_item, grant_item */
    lua_pushvalue(L, -1);
    luaL_getmetatable(L, L4B_ITEM);
    lua_pushvalue(L, -2);
    lua_pushvalue(L, -2);
    lua_pushcclosure(L, fpage_map_item, 2);
    lua_pushvalue(L, -3);
    lua_pushvalue(L, -3);
    lua_pushcclosure(L, fpage_grant_item, 2);
    lua_pushcclosure(L, fpage_index, 4);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    return 0;
}
