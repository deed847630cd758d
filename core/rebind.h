/* rebind.h - binds objects loaded with RTLD_DEEPBIND back to memtype.
 * Such an object looks symbols up in its own dependencies (libc.so.6,
 * libstdc++) before the global scope, so its malloc, free and operator new
 * would reach glibc's allocator while the rest of the process uses
 * memtype's. During such a load, libc's and libstdc++'s definitions of
 * those names are hidden from the loader; after it, every relocation slot
 * of each new object that names an allocator entry point (or sigaction,
 * signal, dlopen, dlmopen) is rewritten to what the global scope resolves
 * that name to: memtype's. Per dlopen, never on an allocation path. Not async-signal-safe
 * (it takes the loader's lock through dl_iterate_phdr). */
#ifndef MT_REBIND_H
#define MT_REBIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The loaded objects of the base namespace before a load (their bases, in
 * internal memory until mt_rebind_new_objects releases it). */
typedef struct mt_rebind_mark_s {
  unsigned long long adds; /* the loader's count of objects ever loaded */
  unsigned long *bases;    /* load bases of the objects loaded then */
  unsigned n, cap;
  unsigned long bytes;     /* of the bases mapping */
} mt_rebind_mark_t;

/* Does a dlopen (or dlmopen into the base namespace: base_ns) with these
 * flags need its new objects rebound? */
bool mt_rebind_wanted(int flags, bool base_ns);
void mt_rebind_mark(mt_rebind_mark_t *m);
/* Around the real load: hides the definitions of our names in the objects
 * already loaded, so that the load's relocation and constructors bind to
 * memtype; unhide restores them (nested and concurrent loads counted). */
void mt_rebind_hide(void);
void mt_rebind_unhide(void);
/* Fork child: the windows of the threads that did not follow are closed. */
void mt_rebind_fork_child(void);
/* Rebinds the objects loaded since m was taken; returns how many slots it
 * rewrote. Releases m. */
unsigned mt_rebind_new_objects(mt_rebind_mark_t *m);

/* Rewrites every relocation slot that names names[i] (a PLT or GOT slot,
 * or a data word) to targets[i] (0 leaves it), in each object loaded but
 * libmemtype, the one holding address skip (0: none), and, when since is
 * not NULL, those loaded before it was taken. Returns how many slots it
 * rewrote, and in *objects (when not NULL) in how many objects. x86-64
 * only (0 elsewhere). Same locking as mt_rebind_new_objects. */
unsigned mt_rebind_redirect(const char *const *names, const uintptr_t *targets, unsigned n,
                            uintptr_t skip, const mt_rebind_mark_t *since, unsigned *objects);

/* The file a load from libmemtype should name so as to find what the real
 * dlopen would for its caller (return address `caller`): a bare name is
 * looked up in the caller's search path; buf receives it. Else file. */
const char *mt_rebind_path(const char *file, uintptr_t caller, char *buf, size_t len);
/* Is pc (where malloc was called) inside an operator new that is not
 * memtype's? libstdc++'s, when a DEEPBIND load brought libstdc++ in: the
 * load's constructors bound to it before the rebinding, and its blocks come
 * from malloc. They are new blocks all the same. Takes the loader's lock. */
bool mt_rebind_is_foreign_new(uintptr_t pc);

#endif
