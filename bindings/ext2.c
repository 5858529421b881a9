/* The ext2 module (docs/storage.md): an ext2/3/4 file system on a Lua
 * block device, through Debian's libext2fs (tools/deps/build.sh).
 *
 *   local ext2 = require "ext2"
 *   local fs = ext2.open(dev [, {readonly = true}])  --> fs | nil, msg, code
 *   fs:read(path [, offset [, length]])   --> bytes
 *   fs:write(path, bytes)                 --> true   (the whole file, replaced at once)
 *   fs:remove(path)  fs:rename(from, to)  fs:mkdir(path)   --> true
 *   fs:list(folder)  --> {"a.txt", "sub/", ...} (sorted; folders end in "/"; a
 *                        damaged name with '/' or NUL in it is left out)
 *   fs:stat(path)    --> {size =, kind = "file"|"folder"|"other", mode =, mtime =, links =}
 *   fs:sync()        --> true: on the device, its cache flushed, the file system clean
 *   fs:info()        --> {block_size =, blocks =, free_blocks =, inodes =, free_inodes =, ...}
 *   fs:close()
 *
 * Expected failures return nil, a message and an errno code (ext2.ENOENT,
 * ENOTDIR, EISDIR, EEXIST, ENOTEMPTY, ENOSPC, EROFS, EFBIG, EINVAL, ENOMEM,
 * EIO; a damaged image gives EIO with libext2fs's own words); misuse
 * (wrong argument types, a closed handle) raises an error. Paths are
 * relative to the root: "a/b", "/a/b" and "a//b" are the same file.
 *
 * Durability: every change (write, remove, rename, mkdir) is on the
 * device when its call returns: the io manager writes through, and the
 * call ends with ext2fs_flush (superblock, group descriptors, bitmaps).
 * The first change after open or a sync clears the superblock's "clean"
 * flag on the device before anything else is written; fs:sync sets it
 * again and asks the device to flush its cache. A write makes the new
 * contents in a new inode and then switches the directory entry to it
 * (one block written): a crash leaves the old or the new contents, never
 * a mix; the other inode is an orphan that e2fsck frees. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ext2b.h"
#include "lauxlib.h"

#define EXT2B_FS "ext2.fs"

struct efs {
    ext2_filsys fs;         /* NULL once closed */
    int changing;           /* a change since the last sync (clean flag cleared) */
    int was_clean;          /* the clean flag at open */
    struct ext2b_dev dev;   /* the channel's private data: lives as long */
};

/* ---- errors ---- */

static int errno_of(errcode_t e)
{
    switch (e) {
    case EXT2_ET_FILE_NOT_FOUND: return ENOENT;
    case EXT2_ET_NO_DIRECTORY: return ENOTDIR;
    case EXT2_ET_DIR_EXISTS: case EXT2_ET_FILE_EXISTS: return EEXIST;
    case EXT2_ET_BLOCK_ALLOC_FAIL: case EXT2_ET_INODE_ALLOC_FAIL:
    case EXT2_ET_DIR_NO_SPACE: case EXT2_ET_EA_NO_SPACE: case EXT2_ET_RES_GDT_BLOCKS:
        return ENOSPC;
    case EXT2_ET_RO_FILSYS: return EROFS;
    case EXT2_ET_FILE_TOO_BIG: return EFBIG;
    case EXT2_ET_NO_MEMORY: return ENOMEM;
    case EXT2_ET_INVALID_ARGUMENT: return EINVAL;
    default:
        return e > 0 && e < 256 ? (int)e : EIO;     /* libext2fs passes errno through */
    }
}

/* nil, "what: why", code; the device's own words when it failed. */
static int fail(lua_State *L, struct efs *h, const char *what, errcode_t e)
{
    int code = errno_of(e);
    lua_pushnil(L);
    if (h && h->dev.why[0])
        lua_pushfstring(L, "%s: disk: %s", what, h->dev.why);
    else if (e > 0 && e < 256)
        lua_pushfstring(L, "%s: %s", what, strerror((int)e));
    else
        lua_pushfstring(L, "%s: %s", what, error_message(e));
    lua_pushinteger(L, code);
    if (h)
        h->dev.why[0] = 0;
    return 3;
}

static int fail_code(lua_State *L, const char *msg, int code)
{
    lua_pushnil(L);
    lua_pushstring(L, msg);
    lua_pushinteger(L, code);
    return 3;
}

/* ---- the handle ---- */

