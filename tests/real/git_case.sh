#!/usr/bin/env bash
# git_case.sh: a git workflow in the current (empty) directory with fixed
# names, emails and dates, so every object hash is the same on each run:
# init, add, commit (many), branch, merge, tag, rm/mv, gc/repack, then print
# log, cat-file, ls-tree, rev-list and fsck output for run_compare.sh to
# compare.  git spawns git subcommands (pack-objects, index-pack, ...): the
# preload reaches them too.
set -euo pipefail

export HOME=$PWD/home GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME="Memtype Test" GIT_AUTHOR_EMAIL="test@memtype.invalid"
export GIT_COMMITTER_NAME="Memtype Test" GIT_COMMITTER_EMAIL="test@memtype.invalid"
export GIT_PAGER=cat PAGER=cat TZ=UTC LC_ALL=C
mkdir -p "$HOME"

tick=1700000000
commit() { # message
  tick=$((tick + 60))
  GIT_AUTHOR_DATE="@$tick +0000" GIT_COMMITTER_DATE="@$tick +0000" git commit -q -m "$1"
}

git init -q -b main repo
cd repo
git config pack.threads 1        # deterministic packs
git config gc.auto 0
git config core.autocrlf false
git config user.useConfigOnly false

# A tree of files with deterministic contents.
gen_file() { # path seed lines  (pure bash: forks are slow in some sandboxes)
  local i pad ch line out=
  local alpha=abcdefghijklmnopqrstuvwxyz
  local fill=..........................................................................
  mkdir -p "${1%/*}"
  for ((i = 0; i < $3; i++)); do
    ch=${alpha:$(( ($2 + i) % 26 )):1}
    pad=${fill:0:$(( (i * 7 + $2) % 60 ))}
    printf -v line 'line %d of %s: %x %s\n' "$i" "$1" \
      $(( ($2 * 2654435761 + i * 40503) % 4294967296 )) "${pad//./$ch}"
    out+=$line
  done
  printf '%s' "$out" >"$1"
}
for d in 0 1 2 3 4; do
  for f in 0 1 2 3 4 5 6 7; do
    gen_file "src/dir$d/file$f.txt" $((d * 10 + f)) $((20 + (d * 8 + f) % 40))
  done
done
git add -A
commit "initial import"

# History on main: edits, appends, renames, deletes.
for n in $(seq 1 18); do
  d=$((n % 5)) f=$((n % 8))
  gen_file "src/dir$d/file$f.txt" $((n * 31)) $((10 + n % 50))
  printf 'change %d\n' "$n" >>CHANGES
  if [ $((n % 7)) -eq 0 ]; then git mv -k "src/dir$d/file$(((f + 1) % 8)).txt" "src/dir$d/moved$n.txt"; fi
  if [ $((n % 9)) -eq 0 ]; then git rm -q --ignore-unmatch "src/dir$(((d + 2) % 5))/file$f.txt"; fi
  git add -A
  commit "change $n"
done
GIT_COMMITTER_DATE="@$tick +0000" git tag -a v1 -m "version 1"

# A branch with its own commits, merged back without conflicts.
git checkout -q -b feature HEAD~8
for n in $(seq 1 6); do
  gen_file "feature/part$n.txt" $((n * 97)) 30
  git add -A
  commit "feature $n"
done
git checkout -q main
tick=$((tick + 60))
GIT_AUTHOR_DATE="@$tick +0000" GIT_COMMITTER_DATE="@$tick +0000" \
  git merge -q --no-ff -m "merge feature" feature
GIT_COMMITTER_DATE="@$tick +0000" git tag -a v2 -m "version 2"

# Pack everything (spawns pack-objects), then check it.
git gc -q --aggressive --prune=now
git repack -q -a -d -f --depth=50 --window=50

echo "== log"
git log --graph --format='%H %an <%ae> %ad %s' --date=raw --all
echo "== log --stat (last 5)"
git log -5 --stat --format='%H%n%B'
echo "== show v1"
git cat-file -p v1
echo "== cat-file HEAD"
git cat-file -p HEAD
echo "== ls-tree"
git ls-tree -r -l HEAD
echo "== rev-list --objects"
git rev-list --objects --all | sort
echo "== diff v1 v2"
git diff --stat v1 v2
git diff v1 v2 | sha256sum
echo "== blame"
git blame -s --date=raw CHANGES | sed -n 1,30p
echo "== fsck"
git fsck --full --strict --no-progress --no-dangling
echo "== count-objects"
git count-objects -v | grep -v -e '^size-pack' -e '^size:' -e '^size-garbage'
echo "== verify-pack"
git verify-pack -s .git/objects/pack/*.idx
echo "== archive"
git archive --format=tar v2 | sha256sum
echo "done"
