/* A host model of what the kernel's memory code stands on, so that the
 * real kernel/mdb.c, map.c, io.c, elf.c and arch/x86_64/paging.c run in a
 * test program (built with -DL4UA_HOST, see arch/x86_64/cpu.h):
 *
 * - Frames are page-aligned host memory. A frame's "physical address" is
 *   the one the kernel's phys_to_virt (pa + PHYS_MAP, modulo 2^64) turns
 *   back into its host address, so layout.h needs no change.
 * - The kernel pool counts its frames (leaks show) and can be made to run
 *   out after n more frames (shim_pool_fail_after), and so can the user
 *   frames of boot modules (shim_user_frames).
 * - Spaces have a PML4 and a task number in tasks[]; CR3 is a variable and
 *   invlpg is counted. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "kmem.h"
#include "types.h"

struct space;

extern size_t shim_pool_used;       /* kernel pool frames now allocated */
extern long shim_pool_fail_after;   /* pool frames to give before failing; <0: no limit */
extern size_t shim_user_used;       /* user frames now allocated */
extern long shim_user_frames;       /* user frames left to give; <0: no limit */
extern uint64_t shim_cr3;           /* the "current" address space */
extern unsigned long shim_invlpgs;  /* invlpg executed */
extern char shim_log[4096];         /* the last kprintf */

/* A new empty space with task number task (tasks[task]); NULL if no pool memory. */
struct space *shim_space_new(unsigned task);
/* Removes every mapping of s (mdb_unmap_space), frees its tables and it. */
void shim_space_free(struct space *s);
/* The host address of page va in s, NULL if not mapped. */
void *shim_page(struct space *s, uint64_t va);
/* A fresh zeroed user frame not from the pool (like kmem_alloc_user_frame),
 * and its release (user frames are never freed by the kernel code under
 * test; the shim frees what it handed out at shim_user_reset). */
void shim_user_reset(void);
