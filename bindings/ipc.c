/* IPC (abi.md "ipc"): l4.send, l4.reply, l4.call, l4.reply_wait,
 * l4.receive, l4.sleep, and the receive window and string buffers.
 *
 * A message is built from the Lua values straight into the registers and
 * the UTCB: integers become untyped words, strings string items, fpages
 * and items map/grant items (the words first, then the items, each in
 * order). A received message is pushed as multiple return values: the
 * sender, the label, the words, then one value per item. Nothing is
 * allocated for a message of integers (the sender's id is interned), so
 * the common case costs no garbage.
 *
 * The message functions keep what they need where the Lua API reaches it
 * cheaply (its calls are most of their cost): the state in the Lua
 * thread's extra space (lua_getextraspace; set for the main thread when
 * the library opens, which the runtime does before any script runs, and
 * copied by Lua into every coroutine created after), the intern table of
 * ids and the ids' metatable as upvalues, and the last id (struct
 * l4b_state) in the registry. */
#include <string.h>

#include "l4b.h"
#include "lstack.h"
#include "rt.h"
#include "wait.h"

#define UP_IDS   lua_upvalueindex(1)
#define UP_IDMT  lua_upvalueindex(2)
/* The strings of the kernel's messages, pushed without lua_pushstring's
 * lookup: "pagefault", then the access letters "r", "w", "x". */
#define UP_PF    lua_upvalueindex(3)
#define UP_ACC(w0) lua_upvalueindex(L4_FAULT_IS_WRITE(w0) ? 5 : L4_FAULT_IS_EXEC(w0) ? 6 : 4)

/* This Lua state's struct l4b_state. */
static struct l4b_state *get_state(lua_State *L)
{
    struct l4b_state **x = lua_getextraspace(L);
    if (__builtin_expect(*x == NULL, 0))    /* not set: be safe */
        *x = l4b_state(L);
    return *x;
}

/* Makes the id userdata at idx (an id) the last one. */
static void set_last(lua_State *L, struct l4b_state *st, int idx)
{
    st->last_id = lua_touserdata(L, idx);
    lua_pushvalue(L, idx);
    lua_rawseti(L, LUA_REGISTRYINDEX, st->last_ref);
}

/* A thread id argument, checked against the metatable in UP_IDMT. */
static uint64_t check_id(lua_State *L, struct l4b_state *st, int arg)
{
    uint64_t *p = lua_touserdata(L, arg);
    if (p && p == st->last_id)
        return *p;
    if (p && lua_getmetatable(L, arg)) {
        int ok = lua_rawequal(L, -1, UP_IDMT);
        lua_pop(L, 1);
        if (ok) {
            set_last(L, st, arg);
            return *p;
        }
    }
    return l4b_checkid(L, arg);     /* the error */
}

/* Pushes id if that takes no memory (it is the last id, or interned):
 * 1; else nothing: 0. */
__attribute__((always_inline))
static inline int push_known_id(lua_State *L, struct l4b_state *st, uint64_t id)
{
    if (st->last_id && *st->last_id == id) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, st->last_ref);
        return 1;
    }
    if (lua_rawgeti(L, UP_IDS, (lua_Integer)id) != LUA_TUSERDATA) {
        lua_pop(L, 1);
        return 0;
    }
    set_last(L, st, -1);
    return 1;
}

/* Pushes an id: the interned userdata if there is one. */
__attribute__((always_inline))
static inline void push_id(lua_State *L, struct l4b_state *st, uint64_t id)
{
    if (st->last_id && *st->last_id == id) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, st->last_ref);
        return;
    }
    if (lua_rawgeti(L, UP_IDS, (lua_Integer)id) != LUA_TUSERDATA) {
        lua_pop(L, 1);
        l4b_pushid(L, id);
    }
    set_last(L, st, -1);
}

/* Per call: timeouts and the receive window (a call may name its own).
 * pf: both page-fault timeouts (abi.md "String items"), never unless the
 * option says: the Lua side's buffers are touched when allocated, so
 * faults come from a C partner's buffers and its pager decides. */
struct opts {
    uint16_t snd, rcv, pf;
    uint64_t window;
};

/* An optional options table at arg ({timeout =, send =, receive =,
 * pagefault =, window =}); returns the index of the next argument. The
 * table is walked with lua_next (raw: a metatable's __index is not
 * consulted), which for the usual one or two keys costs a fraction of
 * five lookups by name; keys that are not options are ignored. */
static int get_opts(lua_State *L, int arg, struct opts *o)
{
    if (lua_type(L, arg) != LUA_TTABLE)
        return arg;
    int timeout = -1, send = -1, receive = -1, pf = -1;   /* encoded, or -1: not given */
    lua_pushnil(L);
    while (lua_next(L, arg)) {
        size_t len;
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tolstring(L, -2, &len) : NULL;
        int *slot = NULL;
        if (!k)
            ;
        else if (len == 7 && !memcmp(k, "timeout", 7))
            slot = &timeout;
        else if (len == 4 && !memcmp(k, "send", 4))
            slot = &send;
        else if (len == 7 && !memcmp(k, "receive", 7))
            slot = &receive;
        else if (len == 9 && !memcmp(k, "pagefault", 9))
            slot = &pf;
        else if (len == 6 && !memcmp(k, "window", 6)) {
            uint64_t *f = luaL_testudata(L, -1, L4B_FPAGE);
            if (!f || (*f & L4_FPAGE_IO))
                luaL_argerror(L, arg, "option 'window' must be a memory fpage");
            if (!l4b_in_free_area(L4_FPAGE_BASE(*f), 1ull << L4_FPAGE_SIZE(*f)))
                luaL_argerror(L, arg, "option 'window' must lie in 0x100000000000-0x7f0000000000 "
                                      "(the runtime's image, heap and stacks are outside)");
            o->window = *f;
        }
        if (slot) {
            if (!lua_isnumber(L, -1))
                luaL_argerror(L, arg, lua_pushfstring(L, "option '%s' must be a number of "
                                                         "milliseconds", k));
            *slot = (int)l4b_timeout_ms(L, arg, lua_tonumber(L, -1));
        }
        lua_pop(L, 1);
    }
    /* timeout first, then the more specific send/receive over it */
    if (timeout >= 0)
        o->snd = o->rcv = (uint16_t)timeout;
    if (send >= 0)
        o->snd = (uint16_t)send;
    if (receive >= 0)
        o->rcv = (uint16_t)receive;
    if (pf >= 0)
        o->pf = (uint16_t)pf;
    return arg + 1;
}

