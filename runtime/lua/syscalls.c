/* newlib's OS hooks for the Lua root task, over L4 (the same set as the
 * host build's tests/host/lua/syscalls.c, which uses Linux instead):
 *
 *   fd 0        console input: none yet, every read is end of file (the
 *               UART driver brings input)
 *   fd 1, 2     console output (rt_console_write)
 *   fd 3...     files of the read-only scripts archive (archive.c)
 *
 * Files are read-only: opening for writing fails with EROFS. What a
 * single task without processes cannot do (fork, exec, signals, links)
 * fails with ENOSYS: nothing silently succeeds.
 *
 * newlib's reentrant wrappers (_read_r ...) clear the global errno, call
 * the hook, and copy errno into the reent struct on -1, so every hook
 * reports failure through that global, not through __errno(). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/times.h>
#include <time.h>
#include <unistd.h>

#include "rt.h"
#include "l4/syscalls.h"

#undef errno
extern int errno;

#define FIRST_FILE 3
#define MAX_FILES 16

static struct open_file {
    struct rt_file f;
    size_t off;
    int used;
} files[MAX_FILES];

static int fail(int e)
{
    errno = e;
    return -1;
}

/* The open archive file behind fd, or NULL. */
static struct open_file *file_of(int fd)
{
    if (fd < FIRST_FILE || fd >= FIRST_FILE + MAX_FILES || !files[fd - FIRST_FILE].used)
        return NULL;
    return &files[fd - FIRST_FILE];
}

int open(const char *path, int flags, ...)
{
    if ((flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC | O_APPEND)))
        return fail(EROFS);
    struct rt_file f;
    if (rt_archive_find(path, &f) < 0)
        return fail(ENOENT);
    for (int i = 0; i < MAX_FILES; i++) {
        if (!files[i].used) {
            files[i] = (struct open_file){ f, 0, 1 };
            return FIRST_FILE + i;
        }
    }
    return fail(EMFILE);
}

int close(int fd)
{
    struct open_file *o = file_of(fd);
    if (o) {
        o->used = 0;
        return 0;
    }
    return fd >= 0 && fd < FIRST_FILE ? 0 : fail(EBADF);
}

_READ_WRITE_RETURN_TYPE read(int fd, void *buf, size_t n)
{
    if (fd == 0)
        return 0;       /* no console input yet: end of file */
    struct open_file *o = file_of(fd);
    if (!o)
        return fail(EBADF);
    size_t left = o->off < o->f.size ? o->f.size - o->off : 0;
    if (n > left)
        n = left;
    memcpy(buf, o->f.data + o->off, n);
    o->off += n;
    return (_READ_WRITE_RETURN_TYPE)n;
}

_READ_WRITE_RETURN_TYPE write(int fd, const void *buf, size_t n)
{
    if (fd == 1 || fd == 2) {
        rt_console_write(buf, n);
        return (_READ_WRITE_RETURN_TYPE)n;
    }
    return fail(file_of(fd) ? EROFS : EBADF);
}

off_t lseek(int fd, off_t off, int whence)
{
    struct open_file *o = file_of(fd);
    if (!o)
        return fail(fd >= 0 && fd < FIRST_FILE ? ESPIPE : EBADF);
    off_t base = whence == SEEK_SET ? 0
               : whence == SEEK_CUR ? (off_t)o->off
               : whence == SEEK_END ? (off_t)o->f.size : -1;
    if (base < 0 || (off < 0 && -off > base))
        return fail(EINVAL);
    o->off = (size_t)(base + off);  /* past the end: reads give EOF */
    return (off_t)o->off;
}

int fstat(int fd, struct stat *st)
{
    memset(st, 0, sizeof *st);
    struct open_file *o = file_of(fd);
    if (o) {
        st->st_mode = S_IFREG | 0444;
        st->st_size = (off_t)o->f.size;
        st->st_blksize = 4096;  /* stdio's buffer size */
    } else if (fd >= 0 && fd < FIRST_FILE) {
        /* stdio line-buffers a character device that isatty() */
        st->st_mode = S_IFCHR | 0620;
        st->st_blksize = 1024;
    } else {
        return fail(EBADF);
    }
    st->st_nlink = 1;
    return 0;
}

int isatty(int fd)
{
    if (fd >= 0 && fd < FIRST_FILE)
        return 1;
    errno = file_of(fd) ? ENOTTY : EBADF;
    return 0;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
    if (tz)
        memset(tz, 0, sizeof(struct timezone));     /* UTC */
    if (tv) {
        uint64_t us = rt_wall_us();
        tv->tv_sec = (time_t)(us / 1000000);
        tv->tv_usec = (suseconds_t)(us % 1000000);
    }
    return 0;
}

/* os.clock() is clock(), the sum of the tms fields in CLOCKS_PER_SEC:
 * this thread's CPU time (the kernel counts it in timer ticks). The
 * result is the time since boot. */
clock_t times(struct tms *t)
{
    const uint64_t per = 1000000 / CLOCKS_PER_SEC;
    t->tms_utime = (clock_t)(rt_cpu_us() / per);
    t->tms_stime = t->tms_cutime = t->tms_cstime = 0;
    return (clock_t)(l4_kip()->clock_us / per);
}

/* The root task: ends QEMU for now, status 0 passes, anything else fails
 * (the kernel allows it to the root task only; should it refuse, idle).
 * A Lua task tells the root's pager, which deletes it (child.c). */
void _exit(int status)
{
    if (rt_is_child())
        rt_child_exit(status, NULL);
    l4_kdebug(L4_KDEBUG_EXIT, status != 0, 0, 0);
    rt_idle();
}

pid_t getpid(void)
{
    return 1;
}

int kill(pid_t pid, int sig)
{
    (void)pid, (void)sig;
    return fail(ENOSYS);    /* abort() then falls back to _exit(1) */
}

pid_t fork(void)
{
    return fail(ENOSYS);
}

int execve(const char *path, char *const argv[], char *const envp[])
{
    (void)path, (void)argv, (void)envp;
    return fail(ENOSYS);
}

pid_t wait(int *status)
{
    (void)status;
    return fail(ENOSYS);
}

int link(const char *from, const char *to)
{
    (void)from, (void)to;
    return fail(ENOSYS);
}

int unlink(const char *path)
{
    (void)path;
    return fail(ENOSYS);
}
