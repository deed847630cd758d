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
/* The mappings mt_os_map made and has not unmapped: up to max into lo/hi;
 * *complete is false when some could not be listed. */
unsigned mt_os_internal_ranges(uintptr_t *lo, uintptr_t *hi, unsigned max, bool *complete);
/* Same, aligned to align (a power of two >= page size); not listed above. */
void *mt_os_map_aligned(size_t size, size_t align);
void mt_os_unmap(void *p, size_t size);
/* The internal-mapping registry's lock is free again in a fork child. */
void mt_os_fork_child(void);
/* Gives pages back to the OS; they read as zero afterwards. */
void mt_os_purge(void *p, size_t size);
/* Grows a mapping in place; false when the next pages are taken. */
bool mt_os_try_grow(void *p, size_t old_size, size_t new_size);
/* Moves a mapping to dest (an aligned reservation of new_size bytes). */
void *mt_os_move(void *p, size_t old_size, size_t new_size, void *dest);
/* Releases the tail of a mapping. */
void mt_os_shrink(void *p, size_t old_size, size_t new_size);

/* Writes all of buf; false (errno kept in *err) on failure. */
bool mt_os_write_all(int fd, const void *buf, size_t len, int *err);
bool mt_os_pwrite_all(int fd, const void *buf, size_t len, uint64_t off, int *err);
/* Creates path for reading and writing: O_EXCL|O_NOFOLLOW, mode 0600;
 * -errno on failure. */
int mt_os_create_excl(const char *path);
/* Opens an existing file of ours to write in place (O_WRONLY|O_NOFOLLOW, no
 * O_APPEND: pwrite goes where it is told); -errno on failure. */
int mt_os_open_rewrite(const char *path);
void mt_os_close(int fd);
void mt_os_unlink(const char *path);
/* Gives path to user uid (group unchanged); errors ignored. */
void mt_os_chown(const char *path, int uid);
/* Is the page at p (page-aligned, mapped) in memory? For a shared file
 * mapping: does the file have that page (false for a hole)? True when it
 * cannot tell. Never faults the page in. */
bool mt_os_page_resident(const void *p);
/* The effective user id. */
int mt_os_geteuid(void);
bool mt_os_truncate(int fd, size_t size);
/* Maps size bytes of fd shared, at `at` (MAP_FIXED) when not NULL. */
void *mt_os_map_file(int fd, size_t size, void *at);
/* Replaces [p, p+size) with private zero pages. */
void mt_os_map_anon_fixed(void *p, size_t size);
/* Does path name an existing file (stat)? */
bool mt_os_file_exists(const char *path);
/* Reads a whole small file (e.g. /proc/self/cmdline) into buf; bytes read or -1. */
long mt_os_read_file(const char *path, char *buf, size_t len);
/* Reads /proc/thread-self/<leaf> (or /proc/self/<leaf> where the kernel has
 * no thread-self) into buf: still right after the main thread has ended. */
long mt_os_read_self_file(const char *leaf, char *buf, size_t len);
/* Resolves /proc/thread-self/exe (or /proc/self/exe) into buf (NUL-terminated); length or -1. */
long mt_os_self_exe(char *buf, size_t len);
uint64_t mt_os_realtime_ns(void);
int mt_os_getppid(void);
/* Maps a whole file read-only (private); NULL when it cannot. */
const void *mt_os_map_file_ro(const char *path, size_t *size);
/* Is p a block of glibc's own malloc (its brk heap, or one of its mmapped
 * chunks)? Probes without touching unmapped memory. */
bool mt_os_is_libc_block(uintptr_t p);
/* glibc's free/realloc/malloc_usable_size, for such blocks. */
void mt_os_libc_free(void *p);
void *mt_os_libc_realloc(void *p, size_t n);
size_t mt_os_libc_usable(void *p);
/* Looks the three up now (not safe later while a DEEPBIND load runs). */
void mt_os_libc_prepare(void);
/* Reserves size bytes of inaccessible address space aligned to align
 * (no memory behind it); NULL when it cannot. */
