/* Multiboot1 and multiboot2 information parsing (see the Multiboot specs). */
#include "bootinfo.h"
#include "string.h"

static const void *ptr(uintptr_t off, paddr_t pa)
{
    return (const void *)(uintptr_t)(pa + off);
}

static uint32_t rd32(const void *p, size_t at)
{
    uint32_t v;
    memcpy(&v, (const char *)p + at, 4);
    return v;
}

static uint64_t rd64(const void *p, size_t at)
{
    uint64_t v;
    memcpy(&v, (const char *)p + at, 8);
    return v;
}

/* A copy of s in bi->strings; "" (and truncated) once that is full. */
static const char *keep(struct boot_info *bi, const char *s)
{
    size_t n = strlen(s) + 1;
    if (bi->nstrings + n > sizeof bi->strings) {
        bi->truncated = true;
        return "";
    }
    char *d = bi->strings + bi->nstrings;
    memcpy(d, s, n);
    bi->nstrings += n;
    return d;
}

static void add_range(struct boot_info *bi, paddr_t base, paddr_t len, uint32_t type)
{
    if (bi->nmem == BOOT_MAX_RANGES) {
        bi->truncated = true;
        return;
    }
    bi->mem[bi->nmem++] = (struct boot_range){ base, len, type };
}

static void add_module(struct boot_info *bi, paddr_t start, paddr_t end, const char *name)
{
    if (bi->nmod == BOOT_MAX_MODULES) {
        bi->truncated = true;
        return;
    }
    bi->mod[bi->nmod++] = (struct boot_module){ start, end, keep(bi, name) };
}

/* Multiboot2: a size-prefixed list of 8-byte-aligned tags, ended by type 0. */
static void parse_mb2(struct boot_info *bi, paddr_t info, uintptr_t off)
{
    const char *base = ptr(off, info);
    uint32_t total = rd32(base, 0);
    bi->loader = "multiboot2";
    bi->info_end = info + total;
    for (uint32_t at = 8; at + 8 <= total;) {
        uint32_t type = rd32(base, at), size = rd32(base, at + 4);
        if (type == 0 || size < 8)
            break;
        const char *tag = base + at;
        if (type == 1) {
            bi->cmdline = keep(bi, tag + 8);
        } else if (type == 3) {
            add_module(bi, rd32(tag, 8), rd32(tag, 12), tag + 16);
        } else if (type == 6) {
            uint32_t esize = rd32(tag, 8);
            for (uint32_t e = 16; esize >= 24 && e + esize <= size; e += esize)
                add_range(bi, rd64(tag, e), rd64(tag, e + 8), rd32(tag, e + 16));
        }
        at += (size + 7) & ~7u;
    }
}

/* Multiboot1: a fixed structure whose flags say which fields are valid. */
static void parse_mb1(struct boot_info *bi, paddr_t info, uintptr_t off)
{
    const char *base = ptr(off, info);
    uint32_t flags = rd32(base, 0);
    bi->loader = "multiboot1";
    bi->info_end = info + 116;      /* the whole structure, framebuffer fields included */
    if (flags & (1u << 2))
        bi->cmdline = keep(bi, ptr(off, rd32(base, 16)));
    if (flags & (1u << 3)) {
        uint32_t n = rd32(base, 20), at = rd32(base, 24);
        for (uint32_t i = 0; i < n; i++) {
            const char *m = ptr(off, at + 16 * i);
            add_module(bi, rd32(m, 0), rd32(m, 4), ptr(off, rd32(m, 8)));
        }
    }
    if (flags & (1u << 6)) {
        uint32_t len = rd32(base, 44), at = rd32(base, 48);
        for (uint32_t e = 0; e + 24 <= len;) {
            const char *ent = ptr(off, at + e);
            uint32_t size = rd32(ent, 0);
            add_range(bi, rd64(ent, 4), rd64(ent, 12), rd32(ent, 20));
            e += size + 4;
        }
    } else if (flags & 1u) {
        /* Only lower/upper memory sizes (KiB), upper starting at 1 MiB. */
        add_range(bi, 0, (paddr_t)rd32(base, 4) << 10, BOOT_MEM_AVAILABLE);
        add_range(bi, 1ul << 20, (paddr_t)rd32(base, 8) << 10, BOOT_MEM_AVAILABLE);
    }
}

int bootinfo_parse(struct boot_info *bi, uint32_t magic, paddr_t info, uintptr_t off)
{
    memset(bi, 0, sizeof *bi);
    bi->cmdline = "";
    bi->info_start = info;
    if (magic == MB2_MAGIC)
        parse_mb2(bi, info, off);
    else if (magic == MB1_MAGIC)
        parse_mb1(bi, info, off);
    else
        return -1;
    return 0;
}

bool bootinfo_arg(const struct boot_info *bi, const char *key, char *out, size_t size)
{
    size_t klen = strlen(key);
    for (const char *p = bi->cmdline; *p;) {
        while (*p == ' ')
            p++;
        const char *w = p;
        while (*p && *p != ' ')
            p++;
        if ((size_t)(p - w) > klen && !strncmp(w, key, klen) && w[klen] == '=') {
            size_t n = (size_t)(p - w) - klen - 1;
            if (size == 0)
                return true;        /* only asked whether the key is there */
            if (n >= size)
                n = size - 1;
            memcpy(out, w + klen + 1, n);
            out[n] = '\0';
            return true;
        }
    }
    return false;
}
