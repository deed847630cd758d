"""The Python dump reader agrees with the format's one C definition.

core/dump_format.h holds the dump format's contract: version, header, section
tags, record sizes, the frames an event keeps, the size-class bits; the core
names the error and leak kinds the records number. dump_format_print (built from
tests/py/dump_format_print.c against them) prints it all as JSON; each test
here holds one of report/memtype_report/dump.py's constants against it, so a
change on one side that the other does not follow fails here, not in a user's
report."""
import json
import os
import struct
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "report"))
from memtype_report import dump  # noqa: E402


def _c_side():
    exe = os.environ["MEMTYPE_DUMP_FORMAT_PRINT"]
    return json.loads(subprocess.run([exe], check=True, capture_output=True,
                                     text=True).stdout)


C = _c_side()


def size(fmt):
    return struct.calcsize("<" + fmt.lstrip("<"))


class Header(unittest.TestCase):
    def test_the_magic_and_version_are_the_writers(self):
        self.assertEqual(dump.MAGIC, bytes(C["magic"]))
        self.assertEqual((dump.MAJOR, dump.MINOR), (C["major"], C["minor"]))

    def test_the_header_layout_is_the_writers(self):
        self.assertEqual(dump.HEADER_SIZE, C["header_size"])
        self.assertEqual(size(dump.HEADER), C["header_size"])
        self.assertEqual(dump.BYTE_ORDER, C["byte_order"])
        self.assertEqual(dump.FLAG_COMPLETE, C["flag_complete"])
        # flags follow magic, major, minor, header_size, byte_order
        self.assertEqual(size(dump.HEADER.split("I")[0]), C["flags_offset"])

    def test_the_reasons_are_the_writers(self):
        self.assertEqual(dump.REASONS, {int(k): v for k, v in C["reasons"].items()})


class Sections(unittest.TestCase):
    def test_every_tag_has_the_writers_number_and_name(self):
        tags = {name: tag for name, (tag, _since) in C["tags"].items()}
        self.assertEqual(dump.TAG_NAMES, {tag: name for name, tag in tags.items()})
        for name, tag in tags.items():
            self.assertEqual(getattr(dump, "TAG_" + name), tag, name)
        self.assertEqual(dump.TAG_END, C["tag_end"])

    def test_the_reader_knows_every_tag_of_its_minor_version(self):
        for name, (_tag, since) in C["tags"].items():
            self.assertLessEqual(since, dump.MINOR, name)

    def test_the_section_header_is_the_writers(self):
        self.assertEqual(dump.SECTION_HEADER_SIZE, C["sizes"]["section_header"])
        self.assertEqual(size(dump.COUNT_HEADER), C["sizes"]["count_header"])


class Records(unittest.TestCase):
    def test_every_fixed_record_has_the_writers_size(self):
        s = C["sizes"]
        frames = 8 * dump.EVENT_FRAMES
        pairs = [
            ("PROCESS facts", dump.PROCESS_FIXED, s["process_fixed"], 0),
            ("SIZES record", dump.CLASS_RECORD, s["class_record"], 0),
            ("MODULES record", dump.MODULE_FIXED, s["module_fixed"], 0),
            ("TYPES record", dump.TYPE_FIXED, s["type_fixed"], 0),
            ("stat record", dump.STAT_RECORD, s["stat_record"], 0),
            ("FAILURES header", dump.FAILURES_HEADER, s["failures_header"], 0),
            ("FAILURES record", dump.FAILURE_FIELDS, s["failure_record"], frames),
            ("ERRORS header", dump.ERRORS_HEADER, s["errors_header"], 0),
            ("ERRORS record", dump.ERROR_FIELDS, s["error_record"], frames),
            ("LEAKS total", dump.LEAK_TOTAL, s["leak_total"], 0),
            ("LEAKS facts", dump.LEAK_FACTS, s["leak_facts"], 0),
            ("LEAKS record", dump.LEAK_RECORD, s["leak_record"], 0),
            ("GUARD header", dump.GUARD_HEADER, s["guard_header"], 0),
            ("GUARD record", dump.GUARD_RECORD, s["guard_record"], 0),
            ("WASTE large", dump.WASTE_LARGE, s["waste_large"], 0),
            ("INHERITED record", dump.INHERITED_RECORD, s["inherited_record"], 0),
            ("ENDING", dump.ENDING_RECORD, s["ending"], 0),
            ("PEAK header", dump.PEAK_HEADER, s["peak_header"], 0),
            ("PEAK record", dump.PEAK_RECORD, s["peak_record"], 0),
            ("TIMELINE header", dump.TIMELINE_HEADER, s["timeline_header"], 0),
            ("TIMELINE snapshot", dump.SNAPSHOT_FIXED, s["snapshot_fixed"], 0),
            ("TIMELINE entry", dump.SNAPSHOT_ENTRY, s["snapshot_entry"], 0),
        ]
        for what, fmt, want, extra in pairs:
            self.assertEqual(size(fmt) + extra, want, what)

    def test_an_event_keeps_the_writers_frame_count(self):
        self.assertEqual(dump.EVENT_FRAMES, C["event_frames"])
        self.assertEqual(dump.ERROR_FAULT_PC, C["error_fault_pc"])

    def test_the_stat_records_class_bitmap_is_the_writers(self):
        # the last fields of a stat record are the bitmap's 64-bit words
        self.assertTrue(dump.STAT_RECORD.endswith("Q" * C["class_words"]))
        self.assertEqual(dump.CLASS_EXTRA, tuple(C["class_extra"]))

    def test_the_peaks_exact_flag_is_the_writers(self):
        self.assertEqual(dump.PEAK_EXACT, C["peak_exact"])

    def test_the_waste_bound_is_the_c_readers(self):
        self.assertEqual(dump.WASTE_MAX, C["waste_max"])


class Names(unittest.TestCase):
    def test_error_kinds_are_numbered_as_the_core_numbers_them(self):
        self.assertEqual(dump.ERROR_KINDS, tuple(C["error_kinds"]))

    def test_leak_kinds_are_numbered_as_the_core_numbers_them(self):
        self.assertEqual(dump.LEAK_KINDS, tuple(C["leak_kinds"]))

    def test_guard_methods_are_numbered_as_the_writer_numbers_them(self):
        self.assertEqual(dump.GUARD_METHODS, {int(k): v for k, v in C["guard_methods"].items()})


if __name__ == "__main__":
    unittest.main()
