/* Host tests of the scripts-archive parser (runtime/lua/archive.c,
 * format of tools/mkarchive.py): valid archives are read, truncated and
 * malformed ones refused whole, lookups never read past the end. */
#include "check.h"
#include "archive_host.h"
#include "../../runtime/lua/archive.c"

#include <stdlib.h>

static unsigned char buf[4096];
static size_t len;

static void put32(uint32_t v)
{
    for (int i = 0; i < 4; i++)
        buf[len++] = (unsigned char)(v >> (8 * i));
}

static void begin(void)
{
    len = 0;
    memcpy(buf, "L4uaARC1", 8);
    len = 8;
}

static void file(const char *name, const char *data)
{
    put32((uint32_t)strlen(name));
    memcpy(buf + len, name, strlen(name));
    len += strlen(name);
    put32((uint32_t)strlen(data));
    memcpy(buf + len, data, strlen(data));
    len += strlen(data);
}

/* Opens the first n bytes as an exact-size heap copy (ASan sees any
 * read past it); returns rt_archive_init's answer. The copy stays until
 * the next open. */
static unsigned char *copy;
static int open_n(size_t n)
{
    free(copy);
    copy = malloc(n ? n : 1);
    memcpy(copy, buf, n);
    host_archive(copy, n);
    return rt_archive_init();
}

static void count(const char *name, size_t nlen, size_t size, void *arg)
{
    (void)name, (void)nlen, (void)size;
    ++*(unsigned *)arg;
}

static unsigned entries(void)
{
    unsigned n = 0;
    rt_archive_each(count, &n);
    return n;
}

static void test_valid(void)
{
    begin();
    file("init.lua", "print('hi')\n");
    file("lpeg/util.lua", "return {}");
    file("empty", "");
    put32(0);
    CHECK(open_n(len));
    struct rt_file f;
    CHECK_EQ(rt_archive_find("init.lua", &f), 0);
    CHECK_EQ(f.size, 12);
    CHECK(!memcmp(f.data, "print('hi')\n", 12));
    CHECK_EQ(rt_archive_find("/lpeg/util.lua", &f), 0);
    CHECK_EQ(f.size, 9);
    CHECK_EQ(rt_archive_find("./empty", &f), 0);
    CHECK_EQ(f.size, 0);
    CHECK_EQ(rt_archive_find("init", &f), -1);
    CHECK_EQ(rt_archive_find("init.lua2", &f), -1);
    CHECK_EQ(rt_archive_find("", &f), -1);
    CHECK_EQ(entries(), 3);
    /* an empty archive; bytes after the end mark are ignored */
    begin();
    put32(0);
    CHECK(open_n(len));
    CHECK_EQ(entries(), 0);
    buf[len++] = 0xff;
    CHECK(open_n(len));
}

/* Every proper prefix of a valid archive is refused, and then every
 * lookup fails. */
static void test_truncated(void)
{
    begin();
    file("a.lua", "return 1");
    file("b.lua", "return 2");
    put32(0);
    size_t full = len;
    for (size_t n = 0; n < full; n++) {
        if (open_n(n)) {
            printf("  a prefix of %zu bytes was accepted\n", n);
            check_case_failed = 1;
        }
        struct rt_file f;
        CHECK_EQ(rt_archive_find("a.lua", &f), -1);
        CHECK_EQ(entries(), 0);
    }
    CHECK(open_n(full));
}

static void test_bad_magic(void)
{
    begin();
    put32(0);
    buf[7] = '2';
    CHECK(!open_n(len));
    host_archive(NULL, 0);
    CHECK(!rt_archive_init());
    struct rt_file f;
    CHECK_EQ(rt_archive_find("x", &f), -1);
}

/* Names: too long (over 1,024 bytes) refused; odd bytes (NUL, "..",
 * slashes) are just bytes: found only by an exact match. */
static void test_names(void)
{
    begin();
    put32(1025);
    memset(buf + len, 'a', 1025);
    len += 1025;
    put32(0);
    put32(0);
    CHECK(!open_n(len));
    begin();
    put32(1024);
    memset(buf + len, 'a', 1024);
    len += 1024;
    put32(0);
    put32(0);
    CHECK(open_n(len));
    begin();
    put32(3);
    memcpy(buf + len, "a\0b", 3);
    len += 3;
    put32(1);
    buf[len++] = 'x';
    file("../up", "u");
    put32(0);
    CHECK(open_n(len));
    struct rt_file f;
    CHECK_EQ(rt_archive_find("a", &f), -1);         /* "a\0b" is not "a" */
    CHECK_EQ(rt_archive_find("../up", &f), 0);
    CHECK_EQ(entries(), 2);
}

/* Lengths that point past the end, or wrap when added. */
static void test_lengths_past_the_end(void)
{
    uint32_t bad[] = { 5, 100, 0x7fffffff, 0xfffffff0, 0xffffffff };
    for (unsigned i = 0; i < 5; i++) {
        begin();                        /* data length too large */
        put32(1);
        buf[len++] = 'a';
        put32(bad[i]);
        memcpy(buf + len, "abcd", 4);
        len += 4;
        put32(0);
        CHECK(!open_n(len));
        begin();                        /* name length too large */
        put32(bad[i]);
        memcpy(buf + len, "abcd", 4);
        len += 4;
        CHECK(!open_n(len));
    }
}

/* The precompiled chunks after the end mark (mkarchive.py --luac): found
 * by the name of a file the archive has, with that file's bytes; a
 * truncated section refuses the whole archive; without one, none. */
static void test_compiled(void)
{
    begin();
    file("a.lua", "return 1");
    file("b.lua", "return 2");
    put32(0);
    size_t plain = len;
    memcpy(buf + len, "L4uaLUAC", 8);
    len += 8;
    file("a.lua", "\x1bLuaT-a");
    file("gone.lua", "\x1bLuaT-g");      /* a chunk without its file: not used */
    put32(0);
    size_t full = len;
    CHECK(open_n(full));
    CHECK_EQ(entries(), 2);     /* the chunks are no files */
    struct rt_file src, chunk;
    CHECK_EQ(rt_archive_compiled("./a.lua", &src, &chunk), 0);
    CHECK_EQ(src.size, 8);
    CHECK(!memcmp(src.data, "return 1", 8));
    CHECK_EQ(chunk.size, 7);
    CHECK(!memcmp(chunk.data, "\x1bLuaT-a", 7));
    CHECK_EQ(rt_archive_compiled("b.lua", &src, &chunk), -1);
    CHECK_EQ(rt_archive_compiled("gone.lua", &src, &chunk), -1);
    CHECK_EQ(rt_archive_find("gone.lua", &src), -1);
    for (size_t n = plain + 8; n < full; n++) {
        if (open_n(n)) {
            printf("  a section cut at %zu of %zu bytes was accepted\n", n, full);
            check_case_failed = 1;
        }
        CHECK_EQ(rt_archive_compiled("a.lua", &src, &chunk), -1);
    }
    CHECK(open_n(plain));
    CHECK_EQ(rt_archive_compiled("a.lua", &src, &chunk), -1);
    CHECK_EQ(rt_archive_find("a.lua", &src), 0);
}

int main(void)
{
    check_prog = "archive";
    RUN(test_valid);
    RUN(test_truncated);
    RUN(test_bad_magic);
    RUN(test_names);
    RUN(test_lengths_past_the_end);
    RUN(test_compiled);
    free(copy);
    CHECK_EXIT();
}
