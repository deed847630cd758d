/* site.c - the call-site table (see site.h). keys[] holds site addresses
 * (0 = empty), ids[] the type id published after the key; a reader that
 * sees a key whose id is still 0 waits for the writer's next store. Both
 * arrays are in .bss: only touched pages cost memory. */
#include "site.h"

#include <string.h>

#include "modules.h"
#include "options.h"
#include "os.h"
#include "report.h"
#include "symtab.h"
#include "unwind.h"

#define TABLE_BITS 17 /* twice MT_MAX_TYPES: probes stay short when full */
#define TABLE_SIZE (1u << TABLE_BITS)

static uintptr_t keys[TABLE_SIZE];
static uint16_t ids[TABLE_SIZE];
static uintptr_t pcs[MT_MAX_TYPES]; /* id -> site (innermost frame) */
static uintptr_t stacks[MT_MAX_TYPES][MT_MAX_DEPTH]; /* id -> stack, deep types */
static uint8_t stack_len[MT_MAX_TYPES];              /* 0 for one-frame types */
static const char *names[MT_MAX_TYPES]; /* id -> name, named types only */
static uint8_t wrappers[MT_MAX_TYPES];   /* id -> site is in a MEMTYPE_SKIP wrapper */
MT_HIDDEN bool mt_site_deep;

/* ---- MEMTYPE_TYPES rules ---------------------------------------------------- */

#define MAX_RULES 64
typedef struct rule_s {
  char name[64];    /* the type's name */
  char globs[256];  /* comma-separated globs */
  char key;         /* its address keys the named type in the table */
} rule_t;
static rule_t rules[MAX_RULES];
static unsigned nrules;

bool mt_site_set_rules(const char *spec, char *err, size_t errlen) {
  nrules = 0;
  for (const char *r = spec; r && *r;) {
    const char *end = strchr(r, ';');
    if (end == NULL)
      end = r + strlen(r);
    if (end > r) {
      const char *eq = memchr(r, '=', (size_t)(end - r));
      size_t nlen = eq ? (size_t)(eq - r) : 0, glen = eq ? (size_t)(end - eq - 1) : 0;
      if (eq == NULL || nlen == 0 || glen == 0 || nlen >= sizeof(rules[0].name) ||
          glen >= sizeof(rules[0].globs) || nrules == MAX_RULES) {
        mt_snprintf(err, errlen,
                    "memtype: error: MEMTYPE_TYPES=%s: rule %u is not name=glob[,glob] (names "
                    "under 64 characters, globs under 256, at most 64 rules); accepted: "
                    "name=glob;name=glob\n", spec, nrules + 1);
        return false;
      }
      rule_t *ru = &rules[nrules++];
      memcpy(ru->name, r, nlen);
      ru->name[nlen] = '\0';
      memcpy(ru->globs, eq + 1, glen);
      ru->globs[glen] = '\0';
    }
    r = *end ? end + 1 : end;
  }
  return true;
}

/* The named type a code address belongs to under MEMTYPE_TYPES, or 0. */
static uint16_t rule_type(uintptr_t pc);

/* ---- MEMTYPE_SKIP ------------------------------------------------------- */

/* '*' and '?' over the whole of s. One backtrack point, the last '*' met
 * (a later '*' makes any earlier one's choice final): time linear in
 * |g| * |s|, however many '*' (a pattern of a suppressions file against a
 * long demangled name). */
static bool glob(const char *g, const char *gend, const char *s) {
  const char *star = NULL, *retry = NULL;
  while (*s) {
    if (g < gend && *g == '*') {
      star = ++g;
      retry = s;
    } else if (g < gend && (*g == '?' || *g == *s)) {
      g++, s++;
    } else if (star) {
      g = star;
      s = ++retry;
    } else {
      return false;
    }
  }
  while (g < gend && *g == '*')
    g++;
  return g == gend;
}

bool mt_glob(const char *g, const char *gend, const char *s) { return glob(g, gend, s); }

