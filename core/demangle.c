/* demangle.c - C++ names (Itanium ABI) made readable for the reports memtype
 * prints itself: _ZN5cache10make_entryEi -> cache::make_entry(int). A
 * subset: plain and nested names (std:: and the standard abbreviations),
 * constructors and destructors, const member functions, internal linkage
 * (_ZL), builtin, pointer, reference, const and class-type parameters, and
 * substitutions of those (S_, S0_...). Anything else (templates, operators,
 * function pointers, local entities) leaves the name mangled: a wrong name
 * is worse than a mangled one. No allocation, no libc beyond memcpy/strlen:
 * it runs in the reporter, perhaps in a signal handler. */
#include "demangle.h"

#include <stdbool.h>
#include <string.h>

#define MAX_SUBS 64

typedef struct dm_s {
  const char *p;           /* next mangled character */
  char *out;               /* the readable name */
  size_t n, cap;           /* out's length and size */
  bool bad;                /* not in the subset, or out full */
  size_t sub_at[MAX_SUBS]; /* substitutions: spans of out */
  size_t sub_len[MAX_SUBS];
  unsigned nsubs;
  size_t last_at, last_len; /* the last unqualified name (a ctor's class) */
} dm_t;

static void put(dm_t *d, const char *s, size_t len) {
  if (d->n + len + 1 > d->cap) {
    d->bad = true;
    return;
  }
  memcpy(d->out + d->n, s, len);
  d->n += len;
  d->out[d->n] = '\0';
}

static void puts_(dm_t *d, const char *s) { put(d, s, strlen(s)); }

static void add_sub(dm_t *d, size_t at) {
  if (d->nsubs < MAX_SUBS) {
    d->sub_at[d->nsubs] = at;
    d->sub_len[d->nsubs] = d->n - at;
    d->nsubs++;
  }
}

/* Copies substitution i (a span of out) to the end of out. */
static void put_sub(dm_t *d, unsigned i) {
  if (i >= d->nsubs) {
    d->bad = true;
    return;
  }
  size_t at = d->sub_at[i], len = d->sub_len[i];
  if (d->n + len + 1 > d->cap) {
    d->bad = true;
    return;
  }
  memmove(d->out + d->n, d->out + at, len);
  d->n += len;
  d->out[d->n] = '\0';
}

/* S_ -> 0, S0_ -> 1, SA_ -> 11 ...: the index after 'S'; -1 when not one. */
static int sub_index(dm_t *d) {
  if (*d->p == '_') {
    d->p++;
    return 0;
  }
  unsigned v = 0;
  while ((*d->p >= '0' && *d->p <= '9') || (*d->p >= 'A' && *d->p <= 'Z')) {
    v = v * 36 + (unsigned)(*d->p <= '9' ? *d->p - '0' : *d->p - 'A' + 10);
    d->p++;
  }
  if (*d->p != '_')
    return -1;
  d->p++;
  return (int)v + 1;
}

static void source_name(dm_t *d) {
  size_t len = 0;
  while (*d->p >= '0' && *d->p <= '9')
    len = len * 10 + (size_t)(*d->p++ - '0');
  if (len == 0 || strlen(d->p) < len) {
    d->bad = true;
    return;
  }
  d->last_at = d->n;
  put(d, d->p, len);
  d->last_len = len;
  d->p += len;
}

/* The standard abbreviations after 'S' that name a prefix. */
static bool std_abbrev(dm_t *d) {
  static const struct {
    char c;
    const char *name;
  } t[] = {{'t', "std"},
           {'a', "std::allocator"},
           {'b', "std::basic_string"},
           {'s', "std::string"},
           {'i', "std::istream"},
           {'o', "std::ostream"},
           {'d', "std::iostream"}};
  for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
    if (*d->p == t[i].c) {
      d->p++;
      puts_(d, t[i].name);
      return true;
    }
  return false;
}

/* One component of a nested name: a source name, a constructor or
 * destructor of the class just named. */
