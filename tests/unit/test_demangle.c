/* test_demangle.c - the C++ names memtype's own reports demangle read as
 * c++filt reads them (each expected string is c++filt's, and so is every
 * name of libstdc++'s symbol table memtype demangles); a name outside the subset, not mangled, or too long for the
 * buffer is left alone (0, ""), never half demangled. */
#include <stdio.h>
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
    {"_Z3fooRSs", "foo(std::basic_string<char, std::char_traits<char>, std::allocator<char> >&)"},
    {"_Z3foov.cold", "foo() [clone .cold]"},
    {"_ZN2ns1A1fEPS0_", "ns::A::f(ns::A*)"},
    {"_Z1fPPcS_", "f(char**, char*)"},
    {"_Z4sizemjy", "size(unsigned long, unsigned int, unsigned long long)"},
    /* templates, packs, literals, operators, ABI tags, return types */
    {"_Z5applyPFiiEi", "apply(int (*)(int), int)"}, /* function pointers and types */
    {"_Z1fRFvvE", "f(void (&)())"},
    {"_Z1fPFvvES0_", "f(void (*)(), void (*)())"},
    {"_ZNSt8functionIFviEEC1Ev", "std::function<void (int)>::function()"},
    {"_ZNSt6vectorIiSaIiEE12emplace_backIJiEEERiDpOT_", /* a pack expansion of one argument */
     "int& std::vector<int, std::allocator<int> >::emplace_back<int>(int&&)"},
    {"_ZNSt12_Vector_baseIjSaIjEEC4EmRKS0_", /* GCC's unified constructor (DWARF) */
     "std::_Vector_base<unsigned int, std::allocator<unsigned int> >::_Vector_base(unsigned long, std::allocator<unsigned int> const&)"},
    {"_ZNSt6vectorIjSaIjEED4Ev", "std::vector<unsigned int, std::allocator<unsigned int> >::~vector()"},
    {"_Z3fooIiEvT_",
     "void foo<int>(int)"},
    {"_ZplRK1AS1_",
     "operator+(A const&, A const&)"},
    {"_ZnwmPv",
     "operator new(unsigned long, void*)"},
    {"_ZNSt6vectorIiSaIiEE9push_backERKi",
     "std::vector<int, std::allocator<int> >::push_back(int const&)"},
    {"_ZNSt6vectorIiSaIiEEC2Ev",
     "std::vector<int, std::allocator<int> >::vector()"},
    {"_ZN9__gnu_cxx13new_allocatorIcE8allocateEmPKv",
     "__gnu_cxx::new_allocator<char>::allocate(unsigned long, void const*)"},
    {"_ZNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEE12_M_constructIPKcEEvT_S8_St20forward_iterator_tag",
     "void std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >::_M_construct<char const*>(char const*, char const*, std::forward_iterator_tag)"},
    {"_ZL13count_lengthsPKcRSt6vectorIjSaIjEE.constprop.0",
     "count_lengths(char const*, std::vector<unsigned int, std::allocator<unsigned int> >&) [clone .constprop.0]"},
    {"_ZNKSt7__cxx1115basic_stringbufIcSt11char_traitsIcESaIcEE3strEv",
     "std::__cxx11::basic_stringbuf<char, std::char_traits<char>, std::allocator<char> >::str() const"},
    {"_ZSt4swapIiEvRT_S1_",
     "void std::swap<int>(int&, int&)"},
    {"_ZNSt5tupleIJEEC1Ev",
     "std::tuple<>::tuple()"},
    {"_ZN4llvm12is_containedIRNS_8ArrayRefIiEEiEEbOT_RKT0_",
     "bool llvm::is_contained<llvm::ArrayRef<int>&, int>(llvm::ArrayRef<int>&, int const&)"},
    {"_Z1fILb1EEvv",
     "void f<true>()"},
    {"_ZN3FooB5cxx113barEv",
     "Foo[abi:cxx11]::bar()"},
    {"_ZN12_GLOBAL__N_13fooEv",
     "(anonymous namespace)::foo()"},
    {"_ZdlPvm",
     "operator delete(void*, unsigned long)"},
    {"_ZN3FoolsERKS_",
     "Foo::operator<<(Foo const&)"},
    {"_ZN3FooltIiEEbv",
     "bool Foo::operator< <int>()"},
    {"_ZNKSs12find_last_ofERKSsm",
     "std::basic_string<char, std::char_traits<char>, std::allocator<char> >::find_last_of(std::basic_string<char, std::char_traits<char>, std::allocator<char> > const&, unsigned long) const"},
    {"_ZNKRSt7__cxx1115basic_stringbufIcSt11char_traitsIcESaIcEE3strEv",
     "std::__cxx11::basic_stringbuf<char, std::char_traits<char>, std::allocator<char> >::str() const &"},
    {"_ZN4llvm11PassBuilder15parseModulePassERNS_11PassManagerINS_6ModuleENS_15AnalysisManagerIS2_JEEEJEEERKNS0_15PipelineElementE",
     "llvm::PassBuilder::parseModulePass(llvm::PassManager<llvm::Module, llvm::AnalysisManager<llvm::Module>>&, llvm::PassBuilder::PipelineElement const&)"},
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
      "_Z1fPPFvvE",        /* a pointer to a function pointer (written inside out) */
      "_Z1fKPFvvE",        /* a const function pointer */
      "_Z1fPFPFvvEvE",     /* a function returning a function pointer */
      "_Z1fPFvvES_",       /* the function type, gone into its pointer's text */
      "_Z1fM1AFvvE",       /* a pointer to member */
      "_Z1fIJicEEvDpT_",   /* a pack expansion of two arguments */
      "_Z1fIiEvDpT_",      /* an expansion of no pack */
      "_Z1fIXadL_Z1gvEEEvv", /* an expression */
      "_Z3fooIiEvT0_",     /* a template parameter that does not exist */
      "_Z3barPN2ns1AES2_", /* a substitution that does not exist */
      "_Z12too_short",     /* a name running past the end */
      "_Z1fIL",            /* cut short in a literal (nothing past its end is read) */
      "_Z1fILi",
      "_Z1fILin",
  };
  for (size_t i = 0; i < sizeof(left) / sizeof(left[0]); i++) {
    char out[256] = "x";
    ck_assert_msg(mt_demangle(left[i], out, sizeof(out)) == 0, "%s demangled as %s", left[i],
                  out);
    ck_assert_str_eq(out, left[i][0] == '_' && left[i][1] == 'Z' ? "" : "x");
  }
}
END_TEST

