/* The lwip module (docs/network.md): Debian's lwIP (tools/deps/build.sh)
 * with the raw API and no OS (NO_SYS), for the network service
 * (scripts/net.lua), which runs it from one Lua loop in one thread:
 *
 *   local lwip = require "lwip"
 *   lwip.start(mac [, {ip =, netmask =, gw =, hostname =}])  -- the interface, up;
 *                                     -- without ip: DHCP
 *   lwip.input(frames)    --> frames taken   (Ethernet frames, each after its
 *                                             length in 2 bytes, big-endian)
 *   lwip.output([max])    --> frames | nil   (what lwIP sent, packed the same,
 *                                             whole frames up to max bytes)
 *   lwip.poll()           --> ms until lwIP's next timer (its timers due now run)
 *   lwip.ifconfig()       --> {ip =, netmask =, gw =, dns = {...}, dhcp = bool, up = bool}
 *   lwip.resolve(name)    --> "a.b.c.d" (a literal, or cached) | n (asked: a request)
 *                             | nil, message
 *   lwip.resolved(n)      --> nil (not yet) | "a.b.c.d" | false, message
 *   lwip.stats()          --> {link = {xmit =, recv =, drop =, ...}, ip =, tcp =, udp =, ...}
 *   lwip.tcp(), lwip.udp() --> sockets (bindings/lwip_sock.c)
 *   lwip.version          lwIP's own (LWIP_VERSION_STRING of the headers built
 *                         against: "2.1.3")
 *   lwip.debian, lwip.patches  the Debian source package built ("lwip
 *                         2.1.3+dfsg1-2") and its patches applied, in order
 *                         (tools/deps/build.sh writes l4ua_lwip_source.h)
 *
 * Nothing here calls back into Lua: lwIP's callbacks record what happened
 * in C (frames to send, a connection's bytes, a DNS answer) and the loop
 * asks. lwIP's memory is the task's heap (MEM_LIBC_MALLOC): it is bounded
 * by the task's memcap, and lwIP fails an allocation with ERR_MEM. The
 * queue of frames to send is bounded too (OUT_MAX): frames beyond it are
 * dropped and counted (the link's drop counter), as a full NIC would. */
#include <stdlib.h>
#include <string.h>

#include "lwip/dhcp.h"
#include "lwip/dns.h"
#include "lwip/etharp.h"
#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/stats.h"
#include "lwip/timeouts.h"
#include "l4ua_lwip_source.h"
#include "lwipb.h"
#include "l4/syscalls.h"
#include "netif/ethernet.h"

#define OUT_MAX (256u << 10)    /* bytes of frames waiting for lwip.output */
#define DNS_SLOTS 16            /* name requests in flight at once */

static struct netif nif;
static int started;
static struct {                 /* frames lwIP sent, packed, not yet taken */
    unsigned char *buf;
    size_t len, cap;
} out;

int lwipb_started(void) { return started; }

/* lwIP's clock: milliseconds since boot (the KIP's clock). */
u32_t sys_now(void)
{
    return (u32_t)(l4_kip()->clock_us / 1000);
}

/* LWIP_RAND (tools/deps/lwip/arch/cc.h): the TSC through a xorshift;
 * enough to make ports, ids and sequence numbers differ between boots
 * and connections, not a cryptographic source. */
unsigned int l4ua_lwip_rand(void)
{
    static uint64_t x;
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    x ^= ((uint64_t)hi << 32 | lo) * 0x9e3779b97f4a7c15ull;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return (unsigned int)(x >> 16);
}

/* ---- the interface ---- */

/* lwIP hands a frame to send: appended to `out` (2-byte length first). */
static err_t linkoutput(struct netif *n, struct pbuf *p)
{
    (void)n;
    size_t need = out.len + 2 + p->tot_len;
    if (need > OUT_MAX) {
        LINK_STATS_INC(link.drop);
        return ERR_OK;          /* dropped: TCP sends it again, UDP loses it */
    }
    if (need > out.cap) {
        size_t cap = out.cap ? out.cap : 16384;
        while (cap < need)
            cap *= 2;
        unsigned char *b = realloc(out.buf, cap);
        if (!b) {
            LINK_STATS_INC(link.memerr);
            return ERR_MEM;
        }
        out.buf = b;
        out.cap = cap;
    }
    out.buf[out.len] = (unsigned char)(p->tot_len >> 8);
    out.buf[out.len + 1] = (unsigned char)p->tot_len;
    pbuf_copy_partial(p, out.buf + out.len + 2, p->tot_len, 0);
    out.len += 2 + p->tot_len;
    LINK_STATS_INC(link.xmit);
    return ERR_OK;
}

