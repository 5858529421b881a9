/* Suite "s0": sigma0's protocol, seen from the root task (docs/memory.md
 * "sigma0"). The runner boots this program with build/sigma0.elf as
 * sigma0 (program names s0_*: tests/run.py). The root asks sigma0 for
 * pages and writes them; is refused RAM given before and the kernel's
 * memory; maps the VGA text buffer; gets errors for malformed requests;
 * takes 10 MiB in pages and sees distinct frames; faults with sigma0 as
 * pager and stays unanswered; makes the kernel's pool run out under
 * sigma0 (which answers ENOMAP and goes on); and at last takes all of
 * sigma0's RAM and counts it.
 *
 * Cases run in the reverse of their order here (the linker's section
 * order): the two that exhaust memory come first in this file, so they
 * run last, and check that every other case ran before them. */
#include "utest.h"

#define NIL        L4_NILTHREAD
#define PAGE       4096ull
#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Where received memory lands in the root (far from its image at 4 MiB). */
#define WIN_SMALL  0x100000000ull       /* 4 GiB: one 1 MiB slot per case */
#define WIN_10M    0x200000000ull       /* 8 GiB: the 10 MiB of pages */
#define WIN_ALL    0x1000000000ull      /* 64 GiB, a 4 GiB window: all RAM */
#define SLOT(n)    (WIN_SMALL + (uint64_t)(n) * (1ull << 20))

enum { LT_FAULT = 1, LT_SINK };
enum { OTHER_CASES = 12 };          /* cases before the two that exhaust */
static unsigned cases_done;
static uint64_t ram_received;       /* bytes of RAM the root got, all cases */

static const struct l4_kip *kip(void)
{
    return l4_kip();
}

/* The type of the KIP entry holding pa; 0: none (device memory). */
static uint64_t mem_type(uint64_t pa)
{
    for (unsigned i = 0; i < kip()->nmem; i++)
        if (pa >= kip()->mem[i].start && pa < kip()->mem[i].end)
            return kip()->mem[i].type;
    return 0;
}

struct reply {
    uint64_t r;         /* IPC result */
    uint64_t code;      /* sigma0's word 0 */
    uint64_t fpage;     /* the map item's fpage (0 if none) */
    uint64_t tag;
};

/* A call to sigma0 with label and u words, receiving into window. */
static struct reply call_s0(uint32_t label, unsigned u, uint64_t w0, uint64_t w1, uint64_t window)
{
    struct l4_msg m = { 0 };
    m.w[0] = w0;
    m.w[1] = w1;
    l4_utcb_of(0)->rcv_window = window;
    uint64_t from = 0;
    struct reply rep = { 0 };
    rep.r = l4_ipc(kip()->sigma0, L4_TAG(label, u, 0), L4_RCV_MAPS, 0, &m, &from);
    rep.tag = m.tag;
    rep.code = L4_TAG_U(m.tag) >= 1 ? m.w[0] : ~0ull;
    if (L4_TAG_T(m.tag) == 1 && L4_TAG_U(m.tag) == 1)
        rep.fpage = m.w[2];
    return rep;
}

static struct reply any(unsigned k, uint64_t window)
{
    struct reply rep = call_s0(L4_SIGMA0_ANY, 1, k, 0, window);
    if (rep.r == L4_IPC_OK && rep.code == L4_SIGMA0_OK)
        ram_received += 1ull << k;
    return rep;
}

static struct reply phys(uint64_t base, unsigned k, uint64_t window)
{
    struct reply rep = call_s0(L4_SIGMA0_PHYS, 2, base, k, window);
    if (rep.r == L4_IPC_OK && rep.code == L4_SIGMA0_OK && mem_type(base) == L4_KIP_MEM_SIGMA0)
        ram_received += 1ull << k;
    return rep;
}

/* An answer that is an error code: label 0, one word, no item. */
static uint64_t error_of(struct reply rep)
{
    if (rep.r != L4_IPC_OK || L4_TAG_LABEL(rep.tag) != 0 || L4_TAG_T(rep.tag) != 0)
        return 0x1000 + rep.r;
    return rep.code;
}

