"""Allocation churn for python3 run under the memtype preload.

Run with PYTHONMALLOC=malloc so that every object goes through malloc/free
(not pymalloc's arenas), and PYTHONHASHSEED=0.  The output is deterministic:
a digest per phase, computed from the data, never from addresses or ids.
Every phase also checks itself and exits 1 with a message on a wrong result.
"""
import gc
import hashlib
import json
import random
import sys

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 12
rng = random.Random(20240601)


def digest(obj):
    h = hashlib.sha256()
    h.update(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode())
    return h.hexdigest()[:16]


def check(cond, what):
    if not cond:
        print("SELF-CHECK FAILED:", what, flush=True)
        sys.exit(1)


def word(n):
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(n))


def phase_dicts(r):
    # Build, grow, shrink and rebuild dicts of mixed sizes: many small
    # objects, resizes of the hash tables, deletes in the middle.
    d = {}
    for i in range(40000):
        d["k%d_%s" % (i, word(rng.randrange(1, 12)))] = [i] * rng.randrange(0, 6)
    keys = sorted(d)
    for k in keys[::3]:
        del d[k]
    for i in range(20000):
        d[(i, str(i))] = {"v": i, "s": "x" * (i % 50)}
    total = sum(len(v) if isinstance(v, list) else v["v"] for v in d.values())
    expect = sum(len(d[k]) for k in keys if k in d) + sum(range(20000))
    check(total == expect, "dict phase total")
    out = (len(d), total)
    d.clear()
    return out


def phase_lists(r):
    # Lists that grow by append (realloc), get sliced, sorted, reversed and
    # dropped; nested lists; big lists (large allocations).
    big = [rng.random() for _ in range(200000)]
    big.sort()
    check(all(big[i] <= big[i + 1] for i in range(0, len(big) - 1, 997)), "sorted")
    nested = [[j for j in range(i % 100)] for i in range(5000)]
    flat = [x for sub in nested for x in sub]
    chunks = [flat[i:i + 333] for i in range(0, len(flat), 333)]
    chunks.reverse()
    s = sum(sum(c) for c in chunks)
    check(s == sum(flat), "list sums")
    grow = []
    for i in range(100000):
        grow.append(i)
        if i % 7 == 0:
            grow.pop(0 if i % 14 == 0 else -1)
    return (len(big), len(flat), s, len(grow), sum(grow) % 1000003,
            round(big[len(big) // 2], 6))


def phase_strings(r):
    # Strings built by concatenation, join, split, replace, encode/decode,
    # formatting; bytearray grown in place; big strings.
    parts = [word(rng.randrange(1, 30)) for _ in range(30000)]
    text = " ".join(parts)
    acc = ""
    for p in parts[:3000]:
        acc += p + ","
    check(acc.count(",") == 3000, "concat")
    up = text.upper().replace("A", "<a>").split()
    enc = text.encode("utf-8")
    uni = "".join(chr(0x100 + (b % 200)) + chr(0x1F600 + (b % 50)) for b in enc[:20000])
    back = uni.encode("utf-16-le").decode("utf-16-le")
    check(back == uni, "utf-16 round trip")
    ba = bytearray()
    for i in range(50000):
        ba += bytes([i % 256]) * (i % 9)
    fmt = ["%05d:%s:%r" % (i, parts[i], parts[-i]) for i in range(5000)]
    big = "y" * (8 << 20)
    big2 = big.replace("y", "zz")
    check(len(big2) == 16 << 20, "big replace")
    return (len(text), len(up), hashlib.md5(enc).hexdigest()[:12], len(uni),
            hashlib.md5(bytes(ba)).hexdigest()[:12], len("".join(fmt)), len(big2))


def phase_json(r):
    # JSON documents built, dumped, parsed and compared.
    docs = []
    for i in range(3000):
        docs.append({
            "id": i,
            "name": word(8),
            "tags": [word(4) for _ in range(rng.randrange(0, 8))],
            "score": rng.randrange(-10**9, 10**9),
            "nested": {"a": [1, 2, {"b": word(3)}], "c": None, "d": i % 3 == 0},
        })
    blob = json.dumps(docs, sort_keys=True)
    again = json.loads(blob)
    check(again == docs, "json round trip")
    pretty = json.dumps(again, indent=2, sort_keys=True)
    check(json.loads(pretty) == docs, "json pretty round trip")
    return (len(blob), len(pretty), digest(again[::97]))


class Node:
    __slots__ = ("val", "next", "other", "__weakref__")

    def __init__(self, val):
        self.val = val
        self.next = None
        self.other = None


def phase_cycles(r):
    # Reference cycles that only the cyclic GC frees, sets, tuples, ints.
    nodes = [Node(i) for i in range(30000)]
    for i, n in enumerate(nodes):
        n.next = nodes[(i + 1) % len(nodes)]
        n.other = {"back": nodes[i - 1], "t": (i, str(i))}
    total = sum(n.next.val for n in nodes)
    del nodes, n
    freed = gc.collect()
    s = set()
    for i in range(100000):
        s.add((i * 7919) % 100003)
        if i % 3 == 0:
            s.discard((i * 31) % 100003)
    bigint = 1
    for i in range(1, 3000):
        bigint *= i
    return (total, freed > 0, len(s), bigint.bit_length(), hashlib.md5(hex(bigint).encode()).hexdigest()[:12])


results = []
for r in range(ROUNDS):
    row = {
        "round": r,
        "dicts": phase_dicts(r),
        "lists": phase_lists(r),
        "strings": phase_strings(r),
        "json": phase_json(r),
        "cycles": phase_cycles(r),
    }
    results.append(row)
    print("round %d: %s" % (r, digest(row)), flush=True)
    gc.collect()

print("final:", digest(results))
print("OK")
