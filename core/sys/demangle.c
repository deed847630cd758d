/* demangle.c - C++ names (Itanium ABI) made readable for the reports memtype
 * prints itself: _ZN5cache10make_entryEi -> cache::make_entry(int). A
 * subset, printed as c++filt prints it: plain and nested names (std:: and
 * the standard abbreviations), constructors and destructors, operators, ABI
 * tags, const member functions, internal linkage (_ZL), template arguments
 * (types, packs, integer and bool literals) and template parameters (a
 * pack expanded in a parameter when it holds one argument), a
 * function template's return type, builtin, pointer, reference, const and
 * class-type parameters, function types and pointers or references to them
 * ("int (*)(int)"), and substitutions of all of those (S_, S0_...).
 * Anything else (arrays, pointers to members, types written inside out as a
 * pointer to a function pointer, expressions, local entities, conversion
 * operators) leaves the name
 * mangled: a wrong name is worse than a mangled one. No allocation, no libc
 * beyond memcpy/memmove/strlen: it runs in the reporter, perhaps in a signal
 * handler. */
#include "demangle.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define MAX_SUBS 128
#define MAX_TARGS 32

typedef struct span_s {
  size_t at, len;
} span_t;

typedef struct dm_s {
  const char *p;         /* next mangled character */
  char *out;             /* the readable name */
  size_t n, cap;         /* out's length and size */
  bool bad;              /* not in the subset, or out full */
  span_t subs[MAX_SUBS]; /* substitutions: spans of out */
  uint8_t sub_kind[MAX_SUBS]; /* SUB_FNPTR: a pointer or reference to a function;
                               * SUB_GONE: its text was rewritten since (not usable) */
  unsigned nsubs;
  bool fnptr; /* the type just written is a pointer or reference to a function */
  span_t targs[MAX_TARGS]; /* the template arguments T_, T0_... stand for */
  int targ_pack[MAX_TARGS]; /* a pack's number of arguments; -1: not a pack */
  unsigned ntargs;
  unsigned expanding;       /* inside a pack expansion (Dp) */
  bool expanded;            /* a pack was met in it */
  span_t last; /* the last unqualified source name (a ctor's class); len 0: none */
  unsigned depth;
} dm_t;

static void put(dm_t *d, const char *s, size_t len) {
  if (d->bad || d->n + len + 1 > d->cap) {
    d->bad = true;
    return;
  }
  memcpy(d->out + d->n, s, len);
  d->n += len;
  d->out[d->n] = '\0';
}

static void puts_(dm_t *d, const char *s) { put(d, s, strlen(s)); }

static void put_span(dm_t *d, span_t s);

enum { SUB_PLAIN, SUB_FNPTR, SUB_GONE };

static void add_sub(dm_t *d, size_t at) {
  if (d->nsubs < MAX_SUBS) {
    d->sub_kind[d->nsubs] = d->fnptr ? SUB_FNPTR : SUB_PLAIN;
    d->subs[d->nsubs++] = (span_t){at, d->n - at};
  } else {
    d->bad = true;
  }
}

/* Substitution i, copied to the end of out. */
static void put_sub(dm_t *d, unsigned i) {
  if (i >= d->nsubs || d->sub_kind[i] == SUB_GONE) {
    d->bad = true;
    return;
  }
  put_span(d, d->subs[i]);
  d->fnptr = d->sub_kind[i] == SUB_FNPTR;
}

/* Copies a span of out to the end of out. */
static void put_span(dm_t *d, span_t s) {
  if (d->bad || s.at + s.len > d->n || d->n + s.len + 1 > d->cap) {
    d->bad = true;
    return;
  }
  memmove(d->out + d->n, d->out + s.at, s.len);
  d->n += s.len;
  d->out[d->n] = '\0';
}

/* A number in base 36 ending in '_' (S0_, T0_): 0 for a bare '_', else the
 * number + 1; -1 when not one. */
static int seq_id(dm_t *d) {
  if (*d->p == '_') {
    d->p++;
    return 0;
  }
  unsigned v = 0;
  while ((*d->p >= '0' && *d->p <= '9') || (*d->p >= 'A' && *d->p <= 'Z')) {
    v = v * 36 + (unsigned)(*d->p <= '9' ? *d->p - '0' : *d->p - 'A' + 10);
    if (v > 4096)
      return -1;
    d->p++;
  }
  if (*d->p != '_')
    return -1;
  d->p++;
  return (int)v + 1;
}

