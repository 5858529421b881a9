/* Suite "mdb": the mapping database, seen from user mode. A page of the
 * root task is mapped on, task to task (root -> A -> B -> C); fpage_unmap
 * in the root or in A revokes what derives from it, in every task, or
 * makes it read-only; grant moves a mapping; deleting a task revokes
 * what others have from it; mapping over a mapping replaces it; a map
 * that runs the kernel pool dry fails cleanly; and every node comes back.
 * The debug call L4_KDEBUG_MDB_CHECK checks the database after each step.
 *
 * A, B, C (and D, E) are agents: child tasks running the root's code (as
 * in task_test.c, a root pager thread maps them the root's own pages at
 * the same addresses) in a loop that takes a command, does it and
 * replies. Each receives mappings into the window WIN. An agent touching
 * a window page it no longer has faults: the pager records the fault and
 * maps the root's scratch page there, so the agent reads SENTINEL and
 * lives on. */
#include "utest.h"

#define NIL       L4_NILTHREAD
#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

#define WIN       0x1000000000ull       /* every agent's receive window */
#define WIN_LOG   36
#define SENTINEL  0x5e5e5e5e5e5e5e5eull

enum { LT_PAGER = 1 };
enum { TN_A = 3, TN_B, TN_C, TN_D, TN_E };
enum { AG_A, AG_B, AG_C, AG_D, AG_E, AG_A1, AG_COUNT };
enum { CMD_ACCEPT = 1, CMD_READ, CMD_WRITE, CMD_MAP, CMD_UNMAP, CMD_CHECK, CMD_SPAWN };

/* The root's pages that travel: pages[k][0] holds a marker. */
static uint64_t pages[4][512] __attribute__((aligned(4096)));
static uint64_t scratch[512] __attribute__((aligned(4096)));
#define BIG_LOG 21
static uint8_t big[1 << BIG_LOG] __attribute__((aligned(1 << BIG_LOG)));
#define BIG_PAGES ((uint64_t)(1 << BIG_LOG) / 4096)
static uint64_t agent_stacks[AG_COUNT][1024] __attribute__((aligned(4096)));

static uint64_t stack_top(unsigned ag)
{
    return (uint64_t)&agent_stacks[ag][1024] - 8;  /* rsp % 16 == 8, as after a call */
}

static const uint64_t forever = L4_TIMEOUTS(0, 0, 0, 0);
#define TO_1S L4_TIMEOUTS(uto_us(1000000), uto_us(1000000), 0, 0)

/* ---- The agents ---- */
static void __attribute__((noreturn)) agent_loop(unsigned lthread)
{
    const uint64_t rcv = L4_RCV_OPEN | L4_RCV_MAPS;
    l4_utcb_of(lthread)->rcv_window = L4_FPAGE(WIN, WIN_LOG, 0);
    struct l4_msg m = { 0 };
    uint64_t from = 0;
    uint64_t r = l4_ipc(NIL, L4_NODESC, rcv, forever, &m, &from);
    for (;;) {
        if (L4_IPC_ERR(r) != L4_IPC_OK) {   /* e.g. a map that failed */
            r = l4_ipc(NIL, L4_NODESC, rcv, forever, &m, &from);
            continue;
        }
        uint64_t a = m.w[0], b = m.w[1], c = m.w[2];
        m.w[0] = 0;
        switch (L4_TAG_LABEL(m.tag)) {
        case CMD_READ:
            m.w[0] = *(volatile uint64_t *)a;
            break;
        case CMD_WRITE:
            *(volatile uint64_t *)a = b;
            break;
        case CMD_MAP: {         /* map item {b, c} to thread a */
            struct l4_msg x = { 0 };
            x.w[0] = b;
            x.w[1] = c;
            m.w[0] = L4_IPC_ERR(l4_ipc(a, L4_TAG(CMD_ACCEPT, 0, 1), 0, TO_1S, &x, 0));
            break;
        }
        case CMD_UNMAP:
            m.w[0] = l4_fpage_unmap(a, b);
            break;
        case CMD_CHECK:
            m.w[0] = l4_kdebug(L4_KDEBUG_MDB_CHECK, 0, 0, 0);
            break;
        case CMD_SPAWN: {       /* lthread 1 of this task, as agent a */
            extern char agent1_entry[];
            uint64_t id = 0;
            m.w[0] = l4_lthread_ex_regs(1, (uint64_t)agent1_entry, stack_top((unsigned)a), ~0ull,
                                        ~0ull, &id, 0);
            m.w[1] = id;
            break;
        }
        }
        r = l4_ipc(from, L4_TAG(0, 2, 0), rcv, L4_TIMEOUTS(L4_TO_ZERO, 0, 0, 0), &m, &from);
    }
}

