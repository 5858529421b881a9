/* The file service's client for newlib's stubs (syscalls.c): whole files
 * over IPC to scripts/files.lua (docs/runtime.md "Files", docs/services.md
 * "The file service"). Every request is one call with string items:
 *
 *   READ   0x201  w0 offset, w1 1: may answer "in the archive"; s path
 *                 -> 0, size, where (1 RAM, 2 archive), [s bytes from offset]
 *   WRITE  0x202  w0 offset, w1 1: last piece; s path, s bytes -> 0, bytes
 *   REMOVE 0x203  s path -> 0
 *
 * and a failure answers label FS_E* and a string saying why. Pieces are
 * at most FS_CHUNK bytes, so the service's default 64 KiB receive buffers
 * take a piece and a path. The buffers of this thread that the Lua
 * bindings offer (utcb->rcv_strings) are borrowed for one call and put
 * back. Called with the libc lock held (from fopen, fclose...), which
 * it lets go of while it waits for the answer (rt_libc_suspend): the
 * service may take seconds (a file of a few MiB written to the disk; a
 * request held while the disk's driver restarts, until the service gives
 * up after 3 s: docs/storage.md), and the root's other threads, the
 * supervisor and its guard among them, go on meanwhile. What the call
 * uses is this thread's alone (its buffers, its open file's slot, taken
 * before: syscalls.c). A call that
 * gets no answer asks the root where the file service is now (keeper.h
 * "where": the supervisor restarts it as a new thread) and, if it moved,
 * is made once more there. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "keeper.h"
#include "rt.h"
#include "l4/syscalls.h"

uint64_t rt_files_id;

enum { FS_READ = 0x201, FS_WRITE, FS_REMOVE };
enum { FS_ENOENT = 1, FS_EROFS, FS_ENOSPC, FS_EINVAL, FS_EISDIR, FS_EFBIG };
#define FS_CHUNK (48u << 10)
#define FS_IN_ARCHIVE 2
#define FOUR_SECONDS L4_TO(977, 12)     /* 977 * 4096 us */

static int errno_of(uint32_t label)
{
    switch (label) {
    case FS_ENOENT: return ENOENT;
    case FS_EROFS: return EROFS;
    case FS_ENOSPC: return ENOSPC;
    case FS_EINVAL: return EINVAL;
    case FS_EISDIR: return EISDIR;
    case FS_EFBIG: return EFBIG;
    default: return EIO;
    }
}

int rt_files_up(void)
{
    uint64_t me = l4_utcb_of(rt_self_lthread())->myself;
    return rt_files_id && L4_ID_TASK(rt_files_id) != L4_ID_TASK(me);
}

/* The service did not answer: has it been restarted elsewhere? Asks
 * "where" (keeper.h) and takes the new id if there is one. True if the
 * call is to be made again there: not if it is this very task (a file
 * service restarted with its dead predecessor's id, told where it is
 * before it has read its own script: a call to itself would wait for its
 * whole timeout), which then reads the archive (rt_files_up). */
static int moved(void)
{
    uint64_t names, files, console;
    if (rt_where(&names, &files, &console) != KEEP_OK || !files || files == rt_files_id)
        return 0;
    rt_files_id = files;
    return rt_files_up();
}

/* One call: nw words (0 or 2: w0, w1), the strings a (na bytes) and b
 * (nb, if b), the reply's first string into rbuf (rsize bytes, if rbuf).
 * Returns the reply's label (0: done) or RT_FILES_DOWN; *m holds its
 * words and *got the bytes of its string. */
static int call(uint32_t label, unsigned nw, uint64_t w0, uint64_t w1, const char *a,
                size_t na, const char *b, size_t nb, char *rbuf, size_t rsize,
                struct l4_msg *m, size_t *got, uint16_t rcv_to)
{
    struct l4_utcb *utcb = l4_utcb_of(rt_self_lthread());
    uint64_t saved[2] = { utcb->rcv_strings[0][0], utcb->rcv_strings[0][1] };
    unsigned items = b ? 2 : 1, i = 0;
    memset(m->w, 0, sizeof m->w);
    if (nw) {
        m->w[i++] = w0;
        m->w[i++] = w1;
    }
    m->w[i++] = (uint64_t)na << 4 | L4_ITEM_STRING;
    m->w[i++] = (uint64_t)a;
    if (b) {
        m->w[i++] = (uint64_t)nb << 4 | L4_ITEM_STRING;
        m->w[i++] = (uint64_t)b;
    }
    char why[2048];         /* a failure's message, when no bytes are wanted */
    if (!rbuf) {
        rbuf = why;
        rsize = sizeof why;
    }
    utcb->rcv_strings[0][0] = (uint64_t)rbuf;
    utcb->rcv_strings[0][1] = rsize;
    uint64_t rcv = L4_RCV_WORDS(0) | L4_RCV_STRINGS;
    const struct l4_msg sent = *m;      /* all its words fit in registers */
    unsigned held = rt_libc_suspend();  /* the lock is not held while it waits */
    uint64_t r = l4_ipc(rt_files_id, L4_TAG(label, nw, items), rcv,
                        L4_TIMEOUTS(FOUR_SECONDS, rcv_to, 0, 0), m, NULL);
    if (L4_IPC_ERR(r) != L4_IPC_OK && moved()) {
        *m = sent;                      /* once more, to where it is now */
        r = l4_ipc(rt_files_id, L4_TAG(label, nw, items), rcv,
                   L4_TIMEOUTS(FOUR_SECONDS, rcv_to, 0, 0), m, NULL);
    }
    rt_libc_resume(held);
    utcb->rcv_strings[0][0] = saved[0];
    utcb->rcv_strings[0][1] = saved[1];
    if (L4_IPC_ERR(r) != L4_IPC_OK)
        return RT_FILES_DOWN;
    unsigned u = L4_TAG_U(m->tag);
    *got = 0;
    if (L4_TAG_T(m->tag) && u + 1 < L4_MSG_WORDS) {
        uint64_t item = l4_mr_get(m, utcb, u);  /* its string item, in a register or the UTCB */
        if ((item & 0xf) == L4_ITEM_STRING)
            *got = (size_t)(item >> 4);
    }
    return (int)L4_TAG_LABEL(m->tag);
}

