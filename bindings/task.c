/* l4.task: Lua tasks, tasks that run the Lua runtime with a script of the
 * archive (docs/runtime.md "Lua tasks"; the pager behind them is
 * runtime/lua/pager.c, the task's side runtime/lua/child.c).
 *
 *   l4.task.spawn{script =, args =, memcap =, prio =, mcp =, pager =, chief =,
 *                 name =, io =} -> id
 *   l4.task.wait(id [, ms]) -> "exited", status | "failed", message
 *   l4.task.delete(id) -> pages given back
 *   l4.task.info(id) -> {id, name, state, status, message, pages, shared, copied,
 *                        heap, memcap}
 *   l4.task.list() -> {{id, name, state, pages, heap, memcap}, ...}
 *   l4.task.stats() -> {pool, free, reserved, tasks, text_pages, data_pages, records, arenas}
 *   l4.task.resolve(thread, addr, ip, access) -> fpage, send base (for Lua pagers)
 *   l4.task._probe([v]) -> a word of this task's .data (tests only)
 *   l4.task._fault(kind) -> in a Lua task or root thread, a fault (tests only)
 *
 * ids are the tasks' first threads (l4.id userdata). Expected failures
 * give nil, message, code (code: RT_TASK_* of rt.h); misuse raises. The
 * root's pager thread owns every Lua task; a Lua task's requests go to it
 * too, and it sees (waits for, deletes, lists) only the tasks it spawned. */
#include <stdlib.h>
#include <string.h>

#include "l4b.h"
#include "rt.h"

#define DEFAULT_MEMCAP (32ull << 20)

static int fail(lua_State *L, int code)
{
    return l4b_fail(L, rt_task_strerror(code), code);
}

/* An optional integer field of the table at 1, in [lo, hi]. */
static lua_Integer opt_field(lua_State *L, const char *k, lua_Integer def, lua_Integer lo,
                             lua_Integer hi)
{
    lua_Integer v = def;
    int isint = 0;
    if (lua_getfield(L, 1, k) != LUA_TNIL) {
        v = lua_tointegerx(L, -1, &isint);
        if (!isint || v < lo || v > hi)
            luaL_argerror(L, 1, lua_pushfstring(L, "field '%s' must be an integer from %I to %I",
                                                k, lo, hi));
    }
    lua_pop(L, 1);
    return v;
}

static void put_u32(luaL_Buffer *b, uint32_t v)
{
    luaL_addlstring(b, (const char *)&v, 4);
}

/* The spawn block's body (rt.h): the script's name, then the arguments,
 * from the table `args` (n = args.n or its raw length); pushed as a
 * string. */
