/* libext2fs's io manager over a Lua block device (ext2b.h):
 *
 *   d:read(lba, count)  --> string of count * sector bytes | nil, msg, code
 *   d:write(lba, data)  --> true | nil, msg, code
 *   d:flush()           --> true | nil, msg, code
 *
 * libext2fs addresses the channel in its block size (1024 until the
 * superblock is read, then the file system's) or, with a negative count,
 * in bytes; both become a byte range, and the range becomes whole
 * sectors: a write that covers part of a sector reads that sector first.
 * Ranges past the device's end are refused here, before the device is
 * asked (a damaged image names blocks anywhere). No cache: every block is
 * read from the device and every write goes to it before the call
 * returns (write-through: what durability rests on, docs/storage.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ext2b.h"
#include "lauxlib.h"

#define MAX_BYTES (64u << 10)      /* most bytes one d:read or d:write moves */

void ext2b_dev_name(const struct ext2b_dev *d, char *name, size_t size)
{
    snprintf(name, size, "l4ua-blk:%p", (const void *)d);
}

static struct ext2b_dev *dev_of(io_channel ch)
{
    return ch->private_data;
}

/* Calls d:<method>(args already pushed: nargs of them, above the method
 * and the device) under lua_pcall; 0 if it returned a true first value
 * (left on the stack, with the next two, for the caller, which restores
 * the top), else fills d->why and returns the device's code if it is
 * EROFS or ENOSPC (a read-only disk's EROFS reaches the caller so), else
 * EIO. */
static errcode_t call(struct ext2b_dev *d, int base, int nargs)
{
    lua_State *L = d->L;
    if (lua_pcall(L, nargs + 1, 3, 0) != LUA_OK) {
        snprintf(d->why, sizeof d->why, "%s", lua_isstring(L, -1) ? lua_tostring(L, -1) : "error");
        lua_settop(L, base);
        return EIO;
    }
    if (!lua_toboolean(L, -3)) {
        const char *m = lua_tostring(L, -2);
        lua_Integer code = lua_tointeger(L, -1);
        snprintf(d->why, sizeof d->why, "%s", m ? m : "the device failed");
        lua_settop(L, base);
        /* only these two: blk.lua's other codes include IPC codes */
        return code == EROFS || code == ENOSPC ? (errcode_t)code : EIO;
    }
    return 0;
}

/* Pushes d and d.<method> in the order a method call needs. */
static int push_method(struct ext2b_dev *d, const char *method)
{
    lua_State *L = d->L;
    int base = lua_gettop(L);
    luaL_checkstack(L, 6, "ext2: device call");
    lua_rawgeti(L, LUA_REGISTRYINDEX, d->ref);
    lua_getfield(L, -1, method);
    lua_insert(L, -2);
    return base;
}

/* Reads sectors [lba, lba + n) into buf. */
static errcode_t read_sectors(struct ext2b_dev *d, uint64_t lba, uint64_t n, unsigned char *buf)
{
    lua_State *L = d->L;
    uint64_t most = MAX_BYTES / d->sector;
    while (n) {
        uint64_t k = n < most ? n : most;
        int base = push_method(d, "read");
        lua_pushinteger(L, (lua_Integer)lba);
        lua_pushinteger(L, (lua_Integer)k);
        errcode_t e = call(d, base, 2);
        if (e)
            return e;
        size_t len;
        const char *s = lua_tolstring(L, -3, &len);
        if (!s || len != k * d->sector) {
            snprintf(d->why, sizeof d->why, "read of %llu sectors at %llu gave %s",
                     (unsigned long long)k, (unsigned long long)lba,
                     s ? "another length" : "no string");
            lua_settop(L, base);
            return EXT2_ET_SHORT_READ;
        }
        memcpy(buf, s, len);
        lua_settop(L, base);
        buf += len, lba += k, n -= k;
    }
    return 0;
}

static errcode_t write_sectors(struct ext2b_dev *d, uint64_t lba, uint64_t n,
                               const unsigned char *buf)
{
    lua_State *L = d->L;
    uint64_t most = MAX_BYTES / d->sector;
    while (n) {
        uint64_t k = n < most ? n : most;
        int base = push_method(d, "write");
        lua_pushinteger(L, (lua_Integer)lba);
        lua_pushlstring(L, (const char *)buf, k * d->sector);
        errcode_t e = call(d, base, 2);
        if (e)
            return e;
        lua_settop(L, base);
        buf += k * d->sector, lba += k, n -= k;
    }
    return 0;
}

/* The byte range of a request; EXT2_ET_LLSEEK_FAILED if any of it lies
 * past the device's end (or overflows). */
static errcode_t range(io_channel ch, unsigned long long block, int count,
                       uint64_t *off, uint64_t *size)
{
    struct ext2b_dev *d = dev_of(ch);
    uint64_t bs = (uint64_t)ch->block_size, total = d->sectors * d->sector;
    *size = count < 0 ? (uint64_t)-(int64_t)count : (uint64_t)count * bs;
    if (block > total / bs) {
        snprintf(d->why, sizeof d->why, "block %llu past the device's end", block);
        return EXT2_ET_LLSEEK_FAILED;
    }
    *off = block * bs;
    if (*size > total - *off) {
        snprintf(d->why, sizeof d->why, "%llu bytes at block %llu past the device's end",
                 (unsigned long long)*size, block);
        return EXT2_ET_LLSEEK_FAILED;
    }
    return 0;
}

