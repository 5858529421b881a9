/* Suite "irq": a real device interrupt (the CMOS RTC, IRQ 8 on the second
 * PIC) arrives as IPC at the thread attached to it. */
#include "utest.h"

static volatile uint64_t got_from, got_tag, got_result, attached;

static void handler(uint64_t arg)
{
    (void)arg;
    struct l4_msg m = { 0 };
    uint64_t from;
    attached = l4_ipc(L4_IRQ_ID(8), L4_NODESC, 0, L4_TIMEOUTS(0, L4_TO_ZERO, 0, 0), &m, &from);
    got_result = l4_ipc(L4_IRQ_ID(8), L4_NODESC, 0, 0, &m, &from);
    got_from = from;
    got_tag = m.tag;
    uthread_exit();
}

UTEST(rtc_interrupt_reaches_handler)
{
    uint64_t h = uthread_start(1, handler, 0);
    UCHECK(h != 0);
    usleep_us(2000);
    UCHECK_EQ(L4_IPC_ERR(attached), L4_IPC_RCV_TIMEOUT);   /* attached */
    UCHECK_EQ(got_from, 0);                                  /* nothing yet */
    UCHECK_EQ(l4_kdebug(L4_KDEBUG_RTC_IRQ, 1, 0, 0), L4_OK);
    uint64_t t0 = unow_us();
    while (got_from == 0 && unow_us() - t0 < 1000000)
        usleep_us(1000);
    l4_kdebug(L4_KDEBUG_RTC_IRQ, 0, 0, 0);
    UCHECK_EQ(L4_IPC_ERR(got_result), L4_IPC_OK);
    UCHECK_EQ(got_from, L4_IRQ_ID(8));
    UCHECK_EQ(L4_TAG_LABEL(got_tag), 0xffffffffu);
    UCHECK_EQ(L4_TAG_U(got_tag), 0);
}

int main(void)
{
    return utest_run("irq");
}