static struct efs *check(lua_State *L)
{
    struct efs *h = luaL_checkudata(L, 1, EXT2B_FS);
    if (!h->fs)
        luaL_error(L, "attempt to use a closed file system");
    h->dev.L = L;           /* the device's methods run on this call's state */
    h->dev.why[0] = 0;
    return h;
}

/* A path argument: a string without NUL bytes, made canonical in place
 * of the argument: "/a//./b/" is "a/b", the root is "". */
static const char *check_path(lua_State *L, int i)
{
    size_t n;
    const char *p = luaL_checklstring(L, i, &n);
    if (strlen(p) != n)
        luaL_argerror(L, i, "a path with a NUL byte");
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    int first = 1;
    for (size_t at = 0; at < n;) {
        size_t len = strcspn(p + at, "/");
        if (len && !(len == 1 && p[at] == '.')) {
            if (!first)
                luaL_addchar(&b, '/');
            luaL_addlstring(&b, p + at, len);
            first = 0;
        }
        at += len + 1;
    }
    luaL_pushresult(&b);
    lua_replace(L, i);
    return lua_tostring(L, i);
}

/* Splits path into its folder (resolved to *dir) and its last name
 * (copied into leaf). */
static errcode_t split(ext2_filsys fs, const char *path, ext2_ino_t *dir, char *leaf)
{
    while (*path == '/')
        path++;
    size_t n = strlen(path);
    while (n && path[n - 1] == '/')
        n--;
    const char *slash = NULL;
    for (size_t i = 0; i < n; i++)
        if (path[i] == '/')
            slash = path + i;
    const char *name = slash ? slash + 1 : path;
    size_t len = path + n - name;
    if (len == 0 || len > EXT2_NAME_LEN || (len == 1 && name[0] == '.') ||
        (len == 2 && name[0] == '.' && name[1] == '.'))
        return EXT2_ET_INVALID_ARGUMENT;
    memcpy(leaf, name, len);
    leaf[len] = 0;
    if (!slash) {
        *dir = EXT2_ROOT_INO;
        return 0;
    }
    char *folder = malloc(slash - path + 1);
    if (!folder)
        return EXT2_ET_NO_MEMORY;
    memcpy(folder, path, slash - path);
    folder[slash - path] = 0;
    errcode_t e = ext2fs_namei(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, folder, dir);
    free(folder);
    if (e)
        return e;
    struct ext2_inode in;
    if ((e = ext2fs_read_inode(fs, *dir, &in)))
        return e;
    return LINUX_S_ISDIR(in.i_mode) ? 0 : EXT2_ET_NO_DIRECTORY;
}

static errcode_t lookup(ext2_filsys fs, const char *path, ext2_ino_t *ino)
{
    while (*path == '/')
        path++;
    if (!*path) {
        *ino = EXT2_ROOT_INO;
        return 0;
    }
    return ext2fs_namei(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, path, ino);
}

/* The first change after open or sync: the clean flag off, on the device
 * before the change itself (e2fsck then checks the whole file system
 * after a crash). */
static errcode_t begin(struct efs *h)
{
    if (!(h->fs->flags & EXT2_FLAG_RW))
        return EXT2_ET_RO_FILSYS;
    if (h->changing)
        return 0;
    h->fs->super->s_state &= ~EXT2_VALID_FS;
    ext2fs_mark_super_dirty(h->fs);
    errcode_t e = ext2fs_flush2(h->fs, EXT2_FLAG_FLUSH_NO_SYNC);
    if (!e)
        h->changing = 1;
    return e;
}

/* The end of a change: the metadata libext2fs holds in memory written
 * (the device's cache is flushed by sync only). */
static errcode_t end(struct efs *h, errcode_t e)
{
    errcode_t f = ext2fs_flush2(h->fs, EXT2_FLAG_FLUSH_NO_SYNC);
    return e ? e : f;
}

/* The last words of a change (write, remove, rename, mkdir): its end
 * (end above), then true, or the failure of the change or of the end. */
static int finish(lua_State *L, struct efs *h, const char *what, errcode_t e)
{
    if ((e = end(h, e)))
        return fail(L, h, what, e);
    lua_pushboolean(L, 1);
    return 1;
}

static uint32_t now(void)
{
    return (uint32_t)time(NULL);
}

