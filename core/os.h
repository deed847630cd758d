/* os.h - the few operating-system primitives memtype needs, behind one API so
 * that no other file calls mmap, madvise or write directly (os_linux.c).
 * Every function here is async-signal-safe and never allocates. */
#ifndef MT_OS_H
#define MT_OS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Maps size bytes of zeroed read-write memory; NULL on failure (errno kept). */
void *mt_os_map(size_t size);
/* Same, aligned to align (a power of two >= page size). */
void *mt_os_map_aligned(size_t size, size_t align);
void mt_os_unmap(void *p, size_t size);
/* Gives pages back to the OS; they read as zero afterwards. */
void mt_os_purge(void *p, size_t size);
/* Grows a mapping in place; false when the next pages are taken. */
bool mt_os_try_grow(void *p, size_t old_size, size_t new_size);
/* Moves a mapping to dest (an aligned reservation of new_size bytes). */
void *mt_os_move(void *p, size_t old_size, size_t new_size, void *dest);
/* Releases the tail of a mapping. */
void mt_os_shrink(void *p, size_t old_size, size_t new_size);

void mt_os_write(int fd, const char *buf, size_t len);
int mt_os_getpid(void);
long mt_os_gettid(void);
bool mt_os_is_secure(void);     /* setuid/setgid or other AT_SECURE exec */
char **mt_os_environ(void);      /* raw environment, may be NULL very early */
const char *mt_os_progname(void); /* short program name, "?" when unknown */
void mt_os_yield(void);
uint64_t mt_os_now_ns(void); /* monotonic clock */
/* Sleeps while *word == expected (futex); wakes one sleeper on word. */
void mt_os_futex_wait(int *word, int expected);
void mt_os_futex_wake(int *word);
__attribute__((noreturn)) void mt_os_abort(void);
__attribute__((noreturn)) void mt_os_exit(int code);

#endif
