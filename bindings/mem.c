/* Physical memory from sigma0 (memory.md "sigma0"): device memory or RAM
 * at a physical address (l4.mem.map_phys), any free RAM (l4.mem.alloc),
 * mapped into [L4B_MEM_BASE, L4B_MEM_END) of this task and read and
 * written through a userdata ("l4.mem") whose accesses are bounds- and
 * alignment-checked. __gc/__close/unmap drop the mapping (and what was
 * mapped on from it); sigma0 takes nothing back yet, so RAM stays used.
 * Addresses there are handed out once (l4.mem.reserve too). A Lua task
 * gets its device and DMA memory from the device manager instead, in a
 * message, and wraps what landed with l4.mem.adopt. */
#include <stdio.h>
#include <string.h>

#include "l4b.h"

struct mem {
    uint64_t va, phys;
    unsigned k;             /* log2 size */
    unsigned rights;        /* what sigma0 gave: RW device memory, RWX RAM */
    int mapped;
    int ram;                /* block copies with memcpy; device memory: a byte at a time */
};

static uint64_t next_va = L4B_MEM_BASE;    /* the task's: shared by its states */

uint64_t l4b_va_reserve(unsigned k)
{
    uint64_t size = 1ull << k, old = __atomic_load_n(&next_va, __ATOMIC_RELAXED), base;
    do {
        base = (old + size - 1) & ~(size - 1);
        if (k > 40 || base + size > L4B_MEM_END)
            return 0;
    } while (!__atomic_compare_exchange_n(&next_va, &old, base + size, 0, __ATOMIC_RELAXED,
                                          __ATOMIC_RELAXED));
    return base;
}

/* The handle before the resource (liolib's newprefile): a closed "l4.mem"
 * on the stack, made before sigma0 is asked, so that a failed allocation
 * of it can never leave memory mapped with no handle to unmap it. */
static struct mem *new_mem(lua_State *L)
{
    struct mem *m = lua_newuserdatauv(L, sizeof *m, 0);
    *m = (struct mem){ 0, 0, 0, 0, 0, 0 };
    luaL_setmetatable(L, L4B_MEM);
    return m;
}

/* Fills the handle at the top of the stack with the mapping taken. */
static int set_mem(struct mem *m, uint64_t va, uint64_t phys, unsigned k, unsigned rights,
                   int ram)
{
    *m = (struct mem){ va, phys, k, rights, 1, ram };
    return 1;
}

/* l4.mem.map_phys(base, log2) -> mem, or nil, message, code */
static int mem_map_phys(lua_State *L)
{
    uint64_t base = (uint64_t)luaL_checkinteger(L, 1);
    unsigned k = (unsigned)l4b_checkrange(L, 2, 12, L4_SIGMA0_PHYS_MAX, "log2 size");
    if (base & ((1ull << k) - 1)) {
        char m[80];
        snprintf(m, sizeof m, "base 0x%llx not aligned to its size 2^%u",
                 (unsigned long long)base, k);
        luaL_argerror(L, 1, m);
    }
    struct mem *m = new_mem(L);
    uint64_t va = l4b_va_reserve(k), fp = 0;
    if (!va)
        return l4b_fail(L, "no address space left for mappings", L4_ENOMEM);
    uint64_t r = l4b_sigma0(L, L4_SIGMA0_PHYS, 2, base, k, L4_FPAGE(va, k, L4_RWX), &fp);
    if (r != L4_SIGMA0_OK)
        return l4b_fail(L, l4b_sigma0_error(r), (lua_Integer)r);
    /* sigma0 gives RAM executable, device memory not (memory.md "sigma0") */
    return set_mem(m, va, base, k, L4_FPAGE_RIGHTS(fp), (L4_FPAGE_RIGHTS(fp) & L4_X) != 0);
}

/* l4.mem.alloc(log2) -> mem: 2^log2 bytes of zeroed RAM, any address */
static int mem_alloc(lua_State *L)
{
    unsigned k = (unsigned)l4b_checkrange(L, 1, 12, L4_SIGMA0_ANY_MAX, "log2 size");
    struct mem *m = new_mem(L);
    uint64_t va = l4b_va_reserve(k), fp = 0;
    if (!va)
        return l4b_fail(L, "no address space left for mappings", L4_ENOMEM);
    uint64_t r = l4b_sigma0(L, L4_SIGMA0_ANY, 1, k, 0, L4_FPAGE(va, k, L4_RWX), &fp);
    if (r != L4_SIGMA0_OK)
        return l4b_fail(L, l4b_sigma0_error(r), (lua_Integer)r);
    return set_mem(m, va, L4_FPAGE_BASE(fp), k, L4_FPAGE_RIGHTS(fp), 1);
}