/* A successful answer for 2^k bytes: the physical base, or ~0. */
static uint64_t base_of(struct reply rep, unsigned k)
{
    if (rep.r != L4_IPC_OK || rep.code != L4_SIGMA0_OK || !rep.fpage ||
        L4_FPAGE_SIZE(rep.fpage) != k)
        return ~0ull;
    return L4_FPAGE_BASE(rep.fpage);
}

static uint64_t ts_state(uint64_t id, uint64_t *partner)
{
    struct l4_sched_info i = { 0 };
    uint64_t r = l4_thread_schedule(id, ~0ull, ~0ull, &i);
    if (partner)
        *partner = i.partner;
    return r == L4_OK ? i.state : 0x100 + r;
}

static bool wait_state(uint64_t id, uint64_t state, uint64_t us)
{
    uint64_t t0 = unow_us();
    while (ts_state(id, 0) != state) {
        if (unow_us() - t0 > us)
            return false;
        usleep_us(500);
    }
    return true;
}

static void __attribute__((noreturn)) block_forever(uint64_t arg)
{
    (void)arg;
    struct l4_msg m = { 0 };
    for (;;)
        l4_ipc(NIL, L4_NODESC, 0, 0, &m, 0);
}

/* ==== Last: all of sigma0's RAM, handed out once ==== */
UTEST(all_ram_handed_out_once)
{
    UCHECK_EQ(cases_done, OTHER_CASES + 1);
    /* Blocks from 4 MiB down to a page, each where its physical address
     * says inside a 4 GiB window; first and last word of each marked. */
    static struct { uint64_t pa; unsigned k; } got[8192];
    unsigned n = 0;
    for (unsigned k = L4_SIGMA0_ANY_MAX; k >= 12; k--) {
        for (;;) {
            struct reply rep = any(k, L4_FPAGE(WIN_ALL, 32, L4_RWX));
            if (error_of(rep) == L4_SIGMA0_ENOMEM)
                break;
            uint64_t pa = base_of(rep, k);
            if (pa == ~0ull || pa % (1ull << k) || mem_type(pa) != L4_KIP_MEM_SIGMA0 ||
                pa >= (1ull << 32) || n == COUNT_OF(got)) {
                uprintf("  block %u: %lx (k %u, code %lx)\n", n, pa, k, error_of(rep));
                UCHECK(0);
                return;
            }
            volatile uint64_t *v = (volatile uint64_t *)(WIN_ALL + pa);
            v[0] = pa;
            v[(1ull << k) / 8 - 1] = ~pa;
            got[n].pa = pa;
            got[n++].k = k;
        }
    }
    /* Everything sigma0 owns went out but its own bitmap (a bit a frame). */
    uint64_t frames = kip()->mem_sigma0 / PAGE;
    uint64_t bitmap = ((frames + 63) / 64 * 8 + PAGE - 1) & ~(PAGE - 1);
    uprintf("  %u blocks; %lu KiB received in all; sigma0 owns %lu KiB, bitmap %lu KiB\n", n,
            ram_received >> 10, kip()->mem_sigma0 >> 10, bitmap >> 10);
    UCHECK_EQ(ram_received + bitmap, kip()->mem_sigma0);
    /* Nothing went out twice: each block still holds its own marks. */
    uint64_t bad = 0;
    for (unsigned i = 0; i < n; i++) {
        volatile uint64_t *v = (volatile uint64_t *)(WIN_ALL + got[i].pa);
        bad += v[0] != got[i].pa || v[(1ull << got[i].k) / 8 - 1] != ~got[i].pa;
    }
    UCHECK_EQ(bad, 0);
    /* Empty now: any size gives ENOMEM, a free-looking page ETAKEN. */
    UCHECK_EQ(error_of(any(12, L4_FPAGE(SLOT(0), 12, L4_RWX))), L4_SIGMA0_ENOMEM);
    uint64_t last = 0;
    for (unsigned i = 0; i < kip()->nmem; i++)
        if (kip()->mem[i].type == L4_KIP_MEM_SIGMA0)
            last = kip()->mem[i].end - PAGE;
    UCHECK_EQ(error_of(phys(last, 12, L4_FPAGE(SLOT(0), 12, L4_RWX))), L4_SIGMA0_ETAKEN);
    /* The kernel's pool did not pay for it: a new thread is still made. */
    uint64_t id = 0;
    UCHECK_EQ(l4_lthread_ex_regs(40, ~0ull, ~0ull, ~0ull, ~0ull, &id, 0), L4_OK);
    /* Device memory is still there for the asking. */
    UCHECK_EQ(base_of(phys(0xb8000, 12, L4_FPAGE(SLOT(0), 12, L4_RWX)), 12), 0xb8000);
}

