/* site.h - call-site types. A type is the call site that asked for memory:
 * with MEMTYPE_DEPTH=1 (the default) the return address of the allocation
 * entry point. Sites are interned into a lock-free table (open addressing,
 * insert by CAS) that gives each a 16-bit type id; ids are never reused.
 * Id 0 is "untyped" (typing off), id 1 collects every site after the table
 * is full. Lookups are wait-free; a per-thread cache in front of the table
 * makes the common case one compare. */
#ifndef MT_SITE_H
#define MT_SITE_H

#include "mt_types.h"

#define MT_MAX_TYPES 65536u
#define MT_MAX_DEPTH 16u
#define MT_TYPE_UNTYPED 0u
#define MT_TYPE_OVERFLOW 1u
#define MT_TYPE_FIRST 2u

/* Type id of the call site pc, interning it on first sight. A new site is
 * checked once against MEMTYPE_SKIP (dladdr and globs); the answer is kept. */
uint16_t mt_site_intern(uintptr_t pc);
/* True when the site of `type` is inside a wrapper named by MEMTYPE_SKIP. */
bool mt_site_is_wrapper(unsigned type);
/* The type of an allocation at call site pc when that needs the stack: pc
 * is inside a MEMTYPE_SKIP wrapper, or MEMTYPE_DEPTH > 1. Unwinds, looks
 * through wrappers, and interns the next MEMTYPE_DEPTH frames as one type;
 * falls back to pc's own type when the stack cannot be had (re-entry, no
 * unwind info). A 16-bit type returned as 32 bits, so that the callers'
 * tail calls and its own reach the unwinder's memo without a frame between
 * (a frame is a word more for every memo hit to compare). */
uint32_t mt_site_resolve(uintptr_t pc);
/* The frames of a type, innermost first; how many (0 for named types). */
unsigned mt_site_stack(unsigned type, uintptr_t *out, unsigned max);
/* Parses MEMTYPE_TYPES ("name=glob,glob;name=glob"); false with a message
 * in err on a malformed rule. Call before the first allocation is typed. */
bool mt_site_set_rules(const char *rules, char *err, size_t errlen);
/* True when types need the stack (MEMTYPE_DEPTH > 1): set at option load. */
extern bool mt_site_deep;
/* Does the glob [g, gend) match the whole of s? ('*' and '?'.) */
bool mt_glob(const char *g, const char *gend, const char *s);
/* Does a comma-separated glob list match name? ('*' and '?'.) */
bool mt_site_glob_list_match(const char *globs, const char *name);
/* Does a type match a comma-separated glob list? A named type by its name;
 * a call-site type by the function or module of any frame of its stack.
 * cache[type] keeps the answer (0 unknown, 1 no, 2 yes): one per list. */
bool mt_site_type_matches(unsigned type, const char *globs, uint8_t *cache);
/* Type id of a named type, keyed by the address of its memtype_type (data,
 * so it never collides with a call site). name must outlive the process's
 * use of the type (a string literal). */
uint16_t mt_site_intern_named(const void *key, const char *name);
/* Fork child: sites left half-added by threads that are gone get an id. */
void mt_site_fork_child(void);
/* The name of a named type, NULL for call-site types. */
const char *mt_site_name(unsigned type);
/* Call-site address of a type (0 for the untyped and overflow types). */
uintptr_t mt_site_pc(unsigned type);
/* Types handed out so far, the two reserved ones included. */
unsigned mt_site_count(void);
/* Sites that found the table full and went to the overflow type. */
unsigned long mt_site_overflows(void);

/* Told of every new type (its first pc or its name): the live file's
 * mt_live_note_type (live.c defines it so; the types layer knows no file). */
extern void (*const mt_site_note_hook)(unsigned id, uintptr_t pc, const char *name);

#endif
