/* Boot: multiboot headers, 32-bit entry, switch to long mode, jump high.
 * The loader enters _start in 32-bit protected mode, paging off, with the
 * magic in eax and the info block's physical address in ebx. */
#include "layout.h"

#define MB2_HDR_MAGIC 0xE85250D6
#define MB1_HDR_MAGIC 0x1BADB002
#define MB1_FLAGS     0x00000003       /* page-aligned modules, memory info */

    .section .multiboot, "a"
    .align 8
mb2_header:                             /* multiboot2 (GRUB) */
    .long MB2_HDR_MAGIC, 0, mb2_end - mb2_header
    .long -(MB2_HDR_MAGIC + (mb2_end - mb2_header))
    .short 0, 0                         /* end tag */
    .long 8
mb2_end:
    .align 4
mb1_header:                             /* multiboot1 (QEMU -kernel) */
    .long MB1_HDR_MAGIC, MB1_FLAGS, -(MB1_HDR_MAGIC + MB1_FLAGS)

    .section .boot.text, "ax"
    .code32
    .globl _start
_start:
    cli
    mov %eax, %edi                      /* kept for kmain(magic, info) */
    mov %ebx, %esi
    mov $boot_pml4, %eax
    mov %eax, %cr3
    mov %cr4, %eax
    or $(1 << 5), %eax                  /* PAE */
    mov %eax, %cr4
    mov $0xC0000080, %ecx               /* EFER: long mode, NX */
    rdmsr
    or $((1 << 8) | (1 << 11)), %eax
    wrmsr
    mov %cr0, %eax
    or $((1 << 31) | (1 << 16) | 1), %eax   /* PG, WP, PE */
    mov %eax, %cr0
    lgdt boot_gdtr
    ljmp $8, $long_mode

    .code64
long_mode:
    mov $16, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    xor %ax, %ax
    mov %ax, %fs
    mov %ax, %gs
    movabs $high_entry, %rax
    jmp *%rax

    .section .boot.data, "aw"
    .align 4096
/* Identity, direct and higher-half maps of the first 1 GiB, 2 MiB pages;
 * kmain replaces these with the real kernel page tables. */
boot_pml4:                              /* also at PHYS_MAP (slot 256) */
    .quad boot_pdpt_low + 3
    .fill 255, 8, 0
    .quad boot_pdpt_low + 3
    .fill 254, 8, 0
    .quad boot_pdpt_high + 3
boot_pdpt_low:
    .quad boot_pd + 3
    .fill 511, 8, 0
boot_pdpt_high:
    .fill 510, 8, 0
    .quad boot_pd + 3
    .quad 0
boot_pd:
    .set i, 0
    .rept 512
    .quad (i << 21) + 0x83
    .set i, i + 1
    .endr
boot_gdt:
    .quad 0
    .quad 0x00209A0000000000            /* 64-bit code */
    .quad 0x0000920000000000            /* data */
boot_gdtr:
    .short boot_gdtr - boot_gdt - 1
    .long boot_gdt

    .text
high_entry:
    /* Zero .bss (the loader may not), then run C on the boot stack. The
     * upper halves of registers are undefined after the mode switch. */
    mov %edi, %r12d
    mov %esi, %r13d
    movabs $_bss, %rdi
    movabs $_ebss, %rcx
    sub %rdi, %rcx
    shr $3, %rcx
    xor %eax, %eax
    rep stosq
    movabs $boot_stack_top, %rsp
    xor %ebp, %ebp
    mov %r12d, %edi
    mov %r13d, %esi
    call kmain
1:  hlt
    jmp 1b

    .bss
    .align 4096
    .globl boot_stack_guard, boot_stack_top
boot_stack_guard:                       /* left unmapped: overflow faults */
    .skip 4096
boot_stack:
    .skip 16384
boot_stack_top:
