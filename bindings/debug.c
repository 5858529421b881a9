/* l4.debug: the kernel's debug call (abi.md "Debug call"), for tests and
 * diagnosis only, and two C threads to test IPC and paging against from a
 * single Lua thread. Not part of the L4 interface. */
#include <stdlib.h>

#include "l4b.h"
#include "rt.h"

static int kdebug_result(lua_State *L, uint64_t r)
{
    if (r != L4_OK)
        return l4b_fail(L, l4b_sys_error(r), (lua_Integer)r);
    lua_pushboolean(L, 1);
    return 1;
}

/* l4.debug.raise_irq(n): as if IRQ n fired (root task, test kernel only) */
static int debug_raise_irq(lua_State *L)
{
    unsigned n = (unsigned)l4b_checkrange(L, 1, 1, L4_NUM_IRQS - 1, "IRQ");
    return kdebug_result(L, l4_kdebug(L4_KDEBUG_RAISE_IRQ, n, NULL, NULL));
}

/* l4.debug.rtc_irq(on): the CMOS RTC's periodic interrupt, IRQ 8 (root
 * task, test kernel only) */
static int debug_rtc_irq(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TBOOLEAN);
    return kdebug_result(L, l4_kdebug(L4_KDEBUG_RTC_IRQ, (uint64_t)lua_toboolean(L, 1),
                                      NULL, NULL));
}

/* l4.debug.alloc_limit([n]): this state's next n allocations succeed,
 * the one after fails (and Lua's retry of it), then the limit is gone;
 * alloc_limit() lifts it before. The allocation-failure tests
 * (tests/lua/memerr.lua) place a failure at each allocation of a
 * function with it, as Lua's testes/memerr.lua does with ltests'
 * countlimit. */
static int debug_alloc_limit(lua_State *L)
{
    lua_Integer n = lua_isnoneornil(L, 1) ? -1 : l4b_checkrange(L, 1, 0, INT32_MAX, "count");
    rt_lua_alloclimit(L, n < 0 ? SIZE_MAX : (size_t)n);
    return 0;
}

/* l4.debug.kmem() -> frames of the kernel pool used, its limit */
static int debug_kmem(lua_State *L)
{
    uint64_t used = 0, limit = 0;
    l4_kdebug(L4_KDEBUG_KMEM, 0, &used, &limit);
    lua_pushinteger(L, (lua_Integer)used);
    lua_pushinteger(L, (lua_Integer)limit);
    return 2;
}

/* l4.debug.mdb_check() -> whether the mapping database is consistent
 * (root task only: it walks every mapping) */
static int debug_mdb_check(lua_State *L)
{
    uint64_t r = l4_kdebug(L4_KDEBUG_MDB_CHECK, 0, NULL, NULL);
    if (r != L4_OK && r != L4_EINVAL)
        return l4b_fail(L, l4b_sys_error(r), (lua_Integer)r);
    lua_pushboolean(L, r == L4_OK);
    return 1;
}

/* l4.debug.kcheck() -> whether the kernel's own state is consistent:
 * thread states against the ready queues, send queues and timeouts, and
 * the kernel pool's count of used frames (the debug call L4_KDEBUG_CHECK;
 * root task only: it walks every thread and page table) */
static int debug_kcheck(lua_State *L)
{
    uint64_t r = l4_kdebug(L4_KDEBUG_CHECK, 0, NULL, NULL);
    if (r != L4_OK && r != L4_EINVAL)
        return l4b_fail(L, l4b_sys_error(r), (lua_Integer)r);
    lua_pushboolean(L, r == L4_OK);
    return 1;
}

/* ---- the echo thread ----
 * A C thread of this task (lthread ECHO_LTHREAD) that answers every
 * message with the same message: label, words, strings (from its own
 * buffers), map items (of where the pages landed in its window, to the
 * same send base). A message with label ECHO_SWALLOW gets no answer (to
 * test a call's receive timeout). It never uses newlib or Lua. */
#define ECHO_LTHREAD 255
#define ECHO_SWALLOW 0xec0
#define ECHO_STACK (16u << 10)
#define ECHO_WINDOW_LOG2 22

static uint64_t echo_id, echo_window;

