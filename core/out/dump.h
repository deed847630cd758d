/* dump.h - the binary dump (docs/format.md): written once at exit to
 * MEMTYPE_OUTPUT, never over an existing file, with every section a report
 * needs offline. Uses no malloc: fixed buffers, mmap'd scratch, write(2). */
#ifndef MT_DUMP_H
#define MT_DUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { MT_DUMP_EXIT = 1, MT_DUMP_SIGNAL = 2, MT_DUMP_FATAL = 3 };

/* mt_dump_path, the MEMTYPE_OUTPUT template: options.h. */
#include "options.h"
/* Writes the dump for `reason` (signal: the fatal signal or 0). Warns and
 * returns false when the file cannot be written; never stops the program. */
bool mt_dump_write(int reason, int signal);
/* A deadly signal that ends the process after its exit work: the ending of
 * the exit dump written is rewritten in place (the life's ending, set to
 * the signal), or, when none was written, a signal's dump is. */
void mt_dump_late_death(int sig);
/* Records the process start time (called once at bootstrap). */
void mt_dump_note_start(void);
/* Installs the MEMTYPE_DUMP_SIGNAL and fatal-signal handlers (constructor
 * time); false with a message when MEMTYPE_DUMP_SIGNAL names no signal. */
bool mt_dump_install_signals(char *err, size_t errlen);

/* fork: no dump is cut in half; the child starts with the lock free. */
void mt_dump_fork_prepare(void);
void mt_dump_fork_parent(void);
void mt_dump_fork_child(void);

#endif
