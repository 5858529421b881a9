/* l4.sys: the system as the shell shows it (docs/lua-api.md "System"):
 * the kernel's threads and interrupt lines, its log, and who is the
 * console. Threads, lines and the log come from the kernel's debug call
 * (abi.h L4_KDEBUG_THREAD_INFO...), which only the root task may make:
 * elsewhere these return nil, "not permitted", code. */
#include <stdio.h>
#include <stdlib.h>

#include "keeper.h"
#include "l4b.h"
#include "rt.h"

static int denied(lua_State *L, uint64_t r)
{
    return l4b_fail(L, l4b_sys_error(r), (lua_Integer)r);
}

static void set_int(lua_State *L, const char *k, uint64_t v)
{
    lua_pushinteger(L, (lua_Integer)v);
    lua_setfield(L, -2, k);
}

/* l4.sys.threads() -> { {id, task, lthread, state, prio, cpu_ms, partner,
 * pager}, ... } in the order of task and lthread */
static int sys_threads(lua_State *L)
{
    static const char *const states[] = { "inactive", "ready", "send", "receive", "stopped" };
    lua_newtable(L);
    uint64_t a[6] = { L4_KDEBUG_THREAD_INFO, 0 };
    for (int n = 1;; n++) {
        a[0] = L4_KDEBUG_THREAD_INFO;
        uint64_t r = l4_syscall6(L4_SYS_KDEBUG, a);
        if (r != L4_OK)
            return denied(L, r);
        if (a[1] == 0)
            return 1;
        unsigned st = (unsigned)(a[2] & 0xff);
        lua_createtable(L, 0, 8);
        l4b_pushid(L, a[1]);
        lua_setfield(L, -2, "id");
        set_int(L, "task", L4_ID_TASK(a[1]));
        set_int(L, "lthread", L4_ID_LTHREAD(a[1]));
        lua_pushstring(L, st < 5 ? states[st] : "?");
        lua_setfield(L, -2, "state");
        set_int(L, "prio", (a[2] >> 8) & 0xff);
        set_int(L, "cpu_ms", a[3] / 1000);
        if (a[4] != L4_NILTHREAD) {
            l4b_pushid(L, a[4]);
            lua_setfield(L, -2, "partner");
        }
        if (a[5] != L4_NILTHREAD) {
            l4b_pushid(L, a[5]);
            lua_setfield(L, -2, "pager");
        }
        lua_rawseti(L, -2, n);
    }
}

/* l4.sys.irqs() -> { {line, owner, count}, ... } of the attached lines */
static int sys_irqs(lua_State *L)
{
    lua_newtable(L);
    int n = 0;
    for (unsigned line = 0; line < L4_NUM_IRQS; line++) {
        uint64_t owner = 0, count = 0;
        uint64_t r = l4_kdebug(L4_KDEBUG_IRQ_INFO, line, &owner, &count);
        if (r != L4_OK)
            return denied(L, r);
        if (owner == L4_NILTHREAD)
            continue;
        lua_createtable(L, 0, 3);
        set_int(L, "line", line);
        l4b_pushid(L, owner);
        lua_setfield(L, -2, "owner");
        set_int(L, "count", count);
        lua_rawseti(L, -2, ++n);
    }
    return 1;
}

/* l4.sys.kmem() -> bytes of the kernel's pool used, its size */
static int sys_kmem(lua_State *L)
{
    uint64_t used = 0, limit = 0;
    l4_kdebug(L4_KDEBUG_KMEM, 0, &used, &limit);
    lua_pushinteger(L, (lua_Integer)(used * 4096));
    lua_pushinteger(L, (lua_Integer)(limit * 4096));
    return 2;
}

/* l4.sys.heap() -> bytes of this task's heap (the one malloc heap of all
 * its Lua states): mapped (from sigma0; in a Lua task, granted by the
 * root's pager), and of that taken by malloc (neither ever shrinks); then,
 * in the root, of what malloc gave: the bytes its Lua states' arenas hold,
 * and the spare chunks kept for the next states (0 and 0 in a task); last
 * newlib's FILEs: how many it has made, how many are in use. */
static int sys_heap(lua_State *L)
{
    uint64_t mapped, taken, held, spare;
    unsigned made, used;
    rt_heap_size(&mapped, &taken);
    rt_arena_figures(&held, &spare);
    rt_streams(&made, &used);
    lua_pushinteger(L, (lua_Integer)mapped);
    lua_pushinteger(L, (lua_Integer)taken);
    lua_pushinteger(L, (lua_Integer)held);
    lua_pushinteger(L, (lua_Integer)spare);
    lua_pushinteger(L, made);
    lua_pushinteger(L, used);
    return 6;
}

/* l4.sys.klog([pos]) -> the kernel log's bytes from pos (bytes since
 * boot; 0 or nil: the oldest kept), the position after them */
