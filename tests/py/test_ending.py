"""Every way a process ends (issue 18, point 8): _exit and _Exit, a signal
it does not handle, a closed stderr; each writes the dump and the report,
then ends the process the same way, and the dump says how it ended."""
import glob
import os
import shutil
import signal
import subprocess
import sys
import time
import unittest

from mtenv import CMD, LIB, clean_env, scratch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "report"))
from memtype_report import dump  # noqa: E402

PROG = os.environ.get("MEMTYPE_ENDING", "build/bin/ending")
LEAK = "memtype: LEAK: 48 bytes in 1 block is definitely lost, type lose_me+"



def wait_paused(pid, timeout=10.0):
    """Waits until process pid is blocked in pause() (x86-64 system call 34),
    so that a signal sent now finds it there, not inside printf: the leak
    scan reads the frames of the code a signal interrupts, and a frame of
    printf's may still hold a stale copy of the lost block's pointer (left by
    memtype's allocation path, which runs on the program's stack), which
    makes the block "still reachable", as any conservative scan would."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with open("/proc/%d/syscall" % pid) as f:
                if f.read().split()[:1] == ["34"]:
                    return
        except OSError:
            return  # cannot tell: go on
        time.sleep(0.01)

class Ending(unittest.TestCase):
    def setUp(self):
        self.tmp = scratch("memtype-ending.")

    def tearDown(self):
        shutil.rmtree(self.tmp, True)

    def env(self, **extra):
        env = clean_env()
        env.update({"LD_PRELOAD": LIB, "MEMTYPE_OUTPUT": os.path.join(self.tmp, "d.%e.%p.mtd")})
        env.update(extra)
        return env

    def run_prog(self, how, preexec=None, stderr=subprocess.PIPE, **extra):
        return subprocess.run([PROG, how], env=self.env(**extra), stdout=subprocess.PIPE,
                              stderr=stderr, text=True, timeout=60, preexec_fn=preexec)

    def dumps(self):
        return [dump.load(f) for f in sorted(glob.glob(os.path.join(self.tmp, "d.*.mtd")))]

    def ending(self):
        (d,) = self.dumps()
        return d, (d.ending.how, d.ending.status, d.ending.signal, d.ending.via)

    def test_exit_by__exit_writes_the_dump_and_the_leak_report(self):
        for how, status in (("_exit", 5), ("_Exit", 6)):
            for f in glob.glob(os.path.join(self.tmp, "*")):
                os.unlink(f)
            r = self.run_prog(how)
            self.assertEqual(r.returncode, status, r.stderr)
            self.assertEqual(r.stdout, "started\n")
            self.assertIn(LEAK, r.stderr)
            d, end = self.ending()
            self.assertEqual(end, ("exit", status, 0, "_exit"))
            self.assertEqual(d.leaks.totals["definitely lost"], (48, 1))

    def test_a_return_from_main_is_recorded_with_its_status(self):
        r = self.run_prog("none")
        self.assertEqual(r.returncode, 7, r.stderr)
        _, end = self.ending()
        self.assertEqual(end, ("exit", 7, 0, "exit"))

    def test_death_by_an_unhandled_signal_writes_the_dump_and_report_then_the_same_death(self):
        for how, sig in (("term", signal.SIGTERM), ("int", signal.SIGINT), ("hup", signal.SIGHUP)):
            for f in glob.glob(os.path.join(self.tmp, "*")):
                os.unlink(f)
            r = self.run_prog(how)
            self.assertEqual(r.returncode, -sig, (how, r.stderr))
            self.assertIn(LEAK, r.stderr)
            d, end = self.ending()
            self.assertEqual(end, ("signal", 0, sig, "signal"), how)
            self.assertEqual(d.reason, "fatal signal")
            self.assertEqual(d.signal, sig)
            self.assertEqual(d.leaks.totals["definitely lost"], (48, 1))

    def test_a_signal_to_a_busy_threaded_process_waits_for_memtypes_locks_then_ends_it(self):
        # Four threads allocate and free without pause: the SIGTERM most
        # often lands in one of them inside memtype (the signal gate holds it
        # until the thread's last lock is free), in every mode.
        for mode in ({}, {"MEMTYPE_TRASH": "1", "MEMTYPE_REDZONE": "1"}, {"MEMTYPE_GUARD": "*"}):
            for f in glob.glob(os.path.join(self.tmp, "*")):
                os.unlink(f)
            r = self.run_prog("threads", **mode)
            self.assertEqual(r.returncode, -signal.SIGTERM, (mode, r.stderr))
            self.assertIn(LEAK, r.stderr)
            self.assertNotIn("warning", r.stderr)
            d, end = self.ending()
            self.assertEqual(end, ("signal", 0, signal.SIGTERM, "signal"), mode)

    def test_a_signal_ignored_at_exec_stays_ignored(self):
        r = self.run_prog("ignored", preexec=lambda: signal.signal(signal.SIGTERM, signal.SIG_IGN))
        self.assertEqual(r.returncode, 7, r.stderr)
        self.assertEqual(r.stdout, "started\nSIGTERM ignored\nalive\ndone\n")

    def test_the_programs_own_handler_runs_and_its_default_again_gets_the_exit_work(self):
        r = self.run_prog("own")
        self.assertEqual(r.returncode, -signal.SIGTERM, r.stderr)
        self.assertEqual(r.stdout, "started\nhandled 15\n")
        self.assertIn(LEAK, r.stderr)
        _, end = self.ending()
        self.assertEqual(end, ("signal", 0, signal.SIGTERM, "signal"))

    def test_the_program_still_sees_sig_dfl(self):
        r = self.run_prog("query")
        self.assertEqual(r.stdout, "started\nSIGINT default flags 0\ndone\n")

    def test_a_vfork_or_posix_spawn_child_writes_nothing(self):
        r = self.run_prog("vfork")
        self.assertEqual(r.returncode, 7, r.stderr)
        self.assertEqual(r.stdout, "started\nchild 127, parent's handler 10\ndone\n")
        self.assertEqual(r.stderr.count("memtype: LEAK:"), 1, r.stderr)
        _, end = self.ending()  # one dump: the parent's
        self.assertEqual(end, ("exit", 7, 0, "exit"))

    def test_with_stderr_closed_an_error_report_goes_beside_the_dump(self):
        r = self.run_prog("closed")
        self.assertEqual(r.returncode, -signal.SIGABRT)
        self.assertEqual(r.stderr, "")  # the pipe was closed: nothing could go there
        (d,) = self.dumps()
        with open(d.path + ".log") as f:
            log = f.read()
        self.assertRegex(log, r"(?m)^memtype: ERROR: double-free at 0x[0-9a-f]+")
        self.assertIn("memtype will now abort", log)
        self.assertEqual((d.ending.how, d.ending.signal, d.ending.via), ("signal", 6, "error"))

    def test_with_stderr_closed_a_file_stderr_opened_to_append_is_opened_again(self):
        path = os.path.join(self.tmp, "stderr.txt")
        with open(path, "a") as err:
            r = self.run_prog("closed", stderr=err)
        self.assertEqual(r.returncode, -signal.SIGABRT)
        with open(path) as f:
            self.assertRegex(f.read(), r"(?m)^memtype: ERROR: double-free at 0x[0-9a-f]+")
        self.assertEqual(glob.glob(os.path.join(self.tmp, "*.log")), [])

    def test_with_stderr_closed_a_file_written_at_an_offset_is_left_alone(self):
        # Opened again, the file would take memtype's text at its end, where
        # the program's next write (at its own offset) would write over it.
        path = os.path.join(self.tmp, "stderr.txt")
        with open(path, "w") as err:
            r = self.run_prog("closed", stderr=err)
        self.assertEqual(r.returncode, -signal.SIGABRT)
        with open(path) as f:
            self.assertEqual(f.read(), "")
        (log,) = glob.glob(os.path.join(self.tmp, "*.log"))
        with open(log) as f:
            self.assertRegex(f.read(), r"(?m)^memtype: ERROR: double-free at 0x[0-9a-f]+")

    def test_memtype_log_takes_every_report(self):
        log = os.path.join(self.tmp, "log.%p.txt")
        r = self.run_prog("_exit", MEMTYPE_LOG=log)
        self.assertEqual((r.returncode, r.stderr), (5, ""))
        (f,) = glob.glob(os.path.join(self.tmp, "log.*.txt"))
        with open(f) as fh:
            self.assertIn(LEAK, fh.read())

    def test_memtype_run_on_dash_keeps_the_status_and_says_how_each_process_ended(self):
        env = clean_env()
        out = os.path.join(self.tmp, "d.%e.%p.mtd")
        r = subprocess.run([CMD, "run", "--output", out, "--", "/bin/sh", "-c",
                            "/bin/sh -c 'kill -TERM $$'; exit 3"],
                           env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 3, r.stderr)
        ends = sorted((d.ending.how, d.ending.status, d.ending.signal) for d in self.dumps())
        self.assertEqual(ends, [("exit", 3, 0), ("signal", 0, signal.SIGTERM)])
        self.assertRegex(r.stderr, r"(?m)^memtype: ended: .*\(pid \d+\) exit status 3 \(_exit\)")
        self.assertRegex(r.stderr, r"(?m)^memtype: ended: .*\(pid \d+\) killed by SIGTERM")

    def test_the_json_report_says_how_it_ended(self):
        import json
        self.run_prog("hup")
        (d,) = self.dumps()
        r = subprocess.run([CMD, "report", "--json", d.path], capture_output=True, text=True)
        (p,) = json.loads(r.stdout)["processes"]
        self.assertEqual(p["ending"], {"how": "signal", "status": 0, "signal": 1, "via": "signal",
                                       "text": "killed by SIGHUP"})

    def test_an_older_dump_reads_with_its_ending_unknown(self):
        # A 1.3 dump is this one without its ENDING section (tag 12) or an
        # INHERITED one (tag 11; a process that did not fork has none).
        import struct
        self.run_prog("none")
        (d,) = self.dumps()
        with open(d.path, "rb") as f:
            data = bytearray(f.read())
        hsize = struct.unpack_from("<H", data, 12)[0]
        out, pos = bytearray(data[:hsize]), hsize
        while pos + 16 <= len(data):
            tag, _, length = struct.unpack_from("<IIQ", data, pos)
            if tag not in (11, 12):
                out += data[pos:pos + 16 + length]
            pos += 16 + length
        struct.pack_into("<H", out, 10, 3)
        old = dump.parse(bytes(out), "old.mtd")
        self.assertEqual((old.minor, old.ending, old.unknown_sections), (3, None, []))
        self.assertEqual([t.allocs for t in old.types], [t.allocs for t in d.types])
        self.assertEqual(d.minor, dump.MINOR)

    def test_memtype_run_prints_the_reports_of_a_process_whose_stderr_was_closed(self):
        out = os.path.join(self.tmp, "d.%e.%p.mtd")
        # the double free stops it (memtype run's default goes on)
        r = subprocess.run([CMD, "run", "--on-error", "abort", "--output", out, "--", PROG,
                            "closed"], env=clean_env(),
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, -signal.SIGABRT)
        self.assertRegex(r.stderr, r"(?m)^memtype: \S+\.log \(reports written there")
        self.assertRegex(r.stderr, r"(?m)^memtype: ERROR: double-free at 0x[0-9a-f]+")
        self.assertRegex(r.stderr, r"killed by SIGABRT \(error\)")

    def test_a_sigterm_while_the_program_starts_is_not_lost(self):
        # SIGTERM to `memtype run` at any moment of the program's start (the
        # program may run before Popen returns): the command ends, and with it
        # the program; none is left running with the command's pipes open.
        out = os.path.join(self.tmp, "d.%e.%p.mtd")
        for i in range(12):
            p = subprocess.Popen([CMD, "run", "--output", out, "--", PROG, "wait"],
                                 env=clean_env(), stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
            time.sleep(0.01 * i)
            p.send_signal(signal.SIGTERM)
            try:
                stdout, _ = p.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                stdout, _ = p.communicate()
                for line in stdout.splitlines():  # the program, orphaned
                    if line.startswith("waiting "):
                        os.kill(int(line.split()[1]), signal.SIGKILL)
                self.fail("memtype run or its program still ran 30 s after SIGTERM (%d ms)"
                          % (10 * i))
            self.assertEqual(p.returncode, -signal.SIGTERM, (10 * i, stdout))

    def test_memtype_run_passes_sigterm_on_and_still_prints_its_summary(self):
        out = os.path.join(self.tmp, "d.%e.%p.mtd")
        p = subprocess.Popen([CMD, "run", "--output", out, "--", PROG, "wait"], env=clean_env(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        child, ended = None, False
        try:
            self.assertEqual(p.stdout.readline(), "started\n")
            child = int(p.stdout.readline().split()[1])
            wait_paused(child)
            p.send_signal(signal.SIGTERM)
            _, err = p.communicate(timeout=60)
            ended = p.returncode == -signal.SIGTERM and "memtype: ended:" in err
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            if child and not ended:  # the program itself, were the command gone without it
                try:
                    os.kill(child, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.assertEqual(p.returncode, -signal.SIGTERM, err)
        self.assertIn(LEAK, err)
        self.assertRegex(err, r"(?m)^memtype: ended: ending \(pid \d+\) killed by SIGTERM$")

    def test_ctrl_c_under_memtype_run_ends_the_program_with_its_report_then_the_command(self):
        # Ctrl-C: the terminal sends SIGINT to the whole foreground process
        # group, memtype run and its program alike.
        out = os.path.join(self.tmp, "d.%e.%p.mtd")
        p = subprocess.Popen([CMD, "run", "--output", out, "--", PROG, "wait"], env=clean_env(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
        child, ended = None, False
        try:
            self.assertEqual(p.stdout.readline(), "started\n")
            child = int(p.stdout.readline().split()[1])
            wait_paused(child)
            os.killpg(p.pid, signal.SIGINT)
            _, err = p.communicate(timeout=60)
            ended = True
        finally:
            if not ended:
                for pid in (p.pid, child):
                    try:
                        if pid:
                            os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                p.wait()
        self.assertEqual(p.returncode, -signal.SIGINT, err)
        self.assertIn(LEAK, err)
        self.assertRegex(err, r"(?m)^memtype: ended: ending \(pid \d+\) killed by SIGINT$")
        self.assertNotIn("Traceback", err)


if __name__ == "__main__":
    unittest.main()
