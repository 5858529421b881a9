/* newlib's OS hooks for the Lua root task, over L4 (the same set as the
 * host build's tests/host/lua/syscalls.c, which uses Linux instead):
 *
 *   fd 0        console input: none yet, every read is end of file (the
 *               UART driver brings input)
 *   fd 1, 2     console output (rt_console_write)
 *   fd 3...     files: the file service's (files.c, scripts/files.lua),
 *               or the read-only scripts archive's (archive.c) while no
 *               file service is known
 *
 * A file is buffered whole while it is open (docs/runtime.md "Files"):
 * open reads it (an archive file the RAM tree does not shadow is not
 * copied: its bytes are the archive's), read, write and lseek work on
 * the buffer, and close writes it back to the service if it changed.
 * Without a file service, opening for writing fails with EROFS. What a
 * single task without processes cannot do (fork, exec, signals) fails
 * with ENOSYS: nothing silently succeeds.
 *
 * newlib's reentrant wrappers (_read_r ...) clear the global errno, call
 * the hook, and copy errno into the reent struct on -1, so every hook
 * reports failure through that global, not through __errno(). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
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

/* An open file: its bytes [0, size) at data, which is malloc'd (cap
 * bytes) if owned, else the archive's (read-only). path is kept (malloc'd)
 * for the write-back of a file open for writing. owner: the lthread that
 * opened it; orphan: that thread was stopped for good with its Lua state
 * given up (rt_files_orphan), which will never close it. stream: while
 * open() runs, the FILE that its fopen (or freopen) is opening, which
 * has no fd yet (opening_stream). */
static struct open_file {
    char *data;
    size_t size, cap, off;
    char *path;
    FILE *stream;
    unsigned owner;
    int used, owned, writable, append, dirty, orphan;
} files[MAX_FILES];
static volatile int orphans;        /* some slot may be an orphan */

static int fail(int e)
{
    errno = e;
    return -1;
}

/* The open file behind fd, or NULL. */
static struct open_file *file_of(int fd)
{
    if (fd < FIRST_FILE || fd >= FIRST_FILE + MAX_FILES || !files[fd - FIRST_FILE].used)
        return NULL;
    return &files[fd - FIRST_FILE];
}

static void release(struct open_file *o)
{
    if (o->owned)
        free(o->data);
    free(o->path);
    memset(o, 0, sizeof *o);
}

/* Makes the buffer its own and at least `need` bytes. */
static int reserve(struct open_file *o, size_t need)
{
    if (o->owned && need <= o->cap)
        return 0;
    size_t cap = o->cap > 256 ? o->cap : 256;
    while (cap < need)
        cap *= 2;
    char *d = o->owned ? realloc(o->data, cap) : malloc(cap);
    if (!d)
        return -1;
    if (!o->owned && o->size)
        memcpy(d, o->data, o->size);
    o->data = d;
    o->cap = cap;
    o->owned = 1;
    return 0;
}

/* The file's bytes from the service, or the archive without one (or when
 * it does not answer: reads keep working while it is down). */
static int load(const char *path, int writing, struct open_file *o)
{
    if (rt_files_up()) {
        int r = rt_files_read(path, !writing, &o->data, &o->size, &o->owned);
        if (r == 0)
            o->cap = o->owned ? o->size : 0;
        if (r != RT_FILES_DOWN)
            return r;
        if (writing)
            return EIO;
    } else if (writing) {
        return EROFS;
    }
    struct rt_file f;
    if (rt_archive_find(path, &f) < 0)
        return ENOENT;
    o->data = (char *)f.data;
    o->size = f.size;
    o->owned = 0;
    return 0;
}

int rt_file_is_archived(const char *path, const struct rt_file *f)
{
    struct open_file o = { 0 };
    rt_libc_lock();     /* the file service's client runs under it (files.c) */
    int same = load(path, 0, &o) == 0 && !o.owned && o.data == f->data && o.size == f->size;
    if (o.owned)
        free(o.data);
    rt_libc_unlock();
    return same;
}

/* Sends a changed file back to the service (0, or an errno value). */
static int store(struct open_file *o)
{
    if (!o->dirty)
        return 0;
    int r = rt_files_write(o->path, o->data, o->size);
    if (r == 0)
        o->dirty = 0;
    return r == RT_FILES_DOWN ? EIO : r;
}

/* Lthread lt was stopped where it was and its Lua state given up
 * (threads.c: a kill that found no safe point in time, a fault): the
 * files it opened are never closed. Marked only: this may run in the
 * pager thread (no malloc there) or in a killer that holds the libc lock;
 * the next open() takes them back. */
