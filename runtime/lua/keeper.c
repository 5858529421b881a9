/* The keeper (keeper.h): the store and "where", served by the root's
 * pager thread, and their clients.
 *
 * The store: a blob is a run of bytes, its key then its data, in pages
 * of the keeper's own region [KEEP_BASE, + npages * PAGE), got from sigma0
 * in 64 KiB blocks and chained through next_page[]; pages of blobs that
 * are replaced or removed go to the keeper's free list and serve the next
 * blobs (they are not given back to sigma0: the store keeps its
 * high-water mark). A put in progress is a PENDING blob of its own; its
 * last piece makes it DONE and frees the old version, so a reader never
 * sees half a file and a writer that dies mid-way leaves the old one.
 * The key (at most KEEP_KEY_MAX + a task's name) lies in the first page.
 *
 * Only the pager thread runs the server half and touches its state (no
 * malloc, no stdio: pager.c says why). The client half runs in any Lua
 * thread: in the root it reads rt_*_id directly for "where"; everything
 * else is a call to the pager thread (a task's service, the root's
 * rt_pager_id). */
#include <stdlib.h>
#include <string.h>

#include "keeper.h"
#include "pager.h"
#include "pool.h"
#include "rt.h"
#include "l4/syscalls.h"

#define KEEP_BASE   0x0000030000000000ull
#define KEEP_PAGES  (1u << 14)      /* 64 MiB at most */
#define KEEP_BLOBS  4096
#define KEEP_K      16              /* blocks from sigma0: 64 KiB */

uint64_t rt_names_id;

enum { B_FREE, B_DONE, B_PENDING };
struct blob {
    uint32_t first, last;       /* page index + 1 of the chain's ends (0: none) */
    uint64_t size;              /* bytes of data (after the key) */
    uint16_t klen;
    uint8_t state;
};
static struct blob blobs[KEEP_BLOBS];
/* Slots at and above blob_top were never used: every scan stops there (a
 * scan of all 4,096 cost some 30,000 instructions, and a put makes three;
 * a service's reload makes puts: docs/performance.md). */
static unsigned blob_top;
static uint32_t next_page[KEEP_PAGES];  /* index + 1 of the next page (0: end) */
static uint32_t npages, free_head, nfree;
static uint64_t bytes_kept;
static char out_buf[KEEP_CHUNK];
static char key_buf[RT_NAME_MAX + 1 + KEEP_KEY_MAX];

static char *page_va(uint32_t i)
{
    return (char *)(KEEP_BASE + (uint64_t)i * PAGE);
}

/* A 64 KiB block from sigma0 at the region's end; false if none. */
static bool grow(void)
{
    uint64_t s0 = l4_kip()->sigma0, n = 1u << (KEEP_K - 12);
    if (!s0 || npages + n > KEEP_PAGES)
        return false;
    struct l4_msg m = { 0 };
    m.w[0] = KEEP_K;
    l4_utcb_of(RT_LT_PAGER)->rcv_window = L4_FPAGE((uint64_t)page_va(npages), KEEP_K, L4_RWX);
    uint64_t r = l4_ipc(s0, L4_TAG(L4_SIGMA0_ANY, 1, 0), L4_RCV_MAPS, 0, &m, 0);
    if (L4_IPC_ERR(r) != L4_IPC_OK || L4_TAG_U(m.tag) < 1 || m.w[0] != L4_SIGMA0_OK ||
        L4_TAG_T(m.tag) != 1)
        return false;
    for (uint32_t j = (uint32_t)n; j-- > 0;) {
        next_page[npages + j] = free_head;
        free_head = npages + j + 1;
        nfree++;
    }
    npages += (uint32_t)n;
    return true;
}

/* A page for blob b, chained at its end; false if the store is full. */
static bool add_page(struct blob *b)
{
    if (!free_head && !grow())
        return false;
    uint32_t i = free_head - 1;
    free_head = next_page[i];
    nfree--;
    next_page[i] = 0;
    if (b->last)
        next_page[b->last - 1] = i + 1;
    else
        b->first = i + 1;
    b->last = i + 1;
    return true;
}

static void blob_free(struct blob *b)
{
    for (uint32_t p = b->first; p;) {
        uint32_t next = next_page[p - 1];
        next_page[p - 1] = free_head;
        free_head = p;
        nfree++;
        p = next;
    }
    if (b->state == B_DONE)
        bytes_kept -= b->size;
    memset(b, 0, sizeof *b);
}

/* Copies n bytes between the blob's byte run at pos and buf (to the blob
 * if write; its pages must be there). */