/* ext2.open(dev [, opts]) -> fs | nil, msg, code */
static int x_open(lua_State *L)
{
    luaL_checkany(L, 1);
    int ro = 0;
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        lua_getfield(L, 2, "readonly");
        ro = lua_toboolean(L, -1);
        lua_pop(L, 1);
    }
    /* the device's size: d:info() */
    lua_getfield(L, 1, "info");
    lua_pushvalue(L, 1);
    lua_call(L, 1, 2);
    if (!lua_istable(L, -2))
        return fail_code(L, lua_isstring(L, -1) ? lua_tostring(L, -1) : "the device gave no info", EIO);
    lua_getfield(L, -2, "sectors");
    lua_getfield(L, -3, "sector_size");
    lua_getfield(L, -4, "readonly");
    lua_Integer sectors = lua_tointeger(L, -3), ss = lua_tointeger(L, -2);
    ro = ro || lua_toboolean(L, -1);    /* a read-only disk: opened read-only */
    lua_pop(L, 5);
    if (sectors <= 0 || ss < 512 || ss > 4096 || (ss & (ss - 1)))
        return fail_code(L, "the device's info has no sectors or a bad sector_size", EINVAL);

    /* the closed handle before the file system (liolib's newprefile) */
    struct efs *h = lua_newuserdatauv(L, sizeof *h, 0);
    memset(h, 0, sizeof *h);
    h->dev.ref = LUA_NOREF;
    luaL_setmetatable(L, EXT2B_FS);
    h->dev = (struct ext2b_dev){ L, LUA_NOREF, (uint32_t)ss, (uint64_t)sectors, "" };
    lua_pushvalue(L, 1);
    h->dev.ref = luaL_ref(L, LUA_REGISTRYINDEX);

    char name[40];
    ext2b_dev_name(&h->dev, name, sizeof name);
    int flags = EXT2_FLAG_64BITS | (ro ? 0 : EXT2_FLAG_RW);
    ext2_filsys fs;
    errcode_t e = ext2fs_open(name, flags, 0, 0, ext2b_io_manager, &fs);
    if (e)
        return fail(L, h, "open", e);
    /* what openfs does not check: every group's tables inside the disk */
    e = ext2fs_check_desc(fs);
    if (!e && ext2fs_has_feature_journal_needs_recovery(fs->super) && !ro)
        e = EXT2_ET_RO_UNSUPP_FEATURE;
    if (!e && !ro)
        e = ext2fs_read_bitmaps(fs);
    if (e) {
        ext2fs_free(fs);
        return fail(L, h, "open", e);
    }
    h->fs = fs;
    h->was_clean = (fs->super->s_state & EXT2_VALID_FS) && !(fs->super->s_state & EXT2_ERROR_FS);
    return 1;
}

/* fs:read(path [, offset [, length]]) -> bytes */
static int x_read(lua_State *L)
{
    struct efs *h = check(L);
    const char *path = check_path(L, 2);
    lua_Integer off = luaL_optinteger(L, 3, 0), want = luaL_optinteger(L, 4, -1);
    luaL_argcheck(L, off >= 0, 3, "negative offset");
    ext2_ino_t ino;
    struct ext2_inode in;
    errcode_t e = lookup(h->fs, path, &ino);
    if (!e)
        e = ext2fs_read_inode(h->fs, ino, &in);
    if (e)
        return fail(L, h, path, e);
    if (LINUX_S_ISDIR(in.i_mode))
        return fail_code(L, lua_pushfstring(L, "%s: a folder", path), EISDIR);
    if (!LINUX_S_ISREG(in.i_mode))
        return fail_code(L, lua_pushfstring(L, "%s: not a plain file", path), EINVAL);
    uint64_t size = EXT2_I_SIZE(&in);
    uint64_t n = (uint64_t)off >= size ? 0 : size - (uint64_t)off;
    if (want >= 0 && (uint64_t)want < n)
        n = (uint64_t)want;
    if (n > ((size_t)1 << 30))
        return fail_code(L, lua_pushfstring(L, "%s: over 1 GiB at once", path), EFBIG);
    /* the bytes in a userdata: collected even if an error is raised */
    char *buf = lua_newuserdatauv(L, n ? n : 1, 0);
    ext2_file_t f;
    if ((e = ext2fs_file_open(h->fs, ino, 0, &f)))
        return fail(L, h, path, e);
    uint64_t got = 0;
    e = ext2fs_file_llseek(f, (uint64_t)off, EXT2_SEEK_SET, NULL);
    while (!e && got < n) {
        unsigned int k, ask = n - got > (1u << 20) ? (1u << 20) : (unsigned)(n - got);
        e = ext2fs_file_read(f, buf + got, ask, &k);
        if (!e && k == 0)
            break;  /* the inode's size says more than its blocks hold */
        got += k;
    }
    errcode_t c = ext2fs_file_close(f);
    if (e || c)
        return fail(L, h, path, e ? e : c);
    lua_pushlstring(L, buf, got);
    return 1;
}