/* Every name of libstdc++'s dynamic symbol table that memtype demangles
 * reads as c++filt reads it (the rest stay mangled). Skipped where nm or
 * c++filt is missing. */
START_TEST(libstdcxx_names_read_as_cxxfilt_reads_them) {
  FILE *p = popen("d=$(mktemp -d) && nm -D --defined-only \"$(g++ -print-file-name=libstdc++.so)\" "
                  "2>/dev/null | awk '{print $NF}' | sed 's/@.*//' | grep '^_Z' | sort -u > $d/m && "
                  "c++filt < $d/m > $d/d && paste $d/m $d/d; rm -rf \"$d\"",
                  "r");
  ck_assert_ptr_nonnull(p);
  char line[8192];
  unsigned total = 0, done = 0;
  while (fgets(line, sizeof(line), p)) {
    line[strcspn(line, "\n")] = '\0';
    char *tab = strchr(line, '\t');
    if (tab == NULL)
      continue;
    *tab = '\0';
    char out[4096];
    total++;
    if (mt_demangle(line, out, sizeof(out)) == 0)
      continue;
    done++;
    ck_assert_msg(strcmp(out, tab + 1) == 0, "%s: got \"%s\", c++filt \"%s\"", line, out, tab + 1);
  }
  pclose(p);
  if (total == 0)
    return; /* no nm, c++filt or libstdc++ here */
  /* most of its functions: the names left mangled are mostly data (vtables, typeinfo) */
  ck_assert_msg(done * 2 > total, "%u of %u demangled", done, total);
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
  tcase_add_test(t, libstdcxx_names_read_as_cxxfilt_reads_them);
  tcase_set_timeout(t, 120);
  suite_add_tcase(s, t);
  return s;
}

MT_UNIT_MAIN(suite)
