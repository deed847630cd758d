/* entry.h - shared by the interposed entry points: export attribute. */
#ifndef MT_ENTRY_H
#define MT_ENTRY_H
#define MT_EXPORT __attribute__((visibility("default")))
/* The call site: where the program called the entry point. */
#define MT_CALLER ((uintptr_t)__builtin_return_address(0))
/* exec.c: MEMTYPE_FOLLOW_EXEC's start (once the options are known). */
void mt_exec_init(void);
/* malloc.c: the module malloc or free is bound to when it is not this
 * library (the program's own allocator, or one preloaded before memtype),
 * else NULL. */
const char *mt_preload_foreign_malloc(void);
#endif