static const char bufs_key = 'b';   /* registry[&bufs_key]: the buffers' userdata */

/* Allocates the string receive buffers (at a state's first receive, or
 * anew by l4.set_buffers) and offers them in the UTCB. */
static void set_buffers(lua_State *L, struct l4b_state *st)
{
    size_t total = (size_t)st->nbufs * st->bufsize;
    char *b = NULL;
    if (total)
        b = lua_newuserdatauv(L, total, 0);
    else
        lua_pushnil(L);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &bufs_key);
    st->bufs = b;
    for (size_t off = 0; off < total; off += 4096)
        ((volatile char *)b)[off] = 0;      /* mapped now, not in the middle of an IPC */
    if (total)
        ((volatile char *)b)[total - 1] = 0;
    for (unsigned i = 0; i < 8; i++) {
        st->utcb->rcv_strings[i][0] = i < st->nbufs ? (uint64_t)(b + (size_t)i * st->bufsize) : 0;
        st->utcb->rcv_strings[i][1] = i < st->nbufs ? st->bufsize : 0;
    }
}

static void too_long(lua_State *L, int arg)
{
    luaL_argerror(L, arg, "message too long (at most 64 words: an integer is one, a "
                          "string, fpage or item two)");
}

/* The values at first..top into w[]: untyped words, then the typed items.
 * Returns the tag; *io_grant is set if an I/O fpage is granted. */
static uint64_t build(lua_State *L, const struct l4b_state *st, int first, uint32_t label, uint64_t *w, int *io_grant)
{
    uint64_t items[L4_MSG_WORDS];
    unsigned u = 0, t = 0, nstr = 0;
    int top = lua_gettop(L);
    int i = first;
    if (top - first < L4_MSG_WORDS) {   /* the common case: integers that fit */
        for (; i <= top && lua_type(L, i) == LUA_TNUMBER; i++) {
            int isint;
            lua_Integer v = lua_tointegerx(L, i, &isint);
            if (!isint)
                break;
            w[u++] = (uint64_t)v;
        }
    }
    for (; i <= top; i++) {
        int type = lua_type(L, i);
        if (type == LUA_TNUMBER) {
            int isint;
            lua_Integer v = lua_tointegerx(L, i, &isint);
            if (!isint)
                luaL_argerror(L, i, "number has no integer representation");
            if (u + 2 * t + 1 > L4_MSG_WORDS)
                too_long(L, i);
            w[u++] = (uint64_t)v;
            continue;
        }
        if (u + 2 * t + 2 > L4_MSG_WORDS && (type == LUA_TSTRING || type == LUA_TUSERDATA))
            too_long(L, i);
        if (type == LUA_TSTRING) {
            size_t len;
            const char *s = lua_tolstring(L, i, &len);
            if (len > L4_STRING_MAX)
                luaL_argerror(L, i, "string longer than 4 MiB");
            if (++nstr > 8)
                luaL_argerror(L, i, "more than 8 strings in one message");
            items[2 * t] = (uint64_t)len << 4 | L4_ITEM_STRING;
            items[2 * t + 1] = (uint64_t)s;
            t++;
        } else if (type == LUA_TUSERDATA && l4b_toitem(L, st, i, &items[2 * t])) {
            if ((items[2 * t] & 0xe) == L4_ITEM_GRANT && (items[2 * t + 1] & L4_FPAGE_IO))
                *io_grant = 1;
            t++;
        } else {
            luaL_typeerror(L, i, "integer, string, fpage or item (a message value)");
        }
    }
    if (t)
        memcpy(w + u, items, 2 * t * sizeof *items);
    return L4_TAG(label, u, t);
}

/* Where a received map item landed in the window (abi.md "Flexpages"):
 * the rights are the most it can have. */
static uint64_t landed(uint64_t w0, uint64_t f, uint64_t window)
{
    unsigned s = L4_FPAGE_SIZE(f), ws = L4_FPAGE_SIZE(window);
    uint64_t dst = L4_FPAGE_BASE(window);
    if (s > ws)
        return L4_FPAGE(dst, ws, L4_FPAGE_RIGHTS(f));
    dst += (w0 & ~0xfffull) & ((1ull << ws) - 1) & ~((1ull << s) - 1);
    return L4_FPAGE(dst, s, L4_FPAGE_RIGHTS(f));
}

/* Pushes a received message: from, label, words, items; or for the
 * kernel's messages from, "pagefault", addr, ip, access /
 * from, "exception", vector, code, ip, addr / from, "irq", n. */
