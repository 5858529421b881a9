/* Threads of this task and its subclans (abi.md "thread_schedule and
 * thread_switch"): l4.thread.schedule, l4.thread.switch; and threads of
 * this task that run Lua (docs/runtime.md "Threads"): l4.thread.create,
 * kill, status, info, interrupt. A new thread gets a fresh Lua state
 * (with its own memory cap), prepared here in the creator (libraries,
 * the body loaded, the arguments copied) and run by the runtime
 * (runtime/lua/threads.c) on the new thread. ex_regs
 * itself is not bound: from Lua there is no code address or stack to
 * give it. */
#include <stdint.h>
#include <string.h>

#include "l4b.h"
#include "l4lib.h"
#include "rt.h"

#define STACK_DEFAULT (1u << 20)
#define STACK_MIN     (64u << 10)
#define STACK_MAX     RT_TSTACK_MAX

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

/* os.exit([code [, close]]) in a Lua thread: the thread is the program
 * of its state, so it ends, not the task (rt_thread_exit): "ended" for
 * true or 0 (the default), else "failed"; the state is closed either way.
 * At a REPL that ends the session (its console starts a new one). */
static int thread_os_exit(lua_State *L)
{
    int status = 0;
    if (lua_isboolean(L, 1))
        status = lua_toboolean(L, 1) ? 0 : 1;
    else
        status = (int)luaL_optinteger(L, 1, 0);
    rt_thread_exit(status == 0, status);
}

/* In the new state, under lua_pcall: source, is-a-script -> the body. */
static int thread_setup(lua_State *NL)
{
    size_t len;
    const char *src = lua_tolstring(NL, 1, &len);
    int script = lua_toboolean(NL, 2);
    l4b_openlibs(NL);
    lua_getglobal(NL, "os");
    lua_pushcfunction(NL, thread_os_exit);
    lua_setfield(NL, -2, "exit");
    lua_pop(NL, 1);
    int st = script ? luaL_loadfilex(NL, src, "t") : luaL_loadbufferx(NL, src, len, "=thread", "t");
    if (st != LUA_OK)
        return lua_error(NL);
    return 1;
}

/* Copies args[1..n] of the table at index t into NL: nil, booleans,
 * numbers, strings and thread ids; false (and NL's stack as it was) for
 * anything else, with *bad the index. */
static int copy_args(lua_State *L, int t, lua_State *NL, lua_Integer n, lua_Integer *bad)
{
    for (lua_Integer i = 1; i <= n; i++) {
        int ty = lua_geti(L, t, i);
        if (ty == LUA_TNIL) {
            lua_pushnil(NL);
        } else if (ty == LUA_TBOOLEAN) {
            lua_pushboolean(NL, lua_toboolean(L, -1));
        } else if (ty == LUA_TNUMBER && lua_isinteger(L, -1)) {
            lua_pushinteger(NL, lua_tointeger(L, -1));
        } else if (ty == LUA_TNUMBER) {
            lua_pushnumber(NL, lua_tonumber(L, -1));
        } else if (ty == LUA_TSTRING) {
            size_t len;
            const char *s = lua_tolstring(L, -1, &len);
            lua_pushlstring(NL, s, len);
        } else if (luaL_testudata(L, -1, L4B_ID)) {
            l4b_pushid(NL, l4b_checkid(L, lua_gettop(L)));
        } else {
            lua_pop(L, 1);
            lua_pop(NL, (int)(i - 1));
            *bad = i;
            return 0;
        }
        lua_pop(L, 1);
    }
    return 1;
}

/* An optional positive integer option of the table at 1, at most max. */
static lua_Integer opt_size(lua_State *L, const char *k, lua_Integer def, lua_Integer min,
                            lua_Integer max)
{
    lua_Integer v = def;
    if (lua_getfield(L, 1, k) != LUA_TNIL) {
        if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < min || lua_tointeger(L, -1) > max)
            luaL_argerror(L, 1, lua_pushfstring(L, "option '%s' must be %I to %I bytes", k, min,
                                                max));
        v = lua_tointeger(L, -1);
    }
    lua_pop(L, 1);
    return v;
}

/* The new thread's state while it is prepared: a box in the creator's
 * state made before the new state, so that an error raised in the
 * creator (an allocation that fails, a bad argument) can never leave the
 * new state with nobody to close it: the box's __gc closes it. Once the
 * thread runs, the state is the thread's and the box empty. */
#define NEWSTATE "l4.thread.newstate"
struct newstate {
    lua_State *NL;
};

