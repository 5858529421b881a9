/* Host tests of the flexpage arithmetic: the L4_FPAGE macros of
 * include/l4/abi.h, map_fpage_valid (kernel/map.c) and I/O fpages as
 * kernel/io.c decodes them (through io_map, io_unmap and io_allowed). */
#include "check.h"
#include "io.h"
#include "kshim.h"
#include "map.h"
#include "space.h"

static void test_encode_decode(void)
{
    for (unsigned s = 12; s <= L4_WHOLE_SPACE; s++)
        for (unsigned r = 0; r < 8; r++) {
            uint64_t base = s == L4_WHOLE_SPACE ? 0 : (0x5ull << s) & (L4_USER_LIMIT - 1);
            uint64_t f = L4_FPAGE(base, s, r);
            CHECK_EQ(L4_FPAGE_BASE(f), base);
            CHECK_EQ(L4_FPAGE_SIZE(f), s);
            CHECK_EQ(L4_FPAGE_RIGHTS(f), r);
            CHECK(!(f & L4_FPAGE_IO));
        }
    /* the low 12 bits of a base never reach size or rights */
    uint64_t f = L4_FPAGE(0x12345fff, 12, L4_R);
    CHECK_EQ(L4_FPAGE_BASE(f), 0x12345000);
    CHECK_EQ(L4_FPAGE_SIZE(f), 12);
    CHECK_EQ(L4_FPAGE_RIGHTS(f), L4_R);
    for (unsigned s = 0; s <= 16; s++) {
        unsigned port = (0xffffu << s) & 0xffff;
        uint64_t io = L4_IOFPAGE(port, s);
        CHECK(io & L4_FPAGE_IO);
        CHECK_EQ(L4_IOFPAGE_PORT(io), port);
        CHECK_EQ(L4_FPAGE_SIZE(io), s);
    }
}

static void test_valid_sizes(void)
{
    CHECK(!map_fpage_valid(L4_FPAGE(0, 0, L4_RWX)));
    CHECK(!map_fpage_valid(L4_FPAGE(0, 11, L4_RWX)));
    CHECK(map_fpage_valid(L4_FPAGE(0, 12, L4_RWX)));
    CHECK(map_fpage_valid(L4_FPAGE(0x7ffdfffff000ull, 12, L4_R)));     /* last page */
    CHECK(map_fpage_valid(L4_FPAGE(0, 46, L4_RWX)));
    CHECK(!map_fpage_valid(L4_FPAGE(1ull << 46, 46, L4_RWX)));   /* reaches the KIP */
    CHECK(map_fpage_valid(L4_FPAGE(0, L4_WHOLE_SPACE, L4_RWX)));
    CHECK(!map_fpage_valid(L4_FPAGE(1ull << 47, L4_WHOLE_SPACE, L4_RWX)));
    CHECK(!map_fpage_valid(L4_FPAGE(0, 48, L4_RWX)));
    CHECK(!map_fpage_valid(L4_FPAGE(0, 63, L4_RWX)));
}

static void test_valid_alignment_and_limit(void)
{
    CHECK(map_fpage_valid(L4_FPAGE(0x200000, 21, L4_RWX)));
    CHECK(!map_fpage_valid(L4_FPAGE(0x201000, 21, L4_RWX)));
    CHECK(!map_fpage_valid(L4_FPAGE(0x100000, 21, L4_RWX)));
    CHECK(!map_fpage_valid(L4_FPAGE(L4_USER_LIMIT, 12, L4_RWX)));     /* KIP, UTCBs */
    CHECK(!map_fpage_valid(L4_FPAGE(0x7fff00000000ull, 12, L4_RWX)));
    CHECK(!map_fpage_valid(L4_FPAGE(0xffff800000000000ull, 12, L4_RWX)));  /* kernel */
    CHECK(!map_fpage_valid(L4_FPAGE(0x0000800000000000ull, 12, L4_RWX)));  /* non-canonical */
    /* every size: aligned bases inside the user region pass, one page off fails */
    for (unsigned s = 13; s < L4_WHOLE_SPACE - 1; s++) {
        CHECK(map_fpage_valid(L4_FPAGE(1ull << s, s, L4_R)));
        CHECK(!map_fpage_valid(L4_FPAGE((1ull << s) + PAGE_SIZE, s, L4_R)));
    }
}

