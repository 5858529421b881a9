/* The kernel's self-check for tests (abi.md "Debug call", op 10). */
#pragma once
#include "types.h"

#define KCHECK_RUNQ    1u   /* ready queues or timeouts disagree with states */
#define KCHECK_SENDQ   2u   /* send queues disagree with states */
#define KCHECK_THREADS 4u   /* task/thread tables inconsistent */
#define KCHECK_KMEM    8u   /* pool frames used != frames held by objects */

/* Returns the KCHECK_* bits of what failed (0: all sound); *used the
 * pool's count of used frames, *held the frames the kernel's objects hold. */
unsigned kcheck(uint64_t *used, uint64_t *held);