static __attribute__((noreturn, used)) void echo_main(void)
{
    struct l4_utcb *u = l4_utcb_of(ECHO_LTHREAD);
    const uint64_t rcv = L4_RCV_OPEN | L4_RCV_STRINGS | L4_RCV_MAPS;
    struct l4_msg m = { 0 };
    uint64_t from = 0;
    uint64_t r = l4_ipc(L4_NILTHREAD, L4_NODESC, rcv, 0, &m, &from);
    for (;;) {
        if (L4_IPC_ERR(r) != L4_IPC_OK || L4_TAG_LABEL(m.tag) == ECHO_SWALLOW) {
            r = l4_ipc(L4_NILTHREAD, L4_NODESC, rcv, 0, &m, &from);
            continue;
        }
        unsigned nu = L4_TAG_U(m.tag), nt = L4_TAG_T(m.tag);
        for (unsigned i = 0; i < nt; i++) {     /* map items: our pages now */
            uint64_t w0 = *l4_mr(&m, u, nu + 2 * i), *w1 = l4_mr(&m, u, nu + 2 * i + 1);
            if (((w0 & 0xe) == L4_ITEM_MAP || (w0 & 0xe) == L4_ITEM_GRANT) &&
                !(*w1 & L4_FPAGE_IO)) {
                unsigned s = L4_FPAGE_SIZE(*w1);
                uint64_t at = L4_FPAGE_BASE(echo_window) +
                              ((w0 & ~0xfffull) & ((1ull << ECHO_WINDOW_LOG2) - 1) &
                               ~((1ull << s) - 1));
                if (s > ECHO_WINDOW_LOG2)
                    s = ECHO_WINDOW_LOG2, at = L4_FPAGE_BASE(echo_window);
                *w1 = L4_FPAGE(at, s, L4_FPAGE_RIGHTS(*w1));
            }
        }
        u->rcv_window = echo_window;
        r = l4_ipc(from, m.tag, rcv, L4_TIMEOUTS(L4_TO_ZERO, 0, L4_TO_ZERO, 0), &m, &from);
    }
}

/* l4.debug.echo() -> the echo thread's id (started at the first call) */
static int debug_echo(lua_State *L)
{
    if (!echo_id) {
        char *stack = malloc(ECHO_STACK);
        char *bufs = malloc(4 * L4B_BUFSIZE);
        uint64_t win = l4b_va_reserve(ECHO_WINDOW_LOG2);
        if (!stack || !bufs || !win) {
            free(stack);
            free(bufs);
            return l4b_fail(L, "not enough memory for the echo thread", L4_ENOMEM);
        }
        const uint64_t keep = ~0ull;
        uint64_t id, r = l4_lthread_ex_regs(ECHO_LTHREAD, keep, keep, keep, keep, &id, NULL);
        if (r != L4_OK) {       /* created, not started: its UTCB exists now */
            free(stack);
            free(bufs);
            return l4b_fail(L, l4b_sys_error(r), (lua_Integer)r);
        }
        struct l4_utcb *u = l4_utcb_of(ECHO_LTHREAD);
        for (unsigned i = 0; i < 8; i++) {
            u->rcv_strings[i][0] = i < 4 ? (uint64_t)(bufs + i * L4B_BUFSIZE) : 0;
            u->rcv_strings[i][1] = i < 4 ? L4B_BUFSIZE : 0;
        }
        echo_window = L4_FPAGE(win, ECHO_WINDOW_LOG2, L4_RWX);
        u->rcv_window = echo_window;
        uint64_t sp = ((uint64_t)(stack + ECHO_STACK) & ~15ull) - 8;   /* as after a call */
        r = l4_lthread_ex_regs(ECHO_LTHREAD, (uint64_t)echo_main, sp, keep, keep, &id, NULL);
        if (r != L4_OK)
            return l4b_fail(L, l4b_sys_error(r), (lua_Integer)r);
        echo_id = id;
    }
    l4b_pushid(L, echo_id);
    return 1;
}

/* ---- the faulting thread ----
 * A C thread of this task (lthread FAULT_LTHREAD) whose pager is the Lua
 * thread that started it: it reads (or writes) one word at an address,
 * which faults to that pager, then calls the pager with label FAULT_DONE
 * and the word it read, and waits for good. For tests of a Lua pager. */
#define FAULT_LTHREAD 254
#define FAULT_DONE 0xfa
static uint64_t fault_addr, fault_write, fault_pager;
static char *fault_stack;

