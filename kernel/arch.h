/* The architecture as generic kernel code sees it: the one header it
 * includes for it, by this generic name (the fast IPC switches, for
 * fastpath.c and ipc.c only, are in arch_fast.h). A port to another
 * architecture provides the same names under arch/<name>/. */
#pragma once
#include "arch/x86_64/arch.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/layout.h"
#include "arch/x86_64/paging.h"
#include "arch/x86_64/trap.h"