static void make_body(lua_State *L, const char *script)
{
    int t = lua_getfield(L, 1, "args");
    if (t != LUA_TNIL && t != LUA_TTABLE)
        luaL_argerror(L, 1, "field 'args' must be a table");
    int args = lua_gettop(L);
    lua_Integer n = 0;
    if (t == LUA_TTABLE) {
        int isint = 0;
        lua_pushliteral(L, "n");
        lua_rawget(L, args);
        n = lua_tointegerx(L, -1, &isint);
        lua_pop(L, 1);
        if (!isint)
            n = (lua_Integer)lua_rawlen(L, args);
        if (n < 0 || n > 65536)
            luaL_argerror(L, 1, "field 'args' has too many values");
    }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addlstring(&b, script, strlen(script) + 1);
    put_u32(&b, (uint32_t)n);
    for (lua_Integer i = 1; i <= n; i++) {
        /* Raw reads: a string stays anchored in args while we copy it. */
        int vt = lua_rawgeti(L, args, i);
        const char *sv = NULL;
        size_t len = 0;
        lua_Integer iv = 0;
        double dv = 0;
        int isint = 0;
        if (vt == LUA_TSTRING) {
            sv = lua_tolstring(L, -1, &len);
        } else if (vt == LUA_TNUMBER) {
            isint = lua_isinteger(L, -1);
            iv = lua_tointeger(L, -1);
            dv = (double)lua_tonumber(L, -1);
        } else if (vt == LUA_TBOOLEAN) {
            iv = lua_toboolean(L, -1);
        } else if (vt != LUA_TNIL) {
            luaL_argerror(L, 1, lua_pushfstring(L, "args[%I] is a %s (only strings, numbers, "
                                                   "booleans and nil go to a task)",
                                                i, luaL_typename(L, -1)));
        }
        lua_pop(L, 1);      /* the buffer wants the stack as it left it */
        if (len > RT_ARGS_MAX)
            luaL_argerror(L, 1, "the arguments are too large");
        switch (vt) {
        case LUA_TSTRING:
            luaL_addchar(&b, 's');
            put_u32(&b, (uint32_t)len);
            luaL_addlstring(&b, sv, len);
            break;
        case LUA_TNUMBER:
            luaL_addchar(&b, isint ? 'i' : 'f');
            if (isint)
                luaL_addlstring(&b, (const char *)&iv, 8);
            else
                luaL_addlstring(&b, (const char *)&dv, 8);
            break;
        case LUA_TBOOLEAN:
            luaL_addchar(&b, 'b');
            luaL_addchar(&b, (char)iv);
            break;
        default:
            luaL_addchar(&b, 'n');
        }
    }
    luaL_pushresult(&b);
    lua_remove(L, args);
}

/* The option `io`: a list of {first_port, count} ranges. */
static void io_field(lua_State *L, struct rt_spawn *s)
{
    s->nio = 0;
    int t = lua_getfield(L, 1, "io");
    if (t != LUA_TNIL && t != LUA_TTABLE)
        luaL_argerror(L, 1, "field 'io' must be a list of {first_port, count}");
    lua_Integer n = t == LUA_TTABLE ? luaL_len(L, -1) : 0;
    if (n > RT_IO_MAX)
        luaL_argerror(L, 1, lua_pushfstring(L, "field 'io': at most %d port ranges", RT_IO_MAX));
    for (lua_Integer i = 1; i <= n; i++) {
        int isint1 = 0, isint2 = 0;
        if (lua_rawgeti(L, -1, i) != LUA_TTABLE)
            luaL_argerror(L, 1, lua_pushfstring(L, "io[%I] must be {first_port, count}", i));
        lua_rawgeti(L, -1, 1);
        lua_rawgeti(L, -2, 2);
        lua_Integer port = lua_tointegerx(L, -2, &isint1), count = lua_tointegerx(L, -1, &isint2);
        if (!isint1 || !isint2 || port < 0 || count < 1 || port + count > 0x10000)
            luaL_argerror(L, 1, lua_pushfstring(L, "io[%I]: ports must lie in 0-0xffff, "
                                                   "count at least 1", i));
        s->io[s->nio].port = (uint32_t)port;
        s->io[s->nio].count = (uint32_t)count;
        s->nio++;
        lua_pop(L, 3);
    }
    lua_pop(L, 1);
}

/* The options pager (an id, default the root's pager thread), chief
 * (only the root task: see docs/runtime.md "Spawn options") and name (a
 * string, default the script's name). */
