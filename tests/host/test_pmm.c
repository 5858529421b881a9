/* Host tests for kernel/pmm.c: the bitmap frame allocator. */
#include "check.h"
#include "pmm.h"
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define KiB 0x400ull
#define MiB 0x100000ull
#define LIMIT (64 * MiB)
#define NFRAMES (LIMIT / PAGE_SIZE)     /* 16384 */

static struct pmm P;
static uint64_t *bits;

/* A fresh allocator over [0, limit), its bitmap allocated to the exact
 * size pmm_bitmap_bytes asks for (so ASan catches any overrun) and
 * filled with garbage that pmm_init must clear. */
static void setup(paddr_t limit)
{
    free(bits);
    size_t bytes = pmm_bitmap_bytes(limit);
    bits = malloc(bytes ? bytes : 1);
    memset(bits, 0xA5, bytes);
    pmm_init(&P, bits, limit);
}

static size_t count_free(void)
{
    size_t n = 0;
    for (paddr_t a = 0; a < (paddr_t)P.nframes << PAGE_SHIFT; a += PAGE_SIZE)
        n += pmm_is_free(&P, a);
    return n;
}

static void test_bitmap_bytes(void)
{
    CHECK_EQ(pmm_bitmap_bytes(LIMIT), 2048);            /* 16384 bits */
    CHECK_EQ(pmm_bitmap_bytes(0), 0);
    CHECK_EQ(pmm_bitmap_bytes(1), 8);                   /* one 64-bit word */
    CHECK_EQ(pmm_bitmap_bytes(64 * PAGE_SIZE), 8);
    CHECK_EQ(pmm_bitmap_bytes(64 * PAGE_SIZE + 1), 16);
    CHECK_EQ(pmm_bitmap_bytes(LIMIT + PAGE_SIZE), 2056);
    CHECK_EQ(pmm_bitmap_bytes(4096 * MiB), 131072);     /* 4 GiB: 128 KiB */
}

static void test_init_all_in_use(void)
{
    setup(LIMIT);
    CHECK_EQ(P.nfree, 0);
    CHECK_EQ(P.nframes, NFRAMES);
    CHECK_EQ(count_free(), 0);
    CHECK(!pmm_is_free(&P, 0));
    CHECK(!pmm_is_free(&P, 32 * MiB));
    CHECK(!pmm_is_free(&P, LIMIT - PAGE_SIZE));
    CHECK(!pmm_is_free(&P, LIMIT));                     /* beyond the end */
    CHECK_EQ(pmm_alloc(&P), 0);
    CHECK_EQ(pmm_alloc_contig(&P, 1, 0), 0);
    CHECK(!pmm_claim(&P, 1 * MiB, 1));
    CHECK_EQ(P.nfree, 0);
}

static void test_release_counts(void)
{
    setup(LIMIT);
    pmm_release(&P, 1 * MiB, 2 * MiB);
    CHECK_EQ(P.nfree, 256);
    CHECK(pmm_is_free(&P, 1 * MiB));
    CHECK(pmm_is_free(&P, 1 * MiB + 0x123));           /* any byte of a frame */
    CHECK(pmm_is_free(&P, 2 * MiB - PAGE_SIZE));
    CHECK(!pmm_is_free(&P, 1 * MiB - PAGE_SIZE));
    CHECK(!pmm_is_free(&P, 2 * MiB));

    /* unaligned: only whole frames inside count */
    pmm_release(&P, 0x300800, 0x303000);
    CHECK_EQ(P.nfree, 258);
    CHECK(!pmm_is_free(&P, 0x300000));
    CHECK(pmm_is_free(&P, 0x301000));
    CHECK(pmm_is_free(&P, 0x302000));
    CHECK(!pmm_is_free(&P, 0x303000));
    pmm_release(&P, 0x400001, 0x401fff);                /* no whole frame */
    CHECK_EQ(P.nfree, 258);
    pmm_release(&P, 0x500000, 0x500000);                /* empty */
    pmm_release(&P, 0x600000, 0x500000);                /* backwards */
    CHECK_EQ(P.nfree, 258);

    CHECK_EQ(count_free(), 258);
}