static __attribute__((noreturn, used)) void fault_main(void)
{
    volatile uint64_t *p = (volatile uint64_t *)fault_addr;
    struct l4_msg m = { 0 };
    if (fault_write)
        *p = fault_write;
    m.w[0] = *p;
    l4_ipc(fault_pager, L4_TAG(FAULT_DONE, 1, 0), 0, 0, &m, NULL);
    for (;;)
        l4_ipc(L4_NILTHREAD, L4_NODESC, 0, 0, &m, NULL);
}

/* l4.debug.fault(addr, [value], [pager]) -> the id of a thread that reads
 * the word at addr (first writing value, if given and not 0) with pager
 * (an id; default this thread) as its pager, and reports to that pager */
static int debug_fault(lua_State *L)
{
    uint64_t addr = (uint64_t)luaL_checkinteger(L, 1) & ~7ull;   /* a word */
    if (!l4b_in_free_area(addr, 8))
        luaL_argerror(L, 1, "the address must lie in 0x100000000000-0x7f0000000000");
    uint64_t value = (uint64_t)luaL_optinteger(L, 2, 0);
    uint64_t pager = lua_isnoneornil(L, 3) ? l4b_state(L)->utcb->myself : l4b_checkid(L, 3);
    if (!fault_stack && !(fault_stack = malloc(ECHO_STACK)))
        return l4b_fail(L, "not enough memory for the faulting thread", L4_ENOMEM);
    fault_addr = addr;
    fault_write = value;
    fault_pager = pager;
    uint64_t sp = ((uint64_t)(fault_stack + ECHO_STACK) & ~15ull) - 8;
    uint64_t id, r = l4_lthread_ex_regs(FAULT_LTHREAD, (uint64_t)fault_main, sp, fault_pager,
                                        ~0ull, &id, NULL);
    if (r != L4_OK)
        return l4b_fail(L, l4b_sys_error(r), (lua_Integer)r);
    l4b_pushid(L, id);
    return 1;
}

/* l4.debug.rdtsc() -> the time-stamp counter (under QEMU's -icount
 * shift=0: guest instructions executed); for benchmarks only */
/* l4.debug.mapping(address) -> rights ("r", "rw", "rx", "rwx"), memory
 * type, PAT index: how this task's page at address is mapped (test
 * kernel only: elsewhere, and where nothing is mapped, nil, message,
 * code). The type is the PAT index's under the PAT as the CPU resets it,
 * which the kernel keeps: 0 write-back, 1 write-through, 2 UC- (uncached;
 * what Linux's ioremap gives), 3 uncached; 4-7 as 0-3. */
static int debug_mapping(lua_State *L)
{
    static const char *const types[] = { "write-back", "write-through", "uncached-minus",
                                         "uncached" };
    uint64_t addr = (uint64_t)luaL_checkinteger(L, 1), out = 0;
    uint64_t r = l4_kdebug(L4_KDEBUG_MAPPING, addr, &out, NULL);
    if (r != L4_OK)
        return l4b_fail(L, "nothing mapped there (or not the test kernel)", (lua_Integer)r);
    char rights[4], *p = rights;
    *p++ = 'r';
    if (out & L4_W)
        *p++ = 'w';
    if (out & L4_X)
        *p++ = 'x';
    *p = 0;
    lua_pushstring(L, rights);
    lua_pushstring(L, types[(out >> 4) & 3]);
    lua_pushinteger(L, (lua_Integer)((out >> 4) & 7));
    return 3;
}

static int debug_rdtsc(lua_State *L)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    lua_pushinteger(L, (lua_Integer)(((uint64_t)hi << 32) | lo));
    return 1;
}

int l4b_open_debug(lua_State *L)
{
    static const luaL_Reg fns[] = {
        { "raise_irq", debug_raise_irq }, { "rtc_irq", debug_rtc_irq },
        { "alloc_limit", debug_alloc_limit },
        { "kmem", debug_kmem }, { "mdb_check", debug_mdb_check }, { "kcheck", debug_kcheck },
        { "echo", debug_echo },
        { "fault", debug_fault }, { "rdtsc", debug_rdtsc }, { "mapping", debug_mapping },
        { NULL, NULL } };
    l4b_subtable(L, "debug", fns);
    lua_getfield(L, -1, "debug");
    lua_pushinteger(L, ECHO_SWALLOW);
    lua_setfield(L, -2, "ECHO_SWALLOW");
    lua_pushinteger(L, FAULT_DONE);
    lua_setfield(L, -2, "FAULT_DONE");
    lua_pop(L, 1);
    return 0;
}
