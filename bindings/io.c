/* I/O ports (memory.md "Device memory and I/O ports"): l4.io.request asks
 * sigma0 for ports and records them; in/out check the record first, as an
 * in or out on a port the task does not hold is a #GP that stops the
 * thread. The record is the task's (ports are a task's, like its address
 * space): ports got from sigma0 through l4.io.request, received in
 * messages, given up by l4.unmap(iofpage, own) or by granting them. Ports
 * the runtime's C code took (the RTC's 0x70-0x71, clock.c) are not in
 * it. */
#include <stdio.h>

#include "l4b.h"

static uint8_t held[65536 / 8];     /* bit p: this task holds port p */

void l4b_io_note(unsigned port, unsigned count, int on)
{
    for (unsigned p = port; p < port + count && p < 65536; p++) {
        if (on)
            held[p / 8] |= (uint8_t)(1u << (p % 8));
        else
            held[p / 8] &= (uint8_t)~(1u << (p % 8));
    }
}

static int holds(unsigned p)
{
    return p < 65536 && (held[p / 8] >> (p % 8)) & 1;
}

/* The port argument for an access of `width` bytes: every port of it
 * must be held, else an error naming the first that is not. */
static uint16_t check_port(lua_State *L, int arg, unsigned width)
{
    unsigned port = (unsigned)l4b_checkrange(L, arg, 0, 0xffff, "port");
    for (unsigned p = port; p < port + width; p++) {
        if (!holds(p)) {
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
    l4b_io_note(port, 1u << k, 1);
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
        all &= holds(p);
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
