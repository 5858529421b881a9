/* sigma0's entry: the kernel starts lthread 0 here with rsp at the top of
 * its stack (rsp % 16 == 8, as after a call). The top is kept: the fault
 * catcher restarts lthread 0 there (main.c, "Recovery"). */
    .section .text.start, "ax"
    .globl _start
_start:
    mov %rsp, s0_stack_top(%rip)
    and $-16, %rsp
    xor %ebp, %ebp
    call main
1:  jmp 1b                  /* main never returns */
