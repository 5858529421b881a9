/* newlib has no <dirent.h> for this target (its sys/dirent.h is an
 * #error). libext2fs's e2p/e2p.h names struct dirent only through a
 * pointer, in a prototype libext2fs never calls: an incomplete type is
 * all it needs. Used for the target build only (tools/deps/build.sh). */
#ifndef L4UA_DIRENT_H
#define L4UA_DIRENT_H
struct dirent;
typedef struct l4ua_no_dir DIR;
#endif
