/* I/O ports (memory.md "Device memory and I/O ports"): l4.io.request asks
 * sigma0 for ports and notes them in the task's record (runtime/lua/
 * ports.c); in/out check the record first, as an in or out on a port the
 * task does not hold is a #GP that stops the thread. */
#include <stdio.h>

#include "l4b.h"
#include "rt.h"

/* The port argument for an access of `width` bytes: every port of it
 * must be held, else an error naming the first that is not. */
static uint16_t check_port(lua_State *L, int arg, unsigned width)
{
    unsigned port = (unsigned)l4b_checkrange(L, arg, 0, 0xffff, "port");
    for (unsigned p = port; p < port + width; p++) {
        if (!rt_ports_held(p)) {
            char m[80];
            snprintf(m, sizeof m, "I/O port 0x%x is not held by this task (l4.io.request "
                                  "it first)", p);
            luaL_error(L, "%s", m);
        }
    }
    return (uint16_t)port;
}

unsigned l4b_checkports(lua_State *L, int arg, unsigned *k)
{
    unsigned port = (unsigned)l4b_checkrange(L, arg, 0, 0xffff, "port");
    *k = (unsigned)l4b_checkrange(L, arg + 1, 0, 16, "log2 count");
    if (port & ((1u << *k) - 1)) {
        char m[64];
        snprintf(m, sizeof m, "port 0x%x not aligned to its count 2^%u", port, *k);
        luaL_argerror(L, arg, m);
    }
    return port;
}

/* l4.io.request(port, log2_count) -> true, or nil, message, code */
static int io_request(lua_State *L)
{
    unsigned k, port = l4b_checkports(L, 1, &k);
    uint64_t r = l4b_sigma0(L, L4_SIGMA0_IOPORTS, 2, port, k,
                            L4_FPAGE(0, L4_WHOLE_SPACE, L4_RWX), NULL);
    if (r != L4_SIGMA0_OK)
        return l4b_fail(L, l4b_sigma0_error(r), (lua_Integer)r);
    rt_ports_note(port, 1u << k, 1);
    lua_pushboolean(L, 1);
    return 1;
}

/* l4.io.holds(port, [count]) -> whether all of them are held */
static int io_holds(lua_State *L)
{
    unsigned port = (unsigned)l4b_checkrange(L, 1, 0, 0xffff, "port");
    unsigned n = lua_isnoneornil(L, 2) ? 1 : (unsigned)l4b_checkrange(L, 2, 1, 65536, "count");
    int all = 1;
    for (unsigned p = port; p < port + n; p++)
        all &= rt_ports_held(p);
    lua_pushboolean(L, all);
    return 1;
}

static int io_inb(lua_State *L)
{
    uint16_t port = check_port(L, 1, 1);
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    lua_pushinteger(L, v);
    return 1;
}

static int io_inw(lua_State *L)
{
    uint16_t port = check_port(L, 1, 2);
    uint16_t v;
    __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    lua_pushinteger(L, v);
    return 1;
}

static int io_inl(lua_State *L)
{
    uint16_t port = check_port(L, 1, 4);
    uint32_t v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    lua_pushinteger(L, v);
    return 1;
}

static int io_outb(lua_State *L)
{
    uint8_t v = (uint8_t)l4b_checkrange(L, 2, 0, 0xff, "value");
    uint16_t port = check_port(L, 1, 1);
    __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port));
    return 0;
}

static int io_outw(lua_State *L)
{
    uint16_t v = (uint16_t)l4b_checkrange(L, 2, 0, 0xffff, "value");
    uint16_t port = check_port(L, 1, 2);
    __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(port));
    return 0;
}

static int io_outl(lua_State *L)
{
    uint32_t v = (uint32_t)l4b_checkrange(L, 2, 0, 0xffffffff, "value");
    uint16_t port = check_port(L, 1, 4);
    __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port));
    return 0;
}

int l4b_open_io(lua_State *L)
{
    static const luaL_Reg fns[] = {
        { "request", io_request }, { "holds", io_holds },
        { "inb", io_inb }, { "inw", io_inw }, { "inl", io_inl },
        { "outb", io_outb }, { "outw", io_outw }, { "outl", io_outl }, { NULL, NULL } };
    l4b_subtable(L, "io", fns);
    return 0;
}
