/* The Lua root task: one Lua state with the standard libraries and LPeg,
 * whose modules come from the scripts archive; it runs init.lua (the boot
 * plan) from there. When the archive has a rescue plan (rescue.lua: the
 * system's archive has one, the test boots' do not), no failure of the
 * boot plan ends the system: an error, or a plan not done by its deadline,
 * starts the rescue plan in a fresh state (docs/recovery.md). Without one,
 * an error prints a traceback and ends the system (status 1). When the
 * plans return, the task idles.
 * A Lua task the root spawned runs the same image and comes here too: it
 * runs the script its spawn block names instead (task_main). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lauxlib.h"
#include "lua.h"
#include "l4lib.h"
#include "rt.h"
#include "l4/syscalls.h"

uint64_t rt_boot_flags;

/* ---- the boot plan and the rescue plan (docs/recovery.md) ---- */

#define BOOT_DEADLINE_US (8 * 1000000ull)  /* guest time the plan has to be done */
#define HOOK_COUNT 100000                   /* VM instructions between looks at the clock */
#define KEY_WINDOW_US 1000000ull            /* a key typed this soon after boot: safe mode */
#define COM1 0x3f8
#define COM1_LSR (COM1 + 5)
#define LSR_DR 0x01                         /* a received byte is waiting */

static uint64_t deadline_us;
static int plan_late;       /* the deadline hook stopped the plan */

/* The boot plan's deadline: a count hook on the main thread's state,
 * which the plan clears with debug.sethook() once the prompt is up. */
static void deadline_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    if (l4_kip()->clock_us < deadline_us)
        return;
    lua_sethook(L, NULL, 0, 0);
    plan_late = 1;
    luaL_error(L, "the boot plan was not done %d s after it started (a runaway loop?)",
               (int)(BOOT_DEADLINE_US / 1000000));
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

/* A key typed on COM1 in the first second after boot, still in the
 * UART's FIFO (the kernel writes COM1 but never reads it; the console
 * driver empties the FIFO when it starts, after this). Waits for the rest
 * of that second only when there are user scripts to leave out, so a
 * boot without them reaches its prompt as fast as before. The ports are
 * taken from sigma0 here (the console driver gets them from the root
 * later, as usual). The keys are read, so the REPL does not see them. */
static int early_key(void)
{
    uint64_t r = rt_sigma0_ioports(COM1, 3);
    if (r != L4_SIGMA0_OK && r != L4_SIGMA0_ETAKEN)
        return 0;
    int got = 0;
    for (;;) {
        while (inb(COM1_LSR) & LSR_DR) {
            inb(COM1);
            got = 1;
        }
        if (got || l4_kip()->clock_us >= KEY_WINDOW_US)
            return got;
        struct l4_msg m = { 0 };    /* 10 ms: a receive from nil that times out */
        l4_ipc(L4_NILTHREAD, L4_NODESC, 0, L4_TIMEOUTS(0, L4_TO(625, 4), 0, 0), &m, 0);
    }
}

static const char *safe_why;    /* NULL: a normal boot */
static int have_rescue;         /* the archive has rescue.lua: the system's */

/* Why this boot is in safe mode, or NULL. A test boot's archive (no
 * rescue plan) never has COM1 looked at: its tests take the ports. */
static const char *safe_reason(void)
{
    if (l4_kip()->flags & L4_KIP_SAFE_MODE)
        return "the kernel command line has safe=1";
    if (have_rescue && rt_user_files() && early_key())
        return "a key was typed on COM1 during the first second";
    return NULL;
}

/* Runs under lua_pcall, so that errors anywhere, also while opening the
 * libraries, reach msghandler rather than the panic function. init.lua
 * gets the boot's mode: "normal", or "safe" and why. */
