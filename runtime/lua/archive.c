/* The scripts archive: a boot module the kernel maps read-only into this
 * task (KIP fields scripts, scripts_size). Its format, written by
 * tools/mkarchive.py, all numbers 32-bit little-endian:
 *
 *   "L4uaARC1"                                  8 bytes of magic
 *   { name length, name, data length, data }    per file, no padding
 *   0                                           the end
 *
 * and, when mkarchive.py ran with --luac, the precompiled chunks after
 * that end, in the same form (runtime/lua/luac.c uses them):
 *
 *   "L4uaLUAC"  { name length, name, chunk length, chunk }  0
 *
 * Names are paths relative to the archive's root ("init.lua",
 * "lpeg/util.lua"). The archive is small, so a lookup walks it. */
#include <string.h>

#include "rt.h"
#include "l4/syscalls.h"

#define MAGIC "L4uaARC1"
#define LUAC_MAGIC "L4uaLUAC"
#define NAME_MAX_ 1024

static const unsigned char *arc;
static size_t arc_size;
static size_t luac_at;      /* offset of the first chunk's entry, 0: none */

static uint32_t u32_at(size_t off)
{
    return (uint32_t)arc[off] | (uint32_t)arc[off + 1] << 8 |
           (uint32_t)arc[off + 2] << 16 | (uint32_t)arc[off + 3] << 24;
}

/* Visits each entry from offset off on, in order, until fn returns
 * non-zero; returns that, 0 at the end (and the offset after it in
 * *end, if end), or -1 if the archive is malformed from there on. */
static int walk_from(size_t off, int (*fn)(const char *name, size_t nlen, struct rt_file *f,
                                           void *arg), void *arg, size_t *end)
{
    for (;;) {
        if (arc_size - off < 4)
            return -1;
        uint32_t nlen = u32_at(off);
        off += 4;
        if (nlen == 0) {
            if (end)
                *end = off;
            return 0;
        }
        if (nlen > NAME_MAX_ || arc_size - off < nlen + 4ull)
            return -1;
        const char *name = (const char *)arc + off;
        off += nlen;
        uint32_t dlen = u32_at(off);
        off += 4;
        if (arc_size - off < dlen)
            return -1;
        struct rt_file f = { (const char *)arc + off, dlen };
        off += dlen;
        int r = fn(name, nlen, &f, arg);
        if (r)
            return r;
    }
}

/* The files' entries. */
static int walk(int (*fn)(const char *name, size_t nlen, struct rt_file *f, void *arg),
                void *arg)
{
    return walk_from(sizeof MAGIC - 1, fn, arg, NULL);
}

static int ignore(const char *name, size_t nlen, struct rt_file *f, void *arg)
{
    (void)name, (void)nlen, (void)f, (void)arg;
    return 0;
}

int rt_archive_init(void)
{
    const struct l4_kip *kip = l4_kip();
    arc = (const unsigned char *)kip->scripts;
    arc_size = kip->scripts_size;
    luac_at = 0;
    const char *why = NULL;
    size_t end = 0;
    if (!arc)
        why = "no boot module named \"scripts\"";
    else if (arc_size < sizeof MAGIC - 1 || memcmp(arc, MAGIC, sizeof MAGIC - 1))
        why = "the scripts module is not an archive of tools/mkarchive.py";
    else if (walk_from(sizeof MAGIC - 1, ignore, NULL, &end) < 0)
        why = "the scripts archive is truncated or malformed";
    else if (arc_size - end >= sizeof LUAC_MAGIC - 1 &&
             !memcmp(arc + end, LUAC_MAGIC, sizeof LUAC_MAGIC - 1)) {
        end += sizeof LUAC_MAGIC - 1;
        if (walk_from(end, ignore, NULL, NULL) < 0)
            why = "the scripts archive's precompiled chunks are truncated or malformed";
        else
            luac_at = end;
    }
    if (!why)
        return 1;
    rt_console_puts("lua-root: ");
    rt_console_puts(why);
    rt_console_puts("; no scripts\n");
    arc = NULL;
    arc_size = 0;
    return 0;
}

struct find {
    const char *path;
    size_t len;
    struct rt_file *out;
};

static int match(const char *name, size_t nlen, struct rt_file *f, void *arg)
{
    struct find *q = arg;
    if (nlen != q->len || memcmp(name, q->path, nlen))
        return 0;
    *q->out = *f;
    return 1;
}

/* The archive is the root: "/x" and "./x" are "x". */
static const char *relative(const char *path)
{
    for (;;) {
        if (path[0] == '/')
            path++;
        else if (path[0] == '.' && path[1] == '/')
            path += 2;
        else
            return path;
    }
}

int rt_archive_find(const char *path, struct rt_file *f)
{
    if (!arc)
        return -1;
    path = relative(path);
    struct find q = { path, strlen(path), f };
    return walk(match, &q) == 1 ? 0 : -1;
}

int rt_archive_compiled(const char *path, struct rt_file *src, struct rt_file *chunk)
{
    if (!arc || !luac_at)
        return -1;
    path = relative(path);
    struct find q = { path, strlen(path), chunk };
    if (walk_from(luac_at, match, &q, NULL) != 1)
        return -1;
    q.out = src;
    return walk(match, &q) == 1 ? 0 : -1;
}

struct each {
    void (*fn)(const char *name, size_t len, size_t size, void *arg);
    void *arg;
};

static int visit(const char *name, size_t nlen, struct rt_file *f, void *arg)
{
    struct each *e = arg;
    e->fn(name, nlen, f->size, e->arg);
    return 0;
}

void rt_archive_each(void (*fn)(const char *name, size_t len, size_t size, void *arg),
                     void *arg)
{
    struct each e = { fn, arg };
    if (arc)
        walk(visit, &e);
}
