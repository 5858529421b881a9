/* sigma0, the initial pager (docs/memory.md "sigma0"). It owns the RAM the
 * kernel does not keep (the KIP's SIGMA0 ranges) and hands it out on
 * request, each frame once; maps device memory to whoever asks, as often
 * as asked; refuses the kernel's memory. Every request gets an answer,
 * malformed ones an error code; faults of other threads get none.
 *
 * sigma0 sees physical memory at the same virtual addresses: touching a
 * page makes the kernel map it there (idempotently), and a map item of
 * that page passes it on. The KIP says in advance which addresses are safe
 * to touch. Should the kernel still not map one (its pool for page tables
 * is exhausted), the fault goes to sigma0's pager, its own lthread 1 (the
 * catcher), which restarts lthread 0 in recover(): the request fails with
 * L4_SIGMA0_ENOMAP and sigma0 goes on serving. sigma0 never dies. */
#include "../include/l4/syscalls.h"
#include "ram.h"

#define NIL       L4_NILTHREAD
#define MAX_WORDS 8                 /* longer requests are cut by the kernel */
#define REPLY_TO  L4_TIMEOUTS(L4_TO_ZERO, 0, 0, 0)

uint64_t s0_stack_top;              /* set by crt0.S */
static const struct l4_kip *kip;
static uint64_t server;             /* lthread 0's id */

/* ---- Console (the kernel's debug call) ---- */

static void say(const char *s)
{
    while (*s)
        l4_kdebug(L4_KDEBUG_PUTC, (unsigned char)*s++, 0, 0);
}

