/* IPC, the general path (abi.md "ipc").
 *
 * Every phase works on a thread t that need not be the current one: when a
 * receiver takes a waiting sender's message, it also starts that sender's
 * receive phase (call, reply-and-wait) at once, so a reply sent with a zero
 * timeout always finds the caller waiting. Results are written straight
 * into the thread's saved user registers (or kres for IPC the kernel makes
 * on a thread's behalf); a blocked thread, once woken, just returns. */
#include "ipc.h"
#include "assert.h"
#include "io.h"
#include "irq.h"
#include "map.h"
#include "sched.h"
#include "space.h"
#include "string.h"
#include "syscall.h"
#include "arch_fast.h"

/* FAULT: the running thread must first get a page from its pager. */
enum phase { DONE, WAIT, FAILED, FAULT };


static inline uint64_t get_word(struct thread *t, unsigned i)
{
    if (t->ipc_kernel)
        return i < ARRAY_SIZE(t->kmsg) ? t->kmsg[i] : 0;
    return i < L4_REG_WORDS ? *trap_mr(t->frame, i) : t->utcb->mr[i];
}

static inline void put_word(struct thread *t, unsigned i, uint64_t v)
{
    if (t->ipc_kernel) {
        if (i < ARRAY_SIZE(t->kmsg))
            t->kmsg[i] = v;
    } else if (i < L4_REG_WORDS) {
        *trap_mr(t->frame, i) = v;
    } else {
        t->utcb->mr[i] = v;
    }
}

static void set_result(struct thread *t, unsigned code)
{
    if (t->ipc_kernel)
        t->kres = code;
    else
        sys_result(t->frame, code);
}

/* --- send queues --- */
static void sq_add(struct thread *owner, struct thread *t)
{
    /* one send queue at a time (its own too: a send to itself waits
     * there until its timeout), and only while sending */
    kassert(!t->sq_owner && t->state == TS_SEND_WAIT);
    t->sq_owner = owner;
    t->sq_next = NULL;
    if (!owner->sq_head) {
        owner->sq_head = t;
        t->sq_prev = t;             /* head's prev is the tail */
    } else {
        struct thread *tail = owner->sq_head->sq_prev;
        tail->sq_next = t;
        t->sq_prev = tail;
        owner->sq_head->sq_prev = t;
    }
}

static void sq_remove(struct thread *t)
{
    struct thread *owner = t->sq_owner;
    if (!owner)
        return;
    kassert(owner->sq_head);        /* t is in it */
    if (owner->sq_head == t) {
        owner->sq_head = t->sq_next;
        if (t->sq_next)
            t->sq_next->sq_prev = t->sq_prev;
    } else {
        t->sq_prev->sq_next = t->sq_next;
        if (t->sq_next)
            t->sq_next->sq_prev = t->sq_prev;
        else
            owner->sq_head->sq_prev = t->sq_prev;
    }
    t->sq_owner = t->sq_next = t->sq_prev = NULL;
}

enum xfer { X_OK, X_FAIL, X_FAULT };

/* Copies string item n (len bytes at src in snd's space) into rcv's n-th
 * receive buffer, page by page through the direct map. A page missing on
 * one side (or read-only on the receiving side) is X_FAULT with
 * *faulter, pf_addr and pf_write set; the copy is redone from the start
 * once it is resolved. Other failures set both results (X_FAIL). */