static void id_fields(lua_State *L, struct rt_spawn *s, const char *script)
{
    s->pager = 0;
    if (lua_getfield(L, 1, "pager") != LUA_TNIL) {
        if (!luaL_testudata(L, -1, L4B_ID))
            luaL_argerror(L, 1, "field 'pager' must be a thread id");
        s->pager = l4b_checkid(L, lua_gettop(L));
    }
    lua_pop(L, 1);
    if (lua_getfield(L, 1, "chief") != LUA_TNIL) {
        if (!luaL_testudata(L, -1, L4B_ID))
            luaL_argerror(L, 1, "field 'chief' must be a thread id");
        if (L4_ID_TASK(l4b_checkid(L, lua_gettop(L))) != L4_ID_TASK(l4_kip()->root_task))
            luaL_argerror(L, 1, "field 'chief': the chief of a Lua task is the root task "
                                "(its pager thread creates every Lua task)");
    }
    lua_pop(L, 1);
    int t = lua_getfield(L, 1, "name");
    if (t != LUA_TNIL && t != LUA_TSTRING)
        luaL_argerror(L, 1, "field 'name' must be a string");
    s->name = t == LUA_TSTRING ? lua_tostring(L, -1) : script;
    if (strlen(s->name) >= RT_NAME_MAX)
        luaL_argerror(L, 1, lua_pushfstring(L, "field 'name': at most %d bytes", RT_NAME_MAX - 1));
    lua_replace(L, 2);      /* kept at 2 while s->name is used */
}

/* Whether the task will find its script where io.open and require find
 * files: in the archive, or in the file service (a script written or
 * pushed at run time; the task's runtime loads it from there). */
static int script_exists(const char *script)
{
    struct rt_file f;
    if (rt_archive_find(script, &f) == 0)
        return 1;
    if (!rt_files_up())
        return 0;
    char *data = NULL;
    size_t size = 0;
    int owned = 0;
    if (rt_files_read(script, 1, &data, &size, &owned) != 0)
        return 0;
    if (owned)
        free(data);
    return 1;
}

/* The id of a task just spawned could not be pushed: it must not run on
 * with no id to wait for or delete it by. */
static void delete_new(uint64_t id)
{
    uint64_t pages;
    rt_task_delete(id, &pages);
}

/* l4.task.spawn{script = name, args = {...}, memcap = bytes, prio = n,
 * mcp = n, pager = id, chief = id, name = string, io = {{port, count},
 * ...}}: a task running the script (a path in the archive) with the
 * arguments as `...`. memcap bounds its heap and its main Lua state
 * (default 32 MiB); prio defaults to the caller's, mcp to prio. Returns
 * its first thread's id. */
static int task_spawn(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    if (lua_getfield(L, 1, "script") != LUA_TSTRING)
        luaL_argerror(L, 1, "field 'script' must be a string (a path in the scripts archive)");
    const char *script = lua_tostring(L, -1);   /* stays on the stack (3) */
    lua_pushnil(L);
    lua_insert(L, 2);                           /* 2: the name */
    struct l4_sched_info self = { 0 };
    l4_thread_schedule(l4b_state(L)->utcb->myself, ~0ull, ~0ull, &self);
    struct rt_spawn s;
    memset(&s, 0, sizeof s);
    id_fields(L, &s, script);
    io_field(L, &s);
    s.memcap = (uint64_t)opt_field(L, "memcap", DEFAULT_MEMCAP, 1,
                                   (lua_Integer)(RT_HEAP_END - RT_HEAP_BASE));
    s.prio = (unsigned)opt_field(L, "prio", (lua_Integer)self.prio, 0, 255);
    s.mcp = (unsigned)opt_field(L, "mcp", s.prio, 0, 255);
    make_body(L, script);
    s.body = lua_tolstring(L, -1, &s.size);
    if (s.size > RT_ARGS_MAX - sizeof(struct rt_task_args))
        luaL_argerror(L, 1, "the arguments are too large");
    if (!script_exists(script)) {
        lua_pushnil(L);
        lua_pushfstring(L, "no script %s (in the file service or the archive)", script);
        lua_pushinteger(L, RT_TASK_EINVAL);
        return 3;
    }
    uint64_t id = 0;
    int r = rt_task_spawn(&s, &id);
    if (r)
        return fail(L, r);
    l4b_pushid_or_undo(L, id, delete_new);
    return 1;
}

static const char *state_name(unsigned state)
{
    return state == RT_TASK_RUNNING ? "running" : state == RT_TASK_EXITED ? "exited" : "failed";
}

