/* /init of the Linux baseline of make bench (tests/bench/run.py builds it
 * statically with the host's gcc and boots it as the only program of an
 * initramfs under Debian's kernel, in the same QEMU with the same flags as
 * L4ua's benchmarks). Under -icount shift=0 rdtsc counts guest
 * instructions. Prints "bench <name> <instructions per operation>":
 *   linux_pipe_rtt   a byte back and forth through two pipes between two
 *                    processes;
 *   linux_futex_rtt  the same between two threads with two futex words
 *                    (FUTEX_WAKE, FUTEX_WAIT);
 *   linux_getpid     the getpid system call (raw, no libc cache);
 *   lua_pipe_rtt_linux  two processes of Debian's lua5.4 (/usr/bin/lua5.4,
 *                    when run.py packed it) running lua_pipe.lua: two
 *                    integers each way through two named pipes; the pair
 *                    runs twice, for LUA_SHORT and LUA_LONG round trips,
 *                    and the difference over LUA_LONG - LUA_SHORT leaves out
 *                    the processes' start and end;
 * then the disk, the kind L4ua's blk_* figures read (tests/bench/blk/): it
 * loads the modules run.py put in /modules (Debian's virtio_pci and
 * virtio_blk and what they need, in the order of /modules/order), and
 * opens the raw virtio disk /dev/vda with O_DIRECT (no page cache):
 *   linux_blk_read_4k       pread of 4 KiB, one at a time;
 *   linux_blk_write_4k      pwrite of 4 KiB, one at a time (both in the
 *                           8 MiB from 16 MiB on, as L4ua's);
 *   linux_blk_seq_read_mib  a MiB read from offset 0 on in preads of
 *                           64 KiB (the size of blk.lua's requests);
 *   linux_blk_seq_read_mib_files  then the disk's file system (the image
 *                           is L4ua's: ext4 without a journal in its
 *                           first 16 MiB, run.py blk_image) mounted
 *                           read-only: big.bin (4 MiB) opened, read in
 *                           reads of 1 MiB, closed, the page cache
 *                           dropped before each run (outside the count);
 *                           per MiB, as L4ua's blk_seq_read_mib_files;
 * each minus the time the CPU had nothing to do while the device worked,
 * as L4ua's figures leave out the time from the driver's notify to the
 * interrupt: a SCHED_IDLE thread runs whenever the benchmark waits, and
 * sums the rdtsc steps of its loop that nothing interrupted (idle_loop).
 * All pinned to CPU 0 (a single vCPU anyway). Then powers the machine
 * off. */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <sched.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <pthread.h>

#define ROUNDS 20000
#define WARMUP 1000
#define LUA_SHORT 1000
#define LUA_LONG 11000

static uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

static uint64_t pipe_rtt(void)
{
    int ab[2], ba[2];
    char c = 0;
    if (pipe(ab) || pipe(ba))
        return 0;
    pid_t child = fork();
    if (child == 0) {
        close(ab[1]);               /* so that the parent's close ends it */
        for (;;) {
            if (read(ab[0], &c, 1) != 1)
                _exit(0);
            if (write(ba[1], &c, 1) != 1)
                _exit(1);
        }
    }
    uint64_t t0 = 0;
    for (int i = 0; i < WARMUP + ROUNDS; i++) {
        if (i == WARMUP)
            t0 = rdtsc();
        if (write(ab[1], &c, 1) != 1 || read(ba[0], &c, 1) != 1)
            return 0;
    }
    uint64_t t = rdtsc() - t0;
    close(ab[1]);
    waitpid(child, NULL, 0);
    return t / ROUNDS;
}

/* Futex ping-pong: turn 0 = the main thread's, 1 = the partner's. */
static atomic_int turn;

static void futex_wait(atomic_int *w, int v)
{
    syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
}

static void futex_wake(atomic_int *w)
{
    syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void *partner(void *arg)
{
    (void)arg;
    for (int i = 0; i < WARMUP + ROUNDS; i++) {
        while (atomic_load(&turn) != 1)
            futex_wait(&turn, 0);
        atomic_store(&turn, 0);
        futex_wake(&turn);
    }
    return NULL;
}

static uint64_t futex_rtt(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, partner, NULL))
        return 0;
    uint64_t t0 = 0;
    for (int i = 0; i < WARMUP + ROUNDS; i++) {
        if (i == WARMUP)
            t0 = rdtsc();
        atomic_store(&turn, 1);
        futex_wake(&turn);
        while (atomic_load(&turn) != 0)
            futex_wait(&turn, 1);
    }
    uint64_t r = (rdtsc() - t0) / ROUNDS;
    pthread_join(t, NULL);
    return r;
}

