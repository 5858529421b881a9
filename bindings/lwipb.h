/* The lwip module's parts (bindings/lwip.c: the interface, frames, timers,
 * DNS; bindings/lwip_sock.c: TCP and UDP sockets). docs/network.md. */
#pragma once
#include "lauxlib.h"
#include "lua.h"
#include "lwip/ip_addr.h"

#define LWIPB_TCP "lwip.tcp"
#define LWIPB_UDP "lwip.udp"

/* Whether lwip.start ran in this task (sockets need the stack). */
int lwipb_started(void);
/* An IPv4 address argument ("10.0.2.2", or "*" / "0.0.0.0" for any). */
void lwipb_checkaddr(lua_State *L, int arg, ip_addr_t *out);
void lwipb_pushaddr(lua_State *L, const ip_addr_t *a);
/* A port argument, 0-65535 (0: lwIP picks one when binding). */
u16_t lwipb_checkport(lua_State *L, int arg);
/* nil, lwIP's error as words, and its code (negative, lwIP's err_t). */
int lwipb_fail(lua_State *L, err_t e);

void lwipb_open_sockets(lua_State *L);  /* the metatables; tcp, udp in the module */