/* Bug: an fpage ending exactly at 2^64 (base + size wraps to 0) passed
 * map_fpage_valid, so fpage_unmap answered L4_OK instead of L4_EINVAL and
 * a map item or window there "succeeded" mapping nothing. */
static void test_fpage_at_top_of_address_space_is_invalid(void)
{
    for (unsigned s = 12; s < L4_WHOLE_SPACE; s++)
        CHECK(!map_fpage_valid(L4_FPAGE(0ull - (1ull << s), s, L4_RWX)));
    CHECK(!map_fpage_valid(L4_FPAGE(0xfffffffffffff000ull, 12, L4_RWX)));
    CHECK(!map_fpage_valid(L4_FPAGE(0xffffffffc0000000ull, 30, L4_RWX)));
}

static struct space *S, *T;

static void io_setup(void)
{
    S = shim_space_new(20);
    T = shim_space_new(21);
    CHECK(io_grant_all(S));
}

static void io_teardown(void)
{
    io_space_destroy(T);
    io_space_destroy(S);
    shim_space_free(T);
    shim_space_free(S);
    CHECK_EQ(shim_pool_used, io_frames());  /* the record frames stay */
}

static void test_io_fpages(void)
{
    io_setup();
    CHECK(!io_allowed(S, 0x20) && !io_allowed(S, 0x43));  /* the kernel's ports */
    CHECK(io_allowed(S, 0x3f8) && io_allowed(S, 0xffff));
    /* 8 ports at 0x3f8 */
    CHECK(io_map(S, T, L4_IOFPAGE(0x3f8, 3), false));
    CHECK(io_allowed(T, 0x3f8) && io_allowed(T, 0x3ff));
    CHECK(!io_allowed(T, 0x3f7) && !io_allowed(T, 0x400));
    /* one port; the last one; all 65,536 (holds the kernel's: refused) */
    CHECK(io_map(S, T, L4_IOFPAGE(0x80, 0), false));
    CHECK(io_allowed(T, 0x80) && !io_allowed(T, 0x81));
    CHECK(io_map(S, T, L4_IOFPAGE(0xffff, 0), false));
    CHECK(io_allowed(T, 0xffff));
    CHECK(!io_map(S, T, L4_IOFPAGE(0, 16), false));
    CHECK(!io_map(S, T, L4_IOFPAGE(0x40, 2), false));     /* the PIT */
    /* malformed: misaligned port, size above 16, no I/O bit, bits above
     * the port, rights bits */
    CHECK(!io_map(S, T, L4_IOFPAGE(0x3f9, 3), false));
    CHECK(!io_map(S, T, L4_IOFPAGE(0, 17), false));
    CHECK(!io_map(S, T, L4_IOFPAGE(0x3f8, 3) & ~L4_FPAGE_IO, false));
    CHECK(!io_map(S, T, L4_IOFPAGE(0x3f8, 3) | (1ull << 28), false));
    CHECK(!io_map(S, T, L4_IOFPAGE(0x3f8, 3) | (1ull << 63), false));
    CHECK(!io_map(S, T, L4_IOFPAGE(0x3f8, 3) | L4_R, false));
    CHECK(!io_unmap(S, L4_IOFPAGE(0x3f9, 3), true));
    CHECK(!io_unmap(S, L4_IOFPAGE(0, 17), true));
    /* unmap part of what T got, from S: revoked from T, S keeps its own */
    CHECK(io_unmap(S, L4_IOFPAGE(0x3fc, 2), false));
    CHECK(io_allowed(T, 0x3f8) && !io_allowed(T, 0x3fc) && !io_allowed(T, 0x3ff));
    CHECK(io_allowed(S, 0x3fc));
    /* a grant: the sender loses the ports */
    CHECK(io_map(S, T, L4_IOFPAGE(0x60, 4), true));
    CHECK(io_allowed(T, 0x60) && !io_allowed(S, 0x60));
    /* T lacks 0x3fc now: cannot pass it on */
    CHECK(!io_map(T, S, L4_IOFPAGE(0x3f8, 3), false));
    io_teardown();
}

int main(void)
{
    check_prog = "fpage";
    RUN(test_encode_decode);
    RUN(test_valid_sizes);
    RUN(test_valid_alignment_and_limit);
    RUN(test_fpage_at_top_of_address_space_is_invalid);
    RUN(test_io_fpages);
    CHECK_EXIT();
}
