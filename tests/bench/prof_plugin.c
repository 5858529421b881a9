/* A QEMU TCG plugin (QEMU 7.2, plugin API version 1) that counts the
 * guest instructions each translation block ran, for `make profile-boot`
 * (tests/bench/profile_boot.py maps the blocks to functions).
 *
 *   -plugin build/tests/bench/prof_plugin.so,out=<file>[,stop=<hex>]
 *
 * stop: the counts are written when the block at that address first runs
 * (the prompt's moment: the function that reads the TSC for boot_tsc),
 * not at QEMU's exit (an idle guest under icount with sleep=off runs its
 * timers at full speed while the host reacts).
 *
 * Each translation gets a record and an inline add of its instruction
 * count to the record's counter at every execution (no callback: cheap).
 * A block that leaves early (a fault in its middle) is counted whole, as
 * QEMU's own icount does not: figures from this plugin are a profile,
 * and `make bench`'s are the measure. At exit, one line per record that
 * ran: "vaddr instructions length", hexadecimal then decimal (instructions
 * over length: how often it ran); a block translated
 * several times (another task, the same address) gives several lines.
 *
 * Debian ships no qemu-plugin.h: the few declarations used are written
 * here, from the API's documentation (docs/devel/tcg-plugins.rst). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
typedef struct qemu_info qemu_info_t;   /* not read */
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS };

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
                                           void (*cb)(qemu_plugin_id_t, struct qemu_plugin_tb *));
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op,
                                              void *ptr, uint64_t imm);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, void (*cb)(qemu_plugin_id_t, void *),
                                    void *userdata);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb,
                                          void (*cb)(unsigned int vcpu, void *userdata),
                                          enum qemu_plugin_cb_flags flags, void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

struct rec {
    uint64_t vaddr;
    uint64_t count;         /* instructions run: executions x the block's length */
    uint64_t insns;         /* the block's length */
};

/* Records in chunks that never move (the inline adds hold their address). */
#define CHUNK 65536
struct chunk {
    struct chunk *next;
    size_t used;
    struct rec r[CHUNK];
};
static struct chunk *chunks;
static char *out;
static uint64_t stop;       /* 0: none */
static int written;

static void write_counts(void)
{
    if (written)
        return;
    written = 1;
    FILE *f = fopen(out, "w");
    if (!f) {
        perror(out);
        return;
    }
    for (struct chunk *c = chunks; c; c = c->next)
        for (size_t i = 0; i < c->used; i++)
            if (c->r[i].count)
                fprintf(f, "%llx %llu %llu\n", (unsigned long long)c->r[i].vaddr,
                        (unsigned long long)c->r[i].count, (unsigned long long)c->r[i].insns);
    fclose(f);
}

static void at_stop(unsigned int vcpu, void *userdata)
{
    (void)vcpu, (void)userdata;
    write_counts();
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    if (!chunks || chunks->used == CHUNK) {
        struct chunk *c = calloc(1, sizeof *c);
        if (!c)
            abort();
        c->next = chunks;
        chunks = c;
    }
    struct rec *r = &chunks->r[chunks->used++];
    r->vaddr = qemu_plugin_tb_vaddr(tb);
    r->insns = qemu_plugin_tb_n_insns(tb);
    qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &r->count,
                                             qemu_plugin_tb_n_insns(tb));
    if (stop && r->vaddr == stop)
        qemu_plugin_register_vcpu_tb_exec_cb(tb, at_stop, QEMU_PLUGIN_CB_NO_REGS, NULL);
}

static void at_exit(qemu_plugin_id_t id, void *p)
{
    (void)id, (void)p;
    write_counts();
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id,
                                                               const qemu_info_t *info, int argc,
                                                               char **argv)
{
    (void)info;
    for (int i = 0; i < argc; i++)
        if (!strncmp(argv[i], "out=", 4))
            out = strdup(argv[i] + 4);
        else if (!strncmp(argv[i], "stop=", 5))
            stop = strtoull(argv[i] + 5, NULL, 16);
    if (!out) {
        fprintf(stderr, "prof_plugin: need out=<file>\n");
        return -1;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