static uint64_t getpid_loop(void)
{
    for (int i = 0; i < WARMUP; i++)
        syscall(SYS_getpid);
    uint64_t t0 = rdtsc();
    for (int i = 0; i < ROUNDS; i++)
        syscall(SYS_getpid);
    return (rdtsc() - t0) / ROUNDS;
}

static pid_t run_lua(char *mode, char *n)
{
    char *argv[] = { "/usr/bin/lua5.4", "/lua_pipe.lua", mode, n, NULL };
    char *envp[] = { NULL };
    pid_t pid = fork();
    if (pid == 0) {
        execve(argv[0], argv, envp);
        _exit(127);
    }
    return pid;
}

/* Instructions of one run of the Lua pair with n round trips, 0 if it failed. */
static uint64_t lua_pair(int n)
{
    char num[16];
    int st1, st2;
    snprintf(num, sizeof num, "%d", n);
    uint64_t t0 = rdtsc();
    pid_t pong = run_lua("pong", "0"), ping = run_lua("ping", num);
    if (pong < 0 || ping < 0 || waitpid(ping, &st1, 0) < 0 || waitpid(pong, &st2, 0) < 0)
        return 0;
    uint64_t t = rdtsc() - t0;
    return WIFEXITED(st1) && WEXITSTATUS(st1) == 0 && WIFEXITED(st2) &&
           WEXITSTATUS(st2) == 0 ? t : 0;
}

static void lua_pipe_rtt(void)
{
    if (access("/usr/bin/lua5.4", X_OK))
        return;
    uint64_t s = lua_pair(LUA_SHORT), l = lua_pair(LUA_LONG);
    if (!s || !l || l <= s) {
        printf("lua_pipe_rtt_linux: the Lua pair failed\n");
        return;
    }
    printf("bench lua_pipe_rtt_linux %lu\n", (unsigned long)((l - s) / (LUA_LONG - LUA_SHORT)));
    printf("  (lua_pipe_rtt_linux: one run of %d round trips, the start of both processes "
           "included: %lu)\n", LUA_SHORT, (unsigned long)s);
}

/* The idle thread: the time the CPU would have spent halted. Every step
 * of its loop is a few instructions; a longer one means it was preempted
 * (the benchmark, an interrupt) and is not idle time. */
#define IDLE_STEP 200
static atomic_ulong idle_sum;
static atomic_int idle_stop;

static void *idle_loop(void *arg)
{
    (void)arg;
    struct sched_param sp = {0};
    if (sched_setscheduler(0, SCHED_IDLE, &sp))
        return NULL;
    uint64_t last = rdtsc();
    while (!atomic_load_explicit(&idle_stop, memory_order_relaxed)) {
        uint64_t now = rdtsc();
        if (now - last < IDLE_STEP)
            atomic_fetch_add_explicit(&idle_sum, now - last, memory_order_relaxed);
        last = now;
    }
    return NULL;
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
            printf("linux_init: cannot load %s\n", path);
            fclose(order);
            return -1;
        }
        close(fd);
    }
    fclose(order);
    return 0;
}

#define DISK_RAW (16ul << 20)       /* the raw 8 MiB's offset, as L4ua's */
#define DISK_SPAN 2048              /* 4 KiB blocks there */
#define DISK_N 500
#define DISK_WARM 20
#define SEQ_N 32
#define SEQ_WARM 2

enum op { READ_4K, WRITE_4K, SEQ_MIB };

static int disk_op(int fd, enum op op, int i, unsigned char *buf)
{
    if (op == READ_4K)
        return pread(fd, buf, 4096, DISK_RAW + 4096ul * (i % DISK_SPAN)) == 4096;
    if (op == WRITE_4K)
        return pwrite(fd, buf, 4096, DISK_RAW + 4096ul * (i % DISK_SPAN)) == 4096;
    for (unsigned long off = 0; off < (1ul << 20); off += 65536)
        if (pread(fd, buf, 65536, ((unsigned long)(i % 16) << 20) + off) != 65536)
            return 0;
    return 1;
}

/* Instructions per operation without the idle time, or 0 on a failure. */
static uint64_t disk_bench(const char *name, int fd, enum op op, int n, int warm,
                           unsigned char *buf)
{
    for (int i = 0; i < warm; i++)
        if (!disk_op(fd, op, i, buf))
            return 0;
    uint64_t i0 = atomic_load(&idle_sum), t0 = rdtsc();
    for (int i = 0; i < n; i++)
        if (!disk_op(fd, op, i, buf))
            return 0;
    uint64_t t = rdtsc() - t0, idle = atomic_load(&idle_sum) - i0;
    printf("  (%s: %lu in all, of which %lu idle (excluded))\n", name,
           (unsigned long)(t / n), (unsigned long)(idle / n));
    return (t - idle) / n;
}

#define FILE_MIB 4                  /* big.bin */
#define FILE_N 2                    /* runs counted, after one warm-up */

