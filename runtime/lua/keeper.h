/* The keeper (keeper.c, docs/recovery.md "What outlives a component"):
 * what must outlive the components that use it, kept in the root by its
 * pager thread, which runs no Lua and cannot fail short of a kernel bug:
 *
 *   the store   named blobs (the file service's files, the name
 *               service's table), in pages of the keeper's own
 *   where       the ids of the core components now (names, files,
 *               console), which the root sets as they are restarted
 *
 * Requests to the pager thread (labels), from the root's threads and from
 * the tasks the root spawned. A task's keys live under its name ("files"
 * stores "files/<key>"): a restarted task, spawned under the same name,
 * finds them again; a task spawned by a task has no store. The root's
 * threads use full keys. A key is 1 to KEEP_KEY_MAX bytes.
 *
 *   KEEP_PUT   w0 offset, w1 1: the last piece, w2 key bytes; s key and
 *              piece (at most KEEP_CHUNK bytes) -> w0 code. Offset 0
 *              starts a new version; the last piece replaces the old one
 *              (until then a get sees the old one).
 *   KEEP_GET   w0 offset, w1 key bytes; s key -> w0 code, w1 size, s the
 *              bytes from offset (at most KEEP_CHUNK)
 *   KEEP_DEL   w0 key bytes; s key -> w0 code
 *   KEEP_LIST  w0 an index (0 first), w1 prefix bytes; s prefix -> w0
 *              code (KEEP_ENOENT: no more), w1 the next index, w2 size,
 *              s the key (without the task's name)
 *   KEEP_WHERE -> w0 0, w1 names, w2 files, w3 console (0: none)
 *   KEEP_STATS -> w0 0, w1 blobs, w2 bytes, w3 pages held, w4 pages free */
#pragma once
#include <stddef.h>
#include <stdint.h>

enum { KEEP_PUT = 40, KEEP_GET, KEEP_DEL, KEEP_LIST, KEEP_WHERE, KEEP_STATS };
enum { KEEP_OK, KEEP_ENOENT, KEEP_ENOSPC, KEEP_EINVAL, KEEP_EPERM, KEEP_EIPC };
#define KEEP_KEY_MAX 1024
#define KEEP_CHUNK   (48u << 10)

struct task;
struct l4_msg;
/* The pager thread: one request (label in KEEP_PUT..KEEP_STATS) from a
 * thread of the root (t NULL) or of the running task t, its string item
 * received at `in`; fills m with the reply and returns its tag. */
uint64_t keeper_request(const struct task *t, struct l4_msg *m, const char *in);

/* ---- clients: any Lua thread of the root or of a task ---- */
/* The name service's id as the root knows it (l4.sys.set_names). */
extern uint64_t rt_names_id;
/* The ids now: in the root its own (rt_*_id), in a task the root's. 0 or
 * KEEP_EIPC. */
int rt_where(uint64_t *names, uint64_t *files, uint64_t *console);
/* Stores data (size bytes) under key, whole. A KEEP_ code. */
int rt_keep_put(const char *key, size_t klen, const char *data, size_t size);
/* Up to cap bytes of key's data from offset into buf: *got of them,
 * *size the whole. A KEEP_ code. */
int rt_keep_get(const char *key, size_t klen, uint64_t offset, char *buf, size_t cap,
                size_t *got, uint64_t *size);
int rt_keep_del(const char *key, size_t klen);
/* The key after index *next under prefix (into buf, cap bytes, *klen
 * of them); advances *next. KEEP_ENOENT when none is left. */
int rt_keep_list(uint64_t *next, const char *prefix, size_t plen, char *buf, size_t cap,
                 size_t *klen, uint64_t *size);
