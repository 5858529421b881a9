/* libFuzzer target: the file system's metadata parsing (docs/storage.md),
 * through the whole path a script takes: the ext2 module (bindings/
 * ext2.c, ext2_io.c) and libext2fs, built with ASan and UBSan, in a Lua
 * state (Lua built the same way). The input is the start of a disk
 * image (superblock, group descriptors, bitmaps, inode table, the first
 * folders: the seeds are the first 48 KiB of the test images); the rest
 * of a 1 MiB disk is zeros. Each input is opened, walked (every folder
 * listed, every file read), then written to (a file, a folder, a rename,
 * removals) and closed. Any outcome is fine but a sanitizer report, a
 * crash, a hang (-timeout) or an error raised instead of returned: the
 * module must answer damage with nil, message, code. (make fuzz-host;
 * make test runs it briefly, tests/run.py stage "storage") */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lauxlib.h"
#include "lua.h"
#include "lualib.h"

int luaopen_ext2(lua_State *L);

#define DISK (1u << 20)

/* The disk: a string of DISK bytes; writes replace sectors in a table
 * over it (tests/lua/ramdisk.lua's shape, kept small here). */
static const char walk[] =
    "local image = ...\n"
    "local ext2 = require 'ext2'\n"
    "local s = {}\n"
    "local d = {}\n"
    "function d:info() return {sectors = #image // 512, sector_size = 512} end\n"
    "function d:read(lba, n)\n"
    "  local t = {}\n"
    "  for i = lba, lba + n - 1 do t[#t + 1] = s[i] or image:sub(i * 512 + 1, i * 512 + 512) end\n"
    "  return table.concat(t)\n"
    "end\n"
    "function d:write(lba, data)\n"
    "  for i = 0, #data // 512 - 1 do s[lba + i] = data:sub(i * 512 + 1, i * 512 + 512) end\n"
    "  return true\n"
    "end\n"
    "function d:flush() return true end\n"
    "local function check(ok, msg, code)\n"
    "  if not ok then assert(type(msg) == 'string' and math.type(code) == 'integer', 'no message or code') end\n"
    "  return ok, msg, code\n"
    "end\n"
    "local fs = check(ext2.open(d))\n"
    "if not fs then return end\n"
    "local budget = 200\n"
    "local function tree(path, depth)\n"
    "  local names = check(fs:list(path))\n"
    "  if not names or depth > 6 then return end\n"
    "  for _, name in ipairs(names) do\n"
    "    budget = budget - 1\n"
    "    if budget < 0 then return end\n"
    "    local p = path == '' and name or path .. '/' .. name\n"
    "    if name:sub(-1) == '/' then tree(p:sub(1, -2), depth + 1)\n"
    "    else check(fs:stat(p)) check(fs:read(p, 0, 1 << 16)) end\n"
    "  end\n"
    "end\n"
    "tree('', 0)\n"
    "check(fs:write('fuzz.txt', ('f'):rep(3000)))\n"
    "check(fs:mkdir('fuzzdir'))\n"
    "check(fs:write('fuzzdir/a', 'a'))\n"
    "check(fs:rename('fuzzdir/a', 'hello.txt'))\n"
    "check(fs:remove('sub/deep.txt'))\n"
    "check(fs:remove('fuzzdir'))\n"
    "check(fs:info())\n"
    "check(fs:close())\n";

static lua_State *L;
static char *disk;

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (!L) {
        L = luaL_newstate();
        luaL_openlibs(L);
        luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
        lua_pushcfunction(L, luaopen_ext2);
        lua_setfield(L, -2, "ext2");
        lua_pop(L, 1);
        disk = malloc(DISK);
        if (!disk)
            abort();
    }
    memset(disk, 0, DISK);
    memcpy(disk, data, size < DISK ? size : DISK);
    if (luaL_loadstring(L, walk) != LUA_OK) {
        fprintf(stderr, "fuzz_ext2: %s\n", lua_tostring(L, -1));
        abort();
    }
    lua_pushlstring(L, disk, DISK);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
        /* a raised error: the module must return failures, not raise */
        fprintf(stderr, "fuzz_ext2: raised: %s\n", lua_tostring(L, -1));
        abort();
    }
    lua_gc(L, LUA_GCCOLLECT);
    return 0;
}
