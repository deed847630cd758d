"""Threaded allocation churn for python3 under the memtype preload.

Run with PYTHONMALLOC=malloc PYTHONHASHSEED=0.  Several producer threads
build objects and hand them through queues to consumer threads that take
them apart and drop them, so memory allocated by one thread is freed by
another; a pipeline stage reallocates in between.  The threads interleave
differently each run, so the output only reports order-independent results
(sums, sorted digests), checked against values computed without threads.
"""
import hashlib
import json
import queue
import sys
import threading

PRODUCERS = 4
CONSUMERS = 3
ITEMS = int(sys.argv[1]) if len(sys.argv) > 1 else 4000
STOP = object()


def make_item(p, i):
    # Mixed sizes: small dicts/strings, lists that grow, an occasional big blob.
    key = "p%d-i%d" % (p, i)
    body = {
        "key": key,
        "words": [("w%d" % ((p * 131 + i * 17 + j) % 997)) * (1 + j % 5) for j in range(i % 23)],
        "nums": list(range(i % 300)),
        "blob": ("%08d" % i) * (1 + (i % 7) * 50) if i % 11 else "B" * (64 << 10),
    }
    return body


def item_value(body):
    h = hashlib.sha1(json.dumps(body, sort_keys=True).encode()).digest()
    return int.from_bytes(h[:6], "big") + sum(body["nums"]) + len(body["blob"])


def producer(p, out_q):
    for i in range(ITEMS):
        out_q.put(make_item(p, i))
    out_q.put(STOP)


def transformer(in_q, out_q, nprod):
    # Middle stage: grows and rebuilds the objects it gets before passing on.
    stops = 0
    while stops < nprod:
        body = in_q.get()
        if body is STOP:
            stops += 1
            continue
        grown = body["words"] + [w.upper() for w in body["words"]]
        body["words"] = [w for w in grown if not w.isupper()]
        body["nums"] = body["nums"][:] + []
        body["blob"] = "".join(reversed(body["blob"]))[::-1]
        out_q.put(body)
    for _ in range(CONSUMERS):
        out_q.put(STOP)


def consumer(c, in_q, results, lock):
    total = 0
    count = 0
    keys = []
    while True:
        body = in_q.get()
        if body is STOP:
            break
        total += item_value(body)
        count += 1
        keys.append(body["key"])
        del body
    keys.sort()
    h = hashlib.sha256("\n".join(keys).encode()).hexdigest()
    with lock:
        results.append((count, total, h, keys))


def churn_worker(t, results, lock):
    # Private churn in every thread at once: dicts and lists built and freed.
    acc = 0
    for r in range(40):
        d = {("t%d" % t, r, k): [k] * (k % 13) for k in range(2000)}
        acc += sum(len(v) for v in d.values())
        del d
        s = "".join(str(k) for k in range(3000))
        acc += len(s)
    with lock:
        results.append(("churn", t, acc))


def main():
    q1 = queue.Queue(maxsize=64)
    q2 = queue.Queue(maxsize=64)
    lock = threading.Lock()
    results = []
    churn = []
    threads = [threading.Thread(target=producer, args=(p, q1)) for p in range(PRODUCERS)]
    threads += [threading.Thread(target=transformer, args=(q1, q2, PRODUCERS))]
    threads += [threading.Thread(target=consumer, args=(c, q2, results, lock)) for c in range(CONSUMERS)]
    threads += [threading.Thread(target=churn_worker, args=(t, churn, lock)) for t in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()

    count = sum(r[0] for r in results)
    total = sum(r[1] for r in results)
    keys = sorted(k for r in results for k in r[3])

    # The same numbers without threads.
    exp_total = 0
    exp_keys = []
    for p in range(PRODUCERS):
        for i in range(ITEMS):
            body = make_item(p, i)
            exp_total += item_value(body)
            exp_keys.append(body["key"])
    exp_keys.sort()
    ok = count == PRODUCERS * ITEMS and total == exp_total and keys == exp_keys
    churn.sort()
    ok = ok and all(c[2] == churn[0][2] for c in churn) and len(churn) == 3

    print("items:", count)
    print("value total:", total)
    print("keys digest:", hashlib.sha256("\n".join(keys).encode()).hexdigest()[:16])
    print("churn:", churn[0][2] if churn else None, len(churn))
    print("OK" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
