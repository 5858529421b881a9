/* The kernel interface page (abi.md "KIP"): l4.kip, a table of its
 * constant fields (the clock and the TSC's rate, which the kernel measures
 * in the boot's first ticks, are read live through the metatable), and
 * l4.clock(). */
#include <string.h>

#include "l4b.h"

static int kip_clock(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)l4_kip()->clock_us);
    return 1;
}

/* l4.kip.clock and l4.kip.tsc_per_us: read at each access. */
static int kip_index(lua_State *L)
{
    const char *k = lua_tostring(L, 2);
    if (k && !strcmp(k, "clock"))
        return kip_clock(L);
    if (k && !strcmp(k, "tsc_per_us")) {
        lua_pushinteger(L, (lua_Integer)l4_kip()->tsc_per_us);
        return 1;
    }
    lua_pushnil(L);
    return 1;
}

static void set_int(lua_State *L, const char *k, uint64_t v)
{
    lua_pushinteger(L, (lua_Integer)v);
    lua_setfield(L, -2, k);
}

static void push_memory(lua_State *L, const struct l4_kip *kip)
{
    lua_createtable(L, 0, 5);
    set_int(L, "total", kip->mem_total);
    set_int(L, "kernel_pool", kip->mem_kernel_pool);
    set_int(L, "sigma0", kip->mem_sigma0);
    set_int(L, "phys_end", kip->phys_end);
    unsigned n = kip->nmem < L4_KIP_MEM_MAX ? kip->nmem : L4_KIP_MEM_MAX;
    lua_createtable(L, (int)n, 0);
    for (unsigned i = 0; i < n; i++) {
        const struct l4_kip_mem *m = &kip->mem[i];
        lua_createtable(L, 0, 3);
        set_int(L, "base", m->start);
        set_int(L, "size", m->end - m->start);
        lua_pushstring(L, m->type == L4_KIP_MEM_SIGMA0 ? "sigma0"
                          : m->type == L4_KIP_MEM_KERNEL ? "kernel" : "unknown");
        lua_setfield(L, -2, "type");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "regions");
    lua_setfield(L, -2, "memory");
}

int l4b_open_kip(lua_State *L)
{
    const struct l4_kip *kip = l4_kip();
    lua_createtable(L, 0, 10);
    set_int(L, "version", kip->version);
    set_int(L, "page_size", kip->page_size);
    set_int(L, "tick_us", kip->tick_us);
    l4b_pushid(L, kip->root_task);
    lua_setfield(L, -2, "root");
    if (kip->sigma0) {
        l4b_pushid(L, kip->sigma0);
        lua_setfield(L, -2, "sigma0");
    }
    push_memory(L, kip);
    lua_pushboolean(L, (kip->flags & L4_KIP_SAFE_MODE) != 0);
    lua_setfield(L, -2, "safe");
    lua_createtable(L, 0, 2);
    set_int(L, "base", kip->scripts);
    set_int(L, "size", kip->scripts_size);
    lua_setfield(L, -2, "scripts");
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, kip_index);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
    lua_setfield(L, -2, "kip");
    lua_pushcfunction(L, kip_clock);
    lua_setfield(L, -2, "clock");
    return 0;
}