/* big.bin read whole from the page cache's cold start -> 1, else 0 */
static int read_file(unsigned char *big)
{
    int fd = open("/mnt/big.bin", O_RDONLY), ok = 1;
    if (fd < 0)
        return 0;
    for (int m = 0; m < FILE_MIB; m++)
        if (read(fd, big + ((unsigned long)m << 20), 1ul << 20) != 1l << 20)
            ok = 0;
    close(fd);
    return ok;
}

static int drop_caches(void)
{
    int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
    int ok = fd >= 0 && write(fd, "3", 1) == 1;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* linux_blk_seq_read_mib_files: instructions per MiB without the idle
 * time, or 0 on a failure (said on the console). The bytes are checked
 * once: 4 KiB block j is the line "%07d\n" % j 512 times. */
static uint64_t files_bench(void)
{
    mkdir("/proc", 0755);
    mkdir("/mnt", 0755);
    if (mount("proc", "/proc", "proc", 0, NULL) ||
        mount("/dev/vda", "/mnt", "ext4", MS_RDONLY, NULL)) {
        printf("linux_init: cannot mount /proc or the disk's ext4 on /mnt\n");
        return 0;
    }
    unsigned char *big = malloc((unsigned long)FILE_MIB << 20);
    char line[16];
    if (!big || !drop_caches() || !read_file(big)) {
        printf("linux_init: cannot read /mnt/big.bin\n");
        return 0;
    }
    for (unsigned j = 0; j < FILE_MIB * 256; j++) {
        snprintf(line, sizeof line, "%07u\n", j);
        for (unsigned k = 0; k < 512; k++)
            if (memcmp(big + j * 4096ul + k * 8, line, 8)) {
                printf("linux_init: big.bin: block %u differs\n", j);
                return 0;
            }
    }
    uint64_t t = 0, idle = 0;
    for (int r = 0; r < FILE_N; r++) {
        if (!drop_caches())
            return 0;
        uint64_t i0 = atomic_load(&idle_sum), t0 = rdtsc();
        if (!read_file(big))
            return 0;
        t += rdtsc() - t0;
        idle += atomic_load(&idle_sum) - i0;
    }
    unsigned n = FILE_N * FILE_MIB;
    printf("  (linux_blk_seq_read_mib_files: %lu in all, of which %lu idle (excluded))\n",
           (unsigned long)(t / n), (unsigned long)(idle / n));
    umount("/mnt");
    free(big);
    return (t - idle) / n;
}

static void disk(void)
{
    if (load_modules())
        return;
    mkdir("/dev", 0755);
    if (mount("devtmpfs", "/dev", "devtmpfs", 0, NULL)) {
        printf("linux_init: cannot mount devtmpfs\n");
        return;
    }
    int fd = -1;
    for (int tries = 0; fd < 0 && tries < 500; tries++) {   /* the disk shows up */
        fd = open("/dev/vda", O_RDWR | O_DIRECT);
        if (fd < 0)
            usleep(10000);
    }
    if (fd < 0) {
        printf("linux_init: no /dev/vda\n");
        return;
    }
    unsigned char *buf = aligned_alloc(4096, 65536);
    memset(buf, 'w', 65536);
    pthread_t idle;
    if (!buf || pthread_create(&idle, NULL, idle_loop, NULL))
        return;
    printf("bench linux_blk_read_4k %lu\n",
           (unsigned long)disk_bench("linux_blk_read_4k", fd, READ_4K, DISK_N, DISK_WARM, buf));
    printf("bench linux_blk_write_4k %lu\n",
           (unsigned long)disk_bench("linux_blk_write_4k", fd, WRITE_4K, DISK_N, DISK_WARM, buf));
    printf("bench linux_blk_seq_read_mib %lu\n",
           (unsigned long)disk_bench("linux_blk_seq_read_mib", fd, SEQ_MIB, SEQ_N, SEQ_WARM, buf));
    close(fd);
    printf("bench linux_blk_seq_read_mib_files %lu\n", (unsigned long)files_bench());
    atomic_store(&idle_stop, 1);
    pthread_join(idle, NULL);
}

int main(void)
{
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    sched_setaffinity(0, sizeof one, &one);     /* inherited by child and thread */
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("bench linux_pipe_rtt %lu\n", (unsigned long)pipe_rtt());
    printf("bench linux_futex_rtt %lu\n", (unsigned long)futex_rtt());
    printf("bench linux_getpid %lu\n", (unsigned long)getpid_loop());
    lua_pipe_rtt();
    disk();
    printf("bench: done\n");
    if (ioperm(0xf4, 1, 1) == 0)
        outb(0x10, 0xf4);       /* isa-debug-exit: QEMU status 33 */
    reboot(RB_POWER_OFF);
    return 0;
}
