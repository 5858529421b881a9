/* Symbol lookup: binary search in the table the build generates. */
#include "ksyms.h"

struct ksym {
    uint64_t addr;
    const char *name;
};

extern const uint64_t ksyms_count;          /* sorted by addr */
extern const struct ksym ksyms_table[];

const char *ksyms_lookup(uint64_t addr, uint64_t *off)
{
    uint64_t lo = 0, hi = ksyms_count;
    if (hi == 0 || addr < ksyms_table[0].addr)
        return NULL;
    while (hi - lo > 1) {                   /* invariant: table[lo].addr <= addr */
        uint64_t mid = lo + (hi - lo) / 2;
        if (ksyms_table[mid].addr <= addr)
            lo = mid;
        else
            hi = mid;
    }
    *off = addr - ksyms_table[lo].addr;
    return ksyms_table[lo].name;
}
