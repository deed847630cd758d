/* memtype.h - the public API of libmemtype, for programs that want to talk
 * to the debugger they run under. Everything here is optional: memtype
 * works on unmodified binaries through LD_PRELOAD. Link with -lmemtype, or
 * look the functions up with dlsym(RTLD_DEFAULT, "memtype_owns") to stay
 * runnable without it. */
#ifndef MEMTYPE_H
#define MEMTYPE_H

#ifdef __cplusplus
extern "C" {
#endif

/* Returns 1 when p points into memory that memtype's allocator manages (a
 * slab slot, a page run or a huge block, live or free), 0 otherwise. */
int memtype_owns(const void *p);

#ifdef __cplusplus
}
#endif

#endif
