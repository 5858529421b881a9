/* /init of the Linux side of the network rows of make bench (tests/bench/
 * run.py builds it static with the host's gcc and boots it under Debian's
 * kernel, with Debian's virtio_net module, in the same QEMU with the same
 * flags as L4ua's network boot: a virtio-net card on QEMU's user network,
 * the host's forwards to the guest's ports 23 and 80, -icount shift=0,
 * sleep=on). It does what L4ua's tests/bench/net/init.lua does, for the
 * same runner (tests/bench/net/drive.py): a server on port 23 greets
 * "L4UA BENCH" and takes the lines
 *   RTT n   n round trips of 64 bytes (the runner sends, this echoes)
 *   IN n    n bytes from the runner, read in 60 KiB pieces; answers "DONE"
 *   OUT n   n bytes to the runner in 60 KiB writes
 *   HTTP n  answers "GO", serves n HTTP requests on port 80 (one
 *           connection each: GET /hello?name=x -> "hello x, request i"),
 *           then reads the runner's "DONE"
 *   END     powers off (QEMU status 33, isa-debug-exit)
 * and prints "bench linux_<name> <instructions>" per round trip, per MiB
 * or per request. Under -icount shift=0 rdtsc counts guest instructions;
 * the time the CPU waits for the host is left out as in the disk rows of
 * tests/bench/linux/linux_init.c: a SCHED_IDLE thread spins whenever
 * nothing else runs and sums the steps of its loop that nothing
 * interrupted. What remains is the work of the kernel (virtio-net, TCP/IP,
 * the system calls, the interrupts) and of this server. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/ioctl.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CHUNK (60 << 10)

static uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

/* The idle thread: a step of its loop is a few instructions; a longer one
 * was something else running (this server, an interrupt). */
#define IDLE_STEP 200
static atomic_ulong idle_sum;

static void *idle_loop(void *arg)
{
    (void)arg;
    struct sched_param sp = {0};
    if (sched_setscheduler(0, SCHED_IDLE, &sp))
        return NULL;
    uint64_t last = rdtsc();
    for (;;) {
        uint64_t now = rdtsc();
        if (now - last < IDLE_STEP)
            atomic_fetch_add_explicit(&idle_sum, now - last, memory_order_relaxed);
        last = now;
    }
    return NULL;
}

/* A window of work: its start, and at its end the instructions per unit
 * without the idle time. */
struct window { uint64_t t0, i0; };

static struct window start(void)
{
    return (struct window){rdtsc(), atomic_load(&idle_sum)};
}

static void report(const char *name, struct window w, unsigned long per, const char *unit)
{
    uint64_t t = rdtsc() - w.t0, idle = atomic_load(&idle_sum) - w.i0;
    printf("bench %s %lu\n", name, (unsigned long)((t - idle) / per));
    printf("  (%s: %lu in all per %s, of which %lu idle (excluded))\n", name,
           (unsigned long)(t / per), unit, (unsigned long)(idle / per));
}

static int load_modules(void)
{
    FILE *order = fopen("/modules/order", "r");
    char name[64], path[128];
    if (!order)
        return -1;
    while (fscanf(order, "%63s", name) == 1) {
        snprintf(path, sizeof path, "/modules/%s.ko", name);
        int fd = open(path, O_RDONLY);
        if (fd < 0 || syscall(SYS_finit_module, fd, "", 0)) {
            printf("linux_net: cannot load %s\n", path);
            fclose(order);
            return -1;
        }
        close(fd);
    }
    fclose(order);
    return 0;
}

/* eth0 up as 10.0.2.15/24 (QEMU's user network: the host is 10.0.2.2, on
 * the link; no DHCP client here), once the driver made it. */
static int net_up(void)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq r;
    int tries;
    for (tries = 0; tries < 500; tries++) {
        memset(&r, 0, sizeof r);
        strcpy(r.ifr_name, "eth0");
        if (ioctl(s, SIOCGIFINDEX, &r) == 0)
            break;
        usleep(10000);
    }
    if (tries == 500) {
        printf("linux_net: no eth0\n");
        return -1;
    }
    struct sockaddr_in *a = (struct sockaddr_in *)&r.ifr_addr;
    a->sin_family = AF_INET;
    inet_pton(AF_INET, "10.0.2.15", &a->sin_addr);
    if (ioctl(s, SIOCSIFADDR, &r))
        return printf("linux_net: SIOCSIFADDR: %s\n", strerror(errno)), -1;
    inet_pton(AF_INET, "255.255.255.0", &a->sin_addr);
    if (ioctl(s, SIOCSIFNETMASK, &r))
        return printf("linux_net: SIOCSIFNETMASK: %s\n", strerror(errno)), -1;
    if (ioctl(s, SIOCGIFFLAGS, &r))
        return -1;
    r.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(s, SIOCSIFFLAGS, &r))
        return printf("linux_net: SIOCSIFFLAGS: %s\n", strerror(errno)), -1;
    close(s);
    return 0;
}