/* Moves [off, off + size) between buf and the device: whole sectors
 * straight, a partial first or last sector through a bounce buffer. */
static errcode_t transfer(struct ext2b_dev *d, uint64_t off, uint64_t size, void *buf, int write)
{
    uint64_t s = d->sector, first = off / s, end = (off + size + s - 1) / s;
    errcode_t e = 0;
    if (off % s == 0 && size % s == 0)
        return write ? write_sectors(d, first, end - first, buf)
                     : read_sectors(d, first, end - first, buf);
    unsigned char *tmp = malloc((end - first) * s);
    if (!tmp)
        return EXT2_ET_NO_MEMORY;
    if (!write) {
        e = read_sectors(d, first, end - first, tmp);
    } else {
        /* the sectors the write covers only in part keep their other bytes */
        if (off % s || (end - 1 == first && (off + size) % s))
            e = read_sectors(d, first, 1, tmp);
        if (!e && (off + size) % s && end - 1 != first)
            e = read_sectors(d, end - 1, 1, tmp + (end - 1 - first) * s);
    }
    if (!e) {
        if (write) {
            memcpy(tmp + off % s, buf, size);
            e = write_sectors(d, first, end - first, tmp);
        } else {
            memcpy(buf, tmp + off % s, size);
        }
    }
    free(tmp);
    return e;
}

static errcode_t io_read(io_channel ch, unsigned long long block, int count, void *data)
{
    uint64_t off, size;
    errcode_t e = range(ch, block, count, &off, &size);
    if (!e)
        e = transfer(dev_of(ch), off, size, data, 0);
    if (e && ch->read_error)
        return ch->read_error(ch, block, count, data, size, 0, e);
    return e;
}

static errcode_t io_write(io_channel ch, unsigned long long block, int count, const void *data)
{
    uint64_t off, size;
    errcode_t e = range(ch, block, count, &off, &size);
    if (!e)
        e = transfer(dev_of(ch), off, size, (void *)data, 1);
    if (e && ch->write_error)
        return ch->write_error(ch, block, count, data, size, 0, e);
    return e;
}

static errcode_t io_read32(io_channel ch, unsigned long block, int count, void *data)
{
    return io_read(ch, block, count, data);
}

static errcode_t io_write32(io_channel ch, unsigned long block, int count, const void *data)
{
    return io_write(ch, block, count, data);
}

static errcode_t io_flush(io_channel ch)
{
    struct ext2b_dev *d = dev_of(ch);
    int base = push_method(d, "flush");
    errcode_t e = call(d, base, 0);
    if (!e)
        lua_settop(d->L, base);
    return e;
}

static errcode_t io_set_blksize(io_channel ch, int blksize)
{
    if (blksize <= 0)
        return EXT2_ET_INVALID_ARGUMENT;
    ch->block_size = blksize;
    return 0;
}

static errcode_t io_set_option(io_channel ch, const char *option, const char *arg)
{
    (void)ch, (void)option, (void)arg;
    return EXT2_ET_INVALID_ARGUMENT;
}

static errcode_t io_close(io_channel ch)
{
    if (--ch->refcount > 0)
        return 0;
    ext2fs_free_mem(&ch->name);
    ext2fs_free_mem(&ch);
    return 0;
}

/* name is ext2b_dev_name's: the address of the caller's struct ext2b_dev,
 * which outlives the channel (ext2.c frees it after ext2fs_close). */
static errcode_t io_open(const char *name, int flags, io_channel *out)
{
    void *p = NULL;
    io_channel ch = NULL;
    (void)flags;
    if (!name || sscanf(name, "l4ua-blk:%p", &p) != 1 || !p)
        return EXT2_ET_BAD_DEVICE_NAME;
    errcode_t e = ext2fs_get_memzero(sizeof *ch, &ch);
    if (e)
        return e;
    e = ext2fs_get_mem(strlen(name) + 1, &ch->name);
    if (e) {
        ext2fs_free_mem(&ch);
        return e;
    }
    strcpy(ch->name, name);
    ch->magic = EXT2_ET_MAGIC_IO_CHANNEL;
    ch->manager = ext2b_io_manager;
    ch->block_size = 1024;
    ch->refcount = 1;
    ch->flags = CHANNEL_FLAGS_WRITETHROUGH;
    ch->private_data = p;
    *out = ch;
    return 0;
}

static struct struct_io_manager manager = {
    .magic = EXT2_ET_MAGIC_IO_MANAGER,
    .name = "L4ua block device",
    .open = io_open,
    .close = io_close,
    .set_blksize = io_set_blksize,
    .read_blk = io_read32,
    .write_blk = io_write32,
    .flush = io_flush,
    .set_option = io_set_option,
    .read_blk64 = io_read,
    .write_blk64 = io_write,
};
io_manager ext2b_io_manager = &manager;
