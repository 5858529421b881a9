/* The ext2 Lua module (docs/storage.md): what its two files share.
 *
 * ext2_io.c is an io manager of libext2fs whose blocks are read and
 * written by a Lua block-device object (d:read, d:write, d:flush; the
 * shape scripts/blk.lua serves over IPC); ext2.c is the module: a file
 * system handle and its operations. libext2fs calls the io manager from
 * inside an operation that ext2.c started on behalf of a Lua call, so the
 * device's methods run on that call's Lua state, each under lua_pcall: a
 * Lua error in them becomes an I/O error of the operation, never a
 * longjmp across libext2fs's frames. */
#pragma once
#include <stdint.h>

#include "lua.h"
#include "ext2fs/ext2fs.h"

struct ext2b_dev {
    lua_State *L;           /* the state of the Lua call in progress */
    int ref;                /* the device object, in L's registry */
    uint32_t sector;        /* bytes per sector (power of two, 512..4096) */
    uint64_t sectors;       /* the device's size */
    char why[160];          /* the device's own message of the last failure */
};

/* The io manager; the name ext2fs_open gets is ext2b_dev_name's. */
extern io_manager ext2b_io_manager;
void ext2b_dev_name(const struct ext2b_dev *d, char *name, size_t size);

/* Most sectors one d:read or d:write is asked for: 64 KiB of 512. */
#define EXT2B_MAX_SECTORS 128