static err_t nif_init(struct netif *n)
{
    n->name[0] = 'e';
    n->name[1] = 'n';
    n->mtu = 1500;
    n->hwaddr_len = ETH_HWADDR_LEN;
    n->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET;
    n->output = etharp_output;
    n->linkoutput = linkoutput;
    return ERR_OK;
}

static void optaddr(lua_State *L, int t, const char *field, ip4_addr_t *a)
{
    ip4_addr_set_any(a);
    if (lua_getfield(L, t, field) != LUA_TNIL) {
        const char *s = lua_tostring(L, -1);
        if (!s || !ip4addr_aton(s, a))
            luaL_error(L, "lwip.start: %s must be an IPv4 address like \"10.0.2.15\"", field);
    }
    lua_pop(L, 1);
}

/* lwip.start(mac [, opts]) -> true. Once per task. */
static int l_start(lua_State *L)
{
    size_t maclen;
    const char *mac = luaL_checklstring(L, 1, &maclen);
    luaL_argcheck(L, maclen == ETH_HWADDR_LEN, 1, "a MAC address is 6 bytes");
    if (!lua_isnoneornil(L, 2))
        luaL_checktype(L, 2, LUA_TTABLE);
    if (started)
        return luaL_error(L, "lwip.start: the stack runs already (once per task)");
    ip4_addr_t ip, mask, gw;
    int dhcp = 1;
    static char hostname[32] = "l4ua";
    if (lua_istable(L, 2)) {
        optaddr(L, 2, "ip", &ip);
        optaddr(L, 2, "netmask", &mask);
        optaddr(L, 2, "gw", &gw);
        dhcp = ip4_addr_isany_val(ip);
        if (lua_getfield(L, 2, "hostname") == LUA_TSTRING) {
            size_t n;
            const char *h = lua_tolstring(L, -1, &n);
            luaL_argcheck(L, n > 0 && n < sizeof hostname, 2, "hostname: 1-31 bytes");
            memcpy(hostname, h, n + 1);
        }
        lua_pop(L, 1);
    } else {
        ip4_addr_set_any(&ip);
        ip4_addr_set_any(&mask);
        ip4_addr_set_any(&gw);
    }
    lwip_init();
    if (!netif_add(&nif, &ip, &mask, &gw, NULL, nif_init, ethernet_input))
        return luaL_error(L, "lwip.start: netif_add failed");
    memcpy(nif.hwaddr, mac, ETH_HWADDR_LEN);
    netif_set_hostname(&nif, hostname);
    netif_set_default(&nif);
    netif_set_up(&nif);
    netif_set_link_up(&nif);
    started = 1;
    if (dhcp) {
        err_t e = dhcp_start(&nif);
        if (e != ERR_OK)
            return lwipb_fail(L, e);
    }
    lua_pushboolean(L, 1);
    return 1;
}

static void check_started(lua_State *L)
{
    if (!started)
        luaL_error(L, "lwip: the stack is not started (lwip.start first)");
}

/* lwip.input(frames) -> how many frames lwIP took */
static int l_input(lua_State *L)
{
    size_t len;
    const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &len);
    check_started(L);
    size_t at = 0;
    lua_Integer n = 0;
    while (at + 2 <= len) {
        size_t flen = (size_t)s[at] << 8 | s[at + 1];
        at += 2;
        if (flen > len - at)
            break;              /* a cut frame ends the batch */
        struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)flen, PBUF_RAM);
        if (!p) {
            LINK_STATS_INC(link.memerr);
            LINK_STATS_INC(link.drop);
        } else {
            pbuf_take(p, s + at, (u16_t)flen);
            LINK_STATS_INC(link.recv);
            if (nif.input(p, &nif) != ERR_OK)
                pbuf_free(p);
            else
                n++;
        }
        at += flen;
    }
    lua_pushinteger(L, n);
    return 1;
}

/* lwip.output([max]) -> the frames waiting, whole ones up to max bytes
 * (default 64 KiB, a message's string), or nil if none */
static int l_output(lua_State *L)
{
    size_t max = (size_t)luaL_optinteger(L, 1, 64 << 10);
    size_t take = 0;
    while (take + 2 <= out.len) {
        size_t f = 2 + ((size_t)out.buf[take] << 8 | out.buf[take + 1]);
        if (take + f > max)
            break;
        take += f;
    }
    if (take == 0) {
        lua_pushnil(L);
        return 1;
    }
    lua_pushlstring(L, (const char *)out.buf, take);
    memmove(out.buf, out.buf + take, out.len - take);
    out.len -= take;
    return 1;
}