static void copy(struct blob *b, uint64_t pos, char *buf, uint64_t n, bool write)
{
    uint32_t p = b->first;
    for (uint64_t skip = pos / PAGE; skip > 0 && p; skip--)
        p = next_page[p - 1];
    for (uint64_t off = pos % PAGE; n > 0 && p; off = 0, p = next_page[p - 1]) {
        uint64_t k = PAGE - off < n ? PAGE - off : n;
        if (write)
            memcpy(page_va(p - 1) + off, buf, k);
        else
            memcpy(buf, page_va(p - 1) + off, k);
        buf += k;
        n -= k;
    }
}

/* Appends n bytes to b's run (its klen + size bytes so far). */
static bool append(struct blob *b, const char *src, uint64_t n, uint64_t *len)
{
    uint64_t end = *len + n;
    uint64_t have = 0;
    for (uint32_t p = b->first; p; p = next_page[p - 1])
        have += PAGE;
    while (have < end) {
        if (!add_page(b))
            return false;
        have += PAGE;
    }
    copy(b, *len, (char *)src, n, true);
    *len = end;
    return true;
}

/* The blob of the key in that state (B_DONE or B_PENDING), or NULL. */
static struct blob *find(const char *key, size_t klen, uint8_t state)
{
    for (unsigned i = 0; i < blob_top; i++) {
        struct blob *b = &blobs[i];
        if (b->state == state && b->klen == klen && memcmp(page_va(b->first - 1), key, klen) == 0)
            return b;
    }
    return NULL;
}

/* The full key of the request (the task's name, "/", the key) into
 * key_buf: its length, or 0 if it is bad (empty only if may_be_empty) or
 * t may not keep anything. */
static size_t full_key(const struct task *t, const char *key, uint64_t klen, bool may_be_empty)
{
    size_t n = 0;
    if ((klen == 0 && !may_be_empty) || klen > KEEP_KEY_MAX)
        return 0;
    if (t) {
        if (t->parent)
            return 0;
        n = strnlen(t->name, RT_NAME_MAX - 1);
        memcpy(key_buf, t->name, n);
        key_buf[n++] = '/';
    }
    memcpy(key_buf + n, key, klen);
    return n + klen;
}

static struct blob *blob_new(void)
{
    for (unsigned i = 0; i < blob_top; i++)
        if (blobs[i].state == B_FREE)
            return &blobs[i];
    return blob_top < KEEP_BLOBS ? &blobs[blob_top++] : NULL;
}

/* The string item received: its bytes (in the pager's first receive
 * buffer), or 0. */
static uint64_t string_len(const struct l4_msg *m)
{
    unsigned u = L4_TAG_U(m->tag);
    if (L4_TAG_T(m->tag) != 1 || u + 1 >= L4_REG_WORDS)
        return 0;
    return m->w[u] >> 4;
}

static uint64_t put(const struct task *t, struct l4_msg *m, const char *in)
{
    uint64_t off = m->w[0], last = m->w[1], klen = m->w[2], n = string_len(m);
    size_t fk = klen <= n ? full_key(t, in, klen, false) : 0;
    m->w[0] = KEEP_EINVAL;
    if (!fk || n - klen > KEEP_CHUNK)
        return L4_TAG(0, 1, 0);
    struct blob *b = find(key_buf, fk, B_PENDING);
    if (off == 0) {
        if (b)
            blob_free(b);
        b = blob_new();
        uint64_t len = 0;
        if (!b || !append(b, key_buf, fk, &len)) {
            if (b)
                blob_free(b);
            m->w[0] = KEEP_ENOSPC;
            return L4_TAG(0, 1, 0);
        }
        b->klen = (uint16_t)fk;
        b->state = B_PENDING;
    }
    if (!b || b->size != off)
        return L4_TAG(0, 1, 0);         /* out of order: EINVAL */
    uint64_t len = b->klen + b->size;
    if (!append(b, in + klen, n - klen, &len)) {
        blob_free(b);
        m->w[0] = KEEP_ENOSPC;
        return L4_TAG(0, 1, 0);
    }
    b->size += n - klen;
    if (last) {
        struct blob *old = find(key_buf, fk, B_DONE);
        if (old)
            blob_free(old);
        b->state = B_DONE;
        bytes_kept += b->size;
    }
    m->w[0] = KEEP_OK;
    return L4_TAG(0, 1, 0);
}

static uint64_t get(const struct task *t, struct l4_msg *m, const char *in)
{
    uint64_t off = m->w[0], klen = m->w[1], n = string_len(m);
    size_t fk = klen <= n ? full_key(t, in, klen, false) : 0;
    struct blob *b = fk ? find(key_buf, fk, B_DONE) : NULL;
    if (!b) {
        m->w[0] = fk ? KEEP_ENOENT : KEEP_EINVAL;
        return L4_TAG(0, 1, 0);
    }
    uint64_t k = off < b->size ? b->size - off : 0;
    if (k > KEEP_CHUNK)
        k = KEEP_CHUNK;
    copy(b, b->klen + off, out_buf, k, false);
    m->w[0] = KEEP_OK;
    m->w[1] = b->size;
    m->w[2] = k << 4 | L4_ITEM_STRING;
    m->w[3] = (uint64_t)out_buf;
    return L4_TAG(0, 2, 1);
}

