/* Host tests of the ELF loader (kernel/elf.c) on the host model of
 * tests/host/kshim.c: valid images load with the right contents and
 * rights; truncated, overlapping, oversized and out-of-bounds ones are
 * refused (return 0) without touching memory outside the image. */
#include "check.h"
#include "elf.h"
#include "elfimg.h"
#include "kshim.h"
#include "mdb.h"
#include "space.h"
#include "arch/x86_64/paging.h"

#include <stdlib.h>

#define MIN_VA 0x1000ull
#define MAX_VA 0x7ffdfffe0000ull        /* what boot.c passes: below the stack */
#define TEXT 0x400000ull
#define DATA 0x401000ull

static struct space *S;
static uint8_t img[8192] __attribute__((aligned(8)));

static void setup(void)
{
    memset(img, 0, sizeof img);
    shim_user_frames = -1;
    S = shim_space_new(2);
}

static void teardown(void)
{
    CHECK(mdb_check());
    shim_space_free(S);
    shim_user_reset();
    CHECK_EQ(shim_pool_used, 0);
}

/* Loads img[0, size) into S; a copy of exactly size bytes on the heap so
 * that ASan catches any read past the end. */
static uint64_t load(uint64_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    memcpy(copy, img, size);
    uint64_t entry = elf_load(S, copy, size, MIN_VA, MAX_VA, "test");
    free(copy);
    return entry;
}

static uint64_t pte(uint64_t va)
{
    uint64_t *e = paging_user_pte(S->pml4, va, false);
    return e ? *e : 0;
}

/* text (RX, 100 bytes), data (RW, 16 bytes of file, 8 KiB in memory). */
static uint64_t make_valid(void)
{
    img_header(img, TEXT + 0x10, 2);
    img_load(img, 0, IMG_PF_R | IMG_PF_X, 0x1000, TEXT, 100, 100);
    img_load(img, 1, IMG_PF_R | IMG_PF_W, 0x1800, DATA + 0x800, 16, 0x2000);
    for (unsigned i = 0; i < 100; i++)
        img[0x1000 + i] = (uint8_t)(i + 1);
    memset(img + 0x1800, 0xdd, 16);
    memset(img + 0x1810, 0xee, 64);    /* file bytes past filesz: not copied */
    return 0x1810 + 64;
}

static void test_valid_image(void)
{
    setup();
    uint64_t size = make_valid();
    CHECK_EQ(load(size), TEXT + 0x10);
    uint8_t *t = shim_page(S, TEXT), *d = shim_page(S, DATA);
    CHECK(t && d && shim_page(S, DATA + 0x1000) && shim_page(S, DATA + 0x2000));
    CHECK(!shim_page(S, DATA + 0x3000));
    if (t && d) {
        CHECK_EQ(t[0], 1);
        CHECK_EQ(t[99], 100);
        CHECK_EQ(t[100], 0);
        CHECK_EQ(d[0x7ff], 0);
        CHECK_EQ(d[0x800], 0xdd);
        CHECK_EQ(d[0x80f], 0xdd);
        CHECK_EQ(d[0x810], 0);          /* bss */
    }
    CHECK(!(pte(TEXT) & PTE_W) && !(pte(TEXT) & PTE_NX));
    CHECK((pte(DATA) & PTE_W) && (pte(DATA) & PTE_NX));
    CHECK_EQ(shim_user_used, 4);
    teardown();
}