/* lwip.poll() -> ms until the next timer (lwIP's timers due now run) */
static int l_poll(lua_State *L)
{
    check_started(L);
    sys_check_timeouts();
    u32_t ms = sys_timeouts_sleeptime();
    lua_pushinteger(L, ms == SYS_TIMEOUTS_SLEEPTIME_INFINITE ? 1000 : (lua_Integer)ms);
    return 1;
}

static void setaddr(lua_State *L, const char *field, const ip4_addr_t *a)
{
    char buf[IP4ADDR_STRLEN_MAX];
    lua_pushstring(L, ip4addr_ntoa_r(a, buf, sizeof buf));
    lua_setfield(L, -2, field);
}

static int l_ifconfig(lua_State *L)
{
    check_started(L);
    lua_createtable(L, 0, 6);
    setaddr(L, "ip", netif_ip4_addr(&nif));
    setaddr(L, "netmask", netif_ip4_netmask(&nif));
    setaddr(L, "gw", netif_ip4_gw(&nif));
    lua_createtable(L, DNS_MAX_SERVERS, 0);
    int k = 0;
    for (u8_t i = 0; i < DNS_MAX_SERVERS; i++) {
        const ip_addr_t *d = dns_getserver(i);
        if (!ip_addr_isany(d)) {
            lwipb_pushaddr(L, d);
            lua_rawseti(L, -2, ++k);
        }
    }
    lua_setfield(L, -2, "dns");
    lua_pushboolean(L, dhcp_supplied_address(&nif));
    lua_setfield(L, -2, "dhcp");
    lua_pushboolean(L, netif_is_up(&nif) && !ip4_addr_isany_val(*netif_ip4_addr(&nif)));
    lua_setfield(L, -2, "up");
    char mac[18];
    snprintf(mac, sizeof mac, "%02x:%02x:%02x:%02x:%02x:%02x", nif.hwaddr[0], nif.hwaddr[1],
             nif.hwaddr[2], nif.hwaddr[3], nif.hwaddr[4], nif.hwaddr[5]);
    lua_pushstring(L, mac);
    lua_setfield(L, -2, "mac");
    return 1;
}

/* ---- DNS: requests in slots; lwIP's callback fills them in ---- */

static struct {
    int used, done, found;
    ip_addr_t addr;
} dns_slot[DNS_SLOTS];

static void dns_found_cb(const char *name, const ip_addr_t *a, void *arg)
{
    (void)name;
    uintptr_t i = (uintptr_t)arg;
    if (i >= DNS_SLOTS || !dns_slot[i].used)
        return;
    dns_slot[i].done = 1;
    dns_slot[i].found = a != NULL;
    if (a)
        dns_slot[i].addr = *a;
}

static int l_resolve(lua_State *L)
{
    size_t n;
    const char *name = luaL_checklstring(L, 1, &n);
    check_started(L);
    if (n == 0 || n > DNS_MAX_NAME_LENGTH || strlen(name) != n) {
        lua_pushnil(L);
        lua_pushfstring(L, "not a host name (1-%d bytes, no NUL)", DNS_MAX_NAME_LENGTH);
        return 2;
    }
    uintptr_t i = 0;
    while (i < DNS_SLOTS && dns_slot[i].used)
        i++;
    if (i == DNS_SLOTS) {
        lua_pushnil(L);
        lua_pushliteral(L, "too many names being resolved at once");
        return 2;
    }
    ip_addr_t a;
    dns_slot[i].used = 1;
    dns_slot[i].done = 0;
    err_t e = dns_gethostbyname(name, &a, dns_found_cb, (void *)i);
    if (e == ERR_OK) {
        dns_slot[i].used = 0;
        lwipb_pushaddr(L, &a);
        return 1;
    }
    if (e == ERR_INPROGRESS) {
        lua_pushinteger(L, (lua_Integer)i + 1);
        return 1;
    }
    dns_slot[i].used = 0;
    lua_pushnil(L);
    lua_pushfstring(L, "cannot resolve %s: %s", name,
                    e == ERR_VAL ? "no DNS server" : "lwIP refused the request");
    return 2;
}

/* lwip.resolved(n) -> nil (still asking) | address | false, message; a
 * request that answered is forgotten */
