#!/usr/bin/env bash
# tar | xz | xz -d | tar round trip of a generated tree, in the current
# (empty) directory.  Prints checksum listings of the tree before and after,
# the archive listing and the compressed streams' digests (tar is made
# reproducible with --sort/--mtime/--owner; xz output is deterministic for
# the same options and thread count).  Exits non-zero if the round trip
# loses anything.  All processes in the pipelines inherit the preload.
set -euo pipefail
export LC_ALL=C TZ=UTC

# A deterministic tree: text files written in pure bash (forks are slow in
# some sandboxes), and some high-entropy files (xz output of seq), empty files,
# a symlink and nested directories.
mkdir tree
for d in 0 1 2 3 4 5; do
  mkdir -p "tree/d$d/sub$((d % 3))"
  for f in 0 1 2 3 4 5 6 7 8 9; do
    n=$(( (d * 10 + f) * 37 % 97 * 23 ))
    out=
    for ((i = 0; i < n; i++)); do
      printf -v line '%06d %s %x\n' "$i" "file-$d-$f" $(( (i * 2654435761 + d * 97 + f) % 4294967296 ))
      out+=$line
    done
    printf '%s' "$out" >"tree/d$d/t$f.txt"
  done
  : >"tree/d$d/empty"
  seq $((d + 1)) 3 $((d * 40000 + 90000)) | xz -T1 -0 -c >"tree/d$d/sub$((d % 3))/noise.bin"
done
ln -s ../d0/t0.txt tree/d1/link
head -c 3000000 /dev/zero >tree/zeros

listing() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum; find . -type l | sort) }
listing tree >before.txt

tar_opts=(--sort=name --mtime=@1700000000 --owner=0 --group=0 --numeric-owner --format=gnu)

# 1. single-threaded xz, streamed through a pipe both ways.
tar "${tar_opts[@]}" -cf - tree | xz -T1 -6 -c >tree.tar.xz
mkdir out1
xz -d -c tree.tar.xz | tar -xf - -C out1
listing out1/tree >after1.txt

# 2. multi-threaded xz (fixed thread count and block size), xz -d | tar in one pipeline.
mkdir out2
tar "${tar_opts[@]}" -cf - tree | xz -T2 --block-size=1MiB -3 -c | tee tree.mt.tar.xz |
  xz -d -T2 -c | tar -xf - -C out2
listing out2/tree >after2.txt

echo "== tree"
cat before.txt
echo "== archive"
sha256sum tree.tar.xz tree.mt.tar.xz
xz -l tree.tar.xz tree.mt.tar.xz | sed 's/  */ /g'
xz -d -c tree.tar.xz | tar -tvf - | sed -n '1,20p'
xz -d -c tree.tar.xz | tar -tf - | wc -l
echo "== round trip"
cmp before.txt after1.txt && echo "single-threaded: identical"
cmp before.txt after2.txt && echo "multi-threaded: identical"
diff -r tree out1/tree && diff -r tree out2/tree && echo "diff -r: identical"
