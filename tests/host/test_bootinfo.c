/* Host tests for kernel/bootinfo.c: multiboot1/2 info parsing and
 * bootinfo_arg. The info blocks are built by hand in a byte buffer that
 * plays the part of physical memory from FAKE_PHYS on. */
#include "check.h"
#include "bootinfo.h"
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK_STR(got, want)                                                \
    do {                                                                    \
        const char *g_ = (got), *w_ = (want);                               \
        if (!g_ || strcmp(g_, w_) != 0) {                                   \
            printf("  check failed: %s == \"%s\" (got \"%s\") (%s:%d)\n",   \
                   #got, w_, g_ ? g_ : "(NULL)", __FILE__, __LINE__);       \
            check_case_failed = 1;                                          \
        }                                                                   \
    } while (0)

#define FAKE_PHYS 0x10000u              /* physical address of mem[0] */
#define MEM_SIZE 16384

static uint8_t mem[MEM_SIZE] __attribute__((aligned(16)));
static struct boot_info bi;

static uintptr_t phys_offset(void)
{
    return (uintptr_t)mem - FAKE_PHYS;
}

static uint32_t phys(size_t at)
{
    return FAKE_PHYS + (uint32_t)at;
}

static void wr32(size_t at, uint32_t v) { memcpy(mem + at, &v, 4); }
static void wr64(size_t at, uint64_t v) { memcpy(mem + at, &v, 8); }

static void reset_mem(void)
{
    memset(mem, 0xEE, sizeof mem);      /* garbage, not zeros */
}

/* ---- multiboot2 builder ---- */

static size_t mb2_base, mb2_at;

static void mb2_begin(size_t base)
{
    reset_mem();
    mb2_base = base;
    mb2_at = base + 8;
}

/* Appends a tag of the given type with len payload bytes; returns where
 * the payload goes. The next tag starts 8-byte aligned. */
static size_t mb2_tag(uint32_t type, uint32_t len)
{
    size_t at = mb2_at;
    wr32(at, type);
    wr32(at + 4, 8 + len);
    mb2_at = at + ((8 + len + 7) & ~7u);
    return at + 8;
}

static void mb2_string_tag(uint32_t type, const char *s)
{
    size_t p = mb2_tag(type, (uint32_t)strlen(s) + 1);
    memcpy(mem + p, s, strlen(s) + 1);
}

static void mb2_module(uint32_t start, uint32_t end, const char *name)
{
    size_t p = mb2_tag(3, 8 + (uint32_t)strlen(name) + 1);
    wr32(p, start);
    wr32(p + 4, end);
    memcpy(mem + p + 8, name, strlen(name) + 1);
}

struct ent {
    uint64_t base, len;
    uint32_t type;
};

static void mb2_mmap(const struct ent *e, unsigned n, uint32_t esize)
{
    size_t p = mb2_tag(6, 8 + n * esize);
    wr32(p, esize);
    wr32(p + 4, 0);
    for (unsigned i = 0; i < n; i++) {
        size_t q = p + 8 + i * esize;
        memset(mem + q, 0, esize);
        wr64(q, e[i].base);
        wr64(q + 8, e[i].len);
        wr32(q + 16, e[i].type);
    }
}

/* Writes the end tag and the header; returns total_size. */
static uint32_t mb2_end(void)
{
    mb2_tag(0, 0);
    uint32_t total = (uint32_t)(mb2_at - mb2_base);
    wr32(mb2_base, total);
    wr32(mb2_base + 4, 0);
    return total;
}

static int parse_mb2(void)
{
    return bootinfo_parse(&bi, MB2_MAGIC, phys(mb2_base), phys_offset());
}

static const struct ent qemu_map[] = {
    { 0x0, 0x9fc00, 1 },
    { 0x9fc00, 0x400, 2 },
    { 0xf0000, 0x10000, 2 },
    { 0x100000, 0x7ee0000, 1 },
    { 0x7fe0000, 0x20000, 2 },
    { 0xfffc0000, 0x40000, 2 },
    { 0x100000000, 0x40000000, 1 },
};

static void check_ranges(const struct ent *e, unsigned n)
{
    CHECK_EQ(bi.nmem, n);
    for (unsigned i = 0; i < n && i < bi.nmem; i++) {
        CHECK_EQ(bi.mem[i].base, e[i].base);
        CHECK_EQ(bi.mem[i].len, e[i].len);
        CHECK_EQ(bi.mem[i].type, e[i].type);
    }
}

static void test_mb2_full(void)
{
    mb2_begin(0);
    mb2_string_tag(1, "ktest=boot quiet");          /* 17 bytes: padded */
    mb2_string_tag(2, "GRUB 2.06");                 /* loader name: skipped */
    mb2_module(0x200000, 0x2001a3, "init.lua arg1");
    size_t basic = mb2_tag(4, 8);                   /* basic meminfo: skipped */
    wr32(basic, 639);
    wr32(basic + 4, 129920);
    mb2_mmap(qemu_map, 7, 24);
    mb2_module(0x202000, 0x203000, "font");
    uint32_t total = mb2_end();

    memset(&bi, 0x5A, sizeof bi);   /* parse must not rely on a clean bi */
    CHECK_EQ(parse_mb2(), 0);
    CHECK_STR(bi.loader, "multiboot2");
    CHECK_STR(bi.cmdline, "ktest=boot quiet");
    check_ranges(qemu_map, 7);
    CHECK_EQ(bi.nmod, 2);
    CHECK_EQ(bi.mod[0].start, 0x200000);
    CHECK_EQ(bi.mod[0].end, 0x2001a3);
    CHECK_STR(bi.mod[0].name, "init.lua arg1");
    CHECK_EQ(bi.mod[1].start, 0x202000);
    CHECK_EQ(bi.mod[1].end, 0x203000);
    CHECK_STR(bi.mod[1].name, "font");
    CHECK_EQ(bi.info_start, FAKE_PHYS);
    CHECK_EQ(bi.info_end, FAKE_PHYS + total);
    CHECK(!bi.truncated);
}

static void test_mb2_minimal(void)
{
    mb2_begin(0x100);                   /* block not at the buffer start */
    uint32_t total = mb2_end();
    CHECK_EQ(total, 16);
    memset(&bi, 0x5A, sizeof bi);
    CHECK_EQ(parse_mb2(), 0);
    CHECK_STR(bi.loader, "multiboot2");
    CHECK(bi.cmdline != NULL);
    CHECK_STR(bi.cmdline, "");
    CHECK_EQ(bi.nmem, 0);
    CHECK_EQ(bi.nmod, 0);
    CHECK_EQ(bi.info_start, FAKE_PHYS + 0x100);
    CHECK_EQ(bi.info_end, FAKE_PHYS + 0x100 + 16);
    CHECK(!bi.truncated);
}

static void test_mb2_stops_at_end_tag(void)
{
    mb2_begin(0);
    mb2_module(0x300000, 0x301000, "a");
    mb2_tag(0, 0);                      /* end tag ... */
    mb2_string_tag(1, "after the end"); /* ... so these must be ignored */
    mb2_module(0x400000, 0x401000, "b");
    uint32_t total = (uint32_t)mb2_at;
    wr32(0, total);
    wr32(4, 0);
    CHECK_EQ(parse_mb2(), 0);
    CHECK_STR(bi.cmdline, "");
    CHECK_EQ(bi.nmod, 1);
    CHECK_EQ(bi.mod[0].start, 0x300000);
    CHECK_STR(bi.mod[0].name, "a");
}

static void test_mb2_respects_total_size(void)
{
    /* total_size covers only the first tag: the rest is not part of it */
    mb2_begin(0);
    mb2_module(0x300000, 0x301000, "a");
    size_t first_end = mb2_at;
    mb2_module(0x400000, 0x401000, "b");
    mb2_tag(0, 0);
    wr32(0, (uint32_t)first_end);
    wr32(4, 0);
    CHECK_EQ(parse_mb2(), 0);
    CHECK_EQ(bi.nmod, 1);
    CHECK_EQ(bi.info_end, FAKE_PHYS + first_end);
}

static void test_mb2_large_entry_size(void)
{
    /* A later entry_version may have bigger entries: entry_size rules. */
    static const struct ent e[] = {
        { 0x100000, 0x100000, 1 },
        { 0x200000, 0x3000, 3 },
        { 0x300000, 0x500000, 1 },
    };
    mb2_begin(0);
    mb2_mmap(e, 3, 32);
    mb2_end();
    CHECK_EQ(parse_mb2(), 0);
    check_ranges(e, 3);
}

static void test_mb2_truncated_ranges(void)
{
    struct ent e[BOOT_MAX_RANGES + 1];
    for (unsigned i = 0; i < BOOT_MAX_RANGES + 1; i++)
        e[i] = (struct ent){ 0x100000ull * (i + 1), 0x80000, 1 + i % 2 };

    mb2_begin(0);
    mb2_mmap(e, BOOT_MAX_RANGES, 24);   /* exactly the maximum: fine */
    mb2_end();
    CHECK_EQ(parse_mb2(), 0);
    check_ranges(e, BOOT_MAX_RANGES);
    CHECK(!bi.truncated);

    mb2_begin(0);
    mb2_mmap(e, BOOT_MAX_RANGES + 1, 24);
    mb2_module(0x500000, 0x501000, "still parsed");
    mb2_end();
    CHECK_EQ(parse_mb2(), 0);
    check_ranges(e, BOOT_MAX_RANGES);
    CHECK(bi.truncated);
    CHECK_EQ(bi.nmod, 1);
    CHECK_STR(bi.mod[0].name, "still parsed");
}

static void test_mb2_truncated_modules(void)
{
    char names[BOOT_MAX_MODULES + 1][8];
    for (int n = BOOT_MAX_MODULES; n <= BOOT_MAX_MODULES + 1; n++) {
        mb2_begin(0);
        for (int i = 0; i < n; i++) {
            snprintf(names[i], sizeof names[i], "m%u", (unsigned)i % 100);
            mb2_module(0x400000 + 0x1000 * i, 0x400800 + 0x1000 * i, names[i]);
        }
        mb2_end();
        CHECK_EQ(parse_mb2(), 0);
        CHECK_EQ(bi.nmod, BOOT_MAX_MODULES);
        CHECK_EQ(bi.truncated, n > BOOT_MAX_MODULES);
        for (int i = 0; i < BOOT_MAX_MODULES && i < (int)bi.nmod; i++) {
            CHECK_EQ(bi.mod[i].start, 0x400000 + 0x1000 * i);
            CHECK_EQ(bi.mod[i].end, 0x400800 + 0x1000 * i);
            CHECK_STR(bi.mod[i].name, names[i]);
        }
    }
}

static void test_unknown_magic(void)
{
    mb2_begin(0);
    mb2_end();
    CHECK_EQ(bootinfo_parse(&bi, 0x12345678, phys(0), phys_offset()), -1);
    CHECK_EQ(bootinfo_parse(&bi, 0, phys(0), phys_offset()), -1);
    /* the multiboot2 *header* magic is not the loader's info magic */
    CHECK_EQ(bootinfo_parse(&bi, 0xE85250D6, phys(0), phys_offset()), -1);
    CHECK_EQ(bootinfo_parse(&bi, 0x1BADB002, phys(0), phys_offset()), -1);
}

/* ---- multiboot1 ---- */

#define MB1_INFO 0x000      /* the fixed info structure */
#define MB1_CMDLINE 0x100
#define MB1_MODS 0x200      /* 16-byte module entries */
#define MB1_STRINGS 0x600   /* module strings, 16 bytes each */
#define MB1_MMAP 0x800

static void mb1_begin(uint32_t flags)
{
    reset_mem();
    memset(mem + MB1_INFO, 0, 116);
    wr32(MB1_INFO, flags);
}

static void mb1_cmdline(const char *s)
{
    memcpy(mem + MB1_CMDLINE, s, strlen(s) + 1);
    wr32(MB1_INFO + 16, phys(MB1_CMDLINE));
}

static void mb1_modules(unsigned n)
{
    wr32(MB1_INFO + 20, n);
    wr32(MB1_INFO + 24, phys(MB1_MODS));
    for (unsigned i = 0; i < n; i++) {
        size_t m = MB1_MODS + 16 * i, s = MB1_STRINGS + 16 * i;
        snprintf((char *)mem + s, 16, "mod%u arg", i % 100);
        wr32(m, 0x300000 + 0x2000 * i);
        wr32(m + 4, 0x300000 + 0x2000 * i + 0x123);
        wr32(m + 8, phys(s));
        wr32(m + 12, 0);
    }
}

/* Entries of 4 + size bytes: {u32 size, u64 base, u64 len, u32 type}. */
static void mb1_mmap(const struct ent *e, unsigned n, uint32_t size)
{
    wr32(MB1_INFO + 44, n * (size + 4));
    wr32(MB1_INFO + 48, phys(MB1_MMAP));
    for (unsigned i = 0; i < n; i++) {
        size_t q = MB1_MMAP + i * (size + 4);
        memset(mem + q, 0, size + 4);
        wr32(q, size);
        wr64(q + 4, e[i].base);
        wr64(q + 12, e[i].len);
        wr32(q + 20, e[i].type);
    }
}

static int parse_mb1(void)
{
    return bootinfo_parse(&bi, MB1_MAGIC, phys(MB1_INFO), phys_offset());
}

static void test_mb1_full(void)
{
    mb1_begin(1u << 0 | 1u << 2 | 1u << 3 | 1u << 6 | 1u << 9);
    wr32(MB1_INFO + 4, 639);            /* mem_lower/upper: ignored, */
    wr32(MB1_INFO + 8, 129920);         /* since there is a memory map */
    mb1_cmdline("ktest=boot console=ttyS0");
    mb1_modules(3);
    mb1_mmap(qemu_map, 7, 20);
    memset(&bi, 0x5A, sizeof bi);
    CHECK_EQ(parse_mb1(), 0);
    CHECK_STR(bi.loader, "multiboot1");
    CHECK_STR(bi.cmdline, "ktest=boot console=ttyS0");
    check_ranges(qemu_map, 7);
    CHECK_EQ(bi.nmod, 3);
    for (unsigned i = 0; i < 3 && i < bi.nmod; i++) {
        char want[16];
        snprintf(want, sizeof want, "mod%u arg", i);
        CHECK_EQ(bi.mod[i].start, 0x300000 + 0x2000 * i);
        CHECK_EQ(bi.mod[i].end, 0x300000 + 0x2000 * i + 0x123);
        CHECK_STR(bi.mod[i].name, want);
    }
    CHECK_EQ(bi.info_start, FAKE_PHYS + MB1_INFO);
    /* The reserved block must at least cover every field the parser reads
     * (up to mmap_addr, 52 bytes) and at most the whole multiboot1 info
     * structure (116 bytes with the framebuffer fields). */
    CHECK(bi.info_end >= bi.info_start + 52);
    CHECK(bi.info_end <= bi.info_start + 116);
    CHECK(!bi.truncated);
}

static void test_mb1_meminfo_only(void)
{
    mb1_begin(1u << 0);
    wr32(MB1_INFO + 4, 639);
    wr32(MB1_INFO + 8, 130048);
    memset(&bi, 0x5A, sizeof bi);
    CHECK_EQ(parse_mb1(), 0);
    CHECK_STR(bi.loader, "multiboot1");
    CHECK_STR(bi.cmdline, "");
    CHECK_EQ(bi.nmod, 0);
    CHECK_EQ(bi.nmem, 2);
    CHECK_EQ(bi.mem[0].base, 0);
    CHECK_EQ(bi.mem[0].len, 639 * 1024);
    CHECK_EQ(bi.mem[0].type, BOOT_MEM_AVAILABLE);
    CHECK_EQ(bi.mem[1].base, 0x100000);
    CHECK_EQ(bi.mem[1].len, 130048ull * 1024);
    CHECK_EQ(bi.mem[1].type, BOOT_MEM_AVAILABLE);
    CHECK(!bi.truncated);

    /* mem_upper up to 4 GiB - 1 KiB must not overflow 32 bits */
    mb1_begin(1u << 0);
    wr32(MB1_INFO + 4, 640);
    wr32(MB1_INFO + 8, 0x3FFFFF);
    CHECK_EQ(parse_mb1(), 0);
    CHECK_EQ(bi.nmem, 2);
    CHECK_EQ(bi.mem[1].len, 0x3FFFFFull << 10);
}

static void test_mb1_no_flags(void)
{
    /* Fields whose flag is clear hold garbage and must be ignored. */
    mb1_begin(0);
    memset(mem + MB1_INFO + 4, 0xEE, 60);
    memset(&bi, 0x5A, sizeof bi);
    CHECK_EQ(parse_mb1(), 0);
    CHECK_STR(bi.loader, "multiboot1");
    CHECK_STR(bi.cmdline, "");
    CHECK_EQ(bi.nmem, 0);
    CHECK_EQ(bi.nmod, 0);
    CHECK(!bi.truncated);
}

static void test_mb1_mmap_entry_size(void)
{
    /* Each entry's own size field says where the next one starts. */
    static const struct ent e[] = {
        { 0x0, 0x9fc00, 1 },
        { 0x100000, 0x1ff00000, 1 },
        { 0x20000000, 0x1000, 4 },
    };
    mb1_begin(1u << 6);
    mb1_mmap(e, 3, 24);
    CHECK_EQ(parse_mb1(), 0);
    check_ranges(e, 3);
}

static void test_mb1_truncated(void)
{
    struct ent e[BOOT_MAX_RANGES + 1];
    for (unsigned i = 0; i < BOOT_MAX_RANGES + 1; i++)
        e[i] = (struct ent){ 0x1000000ull * i, 0x10000, 1 };
    mb1_begin(1u << 6);
    mb1_mmap(e, BOOT_MAX_RANGES, 20);
    CHECK_EQ(parse_mb1(), 0);
    check_ranges(e, BOOT_MAX_RANGES);
    CHECK(!bi.truncated);

    mb1_begin(1u << 6);
    mb1_mmap(e, BOOT_MAX_RANGES + 1, 20);
    CHECK_EQ(parse_mb1(), 0);
    check_ranges(e, BOOT_MAX_RANGES);
    CHECK(bi.truncated);

    mb1_begin(1u << 3);
    mb1_modules(BOOT_MAX_MODULES);
    CHECK_EQ(parse_mb1(), 0);
    CHECK_EQ(bi.nmod, BOOT_MAX_MODULES);
    CHECK(!bi.truncated);

    mb1_begin(1u << 3);
    mb1_modules(BOOT_MAX_MODULES + 1);
    CHECK_EQ(parse_mb1(), 0);
    CHECK_EQ(bi.nmod, BOOT_MAX_MODULES);
    CHECK(bi.truncated);
    CHECK_EQ(bi.mod[BOOT_MAX_MODULES - 1].start, 0x300000 + 0x2000 * (BOOT_MAX_MODULES - 1));
    CHECK_STR(bi.mod[BOOT_MAX_MODULES - 1].name, "mod15 arg");
}

static void test_strings_copied(void)
{
    /* The loader's strings may lie in memory the kernel hands out soon
     * after: cmdline and module names must survive it being reused. */
    mb2_begin(0);
    mb2_string_tag(1, "ktest=boot");
    mb2_module(0x200000, 0x201000, "init.lua");
    mb2_end();
    CHECK_EQ(parse_mb2(), 0);
    reset_mem();
    CHECK_STR(bi.cmdline, "ktest=boot");
    CHECK_EQ(bi.nmod, 1);
    CHECK_STR(bi.mod[0].name, "init.lua");

    mb1_begin(1u << 2 | 1u << 3);
    mb1_cmdline("console=ttyS0");
    mb1_modules(2);
    CHECK_EQ(parse_mb1(), 0);
    reset_mem();
    CHECK_STR(bi.cmdline, "console=ttyS0");
    CHECK_EQ(bi.nmod, 2);
    CHECK_STR(bi.mod[0].name, "mod0 arg");
    CHECK_STR(bi.mod[1].name, "mod1 arg");
    CHECK(!bi.truncated);
}

static void test_strings_overflow(void)
{
    /* Strings that do not fit in the room left come out "" and set
     * truncated; the ones before are intact. Names take an eighth of the
     * room each (NUL included); a command line of the same size leaves
     * room for exactly 7 of them, one a byte longer for only 6. */
    enum { N = sizeof bi.strings / 8 };
    static char name[BOOT_MAX_MODULES][N], cmd[N + 1];
    CHECK(8 < BOOT_MAX_MODULES);
    for (unsigned extra = 0; extra <= 1; extra++) {
        unsigned fit = 7 - extra;
        memset(cmd, 'c', N + extra - 1);
        cmd[N + extra - 1] = '\0';
        mb2_begin(0);
        mb2_string_tag(1, cmd);
        for (unsigned i = 0; i < BOOT_MAX_MODULES; i++) {
            memset(name[i], 'a' + i, N - 1);
            name[i][N - 1] = '\0';
            mb2_module(0x400000 + 0x1000 * i, 0x401000 + 0x1000 * i, name[i]);
        }
        CHECK(mb2_at < MEM_SIZE);
        mb2_end();
        CHECK_EQ(parse_mb2(), 0);
        CHECK(bi.truncated);
        CHECK_STR(bi.cmdline, cmd);
        CHECK_EQ(bi.nmod, BOOT_MAX_MODULES);
        for (unsigned i = 0; i < BOOT_MAX_MODULES && i < bi.nmod; i++) {
            CHECK_EQ(bi.mod[i].start, 0x400000 + 0x1000 * i);  /* still kept */
            CHECK_STR(bi.mod[i].name, i < fit ? name[i] : "");
        }
    }

    /* all that fits exactly: nothing truncated */
    mb2_begin(0);
    mb2_string_tag(1, name[0]);
    for (unsigned i = 1; i < 8; i++)
        mb2_module(0x400000, 0x401000, name[i]);
    mb2_end();
    CHECK_EQ(parse_mb2(), 0);
    CHECK(!bi.truncated);
    CHECK_EQ(bi.nmod, 7);
    CHECK_STR(bi.mod[6].name, name[7]);
}

/* ---- bootinfo_arg ---- */

static void with_cmdline(const char *s)
{
    memset(&bi, 0, sizeof bi);
    bi.cmdline = s;
}

static void test_arg_found(void)
{
    char out[32];
    with_cmdline("quiet ktest=boot log=3");
    CHECK(bootinfo_arg(&bi, "ktest", out, sizeof out));
    CHECK_STR(out, "boot");
    CHECK(bootinfo_arg(&bi, "log", out, sizeof out));
    CHECK_STR(out, "3");

    with_cmdline("ktest=boot");             /* alone, first and last */
    CHECK(bootinfo_arg(&bi, "ktest", out, sizeof out));
    CHECK_STR(out, "boot");

    with_cmdline("   a=1    ktest=ipc   ");  /* extra spaces */
    CHECK(bootinfo_arg(&bi, "ktest", out, sizeof out));
    CHECK_STR(out, "ipc");
    CHECK(bootinfo_arg(&bi, "a", out, sizeof out));
    CHECK_STR(out, "1");

    with_cmdline("x=1 ktest= y=2");         /* empty value */
    memset(out, 'Z', sizeof out);
    CHECK(bootinfo_arg(&bi, "ktest", out, sizeof out));
    CHECK_STR(out, "");

    with_cmdline("ktest=a=b");              /* the value may contain '=' */
    CHECK(bootinfo_arg(&bi, "ktest", out, sizeof out));
    CHECK_STR(out, "a=b");

    with_cmdline("ktest=first ktest=second");   /* first one wins */
    CHECK(bootinfo_arg(&bi, "ktest", out, sizeof out));
    CHECK_STR(out, "first");
}

static void test_arg_absent(void)
{
    char out[32];
    with_cmdline("a=1 b=2");
    CHECK(!bootinfo_arg(&bi, "c", out, sizeof out));
    CHECK(!bootinfo_arg(&bi, "ktest", out, sizeof out));
    with_cmdline("");
    CHECK(!bootinfo_arg(&bi, "ktest", out, sizeof out));
    with_cmdline("   ");
    CHECK(!bootinfo_arg(&bi, "ktest", out, sizeof out));
    with_cmdline("quiet ktest");            /* a bare word has no value */
    CHECK(!bootinfo_arg(&bi, "quiet", out, sizeof out));
    CHECK(!bootinfo_arg(&bi, "ktest", out, sizeof out));
    with_cmdline("boot=ktest");             /* a value is not a key */
    CHECK(!bootinfo_arg(&bi, "ktest", out, sizeof out));
}

static void test_arg_exact_key(void)
{
    char out[32];
    with_cmdline("kt=1 ktest=x");
    CHECK(bootinfo_arg(&bi, "ktest", out, sizeof out));
    CHECK_STR(out, "x");
    CHECK(bootinfo_arg(&bi, "kt", out, sizeof out));
    CHECK_STR(out, "1");
    CHECK(!bootinfo_arg(&bi, "k", out, sizeof out));
    CHECK(!bootinfo_arg(&bi, "ktes", out, sizeof out));
    CHECK(!bootinfo_arg(&bi, "ktestx", out, sizeof out));

    with_cmdline("ktestx=5 xktest=6 ktest=y");
    CHECK(bootinfo_arg(&bi, "ktest", out, sizeof out));
    CHECK_STR(out, "y");

    with_cmdline("ktest=x kt=1");
    CHECK(bootinfo_arg(&bi, "kt", out, sizeof out));
    CHECK_STR(out, "1");
}

static void test_arg_truncated(void)
{
    char out[16];
    with_cmdline("ktest=abcdefgh more=1");
    memset(out, 'Z', sizeof out);
    CHECK(bootinfo_arg(&bi, "ktest", out, 4));
    CHECK_STR(out, "abc");
    CHECK_EQ(out[4], 'Z');                  /* nothing beyond size */

    memset(out, 'Z', sizeof out);
    CHECK(bootinfo_arg(&bi, "ktest", out, 9));  /* exactly fits */
    CHECK_STR(out, "abcdefgh");

    memset(out, 'Z', sizeof out);
    CHECK(bootinfo_arg(&bi, "ktest", out, 8));  /* one short */
    CHECK_STR(out, "abcdefg");

    memset(out, 'Z', sizeof out);
    CHECK(bootinfo_arg(&bi, "ktest", out, 1));
    CHECK_EQ(out[0], '\0');
    CHECK_EQ(out[1], 'Z');
}

static void test_arg_size_zero(void)
{
    /* size 0 ("is the key there?") must write nothing. Run in a child:
     * a wild write must not take the other cases down with it. */
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stderr))
            _exit(3);
        char out[4] = { 'Z', 'Z', 'Z', 'Z' };
        with_cmdline("ktest=boot");
        bool found = bootinfo_arg(&bi, "ktest", out, 0);
        _exit(found && out[0] == 'Z' ? 0 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK_EQ(WEXITSTATUS(status), 0);
}