static void test_release_never_frees_frame0(void)
{
    setup(LIMIT);
    pmm_release(&P, 0, 64 * KiB);
    CHECK_EQ(P.nfree, 15);                              /* frames 1..15 */
    CHECK(!pmm_is_free(&P, 0));
    CHECK(pmm_is_free(&P, PAGE_SIZE));
    CHECK(pmm_is_free(&P, 15 * PAGE_SIZE));
    pmm_release(&P, 0, PAGE_SIZE);                      /* only frame 0 */
    CHECK_EQ(P.nfree, 15);
    CHECK(!pmm_is_free(&P, 0));
}

static void test_release_clipped_to_end(void)
{
    setup(LIMIT);
    pmm_release(&P, LIMIT - 64 * KiB, LIMIT + 16 * MiB);
    CHECK_EQ(P.nfree, 16);
    CHECK(pmm_is_free(&P, LIMIT - PAGE_SIZE));
    CHECK(!pmm_is_free(&P, LIMIT));
    pmm_release(&P, LIMIT, LIMIT + 16 * MiB);           /* wholly beyond */
    CHECK_EQ(P.nfree, 16);
    CHECK_EQ(count_free(), 16);
}

static void test_release_twice_counts_once(void)
{
    setup(LIMIT);
    pmm_release(&P, 1 * MiB, 2 * MiB);
    pmm_release(&P, 1 * MiB, 2 * MiB);
    CHECK_EQ(P.nfree, 256);
    pmm_release(&P, 0x180000, 0x280000);                /* half overlaps */
    CHECK_EQ(P.nfree, 256 + 128);
    CHECK_EQ(count_free(), 384);
}

static void test_alloc_until_exhausted(void)
{
    setup(LIMIT);
    /* 16 frames across a bitmap word boundary (frames 56..71) */
    pmm_release(&P, 56 * PAGE_SIZE, 72 * PAGE_SIZE);
    CHECK_EQ(P.nfree, 16);
    paddr_t got[16];
    for (int i = 0; i < 16; i++) {
        paddr_t a = pmm_alloc(&P);
        got[i] = a;
        CHECK(a != 0);
        CHECK_EQ(a % PAGE_SIZE, 0);
        CHECK(a >= 56 * PAGE_SIZE && a < 72 * PAGE_SIZE);
        CHECK(!pmm_is_free(&P, a));
        for (int j = 0; j < i; j++)
            CHECK(got[j] != a);
        CHECK_EQ(P.nfree, 15 - i);
    }
    CHECK_EQ(pmm_alloc(&P), 0);
    CHECK_EQ(pmm_alloc(&P), 0);
    CHECK_EQ(P.nfree, 0);
    CHECK_EQ(count_free(), 0);
}

static void test_alloc_whole_memory(void)
{
    /* Every frame but 0, for a limit that is not a multiple of 64 frames */
    setup(100 * PAGE_SIZE);
    CHECK_EQ(P.nframes, 100);
    pmm_release(&P, 0, 1 * MiB);                        /* clipped to 100 */
    CHECK_EQ(P.nfree, 99);
    static bool seen[100];
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < 99; i++) {
        paddr_t a = pmm_alloc(&P);
        CHECK(a != 0 && a % PAGE_SIZE == 0 && a < 100 * PAGE_SIZE);
        if (a && a < 100 * PAGE_SIZE) {
            CHECK(!seen[a / PAGE_SIZE]);
            seen[a / PAGE_SIZE] = true;
        }
    }
    CHECK_EQ(pmm_alloc(&P), 0);
    CHECK_EQ(P.nfree, 0);
}