/* l4.mem.adopt(fp, phys, "ram" | "device") -> mem: memory a message
 * mapped into this task at fp (in the mappings' range), as the sender
 * described it. Lua tasks only: the access of a page that is not mapped
 * is a fault for the task's pager, which fails a Lua task (itself alone),
 * whereas in the root task it would stop the thread for good (sigma0
 * does not answer it). */
static int mem_adopt(lua_State *L)
{
    uint64_t fp = l4b_checkfpage(L, 1);
    uint64_t phys = (uint64_t)luaL_checkinteger(L, 2);
    static const char *const kinds[] = { "device", "ram", NULL };
    int ram = luaL_checkoption(L, 3, NULL, kinds);
    unsigned k = L4_FPAGE_SIZE(fp);
    uint64_t va = L4_FPAGE_BASE(fp);
    if (fp & L4_FPAGE_IO)
        luaL_argerror(L, 1, "an I/O fpage is not memory");
    if (k < 12 || va < L4B_MEM_BASE || va + (1ull << k) > L4B_MEM_END)
        luaL_argerror(L, 1, "not in this task's mappings' range (l4.mem.reserve)");
    if (phys & ((1ull << k) - 1))
        luaL_argerror(L, 2, "physical address not aligned to the fpage's size");
    if (L4_ID_TASK(l4b_state(L)->utcb->myself) == L4_ID_TASK(l4_kip()->root_task))
        return luaL_error(L, "l4.mem.adopt: not in the root task (it maps with map_phys "
                             "and alloc)");
    struct mem *m = new_mem(L);
    return set_mem(m, va, phys, k, L4_FPAGE_RIGHTS(fp), ram);
}

/* l4.mem.available() -> bytes of RAM sigma0 has not handed out */
static int mem_available(lua_State *L)
{
    uint64_t s0 = l4_kip()->sigma0, near;
    if (!s0 || l4_id_nearest(s0, &near) != L4_NEAREST_SAME)  /* as l4b_sigma0 */
        return l4b_fail(L, l4b_ipc_error(L4_IPC_NOPARTNER), L4_IPC_NOPARTNER);
    struct l4_msg m = { 0 };
    uint64_t r = l4_ipc(s0, L4_TAG(L4_SIGMA0_FREE, 0, 0), 0, 0, &m, NULL);
    if (L4_IPC_ERR(r) != L4_IPC_OK)
        return l4b_fail(L, l4b_ipc_error(L4_IPC_ERR(r)), L4_IPC_ERR(r));
    if (L4_TAG_U(m.tag) < 2 || m.w[0] != L4_SIGMA0_OK)
        return l4b_fail(L, l4b_sigma0_error(m.w[0]), (lua_Integer)m.w[0]);
    lua_pushinteger(L, (lua_Integer)(m.w[1] * 4096));
    return 1;
}

/* l4.mem.give_back(phys, log2) -> true: RAM sigma0 handed to the root,
 * back to sigma0, which flushes every mapping of it (here and in every
 * task it went on to) and hands it out again later. For RAM no l4.mem of
 * any state uses any more: the device manager's DMA memory of an
 * instance that died (devmgr.lua). The root task's only. */
static int mem_give_back(lua_State *L)
{
    uint64_t phys = (uint64_t)luaL_checkinteger(L, 1);
    unsigned k = (unsigned)l4b_checkrange(L, 2, 12, L4_SIGMA0_ANY_MAX, "log2 size");
    uint64_t s0 = l4_kip()->sigma0, near;
    if (!s0 || l4_id_nearest(s0, &near) != L4_NEAREST_SAME)  /* as l4b_sigma0 */
        return l4b_fail(L, l4b_ipc_error(L4_IPC_NOPARTNER), L4_IPC_NOPARTNER);
    struct l4_msg m = { 0 };
    m.w[0] = phys;
    m.w[1] = k;
    uint64_t r = l4_ipc(s0, L4_TAG(L4_SIGMA0_GIVE_BACK, 2, 0), 0, 0, &m, NULL);
    if (L4_IPC_ERR(r) != L4_IPC_OK)
        return l4b_fail(L, l4b_ipc_error(L4_IPC_ERR(r)), L4_IPC_ERR(r));
    if (L4_TAG_U(m.tag) < 1 || m.w[0] != L4_SIGMA0_OK)
        return l4b_fail(L, l4b_sigma0_error(m.w[0]), (lua_Integer)m.w[0]);
    lua_pushboolean(L, 1);
    return 1;
}

