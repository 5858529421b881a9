/* Host tests for kernel/memmap.c: free ranges = available minus reserved. */
#include "check.h"
#include "memmap.h"
#include <string.h>

#define KiB 0x400ull
#define MiB 0x100000ull
#define AVAIL BOOT_MEM_AVAILABLE

#define OUT_MAX 16

static struct range out[OUT_MAX + 1];   /* +1: a guard that must stay put */
static bool lost;

/* Runs memmap_free with room for max ranges (max <= OUT_MAX). */
static unsigned run(const struct boot_range *mem, unsigned nmem,
                    const struct range *resv, unsigned nresv, unsigned max)
{
    memset(out, 0xA5, sizeof out);
    struct range guard = out[max];
    lost = !lost;                       /* must be written either way */
    unsigned n = memmap_free(mem, nmem, resv, nresv, out, max, &lost);
    CHECK(n <= max);
    CHECK(memcmp(&out[max], &guard, sizeof guard) == 0);
    return n;
}

/* Checks the result against the expected ranges, one by one. */
static void expect(unsigned n, const struct range *want, unsigned nwant)
{
    CHECK_EQ(n, nwant);
    for (unsigned i = 0; i < n && i < nwant; i++) {
        CHECK_EQ(out[i].start, want[i].start);
        CHECK_EQ(out[i].end, want[i].end);
    }
}

#define EXPECT(n, ...)                                                      \
    do {                                                                    \
        static const struct range w_[] = { __VA_ARGS__ };                   \
        expect(n, w_, sizeof w_ / sizeof w_[0]);                            \
    } while (0)

static void test_hole_in_middle(void)
{
    static const struct boot_range mem[] = { { 1 * MiB, 7 * MiB, AVAIL } };
    static const struct range resv[] = { { 3 * MiB, 4 * MiB } };
    unsigned n = run(mem, 1, resv, 1, OUT_MAX);
    EXPECT(n, { 1 * MiB, 3 * MiB }, { 4 * MiB, 8 * MiB });
    CHECK(!lost);
}

static void test_no_reservations(void)
{
    static const struct boot_range mem[] = { { 1 * MiB, 7 * MiB, AVAIL } };
    unsigned n = run(mem, 1, NULL, 0, OUT_MAX);
    EXPECT(n, { 1 * MiB, 8 * MiB });
    CHECK(!lost);
    CHECK_EQ(run(NULL, 0, NULL, 0, OUT_MAX), 0);
    CHECK(!lost);
}

static void test_unaligned_available_shrinks(void)
{
    static const struct boot_range mem[] = {
        { 0x100800, 0x3000, AVAIL },            /* [0x100800, 0x103800) */
        { 0x200001, 0x2ffe, AVAIL },            /* [0x200001, 0x202fff) */
    };
    unsigned n = run(mem, 2, NULL, 0, OUT_MAX);
    EXPECT(n, { 0x101000, 0x103000 }, { 0x201000, 0x202000 });
    CHECK(!lost);
}

static void test_unaligned_reserved_grows(void)
{
    static const struct boot_range mem[] = { { 1 * MiB, 1 * MiB, AVAIL } };
    static const struct range resv[] = {
        { 0x150800, 0x151001 },                 /* -> [0x150000, 0x152000) */
        { 0x1c0fff, 0x1c1000 },                 /* one byte -> one page */
        { 0xff800, 0x100800 },                  /* straddles the start */
    };
    unsigned n = run(mem, 1, resv, 3, OUT_MAX);
    EXPECT(n, { 0x101000, 0x150000 }, { 0x152000, 0x1c0000 }, { 0x1c1000, 0x200000 });
    CHECK(!lost);
}

static void test_adjacent_reserved_touches_nothing(void)
{
    /* Reservations that end where a range starts (or start where it
     * ends) take nothing from it. */
    static const struct boot_range mem[] = { { 1 * MiB, 1 * MiB, AVAIL } };
    static const struct range resv[] = { { 0, 1 * MiB }, { 2 * MiB, 3 * MiB } };
    unsigned n = run(mem, 1, resv, 2, OUT_MAX);
    EXPECT(n, { 1 * MiB, 2 * MiB });
}