/* l4.task.wait(id [, ms]): waits until the task ended (ms nil: for ever;
 * 0: just look): "exited", status or "failed", message; nil, "timeout",
 * code if it still runs. */
static int task_wait(lua_State *L)
{
    uint64_t id = l4b_checkid(L, 1);
    struct rt_task_info i;
    int r = rt_task_wait(id, l4b_timeout(L, 2), &i);
    if (r)
        return fail(L, r);
    lua_pushstring(L, state_name(i.state));
    if (i.state == RT_TASK_EXITED)
        lua_pushinteger(L, i.status);
    else
        lua_pushstring(L, i.msg);
    return 2;
}

/* l4.task.delete(id): deletes a running task, or forgets an ended one;
 * returns the pages it gave back (0 for an ended one). */
static int task_delete(lua_State *L)
{
    uint64_t pages = 0;
    int r = rt_task_delete(l4b_checkid(L, 1), &pages);
    if (r)
        return fail(L, r);
    lua_pushinteger(L, (lua_Integer)pages);
    return 1;
}

static void set_int(lua_State *L, const char *k, uint64_t v)
{
    lua_pushinteger(L, (lua_Integer)v);
    lua_setfield(L, -2, k);
}

/* The fields of an info table that list shows too. */
static void push_info(lua_State *L, const struct rt_task_info *i, int full)
{
    lua_createtable(L, 0, 10);
    l4b_pushid(L, i->id);
    lua_setfield(L, -2, "id");
    lua_pushstring(L, i->name);
    lua_setfield(L, -2, "name");
    lua_pushstring(L, state_name(i->state));
    lua_setfield(L, -2, "state");
    if (full && i->state != RT_TASK_RUNNING) {
        set_int(L, "status", (uint64_t)(int64_t)i->status);
        lua_pushstring(L, i->msg);
        lua_setfield(L, -2, "message");
    }
    set_int(L, "pages", i->pages);
    if (full) {
        set_int(L, "shared", i->shared);
        set_int(L, "copied", i->copied);
    }
    set_int(L, "heap", i->heap);
    set_int(L, "memcap", i->memcap);
}

/* l4.task.info(id): {id, name, state = "running" | "exited" | "failed",
 * status, message, pages (private, held or held at the end), shared
 * (pages of the root's mapped to it), copied (pages copied from the
 * image), heap (bytes granted), memcap}. */
static int task_info(lua_State *L)
{
    struct rt_task_info i;
    int r = rt_task_info(l4b_checkid(L, 1), &i);
    if (r)
        return fail(L, r);
    push_info(L, &i, 1);
    return 1;
}

/* l4.task.list(): {id, name, state, pages, heap, memcap} of every Lua
 * task the caller may see (the root: all; a Lua task: those it spawned),
 * running or ended and not yet forgotten, in slot order. */
static int task_list(lua_State *L)
{
    struct rt_task_info i;
    unsigned next = 0;
    lua_newtable(L);
    for (lua_Integer n = 1;; n++) {
        int r = rt_task_next(&next, &i);
        if (r == RT_TASK_ENOTASK)
            break;
        if (r)
            return fail(L, r);
        push_info(L, &i, 0);
        lua_rawseti(L, -2, n);
    }
    return 1;
}

/* l4.task.resolve(thread, addr, ip, access) -> fpage, send base: for a
 * pager of a Lua task other than the root's pager thread (spawn's
 * `pager`), a fault it does not serve itself: what the root's pager would
 * map (the task's text, data, heap, stacks), as an fpage of the root's
 * own pages; reply to the fault with fpage:map_item(base). A fault that
 * fails the task gives nil, "the fault failed the task", code (the task
 * is gone; l4.task.info tells why). Root only. */
