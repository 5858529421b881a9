/* The probe of make fuzz's coverage kernel (docs/reliability.md "Guided
 * by coverage"). build/kernel-cov.elf is the test kernel with every C
 * file of kernel/ compiled with -fsanitize-coverage=trace-pc, so GCC
 * calls __sanitizer_cov_trace_pc() at the start of each basic block. This
 * file is not instrumented: it marks each block's address once, and each
 * edge (the block before, this one) hashed into 2^16 bits, and counts
 * the marks that were new, in all and by the task of the thread that was
 * current (interrupts count for the thread they interrupted). The debug
 * op L4_KDEBUG_COV gives both counts to any task: a fuzzer that reads its
 * task's before and after a few calls learns whether they ran kernel code
 * nothing had run before, and is not credited with what other tasks found
 * while it waited. Only this kernel has the op; the others answer
 * L4_EINVAL (kernel/kdebug.h, weak).
 *
 * Called from every context of the kernel (interrupts included): it only
 * sets bits and bumps a counter, and a race with an interrupt loses at
 * most a count, which only makes the signal a little weaker. */
#include "../../kernel/kdebug.h"
#include "../../kernel/syscall.h"
#include "../../kernel/thread.h"

extern char _text[], _etext[];

#define TEXT_MAX (512u << 10)           /* the kernel's text is ~100 KiB */
#define EDGE_BITS 16
static uint8_t block_seen[TEXT_MAX / 8];
static uint8_t edge_seen[(1u << EDGE_BITS) / 8];
static uint64_t prev_block, features, features_of[L4_MAX_TASKS];

void __sanitizer_cov_trace_pc(void);
void __sanitizer_cov_trace_pc(void)
{
    uint64_t pc = (uint64_t)__builtin_return_address(0) - (uint64_t)_text;
    if (pc >= TEXT_MAX)
        return;
    uint64_t e = (pc ^ prev_block) & ((1u << EDGE_BITS) - 1);
    prev_block = pc >> 1;               /* so A->B and B->A differ */
    unsigned n = 0;
    uint8_t bit = (uint8_t)(1u << (pc & 7));
    if (!(block_seen[pc >> 3] & bit)) {
        block_seen[pc >> 3] |= bit;
        n++;
    }
    bit = (uint8_t)(1u << (e & 7));
    if (!(edge_seen[e >> 3] & bit)) {
        edge_seen[e >> 3] |= bit;
        n++;
    }
    if (n) {
        features += n;
        features_of[current ? L4_ID_TASK(current->id) : 0] += n;
    }
}

void kdebug_test_cov(struct trap_frame *f)
{
    sys_set(f, 1, features);
    sys_set(f, 2, features_of[current ? L4_ID_TASK(current->id) : 0]);
    sys_result(f, L4_OK);
}