/* ==== Next to last: the kernel's pool runs out under sigma0 ==== */
UTEST(kernel_pool_exhausted_enomap)
{
    UCHECK_EQ(cases_done, OTHER_CASES);
    cases_done++;
    /* Tasks until the pool is gone; their threads fault and wait on a
     * pager that never receives. */
    uint64_t sink = uthread_start(LT_SINK, block_forever, 0);
    UCHECK(sink != 0);
    unsigned first = 3, made = 0;
    uint64_t r = L4_OK;
    for (unsigned tn = first; tn < 4000 && r == L4_OK; tn++) {
        uint64_t id;
        r = l4_task_new(L4_ID(tn, 0, 0), 0, 0x400000, 0x1000, sink, 0, &id);
        made += r == L4_OK;
    }
    UCHECK(made > 0);
    /* The runner boots with 256 MiB (a 64 MiB pool): 4,000 tasks do not fit. */
    UCHECK_EQ(r, L4_ENOMEM);
    /* The last crumbs: threads of the root's. */
    for (unsigned lt = 100; lt < 200; lt++)
        if (l4_lthread_ex_regs(lt, ~0ull, ~0ull, ~0ull, ~0ull, 0, 0) != L4_OK)
            break;
    /* Device memory in fresh gigabytes: sigma0 needs new page tables for
     * each. Sooner or later the kernel cannot map: ENOMAP (or the root's
     * own tables fail: map failed). sigma0 must go on either way. */
    uint64_t enomap_at = 0;
    for (uint64_t g = 1; g < 40 && !enomap_at; g++) {
        struct reply rep = phys(g << 30, 12, L4_FPAGE(SLOT(1), 12, L4_RWX));
        if (error_of(rep) == L4_SIGMA0_ENOMAP)
            enomap_at = g << 30;
    }
    uprintf("  %u tasks made; ENOMAP at %lx\n", made, enomap_at);
    UCHECK(enomap_at != 0);
    /* Deleting the tasks gives the pool back; sigma0 serves on. */
    for (unsigned tn = first; tn < first + made; tn++) {
        uint64_t x;
        UCHECK_EQ(l4_task_new(L4_ID(tn, 0, 0), 0, 0, 0, NIL, 0, &x), L4_OK);
    }
    if (enomap_at)
        UCHECK_EQ(base_of(phys(enomap_at, 12, L4_FPAGE(SLOT(1), 12, L4_RWX)), 12), enomap_at);
    struct reply rep = any(12, L4_FPAGE(SLOT(1), 12, L4_RWX));
    UCHECK(base_of(rep, 12) != ~0ull);
    *(volatile uint64_t *)SLOT(1) = 7;
    UCHECK_EQ(*(volatile uint64_t *)SLOT(1), 7);
}

