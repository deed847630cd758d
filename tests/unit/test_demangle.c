/* test_demangle.c - the C++ names memtype's own reports demangle read as
 * c++filt reads them (each expected string is c++filt's, std::string
 * aside); a name outside the subset, not mangled, or too long for the
 * buffer is left alone (0, ""), never half demangled. */
#include <string.h>

#include "demangle.h"
#include "unit.h"

static const char *const cases[][2] = {
    {"_ZN5cache10make_entryEi", "cache::make_entry(int)"},
    {"_ZN5cache10make_entryEPKc", "cache::make_entry(char const*)"},
    {"_ZL9make_listi", "make_list(int)"},
    {"_ZN3FooC2Ev", "Foo::Foo()"},
    {"_ZN3FooD1Ev", "Foo::~Foo()"},
    {"_ZNK3Foo3getEv", "Foo::get() const"},
    {"_ZN2ns3Foo3setERKS0_", "ns::Foo::set(ns::Foo const&)"},
    {"_ZNSt3foo3barEv", "std::foo::bar()"},
    {"_Z3fooPKcS0_", "foo(char const*, char const*)"},
    {"_Z3fooRSs", "foo(std::string&)"},
    {"_Z3foov.cold", "foo() [clone .cold]"},
    {"_ZN2ns1A1fEPS0_", "ns::A::f(ns::A*)"},
    {"_Z1fPPcS_", "f(char**, char*)"},
    {"_Z4sizemjy", "size(unsigned long, unsigned int, unsigned long long)"},
};

START_TEST(names_read_as_cxxfilt_reads_them) {
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char out[256];
    size_t n = mt_demangle(cases[i][0], out, sizeof(out));
    ck_assert_msg(n == strlen(cases[i][1]) && strcmp(out, cases[i][1]) == 0,
                  "%s: got \"%s\", want \"%s\"", cases[i][0], out, cases[i][1]);
  }
}
END_TEST

START_TEST(names_outside_the_subset_are_left_alone) {
  static const char *const left[] = {
      "main",              /* not mangled */
      "_Z",                /* nothing after the prefix */
      "_Z3fooIiEvT_",      /* a template */
      "_ZplRK1AS1_",       /* an operator */
      "_Z3barPN2ns1AES2_", /* a substitution that does not exist */
      "_Z12too_short",     /* a name running past the end */
  };
  for (size_t i = 0; i < sizeof(left) / sizeof(left[0]); i++) {
    char out[256] = "x";
    ck_assert_msg(mt_demangle(left[i], out, sizeof(out)) == 0, "%s demangled as %s", left[i],
                  out);
    ck_assert_str_eq(out, left[i][0] == '_' && left[i][1] == 'Z' ? "" : "x");
  }
}
END_TEST

START_TEST(a_name_too_long_for_the_buffer_is_left_alone) {
  char out[10];
  ck_assert_uint_eq(mt_demangle("_ZN5cache10make_entryEi", out, sizeof(out)), 0);
  ck_assert_str_eq(out, "");
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("demangle");
  TCase *t = tcase_create("demangle");
  tcase_add_test(t, names_read_as_cxxfilt_reads_them);
  tcase_add_test(t, names_outside_the_subset_are_left_alone);
  tcase_add_test(t, a_name_too_long_for_the_buffer_is_left_alone);
  suite_add_tcase(s, t);
  return s;
}

MT_UNIT_MAIN(suite)
