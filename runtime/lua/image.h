/* The bounds of the root task's image, as lua-root.ld places them (the
 * linker defines these symbols; their addresses are the values): the
 * pager maps a Lua task the text and read-only data, a copy of the
 * initial .data (kept at __pristine by rt_data_save before anything
 * writes .data), and demand-zero pages up to __image_end. */
#pragma once

extern char _start[];           /* crt0.S: where every task's first thread starts */
extern const char __text_start[], __text_end[], __rodata_start[], __rodata_end[];
extern const char __data_start[], __data_end[], __image_end[];
extern char __pristine[];       /* a page-rounded copy of the initial .data */
