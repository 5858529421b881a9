/* The table of Lua tasks of the root's pager thread (pager.h): their
 * records, the pages each holds, and the end of a task. A record is a
 * page (pool_record), taken at spawn and given back when the task is
 * deleted, or forgotten some time after it ended (ENDED_KEEP): the table
 * costs nothing for numbers not in use, and tasks are limited only by
 * memory (and the kernel's L4_MAX_TASKS numbers). */
#include <string.h>

#include "pager.h"
#include "pool.h"
#include "sb.h"
#include "taskproto.h"

#define TIMEOUTS L4_TIMEOUTS(L4_TO_ZERO, 0, L4_TO_ZERO, L4_TO_ZERO)

_Static_assert(sizeof(struct task) <= PAGE, "a task's record fits a page");

struct task *tasks[L4_MAX_TASKS];
uint64_t tasks_running;
static uint64_t nended, nkept;          /* tasks ended so far; records of ended ones */

int task_of_thread(uint64_t thread)
{
    unsigned tn = L4_ID_TASK(thread);
    if (tn < FIRST_TASK || tn >= L4_MAX_TASKS || !tasks[tn])
        return -1;
    return tasks[tn]->state == RT_TASK_RUNNING ? (int)tn : -1;
}

int task_of_id(uint64_t id)
{
    unsigned tn = L4_ID_TASK(id);
    if (tn < FIRST_TASK || tn >= L4_MAX_TASKS || !tasks[tn])
        return -1;
    return tasks[tn]->id == id ? (int)tn : -1;
}

void task_forget(unsigned slot)
{
    struct task *t = tasks[slot];
    if (t->state == RT_TASK_EXITED || t->state == RT_TASK_FAILED)
        nkept--;
    tasks[slot] = NULL;
    pool_record_put(t);
}

/* The ended task that ended first, or -1. */
static int oldest_ended(void)
{
    int slot = -1;
    for (unsigned n = FIRST_TASK; n < L4_MAX_TASKS; n++)
        if (tasks[n] && tasks[n]->state != RT_TASK_RUNNING &&
            (slot < 0 || tasks[n]->ended < tasks[slot]->ended))
            slot = (int)n;
    return slot;
}

/* Where task_new looks first: numbers are taken in turn, so that a
 * number's versions, and so its ids, repeat as late as possible. */
static unsigned next_tn = FIRST_TASK;

int task_new(int *why)
{
    int slot = -1;
    for (unsigned k = 0; k < L4_MAX_TASKS - FIRST_TASK && slot < 0; k++) {
        unsigned n = FIRST_TASK + (next_tn - FIRST_TASK + k) % (L4_MAX_TASKS - FIRST_TASK);
        if (!tasks[n])
            slot = (int)n;
    }
    if (slot >= 0)
        next_tn = slot + 1 == L4_MAX_TASKS ? FIRST_TASK : (unsigned)slot + 1;
    if (slot < 0 && (slot = oldest_ended()) >= 0)
        task_forget((unsigned)slot);
    if (slot < 0) {
        *why = RT_TASK_ENOSLOT;
        return -1;
    }
    if (!(tasks[slot] = pool_record())) {
        *why = RT_TASK_ENOMEM;
        return -1;
    }
    return slot;
}

int64_t task_page(unsigned slot, uint64_t va, bool from_reserve)
{
    struct task *t = tasks[slot];
    if (from_reserve)
        t->reserved--;
    else if (!pool_reserve(1))
        return -1;
    t->pages++;
    return (int64_t)pool_take(&t->held, va);
}

uint64_t task_release(unsigned slot)
{
    pool_unreserve(tasks[slot]->reserved);
    tasks[slot]->reserved = 0;
    return pool_release(&tasks[slot]->held);
}

static void reply_waiter(struct task *t, uint64_t code)
{
    struct l4_msg m = { 0 };
    m.w[0] = code;
    m.w[1] = t->state;
    m.w[2] = (uint64_t)(int64_t)t->status;
    l4_ipc(t->waiter, L4_TAG(RT_REQ_WAIT, 3, 0), L4_NODESC, TIMEOUTS, &m, 0);
    t->waiter = 0;
}

static void kernel_delete(unsigned slot)
{
    uint64_t x;
    l4_task_new(L4_ID(slot, 0, 0), 0, 0, 0, L4_NILTHREAD, 0, &x);
}

uint64_t task_kill(unsigned slot, uint64_t code)
{
    struct task *t = tasks[slot];
    kernel_delete(slot);
    uint64_t n = task_release(slot);
    tasks_running--;
    t->state = RT_TASK_FAILED;          /* for task_forget's count */
    nkept++;
    if (t->waiter)
        reply_waiter(t, code);
    return n;
}

void task_end(unsigned slot, unsigned state, int status)
{
    struct task *t = tasks[slot];
    kernel_delete(slot);
    task_release(slot);
    t->state = state;
    t->status = status;
    t->ended = ++nended;
    tasks_running--;
    char line[RT_MSG_MAX + 64];
    struct sb b = { line, 0, sizeof line };
    sb_str(&b, "lua-root: task ");
    sb_num(&b, slot, 10, false);
    if (state == RT_TASK_EXITED) {
        sb_str(&b, " exited (");
        sb_num(&b, (uint64_t)(int64_t)status, 10, true);
        sb_str(&b, ")\n");
    } else {
        sb_str(&b, " failed: ");
        sb_str(&b, t->msg);
        sb_str(&b, "\n");
    }
    rt_kernel_write(line, b.n);
    if (t->waiter)
        reply_waiter(t, RT_TASK_OK);
    /* Only so many ended tasks are remembered (this one is the newest). */
    if (++nkept > ENDED_KEEP)
        task_forget((unsigned)oldest_ended());
}

void task_fail(unsigned slot, const char *what, uint64_t addr, uint64_t ip, const char *why)
{
    struct task *t = tasks[slot];
    struct sb b = { t->msg, 0, sizeof t->msg };
    sb_str(&b, what);
    sb_num(&b, addr, 16, false);
    sb_str(&b, " (ip ");
    sb_num(&b, ip, 16, false);
    sb_str(&b, "): ");
    sb_str(&b, why);
    task_end(slot, RT_TASK_FAILED, 1);
}

void task_fail_msg(unsigned slot, const char *why)
{
    struct sb b = { tasks[slot]->msg, 0, sizeof tasks[slot]->msg };
    sb_str(&b, why);
    task_end(slot, RT_TASK_FAILED, 1);
}