static enum xfer copy_string(struct thread *snd, struct thread *rcv, unsigned n, uint64_t len,
                             uint64_t src, struct thread **faulter)
{
    unsigned bad = 0;
    uint64_t dst = 0;
    if (rcv->ipc_kernel || !(rcv->rcv_desc & L4_RCV_STRINGS) || n >= 8) {
        bad = L4_IPC_RCV_CUT;
    } else {
        dst = rcv->utcb->rcv_strings[n][0];
        uint64_t cap = rcv->utcb->rcv_strings[n][1];
        if (len > L4_STRING_MAX || len > cap)
            bad = L4_IPC_RCV_CUT;
        else if (src + len < src || src + len > L4_USER_LIMIT)
            bad = L4_IPC_SND_PF_TIMEOUT;    /* no pager can map kernel memory */
        else if (dst + len < dst || dst + len > L4_USER_LIMIT)
            bad = L4_IPC_RCV_PF_TIMEOUT;
    }
    if (bad) {
        set_result(snd, bad == L4_IPC_RCV_CUT ? L4_IPC_SND_CUT : bad);
        set_result(rcv, bad);
        return X_FAIL;
    }
    for (uint64_t off = 0; off < len;) {
        uint64_t s = src + off, d = dst + off;
        uint64_t chunk = MIN(len - off, MIN(PAGE_SIZE - (s & 0xfff), PAGE_SIZE - (d & 0xfff)));
        paddr_t spa, dpa;
        uint64_t spte, dpte;
        if (!space_lookup(snd->space, s, &spa, &spte)) {
            *faulter = snd;
            snd->pf_addr = s;
            snd->pf_write = false;
            return X_FAULT;
        }
        if (!space_lookup(rcv->space, d, &dpa, &dpte) || !(dpte & PTE_W)) {
            *faulter = rcv;
            rcv->pf_addr = d;
            rcv->pf_write = true;
            return X_FAULT;
        }
        memcpy(phys_to_virt(dpa), phys_to_virt(spa), chunk);
        off += chunk;
    }
    return X_OK;
}

/* Copies snd's message to rcv and sets rcv's results. X_FAIL: it did not
 * fit (both get "cut"), a map item failed ("map failed") or a string
 * could not be copied. X_FAULT: see copy_string; nothing was mapped and no
 * result set. Strings go first, so a fault leaves no mapping behind. */
static enum xfer transfer(struct thread *snd, struct thread *rcv, uint64_t dest_id,
                          struct thread **faulter)
{
    uint64_t tag = snd->snd_tag;
    unsigned u = L4_TAG_U(tag), t = L4_TAG_T(tag), n = u + 2 * t;
    unsigned max = rcv->ipc_kernel ? ARRAY_SIZE(rcv->kmsg) : L4_RCV_MAXWORDS(rcv->rcv_desc);
    if (max == 0)
        max = L4_MSG_WORDS;
    if (n > max) {
        set_result(snd, L4_IPC_SND_CUT);
        set_result(rcv, L4_IPC_RCV_CUT);
        return X_FAIL;
    }
    for (unsigned i = 0, nstr = 0; i < t; i++) {
        uint64_t w0 = get_word(snd, u + 2 * i);
        if ((w0 & 0xf) != L4_ITEM_STRING)
            continue;
        enum xfer x = copy_string(snd, rcv, nstr++, w0 >> 4, get_word(snd, u + 2 * i + 1), faulter);
        if (x != X_OK)
            return x;
    }
    for (unsigned i = 0; i < n; i++)
        put_word(rcv, i, get_word(snd, i));
    for (unsigned i = 0, nstr = 0; i < t; i++) {
        uint64_t w0 = get_word(snd, u + 2 * i), w1 = get_word(snd, u + 2 * i + 1);
        if ((w0 & 0xf) == L4_ITEM_STRING) {     /* tell where it landed */
            put_word(rcv, u + 2 * i + 1, rcv->utcb->rcv_strings[nstr++][0]);
            continue;
        }
        if ((w0 & 0xe) != L4_ITEM_MAP && (w0 & 0xe) != L4_ITEM_GRANT)
            continue;               /* not a map item: passed on as words */
        if (w1 & L4_FPAGE_IO) {     /* ports map 1:1; no window needed */
            if (rcv->ipc_kernel || !(rcv->rcv_desc & L4_RCV_MAPS) ||
                !io_map(snd->space, rcv->space, w1, (w0 & 0xe) == L4_ITEM_GRANT)) {
                set_result(snd, L4_IPC_MAP_FAILED);
                set_result(rcv, L4_IPC_MAP_FAILED);
                return X_FAIL;
            }
            continue;
        }
        uint64_t window = rcv->ipc_kernel ? L4_FPAGE(0, L4_WHOLE_SPACE, L4_RWX)
                        : (rcv->rcv_desc & L4_RCV_MAPS) ? rcv->utcb->rcv_window : 0;
        if (!window || !map_fpage(snd->space, rcv->space, w0, w1, window)) {
            set_result(snd, L4_IPC_MAP_FAILED);
            set_result(rcv, L4_IPC_MAP_FAILED);
            return X_FAIL;
        }
    }
    if (rcv->ipc_kernel) {          /* the kernel takes the words and the tag */
        rcv->kres = L4_IPC_OK;
        rcv->ktag = tag;
        return X_OK;
    }
    /* Who the receiver is told the sender is: itself, or whom a chief
     * claims (deceiving send), if the chief sits between the two. */
    uint64_t from = snd->id, flags = 0;
    if ((tag & L4_TAG_DECEIVE) && !snd->ipc_kernel) {
        struct thread *v = thread_lookup(snd->utcb->virtual_sender);
        if (v && (v->space->chief == snd->space || rcv->space->chief == snd->space)) {
            from = v->id;
            flags |= L4_IPC_DECEIVED;
        }
    }
    if (rcv->id != dest_id)
        flags |= L4_IPC_REDIRECTED;
    if (space_is_ancestor(rcv->space, snd->space))
        flags |= L4_IPC_FROM_INNER;
    sys_result(rcv->frame, L4_IPC_OK | flags);
    sys_set(rcv->frame, IPC_DEST, from);
    sys_set(rcv->frame, IPC_TAG, tag & ~L4_TAG_DECEIVE);
    rcv->utcb->intended_receiver = dest_id;
    return X_OK;
}