static void source_name(dm_t *d) {
  size_t len = 0;
  while (*d->p >= '0' && *d->p <= '9' && len < 4096)
    len = len * 10 + (size_t)(*d->p++ - '0');
  if (len == 0 || strlen(d->p) < len) {
    d->bad = true;
    return;
  }
  if (len >= 10 && memcmp(d->p, "_GLOBAL__N", 10) == 0) {
    d->last = (span_t){d->n, 0};
    puts_(d, "(anonymous namespace)");
    d->p += len;
    return;
  }
  d->last = (span_t){d->n, len};
  put(d, d->p, len);
  d->p += len;
}

/* B <source-name>...: "[abi:cxx11]" after the name they tag. */
static void abi_tags(dm_t *d) {
  while (!d->bad && *d->p == 'B') {
    d->p++;
    span_t keep = d->last;
    puts_(d, "[abi:");
    source_name(d);
    puts_(d, "]");
    d->last = keep;
  }
}

/* The standard abbreviations after 'S', written as c++filt writes them (the
 * templates they stand for); the name a constructor after one takes. */
static bool std_abbrev(dm_t *d) {
  static const struct {
    char c;
    unsigned name_len; /* of the unqualified name after "std::" (0: none) */
    const char *text;
  } t[] = {{'t', 0, "std"},
           {'a', 9, "std::allocator"},
           {'b', 12, "std::basic_string"},
           {'s', 12, "std::basic_string<char, std::char_traits<char>, std::allocator<char> >"},
           {'i', 13, "std::basic_istream<char, std::char_traits<char> >"},
           {'o', 13, "std::basic_ostream<char, std::char_traits<char> >"},
           {'d', 14, "std::basic_iostream<char, std::char_traits<char> >"}};
  for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
    if (*d->p == t[i].c) {
      d->p++;
      size_t at = d->n;
      puts_(d, t[i].text);
      d->last = (span_t){at + 5, t[i].name_len};
      return true;
    }
  return false;
}

/* operator+ and the like; false when not an operator code. */
static bool operator_name(dm_t *d) {
  static const struct {
    char code[3];
    const char *name;
  } t[] = {{"nw", "new"}, {"na", "new[]"}, {"dl", "delete"}, {"da", "delete[]"}, {"ps", "+"},
           {"ng", "-"},   {"ad", "&"},     {"de", "*"},      {"co", "~"},        {"pl", "+"},
           {"mi", "-"},   {"ml", "*"},     {"dv", "/"},      {"rm", "%"},        {"an", "&"},
           {"or", "|"},   {"eo", "^"},     {"aS", "="},      {"pL", "+="},       {"mI", "-="},
           {"mL", "*="},  {"dV", "/="},    {"rM", "%="},     {"aN", "&="},       {"oR", "|="},
           {"eO", "^="},  {"ls", "<<"},    {"rs", ">>"},     {"lS", "<<="},      {"rS", ">>="},
           {"eq", "=="},  {"ne", "!="},    {"lt", "<"},      {"gt", ">"},        {"le", "<="},
           {"ge", ">="},  {"ss", "<=>"},   {"nt", "!"},      {"aa", "&&"},       {"oo", "||"},
           {"pp", "++"},  {"mm", "--"},    {"cm", ","},      {"pm", "->*"},      {"pt", "->"},
           {"cl", "()"},  {"ix", "[]"}};
  for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
    if (d->p[0] == t[i].code[0] && d->p[1] == t[i].code[1]) {
      d->p += 2;
      const char *name = t[i].name;
      puts_(d, "operator");
      if ((name[0] >= 'a' && name[0] <= 'z'))
        puts_(d, " ");
      puts_(d, name);
      d->last.len = 0;
      return true;
    }
  return false;
}

static void type(dm_t *d);

/* I <arg>... E: "<int, std::allocator<int> >". keep: the arguments are the
 * ones T_ stands for (a function's own). */
