/* How kernel costs grow with the system's size (make bench-scale; booted
 * with sigma0 in 1 GiB of RAM, 512 MiB of it the kernel's: run.py
 * --scale). Guest instructions under -icount shift=0 (rdtsc deltas);
 * prints "scale <curve> <x> <instructions>" lines:
 *
 *   ipc_rtt_threads <n>   ipc_rtt_c_cross_task's round trip (2 words each
 *                         way, this root to a server thread of task 5)
 *                         with n more threads in the system, each parked
 *                         in a receive from nobody (park()), 255 or fewer
 *                         a task;
 *   pagefault_mapped <mib>  a fault of a child task answered by a C pager
 *                         thread of the root with one page, when the
 *                         child already has <mib> MiB mapped (by earlier
 *                         faults, all 4 KiB pages), up to 1 GiB: the
 *                         average over the next 4,096 faults;
 *   unmap_width <w>       fpage_unmap (flush) of one page mapped to another
 *                         task at w addresses: the unmap alone;
 *   unmap_depth <d>       the same for a page handed down a chain of d
 *                         tasks (the root to the first, each to the next).
 */
#include "../user/utest.h"

#define NIL       L4_NILTHREAD
#define PAGE      4096ull
#define STR_(x)   #x
#define STR(x)    STR_(x)

/* In the root: memory from sigma0. */
#define POOL      0x100000000ull    /* the pager's pages */
#define POOL_LOG  24                /* 16 MiB: 4,096 pages, each mapped again and again */
#define POOL_PAGES (1u << (POOL_LOG - 12))
#define ONE_PAGE  0x180000000ull    /* the page the unmap curves map */
/* In the children. */
#define REGION    0x10000000000ull  /* the toucher's faulting region (1 GiB and more) */
#define WIN       0x20000000000ull  /* receive windows */
#define WIN_LOG   30

#define RTT_ROUNDS 20000
#define FAULT_RUN 4096              /* faults measured at each size */
#define UNMAP_REPEAT 20

enum { LT_PAGER = 1 };
enum { TN_SERVER = 5, TN_TOUCHER = 6, TN_WIDE = 7, TN_CHAIN = 10, TN_PARK = 100 };
enum { CMD_TOUCH = 1, CMD_PING, CMD_RELAY };
#define MAX_DEPTH 64

static uint64_t stacks[4 + MAX_DEPTH][512] __attribute__((aligned(4096)));
static volatile uint64_t pager_unexpected;
static uint64_t failures;
static const uint64_t reply_to = L4_TIMEOUTS(L4_TO_ZERO, 0, 0, 0);

/* A thread with nothing to do: a receive from nobody, for ever. Uses no
 * stack (it may run in any task: the children share the root's pages). */
void park(void);
__asm__(".text\n.globl park\npark:\n"
        "  mov $" STR(L4_SYS_IPC) ", %eax\n"
        "  xor %edi, %edi\n"          /* from nil: nobody */
        "  mov $-1, %rsi\n"           /* no send phase */
        "  xor %edx, %edx\n"          /* a closed receive */
        "  xor %r10d, %r10d\n"        /* timeouts: never */
        "  syscall\n"
        "  jmp park\n");

/* A parking task's first thread: starts park_n - 1 more, then parks. */
static volatile uint64_t park_n, parked;
static void __attribute__((noreturn, used)) park_main(void)
{
    uint64_t n = park_n;
    for (uint64_t i = 1; i < n; i++)
        if (l4_lthread_ex_regs(i, (uint64_t)park, (uint64_t)&stacks[0][8], ~0ull, ~0ull, 0,
                               0) != L4_OK)
            break;
    __atomic_fetch_add(&parked, n, __ATOMIC_SEQ_CST);
    park();
    for (;;)
        ;
}

/* ---- The pager (lthread 1 of the root): REGION + i pages get pool page
 * i mod POOL_PAGES; the root's image: the root's page at the same
 * address. ---- */