void *mt_os_reserve(size_t size, size_t align);
/* Makes pages accessible (read-write) or not; making them inaccessible also
 * gives their memory back. False when the kernel refuses (mapping limit). */
bool mt_os_protect(uintptr_t p, size_t len, bool rw);
/* Makes pages accessible keeping what they hold (mprotect): for a page that
 * another thread may be using. */
bool mt_os_open_pages(uintptr_t p, size_t len);
/* Guard pages inside an accessible mapping, without splitting it
 * (madvise MADV_GUARD_INSTALL, Linux 6.13): any access to [p, p+len) faults
 * until they are removed; installing drops what the pages held, removing
 * leaves them to read as zero. False when the kernel lacks it (EINVAL) or
 * refuses. */
bool mt_os_guard_install(uintptr_t p, size_t len);
bool mt_os_guard_remove(uintptr_t p, size_t len);
/* Makes pages of a loaded object writable, or read-only again (RELRO, the
 * symbol table); exec keeps them executable. */
bool mt_os_set_writable(uintptr_t p, size_t len, bool writable, bool exec);
size_t mt_os_physical_pages(void);
/* The process's resident pages (/proc/self/statm; 4 KiB pages), 0 when unknown. */
size_t mt_os_resident_pages(void);
long mt_os_max_map_count(void); /* vm.max_map_count, -1 when unknown */
/* libc's own sigaction (never the one preload/ interposes). */
int mt_os_sigaction_real(int sig, const void *act, void *old);
/* 1 when a fault's ucontext says READ, 2 WRITE, 0 unknown. */
int mt_os_fault_access(const void *uc);
/* Was the fault at addr an instruction fetch (a jump or call to addr)? */
bool mt_os_fault_is_fetch(const void *uc, uintptr_t addr);
/* Copies the signal context uc into out (len bytes at least 4 KiB is enough)
 * as it was before a call: the instruction pointer the return address at the
 * stack pointer, popped. false when it cannot be read. For a call to a bad
 * address, the caller's frame. */
bool mt_os_context_pop_return(const void *uc, void *out, size_t len);
/* The faulting instruction's address in a ucontext, 0 when unknown. */
uintptr_t mt_os_fault_pc(const void *uc);
/* The 16 general registers of a ucontext in x86-64's numbering (rax, rcx,
 * rdx, rbx, rsp, rbp, rsi, rdi, r8...r15); false on other machines. */
bool mt_os_fault_regs(const void *uc, uint64_t regs[16]);
/* Gives the calling thread an alternate signal stack if it has none, and
 * takes back the one it gave (thread exit). */
void mt_os_altstack_ensure(void);
void mt_os_altstack_release(void);
/* The writable segments (.data, .bss) of libmemtype itself: [lo, hi). */
bool mt_os_self_data(uintptr_t *lo, uintptr_t *hi);
/* Which of npages pages from page are in memory (mincore): bit 0 of vec[i].
 * False when the kernel cannot tell. */
bool mt_os_resident(uintptr_t page, size_t npages, unsigned char *vec);
/* Copies len bytes at addr of this process into buf without faulting
 * (process_vm_readv); bytes copied, or -1 when addr is not readable. */
long mt_os_read_self(uintptr_t addr, void *buf, size_t len);
/* The user stack pointers of this process's other threads that are blocked
 * in a system call now (/proc/self/task/TID/syscall; a running thread has
 * none), at most max; the number found. No allocation. */
unsigned mt_os_blocked_thread_sps(uintptr_t *sp, unsigned max);
/* Calls fn for each readable and writable mapping of the process, with its
 * name ("[stack]", a path, "" for anonymous memory). */
