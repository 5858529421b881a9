/* The IPC fast path's common case, by hand (docs/kernel.md "IPC"): a call
 * or reply-and-wait with a register-only message to a thread that already
 * waits for it, of the same priority as the sender, which runs alone at
 * that priority. It is kernel/fastpath.c's register-only case minus three
 * rarer ones that file keeps (another priority, others ready at mine, a
 * stale TLB or an I/O bitmap to load), done with every value in a
 * register: the message never leaves r8 r9 r12-r15, and no C frame is
 * built or spilled. Each check jumps out before anything has changed:
 * to the general path (syscall_general, entry.S) where fastpath.c would
 * refuse as well, to fastpath.c where it might not. Either gives the
 * results the general path would (the fast paths are only shorter).
 *
 * syscall_entry jumps to fastpath_ipc for every ipc, with rsp at the
 * sender's complete trap frame and the registers as the system call left
 * them (abi.md "ipc"): rdi dest, rsi tag, rdx receive descriptor, r10
 * timeouts; rax (0), rbx, rbp, rcx, r11 are free, being saved. The offsets
 * and constants are asm_offsets.h's, held to the C declarations there. */
#include "asm_offsets.h"
#include "layout.h"

/* Out by sysretq into the user context whose trap frame is at rsp, with
 * its saved registers but rax, rdi, rsi (given) and the message ones
 * (r8 r9 r12-r15: the sender's, in the CPU). */
.macro SYSRET_TO_FRAME
    mov 40(%rsp), %r10                  /* offsets: see trap.h */
    mov 64(%rsp), %rbp
    mov 88(%rsp), %rdx
    mov 104(%rsp), %rbx
    mov 136(%rsp), %rcx                 /* rip */
    mov 152(%rsp), %r11                 /* rflags */
    mov 160(%rsp), %rsp                 /* user rsp */
    swapgs
    sysretq
.endm

    .text
    .globl fastpath_ipc
fastpath_ipc:
    /* Untyped words only, at most the 6 register ones: bits 0-31 of the
     * tag are u <= 6 and nothing else (the label passes as it is). */
    cmp $6, %esi
    ja .Ltyped
    /* A receive phase, open or closed, not a detach (L4_NODESC has that
     * bit too), waiting forever: a finite receive timeout needs the
     * timeout list; the send timeout does not matter. */
    test $~0x7ff7, %rdx                 /* bit 3 and bits 15-63 */
    jnz syscall_general
    test $0xffff0000, %r10d             /* the receive timeout */
    jnz syscall_general
    /* Nothing may be waiting for me: interrupt lines, or (open) a sender. */
    mov current(%rip), %rbx             /* rbx: me */
    cmpw $0, T_IRQ_LINES(%rbx)
    jnz syscall_general
    test $1, %dl                        /* L4_RCV_OPEN */
    jz .Llookup
    cmpq $0, T_SQ_HEAD(%rbx)
    jnz syscall_general
.Llookup:
    /* thread_lookup: tasks[task]->threads[lthread], of dest's version */
    mov %rdi, %rax
    shr $16, %rax
    movzbl %al, %ecx                    /* the lthread, bits 16-23 */
    shr $8, %rax
    and $0xfff, %eax                    /* the task, bits 24-35 (an id with */
    mov tasks(,%rax,8), %rbp            /*   bits above matches no thread) */
    test %rbp, %rbp                     /* rbp: its space */
    jz syscall_general
    mov S_THREADS(%rbp,%rcx,8), %rcx    /* rcx: the receiver, d */
    test %rcx, %rcx
    jz syscall_general
    cmp %rdi, T_ID(%rcx)
    jne syscall_general
    /* d waits for me: its fast_from is open (~0) or my id (thread.h: it
     * is then in RECV_WAIT for a user message, with no deadline). */
    mov T_FAST_FROM(%rcx), %rax
    cmp $-1, %rax
    je .Lclan
    cmp T_ID(%rbx), %rax
    jne syscall_general
.Lclan:
    /* One clan (space_direct_chief): d's task is my chief (then the
     * message comes FROM_INNER), or I am its chief, or our chiefs are the
     * same (siblings, or one task). rax: the result code. */
    mov T_SPACE(%rbx), %r11             /* r11: my space */
    mov $0x400, %eax                    /* L4_IPC_OK | L4_IPC_FROM_INNER */
    cmp S_CHIEF(%r11), %rbp
    je .Lwindow
    xor %eax, %eax                      /* L4_IPC_OK */
    cmp S_CHIEF(%rbp), %r11
    je .Lwindow
    mov S_CHIEF(%rbp), %rdi
    cmp S_CHIEF(%r11), %rdi
    jne syscall_general
.Lwindow:
    /* The message fits d's receive window (L4_RCV_MAXWORDS; 0: any). */
    movzbl T_RCV_DESC+1(%rcx), %edi
    and $0x7f, %edi
    jz .Lprio
    cmp %edi, %esi
    ja syscall_general
.Lprio:
    /* d may run at once: no thread above it is ready (sched_rq_top). */
    movzbl T_PRIO(%rcx), %edi
    cmp sched_rq_top(%rip), %edi
    jl syscall_general
    /* d of another priority: fastpath.c's (sched_hand_over_slow). */
    cmp %dil, T_PRIO(%rbx)
    jne .Lfastpath_c
    /* Into another task: its page tables and I/O ports, unless its TLB
     * entries went stale or its ports must be copied into the TSS (both
     * fastpath.c's). The last check: from here on, there is no way back. */
    cmp %r11, %rbp
    je .Lcommit
    cmpb $0, S_TLB_STALE(%rbp)
    jne .Lfastpath_c
    mov S_IO_BITMAP(%rbp), %rdi
    test %rdi, %rdi
    jnz .Lports
    movw $TSS_IOMAP_NONE, gdt_tss+TSS_IOMAP_BASE(%rip)     /* no ports */
