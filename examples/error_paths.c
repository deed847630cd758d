/* error_paths - a small record parser whose error handling is mostly right:
 * every allocation is checked but one, and one error path forgets a block.
 * A normal run shows neither bug; failure injection does:
 *
 *   memtype run --fail-rate 1 --fail-types parse_record -- build/bin/error_paths
 *       parse_record's allocations fail: the program reports it and exits 1
 *   memtype sweep -- build/bin/error_paths
 *       fails each allocation in turn: the runs where the value's strdup
 *       fails die of SIGSEGV (it is not checked), the runs where the key's
 *       copy fails leak the value (that error path does not free it) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct record {
  char *key;
  char *value;
};

static const char *const input[] = {"name=memtype", "kind=debugger", "lang=C"};

__attribute__((noinline)) static char *copy_field(const char *s, size_t n) {
  char *out = malloc(n + 1);
  if (out == NULL)
    return NULL;
  memcpy(out, s, n);
  out[n] = '\0';
  return out;
}

__attribute__((noinline)) static struct record *parse_record(const char *line) {
  const char *eq = strchr(line, '=');
  struct record *r = malloc(sizeof(*r));
  if (r == NULL || eq == NULL) {
    free(r);
    return NULL;
  }
  r->key = copy_field(line, (size_t)(eq - line));
  /* BUG: the value's copy is not checked before use. */
  r->value = strdup(eq + 1);
  r->value[0] = (char)(r->value[0] - 'a' + 'A'); /* capitalise */
  if (r->key == NULL) {
    free(r); /* BUG: r->value is not freed on this error path */
    return NULL;
  }
  return r;
}

int main(void) {
  size_t n = sizeof(input) / sizeof(input[0]);
  struct record **all = calloc(n, sizeof(*all));
  if (all == NULL) {
    fprintf(stderr, "error_paths: out of memory\n");
    return 1;
  }
  int status = 0;
  for (size_t i = 0; i < n; i++) {
    all[i] = parse_record(input[i]);
    if (all[i] == NULL) {
      fprintf(stderr, "error_paths: cannot parse %s: out of memory\n", input[i]);
      status = 1;
      continue;
    }
    printf("%s: %s\n", all[i]->key, all[i]->value);
  }
  for (size_t i = 0; i < n; i++) {
    if (all[i]) {
      free(all[i]->key);
      free(all[i]->value);
      free(all[i]);
    }
  }
  free(all);
  return status;
}
