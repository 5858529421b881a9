/* Memory and ports from sigma0 (docs/memory.md "sigma0"), the heap behind
 * sbrk, and Lua's stack. sbrk runs in whichever Lua thread's malloc needs
 * it, under the libc lock (libc.c); that thread's UTCB holds the
 * receive window. In a Lua task (child.c) the heap
 * is granted by the root's pager instead, up to the task's memory cap,
 * and the stack is there from the start. */
#include <errno.h>

#include "rt.h"
#include "l4/syscalls.h"

#undef errno
extern int errno;   /* newlib's wrappers read the global, see syscalls.c */

/* One request to sigma0: label, u words, receive mappings into window. */
static uint64_t sigma0_call(uint32_t label, unsigned u, uint64_t w0, uint64_t w1,
                            uint64_t window)
{
    struct l4_msg m = { 0 };
    m.w[0] = w0;
    m.w[1] = w1;
    l4_utcb_of(rt_self_lthread())->rcv_window = window;  /* any Lua thread's sbrk */
    uint64_t r = l4_ipc(l4_kip()->sigma0, L4_TAG(label, u, 0),
                        L4_RCV_MAPS, 0, &m, 0);
    if (L4_IPC_ERR(r) != L4_IPC_OK)
        return 0x100 + L4_IPC_ERR(r);
    if (L4_TAG_U(m.tag) < 1)
        return 0x100 + L4_IPC_INVAL;
    if (m.w[0] == L4_SIGMA0_OK && L4_TAG_T(m.tag) != 1)
        return 0x100 + L4_IPC_MAP_FAILED;
    return m.w[0];
}

uint64_t rt_sigma0_any(unsigned k, uint64_t va, int zeroed)
{
    if (!l4_kip()->sigma0)
        return 0x100 + L4_IPC_NOPARTNER;
    /* A window exactly the block's size: the block lands at its base. */
    return sigma0_call(zeroed ? L4_SIGMA0_ANY : L4_SIGMA0_ANY_RAW, 1, k, 0,
                       L4_FPAGE(va, k, L4_RWX));
}

uint64_t rt_sigma0_ioports(unsigned port, unsigned k)
{
    if (!l4_kip()->sigma0)
        return 0x100 + L4_IPC_NOPARTNER;
    /* Ports map 1:1 whatever the window; any window accepts them. */
    return sigma0_call(L4_SIGMA0_IOPORTS, 2, port, k, L4_FPAGE(0, L4_WHOLE_SPACE, L4_RWX));
}

/* ---- the heap ----
 * [RT_HEAP_BASE, brk) is what malloc has; [RT_HEAP_BASE, mapped) what
 * sigma0 gave. Blocks are asked for at `mapped`, as large as its
 * alignment and L4_SIGMA0_ANY_MAX allow, smaller when sigma0 has no large
 * block left. Memory is never given back (sigma0 takes none back yet). */
static uint64_t brk = RT_HEAP_BASE, mapped = RT_HEAP_BASE;
/* log2 of the largest block sigma0 may still have: it only shrinks, as
 * nobody gives RAM back to sigma0. */
static unsigned block_k = L4_SIGMA0_ANY_MAX;

/* Grows the mapped heap to at least `need`; false when sigma0 is out (a
 * Lua task: when the root's pager refuses, at the memory cap). */
static int heap_grow(uint64_t need)
{
    if (mapped >= need)
        return 1;
    if (rt_is_child()) {    /* the pager maps the pages as they are touched */
        uint64_t end = rt_child_heap(need);
        if (end > mapped)
            mapped = end;
        return mapped >= need;
    }
    while (mapped < need) {
        unsigned k = block_k;
        while (k > 12 && mapped % (1ull << k))
            k--;    /* after smaller blocks, `mapped` is less aligned */
        if (mapped + (1ull << k) > RT_HEAP_END)
            return 0;
        uint64_t r = rt_sigma0_any(k, mapped, 1);   /* newlib's calloc counts on it */
        if (r == L4_SIGMA0_OK)
            mapped += 1ull << k;
        else if (r == L4_SIGMA0_ENOMEM && k > 12)
            block_k = k - 1;    /* no block this large left: try halves */
        else
            return 0;   /* out of RAM, or the kernel could not map it */
    }
    return 1;
}

void *sbrk(ptrdiff_t incr)
{
    uint64_t old = brk;
    int ok;
    if (incr < 0)       /* malloc trims: the pages stay mapped for reuse */
        ok = (uint64_t)-incr <= brk - RT_HEAP_BASE;
    else
        ok = (uint64_t)incr <= RT_HEAP_END - brk && heap_grow(brk + (uint64_t)incr);
    if (!ok) {
        errno = ENOMEM;
        return (void *)-1;
    }
    brk += (uint64_t)incr;
    return (void *)old;
}

void rt_heap_size(uint64_t *mapped_bytes, uint64_t *taken)
{
    *mapped_bytes = mapped - RT_HEAP_BASE;
    *taken = brk - RT_HEAP_BASE;
}

/* ---- Lua's stack ---- */
static void put_hex(uint64_t v)
{
    char b[19] = "0x";
    for (int i = 0; i < 16; i++)
        b[2 + i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 15];
    rt_console_write(b, 18);
}

uint64_t rt_stack_init(void)
{
    if (rt_is_child())
        return 0;       /* started on its stack, see crt0.S */
    uint64_t base = RT_STACK_TOP - (1ull << RT_STACK_LOG2);
    uint64_t r = rt_sigma0_any(RT_STACK_LOG2, base, 0);
    if (r == L4_SIGMA0_OK)
        return RT_STACK_TOP;
    rt_console_puts("lua-root: no stack from sigma0 (code ");
    put_hex(r);
    rt_console_puts("); Lua runs on the 128 KiB boot stack\n");
    return 0;
}

void rt_idle(void)
{
    for (;;) {
        struct l4_msg m = { 0 };
        l4_ipc(L4_NILTHREAD, L4_NODESC, 0, 0, &m, 0);
    }
}
