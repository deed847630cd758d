/* symtab.h - function names from the loaded modules' own ELF symbol tables
 * (.symtab), for the code dladdr cannot name: static functions, and whole
 * programs linked without -rdynamic. Used when a call site is matched
 * against MEMTYPE_TYPES/SKIP/FAILURE_TYPES globs and when memtype prints a
 * stack. Not async-signal-safe in general; a lookup made while another is
 * loading a table returns false rather than wait. */
#ifndef MT_SYMTAB_H
#define MT_SYMTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The function holding code address pc: its name (valid until exit) and
 * start address. False when the module has no symbol table (stripped) or
 * no function covers pc. */
bool mt_symtab_lookup(uintptr_t pc, const char **name, uintptr_t *start);

/* The source file of the call whose return address is pc, as the module's
 * DWARF line table (or its separate debug file) names it, with its
 * directory: "/src/app/parser.c". False without line tables. */
bool mt_symtab_file(uintptr_t pc, char *buf, size_t len);

#endif
