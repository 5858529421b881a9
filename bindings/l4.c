/* The l4 table: luaopen_l4 opens every module into one table; the
 * helpers the modules share (per-state data, error names, timeouts). */
#include <string.h>

#include "l4b.h"
#include "l4lib.h"

static const char state_key = 's';  /* registry[&state_key]: struct l4b_state */

struct l4b_state *l4b_state(lua_State *L)
{
    lua_rawgetp(L, LUA_REGISTRYINDEX, &state_key);
    struct l4b_state *st = lua_touserdata(L, -1);
    lua_pop(L, 1);
    if (!st)
        luaL_error(L, "the l4 library is not open in this Lua state");
    return st;
}

void l4b_push_state(lua_State *L)
{
    lua_rawgetp(L, LUA_REGISTRYINDEX, &state_key);
}

void l4b_set_lthread(lua_State *L, unsigned lthread)
{
    struct l4b_state *st = l4b_state(L);
    st->utcb = l4_utcb_of(lthread);
    st->bufs = NULL;        /* offered in the new UTCB at the next receive */
}

int l4b_fail(lua_State *L, const char *msg, lua_Integer code)
{
    lua_pushnil(L);
    lua_pushstring(L, msg);
    lua_pushinteger(L, code);
    return 3;
}

const char *l4b_ipc_error(unsigned code)
{
    static const char *const names[] = {
        [L4_IPC_OK] = "ok",
        [L4_IPC_NOPARTNER] = "no partner",
        [L4_IPC_SND_TIMEOUT] = "timeout",
        [L4_IPC_RCV_TIMEOUT] = "timeout",
        [L4_IPC_SND_CANCELLED] = "cancelled",
        [L4_IPC_RCV_CANCELLED] = "cancelled",
        [L4_IPC_SND_CUT] = "message cut",
        [L4_IPC_RCV_CUT] = "message cut",
        [L4_IPC_SND_PF_TIMEOUT] = "page fault timeout",
        [L4_IPC_RCV_PF_TIMEOUT] = "page fault timeout",
        [L4_IPC_SND_ABORTED] = "aborted",
        [L4_IPC_RCV_ABORTED] = "aborted",
        [L4_IPC_MAP_FAILED] = "map failed",
        [L4_IPC_INVAL] = "invalid message",
    };
    return code < sizeof names / sizeof names[0] ? names[code] : "unknown IPC error";
}

const char *l4b_sys_error(uint64_t code)
{
    switch (code) {
    case L4_OK: return "ok";
    case L4_EINVAL: return "invalid argument";
    case L4_ENOTHREAD: return "no such thread";
    case L4_EPERM: return "not permitted";
    case L4_ENOMEM: return "out of kernel memory";
    case L4_EBUSY: return "busy";
    default: return "unknown error";
    }
}

const char *l4b_sigma0_error(uint64_t code)
{
    static const char *const names[] = {
        [L4_SIGMA0_OK] = "ok",
        [L4_SIGMA0_EINVAL] = "invalid request",
        [L4_SIGMA0_EKERNEL] = "held by the kernel",
        [L4_SIGMA0_ETAKEN] = "taken",
        [L4_SIGMA0_ENOMEM] = "out of memory",
        [L4_SIGMA0_EMIXED] = "mixes RAM and device memory",
        [L4_SIGMA0_ENOTSUP] = "not supported",
        [L4_SIGMA0_ENOMAP] = "the kernel could not map it (try again)",
        [L4_SIGMA0_EPERM] = "the root task's only",
    };
    if (code >= 0x100)
        return l4b_ipc_error((unsigned)(code - 0x100));
    return code < sizeof names / sizeof names[0] ? names[code] : "unknown sigma0 error";
}

void l4b_subtable(lua_State *L, const char *name, const luaL_Reg *fns)
{
    lua_newtable(L);
    luaL_setfuncs(L, fns, 0);
    lua_setfield(L, -2, name);
}

void l4b_class(lua_State *L, const char *tname, const luaL_Reg *meta, const luaL_Reg *methods)
{
    luaL_newmetatable(L, tname);
    luaL_setfuncs(L, meta, 0);
    if (methods) {
        lua_newtable(L);
        luaL_setfuncs(L, methods, 0);
        lua_setfield(L, -2, "__index");
    }
    lua_pop(L, 1);
}

lua_Integer l4b_checkrange(lua_State *L, int arg, lua_Integer lo, lua_Integer hi,
                           const char *what)
{
    lua_Integer v = luaL_checkinteger(L, arg);
    if (v < lo || v > hi) {
        luaL_argerror(L, arg, lua_pushfstring(L, "%s %I out of range (%I to %I)", what,
                                              v, lo, hi));
    }
    return v;
}

/* Milliseconds to microseconds, rounded up; ~0 for forever. */
static uint64_t ms_to_us(lua_State *L, int arg, lua_Number ms)
{
    if (!(ms >= 0))         /* also NaN */
        luaL_argerror(L, arg, "timeout must be a number of milliseconds >= 0");
    lua_Number usf = ms * 1000;
    if (usf >= 9.2e18)      /* beyond 290,000 years: forever */
        return ~0ull;
    uint64_t us = (uint64_t)usf;
    if ((lua_Number)us < usf)
        us++;
    return us;
}

/* m * 2^e microseconds, m <= 1023, rounded up (abi.md "Timeouts"). */
uint16_t l4b_timeout_ms(lua_State *L, int arg, lua_Number ms)
{
    uint64_t us = ms_to_us(L, arg, ms);
    if (us == 0)
        return L4_TO_ZERO;
    if (us == ~0ull)
        return L4_TO_NEVER;
    unsigned e = 0;
    while (us > 1023) {
        us = (us + 1) >> 1;
        e++;
    }
    return L4_TO((unsigned)us, e);
}

