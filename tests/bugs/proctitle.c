/* proctitle - a program that sets its process title as postgres, nginx and
 * redis do: it moves environ to strings of its own, then writes over the
 * whole contiguous area of its argv and environment strings (the title,
 * then padding), so that `ps` shows the title. Whatever memtype kept
 * pointers to in that area (options, the program name, the command line)
 * would now read the title or the padding.
 *   proctitle VARIANT [nul|junk]
 * padding: nul (postgres, nginx: NUL bytes, the default) or junk ('X'
 * bytes, the last one NUL). Variants:
 *   overflow  then a write 1 byte past a 64-byte block: with guard pages on
 *             (MEMTYPE_GUARD='*') the write faults at once
 *   ok        then every byte of the block written and read: no report */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

__attribute__((noinline)) static char *make_buf(size_t n) { return malloc(n); }

/* The contiguous area from argv[0] to the end of the last string that
 * follows it without a gap (argv, then environment), as postgres's
 * save_ps_display_args finds it; environ moves out of it first. */
static void set_title(int argc, char **argv, const char *title, int junk) {
  char *begin = argv[0], *end = argv[0] + strlen(argv[0]) + 1;
  for (int i = 1; i < argc; i++)
    if (argv[i] == end)
      end += strlen(argv[i]) + 1;
  int n = 0;
  for (; environ[n]; n++)
    if (environ[n] == end)
      end += strlen(environ[n]) + 1;
  char **moved = malloc((size_t)(n + 1) * sizeof(char *));
  for (int i = 0; i < n; i++)
    moved[i] = strdup(environ[i]);
  moved[n] = NULL;
  environ = moved;
  memset(begin, junk ? 'X' : '\0', (size_t)(end - begin));
  end[-1] = '\0';
  size_t len = strlen(title);
  if (len > (size_t)(end - begin) - 1)
    len = (size_t)(end - begin) - 1;
  memcpy(begin, title, len);
  if (!junk)
    begin[len] = '\0';
  for (int i = 1; i < argc; i++)
    argv[i] = NULL;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: proctitle overflow|ok [nul|junk]\n");
    return 2;
  }
  int overflow = strcmp(argv[1], "overflow") == 0;
  int junk = argc > 2 && strcmp(argv[2], "junk") == 0;
  set_title(argc, argv, "proctitle: accepting connections idle", junk);
  char *b = make_buf(64);
  if (overflow) {
    ((volatile char *)b)[64] = 'x';
  } else {
    memset(b, 'y', 64);
    for (int i = 0; i < 64; i++)
      if (((volatile char *)b)[i] != 'y')
        return 1;
  }
  free(b);
  printf("done\n");
  return 0;
}