static enum phase receive_phase(struct thread *t);

/* t's send phase is over (message taken, or failed): go on to its receive
 * phase or back to user mode. */
static void after_send(struct thread *t, bool ok)
{
    kassert(!t->sq_owner);          /* the receiver took it out of its queue */
    if (ok && t->rcv_desc != L4_NODESC) {
        if (receive_phase(t) == WAIT)
            return;
    } else if (ok) {
        set_result(t, L4_IPC_OK);
    }
    sched_make_ready(t);
}

/* A page for a string copy is missing in f's space; the partner allows
 * `bound` (its page-fault timeout) for it. Zero: both fail at once with
 * the page-fault code of f's side. Else f is marked to ask its pager and
 * redo its phase; if f is not the running thread it is woken for that.
 * Returns true if f must now resolve the fault (the caller arranges it). */
static bool fault_in(struct thread *f, struct thread *partner, bool f_is_sender, uint16_t bound)
{
    unsigned code = f_is_sender ? L4_IPC_SND_PF_TIMEOUT : L4_IPC_RCV_PF_TIMEOUT;
    if (sched_timeout_is_zero(bound)) {
        set_result(f, code);
        set_result(partner, code);
        return false;
    }
    f->pf_pending = true;
    f->pf_recv = !f_is_sender;
    f->pf_bound = bound;
    return true;
}
/* Does r wait for a message from s right now? */
static bool waits_for(struct thread *r, struct thread *s)
{
    return r->state == TS_RECV_WAIT && (r->partner == IPC_OPEN || r->partner == s->id);
}

static enum phase send_phase(struct thread *t, uint64_t dest)
{
    int kind;
    struct thread *d = space_nearest(t, dest, &kind);
    if (!d || d->state == TS_INACTIVE) {
        set_result(t, L4_IPC_NOPARTNER);
        return FAILED;
    }
    t->partner = d->id;         /* a call's reply comes from the real receiver */
    t->send_to_id = dest;
    uint16_t to = (uint16_t)t->timeouts;
    if (waits_for(d, t)) {
        struct thread *f = NULL;
        enum xfer x = transfer(t, d, dest, &f);
        if (x == X_FAULT && f == t) {   /* my own page: bounded by d's rcv pf timeout */
            return fault_in(t, d, true, (uint16_t)(d->timeouts >> 48)) ? FAULT : FAILED;
        }
        if (x == X_FAULT) {             /* d's page: d resolves it, I queue up */
            bool retry = fault_in(d, t, false, (uint16_t)(t->timeouts >> 32));
            sched_cancel_timeout(d);
            sched_make_ready(d);        /* to resolve, or with the failure */
            if (!retry)
                return FAILED;
        } else {
            sched_cancel_timeout(d);
            sched_make_ready(d);
            return x == X_OK ? DONE : FAILED;
        }
    } else if (sched_timeout_is_zero(to)) {
        set_result(t, L4_IPC_SND_TIMEOUT);
        return FAILED;
    }
    kassert(t->state == TS_READY);  /* the sender runs (or is the kernel's) */
    t->state = TS_SEND_WAIT;
    t->fast_from = L4_NILTHREAD;
    sq_add(d, t);
    sched_set_timeout(t, to);
    return WAIT;
}