static uint64_t del(const struct task *t, struct l4_msg *m, const char *in)
{
    uint64_t klen = m->w[0];
    size_t fk = klen <= string_len(m) ? full_key(t, in, klen, false) : 0;
    struct blob *b = fk ? find(key_buf, fk, B_DONE) : NULL;
    m->w[0] = !fk ? KEEP_EINVAL : !b ? KEEP_ENOENT : KEEP_OK;
    if (b)
        blob_free(b);
    return L4_TAG(0, 1, 0);
}

/* The next DONE blob at or after index w0 whose key starts with the
 * caller's name and the prefix. A list from 0 by a task also drops what
 * it left pending (it starts afresh: it is a new incarnation). */
static uint64_t list(const struct task *t, struct l4_msg *m, const char *in)
{
    uint64_t plen = m->w[1];
    size_t ns = t ? strnlen(t->name, RT_NAME_MAX - 1) + 1 : 0;
    size_t fk = plen <= string_len(m) ? full_key(t, in, plen, true) : 0;
    if (fk < ns || (fk == 0 && plen)) {
        m->w[0] = KEEP_EINVAL;
        return L4_TAG(0, 1, 0);
    }
    for (unsigned i = 0; t && m->w[0] == 0 && i < blob_top; i++)
        if (blobs[i].state == B_PENDING && blobs[i].klen >= ns && ns &&
            memcmp(page_va(blobs[i].first - 1), key_buf, ns) == 0)
            blob_free(&blobs[i]);
    for (uint64_t i = m->w[0]; i < blob_top; i++) {
        struct blob *b = &blobs[i];
        if (b->state != B_DONE || b->klen < fk || memcmp(page_va(b->first - 1), key_buf, fk) != 0)
            continue;
        m->w[0] = KEEP_OK;
        m->w[1] = i + 1;
        m->w[2] = b->size;
        m->w[3] = (uint64_t)(b->klen - ns) << 4 | L4_ITEM_STRING;
        m->w[4] = (uint64_t)page_va(b->first - 1) + ns;
        return L4_TAG(0, 3, 1);
    }
    m->w[0] = KEEP_ENOENT;
    return L4_TAG(0, 1, 0);
}

uint64_t keeper_request(const struct task *t, struct l4_msg *m, const char *in)
{
    switch (L4_TAG_LABEL(m->tag)) {
    case KEEP_PUT:
        return put(t, m, in);
    case KEEP_GET:
        return get(t, m, in);
    case KEEP_DEL:
        return del(t, m, in);
    case KEEP_LIST:
        return list(t, m, in);
    case KEEP_WHERE:
        m->w[0] = KEEP_OK;
        m->w[1] = rt_names_id;
        m->w[2] = rt_files_id;
        m->w[3] = rt_console_id;
        return L4_TAG(0, 4, 0);
    case KEEP_STATS: {
        uint64_t n = 0;
        for (unsigned i = 0; i < blob_top; i++)
            n += blobs[i].state == B_DONE;
        m->w[0] = KEEP_OK;
        m->w[1] = n;
        m->w[2] = bytes_kept;
        m->w[3] = npages - nfree;
        m->w[4] = nfree;
        return L4_TAG(0, 5, 0);
    }
    }
    m->w[0] = KEEP_EINVAL;
    return L4_TAG(0, 1, 0);
}

/* ---- clients ---- */

#define FOUR_SECONDS L4_TO(977, 12)     /* 977 * 4096 us */

/* Reads a byte of each page of [p, p + n) (write: writes one): the pager
 * thread takes and gives strings with page-fault timeouts of zero, so
 * a task's buffer must be mapped before it is used (child.c does the
 * same for its messages). */
static void touch(const char *p, size_t n, bool write)
{
    for (size_t i = 0; i < n; i += PAGE - ((uint64_t)(p + i) & (PAGE - 1))) {
        if (write)
            ((volatile char *)p)[i] = 0;
        else
            (void)((const volatile char *)p)[i];
    }
    if (n) {
        if (write)
            ((volatile char *)p)[n - 1] = 0;
        else
            (void)((const volatile char *)p)[n - 1];
    }
}

/* One call to the keeper: nw words w, the string s (n bytes; none if
 * NULL), a reply's string into rbuf (cap bytes, *got of them). Returns
 * the reply's w0 (a KEEP_ code), KEEP_EIPC if the call failed; m holds
 * the reply's words. */
