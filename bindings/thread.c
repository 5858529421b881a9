/* Threads of this task and its subclans (abi.md "thread_schedule and
 * thread_switch"): l4.thread.schedule, l4.thread.switch. Creating
 * threads (lthread_ex_regs with a Lua state on the new thread) is the
 * threads module's; ex_regs itself is not bound: from Lua there is no
 * code address or stack to give it. */
#include "l4b.h"

static const char *const state_names[] = {
    [L4_TS_INACTIVE] = "inactive", [L4_TS_READY] = "ready", [L4_TS_SENDING] = "sending",
    [L4_TS_RECEIVING] = "receiving", [L4_TS_STOPPED] = "stopped",
};

/* l4.thread.schedule(id, [prio], [timeslice_us]) -> old prio, timeslice
 * (us), consumed CPU time (us), state, partner (an id, l4.anythread for
 * an open receive, nil if not in IPC) */
static int thread_schedule(lua_State *L)
{
    uint64_t id = l4b_checkid(L, 1);
    uint64_t prio = lua_isnoneornil(L, 2) ? ~0ull
                  : (uint64_t)l4b_checkrange(L, 2, 0, 255, "priority");
    uint64_t slice = lua_isnoneornil(L, 3) ? ~0ull
                   : (uint64_t)l4b_checkrange(L, 3, 100, 10000000, "timeslice (us)");
    struct l4_sched_info old;
    uint64_t r = l4_thread_schedule(id, prio, slice, &old);
    if (r != L4_OK)
        return l4b_fail(L, l4b_sys_error(r), (lua_Integer)r);
    lua_pushinteger(L, (lua_Integer)old.prio);
    lua_pushinteger(L, (lua_Integer)old.timeslice_us);
    lua_pushinteger(L, (lua_Integer)old.cpu_us);
    lua_pushstring(L, old.state <= L4_TS_STOPPED ? state_names[old.state] : "unknown");
    if (old.partner == L4_NILTHREAD)
        lua_pushnil(L);
    else
        l4b_pushid(L, old.partner);
    return 5;
}

/* l4.thread.switch([id]): yield (nil) or donate the rest of the
 * timeslice to id. */
static int thread_switch(lua_State *L)
{
    uint64_t r = l4_thread_switch(l4b_optid(L, 1, L4_NILTHREAD));
    if (r != L4_OK)
        return l4b_fail(L, l4b_sys_error(r), (lua_Integer)r);
    lua_pushboolean(L, 1);
    return 1;
}

int l4b_open_thread(lua_State *L)
{
    static const luaL_Reg fns[] = {
        { "schedule", thread_schedule }, { "switch", thread_switch }, { NULL, NULL } };
    l4b_subtable(L, "thread", fns);
    return 0;
}
