/* wrong_include.c - heap code including a debug header: the heap layer's
 * include path does not have it, so this must not build. */
#include "memguard.h"

int layers_wrong_include(void);
int layers_wrong_include(void) { return 0; }