/* l4.mem.reserve(log2) -> base: address space for a receive window */
static int mem_reserve(lua_State *L)
{
    unsigned k = (unsigned)l4b_checkrange(L, 1, 12, 40, "log2 size");
    uint64_t va = l4b_va_reserve(k);
    if (!va)
        return l4b_fail(L, "no address space left for mappings", L4_ENOMEM);
    lua_pushinteger(L, (lua_Integer)va);
    return 1;
}

static struct mem *check_mapped(lua_State *L)
{
    struct mem *m = luaL_checkudata(L, 1, L4B_MEM);
    if (!m->mapped)
        luaL_error(L, "attempt to use unmapped memory (mem:unmap() was called)");
    return m;
}

/* The offset argument of a width-byte access (or of n bytes, width 1). */
static volatile void *at(lua_State *L, struct mem *m, int arg, uint64_t width, uint64_t n)
{
    lua_Integer off = luaL_checkinteger(L, arg);
    uint64_t size = 1ull << m->k;
    if (off < 0 || (uint64_t)off > size || n > size - (uint64_t)off) {
        char b[96];
        snprintf(b, sizeof b, "offset 0x%llx out of range (%llu bytes at it, size 0x%llx)",
                 (unsigned long long)off, (unsigned long long)n, (unsigned long long)size);
        luaL_argerror(L, arg, b);
    }
    if ((uint64_t)off % width) {
        char b[64];
        snprintf(b, sizeof b, "offset 0x%llx not aligned to %u", (unsigned long long)off,
                 (unsigned)width);
        luaL_argerror(L, arg, b);
    }
    return (volatile void *)(m->va + (uint64_t)off);
}

#define ACCESS(bits, max)                                                       \
    static int mem_read##bits(lua_State *L)                                     \
    {                                                                           \
        struct mem *m = check_mapped(L);                                        \
        volatile uint##bits##_t *p = at(L, m, 2, bits / 8, bits / 8);           \
        lua_pushinteger(L, (lua_Integer)*p);                                    \
        return 1;                                                               \
    }                                                                           \
    static int mem_write##bits(lua_State *L)                                    \
    {                                                                           \
        struct mem *m = check_mapped(L);                                        \
        volatile uint##bits##_t *p = at(L, m, 2, bits / 8, bits / 8);           \
        lua_Integer v = bits == 64 ? luaL_checkinteger(L, 3)                    \
                                   : l4b_checkrange(L, 3, 0, max, "value");     \
        *p = (uint##bits##_t)v;                                                 \
        return 0;                                                               \
    }
ACCESS(8, 0xff)
ACCESS(16, 0xffff)
ACCESS(32, 0xffffffff)
ACCESS(64, 0)

/* m:read(offset, n) -> string of n bytes: RAM copied whole, device
 * memory one byte access at a time (a register may count its reads) */
static int mem_read(lua_State *L)
{
    struct mem *m = check_mapped(L);
    lua_Integer n = l4b_checkrange(L, 3, 0, (lua_Integer)1 << m->k, "length");
    volatile uint8_t *p = at(L, m, 2, 1, (uint64_t)n);
    luaL_Buffer b;
    char *d = luaL_buffinitsize(L, &b, (size_t)n);
    if (m->ram)
        memcpy(d, (const void *)p, (size_t)n);
    else
        for (lua_Integer i = 0; i < n; i++)
            d[i] = (char)p[i];
    luaL_pushresultsize(&b, (size_t)n);
    return 1;
}

/* m:write(offset, s, [i, [j]]): the bytes s:sub(i, j), copied as read does */
static int mem_write(lua_State *L)
{
    struct mem *m = check_mapped(L);
    size_t len;
    const char *s = luaL_checklstring(L, 3, &len);
    lua_Integer i = luaL_optinteger(L, 4, 1), j = luaL_optinteger(L, 5, (lua_Integer)len);
    if (i < 1 || i > (lua_Integer)len + 1)
        luaL_argerror(L, 4, "start outside the string");
    if (j > (lua_Integer)len)
        luaL_argerror(L, 5, "end outside the string");
    size_t n = j >= i ? (size_t)(j - i + 1) : 0;
    s += i - 1;
    volatile uint8_t *p = at(L, m, 2, 1, n);
    if (m->ram)
        memcpy((void *)p, s, n);
    else
        for (size_t k = 0; k < n; k++)
            p[k] = (uint8_t)s[k];
    return 0;
}

/* m:fill(offset, n, [byte]): n bytes set to byte (default 0) */
static int mem_fill(lua_State *L)
{
    struct mem *m = check_mapped(L);
    lua_Integer n = l4b_checkrange(L, 3, 0, (lua_Integer)1 << m->k, "length");
    int v = lua_isnoneornil(L, 4) ? 0 : (int)l4b_checkrange(L, 4, 0, 0xff, "byte");
    volatile uint8_t *p = at(L, m, 2, 1, (uint64_t)n);
    if (m->ram)
        memset((void *)p, v, (size_t)n);
    else
        for (lua_Integer k = 0; k < n; k++)
            p[k] = (uint8_t)v;
    return 0;
}

static int mem_size(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)1 << ((struct mem *)luaL_checkudata(L, 1, L4B_MEM))->k);
    return 1;
}

