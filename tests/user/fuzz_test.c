/* Suite "fuzz": seeded system-call fuzzing (docs/reliability.md).
 *
 * NF fuzzer tasks, children of the root task, call every system call with
 * random and boundary arguments: thread ids (nil, invalid, interrupt ids,
 * stale versions, threads of other tasks and of their own, bits above 35),
 * fpages (their own image, a scratch region, the whole space, kernel and
 * non-canonical addresses, I/O fpages, the 8 ports the root gave each),
 * receive descriptors and windows, timeouts, message tags with map, grant
 * and string items whose addresses are unmapped, kernel or non-canonical,
 * string receive buffers likewise (and pages of their own they unmapped,
 * so that a copy faults on the receiving side), task numbers (their own,
 * other tasks', the root's), debug ops. They make threads
 * (lthread_ex_regs) and tasks of their own (task_new: subclans) that
 * block, spin or fault, attach interrupt lines, and mess with each other.
 * Meanwhile a witness thread of the root calls an echo server in another
 * task, in registers, in the UTCB and with string items both ways, and
 * checks every answer; between calls it raises lines the fuzzers may hold
 * (the test kernel's L4_KDEBUG_RAISE_IRQ), grants lines, gives ports
 * again and reads the root's views of the kernel. The controller squeezes
 * the kernel pool one tick in eight (L4_KDEBUG_KMEM_LIMIT), so that calls
 * run it dry.
 *
 * Guided by coverage: on make fuzz's coverage kernel (L4_KDEBUG_COV), a
 * fuzzer runs programs of PROG calls, each call a replayable tape of its
 * random draws; a program after which the kernel had run blocks or edges
 * new to it is kept, and half the programs are kept ones mutated. On
 * other kernels (make test's user.fuzz) every program is fresh.
 *
 * Pass: the kernel never panics nor hangs; the mapping database check and
 * the kernel's self-check (ready queues, send queues, timeouts, pool
 * accounting: L4_KDEBUG_CHECK) pass whenever the witness asks (every 128
 * calls; they are the root's, a fuzzer gets "not allowed") and at the end;
 * the witness saw no wrong answer; deleting the fuzzer tasks gives back
 * every frame of the kernel pool they took.
 *
 * Children run the root's own code: the root's pager thread maps them the
 * root's pages at the same addresses, so memory is shared; only the
 * fuzzers' own writes may land there (pagers, receive buffers and map
 * items see to it: no_image_write). FUZZ_CALLS, FUZZ_SEED and FUZZ_GUIDE
 * are set by the Makefile for `make fuzz` (tests/fuzz/). */
#include "utest.h"

#ifndef FUZZ_CALLS
#define FUZZ_CALLS 100000
#endif
#ifndef FUZZ_SEED
#define FUZZ_SEED 0x4c347561u
#endif
/* 1: guided by the kernel's coverage where the kernel counts it (the
 * coverage kernel's L4_KDEBUG_COV); 0: every call fresh (the baseline
 * that guidance is measured against, make fuzz FUZZ_GUIDE=0). */
#ifndef FUZZ_GUIDE
#define FUZZ_GUIDE 1
#endif

#define NF        3                 /* fuzzer tasks */
#define TN_W      3                 /* the echo server's task */
#define TN_SINK   43                /* takes ports once (the I/O records' warm-up) */
#define TN_REF    44                /* refused_page_...: strings from and to unserved pages */
#define TN_F0     4                 /* fuzzer tasks TN_F0 .. TN_F0 + NF - 1 */
#define TN_SUB(i) (100 + 16 * (i))  /* 16 task numbers each fuzzer owns */
#define NSUB      16
#define FLT_MAX   10                /* lthreads 2..9 of a fuzzer: its playthings */
#define LT_PARTNER 10               /* and its partner thread (receives mostly) */
#define WLABEL    0x77697400u
#define PRIO_HIGH 120               /* root's threads, the echo server */
#define PRIO_FUZZ 100               /* fuzzers (their mcp too) */
#define SCRATCH   0x40000000000ull  /* receive windows land in [SCRATCH, +4 MiB) */
#define SCRATCH_S 22
#define KHALF     0xffff800000000000ull
/* I/O ports the root gives fuzzer i at its start: 8 at PORTS + 8 * i,
 * ports no device of QEMU's PC uses (nothing ever reads or writes them:
 * they are only mapped, granted and revoked). */
#define PORTS     0x2e0u
#define PORTS_S   3
/* Guidance (docs/reliability.md "Guided by coverage"). */
#define TAPE      48                /* draws of a call that are kept, mutable */
#define PROG      4                 /* calls of a program: the unit kept */
#define NCORP     32                /* programs a fuzzer keeps */
#define SLOW_US   1000              /* slower (a tick of waiting): not kept, or dropped */

enum { LT_PAGER = 1, LT_WITNESS = 2 };

extern char _end[];
#define IMAGE_START 0x400000ull
#define IMAGE_END   (((uint64_t)_end + 0xfff) & ~0xfffull)
#define IMAGE_LOG2  22              /* [IMAGE_START, IMAGE_END) is in this fpage */

/* Stacks of the children's threads that run C code (the root's .bss). */
enum { ST_ECHO, ST_SINK, ST_REF, ST_F0 };  /* then three per fuzzer: main, sub-pager, partner */
#define NSTACKS (ST_F0 + 3 * NF)
static uint64_t stacks[NSTACKS][2048] __attribute__((aligned(4096)));
static uint64_t stack_top(unsigned i) { return (uint64_t)&stacks[i][2048] - 8; }

/* ---- what everyone shares ---- */
#define POOL 64
#define POOL_FIXED 24                           /* the first ones stay */
static volatile uint64_t idpool[POOL];          /* ids to aim at */
static volatile unsigned idpool_n, idpool_fixed;
static volatile uint64_t echo_id, pager_id, witness_id;
static volatile uint64_t fz_helper[NF][2];
static volatile uint64_t fz_calls[NF], fz_done[NF], fz_bad_check[NF];
static volatile uint64_t fz_ok[NF][9];          /* calls that returned 0, per call */
static volatile uint64_t ipc_codes[16];         /* ipc results by code */
static volatile uint64_t witness_calls, witness_bad, witness_stop, witness_strings;
static volatile uint64_t bad_what[4];
static volatile uint64_t ctl_id;                /* the root's main thread: gives ports */
static volatile uint64_t fz_ports_ok[NF];       /* the ports arrived */
static volatile uint64_t fz_kept[NF][2], fz_progs[NF][2];  /* [fresh, mutated] */
static volatile uint64_t fz_prog_us[NF][2];     /* guest time in them, by kind */
static volatile uint64_t fz_dropped[NF];        /* kept programs dropped: slow mutants */
static volatile uint64_t irq_raised, ports_regiven, squeezes, squeezing, revoked;
static volatile uint64_t fz_helper_id[NF];     /* each fuzzer's partner thread */
/* Pages of each fuzzer's image that its threads unmap from themselves
 * and receive strings into: a string copy then faults on the receiving
 * side and the root's pager maps the page back mid-copy. */
static char fz_rbuf[NF][2][4096] __attribute__((aligned(8192)));

/* What the threads of a fuzzer that stopped are doing: each thread of
 * its task and its subclan's, with state (L4_TS_*), priority and the
 * partner it waits for, so that a fuzzer that blocked itself for good
 * (legitimately) can be told from a lost wake-up. */
static void dump_stuck(void)
{
    uint64_t id = 0, st, cpu, partner, pager;
    for (;;) {
        uint64_t a[6] = { L4_KDEBUG_THREAD_INFO, id };
        if (l4_syscall6(L4_SYS_KDEBUG, a) != L4_OK || !a[1])
            break;
        id = a[1];
        st = a[2];
        cpu = a[3];
        partner = a[4];
        pager = a[5];
        unsigned tn = L4_ID_TASK(id);
        for (unsigned i = 0; i < NF; i++)
            if (!fz_done[i] && (tn == TN_F0 + i || (tn >= TN_SUB(i) && tn < TN_SUB(i) + NSUB)))
                uprintf("  fuzzer %u: thread %lx state %lu prio %lu cpu %lu us partner %lx pager %lx\n",
                        i, id, st & 0xff, st >> 8, cpu, partner, pager);
    }
}

static void pool_add(uint64_t id)
{
    unsigned n = idpool_n;
    idpool[POOL_FIXED + n % (POOL - POOL_FIXED)] = id;  /* a race only loses an entry */
    idpool_n = n + 1;
}