static void newstate_close(struct newstate *b)
{
    if (b->NL)
        rt_lua_close(b->NL);
    b->NL = NULL;
}

static int newstate_gc(lua_State *L)
{
    newstate_close(luaL_checkudata(L, 1, NEWSTATE));
    return 0;
}

/* The id of a thread just started could not be pushed: it must not run
 * on with no id to reach it by. */
static void kill_new(uint64_t id)
{
    rt_thread_kill(id);
}

/* l4.thread.create{script = name | code = source, args = {...}, prio = n,
 * stack = bytes, memcap = bytes, keep_id = true, id = id} -> the new
 * thread's id. keep_id: when the thread ends its id is kept for a new
 * body (id = it), not given to another thread; id: run in that ended
 * kept thread, under its id (a restarted pager keeps the id its tasks
 * have as their pager). */
static int thread_create(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    int ts = lua_getfield(L, 1, "script"), tc = lua_getfield(L, 1, "code");
    if ((ts == LUA_TNIL) == (tc == LUA_TNIL) || (ts != LUA_TNIL && ts != LUA_TSTRING) ||
        (tc != LUA_TNIL && tc != LUA_TSTRING))
        return luaL_argerror(L, 1, "give either 'script' (a name) or 'code' (a string)");
    int script = ts != LUA_TNIL;
    int src = lua_gettop(L) - (script ? 1 : 0);
    int ta = lua_getfield(L, 1, "args");
    int args = lua_gettop(L);
    if (ta != LUA_TNIL && ta != LUA_TTABLE)
        return luaL_argerror(L, 1, "option 'args' must be a table");
    lua_Integer nargs = ta == LUA_TTABLE ? luaL_len(L, args) : 0;
    if (nargs < 0 || nargs > 200)
        return luaL_argerror(L, 1, "option 'args': at most 200 arguments");
    int prio = -1;
    if (lua_getfield(L, 1, "prio") != LUA_TNIL) {
        if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 0 || lua_tointeger(L, -1) > 255)
            return luaL_argerror(L, 1, "option 'prio' must be an integer 0-255");
        prio = (int)lua_tointeger(L, -1);
    }
    lua_pop(L, 1);
    lua_getfield(L, 1, "keep_id");
    int keep = lua_toboolean(L, -1);
    lua_pop(L, 1);
    uint64_t in = 0;
    if (lua_getfield(L, 1, "id") != LUA_TNIL) {
        if (!luaL_testudata(L, -1, L4B_ID))
            return luaL_argerror(L, 1, "option 'id' must be a thread id");
        in = l4b_checkid(L, lua_gettop(L));
    }
    lua_pop(L, 1);
    size_t stack = (size_t)opt_size(L, "stack", STACK_DEFAULT, STACK_MIN, STACK_MAX);
    /* 0: no cap of its own (the task's memory cap still bounds it) */
    size_t memcap = (size_t)opt_size(L, "memcap", 0, 0, INT64_MAX);
    /* The cap applies once the state is ready: the setup below pushes
     * into NL outside a pcall, where a refused allocation would panic. */
    struct newstate *box = lua_newuserdatauv(L, sizeof *box, 0);
    box->NL = NULL;
    luaL_setmetatable(L, NEWSTATE);
    lua_State *NL = box->NL = rt_lua_newstate(SIZE_MAX);
    if (!NL)
        return l4b_fail(L, "not enough memory", L4_ENOMEM);
    lua_pushcfunction(NL, rt_lua_msghandler);
    lua_pushcfunction(NL, thread_setup);
    size_t len;
    const char *s = lua_tolstring(L, src, &len);
    lua_pushlstring(NL, s, len);
    lua_pushboolean(NL, script);
    int st = lua_pcall(NL, 2, 1, 0);
    if (st != LUA_OK) {     /* a body that does not compile, or a cap too small */
        const char *msg = lua_tostring(NL, -1);
        lua_pushstring(L, msg ? msg : "cannot load the thread's body");
        newstate_close(box);
        lua_pushnil(L);
        lua_insert(L, -2);
        lua_pushinteger(L, st == LUA_ERRMEM ? L4_ENOMEM : L4_EINVAL);
        return 3;
    }
    lua_Integer bad = 0;
    if (!copy_args(L, args, NL, nargs, &bad)) {
        newstate_close(box);
        return luaL_error(L, "bad argument #1 to 'create' (args[%d]: only nil, booleans, "
                             "numbers, strings and thread ids can go to a thread)", (int)bad);
    }
    if (memcap && !rt_lua_setcap(NL, memcap)) {
        newstate_close(box);
        return l4b_fail(L, "not enough memory", L4_ENOMEM);    /* the libraries need more */
    }
    /* The lthread last: nothing below raises an error in L, so a reserved
     * one is always started or given back (rt_thread_start). Its UTCB is
     * where NL's IPC goes (no allocation in NL: its cap is set). */
    int lt = rt_thread_reserve(in, keep);
    if (lt < 0) {
        newstate_close(box);
        if (lt == -2)
            return l4b_fail(L, "the thread of option 'id' still runs", L4_EBUSY);
        if (lt == -3)
            return l4b_fail(L, "option 'id' is no ended thread of this task made with keep_id",
                            L4_EINVAL);
        return l4b_fail(L, "too many threads running (at most 252 in a task)", L4_EBUSY);
    }
    l4b_set_lthread(NL, (unsigned)lt);
    uint64_t id = 0;
    int r = rt_thread_start((unsigned)lt, NL, (int)nargs, stack, prio, &id);
    if (r != L4_OK) {
        newstate_close(box);
        return l4b_fail(L, r == L4_ENOMEM ? "not enough memory" : l4b_sys_error((uint64_t)r), r);
    }
    box->NL = NULL;         /* the thread's now: it closes it */
    l4b_pushid_or_undo(L, id, kill_new);
    return 1;
}

