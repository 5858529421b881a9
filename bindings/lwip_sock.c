/* The lwip module's sockets (docs/network.md): TCP and UDP on lwIP's raw
 * API. The network service (scripts/net.lua) holds one per client socket;
 * nothing here blocks or calls Lua: lwIP's callbacks record what happened
 * and the service asks when it serves a request.
 *
 *   local t = lwip.tcp()
 *   t:bind(addr, port)  t:listen([backlog])  t:connect(addr, port)  --> true | nil, msg, code
 *   t:accept()          --> a new tcp | nil (none waiting)
 *   t:status()          --> "idle" | "connecting" | "connected" | "listening" | "closed", [why]
 *   t:send(data [, i [, j]]) --> bytes taken (0: the send buffer is full) | nil, msg, code
 *   t:recv(max)         --> bytes ("" if none yet), eof (the peer closed its side)
 *   t:pending()         --> bytes received and not read, connections waiting (listener)
 *   t:sendroom()        --> bytes send() would take now
 *   t:sockname()  t:peername()  --> addr, port
 *   t:close()           --> true (also __gc and __close)
 *
 *   local u = lwip.udp()
 *   u:bind(addr, port)  u:sendto(data, addr, port)   --> true | nil, msg, code
 *   u:recvfrom()        --> data, addr, port | nil (none waiting)
 *   u:pending()         --> datagrams waiting
 *   u:sockname()  u:close()
 *
 * Flow control: received data stays in lwIP's pbufs until recv takes it,
 * and only then is it acknowledged to the peer (tcp_recved), so a reader
 * that does not read closes its window: a connection holds at most
 * TCP_WND bytes here. A listener keeps at most its backlog of accepted
 * connections (lwIP refuses SYNs beyond it); a UDP socket UDP_QUEUE
 * datagrams (later ones are dropped and counted).
 *
 * Lifetime: a connection's state is a malloc'd struct conn the userdata
 * points to (lwIP's callbacks get it as their arg). lwIP frees a pcb on a
 * reset or an error and tells the err callback, which clears c->pcb; the
 * userdata's close detaches the callbacks before it closes the pcb, so no
 * callback ever sees a freed conn. */
#include <stdlib.h>
#include <string.h>

#include "lwip/tcp.h"
#include "lwip/udp.h"
#include "lwipb.h"

#define UDP_QUEUE 64            /* datagrams a UDP socket keeps */
#define BACKLOG_MAX 128

struct conn {
    struct tcp_pcb *pcb;        /* NULL: closed, or lwIP freed it (err says why) */
    struct pbuf *rx;            /* received, not yet read (a chain) */
    err_t err;                  /* why lwIP dropped the connection (ERR_OK: it did not) */
    int eof;                    /* the peer sent FIN */
    int listening, connecting, connected;
    struct conn **queue;        /* a listener's accepted connections, not yet taken */
    int qlen, qmax;
};

struct dgram {
    struct dgram *next;
    ip_addr_t addr;
    u16_t port, len;
    char data[];
};

struct udpc {
    struct udp_pcb *pcb;        /* NULL once closed */
    struct dgram *head, *tail;
    int count;
};

static struct conn **checkconn(lua_State *L)
{
    return luaL_checkudata(L, 1, LWIPB_TCP);
}

/* The open connection of argument 1 (an error if it was closed here). */
static struct conn *openconn(lua_State *L)
{
    struct conn *c = *checkconn(L);
    if (!c)
        luaL_error(L, "attempt to use a closed socket");
    return c;
}

/* ---- lwIP's callbacks ---- */

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    struct conn *c = arg;
    (void)err;
    if (!c) {                   /* not ours any more: take and drop */
        if (p) {
            tcp_recved(pcb, p->tot_len);
            pbuf_free(p);
        }
        return ERR_OK;
    }
    if (!p) {
        c->eof = 1;
        return ERR_OK;
    }
    if (c->rx)
        pbuf_cat(c->rx, p);
    else
        c->rx = p;
    return ERR_OK;
}