/* Frees an inode with no name left: its blocks, its attribute block. */
static errcode_t drop_inode(ext2_filsys fs, ext2_ino_t ino)
{
    struct ext2_inode_large in;
    errcode_t e = ext2fs_read_inode_full(fs, ino, (struct ext2_inode *)&in, sizeof in);
    if (e)
        return e;
    int dir = LINUX_S_ISDIR(in.i_mode);
    /* punch writes the inode it changed: read it again after */
    if (ext2fs_inode_has_valid_blocks2(fs, (struct ext2_inode *)&in) &&
        ((e = ext2fs_punch(fs, ino, (struct ext2_inode *)&in, NULL, 0, ~0ULL)) ||
         (e = ext2fs_read_inode_full(fs, ino, (struct ext2_inode *)&in, sizeof in))))
        return e;
    if (ext2fs_file_acl_block(fs, (struct ext2_inode *)&in) &&
        (e = ext2fs_free_ext_attr(fs, ino, &in)))
        return e;
    in.i_links_count = 0;
    in.i_dtime = now();
    if ((e = ext2fs_write_inode_full(fs, ino, (struct ext2_inode *)&in, sizeof in)))
        return e;
    ext2fs_inode_alloc_stats2(fs, ino, -1, dir);
    return 0;
}

/* A new regular file's inode holding data (never linked yet). */
static errcode_t new_file(ext2_filsys fs, ext2_ino_t dir, const char *data, size_t n,
                          ext2_ino_t *out)
{
    ext2_ino_t ino;
    errcode_t e = ext2fs_new_inode(fs, dir, LINUX_S_IFREG | 0644, 0, &ino);
    if (e)
        return e;
    struct ext2_inode in;
    memset(&in, 0, sizeof in);
    in.i_mode = LINUX_S_IFREG | 0644;
    in.i_links_count = 1;
    in.i_atime = in.i_ctime = in.i_mtime = now();
    ext2fs_inode_alloc_stats2(fs, ino, +1, 0);
    if ((e = ext2fs_write_new_inode(fs, ino, &in)))
        goto undo;
    if (ext2fs_has_feature_extents(fs->super)) {
        ext2_extent_handle_t x;     /* opening one makes the inode's extent header */
        if ((e = ext2fs_extent_open2(fs, ino, &in, &x)))
            goto undo;
        ext2fs_extent_free(x);
    }
    ext2_file_t f;
    if ((e = ext2fs_file_open(fs, ino, EXT2_FILE_WRITE, &f)))
        goto undo;
    size_t done = 0;
    while (!e && done < n) {
        unsigned int k, ask = n - done > (1u << 20) ? (1u << 20) : (unsigned)(n - done);
        e = ext2fs_file_write(f, data + done, ask, &k);
        if (!e && k == 0)
            e = EXT2_ET_SHORT_WRITE;
        done += e ? 0 : k;
    }
    errcode_t c = ext2fs_file_close(f);
    if (!e && c)
        e = c;
    if (!e) {
        *out = ino;
        return 0;
    }
undo:
    drop_inode(fs, ino);
    return e;
}

/* Points the entry `name` of dir at another inode: one directory block
 * written, so the switch is whole or not at all. */
struct repoint { const char *name; size_t len; ext2_ino_t to, from; int done; };

static int repoint_entry(ext2_ino_t dir, int entry, struct ext2_dir_entry *de, int offset,
                         int blocksize, char *buf, void *priv)
{
    struct repoint *r = priv;
    (void)dir, (void)entry, (void)offset, (void)blocksize, (void)buf;
    if (de->inode != r->from || (size_t)ext2fs_dirent_name_len(de) != r->len ||
        memcmp(de->name, r->name, r->len))
        return 0;
    de->inode = r->to;
    r->done = 1;
    return DIRENT_CHANGED | DIRENT_ABORT;
}

/* Links ino as dir/name, growing the folder if it is full. */
static errcode_t link_in(ext2_filsys fs, ext2_ino_t dir, const char *name, ext2_ino_t ino,
                         int type)
{
    errcode_t e = ext2fs_link(fs, dir, name, ino, type);
    if (e == EXT2_ET_DIR_NO_SPACE) {
        if ((e = ext2fs_expand_dir(fs, dir)))
            return e;
        e = ext2fs_link(fs, dir, name, ino, type);
    }
    return e;
}

