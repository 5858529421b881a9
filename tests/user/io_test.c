/* Suite "io": I/O-port flexpages. In a boot without sigma0 the root task
 * holds the ports sigma0 would (all but the PICs and the PIT). A child
 * task gets exactly the ports mapped to it; any other port faults and
 * reaches its exception handler; unmap and task deletion revoke. The
 * device used is COM1's scratch register (0x3ff), harmless to the log. */
#include "utest.h"

#define SCRATCH 0x3ff
static volatile uint64_t child_stack[2048] __attribute__((aligned(16)));
static volatile uint64_t exc_vector, exc_rip, exc_count;
static volatile uint64_t child_step, child_val;
static volatile uint16_t child_port;

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port));
}

/* Pager and exception handler of the child: maps the root's pages; for an
 * exception it records it and moves the child on to child_resume. */
static void child_resume(void);
static void pager(uint64_t arg)
{
    (void)arg;
    struct l4_msg m = { 0 };
    uint64_t from;
    uint64_t r = l4_ipc(L4_NILTHREAD, L4_NODESC, L4_RCV_OPEN, 0, &m, &from);
    for (;;) {
        if (L4_IPC_ERR(r)) {
            r = l4_ipc(L4_NILTHREAD, L4_NODESC, L4_RCV_OPEN, 0, &m, &from);
            continue;
        }
        if (L4_TAG_LABEL(m.tag) == L4_LABEL_EXCEPTION) {       /* exception */
            exc_vector = m.w[0];
            exc_rip = m.w[2];
            exc_count++;
            m.w[0] = (uint64_t)child_resume;
            m.w[1] = (uint64_t)&child_stack[2047];
            r = l4_ipc(from, L4_TAG(0, 2, 0), L4_RCV_OPEN, 0, &m, &from);
            continue;
        }
        uint64_t page = m.w[0] & ~0xfffull;
        m.w[0] = page | L4_ITEM_MAP;
        m.w[1] = L4_FPAGE(page, 12, L4_RWX);
        r = l4_ipc(from, L4_TAG(0, 0, 1), L4_RCV_OPEN, 0, &m, &from);
    }
}

/* The child: waits for ports (a map item), then, on each request, reads
 * child_port and reports the value (or faults). */
static void child_loop(void)
{
    struct l4_msg m = { 0 };
    uint64_t from;
    for (;;) {
        l4_ipc(L4_NILTHREAD, L4_NODESC, L4_RCV_OPEN | L4_RCV_MAPS, 0, &m, &from);
        if (L4_TAG_LABEL(m.tag) == 1) {      /* "read child_port" */
            child_val = inb(child_port);
            child_step++;
        }
    }
}

static void child_resume(void)
{
    child_step++;                           /* counted the faulted step too */
    child_loop();
}

static void child_entry(void)
{
    l4_utcb_of(0)->rcv_window = L4_FPAGE(0, L4_WHOLE_SPACE, L4_RWX);
    child_loop();
}

/* Asks the child to read port: the message must reach it and it must
 * take its step (a read, or a fault the pager moves it past): a child
 * that died or hangs fails here, not as a count that happens to match. */
static void kick_at(uint64_t child, uint16_t port, int line)
{
    uint64_t before = child_step;
    child_port = port;
    struct l4_msg m = { 0 };
    uint64_t r = l4_ipc(child, L4_TAG(1, 0, 0), L4_NODESC, L4_TIMEOUTS(uto_us(1000000), 0, 0, 0), &m, 0);
    for (int i = 0; i < 1000 && child_step == before; i++)
        usleep_us(1000);
    if (L4_IPC_ERR(r) != L4_IPC_OK || child_step == before) {
        uprintf("  kick of port %x: ipc %lx, step %s\n", port, r,
                child_step == before ? "not taken" : "taken");
        utest_fail("the child took the request", __FILE__, line);
    }
}
#define kick(child, port) kick_at(child, port, __LINE__)

static uint64_t give_ports(uint64_t child, uint64_t iofpage)
{
    struct l4_msg m = { 0 };
    m.w[0] = L4_ITEM_MAP;
    m.w[1] = iofpage;
    return l4_ipc(child, L4_TAG(2, 0, 1), L4_NODESC, 0, &m, 0);
}

/* A child that maps back to its caller part of the ports it was given. */
static volatile uint64_t back_stack[1024] __attribute__((aligned(16)));
static void back_entry(void)
{
    struct l4_msg m = { 0 };
    uint64_t from;
    uint64_t r = l4_ipc(L4_NILTHREAD, L4_NODESC, L4_RCV_OPEN | L4_RCV_MAPS, 0, &m, &from);
    for (;;) {
        if (L4_IPC_ERR(r) == L4_IPC_OK && L4_TAG_LABEL(m.tag) == 3) {
            m.w[0] = L4_ITEM_MAP;
            m.w[1] = L4_IOFPAGE(0x2e0, 2);
            r = l4_ipc(from, L4_TAG(4, 0, 1), L4_RCV_OPEN | L4_RCV_MAPS, 0, &m, &from);
        } else {
            r = l4_ipc(L4_NILTHREAD, L4_NODESC, L4_RCV_OPEN | L4_RCV_MAPS, 0, &m, &from);
        }
    }
}