__attribute__((always_inline))     /* in do_ipc, the round trip's path */
static inline int push_message(lua_State *L, struct l4b_state *st, uint64_t from, uint64_t tag,
                        struct l4_msg *m, uint64_t window)
{
    unsigned u = L4_TAG_U(tag), t = L4_TAG_T(tag), n = u + 2 * t;
    uint32_t label = L4_TAG_LABEL(tag);
    uint64_t buf[L4_MSG_WORDS];
    const uint64_t *w = m->w;       /* the register words as they came */
    if (n > L4_MSG_WORDS) {         /* the kernel refuses such tags; be safe */
        u = u < L4_MSG_WORDS ? u : L4_MSG_WORDS;
        t = (L4_MSG_WORDS - u) / 2;
        n = u + 2 * t;
    }
    if (n > L4_REG_WORDS) {
        for (unsigned i = 0; i < n; i++)
            buf[i] = *l4_mr(m, st->utcb, i);
        w = buf;
    }
    /* At most 64 words and 4 more: the stack can only fail to grow for
     * want of memory, so say that, as Lua's own memory error does
     * (luaL_checkstack would say "stack overflow"; found by
     * tests/lua/memerr_services.lua). The string is Lua's preallocated
     * one, so pushing it takes no memory. */
    if (u + 2 * t + 4 > LUA_MINSTACK && !lua_checkstack(L, (int)(u + 2 * t + 4))) {
        lua_pushliteral(L, "not enough memory");
        return lua_error(L);
    }
    push_id(L, st, from);
    if (__builtin_expect(label >= L4B_LABEL_DEBUG, 0)) {   /* the kernel's labels, one compare */
        if (label == L4_LABEL_PAGEFAULT && u == 2 && t == 0) {
            lua_pushvalue(L, UP_PF);
            lua_pushinteger(L, (lua_Integer)L4_FAULT_ADDR(w[0]));
            lua_pushinteger(L, (lua_Integer)w[1]);
            lua_pushvalue(L, UP_ACC(w[0]));
            return 5;
        }
        if (label == L4_LABEL_EXCEPTION && u == 4 && t == 0) {
            lua_pushliteral(L, "exception");
            for (unsigned i = 0; i < 4; i++)
                lua_pushinteger(L, (lua_Integer)w[i]);
            return 6;
        }
        if (label == L4_LABEL_IRQ && n == 0 && L4_IS_IRQ_ID(from)) {
            lua_pushliteral(L, "irq");
            lua_pushinteger(L, (lua_Integer)(from - L4_IRQ_ID(0)));
            return 3;
        }
    }
    lua_pushinteger(L, label);
    for (unsigned i = 0; i < u; i++)
        lua_pushinteger(L, (lua_Integer)w[i]);
    int pushed = 2 + (int)u;
    for (unsigned i = 0; i < t; i++, pushed++) {
        uint64_t w0 = w[u + 2 * i], w1 = w[u + 2 * i + 1];
        if ((w0 & 0xf) == L4_ITEM_STRING) {
            lua_pushlstring(L, (const char *)w1, (size_t)(w0 >> 4));
        } else if ((w0 & 0xe) == L4_ITEM_MAP || (w0 & 0xe) == L4_ITEM_GRANT) {
            if (w1 & L4_FPAGE_IO) {     /* ports map 1:1: now ours */
                rt_ports_note(L4_IOFPAGE_PORT(w1), 1u << L4_FPAGE_SIZE(w1), 1);
                l4b_pushfpage(L, L4_IOFPAGE(L4_IOFPAGE_PORT(w1), L4_FPAGE_SIZE(w1)));
            } else {
                l4b_pushfpage(L, landed(w0, w1, window));
            }
        } else {                        /* not an item the kernel knows: the words */
            lua_pushinteger(L, (lua_Integer)w0);
            lua_pushinteger(L, (lua_Integer)w1);
            pushed++;
        }
    }
    return pushed;
}

/* A receive descriptor completed with what this state offers: its
 * string buffers (allocated at its first receive: before a message goes
 * into the UTCB, as that may call sigma0) and the window (set last in
 * the UTCB: sbrk's sigma0 calls change it). */
static inline uint64_t offer(lua_State *L, struct l4b_state *st, uint64_t rcv, uint64_t window)
{
    if (!st->bufs && st->nbufs && st->bufsize)
        set_buffers(L, st);
    if (st->bufs)
        rcv |= L4_RCV_STRINGS;
    if (window) {
        rcv |= L4_RCV_MAPS;
        st->utcb->rcv_window = window;
    }
    return rcv;
}

/* require("debug_agent").message(from, label, ...): the message is this
 * C function's arguments (debug_message). */
static int agent_call(lua_State *L)
{
    lua_getglobal(L, "require");
    lua_pushliteral(L, "debug_agent");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "message");
    lua_remove(L, -2);
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 0);
    return 0;
}

/* A debugger's message that an open receive took (L4B_LABEL_DEBUG): the
 * state's debug agent answers it (or holds the thread stopped until the
 * debugger lets it go); then the caller receives again. The agent is
 * loaded at the first such message: a thread nobody debugs never runs
 * it. An error of the agent is printed; its debugger sees a timeout. */
__attribute__((noinline, cold))
static void debug_message(lua_State *L, struct l4b_state *st, uint64_t from, uint64_t tag,
                          struct l4_msg *m, uint64_t window)
{
    int top = lua_gettop(L);
    lua_pushcfunction(L, agent_call);
    int n = push_message(L, st, from, tag, m, window);
    if (lua_pcall(L, n, 0, 0) != LUA_OK)
        lua_writestringerror("debug agent: %s\n", lua_tostring(L, -1));
    lua_settop(L, top);
}

static int take(lua_State *L, struct l4b_state *st, uint64_t from, struct l4_msg *m,
                uint64_t window);

/* An open receive of do_ipc took a debugger's message m: it goes to the
 * agent and the receive is made again (with the same options: its timeout
 * starts anew), until a message that is not the debugger's comes, which
 * is pushed as do_ipc pushes it, or the receive fails. Out of do_ipc so
 * that the round trip's path has one compare more and nothing else. */
