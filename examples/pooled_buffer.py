"""pooled_buffer.py - a bug in C code that a Python program calls, on a
buffer of Python's own: the kind of overflow a C extension makes.

pack() hands a bytearray's storage to C code (here through ctypes, as an
extension's PyArg_Parse "w*" would) and copies one record length too many:
the copy reads past the end of the buffer. A 15-byte bytearray is one of
CPython's small objects, which its own allocator (pymalloc) carves out of
256 KiB pools: without help, no malloc debugger sees its end.

    memtype run -- python3 examples/pooled_buffer.py
        (memtype run sets PYTHONMALLOC=malloc: the read is reported at the
         access, with the bytearray's allocation stack)
    memtype run --bypass-pools 0 -- python3 examples/pooled_buffer.py
        (pymalloc kept: nothing is seen)"""
import ctypes

RECORD = 16


def pack(records):
    out = ctypes.create_string_buffer(RECORD * (len(records) + 1))
    for i, rec in enumerate(records):
        src = (ctypes.c_char * len(rec)).from_buffer(rec)
        # the bug: the length of the output slot, not of the record's buffer
        # (a record is 14 characters and its terminator, 15 bytes; a slot 16)
        ctypes.memmove(ctypes.addressof(out) + i * RECORD, src, RECORD + 2)
    return out


records = [bytearray(b"user%02d:level=%d" % (i, i % 3)) for i in range(4)]
packed = pack(records)
print("packed", len(records), "records of", len(records[0]), "bytes")