/* The buffer being filled is *data (owned) all along, so that an open
 * file's slot holds it while the calls wait: a thread stopped there for
 * good leaves it to the slot, which is taken back (syscalls.c,
 * rt_files_orphan). On a failure *data is NULL again and not owned. */
int rt_files_read(const char *path, int in_archive, char **data, size_t *size, int *owned)
{
    size_t n = strlen(path), got;
    struct l4_msg m;
    char *buf = malloc(FS_CHUNK);
    if (!buf)
        return ENOMEM;
    *data = buf;
    *owned = 1;
    int r = call(FS_READ, 2, 0, in_archive ? 1 : 0, path, n, NULL, 0, buf, FS_CHUNK, &m, &got,
                 FOUR_SECONDS);
    *data = NULL;
    *owned = 0;
    if (r != 0) {
        free(buf);
        return r == RT_FILES_DOWN ? r : errno_of((uint32_t)r);
    }
    size_t total = (size_t)m.w[0];
    if (m.w[1] == FS_IN_ARCHIVE && in_archive) {
        struct rt_file f;
        free(buf);
        if (rt_archive_find(path, &f) < 0)
            return ENOENT;
        *data = (char *)f.data;     /* never written: owned 0 */
        *size = f.size;
        *owned = 0;
        return 0;
    }
    char *all = realloc(buf, total ? total : 1);
    if (!all) {
        free(buf);
        return ENOMEM;
    }
    size_t off = got;
    while (off < total) {       /* the rest straight into place */
        *data = all;
        *owned = 1;
        r = call(FS_READ, 2, off, 0, path, n, NULL, 0, all + off, total - off, &m, &got,
                 FOUR_SECONDS);
        *data = NULL;
        *owned = 0;
        if (r != 0 || got == 0 || m.w[0] != total) {
            free(all);
            return r == RT_FILES_DOWN ? r : r ? errno_of((uint32_t)r) : EIO;  /* changed meanwhile */
        }
        off += got;
    }
    *data = all;
    *size = total;
    *owned = 1;
    return 0;
}

/* The receive timeout of a write's last piece, when the service writes
 * the whole file to the disk: 4 s and 4 s a MiB (a guest on TCG writes
 * some 1.4 s a MiB through the virtio-blk driver; a 3 MiB file took
 * longer than 4 s, and its close failed with EIO). */
static uint16_t writing_time(size_t size)
{
    uint64_t us = 4000000 + (uint64_t)size * 4;
    unsigned e = 0;
    while (us > 1023) {
        us = (us + 1) >> 1;
        e++;
    }
    return L4_TO((unsigned)us, e);
}

int rt_files_write(const char *path, const char *data, size_t size)
{
    size_t n = strlen(path), got, off = 0;
    struct l4_msg m;
    if (!data)
        data = "";          /* an empty file has no buffer yet */
    do {
        size_t k = size - off < FS_CHUNK ? size - off : FS_CHUNK;
        int last = off + k == size;
        int r = call(FS_WRITE, 2, off, last, path, n, data + off, k, NULL, 0, &m, &got,
                     last ? writing_time(size) : FOUR_SECONDS);
        if (r != 0)
            return r == RT_FILES_DOWN ? r : errno_of((uint32_t)r);
        off += k;
    } while (off < size);
    return 0;
}

int rt_files_remove(const char *path)
{
    size_t got;
    struct l4_msg m;
    int r = call(FS_REMOVE, 0, 0, 0, path, strlen(path), NULL, 0, NULL, 0, &m, &got,
                 FOUR_SECONDS);
    return r == 0 || r == RT_FILES_DOWN ? r : errno_of((uint32_t)r);
}