/* ---- random numbers: xorshift64 with a tape ----
 * Every choice a call makes is a draw from its generator. The state s
 * advances on every draw; a draw returns tape[pos] while pos < n (a kept
 * call replayed, perhaps mutated) and the state's value after. The first
 * TAPE draws are recorded, so that a call that found new kernel code can
 * be kept as {s at its start, its draws} and replayed exactly, or with
 * some draws changed (later draws keep their values, though a change may
 * give them other meanings, as bytes of a libFuzzer input do). */
struct gen {
    uint64_t s;
    const uint64_t *tape;
    unsigned n, pos;
    uint64_t rec[TAPE];
};
static uint64_t rnd_(struct gen *g)
{
    g->s ^= g->s << 13;
    g->s ^= g->s >> 7;
    g->s ^= g->s << 17;
    uint64_t v = g->pos < g->n ? g->tape[g->pos] : g->s;
    if (g->pos < TAPE)
        g->rec[g->pos] = v;
    g->pos++;
    return v;
}
static void gen_start(struct gen *g, uint64_t s, const uint64_t *tape, unsigned n)
{
    g->s = s;
    g->tape = tape;
    g->n = n;
    g->pos = 0;
}
#define RND() rnd_(seed)
#define CHANCE(n) (RND() % (n) == 0)

/* Blocking and spinning bodies that use no stack (so any sp will do). */
__asm__(".text\n"
        "fz_blocker:\n"
        "1: xor %edi, %edi\n mov $-1, %rsi\n xor %edx, %edx\n xor %r10d, %r10d\n"
        "   xor %eax, %eax\n syscall\n jmp 1b\n"
        "fz_spinner:\n"
        "   mov $200, %ebx\n"
        "2: mov $3, %eax\n xor %edi, %edi\n syscall\n dec %ebx\n jnz 2b\n jmp fz_blocker\n");
extern char fz_blocker[], fz_spinner[];

static uint64_t rnd_id(struct gen *seed)
{
    switch (RND() % 12) {
    case 0: return L4_NILTHREAD;
    case 1: return L4_INVALID;
    case 2: return L4_IRQ_ID(RND() % 17);
    case 3: return L4_ID(RND() % 4096, RND() % 256, RND() & 0xffff);
    case 4: return RND();
    case 5: return idpool[RND() % POOL] ^ (1ull << (RND() % 40));     /* near miss */
    case 6: return L4_ID(L4_ROOT_TASK, RND() % 4, 0) | (RND() & 0xffff);
    case 7: case 8: return idpool[RND() % idpool_fixed];
    default: return idpool[RND() % POOL];
    }
}

static uint64_t rnd_addr(struct gen *seed)
{
    switch (RND() % 10) {
    case 0: return 0;
    case 1: return KHALF + (RND() & 0xffffffffull);
    case 2: return 0x0000800000000000ull + (RND() & 0xffffff);    /* non-canonical */
    case 3: return L4_UTCB_BASE + (RND() & 0xfffff);
    case 4: return L4_KIP_BASE + (RND() & 0xfff);
    case 5: return SCRATCH + (RND() & ((1ull << SCRATCH_S) - 1));
    case 6: return 0x7ffdfffff000ull + (RND() & 0x1fff);          /* around the limit */
    case 7: return RND();
    default: return IMAGE_START + RND() % (IMAGE_END - IMAGE_START);
    }
}

static uint64_t rnd_fpage(struct gen *seed)
{
    unsigned s = 12 + (unsigned)(RND() % 36);
    switch (RND() % 10) {
    case 0: return L4_FPAGE(0, L4_WHOLE_SPACE, RND() & 7);
    case 1: return RND();
    case 2:
        if (CHANCE(2)) {            /* the fuzzers' own ports, aligned or not */
            unsigned ps = (unsigned)(RND() % 5);
            return L4_IOFPAGE((PORTS + RND() % 32) & (CHANCE(8) ? ~0u : ~((1u << ps) - 1)), ps);
        }
        return L4_IOFPAGE(RND() & 0xffff, RND() % 18) | (CHANCE(4) ? RND() & 7 : 0);
    case 3: return L4_FPAGE(rnd_addr(seed) & ~((1ull << s) - 1), s, RND() & 7);
    case 4: s = 12 + (unsigned)(RND() % (SCRATCH_S - 11));
            return L4_FPAGE(SCRATCH + (RND() & ((1ull << SCRATCH_S) - 1) & ~((1ull << s) - 1)), s, 7);
    default: s = 12 + (unsigned)(RND() % 10);
             return L4_FPAGE(rnd_addr(seed) & ~((1ull << s) - 1), s, RND() & 7);
    }
}

/* Finite or zero, never "never": a fuzzer must not block for good (and
 * bounded, so the campaign ends). L4_TO(0, 0) is "never" (abi.md: m 0 and
 * e 0), so a random mantissa and exponent may not both be 0: they were,
 * about once in 500,000 timeouts, and a string copy that faulted on a
 * buffer the root's pager does not serve then waited for ever (seeds
 * 0xfe03524d and 0xb24995cb of 2,000,000 calls: issue 21). */
static uint16_t rnd_to(struct gen *seed)
{
    switch (RND() % 8) {
    case 0: case 1: case 2: case 3: return L4_TO_ZERO;
    case 4: return L4_TO(1 + RND() % 1023, RND() % 3);
    case 5:
        if (CHANCE(8)) {
            uint16_t t = L4_TO(RND() % 1024, RND() % 8);
            return t == L4_TO_NEVER ? L4_TO_ZERO : t;
        }
        return L4_TO(1 + RND() % 99, 0);
    default: return L4_TO(1 + RND() % 1023, 0);
    }
}

/* The fpage without write rights if it covers a page of the image: the
 * image is the root's memory (the state the checks read, everyone's
 * stacks), and a writable alias of it in another task (a string received
 * there) would break the harness, not the kernel. */
static bool covers_image(uint64_t fp)
{
    uint64_t base = L4_FPAGE_BASE(fp);
    unsigned s = L4_FPAGE_SIZE(fp);
    return !(fp & L4_FPAGE_IO) && base < IMAGE_END && (s >= 63 || base + (1ull << s) > IMAGE_START);
}
static uint64_t no_image_write(uint64_t fp)
{
    if (covers_image(fp))
        fp &= ~(uint64_t)L4_W;
    return fp;
}

/* A typed item: string, map, grant, I/O, or junk. Map and grant send
 * bases are the fpage's own base or in the scratch region, so that a
 * whole-space receive (a page-fault reply) never puts one page of the
 * image over another (the tasks share code: that would only kill them). */
static void rnd_item(struct gen *seed, uint64_t *w0, uint64_t *w1)
{
    uint64_t fp = rnd_fpage(seed);
    uint64_t base = CHANCE(2) ? L4_FPAGE_BASE(fp) : SCRATCH + (RND() & ((1ull << SCRATCH_S) - 1));
    switch (RND() % 6) {
    case 0: case 1:
        *w0 = (CHANCE(3) ? RND() % (1u << 22) : RND() % 8192) << 4 | L4_ITEM_STRING;
        if (CHANCE(16))
            *w0 = RND() << 4 | L4_ITEM_STRING;
        *w1 = rnd_addr(seed);
        break;
    case 2: *w0 = (base & ~0xfffull) | L4_ITEM_MAP; *w1 = no_image_write(fp); break;
    case 3: *w0 = (base & ~0xfffull) | L4_ITEM_GRANT; *w1 = no_image_write(fp); break;
    case 4:
        *w0 = CHANCE(3) ? L4_ITEM_GRANT : L4_ITEM_MAP;
        *w1 = CHANCE(3) ? L4_IOFPAGE(RND() & 0xffff, RND() % 17)
                        : L4_IOFPAGE((PORTS + RND() % 32) & ~3u, RND() % 3);
        break;
    default: *w0 = RND(); *w1 = no_image_write(RND());
    }
}

/* One random ipc from a fuzzer thread whose UTCB is u; rcv: mostly
 * receive (the partner thread). */