static void test_free_gives_back(void)
{
    setup(LIMIT);
    pmm_release(&P, 1 * MiB, 2 * MiB);
    size_t n0 = P.nfree;
    paddr_t a = pmm_alloc(&P), b = pmm_alloc(&P);
    CHECK_EQ(P.nfree, n0 - 2);
    pmm_free(&P, a, 1);
    CHECK_EQ(P.nfree, n0 - 1);
    CHECK(pmm_is_free(&P, a));
    CHECK(!pmm_is_free(&P, b));
    pmm_free(&P, b, 1);
    CHECK_EQ(P.nfree, n0);
    CHECK_EQ(count_free(), n0);

    /* a freed frame is handed out again, even one below earlier allocations */
    while (pmm_alloc(&P))
        ;
    CHECK_EQ(P.nfree, 0);
    pmm_free(&P, 1 * MiB, 1);
    CHECK_EQ(pmm_alloc(&P), 1 * MiB);
    pmm_free(&P, 2 * MiB - PAGE_SIZE, 1);
    CHECK_EQ(pmm_alloc(&P), 2 * MiB - PAGE_SIZE);
    CHECK_EQ(pmm_alloc(&P), 0);

    /* several frames at once */
    pmm_free(&P, 0x140000, 8);
    CHECK_EQ(P.nfree, 8);
    for (int i = 0; i < 8; i++)
        CHECK(pmm_is_free(&P, 0x140000 + i * PAGE_SIZE));
    CHECK(!pmm_is_free(&P, 0x148000));
    CHECK(!pmm_is_free(&P, 0x13f000));
}

static void check_run_taken(paddr_t a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        CHECK(!pmm_is_free(&P, a + i * PAGE_SIZE));
}

static void test_alloc_contig_aligned(void)
{
    setup(LIMIT);
    pmm_release(&P, 0x101000, 8 * MiB);         /* starts off 2 MiB alignment */
    size_t n0 = P.nfree;
    CHECK_EQ(n0, 0x6ff);                        /* frames 0x101..0x7ff */

    paddr_t a = pmm_alloc_contig(&P, 512, 2 * MiB);
    CHECK_EQ(a, 2 * MiB);                       /* the first aligned run */
    CHECK_EQ(a % (2 * MiB), 0);
    CHECK_EQ(P.nfree, n0 - 512);
    check_run_taken(a, 512);
    CHECK(pmm_is_free(&P, a - PAGE_SIZE));      /* neighbours untouched */
    CHECK(pmm_is_free(&P, a + 2 * MiB));

    CHECK_EQ(pmm_alloc_contig(&P, 512, 2 * MiB), 4 * MiB);
    CHECK_EQ(pmm_alloc_contig(&P, 512, 2 * MiB), 6 * MiB);
    size_t n1 = P.nfree;
    CHECK_EQ(n1, n0 - 3 * 512);
    /* [1 MiB + 4 KiB, 2 MiB) is free but not a whole aligned 2 MiB run */
    CHECK_EQ(pmm_alloc_contig(&P, 512, 2 * MiB), 0);
    CHECK_EQ(P.nfree, n1);
    /* a smaller alignment fits there */
    paddr_t b = pmm_alloc_contig(&P, 16, 64 * KiB);
    CHECK(b != 0);
    CHECK_EQ(b % (64 * KiB), 0);
    CHECK(b >= 0x101000 && b + 16 * PAGE_SIZE <= 2 * MiB);
    check_run_taken(b, 16);
    CHECK_EQ(P.nfree, n1 - 16);
    CHECK_EQ(count_free(), n1 - 16);
}

static void test_alloc_contig_skips_holes(void)
{
    setup(LIMIT);
    pmm_release(&P, 1 * MiB, 1 * MiB + 64 * KiB);      /* frames 256..271 */
    CHECK(pmm_claim(&P, 1 * MiB + 4 * PAGE_SIZE, 1)); /* a hole at frame 260 */
    paddr_t a = pmm_alloc_contig(&P, 8, 0);
    CHECK_EQ(a, 1 * MiB + 5 * PAGE_SIZE);              /* the first run of 8 */
    check_run_taken(a, 8);
    CHECK_EQ(P.nfree, 16 - 1 - 8);
    /* left: frames 256..259 and 269..271: no run of 5 */
    CHECK_EQ(pmm_alloc_contig(&P, 5, PAGE_SIZE), 0);
    CHECK_EQ(P.nfree, 7);
    CHECK_EQ(pmm_alloc_contig(&P, 4, PAGE_SIZE), 1 * MiB);
    CHECK_EQ(pmm_alloc_contig(&P, 3, 0), 1 * MiB + 13 * PAGE_SIZE);
    CHECK_EQ(P.nfree, 0);
}

