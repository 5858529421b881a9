/* Entry of a user test program: the kernel starts lthread 0 here with rsp
 * at the top of its stack. */
    .section .text.start, "ax"
    .globl _start
_start:
    and $-16, %rsp
    xor %ebp, %ebp
    call main
    mov %eax, %edi
    call utest_exit
1:  jmp 1b

/* Threads made by uthread_start begin here: rsp points at {fn, arg}. */
    .text
    .globl uthread_trampoline
uthread_trampoline:
    pop %rax
    pop %rdi
    and $-16, %rsp
    call *%rax
    call uthread_exit
2:  jmp 2b