static int task_resolve(lua_State *L)
{
    uint64_t thread = l4b_checkid(L, 1);
    uint64_t addr = (uint64_t)luaL_checkinteger(L, 2), ip = (uint64_t)luaL_checkinteger(L, 3);
    static const char *const access[] = { "r", "w", "x", NULL };
    int a = luaL_checkoption(L, 4, "r", access);
    uint64_t base, fpage;
    int r = rt_task_resolve(thread, (addr & ~7ull) | (a == 1 ? 2 : a == 2 ? 1 : 0), ip, &base,
                            &fpage);
    if (r)
        return fail(L, r);
    l4b_pushfpage(L, fpage);
    lua_pushinteger(L, (lua_Integer)base);
    return 2;
}

/* l4.task.stats(): the pager's pool in pages (pool: from sigma0, free,
 * reserved: promised to granted heaps), running tasks, the image's
 * pages that tasks share (text_pages) and copy (data_pages), and the
 * pager's own pages besides the pool (records: its table of the pool's
 * pages and the tasks' records), and the pool pages the root's Lua
 * states' arena chunks hold (arenas; the root's, in a task too). */
static int task_stats(lua_State *L)
{
    struct rt_task_stats s;
    int r = rt_task_stats(&s);
    if (r)
        return fail(L, r);
    lua_createtable(L, 0, 8);
    set_int(L, "pool", s.pool);
    set_int(L, "free", s.free);
    set_int(L, "reserved", s.reserved);
    set_int(L, "tasks", s.tasks);
    set_int(L, "text_pages", s.text_pages);
    set_int(L, "data_pages", s.data_pages);
    set_int(L, "records", s.records);
    set_int(L, "arenas", s.arenas);
    return 1;
}

/* A word of .data (initialised, so not .bss): a task must see this value
 * whatever the root wrote before spawning it, and its writes must not
 * reach the root. For tests/lua/tasks.lua. */
static lua_Integer probe = 0x5eed;

/* l4.task._probe([v]): the word; sets it to v if given. */
static int task_probe(lua_State *L)
{
    lua_Integer old = probe;
    if (!lua_isnoneornil(L, 1))
        probe = luaL_checkinteger(L, 1);
    lua_pushinteger(L, old);
    return 1;
}

/* C recursion without end (stop is never reached): a stack overflow. */
static int deep(unsigned n, volatile unsigned *stop)
{
    volatile char frame[4096];
    frame[0] = (char)n;
    if (n == *stop)
        return frame[0];
    return deep(n + 1, stop) + frame[0];
}

/* l4.task._fault(kind): a fault its pager ends it for: "write" (to its
 * read-only text), "stack" (C recursion past its stack), "exception" (an
 * invalid opcode). In a Lua task the task ends; in a Lua thread of the
 * root (not its main thread, which nothing would restart) that thread
 * alone is stopped as failed (runtime/lua/fault.c fault_own). For
 * tests/lua/tasks.lua and the crash matrix (tests/lua/comeback.lua). */
static int task_fault(lua_State *L)
{
    static const char *const kinds[] = { "write", "stack", "exception", NULL };
    int k = luaL_checkoption(L, 1, NULL, kinds);
    unsigned lt = rt_self_lthread();
    if (!rt_is_child() && (lt < RT_LT_FIRST || lt > RT_LT_LAST))
        return luaL_error(L, "l4.task._fault is for Lua tasks and Lua threads of the root only");
    volatile unsigned stop = ~0u;
    if (k == 0)
        *(volatile char *)(uintptr_t)&task_fault = 0;
    else if (k == 1)
        deep(0, &stop);
    else
        __asm__ volatile("ud2");
    return luaL_error(L, "no fault");
}

static const luaL_Reg task_fns[] = {
    { "spawn", task_spawn },
    { "wait", task_wait },
    { "delete", task_delete },
    { "info", task_info },
    { "list", task_list },
    { "resolve", task_resolve },
    { "stats", task_stats },
    { "_probe", task_probe },
    { "_fault", task_fault },
    { NULL, NULL },
};

int l4b_open_task(lua_State *L)
{
    l4b_subtable(L, "task", task_fns);
    return 0;
}
