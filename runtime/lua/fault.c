/* The fault policy of the root's pager thread (pager.h): what a page
 * fault of a Lua task gets, by the region it falls in (region.h):
 *
 *   shared      the root's own pages, read-only, in blocks of up to 4 MiB
 *   spawn       the task's spawn-block pages, read-only
 *   data        a new page, a copy of the initial .data (__pristine)
 *   bss, stack  a new zeroed page
 *   heap        a new zeroed page below the end granted (RT_REQ_HEAP)
 *   tstack      a new zeroed page in the top of the slot the task
 *               declared (RT_REQ_STACK); below, a stack overflow
 *   guard, none the task fails
 *
 * and a fault of the root's own Lua threads (it is their pager), which
 * stops them. */
#include <string.h>

#include "image.h"
#include "pager.h"
#include "pool.h"
#include "region.h"
#include "sb.h"

/* The largest naturally aligned block (up to 4 MiB) around page p that
 * lies in [lo, hi): shared regions are mapped in such blocks, so a task
 * faults a few times on the text, not once per page. */
static unsigned block_log2(uint64_t p, uint64_t lo, uint64_t hi)
{
    unsigned s = 12;
    while (s < 22) {
        uint64_t b = p & ~((2ull << s) - 1);
        if (b < lo || b + (2ull << s) > hi)
            break;
        s++;
    }
    return s;
}

/* Why the task may not have page `page` of region r with this access,
 * or NULL. */
static const char *refusal(const struct task *t, const struct region *r, uint64_t page,
                           bool write, bool exec)
{
    bool absent = r->kind == REGION_NONE ||
                  (r->kind == REGION_SPAWN && page >= RT_ARGS_BASE + t->nargs * PAGE);
    if (exec && !(r->rights & L4_X))
        return "execution outside the text";
    if (absent)
        return "nothing is mapped there";
    if (r->kind == REGION_GUARD)
        return "stack overflow";
    if (write && !(r->rights & L4_W))
        return "write to read-only memory";
    if (r->kind == REGION_HEAP && page >= t->heap_end)
        return "beyond the heap granted";
    if (r->kind == REGION_TSTACK) {
        unsigned i = (unsigned)rt_tstack_slot(page);
        if (page < rt_tstack_top(i) - t->tstack[i])
            return "stack overflow of a Lua thread";
    }
    return NULL;
}

uint64_t fault_task(unsigned slot, struct l4_msg *m)
{
    struct task *t = tasks[slot];
    uint64_t addr = L4_FAULT_ADDR(m->w[0]), ip = m->w[1], page = addr & ~(PAGE - 1);
    bool write = L4_FAULT_IS_WRITE(m->w[0]), exec = L4_FAULT_IS_EXEC(m->w[0]);
    const struct region *r = region_of(page);
    const char *why = refusal(t, r, page, write, exec);
    if (why) {
        task_fail(slot, "page fault at ", addr, ip, why);
        return L4_NODESC;
    }
    if (r->kind == REGION_SHARED) {
        unsigned s = block_log2(page, r->lo, r->hi);
        uint64_t base = page & ~((1ull << s) - 1);
        t->shared += 1ull << (s - 12);
        m->w[0] = base | L4_ITEM_MAP;
        m->w[1] = L4_FPAGE(base, s, r->rights);
        return L4_TAG(0, 0, 1);
    }
    if (r->kind == REGION_SPAWN) {
        m->w[0] = page | L4_ITEM_MAP;
        m->w[1] = L4_FPAGE(pool_va(t->args[(page - RT_ARGS_BASE) / PAGE]), 12, L4_R);
        return L4_TAG(0, 0, 1);
    }
    /* Private: a new page, zeroed or a copy of the initial .data. */
    int64_t i = task_page(slot, page, r->kind == REGION_HEAP && t->reserved > 0);
    if (i < 0) {
        task_fail(slot, "page fault at ", addr, ip, "out of memory");
        return L4_NODESC;
    }
    if (r->kind == REGION_DATA) {
        memcpy((void *)pool_va((uint64_t)i), __pristine + (page - (uint64_t)__data_start), PAGE);
        t->copied++;
    }
    m->w[0] = page | L4_ITEM_MAP;
    m->w[1] = L4_FPAGE(pool_va((uint64_t)i), 12, L4_R | L4_W);
    return L4_TAG(0, 0, 1);
}

uint64_t fault_own(uint64_t from, struct l4_msg *m)
{
    bool pf = L4_TAG_LABEL(m->tag) == L4_LABEL_PAGEFAULT;
    uint64_t addr = pf ? L4_FAULT_ADDR(m->w[0]) : m->w[3], ip = pf ? m->w[1] : m->w[2];
    char line[160];
    struct sb b = { line, 0, sizeof line };
    sb_str(&b, "lua-root: thread ");
    sb_num(&b, from, 16, false);
    sb_str(&b, pf ? " failed: page fault at " : " failed: exception at ");
    sb_num(&b, addr, 16, false);
    sb_str(&b, " (ip ");
    sb_num(&b, ip, 16, false);
    if (!pf)
        sb_str(&b, "): an exception\n");
    else if (region_of(addr)->kind == REGION_TSTACK)
        sb_str(&b, "): stack overflow\n");
    else
        sb_str(&b, "): nothing is mapped there\n");
    if (rt_thread_fault(L4_ID_LTHREAD(from))) {
        rt_kernel_write(line, b.n);
        pager_reap(L4_ID_LTHREAD(from));    /* parked as failed: it goes */
    }
    return L4_NODESC;
}