static void test_non_available_wins(void)
{
    /* A reserved (type 2) entry inside an available one cuts it ... */
    static const struct boot_range mem1[] = {
        { 1 * MiB, 4 * MiB, AVAIL },
        { 2 * MiB, 1 * MiB, 2 },
    };
    unsigned n = run(mem1, 2, NULL, 0, OUT_MAX);
    EXPECT(n, { 1 * MiB, 2 * MiB }, { 3 * MiB, 5 * MiB });

    /* ... whichever comes first in the map, grown outward to pages ... */
    static const struct boot_range mem2[] = {
        { 0x2ff800, 0x1000, 3 },                /* -> [0x2ff000, 0x301000) */
        { 1 * MiB, 4 * MiB, AVAIL },
    };
    n = run(mem2, 2, NULL, 0, OUT_MAX);
    EXPECT(n, { 1 * MiB, 0x2ff000 }, { 0x301000, 5 * MiB });

    /* ... and every type other than 1 counts as not available. */
    static const struct boot_range mem3[] = {
        { 0, 0xa0000, AVAIL },
        { 0x9fc00, 0x400, 2 },                  /* EBDA at the end */
        { 1 * MiB, 16 * MiB, AVAIL },
        { 4 * MiB, 4 * KiB, 4 },                /* ACPI NVS */
        { 8 * MiB, 8 * KiB, 5 },                /* bad memory */
        { 16 * MiB, 2 * MiB, 7 },               /* unknown type */
    };
    n = run(mem3, 6, NULL, 0, OUT_MAX);
    EXPECT(n, { 0, 0x9f000 }, { 1 * MiB, 4 * MiB }, { 4 * MiB + 4 * KiB, 8 * MiB },
           { 8 * MiB + 8 * KiB, 16 * MiB });
    CHECK(!lost);
}

static void test_non_available_only(void)
{
    static const struct boot_range mem[] = {
        { 0xf0000, 0x10000, 2 },
        { 1 * MiB, 4 * MiB, 3 },
    };
    CHECK_EQ(run(mem, 2, NULL, 0, OUT_MAX), 0);
    CHECK(!lost);
}

static void test_sorted_and_merged(void)
{
    static const struct boot_range mem[] = {
        { 8 * MiB, 1 * MiB, AVAIL },            /* [8, 9) */
        { 1 * MiB, 1 * MiB, AVAIL },            /* [1, 2) */
        { 2 * MiB, 1 * MiB, AVAIL },            /* [2, 3): adjacent */
        { 0x180000, 2 * MiB, AVAIL },           /* [1.5, 3.5): overlapping */
        { 5 * MiB, 4 * KiB, AVAIL },            /* one page */
        { 0x180000, 0x80000, AVAIL },           /* contained in another */
    };
    unsigned n = run(mem, 6, NULL, 0, OUT_MAX);
    EXPECT(n, { 1 * MiB, 0x380000 }, { 5 * MiB, 5 * MiB + 4 * KiB }, { 8 * MiB, 9 * MiB });
    CHECK(!lost);

    /* ranges that only touch are merged too (firmware often splits RAM) */
    static const struct boot_range touch[] = {
        { 3 * MiB, 1 * MiB, AVAIL },
        { 1 * MiB, 2 * MiB, AVAIL },
        { 0x400800, 0xff800, AVAIL },           /* [4 MiB + 2 KiB, 5 MiB) */
    };
    n = run(touch, 3, NULL, 0, OUT_MAX);
    EXPECT(n, { 1 * MiB, 4 * MiB }, { 0x401000, 5 * MiB });
    CHECK(!lost);
}

static void test_sorted_after_cuts(void)
{
    /* The upper half of a split goes to the end of the list: the result
     * must still come out in address order. */
    static const struct boot_range mem[] = { { 1 * MiB, 8 * MiB, AVAIL } };
    static const struct range resv[] = { { 5 * MiB, 6 * MiB }, { 2 * MiB, 3 * MiB } };
    unsigned n = run(mem, 1, resv, 2, OUT_MAX);
    EXPECT(n, { 1 * MiB, 2 * MiB }, { 3 * MiB, 5 * MiB }, { 6 * MiB, 9 * MiB });

    for (unsigned i = 1; i < n; i++)
        CHECK(out[i - 1].end < out[i].start);
}

static void test_reserved_covers_range(void)
{
    static const struct boot_range mem[] = {
        { 1 * MiB, 1 * MiB, AVAIL },
        { 4 * MiB, 1 * MiB, AVAIL },
        { 8 * MiB, 1 * MiB, AVAIL },
    };
    /* exactly, and with room to spare (unaligned) */
    static const struct range resv[] = { { 1 * MiB, 2 * MiB }, { 0x7ff800, 0x900001 } };
    unsigned n = run(mem, 3, resv, 2, OUT_MAX);
    EXPECT(n, { 4 * MiB, 5 * MiB });
    CHECK(!lost);

    /* one reservation over everything */
    static const struct range all[] = { { 0, 16 * MiB } };
    CHECK_EQ(run(mem, 3, all, 1, OUT_MAX), 0);
    CHECK(!lost);

    /* a reservation over two ranges and the gap between them */
    static const struct range two[] = { { 0x180000, 0x480000 } };
    n = run(mem, 3, two, 1, OUT_MAX);
    EXPECT(n, { 1 * MiB, 0x180000 }, { 0x480000, 5 * MiB }, { 8 * MiB, 9 * MiB });
}

