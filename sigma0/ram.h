/* sigma0's RAM: the KIP's SIGMA0 ranges, one bit per frame, set once the
 * frame is handed out (or holds the bitmap itself): a set bit is cleared
 * again only to undo a hand-out that did not happen, or when the root
 * task gives the frame back (ram_is_given first). */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "../include/l4/abi.h"

#define PAGE 4096ull

/* Reads the ranges from the KIP. Returns where the bitmap goes (the start
 * of the first range big enough), 0 if there is no RAM or no room; *bytes
 * is its size, a multiple of PAGE. The caller maps and zeroes it (by
 * writing to it), then calls ram_start. */
uint64_t ram_layout(const struct l4_kip *kip, uint64_t *bytes);
/* The bitmap is mapped and zeroed: its own frames count as handed out. */
void ram_start(void);
bool ram_ready(void);
/* A free block of 2^k bytes (12 <= k), naturally aligned: true and *pa. */
bool ram_find(unsigned k, uint64_t *pa);
/* True if every frame of [pa, pa + 2^k) is free; the range must lie in one
 * of sigma0's ranges (the caller checked it against the KIP). */
bool ram_is_free(uint64_t pa, unsigned k);
/* True if every frame of [pa, pa + 2^k) lies in one range, was handed
 * out, and is not the bitmap's: what the root task may give back. */
bool ram_is_given(uint64_t pa, unsigned k);
/* Marks the frames of [pa, pa + 2^k) handed out (given) or free again. */
void ram_mark(uint64_t pa, unsigned k, bool given);
/* Frames not handed out. */
uint64_t ram_free_frames(void);