static void pager_fn(uint64_t arg)
{
    (void)arg;
    struct l4_msg m = { 0 };
    uint64_t from = 0;
    uint64_t r = l4_ipc(NIL, L4_NODESC, L4_RCV_OPEN, 0, &m, &from);
    for (;;) {
        uint64_t page = m.w[0] & ~0xfffull, src = 0;
        if (!L4_IPC_ERR(r) && L4_TAG_LABEL(m.tag) == L4_LABEL_PAGEFAULT) {
            if (page >= REGION && page < REGION + (2ull << 30))
                src = POOL + ((page - REGION) / PAGE % POOL_PAGES) * PAGE;
            else if (page >= 0x400000 && page < 0x40000000)
                src = page;
        }
        if (!src) {
            pager_unexpected++;
            r = l4_ipc(NIL, L4_NODESC, L4_RCV_OPEN, 0, &m, &from);
            continue;
        }
        m.w[0] = page | L4_ITEM_MAP;
        m.w[1] = L4_FPAGE(src, 12, L4_RWX);
        r = l4_ipc(from, L4_TAG(0, 0, 1), L4_RCV_OPEN, reply_to, &m, &from);
    }
}

/* ---- Task 5: answers each message with two words. ---- */
static void __attribute__((noreturn, used)) server_main(void)
{
    struct l4_msg m = { 0 };
    uint64_t from, tag = L4_TAG(0, 2, 0);
    uint64_t r = l4_ipc(NIL, L4_NODESC, L4_RCV_OPEN, 0, &m, &from);
    for (;;)
        r = L4_IPC_ERR(r) ? l4_ipc(NIL, L4_NODESC, L4_RCV_OPEN, 0, &m, &from)
                          : l4_ipc(from, tag, L4_RCV_OPEN, 0, &m, &from);
}

/* ---- Task 6: on CMD_TOUCH (w0 = first page, w1 = pages) writes one word
 * in each page; replies the instructions it took. ---- */
static void __attribute__((noreturn, used)) toucher_main(void)
{
    struct l4_msg m = { 0 };
    uint64_t from = 0;
    uint64_t r = l4_ipc(NIL, L4_NODESC, L4_RCV_OPEN, 0, &m, &from);
    for (;;) {
        if (L4_IPC_ERR(r)) {
            r = l4_ipc(NIL, L4_NODESC, L4_RCV_OPEN, 0, &m, &from);
            continue;
        }
        volatile uint64_t *p = (volatile uint64_t *)(REGION + m.w[0] * PAGE);
        uint64_t n = m.w[1], t0 = urdtsc();
        for (uint64_t i = 0; i < n; i++)
            p[i * (PAGE / 8)] = i;
        m.w[0] = urdtsc() - t0;
        r = l4_ipc(from, L4_TAG(0, 1, 0), L4_RCV_OPEN, reply_to, &m, &from);
    }
}

/* ---- Receivers (task 7, the chain's tasks): take any message (mappings
 * land in the window at WIN); CMD_RELAY (w0 = the next task's thread)
 * first maps the page at WIN on to it. ---- */
static void __attribute__((noreturn, used)) receiver_main(void)
{
    const uint64_t rcv = L4_RCV_OPEN | L4_RCV_MAPS;
    l4_utcb_of(0)->rcv_window = L4_FPAGE(WIN, WIN_LOG, 0);
    struct l4_msg m = { 0 };
    uint64_t from = 0;
    uint64_t r = l4_ipc(NIL, L4_NODESC, rcv, 0, &m, &from);
    for (;;) {
        if (L4_IPC_ERR(r)) {
            r = l4_ipc(NIL, L4_NODESC, rcv, 0, &m, &from);
            continue;
        }
        uint64_t ok = 1;
        if (L4_TAG_LABEL(m.tag) == CMD_RELAY) {
            struct l4_msg x = { 0 };
            uint64_t next = m.w[0];
            x.w[0] = WIN | L4_ITEM_MAP;
            x.w[1] = L4_FPAGE(WIN, 12, L4_RWX);
            l4_utcb_of(0)->rcv_window = L4_FPAGE(WIN, WIN_LOG, 0);
            ok = L4_IPC_ERR(l4_ipc(next, L4_TAG(CMD_PING, 0, 1), 0, 0, &x, 0)) == L4_IPC_OK;
        }
        m.w[0] = ok;
        r = l4_ipc(from, L4_TAG(0, 1, 0), rcv, reply_to, &m, &from);
    }
}