/* ==== The KIP describes the split ==== */
UTEST(kip_memory_table)
{
    cases_done++;
    const struct l4_kip *k = kip();
    UCHECK(k->sigma0 != NIL);
    UCHECK_EQ(L4_ID_TASK(k->sigma0), L4_SIGMA0_TASK);
    UCHECK(k->phys_end >= (1ull << 32) && k->phys_end <= L4_SIGMA0_BASE);
    UCHECK(k->nmem > 0 && k->nmem <= L4_KIP_MEM_MAX);
    uint64_t owned = 0, prev_end = 0;
    unsigned nsigma0 = 0;
    for (unsigned i = 0; i < k->nmem; i++) {
        const struct l4_kip_mem *m = &k->mem[i];
        UCHECK(m->start < m->end && m->start % PAGE == 0 && m->end % PAGE == 0);
        UCHECK(m->start >= prev_end);
        UCHECK(m->type == L4_KIP_MEM_SIGMA0 || m->type == L4_KIP_MEM_KERNEL);
        if (m->type == L4_KIP_MEM_SIGMA0) {
            owned += m->end - m->start;
            nsigma0++;
        }
        prev_end = m->end;
    }
    UCHECK(nsigma0 > 0);
    UCHECK_EQ(owned, k->mem_sigma0);
    /* sigma0 owns most of the RAM; the kernel keeps at least its pool. */
    UCHECK(owned > k->mem_total / 2);
    UCHECK(owned + k->mem_kernel_pool / 2 <= k->mem_total);
    UCHECK_EQ(mem_type(0x110000), L4_KIP_MEM_KERNEL);        /* the kernel image */
    UCHECK_EQ(mem_type(0xb8000), 0);                         /* VGA: device */
    UCHECK_EQ(mem_type(0xfebf0000), 0);                      /* PCI hole: device */
}

/* ==== Pages: written and read back, zeroed when they come ==== */
UTEST(any_page_write_read)
{
    cases_done++;
    struct reply rep = any(12, L4_FPAGE(SLOT(2), 12, L4_RWX));
    uint64_t pa = base_of(rep, 12);
    UCHECK(pa != ~0ull);
    UCHECK_EQ(mem_type(pa), L4_KIP_MEM_SIGMA0);
    UCHECK_EQ(L4_FPAGE_RIGHTS(rep.fpage), L4_RWX);
    volatile uint64_t *v = (volatile uint64_t *)SLOT(2);
    uint64_t nonzero = 0;
    for (unsigned i = 0; i < PAGE / 8; i++)
        nonzero += v[i] != 0;
    UCHECK_EQ(nonzero, 0);
    for (unsigned i = 0; i < PAGE / 8; i++)
        v[i] = pa + i;
    uint64_t bad = 0;
    for (unsigned i = 0; i < PAGE / 8; i++)
        bad += v[i] != pa + i;
    UCHECK_EQ(bad, 0);
}

UTEST(any_block_naturally_aligned)
{
    cases_done++;
    struct reply rep = any(16, L4_FPAGE(SLOT(3), 16, L4_RWX));
    uint64_t pa = base_of(rep, 16);
    UCHECK(pa != ~0ull);
    UCHECK_EQ(pa % (1ull << 16), 0);
    UCHECK_EQ(mem_type(pa), L4_KIP_MEM_SIGMA0);
    UCHECK_EQ(mem_type(pa + (1ull << 16) - 1), L4_KIP_MEM_SIGMA0);
    for (uint64_t off = 0; off < (1ull << 16); off += PAGE)
        *(volatile uint64_t *)(SLOT(3) + off) = pa + off;
    uint64_t bad = 0;
    for (uint64_t off = 0; off < (1ull << 16); off += PAGE)
        bad += *(volatile uint64_t *)(SLOT(3) + off) != pa + off;
    UCHECK_EQ(bad, 0);
}

/* ==== RAM as it is (L4_SIGMA0_ANY_RAW): the root's stacks and pool ==== */
UTEST(any_raw_for_the_root)
{
    cases_done++;
    /* a block like ANY's, written and read back; sigma0 does not zero it
     * (what it held is not checked: QEMU's RAM starts zeroed anyway) */
    struct reply rep = call_s0(L4_SIGMA0_ANY_RAW, 1, 14, 0, L4_FPAGE(SLOT(14), 14, L4_RWX));
    uint64_t pa = base_of(rep, 14);
    UCHECK(pa != ~0ull);
    if (pa != ~0ull)
        ram_received += 1ull << 14;
    UCHECK_EQ(pa % (1ull << 14), 0);
    UCHECK_EQ(mem_type(pa), L4_KIP_MEM_SIGMA0);
    UCHECK_EQ(L4_FPAGE_RIGHTS(rep.fpage), L4_RWX);
    for (uint64_t off = 0; off < (1ull << 14); off += PAGE)
        *(volatile uint64_t *)(SLOT(14) + off) = pa + off;
    uint64_t bad = 0;
    for (uint64_t off = 0; off < (1ull << 14); off += PAGE)
        bad += *(volatile uint64_t *)(SLOT(14) + off) != pa + off;
    UCHECK_EQ(bad, 0);
    /* the same checks of the size as ANY */
    UCHECK_EQ(error_of(call_s0(L4_SIGMA0_ANY_RAW, 1, 11, 0, L4_FPAGE(SLOT(15), 12, L4_RWX))),
              L4_SIGMA0_EINVAL);
    UCHECK_EQ(error_of(call_s0(L4_SIGMA0_ANY_RAW, 1, L4_SIGMA0_ANY_MAX + 1, 0,
                               L4_FPAGE(SLOT(15), 12, L4_RWX))), L4_SIGMA0_EINVAL);
}