__attribute__((noinline, cold))
static int debug_receive(lua_State *L, struct l4b_state *st, uint64_t from, struct l4_msg *m,
                         uint64_t window, const struct opts *o)
{
    for (;;) {
        debug_message(L, st, from, m->tag, m, window);
        uint64_t rcv = offer(L, st, L4_RCV_OPEN, window);
        uint64_t r = L4_IPC_RCV_CANCELLED;
        struct rt_wait *wt = l4b_wait(st);
        m->tag = 0;
        memset(m->w, 0, sizeof m->w);
        if (rt_wait_begin(wt)) {
            r = l4_ipc(L4_NILTHREAD, L4_NODESC, rcv, L4_TIMEOUTS(o->snd, o->rcv, o->pf, o->pf),
                       m, &from);
            rt_wait_end(wt);
        }
        unsigned code = L4_IPC_ERR(r);
        if (code != L4_IPC_OK)
            return l4b_fail(L, l4b_ipc_error(code), code);
        if (L4_TAG_LABEL(m->tag) != L4B_LABEL_DEBUG)
            return take(L, st, from, m, window);
    }
}

/* push_message's arguments, for take_protected */
struct taking {
    struct l4b_state *st;
    uint64_t from, window;
    struct l4_msg *m;
};

/* push_message under lua_pcall (a closure with the message functions'
 * upvalues, at registry[st->take_ref]): its argument, a light userdata,
 * is the struct taking. */
static int take_protected(lua_State *L)
{
    struct taking *t = lua_touserdata(L, 1);
    lua_settop(L, 0);
    return push_message(L, t->st, t->from, t->m->tag, t->m, t->window);
}

/* What an open receive took, pushed under lua_pcall: a message whose
 * values cannot be made for want of memory (its sender's new id, a
 * string) is then not lost unanswered, with its sender waiting for a
 * reply that never comes: the receive returns nil, "not enough memory",
 * L4_ENOMEM and the sender's raw id (an integer: making an id may be
 * what failed), for the server to answer (scripts/service.lua). */
static int take(lua_State *L, struct l4b_state *st, uint64_t from, struct l4_msg *m,
                uint64_t window)
{
    struct taking t = { st, from, window, m };
    int top = lua_gettop(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, st->take_ref);
    lua_pushlightuserdata(L, &t);
    int r = lua_pcall(L, 1, LUA_MULTRET, 0);
    if (r == LUA_OK)
        return lua_gettop(L) - top;
    if (r != LUA_ERRMEM)
        return lua_error(L);
    lua_settop(L, top);
    lua_pushnil(L);
    lua_pushliteral(L, "not enough memory");    /* Lua's own string: no allocation */
    lua_pushinteger(L, L4_ENOMEM);
    lua_pushinteger(L, (lua_Integer)from);
    return 4;
}

/* What a receive of do_ipc (or fast_op) took, pushed: a debugger's
 * message on an open receive goes to the agent first (debug_receive);
 * an open receive's message is taken protected (take), a closed one's
 * (a call's reply) as it is: its failure is the call's memory error. */
static int received(lua_State *L, struct l4b_state *st, uint64_t from, struct l4_msg *m,
                    uint64_t rcv, uint64_t window, const struct opts *o)
{
    /* the rare labels first (the kernel's and the debugger's): one compare */
    if (__builtin_expect(L4_TAG_LABEL(m->tag) >= L4B_LABEL_DEBUG, 0) &&
        L4_TAG_LABEL(m->tag) == L4B_LABEL_DEBUG && (rcv & L4_RCV_OPEN))
        return debug_receive(L, st, from, m, window, o);
    if (!(rcv & L4_RCV_OPEN))
        return push_message(L, st, from, m->tag, m, window);
    return take(L, st, from, m, window);
}

/* One IPC of this state's thread. rcv: L4_NODESC, or the receive
 * descriptor's open bit (strings and the window are added here). Pushes
 * the results: true (send only), the message, or nil, message, code. */
static int do_ipc(lua_State *L, struct l4b_state *st, uint64_t dest, uint64_t tag,
                  const uint64_t *w, uint64_t rcv, const struct opts *o, int io_grant)
{
    struct l4_utcb *utcb = st->utcb;
    struct l4_msg m;
    /* First what may allocate (and so call sigma0 from sbrk), then the
     * message into the UTCB. */
    uint64_t window = o->window ? o->window : st->window;
    if (rcv != L4_NODESC)
        rcv = offer(L, st, rcv, window);
    unsigned n = tag == L4_NODESC ? 0 : L4_TAG_U(tag) + 2 * L4_TAG_T(tag);
    m.tag = 0;
    if (n) {    /* w has L4_MSG_WORDS words: the register ones whole */
        memcpy(m.w, w, sizeof m.w);
        for (unsigned i = L4_REG_WORDS; i < n; i++)
            *l4_mr(&m, utcb, i) = w[i];
    } else {
        memset(m.w, 0, sizeof m.w);
    }
    uint64_t from = 0, r = L4_IPC_RCV_CANCELLED;
    struct rt_wait *wt = l4b_wait(st);
    if (rt_wait_begin(wt)) {
        r = l4_ipc(dest, tag, rcv, L4_TIMEOUTS(o->snd, o->rcv, o->pf, o->pf), &m, &from);
        rt_wait_end(wt);
    }
    unsigned code = L4_IPC_ERR(r);
    if (io_grant && (code == L4_IPC_OK || code == L4_IPC_RCV_TIMEOUT ||
                     code == L4_IPC_RCV_CANCELLED || code == L4_IPC_RCV_ABORTED)) {
        for (unsigned i = L4_TAG_U(tag); i + 1 < n; i += 2)     /* granted: gone */
            if ((w[i] & 0xe) == L4_ITEM_GRANT && (w[i + 1] & L4_FPAGE_IO))
                rt_ports_note(L4_IOFPAGE_PORT(w[i + 1]), 1u << L4_FPAGE_SIZE(w[i + 1]), 0);
    }
    if (code != L4_IPC_OK)
        return l4b_fail(L, l4b_ipc_error(code), code);
    if (rcv == L4_NODESC) {
        lua_pushboolean(L, 1);
        return 1;
    }
    return received(L, st, from, &m, rcv, window, o);
}

