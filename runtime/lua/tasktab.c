/* The table of Lua tasks of the root's pager thread (pager.h): slots,
 * the pages each holds, and the end of a task. */
#include <string.h>

#include "pager.h"
#include "pool.h"
#include "sb.h"
#include "taskproto.h"

#define TIMEOUTS L4_TIMEOUTS(L4_TO_ZERO, 0, L4_TO_ZERO, L4_TO_ZERO)

struct task tasks[MAX_TASKS];
uint64_t tasks_running;
static uint64_t nended;

unsigned task_number(unsigned slot)
{
    return FIRST_TASK + slot;
}

int task_of_thread(uint64_t thread)
{
    unsigned tn = L4_ID_TASK(thread);
    if (tn < FIRST_TASK || tn >= FIRST_TASK + MAX_TASKS)
        return -1;
    unsigned slot = tn - FIRST_TASK;
    return tasks[slot].state == RT_TASK_RUNNING ? (int)slot : -1;
}

int task_of_id(uint64_t id)
{
    unsigned tn = L4_ID_TASK(id);
    if (tn < FIRST_TASK || tn >= FIRST_TASK + MAX_TASKS)
        return -1;
    unsigned slot = tn - FIRST_TASK;
    return tasks[slot].state && tasks[slot].id == id ? (int)slot : -1;
}

int task_slot_new(void)
{
    int slot = -1;
    for (unsigned i = 0; i < MAX_TASKS; i++)
        if (!tasks[i].state)
            return (int)i;
        else if (tasks[i].state != RT_TASK_RUNNING &&
                 (slot < 0 || tasks[i].ended < tasks[slot].ended))
            slot = (int)i;
    return slot;
}

int64_t task_page(unsigned slot, bool from_reserve)
{
    struct task *t = &tasks[slot];
    if (from_reserve)
        t->reserved--;
    else if (!pool_reserve(1))
        return -1;
    t->pages++;
    return (int64_t)pool_take(slot + 1);
}

uint64_t task_release(unsigned slot)
{
    pool_unreserve(tasks[slot].reserved);
    tasks[slot].reserved = 0;
    return pool_release(slot + 1);
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
    l4_task_new(L4_ID(task_number(slot), 0, 0), 0, 0, 0, L4_NILTHREAD, 0, &x);
}

uint64_t task_kill(unsigned slot, uint64_t code)
{
    struct task *t = &tasks[slot];
    kernel_delete(slot);
    uint64_t n = task_release(slot);
    tasks_running--;
    if (t->waiter)
        reply_waiter(t, code);
    return n;
}

void task_end(unsigned slot, unsigned state, int status)
{
    struct task *t = &tasks[slot];
    kernel_delete(slot);
    task_release(slot);
    t->state = state;
    t->status = status;
    t->ended = ++nended;
    tasks_running--;
    char line[RT_MSG_MAX + 64];
    struct sb b = { line, 0, sizeof line };
    sb_str(&b, "lua-root: task ");
    sb_num(&b, task_number(slot), 10, false);
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
}

void task_fail(unsigned slot, const char *what, uint64_t addr, uint64_t ip, const char *why)
{
    struct task *t = &tasks[slot];
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
    struct sb b = { tasks[slot].msg, 0, sizeof tasks[slot].msg };
    sb_str(&b, why);
    task_end(slot, RT_TASK_FAILED, 1);
}