/* Two segments in one page: the page gets both's rights and contents. */
static void test_segments_sharing_a_page(void)
{
    setup();
    img_header(img, TEXT, 2);
    img_load(img, 0, IMG_PF_R | IMG_PF_X, 0x1000, TEXT, 0x100, 0x100);
    img_load(img, 1, IMG_PF_R | IMG_PF_W, 0x1100, TEXT + 0x100, 0x10, 0x20);
    memset(img + 0x1000, 0x11, 0x100);
    memset(img + 0x1100, 0x22, 0x10);
    CHECK_EQ(load(0x1110), TEXT);
    uint8_t *p = shim_page(S, TEXT);
    CHECK(p && p[0xff] == 0x11 && p[0x100] == 0x22 && p[0x10f] == 0x22 && p[0x110] == 0);
    CHECK((pte(TEXT) & PTE_W) && !(pte(TEXT) & PTE_NX));
    CHECK_EQ(shim_user_used, 1);
    teardown();
}

/* Overlapping segments: loaded in order, the later one's bytes win. */
static void test_overlapping_segments(void)
{
    setup();
    img_header(img, TEXT, 2);
    img_load(img, 0, IMG_PF_R, 0x1000, TEXT, 0x1000, 0x3000);
    img_load(img, 1, IMG_PF_R | IMG_PF_W, 0x1000, TEXT + 0x800, 0x100, 0x100);
    memset(img + 0x1000, 0x33, 0x1000);
    CHECK_EQ(load(0x2000), TEXT);
    uint8_t *p = shim_page(S, TEXT);
    CHECK(p && p[0x7ff] == 0x33 && p[0x800] == 0x33 && p[0xfff] == 0x33);
    CHECK(pte(TEXT) & PTE_W);
    CHECK(!(pte(TEXT + 0x1000) & PTE_W));
    teardown();
}

static void test_truncated(void)
{
    setup();
    uint64_t size = make_valid();
    CHECK_EQ(load(0), 0);
    CHECK_EQ(load(63), 0);                  /* not even a header */
    CHECK_EQ(load(64 + 56), 0);             /* one of two program headers */
    CHECK_EQ(load(0x1000 + 50), 0);         /* the text segment cut */
    CHECK_EQ(load(0x1800 + 15), 0);         /* the data segment cut by a byte */
    CHECK_EQ(load(0x1800 + 16), TEXT + 0x10);   /* exactly enough */
    (void)size;
    teardown();
}

static void test_bad_header(void)
{
    setup();
    uint64_t size = make_valid();
    img[4] = 1;                             /* ELFCLASS32 */
    CHECK_EQ(load(size), 0);
    make_valid();
    img[5] = 2;                             /* big-endian */
    CHECK_EQ(load(size), 0);
    make_valid();
    img[18] = 3;                            /* EM_386 */
    CHECK_EQ(load(size), 0);
    make_valid();
    img[54] = 32;                           /* phentsize */
    CHECK_EQ(load(size), 0);
    make_valid();
    img[0] = 0;
    CHECK_EQ(load(size), 0);
    CHECK_EQ(shim_user_used, 0);
    teardown();
}

static void test_bad_segments(void)
{
    setup();
    img_header(img, TEXT, 1);
    img_load(img, 0, IMG_PF_R, 0x1000, TEXT, 0x200, 0x100);     /* filesz > memsz */
    CHECK_EQ(load(0x1200), 0);
    img_load(img, 0, IMG_PF_R, 0x1000, 0, 0x100, 0x100);        /* below min_va */
    CHECK_EQ(load(0x1200), 0);
    img_load(img, 0, IMG_PF_R, 0x1000, MAX_VA - 0x80, 0x100, 0x100);  /* past max_va */
    CHECK_EQ(load(0x1200), 0);
    img_load(img, 0, IMG_PF_R, 0x1000, 0xffffffff80000000ull, 0x100, 0x100);  /* kernel */
    CHECK_EQ(load(0x1200), 0);
    img_load(img, 0, IMG_PF_R, 0x1000, TEXT, 0, ~0ull - TEXT + 2);  /* end wraps */
    CHECK_EQ(load(0x1200), 0);
    CHECK_EQ(shim_user_used, 0);
    /* a type other than PT_LOAD is skipped whatever it says */
    img_load(img, 0, IMG_PF_R, ~0ull, ~0ull, ~0ull, 1);
    img[64] = 4;
    CHECK_EQ(load(0x1200), TEXT);
    teardown();
}

