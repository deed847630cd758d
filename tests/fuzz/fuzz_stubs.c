/* fuzz_stubs.c - what core/types/report.c needs from the rest of the core, for the
 * options target: the reporter's stacks and symbols. The parser never
 * reaches them (it only formats and warns), so each one stops the run. */
#include <stdlib.h>

#include "depot.h"
#include "modules.h"
#include "site.h"
#include "suppress.h"
#include "symtab.h"
#include "unwind.h"

MT_TLS unsigned mt_modules_hold;

static void unreachable(void) { abort(); }

bool mt_symbol_at(uintptr_t pc, const char **func, uintptr_t *func_addr, const char **module,
                  uintptr_t *module_base) {
  (void)pc, (void)func, (void)func_addr, (void)module, (void)module_base;
  unreachable();
  return false;
}

bool mt_symbol(uintptr_t pc, const char **func, const char **module) {
  (void)pc, (void)func, (void)module;
  unreachable();
  return false;
}

bool mt_symtab_line(uintptr_t pc, bool is_return, char *buf, size_t len, unsigned *line) {
  (void)pc, (void)is_return, (void)buf, (void)len, (void)line;
  unreachable();
  return false;
}

unsigned mt_symtab_inlined(uintptr_t pc, bool is_return, mt_inline_t *out, unsigned max) {
  (void)pc, (void)is_return, (void)out, (void)max;
  unreachable();
  return 0;
}

unsigned mt_site_stack(unsigned type, uintptr_t *out, unsigned max) {
  (void)type, (void)out, (void)max;
  unreachable();
  return 0;
}

const char *mt_site_name(unsigned type) {
  (void)type;
  unreachable();
  return NULL;
}

uintptr_t mt_site_pc(unsigned type) {
  (void)type;
  unreachable();
  return 0;
}

unsigned mt_unwind_capture_context(uintptr_t *pcs, unsigned max, const void *uc) {
  (void)pcs, (void)max, (void)uc;
  unreachable();
  return 0;
}

unsigned mt_depot_get(uint32_t id, uintptr_t *out, unsigned max) {
  (void)id, (void)out, (void)max;
  unreachable();
  return 0;
}

unsigned mt_unwind_capture(uintptr_t *pcs, unsigned max) {
  (void)pcs, (void)max;
  unreachable();
  return 0;
}

/* The reporter's ending note (never reached: the target captures the sink
 * and reports no error). */
void mt_life_set_ending(uint32_t how, int status, int sig, uint32_t via) {
  (void)how, (void)status, (void)sig, (void)via;
  unreachable();
}

bool mt_suppress_errors_on(void) { return false; }

bool mt_suppress_error(unsigned kind, const uintptr_t *pcs, unsigned n, bool fault) {
  (void)kind, (void)pcs, (void)n, (void)fault;
  unreachable();
  return false;
}

bool mt_modules_find(uintptr_t a, mt_module_t *out) {
  (void)a, (void)out;
  unreachable();
  return false;
}
