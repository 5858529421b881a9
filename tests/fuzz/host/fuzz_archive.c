/* libFuzzer target: the scripts-archive parser (runtime/lua/archive.c).
 * Any input must be accepted or refused without a sanitizer report; an
 * accepted one must find each of its names (those without a NUL byte) by
 * lookup. (make fuzz-host) */
#include "archive_host.h"
#include "../../../runtime/lua/archive.c"

#include <stdio.h>
#include <stdlib.h>

struct names {
    unsigned n, missing;
};

static void look_up(const char *name, size_t len, size_t size, void *arg)
{
    struct names *st = arg;
    char path[1100] = { 0 };
    (void)size;
    st->n++;
    if (len == 0 || len >= sizeof path)
        return;
    memcpy(path, name, len);
    if (strlen(path) < len)     /* a NUL inside (path's tail is zero) */
        return;
    path[len] = 0;
    struct rt_file f;
    if (path[0] != '/' && path[0] != '.' && rt_archive_find(path, &f) != 0)
        st->missing++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    host_archive(copy, size);
    if (rt_archive_init()) {
        struct names st = { 0, 0 };
        rt_archive_each(look_up, &st);
        if (st.missing) {
            fprintf(stderr, "fuzz_archive: %u names not found\n", st.missing);
            abort();
        }
        struct rt_file f;
        rt_archive_find("init.lua", &f);
        rt_archive_find("./a/../b", &f);
    }
    free(copy);
    return 0;
}
