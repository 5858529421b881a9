/* newlib's OS hooks for the host smoke test, as raw Linux x86_64 system
 * calls. newlib was built with --disable-newlib-supplied-syscalls, so these
 * plain-named functions are all it needs from an OS; on L4ua the same hooks
 * are served over L4 by the root task's runtime (runtime/lua/syscalls.c).
 *
 * newlib's reentrant wrappers (_read_r ...) clear the global errno, call the
 * hook, and copy errno into the reent struct on -1, so every hook must
 * report failure through that global, not through __errno(). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#undef errno
extern int errno;

static long sys3(long nr, long a, long b, long c)
{
    long r;
    __asm__ volatile("syscall"
                     : "=a"(r)
                     : "a"(nr), "D"(a), "S"(b), "d"(c)
                     : "rcx", "r11", "memory");
    return r;
}

/* Linux and newlib agree on errno values 1..34 (the historic Unix set) and
 * disagree above, so translate the few later ones a script may meet. */
static int errno_from_linux(long e)
{
    if (e <= ERANGE)
        return (int)e;
    switch (e) {
    case 36: return ENAMETOOLONG;
    case 38: return ENOSYS;
    case 39: return ENOTEMPTY;
    case 40: return ELOOP;
    case 75: return EOVERFLOW;
    case 95: return ENOTSUP;
    default: return EIO;
    }
}

/* Linux returns -errno in rax on failure. */
static long ret(long r)
{
    if (r < 0 && r > -4096) {
        errno = errno_from_linux(-r);
        return -1;
    }
    return r;
}

static int unsupported(void)
{
    errno = ENOSYS;
    return -1;
}

_READ_WRITE_RETURN_TYPE read(int fd, void *buf, size_t n)
{
    return ret(sys3(0, fd, (long)buf, (long)n));
}

_READ_WRITE_RETURN_TYPE write(int fd, const void *buf, size_t n)
{
    return ret(sys3(1, fd, (long)buf, (long)n));
}

/* newlib numbers its O_* flags BSD-style; only the access mode matches. */
int open(const char *path, int flags, ...)
{
    static const struct { int newlib, linux_; } map[] = {
        { O_APPEND, 02000 },   { O_CREAT, 0100 },      { O_TRUNC, 01000 },
        { O_EXCL, 0200 },      { O_SYNC, 04010000 },   { O_NONBLOCK, 04000 },
        { O_NOCTTY, 0400 },    { O_CLOEXEC, 02000000 }, { O_NOFOLLOW, 0400000 },
        { O_DIRECTORY, 0200000 },
    };
    int lflags = flags & O_ACCMODE;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (flags & map[i].newlib)
            lflags |= map[i].linux_;
    int mode = 0;
    if (flags & O_CREAT) {
        va_list ap;
        va_start(ap, flags);
        mode = va_arg(ap, int); /* permission bits are the same octal */
        va_end(ap);
    }
    return (int)ret(sys3(2, (long)path, lflags, mode));
}

int close(int fd)
{
    return (int)ret(sys3(3, fd, 0, 0));
}

off_t lseek(int fd, off_t off, int whence)
{
    return ret(sys3(8, fd, off, whence)); /* SEEK_* values agree */
}

/* Linux's x86_64 struct stat, which newlib's does not match field for field. */
struct linux_stat {
    unsigned long dev, ino, nlink;
    unsigned int mode, uid, gid, pad0;
    unsigned long rdev;
    long size, blksize, blocks;
    struct { long sec, nsec; } atim, mtim, ctim;
    long unused[3];
};
_Static_assert(sizeof(struct linux_stat) == 144, "Linux x86_64 stat layout");

int fstat(int fd, struct stat *st)
{
    struct linux_stat ls;
    if (ret(sys3(5, fd, (long)&ls, 0)) < 0)
        return -1;
    __builtin_memset(st, 0, sizeof *st);
    st->st_dev = ls.dev;
    st->st_ino = ls.ino;
    /* stdio line-buffers a stream only if it is S_IFCHR and isatty(); the
     * target's fds 0-2 are a console, so pretend so here even when the test
     * runner redirects them (output then interleaves sanely with stderr).
     * The S_IF* type values themselves are the same on both sides. */
    st->st_mode = fd < 3 ? (S_IFCHR | (ls.mode & 07777)) : ls.mode;
    st->st_nlink = ls.nlink;
    st->st_uid = ls.uid;
    st->st_gid = ls.gid;
    st->st_rdev = ls.rdev;
    st->st_size = ls.size;
    st->st_atim.tv_sec = ls.atim.sec;
    st->st_mtim.tv_sec = ls.mtim.sec;
    st->st_ctim.tv_sec = ls.ctim.sec;
    st->st_blksize = ls.blksize; /* stdio sizes its buffers from this */
    st->st_blocks = ls.blocks;
    return 0;
}

int isatty(int fd)
{
    if (fd >= 0 && fd < 3)
        return 1;
    errno = ENOTTY;
    return 0;
}

/* malloc's arena: a fixed .bss block (untouched pages cost nothing on Linux),
 * mirroring the fixed heap region L4ua's user mode will have. */
static char heap[256u << 20] __attribute__((aligned(4096)));
static size_t heap_used;

void *sbrk(ptrdiff_t incr)
{
    if (incr >= 0 ? (size_t)incr > sizeof heap - heap_used
                  : (size_t)-incr > heap_used) {
        errno = ENOMEM;
        return (void *)-1;
    }
    void *old = heap + heap_used;
    heap_used += incr;
    return old;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
    return (int)ret(sys3(96, (long)tv, (long)tz, 0)); /* same layouts */
}

/* Linux counts in USER_HZ (100 on x86) ticks, newlib's clock() assumes its
 * CLOCKS_PER_SEC (1000); struct tms is four longs on both sides. */
clock_t times(struct tms *t)
{
    long r = ret(sys3(100, (long)t, 0, 0));
    if (r == -1)
        return (clock_t)-1;
    const clock_t k = CLOCKS_PER_SEC / 100;
    t->tms_utime *= k;
    t->tms_stime *= k;
    t->tms_cutime *= k;
    t->tms_cstime *= k;
    return (clock_t)r * k;
}

void _exit(int status)
{
    for (;;)
        sys3(231, status, 0, 0); /* exit_group */
}

pid_t getpid(void)
{
    return (pid_t)sys3(39, 0, 0, 0);
}

int unlink(const char *path)
{
    return (int)ret(sys3(87, (long)path, 0, 0));
}

/* As on the target (runtime/lua/syscalls.c): libext2fs and libcom_err
 * ask, and take root or the failure. */
int stat(const char *path, struct stat *st)
{
    (void)path, (void)st;
    return unsupported();
}
uid_t getuid(void) { return 0; }
uid_t geteuid(void) { return 0; }
gid_t getgid(void) { return 0; }
gid_t getegid(void) { return 0; }

/* No processes or signals on the target: abort() falls back to _exit(1)
 * when kill fails, and os.execute/os.rename report the error. */
int kill(pid_t pid, int sig)
{
    (void)pid, (void)sig;
    return unsupported();
}

pid_t fork(void)
{
    return unsupported();
}

int execve(const char *path, char *const argv[], char *const envp[])
{
    (void)path, (void)argv, (void)envp;
    return unsupported();
}

pid_t wait(int *status)
{
    (void)status;
    return unsupported();
}

int link(const char *from, const char *to)
{
    (void)from, (void)to;
    return unsupported();
}