static void test_arg_after_parse(void)
{
    char out[32];
    mb2_begin(0);
    mb2_string_tag(1, "console=ttyS0 ktest=boot");
    mb2_end();
    CHECK_EQ(parse_mb2(), 0);
    CHECK(bootinfo_arg(&bi, "ktest", out, sizeof out));
    CHECK_STR(out, "boot");

    mb1_begin(1u << 2);
    mb1_cmdline("ktest=sched");
    CHECK_EQ(parse_mb1(), 0);
    CHECK(bootinfo_arg(&bi, "ktest", out, sizeof out));
    CHECK_STR(out, "sched");

    mb1_begin(0);                           /* no command line at all */
    CHECK_EQ(parse_mb1(), 0);
    CHECK(!bootinfo_arg(&bi, "ktest", out, sizeof out));
}

int main(void)
{
    check_prog = "bootinfo";
    setvbuf(stdout, NULL, _IOLBF, 0);  /* keep the lines if a case crashes */
    RUN(test_mb2_full);
    RUN(test_mb2_minimal);
    RUN(test_mb2_stops_at_end_tag);
    RUN(test_mb2_respects_total_size);
    RUN(test_mb2_large_entry_size);
    RUN(test_mb2_truncated_ranges);
    RUN(test_mb2_truncated_modules);
    RUN(test_unknown_magic);
    RUN(test_mb1_full);
    RUN(test_mb1_meminfo_only);
    RUN(test_mb1_no_flags);
    RUN(test_mb1_mmap_entry_size);
    RUN(test_mb1_truncated);
    RUN(test_strings_copied);
    RUN(test_strings_overflow);
    RUN(test_arg_found);
    RUN(test_arg_absent);
    RUN(test_arg_exact_key);
    RUN(test_arg_truncated);
    RUN(test_arg_size_zero);
    RUN(test_arg_after_parse);
    CHECK_EXIT();
}
