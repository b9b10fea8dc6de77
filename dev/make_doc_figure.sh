#!/usr/bin/env bash
# Regenerates docs/figure1.png (the picture docs/figures.md shows) from a
# demo output folder: by default ssvae-out, what `make demo` (the full
# experiment) writes; POOL, other seeds' demo folders (comma-separated),
# go into panel C's means and spreads. Drawn at 3/4 size to keep the file
# under 300 KB.
#
#   dev/make_doc_figure.sh [RUN_DIR [POOL]]
#
# The committed picture is the full experiment, seed 1, with seeds 2-5 pooled:
#   make demo
#   for s in 2 3 4 5; do build/ssvae demo --seed $s --out ssvae-out-$s; done
#   dev/make_doc_figure.sh ssvae-out ssvae-out-2,ssvae-out-3,ssvae-out-4,ssvae-out-5
set -euo pipefail
cd "$(dirname "$0")/.."
run=${1:-ssvae-out}
pool=${2:-}
if [ ! -f "$run/results.json" ]; then
    echo "make_doc_figure: $run/results.json not found; run 'build/ssvae demo --out $run' first" >&2
    exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
build/ssvae figure --run "$run" ${pool:+--pool "$pool"} --out "$tmp" --scale 0.75 --quiet
cp "$tmp/figure1.png" docs/figure1.png
size=$(stat -c %s docs/figure1.png)
echo "wrote docs/figure1.png ($size bytes) from $run"
if [ "$size" -ge 300000 ]; then
    echo "make_doc_figure: docs/figure1.png is over 300 KB; use a smaller --scale" >&2
    exit 1
fi