static int sys_klog(lua_State *L)
{
    uint64_t pos = (uint64_t)luaL_optinteger(L, 1, 0);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (;;) {
        uint64_t a[6] = { L4_KDEBUG_KLOG, pos };
        uint64_t r = l4_syscall6(L4_SYS_KDEBUG, a);
        if (r != L4_OK)
            return denied(L, r);
        if (a[0] == 0 || a[0] > 32)
            break;
        luaL_addlstring(&b, (const char *)&a[2], a[0]);
        pos = a[1];
    }
    luaL_pushresult(&b);
    lua_pushinteger(L, (lua_Integer)pos);
    return 2;
}

/* l4.sys.release_serial(bool): true: the UART driver owns COM1, the
 * kernel writes its log to the ring only (root task only) */
static int sys_release_serial(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TBOOLEAN);
    uint64_t r = l4_kdebug(L4_KDEBUG_CONSOLE, (uint64_t)lua_toboolean(L, 1), NULL, NULL);
    if (r != L4_OK)
        return denied(L, r);
    lua_pushboolean(L, 1);
    return 1;
}

/* l4.sys.set_console(id | nil [, "thread"]): where this task's stdout and
 * stderr go (the console server; nil: the kernel's debug output); tasks
 * spawned later inherit it. With "thread": this Lua thread's output only
 * (nil: back to the task's). l4.sys.console() -> where this thread's
 * output goes: the id, or nil */
static int sys_set_console(lua_State *L)
{
    static const char *const scopes[] = { "task", "thread", NULL };
    uint64_t id = lua_isnoneornil(L, 1) ? 0 : l4b_checkid(L, 1);
    int thread = luaL_checkoption(L, 2, "task", scopes);
    fflush(NULL);       /* what was buffered goes where it was meant to */
    if (thread)
        rt_console_set_thread(id);
    else
        rt_console_id = id;
    lua_pushboolean(L, 1);
    return 1;
}

static int sys_console(lua_State *L)
{
    uint64_t id = rt_console_current();
    if (!id)
        return 0;
    l4b_pushid(L, id);
    return 1;
}

/* l4.sys.set_files(id | nil): the file service (scripts/files.lua) this
 * task's io.open, os.remove and os.rename use, and that tasks spawned
 * later inherit; nil: none (the archive, read-only). l4.sys.files() ->
 * its id, or nothing. */
static int sys_set_files(lua_State *L)
{
    rt_files_id = lua_isnoneornil(L, 1) ? 0 : l4b_checkid(L, 1);
    lua_pushboolean(L, 1);
    return 1;
}

static int sys_files(lua_State *L)
{
    if (!rt_files_id)
        return 0;
    l4b_pushid(L, rt_files_id);
    return 1;
}

/* l4.sys.set_names(id | nil): the name service the root knows (root
 * only: what "where" answers a task that lost its name service).
 * l4.sys.names() -> its id, or nothing. */
static int sys_set_names(lua_State *L)
{
    if (rt_is_child())
        return l4b_fail(L, "not permitted: only the root task names the name service",
                        L4_EPERM);
    rt_names_id = lua_isnoneornil(L, 1) ? 0 : l4b_checkid(L, 1);
    lua_pushboolean(L, 1);
    return 1;
}

static int sys_names(lua_State *L)
{
    uint64_t names, files, console;
    if (rt_where(&names, &files, &console) != KEEP_OK || !names)
        return 0;
    l4b_pushid(L, names);
    return 1;
}

static void set_id(lua_State *L, const char *k, uint64_t id)
{
    if (!id)
        return;
    l4b_pushid(L, id);
    lua_setfield(L, -2, k);
}

/* l4.sys.where() -> {names = id, files = id, console = id} (those there
 * are): the core components now, as the root knows them (a task asks the
 * root's pager thread); nil, message if it cannot be asked. */
static int sys_where(lua_State *L)
{
    uint64_t names, files, console;
    if (rt_where(&names, &files, &console) != KEEP_OK)
        return l4b_fail(L, "the root's pager thread does not answer", KEEP_EIPC);
    lua_createtable(L, 0, 3);
    set_id(L, "names", names);
    set_id(L, "files", files);
    set_id(L, "console", console);
    return 1;
}

/* ---- the store (keeper.h): blobs that outlive the task that keeps them ---- */

static int store_fail(lua_State *L, int r)
{
    static const char *const why[] = {
        [KEEP_ENOENT] = "no such key in the store",
        [KEEP_ENOSPC] = "the store is full",
        [KEEP_EINVAL] = "the store refused the request (a key is 1 to 1024 bytes; "
                        "only the root and the tasks it spawned have a store)",
        [KEEP_EPERM] = "not permitted",
        [KEEP_EIPC] = "the root's pager thread does not answer",
    };
    return l4b_fail(L, r > 0 && r <= KEEP_EIPC ? why[r] : "the store failed", r);
}

/* A malloc'd buffer in a box made first (liolib's newprefile order): an
 * error raised while it is held (an allocation that fails) leaves it to
 * the box's __gc, not lost. Freed at once when done, so that a large
 * buffer is not garbage waiting for a collection. */