static int pmain(lua_State *L)
{
    l4b_openlibs(L);
    lua_createtable(L, 0, 1);   /* arg[0], as the stock interpreter sets it */
    lua_pushliteral(L, "init.lua");
    lua_rawseti(L, -2, 0);
    lua_setglobal(L, "arg");
    if (luaL_loadfile(L, "init.lua") != LUA_OK)
        return lua_error(L);
    lua_pushstring(L, safe_why ? "safe" : "normal");
    lua_pushstring(L, safe_why);
    if (have_rescue) {
        deadline_us = l4_kip()->clock_us + BOOT_DEADLINE_US;
        lua_sethook(L, deadline_hook, LUA_MASKCOUNT, HOOK_COUNT);
    }
    lua_call(L, 2, 0);
    if (lua_gethook(L) == deadline_hook)
        return luaL_error(L, "the boot plan ended before it was done (no console?)");
    return 0;
}

/* The rescue plan, in a fresh state: rescue.lua gets the boot plan's
 * error (with its traceback) and the boot's mode. */
static int rescue_pmain(lua_State *L)
{
    const char *why = lua_tostring(L, 1);
    l4b_openlibs(L);
    if (luaL_loadfile(L, "rescue.lua") != LUA_OK)
        return lua_error(L);
    lua_pushstring(L, why);
    lua_pushstring(L, safe_why ? "safe" : "normal");
    lua_pushboolean(L, plan_late);
    lua_call(L, 3, 0);
    return 0;
}

/* The boot plan failed with msg: the rescue plan runs in a new state (the
 * old one may be full, or hold a broken module) and leaves the user's
 * scripts out, here and in what it starts. If even that fails, the kernel
 * takes the serial line back so that its messages are seen. */
static void rescue(lua_State *old, const char *msg)
{
    char *why = strdup(msg ? msg : "(error object is not a string)");
    rt_boot_flags |= RT_BOOT_NO_USER;
    lua_State *L = why ? rt_lua_newstate(SIZE_MAX) : NULL;
    if (L == NULL) {
        l4_kdebug(L4_KDEBUG_CONSOLE, 0, NULL, NULL);
        rt_console_id = 0;
        fprintf(stderr, "lua-root: %s\nlua-root: no memory for the rescue plan\n", msg);
        free(why);
        return;
    }
    rt_thread_main(L);      /* before the old state goes: interrupts find this one */
    rt_lua_close(old);
    rt_files_id = 0;        /* the archive itself: rescue.lua asks the file service again */
    lua_pushcfunction(L, rt_lua_msghandler);
    lua_pushcfunction(L, rescue_pmain);
    lua_pushstring(L, why);
    free(why);
    if (lua_pcall(L, 1, 0, 1) != LUA_OK) {
        l4_kdebug(L4_KDEBUG_CONSOLE, 0, NULL, NULL);
        rt_console_id = 0;
        fprintf(stderr, "lua-root: the rescue plan failed too: %s\n", lua_tostring(L, -1));
    }
}

/* ---- a Lua task (docs/runtime.md "Lua tasks") ---- */

/* Pushes the values of the spawn block's body after the script's name
 * (format in rt.h); returns how many. */
static int push_args(lua_State *L, const unsigned char *p, const unsigned char *end)
{
    uint32_t n = 0;
    if (end - p < 4)
        luaL_error(L, "malformed spawn block");
    memcpy(&n, p, 4);
    p += 4;
    luaL_checkstack(L, (int)(n < 1000000 ? n : 1000000) + 2, "too many arguments");
    for (uint32_t i = 0; i < n; i++) {
        uint32_t len = 0;
        uint64_t v = 0;
        char type = p < end ? (char)*p++ : 0;
        size_t need = type == 's' ? 4 : type == 'i' || type == 'f' ? 8 : type == 'b' ? 1 : 0;
        if (type != 's' && type != 'i' && type != 'f' && type != 'b' && type != 'n')
            luaL_error(L, "malformed spawn block");
        if ((size_t)(end - p) < need)
            luaL_error(L, "malformed spawn block");
        memcpy(type == 's' ? (void *)&len : (void *)&v, p, need);
        p += need;
        if (type == 's') {
            if ((size_t)(end - p) < len)
                luaL_error(L, "malformed spawn block");
            lua_pushlstring(L, (const char *)p, len);
            p += len;
        } else if (type == 'i') {
            lua_pushinteger(L, (lua_Integer)v);
        } else if (type == 'f') {
            double d;
            memcpy(&d, &v, sizeof d);
            lua_pushnumber(L, d);
        } else if (type == 'b') {
            lua_pushboolean(L, v != 0);
        } else {
            lua_pushnil(L);
        }
    }
    return (int)n;
}

