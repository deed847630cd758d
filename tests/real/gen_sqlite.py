"""Write an SQL script for `sqlite3 -bail :memory:` and the output it must give.

    gen_sqlite.py OUTDIR [ROWS]

Writes OUTDIR/script.sql (>= 100k INSERTs in transactions, CREATE INDEX,
GROUP BY aggregates, a join, UPDATE, DELETE, VACUUM, final counts) and
OUTDIR/expected.txt, the output computed here in Python, so a run that
agrees with itself but is wrong is caught too.  Integer arithmetic only,
ASCII text only (sqlite's BINARY collation sorts like Python does), every
query has a total ORDER BY: the output is fully determined.
"""
import os
import random
import sys

outdir = sys.argv[1]
ROWS = int(sys.argv[2]) if len(sys.argv) > 2 else 120000
BATCH = 5000
GROUPS = 40
TAGS = ["t%02d" % i for i in range(30)]
rng = random.Random(4242)

os.makedirs(outdir, exist_ok=True)
sql = open(os.path.join(outdir, "script.sql"), "w")
exp = open(os.path.join(outdir, "expected.txt"), "w")


def out(*cols):
    exp.write("|".join(str(c) for c in cols) + "\n")


def name_for(i):
    letters = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randrange(3, 14)))
    return "%s%d" % (letters, i % 1000)


sql.write("PRAGMA cache_size = 2000;\n")
sql.write("CREATE TABLE items(id INTEGER PRIMARY KEY, grp INTEGER NOT NULL, name TEXT NOT NULL,"
          " qty INTEGER NOT NULL, price INTEGER NOT NULL, note TEXT NOT NULL);\n")
sql.write("CREATE TABLE tags(item_id INTEGER NOT NULL, tag TEXT NOT NULL);\n")

items = {}  # id -> [grp, name, qty, price, notelen]
tags = []   # (item_id, tag)
for start in range(1, ROWS + 1, BATCH):
    sql.write("BEGIN;\n")
    for i in range(start, min(start + BATCH, ROWS + 1)):
        grp = rng.randrange(GROUPS)
        name = name_for(i)
        qty = rng.randrange(1, 1000)
        price = rng.randrange(-5000, 100000)
        if i % 500 == 0:
            # Big values built inside sqlite: hex(zeroblob(n)) is 2n '0's.
            n = rng.randrange(10000, 60000)
            note_sql = "substr(hex(zeroblob(%d)), 1, %d)" % (n, n)
        else:
            n = rng.randrange(0, 120)
            note_sql = "'%s'" % ("n" * n)
        items[i] = [grp, name, qty, price, n]
        sql.write("INSERT INTO items VALUES(%d, %d, '%s', %d, %d, %s);\n"
                  % (i, grp, name, qty, price, note_sql))
        if i % 4 == 0:
            for _ in range(rng.randrange(1, 4)):
                t = rng.choice(TAGS)
                tags.append((i, t))
                sql.write("INSERT INTO tags VALUES(%d, '%s');\n" % (i, t))
    sql.write("COMMIT;\n")

sql.write("CREATE INDEX items_grp ON items(grp);\n")
sql.write("CREATE INDEX items_name ON items(name);\n")
sql.write("CREATE INDEX tags_tag ON tags(tag, item_id);\n")


def group_report():
    sql.write("SELECT grp, count(*), sum(qty), min(price), max(price), sum(length(note))"
              " FROM items GROUP BY grp ORDER BY grp;\n")
    agg = {}
    for grp, name, qty, price, n in items.values():
        a = agg.setdefault(grp, [0, 0, None, None, 0])
        a[0] += 1
        a[1] += qty
        a[2] = price if a[2] is None else min(a[2], price)
        a[3] = price if a[3] is None else max(a[3], price)
        a[4] += n
    for grp in sorted(agg):
        out(grp, *agg[grp])


sql.write("SELECT count(*), sum(qty), sum(price), max(length(note)) FROM items;\n")
out(len(items), sum(v[2] for v in items.values()), sum(v[3] for v in items.values()),
    max(v[4] for v in items.values()))
group_report()

# Tag counts, most frequent first.
sql.write("SELECT tag, count(*) FROM tags GROUP BY tag ORDER BY count(*) DESC, tag LIMIT 20;\n")
tc = {}
for _, t in tags:
    tc[t] = tc.get(t, 0) + 1
for t, c in sorted(tc.items(), key=lambda kv: (-kv[1], kv[0]))[:20]:
    out(t, c)

# Join + aggregate.
sql.write("SELECT t.tag, count(*), sum(i.qty) FROM tags t JOIN items i ON i.id = t.item_id"
          " WHERE i.grp < 20 GROUP BY t.tag ORDER BY t.tag;\n")
jt = {}
for iid, t in tags:
    it = items[iid]
    if it[0] < 20:
        a = jt.setdefault(t, [0, 0])
        a[0] += 1
        a[1] += it[2]
for t in sorted(jt):
    out(t, *jt[t])

# A sort on the name index, a page from the middle.
sql.write("SELECT name, id FROM items ORDER BY name, id LIMIT 15 OFFSET 50000;\n")
for name, iid in sorted((v[1], k) for k, v in items.items())[50000:50015]:
    out(name, iid)

# Update, then delete, in transactions.
sql.write("BEGIN;\nUPDATE items SET qty = qty + 3, name = name || 'u' WHERE grp % 5 = 0;\nCOMMIT;\n")
for v in items.values():
    if v[0] % 5 == 0:
        v[2] += 3
        v[1] += "u"
sql.write("BEGIN;\nDELETE FROM items WHERE qty % 7 = 0;\n"
          "DELETE FROM tags WHERE item_id NOT IN (SELECT id FROM items);\nCOMMIT;\n")
for k in [k for k, v in items.items() if v[2] % 7 == 0]:
    del items[k]
tags = [(i, t) for i, t in tags if i in items]

sql.write("VACUUM;\n")
sql.write("DROP INDEX items_name;\nCREATE INDEX items_name2 ON items(name, qty);\n")
group_report()
sql.write("SELECT count(*) FROM items WHERE name LIKE '%u';\n")
out(sum(1 for v in items.values() if v[1].endswith("u")))

# A recursive CTE producing many rows on the fly.
sql.write("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000)"
          " SELECT count(*), sum(x % 97), max(x) FROM c;\n")
out(200000, sum(x % 97 for x in range(1, 200001)), 200000)

# Final counts.
sql.write("SELECT (SELECT count(*) FROM items), (SELECT count(*) FROM tags),"
          " (SELECT count(DISTINCT name) FROM items);\n")
out(len(items), len(tags), len(set(v[1] for v in items.values())))
sql.write("PRAGMA integrity_check;\n")
out("ok")

sql.close()
exp.close()
