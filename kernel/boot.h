/* The first tasks, from boot modules: sigma0 and the root task. */
#pragma once
#include "bootinfo.h"

/* Starts the modules named "sigma0" and "root" (the last word of a
 * module's command line) as tasks 1 and 2. */
void boot_start_tasks(const struct boot_info *bi);
