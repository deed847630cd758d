"""The installed tree: `cmake --install BUILD --prefix TMP` gives a memtype
command that runs programs and reads their dumps with nothing set in the
environment (no PYTHONPATH, no LD_LIBRARY_PATH, the system's python3), and a
memtype.h that programs build against through pkg-config and through
find_package(memtype CONFIG). A DESTDIR install works from where it lands.
Run by CTest with MT_BUILD_DIR, MT_LIBDIR (CMAKE_INSTALL_LIBDIR), MT_CC,
MT_PREFIX (CMAKE_INSTALL_PREFIX) and MT_VERSION set."""
import glob
import os
import shutil
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("MT_BUILD_DIR", os.path.join(HERE, "..", "..", "build"))
LIBDIR = os.environ.get("MT_LIBDIR", "lib")
CC = os.environ.get("MT_CC", "cc")
CONFIGURED_PREFIX = os.environ.get("MT_PREFIX", "/usr/local")
VERSION = os.environ.get("MT_VERSION", "0.1.0")
SCRATCH = tempfile.mkdtemp(prefix="memtype-install-test.")
PREFIX = os.path.join(SCRATCH, "prefix")


def bare_env(**extra):
    """What a user's fresh shell has: no PYTHONPATH, no LD_LIBRARY_PATH,
    no LD_PRELOAD, no MEMTYPE_* variable, the system's PATH."""
    env = {"PATH": "/usr/bin:/bin", "HOME": SCRATCH, "LANG": "C.UTF-8"}
    env.update(extra)
    return env