static void test_lost_when_out_too_small(void)
{
    static const struct boot_range mem[] = {
        { 1 * MiB, 1 * MiB, AVAIL },
        { 4 * MiB, 1 * MiB, AVAIL },
        { 8 * MiB, 1 * MiB, AVAIL },
    };
    /* three separate ranges, room for two */
    unsigned n = run(mem, 3, NULL, 0, 2);
    CHECK_EQ(n, 2);
    CHECK(lost);
    /* what is returned is still free memory, sorted */
    for (unsigned i = 0; i < n; i++) {
        bool inside = false;
        for (unsigned j = 0; j < 3; j++)
            inside |= out[i].start >= mem[j].base && out[i].end <= mem[j].base + mem[j].len &&
                      out[i].start < out[i].end;
        CHECK(inside);
    }
    CHECK(n < 2 || out[0].end < out[1].start);

    /* exactly enough room */
    n = run(mem, 3, NULL, 0, 3);
    CHECK_EQ(n, 3);
    CHECK(!lost);

    /* a split that needs a second slot where there is only one */
    static const struct range resv[] = { { 0x140000, 0x150000 } };
    n = run(mem, 1, resv, 1, 1);
    CHECK_EQ(n, 1);
    CHECK(lost);
    CHECK(out[0].start >= 1 * MiB && out[0].end <= 2 * MiB && out[0].start < out[0].end);
    CHECK(out[0].end <= 0x140000 || out[0].start >= 0x150000);

    /* the same split with two slots loses nothing */
    n = run(mem, 1, resv, 1, 2);
    EXPECT(n, { 1 * MiB, 0x140000 }, { 0x150000, 2 * MiB });
    CHECK(!lost);

    /* no room at all */
    CHECK_EQ(run(mem, 3, NULL, 0, 0), 0);
    CHECK(lost);
}

static void test_small_ranges_vanish(void)
{
    static const struct boot_range mem[] = {
        { 1 * MiB, 0, AVAIL },                  /* zero length */
        { 0x200800, 0x800, AVAIL },             /* sub-page, ends aligned */
        { 0x300800, 0x1000, AVAIL },            /* a page's worth, no whole page */
        { 0x400000, 0xfff, AVAIL },             /* one byte short of a page */
        { 0x500000, 0x1000, AVAIL },            /* exactly one page: kept */
    };
    unsigned n = run(mem, 5, NULL, 0, OUT_MAX);
    EXPECT(n, { 0x500000, 0x501000 });
    CHECK(!lost);

    /* a range shrunk to nothing by a reservation vanishes too */
    static const struct range resv[] = { { 0x500000, 0x500001 } };
    CHECK_EQ(run(mem, 5, resv, 1, OUT_MAX), 0);
}

static void test_qemu_like_boot(void)
{
    /* QEMU's map with 128 MiB, and what kmem_init reserves. */
    static const struct boot_range mem[] = {
        { 0x0, 0x9fc00, AVAIL },
        { 0x9fc00, 0x400, 2 },
        { 0xf0000, 0x10000, 2 },
        { 0x100000, 0x7ee0000, AVAIL },
        { 0x7fe0000, 0x20000, 2 },
        { 0xfffc0000, 0x40000, 2 },
    };
    static const struct range resv[] = {
        { 0, 0x100000 },                        /* BIOS area */
        { 0x100000, 0x123456 },                 /* kernel image */
        { 0x9500, 0x9558 },                     /* multiboot info */
        { 0x200000, 0x2000a0 },                 /* a module */
    };
    unsigned n = run(mem, 6, resv, 4, OUT_MAX);
    EXPECT(n, { 0x124000, 0x200000 }, { 0x201000, 0x7fe0000 });
    CHECK(!lost);
}

/* memmap_normalize (also sigma0.c's): unsorted, overlapping, touching,
 * contained and apart ranges end sorted and disjoint. */
static void test_normalize(void)
{
    struct range r[] = { { 0x9000, 0xa000 }, { 0x1000, 0x3000 }, { 0x2000, 0x4000 },
                         { 0x4000, 0x5000 }, { 0x7000, 0x8000 }, { 0x1000, 0x2000 } };
    unsigned n = memmap_normalize(r, 6);
    CHECK(n == 3);
    CHECK(r[0].start == 0x1000 && r[0].end == 0x5000);
    CHECK(r[1].start == 0x7000 && r[1].end == 0x8000);
    CHECK(r[2].start == 0x9000 && r[2].end == 0xa000);
    CHECK(memmap_normalize(r, 0) == 0);
}

int main(void)
{
    check_prog = "memmap";
    setvbuf(stdout, NULL, _IOLBF, 0);  /* keep the lines if a case crashes */
    RUN(test_hole_in_middle);
    RUN(test_no_reservations);
    RUN(test_unaligned_available_shrinks);
    RUN(test_unaligned_reserved_grows);
    RUN(test_adjacent_reserved_touches_nothing);
    RUN(test_non_available_wins);
    RUN(test_non_available_only);
    RUN(test_sorted_and_merged);
    RUN(test_sorted_after_cuts);
    RUN(test_reserved_covers_range);
    RUN(test_lost_when_out_too_small);
    RUN(test_small_ranges_vanish);
    RUN(test_qemu_like_boot);
    RUN(test_normalize);
    CHECK_EXIT();
}