static void template_args(dm_t *d, bool keep) {
  if (++d->depth > 32) {
    d->bad = true;
    return;
  }
  d->p++; /* I */
  span_t saved_last = d->last;
  if (d->n > 0 && d->out[d->n - 1] == '<')
    puts_(d, " "); /* operator< <int> */
  puts_(d, "<");
  span_t args[MAX_TARGS];
  int packs[MAX_TARGS];
  unsigned nargs = 0;
  bool first = true, after_comma = false;
  while (!d->bad && *d->p != 'E') {
    if (*d->p == '\0') {
      d->bad = true;
      break;
    }
    size_t comma = d->n;
    if (!first)
      puts_(d, ", ");
    first = false;
    size_t at = d->n;
    after_comma = false;
    if (d->p[0] == 'J' && d->p[1] == 'E' && comma != at) {
      /* an empty pack prints nothing, its comma neither (and, as c++filt
       * has it, the '>' before that comma then takes no space: ">>") */
      d->p += 2;
      d->n = comma;
      d->out[d->n] = '\0';
      after_comma = true;
      if (nargs < MAX_TARGS)
        packs[nargs] = 0, args[nargs++] = (span_t){d->n, 0};
      continue;
    }
    int pack = -1;
    if (*d->p == 'L') { /* a literal: Li5E, Lb0E */
      d->p++;
      if (*d->p == '\0') {
        d->bad = true; /* cut short: nothing past the end is read */
        break;
      }
      char c = *d->p++;
      bool neg = *d->p == 'n';
      if (neg)
        d->p++;
      const char *digits = d->p;
      while (*d->p >= '0' && *d->p <= '9')
        d->p++;
      size_t nd = (size_t)(d->p - digits);
      if (*d->p != 'E' || nd == 0) {
        d->bad = true;
        break;
      }
      d->p++;
      if (c == 'b' && nd == 1 && !neg && (*digits == '0' || *digits == '1')) {
        puts_(d, *digits == '1' ? "true" : "false");
      } else {
        const char *suffix = c == 'i' ? "" : c == 'j' ? "u" : c == 'l' ? "l" : c == 'm' ? "ul"
                             : c == 'x' ? "ll" : c == 'y' ? "ull" : NULL;
        if (suffix == NULL) {
          d->bad = true;
          break;
        }
        if (neg)
          puts_(d, "-");
        put(d, digits, nd);
        puts_(d, suffix);
      }
    } else if (*d->p == 'J') { /* a pack: its arguments, comma-separated */
      d->p++;
      pack = 0;
      while (!d->bad && *d->p != 'E') {
        if (*d->p == '\0') {
          d->bad = true;
          break;
        }
        if (pack++)
          puts_(d, ", ");
        type(d);
      }
      if (!d->bad)
        d->p++;
    } else if (*d->p == 'X') {
      d->bad = true; /* an expression */
      break;
    } else {
      type(d);
    }
    if (nargs < MAX_TARGS)
      packs[nargs] = pack, args[nargs++] = (span_t){at, d->n - at};
  }
  if (d->bad)
    return;
  d->p++; /* E */
  if (d->out[d->n - 1] == '>' && !after_comma)
    puts_(d, " ");
  puts_(d, ">");
  d->last = saved_last;
  if (keep) {
    memcpy(d->targs, args, nargs * sizeof(args[0]));
    memcpy(d->targ_pack, packs, nargs * sizeof(packs[0]));
    d->ntargs = nargs;
  }
  d->depth--;
}

/* T_, T0_...: the function's template argument it stands for. */
static void template_param(dm_t *d) {
  d->p++; /* T */
  int i = seq_id(d);
  if (i < 0 || (unsigned)i >= d->ntargs) {
    d->bad = true;
    return;
  }
  /* A pack stands for its arguments only inside an expansion, and there
   * the type around it would be written once for each: one argument is
   * in the subset, none or several are not. */
  if (d->targ_pack[i] >= 0 && (!d->expanding || d->targ_pack[i] != 1)) {
    d->bad = true;
    return;
  }
  if (d->targ_pack[i] >= 0)
    d->expanded = true;
  put_span(d, d->targs[i]);
}

/* One component of a nested name: a source name, an operator, a
 * constructor or destructor of the class just named; with its ABI tags. */
static void component(dm_t *d) {
  if (*d->p >= '0' && *d->p <= '9') {
    source_name(d);
  } else if (*d->p == 'L' && d->p[1] >= '0' && d->p[1] <= '9') {
    d->p++;
    source_name(d);
  } else if ((*d->p == 'C' && d->p[1] >= '1' && d->p[1] <= '5') ||
             (*d->p == 'D' && d->p[1] >= '0' && d->p[1] <= '5' && d->p[1] != '3')) {
    if (d->last.len == 0 || d->last.len >= 256) {
      d->bad = true;
      return;
    }
    char tmp[256];
    size_t len = d->last.len;
    memcpy(tmp, d->out + d->last.at, len);
    if (*d->p == 'D')
      puts_(d, "~");
    d->p += 2;
    put(d, tmp, len);
  } else if (!operator_name(d)) {
    d->bad = true;
  }
  abi_tags(d);
}

