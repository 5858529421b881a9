#!/bin/sh
# Writes the assembly for the kernel's .ksyms section from a linked kernel:
# the sorted text symbols and their names. With no argument, an empty table
# (for the first link pass). usage: ksyms.sh [kernel.elf] > ksyms.S
set -eu
echo '    .section .ksyms, "a"'
echo '    .align 8'
echo '    .globl ksyms_count, ksyms_table'
if [ $# -eq 0 ]; then
    echo 'ksyms_count: .quad 0'
    echo 'ksyms_table:'
    exit 0
fi
nm -n --defined-only "$1" | awk '
    $2 ~ /^[tT]$/ && $1 ~ /^ffffffff/ { addr[n] = $1; name[n] = $3; n++ }
    END {
        printf "ksyms_count: .quad %d\nksyms_table:\n", n
        for (i = 0; i < n; i++) printf "    .quad 0x%s, ksym_%d\n", addr[i], i
        for (i = 0; i < n; i++) printf "ksym_%d: .asciz \"%s\"\n", i, name[i]
    }'
