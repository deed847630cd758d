/* suppress.h - MEMTYPE_SUPPRESS: a file of rules that silence known heap
 * errors and leaks (a library's own leaks, a bug being fixed elsewhere), as
 * LeakSanitizer's and valgrind's suppression files do. One rule a line:
 *   leak:PATTERN    a leaked block (definitely, indirectly or possibly lost)
 *                   whose allocation stack has a matching frame
 *   error:PATTERN   a heap error whose stack (where it was detected) has a
 *                   matching frame
 *   KIND:PATTERN    the same for one kind of error only (heap-buffer-overflow,
 *                   use-after-free, double-free...: the report's names)
 * A frame matches when PATTERN is found in its function's name (as linked,
 * or demangled), its module's path or its source file's path. As in
 * LeakSanitizer's files, '*' stands for any characters, and PATTERN is
 * found anywhere in the name unless it starts with '^' (the name starts
 * with it) or ends with '$' (ends with it). Blank lines and lines starting
 * with '#' are ignored. A suppressed error is neither printed nor counted
 * (MEMTYPE_ERROR_EXITCODE ignores it) nor kept in the dump; a suppressed
 * leak is left out of the LEAK lines, the summary's kinds and the dump's
 * records. What each rule took is printed at exit (when any). A program's fatal
 * signal is never suppressed. */
#ifndef MT_SUPPRESS_H
#define MT_SUPPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Reads the rules of MEMTYPE_SUPPRESS (at start, before the program can
 * chdir); false with a message in err (the file cannot be read, is too big,
 * or has a line that is no rule). An empty path: no rules. */
bool mt_suppress_load(const char *path, char *err, size_t len);
/* Are there error rules, leak rules? */
bool mt_suppress_errors_on(void);
bool mt_suppress_leaks_on(void);
/* Does a rule suppress a heap error of this kind (mt_error_kind_t) detected
 * at pcs[0..n)? fault: pcs[0] is a faulting instruction, not a return
 * address. Counts it when it does. */
bool mt_suppress_error(unsigned kind, const uintptr_t *pcs, unsigned n, bool fault);
/* Does a leak rule suppress a block allocated at pcs[0..n) (return
 * addresses)? key: a number that names this stack for a cache (its depot
 * id, or the type's id with the top bit set), 0 for none. Counts its
 * bytes when it does. */
bool mt_suppress_leak(const uintptr_t *pcs, unsigned n, uint64_t key, size_t bytes);
/* At exit: one line with what was suppressed, and each rule that took
 * something (nothing when nothing was suppressed). */
void mt_suppress_print(void);

#endif