static uint64_t fuzz_ipc(struct gen *seed, unsigned me, struct l4_utcb *u, bool rcv)
{
    unsigned nu = (unsigned)(RND() % 20), nt = (unsigned)(RND() % 4);
    if (CHANCE(3))
        nt = 0;
    if (CHANCE(20)) {
        nu = (unsigned)(RND() % 128);
        nt = (unsigned)(RND() % 64);
    }
    uint64_t words[L4_MSG_WORDS + 2];
    for (unsigned k = 0; k < L4_MSG_WORDS; k++)
        words[k] = CHANCE(2) ? RND() : rnd_addr(seed);
    for (unsigned k = 0; k < nt && nu + 2 * k + 1 < L4_MSG_WORDS; k++)
        rnd_item(seed, &words[nu + 2 * k], &words[nu + 2 * k + 1]);
    for (unsigned k = 6; k < L4_MSG_WORDS; k++)
        u->mr[k] = words[k];
    uint64_t tag = L4_TAG(RND() & 0xffffffff, nu, nt) | (CHANCE(8) ? L4_TAG_DECEIVE : 0);
    if (CHANCE(30))
        tag = RND();
    if (CHANCE(rcv ? 2 : 8))
        tag = L4_NODESC;
    if (CHANCE(30))
        tag = L4_TAG(L4_LABEL_PAGEFAULT, 2, 0);
    uint64_t rd = RND() & 0x7f0f;
    if (rcv)
        rd = (rd & ~(uint64_t)L4_RCV_DETACH) | (CHANCE(4) ? 0 : L4_RCV_OPEN);
    if (CHANCE(6))
        rd = L4_NODESC;
    else if (CHANCE(30))
        rd = RND();
    u->rcv_window = CHANCE(4) ? rnd_fpage(seed) : ({
        unsigned s = 12 + (unsigned)(RND() % (SCRATCH_S - 11));
        L4_FPAGE(SCRATCH + (RND() & ((1ull << SCRATCH_S) - 1) & ~((1ull << s) - 1)), s, 7); });
    /* Never a window over my image: a map received there puts another
     * page (another page of the image, read-only, from a fuzzer that
     * mapped it at a scratch address or unmapped its own) where my code,
     * stacks or the checks' state are, and I run someone else's code: a
     * harness bug, not the kernel's (issue 21). The window moves to the
     * scratch region, its size and the place in it kept. */
    if (covers_image(u->rcv_window)) {
        unsigned s = L4_FPAGE_SIZE(u->rcv_window);
        s = s < 12 ? 12 : s > SCRATCH_S ? SCRATCH_S : s;
        u->rcv_window = L4_FPAGE(SCRATCH + (L4_FPAGE_BASE(u->rcv_window) & ((1ull << SCRATCH_S) - 1) &
                                            ~((1ull << s) - 1)), s, 7);
    }
    for (unsigned k = 0; k < 8; k++) {
        u->rcv_strings[k][0] = CHANCE(3) ? SCRATCH + (RND() & 0x3fffff)
                             : CHANCE(3) ? (uint64_t)fz_rbuf[me] + (RND() & 0x1fff) : rnd_addr(seed);
        u->rcv_strings[k][1] = CHANCE(8) ? RND() : RND() % (1u << (RND() % 23));
        /* Never into the image but my own buffers: it is the root's memory
         * (the state the checks read, everyone's stacks), mapped writable
         * to me; a string copied there would break the harness, not the
         * kernel. In my buffers, the copy must end in them too. */
        uint64_t b = u->rcv_strings[k][0], end = (uint64_t)fz_rbuf[me] + sizeof fz_rbuf[me];
        if (b >= IMAGE_START && b < IMAGE_END && (b < (uint64_t)fz_rbuf[me] || b >= end))
            u->rcv_strings[k][0] = b = (uint64_t)fz_rbuf[me] + (b & 0x1fff);
        if (b >= (uint64_t)fz_rbuf[me] && b < end && u->rcv_strings[k][1] > end - b)
            u->rcv_strings[k][1] = end - b;
    }
    u->virtual_sender = rnd_id(seed);
    uint64_t to = L4_TIMEOUTS(rnd_to(seed), rcv ? L4_TO(1 + RND() % 1023, RND() % 3) : rnd_to(seed),
                              rnd_to(seed), rnd_to(seed));
    uint64_t dest = rnd_id(seed);
    if (dest == witness_id && CHANCE(2))
        dest = echo_id;
    if (CHANCE(rcv ? 12 : 40)) {
        /* Attach to a line (a closed receive from its id, timeout zero),
         * detach, or wait for it: the witness raises them. */
        dest = L4_IRQ_ID(RND() % 17);
        tag = L4_NODESC;
        rd = CHANCE(4) ? L4_RCV_DETACH : CHANCE(8) ? (RND() & 0x7f0e) : 0;
        to = L4_TIMEOUTS(0, CHANCE(4) ? rnd_to(seed) : L4_TO_ZERO, 0, 0);
    } else if (!rcv && CHANCE(20)) {
        /* A string to a fuzzer's partner, which may receive it into a
         * buffer its task unmapped: the copy faults on the receiving side
         * (resolved, or failed by a page-fault timeout of zero). */
        dest = fz_helper_id[RND() % NF];
        tag = L4_TAG(RND() & 0xffff, 0, 1);
        words[0] = (CHANCE(2) ? 8192 : RND() % 8193) << 4 | L4_ITEM_STRING;
        words[1] = CHANCE(2) ? (uint64_t)fz_rbuf[RND() % NF] + (RND() & 0xfff) : rnd_addr(seed);
        rd = CHANCE(2) ? L4_NODESC : rd;
        to = L4_TIMEOUTS(L4_TO(1 + RND() % 999, RND() % 3), rnd_to(seed), rnd_to(seed), rnd_to(seed));
    }
    struct l4_msg m = { tag, { words[0], words[1], words[2], words[3], words[4], words[5] } };
    return l4_ipc(dest, tag, rd, to, &m, 0);
}

/* A system call with a random stack pointer (non-canonical, kernel, zero):
 * the kernel must neither use nor trust it. rbx keeps ours; the kernel
 * preserves it (abi.md). */
static uint64_t syscall_odd_rsp(uint64_t nr, uint64_t a0, uint64_t rsp)
{
    register uint64_t rax __asm__("rax") = nr;
    register uint64_t rdi __asm__("rdi") = a0;
    register uint64_t rsi __asm__("rsi") = L4_NODESC;
    register uint64_t rdx __asm__("rdx") = L4_NODESC;
    register uint64_t r10 __asm__("r10") = 0;
    __asm__ volatile("mov %%rsp, %%rbx\n\tmov %[sp], %%rsp\n\tsyscall\n\tmov %%rbx, %%rsp"
                     : "+r"(rax), "+r"(rdi), "+r"(rsi), "+r"(rdx), "+r"(r10)
                     : [sp] "r"(rsp)
                     : "rbx", "rcx", "r8", "r9", "r11", "memory");
    return rax;
}

