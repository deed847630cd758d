/* prelude.h - setting up the debug prelude (prelude.c; the hooks it
 * answers are in hooks.h). */
#ifndef MT_PRELUDE_H
#define MT_PRELUDE_H

/* Reads the debug options (failure injection, checks, memguard) and sets
 * the hook words and the debug gate. Bootstrap only (process.c), before
 * the heap's slow paths run with them; may run twice (options re-read). */
void mt_dbg_init(void);

#endif
