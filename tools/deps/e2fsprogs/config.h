/* config.h of libext2fs and libcom_err for L4ua (tools/deps/build.sh):
 * written by hand instead of running e2fsprogs' configure, which probes
 * the host. The target is newlib over L4 (runtime/lua/syscalls.c): these
 * are the headers and functions it has. Everything else stays off:
 * pthreads and semaphores (the file service is one Lua thread), MMP
 * (multi-mount protection: one machine owns the disk), TDB and the undo
 * and unix io managers (the disk is reached through our own io manager,
 * bindings/ext2.c), mmap, ioctls, prctl and secure_getenv. */
#define HAVE_UNISTD_H 1
#define HAVE_SYS_TYPES_H 1
#define HAVE_SYS_STAT_H 1
#define HAVE_SYS_TIME_H 1
#define HAVE_ERRNO_H 1
#define HAVE_STDLIB_H 1
#define HAVE_MALLOC_H 1
#define HAVE_MEMALIGN 1          /* newlib has memalign, not posix_memalign */
#define HAVE_STRDUP 1
#define HAVE_STRNLEN 1
#define HAVE_VPRINTF 1
#define HAVE_TYPE_SSIZE_T 1
