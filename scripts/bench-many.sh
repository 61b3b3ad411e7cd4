#!/usr/bin/env bash
# make bench-many: a tree of a million small files (BENCH_FILES), collected
# and verified with --identity; files/s and peak RSS of each, interleaved
# with BENCH_BASELINE (an older custos) when given. Issue 14's target: both
# under 100 MiB peak RSS (the records go to the artifact's files object as
# they are taken; verify reads it as a stream).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${BENCH_FILES:-1000000}
rounds=${BENCH_ROUNDS:-1}
work=${BENCH_DIR:-${TMPDIR:-/tmp}/custos-bench}
tree="$work/many-$n"
mkdir -p "$work"
command -v /usr/bin/time >/dev/null || { echo "bench-many: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }
if [ ! -f "$tree/.done" ]; then
  echo "bench-many: writing $n files in $tree"
  rm -rf "$tree"
  go run ./internal/cmd/mkcorpus -size 0 -small "$n" -small-bytes 64 -dir "$tree"
  touch "$tree/.done"
fi
source scripts/bench-common.sh
bench_key
profile="$work/many.yaml"
printf 'name: many\nplatform: linux\nartifacts:\n  - name: tree\n    files: {paths: ["%s/tree/**"]}\n' "$tree" > "$profile"

bins=("./custos")
[ -n "${BENCH_BASELINE:-}" ] && bins+=("$BENCH_BASELINE")
printf '%-24s %-8s %10s %10s %12s\n' binary step seconds files/s peak_rss_MiB
for r in $(seq "$rounds"); do
  for b in "${bins[@]}"; do
    out="$work/many-out"
    rm -rf "$out"
    tf="$work/time.out"
    /usr/bin/time -o "$tf" -f '%e %M' "$b" collect --case BENCH --recipient "$pub" --to "$out" --profile "$profile" -q >/dev/null 2>&1 || [ $? -eq 3 ]
    read -r s kb < <(tail -n 1 "$tf")
    printf '%-24s %-8s %10s %10.0f %12.1f\n' "$(basename "$b")" collect "$s" "$(awk "BEGIN{print $n/$s}")" "$(awk "BEGIN{print $kb/1024}")"
    dir=$(ls -d "$out"/BENCH/*/*)
    /usr/bin/time -o "$tf" -f '%e %M' "$b" verify --identity "$key" "$dir" >/dev/null 2>&1 || echo "bench-many: $b verify failed" >&2
    read -r s kb < <(tail -n 1 "$tf")
    printf '%-24s %-8s %10s %10.0f %12.1f\n' "$(basename "$b")" verify "$s" "$(awk "BEGIN{print $n/$s}")" "$(awk "BEGIN{print $kb/1024}")"
  done
done