/* fs:write(path, bytes) -> true */
static int x_write(lua_State *L)
{
    struct efs *h = check(L);
    const char *path = check_path(L, 2);
    size_t n;
    const char *data = luaL_checklstring(L, 3, &n);
    char leaf[EXT2_NAME_LEN + 1];
    ext2_ino_t dir, old = 0, ino;
    errcode_t e = split(h->fs, path, &dir, leaf);
    if (!e) {
        e = ext2fs_lookup(h->fs, dir, leaf, strlen(leaf), NULL, &old);
        if (e == EXT2_ET_FILE_NOT_FOUND)
            e = 0, old = 0;
    }
    if (!e && old) {
        struct ext2_inode in;
        if (!(e = ext2fs_read_inode(h->fs, old, &in)) && LINUX_S_ISDIR(in.i_mode))
            return fail_code(L, lua_pushfstring(L, "%s: a folder", path), EISDIR);
        if (!e && !LINUX_S_ISREG(in.i_mode))
            return fail_code(L, lua_pushfstring(L, "%s: not a plain file", path), EINVAL);
    }
    if (e)
        return fail(L, h, path, e);
    if ((e = begin(h)))
        return fail(L, h, path, e);
    e = new_file(h->fs, dir, data, n, &ino);
    if (!e && !old) {
        e = link_in(h->fs, dir, leaf, ino, EXT2_FT_REG_FILE);
        if (e)
            drop_inode(h->fs, ino);
    } else if (!e) {
        struct repoint r = { leaf, strlen(leaf), ino, old, 0 };
        e = ext2fs_dir_iterate2(h->fs, dir, 0, NULL, repoint_entry, &r);
        if (!e && !r.done)
            e = EXT2_ET_FILE_NOT_FOUND;
        if (e)
            drop_inode(h->fs, ino);
        else
            e = drop_inode(h->fs, old);
    }
    return finish(L, h, path, e);
}

/* Is dir empty but for "." and ".."? */
static int count_entry(ext2_ino_t dir, int entry, struct ext2_dir_entry *de, int offset,
                       int blocksize, char *buf, void *priv)
{
    (void)dir, (void)de, (void)offset, (void)blocksize, (void)buf;
    if (entry == DIRENT_OTHER_FILE) {
        ++*(int *)priv;
        return DIRENT_ABORT;
    }
    return 0;
}

static errcode_t adjust_links(ext2_filsys fs, ext2_ino_t ino, int by)
{
    struct ext2_inode in;
    errcode_t e = ext2fs_read_inode(fs, ino, &in);
    if (e)
        return e;
    if (by < 0 && in.i_links_count == 0)
        return EXT2_ET_DIR_CORRUPTED;
    in.i_links_count += by;
    in.i_ctime = in.i_mtime = now();
    return ext2fs_write_inode(fs, ino, &in);
}

/* fs:remove(path) -> true: a file, or an empty folder */
static int x_remove(lua_State *L)
{
    struct efs *h = check(L);
    const char *path = check_path(L, 2);
    char leaf[EXT2_NAME_LEN + 1];
    ext2_ino_t dir, ino;
    struct ext2_inode in;
    errcode_t e = split(h->fs, path, &dir, leaf);
    if (!e)
        e = ext2fs_lookup(h->fs, dir, leaf, strlen(leaf), NULL, &ino);
    if (!e)
        e = ext2fs_read_inode(h->fs, ino, &in);
    if (e)
        return fail(L, h, path, e);
    int isdir = LINUX_S_ISDIR(in.i_mode);
    if (isdir) {
        int others = 0;
        if ((e = ext2fs_dir_iterate2(h->fs, ino, 0, NULL, count_entry, &others)))
            return fail(L, h, path, e);
        if (others)
            return fail_code(L, lua_pushfstring(L, "%s: folder not empty", path), ENOTEMPTY);
    }
    if ((e = begin(h)))
        return fail(L, h, path, e);
    e = ext2fs_unlink(h->fs, dir, leaf, ino, 0);
    if (!e && isdir)
        e = adjust_links(h->fs, dir, -1);
    if (!e && (isdir || in.i_links_count <= 1))
        e = drop_inode(h->fs, ino);
    else if (!e)
        e = adjust_links(h->fs, ino, -1);
    return finish(L, h, path, e);
}

/* Points a moved folder's ".." at its new parent. */
static int dotdot_entry(ext2_ino_t dir, int entry, struct ext2_dir_entry *de, int offset,
                        int blocksize, char *buf, void *priv)
{
    (void)dir, (void)offset, (void)blocksize, (void)buf;
    if (entry != DIRENT_DOT_DOT_FILE)
        return 0;
    de->inode = *(ext2_ino_t *)priv;
    return DIRENT_CHANGED | DIRENT_ABORT;
}

