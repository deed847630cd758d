/* api.c - the public memtype_* functions declared in include/memtype.h. */
#include "../core/alloc.h"
#include "../include/memtype.h"
#include "entry.h"

MT_EXPORT int memtype_owns(const void *p) { return mt_owns(p) ? 1 : 0; }