/* l4.call's and l4.reply_wait's common case, tried before send_op:
 * (dest, label, integers), dest the id last taken or pushed (st->last_id:
 * a client calling one server, a server answering the client it just
 * heard from), no options table, at most the register words. Then no
 * message array is built and copied, each value is read once, and the
 * sender of what comes back, when it is dest (a call's reply always
 * is), is pushed as argument 1 itself.
 *
 * fast_ipc makes the IPC of the values at arg (dest), arg + 1 (label),
 * ... to the top: -1 if they are not that case (nothing sent: send_op
 * does it, the same IPC, the same results), else the IPC's code, with
 * what came (if it is L4_IPC_OK) in *m and *from; *rcv (0 or
 * L4_RCV_OPEN, as send_op's rcv_desc) is completed by offer. */
__attribute__((always_inline))
static inline int fast_ipc(lua_State *L, struct l4b_state *st, int arg, uint16_t snd,
                           uint64_t *rcv, struct l4_msg *m, uint64_t *from)
{
    int top = l4b_nargs(L) - (arg - 1);
    if (top < 2 || top > 2 + L4_REG_WORDS || l4b_arg_udata(l4b_arg(L, arg)) != st->last_id ||
        !st->last_id)
        return -1;
    lua_Integer label;              /* the label as send_op takes it */
    if (!l4b_arg_int(l4b_arg(L, arg + 1), &label) || (lua_Unsigned)label > 0xffffffff)
        return -1;                  /* (a float label, or none: send_op) */
    *m = (struct l4_msg){ 0 };
    unsigned u = (unsigned)top - 2;
    for (unsigned i = 0; i < u; i++) {
        lua_Integer v;
        if (!l4b_arg_int(l4b_arg(L, arg + 2 + (int)i), &v))
            return -1;              /* a string, item, float...: send_op */
        m->w[i] = (uint64_t)v;
    }
    *rcv = offer(L, st, *rcv, st->window);
    struct rt_wait *wt = l4b_wait(st);
    if (!rt_wait_begin(wt))
        return -1;                  /* send_op fails it as cancelled */
    *from = 0;
    uint64_t r = l4_ipc(*st->last_id, L4_TAG(label, u, 0), *rcv,
                        L4_TIMEOUTS(snd, L4_TO_NEVER, L4_TO_NEVER, L4_TO_NEVER), m, from);
    rt_wait_end(wt);
    return (int)L4_IPC_ERR(r);
}

/* Whether a message fast_ipc took is the common case too: at most the
 * register words, no items, not a kernel's or debugger's label. */
static inline int fast_message(const struct l4_msg *m)
{
    return __builtin_expect(L4_TAG_U(m->tag) <= L4_REG_WORDS && !L4_TAG_T(m->tag) &&
                            L4_TAG_LABEL(m->tag) < L4B_LABEL_DEBUG, 1);
}

/* Pushes a message fast_ipc took (snd: its send timeout) as do_ipc does:
 * from, label, words (the rare ones through received). */
__attribute__((always_inline))
static inline int fast_push(lua_State *L, struct l4b_state *st, uint16_t snd, uint64_t rcv,
                            uint64_t from, struct l4_msg *m)
{
    if (!fast_message(m) || ((rcv & L4_RCV_OPEN) && !push_known_id(L, st, from))) {
        struct opts o = { snd, L4_TO_NEVER, L4_TO_NEVER, 0 };
        return received(L, st, from, m, rcv, st->window, &o);
    }
    if (!(rcv & L4_RCV_OPEN))
        push_id(L, st, from);
    unsigned u = L4_TAG_U(m->tag);
    l4b_push_int(L, L4_TAG_LABEL(m->tag));
    for (unsigned i = 0; i < u; i++)
        l4b_push_int(L, (lua_Integer)m->w[i]);
    return 2 + (int)u;
}

__attribute__((always_inline))
static inline int fast_op(lua_State *L, uint16_t snd, uint64_t rcv)
{
    struct l4b_state *st = get_state(L);
    struct l4_msg m;
    uint64_t from;
    int code = fast_ipc(L, st, 1, snd, &rcv, &m, &from);
    if (code < 0)
        return -1;
    if (code != L4_IPC_OK)
        return l4b_fail(L, l4b_ipc_error((unsigned)code), code);
    if (from != *st->last_id || !fast_message(&m))
        return fast_push(L, st, snd, rcv, from, &m);
    l4b_push_arg(L, 1);             /* the sender is dest: a call's reply */
    unsigned u = L4_TAG_U(m.tag);
    l4b_push_int(L, L4_TAG_LABEL(m.tag));
    for (unsigned i = 0; i < u; i++)
        l4b_push_int(L, (lua_Integer)m.w[i]);
    return 2 + (int)u;
}

static uint32_t check_label(lua_State *L, int arg)
{
    return (uint32_t)l4b_checkrange(L, arg, 0, 0xffffffff, "label");
}

/* The shape of send, reply, call, reply_wait: (dest, [opts,] label, ...) */
static int send_op(lua_State *L, uint16_t snd, uint16_t rcv, uint64_t rcv_desc)
{
    struct opts o = { snd, rcv, L4_TO_NEVER, 0 };
    struct l4b_state *st = get_state(L);
    uint64_t dest = check_id(L, st, 1);
    int arg = get_opts(L, 2, &o);
    int isint;
    lua_Integer lv = lua_tointegerx(L, arg, &isint);
    uint32_t label = isint && lv >= 0 && lv <= 0xffffffff ? (uint32_t)lv : check_label(L, arg);
    uint64_t w[L4_MSG_WORDS];
    int io_grant = 0;
    uint64_t tag = build(L, st, arg + 1, label, w, &io_grant);
    return do_ipc(L, st, dest, tag, w, rcv_desc, &o, io_grant);
}

/* l4.send(dest, [opts,] label, ...): waits for the receiver (forever). */
static int ipc_send(lua_State *L)
{
    return send_op(L, L4_TO_NEVER, L4_TO_NEVER, L4_NODESC);
}