/* ==== Never the same frame twice ==== */
UTEST(same_ram_twice_refused)
{
    cases_done++;
    /* A page sigma0 handed out as "any" cannot be asked for by address. */
    uint64_t pa = base_of(any(12, L4_FPAGE(SLOT(4), 12, L4_RWX)), 12);
    UCHECK(pa != ~0ull);
    UCHECK_EQ(error_of(phys(pa, 12, L4_FPAGE(SLOT(4) + PAGE, 12, L4_RWX))), L4_SIGMA0_ETAKEN);
    /* One asked for by address: given once, refused the second time, and
     * a block around it is refused too. */
    uint64_t last = 0;              /* the page below a 64 KiB boundary */
    for (unsigned i = 0; i < kip()->nmem; i++)
        if (kip()->mem[i].type == L4_KIP_MEM_SIGMA0 &&
            kip()->mem[i].end - kip()->mem[i].start >= (1ull << 17))
            last = (kip()->mem[i].end & ~0xffffull) - PAGE;
    UCHECK(last != 0);
    UCHECK_EQ(base_of(phys(last, 12, L4_FPAGE(SLOT(4), 12, L4_RWX)), 12), last);
    *(volatile uint64_t *)SLOT(4) = 0x5a;
    UCHECK_EQ(error_of(phys(last, 12, L4_FPAGE(SLOT(4) + PAGE, 12, L4_RWX))), L4_SIGMA0_ETAKEN);
    UCHECK_EQ(error_of(phys(last & ~0xffffull, 16, L4_FPAGE(SLOT(5), 16, L4_RWX))),
              L4_SIGMA0_ETAKEN);
    UCHECK_EQ(*(volatile uint64_t *)SLOT(4), 0x5a);     /* still mine, untouched */
}

/* ==== A failed answer gives the page back ==== */
UTEST(failed_reply_returns_the_page)
{
    cases_done++;
    /* Receiving without L4_RCV_MAPS: sigma0's map item fails for both. */
    struct l4_msg m = { 0 };
    m.w[0] = 12;
    uint64_t from = 0;
    uint64_t r = l4_ipc(kip()->sigma0, L4_TAG(L4_SIGMA0_ANY, 1, 0), 0, 0, &m, &from);
    UCHECK_EQ(L4_IPC_ERR(r), L4_IPC_MAP_FAILED);
    /* sigma0 took it back: the next page is the same frame (the lowest
     * free one), and the count at the end (all_ram_handed_out_once)
     * would miss it otherwise. */
    uint64_t again = base_of(any(12, L4_FPAGE(SLOT(6), 12, L4_RWX)), 12);
    UCHECK(again != ~0ull);
    if (L4_TAG_T(m.tag) == 1 && L4_FPAGE_BASE(m.w[2]))
        UCHECK_EQ(again, L4_FPAGE_BASE(m.w[2]));
}