/* l4.thread.kill(id) -> true */
static int thread_kill(lua_State *L)
{
    int r = rt_thread_kill(l4b_checkid(L, 1));
    if (r == L4_ENOTHREAD)
        return l4b_fail(L, "not a Lua thread of this task", r);
    if (r == L4_EINVAL)
        return l4b_fail(L, "a thread cannot kill itself", r);
    if (r != L4_OK)
        return l4b_fail(L, l4b_sys_error((uint64_t)r), r);
    lua_pushboolean(L, 1);
    return 1;
}

/* l4.thread.interrupt(id [, message]) -> true: the thread (the main
 * thread too) raises a Lua error with the message (default
 * "interrupted") at its next Lua instruction. */
static int thread_interrupt(lua_State *L)
{
    uint64_t id = l4b_checkid(L, 1);
    const char *why = luaL_optstring(L, 2, "interrupted");
    int r = rt_thread_interrupt(id, why);
    if (r == L4_ENOTHREAD)
        return l4b_fail(L, "not a Lua thread of this task", r);
    if (r == L4_EINVAL)
        return l4b_fail(L, "the thread has ended", r);
    lua_pushboolean(L, 1);
    return 1;
}

/* l4.thread.info(id) -> {state =, memory = bytes, memcap = bytes | nil,
 * stack = bytes | nil} of a Lua thread of this task or the main thread */
static int thread_info(lua_State *L)
{
    struct rt_thread_info i;
    if (rt_thread_info(l4b_checkid(L, 1), &i) != L4_OK)
        return l4b_fail(L, "not a Lua thread of this task", L4_ENOTHREAD);
    lua_createtable(L, 0, 4);
    lua_pushstring(L, i.state);
    lua_setfield(L, -2, "state");
    lua_pushinteger(L, (lua_Integer)i.memory);
    lua_setfield(L, -2, "memory");
    if (i.memcap) {
        lua_pushinteger(L, (lua_Integer)i.memcap);
        lua_setfield(L, -2, "memcap");
    }
    if (i.stack) {
        lua_pushinteger(L, (lua_Integer)i.stack);
        lua_setfield(L, -2, "stack");
    }
    return 1;
}

/* l4.thread.status(id) -> "running" | "ended" | "failed" | "killed" */
static int thread_status(lua_State *L)
{
    const char *st = rt_thread_status(l4b_checkid(L, 1));
    if (!st)
        return l4b_fail(L, "not a Lua thread of this task", L4_ENOTHREAD);
    lua_pushstring(L, st);
    return 1;
}

int l4b_open_thread(lua_State *L)
{
    static const luaL_Reg fns[] = {
        { "schedule", thread_schedule }, { "switch", thread_switch },
        { "create", thread_create }, { "kill", thread_kill }, { "status", thread_status },
        { "info", thread_info }, { "interrupt", thread_interrupt },
        { NULL, NULL } };
    static const luaL_Reg box_meta[] = { { "__gc", newstate_gc }, { NULL, NULL } };
    l4b_class(L, NEWSTATE, box_meta, NULL);
    l4b_subtable(L, "thread", fns);
    return 0;
}