static void on_err(void *arg, err_t err)
{
    struct conn *c = arg;
    if (!c)
        return;
    c->pcb = NULL;              /* lwIP freed it */
    c->err = err;
    c->connecting = 0;
}

static err_t on_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
    struct conn *c = arg;
    (void)pcb;
    if (c) {
        c->connecting = 0;
        c->connected = err == ERR_OK;
    }
    return ERR_OK;
}

static struct conn *conn_new(void)
{
    return calloc(1, sizeof(struct conn));
}

static void attach(struct conn *c, struct tcp_pcb *pcb)
{
    c->pcb = pcb;
    tcp_arg(pcb, c);
    tcp_recv(pcb, on_recv);
    tcp_err(pcb, on_err);
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
    struct conn *l = arg;
    if (err != ERR_OK || !pcb)
        return ERR_VAL;
    struct conn *c = (l && l->qlen < l->qmax) ? conn_new() : NULL;
    if (!c) {
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    attach(c, pcb);
    c->connected = 1;
    l->queue[l->qlen++] = c;
    return ERR_OK;
}

/* Closes and frees a connection's state (the pcb closed, or aborted if
 * lwIP has no memory for the FIN; a listener's waiting ones too). */
static void conn_free(struct conn *c)
{
    if (c->pcb) {
        struct tcp_pcb *pcb = c->pcb;
        tcp_arg(pcb, NULL);
        if (c->listening) {
            tcp_accept(pcb, NULL);
            tcp_close(pcb);
        } else {
            tcp_err(pcb, NULL);
            tcp_recv(pcb, NULL);
            if (c->rx)
                tcp_recved(pcb, c->rx->tot_len);
            if (tcp_close(pcb) != ERR_OK)
                tcp_abort(pcb);
        }
    }
    if (c->rx)
        pbuf_free(c->rx);
    for (int i = 0; i < c->qlen; i++)
        conn_free(c->queue[i]);
    free(c->queue);
    free(c);
}

/* ---- TCP ---- */

static int t_new(lua_State *L)
{
    if (!lwipb_started())
        return luaL_error(L, "lwip: the stack is not started (lwip.start first)");
    struct conn **u = lua_newuserdatauv(L, sizeof *u, 0);   /* the handle first */
    *u = NULL;
    luaL_setmetatable(L, LWIPB_TCP);
    struct conn *c = conn_new();
    struct tcp_pcb *pcb = c ? tcp_new() : NULL;
    if (!pcb) {
        free(c);
        return lwipb_fail(L, ERR_MEM);
    }
    attach(c, pcb);
    *u = c;
    return 1;
}

static int t_close(lua_State *L)
{
    struct conn **u = checkconn(L);
    if (*u) {
        conn_free(*u);
        *u = NULL;
    }
    lua_pushboolean(L, 1);
    return 1;
}

static int t_bind(lua_State *L)
{
    struct conn *c = openconn(L);
    ip_addr_t a;
    lwipb_checkaddr(L, 2, &a);
    u16_t port = lwipb_checkport(L, 3);
    if (!c->pcb || c->listening || c->connected || c->connecting)
        return lwipb_fail(L, ERR_ISCONN);
    /* as LuaSocket's socket.bind and most servers do: a listener that
     * comes back binds its port again at once (lwipopts.h SO_REUSE) */
    ip_set_option(c->pcb, SOF_REUSEADDR);
    err_t e = tcp_bind(c->pcb, &a, port);
    if (e != ERR_OK)
        return lwipb_fail(L, e);
    lua_pushboolean(L, 1);
    return 1;
}

static int t_listen(lua_State *L)
{
    struct conn *c = openconn(L);
    lua_Integer backlog = luaL_optinteger(L, 2, 32);
    luaL_argcheck(L, backlog >= 1 && backlog <= BACKLOG_MAX, 2, "backlog: 1-128");
    if (!c->pcb || c->listening || c->connected || c->connecting)
        return lwipb_fail(L, ERR_ISCONN);
    struct conn **q = calloc((size_t)backlog, sizeof *q);
    if (!q)
        return lwipb_fail(L, ERR_MEM);
    err_t e = ERR_OK;
    struct tcp_pcb *lp = tcp_listen_with_backlog_and_err(c->pcb, (u8_t)backlog, &e);
    if (!lp) {
        free(q);
        return lwipb_fail(L, e);
    }
    c->pcb = lp;                /* the old pcb is freed by lwIP */
    c->listening = 1;
    c->queue = q;
    c->qmax = (int)backlog;
    tcp_arg(lp, c);
    tcp_accept(lp, on_accept);
    lua_pushboolean(L, 1);
    return 1;
}

static int t_accept(lua_State *L)
{
    struct conn *c = openconn(L);
    if (!c->listening)
        return luaL_error(L, "accept: the socket is not listening");
    struct conn **u = lua_newuserdatauv(L, sizeof *u, 0);     /* the handle first */
    *u = NULL;
    luaL_setmetatable(L, LWIPB_TCP);
    while (c->qlen > 0) {
        struct conn *n = c->queue[0];
        memmove(c->queue, c->queue + 1, (size_t)(c->qlen - 1) * sizeof *c->queue);
        c->qlen--;
        if (n->pcb)
            tcp_backlog_accepted(n->pcb);
        if (!n->pcb && !n->rx) {        /* reset before it was taken */
            conn_free(n);
            continue;
        }
        *u = n;
        return 1;
    }
    lua_pushnil(L);
    return 1;
}

static int t_connect(lua_State *L)
{
    struct conn *c = openconn(L);
    ip_addr_t a;
    lwipb_checkaddr(L, 2, &a);
    u16_t port = lwipb_checkport(L, 3);
    luaL_argcheck(L, port != 0, 3, "port 0 cannot be connected to");
    if (!c->pcb || c->listening || c->connected || c->connecting)
        return lwipb_fail(L, ERR_ISCONN);
    err_t e = tcp_connect(c->pcb, &a, port, on_connected);
    if (e != ERR_OK)
        return lwipb_fail(L, e);
    c->connecting = 1;
    lua_pushboolean(L, 1);
    return 1;
}

static int t_status(lua_State *L)
{
    struct conn *c = *checkconn(L);
    if (!c) {
        lua_pushliteral(L, "closed");
        return 1;
    }
    if (!c->pcb) {
        lua_pushliteral(L, "closed");
        if (c->err == ERR_OK)
            return 1;
        lwipb_fail(L, c->err);
        lua_remove(L, -3);      /* nil */
        lua_pop(L, 1);          /* the code */
        return 2;
    }
    lua_pushstring(L, c->listening ? "listening" : c->connecting ? "connecting"
                    : c->connected ? "connected" : "idle");
    return 1;
}

static int t_send(lua_State *L)
{
    struct conn *c = openconn(L);
    size_t len;
    const char *s = luaL_checklstring(L, 2, &len);
    lua_Integer i = luaL_optinteger(L, 3, 1), j = luaL_optinteger(L, 4, (lua_Integer)len);
    if (i < 1) i = 1;
    if (j > (lua_Integer)len) j = (lua_Integer)len;
    if (!c->pcb)
        return lwipb_fail(L, c->err != ERR_OK ? c->err : ERR_CLSD);
    if (!c->connected)
        return lwipb_fail(L, ERR_CONN);
    size_t want = i > j ? 0 : (size_t)(j - i + 1);
    size_t room = tcp_sndbuf(c->pcb);
    size_t n = want < room ? want : room;
    if (n > 0xffff)
        n = 0xffff;
    if (n > 0) {
        err_t e = tcp_write(c->pcb, s + i - 1, (u16_t)n, TCP_WRITE_FLAG_COPY);
        if (e == ERR_MEM)
            n = 0;              /* queue full: later */
        else if (e != ERR_OK)
            return lwipb_fail(L, e);
    }
    tcp_output(c->pcb);
    lua_pushinteger(L, (lua_Integer)n);
    return 1;
}

static int t_recv(lua_State *L)
{
    struct conn *c = openconn(L);
    lua_Integer max = luaL_checkinteger(L, 2);
    luaL_argcheck(L, max >= 1, 2, "max must be >= 1");
    size_t n = c->rx ? c->rx->tot_len : 0;
    if ((lua_Integer)n > max)
        n = (size_t)max;
    if (n == 0) {
        lua_pushliteral(L, "");
    } else {
        luaL_Buffer b;
        char *p = luaL_buffinitsize(L, &b, n);
        pbuf_copy_partial(c->rx, p, (u16_t)n, 0);
        luaL_pushresultsize(&b, n);
        c->rx = pbuf_free_header(c->rx, (u16_t)n);
        if (c->pcb)
            tcp_recved(c->pcb, (u16_t)n);
    }
    lua_pushboolean(L, c->eof || (!c->pcb && !c->rx));
    return 2;
}

static int t_pending(lua_State *L)
{
    struct conn *c = openconn(L);
    lua_pushinteger(L, c->rx ? c->rx->tot_len : 0);
    lua_pushinteger(L, c->qlen);
    return 2;
}

static int t_sendroom(lua_State *L)
{
    struct conn *c = openconn(L);
    lua_pushinteger(L, c->pcb && c->connected ? tcp_sndbuf(c->pcb) : 0);
    return 1;
}

/* Bytes sent and not yet acknowledged (so a close can wait for them). */
static int t_unacked(lua_State *L)
{
    struct conn *c = openconn(L);
    lua_pushinteger(L, c->pcb && c->connected ? TCP_SND_BUF - tcp_sndbuf(c->pcb) : 0);
    return 1;
}

static int t_names(lua_State *L, int peer)
{
    struct conn *c = openconn(L);
    if (!c->pcb || (peer && !c->connected))
        return lwipb_fail(L, c->pcb ? ERR_CONN : ERR_CLSD);
    lwipb_pushaddr(L, peer ? &c->pcb->remote_ip : &c->pcb->local_ip);
    lua_pushinteger(L, peer ? c->pcb->remote_port : c->pcb->local_port);
    return 2;
}
static int t_sockname(lua_State *L) { return t_names(L, 0); }
static int t_peername(lua_State *L) { return t_names(L, 1); }

static int t_tostring(lua_State *L)
{
    struct conn *c = *checkconn(L);
    lua_pushfstring(L, "lwip.tcp (%s)", !c ? "closed" : c->listening ? "listening"
                    : c->connected ? "connected" : c->pcb ? "idle" : "closed");
    return 1;
}

/* ---- UDP ---- */

static struct udpc *checkudp(lua_State *L)
{
    struct udpc *u = luaL_checkudata(L, 1, LWIPB_UDP);
    if (!u->pcb)
        luaL_error(L, "attempt to use a closed socket");
    return u;
}

static void on_udp(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *a, u16_t port)
{
    struct udpc *u = arg;
    (void)pcb;
    struct dgram *d = NULL;
    if (u && u->count < UDP_QUEUE)
        d = malloc(sizeof *d + p->tot_len);
    if (!d) {
        UDP_STATS_INC(udp.drop);
        pbuf_free(p);
        return;
    }
    d->next = NULL;
    d->addr = *a;
    d->port = port;
    d->len = p->tot_len;
    pbuf_copy_partial(p, d->data, p->tot_len, 0);
    pbuf_free(p);
    if (u->tail)
        u->tail->next = d;
    else
        u->head = d;
    u->tail = d;
    u->count++;
}

static int u_new(lua_State *L)
{
    if (!lwipb_started())
        return luaL_error(L, "lwip: the stack is not started (lwip.start first)");
    struct udpc *u = lua_newuserdatauv(L, sizeof *u, 0);
    memset(u, 0, sizeof *u);
    luaL_setmetatable(L, LWIPB_UDP);
    u->pcb = udp_new();
    if (!u->pcb)
        return lwipb_fail(L, ERR_MEM);
    udp_recv(u->pcb, on_udp, u);
    return 1;
}

static int u_close(lua_State *L)
{
    struct udpc *u = luaL_checkudata(L, 1, LWIPB_UDP);
    if (u->pcb) {
        udp_remove(u->pcb);
        u->pcb = NULL;
    }
    while (u->head) {
        struct dgram *d = u->head;
        u->head = d->next;
        free(d);
    }
    u->tail = NULL;
    u->count = 0;
    lua_pushboolean(L, 1);
    return 1;
}

static int u_bind(lua_State *L)
{
    struct udpc *u = checkudp(L);
    ip_addr_t a;
    lwipb_checkaddr(L, 2, &a);
    err_t e = udp_bind(u->pcb, &a, lwipb_checkport(L, 3));
    if (e != ERR_OK)
        return lwipb_fail(L, e);
    lua_pushboolean(L, 1);
    return 1;
}

static int u_sendto(lua_State *L)
{
    struct udpc *u = checkudp(L);
    size_t len;
    const char *s = luaL_checklstring(L, 2, &len);
    ip_addr_t a;
    lwipb_checkaddr(L, 3, &a);
    u16_t port = lwipb_checkport(L, 4);
    luaL_argcheck(L, port != 0, 4, "port 0 cannot be sent to");
    luaL_argcheck(L, len <= 65507, 2, "a datagram holds at most 65507 bytes");
    struct pbuf *p = pbuf_alloc(PBUF_TRANSPORT, (u16_t)len, PBUF_RAM);
    if (!p)
        return lwipb_fail(L, ERR_MEM);
    pbuf_take(p, s, (u16_t)len);
    err_t e = udp_sendto(u->pcb, p, &a, port);
    pbuf_free(p);
    if (e != ERR_OK)
        return lwipb_fail(L, e);
    lua_pushboolean(L, 1);
    return 1;
}

static int u_recvfrom(lua_State *L)
{
    struct udpc *u = checkudp(L);
    struct dgram *d = u->head;
    if (!d) {
        lua_pushnil(L);
        return 1;
    }
    lua_pushlstring(L, d->data, d->len);    /* may raise: d is still queued */
    lwipb_pushaddr(L, &d->addr);
    lua_pushinteger(L, d->port);
    u->head = d->next;
    if (!u->head)
        u->tail = NULL;
    u->count--;
    free(d);
    return 3;
}

static int u_pending(lua_State *L)
{
    lua_pushinteger(L, checkudp(L)->count);
    return 1;
}

static int u_sockname(lua_State *L)
{
    struct udpc *u = checkudp(L);
    lwipb_pushaddr(L, &u->pcb->local_ip);
    lua_pushinteger(L, u->pcb->local_port);
    return 2;
}

static int u_tostring(lua_State *L)
{
    struct udpc *u = luaL_checkudata(L, 1, LWIPB_UDP);
    lua_pushfstring(L, "lwip.udp (%s)", u->pcb ? "open" : "closed");
    return 1;
}

static void newclass(lua_State *L, const char *name, const luaL_Reg *methods,
                     lua_CFunction close, lua_CFunction tostring)
{
    luaL_newmetatable(L, name);
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, close);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, close);
    lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);
}

void lwipb_open_sockets(lua_State *L)
{
    static const luaL_Reg tcp[] = {
        { "bind", t_bind }, { "listen", t_listen }, { "accept", t_accept },
        { "connect", t_connect }, { "status", t_status }, { "send", t_send },
        { "recv", t_recv }, { "pending", t_pending }, { "sendroom", t_sendroom },
        { "unacked", t_unacked }, { "sockname", t_sockname }, { "peername", t_peername },
        { "close", t_close }, { NULL, NULL } };
    static const luaL_Reg udp[] = {
        { "bind", u_bind }, { "sendto", u_sendto }, { "recvfrom", u_recvfrom },
        { "pending", u_pending }, { "sockname", u_sockname }, { "close", u_close },
        { NULL, NULL } };
    newclass(L, LWIPB_TCP, tcp, t_close, t_tostring);
    newclass(L, LWIPB_UDP, udp, u_close, u_tostring);
    lua_pushcfunction(L, t_new);
    lua_setfield(L, -2, "tcp");
    lua_pushcfunction(L, u_new);
    lua_setfield(L, -2, "udp");
}