/* ==== The kernel's memory is refused ==== */
UTEST(kernel_memory_refused)
{
    cases_done++;
    uint64_t w = L4_FPAGE(SLOT(7), 12, L4_RWX);
    UCHECK_EQ(error_of(phys(0x110000, 12, w)), L4_SIGMA0_EKERNEL);     /* image */
    UCHECK_EQ(error_of(phys(0x100000, 20, L4_FPAGE(SLOT(7), 20, L4_RWX))), L4_SIGMA0_EKERNEL);
    UCHECK_EQ(error_of(phys(0, 30, L4_FPAGE(0x40000000, 30, L4_RWX))), L4_SIGMA0_EKERNEL);
    unsigned kernel_entries = 0;
    for (unsigned i = 0; i < kip()->nmem; i++) {
        if (kip()->mem[i].type != L4_KIP_MEM_KERNEL)
            continue;
        kernel_entries++;
        UCHECK_EQ(error_of(phys(kip()->mem[i].start, 12, w)), L4_SIGMA0_EKERNEL);
        UCHECK_EQ(error_of(phys(kip()->mem[i].end - PAGE, 12, w)), L4_SIGMA0_EKERNEL);
    }
    UCHECK(kernel_entries > 0);
}

/* ==== Device memory: the VGA text buffer, again and again ==== */
UTEST(vga_text_buffer)
{
    cases_done++;
    struct reply rep = phys(0xb8000, 12, L4_FPAGE(SLOT(8), 12, L4_RWX));
    UCHECK_EQ(base_of(rep, 12), 0xb8000);
    UCHECK_EQ(L4_FPAGE_RIGHTS(rep.fpage), L4_R | L4_W);
    volatile uint16_t *vga = (volatile uint16_t *)SLOT(8);
    vga[0] = 0x0753;                /* 'S', grey on black */
    vga[1] = 0x0730;                /* '0' */
    UCHECK_EQ(vga[0], 0x0753);
    UCHECK_EQ(vga[1], 0x0730);
    /* Device memory is nobody's: asked again, it comes again (shared). */
    rep = phys(0xb8000, 12, L4_FPAGE(SLOT(8) + PAGE, 12, L4_RWX));
    UCHECK_EQ(base_of(rep, 12), 0xb8000);
    UCHECK_EQ(((volatile uint16_t *)(SLOT(8) + PAGE))[0], 0x0753);
    /* A bigger device range: the whole 128 KiB VGA window. */
    UCHECK_EQ(base_of(phys(0xa0000, 17, L4_FPAGE(SLOT(9), 17, L4_RWX)), 17), 0xa0000);
    UCHECK_EQ(((volatile uint16_t *)(SLOT(9) + 0x18000))[0], 0x0753);
    /* RAM and device memory in one range is not served (where sigma0's
     * RAM borders device memory at all: here the kernel's may border all). */
    for (unsigned i = 0; i < kip()->nmem; i++) {
        const struct l4_kip_mem *m = &kip()->mem[i];
        bool device_after = i + 1 == kip()->nmem || kip()->mem[i + 1].start != m->end;
        if (m->type == L4_KIP_MEM_SIGMA0 && device_after && (m->end - PAGE) % (2 * PAGE) == 0)
            UCHECK_EQ(error_of(phys(m->end - PAGE, 13, L4_FPAGE(SLOT(10), 13, L4_RWX))),
                      L4_SIGMA0_EMIXED);
    }
}

