"""bench/peer_suites.py's case selection and report classification, on small
test files and reports written here (the peers' suites are not needed)."""

import os
import sys
import tempfile
import textwrap
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'bench'))
import peer_suites  # noqa: E402


def write(d, name, text):
    path = os.path.join(d, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(textwrap.dedent(text))


class AsanSelection(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        d = self.tmp.name
        write(d, 'uaf_or_double.cpp', '''\
            // RUN: %clangxx_asan -O0 %s -o %t && not %run %t 2>&1 | FileCheck %s
            // RUN: %clangxx_asan -O0 %s -o %t -DTWICE && not %run %t 2>&1 \\
            // RUN:   | FileCheck %s --check-prefix=DOUBLE
            // CHECK: ERROR: AddressSanitizer: heap-use-after-free
            // CHECK-NOT: heap-buffer-overflow
            // DOUBLE: ERROR: AddressSanitizer: attempting double-free
            int main() { return 0; }
            ''')
        write(d, 'Linux/quiet.c', '''\
            // RUN: %clang_asan %s -o %t && %run %t
            int main() { return 0; }
            ''')
        write(d, 'stack_smash.cpp', '''\
            // RUN: %clangxx_asan %s -o %t && not %run %t 2>&1 | FileCheck %s
            // CHECK: ERROR: AddressSanitizer: stack-buffer-overflow
            int main() { return 0; }
            ''')
        write(d, 'Posix/poison.cpp', '''\
            // RUN: %clangxx_asan %s -o %t && not %run %t 2>&1 | FileCheck %s
            // CHECK: use-after-poison
            int main() { char b[8]; __asan_poison_memory_region(b, 8); return 0; }
            ''')
        self.cases, self.skipped = peer_suites.asan_cases(d)
        self.byid = {c['id']: c for c in self.cases}

    def tearDown(self):
        self.tmp.cleanup()

    def test_each_not_run_variant_is_a_bug_case_of_the_kind_its_check_prefix_names(self):
        self.assertEqual(self.byid['asan.uaf_or_double']['expect'], ['uaf'])
        twice = self.byid['asan.uaf_or_double.DTWICE']
        self.assertEqual(twice['expect'], ['badfree'])
        self.assertEqual(twice['defines'], ['-DTWICE'])
        self.assertEqual(twice['prefixes'], ['DOUBLE'])

    def test_a_bare_run_without_checks_is_a_clean_case(self):
        clean = self.byid['asanclean.Linux_quiet']
        self.assertEqual((clean['suite'], clean['expect']), ('asan-clean', []))

    def test_stack_errors_and_asan_api_files_are_skipped_with_their_reason(self):
        self.assertIn(('stack_smash.cpp', 'not a heap error'), self.skipped)
        self.assertIn(('Posix/poison.cpp', 'asan API / feature test'), self.skipped)
        self.assertEqual(len(self.cases), 3)


class MemcheckSelection(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        d = self.tmp.name
        write(d, 'over.vgtest', 'prog: over\nvgopts: -q --leak-check=full\n')
        write(d, 'over.c', 'int main(void) { return 0; }\n')
        write(d, 'over.stderr.exp', '''\
            Invalid write of size 1
               at 0x........: main (over.c:5)
             Address 0x........ is 0 bytes after a block of size 10 alloc'd
               at 0x........: malloc (vg_replace_malloc.c:...)

            10 bytes in 1 blocks are definitely lost in loss record 1 of 1
            ''')
        write(d, 'over2.vgtest', 'prog: over\nvgopts: -q\n')  # same program, same arguments
        write(d, 'over2.stderr.exp', "Address 0x........ is 0 bytes after a block of size 10 alloc'd\n")
        write(d, 'quiet.vgtest', 'prog: quiet\nvgopts: -q\n')
        write(d, 'quiet.c', 'int main(void) { return 0; }\n')
        write(d, 'quiet.stderr.exp', '')
        write(d, 'uninit.vgtest', 'prog: quiet\nargs: 1\n')
        write(d, 'uninit.stderr.exp', 'Conditional jump or move depends on uninitialised value(s)\n')
        write(d, 'redzone.vgtest', 'prog: quiet\nargs: 2\nvgopts: --redzone-size=128\n')
        write(d, 'redzone.stderr.exp', 'Invalid free() / delete / delete[] / realloc()\n')
        write(d, 'client.vgtest', 'prog: client\n')
        write(d, 'client.c', '#include "../memcheck.h"\nint main(void) { VALGRIND_DO_LEAK_CHECK; }\n')
        write(d, 'client.stderr.exp', 'Mismatched free() / delete / delete []\n')
        self.cases, self.skipped = peer_suites.mc_cases(d)
        self.byid = {c['id']: c for c in self.cases}

    def tearDown(self):
        self.tmp.cleanup()

    def test_a_test_whose_expected_stderr_names_heap_errors_is_a_bug_case_of_those_kinds(self):
        self.assertEqual(self.byid['mc.over']['expect'], ['overflow', 'leak'])

    def test_a_second_test_of_the_same_program_and_arguments_is_an_alias(self):
        self.assertEqual(self.byid['mc.over']['alias'], ['over2.vgtest'])
        self.assertNotIn('mc.over2', self.byid)

    def test_a_quiet_test_with_an_empty_expected_stderr_is_a_clean_case(self):
        self.assertEqual(self.byid['mcclean.quiet']['suite'], 'memcheck-clean')

    def test_other_errors_options_that_change_the_run_and_client_requests_are_left_out(self):
        self.assertEqual(sorted(self.byid), ['mc.over', 'mcclean.quiet'])
        self.assertIn(('redzone.vgtest', 'needs valgrind options: --redzone-size=128'), self.skipped)
        self.assertIn(('client.vgtest', 'client requests (valgrind.h/memcheck.h)'), self.skipped)


class Classification(unittest.TestCase):
    def test_memtype_reports_and_run_summary_lines_give_their_kinds(self):
        err = ('memtype: ERROR: use-after-free READ at 0x7f0000001000 (4 bytes into a 16-byte block)\n'
               'memtype: run summary: 1 process (prog); 2 heap errors; leaks: definitely lost 3 bytes in 1 blocks\n'
               '#2 double-free at 0x7f0000001000\n')
        r = peer_suites.classify('run', err, 1)
        self.assertEqual(r['kinds'], ['uaf', 'leak', 'badfree'])
        self.assertIsNone(r['signal'])

    def test_a_signal_is_kept_and_checks_mode_reads_the_same_reports(self):
        r = peer_suites.classify('checks', 'memtype: ERROR: heap-buffer-overflow WRITE at 0x1\n', -6)
        self.assertEqual((r['kinds'], r['signal']), (['overflow'], 6))

    def test_each_valgrind_error_record_gives_one_kind(self):
        err = ('==7== Invalid read of size 4\n'
               '==7==    at 0x1091: main (a.c:6)\n'
               "==7==  Address 0x4a4 is 0 bytes inside a block of size 10 free'd\n"
               '==7== \n'
               '==7== Invalid free() / delete / delete[] / realloc()\n'
               '==7==    at 0x1092: main (a.c:7)\n'
               '==7== \n'
               '==7== Invalid write of size 1\n'
               '==7==    at 0x1093: main (a.c:8)\n'
               '==7==  Address 0x0 is not stack\'d, malloc\'d or (recently) free\'d\n'
               '==7== \n'
               '==7== 10 bytes in 1 blocks are definitely lost in loss record 1 of 1\n'
               '==7== \n'
               '==7== ERROR SUMMARY: 4 errors from 4 contexts\n')
        self.assertEqual(peer_suites.classify('valgrind', err, 99)['kinds'], ['uaf', 'badfree', 'wild', 'leak'])

    def test_records_of_a_forked_child_interleaved_with_its_parent_are_read_apart(self):
        err = ('==7== Invalid write of size 1\n'
               '==8== Invalid free() / delete / delete[] / realloc()\n'
               '==7==    at 0x1091: main (a.c:6)\n'
               '==8==    at 0x1092: main (a.c:9)\n'
               "==7==  Address 0x4a4 is 0 bytes after a block of size 10 alloc'd\n"
               "==8==  Address 0x4a4 is 0 bytes inside a block of size 10 free'd\n"
               '==7== \n'
               '==8== \n')
        self.assertEqual(peer_suites.classify('valgrind', err, 99)['kinds'], ['overflow', 'badfree'])

    def test_a_leak_only_case_is_caught_only_by_a_definite_leak(self):
        case = {'expect': ['leak'], 'results': {'run': {'kinds': ['overflow']}, 'checks': {'kinds': ['leak']}}}
        self.assertFalse(peer_suites.caught(case, 'run'))
        self.assertTrue(peer_suites.caught(case, 'checks'))
        self.assertIsNone(peer_suites.caught(case, 'valgrind'))

    def test_a_heap_error_of_another_kind_is_caught_but_not_of_the_right_kind(self):
        case = {'expect': ['badfree'], 'results': {'run': {'kinds': ['uaf']}}}
        self.assertTrue(peer_suites.caught(case, 'run'))
        self.assertFalse(peer_suites.kind_match(case, 'run'))

    def test_a_crash_alone_is_not_a_catch(self):
        case = {'expect': ['overflow'], 'results': {'run': {'kinds': ['crash', 'leak']}}}
        self.assertFalse(peer_suites.caught(case, 'run'))


if __name__ == '__main__':
    unittest.main()


class MibenchSecuritySelection(unittest.TestCase):
    """bench/mibench_security.py: each program of mimalloc-bench's bench/security is a
    bug of the kind its name says, or a correct program; C ones in three sizes."""

    def test_names_give_the_kind_and_c_programs_three_sizes(self):
        import mibench_security as ms
        with tempfile.TemporaryDirectory() as d:
            for name in ('one_byte_overflow.c', '32_byte_memcpy_underflow.c', 'double_free_reuse.c',
                         'invalid_free_stack.c', 'write_after_free.c', 'zero_after_free.c',
                         'read_zero_size.c', 'invalid_delete_array_string.cc', 'malloc_reuse.c',
                         'executable_heap.c', 'impossibly_large_malloc.c', 'zero_on_malloc.c',
                         'common.h', 'brand_new_test.c'):
                write(d, name, 'int main(void) { return 0; }\n')
            cases, skipped = ms.cases_of(d)
        by = {c['id']: c for c in cases}
        self.assertEqual(skipped, [('brand_new_test', 'not classified (a new program of the suite?)')])
        self.assertEqual(sorted(c['size'] for c in cases if c['base'] == 'one_byte_overflow'),
                         ['262144', '4096', '8'])
        self.assertEqual([c['id'] for c in cases if c['base'] == 'invalid_delete_array_string'],
                         ['invalid_delete_array_string'])
        expect = {c['base']: (c['bug'], c['expect']) for c in cases}
        self.assertEqual(expect['one_byte_overflow'], (True, ['overflow']))
        self.assertEqual(expect['32_byte_memcpy_underflow'], (True, ['overflow']))
        self.assertEqual(expect['double_free_reuse'], (True, ['badfree']))
        self.assertEqual(expect['invalid_free_stack'], (True, ['badfree']))
        self.assertEqual(expect['write_after_free'], (True, ['uaf']))
        self.assertEqual(expect['zero_after_free'], (True, ['uaf']))
        self.assertEqual(expect['read_zero_size'], (True, ['overflow']))
        self.assertEqual(expect['invalid_delete_array_string'], (True, ['mismatch']))
        self.assertEqual(expect['impossibly_large_malloc'], (True, ['size']))
        for base in ('malloc_reuse', 'executable_heap', 'zero_on_malloc'):
            self.assertEqual(expect[base], (False, []), base)
        # a correct program is a false report when a heap error other than a leak is told
        c = dict(by['malloc_reuse_small'], results={'run': {'kinds': ['leak']}})
        self.assertFalse(ms.judge(c, 'run'))
        c['results'] = {'run': {'kinds': ['uaf']}}
        self.assertTrue(ms.judge(c, 'run'))
