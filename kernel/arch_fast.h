/* The IPC fast paths' switches (fastpath.c, ipc.c's kernel calls): the
 * architecture's, by a generic name (arch.h has the rest). */
#pragma once
#include "arch.h"
#include "arch/x86_64/fastswitch.h"