/* l4.reply(client, [opts,] label, ...): a send that does not wait. */
static int ipc_reply(lua_State *L)
{
    return send_op(L, L4_TO_ZERO, L4_TO_NEVER, L4_NODESC);
}

/* l4.call(dest, [opts,] label, ...): send, then receive from dest. */
static int ipc_call(lua_State *L)
{
    int n = fast_op(L, L4_TO_NEVER, 0);
    return n >= 0 ? n : send_op(L, L4_TO_NEVER, L4_TO_NEVER, 0);
}

/* l4.reply_wait(client, [opts,] label, ...): reply (not waiting), then an
 * open receive. */
static int ipc_reply_wait(lua_State *L)
{
    int n = fast_op(L, L4_TO_ZERO, L4_RCV_OPEN);
    return n >= 0 ? n : send_op(L, L4_TO_ZERO, L4_TO_NEVER, L4_RCV_OPEN);
}

/* What l4.serve hands back to the framework (scripts/service.lua
 * "resume"), after the count of requests it served: */
enum {
    SERVE_MESSAGE = 1,  /* a message it does not serve (or the receive's
                           failure): what l4.reply_wait returns */
    SERVE_DONE,         /* from, a handler's values it does not send */
    SERVE_FAILED,       /* from, a handler's error */
    SERVE_REPLY,        /* client, label, ...: a reply it does not make */
};

/* Ends l4.serve: served and kind in slots idx and idx + 1 (what was
 * there is done with), returned with the values above them. Nothing is
 * pushed: after a handler's many values there may be no room. */
static int serve_exit(lua_State *L, int served, int kind, int idx)
{
    l4b_set_int(L, idx, served);
    l4b_set_int(L, idx + 1, kind);
    return lua_gettop(L) - idx + 1;
}

/* l4.serve(handlers, state, client, label, ...): the service framework's
 * request loop in its common case (scripts/service.lua, which calls it
 * only when no policy of its own applies to the next requests: no tick,
 * budget, fault, debugger or version on probation). It replies (label,
 * ...) to client and receives (as l4.reply_wait); while what comes is a
 * message of integers whose label has a function in handlers (a raw
 * lookup), it calls handler(state, from, ...) (lua_pcall) and, if that
 * returns 1 to 6 integers, replies them with label and receives again.
 * Anything else ends it: served (the requests whose handlers it called),
 * then SERVE_MESSAGE and what l4.reply_wait would have returned;
 * SERVE_DONE, from and the handler's values (none, or not integers);
 * SERVE_FAILED, from and the handler's error; SERVE_REPLY, client,
 * label and the values, if the reply is not the common case
 * (l4.reply_wait's). docs/lua-api.md "l4.serve". */
static int ipc_serve(lua_State *L)
{
    struct l4b_state *st = get_state(L);
    luaL_checktype(L, 1, LUA_TTABLE);
    check_id(L, st, 3);
    int served = 0;
    /* stack: handlers, state, client, label, values: the reply */
    for (;;) {
        struct l4_msg m;
        uint64_t from, rcv = L4_RCV_OPEN;
        if (l4b_arg_udata(l4b_arg(L, 3)) != st->last_id)
            set_last(L, st, 3);     /* the handler made IPCs of its own */
        int code = fast_ipc(L, st, 3, L4_TO_ZERO, &rcv, &m, &from);
        if (code < 0 && !served)    /* served, kind, client, label, ... */
            return serve_exit(L, served, SERVE_REPLY, 1);
        if (code < 0) {             /* a handler's values: the framework checks them */
            lua_remove(L, 4);       /* served, kind, from, values */
            return serve_exit(L, served, SERVE_DONE, 1);
        }
        lua_settop(L, 4);           /* then served, kind and what reply_wait returns */
        if (code != L4_IPC_OK) {
            l4b_fail(L, l4b_ipc_error((unsigned)code), code);
            return serve_exit(L, served, SERVE_MESSAGE, 3);
        }
        lua_Integer label = L4_TAG_LABEL(m.tag);
        /* a handler's message, from an id that takes no memory to push
         * (else fast_push: a failure to make it is answerable) */
        if (!fast_message(&m) || lua_rawgeti(L, 1, label) != LUA_TFUNCTION ||
            !push_known_id(L, st, from)) {
            lua_settop(L, 4);
            fast_push(L, st, L4_TO_ZERO, rcv, from, &m);
            return serve_exit(L, served, SERVE_MESSAGE, 3);
        }
        /* handlers, state, client, label, h, from: the client is from now */
        lua_replace(L, 3);
        lua_pushvalue(L, 2);
        lua_pushvalue(L, 3);
        unsigned u = L4_TAG_U(m.tag);
        for (unsigned i = 0; i < u; i++)
            l4b_push_int(L, (lua_Integer)m.w[i]);
        served++;
        int failed = lua_pcall(L, 2 + (int)u, LUA_MULTRET, 0) != LUA_OK;
        /* handlers, state, from, label, then the error or the values:
         * the next reply if they are 1 to 6 integers (fast_ipc looks) */
        int n = lua_gettop(L) - 4;
        if (failed || n < 1 || n > L4_REG_WORDS) {
            lua_remove(L, 4);       /* served, kind, from, the values or error */
            return serve_exit(L, served, failed ? SERVE_FAILED : SERVE_DONE, 1);
        }
    }
}

/* l4.receive([from], [timeout | opts]): from nil or l4.anythread: open. */
static int ipc_receive(lua_State *L)
{
    struct opts o = { L4_TO_NEVER, L4_TO_NEVER, L4_TO_NEVER, 0 };
    struct l4b_state *st = get_state(L);
    uint64_t from = lua_isnoneornil(L, 1) ? L4_INVALID : check_id(L, st, 1);
    if (L4_IS_IRQ_ID(from)) {
        /* a receive from a line not attached, with timeout 0, would attach it */
        unsigned n = L4_IRQ_OF(from);
        if (!(st->irqs & (1u << n)))
            luaL_argerror(L, 1, lua_pushfstring(L, "IRQ %d is not attached (l4.irq.attach "
                                                   "it first)", (int)n));
    }
    if (lua_type(L, 2) == LUA_TTABLE)
        get_opts(L, 2, &o);
    else
        o.rcv = l4b_timeout(L, 2);
    return do_ipc(L, st, from == L4_INVALID ? L4_NILTHREAD : from, L4_NODESC, NULL,
                  from == L4_INVALID ? L4_RCV_OPEN : 0, &o, 0);
}