static enum phase receive_phase(struct thread *t)
{
    uint64_t rd = t->rcv_desc;
    uint64_t from = (rd & L4_RCV_OPEN) ? IPC_OPEN : t->partner;
    uint16_t to = (uint16_t)(t->timeouts >> 16);
    if (t->irq_lines)           /* (the common case: no lines, no call) */
        irq_ack(t);
    if (!(rd & L4_RCV_OPEN) && L4_IS_IRQ_ID(from)) {
        unsigned irq = L4_IRQ_OF(from);
        if (rd & L4_RCV_DETACH) {
            set_result(t, irq_detach(irq, t) ? L4_IPC_OK : L4_IPC_NOPARTNER);
            return FAILED;
        }
        if (!(t->irq_lines >> irq & 1)) {      /* not attached to me */
            /* V2: a receive from an IRQ with timeout zero attaches to it;
             * "receive timeout" means attached. */
            if (!sched_timeout_is_zero(to) || !irq_attach(irq, t)) {
                set_result(t, L4_IPC_NOPARTNER);
                return FAILED;
            }
            set_result(t, L4_IPC_RCV_TIMEOUT);
            return FAILED;
        }
    }
    if (t->irq_lines && irq_take_pending(t, from))
        return DONE;                /* irq.c wrote the interrupt message */
    for (struct thread *s = t->sq_head; s; s = s->sq_next) {
        if (from != IPC_OPEN && s->id != from)
            continue;
        struct thread *f = NULL;
        enum xfer x = transfer(s, t, s->send_to_id, &f);
        if (x == X_FAULT && f == t) {   /* my page: bounded by s's send pf timeout */
            if (fault_in(t, s, false, (uint16_t)(s->timeouts >> 32))) {
                if (t == current)
                    return FAULT;
                sched_make_ready(t);    /* woken to resolve it; s stays queued */
                return DONE;
            }
            sq_remove(s);
            sched_cancel_timeout(s);
            sched_make_ready(s);
            return FAILED;
        }
        sq_remove(s);
        sched_cancel_timeout(s);
        if (x == X_FAULT) {             /* s's page: s resolves it and sends again */
            if (fault_in(s, t, true, (uint16_t)(t->timeouts >> 48))) {
                sched_make_ready(s);
                break;                  /* and I wait for the retry */
            }
            sched_make_ready(s);
            return FAILED;
        }
        after_send(s, x == X_OK);
        return x == X_OK ? DONE : FAILED;
    }
    if (from != IPC_OPEN && from != L4_NILTHREAD && !L4_IS_IRQ_ID(from)) {
        /* no such thread, or never started: as for a send (abi.md) */
        struct thread *p = thread_lookup(from);
        if (!p || p->state == TS_INACTIVE) {
            set_result(t, L4_IPC_NOPARTNER);
            return FAILED;
        }
    }
    if (sched_timeout_is_zero(to)) {
        set_result(t, L4_IPC_RCV_TIMEOUT);
        return FAILED;
    }
    /* t runs, or its send phase just ended (a call's reply phase) */
    kassert((t->state == TS_READY || t->state == TS_SEND_WAIT) && !t->sq_owner);
    t->state = TS_RECV_WAIT;
    t->partner = from;
    sched_set_timeout(t, to);
    thread_fast_wait(t);
    return WAIT;
}

/* The running thread asks its pager for the page a string copy missed,
 * waiting at most pf_bound; its own IPC state is kept for the retry. */
static bool resolve_fault(struct thread *me)
{
    uint64_t partner = me->partner, rcv = me->rcv_desc, tos = me->timeouts;
    uint64_t tag = me->snd_tag, to_id = me->send_to_id;
    uint64_t w[2] = { L4_FAULT_WORD(me->pf_addr, me->pf_write, 0), *trap_user_ip(me->frame) };
    me->pf_pending = false;
    unsigned r = me->pager == L4_NILTHREAD ? L4_IPC_NOPARTNER
               : ipc_kernel_call_bounded(me->pager, L4_LABEL_PAGEFAULT, w, 2, NULL, me->pf_bound);
    me->partner = partner;
    me->rcv_desc = rcv;
    me->timeouts = tos;
    me->snd_tag = tag;
    me->send_to_id = to_id;
    return r == L4_IPC_OK;
}