UTEST(revoking_ports_that_came_back_ends)
{
    uint64_t pg = uthread_start(7, pager, 0), child = 0, x;
    UCHECK_EQ(l4_task_new(L4_ID(11, 0, 0), 255, (uint64_t)back_entry,
                          (uint64_t)&back_stack[1023], pg, 0, &child), L4_OK);
    usleep_us(2000);
    UCHECK_EQ(give_ports(child, L4_IOFPAGE(0x2e0, 3)), L4_IPC_OK);
    struct l4_msg m = { 0 };
    uint64_t r = l4_ipc(child, L4_TAG(3, 0, 0), L4_RCV_MAPS,
                        L4_TIMEOUTS(uto_us(1000000), uto_us(1000000), 0, 0), &m, 0);
    UCHECK_EQ(L4_IPC_ERR(r), L4_IPC_OK);
    UCHECK_EQ(l4_fpage_unmap(L4_IOFPAGE(0x2e0, 1), 0), L4_OK);
    UCHECK_EQ(l4_task_new(L4_ID(11, 0, 0), 0, 0, 0, L4_NILTHREAD, 0, &x), L4_OK);
}

UTEST(root_holds_device_ports)
{
    outb(SCRATCH, 0x5a);
    UCHECK_EQ(inb(SCRATCH), 0x5a);
    outb(SCRATCH, 0xa5);
    UCHECK_EQ(inb(SCRATCH), 0xa5);
}

UTEST(ports_mapped_exactly_and_revoked)
{
    uint64_t pg = uthread_start(1, pager, 0), child = 0;
    UCHECK_EQ(l4_task_new(L4_ID(9, 0, 0), 255, (uint64_t)child_entry,
                          (uint64_t)&child_stack[2047], pg, 0, &child), L4_OK);
    usleep_us(2000);
    /* No ports yet: the read faults (#GP, vector 13) and is reported. */
    kick(child, SCRATCH);
    UCHECK_EQ(exc_count, 1);
    UCHECK_EQ(exc_vector, 13);
    /* COM1's eight ports (0x3f8, 2^3): the scratch register answers. */
    UCHECK_EQ(give_ports(child, L4_IOFPAGE(0x3f8, 3)), L4_IPC_OK);
    outb(SCRATCH, 0x42);
    kick(child, SCRATCH);
    UCHECK_EQ(exc_count, 1);
    UCHECK_EQ(child_val, 0x42);
    /* A port next to them was not given. */
    kick(child, 0x3f7);
    UCHECK_EQ(exc_count, 2);
    /* Unmap in the root (not its own): the child loses them, root keeps them. */
    UCHECK_EQ(l4_fpage_unmap(L4_IOFPAGE(0x3f8, 3), 0), L4_OK);
    kick(child, SCRATCH);
    UCHECK_EQ(exc_count, 3);
    outb(SCRATCH, 0x17);
    UCHECK_EQ(inb(SCRATCH), 0x17);
    /* The kernel's own ports cannot be given away: mapping fails. */
    UCHECK_EQ(L4_IPC_ERR(give_ports(child, L4_IOFPAGE(0x20, 1))), L4_IPC_MAP_FAILED);
    UCHECK_EQ(L4_IPC_ERR(give_ports(child, L4_IOFPAGE(0x40, 2))), L4_IPC_MAP_FAILED);
    /* Malformed I/O fpages: misaligned, too large. */
    UCHECK_EQ(L4_IPC_ERR(give_ports(child, L4_IOFPAGE(0x3f9, 3))), L4_IPC_MAP_FAILED);
    UCHECK_EQ(L4_IPC_ERR(give_ports(child, L4_IOFPAGE(0, 17))), L4_IPC_MAP_FAILED);
    UCHECK_EQ(l4_fpage_unmap(L4_IOFPAGE(0x3f9, 3), 0), L4_EINVAL);
    /* Given again, then the task is deleted and made anew: nothing is left. */
    UCHECK_EQ(give_ports(child, L4_IOFPAGE(0x3f8, 3)), L4_IPC_OK);
    kick(child, SCRATCH);
    UCHECK_EQ(exc_count, 3);
    UCHECK_EQ(l4_task_new(L4_ID(9, 0, 0), 255, (uint64_t)child_entry,
                          (uint64_t)&child_stack[2047], pg, 0, &child), L4_OK);
    usleep_us(2000);
    kick(child, SCRATCH);
    UCHECK_EQ(exc_count, 4);
}

static volatile uint64_t touched[8];
static void touch_2ff(uint64_t slot)
{
    (void)inb(0x2ff);
    touched[slot] = 1;
    uthread_exit();
}

UTEST(own_unmap_removes_root_access)
{
    /* Cases run in reverse order, so this one runs first: it uses COM2's
     * ports (0x2f8..0x2ff), which no other case needs. */
    uint64_t a = uthread_start(5, touch_2ff, 0);
    usleep_us(2000);
    UCHECK_EQ(touched[0], 1);
    UCHECK_EQ(l4_fpage_unmap(L4_IOFPAGE(0x2f8, 3), L4_UNMAP_OWN), L4_OK);
    uint64_t b = uthread_start(6, touch_2ff, 1);
    usleep_us(2000);
    UCHECK_EQ(touched[1], 0);
    struct l4_sched_info si;
    UCHECK_EQ(l4_thread_schedule(b, ~0ull, ~0ull, &si), L4_OK);
    UCHECK_EQ(si.state, L4_TS_STOPPED);
    (void)a;
}

int main(void)
{
    return utest_run("io");
}