def run(cmd, **kw):
    kw.setdefault("env", bare_env())
    kw.setdefault("cwd", SCRATCH)
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def setUpModule():
    r = subprocess.run(["cmake", "--install", BUILD, "--prefix", PREFIX],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("cmake --install failed:\n" + r.stdout + r.stderr)


def tearDownModule():
    shutil.rmtree(SCRATCH, ignore_errors=True)


class InstalledFiles(unittest.TestCase):
    def test_every_piece_is_where_the_layout_says(self):
        for rel in ["bin/memtype", LIBDIR + "/libmemtype.so", "include/memtype.h",
                    LIBDIR + "/pkgconfig/memtype.pc",
                    LIBDIR + "/cmake/memtype/memtypeConfig.cmake",
                    LIBDIR + "/cmake/memtype/memtypeConfigVersion.cmake",
                    LIBDIR + "/cmake/memtype/memtypeTargets.cmake",
                    "share/man/man1/memtype.1", "share/man/man3/memtype.3",
                    "share/man/man7/memtype.7",
                    "share/bash-completion/completions/memtype",
                    "share/memtype/options.def",
                    "share/memtype/python/memtype_report/cli.py"]:
            self.assertTrue(os.path.isfile(os.path.join(PREFIX, rel)), rel)
        self.assertTrue(os.access(os.path.join(PREFIX, "bin/memtype"), os.X_OK))

    def test_every_module_of_the_report_package_is_installed(self):
        """Its subpackages (commands/, forms/) too: a module left out breaks
        one command of the installed memtype only."""
        src = os.path.join(HERE, "..", "..", "report", "memtype_report")
        dest = os.path.join(PREFIX, "share/memtype/python/memtype_report")
        wanted = sorted(os.path.relpath(os.path.join(d, f), src)
                        for d, _, files in os.walk(src) for f in files
                        if f.endswith(".py") and f != "manpage.py")  # manpage.py: build time only
        self.assertIn(os.path.join("commands", "report.py"), wanted)
        self.assertIn(os.path.join("forms", "types.py"), wanted)
        for rel in wanted:
            self.assertTrue(os.path.isfile(os.path.join(dest, rel)), rel)

    def test_the_installed_command_names_no_build_tree_path(self):
        with open(os.path.join(PREFIX, "bin/memtype"), encoding="utf-8") as f:
            text = f.read()
        self.assertTrue(text.startswith("#!/usr/bin/python3\n"), text.splitlines()[0])
        for tree in (os.path.abspath(BUILD), os.path.abspath(os.path.join(HERE, "..", ".."))):
            self.assertNotIn(tree, text)

    def test_pkg_config_file_points_into_the_prefix(self):
        env = bare_env(PKG_CONFIG_PATH=os.path.join(PREFIX, LIBDIR, "pkgconfig"))
        r = run(["pkg-config", "--cflags", "--libs", "memtype"], env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        flags = r.stdout.split()
        inc = [f[2:] for f in flags if f.startswith("-I")]
        lib = [f[2:] for f in flags if f.startswith("-L")]
        self.assertEqual([os.path.realpath(p) for p in inc],
                         [os.path.realpath(os.path.join(PREFIX, "include"))])
        self.assertEqual([os.path.realpath(p) for p in lib],
                         [os.path.realpath(os.path.join(PREFIX, LIBDIR))])
        self.assertIn("-lmemtype", flags)


class InstalledCommand(unittest.TestCase):
    def test_run_ls_from_the_installed_tree(self):
        os.makedirs(os.path.join(SCRATCH, "listing"), exist_ok=True)
        open(os.path.join(SCRATCH, "listing", "marker-file"), "w").close()
        work = tempfile.mkdtemp(dir=SCRATCH)
        r = run([os.path.join(PREFIX, "bin/memtype"), "run", "--", "ls",
                 os.path.join(SCRATCH, "listing")], cwd=work)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "marker-file\n")
        self.assertIn("memtype: run summary: 1 process (ls); 0 heap errors", r.stderr)
        # ls closes its stderr at exit: memtype's table went to the dump's .log
        # (printed by `memtype run`), beside the dump.
        # The run's dumps in a directory of its own.
        self.assertEqual(os.listdir(work), ["memtype-run.ls.1"])
        dumps = [os.path.join("memtype-run.ls.1", f)
                 for f in os.listdir(os.path.join(work, "memtype-run.ls.1")) if f.endswith(".mtd")]
        self.assertEqual(len(dumps), 1, os.listdir(os.path.join(work, "memtype-run.ls.1")))
        rep = run([os.path.join(PREFIX, "bin/memtype"), "report", "--types", dumps[0]], cwd=work)
        self.assertEqual(rep.returncode, 0, rep.stderr)
        self.assertRegex(rep.stdout, r"memtype: \d+ call sites in ls \(pid \d+\)")
        self.assertIn("InUse", rep.stdout)
        # Every form and command that reads a dump, each a module of its own.
        for argv, want in ((["report", "--leaks", "--errors", "--failures", "--waste"],
                            "memtype: leak summary:"),
                           (["report", "--json"], '"memtype_report": 1'),
                           (["report", "--folded", "--weight", "allocs"], "ls;"),
                           (["report", "--html", "page.html"], "memtype: wrote page.html"),
                           (["diff"], "memtype: total growth +0 bytes")):
            files = dumps * 2 if argv == ["diff"] else dumps
            rep = run([os.path.join(PREFIX, "bin/memtype")] + argv + files, cwd=work)
            self.assertEqual(rep.returncode, 0, rep.stderr)
            self.assertIn(want, rep.stdout, argv)

    def test_run_preloads_the_installed_library(self):
        r = run([os.path.join(PREFIX, "bin/memtype"), "run", "--output", "off", "--",
                 "/bin/sh", "-c", "echo $LD_PRELOAD"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(os.path.realpath(r.stdout.strip()),
                         os.path.realpath(os.path.join(PREFIX, LIBDIR, "libmemtype.so")))

    def test_options_and_completion_work_installed(self):
        r = run([os.path.join(PREFIX, "bin/memtype"), "options"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("MEMTYPE_TRASH", r.stdout)
        r = run([os.path.join(PREFIX, "bin/memtype"), "completion", "bash"])
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(PREFIX, "share/bash-completion/completions/memtype")) as f:
            self.assertEqual(r.stdout, f.read())

    def test_no_bytecode_is_written_into_the_installed_tree(self):
        run([os.path.join(PREFIX, "bin/memtype"), "options"])
        for dirpath, dirnames, _ in os.walk(os.path.join(PREFIX, "share/memtype")):
            self.assertNotIn("__pycache__", dirnames, dirpath)


class BuildingAgainstIt(unittest.TestCase):
    """hello_memtype.c, linked with the installed libmemtype.so, run as it
    is (memtype is then its allocator) and under `memtype run`."""

    def check_program(self, exe):
        r = run([exe], env=bare_env(MEMTYPE_OUTPUT="off", MEMTYPE_STATS="1"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "hello from memtype: owns=1 last_fail=2147483647\n")
        self.assertRegex(r.stderr, r"memtype: greeting +0 +0K .* 8  32")
        work = tempfile.mkdtemp(dir=SCRATCH)
        # the profiling mode: the sizes the table shows are the size classes
        # (guard pages, on by default, hand out pages)
        r = run([os.path.join(PREFIX, "bin/memtype"), "run", "--profile", "--", exe], cwd=work)
        self.assertEqual(r.returncode, 0, r.stderr)
        dumps = glob.glob(os.path.join(work, "memtype-run.*.1", "*.mtd"))
        self.assertEqual(len(dumps), 1, os.listdir(work))
        rep = run([os.path.join(PREFIX, "bin/memtype"), "report", dumps[0]], cwd=work)
        self.assertEqual(rep.returncode, 0, rep.stderr)
        self.assertRegex(rep.stdout, r"\ngreeting +0 +0K .* 8  32\n")
        self.assertRegex(rep.stdout, r"\nhello_pool +0 +0K .* pool\n")

    def test_pkg_config(self):
        env = bare_env(PKG_CONFIG_PATH=os.path.join(PREFIX, LIBDIR, "pkgconfig"))
        flags = run(["pkg-config", "--cflags", "--libs", "memtype"], env=env)
        libdir = run(["pkg-config", "--variable=libdir", "memtype"], env=env)
        self.assertEqual(flags.returncode, 0, flags.stderr)
        exe = os.path.join(SCRATCH, "hello_pkgconfig")
        r = run([CC, "-Wall", "-Wextra", "-Werror", "-o", exe,
                 os.path.join(HERE, "hello_memtype.c"), *flags.stdout.split(),
                 "-Wl,-rpath," + libdir.stdout.strip()], env=dict(os.environ))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.check_program(exe)

    def test_cmake_package(self):
        b = os.path.join(SCRATCH, "consumer-build")
        env = dict(bare_env(), CC=CC)
        r = run(["cmake", "-S", os.path.join(HERE, "consumer"), "-B", b,
                 "-DCMAKE_PREFIX_PATH=" + PREFIX, "-DMEMTYPE_VERSION=" + VERSION,
                 "-DHELLO_SOURCE=" + os.path.join(HERE, "hello_memtype.c")], env=env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with open(os.path.join(b, "CMakeCache.txt")) as f:
            self.assertIn(os.path.join(PREFIX, LIBDIR, "cmake", "memtype"), f.read())
        r = run(["cmake", "--build", b], env=env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.check_program(os.path.join(b, "hello_memtype"))

    def test_cmake_package_refuses_another_major_version(self):
        b = os.path.join(SCRATCH, "consumer-v9")
        src = os.path.join(SCRATCH, "consumer-v9-src")
        os.makedirs(src, exist_ok=True)
        with open(os.path.join(src, "CMakeLists.txt"), "w") as f:
            f.write("cmake_minimum_required(VERSION 3.18)\nproject(v9 C)\n"
                    "find_package(memtype 9 CONFIG REQUIRED)\n")
        r = run(["cmake", "-S", src, "-B", b, "-DCMAKE_PREFIX_PATH=" + PREFIX],
                env=dict(bare_env(), CC=CC))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("memtypeConfig.cmake, version: " + VERSION, r.stdout + r.stderr)


class Destdir(unittest.TestCase):
    def test_destdir_install_runs_from_where_it_lands(self):
        dest = os.path.join(SCRATCH, "destdir")
        r = subprocess.run(["cmake", "--install", BUILD], capture_output=True, text=True,
                           env=dict(os.environ, DESTDIR=dest))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        root = dest + CONFIGURED_PREFIX
        cmd = os.path.join(root, "bin", "memtype")
        self.assertTrue(os.path.isfile(cmd), r.stdout)
        r = run([cmd, "run", "--output", "off", "--", "/bin/sh", "-c", "echo $LD_PRELOAD"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(os.path.realpath(r.stdout.strip()),
                         os.path.realpath(os.path.join(root, LIBDIR, "libmemtype.so")))
        with open(os.path.join(root, LIBDIR, "pkgconfig", "memtype.pc")) as f:
            self.assertNotIn(dest, f.read())


if __name__ == "__main__":
    unittest.main()