/* ---- The root's side ---- */

static bool sigma0_any(unsigned k, uint64_t va)
{
    struct l4_msg m = { 0 };
    m.w[0] = k;
    l4_utcb_of(0)->rcv_window = L4_FPAGE(va, k, L4_RWX);
    uint64_t from;
    uint64_t r = l4_ipc(l4_kip()->sigma0, L4_TAG(L4_SIGMA0_ANY, 1, 0), L4_RCV_MAPS, 0, &m, &from);
    return L4_IPC_ERR(r) == L4_IPC_OK && m.w[0] == L4_SIGMA0_OK && L4_TAG_T(m.tag) == 1;
}

static uint64_t new_task(unsigned tn, void (*entry)(void), unsigned stack, uint64_t pager)
{
    uint64_t id = 0;
    if (l4_task_new(L4_ID(tn, 0, 0), 255, (uint64_t)entry, (uint64_t)&stacks[stack][511], pager,
                    0, &id) != L4_OK)
        return 0;
    return id;
}

static uint64_t call(uint64_t to, unsigned label, uint64_t w0, uint64_t w1, unsigned items)
{
    struct l4_msg m = { 0 };
    m.w[0] = w0;
    m.w[1] = w1;
    uint64_t r = l4_ipc(to, L4_TAG(label, items ? 0 : 2, items), 0, 0, &m, 0);
    if (L4_IPC_ERR(r)) {
        failures++;
        return 0;
    }
    return m.w[0];
}

static uint64_t rtt(uint64_t srv)
{
    struct l4_msg m = { 0 };
    uint64_t from;
    for (int i = 0; i < 1000; i++)
        l4_ipc(srv, L4_TAG(0, 2, 0), 0, 0, &m, &from);
    uint64_t t0 = urdtsc();
    for (int i = 0; i < RTT_ROUNDS; i++) {
        m.w[0] = (uint64_t)i;
        if (L4_IPC_ERR(l4_ipc(srv, L4_TAG(0, 2, 0), 0, 0, &m, &from)))
            failures++;
    }
    return (urdtsc() - t0) / RTT_ROUNDS;
}

static void threads_curve(uint64_t pager)
{
    static const uint64_t steps[] = { 0, 10, 100, 1000, 10000 };
    uint64_t srv = new_task(TN_SERVER, server_main, 0, pager), have = 0;
    unsigned tn = TN_PARK;
    if (!srv) {
        failures++;
        return;
    }
    for (unsigned s = 0; s < sizeof steps / sizeof steps[0]; s++) {
        while (have < steps[s]) {
            park_n = steps[s] - have < 255 ? steps[s] - have : 255;
            if (!new_task(tn++, park_main, 1, pager)) {
                uprintf("scale: no task for parked threads after %lu\n", have);
                failures++;
                return;
            }
            uint64_t t0 = unow_us();
            while (parked < have + park_n && unow_us() - t0 < 10000000)
                usleep_us(1000);
            if (parked != have + park_n) {
                uprintf("scale: %lu threads parked, not %lu\n", parked, have + park_n);
                failures++;
                return;
            }
            have = parked;
        }
        uprintf("scale ipc_rtt_threads %lu %lu\n", have, rtt(srv));
    }
}