.Lcr3:
    mov S_CR3(%rbp), %rdi
    mov %rdi, %cr3
.Lcommit:
    /* My receive phase, as ipc_start records it: from d, or open. */
    mov %r10, T_TIMEOUTS(%rbx)
    mov %rdx, T_RCV_DESC(%rbx)
    mov T_ID(%rcx), %rdi
    test $1, %dl                        /* L4_RCV_OPEN */
    mov $-1, %rdx                       /* IPC_OPEN */
    cmovz %rdi, %rdx
    mov %rdx, T_PARTNER(%rbx)
    mov %rdx, T_FAST_FROM(%rbx)         /* thread_fast_wait: I run, no deadline */
    mov T_UTCB(%rcx), %rdx
    mov %rdi, U_INTENDED_RECEIVER(%rdx)
    /* sched_hand_over_same: d ready in my place in our queue; I wait. */
    movl $TS_READY_, T_STATE(%rcx)
    movq $0, T_FAST_FROM(%rcx)          /* L4_NILTHREAD */
    movzbl T_PRIO(%rcx), %edx
    cmp %rbx, T_RQ_NEXT(%rbx)
    jne .Lring                          /* others are ready at our priority */
    mov %rcx, T_RQ_NEXT(%rcx)
    mov %rcx, T_RQ_PREV(%rcx)
    mov %rcx, sched_rq(,%rdx,8)
.Lqueued:
    movq $0, T_RQ_NEXT(%rbx)
    movq $0, T_RQ_PREV(%rbx)
    movl $TS_RECV_WAIT_, T_STATE(%rbx)
    mov %rcx, current(%rip)
    /* arch_fast_switch (fastswitch.h): my kernel context becomes
     * fastpath_resume over my trap frame; FPU state; d's kernel stack. */
    movq $fastpath_resume, -8(%rsp)
    lea -56(%rsp), %rdx
    mov %rdx, T_KSP(%rbx)
    fxsave64 T_FPU(%rbx)
    fxrstor64 T_FPU(%rcx)
    mov T_FRAME(%rcx), %rsp
    lea TRAP_FRAME_SIZE(%rsp), %rdx
    mov %rdx, %gs:0                     /* TSS rsp[0] */
    mov T_ID(%rbx), %rdi                /* from: me; rsi: my tag; rax */
    SYSRET_TO_FRAME

.Lports:
    /* d's task has ports: is its bitmap the one in the TSS (gdt_io_loaded)? */
    movabs $PHYS_MAP, %r10
    add %r10, %rdi
    cmp gdt_io_loaded(%rip), %rdi
    jne .Lfastpath_c
    mov 40(%rsp), %r10                  /* the timeouts again (trap.h) */
    movw $TSS_IOMAP_LOADED, gdt_tss+TSS_IOMAP_BASE(%rip)   /* that bitmap */
    jmp .Lcr3
.Lring:
    /* d in my place in our queue's ring, and at its head if I was */
    mov T_RQ_NEXT(%rbx), %rdi
    mov %rdi, T_RQ_NEXT(%rcx)
    mov %rcx, T_RQ_PREV(%rdi)
    mov T_RQ_PREV(%rbx), %rdi
    mov %rdi, T_RQ_PREV(%rcx)
    mov %rcx, T_RQ_NEXT(%rdi)
    cmp %rbx, sched_rq(,%rdx,8)
    jne .Lqueued
    mov %rcx, sched_rq(,%rdx,8)
    jmp .Lqueued
.Lfastpath_c:
    /* fastpath.c, which reads ipc's arguments from the frame */
    mov %rsp, %rdi
    call ipc_fastpath
    jmp syscall_general
.Ltyped:
    /* A typed item (t = 1) after u <= 4 words: maybe a pager's answer. */
    lea -128(%rsi), %eax
    cmp $4, %eax
    ja syscall_general
    mov %rsp, %rdi
    mov current(%rip), %rsi
    call ipc_fastpath_map
    jmp syscall_general

/* void arch_fast_exit(rdi, rsi, rax, msg, to): fastpath.c's and the kernel
 * calls' way out (fastswitch.h) into the user context saved in the trap
 * frame `to` (of a thread blocked in a system call: rcx and r11 are free),
 * with the message registers of the trap frame `msg` and rdi, rsi, rax as
 * given. sysretq: `to`'s rip is canonical (fastpath.c says why). */
    .globl arch_fast_exit, arch_fast_exit_mr
arch_fast_exit:
    mov %rdx, %rax
    mov %r8, %rsp
    mov 16(%rcx), %r13                  /* offsets: see trap.h */
    mov 8(%rcx), %r14
    mov 0(%rcx), %r15
/* The same with rax, rdi, rsi, rcx (msg) set, rsp at `to`, and r13-r15
 * holding msg's already (arch_fast_switch jumps here). */
arch_fast_exit_mr:
    mov 56(%rcx), %r8
    mov 48(%rcx), %r9
    mov 24(%rcx), %r12
    SYSRET_TO_FRAME