uint16_t l4b_timeout(lua_State *L, int arg)
{
    if (lua_isnoneornil(L, arg))
        return L4_TO_NEVER;
    if (!lua_isnumber(L, arg))
        luaL_typeerror(L, arg, "number of milliseconds or nil");
    return l4b_timeout_ms(L, arg, lua_tonumber(L, arg));
}

uint64_t l4b_timeout_us(lua_State *L, int arg)
{
    if (lua_isnoneornil(L, arg))
        return ~0ull;
    if (!lua_isnumber(L, arg))
        luaL_typeerror(L, arg, "number of milliseconds or nil");
    return ms_to_us(L, arg, lua_tonumber(L, arg));
}

int l4b_in_free_area(uint64_t base, uint64_t size)
{
    return base >= L4B_FREE_BASE && base < L4B_FREE_END && size <= L4B_FREE_END - base;
}

/* l4.E (the codes failures return, abi.md "Result codes") and l4.label
 * (the labels of the kernel's messages): named, so that no script types
 * a number of the ABI. Names as in abi.h, lower case, without L4_ and
 * L4_IPC_; sigma0's codes (l4.mem, l4.io.request) in l4.E.sigma0. */
struct l4b_const {
    const char *name;
    lua_Integer value;
};

/* A new table of the constants c, on top of the stack. */
static void const_table(lua_State *L, const struct l4b_const *c)
{
    lua_newtable(L);
    for (; c->name; c++) {
        lua_pushinteger(L, c->value);
        lua_setfield(L, -2, c->name);
    }
}

/* l4.__index (the l4 table's metatable): builds l4.E and l4.label at the
 * first use, so that opening l4 in every new Lua state (each service, each
 * thread) costs nothing for them; then they are plain fields. */
static int constants_index(lua_State *L)
{
    static const struct l4b_const errors[] = {
        { "ok", L4_IPC_OK }, { "nopartner", L4_IPC_NOPARTNER },
        { "snd_timeout", L4_IPC_SND_TIMEOUT }, { "rcv_timeout", L4_IPC_RCV_TIMEOUT },
        { "snd_cancelled", L4_IPC_SND_CANCELLED }, { "rcv_cancelled", L4_IPC_RCV_CANCELLED },
        { "snd_cut", L4_IPC_SND_CUT }, { "rcv_cut", L4_IPC_RCV_CUT },
        { "snd_pf_timeout", L4_IPC_SND_PF_TIMEOUT }, { "rcv_pf_timeout", L4_IPC_RCV_PF_TIMEOUT },
        { "snd_aborted", L4_IPC_SND_ABORTED }, { "rcv_aborted", L4_IPC_RCV_ABORTED },
        { "map_failed", L4_IPC_MAP_FAILED }, { "inval_msg", L4_IPC_INVAL },
        { "einval", L4_EINVAL }, { "enothread", L4_ENOTHREAD }, { "eperm", L4_EPERM },
        { "enomem", L4_ENOMEM }, { "ebusy", L4_EBUSY }, { NULL, 0 } };
    static const struct l4b_const sigma0[] = {
        { "ok", L4_SIGMA0_OK }, { "einval", L4_SIGMA0_EINVAL },
        { "ekernel", L4_SIGMA0_EKERNEL }, { "etaken", L4_SIGMA0_ETAKEN },
        { "enomem", L4_SIGMA0_ENOMEM }, { "emixed", L4_SIGMA0_EMIXED },
        { "enotsup", L4_SIGMA0_ENOTSUP }, { "enomap", L4_SIGMA0_ENOMAP },
        { "eperm", L4_SIGMA0_EPERM }, { NULL, 0 } };
    static const struct l4b_const labels[] = {
        { "pagefault", L4_LABEL_PAGEFAULT }, { "exception", L4_LABEL_EXCEPTION },
        { "irq", L4_LABEL_IRQ }, { "debug", L4B_LABEL_DEBUG }, { NULL, 0 } };
    const char *key = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : NULL;
    if (!key || (strcmp(key, "E") != 0 && strcmp(key, "label") != 0))
        return 0;
    lua_settop(L, 1);
    const_table(L, errors);
    const_table(L, sigma0);
    lua_setfield(L, -2, "sigma0");
    lua_setfield(L, 1, "E");
    const_table(L, labels);
    lua_setfield(L, 1, "label");
    lua_getfield(L, 1, key);
    return 1;
}

static void open_constants(lua_State *L)
{
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, constants_index);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
}

/* The build works without task.c: its module then adds nothing. */
__attribute__((weak)) int l4b_open_task(lua_State *L)
{
    (void)L;
    return 0;
}

int luaopen_l4(lua_State *L)
{
    struct l4b_state *st = lua_newuserdatauv(L, sizeof *st, 0);
    *st = (struct l4b_state){ .utcb = l4_utcb_of(0), .nbufs = L4B_NBUFS,
                              .bufsize = L4B_BUFSIZE };
    lua_rawsetp(L, LUA_REGISTRYINDEX, &state_key);
    lua_newtable(L);
    l4b_open_id(L);
    l4b_open_fpage(L);
    l4b_open_ipc(L);
    l4b_open_kip(L);
    l4b_open_thread(L);
    l4b_open_irq(L);
    l4b_open_io(L);
    l4b_open_mem(L);
    l4b_open_debug(L);
    l4b_open_sys(L);
    l4b_open_task(L);
    open_constants(L);
    return 1;
}