static void __attribute__((noreturn, used)) agent0_main(void)
{
    agent_loop(0);
}

static void __attribute__((noreturn, used)) agent1_main(void)
{
    agent_loop(1);
}
__asm__(".text\n.globl agent1_entry\nagent1_entry:\n    jmp agent1_main\n");

/* ---- The pager: root pages at their own address; window faults are
 * recorded and get the scratch page ---- */
struct fault {
    uint64_t from, addr;
};
static volatile struct fault faults[256];
static volatile uint64_t nfaults;
static uint64_t pager_id;

static void pager_fn(uint64_t arg)
{
    (void)arg;
    for (;;) {
        struct l4_msg m = { 0 };
        uint64_t from = 0;
        uint64_t r = l4_ipc(NIL, L4_NODESC, L4_RCV_OPEN, forever, &m, &from);
        while (L4_IPC_ERR(r) == L4_IPC_OK && L4_TAG_LABEL(m.tag) == L4_LABEL_PAGEFAULT) {
            uint64_t page = m.w[0] & ~0xfffull, src = page;
            if (page >= WIN && page < WIN + (1ull << WIN_LOG)) {
                uint64_t n = nfaults;
                if (n < COUNT_OF(faults)) {
                    faults[n].from = from;
                    faults[n].addr = m.w[0];
                }
                nfaults = n + 1;
                src = (uint64_t)scratch;
            } else if (page < 0x400000 || page >= 0x40000000) {
                break;              /* not ours: no answer */
            }
            m.w[0] = page | L4_ITEM_MAP;
            m.w[1] = L4_FPAGE(src, 12, L4_RWX);
            r = l4_ipc(from, L4_TAG(0, 0, 1), L4_RCV_OPEN, L4_TIMEOUTS(L4_TO_ZERO, 0, 0, 0), &m,
                       &from);
        }
    }
}

static uint64_t pager(void)
{
    if (!pager_id) {
        scratch[0] = SENTINEL;
        pager_id = uthread_start(LT_PAGER, pager_fn, 0);
    }
    return pager_id;
}

/* Did thread who fault at addr (write or read) since record 'since'? */
static bool faulted(uint64_t who, uint64_t addr, bool write, uint64_t since)
{
    for (uint64_t i = since; i < nfaults && i < COUNT_OF(faults); i++)
        if (faults[i].from == who && L4_FAULT_ADDR(faults[i].addr) == addr &&
            !!(faults[i].addr & 2) == write)
            return true;
    return false;
}

/* ---- The root's side ---- */
static uint64_t agents[AG_COUNT];
static const unsigned agent_task[AG_COUNT] = { TN_A, TN_B, TN_C, TN_D, TN_E, TN_A };

static uint64_t call(uint64_t to, uint32_t cmd, uint64_t a, uint64_t b, uint64_t c, uint64_t *out)
{
    struct l4_msg m = { 0 };
    m.w[0] = a;
    m.w[1] = b;
    m.w[2] = c;
    uint64_t r = L4_IPC_ERR(l4_ipc(to, L4_TAG(cmd, 3, 0), 0, TO_1S, &m, 0));
    if (out)
        *out = r == L4_IPC_OK ? m.w[0] : ~0ull;
    if (r == L4_IPC_OK && cmd == CMD_SPAWN)
        out[1] = m.w[1];
    return r;
}

