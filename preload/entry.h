/* entry.h - shared by the interposed entry points: export attribute. */
#ifndef MT_ENTRY_H
#define MT_ENTRY_H
#define MT_EXPORT __attribute__((visibility("default")))
#endif
