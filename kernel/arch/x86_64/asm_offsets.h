/* The fields and constants fastpath.S reads by number: each one held to
 * its C declaration by the asserts below (compiled into thread_switch.c),
 * so that a change of a structure fails the build, not the fast path. */
#pragma once

#define TRAP_FRAME_SIZE 176         /* struct trap_frame (trap.h) */

/* struct thread (thread.h) */
#define T_ID            0
#define T_SPACE         8
#define T_STATE         16
#define T_KSP           24
#define T_FRAME         32
#define T_UTCB          40
#define T_PRIO          56
#define T_RQ_NEXT       88
#define T_RQ_PREV       96
#define T_PARTNER       144
#define T_FAST_FROM     152
#define T_RCV_DESC      160
#define T_TIMEOUTS      168
#define T_SQ_HEAD       184
#define T_IRQ_LINES     280
#define T_FPU           304

/* struct space (space.h) */
#define S_CR3           16
#define S_TLB_STALE     24
#define S_CHIEF         32
#define S_THREADS       560
#define S_IO_BITMAP     2616

#define U_INTENDED_RECEIVER 656     /* struct l4_utcb (abi.h) */
#define TSS_IOMAP_BASE  102         /* struct tss (gdt.h) */
#define TSS_IOMAP_NONE  8297        /* GDT_IOMAP_NONE */
#define TSS_IOMAP_LOADED 104        /* sizeof(struct tss): the bitmap after it */

#define TS_READY_       1           /* enum thread_state */
#define TS_RECV_WAIT_   3

#ifndef __ASSEMBLER__
#include "gdt.h"
#include "trap.h"
#include "../../ipc.h"
#include "../../space.h"
#include "../../thread.h"
#define ASM_OFFSET(s, f, v) _Static_assert(__builtin_offsetof(struct s, f) == (v), #s "." #f)
ASM_OFFSET(thread, id, T_ID);
ASM_OFFSET(thread, space, T_SPACE);
ASM_OFFSET(thread, state, T_STATE);
ASM_OFFSET(thread, ksp, T_KSP);
ASM_OFFSET(thread, frame, T_FRAME);
ASM_OFFSET(thread, utcb, T_UTCB);
ASM_OFFSET(thread, prio, T_PRIO);
ASM_OFFSET(thread, rq_next, T_RQ_NEXT);
ASM_OFFSET(thread, rq_prev, T_RQ_PREV);
ASM_OFFSET(thread, partner, T_PARTNER);
ASM_OFFSET(thread, fast_from, T_FAST_FROM);
ASM_OFFSET(thread, rcv_desc, T_RCV_DESC);
ASM_OFFSET(thread, timeouts, T_TIMEOUTS);
ASM_OFFSET(thread, sq_head, T_SQ_HEAD);
ASM_OFFSET(thread, irq_lines, T_IRQ_LINES);
ASM_OFFSET(thread, fpu, T_FPU);
ASM_OFFSET(space, cr3, S_CR3);
ASM_OFFSET(space, tlb_stale, S_TLB_STALE);
ASM_OFFSET(space, chief, S_CHIEF);
ASM_OFFSET(space, threads, S_THREADS);
ASM_OFFSET(space, io_bitmap, S_IO_BITMAP);
ASM_OFFSET(l4_utcb, intended_receiver, U_INTENDED_RECEIVER);
ASM_OFFSET(tss, iomap_base, TSS_IOMAP_BASE);
_Static_assert(sizeof(struct trap_frame) == TRAP_FRAME_SIZE && GDT_IOMAP_NONE == TSS_IOMAP_NONE &&
               sizeof(struct tss) == TSS_IOMAP_LOADED &&
               TS_READY == TS_READY_ && TS_RECV_WAIT == TS_RECV_WAIT_ &&
               sizeof(((struct thread *)0)->irq_lines) == 2 &&
               sizeof(((struct thread *)0)->prio) == 1 &&
               sizeof(((struct thread *)0)->state) == 4 &&
               sizeof(((struct space *)0)->tlb_stale) == 1 &&
               IPC_OPEN == ~0ull && L4_NILTHREAD == 0 && L4_REG_WORDS == 6 &&
               L4_RCV_OPEN == 1 && L4_RCV_DETACH == 8 && L4_IPC_OK == 0 &&
               L4_IPC_FROM_INNER == 1 << 10 && L4_ID_TASK(~0ull) == 0xfff &&
               L4_ID_TASK(1ull << 24) == 1 && L4_ID_LTHREAD(~0ull) == 0xff &&
               L4_ID_LTHREAD(1ull << 16) == 1 && L4_RCV_MAXWORDS(~0ull) == 0x7f &&
               L4_RCV_MAXWORDS(1ull << 8) == 1,
               "fastpath.S's constants");
#endif
