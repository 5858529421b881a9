/* The I/O ports this task holds (memory.md "Device memory and I/O
 * ports"): ports are a task's, like its address space, so the record is
 * one per task, shared by every Lua state and thread in it. The bindings
 * note ports got from sigma0 (l4.io.request), received in messages, given
 * up by an unmap or a grant; child.c notes those a Lua task was given at
 * spawn. l4.io's in/out look here first, as an access to a port the task
 * does not hold is a #GP that stops the thread. Ports the runtime's own C
 * code took (the RTC's 0x70-0x71, clock.c; COM1's early look, main.c)
 * are not in it. */
#include "rt.h"

static uint8_t held[65536 / 8];     /* bit p: this task holds port p */

void rt_ports_note(unsigned port, unsigned count, int on)
{
    for (unsigned p = port; p < port + count && p < 65536; p++) {
        if (on)
            held[p / 8] |= (uint8_t)(1u << (p % 8));
        else
            held[p / 8] &= (uint8_t)~(1u << (p % 8));
    }
}

int rt_ports_held(unsigned port)
{
    return port < 65536 && (held[port / 8] >> (port % 8)) & 1;
}