/* The pager could not supply my page in time: the IPC fails with the
 * page-fault code of my side, for me and for the partner still waiting
 * for this message (the receiver I sent to, or the sender queued on me). */
static void fail_partner(struct thread *me, bool sending)
{
    unsigned code = sending ? L4_IPC_SND_PF_TIMEOUT : L4_IPC_RCV_PF_TIMEOUT;
    set_result(me, code);
    if (sending) {
        struct thread *d = thread_lookup(me->partner);
        if (d && waits_for(d, me)) {
            set_result(d, code);
            sched_cancel_timeout(d);
            sched_make_ready(d);
        }
        return;
    }
    uint64_t from = (me->rcv_desc & L4_RCV_OPEN) ? IPC_OPEN : me->partner;
    for (struct thread *s = me->sq_head; s; s = s->sq_next)
        if (from == IPC_OPEN || s->id == from) {
            sq_remove(s);
            set_result(s, code);
            sched_cancel_timeout(s);
            sched_make_ready(s);
            return;
        }
}

static void ipc_run(struct thread *me, struct trap_frame *f, bool sending);

void ipc_start(struct thread *me, struct trap_frame *f, uint64_t dest, uint64_t tag, uint64_t rcv,
               uint64_t timeouts)
{
    me->timeouts = timeouts;
    me->rcv_desc = rcv;
    me->partner = dest;             /* a closed receive's partner, for now */
    me->pf_pending = false;
    bool sending = tag != L4_NODESC;
    if (sending) {
        me->snd_tag = tag;
        me->send_to_id = dest;
    }
    ipc_run(me, f, sending);
}

/* A thread that blocked in the fast path was woken by the general path:
 * with a page to fetch for a string copy, it fetches it and redoes its
 * receive as sys_ipc would; else it goes back to user mode. */
void ipc_resume(struct trap_frame *f)
{
    struct thread *me = current;
    if (me->pf_pending) {
        bool sending = !me->pf_recv;
        if (resolve_fault(me))
            ipc_run(me, f, sending);
        else
            fail_partner(me, sending);
    }
    if (sched_need_resched)
        schedule();
}

/* The phases of sys_ipc, from the send phase if sending. */
static void ipc_run(struct thread *me, struct trap_frame *f, bool sending)
{
    for (;;) {
        enum phase p;
        if (sending) {
            p = send_phase(me, me->send_to_id);
            if (p == DONE) {
                sending = false;
                if (me->rcv_desc == L4_NODESC) {
                    sys_result(f, L4_IPC_OK);
                    return;
                }
                continue;
            }
        } else if (me->rcv_desc != L4_NODESC) {
            p = receive_phase(me);
        } else {
            sys_result(f, L4_IPC_OK);
            return;
        }
        if (p == DONE || p == FAILED)
            return;
        if (p == WAIT) {
            schedule();             /* woken with results, or to fetch a page */
            if (!me->pf_pending)
                return;
        }
        sending = !me->pf_recv;
        if (!resolve_fault(me)) {
            fail_partner(me, sending);
            return;
        }
    }
}

static void end_wait(struct thread *t, unsigned snd_code, unsigned rcv_code)
{
    if (t->state == TS_SEND_WAIT) {
        sq_remove(t);
        set_result(t, snd_code);
    } else if (t->state == TS_RECV_WAIT) {
        set_result(t, rcv_code);
    } else {
        return;
    }
    sched_cancel_timeout(t);
    sched_make_ready(t);
}

void ipc_cancel(struct thread *t)
{
    if (t->pf_pending) {            /* was about to fetch a page for an IPC */
        t->pf_pending = false;
        set_result(t, t->pf_recv ? L4_IPC_RCV_CANCELLED : L4_IPC_SND_CANCELLED);
        return;
    }
    end_wait(t, L4_IPC_SND_CANCELLED, L4_IPC_RCV_CANCELLED);
}

void ipc_timeout(struct thread *t)
{
    kassert(thread_waits(t));       /* the timeout list holds waiting threads only */
    end_wait(t, L4_IPC_SND_TIMEOUT, L4_IPC_RCV_TIMEOUT);
}

void ipc_abort(struct thread *t)
{
    t->pf_pending = false;
    sq_remove(t);
    sched_cancel_timeout(t);
    if (t->state == TS_SEND_WAIT || t->state == TS_RECV_WAIT)
        t->state = TS_INACTIVE;
    t->fast_from = L4_NILTHREAD;
}