/* Agent ag, (re)created if it is not there. */
static uint64_t agent(unsigned ag)
{
    if (agents[ag])
        return agents[ag];
    uint64_t id = 0;
    if (ag == AG_A1) {
        uint64_t out[2] = { 0 };
        if (call(agent(AG_A), CMD_SPAWN, AG_A1, 0, 0, out) == L4_IPC_OK && out[0] == L4_OK)
            id = out[1];
    } else if (l4_task_new(L4_ID(agent_task[ag], 0, 0), 255, (uint64_t)agent0_main, stack_top(ag),
                           pager(), 0, &id) != L4_OK) {
        id = 0;
    }
    UCHECK(id != 0);
    agents[ag] = id;
    return id;
}

static void delete_agent(unsigned ag)
{
    uint64_t x;
    UCHECK_EQ(l4_task_new(L4_ID(agent_task[ag], 0, 0), 0, 0, 0, NIL, 0, &x), L4_OK);
    agents[ag] = 0;
    if (ag == AG_A)
        agents[AG_A1] = 0;
}

/* The root maps (or grants) its fpage {base, log2, rights} to agent ag at
 * WIN + off: the IPC result. */
static uint64_t give(unsigned ag, const void *base, unsigned log2, unsigned rights, uint64_t off)
{
    struct l4_msg m = { 0 };
    m.w[0] = off | L4_ITEM_MAP;
    m.w[1] = L4_FPAGE((uint64_t)base, log2, rights);
    return L4_IPC_ERR(l4_ipc(agent(ag), L4_TAG(CMD_ACCEPT, 0, 1), 0, TO_1S, &m, 0));
}

/* Agent 'from' maps (grant) its page WIN + src to agent 'to' at WIN + off:
 * the result of from's IPC (or of the command, if that failed). */
static uint64_t pass(unsigned from, unsigned to, uint64_t src, uint64_t off, unsigned rights,
                     bool grant)
{
    uint64_t res = 0;
    uint64_t r = call(agent(from), CMD_MAP, agent(to), off | (grant ? L4_ITEM_GRANT : L4_ITEM_MAP),
                      L4_FPAGE(WIN + src, 12, rights), &res);
    return r != L4_IPC_OK ? 0x1000 + r : res;
}

static uint64_t read_in(unsigned ag, uint64_t addr)
{
    uint64_t v = 0;
    UCHECK_EQ(call(agent(ag), CMD_READ, addr, 0, 0, &v), L4_IPC_OK);
    return v;
}

static void write_in(unsigned ag, uint64_t addr, uint64_t v)
{
    UCHECK_EQ(call(agent(ag), CMD_WRITE, addr, v, 0, 0), L4_IPC_OK);
}

static bool mdb_ok(void)
{
    return l4_kdebug(L4_KDEBUG_MDB_CHECK, 0, 0, 0) == L4_OK;
}

static uint64_t kmem_used(void)
{
    uint64_t used = 0;
    l4_kdebug(L4_KDEBUG_KMEM, 0, &used, 0);
    return used;
}

/* root page k -> A -> B -> C, each at WIN. */
static void chain(unsigned k, uint64_t marker)
{
    pages[k][0] = marker;
    UCHECK_EQ(give(AG_A, pages[k], 12, L4_RWX, 0), L4_IPC_OK);
    UCHECK_EQ(pass(AG_A, AG_B, 0, 0, L4_RWX, false), L4_IPC_OK);
    UCHECK_EQ(pass(AG_B, AG_C, 0, 0, L4_RWX, false), L4_IPC_OK);
    UCHECK(mdb_ok());
}