#define CBUF "l4.sys.buffer"
struct cbuf {
    char *p;
};

static int cbuf_gc(lua_State *L)
{
    struct cbuf *b = luaL_checkudata(L, 1, CBUF);
    free(b->p);
    b->p = NULL;
    return 0;
}

static char *cbuf_new(lua_State *L, size_t n)
{
    struct cbuf *b = lua_newuserdatauv(L, sizeof *b, 0);
    b->p = NULL;
    luaL_setmetatable(L, CBUF);
    if (!(b->p = malloc(n)))
        luaL_error(L, "not enough memory");
    return b->p;
}

static void cbuf_free(lua_State *L, int idx)
{
    struct cbuf *b = lua_touserdata(L, idx);
    free(b->p);
    b->p = NULL;
}

/* l4.sys.store_put(key, data) -> true: kept whole under key (a task's
 * keys are its own: under its name) */
static int sys_store_put(lua_State *L)
{
    size_t klen, n;
    const char *key = luaL_checklstring(L, 1, &klen);
    const char *data = luaL_checklstring(L, 2, &n);
    int r = rt_keep_put(key, klen, data, n);
    if (r != KEEP_OK)
        return store_fail(L, r);
    lua_pushboolean(L, 1);
    return 1;
}

/* l4.sys.store_get(key) -> data | nil, message, code */
static int sys_store_get(lua_State *L)
{
    size_t klen, got = 0;
    const char *key = luaL_checklstring(L, 1, &klen);
    char *buf = cbuf_new(L, KEEP_CHUNK);
    int box = lua_gettop(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    uint64_t off = 0, size = 0;
    int r;
    do {
        r = rt_keep_get(key, klen, off, buf, KEEP_CHUNK, &got, &size);
        if (r == KEEP_OK)
            luaL_addlstring(&b, buf, got);
        off += got;
    } while (r == KEEP_OK && got > 0 && off < size);
    cbuf_free(L, box);
    if (r != KEEP_OK)
        return store_fail(L, r);
    luaL_pushresult(&b);
    return 1;
}

/* l4.sys.store_remove(key) -> true | nil, message, code */
static int sys_store_remove(lua_State *L)
{
    size_t klen;
    const char *key = luaL_checklstring(L, 1, &klen);
    int r = rt_keep_del(key, klen);
    if (r != KEEP_OK)
        return store_fail(L, r);
    lua_pushboolean(L, 1);
    return 1;
}

/* l4.sys.store_list([prefix]) -> {[key] = bytes, ...} */
static int sys_store_list(lua_State *L)
{
    size_t plen = 0, klen = 0;
    const char *prefix = luaL_optlstring(L, 1, "", &plen);
    char *key = cbuf_new(L, RT_NAME_MAX + KEEP_KEY_MAX + 1);
    int box = lua_gettop(L);
    lua_newtable(L);
    uint64_t next = 0, size = 0;
    int r;
    while ((r = rt_keep_list(&next, prefix, plen, key, RT_NAME_MAX + KEEP_KEY_MAX + 1, &klen,
                             &size)) == KEEP_OK) {
        lua_pushlstring(L, key, klen);
        lua_pushinteger(L, (lua_Integer)size);
        lua_rawset(L, -3);
    }
    cbuf_free(L, box);
    if (r != KEEP_ENOENT)
        return store_fail(L, r);
    return 1;
}

static void add_name(const char *name, size_t len, size_t size, void *arg)
{
    lua_State *L = arg;
    lua_pushlstring(L, name, len);
    lua_pushinteger(L, (lua_Integer)size);
    lua_rawset(L, -3);
}

/* l4.sys.archive() -> {[name] = size, ...}: the files of the scripts
 * archive (the file service lists and stats them). */
static int sys_archive(lua_State *L)
{
    lua_newtable(L);
    rt_archive_each(add_name, L);
    return 1;
}

int l4b_open_sys(lua_State *L)
{
    static const luaL_Reg fns[] = {
        { "threads", sys_threads }, { "irqs", sys_irqs }, { "kmem", sys_kmem },
        { "heap", sys_heap },
        { "klog", sys_klog }, { "release_serial", sys_release_serial },
        { "set_console", sys_set_console }, { "console", sys_console },
        { "set_files", sys_set_files }, { "files", sys_files }, { "archive", sys_archive },
        { "set_names", sys_set_names }, { "names", sys_names }, { "where", sys_where },
        { "store_put", sys_store_put }, { "store_get", sys_store_get },
        { "store_remove", sys_store_remove }, { "store_list", sys_store_list },
        { NULL, NULL } };
    static const luaL_Reg cbuf_meta[] = { { "__gc", cbuf_gc }, { NULL, NULL } };
    l4b_class(L, CBUF, cbuf_meta, NULL);
    l4b_subtable(L, "sys", fns);
    return 0;
}