/* ==== Malformed requests get an error, sigma0 goes on ==== */
UTEST(malformed_requests)
{
    cases_done++;
    uint64_t w = L4_FPAGE(SLOT(11), 12, L4_RWX);
    UCHECK_EQ(error_of(call_s0(99, 1, 12, 0, w)), L4_SIGMA0_EINVAL);       /* unknown label */
    UCHECK_EQ(error_of(call_s0(0, 0, 0, 0, w)), L4_SIGMA0_EINVAL);
    UCHECK_EQ(error_of(call_s0(0xffff0000u, 2, 0, 0, w)), L4_SIGMA0_EINVAL);
    UCHECK_EQ(error_of(any(11, w)), L4_SIGMA0_EINVAL);                     /* bad sizes */
    UCHECK_EQ(error_of(any(0, w)), L4_SIGMA0_EINVAL);
    UCHECK_EQ(error_of(any(L4_SIGMA0_ANY_MAX + 1, w)), L4_SIGMA0_EINVAL);
    UCHECK_EQ(error_of(call_s0(L4_SIGMA0_ANY, 1, ~0ull, 0, w)), L4_SIGMA0_EINVAL);
    UCHECK_EQ(error_of(call_s0(L4_SIGMA0_ANY, 0, 12, 0, w)), L4_SIGMA0_EINVAL);  /* word counts */
    UCHECK_EQ(error_of(call_s0(L4_SIGMA0_ANY, 2, 12, 0, w)), L4_SIGMA0_EINVAL);
    UCHECK_EQ(error_of(call_s0(L4_SIGMA0_PHYS, 1, 0xb8000, 0, w)), L4_SIGMA0_EINVAL);
    UCHECK_EQ(error_of(call_s0(L4_SIGMA0_PHYS, 3, 0xb8000, 12, w)), L4_SIGMA0_EINVAL);
    UCHECK_EQ(error_of(phys(0xb8800, 12, w)), L4_SIGMA0_EINVAL);           /* unaligned */
    UCHECK_EQ(error_of(phys(0xb8000, 16, w)), L4_SIGMA0_EINVAL);
    UCHECK_EQ(error_of(phys(0xb8000, 11, w)), L4_SIGMA0_EINVAL);
    UCHECK_EQ(error_of(phys(0, L4_SIGMA0_PHYS_MAX + 1, w)), L4_SIGMA0_EINVAL);
    UCHECK_EQ(error_of(phys(kip()->phys_end, 12, w)), L4_SIGMA0_EINVAL);   /* beyond */
    UCHECK_EQ(error_of(phys(kip()->phys_end - PAGE, 13, w)), L4_SIGMA0_EINVAL);
    UCHECK_EQ(error_of(phys(~0ull << 12, 12, w)), L4_SIGMA0_EINVAL);
    UCHECK_EQ(error_of(phys(L4_SIGMA0_BASE, 12, w)), L4_SIGMA0_EINVAL);   /* its image */
    UCHECK_EQ(error_of(call_s0(L4_SIGMA0_PHYS, 2, 0xb8000, ~0ull, w)), L4_SIGMA0_EINVAL);
    /* A typed word that is no item: not a request. */
    struct l4_msg m = { 0 };
    m.w[0] = 12;
    m.w[1] = 0x10;
    m.w[2] = 0;
    uint64_t from;
    l4_utcb_of(0)->rcv_window = w;
    uint64_t r = l4_ipc(kip()->sigma0, L4_TAG(L4_SIGMA0_ANY, 1, 1), L4_RCV_MAPS, 0, &m, &from);
    UCHECK_EQ(r, L4_IPC_OK);
    UCHECK_EQ(m.w[0], L4_SIGMA0_EINVAL);
    /* A map item for sigma0 (it takes none) and a long message: the IPC
     * fails for the sender; sigma0 is not hurt. */
    m.w[0] = 12;
    m.w[1] = SLOT(2) | L4_ITEM_MAP;
    m.w[2] = L4_FPAGE(SLOT(2), 12, L4_RWX);
    r = l4_ipc(kip()->sigma0, L4_TAG(L4_SIGMA0_ANY, 1, 1), L4_RCV_MAPS, 0, &m, &from);
    UCHECK_EQ(L4_IPC_ERR(r), L4_IPC_MAP_FAILED);
    r = l4_ipc(kip()->sigma0, L4_TAG(L4_SIGMA0_ANY, 20, 0), L4_RCV_MAPS, 0, &m, &from);
    UCHECK_EQ(L4_IPC_ERR(r), L4_IPC_SND_CUT);
    UCHECK(base_of(any(12, w), 12) != ~0ull);
}

/* ==== I/O ports: each port once; the kernel's refused ==== */
static inline uint8_t port_in(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline void port_out(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port));
}