static int call(uint32_t label, unsigned nw, const uint64_t *w, const char *s, size_t n,
                char *rbuf, size_t cap, struct l4_msg *m, size_t *got)
{
    uint64_t dest = rt_is_child() ? rt_task_args()->service : rt_pager_id;
    if (!dest && (rt_pager_start() != RT_TASK_OK || !(dest = rt_pager_id)))
        return KEEP_EIPC;
    struct l4_utcb *utcb = l4_utcb_of(rt_self_lthread());
    uint64_t saved[2] = { utcb->rcv_strings[0][0], utcb->rcv_strings[0][1] };
    char none[1];
    if (!rbuf) {
        rbuf = none;
        cap = sizeof none;
    }
    touch(s, s ? n : 0, false);
    touch(rbuf, cap, true);
    memset(m, 0, sizeof *m);
    for (unsigned i = 0; i < nw; i++)
        m->w[i] = w[i];
    if (s) {
        m->w[nw] = (uint64_t)n << 4 | L4_ITEM_STRING;
        m->w[nw + 1] = (uint64_t)s;
    }
    utcb->rcv_strings[0][0] = (uint64_t)rbuf;
    utcb->rcv_strings[0][1] = cap;
    uint64_t r = l4_ipc(dest, L4_TAG(label, nw, s ? 1 : 0), L4_RCV_WORDS(0) | L4_RCV_STRINGS,
                        L4_TIMEOUTS(FOUR_SECONDS, FOUR_SECONDS, 0, 0), m, NULL);
    utcb->rcv_strings[0][0] = saved[0];
    utcb->rcv_strings[0][1] = saved[1];
    if (L4_IPC_ERR(r) != L4_IPC_OK || L4_TAG_U(m->tag) < 1)
        return KEEP_EIPC;
    unsigned u = L4_TAG_U(m->tag);
    if (got)
        *got = L4_TAG_T(m->tag) && u + 1 < L4_REG_WORDS ? (size_t)(m->w[u] >> 4) : 0;
    return (int)m->w[0];
}

int rt_where(uint64_t *names, uint64_t *files, uint64_t *console)
{
    if (!rt_is_child()) {
        *names = rt_names_id;
        *files = rt_files_id;
        *console = rt_console_id;
        return KEEP_OK;
    }
    struct l4_msg m;
    int r = call(KEEP_WHERE, 0, NULL, NULL, 0, NULL, 0, &m, NULL);
    if (r == KEEP_OK) {
        *names = m.w[1];
        *files = m.w[2];
        *console = m.w[3];
    }
    return r;
}

/* Each piece travels as one string: the key, then up to KEEP_CHUNK bytes
 * of data (a malloc'd buffer of this thread's). */
int rt_keep_put(const char *key, size_t klen, const char *data, size_t size)
{
    if (klen == 0 || klen > KEEP_KEY_MAX)
        return KEEP_EINVAL;
    char *buf = malloc(klen + (size < KEEP_CHUNK ? size : KEEP_CHUNK));    /* most puts are small */
    if (!buf)
        return KEEP_ENOSPC;
    memcpy(buf, key, klen);
    struct l4_msg m;
    int r = KEEP_OK;
    size_t off = 0;
    do {
        size_t k = size - off < KEEP_CHUNK ? size - off : KEEP_CHUNK;
        memcpy(buf + klen, data + off, k);
        uint64_t w[3] = { off, off + k == size, klen };
        r = call(KEEP_PUT, 3, w, buf, klen + k, NULL, 0, &m, NULL);
        off += k;
    } while (r == KEEP_OK && off < size);
    free(buf);
    return r;
}

int rt_keep_get(const char *key, size_t klen, uint64_t offset, char *buf, size_t cap,
                size_t *got, uint64_t *size)
{
    struct l4_msg m;
    uint64_t w[2] = { offset, klen };
    int r = call(KEEP_GET, 2, w, key, klen, buf, cap, &m, got);
    if (r == KEEP_OK)
        *size = m.w[1];
    return r;
}

int rt_keep_del(const char *key, size_t klen)
{
    struct l4_msg m;
    uint64_t w[1] = { klen };
    return call(KEEP_DEL, 1, w, key, klen, NULL, 0, &m, NULL);
}

int rt_keep_list(uint64_t *next, const char *prefix, size_t plen, char *buf, size_t cap,
                 size_t *klen, uint64_t *size)
{
    struct l4_msg m;
    uint64_t w[2] = { *next, plen };
    int r = call(KEEP_LIST, 2, w, prefix ? prefix : "", plen, buf, cap, &m, klen);
    if (r == KEEP_OK) {
        *next = m.w[1];
        *size = m.w[2];
    }
    return r;
}