static void fuzz_one(unsigned me, struct gen *seed)
{
    struct l4_utcb *u = l4_utcb_of(0);
    uint64_t a[6] = { rnd_id(seed), RND(), RND(), RND(), RND(), RND() };
    unsigned call = (unsigned)(RND() % 9);
    uint64_t r = 0;
    switch (call) {
    case L4_SYS_IPC:
        r = fuzz_ipc(seed, me, u, false);
        ipc_codes[L4_IPC_ERR(r) & 15]++;
        break;
    case L4_SYS_ID_NEAREST:
        r = l4_syscall6(call, a);
        break;
    case L4_SYS_FPAGE_UNMAP:
        a[0] = rnd_fpage(seed);
        a[1] = CHANCE(10) ? RND() : RND() & 3;
        if (CHANCE(4)) {            /* the receive buffers: a later copy faults */
            a[0] = L4_FPAGE((uint64_t)fz_rbuf[me], 13, L4_RWX);
            a[1] = L4_UNMAP_OWN | L4_UNMAP_FLUSH;
        }
        r = l4_syscall6(call, a);
        break;
    case L4_SYS_THREAD_SWITCH:
        if (CHANCE(2))
            a[0] = L4_NILTHREAD;
        r = l4_syscall6(call, a);
        break;
    case L4_SYS_THREAD_SCHEDULE:
        a[1] = CHANCE(3) ? ~0ull : CHANCE(3) ? RND() : RND() % 300;
        a[2] = CHANCE(3) ? ~0ull : CHANCE(3) ? RND() : 50 + RND() % 20000;
        if (a[0] == l4_myself(0) || a[0] == l4_myself(1) || a[0] == l4_myself(LT_PARTNER))
            a[1] = ~0ull;           /* a fuzzer that starves itself ends nothing */
        r = l4_syscall6(call, a);
        break;
    case L4_SYS_LTHREAD_EX_REGS: {
        unsigned lt = (unsigned)(CHANCE(10) ? RND() % 400 : RND() % FLT_MAX);
        a[0] = CHANCE(30) ? RND() : lt;
        static const uint64_t ips[] = { 0, 0x10000000, KHALF, 0x0000800000000000ull, ~0ull };
        switch (RND() % 5) {
        case 0: a[1] = (uint64_t)fz_blocker; break;
        case 1: a[1] = (uint64_t)fz_spinner; break;
        case 2: a[1] = ~0ull; break;
        default: a[1] = ips[RND() % 5];
        }
        a[2] = CHANCE(4) ? ~0ull : CHANCE(3) ? rnd_addr(seed) : SCRATCH;
        a[3] = CHANCE(2) ? ~0ull : rnd_id(seed);
        a[4] = CHANCE(2) ? ~0ull : rnd_id(seed);
        /* r9: delete the thread, restart it (its callers' waits end), or
         * neither (a random word is never the magic one) */
        a[5] = CHANCE(8) ? L4_EXREGS_DELETE : CHANCE(8) ? L4_EXREGS_RESTART : a[5];
        if (a[0] < 2 || a[0] == LT_PARTNER) {   /* our own C threads: look only */
            a[1] = a[2] = a[3] = a[4] = ~0ull;
            a[5] = 0;
        }
        r = l4_syscall6(call, a);
        if (r == L4_OK)
            pool_add(a[0]);
        break;
    }
    case L4_SYS_TASK_NEW: {
        unsigned tn = TN_SUB(me) + (unsigned)(RND() % NSUB);
        a[0] = CHANCE(6) ? rnd_id(seed) : L4_ID(tn, RND() % 4, RND() & 0xffff);
        a[1] = CHANCE(4) ? RND() : RND() % 256;
        a[2] = CHANCE(2) ? (uint64_t)fz_blocker : CHANCE(2) ? (uint64_t)fz_spinner : rnd_addr(seed);
        a[3] = CHANCE(4) ? rnd_addr(seed) : SCRATCH;
        a[4] = CHANCE(3) ? L4_NILTHREAD : CHANCE(2) ? l4_myself(1) : rnd_id(seed);
        a[5] = CHANCE(2) ? L4_NILTHREAD : rnd_id(seed);
        r = l4_syscall6(call, a);
        if (r == L4_OK && a[0])
            pool_add(a[0]);
        break;
    }
    case L4_SYS_KDEBUG:
        /* op 0 would only print noise (a mutated draw may still make it
         * 0); every op but PUTC, KMEM and COV is the root's
         * (kernel/kdebug.h) and must answer "not allowed" to a fuzzer. */
        a[0] = 1 + RND() % 13;
        if (CHANCE(20))
            a[0] = RND();
        r = l4_syscall6(call, a);
        if (a[0] <= L4_KDEBUG_KMEM_LIMIT && a[0] != L4_KDEBUG_PUTC && a[0] != L4_KDEBUG_KMEM &&
            a[0] != L4_KDEBUG_COV && r != L4_EPERM) {
            fz_bad_check[me]++;
            bad_what[0] = a[0] | (uint64_t)r << 8;
        }
        break;
    default:                        /* numbers that are no call */
        if (CHANCE(4)) {
            uint64_t sp = CHANCE(2) ? 0x8000000000000000ull | RND() : rnd_addr(seed);
            r = syscall_odd_rsp(CHANCE(2) ? L4_SYS_THREAD_SWITCH : L4_SYS_ID_NEAREST, rnd_id(seed), sp);
            call = L4_SYS_THREAD_SWITCH;
        } else {
            r = l4_syscall6(8 + (CHANCE(2) ? RND() % 8 : RND()), a);
        }
    }
    if (L4_IPC_ERR(r) == 0)
        fz_ok[me][call]++;
}

/* An open receive of a server thread: a message may take for ever, a
 * page fault of the sender's string never (no thread of the root's
 * accepts strings but the witness, whose timeouts are its own). */
#define RCV_FOREVER L4_TIMEOUTS(0, 0, L4_TO_ZERO, L4_TO_ZERO)

/* A pager's answer to a fault at page: the page (identity), and the next
 * fault. A map the pool has no memory for fails (L4_IPC_MAP_FAILED) and
 * the kernel stops the faulting thread (abi.md "Page faults"), so the
 * root's pager (wait) answers no fault while the controller squeezes the
 * pool: its priority is above the controller's, so the squeeze cannot
 * begin between its look and its answer. */
static uint64_t pager_reply(uint64_t to, uint64_t page, unsigned rights, bool wait, struct l4_msg *m,
                            uint64_t *from)
{
    while (wait && squeezing)
        usleep_us(200);
    m->w[0] = page | L4_ITEM_MAP;
    m->w[1] = L4_FPAGE(page, 12, rights);
    return l4_ipc(to, L4_TAG(0, 0, 1), L4_RCV_OPEN, L4_TIMEOUTS(L4_TO_ZERO, 0, L4_TO_ZERO, L4_TO_ZERO),
                  m, from);
}

/* A pager's refusal of a fault it does not serve (outside the image, or
 * a thread that faults for ever where it was given the page): a map
 * item of a kernel fpage, which fails (L4_IPC_MAP_FAILED, abi.md), so
 * that the kernel ends what waits for the page instead of leaving it to
 * its timeout: a string copy fails with the page-fault code of the
 * faulting side, a user page fault stops the thread. Silence instead
 * let a string copy whose partner allows "never" for a page wait for
 * good (issue 21). Never waits: nothing is mapped. */
static uint64_t pager_refuse(uint64_t to, struct l4_msg *m, uint64_t *from)
{
    m->w[0] = L4_ITEM_MAP;
    m->w[1] = L4_FPAGE(KHALF, 12, L4_R);
    return l4_ipc(to, L4_TAG(0, 0, 1), L4_RCV_OPEN, L4_TIMEOUTS(L4_TO_ZERO, 0, L4_TO_ZERO, L4_TO_ZERO),
                  m, from);
}

/* A fuzzer task's lthread 1: the pager of its subtasks (and of any of its
 * threads the fuzz names it for). Identity: the fuzzer's own page at the
 * same address, touched first so that it is there to map, read-only and
 * executable: a subtask may run from any address of the image (its ip is
 * random) and must not write the state the checks read. A writer would
 * fault on the page it was given for ever, taking the CPU from the
 * fuzzers: the same fault from the same thread a ninth time in a row is
 * refused (the thread stops, as for a page outside the image). */
static void sub_pager(void)
{
    struct l4_msg m = { 0 };
    uint64_t from, last_from = 0, last_page = 0, again = 0;
    uint64_t r = l4_ipc(L4_NILTHREAD, L4_NODESC, L4_RCV_OPEN, RCV_FOREVER, &m, &from);
    for (;;) {
        uint64_t page = m.w[0] & ~0xfffull;
        again = from == last_from && page == last_page ? again + 1 : 0;
        last_from = from;
        last_page = page;
        if (L4_IPC_ERR(r) || L4_TAG_LABEL(m.tag) != L4_LABEL_PAGEFAULT) {
            r = l4_ipc(L4_NILTHREAD, L4_NODESC, L4_RCV_OPEN, RCV_FOREVER, &m, &from);
            continue;
        }
        if (page < IMAGE_START || page >= IMAGE_END || again >= 8) {
            r = pager_refuse(from, &m, &from);
            continue;
        }
        (void)*(volatile char *)page;
        r = pager_reply(from, page, L4_R | L4_X, false, &m, &from);
    }
}

/* A fuzzer's lthread LT_PARTNER: mostly receives (open or closed, with
 * random windows and string buffers), so that messages meet someone. */
static void __attribute__((noreturn)) partner(unsigned me)
{
    struct gen g, *seed = &g;
    gen_start(seed, FUZZ_SEED ^ ((uint64_t)(me + 1) * 0x51ed27f3a1b3c5d7ull), 0, 0);
    while (!fz_done[me]) {
        seed->pos = 0;
        fuzz_ipc(seed, me, l4_utcb_of(LT_PARTNER), true);
    }
    for (;;)
        __asm__ volatile("jmp fz_blocker");
}
static void __attribute__((noreturn)) partner0(void) { partner(0); }
static void __attribute__((noreturn)) partner1(void) { partner(1); }
static void __attribute__((noreturn)) partner2(void) { partner(2); }
static void (*const partner_entry[NF])(void) = { partner0, partner1, partner2 };

/* ---- guidance: programs that reached new kernel code, kept and mutated ---- */
struct call {
    uint64_t s;                     /* the generator's state at the call's start */
    unsigned n;                     /* its draws kept (at most TAPE) */
    uint64_t tape[TAPE];
};
struct prog {
    struct call c[PROG];
    uint64_t us;                    /* guest time it took when kept */
    uint64_t mut_us, muts;          /* its mutants' guest time, and how many ran */
};
/* What a kept program costs: its mutants' mean time once some ran. */
static uint64_t prog_cost(const struct prog *q)
{
    return q->muts ? q->mut_us / q->muts : q->us;
}
static struct prog corpus[NF][NCORP];
static unsigned ncorp[NF], corp_next[NF];

