#!/usr/bin/env bash
# Part of make bench: linux-base on this machine (run as root for a real
# picture), interleaved with BENCH_BASELINE when given, then how the
# timeline's time grows with the number of files under its roots.
# What linux-base takes depends on the machine: make bench's own corpus in
# /tmp/custos-bench is in its temp artifact (small files of /tmp are read).
#
#   BENCH_ROUNDS=3 BENCH_BASELINE=/path/to/older/custos bash scripts/bench-linux.sh
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${BENCH_ROUNDS:-3}
# Not under /tmp, /var/tmp, /root or /home: linux-base takes those, and the
# generated trees would become part of what it measures.
work=${BENCH_LINUX_DIR:-/var/cache/custos-bench-linux}
mkdir -p "$work"
source scripts/bench-common.sh
bench_key
secs() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1 || [ $? -eq 3 ]; e=$(date +%s.%N); echo "$e - $s" | bc; }
for i in $(seq "$rounds"); do
  rm -rf "$work/out-lb"
  echo "linux-base round $i: $(secs ./custos collect --case BENCH --recipient "$pub" --profile linux-base --to "$work/out-lb" -q) s"
  if [ -n "${BENCH_BASELINE:-}" ]; then
    rm -rf "$work/out-lb-base"
    echo "linux-base baseline round $i: $(secs "$BENCH_BASELINE" collect --case BENCH --recipient "$pub" --profile linux-base --to "$work/out-lb-base" -q) s"
  fi
done
for n in 10000 50000 100000; do
  tree="$work/tree-$n"
  if [ ! -f "$tree/.done" ]; then
    rm -rf "$tree"; go run ./internal/cmd/mkcorpus -size 0 -small "$n" -dir "$tree"; touch "$tree/.done"
  fi
  printf 'name: tl\nplatform: linux\nartifacts:\n  - {name: timeline, bodyfile: {roots: [%s]}}\n' "$tree" > "$work/tl.yaml"
  rm -rf "$work/out-tl"
  echo "timeline of $n files: $(secs ./custos collect --case BENCH --recipient "$pub" --profile "$work/tl.yaml" --to "$work/out-tl" -q) s"
done