static void component(dm_t *d) {
  if (*d->p >= '0' && *d->p <= '9') {
    source_name(d);
  } else if (*d->p == 'C' && d->p[1] >= '1' && d->p[1] <= '3' && d->last_len) {
    d->p += 2;
    size_t at = d->last_at, len = d->last_len;
    char tmp[256];
    if (len >= sizeof(tmp)) {
      d->bad = true;
      return;
    }
    memcpy(tmp, d->out + at, len);
    put(d, tmp, len);
  } else if (*d->p == 'D' && d->p[1] >= '0' && d->p[1] <= '2' && d->last_len) {
    d->p += 2;
    size_t at = d->last_at, len = d->last_len;
    char tmp[256];
    if (len >= sizeof(tmp)) {
      d->bad = true;
      return;
    }
    memcpy(tmp, d->out + at, len);
    put(d, "~", 1);
    put(d, tmp, len);
  } else {
    d->bad = true;
  }
}

/* N [K] prefix... E; returns whether the function is const. */
static bool nested_name(dm_t *d) {
  bool is_const = false;
  while (*d->p == 'r' || *d->p == 'V' || *d->p == 'K') {
    is_const |= *d->p == 'K';
    d->p++;
  }
  size_t start = d->n;
  bool first = true;
  while (!d->bad && *d->p != 'E') {
    if (*d->p == '\0') {
      d->bad = true;
      break;
    }
    if (!first)
      puts_(d, "::");
    if (*d->p == 'S') {
      d->p++;
      if (!std_abbrev(d)) {
        int i = sub_index(d);
        if (i < 0)
          d->bad = true;
        else
          put_sub(d, (unsigned)i);
      }
      if (*d->p == 'E') /* the whole prefix was a substitution: no new one */
        break;
      first = false;
      continue;
    }
    component(d);
    /* Every prefix but the whole name (the function) is a substitution. */
    if (*d->p != 'E')
      add_sub(d, start);
    first = false;
  }
  if (*d->p == 'E')
    d->p++;
  return is_const;
}

static void type(dm_t *d);

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
  return false;
}

/* A parameter type; P/R/O/K qualify the type after them: "Foo const&". */
static void type(dm_t *d) {
  size_t start = d->n;
  char c = *d->p;
  if (builtin(d))
    return;
  if (c == 'P' || c == 'R' || c == 'O') {
    d->p++;
    type(d);
    puts_(d, c == 'P' ? "*" : c == 'R' ? "&" : "&&");
  } else if (c == 'K') {
    d->p++; /* written after what it qualifies, as c++filt does: "char const*" */
    type(d);
    puts_(d, " const");
  } else if (c >= '0' && c <= '9') {
    source_name(d);
  } else if (c == 'N') {
    d->p++;
    nested_name(d); /* its prefixes were added as it went; the whole below */
  } else if (c == 'S') {
    d->p++;
    if (std_abbrev(d)) {
      if (*d->p >= '0' && *d->p <= '9') { /* St3foo: std::foo */
        puts_(d, "::");
        source_name(d);
      } else {
        return; /* an abbreviation alone is no new substitution */
      }
    } else {
      int i = sub_index(d);
      if (i < 0)
        d->bad = true;
      else
        put_sub(d, (unsigned)i);
      return; /* a substitution is not added again */
    }
  } else {
    d->bad = true;
    return;
  }
  add_sub(d, start);
}

size_t mt_demangle(const char *name, char *out, size_t len) {
  if (name == NULL || name[0] != '_' || name[1] != 'Z' || len < 2)
    return 0;
  dm_t d = {.p = name + 2, .out = out, .cap = len};
  out[0] = '\0';
  if (*d.p == 'L')
    d.p++;
  bool is_const = false;
  if (*d.p == 'N') {
    d.p++;
    is_const = nested_name(&d);
  } else if (*d.p == 'S' && d.p[1] == 't') {
    d.p += 2;
    puts_(&d, "std::");
    source_name(&d);
  } else if (*d.p >= '0' && *d.p <= '9') {
    source_name(&d);
  } else {
    return 0;
  }
  /* The parameters, up to a clone suffix (.cold, .constprop.0, .isra.0). */
  if (!d.bad && *d.p && *d.p != '.') {
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
  }
  if (!d.bad && *d.p == '.') { /* a clone: foo() [clone .cold] */
    puts_(&d, " [clone ");
    puts_(&d, d.p);
    puts_(&d, "]");
  }
  if (d.bad) {
    out[0] = '\0';
    return 0;
  }
  return d.n;
}