/* Blocks and edges of kernel code run so far (mine: first run while a
 * thread of my task was current); 0 if this kernel does not count them
 * (only make fuzz's coverage kernel does). */
static uint64_t kcov_(bool mine)
{
    uint64_t all = 0, my = 0;
    if (l4_kdebug(L4_KDEBUG_COV, 0, &all, &my) != L4_OK)
        return 0;
    return mine ? my : all;
}
#define kcov() kcov_(false)

/* A program like a kept one, changed a little: one call's draws changed
 * (a random value, a flipped bit, a small or extreme number, the same
 * draw of another kept call), cut short (the rest fresh), replaced by a
 * fresh call or by a call of another kept program. */
static unsigned mutate(unsigned me, struct gen *m, struct prog *p)
{
    /* Of two kept programs the faster: a kept program that waited (a
     * timeout's path is new code too) would otherwise breed slow ones. */
    unsigned a = (unsigned)(rnd_(m) % ncorp[me]), b = (unsigned)(rnd_(m) % ncorp[me]);
    unsigned parent = prog_cost(&corpus[me][a]) <= prog_cost(&corpus[me][b]) ? a : b;
    *p = corpus[me][parent];
    for (unsigned rounds = 1 + (unsigned)(rnd_(m) % 3); rounds--;) {
        struct call *c = &p->c[rnd_(m) % PROG];
        const struct prog *o = &corpus[me][rnd_(m) % ncorp[me]];
        unsigned j = c->n ? (unsigned)(rnd_(m) % c->n) : 0;
        switch (rnd_(m) % 8) {
        case 0: if (c->n) c->tape[j] = rnd_(m); break;
        case 1: if (c->n) c->tape[j] ^= 1ull << (rnd_(m) % 64); break;
        case 2: if (c->n) c->tape[j] = rnd_(m) % 17; break;
        case 3: if (c->n) c->tape[j] = ~0ull - rnd_(m) % 4; break;
        case 4: if (c->n && j < o->c[0].n) c->tape[j] = o->c[0].tape[j]; break;
        case 5: c->n = j; break;
        case 6: c->s = rnd_(m); c->n = 0; break;
        default: *c = o->c[rnd_(m) % PROG];
        }
    }
    return parent;
}

static void __attribute__((noreturn)) fuzz_main(unsigned me)
{
    struct gen master, *seed = &master, g;
    gen_start(seed, FUZZ_SEED ^ ((uint64_t)(me + 1) * 0x9e3779b97f4a7c15ull), 0, 0);
    for (int k = 0; k < 8; k++)
        RND();
    uint64_t id;
    /* First my ports, from the root: a closed receive that accepts maps. */
    struct l4_msg pm = { 0 };
    uint64_t pr = l4_ipc(ctl_id, L4_NODESC, L4_RCV_MAPS, L4_TIMEOUTS(0, uto_us(5000000), 0, 0),
                         &pm, 0);
    fz_ports_ok[me] = L4_IPC_ERR(pr) == L4_IPC_OK && L4_TAG_T(pm.tag) == 1;
    if (l4_lthread_ex_regs(1, (uint64_t)sub_pager, stack_top(ST_F0 + 3 * me + 1), ~0ull, ~0ull,
                           &id, 0) == L4_OK)
        fz_helper[me][1] = id;
    if (l4_lthread_ex_regs(LT_PARTNER, (uint64_t)partner_entry[me], stack_top(ST_F0 + 3 * me + 2),
                           ~0ull, ~0ull, &id, 0) == L4_OK)
        fz_helper[me][0] = id;
    /* Programs of PROG calls: fresh, or (guided, once some are kept) half
     * the time a kept one mutated. One whose calls made the kernel's count
     * of blocks and edges grow is kept (the oldest goes when full). */
    bool guided = FUZZ_GUIDE && kcov() != 0;
    static struct prog cur[NF];
    struct prog *p = &cur[me];
    for (uint64_t n = 0; n < FUZZ_CALLS / NF;) {
        bool mut = guided && ncorp[me] && CHANCE(2);
        unsigned parent = 0;
        if (mut) {
            parent = mutate(me, seed, p);
        } else {
            for (unsigned k = 0; k < PROG; k++)
                p->c[k] = (struct call){ .s = RND(), .n = 0 };
        }
        uint64_t before = guided ? kcov_(true) : 0, t = unow_us();
        for (unsigned k = 0; k < PROG && n < FUZZ_CALLS / NF; k++, n++) {
            struct call *c = &p->c[k];
            gen_start(&g, c->s, c->tape, c->n);
            fuzz_one(me, &g);
            c->n = g.pos < TAPE ? g.pos : TAPE;
            for (unsigned j = 0; j < c->n; j++)
                c->tape[j] = g.rec[j];
            fz_calls[me] = n + 1;
        }
        fz_progs[me][mut]++;
        p->us = unow_us() - t;
        fz_prog_us[me][mut] += p->us;
        /* A kept program costs what its mutants cost, and is dropped
         * once 8 or more of them took more than SLOW_US each on average.
         * A fast program may breed slow ones (one changed draw makes a
         * zero timeout finite, or aims a send at a thread that never
         * receives): seed 0x30c4bb49's second fuzzer ran its kept
         * programs in 0-3 ms, their mutants in 5.1 ms each on average
         * (fresh ones in 0.44 ms), and crawled at 300-650 calls a second
         * of guest time, 10 to 20 times slower than the other two. */
        if (mut) {
            struct prog *q = &corpus[me][parent];
            q->mut_us += p->us;
            if (++q->muts >= 8 && q->mut_us > SLOW_US * q->muts) {
                *q = corpus[me][--ncorp[me]];
                fz_dropped[me]++;
            }
        }
        /* Kept if it ran new kernel code, and did not wait: one that
         * reached new code by waiting (a timeout's path) would breed
         * programs that wait, and slow the fuzzer down to a crawl (a
         * LONG=1 seed's third fuzzer did 200 calls a second). The clock
         * counts ticks: SLOW_US lets a program cross one. When full, the
         * oldest place goes. */
        if (guided && kcov_(true) > before && p->us <= SLOW_US) {
            p->mut_us = p->muts = 0;
            if (ncorp[me] < NCORP)
                corpus[me][ncorp[me]++] = *p;
            else
                corpus[me][corp_next[me]++ % NCORP] = *p;
            fz_kept[me][mut]++;
        }
    }
    fz_done[me] = 1;
    for (;;)
        __asm__ volatile("jmp fz_blocker");
}

/* Entry points of the fuzzer tasks' first threads (one per fuzzer). */
static void __attribute__((noreturn)) fuzz_main0(void) { fuzz_main(0); }
static void __attribute__((noreturn)) fuzz_main1(void) { fuzz_main(1); }
static void __attribute__((noreturn)) fuzz_main2(void) { fuzz_main(2); }
static void (*const fuzz_entry[NF])(void) = { fuzz_main0, fuzz_main1, fuzz_main2 };

/* ---- the root's pager for all children: identity, image pages only ----
 * Other faults are refused (pager_refuse). */
static void root_pager(uint64_t arg)
{
    (void)arg;
    struct l4_msg m = { 0 };
    uint64_t from, last_from = 0, last_page = 0, again = 0;
    uint64_t r = l4_ipc(L4_NILTHREAD, L4_NODESC, L4_RCV_OPEN, RCV_FOREVER, &m, &from);
    for (;;) {
        uint64_t page = m.w[0] & ~0xfffull;
        again = from == last_from && page == last_page ? again + 1 : 0;
        last_from = from;
        last_page = page;
        unsigned tn = L4_ID_TASK(from);
        bool ours = tn == TN_W || tn == TN_SINK || tn == TN_REF || (tn >= TN_F0 && tn < TN_F0 + NF);
        if (L4_IPC_ERR(r) || L4_TAG_LABEL(m.tag) != L4_LABEL_PAGEFAULT) {
            r = l4_ipc(L4_NILTHREAD, L4_NODESC, L4_RCV_OPEN, RCV_FOREVER, &m, &from);
            continue;
        }
        if (page < IMAGE_START || page >= IMAGE_END || (!ours && again >= 8)) {
            r = pager_refuse(from, &m, &from);
            continue;
        }
        if (ours && again >= 3) {
            /* Faulting again where it was given the page: another mapping
             * sits there (one a fuzzer received into its own image from
             * another, read-only or of another page), which a map from
             * here does not replace. Take back every page of the image
             * derived from mine, everywhere (they fault them in again),
             * and give this one anew. */
            l4_fpage_unmap(L4_FPAGE(IMAGE_START, IMAGE_LOG2, L4_RWX), L4_UNMAP_FLUSH);
            revoked++;
        }
        /* Writable only for the tasks the root made to run its code: a
         * subtask a fuzzer named this pager for may run from any address
         * of the image, and must not write the state the checks read. */
        r = pager_reply(from, page, ours ? L4_RWX : L4_R | L4_X, true, &m, &from);
    }
}

