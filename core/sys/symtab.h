/* symtab.h - function names from the loaded modules' own ELF symbol tables
 * (.symtab, or .dynsym for stripped files): static functions, and whole
 * programs linked without -rdynamic, are named too. Used when a call site is
 * matched against MEMTYPE_TYPES/SKIP/FAILURE_TYPES globs and when memtype
 * prints a stack. In a report or a handler (mt_modules_hold) a lookup made
 * while another thread loads a table returns false rather than wait. */
#ifndef MT_SYMTAB_H
#define MT_SYMTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lines.h"

/* The function holding code address pc: its name (valid until exit) and
 * start address. False when the module has no symbol table (stripped) or
 * no function covers pc. */
bool mt_symtab_lookup(uintptr_t pc, const char **name, uintptr_t *start);
/* The table lock is free again in a fork child. */
void mt_symtab_fork_child(void);

/* Was the module holding pc made by GCC alone, by its .comment section?
 * False when it names another compiler (clang), or has none (Debian strips
 * it from its packages), or the module is unknown. */
bool mt_symtab_gcc_only(uintptr_t pc);
/* Does the .comment of the module holding pc name rustc? Rust's standard
 * library asks malloc for blocks aligned up to 16 (at most their size) and
 * relies on glibc's 16-byte alignment for them. */
bool mt_symtab_rustc(uintptr_t pc);

/* The source file of the call whose return address is pc, as the module's
 * DWARF line table (or its separate debug file) names it, with its
 * directory: "/src/app/parser.c". False without line tables. */
bool mt_symtab_file(uintptr_t pc, char *buf, size_t len);
/* The same file, and in *line the line (0 when the table has no row for
 * it), of a return address (is_return: the call is the byte before pc) or
 * of an instruction's own address (a fault's pc). Safe in a report or a
 * signal handler, as mt_symtab_lookup is. */
bool mt_symtab_line(uintptr_t pc, bool is_return, char *buf, size_t len, unsigned *line);
/* The calls inlined at pc (is_return as for mt_symtab_line), innermost
 * first, as mt_lines_inlined gives them: 0 when none, or the module has no
 * .debug_info. Names and files point into the module's image. Safe where
 * mt_symtab_line is. */
unsigned mt_symtab_inlined(uintptr_t pc, bool is_return, mt_inline_t *out, unsigned max);

#endif