void rt_files_orphan(unsigned lt)
{
    for (int i = 0; i < MAX_FILES; i++)
        if (files[i].used && files[i].owner == lt) {
            files[i].orphan = 1;
            orphans = 1;
        }
}

/* Calls f on each of newlib's FILEs (stdin, stdout and stderr are the
 * first: __sinit takes them with __sfp too). Under the libc lock. */
static void each_stream(void (*f)(FILE *, void *), void *arg)
{
    for (struct _glue *g = &_GLOBAL_REENT->__sglue; g; g = g->_next)
        for (int k = 0; k < g->_niobs; k++)
            f(&g->_iobs[k], arg);
}

/* Is fp the stream of another open() that is running now (its thread
 * waits in its file call), or was stopped there? */
static int opened_elsewhere(FILE *fp, const struct open_file *except)
{
    for (int i = 0; i < MAX_FILES; i++)
        if (files[i].used && files[i].stream == fp && &files[i] != except)
            return 1;
    return 0;
}

/* The FILE that the fopen or freopen calling open() is opening, or NULL
 * (open() called by anything else). Both run under the libc lock (libc.c
 * wraps them) from their start to this open(), which lets it go only in
 * its file calls, after this: fopen's FILE is the one newlib's __sfp
 * has just reserved (_flags 1) that no running open() has recorded;
 * freopen's has its flags yet and the fd it has just closed, whose slot
 * is free. */
struct opening { FILE *fp; };
static void find_opening(FILE *fp, void *arg)
{
    struct opening *o = arg;
    int fd = fp->_file;
    if (o->fp || !fp->_flags)
        return;
    if (fp->_flags != 1 && (fd < FIRST_FILE || fd >= FIRST_FILE + MAX_FILES ||
                            files[fd - FIRST_FILE].used))
        return;
    if (!opened_elsewhere(fp, NULL))
        o->fp = fp;
}

static FILE *opening_stream(void)
{
    struct opening o = { NULL };
    each_stream(find_opening, &o);
    return o.fp;
}

/* fp will never be closed: its buffers freed, the FILE free for the next
 * fopen. Nothing is written back. */
static void drop_stream(FILE *fp)
{
    if (fp->_flags & __SMBF)
        free(fp->_bf._base);
    if (fp->_ub._base && fp->_ub._base != fp->_ubuf)
        free(fp->_ub._base);
    fp->_flags = 0;
}

/* The FILE over the orphan slot o's fd; not one that a running open()
 * is opening (a freopen's, still over the fd it closed, now o's). */
static void drop_over(FILE *fp, void *arg)
{
    struct open_file *o = arg;
    if (fp->_flags && fp->_file == FIRST_FILE + (int)(o - files) && !opened_elsewhere(fp, o))
        drop_stream(fp);
}

/* Takes back the slots of stopped threads, and newlib's FILE over each
 * (it would never be closed: drop_stream); a thread stopped inside
 * open(), in its file call, leaves the FILE its fopen was opening, which
 * has no fd yet: the slot recorded it (stream). Not closed: nothing
 * half-written goes to the service. Under the libc lock (open runs
 * inside fopen). */
static void reclaim(void)
{
    orphans = 0;
    for (int i = 0; i < MAX_FILES; i++) {
        if (!files[i].used || !files[i].orphan)
            continue;
        if (files[i].stream)
            drop_stream(files[i].stream);
        each_stream(drop_over, &files[i]);
        release(&files[i]);
    }
}

static void count_stream(FILE *fp, void *arg)
{
    unsigned *n = arg;
    n[0]++;
    n[1] += fp->_flags != 0;
}

void rt_streams(unsigned *made, unsigned *used)
{
    unsigned n[2] = { 0, 0 };
    rt_libc_lock();
    each_stream(count_stream, n);
    rt_libc_unlock();
    *made = n[0];
    *used = n[1];
}