/* ---- the witness: an echo server in task TN_W and a client in the root ---- */
static char echo_buf[256];
/* How long a string copy of the witness's round trip may wait for a page
 * of the echo server's (0.5 s: the root's pager holds its answers while
 * the pool is squeezed, 20 ms at a time). */
#define PF_WAIT L4_TO(977, 9)
static char wit_out[64], wit_in[64];

static void __attribute__((noreturn)) echo_main(void)
{
    struct l4_utcb *u = l4_utcb_of(0);
    struct l4_msg m = { 0 };
    uint64_t from, tag;
    echo_buf[0] = 1;                /* fault it in now */
    u->rcv_strings[0][0] = (uint64_t)echo_buf;
    u->rcv_strings[0][1] = sizeof echo_buf;
    const uint64_t rd = L4_RCV_OPEN | L4_RCV_STRINGS;
    /* Wait for ever for a message, never for ever for a page: a sender's
     * string page its pager does not serve (a fuzzer's, outside the
     * image) is waited for as long as my receive page-fault timeout says;
     * "never" there stopped a fuzzer for good (issue 21's stuck seeds). */
    const uint64_t to = L4_TIMEOUTS(0, 0, PF_WAIT, PF_WAIT);
    uint64_t r = l4_ipc(L4_NILTHREAD, L4_NODESC, rd, to, &m, &from);
    for (;;) {
        if (L4_IPC_ERR(r)) {
            r = l4_ipc(L4_NILTHREAD, L4_NODESC, rd, to, &m, &from);
            continue;
        }
        unsigned nu = L4_TAG_U(m.tag), nt = L4_TAG_T(m.tag);
        tag = L4_TAG(0, 0, 0);
        if (L4_TAG_LABEL(m.tag) == WLABEL && nu <= 12 && nt <= 1) {
            for (unsigned k = 0; k < nu; k++) {
                if (k < 6)
                    m.w[k] = ~m.w[k];
                else
                    u->mr[k] = ~u->mr[k];
            }
            if (nt) {               /* the string back, from my buffer */
                uint64_t len = u->mr[nu] >> 4;
                u->mr[nu] = len << 4 | L4_ITEM_STRING;
                u->mr[nu + 1] = (uint64_t)echo_buf;
            }
            tag = L4_TAG(WLABEL, nu, nt);
        }
        /* Never wait to reply: a client that does not receive loses it.
         * But a page of echo_buf may be gone (the root's pager revokes
         * the image when a fuzzer's mapping sits in its way) and must be
         * fetched, which may wait out a squeeze of the pool: PF_WAIT. */
        r = l4_ipc(from, tag, rd, L4_TIMEOUTS(L4_TO_ZERO, 0, PF_WAIT, PF_WAIT), &m, &from);
    }
}

/* Takes every map sent to it (the I/O records' warm-up). */
static void __attribute__((noreturn)) port_sink(void)
{
    struct l4_msg m = { 0 };
    for (;;)
        l4_ipc(L4_NILTHREAD, L4_NODESC, L4_RCV_OPEN | L4_RCV_MAPS, RCV_FOREVER, &m, 0);
}