bool mt_site_glob_list_match(const char *globs, const char *name) {
  if (globs == NULL || name == NULL)
    return false;
  for (const char *g = globs; *g;) {
    const char *end = strchr(g, ',');
    if (end == NULL)
      end = g + strlen(g);
    if (end > g && glob(g, end, name))
      return true;
    g = *end ? end + 1 : end;
  }
  return false;
}

/* Does a glob list name a path or its last component? */
static bool path_matches(const char *globs, const char *path) {
  const char *base = strrchr(path, '/');
  return mt_site_glob_list_match(globs, base ? base + 1 : path) ||
         mt_site_glob_list_match(globs, path);
}

/* Does a glob list name the function or the module holding pc, or (with
 * `files`) the source file of the call at pc? */
static bool pc_matches(const char *globs, uintptr_t pc, bool files) {
  const char *func, *module;
  if (globs == NULL || *globs == '\0')
    return false;
  mt_modules_sync_try(); /* a new call site: perhaps in a module loaded since */
  if (mt_symbol(pc, &func, &module) &&
      (mt_site_glob_list_match(globs, func) || (module && path_matches(globs, module))))
    return true;
  char file[1024];
  return files && mt_symtab_file(pc, file, sizeof(file)) && path_matches(globs, file);
}

/* Is code address pc inside a function or module that MEMTYPE_SKIP names? */
static bool pc_in_wrapper(uintptr_t pc) { return pc_matches(mt_opt.skip, pc, false); }
static unsigned next_id = MT_TYPE_FIRST;
static unsigned long overflows;

static inline unsigned slot_of(uintptr_t pc) {
  uint64_t h = (uint64_t)pc * 0x9e3779b97f4a7c15ull;
  return (unsigned)(h >> (64 - TABLE_BITS));
}

static uint16_t wait_id(unsigned i) {
  uint16_t id;
  while ((id = __atomic_load_n(&ids[i], __ATOMIC_ACQUIRE)) == 0)
    mt_os_yield();
  return id;
}

static uint16_t intern_key(uintptr_t key, const uintptr_t *stack, unsigned n, bool code);

static uint16_t intern(uintptr_t pc, bool code) { return intern_key(pc, &pc, 1, code); }

uint16_t mt_site_intern(uintptr_t pc) { return intern(pc, true); }

static bool same_stack(unsigned id, const uintptr_t *stack, unsigned n) {
  if (id >= MT_MAX_TYPES || stack_len[id] != n)
    return false;
  for (unsigned k = 0; k < n; k++)
    if (stacks[id][k] != stack[k])
      return false;
  return true;
}

/* One-frame types are keyed by their address; deeper stacks by a hash with
 * the top bit set (no code address has it) and checked frame by frame. */
static uint16_t intern_key(uintptr_t key, const uintptr_t *stack, unsigned n, bool code) {
  if (key == 0)
    return MT_TYPE_UNTYPED;
  for (unsigned i = slot_of(key), probes = 0; probes < TABLE_SIZE;
       i = (i + 1) & (TABLE_SIZE - 1), probes++) {
    uintptr_t k = __atomic_load_n(&keys[i], __ATOMIC_ACQUIRE);
    if (k == key) {
      uint16_t id = wait_id(i);
      if (n == 1 || same_stack(id, stack, n))
        return id;
      continue; /* a hash collision between two stacks */
    }
    if (k != 0)
      continue;
    unsigned taken = __atomic_load_n(&next_id, __ATOMIC_RELAXED);
    if (taken >= MT_MAX_TYPES) {
      __atomic_fetch_add(&overflows, 1, __ATOMIC_RELAXED);
      return MT_TYPE_OVERFLOW;
    }
    /* A site that a MEMTYPE_TYPES rule names joins that type (no id of its own). */
    uint16_t named = nrules && (code || n > 1) ? rule_type(stack[0]) : 0;
    uintptr_t expect = 0;
    if (!__atomic_compare_exchange_n(&keys[i], &expect, key, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
      if (expect == key) {
        uint16_t id = wait_id(i);
        if (n == 1 || same_stack(id, stack, n))
          return id;
      }
      continue; /* another site took the slot: probe on */
    }
    if (named) {
      __atomic_store_n(&ids[i], named, __ATOMIC_RELEASE);
      return named;
    }
    unsigned id = __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED);
    if (id >= MT_MAX_TYPES) {
      id = MT_TYPE_OVERFLOW; /* lost the race for the last id */
    } else {
      __atomic_store_n(&pcs[id], stack[0], __ATOMIC_RELAXED);
      if (n > 1) {
        for (unsigned f = 0; f < n; f++)
          stacks[id][f] = stack[f];
        stack_len[id] = (uint8_t)n;
      }
      __atomic_store_n(&wrappers[id], code && n == 1 && pc_in_wrapper(stack[0]),
                       __ATOMIC_RELAXED);
      mt_site_note_hook(id, stack[0], NULL);
    }
    __atomic_store_n(&ids[i], (uint16_t)id, __ATOMIC_RELEASE);
    return (uint16_t)id;
  }
  return MT_TYPE_OVERFLOW;
}