/* Runs the script with the arguments as `...` and in `arg` (arg[0] the
 * script's name, as the stock interpreter does). */
static int task_pmain(lua_State *L)
{
    const struct rt_task_args *a = rt_task_args();
    const unsigned char *body = a->body, *end = body + a->size;
    const char *script = (const char *)body;
    size_t len = strnlen(script, a->size);
    if (len == a->size)
        return luaL_error(L, "malformed spawn block");
    l4b_openlibs(L);
    int n = push_args(L, body + len + 1, end);
    lua_createtable(L, n, 1);
    lua_pushstring(L, script);
    lua_rawseti(L, -2, 0);
    for (int i = 1; i <= n; i++) {
        lua_pushvalue(L, -1 - n - 1 + i);
        lua_rawseti(L, -2, i);
    }
    lua_setglobal(L, "arg");
    if (luaL_loadfile(L, script) != LUA_OK)
        return lua_error(L);
    lua_insert(L, -n - 1);
    lua_call(L, n, 0);
    return 0;
}

/* A Lua task: no RTC (the root keeps the ports; the spawn block has the
 * root's time of boot), no sigma0 (its pager is the root's). An error
 * ends it as failed, with the message and traceback; the end of the
 * script or os.exit as exited (crt0's exit, then _exit: child.c). */
static int task_main(void)
{
    const struct rt_task_args *a = rt_task_args();
    if (a->magic != RT_ARGS_MAGIC)
        rt_child_exit(1, "no spawn block");
    rt_clock_set_epoch(a->epoch_us);
    rt_boot_flags = a->flags;
    rt_console_id = a->console;
    rt_files_id = a->files;
    if (a->nio && rt_child_io() < 0)
        rt_child_exit(1, "cannot get the I/O ports it was given");
    rt_archive_init();
    lua_State *L = rt_lua_newstate(a->memcap);     /* the spawn's cap, for this state too */
    if (L == NULL)
        rt_child_exit(1, "cannot create a Lua state: not enough memory");
    rt_thread_main(L);
    lua_pushcfunction(L, rt_lua_msghandler);
    lua_pushcfunction(L, task_pmain);
    if (lua_pcall(L, 0, 0, 1) != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        fflush(NULL);
        rt_child_exit(1, msg ? msg : "(error object is not a string)");
    }
    return 0;
}

int main(void)
{
    if (rt_is_child())
        return task_main();
    rt_clock_init();
    rt_archive_init();      /* without it, loading init.lua fails below */
    struct rt_file f;
    have_rescue = rt_archive_find("rescue.lua", &f) == 0;
    safe_why = safe_reason();
    if (safe_why)
        rt_boot_flags |= RT_BOOT_NO_USER;
    /* The plan's state may take half of sigma0's RAM, no more: a module
     * that eats memory fails there, and the rest is left for the pages of
     * the tasks the rescue plan starts (the root's heap keeps whatever it
     * took from sigma0, so a state without a cap left the rescue's console
     * driver task no page: docs/recovery.md). */
    lua_State *L = rt_lua_newstate(l4_kip()->mem_sigma0 / 2);
    if (L == NULL) {
        fputs("lua-root: cannot create a Lua state: not enough memory\n", stderr);
        return 1;
    }
    rt_thread_main(L);
    lua_pushcfunction(L, rt_lua_msghandler);
    lua_pushcfunction(L, pmain);
    if (lua_pcall(L, 0, 0, 1) != LUA_OK) {
        if (!have_rescue) {
            fprintf(stderr, "lua-root: %s\n", lua_tostring(L, -1));
            return 1;   /* crt0 calls exit: stdio is flushed, QEMU ends */
        }
        rescue(L, lua_tostring(L, -1));
    }
    fflush(NULL);
    rt_console_puts("lua-root: the boot plan returned; idling (quit QEMU: Ctrl-] then X)\n");
    rt_idle();
}