void ipc_release_waiters(struct thread *gone)
{
    while (gone->sq_head) {
        struct thread *s = gone->sq_head;
        sq_remove(s);
        set_result(s, L4_IPC_SND_ABORTED);
        sched_cancel_timeout(s);
        sched_make_ready(s);
    }
    ipc_release_callers(gone, L4_IPC_RCV_ABORTED);
}

void ipc_release_callers(struct thread *gone, unsigned code)
{
    for (unsigned tn = 1; tn < L4_MAX_TASKS; tn++) {
        struct space *s = tasks[tn];
        for (unsigned i = 0; s && i < L4_MAX_LTHREADS; i++) {
            struct thread *r = s->threads[i];
            if (r && r->state == TS_RECV_WAIT && r->partner == gone->id)
                end_wait(r, 0, code);
        }
    }
}

unsigned ipc_kernel_call(uint64_t to, uint32_t label, const uint64_t *w, unsigned n, uint64_t *reply)
{
    return ipc_kernel_call_bounded(to, label, w, n, reply, L4_TO_NEVER);
}

/* A kernel-made call's usual case, as the fast path (fastpath.c) does it:
 * the handler waits for me already, in my clan, and may run at once; I
 * wait forever for its reply. It gets the n words straight into its
 * registers and runs; I wait as receive_phase would make me, my kernel
 * context saved as schedule() would save it. False if not: nothing
 * changed. */
static bool kernel_call_fast(struct thread *me, uint64_t to, unsigned n)
{
    struct thread *d = thread_lookup(to);
    unsigned max;
    if (!d || d->state != TS_RECV_WAIT || d->ipc_kernel || d->deadline_us || me->irq_lines ||
        (d->partner != IPC_OPEN && d->partner != me->id) || !space_direct(me->space, d->space) ||
        ((max = L4_RCV_MAXWORDS(d->rcv_desc)) && n > max) || !sched_may_hand_over(d))
        return false;
    for (unsigned i = 0; i < n; i++)
        *trap_mr(d->frame, i) = me->kmsg[i];
    d->utcb->intended_receiver = to;
    me->send_to_id = to;
    sched_hand_over(me, d);         /* I wait in RECV_WAIT */
    /* FROM_INNER: see fastpath.c */
    arch_fast_call(me, d, d->space == me->space->chief ? L4_IPC_OK | L4_IPC_FROM_INNER : L4_IPC_OK,
                   me->snd_tag);
    return true;
}

unsigned ipc_kernel_call_bounded(uint64_t to, uint32_t label, const uint64_t *w, unsigned n,
                                 uint64_t *reply, uint16_t timeout)
{
    struct thread *me = current;
    kassert(n <= ARRAY_SIZE(me->kmsg));
    me->ipc_kernel = true;
    for (unsigned i = 0; i < n; i++)
        me->kmsg[i] = w[i];
    me->snd_tag = L4_TAG(label, n, 0);
    me->timeouts = L4_TIMEOUTS(timeout, timeout, 0, 0);
    me->rcv_desc = 0;               /* closed, from the partner */
    me->partner = to;
    me->kres = L4_IPC_OK;
    if (timeout != L4_TO_NEVER || !kernel_call_fast(me, to, n)) {
        enum phase p = send_phase(me, to);
        if (p == DONE)
            p = receive_phase(me);
        if (p == WAIT)
            schedule();
    }
    me->ipc_kernel = false;
    for (unsigned i = 0; reply && i < ARRAY_SIZE(me->kmsg); i++)
        reply[i] = me->kmsg[i];
    return me->kres;
}

void ipc_irq_message(struct thread *t, unsigned irq)
{
    sys_result(t->frame, L4_IPC_OK);
    sys_set(t->frame, IPC_DEST, L4_IRQ_ID(irq));
    sys_set(t->frame, IPC_TAG, L4_TAG(L4_LABEL_IRQ, 0, 0));
}

bool ipc_deliver_irq(struct thread *t, unsigned irq)
{
    if (!(t->state == TS_RECV_WAIT && (t->partner == IPC_OPEN || t->partner == L4_IRQ_ID(irq))))
        return false;
    sched_cancel_timeout(t);
    ipc_irq_message(t, irq);
    sched_make_ready(t);
    return true;
}