static uint16_t rule_type(uintptr_t pc) {
  for (unsigned r = 0; r < nrules; r++)
    if (pc_matches(rules[r].globs, pc, true))
      return mt_site_intern_named(&rules[r].key, rules[r].name);
  return 0;
}

unsigned mt_site_stack(unsigned type, uintptr_t *out, unsigned max) {
  if (type >= MT_MAX_TYPES || mt_site_pc(type) == 0)
    return 0;
  unsigned n = stack_len[type];
  if (n == 0) {
    if (max)
      out[0] = pcs[type];
    return max ? 1 : 0;
  }
  n = n < max ? n : max;
  for (unsigned f = 0; f < n; f++)
    out[f] = stacks[type][f];
  return n;
}

bool mt_site_is_wrapper(unsigned type) {
  return type < MT_MAX_TYPES && __atomic_load_n(&wrappers[type], __ATOMIC_RELAXED);
}

static bool frame_is_wrapper(uintptr_t pc) {
  const char *skip = mt_opt.skip;
  return skip && *skip && mt_site_is_wrapper(intern(pc, true));
}

/* The type of a stack captured from resolve: stack[0..n) (want frames
 * asked, fewer when the stack ended), the frames above the call site `pc`
 * included. *deeper is set when it took a deeper capture of its own. */
static uint16_t stack_type(uintptr_t pc, uintptr_t *stack, unsigned n, unsigned want,
                           unsigned depth, bool *deeper) {
  unsigned i = 0;
  while (i < n && stack[i] != pc)
    i++;
  if (n == want && (i == n || frame_is_wrapper(stack[i]) || n - i < depth)) {
    *deeper = true;
    n = mt_unwind_capture(stack, 64);
    for (i = 0; i < n && stack[i] != pc;)
      i++;
  }
  if (i == n) /* no unwind info, or re-entered while unwinding */
    return intern(pc, true);
  while (i < n && frame_is_wrapper(stack[i]))
    i++;
  if (i == n)
    return intern(pc, true);
  unsigned len = n - i < depth ? n - i : depth;
  if (len == 1)
    return intern(stack[i], true);
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned f = 0; f < len; f++)
    h = (h ^ stack[i + f]) * 0x100000001b3ull;
  return intern_key((uintptr_t)(h | (1ull << 63)), &stack[i], len, false);
}

/* The type of the frames the memo walked for call site pc (key): kept
 * unless it took a deeper capture of its own, ran out of ids, or is the
 * untyped type (0: the memo's "nothing kept"). */
static uint32_t resolve_frames(uintptr_t from, uintptr_t pc, const uintptr_t *frames, unsigned n,
                               bool *keep) {
  (void)from;
  uintptr_t stack[64];
  unsigned depth = mt_opt.depth < 1 ? 1 : (unsigned)mt_opt.depth;
  if (n)
    memcpy(stack, frames, n * sizeof(uintptr_t));
  bool deeper = false;
  uint16_t type = stack_type(pc, stack, n, depth + 6, depth, &deeper);
  *keep = !deeper && type != MT_TYPE_OVERFLOW && type != MT_TYPE_UNTYPED;
  return type;
}

