/* I/O-port flexpages (abi.md "I/O ports"): a task may use exactly the
 * ports it was mapped; the CPU checks them against the TSS I/O bitmap,
 * which holds the running task's. */
#pragma once
#include "types.h"

struct space;

/* Gives s every port but the kernel's own (PIC, PIT): sigma0's start. */
bool io_grant_all(struct space *s);
/* Maps (or grants) the ports of an I/O fpage from 'from' to 'to'; false if
 * 'from' lacks one of them, the fpage is malformed, or memory ran out. */
bool io_map(struct space *from, struct space *to, uint64_t fpage, bool grant);
/* Revokes the ports of fpage from every space that got them from s
 * (recursively), and from s itself if own. False for a malformed fpage. */
bool io_unmap(struct space *s, uint64_t fpage, bool own);
/* s goes away: revoke what others derived from it, free its bitmap. */
void io_space_destroy(struct space *s);
/* Pool frames held for ports (bitmaps, derivation records), for the kernel check. */
size_t io_frames(void);
/* May s use port? (for tests and the kernel log) */
bool io_allowed(const struct space *s, unsigned port);
/* The bitmap to load for s on a switch (NULL: no ports); *extent the
 * bytes of it that may allow a port (beyond them it is all 0xff). */
const uint8_t *io_bitmap(const struct space *s, unsigned *extent);