/* Is ino dir or above it (walking ".." up to the root)? */
static errcode_t is_above(ext2_filsys fs, ext2_ino_t ino, ext2_ino_t dir, int *above)
{
    *above = 0;
    for (int depth = 0; depth < 4096; depth++) {
        if (dir == ino) {
            *above = 1;
            return 0;
        }
        if (dir == EXT2_ROOT_INO)
            return 0;
        ext2_ino_t up;
        errcode_t e = ext2fs_lookup(fs, dir, "..", 2, NULL, &up);
        if (e)
            return e;
        dir = up;
    }
    return EXT2_ET_DIR_CORRUPTED;   /* a loop of ".." */
}

/* fs:rename(from, to) -> true: replaces a file at `to`, never a folder */
static int x_rename(lua_State *L)
{
    struct efs *h = check(L);
    const char *from = check_path(L, 2), *to = check_path(L, 3);
    char a[EXT2_NAME_LEN + 1], b[EXT2_NAME_LEN + 1];
    ext2_ino_t da, db, ino, over = 0;
    struct ext2_inode in;
    errcode_t e = split(h->fs, from, &da, a);
    if (!e)
        e = ext2fs_lookup(h->fs, da, a, strlen(a), NULL, &ino);
    if (!e)
        e = ext2fs_read_inode(h->fs, ino, &in);
    if (e)
        return fail(L, h, from, e);
    if ((e = split(h->fs, to, &db, b)))
        return fail(L, h, to, e);
    int isdir = LINUX_S_ISDIR(in.i_mode);
    if (da == db && !strcmp(a, b)) {
        lua_pushboolean(L, 1);
        return 1;
    }
    e = ext2fs_lookup(h->fs, db, b, strlen(b), NULL, &over);
    if (e == EXT2_ET_FILE_NOT_FOUND)
        e = 0, over = 0;
    if (!e && over) {
        struct ext2_inode oin;
        if (!(e = ext2fs_read_inode(h->fs, over, &oin)) && (LINUX_S_ISDIR(oin.i_mode) || isdir))
            return fail_code(L, lua_pushfstring(L, "%s: exists%s", to,
                             LINUX_S_ISDIR(oin.i_mode) ? " and is a folder" : ""), EEXIST);
    }
    if (!e && isdir && da != db) {
        int above;
        if (!(e = is_above(h->fs, ino, db, &above)) && above)
            return fail_code(L, lua_pushfstring(L, "%s: into itself", to), EINVAL);
    }
    if (e)
        return fail(L, h, to, e);
    if ((e = begin(h)))
        return fail(L, h, to, e);
    if (over) {
        /* the target's entry switched to the moved inode (one block) */
        struct repoint r = { b, strlen(b), ino, over, 0 };
        e = ext2fs_dir_iterate2(h->fs, db, 0, NULL, repoint_entry, &r);
        if (!e && !r.done)
            e = EXT2_ET_FILE_NOT_FOUND;
        if (!e)
            e = ext2fs_unlink(h->fs, da, a, ino, 0);
        if (!e)
            e = drop_inode(h->fs, over);
    } else {
        e = link_in(h->fs, db, b, ino, isdir ? EXT2_FT_DIR : EXT2_FT_REG_FILE);
        if (!e)
            e = ext2fs_unlink(h->fs, da, a, ino, 0);
        if (!e && isdir && da != db) {
            e = ext2fs_dir_iterate2(h->fs, ino, DIRENT_FLAG_INCLUDE_EMPTY, NULL, dotdot_entry, &db);
            if (!e)
                e = adjust_links(h->fs, da, -1);
            if (!e)
                e = adjust_links(h->fs, db, +1);
        }
    }
    return finish(L, h, to, e);
}

/* fs:mkdir(path) -> true */
static int x_mkdir(lua_State *L)
{
    struct efs *h = check(L);
    const char *path = check_path(L, 2);
    char leaf[EXT2_NAME_LEN + 1];
    ext2_ino_t dir;
    errcode_t e = split(h->fs, path, &dir, leaf);
    if (e)
        return fail(L, h, path, e);
    ext2_ino_t ino;
    e = ext2fs_lookup(h->fs, dir, leaf, strlen(leaf), NULL, &ino);
    if (!e)
        return fail_code(L, lua_pushfstring(L, "%s: exists", path), EEXIST);
    if (e != EXT2_ET_FILE_NOT_FOUND)
        return fail(L, h, path, e);
    if ((e = begin(h)))
        return fail(L, h, path, e);
    /* Our inode number, not mkdir's choice: when mkdir fails after
     * writing the new inode (a full folder), it frees the number in the
     * bitmap but leaves the inode looking alive on the device; we clear
     * it, and grow the folder, and try once more. */
    for (int tries = 0; tries < 2; tries++) {
        if ((e = ext2fs_new_inode(h->fs, dir, LINUX_S_IFDIR | 0755, 0, &ino)))
            break;
        e = ext2fs_mkdir(h->fs, dir, ino, leaf);
        if (!e)
            break;
        struct ext2_inode in;
        memset(&in, 0, sizeof in);
        in.i_dtime = now();
        ext2fs_write_inode(h->fs, ino, &in);
        if (e != EXT2_ET_DIR_NO_SPACE || tries || (e = ext2fs_expand_dir(h->fs, dir)))
            break;
    }
    return finish(L, h, path, e);
}

