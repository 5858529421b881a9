/* Interrupt and exception entry stubs. Each pushes a dummy error code where
 * the CPU does not push one, then its vector, and joins trap_common, which
 * saves the general registers as a struct trap_frame (trap.h) and calls
 * trap_dispatch(frame). swapgs only when coming from ring 3. */

.macro stub n
    .align 16
vector_\n:
    .if !(\n == 8 || (\n >= 10 && \n <= 14) || \n == 17 || \n == 21 || \n == 29 || \n == 30)
    pushq $0
    .endif
    pushq $\n
    jmp trap_common
.endm

/* The general registers of a struct trap_frame (trap.h), r15 lowest. */
.macro SAVE_GPRS
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
.endm

    .text
    .globl trap_vectors
trap_vectors:
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23, \
            24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47
    stub \n
    .endr

trap_common:
    testb $3, 24(%rsp)                  /* cs of the interrupted code */
    jz 1f
    swapgs
1:  SAVE_GPRS
    mov %rsp, %rdi
    cld
    call trap_dispatch
    .globl trap_return
trap_return:
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    testb $3, 24(%rsp)
    jz 2f
    swapgs
2:  add $16, %rsp                       /* vector, error code */
    iretq


/* SYSCALL entry: rcx = user rip, r11 = user rflags, rsp still the user's.
 * Builds the same struct trap_frame as an interrupt from ring 3 (vector
 * 256 marks a system call) on the current thread's kernel stack. An ipc
 * goes to fastpath_ipc (fastpath.S) first, which leaves the kernel itself
 * when it applies and else comes back to syscall_general:
 * syscall_dispatch(frame), then out through trap_return (iretq), which
 * also copes with any rip a thread was given by lthread_ex_regs. */
    .globl syscall_entry, syscall_general
syscall_entry:
    swapgs
    mov %rsp, %gs:8                     /* scratch: TSS rsp[1] */
    mov %gs:0, %rsp                     /* TSS rsp[0]: the kernel stack top */
    pushq $0x23                         /* ss: user data */
    pushq %gs:8                         /* rsp */
    pushq %r11                          /* rflags */
    pushq $0x2b                         /* cs: user code */
    pushq %rcx                          /* rip */
    pushq $0                            /* error code */
    pushq $256                          /* vector: system call */
    SAVE_GPRS                           /* (DF is clear: MSR_FMASK) */
    test %rax, %rax                     /* L4_SYS_IPC */
    jz fastpath_ipc
syscall_general:
    mov %rsp, %rdi
    call syscall_dispatch
    jmp trap_return

/* The callee-saved registers, as a switched-out kernel context keeps them
 * on its stack (below them the return address; the stack pointer in the
 * thread's ksp). */
.macro SAVE_CALLEE
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
.endm

/* void arch_save_fast_exit(rdi, rsi, rax, msg, to, uint64_t *save_ksp):
 * arch_fast_exit from a thread that keeps its kernel context: saved as
 * arch_switch_stacks saves it, a switch back returns from this call. */
    .globl arch_save_fast_exit
arch_save_fast_exit:
    SAVE_CALLEE
    mov %rsp, (%r9)
    jmp arch_fast_exit

/* void arch_switch_stacks(uint64_t *save_ksp, uint64_t ksp): saves the
 * callee-saved registers on this stack, switches to the other one. */
    .globl arch_switch_stacks
arch_switch_stacks:
    SAVE_CALLEE
    mov %rsp, (%rdi)
    mov %rsi, %rsp
1:  popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret

/* void arch_resume(uint64_t ksp): switches to that kernel context,
 * leaving this one (which keeps nothing). */
    .globl arch_resume
arch_resume:
    mov %rdi, %rsp
    jmp 1b

/* A new thread's first switch returns here, with rsp at its trap frame. */
    .globl thread_first_entry
thread_first_entry:
    jmp trap_return

/* A thread that blocked in the IPC fast path is switched to here, with
 * rsp at its trap frame (arch_fast_switch). */
    .globl fastpath_resume
fastpath_resume:
    mov %rsp, %rdi
    call ipc_resume
    jmp trap_return
