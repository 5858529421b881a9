/* Host tests of the timeout encoding (abi.md "Timeouts": 16 bits, m in
 * bits 0..9, e in 10..15; 0 never, m = 0 zero, else m * 2^e us): encoded
 * by bindings/l4.c (l4b_timeout_ms, as every Lua binding does) and decoded
 * by kernel/sched.c (sched_timeout_is_zero, sched_set_timeout), the real
 * code of both. They must agree: the kernel waits at least what the
 * script asked, rounded up by less than 1/512; a field with e >= 40 (more
 * than 1023 * 2^39 us, 17.8 years) the kernel reads as its cap, 2^50 us
 * (35.7 years), so longer times are cut to that. */
#include "check.h"
#include "l4b.h"
#include "sched.h"

#include <math.h>
#include <setjmp.h>
#include <stdlib.h>

extern jmp_buf timeout_arg_error;
extern const char *timeout_arg_message;

#define CAP (1ull << 50)

/* The microseconds the kernel arms for field to (0: never). */
static uint64_t decode(uint16_t to)
{
    struct thread t = { .state = TS_RECV_WAIT };   /* only a wait times out */
    sched_now_us = 1000;
    sched_set_timeout(&t, to);
    uint64_t us = t.deadline_us ? t.deadline_us - sched_now_us : 0;
    sched_cancel_timeout(&t);
    return us;
}

static uint16_t encode(double ms)
{
    return l4b_timeout_ms(NULL, 1, ms);
}

static void test_zero_and_never(void)
{
    CHECK_EQ(encode(0), L4_TO_ZERO);
    CHECK(sched_timeout_is_zero(encode(0)));
    CHECK(sched_timeout_is_zero(L4_TO_ZERO));
    CHECK(!sched_timeout_is_zero(L4_TO_NEVER));
    CHECK_EQ(decode(L4_TO_NEVER), 0);
    CHECK_EQ(encode(INFINITY), L4_TO_NEVER);
    CHECK_EQ(encode(1e16), L4_TO_NEVER);            /* beyond 290,000 years */
    /* every zero (m = 0, e = 1..63) is zero and arms nothing */
    for (unsigned e = 1; e < 64; e++) {
        CHECK(sched_timeout_is_zero(L4_TO(0, e)));
        CHECK_EQ(decode(L4_TO(0, e)), 0);
    }
    /* the smallest positive times are not zero */
    CHECK(!sched_timeout_is_zero(encode(1e-9)));
    CHECK_EQ(decode(encode(1e-9)), 1);
    CHECK_EQ(decode(encode(0.001)), 1);
}

/* The kernel's reading of every 16-bit field. */
static void test_decode_all_fields(void)
{
    for (unsigned to = 0; to < 65536; to++) {
        unsigned m = to & 0x3ff, e = to >> 10;
        uint64_t want = m == 0 ? 0 : e >= 40 ? CAP : (uint64_t)m << e;
        CHECK_EQ(decode((uint16_t)to), want);
    }
}

/* ms -> encode -> decode waits at least ms (rounded up to whole us), and
 * less than 1/512 more; exact up to 1023 us. */
static unsigned agree(double ms)
{
    uint64_t want = (uint64_t)ceil(ms * 1000);
    uint16_t to = encode(ms);
    uint64_t got = decode(to);
    unsigned m = to & 0x3ff, e = to >> 10;
    if (want == 0)
        return to == L4_TO_ZERO ? 0 : 1;
    if (getenv("TIMEOUT_DEBUG"))
        printf("ms %.17g want %llu to m %u e %u got %llu\n", ms, (unsigned long long)want, m, e,
               (unsigned long long)got);
    if (m == 0 || got < MIN(want, CAP))
        return 1;
    if (want <= 1023 && (got != want || e != 0))
        return 1;
    if (e < 40 && got - want > want / 512)     /* e >= 40: the kernel's cap */
        return 1;
    return 0;
}

static void test_round_trip(void)
{
    unsigned bad = 0;
    for (uint64_t us = 0; us <= (1u << 20); us++)       /* every us to ~1 s */
        bad += agree(us / 1024.0 * 1.024);
    for (uint64_t k = 1; k <= 100000; k++)              /* whole and half ms */
        bad += agree((double)k) + agree(k + 0.5);
    for (unsigned e = 0; e < 63; e++) {                 /* around every power of two */
        double us = ldexp(1, (int)e);
        bad += agree((us - 1) / 1000) + agree(us / 1000) + agree((us + 1) / 1000);
    }
    uint64_t x = 88172645463325252ull;
    for (unsigned i = 0; i < 200000; i++) {             /* random, 1 us to 290,000 years */
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        bad += agree(ldexp((double)(x >> 11), -(int)(x % 53)) / 1000);
    }
    CHECK_EQ(bad, 0);
}

/* Rounding goes up, never down, at the points where m overflows. */
static void test_rounding_up(void)
{
    CHECK_EQ(encode(1.023), L4_TO(1023, 0));
    CHECK_EQ(encode(1.024), L4_TO(512, 1));
    CHECK_EQ(encode(1.025), L4_TO(513, 1));         /* 1025 us: 1026 */
    CHECK_EQ(decode(encode(2.047)), 2048);
    CHECK_EQ(decode(encode(1.0001)), 1001);         /* 1000.1 us: 1001 */
    CHECK_EQ(decode(encode(1000)), 1000448);        /* 1 s: 977 * 2^10 */
}

static void test_bad_arguments(void)
{
    double bad[] = { -1, -1e-9, NAN, -INFINITY };
    for (volatile unsigned i = 0; i < 4; i++) {
        timeout_arg_message = NULL;
        if (!setjmp(timeout_arg_error))
            encode(bad[i]);
        CHECK(timeout_arg_message != NULL);
    }
}

int main(void)
{
    check_prog = "timeout";
    RUN(test_zero_and_never);
    RUN(test_decode_all_fields);
    RUN(test_round_trip);
    RUN(test_rounding_up);
    RUN(test_bad_arguments);
    CHECK_EXIT();
}