/* fs:list(folder) -> names */
struct listing { lua_State *L; ext2_filsys fs; int n; int filetype; };

static int list_entry(ext2_ino_t dir, int entry, struct ext2_dir_entry *de, int offset,
                      int blocksize, char *buf, void *priv)
{
    struct listing *l = priv;
    (void)dir, (void)offset, (void)blocksize, (void)buf;
    if (entry != DIRENT_OTHER_FILE)
        return 0;
    int len = ext2fs_dirent_name_len(de), folder;
    /* a name no path can reach (a '/' or NUL in it: a damaged folder;
     * e2fsck renames such entries) is left out */
    if (memchr(de->name, '/', len) || memchr(de->name, 0, len))
        return 0;
    if (l->filetype) {
        folder = ext2fs_dirent_file_type(de) == EXT2_FT_DIR;
    } else {
        struct ext2_inode in;
        folder = !ext2fs_read_inode(l->fs, de->inode, &in) && LINUX_S_ISDIR(in.i_mode);
    }
    lua_pushlstring(l->L, de->name, len);
    if (folder) {
        lua_pushliteral(l->L, "/");
        lua_concat(l->L, 2);
    }
    lua_rawseti(l->L, -2, ++l->n);
    return 0;
}

static int x_list(lua_State *L)
{
    struct efs *h = check(L);
    const char *path = lua_isnoneornil(L, 2) ? "" : check_path(L, 2);
    ext2_ino_t ino;
    errcode_t e = lookup(h->fs, path, &ino);
    if (!e)
        e = ext2fs_check_directory(h->fs, ino);
    if (e)
        return fail(L, h, path, e);
    lua_newtable(L);
    struct listing l = { L, h->fs, 0, ext2fs_has_feature_filetype(h->fs->super) };
    luaL_checkstack(L, 8, "ext2: list");
    if ((e = ext2fs_dir_iterate2(h->fs, ino, 0, NULL, list_entry, &l)))
        return fail(L, h, path, e);
    /* sorted, as the file service's other layers list: the table
     * library's sort, as loaded (not a global a script may have changed) */
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_getfield(L, -1, "table");
    int top = lua_gettop(L);
    if (lua_istable(L, -1) && lua_getfield(L, -1, "sort") == LUA_TFUNCTION) {
        lua_pushvalue(L, top - 2);
        lua_call(L, 1, 0);
    }
    lua_settop(L, top - 2);
    return 1;
}

/* fs:stat(path) -> {size, kind, mode, mtime, links} */
static int x_stat(lua_State *L)
{
    struct efs *h = check(L);
    const char *path = check_path(L, 2);
    ext2_ino_t ino;
    struct ext2_inode in;
    errcode_t e = lookup(h->fs, path, &ino);
    if (!e)
        e = ext2fs_read_inode(h->fs, ino, &in);
    if (e)
        return fail(L, h, path, e);
    lua_createtable(L, 0, 5);
    lua_pushinteger(L, (lua_Integer)EXT2_I_SIZE(&in));
    lua_setfield(L, -2, "size");
    lua_pushstring(L, LINUX_S_ISDIR(in.i_mode) ? "folder" : LINUX_S_ISREG(in.i_mode) ? "file" : "other");
    lua_setfield(L, -2, "kind");
    lua_pushinteger(L, in.i_mode & 07777);
    lua_setfield(L, -2, "mode");
    lua_pushinteger(L, in.i_mtime);
    lua_setfield(L, -2, "mtime");
    lua_pushinteger(L, in.i_links_count);
    lua_setfield(L, -2, "links");
    return 1;
}

