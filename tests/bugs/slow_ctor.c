/* slow_ctor - a library whose constructor holds the loader's lock for a
 * long time (it sleeps), as a plugin that connects somewhere at load time
 * would. guard's "loading" variant faults in another thread meanwhile:
 * the report must not wait for the loader. The constructor tells guard it
 * has started by writing a byte to the descriptor in SLOW_CTOR_FD. */
#include <stdlib.h>
#include <unistd.h>

__attribute__((constructor)) static void slow(void) {
  const char *fd = getenv("SLOW_CTOR_FD");
  if (fd)
    (void)!write(atoi(fd), "x", 1);
  sleep(30);
}

int slow_ctor_loaded(void) { return 1; }
