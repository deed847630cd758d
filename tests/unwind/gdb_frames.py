# Loaded by gdb (test_stacks.py): prints the pc of each physical frame of the
# selected thread, innermost first, as "FRAME 0x...": the frames a machine
# unwinder can see (inline and tail-call frames are gdb's reconstruction from
# debug information, not frames on the stack).
import gdb

f = gdb.newest_frame()
while f is not None:
    if f.type() in (gdb.NORMAL_FRAME, gdb.SIGTRAMP_FRAME):
        print("FRAME 0x%x" % f.pc())
    f = f.older()
