"""pools.py MODE - reads past objects that programs' own pools hand out
inside malloc's blocks: memtype sees them only when the pools are bypassed
(MEMTYPE_BYPASS_POOLS, on under `memtype run`).
  pymalloc_read  a read 2 bytes past a 10-byte bytearray's buffer (CPython's
                 pymalloc serves it unless PYTHONMALLOC=malloc)
  pymalloc_ok    its 10 bytes read: no report
  gslice_read    a read 2 bytes past a 10-byte g_slice_alloc block (GLib's
                 slices unless G_SLICE=always-malloc)
  gslice_ok      its 10 bytes read and the block given back: no report
Prints what it read (its length), so the plain run's output is the same."""
import ctypes
import sys

mode = sys.argv[1]
if mode.startswith("pymalloc"):
    buf = bytearray(b"x" * 10)
    cell = (ctypes.c_char * 10).from_buffer(buf)
    n = 12 if mode == "pymalloc_read" else 10
    print(len(ctypes.string_at(ctypes.addressof(cell), n)))
elif mode.startswith("gslice"):
    glib = ctypes.CDLL("libglib-2.0.so.0")
    glib.g_slice_alloc.restype = ctypes.c_void_p
    glib.g_slice_alloc.argtypes = [ctypes.c_size_t]
    glib.g_slice_free1.argtypes = [ctypes.c_size_t, ctypes.c_void_p]
    p = glib.g_slice_alloc(10)
    ctypes.memset(p, ord("y"), 10)
    n = 12 if mode == "gslice_read" else 10
    print(len(ctypes.string_at(p, n)))
    glib.g_slice_free1(10, p)
else:
    sys.exit("unknown mode " + mode)
