/* A QEMU TCG plugin (QEMU 7.2, plugin API version 1) that records which
 * guest instructions in one address range ran: the kernel's text, for
 * `make fuzz`'s coverage (tests/fuzz/cov.py maps them to kernel/ lines).
 *
 *   -plugin build/tests/fuzz/cov_plugin.so,lo=<hex>,hi=<hex>,out=<file>
 *
 * QEMU translates a block of guest code when it is about to run it, and
 * a block in the kernel runs to its end (the kernel takes no exception in
 * its own text but a panic, and interrupts come between blocks), so the
 * instructions of every block translated in [lo, hi) are the ones that
 * ran: recording them at translation costs nothing while the guest runs.
 * At exit the addresses go to out, one hexadecimal address a line.
 *
 * Debian ships no qemu-plugin.h: the few declarations used are written
 * here, from the API's documentation (docs/devel/tcg-plugins.rst). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
typedef struct qemu_info qemu_info_t;   /* not read */

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
                                           void (*cb)(qemu_plugin_id_t, struct qemu_plugin_tb *));
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, void (*cb)(qemu_plugin_id_t, void *),
                                    void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

static uint64_t lo, hi;
static char *out;
static uint8_t *ran;        /* one byte per byte of [lo, hi): an instruction starts there and ran */

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    for (size_t i = 0; i < n; i++) {
        uint64_t a = qemu_plugin_insn_vaddr(qemu_plugin_tb_get_insn(tb, i));
        if (a >= lo && a < hi)
            ran[a - lo] = 1;
    }
}

static void at_exit(qemu_plugin_id_t id, void *p)
{
    (void)id, (void)p;
    FILE *f = fopen(out, "w");
    if (!f) {
        perror(out);
        return;
    }
    for (uint64_t a = lo; a < hi; a++)
        if (ran[a - lo])
            fprintf(f, "%llx\n", (unsigned long long)a);
    fclose(f);
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id,
                                                               const qemu_info_t *info, int argc,
                                                               char **argv)
{
    (void)info;
    for (int i = 0; i < argc; i++) {
        if (!strncmp(argv[i], "lo=", 3))
            lo = strtoull(argv[i] + 3, NULL, 16);
        else if (!strncmp(argv[i], "hi=", 3))
            hi = strtoull(argv[i] + 3, NULL, 16);
        else if (!strncmp(argv[i], "out=", 4))
            out = strdup(argv[i] + 4);
    }
    if (!out || hi <= lo || hi - lo > (64u << 20)) {
        fprintf(stderr, "cov_plugin: need lo=<hex>,hi=<hex>,out=<file> (at most 64 MiB)\n");
        return -1;
    }
    ran = calloc(hi - lo, 1);
    if (!ran)
        return -1;
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
