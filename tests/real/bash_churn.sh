#!/usr/bin/env bash
# bash under the memtype preload: in-process churn (indexed and associative
# arrays, big strings, recursion with locals) plus fork/exec: subshells,
# command substitution, pipelines, process substitution, background jobs and
# nested bash.  Every forked or exec'd child inherits LD_PRELOAD.  Output is
# deterministic.  Process creation is slow in some sandboxes (10-25 ms), so
# the number of forks stays in the low hundreds.
set -uo pipefail
export LC_ALL=C

ck() { cksum | { read -r a b; echo "$a/$b"; }; }

echo "== arrays"
declare -a arr=()
declare -A map=()
for ((i = 0; i < 30000; i++)); do
  arr+=("item$((i * 7919 % 30011))")
  map["key$((i % 5003))"]+="$i,"
done
for ((i = 0; i < 30000; i += 3)); do unset 'arr[i]'; done
arr=("${arr[@]}")                       # compact
for k in "${!map[@]}"; do
  [ $(( ${#map[$k]} % 2 )) -eq 0 ] && unset 'map[$k]'
done
echo "arr ${#arr[@]} ${arr[100]} ${arr[-1]}"
echo "map ${#map[@]}"
printf '%s\n' "${!map[@]}" | sort | ck

echo "== strings"
s=
for ((i = 0; i < 20000; i++)); do s+="w$((i % 97))-"; done
t=${s//w1/W1}
u=${t^^}
v=${u:1000:5000}
big=$(printf '%*s' 2000000 '' )          # 2 MB from a command substitution
big="$big${big:0:1000000}x"               # (no ${big//...}: quadratic in bash)
echo "len ${#s} ${#t} ${#u} ${#v} ${#big}"
printf '%s' "$u" | ck

echo "== recursion"
fib() { local -i n=$1 a b; local -a scratch=(); scratch[n]=x; : "${scratch[@]}"
  if ((n < 2)); then r=$n; return; fi
  fib $((n - 1)); a=$r; fib $((n - 2)); b=$r; r=$((a + b)); }
fib 18; echo "fib18 $r"

echo "== subshells and command substitution"
total=0
for ((i = 0; i < 40; i++)); do
  x=$( (for ((j = 0; j < 200; j++)); do echo $((i * j)); done) | { s=0; while read -r n; do s=$((s + n)); done; echo $s; } )
  total=$((total + x))
done
echo "total $total"
y=$(a=$(b=$(echo inner); echo "mid-$b"); echo "outer-$a")
echo "$y"
( declare -A m2; for i in $(seq 1 500); do m2[$((i % 37))]+=.; done; echo "m2 ${#m2[@]}" )

echo "== pipelines"
seq 1 50000 | sort -rn | sed -n 1,3p
seq 1 30000 | sed 's/[13579]$/odd/' | grep -c odd
printf '%s\n' "${arr[@]}" | sort | uniq -c | sort -k1,1nr -k2 | sed -n 1,5p
printf '%s\n' "${arr[@]}" | tr 'a-z' 'A-Z' | sort -u | ck
seq 1 2000 | while read -r n; do echo $((n * n % 1013)); done | sort -n | uniq | wc -l

echo "== process substitution"
diff <(seq 1 1000) <(seq 1 1000 | sed '500s/.*/five hundred/') || true
paste -d, <(seq 1 5) <(seq 6 10) <(printf '%s\n' a b c d e)
while read -r a b; do echo "$b $a"; done < <(printf '%s %s\n' one 1 two 2 three 3)

echo "== background jobs"
tmpd=$(mktemp -d)
for i in 1 2 3 4 5 6; do
  ( s=0; for ((j = 0; j < 3000 * i; j++)); do s=$(( (s + j * i) % 1000003 )); done
    echo "job $i $s" >"$tmpd/$i" ) &
done
wait
cat "$tmpd"/{1,2,3,4,5,6}
rm -r "$tmpd"

echo "== nested bash"
bash -c 'declare -A h; for i in {1..3000}; do h[k$((i % 211))]+=x; done; echo "inner ${#h[@]}"; exec bash -c "echo exec-chain \$((6 * 7))"'
bash <<'EOF'
a=(); for i in {1..5000}; do a+=("$i"); done
echo "heredoc ${#a[@]} $(printf '%s\n' "${a[@]}" | tail -n 1)"
EOF
echo "done"