/* N [K] prefix... E: writes the name; whether the function is const, and
 * whether its last component is a template (its return type is mangled). */
static bool nested_name(dm_t *d, bool keep, bool *is_template, bool *is_ctor,
                        const char **ref) {
  bool is_const = false;
  while (*d->p == 'r' || *d->p == 'V' || *d->p == 'K') {
    is_const |= *d->p == 'K';
    if (*d->p != 'K')
      d->bad = true; /* volatile, restrict member functions: not in the subset */
    d->p++;
  }
  *ref = "";
  if (*d->p == 'R' || *d->p == 'O') /* a ref-qualifier, after the parameters */
    *ref = *d->p++ == 'R' ? " &" : " &&";
  size_t start = d->n;
  bool first = true;
  *is_template = false;
  while (!d->bad && *d->p != 'E') {
    if (*d->p == '\0') {
      d->bad = true;
      break;
    }
    if (*d->p == 'I') {
      if (first) {
        d->bad = true;
        break;
      }
      template_args(d, keep);
      *is_template = true;
      if (*d->p != 'E')
        add_sub(d, start);
      continue;
    }
    if (!first)
      puts_(d, "::");
    *is_template = false;
    *is_ctor = (*d->p == 'C' || (*d->p == 'D' && d->p[1] >= '0' && d->p[1] <= '5'));
    if (*d->p == 'S') {
      d->p++;
      if (!std_abbrev(d)) {
        int i = seq_id(d);
        if (i < 0)
          d->bad = true;
        else
          put_sub(d, (unsigned)i);
        d->last.len = 0;
      }
      first = false;
      continue; /* a substitution is no new candidate */
    }
    if (*d->p == 'T') {
      template_param(d);
      d->last.len = 0;
    } else {
      component(d);
    }
    /* Every prefix but the whole name (the function) is a substitution. */
    if (*d->p != 'E')
      add_sub(d, start);
    first = false;
  }
  if (*d->p == 'E')
    d->p++;
  else
    d->bad = true;
  return is_const;
}

static bool builtin(dm_t *d) {
  static const struct {
    char c;
    const char *name;
  } t[] = {{'v', "void"},          {'b', "bool"},
           {'c', "char"},          {'a', "signed char"},
           {'h', "unsigned char"}, {'s', "short"},
           {'t', "unsigned short"}, {'i', "int"},
           {'j', "unsigned int"},  {'l', "long"},
           {'m', "unsigned long"}, {'x', "long long"},
           {'y', "unsigned long long"}, {'n', "__int128"},
           {'o', "unsigned __int128"}, {'f', "float"},
           {'d', "double"},        {'e', "long double"},
           {'w', "wchar_t"},       {'z', "..."}};
  for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
    if (*d->p == t[i].c) {
      d->p++;
      puts_(d, t[i].name);
      return true;
    }
  if (*d->p == 'D') {
    static const struct {
      char c;
      const char *name;
    } u[] = {{'n', "decltype(nullptr)"}, {'s', "char16_t"}, {'i', "char32_t"}, {'u', "char8_t"}};
    for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++)
      if (d->p[1] == u[i].c) {
        d->p += 2;
        puts_(d, u[i].name);
        return true;
      }
  }
  return false;
}

/* A type; P/R/O/K qualify the type after them: "Foo const&". */
/* F ret params E: "ret (params)", a candidate; *paren: where its "(" is. */
static void function_type(dm_t *d, size_t *paren) {
  d->p++; /* F */
  if (*d->p == 'Y') {
    d->bad = true; /* extern "C": not in the subset */
    return;
  }
  size_t start = d->n;
  type(d); /* the return type */
  if (d->fnptr)
    d->bad = true; /* a function returning a function pointer: written inside out */
  puts_(d, " ");
  *paren = d->n;
  puts_(d, "(");
  if (d->p[0] == 'v' && d->p[1] == 'E') {
    d->p++;
  } else {
    for (bool first = true; !d->bad && *d->p != 'E'; first = false) {
      if (*d->p == '\0') {
        d->bad = true;
        return;
      }
      if (!first)
        puts_(d, ", ");
      type(d);
    }
  }
  if (d->bad || *d->p != 'E') {
    d->bad = true;
    return;
  }
  d->p++;
  puts_(d, ")");
  d->fnptr = false;
  add_sub(d, start);
}