static void test_alloc_contig_impossible(void)
{
    setup(LIMIT);
    /* every other frame free: lots of memory, no run of two */
    for (paddr_t a = 1 * MiB; a < 2 * MiB; a += 2 * PAGE_SIZE)
        pmm_release(&P, a, a + PAGE_SIZE);
    CHECK_EQ(P.nfree, 128);
    CHECK_EQ(pmm_alloc_contig(&P, 2, 0), 0);
    CHECK_EQ(pmm_alloc_contig(&P, 0, 0), 0);            /* nothing asked */
    CHECK_EQ(pmm_alloc_contig(&P, 129, 0), 0);          /* more than free */
    CHECK_EQ(pmm_alloc_contig(&P, NFRAMES + 1, 0), 0);  /* more than exists */
    CHECK_EQ(P.nfree, 128);
    CHECK_EQ(count_free(), 128);
    CHECK_EQ(pmm_alloc_contig(&P, 1, 0), 1 * MiB);      /* one frame is fine */
}

static void test_alloc_contig_at_end(void)
{
    setup(LIMIT);
    pmm_release(&P, LIMIT - 2 * MiB, LIMIT);            /* the last 2 MiB */
    paddr_t a = pmm_alloc_contig(&P, 512, 2 * MiB);
    CHECK_EQ(a, LIMIT - 2 * MiB);
    check_run_taken(a, 512);
    CHECK_EQ(P.nfree, 0);

    setup(LIMIT);
    pmm_release(&P, LIMIT - 1 * MiB, LIMIT);            /* too short a tail */
    CHECK_EQ(pmm_alloc_contig(&P, 257, 0), 0);
    CHECK_EQ(pmm_alloc_contig(&P, 256, 0), LIMIT - 1 * MiB);
}

static void test_next(void)
{
    setup(LIMIT);
    CHECK_EQ(pmm_next(&P, 0, true), NFRAMES);           /* none free */
    CHECK_EQ(pmm_next(&P, 5, false), 5);
    pmm_release(&P, 60 * PAGE_SIZE, 200 * PAGE_SIZE);   /* frames 60..199, three words */
    CHECK_EQ(pmm_next(&P, 0, true), 60);
    CHECK_EQ(pmm_next(&P, 60, true), 60);
    CHECK_EQ(pmm_next(&P, 130, true), 130);
    CHECK_EQ(pmm_next(&P, 60, false), 200);
    CHECK_EQ(pmm_next(&P, 199, false), 200);
    CHECK_EQ(pmm_next(&P, 200, true), NFRAMES);
    pmm_release(&P, LIMIT - 3 * PAGE_SIZE, LIMIT);      /* the last three */
    CHECK_EQ(pmm_next(&P, 200, true), NFRAMES - 3);
    CHECK_EQ(pmm_next(&P, NFRAMES - 3, false), NFRAMES); /* the end, not past it */
    CHECK_EQ(pmm_next(&P, NFRAMES, true), NFRAMES);
    CHECK_EQ(pmm_next(&P, NFRAMES + 100, false), NFRAMES);
    setup(100 * PAGE_SIZE);                             /* a last word half used */
    pmm_release(&P, 0, 100 * PAGE_SIZE);
    CHECK_EQ(pmm_next(&P, 1, false), 100);
    CHECK_EQ(pmm_next(&P, 0, false), 0);                /* frame 0 is never free */
}

static void test_claim(void)
{
    setup(LIMIT);
    pmm_release(&P, 1 * MiB, 2 * MiB);
    CHECK(pmm_claim(&P, 0x150000, 4));
    CHECK_EQ(P.nfree, 252);
    check_run_taken(0x150000, 4);
    CHECK(pmm_is_free(&P, 0x14f000));
    CHECK(pmm_is_free(&P, 0x154000));

    /* any frame in use: fails and takes nothing */
    CHECK(!pmm_claim(&P, 0x150000, 1));
    CHECK(!pmm_claim(&P, 0x14e000, 4));         /* last two are taken */
    CHECK(pmm_is_free(&P, 0x14e000));
    CHECK(pmm_is_free(&P, 0x14f000));
    CHECK(!pmm_claim(&P, 0x153000, 3));         /* first one is taken */
    CHECK(pmm_is_free(&P, 0x154000));
    CHECK(pmm_is_free(&P, 0x155000));
    CHECK(!pmm_claim(&P, 0xff000, 2));          /* first one never released */
    CHECK(pmm_is_free(&P, 1 * MiB));
    CHECK_EQ(P.nfree, 252);

    /* misaligned, frame 0 */
    CHECK(!pmm_claim(&P, 0x160800, 1));
    CHECK(pmm_is_free(&P, 0x160000));
    CHECK(pmm_is_free(&P, 0x161000));
    CHECK(!pmm_claim(&P, 0, 1));
    CHECK_EQ(P.nfree, 252);
    CHECK_EQ(count_free(), 252);
}

