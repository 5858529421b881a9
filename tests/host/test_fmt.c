/* Host tests for kernel/fmt.c: the kernel's small vsnprintf. */
#include "check.h"
#include "fmt.h"
#include <limits.h>
#include <stdint.h>
#include <string.h>

/* Compares a formatted buffer with the expected text, showing both. */
#define CHECK_STR(got, want)                                                \
    do {                                                                    \
        const char *g_ = (got), *w_ = (want);                               \
        if (strcmp(g_, w_) != 0) {                                          \
            printf("  check failed: %s == \"%s\" (got \"%s\") (%s:%d)\n",   \
                   #got, w_, g_, __FILE__, __LINE__);                       \
            check_case_failed = 1;                                          \
        }                                                                   \
    } while (0)

/* Like fmt_format but without the printf attribute, so that formats the
 * compiler would reject (unknown conversions, NULL for %s) can be given. */
static int fmt_raw(char *buf, size_t size, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    int n = fmt_vformat(buf, size, f, ap);
    va_end(ap);
    return n;
}

/* Formats into a 128-byte buffer, checks text and returned length. */
#define EXPECT(want, ...)                                                   \
    do {                                                                    \
        char b_[128];                                                       \
        memset(b_, 'Z', sizeof b_);                                         \
        int n_ = fmt_format(b_, sizeof b_, __VA_ARGS__);                    \
        CHECK_STR(b_, want);                                                \
        CHECK_EQ(n_, strlen(want));                                         \
    } while (0)

#define EXPECT_RAW(want, ...)                                               \
    do {                                                                    \
        char b_[128];                                                       \
        memset(b_, 'Z', sizeof b_);                                         \
        int n_ = fmt_raw(b_, sizeof b_, __VA_ARGS__);                       \
        CHECK_STR(b_, want);                                                \
        CHECK_EQ(n_, strlen(want));                                         \
    } while (0)

static void test_plain_text(void)
{
    EXPECT("hello", "hello");
    EXPECT("", "%s", "");
    EXPECT("a b\tc\n", "a b\tc\n");
}

static void test_signed_decimal(void)
{
    EXPECT("0", "%d", 0);
    EXPECT("42", "%d", 42);
    EXPECT("-42", "%d", -42);
    EXPECT("-1", "%i", -1);
    EXPECT("2147483647", "%d", INT_MAX);
    EXPECT("-2147483648", "%d", INT_MIN);
    EXPECT("-9223372036854775808", "%ld", (long)INT64_MIN);
    EXPECT("9223372036854775807", "%ld", (long)INT64_MAX);
    EXPECT("-9223372036854775808", "%lld", (long long)INT64_MIN);
    EXPECT("-5000000000", "%ld", -5000000000L);
    EXPECT("x=-7,y=8", "x=%d,y=%d", -7, 8);
}

static void test_unsigned_decimal(void)
{
    EXPECT("0", "%u", 0u);
    EXPECT("4294967295", "%u", UINT_MAX);
    EXPECT("18446744073709551615", "%lu", (unsigned long)UINT64_MAX);
    EXPECT("12345678901234", "%lu", 12345678901234UL);
    EXPECT("4096", "%zu", (size_t)4096);
    /* %u of a negative int is its 32-bit pattern, not sign-extended */
    EXPECT("4294967295", "%u", (unsigned)-1);
}

static void test_hex(void)
{
    EXPECT("0", "%x", 0u);
    EXPECT("deadbeef", "%x", 0xdeadbeefu);
    EXPECT("DEADBEEF", "%X", 0xdeadbeefu);
    EXPECT("ffffffff", "%x", 0xffffffffu);
    EXPECT("123456789abcdef0", "%lx", 0x123456789abcdef0UL);
    EXPECT("123456789ABCDEF0", "%lX", 0x123456789abcdef0UL);
    EXPECT("ffffffffffffffff", "%lx", (unsigned long)UINT64_MAX);
    EXPECT("ffff800000000000", "%lx", 0xffff800000000000UL);
    EXPECT("a", "%x", 10u);
}

static void test_zero_padding(void)
{
    EXPECT("0000000000001234", "%016lx", 0x1234UL);
    EXPECT("ffff800000001000", "%016lx", 0xffff800000001000UL);
    EXPECT("0000000000000000", "%016lx", 0UL);
    EXPECT("000000ff", "%08x", 0xffu);
    EXPECT("00042", "%05d", 42);
    EXPECT("-0042", "%05d", -42);
    EXPECT("12345", "%03d", 12345);     /* width below the length: no cut */
    EXPECT_RAW("42   |", "%-05d|", 42);     /* '-' overrides '0' */
}

static void test_width(void)
{
    EXPECT("     abc", "%8s", "abc");
    EXPECT("abc     ", "%-8s", "abc");
    EXPECT("[abcdefghij]", "[%8s]", "abcdefghij");
    EXPECT("[abcdefghij]", "[%-8s]", "abcdefghij");
    EXPECT("    42", "%6d", 42);
    EXPECT("   -42", "%6d", -42);
    EXPECT("-42   |", "%-6d|", -42);
    EXPECT("    ff", "%6x", 0xffu);
    EXPECT("1024      bytes", "%-10lu" "bytes", 1024UL);
}

static void test_char_and_percent(void)
{
    EXPECT("x", "%c", 'x');
    EXPECT("abc", "%c%c%c", 'a', 'b', 'c');
    EXPECT("a%b", "a%%b");
    EXPECT("100%", "100%%");
    EXPECT("%%", "%%%%");
    EXPECT("5% of 7", "%d%% of %d", 5, 7);
}

static void test_pointer(void)
{
    EXPECT("0x0000000000001234", "%p", (void *)0x1234);
    EXPECT("0x0000000000000000", "%p", (void *)0);
    EXPECT("0xffff800000000000", "%p", (void *)0xffff800000000000UL);
    EXPECT("0xdeadbeefcafebabe", "%p", (void *)0xdeadbeefcafebabeUL);
    EXPECT("[0x00000000000000ff]", "[%p]", (void *)0xff);
}

static void test_null_string(void)
{
    EXPECT_RAW("(null)", "%s", (const char *)NULL);
    EXPECT_RAW("[  (null)]", "[%8s]", (const char *)NULL);
    EXPECT_RAW("(null)=1", "%s=%d", (const char *)NULL, 1);
}

static void test_truncation(void)
{
    char b[16];

    /* room for 7 characters and the NUL; the rest stays untouched */
    memset(b, 'Z', sizeof b);
    int n = fmt_format(b, 8, "hello, %s", "world");
    CHECK_EQ(n, 12);
    CHECK_STR(b, "hello, ");
    CHECK_EQ(b[7], '\0');
    for (int i = 8; i < 16; i++)
        CHECK_EQ(b[i], 'Z');

    /* a number cut in the middle */
    memset(b, 'Z', sizeof b);
    n = fmt_format(b, 4, "%d", -123456);
    CHECK_EQ(n, 7);
    CHECK_STR(b, "-12");
    CHECK_EQ(b[4], 'Z');

    /* padding counts too */
    memset(b, 'Z', sizeof b);
    n = fmt_format(b, 5, "%016lx", 0xabUL);
    CHECK_EQ(n, 16);
    CHECK_STR(b, "0000");

    /* size 1: only the NUL */
    memset(b, 'Z', sizeof b);
    n = fmt_format(b, 1, "abc");
    CHECK_EQ(n, 3);
    CHECK_EQ(b[0], '\0');
    CHECK_EQ(b[1], 'Z');

    /* exactly fitting: size = length + 1 */
    memset(b, 'Z', sizeof b);
    n = fmt_format(b, 4, "abc");
    CHECK_EQ(n, 3);
    CHECK_STR(b, "abc");
    CHECK_EQ(b[4], 'Z');

    /* one short: the last character gives way to the NUL */
    memset(b, 'Z', sizeof b);
    n = fmt_format(b, 3, "abc");
    CHECK_EQ(n, 3);
    CHECK_STR(b, "ab");
}

static void test_size_zero(void)
{
    char b[8];
    memset(b, 'Z', sizeof b);
    int n = fmt_format(b, 0, "hello %d", 12);
    CHECK_EQ(n, 8);
    for (int i = 0; i < 8; i++)
        CHECK_EQ(b[i], 'Z');
    /* as with snprintf, a NULL buffer of size 0 only measures */
    CHECK_EQ(fmt_format(NULL, 0, "%s-%lx", "abc", 0x1000UL), 8);
}

static void test_unknown_conversion(void)
{
    EXPECT_RAW("a%yb", "a%yb");
    EXPECT_RAW("%q", "%q");
    /* an unknown conversion takes no argument: the next one is intact */
    EXPECT_RAW("%y 7 x", "%y %d %s", 7, "x");
}

static void test_vformat_mixed(void)
{
    char b[128];
    int n = fmt_raw(b, sizeof b, "%s: %d frames at %p (%08x) %c%%", "pmm", -3,
                    (void *)0x200000, 0x1fu, '!');
    const char *want = "pmm: -3 frames at 0x0000000000200000 (0000001f) !%";
    CHECK_STR(b, want);
    CHECK_EQ(n, strlen(want));
}

int main(void)
{
    check_prog = "fmt";
    setvbuf(stdout, NULL, _IOLBF, 0);  /* keep the lines if a case crashes */
    RUN(test_plain_text);
    RUN(test_signed_decimal);
    RUN(test_unsigned_decimal);
    RUN(test_hex);
    RUN(test_zero_padding);
    RUN(test_width);
    RUN(test_char_and_percent);
    RUN(test_pointer);
    RUN(test_null_string);
    RUN(test_truncation);
    RUN(test_size_zero);
    RUN(test_unknown_conversion);
    RUN(test_vformat_mixed);
    CHECK_EXIT();
}