typedef void (*mt_mapping_fn)(uintptr_t lo, uintptr_t hi, const char *name, void *arg);
void mt_os_each_writable_mapping(mt_mapping_fn fn, void *arg);
/* Same for each mapping the process cannot read (PROT_NONE), in address order. */
void mt_os_each_unreadable_mapping(mt_mapping_fn fn, void *arg);
/* Does the parent process have this libmemtype (the same file) mapped? False
 * when it cannot tell (its /proc/PID/maps unreadable: another user's, gone). */
bool mt_os_parent_has_self(void);
void mt_os_write(int fd, const char *buf, size_t len);
int mt_os_getpid(void);
/* The calling thread's name (prctl PR_GET_NAME), "?" when unknown. */
void mt_os_thread_name(char *buf, size_t len);
long mt_os_gettid(void);
/* The CPU the caller runs on now (0 when unknown); it may have moved by the
 * time the caller uses it. A TLS load where glibc registered rseq, else the
 * vDSO's getcpu. */
unsigned mt_os_cpu(void);
bool mt_os_is_secure(void);     /* setuid/setgid or other AT_SECURE exec */
char **mt_os_environ(void);      /* raw environment, may be NULL very early */
/* Adds to environ each NAME=value of entries[0..n) (storage that lives as
 * long as the process) whose NAME it lacks, without malloc: environ becomes
 * a copy of itself with them, in a mapping of its own that the leak scan
 * reads (a later setenv of the program may write a block's pointer into it;
 * one that adds a name copies the array into a block of libc's, as it does
 * with the kernel's). Returns how many were added. */
unsigned mt_os_environ_add_missing(char *const entries[], unsigned n);
/* Does env[0..n) hold a variable of the NAME of entry ("NAME=value")? */
bool mt_os_env_has(char *const env[], unsigned n, const char *entry);
const char *mt_os_progname(void); /* short program name, "?" when unknown */
/* Copies the program name into memtype's memory (at start, before main can
 * write over argv); a no-op once done or while libc has not set it. */
void mt_os_note_progname(void);
void mt_os_yield(void);
/* Signal number for a name (USR2, SIGUSR2) or a decimal string; 0 if none. */
int mt_os_signal_number(const char *name);
/* Installs fn for sig unless the program already handles it; true if set. */
bool mt_os_catch_signal(int sig, void (*fn)(int, void *, void *));
/* Restores the default action of sig and raises it again (fatal path). */
void mt_os_reraise_default(int sig);
uint64_t mt_os_now_ns(void); /* monotonic clock */
/* The monotonic clock at the kernel tick's resolution (a few ms): cheap, no
 * syscall (vDSO); for the timeline's and the peak's times. */
uint64_t mt_os_coarse_ns(void);
/* Sleeps while *word == expected (futex); wakes one sleeper on word. */
void mt_os_futex_wait(int *word, int expected);
void mt_os_futex_wake(int *word);
__attribute__((noreturn)) void mt_os_abort(void);
/* Ends the process with status code (exit_group: no exit work, no atexit). */
__attribute__((noreturn)) void mt_os_exit(int code);
/* Writes out what the program's stdio streams hold, as exit() does last
 * (glibc's own flush at exit, without the streams' locks: a thread blocked
 * in a read holding one must not hang the exit): for an exit status
 * replaced during exit(), whose end is then exit_group. Not for _exit. */
void mt_os_flush_stdio(void);
/* The device and inode fd refers to; false when fd is not open. */
bool mt_os_fd_identity(int fd, uint64_t *dev, uint64_t *ino);
/* Can what fd refers to be opened again and written without clashing with
 * it: a terminal or other character device, a FIFO, a file opened to append
 * (a file written at an offset would see its text written over). */
bool mt_os_fd_reopenable(int fd);
/* What fd refers to (/proc/self/fd/N: a path, "pipe:[...]"); length or -1. */
long mt_os_fd_path(int fd, char *buf, size_t len);
/* Opens path for appending (O_NOFOLLOW, O_CLOEXEC, O_NOCTTY; created 0600
 * when create); the descriptor or -errno. */
int mt_os_open_append(const char *path, bool create);

#endif
