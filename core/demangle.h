/* demangle.h - a subset of C++ name demangling for memtype's own reports
 * (demangle.c says which), without allocation: async-signal-safe. */
#ifndef MT_DEMANGLE_H
#define MT_DEMANGLE_H

#include <stddef.h>

/* Writes the readable form of the mangled name into out (len bytes, NUL
 * included); its length, or 0 when name is not mangled, is outside the
 * subset or does not fit (out then holds ""). */
size_t mt_demangle(const char *name, char *out, size_t len);

#endif
