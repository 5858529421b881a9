/* The test runtime (see utest.h). */
#include "utest.h"

#define STACK_WORDS (16 * 1024 / 8)
#define MAX_UTHREADS 64
static uint64_t stacks[MAX_UTHREADS][STACK_WORDS] __attribute__((aligned(16)));
extern char uthread_trampoline[];

void *umemset(void *d, int c, size_t n)
{
    unsigned char *p = d;
    while (n--)
        *p++ = (unsigned char)c;
    return d;
}

void *umemcpy(void *d, const void *s, size_t n)
{
    unsigned char *dp = d;
    const unsigned char *sp = s;
    while (n--)
        *dp++ = *sp++;
    return d;
}

/* gcc may emit calls to these. */
void *memset(void *d, int c, size_t n) { return umemset(d, c, n); }
void *memcpy(void *d, const void *s, size_t n) { return umemcpy(d, s, n); }

static void putc_(char c)
{
    l4_kdebug(L4_KDEBUG_PUTC, (unsigned char)c, 0, 0);
}

static void puts_(const char *s)
{
    while (*s)
        putc_(*s++);
}

static void num(uint64_t v, unsigned base, int width, char pad)
{
    char b[24];
    int n = 0;
    do {
        b[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    while (width-- > n)
        putc_(pad);
    while (n)
        putc_(b[--n]);
}

void uprintf(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    for (; *f; f++) {
        if (*f != '%') {
            putc_(*f);
            continue;
        }
        f++;
        char pad = ' ';
        int width = 0;
        if (*f == '0')
            pad = '0';
        while (*f >= '0' && *f <= '9')
            width = width * 10 + (*f++ - '0');
        bool lng = false;
        while (*f == 'l') {
            lng = true;
            f++;
        }
        switch (*f) {
        case 'd': {
            int64_t v = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
            if (v < 0) {
                putc_('-');
                v = -v;
            }
            num((uint64_t)v, 10, width, pad);
            break;
        }
        case 'u': num(lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 10, width, pad); break;
        case 'x': num(lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 16, width, pad); break;
        case 's': puts_(va_arg(ap, const char *)); break;
        case 'c': putc_((char)va_arg(ap, int)); break;
        default: putc_('%'); putc_(*f);
        }
    }
    va_end(ap);
}

static unsigned failures;

void utest_fail(const char *what, const char *file, int line)
{
    uprintf("  check failed: %s (%s:%d)\n", what, file, line);
    failures++;
}

/* Weak: a program without test cases (a benchmark) has no such section. */
extern const struct utest __start_utests[] __attribute__((weak));
extern const struct utest __stop_utests[] __attribute__((weak));

int utest_run(const char *suite)
{
    unsigned passed = 0, failed = 0;
    for (const struct utest *t = __start_utests; t < __stop_utests; t++) {
        failures = 0;
        t->fn();
        if (failures) {
            uprintf("FAIL %s.%s: %u checks failed\n", suite, t->name, failures);
            failed++;
        } else {
            uprintf("ok %s.%s\n", suite, t->name);
            passed++;
        }
    }
    uprintf("ktest: %u passed, %u failed\n", passed, failed);
    return failed ? 1 : 0;
}

void utest_exit(int code)
{
    l4_kdebug(L4_KDEBUG_EXIT, (uint64_t)code, 0, 0);
    for (;;)
        ;
}

uint64_t *uthread_stack_top(unsigned lthread)
{
    return &stacks[lthread][STACK_WORDS];
}

uint64_t uthread_start(unsigned lthread, void (*fn)(uint64_t), uint64_t arg)
{
    if (lthread == 0 || lthread >= MAX_UTHREADS)
        return 0;
    uint64_t *sp = uthread_stack_top(lthread);
    *--sp = 0;                  /* keeps rsp 16-aligned after the pops */
    *--sp = 0;
    *--sp = arg;
    *--sp = (uint64_t)fn;
    uint64_t id = 0;
    if (l4_lthread_ex_regs(lthread, (uint64_t)uthread_trampoline, (uint64_t)sp,
                           ~0ull, ~0ull, &id, 0) != L4_OK)
        return 0;
    return id;
}

void uthread_exit(void)
{
    struct l4_msg m = { 0 };
    for (;;)    /* receive from nil, forever */
        l4_ipc(L4_NILTHREAD, L4_NODESC, 0, 0, &m, 0);
}

uint64_t umyself_slow(void)
{
    uint64_t sp = (uint64_t)__builtin_frame_address(0);
    for (unsigned i = 1; i < MAX_UTHREADS; i++)
        if (sp >= (uint64_t)stacks[i] && sp < (uint64_t)&stacks[i][STACK_WORDS])
            return l4_myself(i);
    return l4_myself(0);
}

void upager_identity(uint64_t arg)
{
    (void)arg;
    struct l4_msg m = { 0 };
    uint64_t from;
    uint64_t r = l4_ipc(L4_NILTHREAD, L4_NODESC, L4_RCV_OPEN, 0, &m, &from);
    for (;;) {
        if (L4_IPC_ERR(r) || L4_TAG_LABEL(m.tag) != L4_LABEL_PAGEFAULT) {
            r = l4_ipc(L4_NILTHREAD, L4_NODESC, L4_RCV_OPEN, 0, &m, &from);
            continue;
        }
        uint64_t page = m.w[0] & ~0xfffull;
        m.w[0] = page | L4_ITEM_MAP;
        m.w[1] = L4_FPAGE(page, 12, L4_RWX);
        r = l4_ipc(from, L4_TAG(0, 0, 1), L4_RCV_OPEN, 0, &m, &from);
    }
}

uint16_t uto_us(uint64_t us)
{
    unsigned e = 0;
    while (us > 1023) {
        us = (us + 1) >> 1;
        e++;
    }
    return L4_TO(us ? us : 1, e);
}

void usleep_us(uint64_t us)
{
    struct l4_msg m = { 0 };
    l4_ipc(L4_NILTHREAD, L4_NODESC, 0, L4_TIMEOUTS(0, uto_us(us), 0, 0), &m, 0);
}