static void test_claim_end(void)
{
    setup(LIMIT);
    pmm_release(&P, LIMIT - 64 * KiB, LIMIT);
    CHECK(!pmm_claim(&P, LIMIT - PAGE_SIZE, 2));        /* runs off the end */
    CHECK(!pmm_claim(&P, LIMIT, 1));
    CHECK(!pmm_claim(&P, LIMIT - PAGE_SIZE, SIZE_MAX));  /* would wrap */
    CHECK_EQ(P.nfree, 16);
    CHECK(pmm_is_free(&P, LIMIT - PAGE_SIZE));
    CHECK(pmm_claim(&P, LIMIT - 2 * PAGE_SIZE, 2));     /* up to the end: fine */
    CHECK_EQ(P.nfree, 14);
    CHECK(!pmm_is_free(&P, LIMIT - PAGE_SIZE));
    CHECK(!pmm_is_free(&P, LIMIT - 2 * PAGE_SIZE));
}

static void test_claim_then_free(void)
{
    setup(LIMIT);
    pmm_release(&P, 1 * MiB, 2 * MiB);
    CHECK(pmm_claim(&P, 1 * MiB, 256));         /* everything */
    CHECK_EQ(P.nfree, 0);
    CHECK_EQ(pmm_alloc(&P), 0);
    pmm_free(&P, 1 * MiB, 256);
    CHECK_EQ(P.nfree, 256);
    CHECK_EQ(count_free(), 256);
}

/* A simple reference model, compared with the allocator after random
 * operations: is_free, nfree and every result must agree with it. */
#define MF 1024                                 /* frames: 4 MiB */
static bool model[MF];

static size_t model_free(void)
{
    size_t n = 0;
    for (size_t f = 0; f < MF; f++)
        n += model[f];
    return n;
}

