/* wide_names - copies user names into wide-character strings, as a
 * terminal UI that measures columns might. The copy's block is sized from
 * wcslen, which counts the characters but not the terminating L'\0': each
 * wcscpy writes one wide character (4 bytes) past its block. memtype checks
 * the wide-character calls (wcscpy, wcsncpy, wmemcpy, swprintf...) at the
 * call, as their byte forms, and names the line:
 *
 *   build/bin/memtype run -- build/bin/wide_names */
#include <stdio.h>
#include <stdlib.h>
#include <wchar.h>

__attribute__((noinline)) static wchar_t *copy_name(const wchar_t *name) {
  wchar_t *w = malloc(wcslen(name) * sizeof(wchar_t)); /* BUG: (wcslen(name) + 1) */
  if (w != NULL)
    wcscpy(w, name);
  return w;
}

int main(void) {
  static const wchar_t *const names[] = {L"ana", L"bo", L"chidi"};
  size_t columns = 0;
  for (int i = 0; i < 3; i++) {
    wchar_t *w = copy_name(names[i]);
    if (w == NULL)
      return 1;
    columns += wcslen(w);
    free(w);
  }
  printf("%zu columns\n", columns);
  return 0;
}
