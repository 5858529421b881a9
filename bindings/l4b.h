/* The l4 Lua table (docs/lua-api.md): what the binding modules share.
 *
 * One module per kernel object, each adding its fields to the l4 table on
 * top of the stack. l4.c opens them in this order: id.c (thread ids),
 * fpage.c (flexpages, map items, unmap; before ipc.c, which keeps its
 * metatables), ipc.c (messages), kip.c, thread.c (schedule, switch; Lua
 * threads: create, kill, status, with runtime/lua/threads.c), irq.c,
 * io.c (ports), mem.c (physical and device memory), debug.c, sys.c
 * (threads, lines and log for the shell; the console), and task.c last
 * (l4b_open_task; l4.c has a weak no-op), so that l4.thread and the
 * others exist when it runs; then the constants (l4.E, l4.label).
 *
 * Per Lua state (one per L4 thread that runs Lua): struct l4b_state, in
 * the registry. Per task (statics): the ports held (io.c) and the
 * address-space allocator for mappings (mem.c). The bindings own the
 * thread's utcb->rcv_window (rewritten before every receive, as the
 * runtime's sbrk also uses it) and utcb->rcv_strings. */
#pragma once
#include <stdint.h>

#include "lauxlib.h"
#include "lua.h"
#include "l4/syscalls.h"

/* Metatable names (luaL_checkudata). */
#define L4B_ID    "l4.id"
#define L4B_FPAGE "l4.fpage"
#define L4B_ITEM  "l4.item"
#define L4B_IRQ   "l4.irq"
#define L4B_MEM   "l4.mem"

/* The label of a debugger's messages (docs/debugger.md "How it works"):
 * an open receive of any Lua thread (l4.receive, l4.reply_wait,
 * l4.pager_loop) hands such a message to the state's debug agent
 * (scripts/debug_agent.lua) and receives again, so a thread blocked in
 * IPC can be debugged without its script knowing. l4.label.debug. Right
 * below the kernel's labels (abi.h L4_LABEL_*): one compare of a
 * received label finds every rare one (ipc.c). */
#define L4B_LABEL_DEBUG 0xfffffffcu
_Static_assert(L4B_LABEL_DEBUG + 1 == L4_LABEL_EXCEPTION && L4_LABEL_EXCEPTION < L4_LABEL_PAGEFAULT &&
               L4_LABEL_PAGEFAULT < L4_LABEL_IRQ, "the rare labels are the last four");

/* String receive buffers: L4B_NBUFS x L4B_BUFSIZE by default, allocated
 * at a state's first receive (l4.set_buffers changes them). */
#define L4B_NBUFS   4
#define L4B_BUFSIZE (64u << 10)

/* Where scripts may put receive windows and drop their own mappings:
 * from 16 TiB (above the image, archive, heap and the root's page pool,
 * runtime/lua/rt.h) to below sigma0's range and the stacks.
 * mem.c hands out addresses in [L4B_MEM_BASE, L4B_MEM_END) of it. */
#define L4B_FREE_BASE 0x0000100000000000ull
#define L4B_FREE_END  0x00007f0000000000ull
#define L4B_MEM_BASE  0x0000100000000000ull
#define L4B_MEM_END   0x0000200000000000ull

struct l4b_state {
    struct l4_utcb *utcb;   /* the UTCB of the thread running this state */
    uint64_t window;        /* receive window (fpage); 0: take no mappings */
    char *bufs;             /* nbufs x bufsize (a userdata in the registry),
                               NULL until the first receive */
    unsigned nbufs;
    uint32_t bufsize;
    uint16_t irqs;          /* lines attached through l4.irq (bit n) */
    /* ipc.c: the id userdata the message functions last took or pushed
     * (NULL at first), kept alive at registry[last_ref]: an id argument
     * that is it needs no check, a sender with its value no lookup. */
    const uint64_t *last_id;
    int last_ref;
    /* ipc.c: registry[take_ref], the closure that pushes what an open
     * receive took under lua_pcall (received) */
    int take_ref;
    /* fpage.c: the fpage and item metatables (compared by address:
     * cheaper than luaL_testudata's lookup by name) */
    const void *fpage_mt, *item_mt;
    /* The running thread's waits (rt.h; wait.h), set at its first wait:
     * a state runs on one thread only. */
    struct rt_wait *wait;
};