static int listen_on(int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 16)) {
        printf("linux_net: port %d: %s\n", port, strerror(errno));
        return -1;
    }
    return s;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static int read_exactly(int fd, char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = read(fd, p, n);
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* A line of the control connection, without its "\n" (byte by byte: the
 * runner sends data right behind a line). */
static int read_line(int fd, char *line, size_t max)
{
    size_t n = 0;
    for (;;) {
        char ch;
        if (read(fd, &ch, 1) != 1)
            return -1;
        if (ch == '\n')
            break;
        if (n + 1 < max)
            line[n++] = ch;
    }
    line[n] = 0;
    return 0;
}

/* One HTTP request on a connection of its own: the head read to its blank
 * line, GET /hello?name=x answered, the connection closed. */
static int http_one(int lsock, int i)
{
    static char buf[8192];
    int c = accept(lsock, NULL, NULL);
    if (c < 0)
        return -1;
    size_t n = 0;
    while (n < sizeof buf - 1) {
        ssize_t k = read(c, buf + n, sizeof buf - 1 - n);
        if (k <= 0)
            break;
        n += (size_t)k;
        buf[n] = 0;
        if (strstr(buf, "\r\n\r\n"))
            break;
    }
    buf[n] = 0;
    char name[64] = "you", body[128], out[512];
    const char *q = strstr(buf, "?name=");
    int ok = strncmp(buf, "GET /hello", 10) == 0;
    if (q)
        sscanf(q + 6, "%63[^ &\r\n]", name);
    int bn = snprintf(body, sizeof body, "hello %s, request %d\n", name, i + 1);
    int on = ok ? snprintf(out, sizeof out, "HTTP/1.1 200 OK\r\nConnection: close\r\n"
                           "Content-Length: %d\r\nContent-Type: text/plain\r\n\r\n%s", bn, body)
                : snprintf(out, sizeof out, "HTTP/1.1 404 Not Found\r\nConnection: close\r\n"
                           "Content-Length: 0\r\n\r\n");
    write_all(c, out, (size_t)on);
    close(c);
    return 0;
}

static void serve(int ctl_l, int http_l)
{
    static char block[CHUNK];
    char line[64];
    int c;
    for (;;) {      /* QEMU's forward may hand over a connection that is closed */
        c = accept(ctl_l, NULL, NULL);
        if (c >= 0 && write_all(c, "L4UA BENCH\n", 11) == 0)
            break;
        if (c >= 0)
            close(c);
    }
    memset(block, 'x', sizeof block);
    while (read_line(c, line, sizeof line) == 0) {
        unsigned long n = 0;
        char cmd[8] = "";
        sscanf(line, "%7s %lu", cmd, &n);
        struct window w = start();
        if (strcmp(cmd, "RTT") == 0) {
            char req[64];
            for (unsigned long i = 0; i < n; i++)
                if (read_exactly(c, req, 64) || write_all(c, req, 64))
                    return;
            report("linux_tcp_rtt_host_guest", w, n, "round trip");
        } else if (strcmp(cmd, "IN") == 0) {
            for (unsigned long left = n; left > 0;) {
                ssize_t k = read(c, block, left < CHUNK ? left : CHUNK);
                if (k <= 0)
                    return;
                left -= (unsigned long)k;
            }
            report("linux_tcp_stream_mib_in", w, n >> 20, "MiB");
            memset(block, 'x', sizeof block);
            write_all(c, "DONE\n", 5);
        } else if (strcmp(cmd, "OUT") == 0) {
            for (unsigned long left = n; left > 0;) {
                size_t k = left < CHUNK ? left : CHUNK;
                if (write_all(c, block, k))
                    return;
                left -= k;
            }
            report("linux_tcp_stream_mib_out", w, n >> 20, "MiB");
        } else if (strcmp(cmd, "HTTP") == 0) {
            write_all(c, "GO\n", 3);
            for (unsigned long i = 0; i < n; i++)
                if (http_one(http_l, (int)i))
                    return;
            if (read_line(c, line, sizeof line) || strcmp(line, "DONE"))
                return;
            report("linux_http_requests", w, n, "request");
        } else {
            break;
        }
    }
    close(c);
}

int main(void)
{
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    sched_setaffinity(0, sizeof one, &one);     /* inherited by the thread */
    setvbuf(stdout, NULL, _IONBF, 0);
    pthread_t idle;
    int ctl, http;
    if (load_modules() == 0 && net_up() == 0 && (ctl = listen_on(23)) >= 0
        && (http = listen_on(80)) >= 0 && pthread_create(&idle, NULL, idle_loop, NULL) == 0)
        serve(ctl, http);
    printf("bench: done\n");
    if (ioperm(0xf4, 1, 1) == 0)
        outb(0x10, 0xf4);       /* isa-debug-exit: QEMU status 33 */
    reboot(RB_POWER_OFF);
    return 0;
}
