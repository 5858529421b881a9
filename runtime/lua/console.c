/* The console: where stdout and stderr go (docs/console.md).
 *
 * Until a console server runs, each byte is a debug call to the kernel
 * (L4_KDEBUG_PUTC), which writes it to COM1. Once init.lua has started
 * the UART driver and named it (l4.sys.set_console), writes are calls to
 * it: label RT_CON_WRITE, the bytes as one string item per call (at most
 * RT_CON_CHUNK), answered when they are queued for the line. A Lua task
 * learns the server from its spawn block. If the server does not answer
 * within a second (it died, or is being replaced), the task asks the root
 * where the console is now (keeper.c, rt_where): a driver the console
 * guardian started again (scripts/consoles.lua) gets the bytes. If there
 * is no other, the bytes go to the kernel instead, and so does the output
 * of the next 5 s: nothing written is lost, it may only land in the
 * kernel's log (which the root's watcher copies to COM1). */
#include <stdlib.h>
#include <string.h>

#include "keeper.h"
#include "rt.h"
#include "l4/syscalls.h"

uint64_t rt_console_id;
/* A Lua thread's own console (0: the task's), by lthread: the REPL on the
 * screen prints there while the task's other threads use the serial one. */
static uint64_t thread_console[256];

void rt_console_set_thread(uint64_t id)
{
    thread_console[rt_self_lthread() & 0xff] = id;
}

uint64_t rt_console_current(void)
{
    uint64_t id = thread_console[rt_self_lthread() & 0xff];
    return id ? id : rt_console_id;
}

#define RT_CON_CHUNK (16u << 10)
#define SECOND L4_TO(977, 10)       /* 977 * 1024 us */

/* -> 1 taken, 0 not (the server is dead or full), -1 the call was
 * cancelled (a kill of this thread: the server is not to blame). */
static int server_write(uint64_t server, const char *s, size_t n)
{
    struct l4_msg m = { 0 };
    m.w[0] = (uint64_t)n << 4 | L4_ITEM_STRING;
    m.w[1] = (uint64_t)s;
    uint64_t r = l4_ipc(server, L4_TAG(RT_CON_WRITE, 0, 1), 0,
                        L4_TIMEOUTS(SECOND, SECOND, SECOND, SECOND), &m, 0);
    unsigned e = L4_IPC_ERR(r);
    if (e == L4_IPC_SND_CANCELLED || e == L4_IPC_RCV_CANCELLED)
        return -1;
    /* label 0: taken; any other (the server's ERROR: it ran out of
     * memory) is a write not done, which goes elsewhere as a dead
     * server's would */
    return e == L4_IPC_OK && L4_TAG_LABEL(m.tag) == 0;
}

void rt_kernel_write(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        l4_kdebug(L4_KDEBUG_PUTC, (unsigned char)s[i], 0, 0);
}

/* After a write the server did not take, the next 5 s of output go to
 * the kernel straight away: a dead server costs one timeout, not one per
 * line. Then it is tried again (a reloaded one answers). Meanwhile a
 * console set anew (set_console), or one the root knows by now, is
 * written to at once: a restarted driver takes the output as soon as it
 * serves. */
static volatile uint64_t server_down_until, server_down;

/* The task's console as the root knows it now, if it is another than
 * `dead` (then it becomes this task's console); 0 if not. A thread's own
 * console (rt_console_set_thread) is its owner's to replace. */
static uint64_t console_now(uint64_t dead)
{
    uint64_t names, files, console;
    if (dead != rt_console_id || rt_where(&names, &files, &console) != KEEP_OK ||
        !console || console == dead)
        return 0;
    rt_console_id = console;
    return console;
}

/* Called inside stdio, under the libc lock, when a thread of the root
 * prints: the bytes are copied and the lock let go of while the server
 * takes them, as files.c does for a file call. Held, a REPL printing
 * MiBs to a busy COM1 kept it nearly all the time, and every other root
 * thread (the supervisor, its guard) waited for it at its next print or
 * malloc: the guard found the supervisor silent and killed it. The
 * stdout FILE may then change under this call: its bytes are this copy. */
void rt_console_write(const char *s, size_t n)
{
    char *copy = NULL;
    unsigned held = 0;
    if (n && rt_libc_held() && (copy = malloc(n)) != NULL) {
        memcpy(copy, s, n);
        s = copy;
        held = rt_libc_suspend();
    }
    uint64_t server = rt_console_current();
    int asked = 0;
    if (l4_kip()->clock_us < server_down_until && server == server_down) {
        server = console_now(server);
        asked = 1;
    }
    while (server && n) {
        size_t k = n < RT_CON_CHUNK ? n : RT_CON_CHUNK;
        int w = server_write(server, s, k);
        if (w < 0)
            break;              /* cancelled: the rest to the kernel, the server kept */
        if (!w) {
            uint64_t now = asked ? 0 : console_now(server);
            asked = 1;
            if (now) {
                server = now;
                continue;
            }
            server_down = server;
            server_down_until = l4_kip()->clock_us + 5000000;
            break;
        }
        s += k;
        n -= k;
    }
    rt_kernel_write(s, n);
    rt_libc_resume(held);
    if (copy)
        free(copy);
}

void rt_console_puts(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    rt_console_write(s, n);
}