static void witness(uint64_t arg)
{
    (void)arg;
    struct l4_utcb *u = l4_utcb_of(LT_WITNESS);
    u->rcv_strings[0][0] = (uint64_t)wit_in;
    u->rcv_strings[0][1] = sizeof wit_in;
    while (!echo_id)
        usleep_us(1000);
    for (uint64_t i = 1; !witness_stop; i++) {
        unsigned nu = (i & 1) ? 6 : 12, nt = (i % 4 == 0);
        struct l4_msg m = { 0 };
        for (unsigned k = 0; k < 6; k++)
            m.w[k] = i * 0x100 + k;
        for (unsigned k = 6; k < nu; k++)
            u->mr[k] = i * 0x100 + k;
        if (nt) {
            for (unsigned k = 0; k < sizeof wit_out; k++)
                wit_out[k] = (char)(i + k * 7);
            u->mr[nu] = sizeof wit_out << 4 | L4_ITEM_STRING;
            u->mr[nu + 1] = (uint64_t)wit_out;
        }
        /* Register-only calls wait forever (the fast path's case); the
         * others for at most 2 s in each phase, and PF_WAIT for a page of
         * the echo server's buffer to come back. */
        uint16_t to = nu == 6 && !nt ? L4_TO_NEVER : L4_TO(977, 11);
        uint64_t from;
        uint64_t r = l4_ipc(echo_id, L4_TAG(WLABEL, nu, nt), L4_RCV_STRINGS,
                            L4_TIMEOUTS(to, to, PF_WAIT, PF_WAIT), &m, &from);
        bool ok = L4_IPC_ERR(r) == L4_IPC_OK && from == echo_id && L4_TAG_LABEL(m.tag) == WLABEL &&
                  L4_TAG_U(m.tag) == nu && L4_TAG_T(m.tag) == nt;
        for (unsigned k = 0; ok && k < nu; k++)
            ok = *l4_mr(&m, u, k) == ~(i * 0x100 + k);
        if (ok && nt) {
            ok = u->mr[nu] >> 4 == sizeof wit_out && u->mr[nu + 1] == (uint64_t)wit_in;
            for (unsigned k = 0; ok && k < sizeof wit_out; k++)
                ok = wit_in[k] == wit_out[k];
            wit_in[0] ^= 0x55;      /* so a stale copy would not pass */
            witness_strings += ok;
        }
        if (!ok && !witness_bad) {
            bad_what[1] = r;
            bad_what[2] = i;
        }
        witness_bad += !ok;
        witness_calls++;
        if (i % 128 == 64) {
            /* The root's views of the kernel (the shell's), amid the
             * fuzzing: threads from a wild id on, a line (or no line), the
             * log from a wild position. Each must answer L4_OK, or L4_EINVAL
             * for a line that does not exist, and nothing more. */
            uint64_t a[6] = { L4_KDEBUG_THREAD_INFO, (i & 0x100) ? idpool[(i / 128) % POOL] : i * 0x9e3779b97f4a7c15ull };
            uint64_t r1 = l4_syscall6(L4_SYS_KDEBUG, a);
            uint64_t line = (i / 128) % (L4_NUM_IRQS + 2), owner, pos;
            uint64_t r2 = l4_kdebug(L4_KDEBUG_IRQ_INFO, line, &owner, 0);
            uint64_t r3 = l4_kdebug(L4_KDEBUG_KLOG, (i & 0x200) ? i * 977 : ~0ull - i, &pos, 0);
            if ((r1 != L4_OK || r2 != (line < L4_NUM_IRQS ? L4_OK : L4_EINVAL) || r3 != L4_OK) &&
                !fz_bad_check[0]) {
                fz_bad_check[0]++;
                bad_what[0] = L4_KDEBUG_THREAD_INFO | r1 << 8 | r2 << 16 | r3 << 24;
            }
        }
        if (i % 128 == 0) {         /* the root's checks, amid the fuzzing */
            uint64_t c[6] = { L4_KDEBUG_CHECK };
            uint64_t mr = l4_kdebug(L4_KDEBUG_MDB_CHECK, 0, 0, 0), kr = l4_syscall6(L4_SYS_KDEBUG, c);
            if (mr != L4_OK || kr != L4_OK) {
                fz_bad_check[0]++;
                bad_what[0] = (mr != L4_OK ? L4_KDEBUG_MDB_CHECK : L4_KDEBUG_CHECK) | c[3] << 8;
            }
        }
        if (i % 2 == 0) {
            /* Raise a line a fuzzer may hold (a closed receive from an
             * IRQ id attaches it): delivery, pending, acknowledge. Not 2,
             * the cascade (never attachable: a raise would only mask it). */
            static const uint8_t lines[] = { 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
            uint64_t kr = l4_kdebug(L4_KDEBUG_RAISE_IRQ, lines[(i / 2) % sizeof lines], 0, 0);
            if (kr != L4_OK && !fz_bad_check[0]) {
                fz_bad_check[0]++;
                bad_what[0] = L4_KDEBUG_RAISE_IRQ | kr << 8;
            }
            irq_raised++;
        }
        if (i % 128 == 96) {
            /* Grant a line to a fuzzer's task (its threads alone may attach
             * it; another task's holder is detached) or to any task again. */
            static const uint8_t glines[] = { 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
            unsigned f = (unsigned)(i / 128) % (NF + 1);
            uint64_t kr = l4_kdebug(L4_KDEBUG_IRQ_GRANT,
                                    glines[(i / 512) % sizeof glines] | (f < NF ? TN_F0 + f : 0) << 8, 0, 0);
            if (kr != L4_OK && !fz_bad_check[0]) {
                fz_bad_check[0]++;
                bad_what[0] = L4_KDEBUG_IRQ_GRANT | kr << 8;
            }
        }
        if (i % 8 == 0) {
            /* The ports again, to a fuzzer's partner if it takes maps now
             * (fuzzers revoke and grant theirs away); never waits. */
            unsigned f = (unsigned)(i / 8) % NF;
            struct l4_msg pm = { L4_TAG(0x10, 0, 1), { L4_ITEM_MAP, L4_IOFPAGE(PORTS + 8 * f, PORTS_S) } };
            if (fz_helper_id[f] && L4_IPC_ERR(l4_ipc(fz_helper_id[f], pm.tag, L4_NODESC,
                                                     L4_TIMEOUTS(L4_TO_ZERO, 0, L4_TO_ZERO, 0), &pm, 0)) == 0)
                ports_regiven++;
        }
        if (i % 4 == 0)
            usleep_us(1000);        /* leave the CPU to the fuzzers */
    }
    uthread_exit();
}

/* ---- the controller ---- */
static uint64_t kmem_used(void)
{
    uint64_t used = 0, limit = 0;
    l4_kdebug(L4_KDEBUG_KMEM, 0, &used, &limit);
    return used;
}

static uint64_t kcheck(uint64_t *used, uint64_t *held)
{
    uint64_t a[6] = { L4_KDEBUG_CHECK };
    uint64_t r = l4_syscall6(L4_SYS_KDEBUG, a);
    *used = a[1];
    *held = a[2];
    if (r != L4_OK)
        uprintf("  kernel check: %lx failed (pool %lu used, %lu held)\n", a[3], a[1], a[2]);
    return r;
}

static void set_prio(uint64_t id, unsigned prio)
{
    l4_thread_schedule(id, prio, ~0ull, 0);
}

UTEST(kernel_check_at_rest)
{
    uint64_t used, held;
    UCHECK_EQ(kcheck(&used, &held), L4_OK);
    UCHECK_EQ(used, held);
}

/* The root's pager, once (the cases share it). */
static void start_pager(void)
{
    if (!pager_id) {
        pager_id = uthread_start(LT_PAGER, root_pager, 0);
        set_prio(pager_id, PRIO_HIGH + 10);
    }
}

/* A child of the root (paged by the root's pager) sends the root a string
 * from a page outside the image, then receives one into a buffer outside
 * it, each time allowing "never" for the page (its partner's page-fault
 * timeouts are "never" too). The root's pager serves no such page: it
 * must refuse it, and each copy end with the page-fault code of the side
 * whose page it was, for both sides, instead of waiting for good (the
 * stalls of issue 21's LONG runs). */
static volatile uint64_t ref_res[2], ref_done;
#define REF_PAGE (SCRATCH + 0x100000)   /* nobody maps it to the child */
static void __attribute__((noreturn)) ref_child(void)
{
    struct l4_utcb *u = l4_utcb_of(0);
    struct l4_msg m = { L4_TAG(0x5e, 0, 1), { 64 << 4 | L4_ITEM_STRING, REF_PAGE } };
    ref_res[0] = l4_ipc(ctl_id, m.tag, L4_NODESC, L4_TIMEOUTS(0, 0, 0, 0), &m, 0);
    u->rcv_strings[0][0] = REF_PAGE;
    u->rcv_strings[0][1] = 4096;
    struct l4_msg r = { 0 };
    ref_res[1] = l4_ipc(ctl_id, L4_NODESC, L4_RCV_STRINGS, L4_TIMEOUTS(0, 0, 0, 0), &r, 0);
    ref_done = 1;
    for (;;)
        __asm__ volatile("jmp fz_blocker");
}

UTEST(refused_page_ends_a_string_copy_that_allows_never)
{
    uint64_t me = l4_myself(0), child, x;
    ctl_id = me;
    set_prio(me, PRIO_HIGH);
    start_pager();
    struct l4_utcb *u = l4_utcb_of(0);
    static char buf[128];
    u->rcv_strings[0][0] = (uint64_t)buf;
    u->rcv_strings[0][1] = sizeof buf;
    UCHECK_EQ(l4_task_new(L4_ID(TN_REF, 0, 0), PRIO_HIGH - 1, (uint64_t)ref_child, stack_top(ST_REF),
                          pager_id, 0, &child), L4_OK);
    /* Its string, from its unserved page: my receive allows "never" for
     * the page, and 2 s for the message (a bound for this case only). */
    struct l4_msg m = { 0 };
    uint64_t from = 0;
    uint64_t r = l4_ipc(child, L4_NODESC, L4_RCV_STRINGS, L4_TIMEOUTS(0, uto_us(2000000), 0, 0), &m,
                        &from);
    UCHECK_EQ(L4_IPC_ERR(r), L4_IPC_SND_PF_TIMEOUT);
    /* My string, into its unserved buffer: my send allows "never" for the
     * page, 2 s for the child to be there. */
    static char out[64] = "to a page nobody serves";
    struct l4_msg s = { L4_TAG(0x5f, 0, 1), { sizeof out << 4 | L4_ITEM_STRING, (uint64_t)out } };
    r = l4_ipc(child, s.tag, L4_NODESC, L4_TIMEOUTS(uto_us(2000000), 0, 0, 0), &s, 0);
    UCHECK_EQ(L4_IPC_ERR(r), L4_IPC_RCV_PF_TIMEOUT);
    for (unsigned k = 0; k < 200 && !ref_done; k++)
        usleep_us(1000);
    UCHECK(ref_done);
    UCHECK_EQ(L4_IPC_ERR(ref_res[0]), L4_IPC_SND_PF_TIMEOUT);
    UCHECK_EQ(L4_IPC_ERR(ref_res[1]), L4_IPC_RCV_PF_TIMEOUT);
    UCHECK_EQ(l4_task_new(L4_ID(TN_REF, 0, 0), 0, 0, 0, L4_NILTHREAD, 0, &x), L4_OK);
    u->rcv_strings[0][1] = 0;
}

UTEST(random_syscalls_keep_kernel_and_witness_intact)
{
    uprintf("  fuzz: seed %lx, %u calls from %u tasks\n", (uint64_t)FUZZ_SEED, FUZZ_CALLS, NF);
    UCHECK(IMAGE_END <= IMAGE_START + (1ull << IMAGE_LOG2));    /* the root's pager revokes it whole */
    uint64_t me = l4_myself(0), x;
    ctl_id = me;
    set_prio(me, PRIO_HIGH);
    start_pager();
    witness_id = uthread_start(LT_WITNESS, witness, 0);     /* waits for echo_id */
    /* The kernel keeps the frames of its I/O derivation records once it
     * has them (at most 12, kernel/io.c): take them all now, by mapping
     * ports to a task until no record is left, so that the frames after
     * the campaign must equal those before it exactly. */
    uint64_t sink;
    UCHECK_EQ(l4_task_new(L4_ID(TN_SINK, 0, 0), PRIO_HIGH + 5, (uint64_t)port_sink,
                          stack_top(ST_SINK), pager_id, 0, &sink), L4_OK);
    unsigned recs = 0;
    for (; recs < 4096; recs++) {
        struct l4_msg pm = { L4_TAG(0x10, 0, 1), { L4_ITEM_MAP, L4_IOFPAGE(PORTS + 24, PORTS_S) } };
        if (L4_IPC_ERR(l4_ipc(sink, pm.tag, L4_NODESC, L4_TIMEOUTS(uto_us(1000000), 0, 0, 0), &pm, 0)))
            break;
    }
    UCHECK(recs >= 1000 && recs < 4096);
    UCHECK_EQ(l4_task_new(L4_ID(TN_SINK, 0, 0), 0, 0, 0, L4_NILTHREAD, 0, &x), L4_OK);
    uprintf("  %u I/O records fill the kernel's table\n", recs);
    uint64_t before = kmem_used(), eid;
    UCHECK_EQ(l4_task_new(L4_ID(TN_W, 0, 0), PRIO_HIGH, (uint64_t)echo_main, stack_top(ST_ECHO),
                          pager_id, 0, &eid), L4_OK);
    echo_id = eid;
    uint64_t fz[NF];
    uint64_t pool0[] = { me, pager_id, witness_id, echo_id, L4_IRQ_ID(1), L4_IRQ_ID(8),
                         L4_NILTHREAD, L4_INVALID, L4_ID(L4_SIGMA0_TASK, 0, 1) };
    for (unsigned k = 0; k < POOL; k++)
        idpool[k] = pool0[k % (sizeof pool0 / 8)];
    idpool_fixed = sizeof pool0 / 8;
    for (unsigned i = 0; i < NF; i++) {
        /* Create it, then hand it the task numbers it may use. */
        UCHECK_EQ(l4_task_new(L4_ID(TN_F0 + i, 0, 0), PRIO_FUZZ, (uint64_t)fuzz_entry[i],
                              stack_top(ST_F0 + 3 * i), pager_id, 0, &fz[i]), L4_OK);
        set_prio(fz[i], PRIO_FUZZ);
        /* Its ports: it waits for them first thing (fuzz_main). */
        struct l4_msg pm = { L4_TAG(0x10, 0, 1), { L4_ITEM_MAP, L4_IOFPAGE(PORTS + 8 * i, PORTS_S) } };
        UCHECK_EQ(L4_IPC_ERR(l4_ipc(fz[i], pm.tag, L4_NODESC, L4_TIMEOUTS(uto_us(5000000), 0, 0, 0),
                                    &pm, 0)), L4_IPC_OK);
        for (unsigned k = 0; k < NSUB; k++)
            l4_task_new(L4_ID(TN_SUB(i) + k, 0, 0), 0, 0, 0, L4_NILTHREAD, fz[i], &x);
        idpool[idpool_fixed++] = fz[i];
    }
    for (unsigned added = 0, k = 0; added < NF && k < 1000; k++) {  /* their helpers */
        usleep_us(100);
        for (unsigned i = 0; i < NF; i++)
            if (fz_helper[i][0] && fz_helper[i][1]) {
                fz_helper_id[i] = fz_helper[i][0];
                idpool[idpool_fixed++] = fz_helper[i][0];
                idpool[idpool_fixed++] = fz_helper[i][1];
                fz_helper[i][0] = 0;
                added++;
            }
    }
    for (unsigned i = 0; i < NF; i++)
        UCHECK(fz_ports_ok[i]);     /* each took its ports */
    /* Wait for the fuzzers (sleeping: they run below us). One tick in
     * eight the pool is squeezed: its limit set a few frames above what is
     * used, so the fuzzers' calls run it dry (every out-of-memory branch
     * a system call has); then it is released. The root's pager holds its
     * answers meanwhile (pager_reply), since a page fault whose map fails
     * stops the faulting thread. */
    uint64_t t0 = unow_us(), last = 0, still = 0, ticks = 0, limit = 0, used0 = 0;
    UCHECK_EQ(l4_kdebug(L4_KDEBUG_KMEM, 0, &used0, &limit), L4_OK);
    for (;;) {
        usleep_us(20000);
        uint64_t now_used = kmem_used(), old;
        if (ticks % 8 == 0) {
            squeezing = 1;
            UCHECK_EQ(l4_kdebug(L4_KDEBUG_KMEM_LIMIT, now_used + ticks / 8 % 5 * 8 + 1, &old, 0), L4_OK);
            squeezes++;
        } else {
            UCHECK_EQ(l4_kdebug(L4_KDEBUG_KMEM_LIMIT, limit, &old, 0), L4_OK);
            squeezing = 0;          /* after the limit is up again (the root's pager) */
        }
        unsigned done = 0;
        uint64_t calls = 0;
        for (unsigned i = 0; i < NF; i++) {
            done += fz_done[i] != 0;
            calls += fz_calls[i];
        }
        if (done == NF)
            break;
        if (++ticks % 100 == 0)
            uprintf("  ... %lu calls (%lu %lu %lu), witness %lu\n", calls, fz_calls[0], fz_calls[1],
                    fz_calls[2], witness_calls);
        still = calls == last ? still + 1 : 0;
        last = calls;
        if (still > 250) {          /* 5 s of guest time without a call */
            uprintf("  fuzzers stuck at %lu calls:", calls);
            for (unsigned i = 0; i < NF; i++)
                uprintf(" %lu", fz_calls[i]);
            uprintf("\n");
            dump_stuck();
            UCHECK(!"fuzzers made progress");
            break;
        }
    }
    uint64_t old_limit;
    UCHECK_EQ(l4_kdebug(L4_KDEBUG_KMEM_LIMIT, limit, &old_limit, 0), L4_OK);
    squeezing = 0;
    uint64_t calls = 0, ok[9] = { 0 }, bad = 0, kept[2] = { 0 }, progs[2] = { 0 };
    for (unsigned i = 0; i < NF; i++) {
        for (unsigned k = 0; k < 2; k++) {
            kept[k] += fz_kept[i][k];
            progs[k] += fz_progs[i][k];
        }
        calls += fz_calls[i];
        bad += fz_bad_check[i];
        for (unsigned c = 0; c < 9; c++)
            ok[c] += fz_ok[i][c];
    }
    uint64_t wcalls = witness_calls;
    uprintf("  %lu calls in %lu ms of guest time; returned 0 per call:", calls,
            (unow_us() - t0) / 1000);
    for (unsigned c = 0; c < 9; c++)
        uprintf(" %lu", ok[c]);
    uprintf("\n  ipc results by code:");
    for (unsigned c = 0; c < 16; c++)
        uprintf(" %lu", ipc_codes[c]);
    uprintf("\n  guidance: %s; programs of %u calls: %lu fresh (%lu kept), %lu mutated (%lu kept); "
            "kernel blocks and edges %lu\n", FUZZ_GUIDE && kcov() ? "on" : "off", PROG, progs[0],
            kept[0], progs[1], kept[1], kcov());
    for (unsigned i = 0; i < NF; i++)
        uprintf("  fuzzer %u: %lu fresh programs in %lu ms (%lu kept), %lu mutated in %lu ms (%lu kept); "
                "%lu kept ones dropped for slow mutants\n", i, fz_progs[i][0], fz_prog_us[i][0] / 1000,
                fz_kept[i][0], fz_progs[i][1], fz_prog_us[i][1] / 1000, fz_kept[i][1], fz_dropped[i]);
    uprintf("  witness raised %lu interrupts, gave ports again %lu times; the pool squeezed %lu times; "
            "the root's pager took back %lu pages\n", irq_raised, ports_regiven, squeezes, revoked);
    uprintf("  witness: %lu round trips (%lu with strings), %lu bad (first: result %lx at %lu)\n",
            wcalls, witness_strings, witness_bad, bad_what[1], bad_what[2]);
    UCHECK_EQ(calls, (uint64_t)(FUZZ_CALLS / NF) * NF);
    UCHECK_EQ(bad, 0);
    if (bad)
        uprintf("  a check a fuzzer made failed: op/bits %lx\n", bad_what[0]);
    UCHECK(wcalls > 100);
    UCHECK_EQ(witness_bad, 0);
    /* The end: the fuzzers' tasks go, with their subclans. */
    uint64_t used, held;
    UCHECK_EQ(l4_kdebug(L4_KDEBUG_MDB_CHECK, 0, 0, 0), L4_OK);
    UCHECK_EQ(kcheck(&used, &held), L4_OK);
    for (unsigned i = 0; i < NF; i++)
        UCHECK_EQ(l4_task_new(L4_ID(TN_F0 + i, 0, 0), 0, 0, 0, L4_NILTHREAD, 0, &x), L4_OK);
    usleep_us(5000);
    uint64_t w0 = witness_calls;
    usleep_us(50000);
    UCHECK(witness_calls > w0);     /* the witness goes on */
    witness_stop = 1;
    usleep_us(50000);
    UCHECK_EQ(witness_bad, 0);
    UCHECK_EQ(l4_task_new(L4_ID(TN_W, 0, 0), 0, 0, 0, L4_NILTHREAD, 0, &x), L4_OK);
    UCHECK_EQ(l4_kdebug(L4_KDEBUG_MDB_CHECK, 0, 0, 0), L4_OK);
    UCHECK_EQ(kcheck(&used, &held), L4_OK);
    uprintf("  kernel pool: %lu frames used before the tasks, %lu after deleting them\n", before,
            kmem_used());
    UCHECK_EQ(kmem_used(), before);
}

int main(void)
{
    return utest_run("fuzz");
}