static bool model_run_free(size_t f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (f + i >= MF || !model[f + i])
            return false;
    return true;
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(uint64_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng % n;
}

static void test_against_model(void)
{
    setup(MF * PAGE_SIZE);
    memset(model, 0, sizeof model);
    int bad = 0;
    for (int step = 0; step < 4000 && !bad; step++) {
        switch (rnd(6)) {
        case 0: {                               /* release a range */
            paddr_t s = rnd(MF * PAGE_SIZE + 8192), e = s + rnd(64 * PAGE_SIZE);
            pmm_release(&P, s, e);
            for (size_t f = (s + PAGE_SIZE - 1) / PAGE_SIZE; f < e / PAGE_SIZE && f < MF; f++)
                if (f)
                    model[f] = true;
            break;
        }
        case 1:
        case 2: {                               /* one frame */
            paddr_t a = pmm_alloc(&P);
            if (a) {
                bad |= a % PAGE_SIZE || a / PAGE_SIZE >= MF || !model[a / PAGE_SIZE];
                if (!bad)
                    model[a / PAGE_SIZE] = false;
            } else {
                bad |= model_free() != 0;
            }
            break;
        }
        case 3: {                               /* free something taken */
            size_t f = 1 + rnd(MF - 1), n = 1;
            while (f + n < MF && n < 8 && !model[f + n])
                n++;
            if (!model[f]) {
                pmm_free(&P, (paddr_t)f * PAGE_SIZE, n);
                for (size_t i = 0; i < n; i++)
                    model[f + i] = true;
            }
            break;
        }
        case 4: {                               /* a contiguous run */
            size_t n = 1 + rnd(12), step_f = (size_t)1 << rnd(5);
            paddr_t a = pmm_alloc_contig(&P, n, step_f * PAGE_SIZE);
            if (a) {
                size_t f = a / PAGE_SIZE;
                bad |= a % (step_f * PAGE_SIZE) || !model_run_free(f, n);
                if (!bad)
                    for (size_t i = 0; i < n; i++)
                        model[f + i] = false;
            } else {
                for (size_t f = step_f; f + n <= MF && !bad; f += step_f)
                    bad |= model_run_free(f, n);
            }
            break;
        }
        case 5: {                               /* claim */
            size_t f = rnd(MF + 4), n = 1 + rnd(6);
            bool want = f != 0 && model_run_free(f, n);
            bool got = pmm_claim(&P, (paddr_t)f * PAGE_SIZE, n);
            bad |= got != want;
            if (got && want)
                for (size_t i = 0; i < n; i++)
                    model[f + i] = false;
            break;
        }
        }
        bad |= P.nfree != model_free();
        if (step % 64 == 0)
            for (size_t f = 0; f < MF + 2; f++)
                bad |= pmm_is_free(&P, (paddr_t)f * PAGE_SIZE) != (f < MF && model[f]);
        for (int k = 0; k < 4; k++) {           /* pmm_next from anywhere, both ways */
            size_t f = rnd(MF + 70), want_free = rnd(2), g = f;
            while (g < MF && model[g] != (bool)want_free)
                g++;
            bad |= pmm_next(&P, f, want_free) != MIN(g, (size_t)MF);
        }
        if (bad)
            printf("  model mismatch at step %d\n", step);
    }
    CHECK(!bad);
    CHECK(P.nfree > 0);                         /* the run did something */
}

/* Runs fn in a child with its output discarded; returns its exit status
 * (or -1 if it did not exit normally). */
static int in_child(void (*fn)(void))
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
            _exit(3);
        fn();
        exit(0);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

static void double_free(void)
{
    setup(LIMIT);
    pmm_release(&P, 1 * MiB, 2 * MiB);
    paddr_t a = pmm_alloc(&P);
    pmm_free(&P, a, 1);
    pmm_free(&P, a, 1);
}

static void free_of_free_frame(void)
{
    setup(LIMIT);
    pmm_release(&P, 1 * MiB, 2 * MiB);
    pmm_free(&P, 1 * MiB + 8 * PAGE_SIZE, 1);
}

static void free_frame0(void)
{
    setup(LIMIT);
    pmm_free(&P, 0, 1);
}

static void free_beyond_end(void)
{
    setup(LIMIT);
    pmm_free(&P, LIMIT - PAGE_SIZE, 2);
}

static void free_misaligned(void)
{
    setup(LIMIT);
    pmm_free(&P, 1 * MiB + 0x800, 1);
}

static void free_once(void)
{
    setup(LIMIT);
    pmm_release(&P, 1 * MiB, 2 * MiB);
    pmm_free(&P, pmm_alloc(&P), 1);
}

static void test_bad_free_panics(void)
{
    CHECK_EQ(in_child(free_once), 0);           /* the control case */
    CHECK_EQ(in_child(double_free), 2);
    CHECK_EQ(in_child(free_of_free_frame), 2);
    CHECK_EQ(in_child(free_frame0), 2);
    CHECK_EQ(in_child(free_beyond_end), 2);
    CHECK_EQ(in_child(free_misaligned), 2);
}

int main(void)
{
    check_prog = "pmm";
    setvbuf(stdout, NULL, _IOLBF, 0);  /* keep the lines if a case crashes */
    RUN(test_bitmap_bytes);
    RUN(test_init_all_in_use);
    RUN(test_release_counts);
    RUN(test_release_never_frees_frame0);
    RUN(test_release_clipped_to_end);
    RUN(test_release_twice_counts_once);
    RUN(test_alloc_until_exhausted);
    RUN(test_alloc_whole_memory);
    RUN(test_free_gives_back);
    RUN(test_alloc_contig_aligned);
    RUN(test_alloc_contig_skips_holes);
    RUN(test_alloc_contig_impossible);
    RUN(test_alloc_contig_at_end);
    RUN(test_next);
    RUN(test_claim);
    RUN(test_claim_end);
    RUN(test_claim_then_free);
    RUN(test_against_model);
    RUN(test_bad_free_panics);
    free(bits);
    CHECK_EXIT();
}
