/* Time: the KIP clock (microseconds since boot, ticked by the kernel) plus
 * the wall-clock time at boot, read once from the CMOS RTC through ports
 * 0x70-0x71 that sigma0 hands out. Without them (no sigma0, or the ports
 * taken) the wall clock counts from boot: os.time() is then small. The
 * RTC is taken to hold UTC (QEMU's default). A Lua task does not touch
 * the RTC: it takes the root's time of boot from its spawn block. */
#include "rt.h"
#include "l4/syscalls.h"

#define CMOS_INDEX 0x70
#define CMOS_DATA  0x71

static uint64_t boot_epoch_us;      /* wall-clock time when clock_us was 0 */

static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static uint8_t cmos(uint8_t reg)
{
    outb(CMOS_INDEX, reg);
    return inb(CMOS_DATA);
}

struct rtc {
    unsigned sec, min, hour, day, mon, year, century;
};

/* One snapshot, taken outside an update cycle (register A bit 7). */
static void rtc_read(struct rtc *t)
{
    while (cmos(0x0a) & 0x80)
        ;
    t->sec = cmos(0x00);
    t->min = cmos(0x02);
    t->hour = cmos(0x04);
    t->day = cmos(0x07);
    t->mon = cmos(0x08);
    t->year = cmos(0x09);
    t->century = cmos(0x32);    /* the ACPI century register; PCs and QEMU have it */
}

static unsigned bcd(unsigned v)
{
    return (v >> 4) * 10 + (v & 15);
}

static int leap(unsigned y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Seconds since 1970 of a UTC date; years before 1970 are not expected. */
static uint64_t epoch_seconds(unsigned y, unsigned mon, unsigned day, unsigned h,
                              unsigned m, unsigned s)
{
    static const unsigned before[12] = { 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334 };
    uint64_t days = 0;
    for (unsigned i = 1970; i < y; i++)
        days += 365 + leap(i);
    days += before[mon - 1] + (mon > 2 && leap(y)) + day - 1;
    return ((days * 24 + h) * 60 + m) * 60 + s;
}

/* The RTC's time in seconds since 1970, or 0 if it makes no sense. */
static uint64_t rtc_now(void)
{
    struct rtc a, b;
    rtc_read(&b);
    do {            /* two equal snapshots: no update came between reads */
        a = b;
        rtc_read(&b);
    } while (a.sec != b.sec || a.min != b.min || a.hour != b.hour || a.day != b.day ||
             a.mon != b.mon || a.year != b.year || a.century != b.century);
    uint8_t regb = cmos(0x0b);
    unsigned pm = b.hour & 0x80;
    b.hour &= 0x7f;
    if (!(regb & 0x04)) {   /* BCD, the default */
        b.sec = bcd(b.sec), b.min = bcd(b.min), b.hour = bcd(b.hour);
        b.day = bcd(b.day), b.mon = bcd(b.mon), b.year = bcd(b.year);
        b.century = bcd(b.century);
    }
    if (!(regb & 0x02))     /* 12-hour mode: 12 AM is 0, 12 PM 12 */
        b.hour = b.hour % 12 + (pm ? 12 : 0);
    unsigned year = (b.century >= 19 && b.century <= 30 ? b.century : 20) * 100 + b.year;
    if (year < 1970 || b.mon < 1 || b.mon > 12 || b.day < 1 || b.day > 31 || b.hour > 23 ||
        b.min > 59 || b.sec > 60)
        return 0;
    return epoch_seconds(year, b.mon, b.day, b.hour, b.min, b.sec);
}

static void put_dec(uint64_t v)
{
    char b[24];
    int n = 0;
    do
        b[sizeof b - ++n] = (char)('0' + v % 10);
    while (v /= 10);
    rt_console_write(b + sizeof b - n, (size_t)n);
}

void rt_clock_init(void)
{
    uint64_t r = rt_sigma0_ioports(CMOS_INDEX, 1);
    uint64_t s = r == L4_SIGMA0_OK ? rtc_now() : 0;
    if (s) {
        boot_epoch_us = s * 1000000 - l4_kip()->clock_us;
        return;
    }
    rt_console_puts("lua-root: ");
    if (r == L4_SIGMA0_OK) {
        rt_console_puts("the RTC holds no valid date");
    } else {
        rt_console_puts("no RTC ports from sigma0 (code ");
        put_dec(r);
        rt_console_puts(")");
    }
    rt_console_puts("; os.time() counts seconds since boot\n");
}

uint64_t rt_wall_us(void)
{
    return boot_epoch_us + l4_kip()->clock_us;
}

uint64_t rt_cpu_us(void)
{
    struct l4_sched_info i = { 0 };
    if (l4_thread_schedule(l4_utcb_of(rt_self_lthread())->myself, ~0ull, ~0ull, &i) != L4_OK)
        return l4_kip()->clock_us;      /* cannot happen for myself; be safe */
    return i.cpu_us;
}

uint64_t rt_clock_epoch(void)
{
    return boot_epoch_us;
}

void rt_clock_set_epoch(uint64_t us)
{
    boot_epoch_us = us;
}