/* l4.c */
struct l4b_state *l4b_state(lua_State *L);
void l4b_push_state(lua_State *L);      /* its userdata */
/* For the code that starts a thread with its own Lua state: the lthread
 * whose UTCB this state's IPC uses (0 unless set). */
void l4b_set_lthread(lua_State *L, unsigned lthread);
/* Pushes nil, msg, code; returns 3 (the io.open convention). */
int l4b_fail(lua_State *L, const char *msg, lua_Integer code);
/* Names of IPC codes (rax & 0xff), of the other calls' codes, of sigma0's. */
const char *l4b_ipc_error(unsigned code);
const char *l4b_sys_error(uint64_t code);
const char *l4b_sigma0_error(uint64_t code);
/* luaL_Reg functions into a new subtable l4[name] (table on top). */
void l4b_subtable(lua_State *L, const char *name, const luaL_Reg *fns);
/* A new metatable tname with methods (its __index, unless meta sets one). */
void l4b_class(lua_State *L, const char *tname, const luaL_Reg *meta, const luaL_Reg *methods);
/* An integer argument in [lo, hi], else an error naming it. */
lua_Integer l4b_checkrange(lua_State *L, int arg, lua_Integer lo, lua_Integer hi,
                           const char *what);
/* A timeout argument (milliseconds, nil = never, 0 = now) encoded as an
 * L4 timeout field (abi.md "Timeouts"). */
uint16_t l4b_timeout(lua_State *L, int arg);
uint16_t l4b_timeout_ms(lua_State *L, int arg, lua_Number ms);
/* The same argument in microseconds, rounded up; ~0 for nil (forever). */
uint64_t l4b_timeout_us(lua_State *L, int arg);
/* Does [base, base + size) lie in [L4B_FREE_BASE, L4B_FREE_END)? */
int l4b_in_free_area(uint64_t base, uint64_t size);

/* id.c: thread ids are interned, so equal ids are one userdata. */
void l4b_pushid(lua_State *L, uint64_t id);
/* The id of a resource just taken (a thread, a task): if pushing it
 * fails (an allocation), undo(id) gives the resource back before the
 * error goes on, so none is left with no id to reach it by. */
void l4b_pushid_or_undo(lua_State *L, uint64_t id, void (*undo)(uint64_t id));
void l4b_push_ids(lua_State *L);        /* the intern table: value -> id */
uint64_t l4b_checkid(lua_State *L, int arg);
uint64_t l4b_optid(lua_State *L, int arg, uint64_t def);

/* fpage.c */
void l4b_pushfpage(lua_State *L, uint64_t fpage);
uint64_t l4b_checkfpage(lua_State *L, int arg);
uint64_t l4b_checkrights(lua_State *L, int arg, const char *def);
/* A message value at arg that is an fpage or an item: its two words. */
int l4b_toitem(lua_State *L, const struct l4b_state *st, int arg, uint64_t item[2]);

/* ipc.c: one IPC with this state's buffers and window; sigma0 requests. */
/* A request to sigma0 (memory.md "sigma0"): label, n words, mappings into
 * window. Returns sigma0's code, or 0x100 + the IPC error; *fpage gets the
 * reply's fpage (its base is the physical address). */
uint64_t l4b_sigma0(lua_State *L, uint32_t label, unsigned n, uint64_t w0, uint64_t w1,
                    uint64_t window, uint64_t *fpage);

/* io.c: the arguments port (at arg) and log2 count (at arg + 1) of a range of
 * 2^k ports, aligned to its size (abi.md "I/O ports"), else an error
 * naming them; returns the port, *k the log2 count. */
unsigned l4b_checkports(lua_State *L, int arg, unsigned *k);

/* mem.c: a naturally aligned block of 2^k bytes of address space in
 * [L4B_MEM_BASE, L4B_MEM_END), never handed out twice; 0 if none left. */
uint64_t l4b_va_reserve(unsigned k);

/* The modules: each adds its fields to the table on top of the stack. */
int l4b_open_id(lua_State *L);
int l4b_open_ipc(lua_State *L);
int l4b_open_fpage(lua_State *L);
int l4b_open_kip(lua_State *L);
int l4b_open_thread(lua_State *L);
int l4b_open_irq(lua_State *L);
int l4b_open_io(lua_State *L);
int l4b_open_mem(lua_State *L);
int l4b_open_debug(lua_State *L);
int l4b_open_sys(lua_State *L);
int l4b_open_task(lua_State *L);     /* task.c (weak no-op in l4.c) */