static void say_hex(uint64_t v)
{
    char b[17];
    int n = 16;
    b[n] = 0;
    do {
        b[--n] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    say(b + n);
}

static void say_dec(uint64_t v)
{
    char b[21];
    int n = 20;
    b[n] = 0;
    do {
        b[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    say(b + n);
}

/* gcc may emit calls to these. */
void *memset(void *d, int c, uint64_t n)
{
    unsigned char *p = d;
    while (n--)
        *p++ = (unsigned char)c;
    return d;
}

void *memcpy(void *d, const void *s, uint64_t n)
{
    unsigned char *dp = d;
    const unsigned char *sp = s;
    while (n--)
        *dp++ = *sp++;
    return d;
}

/* ---- Touching memory: the kernel maps it on the fault ---- */

/* RAM is zeroed as it is handed out (and so mapped). */
static void zero(uint64_t pa, uint64_t bytes)
{
    uint64_t n = bytes / 8;
    void *d = (void *)pa;
    __asm__ volatile("rep stosq" : "+D"(d), "+c"(n) : "a"(0ull) : "memory");
}

/* Device memory, and RAM handed out as it is: one byte read at the start
 * of each page, so that the kernel maps it here (device memory uncached). */
static void touch(uint64_t pa, uint64_t bytes)
{
    for (uint64_t p = pa; p < pa + bytes; p += PAGE)
        (void)*(volatile uint8_t *)p;
}

/* ---- Replies ---- */

/* What recover() must undo if the kernel does not map a page of the
 * request being served: active from the first touch to the reply. */
static struct {
    bool active;
    uint64_t client;                /* nil: sigma0's own bitmap */
    uint64_t base;
    unsigned k;
    bool ram;
} req;

static void reply_error(uint64_t client, uint64_t code)
{
    struct l4_msg m = { 0 };
    m.w[0] = code;
    l4_ipc(client, L4_TAG(0, 1, 0), L4_NODESC, REPLY_TO, &m, 0);
}

/* Maps [base, base + 2^k) to the client: touch, then one map item. RAM is
 * marked handed out first; if the reply fails (client gone, not waiting,
 * not accepting mappings, or the kernel out of memory midway), whatever
 * reached the client is revoked and the RAM is free again. */
static void give(uint64_t client, uint64_t base, unsigned k, bool ram, bool raw)
{
    uint64_t size = 1ull << k;
    req = (typeof(req)){ true, client, base, k, ram };
    if (ram) {
        ram_mark(base, k, true);
        if (raw)
            touch(base, size);      /* mapped here first: a map item carries only that */
        else
            zero(base, size);
    } else {
        touch(base, size);
    }
    req.active = false;
    struct l4_msg m = { 0 };
    m.w[0] = L4_SIGMA0_OK;
    m.w[1] = base | L4_ITEM_MAP;
    m.w[2] = L4_FPAGE(base, k, ram ? L4_RWX : L4_R | L4_W);
    uint64_t r = l4_ipc(client, L4_TAG(0, 1, 1), L4_NODESC, REPLY_TO, &m, 0);
    if (L4_IPC_ERR(r) != L4_IPC_OK && ram) {
        l4_fpage_unmap(L4_FPAGE(base, k, L4_RWX), L4_UNMAP_FLUSH);
        ram_mark(base, k, false);
    }
}

/* ---- Requests ---- */

/* How much RAM is left to hand out, in frames (make soak compares it
 * before and after). */
static void free_frames(uint64_t client)
{
    struct l4_msg m = { 0 };
    m.w[0] = L4_SIGMA0_OK;
    m.w[1] = ram_free_frames();
    l4_ipc(client, L4_TAG(0, 2, 0), L4_NODESC, REPLY_TO, &m, 0);
}

/* raw: not zeroed (L4_SIGMA0_ANY_RAW), for the root task alone: it is
 * trusted with whatever the RAM held, and zeroes what it hands on. */
static void any(uint64_t client, uint64_t k, bool raw)
{
    uint64_t pa;
    if (k < 12 || k > L4_SIGMA0_ANY_MAX)
        reply_error(client, L4_SIGMA0_EINVAL);
    else if (raw && L4_ID_TASK(client) != L4_ID_TASK(kip->root_task))
        reply_error(client, L4_SIGMA0_EPERM);
    else if (!ram_ready() || !ram_find((unsigned)k, &pa))
        reply_error(client, L4_SIGMA0_ENOMEM);
    else
        give(client, pa, (unsigned)k, true, raw);
}

/* [base, base + 2^k): kernel memory anywhere in it refuses it; RAM must
 * lie in one of sigma0's ranges, wholly free; no entry: device memory. */
static void phys(uint64_t client, uint64_t base, uint64_t k)
{
    if (k < 12 || k > L4_SIGMA0_PHYS_MAX || base % (1ull << k) || base >= kip->phys_end ||
        (1ull << k) > kip->phys_end - base) {
        reply_error(client, L4_SIGMA0_EINVAL);
        return;
    }
    uint64_t end = base + (1ull << k);
    bool ram = false, inside = false;
    for (unsigned i = 0; i < kip->nmem && i < L4_KIP_MEM_MAX; i++) {
        const struct l4_kip_mem *m = &kip->mem[i];
        if (m->end <= base || m->start >= end)
            continue;
        if (m->type != L4_KIP_MEM_SIGMA0) {
            reply_error(client, L4_SIGMA0_EKERNEL);
            return;
        }
        ram = true;
        inside = inside || (m->start <= base && end <= m->end);
    }
    if (ram && !inside)
        reply_error(client, L4_SIGMA0_EMIXED);
    else if (ram && (!ram_ready() || !ram_is_free(base, (unsigned)k)))
        reply_error(client, L4_SIGMA0_ETAKEN);
    else
        give(client, base, (unsigned)k, ram, false);
}

/* [base, base + 2^k) of RAM handed out, back from the root task (the
 * device manager's DMA memory of an instance that died): every mapping of
 * it is flushed, in the root and in every task it was mapped on to, and
 * it is free to hand out again, zeroed then. Only the root task's: it
 * alone got RAM from sigma0, and it must not use the range again. */
static void take_back(uint64_t client, uint64_t base, uint64_t k)
{
    if (L4_ID_TASK(client) != L4_ID_TASK(kip->root_task)) {
        reply_error(client, L4_SIGMA0_EPERM);
        return;
    }
    if (k < 12 || k > L4_SIGMA0_ANY_MAX || base % (1ull << k) || !ram_ready() ||
        !ram_is_given(base, (unsigned)k)) {
        reply_error(client, L4_SIGMA0_EINVAL);
        return;
    }
    l4_fpage_unmap(L4_FPAGE(base, k, L4_RWX), L4_UNMAP_FLUSH);
    ram_mark(base, (unsigned)k, false);
    reply_error(client, L4_SIGMA0_OK);      /* the one-word reply, code OK */
}

/* I/O ports: [port, port + 2^k), each port handed out once (a device
 * belongs to one driver); the kernel's own (PICs, PIT) are refused. */
static uint8_t ports_given[65536 / 8];

static bool kernel_port_in(unsigned lo, unsigned hi)
{
    static const unsigned kp[L4_KERNEL_PORTS_N][2] = L4_KERNEL_PORTS;
    for (unsigned i = 0; i < L4_KERNEL_PORTS_N; i++)
        if (lo <= kp[i][1] && hi >= kp[i][0])
            return true;
    return false;
}

static void ioports(uint64_t client, uint64_t port, uint64_t k)
{
    if (k > 16 || port >= 65536 || port % (1ull << k) || port + (1ull << k) > 65536) {
        reply_error(client, L4_SIGMA0_EINVAL);
        return;
    }
    unsigned lo = (unsigned)port, n = 1u << k;
    if (kernel_port_in(lo, lo + n - 1)) {
        reply_error(client, L4_SIGMA0_EKERNEL);
        return;
    }
    for (unsigned p = lo; p < lo + n; p++)
        if (ports_given[p / 8] >> (p % 8) & 1) {
            reply_error(client, L4_SIGMA0_ETAKEN);
            return;
        }
    struct l4_msg m = { 0 };
    m.w[0] = L4_SIGMA0_OK;
    m.w[1] = L4_ITEM_MAP;
    m.w[2] = L4_IOFPAGE(lo, k);
    uint64_t r = l4_ipc(client, L4_TAG(0, 1, 1), L4_NODESC, REPLY_TO, &m, 0);
    if (L4_IPC_ERR(r) != L4_IPC_OK) {   /* not received: take it back */
        l4_fpage_unmap(L4_IOFPAGE(lo, k), 0);
        return;
    }
    for (unsigned p = lo; p < lo + n; p++)
        ports_given[p / 8] |= (uint8_t)(1u << (p % 8));
}

/* A fault or exception of another thread (sigma0 is the root task's
 * pager): sigma0 maps by request only, so it does not answer; the thread
 * stays blocked in its fault IPC, and the log says where. */
static void fault(uint64_t from, const struct l4_msg *m, bool pf)
{
    say("sigma0: ");
    say(pf ? "page fault at " : "exception at ");
    say_hex(pf ? m->w[0] : m->w[2]);
    say(pf ? ", ip " : ", vector ");
    say_hex(pf ? m->w[1] : m->w[0]);
    say(" of thread ");
    say_hex(from);
    say(": sigma0 maps by request only; not answered\n");
}

static void handle(uint64_t from, const struct l4_msg *m)
{
    uint32_t label = L4_TAG_LABEL(m->tag);
    unsigned u = L4_TAG_U(m->tag), t = L4_TAG_T(m->tag);
    if (label == L4_LABEL_PAGEFAULT || label == L4_LABEL_EXCEPTION) {
        fault(from, m, label == L4_LABEL_PAGEFAULT);
        return;
    }
    if (t == 0 && (label == L4_SIGMA0_ANY || label == L4_SIGMA0_ANY_RAW) && u == 1)
        any(from, m->w[0], label == L4_SIGMA0_ANY_RAW);
    else if (t == 0 && label == L4_SIGMA0_PHYS && u == 2)
        phys(from, m->w[0], m->w[1]);
    else if (t == 0 && label == L4_SIGMA0_IOPORTS && u == 2)
        ioports(from, m->w[0], m->w[1]);
    else if (t == 0 && label == L4_SIGMA0_FREE && u == 0)
        free_frames(from);
    else if (t == 0 && label == L4_SIGMA0_GIVE_BACK && u == 2)
        take_back(from, m->w[0], m->w[1]);
    else
        reply_error(from, L4_SIGMA0_EINVAL);
}

static void __attribute__((noreturn)) serve(void)
{
    for (;;) {
        struct l4_msg m = { 0 };
        uint64_t from = NIL;
        uint64_t r = l4_ipc(NIL, L4_NODESC, L4_RCV_OPEN | L4_RCV_WORDS(MAX_WORDS), 0, &m, &from);
        /* Cut, offered a mapping, cancelled: the sender has its own code. */
        if (L4_IPC_ERR(r) == L4_IPC_OK)
            handle(from, &m);
    }
}

/* ---- Recovery: the catcher, sigma0's pager ---- */

/* lthread 0 restarts here, on a fresh stack, when the kernel did not map
 * a page it touched: undo and answer the request, serve on. */
static void __attribute__((noreturn)) recover(void)
{
    if (req.active) {
        req.active = false;
        if (req.client == NIL) {
            say("sigma0: no room to map its bookkeeping: no RAM will be handed out\n");
        } else {
            if (req.ram)
                ram_mark(req.base, req.k, false);
            reply_error(req.client, L4_SIGMA0_ENOMAP);
        }
    }
    serve();
}

static uint64_t catcher_stack[512] __attribute__((aligned(16)));

static void __attribute__((noreturn)) catcher(void)
{
    for (;;) {
        struct l4_msg m = { 0 };
        uint64_t from;
        uint64_t r = l4_ipc(server, L4_NODESC, 0, 0, &m, &from);
        if (L4_IPC_ERR(r) != L4_IPC_OK || L4_TAG_LABEL(m.tag) != L4_LABEL_PAGEFAULT)
            continue;
        say("sigma0: the kernel did not map ");
        say_hex(m.w[0] & ~0xfffull);
        say(" (ip ");
        say_hex(m.w[1]);
        say("); the request fails\n");
        l4_lthread_ex_regs(0, (uint64_t)recover, s0_stack_top, ~0ull, ~0ull, 0, 0);
    }
}

int main(void)
{
    kip = l4_kip();
    server = l4_myself(0);
    uint64_t cid = 0;
    if (l4_lthread_ex_regs(1, (uint64_t)catcher, (uint64_t)&catcher_stack[512] - 8, ~0ull,
                           ~0ull, &cid, 0) == L4_OK)
        l4_lthread_ex_regs(0, ~0ull, ~0ull, cid, ~0ull, 0, 0);
    else
        say("sigma0: no catcher thread: a page the kernel cannot map stops sigma0\n");
    uint64_t bytes, at = ram_layout(kip, &bytes);
    if (at) {
        req = (typeof(req)){ true, NIL, at, 0, false };
        zero(at, bytes);            /* faults it in */
        req.active = false;
        ram_start();
    }
    say("sigma0: ");
    say_dec(ram_free_frames() * (PAGE / 1024));
    say(" KiB of RAM to hand out; device memory below ");
    say_hex(kip->phys_end);
    say("\n");
    serve();
}