/* Inserts text at out[at], moving what follows and the spans in it. */
static void insert(dm_t *d, size_t at, const char *text) {
  size_t len = strlen(text);
  if (d->bad || at > d->n || d->n + len + 1 > d->cap) {
    d->bad = true;
    return;
  }
  memmove(d->out + at + len, d->out + at, d->n - at + 1);
  memcpy(d->out + at, text, len);
  d->n += len;
  for (unsigned i = 0; i < d->nsubs; i++) {
    if (d->subs[i].at >= at)
      d->subs[i].at += len;
    else if (d->subs[i].at + d->subs[i].len > at)
      d->sub_kind[i] = SUB_GONE; /* (the function type: its text is the pointer's now) */
  }
  for (unsigned i = 0; i < d->ntargs; i++)
    if (d->targs[i].at >= at)
      d->targs[i].at += len;
}

static void type(dm_t *d) {
  if (++d->depth > 64) {
    d->bad = true;
    return;
  }
  size_t start = d->n;
  char c = *d->p;
  d->fnptr = false;
  if (builtin(d)) {
    d->depth--;
    return;
  }
  if ((c == 'P' || c == 'R' || c == 'O') && d->p[1] == 'F') {
    /* a pointer or reference to a function: "void (*)(int)" */
    d->p++;
    size_t paren = 0;
    function_type(d, &paren);
    insert(d, paren, c == 'P' ? "(*)" : c == 'R' ? "(&)" : "(&&)");
    d->fnptr = true;
    add_sub(d, start);
    d->depth--;
    return;
  }
  if (c == 'F') {
    size_t paren;
    function_type(d, &paren); /* (its own candidate) */
    d->depth--;
    return;
  }
  if (c == 'P' || c == 'R' || c == 'O') {
    d->p++;
    type(d);
    if (d->fnptr)
      d->bad = true; /* a pointer to a function pointer: written inside out */
    /* A reference to a reference (a template parameter that is one)
     * collapses: & wins over && (C++11 [dcl.ref]). */
    bool ref = d->n > start && d->out[d->n - 1] == '&';
    bool rref = ref && d->n > start + 1 && d->out[d->n - 2] == '&';
    if (ref && c == 'P')
      d->bad = true; /* a pointer to a reference cannot be */
    else if (rref && c == 'R')
      d->out[--d->n] = '\0'; /* T&& & -> T& */
    else if (!ref)
      puts_(d, c == 'P' ? "*" : c == 'R' ? "&" : "&&");
  } else if (c == 'K' || c == 'V') {
    d->p++; /* written after what it qualifies, as c++filt does: "char const*" */
    type(d);
    if (d->fnptr)
      d->bad = true; /* a const function pointer: written inside out */
    const char *q = c == 'K' ? " const" : " volatile";
    size_t ql = strlen(q);
    if (d->n > start && d->out[d->n - 1] == '&')
      d->bad = true; /* a qualified reference: not in the subset */
    else if (!(d->n >= start + ql && memcmp(d->out + d->n - ql, q, ql) == 0))
      puts_(d, q); /* (a parameter const already stays const once) */
  } else if (c >= '0' && c <= '9') {
    source_name(d);
    abi_tags(d);
    if (*d->p == 'I') { /* a template-id: the template is a candidate, then the whole */
      add_sub(d, start);
      template_args(d, false);
    }
  } else if (c == 'N') {
    d->p++;
    bool is_template, is_ctor = false;
    const char *ref;
    nested_name(d, false, &is_template, &is_ctor, &ref); /* its prefixes were added as it went */
  } else if (c == 'S') {
    d->p++;
    bool abbrev = std_abbrev(d);
    if (abbrev && *d->p >= '0' && *d->p <= '9') { /* St3foo: std::foo */
      puts_(d, "::");
      source_name(d);
      abi_tags(d);
      if (*d->p == 'I') {
        add_sub(d, start);
        template_args(d, false);
      }
    } else if (abbrev) {
      if (*d->p != 'I') {
        d->depth--;
        return; /* an abbreviation alone is no new candidate */
      }
      template_args(d, false);
    } else {
      int i = seq_id(d);
      if (i < 0) {
        d->bad = true;
      } else {
        put_sub(d, (unsigned)i);
        if (*d->p == 'I') { /* S_ I...E: a new candidate, the template-id */
          template_args(d, false);
        } else {
          d->depth--;
          return; /* a substitution is not added again */
        }
      }
    }
  } else if (c == 'T') {
    template_param(d);
    if (*d->p == 'I') {
      add_sub(d, start);
      template_args(d, false);
    }
  } else if (c == 'D' && d->p[1] == 'p') { /* a pack expansion: Args&&... of one argument */
    d->p += 2;
    bool outer = d->expanded;
    d->expanded = false;
    d->expanding++;
    type(d);
    d->expanding--;
    if (!d->expanded)
      d->bad = true; /* no pack in it: c++filt writes "(int)...", not in the subset */
    d->expanded = outer;
  } else {
    d->bad = true;
    return;
  }
  add_sub(d, start);
  d->depth--;
}

