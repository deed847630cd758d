/* lcplugin - a library libc_calls loads with dlopen after start: its calls
 * to memcpy must be checked too (the slots of an object loaded later). */
#include <string.h>

__attribute__((noinline)) void plugin_copy(char *d, const char *s, size_t n) {
  memcpy(d, s, n); /* the call under test */
}