/* ==== root -> A -> B -> C; an unmap in the root reaches all three ==== */
UTEST(unmap_in_root_revokes_chain)
{
    UCHECK(mdb_ok());
    chain(0, 0x1111);
    UCHECK_EQ(read_in(AG_A, WIN), 0x1111);
    UCHECK_EQ(read_in(AG_B, WIN), 0x1111);
    UCHECK_EQ(read_in(AG_C, WIN), 0x1111);
    write_in(AG_C, WIN + 8, 0x2222);                /* the same frame */
    UCHECK_EQ(((volatile uint64_t *)pages[0])[1], 0x2222);
    uint64_t res = 0;
    UCHECK_EQ(call(agent(AG_B), CMD_CHECK, 0, 0, 0, &res), L4_IPC_OK);
    UCHECK_EQ(res, L4_EPERM);       /* it walks every mapping: the root task only */
    UCHECK(mdb_ok());

    uint64_t f0 = nfaults;
    UCHECK_EQ(l4_fpage_unmap(L4_FPAGE((uint64_t)pages[0], 12, 0), L4_UNMAP_FLUSH), L4_OK);
    UCHECK(mdb_ok());
    /* The root keeps its own page, writable. */
    ((volatile uint64_t *)pages[0])[2] = 3;
    UCHECK_EQ(((volatile uint64_t *)pages[0])[0], 0x1111);
    /* A, B and C fault. */
    UCHECK_EQ(read_in(AG_A, WIN), SENTINEL);
    UCHECK_EQ(read_in(AG_B, WIN), SENTINEL);
    UCHECK_EQ(read_in(AG_C, WIN), SENTINEL);
    UCHECK(faulted(agent(AG_A), WIN, false, f0));
    UCHECK(faulted(agent(AG_B), WIN, false, f0));
    UCHECK(faulted(agent(AG_C), WIN, false, f0));
    UCHECK_EQ(nfaults, f0 + 3);
    UCHECK(mdb_ok());
}

/* ==== An unmap in A reaches B and C only; with OWN, A too ==== */
UTEST(unmap_in_middle)
{
    chain(0, 0x3333);
    uint64_t f0 = nfaults, res = 0;
    UCHECK_EQ(call(agent(AG_A), CMD_UNMAP, L4_FPAGE(WIN, 12, 0), L4_UNMAP_FLUSH, 0, &res), L4_IPC_OK);
    UCHECK_EQ(res, L4_OK);
    UCHECK(mdb_ok());
    UCHECK_EQ(read_in(AG_A, WIN), 0x3333);
    UCHECK_EQ(read_in(AG_B, WIN), SENTINEL);
    UCHECK_EQ(read_in(AG_C, WIN), SENTINEL);
    UCHECK(!faulted(agent(AG_A), WIN, false, f0));
    UCHECK(faulted(agent(AG_B), WIN, false, f0));
    UCHECK(faulted(agent(AG_C), WIN, false, f0));
    UCHECK(mdb_ok());

    /* Again, now with OWN: A's goes as well; the root keeps it. */
    UCHECK_EQ(pass(AG_A, AG_B, 0, 0, L4_RWX, false), L4_IPC_OK);
    UCHECK_EQ(pass(AG_B, AG_C, 0, 0, L4_RWX, false), L4_IPC_OK);
    UCHECK_EQ(read_in(AG_C, WIN), 0x3333);
    f0 = nfaults;
    UCHECK_EQ(call(agent(AG_A), CMD_UNMAP, L4_FPAGE(WIN, 20, 0), L4_UNMAP_FLUSH | L4_UNMAP_OWN, 0,
                   &res),
              L4_IPC_OK);
    UCHECK_EQ(res, L4_OK);
    UCHECK(mdb_ok());
    UCHECK_EQ(read_in(AG_A, WIN), SENTINEL);
    UCHECK_EQ(read_in(AG_B, WIN), SENTINEL);
    UCHECK_EQ(read_in(AG_C, WIN), SENTINEL);
    UCHECK(faulted(agent(AG_A), WIN, false, f0));
    UCHECK_EQ(((volatile uint64_t *)pages[0])[0], 0x3333);
    UCHECK(mdb_ok());
}