/* Moves the text from `from` to the end before the text at `to` (the
 * return type in front of the name), a space between, and the spans with it. */
static void rotate_front(dm_t *d, size_t to, size_t from) {
  size_t a = from - to, b = d->n - from; /* [to, from) the name, [from, n) the type */
  if (d->bad || d->n + 2 > d->cap || b >= 512) {
    d->bad = true;
    return;
  }
  char tmp[512];
  memcpy(tmp, d->out + from, b);
  memmove(d->out + to + b + 1, d->out + to, a);
  memcpy(d->out + to, tmp, b);
  d->out[to + b] = ' ';
  d->n++;
  d->out[d->n] = '\0';
  for (unsigned i = 0; i < d->nsubs; i++)
    d->subs[i].at = d->subs[i].at >= from ? d->subs[i].at - a : d->subs[i].at + b + 1;
  for (unsigned i = 0; i < d->ntargs; i++)
    d->targs[i].at = d->targs[i].at >= from ? d->targs[i].at - a : d->targs[i].at + b + 1;
}

size_t mt_demangle(const char *name, char *out, size_t len) {
  if (name == NULL || name[0] != '_' || name[1] != 'Z' || len < 2)
    return 0;
  dm_t d = {.p = name + 2, .out = out, .cap = len};
  out[0] = '\0';
  bool is_const = false, is_template = false, is_ctor = false;
  const char *ref = "";
  if (*d.p == 'N') {
    d.p++;
    is_const = nested_name(&d, true, &is_template, &is_ctor, &ref);
  } else {
    size_t start = d.n;
    if (*d.p == 'S' && d.p[1] == 't') {
      d.p += 2;
      puts_(&d, "std::");
    }
    if (*d.p == 'L')
      d.p++;
    if (*d.p >= '0' && *d.p <= '9') {
      source_name(&d);
      abi_tags(&d);
    } else if (!operator_name(&d)) {
      return 0;
    }
    if (*d.p == 'I') { /* an unscoped template: the template is a candidate */
      add_sub(&d, start);
      template_args(&d, true);
      is_template = true;
    }
  }
  /* The parameters, up to a clone suffix (.cold, .constprop.0, .isra.0);
   * a function template's return type first. */
  if (!d.bad && (*d.p == '\0' || *d.p == '.') && is_const)
    puts_(&d, " const"); /* no parameters (a const member's data symbol) */
  if (!d.bad && *d.p && *d.p != '.') {
    if (is_template && !is_ctor) {
      size_t at = d.n;
      type(&d);
      rotate_front(&d, 0, at);
    }
    puts_(&d, "(");
    if (d.p[0] == 'v' && (d.p[1] == '\0' || d.p[1] == '.')) {
      d.p++;
    } else {
      bool first = true;
      while (!d.bad && *d.p && *d.p != '.') {
        if (!first)
          puts_(&d, ", ");
        type(&d);
        first = false;
      }
    }
    puts_(&d, ")");
    if (is_const)
      puts_(&d, " const");
    puts_(&d, ref);
  }
  if (!d.bad && *d.p == '.') { /* a clone: foo() [clone .cold] */
    const char *s = d.p;
    while (!d.bad && *s == '.') { /* each part its own: [clone .constprop.0] [clone .cold] */
      const char *e = s + 1;
      while ((*e >= 'a' && *e <= 'z') || *e == '_')
        e++;
      if (e == s + 1 || (*e && *e != '.')) {
        d.bad = true; /* not a clone's name: .isra, .part, .cold... */
        break;
      }
      while (*e == '.' && e[1] >= '0' && e[1] <= '9') { /* .constprop.0: one clone */
        e++;
        while (*e >= '0' && *e <= '9')
          e++;
      }
      puts_(&d, " [clone ");
      put(&d, s, (size_t)(e - s));
      puts_(&d, "]");
      s = e;
    }
    if (*s)
      d.bad = true;
  } else if (!d.bad && *d.p) {
    d.bad = true;
  }
  if (d.bad) {
    out[0] = '\0';
    return 0;
  }
  return d.n;
}
