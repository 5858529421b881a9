/* lwIP's configuration for L4ua's network service (docs/network.md): the
 * raw API without an OS (NO_SYS), driven by one Lua loop in one thread
 * (scripts/net.lua through bindings/lwip.c): no locks, no sockets layer,
 * IPv4 with ARP, DHCP, DNS, UDP and TCP. Every option not named here is
 * opt.h's default. */
#ifndef L4UA_LWIPOPTS_H
#define L4UA_LWIPOPTS_H

#define NO_SYS                      1
#define SYS_LIGHTWEIGHT_PROT        0
#define LWIP_SOCKET                 0
#define LWIP_NETCONN                0
#define LWIP_SINGLE_NETIF           1
#define LWIP_IPV4                   1
#define LWIP_IPV6                   0

/* Memory: malloc (the task's heap, bounded by its memcap) for the heap and
 * the pools alike, so that lwIP's state costs nothing in the other tasks,
 * which share this runtime's image. Counts are bounded by the Lua policy
 * (how many sockets a client may hold), not by pool sizes. */
#define MEM_LIBC_MALLOC             1
#define MEMP_MEM_MALLOC             1
#define MEM_ALIGNMENT               8
#define PBUF_POOL_SIZE              64

#define LWIP_ARP                    1
#define LWIP_ETHERNET               1
#define ETH_PAD_SIZE                0
#define ARP_QUEUEING                1
#define LWIP_ICMP                   1
#define LWIP_RAW                    0
#define LWIP_IGMP                   0
#define LWIP_AUTOIP                 0
#define IP_REASSEMBLY               1
#define IP_FRAG                     1

#define LWIP_DHCP                   1
#define LWIP_DNS                    1
#define DNS_MAX_SERVERS             2
#define DNS_TABLE_SIZE              8
#define LWIP_UDP                    1
#define LWIP_TCP                    1

/* TCP: a window of 40 segments (no window scaling: under 64 KiB) and as
 * much send buffer; the service copies data in (TCP_WRITE_FLAG_COPY) and
 * acknowledges received data only when a client took it, so a client
 * that does not read closes its own window. */
#define TCP_MSS                     1460
#define TCP_WND                     (40 * TCP_MSS)
#define TCP_SND_BUF                 (40 * TCP_MSS)
#define TCP_SND_QUEUELEN            (4 * TCP_SND_BUF / TCP_MSS)
#define MEMP_NUM_TCP_SEG            TCP_SND_QUEUELEN
#define TCP_LISTEN_BACKLOG          1
#define LWIP_TCP_KEEPALIVE          1
#define TCP_QUEUE_OOSEQ             1
/* SOF_REUSEADDR, which the service sets on every TCP bind (bindings/
 * lwip_sock.c): a server started again binds its port while connections
 * of the one before still wait in TIME_WAIT or run on (tcp_listen still
 * refuses a second listener on the same port). */
#define SO_REUSE                    1

#define LWIP_NETIF_TX_SINGLE_PBUF   1
#define LWIP_NETIF_STATUS_CALLBACK  0
#define LWIP_NETIF_LINK_CALLBACK    0
#define LWIP_NETIF_HOSTNAME         1

/* Counters of what was dropped and why (net.stats()). */
#define LWIP_STATS                  1
#define LWIP_STATS_DISPLAY          0
#define MIB2_STATS                  0

#define LWIP_DEBUG                  0

#endif
