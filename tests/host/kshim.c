/* The host model of kshim.h. */
#include "kshim.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmem.h"
#include "log.h"
#include "mdb.h"
#include "space.h"
#include "arch/x86_64/arch.h"
#include "arch/x86_64/layout.h"
#include "arch/x86_64/paging.h"

size_t shim_pool_used, shim_user_used;
long shim_pool_fail_after = -1, shim_user_frames = -1;
uint64_t shim_cr3;
unsigned long shim_invlpgs;
char shim_log[4096];

#ifndef SHIM_REAL_SPACE       /* else kernel/space.c has these (test_ipc) */
struct space *tasks[L4_MAX_TASKS];
#endif

/* paging.c's map_image names the kernel image's bounds; never called here. */
char _text[1], _etext[1], _erodata[1], _kernel_end[1], boot_stack_guard[1];

uint64_t host_read_cr(int n)
{
    return n == 3 ? shim_cr3 : 0;
}

void host_write_cr(int n, uint64_t v)
{
    if (n == 3)
        shim_cr3 = v;
}

void host_invlpg(vaddr_t a)
{
    (void)a;
    shim_invlpgs++;
}

void kprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(shim_log, sizeof shim_log, fmt, ap);
    va_end(ap);
}

/* n zeroed frames, aligned to n frames, from the host heap. */
static paddr_t frames(size_t n)
{
    void *p = aligned_alloc(n * PAGE_SIZE, n * PAGE_SIZE);
    if (!p)
        return 0;
    memset(p, 0, n * PAGE_SIZE);
    return virt_to_phys(p);
}

static bool pool_take(size_t n)
{
    if (shim_pool_fail_after >= 0) {
        if ((size_t)shim_pool_fail_after < n)
            return false;
        shim_pool_fail_after -= (long)n;
    }
    shim_pool_used += n;
    return true;
}

paddr_t kmem_alloc_frame(void)
{
    return kmem_alloc_contig(1);
}

void kmem_free_frame(paddr_t pa)
{
    kmem_free_contig(pa, 1);
}

paddr_t kmem_alloc_contig(size_t n)
{
    if (!pool_take(n))
        return 0;
    paddr_t pa = frames(n);
    if (!pa)
        shim_pool_used -= n;
    return pa;
}

void kmem_free_contig(paddr_t pa, size_t n)
{
    memset(phys_to_virt(pa), 0x6b, n * PAGE_SIZE);     /* stale data shows */
    free(phys_to_virt(pa));
    shim_pool_used -= n;
}

/* User frames are kept on a list (their first word's place would be
 * data): a small side table is enough for tests. */
static void **user_list;
static size_t user_cap;

paddr_t kmem_alloc_user_frame(void)
{
    if (shim_user_frames == 0)
        return 0;
    if (shim_user_used == user_cap) {
        user_cap = user_cap ? 2 * user_cap : 64;
        user_list = realloc(user_list, user_cap * sizeof *user_list);
    }
    paddr_t pa = frames(1);
    if (!pa)
        return 0;
    if (shim_user_frames > 0)
        shim_user_frames--;
    user_list[shim_user_used++] = phys_to_virt(pa);
    return pa;
}

void shim_user_reset(void)
{
    for (size_t i = 0; i < shim_user_used; i++)
        free(user_list[i]);
    shim_user_used = 0;
}

#ifndef SHIM_REAL_SPACE
bool space_lookup(struct space *s, uint64_t va, paddr_t *pa, uint64_t *pte)
{
    uint64_t *e = va < USER_TOP ? paging_lookup(s->pml4, va) : NULL;
    if (!e || !(*e & PTE_U))
        return false;
    *pa = (*e & PTE_ADDR) | (va & (PAGE_SIZE - 1));     /* the user half has 4 KiB pages */
    *pte = *e;
    return true;
}

struct space *shim_space_new(unsigned task)
{
    struct space *s = calloc(1, sizeof *s);
    if (!s || !(s->pml4 = kmem_alloc_frame())) {
        free(s);
        return NULL;
    }
    s->task = task;
    tasks[task] = s;
    return s;
}

/* Frees the tables below a user-half table of the given level. */
static void free_below(uint64_t *t, int level)
{
    for (int i = 0; i < (level == 3 ? 256 : 512); i++) {
        if (!(t[i] & PTE_P))
            continue;
        paddr_t pa = t[i] & PTE_ADDR;
        if (level == 1) {
            kmem_free_contig(pa, 2);        /* a page table and its companion */
            continue;
        }
        free_below(phys_to_virt(pa), level - 1);
        kmem_free_frame(pa);
    }
}

void shim_space_free(struct space *s)
{
    mdb_unmap_space(s);
    free_below(phys_to_virt(s->pml4), 3);
    kmem_free_frame(s->pml4);
    if (shim_cr3 == s->pml4)
        shim_cr3 = 0;
    tasks[s->task] = NULL;
    free(s);
}

#endif /* SHIM_REAL_SPACE */

void *shim_page(struct space *s, uint64_t va)
{
    paddr_t pa;
    uint64_t pte;
    return space_lookup(s, va, &pa, &pte) ? phys_to_virt(pa & ~(PAGE_SIZE - 1)) : NULL;
}

/* io.c tells the architecture when a bitmap changes (the TSS copy). */
void arch_io_bitmap_changed(const uint8_t *bitmap, bool gone)
{
    (void)bitmap, (void)gone;
}
