/* Interrupts (abi.md "Interrupts"): l4.irq.attach(n) returns a handle
 * (userdata "l4.irq") that the state keeps until detach, so a dropped
 * handle does not detach the line behind the script's back; __gc and
 * __close detach (when the state closes, or a to-be-closed variable goes
 * out of scope). wait and detach take the handle or the line number. */
#include "l4b.h"
#include "wait.h"

struct irq {
    unsigned n;
    int attached;
};

static const char irqs_key = 'q';   /* registry[&irqs_key]: line -> handle */

/* A closed receive from IRQ n's id: attach (timeout zero), wait, detach. */
static unsigned irq_receive(unsigned n, uint16_t timeout, uint64_t flags)
{
    struct l4_msg m = { 0 };
    uint64_t r = l4_ipc(L4_IRQ_ID(n), L4_NODESC, flags, L4_TIMEOUTS(0, timeout, 0, 0), &m, NULL);
    return L4_IPC_ERR(r);
}

/* The line of the handle or number at arg; it must be attached. */
static unsigned check_attached(lua_State *L, int arg)
{
    struct irq *h = luaL_testudata(L, arg, L4B_IRQ);
    unsigned n = h ? h->n : (unsigned)l4b_checkrange(L, arg, 0, L4_NUM_IRQS - 1, "IRQ");
    if (!(l4b_state(L)->irqs & (1u << n)))
        luaL_argerror(L, arg, lua_pushfstring(L, "IRQ %d is not attached (l4.irq.attach "
                                                 "it first)", (int)n));
    return n;
}

static void forget(lua_State *L, unsigned n)
{
    l4b_state(L)->irqs &= (uint16_t)~(1u << n);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &irqs_key);
    if (lua_rawgeti(L, -1, n) == LUA_TUSERDATA)
        ((struct irq *)lua_touserdata(L, -1))->attached = 0;
    lua_pop(L, 1);
    lua_pushnil(L);
    lua_rawseti(L, -2, n);
    lua_pop(L, 1);
}

/* l4.irq.attach(n) -> handle, or nil, "taken or not attachable", 1 */
static int irq_attach(lua_State *L)
{
    unsigned n = (unsigned)l4b_checkrange(L, 1, 0, L4_NUM_IRQS - 1, "IRQ");
    struct l4b_state *st = l4b_state(L);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &irqs_key);
    if (st->irqs & (1u << n)) {         /* attached already: the same handle */
        lua_rawgeti(L, -1, n);
        return 1;
    }
    /* The closed handle first, kept in the state's table, then the line
     * (liolib.c's newprefile): every allocation is made before the line
     * is taken, so a failed one leaves no line held, and an attached line
     * always has its handle where the next attach finds it. */
    struct irq *h = lua_newuserdatauv(L, sizeof *h, 0);
    *h = (struct irq){ n, 0 };
    luaL_setmetatable(L, L4B_IRQ);
    lua_pushvalue(L, -1);
    lua_rawseti(L, -3, n);
    unsigned code = irq_receive(n, L4_TO_ZERO, 0);
    if (code != L4_IPC_RCV_TIMEOUT) {   /* V2: "receive timeout" means attached */
        lua_pushnil(L);
        lua_rawseti(L, -3, n);          /* a key that is there: no allocation */
        if (code == L4_IPC_NOPARTNER)
            return l4b_fail(L, "taken or not attachable", code);
        return l4b_fail(L, l4b_ipc_error(code), code);
    }
    h->attached = 1;
    st->irqs |= (uint16_t)(1u << n);
    return 1;
}

/* l4.irq.wait(h | n, [timeout]) -> true when it fired */
static int irq_wait(lua_State *L)
{
    unsigned n = check_attached(L, 1);
    uint16_t timeout = l4b_timeout(L, 2);
    struct rt_wait *w = rt_thread_wait_self();     /* not l4b_state: a registry lookup */
    unsigned code = L4_IPC_RCV_CANCELLED;
    if (rt_wait_begin(w)) {
        code = irq_receive(n, timeout, 0);
        rt_wait_end(w);
    }
    if (code != L4_IPC_OK)
        return l4b_fail(L, l4b_ipc_error(code), code);
    lua_pushboolean(L, 1);
    return 1;
}

/* l4.irq.detach(h | n) -> true */
static int irq_detach(lua_State *L)
{
    unsigned n = check_attached(L, 1);
    unsigned code = irq_receive(n, L4_TO_ZERO, L4_RCV_DETACH);
    forget(L, n);       /* the kernel's answer aside, the line is not ours now */
    if (code != L4_IPC_OK)
        return l4b_fail(L, "not attached", code);
    lua_pushboolean(L, 1);
    return 1;
}

/* l4.irq.grant(n, id | nil) -> true: from now on only threads of id's
 * task may attach line n (nil: any thread again); a thread of another
 * task attached to it loses it. The root task's (the device manager
 * hands a driver task its line): elsewhere nil, "not permitted", code. */
static int irq_grant(lua_State *L)
{
    unsigned n = (unsigned)l4b_checkrange(L, 1, 0, L4_NUM_IRQS - 1, "IRQ");
    uint64_t task = lua_isnoneornil(L, 2) ? 0 : L4_ID_TASK(l4b_checkid(L, 2));
    uint64_t r = l4_kdebug(L4_KDEBUG_IRQ_GRANT, n | task << 8, NULL, NULL);
    if (r == L4_EINVAL)
        return l4b_fail(L, "not attachable", (lua_Integer)r);
    if (r != L4_OK)
        return l4b_fail(L, l4b_sys_error(r), (lua_Integer)r);
    lua_pushboolean(L, 1);
    return 1;
}

/* __gc and __close: detach if still attached. */
static int irq_gc(lua_State *L)
{
    struct irq *h = luaL_checkudata(L, 1, L4B_IRQ);
    if (h->attached) {
        irq_receive(h->n, L4_TO_ZERO, L4_RCV_DETACH);
        h->attached = 0;
        l4b_state(L)->irqs &= (uint16_t)~(1u << h->n);
    }
    return 0;
}

static int irq_tostring(lua_State *L)
{
    struct irq *h = luaL_checkudata(L, 1, L4B_IRQ);
    lua_pushfstring(L, "irq %d (%s)", (int)h->n, h->attached ? "attached" : "detached");
    return 1;
}

static int irq_line(lua_State *L)
{
    lua_pushinteger(L, ((struct irq *)luaL_checkudata(L, 1, L4B_IRQ))->n);
    return 1;
}

int l4b_open_irq(lua_State *L)
{
    static const luaL_Reg meta[] = {
        { "__gc", irq_gc }, { "__close", irq_gc }, { "__tostring", irq_tostring },
        { NULL, NULL } };
    static const luaL_Reg methods[] = {
        { "wait", irq_wait }, { "detach", irq_detach }, { "line", irq_line }, { NULL, NULL } };
    static const luaL_Reg fns[] = {
        { "attach", irq_attach }, { "wait", irq_wait }, { "detach", irq_detach },
        { "grant", irq_grant }, { NULL, NULL } };
    l4b_class(L, L4B_IRQ, meta, methods);
    lua_newtable(L);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &irqs_key);
    l4b_subtable(L, "irq", fns);
    return 0;
}
