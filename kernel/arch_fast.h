/* The IPC fast paths' switches (fastpath.c, ipc.c's kernel calls): the
 * architecture's, by a generic name (arch.h has the rest). Host unit
 * tests (L4UA_HOST) switch host contexts instead (tests/host/kthreads.h). */
#pragma once
#include "arch.h"
#ifdef L4UA_HOST
#include "kthreads.h"
#else
#include "arch/x86_64/fastswitch.h"
#endif