static void fault_curve(uint64_t pager)
{
    static const uint64_t mib[] = { 0, 4, 64, 256, 1024 };
    uint64_t toucher = new_task(TN_TOUCHER, toucher_main, 2, pager), mapped = 0;
    if (!toucher) {
        failures++;
        return;
    }
    call(toucher, CMD_TOUCH, (2ull << 30) / PAGE - 64, 64, 0);     /* warm up: code, stack */
    for (unsigned s = 0; s < sizeof mib / sizeof mib[0]; s++) {
        uint64_t want = mib[s] << 8;                                /* pages */
        while (mapped < want) {                 /* grow the space, 64 MiB a call */
            uint64_t n = want - mapped < 16384 ? want - mapped : 16384;
            call(toucher, CMD_TOUCH, mapped, n, 0);
            mapped += n;
        }
        uint64_t t = call(toucher, CMD_TOUCH, mapped, FAULT_RUN, 0);
        mapped += FAULT_RUN;
        uprintf("scale pagefault_mapped %lu %lu\n", mib[s], t / FAULT_RUN);
    }
}

/* One unmap (flush) of ONE_PAGE after it was handed out: the unmap alone. */
static uint64_t timed_unmap(void)
{
    uint64_t t0 = urdtsc();
    if (l4_fpage_unmap(L4_FPAGE(ONE_PAGE, 12, 0), L4_UNMAP_FLUSH) != L4_OK)
        failures++;
    return urdtsc() - t0;
}

static void unmap_curves(uint64_t pager)
{
    static const unsigned widths[] = { 1, 16, 256, 4096 };
    static const unsigned depths[] = { 1, 4, 16, 64 };
    uint64_t wide = new_task(TN_WIDE, receiver_main, 3, pager), chain[MAX_DEPTH];
    for (unsigned i = 0; i < MAX_DEPTH; i++)
        chain[i] = new_task(TN_CHAIN + i, receiver_main, 4 + i, pager);
    if (!wide || !chain[MAX_DEPTH - 1]) {
        failures++;
        return;
    }
    *(volatile uint64_t *)ONE_PAGE = 1;
    for (unsigned s = 0; s < sizeof widths / sizeof widths[0]; s++) {
        uint64_t t = 0;
        for (unsigned rep = 0; rep <= UNMAP_REPEAT; rep++) {
            for (unsigned i = 0; i < widths[s]; i++)
                call(wide, CMD_PING, (WIN + i * PAGE) | L4_ITEM_MAP,
                     L4_FPAGE(ONE_PAGE, 12, L4_RWX), 1);
            uint64_t u = timed_unmap();
            if (rep)                            /* rep 0: warm-up */
                t += u;
        }
        t /= UNMAP_REPEAT;
        uprintf("scale unmap_width %u %lu\n", widths[s], t);
    }
    for (unsigned s = 0; s < sizeof depths / sizeof depths[0]; s++) {
        uint64_t t = 0;
        for (unsigned rep = 0; rep <= UNMAP_REPEAT; rep++) {
            call(chain[0], CMD_PING, WIN | L4_ITEM_MAP, L4_FPAGE(ONE_PAGE, 12, L4_RWX), 1);
            for (unsigned i = 0; i + 1 < depths[s]; i++)
                if (call(chain[i], CMD_RELAY, chain[i + 1], 0, 0) != 1)
                    failures++;
            uint64_t u = timed_unmap();
            if (rep)
                t += u;
        }
        t /= UNMAP_REPEAT;
        uprintf("scale unmap_depth %u %lu\n", depths[s], t);
    }
}

int main(void)
{
    if (!sigma0_any(22, POOL) || !sigma0_any(22, POOL + (4ull << 20)) ||
        !sigma0_any(22, POOL + (8ull << 20)) || !sigma0_any(22, POOL + (12ull << 20)) ||
        !sigma0_any(12, ONE_PAGE)) {
        uprintf("scale: sigma0 gave no memory\n");
        return 1;
    }
    uint64_t pager = uthread_start(LT_PAGER, pager_fn, 0);
    if (!pager) {
        uprintf("scale: no pager\n");
        return 1;
    }
    unmap_curves(pager);
    fault_curve(pager);
    threads_curve(pager);
    if (pager_unexpected || failures)
        uprintf("scale: the pager left %lu faults unanswered; %lu calls failed\n",
                pager_unexpected, failures);
    uprintf("scale: done\n");
    return pager_unexpected || failures ? 1 : 0;
}
