/* Physical frame allocator: one bit per 4 KiB frame, 1 = free. */
#pragma once
#include "types.h"

struct pmm {
    uint64_t *bits;
    size_t nframes;     /* frames covered by the bitmap */
    size_t nfree;       /* frames free now */
    size_t hint;        /* word to start the next search at */
    size_t low;         /* no word below this one has a free frame */
};

/* The bitmap needs this many bytes to cover [0, limit). */
size_t pmm_bitmap_bytes(paddr_t limit);
/* Starts with every frame in use. */
void pmm_init(struct pmm *p, uint64_t *bits, paddr_t limit);
/* Marks the frames of [start, end) free (page-aligned inward). */
void pmm_release(struct pmm *p, paddr_t start, paddr_t end);
/* Takes one frame; 0 if none is free (frame 0 is never released). */
paddr_t pmm_alloc(struct pmm *p);
/* Takes n contiguous frames aligned to align bytes; 0 if impossible. */
paddr_t pmm_alloc_contig(struct pmm *p, size_t n, size_t align);
/* Takes the given frames if all are free; false (nothing taken) if not. */
bool pmm_claim(struct pmm *p, paddr_t start, size_t n);
/* Gives back n frames from start; each must be in use. */
void pmm_free(struct pmm *p, paddr_t start, size_t n);
bool pmm_is_free(const struct pmm *p, paddr_t a);
/* The first frame number at or after frame f that is free (free) or in
 * use; nframes if none. */
size_t pmm_next(const struct pmm *p, size_t f, bool free);
