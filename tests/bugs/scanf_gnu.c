/* scanf_gnu - the scanf family by its GNU names (sscanf, not C99's
 * __isoc99_sscanf), as a program built -std=gnu89 calls it: `scanf_gnu
 * bad|ok` reads a word into an 8-byte block (10 bytes with its NUL when
 * bad), then, both ways, one with %as (GNU: scanf allocates the word's
 * buffer, whose pointer is the 8 bytes written). Prints "done". */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  if (argc != 2)
    return 2;
  int bad = !strcmp(argv[1], "bad");
  char *word = malloc(8);
  if (sscanf(bad ? "alexander" : "alex", "%s", word) != 1)
    return 3;
  char **got = malloc(sizeof(char *));
  if (sscanf("a-longer-word-than-eight", "%as", got) != 1)
    return 4;
  printf("%s %s\n", word, *got);
  free(*got);
  free(got);
  free(word);
  puts("done");
  return 0;
}
