/* GDT and TSS. The selector order is fixed by SYSCALL/SYSRET (see STAR):
 * kernel code, kernel data, user code (32-bit, unused), user data, user
 * code (64-bit), then the 16-byte TSS descriptor. */
#include "gdt.h"
#include "../../string.h"

static uint64_t gdt[8];
struct gdt_tss_io gdt_tss;          /* gdt.h */
const uint8_t *gdt_io_loaded;      /* whose bitmap is in gdt_tss.io (gdt.h) */
static unsigned io_loaded_extent;   /* bytes of gdt_tss.io that may allow a port */
static uint8_t ist_stacks[2][8192] __attribute__((aligned(16)));

void gdt_init(void)
{
    gdt[0] = 0;
    gdt[1] = 0x00209A0000000000;    /* kernel code 64 */
    gdt[2] = 0x0000920000000000;    /* kernel data */
    gdt[3] = 0x00CFFA000000FFFF;    /* user code 32 */
    gdt[4] = 0x0000F20000000000;    /* user data */
    gdt[5] = 0x0020FA0000000000;    /* user code 64 */
    memset(&gdt_tss, 0xff, sizeof gdt_tss);   /* every port denied */
    memset(&gdt_tss.tss, 0, sizeof gdt_tss.tss);
    gdt_tss.tss.iomap_base = sizeof gdt_tss.tss;
    gdt_tss.tss.ist[IST_DOUBLE_FAULT - 1] = (uint64_t)&ist_stacks[0][sizeof ist_stacks[0]];
    gdt_tss.tss.ist[IST_NMI - 1] = (uint64_t)&ist_stacks[1][sizeof ist_stacks[1]];
    uint64_t base = (uint64_t)&gdt_tss, limit = sizeof gdt_tss - 1;
    gdt[6] = (limit & 0xFFFF) | (base & 0xFFFFFF) << 16 | 0x89ull << 40 |
             ((limit >> 16) & 0xF) << 48 | ((base >> 24) & 0xFF) << 56;
    gdt[7] = base >> 32;

    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) gdtr = { sizeof gdt - 1, (uint64_t)gdt };
    __asm__ volatile(
        "lgdt %0\n"
        "mov %1, %%ds\n mov %1, %%es\n mov %1, %%ss\n"
        "pushq %2\n lea 1f(%%rip), %%rax\n pushq %%rax\n lretq\n"
        "1:\n"
        "ltr %w3\n"
        :: "m"(gdtr), "r"((uint64_t)SEL_KDATA), "i"(SEL_KCODE), "r"(SEL_TSS)
        : "rax", "memory");
}

/* A task without ports gets an I/O map base beyond the TSS limit (every
 * port denied) and the copied bitmap stays in place, so switching between
 * one task with ports and others without costs no copy. Between two tasks
 * with ports only the bytes that may allow a port in either are copied
 * (extent: a driver's ports are low, so that is some hundred bytes, not
 * the 8 KiB of the whole map). */
void gdt_load_io_bitmap(const uint8_t *bitmap, unsigned extent)
{
    if (!bitmap) {
        gdt_tss.tss.iomap_base = GDT_IOMAP_NONE;
        return;
    }
    gdt_tss.tss.iomap_base = sizeof gdt_tss.tss;
    if (bitmap != gdt_io_loaded) {
        uint64_t n = ((extent > io_loaded_extent ? extent : io_loaded_extent) + 7) / 8;
        void *d = gdt_tss.io;
        const void *s = bitmap;
        __asm__ volatile("rep movsq" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
        gdt_io_loaded = bitmap;
        io_loaded_extent = extent;
    }
}

void gdt_io_bitmap_changed(const uint8_t *bitmap, unsigned extent, bool current)
{
    if (bitmap == gdt_io_loaded)
        gdt_io_loaded = NULL;           /* stale: copy again when it is used */
    if (current)
        gdt_load_io_bitmap(bitmap, extent);
}