/* ==== Without FLUSH: read-only, all the way down ==== */
UTEST(read_only_propagates)
{
    chain(1, 0x4444);
    write_in(AG_C, WIN + 8, 5);
    UCHECK_EQ(((volatile uint64_t *)pages[1])[1], 5);
    uint64_t f0 = nfaults;
    UCHECK_EQ(l4_fpage_unmap(L4_FPAGE((uint64_t)pages[1], 12, 0), 0), L4_OK);
    UCHECK(mdb_ok());
    ((volatile uint64_t *)pages[1])[2] = 7;         /* the root's own stays writable */
    UCHECK_EQ(read_in(AG_A, WIN), 0x4444);          /* reads work */
    UCHECK_EQ(read_in(AG_B, WIN), 0x4444);
    UCHECK_EQ(read_in(AG_C, WIN), 0x4444);
    UCHECK_EQ(nfaults, f0);
    /* Mapped on with all rights, it stays read-only. */
    UCHECK_EQ(pass(AG_A, AG_B, 0, 4096, L4_RWX, false), L4_IPC_OK);
    UCHECK_EQ(read_in(AG_B, WIN + 4096), 0x4444);
    UCHECK(mdb_ok());
    /* A write faults (the pager then maps the scratch page there). */
    write_in(AG_C, WIN + 8, 6);
    UCHECK(faulted(agent(AG_C), WIN + 8, true, f0));
    write_in(AG_B, WIN + 4096 + 8, 6);
    UCHECK(faulted(agent(AG_B), WIN + 4096 + 8, true, f0));
    write_in(AG_A, WIN + 8, 6);
    UCHECK(faulted(agent(AG_A), WIN + 8, true, f0));
    UCHECK_EQ(((volatile uint64_t *)pages[1])[1], 5);
    UCHECK_EQ(((volatile uint64_t *)scratch)[1], 6);
    UCHECK(mdb_ok());
}

/* ==== fpage_unmap ignores the rights bits of its fpage: without FLUSH
 * it makes read-only, with FLUSH it removes, whatever they say (abi.md
 * "Memory") ==== */
static uint64_t rights_page[512] __attribute__((aligned(4096)));
UTEST(unmap_ignores_the_fpage_rights)
{
    const uint64_t at = WIN + 0x100000;
    rights_page[0] = 0x6666;
    static const unsigned named[] = { L4_RWX, L4_R, 0 };
    for (unsigned i = 0; i < COUNT_OF(named); i++) {
        UCHECK_EQ(give(AG_D, rights_page, 12, L4_RWX, 0x100000), L4_IPC_OK);
        write_in(AG_D, at + 16, i + 1);             /* writable before */
        UCHECK_EQ(((volatile uint64_t *)rights_page)[2], i + 1);
        uint64_t f0 = nfaults;
        UCHECK_EQ(l4_fpage_unmap(L4_FPAGE((uint64_t)rights_page, 12, named[i]), 0), L4_OK);
        UCHECK_EQ(read_in(AG_D, at), 0x6666);       /* still mapped, for reading */
        UCHECK_EQ(nfaults, f0);
        write_in(AG_D, at + 16, 0x77);              /* a write faults */
        UCHECK(faulted(agent(AG_D), at + 16, true, f0));
        UCHECK_EQ(((volatile uint64_t *)rights_page)[2], i + 1);
        UCHECK(mdb_ok());
    }
    for (unsigned i = 0; i < COUNT_OF(named); i++) {
        UCHECK_EQ(give(AG_D, rights_page, 12, L4_RWX, 0x100000), L4_IPC_OK);
        UCHECK_EQ(read_in(AG_D, at), 0x6666);
        uint64_t f0 = nfaults;
        UCHECK_EQ(l4_fpage_unmap(L4_FPAGE((uint64_t)rights_page, 12, named[i]), L4_UNMAP_FLUSH), L4_OK);
        UCHECK_EQ(read_in(AG_D, at), SENTINEL);     /* gone, whatever the bits said */
        UCHECK(faulted(agent(AG_D), at, false, f0));
        UCHECK(mdb_ok());
    }
    delete_agent(AG_D);
    UCHECK(mdb_ok());
}

/* ==== Grant moves the mapping; what derives from it follows ==== */
UTEST(grant_moves_mapping)
{
    pages[2][0] = 0x5555;
    pages[2][1] = 0;
    UCHECK_EQ(give(AG_A, pages[2], 12, L4_RWX, 0), L4_IPC_OK);
    UCHECK_EQ(pass(AG_A, AG_C, 0, 4096, L4_RWX, false), L4_IPC_OK);
    UCHECK_EQ(read_in(AG_C, WIN + 4096), 0x5555);
    /* A grants to B without write right: C (derived) loses it too. */
    UCHECK_EQ(pass(AG_A, AG_B, 0, 0, L4_R | L4_X, true), L4_IPC_OK);
    UCHECK(mdb_ok());
    uint64_t f0 = nfaults;
    UCHECK_EQ(read_in(AG_A, WIN), SENTINEL);        /* A has it no more */
    UCHECK(faulted(agent(AG_A), WIN, false, f0));
    UCHECK_EQ(read_in(AG_B, WIN), 0x5555);
    UCHECK_EQ(read_in(AG_C, WIN + 4096), 0x5555);
    write_in(AG_C, WIN + 4096 + 8, 9);
    UCHECK(faulted(agent(AG_C), WIN + 4096 + 8, true, f0));
    UCHECK_EQ(((volatile uint64_t *)pages[2])[1], 0);
    UCHECK(mdb_ok());
    /* The root's unmap still reaches B. */
    f0 = nfaults;
    UCHECK_EQ(l4_fpage_unmap(L4_FPAGE((uint64_t)pages[2], 12, 0), L4_UNMAP_FLUSH), L4_OK);
    UCHECK_EQ(read_in(AG_B, WIN), SENTINEL);
    UCHECK(faulted(agent(AG_B), WIN, false, f0));
    UCHECK(mdb_ok());
}

