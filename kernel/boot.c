/* The first tasks, from boot modules (their images loaded by elf.c). */
#include "boot.h"
#include "elf.h"
#include "io.h"
#include "kip.h"
#include "kmem.h"
#include "log.h"
#include "map.h"
#include "mdb.h"
#include "sched.h"
#include "space.h"
#include "string.h"
#include "arch.h"

#define STACK_PAGES 32
#define STACK_TOP L4_USER_LIMIT

/* sigma0 sees physical memory at the same virtual addresses below
 * L4_SIGMA0_BASE, so its image must lie above (memory.md "sigma0"). */
static struct thread *start_task(unsigned task, const struct boot_module *m, uint8_t prio)
{
    struct space *s = space_create(task, NULL, 255);
    struct thread *t = s ? thread_create(s, 0) : NULL;
    uint64_t entry = t ? elf_load(s, phys_to_virt(m->start), m->end - m->start,
                                    task == L4_SIGMA0_TASK ? L4_SIGMA0_BASE : 0,
                                    STACK_TOP - STACK_PAGES * PAGE_SIZE, m->name) : 0;
    for (unsigned i = 0; entry && i < STACK_PAGES; i++) {
        paddr_t pa = kmem_alloc_user_frame();
        if (!pa || !mdb_map_root(s, STACK_TOP - (i + 1) * PAGE_SIZE, pa, true, false))
            entry = 0;
    }
    if (!entry) {
        kprintf("boot: could not start %s\n", m->name);
        if (s)
            space_destroy(s);
        return NULL;
    }
    t->prio = prio;
    thread_start(t, entry, STACK_TOP - 8);  /* rsp % 16 == 8 as after a call */
    kprintf("boot: started %s as task %u, thread %lx\n", m->name, task, t->id);
    return t;
}

/* The module named "scripts" (Lua scripts for the root task, an archive
 * the kernel does not look into) is copied into fresh frames mapped
 * read-only at L4_SCRIPTS_BASE in the root task, and the KIP says where
 * (abi.md "KIP"). A copy, as for ELF images, so the root never maps the
 * module's own frames, which stay the kernel's. A stopgap: no one else
 * gets boot modules yet; a later service will hand them out. */
static void map_scripts(struct space *s, const struct boot_module *m)
{
    uint64_t size = m->end - m->start;
    if (size > L4_SCRIPTS_MAX) {
        kprintf("boot: module %s is larger than %lu bytes; not mapped\n", m->name,
                (unsigned long)L4_SCRIPTS_MAX);
        return;
    }
    for (uint64_t off = 0; off < size; off += PAGE_SIZE) {
        paddr_t pa = kmem_alloc_user_frame();   /* zeroed: the tail too */
        if (!pa || !mdb_map_root(s, L4_SCRIPTS_BASE + off, pa, false, false)) {
            kprintf("boot: no memory for module %s; not mapped\n", m->name);
            return;     /* the KIP fields stay 0; mapped pages stay the root's */
        }
        memcpy(phys_to_virt(pa), phys_to_virt(m->start + off), MIN(PAGE_SIZE, size - off));
    }
    kip->scripts = L4_SCRIPTS_BASE;
    kip->scripts_size = size;
}

static const char *last_word(const char *s)
{
    const char *w = s;
    for (; *s; s++)
        if (*s == ' ' && s[1] && s[1] != ' ')
            w = s + 1;
    return w;
}

void boot_start_tasks(const struct boot_info *bi)
{
    const struct boot_module *sigma0 = NULL, *root = NULL, *scripts = NULL;
    for (unsigned i = 0; i < bi->nmod; i++) {
        const char *n = last_word(bi->mod[i].name);
        if (!strcmp(n, "sigma0"))
            sigma0 = &bi->mod[i];
        else if (!strcmp(n, "root"))
            root = &bi->mod[i];
        else if (!strcmp(n, "scripts"))
            scripts = &bi->mod[i];
    }
    for (unsigned t = 1; t < L4_MAX_TASKS; t++)
        task_owner[t] = L4_ROOT_TASK;   /* the root task may create any task */
    struct thread *s0 = sigma0 ? start_task(L4_SIGMA0_TASK, sigma0, 200) : NULL;
    struct thread *rt = root ? start_task(L4_ROOT_TASK, root, SCHED_DEFAULT_PRIO) : NULL;
    if (s0)
        kip->sigma0 = s0->id;
    /* sigma0 holds every I/O port but the kernel's (PICs, PIT); in a boot
     * without sigma0 the root task holds them instead. */
    struct thread *ports = s0 ? s0 : rt;
    if (ports && !io_grant_all(ports->space))
        kprintf("boot: no memory for the I/O bitmap of task %u\n", ports->space->task);
    /* The root task's pager is sigma0 (which answers no faults: the root
     * is loaded whole and asks for memory by request); its exceptions have
     * no handler, so the kernel stops the thread and logs them. */
    if (rt) {
        kip->root_task = rt->id;
        rt->pager = s0 ? s0->id : L4_NILTHREAD;
        rt->exc_handler = L4_NILTHREAD;
        if (scripts)
            map_scripts(rt->space, scripts);
    }
}