/* Ends l4.pager_loop after its handler failed (the error on top):
 * false, the error, and the fault, not answered. */
static int loop_failed(lua_State *L, struct l4b_state *st, uint64_t from, uint64_t w0, uint64_t ip)
{
    lua_pushboolean(L, 0);
    lua_insert(L, -2);
    push_id(L, st, from);
    lua_pushinteger(L, (lua_Integer)L4_FAULT_ADDR(w0));
    lua_pushinteger(L, (lua_Integer)ip);
    lua_pushvalue(L, UP_ACC(w0));
    return 6;
}

/* l4.pager_loop(handler, [opts]): a pager's receive loop, in C. It
 * receives (open wait); a page fault (from a thread) is given to
 * handler(from, addr, ip, access, task) (task: from's task number, what
 * a pager accounts by) and answered from its result, the reply sent
 * together with the next receive:
 *   an integer a: the 4 KiB page at a (in this task) mapped "rw" at the
 *                 fault's page (send base: the faulting address);
 *   a map or grant item (or fpage): that;
 *   nil or false: no answer (the faulting thread waits).
 * Any other message ends the loop and is returned as l4.receive returns
 * it; so is a failed receive (nil, message, code). A reply that finds the
 * faulting thread gone (no partner, send timeout) is not an error: the
 * loop goes on. An error in handler ends the loop with false, the error,
 * and the fault (from, addr, ip, access), not answered. opts as for
 * l4.receive (receive, pagefault, window; the reply never waits).
 * docs/lua-api.md "l4.pager_loop". */
static int ipc_pager_loop(lua_State *L)
{
    struct opts o = { L4_TO_ZERO, L4_TO_NEVER, L4_TO_NEVER, 0 };
    struct l4b_state *st = get_state(L);
    luaL_checktype(L, 1, LUA_TFUNCTION);
    if (!lua_isnoneornil(L, 2))
        luaL_checktype(L, 2, LUA_TTABLE);
    get_opts(L, 2, &o);
    o.snd = L4_TO_ZERO;             /* a reply: the faulting thread is waiting, or gone */
    lua_settop(L, 2);
    uint64_t dest = L4_NILTHREAD, tag = L4_NODESC;
    struct l4_msg m = { 0 };
    for (;;) {
        uint64_t window = o.window ? o.window : st->window;
        uint64_t rcv = offer(L, st, L4_RCV_OPEN, window);
        uint64_t from = 0, r = L4_IPC_RCV_CANCELLED;
        struct rt_wait *w = l4b_wait(st);
        if (rt_wait_begin(w)) {
            r = l4_ipc(dest, tag, rcv, L4_TIMEOUTS(o.snd, o.rcv, o.pf, o.pf), &m, &from);
            rt_wait_end(w);
        }
        unsigned code = L4_IPC_ERR(r);
        if (code != L4_IPC_OK) {
            if (tag != L4_NODESC && (code == L4_IPC_NOPARTNER || code == L4_IPC_SND_TIMEOUT)) {
                dest = L4_NILTHREAD;        /* the faulting thread is gone: receive */
                tag = L4_NODESC;
                continue;
            }
            return l4b_fail(L, l4b_ipc_error(code), code);
        }
        if (L4_TAG_LABEL(m.tag) != L4_LABEL_PAGEFAULT || L4_TAG_U(m.tag) != 2 ||
            L4_TAG_T(m.tag) != 0 || L4_IS_IRQ_ID(from)) {
            if (L4_TAG_LABEL(m.tag) != L4B_LABEL_DEBUG)
                return push_message(L, st, from, m.tag, &m, window);
            debug_message(L, st, from, m.tag, &m, window);     /* the agent answers it */
            dest = L4_NILTHREAD;
            tag = L4_NODESC;
            lua_settop(L, 2);
            continue;
        }
        uint64_t addr = L4_FAULT_ADDR(m.w[0]), ip = m.w[1];
        lua_pushvalue(L, 1);
        push_id(L, st, from);
        lua_pushinteger(L, (lua_Integer)addr);
        lua_pushinteger(L, (lua_Integer)ip);
        lua_pushvalue(L, UP_ACC(m.w[0]));
        lua_pushinteger(L, L4_ID_TASK(from));
        uint64_t w0 = m.w[0];
        if (lua_pcall(L, 5, 1, 0) != LUA_OK)
            return loop_failed(L, st, from, w0, ip);
        int isint;
        lua_Integer a = lua_tointegerx(L, -1, &isint);
        dest = L4_NILTHREAD;
        tag = L4_NODESC;
        if (isint) {
            if (((uint64_t)a & 0xfff) || (uint64_t)a >= L4_USER_LIMIT) {
                lua_pushfstring(L, "pager_loop: the handler returned %I, not the address of "
                                   "a page (4 KiB aligned, below 0x7ffe00000000)", a);
                return loop_failed(L, st, from, w0, ip);
            }
            m.w[0] = (addr & ~0xfffull) | L4_ITEM_MAP;
            m.w[1] = L4_FPAGE((uint64_t)a, 12, L4_R | L4_W);
            dest = from;
            tag = L4_TAG(0, 0, 1);
        } else if (lua_toboolean(L, -1)) {
            if (!l4b_toitem(L, st, -1, m.w) || (m.w[1] & L4_FPAGE_IO)) {
                lua_pushfstring(L, "pager_loop: the handler returned a %s, not a page address, "
                                   "a memory item or nil", luaL_typename(L, -1));
                return loop_failed(L, st, from, w0, ip);
            }
            dest = from;
            tag = L4_TAG(0, 0, 1);
        }
        lua_settop(L, 2);
    }
}