/* ==== Mapping over a mapping replaces it (and what derives from it);
 * mapping back to where the page came from changes nothing ==== */
UTEST(map_over_mapping_replaces)
{
    chain(0, 0x6666);
    pages[3][0] = 0x7777;
    uint64_t f0 = nfaults;
    UCHECK_EQ(give(AG_A, pages[3], 12, L4_RWX, 0), L4_IPC_OK);
    UCHECK(mdb_ok());
    UCHECK_EQ(read_in(AG_A, WIN), 0x7777);
    UCHECK_EQ(read_in(AG_B, WIN), SENTINEL);
    UCHECK_EQ(read_in(AG_C, WIN), SENTINEL);
    UCHECK(faulted(agent(AG_B), WIN, false, f0));
    UCHECK(faulted(agent(AG_C), WIN, false, f0));
    /* B maps its copy back onto A's (its source): nothing changes. */
    UCHECK_EQ(pass(AG_A, AG_B, 0, 0, L4_RWX, false), L4_IPC_OK);
    UCHECK_EQ(pass(AG_B, AG_A, 0, 0, L4_RWX, false), L4_IPC_OK);
    UCHECK_EQ(pass(AG_B, AG_A, 0, 0, L4_RWX, true), L4_IPC_OK);
    UCHECK(mdb_ok());
    UCHECK_EQ(read_in(AG_A, WIN), 0x7777);
    UCHECK_EQ(read_in(AG_B, WIN), 0x7777);
    f0 = nfaults;
    UCHECK_EQ(l4_fpage_unmap(L4_FPAGE((uint64_t)pages[3], 12, 0), L4_UNMAP_FLUSH), L4_OK);
    UCHECK_EQ(read_in(AG_A, WIN), SENTINEL);
    UCHECK_EQ(read_in(AG_B, WIN), SENTINEL);
    UCHECK_EQ(nfaults, f0 + 2);
    UCHECK(mdb_ok());
}

/* ==== Deleting a task revokes what others have from it ==== */
UTEST(delete_task_revokes)
{
    chain(0, 0x8888);
    /* A second thread of A gets A's page at WIN + 4096 (same space). */
    UCHECK_EQ(pass(AG_A, AG_A1, 0, 4096, L4_RWX, false), L4_IPC_OK);
    UCHECK_EQ(read_in(AG_A1, WIN + 4096), 0x8888);
    UCHECK(mdb_ok());
    uint64_t f0 = nfaults, c = agent(AG_C);
    delete_agent(AG_B);
    UCHECK(mdb_ok());
    UCHECK_EQ(read_in(AG_C, WIN), SENTINEL);
    UCHECK(faulted(c, WIN, false, f0));
    UCHECK_EQ(read_in(AG_A, WIN), 0x8888);
    /* C gets A's second copy; deleting A takes both of A's and C's. */
    UCHECK_EQ(pass(AG_A1, AG_C, 4096, 8192, L4_RWX, false), L4_IPC_OK);
    UCHECK_EQ(read_in(AG_C, WIN + 8192), 0x8888);
    UCHECK(mdb_ok());
    f0 = nfaults;
    delete_agent(AG_A);
    UCHECK(mdb_ok());
    UCHECK_EQ(read_in(AG_C, WIN + 8192), SENTINEL);
    UCHECK(faulted(c, WIN + 8192, false, f0));
    UCHECK_EQ(((volatile uint64_t *)pages[0])[0], 0x8888);
    UCHECK(mdb_ok());
}