/* A huge p_memsz inside the allowed range: loading stops cleanly when
 * frames run out. */
static void test_huge_memsz(void)
{
    setup();
    img_header(img, TEXT, 1);
    img_load(img, 0, IMG_PF_R | IMG_PF_W, 0x1000, TEXT, 0x10, 1ull << 40);
    shim_user_frames = 64;
    CHECK_EQ(load(0x1010), 0);
    CHECK_EQ(shim_user_used, 64);
    shim_user_frames = -1;
    img_load(img, 0, IMG_PF_R | IMG_PF_W, 0x1000, TEXT, 0x10, MAX_VA - TEXT);  /* up to the end */
    shim_user_frames = 16;
    CHECK_EQ(load(0x1010), 0);
    shim_user_frames = -1;
    teardown();
}

/* Bug: phoff + phnum * 56 was added without a check for wrapping: a phoff
 * near 2^64 passed, and the loader read program headers from before the
 * image (anywhere in the kernel's address space). */
static void test_phoff_wrapping_past_2_64(void)
{
    setup();
    make_valid();
    uint64_t phoff = 0ull - 56;             /* + 1 * 56 wraps to 0 */
    memcpy(img + 32, &phoff, 8);
    img[56] = 1;
    img[57] = 0;
    CHECK_EQ(load(0x2000), 0);
    phoff = 0ull - 0x1000;                  /* a page before the image */
    memcpy(img + 32, &phoff, 8);
    CHECK_EQ(load(0x2000), 0);
    teardown();
}

/* Bug: p_offset + p_filesz likewise: a huge p_offset made the loader copy
 * from far outside the image. */
static void test_segment_offset_wrapping_past_2_64(void)
{
    setup();
    img_header(img, TEXT, 1);
    img_load(img, 0, IMG_PF_R, 0ull - 0x100, TEXT, 0x100, 0x100);   /* wraps to 0 */
    CHECK_EQ(load(0x1000), 0);
    img_load(img, 0, IMG_PF_R, 0ull - 0x80, TEXT, 0x100, 0x100);    /* wraps to 0x80 */
    CHECK_EQ(load(0x1000), 0);
    CHECK_EQ(shim_user_used, 0);
    teardown();
}

/* Bug: program headers at an offset not a multiple of 8 were read as
 * misaligned structs (undefined behaviour; UBSan stops there). */
static void test_misaligned_phoff(void)
{
    setup();
    make_valid();
    memmove(img + 68, img + 64, 2 * 56);
    uint64_t phoff = 68;
    memcpy(img + 32, &phoff, 8);
    CHECK_EQ(load(0x2000), 0);
    teardown();
}

/* Bug: the entry point was not checked: a kernel or non-canonical entry
 * made the first return to user mode fault in the kernel's iretq (the
 * same bug task_new had). */
static void test_entry_outside_the_user_region(void)
{
    setup();
    uint64_t size = make_valid();
    uint64_t bad[] = { 0xffffffff80001000ull, 0x0000800000000000ull, MAX_VA, ~0ull };
    for (unsigned i = 0; i < 4; i++) {
        memcpy(img + 24, &bad[i], 8);
        CHECK_EQ(load(size), 0);
    }
    teardown();
}

int main(void)
{
    check_prog = "elf";
    RUN(test_valid_image);
    RUN(test_segments_sharing_a_page);
    RUN(test_overlapping_segments);
    RUN(test_truncated);
    RUN(test_bad_header);
    RUN(test_bad_segments);
    RUN(test_huge_memsz);
    RUN(test_phoff_wrapping_past_2_64);
    RUN(test_segment_offset_wrapping_past_2_64);
    RUN(test_misaligned_phoff);
    RUN(test_entry_outside_the_user_region);
    CHECK_EXIT();
}