/* fs:sync() -> true */
static int x_sync(lua_State *L)
{
    struct efs *h = check(L);
    errcode_t e = 0;
    if (h->changing) {
        h->fs->super->s_state |= EXT2_VALID_FS;
        ext2fs_mark_super_dirty(h->fs);
        e = ext2fs_flush2(h->fs, EXT2_FLAG_FLUSH_NO_SYNC);
        if (!e)
            h->changing = 0;
    }
    if (!e)
        e = io_channel_flush(h->fs->io);
    if (e)
        return fail(L, h, "sync", e);
    lua_pushboolean(L, 1);
    return 1;
}

static int x_info(lua_State *L)
{
    struct efs *h = check(L);
    struct ext2_super_block *s = h->fs->super;
    lua_createtable(L, 0, 9);
    lua_pushinteger(L, h->fs->blocksize);
    lua_setfield(L, -2, "block_size");
    lua_pushinteger(L, (lua_Integer)ext2fs_blocks_count(s));
    lua_setfield(L, -2, "blocks");
    lua_pushinteger(L, (lua_Integer)ext2fs_free_blocks_count(s));
    lua_setfield(L, -2, "free_blocks");
    lua_pushinteger(L, s->s_inodes_count);
    lua_setfield(L, -2, "inodes");
    lua_pushinteger(L, s->s_free_inodes_count);
    lua_setfield(L, -2, "free_inodes");
    lua_pushlstring(L, (const char *)s->s_volume_name, strnlen((const char *)s->s_volume_name,
                                                               sizeof s->s_volume_name));
    lua_setfield(L, -2, "label");
    lua_pushboolean(L, h->was_clean);
    lua_setfield(L, -2, "was_clean");
    lua_pushboolean(L, !(h->fs->flags & EXT2_FLAG_RW));
    lua_setfield(L, -2, "readonly");
    return 1;
}

/* Drops the handle's file system without writing (what is not on the
 * device yet is only the clean flag: every change was flushed). */
static void drop(lua_State *L, struct efs *h)
{
    if (h->fs) {
        h->dev.L = L;
        ext2fs_free(h->fs);
        h->fs = NULL;
    }
    luaL_unref(L, LUA_REGISTRYINDEX, h->dev.ref);
    h->dev.ref = LUA_NOREF;
}

/* fs:close() -> true: synced (clean on the device), then closed */
static int x_close(lua_State *L)
{
    struct efs *h = check(L);
    int n = x_sync(L);
    drop(L, h);
    return n;
}

static int x_gc(lua_State *L)
{
    drop(L, luaL_checkudata(L, 1, EXT2B_FS));
    return 0;
}

static int x_tostring(lua_State *L)
{
    struct efs *h = luaL_checkudata(L, 1, EXT2B_FS);
    if (h->fs)
        lua_pushfstring(L, "ext2.fs (%d blocks of %d)", (int)ext2fs_blocks_count(h->fs->super),
                        (int)h->fs->blocksize);
    else
        lua_pushliteral(L, "ext2.fs (closed)");
    return 1;
}

static const luaL_Reg methods[] = {
    {"read", x_read}, {"write", x_write}, {"remove", x_remove}, {"rename", x_rename},
    {"mkdir", x_mkdir}, {"list", x_list}, {"stat", x_stat}, {"sync", x_sync},
    {"info", x_info}, {"close", x_close}, {NULL, NULL}
};

static const luaL_Reg meta[] = {
    {"__gc", x_gc}, {"__close", x_gc}, {"__tostring", x_tostring}, {NULL, NULL}
};

int luaopen_ext2(lua_State *L)
{
    static int tables;      /* libcom_err's table of libext2fs's messages, once per task */
    if (!__atomic_exchange_n(&tables, 1, __ATOMIC_ACQ_REL))
        initialize_ext2_error_table();
    if (luaL_newmetatable(L, EXT2B_FS)) {
        luaL_setfuncs(L, meta, 0);
        luaL_newlib(L, methods);
        lua_setfield(L, -2, "__index");
    }
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushcfunction(L, x_open);
    lua_setfield(L, -2, "open");
    static const struct { const char *name; int code; } codes[] = {
        {"ENOENT", ENOENT}, {"ENOTDIR", ENOTDIR}, {"EISDIR", EISDIR}, {"EEXIST", EEXIST},
        {"ENOTEMPTY", ENOTEMPTY}, {"ENOSPC", ENOSPC}, {"EROFS", EROFS}, {"EFBIG", EFBIG},
        {"EINVAL", EINVAL}, {"ENOMEM", ENOMEM}, {"EIO", EIO},
    };
    for (unsigned i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        lua_pushinteger(L, codes[i].code);
        lua_setfield(L, -2, codes[i].name);
    }
    return 1;
}
