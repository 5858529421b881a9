/* sigma0's memory (memory.md "The split"): at boot the kernel gives sigma0
 * all free RAM it does not need for its own pool, describes the split in
 * the KIP, and resolves sigma0's page faults idempotently (virtual address
 * = physical address). */
#pragma once
#include "types.h"
#include "bootinfo.h"

struct thread;

/* Once, after the boot tasks are loaded and before any user thread runs
 * (every frame the kernel takes outside its pool is taken by then). With
 * split false (no sigma0 was started) the kernel keeps all free RAM; the
 * KIP's memory table is filled either way. */
void sigma0_init(const struct boot_info *bi, bool split);

/* A page fault of sigma0's (t in task 1) at addr: maps the page at the
 * same physical address if it is sigma0's RAM (cached, RWX) or device
 * memory (uncached, RW, NX) and not mapped yet; true if it did. False for
 * kernel memory, addresses at or above the KIP's phys_end, a fault on a
 * page that is mapped (a protection fault) or no kernel memory for page
 * tables: the fault then takes the normal path to sigma0's pager. */
bool sigma0_fault(struct thread *t, uint64_t addr, bool write);
