/* libFuzzer target: the ELF loader (kernel/elf.c) on the host model of
 * tests/host/kshim.c. Any input must load or be refused without a
 * sanitizer report, leave a consistent mapping database, and give every
 * pool frame back when its space is deleted. (make fuzz-host) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elf.h"
#include "kshim.h"
#include "map.h"
#include "mdb.h"
#include "space.h"

#define MAX_VA (L4_USER_LIMIT - 32 * PAGE_SIZE)    /* as boot.c: below the stack */

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_elf: %s\n", what);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *img = malloc(size ? size : 1);         /* exact size, 16-byte aligned */
    memcpy(img, data, size);
    struct space *s = shim_space_new(2);
    if (!s)
        fail("no space");
    shim_user_frames = 256;                         /* a huge p_memsz stops here */
    uint64_t min_va = size && (data[size - 1] & 1) ? 0x00007f0000000000ull : 0;
    uint64_t entry = elf_load(s, img, size, min_va, MAX_VA, "fuzz");
    if (entry && (entry < min_va || entry >= MAX_VA))
        fail("entry point outside the range");
    if (!mdb_check())
        fail("mdb_check failed");
    shim_space_free(s);
    shim_user_reset();
    if (shim_pool_used != 0 || mdb_frames() != 0)
        fail("pool frames not given back");
    free(img);
    return 0;
}
