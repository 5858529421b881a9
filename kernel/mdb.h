/* The mapping database: where each mapping of a user page came from, so
 * that fpage_unmap and task deletion revoke everything derived from a
 * mapping, in every task.
 *
 * Every present page-table entry of user memory (below L4_USER_LIMIT)
 * has one node, found in O(1) beside the entry (paging.h, companion
 * frames), and every node has its entry. The nodes form trees: a root is
 * a page the kernel put into a space (boot modules, sigma0); a map item
 * makes a child of the sender's node; a grant moves the sender's node to
 * the receiver. A child maps the same frame as its parent, with at most
 * its rights (and its caching bits, PCD/PWT, whoever set them on the
 * root's entry). The kernel's own pages above L4_USER_LIMIT (KIP, UTCBs)
 * have no nodes and can be neither mapped nor revoked.
 *
 * Nodes come from the kernel pool; a function that needs one (or a page
 * table) returns false when it is exhausted, having changed no mapping
 * (a page table it did get stays, to be freed with its space). */
#pragma once
#include "types.h"

struct space;

/* Puts frame pa at va (page-aligned, below L4_USER_LIMIT) in s as a root
 * mapping: the kernel's own, derived from nothing. What was mapped at va
 * is revoked first, with everything derived from it, unless it is this
 * very root (same frame and rights): then nothing changes, so calling it
 * again is harmless. False if va or pa is bad or the pool is exhausted. */
bool mdb_map_root(struct space *s, uint64_t va, paddr_t pa, bool writable, bool exec);

/* Maps (grant: moves) from's page at va to dva in to (both below
 * L4_USER_LIMIT), with from's rights reduced to rights (L4_W, L4_X).
 * What was mapped at dva is revoked first (L4 semantics), unless it is the
 * source itself or the source derives from it: then the page is left as
 * it is. A grant whose rights are smaller reduces what derives from the
 * page too. True if done or va is not mapped in from (nothing to do);
 * false only when kernel memory ran out. */
bool mdb_map(struct space *from, uint64_t va, struct space *to, uint64_t dva, unsigned rights,
             bool grant);

/* fpage_unmap of one page of s (L4_UNMAP_* flags): everything derived
 * from it, in every space, is removed (FLUSH) or made read-only; with OWN
 * the mapping in s too. Nothing mapped at va: nothing happens. */
void mdb_unmap(struct space *s, uint64_t va, unsigned flags);

/* Removes every mapping of s and everything derived from them (task
 * deletion); s's page tables stay for the caller to free. */
void mdb_unmap_space(struct space *s);

/* Checks the whole database (the debug call L4_KDEBUG_MDB_CHECK): each
 * user page has its node and each node its page; parent, child and
 * sibling links agree and form trees; a child maps its parent's frame with
 * at most its rights; no node is lost. Linear in nodes and page tables. */
bool mdb_check(void);

/* Pool frames the database holds (node slabs), for the kernel check. */
size_t mdb_frames(void);
