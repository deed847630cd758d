/* dump_format_print.c - prints the dump format's contract as the C side has
 * it, as JSON: core/dump_format.h's constants, tags and record sizes, and
 * the core's name tables the dump's numbers index (error kinds, leak kinds).
 * tests/py/test_dump_format.py compares report/memtype_report/dump.py with
 * it. */
#include <stdio.h>

#include "dump_format.h"
#include "leak.h"
#include "report.h"

static void strings(const char *key, const char *const *v, unsigned n, const char *end) {
  printf("  \"%s\": [", key);
  for (unsigned i = 0; i < n; i++)
    printf("%s\"%s\"", i ? ", " : "", v[i] ? v[i] : "");
  printf("]%s\n", end);
}

int main(void) {
  printf("{\n");
  printf("  \"magic\": [");
  for (unsigned i = 0; i < MT_DUMP_MAGIC_LEN; i++)
    printf("%s%u", i ? ", " : "", (unsigned char)MT_DUMP_MAGIC[i]);
  printf("],\n");
  printf("  \"major\": %u, \"minor\": %u,\n", MT_DUMP_MAJOR, MT_DUMP_MINOR);
  printf("  \"header_size\": %u, \"byte_order\": %u, \"flags_offset\": %u, "
         "\"flag_complete\": %u,\n",
         MT_DUMP_HEADER_SIZE, MT_DUMP_BYTE_ORDER, MT_DUMP_FLAGS_OFFSET, MT_DUMP_FLAG_COMPLETE);
  printf("  \"reasons\": {");
#define REASON(name, value, text) printf("%s\"%d\": \"%s\"", (value) > 1 ? ", " : "", value, text);
  MT_DUMP_REASONS(REASON)
  printf("},\n");
  printf("  \"tags\": {");
#define TAG(name, tag, since) \
  printf("%s\"%s\": [%d, %d]", (tag) > 1 ? ", " : "", #name, tag, since);
  MT_DUMP_SECTIONS(TAG)
  printf("},\n");
  printf("  \"tag_end\": %u,\n", MT_DUMP_TAG_END);
  printf("  \"sizes\": {\"section_header\": %u, \"count_header\": %u, \"process_fixed\": %u, "
         "\"class_record\": %u, \"module_fixed\": %u, \"type_fixed\": %u, \"stat_record\": %u, "
         "\"highuse_value\": %u, \"failures_header\": %u, \"failure_record\": %u, "
         "\"errors_header\": %u, \"error_record\": %u, \"leak_total\": %u, \"leak_facts\": %u, "
         "\"leak_record\": %u, \"guard_header\": %u, \"guard_record\": %u, \"waste_large\": %u, "
         "\"inherited_record\": %u, \"ending\": %u, \"peak_header\": %u, \"peak_record\": %u, "
         "\"timeline_header\": %u, \"snapshot_fixed\": %u, \"snapshot_entry\": %u},\n",
         MT_DUMP_SECTION_HEADER, MT_DUMP_COUNT_HEADER, MT_DUMP_PROCESS_FIXED,
         MT_DUMP_CLASS_RECORD, MT_DUMP_MODULE_FIXED, MT_DUMP_TYPE_FIXED, MT_DUMP_STAT_RECORD,
         MT_DUMP_HIGHUSE_VALUE, MT_DUMP_FAILURES_HEADER, MT_DUMP_FAILURE_RECORD,
         MT_DUMP_ERRORS_HEADER, MT_DUMP_ERROR_RECORD, MT_DUMP_LEAK_TOTAL, MT_DUMP_LEAK_FACTS,
         MT_DUMP_LEAK_RECORD, MT_DUMP_GUARD_HEADER, MT_DUMP_GUARD_RECORD, MT_DUMP_WASTE_LARGE,
         MT_DUMP_INHERITED_RECORD, MT_DUMP_ENDING_SIZE, MT_DUMP_PEAK_HEADER, MT_DUMP_PEAK_RECORD,
         MT_DUMP_TIMELINE_HEADER, MT_DUMP_SNAPSHOT_FIXED, MT_DUMP_SNAPSHOT_ENTRY);
  printf("  \"peak_exact\": %u,\n", MT_DUMP_PEAK_EXACT);
  printf("  \"event_frames\": %u, \"class_words\": %u, \"waste_max\": %u,\n",
         MT_DUMP_EVENT_FRAMES, MT_DUMP_CLASS_WORDS, MT_DUMP_WASTE_MAX);
  printf("  \"error_fault_pc\": %u,\n", MT_DUMP_ERROR_FAULT_PC);
  static const char *const extra[] = {
#define EXTRA(name, off, text) [off] = text,
      MT_DUMP_CLASS_EXTRA(EXTRA)};
  strings("class_extra", extra, MT_DUMP_CLASS_EXTRAS, ",");
  printf("  \"guard_methods\": {");
#define METHOD(name, value, text) printf("%s\"%d\": \"%s\"", (value) > 1 ? ", " : "", value, text);
  MT_DUMP_GUARD_METHODS(METHOD)
  printf("},\n");
  strings("error_kinds", mt_error_names, MT_ERR_COUNT, ",");
  strings("leak_kinds", mt_leak_kind_names, MT_DUMP_LEAK_KINDS, "");
  printf("}\n");
  return 0;
}