uint32_t mt_site_resolve(uintptr_t pc) {
  unsigned depth = mt_opt.depth < 1 ? 1 : (unsigned)mt_opt.depth;
  /* Unwinding costs per frame: first only what a type needs, with room for
   * memtype's own frames; the whole (64) when wrappers or a missing call
   * site need more. Through the unwinder's memo: the same frames from the
   * same call site as a recent allocation of this thread's give the type
   * found then, without a walk or a lookup (and without a frame here: a
   * tail call, so that a hit compares fewer words). */
  return mt_unwind_memo_value(depth + 6, 0, pc, resolve_frames);
}

/* Fork child: a site another thread was adding when the process forked has
 * its key but would never get its id (that thread is gone), and every lookup
 * of it would wait forever. Each such slot gets one now: a code address or a
 * named type's key its own id (a name is set again by the next
 * mt_site_intern_named; a wrapper is not looked for), a stack's hash (its
 * frames are lost) the overflow type, so that the stack takes a new slot the
 * next time it comes. */
void mt_site_fork_child(void) {
  for (unsigned i = 0; i < TABLE_SIZE; i++) {
    uintptr_t k = keys[i];
    if (k == 0 || ids[i] != 0)
      continue;
    unsigned id = MT_TYPE_OVERFLOW;
    if (!(k >> 63) && next_id < MT_MAX_TYPES) {
      id = next_id++;
      pcs[id] = k;
      stack_len[id] = 0;
      wrappers[id] = 0;
    }
    ids[i] = (uint16_t)id;
  }
}

uint16_t mt_site_intern_named(const void *key, const char *name) {
  uint16_t id = intern((uintptr_t)key, false);
  if (id >= MT_TYPE_FIRST) {
    __atomic_store_n(&names[id], name, __ATOMIC_RELEASE);
    mt_site_note_hook(id, 0, name);
  }
  return id;
}

const char *mt_site_name(unsigned type) {
  return type < MT_MAX_TYPES ? __atomic_load_n(&names[type], __ATOMIC_ACQUIRE) : NULL;
}

uintptr_t mt_site_pc(unsigned type) {
  if (type >= MT_MAX_TYPES || __atomic_load_n(&names[type], __ATOMIC_ACQUIRE))
    return 0; /* a named type's key is not a call site */
  return __atomic_load_n(&pcs[type], __ATOMIC_RELAXED);
}

unsigned mt_site_count(void) {
  unsigned n = __atomic_load_n(&next_id, __ATOMIC_RELAXED);
  return n > MT_MAX_TYPES ? MT_MAX_TYPES : n;
}

unsigned long mt_site_overflows(void) { return __atomic_load_n(&overflows, __ATOMIC_RELAXED); }

bool mt_site_type_matches(unsigned type, const char *globs, uint8_t *cache) {
  if (type >= MT_MAX_TYPES)
    return false;
  uint8_t c = __atomic_load_n(&cache[type], __ATOMIC_RELAXED);
  if (c)
    return c == 2;
  bool yes;
  const char *name = mt_site_name(type);
  if (name) {
    yes = mt_site_glob_list_match(globs, name);
  } else if (type == MT_TYPE_UNTYPED || type == MT_TYPE_OVERFLOW) {
    yes = mt_site_glob_list_match(globs, type == MT_TYPE_UNTYPED ? "(untyped)" : "(overflow)");
  } else {
    uintptr_t stack[MT_MAX_DEPTH];
    unsigned n = mt_site_stack(type, stack, MT_MAX_DEPTH);
    yes = false;
    for (unsigned f = 0; f < n && !yes; f++)
      yes = pc_matches(globs, stack[f], true);
  }
  __atomic_store_n(&cache[type], yes ? 2 : 1, __ATOMIC_RELAXED);
  return yes;
}
