/* Stand-ins for what kernel/sched.c and bindings/l4.c call beyond the
 * timeout code test_timeout.c runs: none of them may be reached, but
 * luaL_argerror, which returns to the test (timeout_arg_error). Declared
 * here without their real types on purpose: they only need to link. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>

jmp_buf timeout_arg_error;
const char *timeout_arg_message;

int luaL_argerror(void *L, int arg, const char *extramsg)
{
    (void)L, (void)arg;
    timeout_arg_message = extramsg;
    longjmp(timeout_arg_error, 1);
}

#define UNREACHED(f)                                            \
    void f(void)                                                \
    {                                                           \
        fprintf(stderr, "timeout_stubs: %s called\n", #f);      \
        abort();                                                \
    }

/* kernel/sched.c */
UNREACHED(arch_fpu_init_state)
UNREACHED(arch_idle)
UNREACHED(arch_switch)
UNREACHED(arch_tsc_per_us)
UNREACHED(ipc_timeout)
UNREACHED(space_is_ancestor)
UNREACHED(thread_lookup)
void *kip;      /* NULL: sched_tick writes no clock */

/* bindings/l4.c: the Lua library and the other binding modules */
UNREACHED(l4b_open_debug)
UNREACHED(l4b_open_fpage)
UNREACHED(l4b_open_id)
UNREACHED(l4b_open_io)
UNREACHED(l4b_open_ipc)
UNREACHED(l4b_open_irq)
UNREACHED(l4b_open_kip)
UNREACHED(l4b_open_mem)
UNREACHED(l4b_open_sys)
UNREACHED(l4b_open_thread)
UNREACHED(luaL_checkinteger)
UNREACHED(luaL_error)
UNREACHED(luaL_newmetatable)
UNREACHED(luaL_setfuncs)
UNREACHED(luaL_typeerror)
UNREACHED(lua_createtable)
UNREACHED(lua_getfield)
UNREACHED(lua_isnumber)
UNREACHED(lua_newuserdatauv)
UNREACHED(lua_pushcclosure)
UNREACHED(lua_pushfstring)
UNREACHED(lua_pushinteger)
UNREACHED(lua_pushnil)
UNREACHED(lua_pushstring)
UNREACHED(lua_rawgetp)
UNREACHED(lua_rawsetp)
UNREACHED(lua_setfield)
UNREACHED(lua_setmetatable)
UNREACHED(lua_settop)
UNREACHED(lua_tolstring)
UNREACHED(lua_tonumberx)
UNREACHED(lua_touserdata)
UNREACHED(lua_type)