UTEST(io_ports_from_sigma0)
{
    cases_done++;
    uint64_t w = L4_FPAGE(SLOT(12), 12, L4_RWX);   /* any window: ports map 1:1 */
    struct reply rep = call_s0(L4_SIGMA0_IOPORTS, 2, 0x3f8, 3, w);
    UCHECK_EQ(rep.r, L4_IPC_OK);
    UCHECK_EQ(rep.code, L4_SIGMA0_OK);
    UCHECK_EQ(rep.fpage, L4_IOFPAGE(0x3f8, 3));
    port_out(0x3ff, 0x66);                  /* COM1's scratch register */
    UCHECK_EQ(port_in(0x3ff), 0x66);
    /* Once only; the kernel's ports; malformed requests. */
    UCHECK_EQ(error_of(call_s0(L4_SIGMA0_IOPORTS, 2, 0x3f8, 3, w)), L4_SIGMA0_ETAKEN);
    UCHECK_EQ(error_of(call_s0(L4_SIGMA0_IOPORTS, 2, 0x3fc, 1, w)), L4_SIGMA0_ETAKEN);
    UCHECK_EQ(error_of(call_s0(L4_SIGMA0_IOPORTS, 2, 0x20, 1, w)), L4_SIGMA0_EKERNEL);
    UCHECK_EQ(error_of(call_s0(L4_SIGMA0_IOPORTS, 2, 0x40, 2, w)), L4_SIGMA0_EKERNEL);
    UCHECK_EQ(error_of(call_s0(L4_SIGMA0_IOPORTS, 2, 0x3f9, 3, w)), L4_SIGMA0_EINVAL);
    UCHECK_EQ(error_of(call_s0(L4_SIGMA0_IOPORTS, 2, 0, 17, w)), L4_SIGMA0_EINVAL);
    UCHECK_EQ(error_of(call_s0(L4_SIGMA0_IOPORTS, 0, 0, 0, w)), L4_SIGMA0_EINVAL);
}

/* ==== 10 MiB in pages: all distinct frames ==== */
UTEST(ten_mib_of_distinct_pages)
{
    cases_done++;
    enum { N = (10 << 20) / PAGE };
    static uint64_t pa[N];
    uint64_t bad = 0;
    for (unsigned i = 0; i < N; i++) {
        pa[i] = base_of(any(12, L4_FPAGE(WIN_10M + i * PAGE, 12, L4_RWX)), 12);
        if (pa[i] == ~0ull || mem_type(pa[i]) != L4_KIP_MEM_SIGMA0) {
            bad++;
            break;
        }
        volatile uint64_t *v = (volatile uint64_t *)(WIN_10M + i * PAGE);
        v[0] = pa[i];
        v[1] = i;
    }
    UCHECK_EQ(bad, 0);
    /* Were two pages one frame, the later write would show in both. */
    for (unsigned i = 0; i < N && !bad; i++) {
        volatile uint64_t *v = (volatile uint64_t *)(WIN_10M + i * PAGE);
        bad += v[0] != pa[i] || v[1] != i;
    }
    UCHECK_EQ(bad, 0);
}

/* ==== The root's page faults: sigma0 maps by request only ==== */
static volatile uint64_t fault_survived;

static void fault_thread(uint64_t a)
{
    (void)*(volatile uint64_t *)a;
    fault_survived = 1;
    block_forever(0);
}

UTEST(root_fault_not_answered)
{
    cases_done++;
    uint64_t old[4] = { 0 };
    UCHECK_EQ(l4_lthread_ex_regs(0, ~0ull, ~0ull, ~0ull, ~0ull, 0, old), L4_OK);
    UCHECK_EQ(old[2], kip()->sigma0);       /* the root's pager is sigma0 */
    UCHECK_EQ(old[3], NIL);                 /* exceptions: the kernel stops */
    uint64_t t = uthread_start(LT_FAULT, fault_thread, 0x50000000);
    UCHECK(t != 0);
    UCHECK(wait_state(t, L4_TS_RECEIVING, 1000000));
    uint64_t partner = 0;
    UCHECK_EQ(ts_state(t, &partner), L4_TS_RECEIVING);
    UCHECK_EQ(partner, kip()->sigma0);
    UCHECK_EQ(fault_survived, 0);
    /* sigma0 serves on. */
    UCHECK(base_of(any(12, L4_FPAGE(SLOT(13), 12, L4_RWX)), 12) != ~0ull);
}

int main(void)
{
    return utest_run("s0");
}