int open(const char *path, int flags, ...)
{
    int acc = flags & O_ACCMODE;
    int writing = acc != O_RDONLY || (flags & (O_CREAT | O_TRUNC | O_APPEND));
    struct open_file *o = NULL;
    if (orphans)
        reclaim();
    for (int i = 0; i < MAX_FILES && !o; i++)
        if (!files[i].used)
            o = &files[i];
    if (!o)
        return fail(EMFILE);
    memset(o, 0, sizeof *o);
    o->owner = rt_self_lthread();
    o->stream = opening_stream();
    o->used = 1;        /* taken: the lock is let go of while the service answers (files.c) */
    int r = (flags & O_TRUNC) && writing && rt_files_up() ? ENOENT : load(path, writing, o);
    if (r == 0 && (flags & O_CREAT) && (flags & O_EXCL)) {
        release(o);
        return fail(EEXIST);
    }
    if (r == ENOENT && (flags & (O_CREAT | O_TRUNC)) && writing) {
        o->size = 0;            /* created (or truncated) now, as POSIX does */
        o->dirty = 1;
        r = 0;
    }
    if (r) {
        release(o);
        return fail(r);
    }
    o->writable = acc != O_RDONLY;
    o->append = (flags & O_APPEND) != 0;
    if (writing) {
        size_t n = strlen(path) + 1;
        o->path = malloc(n);
        if (!o->path) {
            release(o);
            return fail(ENOMEM);
        }
        memcpy(o->path, path, n);
        if ((r = store(o)) != 0) {
            release(o);
            return fail(r);
        }
    }
    o->stream = NULL;       /* its fopen gives it the fd next, the lock held */
    return FIRST_FILE + (int)(o - files);
}

int close(int fd)
{
    struct open_file *o = file_of(fd);
    if (!o)
        return fd >= 0 && fd < FIRST_FILE ? 0 : fail(EBADF);
    int r = store(o);
    release(o);
    return r ? fail(r) : 0;
}

_READ_WRITE_RETURN_TYPE read(int fd, void *buf, size_t n)
{
    if (fd == 0)
        return 0;       /* no console input yet: end of file */
    struct open_file *o = file_of(fd);
    if (!o)
        return fail(EBADF);
    size_t left = o->off < o->size ? o->size - o->off : 0;
    if (n > left)
        n = left;
    memcpy(buf, o->data + o->off, n);
    o->off += n;
    return (_READ_WRITE_RETURN_TYPE)n;
}

_READ_WRITE_RETURN_TYPE write(int fd, const void *buf, size_t n)
{
    if (fd == 1 || fd == 2) {
        rt_console_write(buf, n);
        return (_READ_WRITE_RETURN_TYPE)n;
    }
    struct open_file *o = file_of(fd);
    if (!o || !o->writable)
        return fail(EBADF);
    if (o->append)
        o->off = o->size;
    if (o->off + n < o->off || reserve(o, o->off + n) < 0)
        return fail(ENOSPC);
    if (o->off > o->size)       /* a seek past the end leaves zeros */
        memset(o->data + o->size, 0, o->off - o->size);
    memcpy(o->data + o->off, buf, n);
    o->off += n;
    if (o->off > o->size)
        o->size = o->off;
    o->dirty = 1;
    return (_READ_WRITE_RETURN_TYPE)n;
}

off_t lseek(int fd, off_t off, int whence)
{
    struct open_file *o = file_of(fd);
    if (!o)
        return fail(fd >= 0 && fd < FIRST_FILE ? ESPIPE : EBADF);
    off_t base = whence == SEEK_SET ? 0
               : whence == SEEK_CUR ? (off_t)o->off
               : whence == SEEK_END ? (off_t)o->size : -1;
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
        st->st_mode = S_IFREG | (o->writable ? 0644 : 0444);
        st->st_size = (off_t)o->size;
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

/* No file has a status here but an open one's (fstat); libext2fs's
 * journal-device and mount checks ask, and take the failure. */
int stat(const char *path, struct stat *st)
{
    (void)path, (void)st;
    return fail(ENOSYS);
}

/* One user, who is root; libcom_err's getenv asks (bindings/ext2.c). */
uid_t getuid(void) { return 0; }
uid_t geteuid(void) { return 0; }
gid_t getgid(void) { return 0; }
gid_t getegid(void) { return 0; }

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

/* os.rename is newlib's link, then unlink: link copies the file in the
 * file service (there are no links), failing if `to` exists. */
int link(const char *from, const char *to)
{
    if (!rt_files_up())
        return fail(EROFS);
    char *d, *t;
    size_t n, m;
    int owned, towned;
    int r = rt_files_read(to, 1, &t, &m, &towned);
    if (r == 0) {
        if (towned)
            free(t);
        return fail(EEXIST);
    }
    if (r == RT_FILES_DOWN || (r = rt_files_read(from, 0, &d, &n, &owned)) == RT_FILES_DOWN)
        return fail(EIO);
    if (r)
        return fail(r);
    r = rt_files_write(to, d, n);
    free(d);
    return r ? fail(r == RT_FILES_DOWN ? EIO : r) : 0;
}

/* os.remove: a file of the RAM tree (one of the archive alone: EROFS). */
int unlink(const char *path)
{
    if (!rt_files_up())
        return fail(EROFS);
    int r = rt_files_remove(path);
    return r ? fail(r == RT_FILES_DOWN ? EIO : r) : 0;
}
