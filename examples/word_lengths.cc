// word_lengths.cc - a histogram of word lengths, one slot short.
//
// Built as a release with debug information is (-O2 -g), std::vector's code
// is inlined into the functions that use it: the machine code that writes
// past the vector's end is count_lengths's own, and the block was allocated
// by code inlined from <vector> into main. A report that shows only the
// frames the CPU has would name stl_vector.h and new_allocator.h; memtype
// reads the inlined calls from the program's DWARF and shows each one, down
// to the lines of this file.
//
//   memtype run -- build/bin/word_lengths
#include <cstdio>
#include <cstring>
#include <vector>

static const char text[] =
    "the quick brown fox jumps over the lazy dog while seventeen "
    "extraordinarily long words wait";

// The lengths of the words of s, counted in hist. The longest word is as
// long as hist has slots, so its count lands one past the end.
static __attribute__((noinline)) void count_lengths(const char *s, std::vector<unsigned> &hist) {
  while (*s) {
    size_t len = strcspn(s, " ");
    if (len > 0)
      hist[len]++; // BUG: the slots go from 0 to size() - 1
    s += len;
    s += strspn(s, " ");
  }
}

static __attribute__((noinline)) size_t longest_word(const char *s) {
  size_t best = 0;
  while (*s) {
    size_t len = strcspn(s, " ");
    if (len > best)
      best = len;
    s += len;
    s += strspn(s, " ");
  }
  return best;
}

int main() {
  size_t longest = longest_word(text);
  std::vector<unsigned> hist(longest); // BUG: longest + 1 slots are needed
  count_lengths(text, hist);
  for (size_t len = 1; len < hist.size(); len++)
    if (hist[len])
      printf("%2zu letters: %u\n", len, hist[len]);
  return 0;
}
