#!/usr/bin/env bash
# make bench: the whole custos chain against the shell pipeline a responder
# would otherwise type, on the same generated corpus, interleaved in one run
# (this machine is noisy: compare rounds, not single numbers).
#
#   BENCH_SIZE=1GiB BENCH_ROUNDS=3 bash scripts/bench.sh
#
# BENCH_BASELINE=/path/to/an/older/custos adds that binary to every round,
# right after this one, so a change is measured against what it replaces.
set -euo pipefail
cd "$(dirname "$0")/.."
size=${BENCH_SIZE:-1GiB}
rounds=${BENCH_ROUNDS:-3}
work=${BENCH_DIR:-${TMPDIR:-/tmp}/custos-bench}
mkdir -p "$work"
for t in age zstd sha256sum tar /usr/bin/time; do
  command -v "$t" >/dev/null || { echo "bench: $t is missing (apt-get install age zstd time)" >&2; exit 1; }
done

source scripts/bench-common.sh
bench_corpus "$size" bench
bench_key
# Warm the page cache so both read from memory alike.
cat $(find "$corpus" -type f) > /dev/null

run() { # name command...: prints "name seconds user sys maxrss_kib"
  local name=$1; shift
  local tf="$work/time.out"
  /usr/bin/time -o "$tf" -f '%e %U %S %M' "$@" >/dev/null 2>&1 || [ $? -eq 3 ]
  echo "$name $(tail -n 1 "$tf")"
}

# A 10,000-entry indicator list (hashes, domains, addresses, strings),
# looked for in every byte: the same collection with and without it.
iocs="$work/bench-10000.ioc"
[ -f "$iocs" ] || go run ./internal/cmd/mkcorpus -ioc 10000 -ioc-file "$iocs"
results="$work/results.txt"; : > "$results"
for i in $(seq "$rounds"); do
  rm -rf "$work/out-custos" "$work/out-shell" "$work/out-ioc"; mkdir -p "$work/out-shell"
  run custos ./custos collect --case BENCH --recipient "$pub" --profile none --path "$corpus" --to "$work/out-custos" -q >> "$results"
  run custos-ioc ./custos collect --case BENCH --recipient "$pub" --profile none --path "$corpus" --ioc "$iocs" --to "$work/out-ioc" -q >> "$results"
  if [ -n "${BENCH_BASELINE:-}" ]; then
    rm -rf "$work/out-base"
    run baseline "$BENCH_BASELINE" collect --case BENCH --recipient "$pub" --profile none --path "$corpus" --to "$work/out-base" -q >> "$results"
  fi
  run shell bash -c "tar -cf - -C '$corpus' . | zstd -T0 -3 -q | age -r '$pub' > '$work/out-shell/c.tar.zst.age' && find '$corpus' -type f -exec sha256sum {} + > '$work/out-shell/sums'" >> "$results"
done
# The small-file tree: 20,000 files of 0.5-8.5 KiB, where per-file costs show.
small="$work/corpus-small-${BENCH_SMALL:-20000}"
if [ ! -f "$small/.done" ]; then
  rm -rf "$small"
  go run ./internal/cmd/mkcorpus -size 0 -small "${BENCH_SMALL:-20000}" -dir "$small"
  touch "$small/.done"
fi
cat $(find "$small" -type f) > /dev/null
for i in $(seq "$rounds"); do
  rm -rf "$work/out-small"; mkdir -p "$work/out-small"
  run small-custos ./custos collect --case BENCH --recipient "$pub" --profile none --path "$small" --to "$work/out-small/c" -q >> "$results"
  if [ -n "${BENCH_BASELINE:-}" ]; then
    run small-baseline "$BENCH_BASELINE" collect --case BENCH --recipient "$pub" --profile none --path "$small" --to "$work/out-small/b" -q >> "$results"
  fi
  run small-shell bash -c "tar -cf - -C '$small' . | zstd -T0 -3 -q | age -r '$pub' > '$work/out-small/s.age' && find '$small' -type f -exec sha256sum {} + > '$work/out-small/sums'" >> "$results"
done
# Stages alone, once each, so the ceiling is visible.
run stage-read   bash -c "tar -cf - -C '$corpus' . | cat > /dev/null" >> "$results"
run stage-sha256 bash -c "find '$corpus' -type f -exec sha256sum {} + > /dev/null" >> "$results"
run stage-zstd1  bash -c "tar -cf - -C '$corpus' . | zstd -1 -T1 -q > /dev/null" >> "$results"
run stage-age    bash -c "tar -cf - -C '$corpus' . | age -r '$pub' > /dev/null" >> "$results"

custos_size=$(du -sb "$work/out-custos" | cut -f1)
shell_size=$(du -sb "$work/out-shell/c.tar.zst.age" | cut -f1)
smallbytes=$(du -sb --exclude=.done "$small" | cut -f1)
awk -v bytes="$bytes" -v sbytes="$smallbytes" -v cs="$custos_size" -v ss="$shell_size" '
{ name=$1; s=$2; cpu=$3+$4; rss=$5/1024
  b=bytes; if (name ~ /^small-/) b=sbytes
  mib=b/1048576; gib=b/1073741824
  printf "%-13s %7.2f s %8.1f MiB/s %6.2f CPU-s/GiB %7.1f MiB peak RSS\n", name, s, mib/s, cpu/gib, rss
  n[name]++; t[name]+=s }
END {
  printf "\ncorpus %.0f MiB; stored: custos %.0f MiB, shell %.0f MiB\n", bytes/1048576, cs/1048576, ss/1048576
  if (n["custos"] && n["shell"]) printf "mean: custos %.1f MiB/s, shell %.1f MiB/s, ratio %.2fx\n", bytes/1048576/(t["custos"]/n["custos"]), bytes/1048576/(t["shell"]/n["shell"]), (t["shell"]/n["shell"])/(t["custos"]/n["custos"])
  if (n["custos-ioc"]) printf "with 10,000 indicators: %.1f MiB/s, %.1f%% slower than without\n", bytes/1048576/(t["custos-ioc"]/n["custos-ioc"]), ((t["custos-ioc"]/n["custos-ioc"])/(t["custos"]/n["custos"])-1)*100
  if (n["baseline"]) printf "baseline: %.1f MiB/s (custos %.1f MiB/s)\n", bytes/1048576/(t["baseline"]/n["baseline"]), bytes/1048576/(t["custos"]/n["custos"])
  if (n["small-baseline"]) printf "small files, baseline: %.2f s (custos %.2f s)\n", t["small-baseline"]/n["small-baseline"], t["small-custos"]/n["small-custos"]
  if (n["small-custos"] && n["small-shell"]) printf "small files (%.0f MiB): custos %.2f s, shell %.2f s, ratio %.2fx\n", sbytes/1048576, t["small-custos"]/n["small-custos"], t["small-shell"]/n["small-shell"], (t["small-shell"]/n["small-shell"])/(t["small-custos"]/n["small-custos"])
}' "$results"
