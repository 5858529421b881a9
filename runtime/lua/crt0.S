/* Entry of the Lua root task. The kernel starts lthread 0 here on its
 * 128 KiB boot stack (rsp % 16 == 8, as after a call). First the root
 * keeps a copy of its initial .data for the Lua tasks it may spawn
 * (rt_data_save, pager.c), before any code writes it. Lua wants a larger
 * stack: rt_stack_init (mem.c) gets 4 MiB from sigma0 and returns its top,
 * or 0 to stay where we are. A Lua task starts here too, with its stack
 * pointer already at the top of its own 4 MiB (demand-zero, from the
 * root's pager); both calls then do nothing. newlib needs no
 * initialisation of its own; main's status goes to exit(), which flushes
 * stdio and calls _exit. */
    .section .text.start, "ax"
    .globl _start
_start:
    and $-16, %rsp          /* the SysV ABI wants rsp % 16 == 0 at a call */
    xor %ebp, %ebp          /* outermost frame: ends backtraces */
    call rt_data_save
    call rt_stack_init
    test %rax, %rax
    jz 1f
    mov %rax, %rsp          /* 4 MiB aligned, so 16 too */
1:  call main
    mov %eax, %edi
    call exit
2:  jmp 2b                  /* exit does not return */

    .section .note.GNU-stack, "", @progbits
