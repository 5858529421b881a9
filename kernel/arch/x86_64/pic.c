/* The two 8259A PICs, remapped to vectors 32..47, and the PIT (channel 0)
 * as the periodic timer. */
#include "pic.h"
#include "arch.h"
#include "cpu.h"

#define PIC1 0x20
#define PIC2 0xA0
#define PIT_HZ 1193182u
#define TICK_HZ 1000u

static uint16_t mask = 0xFFFF;
static volatile uint64_t ticks;

/* The TSC's rate, measured against the timer while the boot goes on (the
 * boot used to wait a tick in hlt for it: a million instructions of idle
 * under icount, docs/performance.md): from the second tick's interrupt to
 * the (2 + TSC_TICKS)th (the first may have been pending since before
 * interrupts were on). A tick taken late (interrupts off in the kernel for
 * a few microseconds) errs by that over TSC_TICKS ms. 0 until then. */
#define TSC_TICKS 10u
static uint64_t tsc_start, tsc_per_us;

static void tsc_measure(void)
{
    if (ticks == 2) {
        tsc_start = rdtsc();
    } else if (ticks == 2 + TSC_TICKS) {
        uint64_t r = (rdtsc() - tsc_start) / (TSC_TICKS * (1000000 / TICK_HZ));
        tsc_per_us = r ? r : 1;
    }
}

static void write_mask(void)
{
    outb(PIC1 + 1, (uint8_t)mask);
    outb(PIC2 + 1, (uint8_t)(mask >> 8));
}

void pic_init(void)
{
    outb(PIC1, 0x11);           /* ICW1: init, ICW4 follows */
    outb(PIC2, 0x11);
    outb(PIC1 + 1, 32);         /* ICW2: vector base */
    outb(PIC2 + 1, 40);
    outb(PIC1 + 1, 4);          /* ICW3: slave on IRQ2 */
    outb(PIC2 + 1, 2);
    outb(PIC1 + 1, 1);          /* ICW4: 8086 mode */
    outb(PIC2 + 1, 1);
    mask = 0xFFFF & ~(1u << 2); /* cascade line open */
    write_mask();

    unsigned div = PIT_HZ / TICK_HZ;
    outb(0x43, 0x34);           /* channel 0, lobyte/hibyte, rate generator */
    outb(0x40, (uint8_t)div);
    outb(0x40, (uint8_t)(div >> 8));
    pic_unmask(0);
}

void pic_unmask(unsigned irq)
{
    mask &= (uint16_t)~(1u << irq);
    write_mask();
}

void pic_mask(unsigned irq)
{
    mask |= (uint16_t)(1u << irq);
    write_mask();
}

/* In-service register of one PIC: tells a real IRQ 7/15 from a spurious one. */
static uint8_t isr(uint16_t pic)
{
    outb(pic, 0x0B);
    return inb(pic);
}

bool pic_irq(unsigned irq)
{
    if (irq == 7 && !(isr(PIC1) & 0x80))
        return false;
    if (irq == 15 && !(isr(PIC2) & 0x80)) {
        outb(PIC1, 0x20);
        return false;
    }
    if (irq >= 8)
        outb(PIC2, 0x20);
    outb(PIC1, 0x20);
    if (irq == 0) {
        ticks++;
        tsc_measure();
    }
    return true;
}

uint64_t arch_ticks(void)
{
    return ticks;
}

uint64_t arch_tsc_per_us(void)
{
    return tsc_per_us;
}

unsigned arch_tick_hz(void)
{
    return TICK_HZ;
}
