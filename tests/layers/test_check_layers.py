"""test_check_layers.py - scripts/check_layers.py catches each kind of
violation planted in a copy of the tree (and passes the copy untouched)."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

SRC = os.environ.get("MT_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
CHECK = os.path.join(SRC, "scripts", "check_layers.py")


class PlantedViolations(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="mt-layers-")
        shutil.copytree(os.path.join(SRC, "core"), os.path.join(self.root, "core"))

    def tearDown(self):
        shutil.rmtree(self.root)

    def run_check(self):
        p = subprocess.run([sys.executable, CHECK, "--root", self.root],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        return p.returncode, p.stdout

    def edit(self, rel, old, new):
        path = os.path.join(self.root, "core", rel)
        text = open(path).read()
        self.assertIn(old, text)
        open(path, "w").write(text.replace(old, new, 1))

    def test_untouched_copy_passes(self):
        rc, out = self.run_check()
        self.assertEqual(rc, 0, out)

    def test_heap_including_a_debug_header_is_caught(self):
        self.edit("heap/zone.c", '#include "hooks.h"\n', '#include "hooks.h"\n#include "memguard.h"\n')
        rc, out = self.run_check()
        self.assertEqual(rc, 1)
        self.assertIn("core/heap/zone.c", out)
        self.assertIn("includes memguard.h (debug): heap may use only sys, types, heap", out)

    def test_lower_layer_including_a_higher_one_is_caught(self):
        self.edit("types/report.c", '#include "site.h"\n', '#include "site.h"\n#include "dump.h"\n')
        rc, out = self.run_check()
        self.assertEqual(rc, 1)
        self.assertIn("core/types/report.c", out)
        self.assertIn("includes dump.h (out)", out)

    def test_debug_flag_tested_in_heap_code_is_caught(self):
        self.edit("heap/alloc.c", "  if (MT_UNLIKELY(mt_hook_slots))\n",
                  "  if (MT_UNLIKELY(mt_check_on))\n")
        rc, out = self.run_check()
        self.assertEqual(rc, 1)
        self.assertIn("core/heap/alloc.c", out)
        self.assertIn("names debug state mt_check_on", out)

    def test_debug_option_read_in_heap_code_is_caught(self):
        self.edit("heap/tcache.c", "tc->sample_left = mt_hook_sample_every;",
                  "tc->sample_left = (uint32_t)mt_opt.guard_rate;")
        rc, out = self.run_check()
        self.assertEqual(rc, 1)
        self.assertIn("names debug state mt_opt.guard_rate", out)

    def test_debug_names_in_comments_are_not_flags(self):
        self.edit("heap/zone.c", '#include "hooks.h"\n',
                  '#include "hooks.h"\n/* unlike mt_check_on, a comment tests nothing */\n')
        rc, out = self.run_check()
        self.assertEqual(rc, 0, out)

    def test_file_outside_a_layer_is_caught(self):
        open(os.path.join(self.root, "core", "stray.c"), "w").write("int stray;\n")
        rc, out = self.run_check()
        self.assertEqual(rc, 1)
        self.assertIn("core/stray.c: not in a layer folder", out)

    def test_cmake_edge_that_differs_from_the_graph_is_caught(self):
        self.edit("CMakeLists.txt", "DEPS types)", "DEPS debug)")
        rc, out = self.run_check()
        self.assertEqual(rc, 1)
        self.assertIn("layer heap DEPS ['debug'], the graph says ['types']", out)


if __name__ == "__main__":
    unittest.main()
