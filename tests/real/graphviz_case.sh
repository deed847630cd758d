#!/usr/bin/env bash
# graphviz_case.sh [SCALE]: programs that draw text, in the current (empty)
# directory. graphviz's dot lays out a generated graph (labels, records,
# HTML-like tables, clusters) through pango, cairo and fontconfig, and writes
# SVG and its plain layout; fontconfig's own tools match and list fonts.
# fontconfig keeps a tag in the low bit of its strings' pointers, so these
# are the programs that show an allocator whose blocks are 1-aligned (every
# one crashed under MEMTYPE_GUARD='*' when small odd blocks were).
set -euo pipefail
export LC_ALL=C TZ=UTC
scale=${1:-1}

# A graph of 60 * SCALE nodes: plain labels of every length from 1 to 30
# characters (odd ones too), record shapes, HTML-like labels, two clusters.
words=(a bb ccc Bold Italic Regular Condensed Semibold Oblique x)
{
  echo 'digraph G { rankdir=LR; node [fontname="DejaVu Sans"];'
  echo ' subgraph cluster_a { label="first cluster"; style=filled; color=lightgrey;'
  for ((i = 0; i < 60 * scale; i++)); do
    label=
    for ((j = 0; j <= i % 5; j++)); do label+="${words[(i + j) % 10]} "; done
    label=${label:0:$(( i % 30 + 1 ))}
    case $((i % 3)) in
      0) echo "  n$i [label=\"$label\"];" ;;
      1) echo "  n$i [shape=record, label=\"{<a> $i|<b> ${label}}|<c> end\"];" ;;
      2) echo "  n$i [shape=plain, label=<<TABLE><TR><TD><B>$i</B></TD><TD><I>${label}</I></TD></TR></TABLE>>];" ;;
    esac
    [ $((i % 20)) -eq 19 ] && echo ' } subgraph cluster_b { label="second"; fontname="DejaVu Serif";'
  done
  echo ' }'
  for ((i = 1; i < 60 * scale; i++)); do
    echo " n$(( (i * 7 + 3) % i )) -> n$i [label=\"e$i\"];"
  done
  echo '}'
} >g.dot

dot -Tsvg g.dot >g.svg
dot -Tplain-ext g.dot >g.plain
sort g.svg | sha256sum; sha256sum g.plain  # the SVG sorted: dot writes some elements in the order of their addresses
grep -c '<text' g.svg
head -3 g.plain

fc-match 'DejaVu Sans:style=Bold'
fc-match -s 'serif:italic' | head -5
fc-pattern 'Sans:style=Bold Italic:weight=200:pixelsize=12' | sort
fc-list : family style | sort | head -20