/* l4.sleep([ms]): a receive from nil; true when the time is up. */
static int ipc_sleep(lua_State *L)
{
    struct l4_msg m = { 0 };
    struct l4b_state *st = get_state(L);
    uint16_t to = l4b_timeout(L, 1);
    uint64_t r = L4_IPC_RCV_CANCELLED;
    struct rt_wait *w = l4b_wait(st);
    if (rt_wait_begin(w)) {
        r = l4_ipc(L4_NILTHREAD, L4_NODESC, 0, L4_TIMEOUTS(0, to, 0, 0), &m, NULL);
        rt_wait_end(w);
    }
    unsigned code = L4_IPC_ERR(r);
    if (code != L4_IPC_RCV_TIMEOUT)
        return l4b_fail(L, l4b_ipc_error(code), code);
    lua_pushboolean(L, 1);
    return 1;
}

/* l4.set_window(fpage | nil): where received mappings land; returns the
 * old window (or nil). */
static int ipc_set_window(lua_State *L)
{
    struct l4b_state *st = l4b_state(L);
    uint64_t f = 0;
    if (!lua_isnoneornil(L, 1)) {
        f = l4b_checkfpage(L, 1);
        if (f & L4_FPAGE_IO)
            luaL_argerror(L, 1, "a receive window is a memory fpage");
        if (!l4b_in_free_area(L4_FPAGE_BASE(f), 1ull << L4_FPAGE_SIZE(f)))
            luaL_argerror(L, 1, "the window must lie in 0x100000000000-0x7f0000000000 "
                                "(the runtime's image, heap and stacks are outside)");
    }
    if (st->window)
        l4b_pushfpage(L, st->window);
    else
        lua_pushnil(L);
    st->window = f;
    return 1;
}

/* l4.set_buffers(count, size): the string receive buffers. */
static int ipc_set_buffers(lua_State *L)
{
    struct l4b_state *st = l4b_state(L);
    unsigned n = (unsigned)l4b_checkrange(L, 1, 0, 8, "count");
    uint32_t size = (uint32_t)l4b_checkrange(L, 2, 0, L4_STRING_MAX, "size");
    st->nbufs = n;
    st->bufsize = size;
    set_buffers(L, st);
    lua_pushboolean(L, 1);
    return 1;
}

uint64_t l4b_sigma0(lua_State *L, uint32_t label, unsigned n, uint64_t w0, uint64_t w1,
                    uint64_t window, uint64_t *fpage)
{
    struct l4b_state *st = l4b_state(L);
    uint64_t s0 = l4_kip()->sigma0, near;
    /* From a task outside sigma0's clan (a Lua task) the request would go
     * to its chief, which does not answer it: the call would never end
     * (found by tests/lua/fuzz_l4.lua). Only a direct line will do. */
    if (!s0 || l4_id_nearest(s0, &near) != L4_NEAREST_SAME)
        return 0x100 + L4_IPC_NOPARTNER;
    struct l4_msg m = { 0 };
    m.w[0] = w0;
    m.w[1] = w1;
    st->utcb->rcv_window = window;
    uint64_t r = l4_ipc(s0, L4_TAG(label, n, 0), L4_RCV_MAPS, 0, &m, NULL);
    if (L4_IPC_ERR(r) != L4_IPC_OK)
        return 0x100 + L4_IPC_ERR(r);
    if (L4_TAG_U(m.tag) < 1)
        return 0x100 + L4_IPC_INVAL;
    if (m.w[0] != L4_SIGMA0_OK)
        return m.w[0];
    if (L4_TAG_T(m.tag) != 1)
        return 0x100 + L4_IPC_MAP_FAILED;
    if (fpage)
        *fpage = *l4_mr(&m, st->utcb, L4_TAG_U(m.tag) + 1);
    return L4_SIGMA0_OK;
}

int l4b_open_ipc(lua_State *L)
{
    static const luaL_Reg msg_fns[] = {
        { "send", ipc_send }, { "reply", ipc_reply }, { "call", ipc_call },
        { "reply_wait", ipc_reply_wait }, { "receive", ipc_receive },
        { "pager_loop", ipc_pager_loop }, { "serve", ipc_serve }, { NULL, NULL } };
    static const luaL_Reg fns[] = {
        { "sleep", ipc_sleep }, { "set_window", ipc_set_window },
        { "set_buffers", ipc_set_buffers }, { NULL, NULL } };
    struct l4b_state *st = l4b_state(L);
    st->last_id = NULL;
    lua_pushboolean(L, 0);
    st->last_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    /* The state in the extra space of this thread and of the main thread
     * (whose extra space new coroutines copy); pinned, so that a
     * coroutine still holding it, should the library be opened again in
     * this Lua state, holds a live one. */
    *(struct l4b_state **)lua_getextraspace(L) = st;
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
    *(struct l4b_state **)lua_getextraspace(lua_tothread(L, -1)) = st;
    lua_pop(L, 1);
    l4b_push_state(L);
    luaL_ref(L, LUA_REGISTRYINDEX);
    l4b_push_ids(L);
    luaL_getmetatable(L, L4B_ID);
    lua_pushliteral(L, "pagefault");
    lua_pushliteral(L, "r");
    lua_pushliteral(L, "w");
    lua_pushliteral(L, "x");
    for (int i = 6; i >= 1; i--)    /* the same upvalues for take_protected */
        lua_pushvalue(L, -6);
    lua_pushcclosure(L, take_protected, 6);
    st->take_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    luaL_setfuncs(L, msg_fns, 6);
    luaL_setfuncs(L, fns, 0);
    return 0;
}