/* ==== Far more mappings than the pool could hold, made and undone: all
 * kernel memory comes back ==== */
UTEST(many_maps_return_all_memory)
{
    uint64_t limit = 0, used = 0;
    l4_kdebug(L4_KDEBUG_KMEM, 0, &used, &limit);
    /* Warm up: A exists, has its page tables for the window. */
    UCHECK_EQ(give(AG_A, big, BIG_LOG, L4_RWX, 0), L4_IPC_OK);
    UCHECK_EQ(l4_fpage_unmap(L4_FPAGE((uint64_t)big, BIG_LOG, 0), L4_UNMAP_FLUSH), L4_OK);
    uint64_t used0 = kmem_used();
    /* A node is 48 bytes: at most limit * 4096 / 48 of them fit. */
    uint64_t rounds = limit * 4096 / 48 / BIG_PAGES * 3 / 2 + 1, bad = 0;
    for (uint64_t i = 0; i < rounds; i++) {
        if (give(AG_A, big, BIG_LOG, i & 1 ? L4_R : L4_RWX, 0) != L4_IPC_OK)
            bad++;
        if (l4_fpage_unmap(L4_FPAGE((uint64_t)big, BIG_LOG, 0), L4_UNMAP_FLUSH) != L4_OK)
            bad++;
    }
    uprintf("  %lu pages mapped and unmapped (pool: %lu frames)\n", rounds * BIG_PAGES, limit);
    UCHECK_EQ(bad, 0);
    UCHECK(mdb_ok());
    UCHECK_EQ(kmem_used(), used0);
    /* Tasks that receive mappings, made and deleted. */
    for (unsigned i = 0; i < 100; i++) {
        if (give(AG_D, big, BIG_LOG, L4_RWX, (uint64_t)i << BIG_LOG) != L4_IPC_OK ||
            pass(AG_D, AG_A, (uint64_t)i << BIG_LOG, 4096, L4_RWX, false) != L4_IPC_OK)
            bad++;
        delete_agent(AG_D);
    }
    UCHECK_EQ(bad, 0);
    UCHECK(mdb_ok());
    UCHECK_EQ(kmem_used(), used0);
    /* A's copy from D went with D. */
    UCHECK_EQ(read_in(AG_A, WIN + 4096), SENTINEL);
    UCHECK(mdb_ok());
}

/* ==== Mapping until the pool runs dry: a clean failure ==== */
UTEST(exhaustion_fails_cleanly)
{
    UCHECK(pager() != 0);
    uint64_t used0 = kmem_used(), limit = 0, k = 0, r = 0;
    l4_kdebug(L4_KDEBUG_KMEM, 0, 0, &limit);
    agent(AG_E);
    for (; k < (1ull << (WIN_LOG - BIG_LOG)); k++)
        if ((r = give(AG_E, big, BIG_LOG, L4_RWX, k << BIG_LOG)) != L4_IPC_OK)
            break;
    uprintf("  %lu x %lu pages mapped before the pool ran out (%lu of %lu frames used)\n", k,
            BIG_PAGES, kmem_used(), limit);
    UCHECK_EQ(L4_IPC_ERR(r), L4_IPC_MAP_FAILED);
    UCHECK(kmem_used() + 8 > limit);
    UCHECK(mdb_ok());
    /* Some of the last fpage may be there; all goes with the unmap. */
    UCHECK_EQ(l4_fpage_unmap(L4_FPAGE((uint64_t)big, BIG_LOG, 0), L4_UNMAP_FLUSH), L4_OK);
    UCHECK(mdb_ok());
    UCHECK_EQ(give(AG_E, big, BIG_LOG, L4_RWX, 0), L4_IPC_OK);
    UCHECK_EQ(read_in(AG_E, WIN), ((volatile uint64_t *)big)[0]);
    delete_agent(AG_E);
    UCHECK(mdb_ok());
    UCHECK_EQ(kmem_used(), used0);
}

int main(void)
{
    return utest_run("mdb");
}
