/* A small vsnprintf: enough for kernel logs and panics. */
#include "fmt.h"

struct out {
    char *buf;
    size_t size, len;   /* len counts every byte, written or not */
};

static void put(struct out *o, char c)
{
    if (o->len + 1 < o->size)
        o->buf[o->len] = c;
    o->len++;
}

static void pad(struct out *o, int n, char c)
{
    while (n-- > 0)
        put(o, c);
}

/* Emits digits of v in base (10 or 16) with sign, width and padding. */
static void number(struct out *o, uint64_t v, bool neg, unsigned base, bool upper,
                   int width, bool left, bool zero)
{
    const char *dig = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = dig[v % base];
        v /= base;
    } while (v);
    int len = n + neg;
    if (!left && !zero)
        pad(o, width - len, ' ');
    if (neg)
        put(o, '-');
    if (!left && zero)
        pad(o, width - len, '0');
    while (n)
        put(o, tmp[--n]);
    if (left)
        pad(o, width - len, ' ');
}

int fmt_vformat(char *buf, size_t size, const char *f, va_list ap)
{
    struct out o = { buf, size, 0 };
    for (; *f; f++) {
        if (*f != '%') {
            put(&o, *f);
            continue;
        }
        f++;
        bool left = false, zero = false;
        for (;; f++) {
            if (*f == '-')
                left = true;
            else if (*f == '0')
                zero = true;
            else
                break;
        }
        int width = 0;
        while (*f >= '0' && *f <= '9')
            width = width * 10 + (*f++ - '0');
        int lng = 0;
        while (*f == 'l' || *f == 'z') {
            lng++;
            f++;
        }
        switch (*f) {
        case 'd':
        case 'i': {
            int64_t v = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
            number(&o, v < 0 ? -(uint64_t)v : (uint64_t)v, v < 0, 10, false, width, left, zero);
            break;
        }
        case 'u':
        case 'x':
        case 'X': {
            uint64_t v = lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned);
            number(&o, v, false, *f == 'u' ? 10 : 16, *f == 'X', width, left, zero);
            break;
        }
        case 'p':
            put(&o, '0');
            put(&o, 'x');
            number(&o, (uintptr_t)va_arg(ap, void *), false, 16, false, 16, false, true);
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            int n = 0;
            while (s[n])
                n++;
            if (!left)
                pad(&o, width - n, ' ');
            for (int i = 0; i < n; i++)
                put(&o, s[i]);
            if (left)
                pad(&o, width - n, ' ');
            break;
        }
        case 'c':
            put(&o, (char)va_arg(ap, int));
            break;
        case '%':
            put(&o, '%');
            break;
        case '\0':
            f--;
            break;
        default:            /* unknown conversion: show it as written */
            put(&o, '%');
            put(&o, *f);
            break;
        }
    }
    if (size)
        buf[o.len < size ? o.len : size - 1] = '\0';
    return (int)o.len;
}

int fmt_format(char *buf, size_t size, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    int n = fmt_vformat(buf, size, f, ap);
    va_end(ap);
    return n;
}