static int mem_base(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)((struct mem *)luaL_checkudata(L, 1, L4B_MEM))->va);
    return 1;
}

static int mem_phys(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)((struct mem *)luaL_checkudata(L, 1, L4B_MEM))->phys);
    return 1;
}

/* m:fpage([offset, [log2, [rights]]]) -> an fpage of (part of) it, to map on */
static int mem_fpage(lua_State *L)
{
    struct mem *m = check_mapped(L);
    unsigned k = lua_isnoneornil(L, 3) ? m->k
               : (unsigned)l4b_checkrange(L, 3, 12, m->k, "log2 size");
    lua_Integer off = luaL_optinteger(L, 2, 0);
    if (off < 0 || (uint64_t)off + (1ull << k) > (1ull << m->k) || (off & ((1ll << k) - 1)))
        luaL_argerror(L, 2, "offset must be aligned to the fpage's size and lie inside");
    unsigned r = lua_isnoneornil(L, 4) ? m->rights : (unsigned)l4b_checkrights(L, 4, "");
    l4b_pushfpage(L, L4_FPAGE(m->va + (uint64_t)off, k, r & m->rights));
    return 1;
}

/* m:unmap(): drops the mapping and everything mapped on from it */
static int mem_unmap(lua_State *L)
{
    struct mem *m = luaL_checkudata(L, 1, L4B_MEM);
    if (m->mapped) {
        l4_fpage_unmap(L4_FPAGE(m->va, m->k, L4_RWX), L4_UNMAP_FLUSH | L4_UNMAP_OWN);
        m->mapped = 0;
    }
    return 0;
}

static int mem_tostring(lua_State *L)
{
    struct mem *m = luaL_checkudata(L, 1, L4B_MEM);
    char b[96];
    snprintf(b, sizeof b, "mem(phys 0x%llx, 2^%u bytes at 0x%llx%s)",
             (unsigned long long)m->phys, m->k, (unsigned long long)m->va,
             m->mapped ? "" : ", unmapped");
    lua_pushstring(L, b);
    return 1;
}

int l4b_open_mem(lua_State *L)
{
    static const luaL_Reg meta[] = {
        { "__gc", mem_unmap }, { "__close", mem_unmap }, { "__tostring", mem_tostring },
        { NULL, NULL } };
    static const luaL_Reg methods[] = {
        { "read8", mem_read8 }, { "read16", mem_read16 }, { "read32", mem_read32 },
        { "read64", mem_read64 }, { "write8", mem_write8 }, { "write16", mem_write16 },
        { "write32", mem_write32 }, { "write64", mem_write64 }, { "read", mem_read },
        { "write", mem_write }, { "fill", mem_fill }, { "size", mem_size }, { "base", mem_base },
        { "phys", mem_phys }, { "fpage", mem_fpage }, { "unmap", mem_unmap },
        { NULL, NULL } };
    static const luaL_Reg fns[] = {
        { "map_phys", mem_map_phys }, { "alloc", mem_alloc }, { "reserve", mem_reserve },
        { "give_back", mem_give_back },
        { "available", mem_available }, { "adopt", mem_adopt }, { NULL, NULL } };
    l4b_class(L, L4B_MEM, meta, methods);
    l4b_subtable(L, "mem", fns);
    return 0;
}
