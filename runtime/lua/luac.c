/* Precompiled chunks (docs/runtime.md "Precompiled chunks"). Every fresh
 * Lua state compiles the modules it loads, and a boot starts a dozen:
 * compiling was most of the boot's instructions. The build compiles the
 * archive's Lua files once (tools/mkarchive.py --luac, with the host
 * build of this very Lua: the same liblua.a, so the same bytecode), and
 * loading a file whose bytes are the archive's own, unchanged, reads
 * that chunk instead of compiling the bytes again.
 *
 * Every luaL_loadfilex of this image comes here (ld --wrap, lua-root.mk):
 * require's searcher, loadfile, dofile, and the runtime's loads of
 * init.lua and of a task's or thread's script. What it gives is what
 * compiling gives: the same function with the same debug information
 * (line numbers, local names), its chunk named "@" .. filename as
 * luaL_loadfilex names it (the dump holds the build's path; it is
 * replaced on the way in). Everything else is compiled as ever, by
 * luaL_loadfilex itself: a file the file service has over the archive's
 * (its RAM tree or the disk: a push, an edit), a file without a chunk
 * (not .lua, not text, or it did not compile: the error is the target's
 * own), a load that refuses text (mode "b"), a chunk that does not load. */
#include <string.h>

#include "lauxlib.h"
#include "lua.h"
#include "rt.h"

int __real_luaL_loadfilex(lua_State *L, const char *filename, const char *mode);

/* A dump (ldump.c) starts with its header (lundump.c checkHeader: the
 * signature, version, format, LUAC_DATA, three sizes, LUAC_INT, LUAC_NUM)
 * and the main function's count of upvalues; the main function's source
 * follows, a string: its size + 1 in 7-bit groups, most significant
 * first, the last with bit 7 set (0: none), then its bytes. */
#define DUMP_HEAD (4 + 1 + 1 + 6 + 3 + 8 + 8 + 1)

/* The chunk with another source: the head, the new source's size, its
 * bytes, and the rest of the dump after the old source. */
struct spliced {
    const char *part[4];
    size_t size[4];
    int at;
};

static const char *next_part(lua_State *L, void *ud, size_t *size)
{
    struct spliced *s = ud;
    (void)L;
    while (s->at < 4 && s->size[s->at] == 0)
        s->at++;
    if (s->at == 4) {
        *size = 0;
        return NULL;
    }
    *size = s->size[s->at];
    return s->part[s->at++];
}

/* Loads chunk (size bytes) with its main function's source replaced by
 * name; LUA_OK and the function on the stack, or an error status and
 * its message. -1 (nothing pushed) if the chunk is not a dump. */
static int load_renamed(lua_State *L, const char *chunk, size_t size, const char *name)
{
    size_t at = DUMP_HEAD, old = 0;
    if (size <= DUMP_HEAD || chunk[0] != LUA_SIGNATURE[0])
        return -1;
    for (int i = 0;; i++) {     /* the old source's size + 1 */
        if (at >= size || i == 4)
            return -1;
        unsigned char b = (unsigned char)chunk[at++];
        old = old << 7 | (b & 0x7f);
        if (b & 0x80)
            break;
    }
    if (old > 0)
        old--;
    if (size - at < old)
        return -1;
    unsigned char len[10];
    size_t n = strlen(name) + 1, k = sizeof len;
    do {
        len[--k] = n & 0x7f;
        n >>= 7;
    } while (n);
    len[sizeof len - 1] |= 0x80;
    struct spliced s = {
        { chunk, (const char *)len + k, name, chunk + at + old },
        { DUMP_HEAD, sizeof len - k, strlen(name), size - at - old },
        0,
    };
    return lua_load(L, next_part, &s, name, "b");
}

int __wrap_luaL_loadfilex(lua_State *L, const char *filename, const char *mode)
{
    struct rt_file src, chunk;
    if (!filename || (mode && !strchr(mode, 't')) ||
        rt_archive_compiled(filename, &src, &chunk) < 0 || !rt_file_is_archived(filename, &src))
        return __real_luaL_loadfilex(L, filename, mode);
    const char *name = lua_pushfstring(L, "@%s", filename);
    int status = load_renamed(L, chunk.data, chunk.size, name);
    if (status == LUA_OK) {
        lua_remove(L, -2);      /* the name: only the function stays, as luaL_loadfilex */
        return LUA_OK;
    }
    lua_pop(L, status < 0 ? 1 : 2);
    return __real_luaL_loadfilex(L, filename, mode);
}