static int l_resolved(lua_State *L)
{
    lua_Integer n = luaL_checkinteger(L, 1);
    luaL_argcheck(L, n >= 1 && n <= DNS_SLOTS && dns_slot[n - 1].used, 1, "no such request");
    int i = (int)n - 1;
    if (!dns_slot[i].done) {
        lua_pushnil(L);
        return 1;
    }
    dns_slot[i].used = 0;
    if (dns_slot[i].found) {
        lwipb_pushaddr(L, &dns_slot[i].addr);
        return 1;
    }
    lua_pushboolean(L, 0);
    lua_pushliteral(L, "host not found");
    return 2;
}

/* ---- counters ---- */

static void proto(lua_State *L, const char *name, const struct stats_proto *p)
{
    lua_createtable(L, 0, 8);
#define F(x) lua_pushinteger(L, p->x); lua_setfield(L, -2, #x)
    F(xmit); F(recv); F(drop); F(chkerr); F(lenerr); F(memerr); F(rterr); F(proterr);
    F(opterr); F(err);
#undef F
    lua_setfield(L, -2, name);
}

static int l_stats(lua_State *L)
{
    lua_createtable(L, 0, 8);
    proto(L, "link", &lwip_stats.link);
    proto(L, "etharp", &lwip_stats.etharp);
    proto(L, "ip", &lwip_stats.ip);
    proto(L, "ip_frag", &lwip_stats.ip_frag);
    proto(L, "icmp", &lwip_stats.icmp);
    proto(L, "udp", &lwip_stats.udp);
    proto(L, "tcp", &lwip_stats.tcp);
    lua_pushinteger(L, (lua_Integer)out.len);
    lua_setfield(L, -2, "queued");
    return 1;
}

/* ---- helpers of both files ---- */

void lwipb_checkaddr(lua_State *L, int arg, ip_addr_t *outa)
{
    const char *s = luaL_checkstring(L, arg);
    if (strcmp(s, "*") == 0) {
        ip_addr_set_any(0, outa);
        return;
    }
    if (!ipaddr_aton(s, outa) || !IP_IS_V4(outa))
        luaL_argerror(L, arg, lua_pushfstring(L, "not an IPv4 address: '%s'", s));
}

void lwipb_pushaddr(lua_State *L, const ip_addr_t *a)
{
    char buf[IPADDR_STRLEN_MAX];
    lua_pushstring(L, ipaddr_ntoa_r(a, buf, sizeof buf));
}

u16_t lwipb_checkport(lua_State *L, int arg)
{
    lua_Integer p = luaL_checkinteger(L, arg);
    if (p < 0 || p > 65535)
        luaL_argerror(L, arg, lua_pushfstring(L, "port %I out of range (0-65535)", p));
    return (u16_t)p;
}

int lwipb_fail(lua_State *L, err_t e)
{
    lua_pushnil(L);
    switch (e) {
    case ERR_RST: lua_pushliteral(L, "connection reset"); break;
    case ERR_ABRT: lua_pushliteral(L, "connection aborted"); break;
    case ERR_CLSD: lua_pushliteral(L, "closed"); break;
    case ERR_USE: lua_pushliteral(L, "address already in use"); break;
    case ERR_RTE: lua_pushliteral(L, "no route to host"); break;
    case ERR_MEM: lua_pushliteral(L, "not enough memory"); break;
    case ERR_TIMEOUT: lua_pushliteral(L, "timeout"); break;
    case ERR_CONN: lua_pushliteral(L, "not connected"); break;
    case ERR_ISCONN: lua_pushliteral(L, "already connected"); break;
    case ERR_VAL: lua_pushliteral(L, "invalid value"); break;
    case ERR_ARG: lua_pushliteral(L, "invalid argument"); break;
    case ERR_BUF: lua_pushliteral(L, "buffer error"); break;
    default: lua_pushfstring(L, "lwIP error %d", (int)e); break;
    }
    lua_pushinteger(L, e);
    return 3;
}

int luaopen_lwip(lua_State *L)
{
    static const luaL_Reg fns[] = {
        { "start", l_start }, { "input", l_input }, { "output", l_output },
        { "poll", l_poll }, { "ifconfig", l_ifconfig }, { "resolve", l_resolve },
        { "resolved", l_resolved }, { "stats", l_stats }, { NULL, NULL } };
    luaL_newlib(L, fns);
    lua_pushliteral(L, LWIP_VERSION_STRING);
    lua_setfield(L, -2, "version");
    lua_pushliteral(L, L4UA_LWIP_DEBIAN);
    lua_setfield(L, -2, "debian");
    lua_pushliteral(L, L4UA_LWIP_PATCHES);
    lua_setfield(L, -2, "patches");
    lwipb_open_sockets(L);
    return 1;
}
