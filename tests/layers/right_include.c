/* right_include.c - heap code including heap and lower headers: builds with
 * the heap layer's include path (the control for wrong_include.c). */
#include "block.h"
#include "hooks.h"
#include "report.h"
#include "zone.h"

int layers_right_include(void);
int layers_right_include(void) { return MT_BLOCK_KINDS; }
