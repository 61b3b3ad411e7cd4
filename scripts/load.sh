#!/usr/bin/env bash
# make bench-load: how much a collection costs a web server on the same
# machine. wrk against a local static server, alone and while custos runs
# with --cpu 1 --read-rate 20MiB/s, interleaved.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${BENCH_DIR:-${TMPDIR:-/tmp}/custos-bench}
corpus="$work/corpus-${BENCH_SIZE:-1GiB}"
[ -f "$corpus/.done" ] || { echo "load: run make bench first (it makes $corpus)"; exit 1; }
command -v wrk >/dev/null || { echo "load: wrk is missing (apt-get install wrk)"; exit 1; }
site="$work/site"; mkdir -p "$site"
for i in $(seq 100); do head -c 10240 /dev/urandom > "$site/f$i.bin"; done
go build -o "$work/staticserve" ./internal/cmd/staticserve
"$work/staticserve" -addr 127.0.0.1:8089 -dir "$site" & srv=$!
trap 'kill $srv 2>/dev/null' EXIT
sleep 0.5
pub=$(grep -o 'age1[a-z0-9]*' "$work/bench.key" | head -n 1)
rps() { wrk -t2 -c32 -d10s --latency http://127.0.0.1:8089/f7.bin | awk '/Requests\/sec/ {print $2}'; }
for round in 1 2; do
  base=$(rps)
  rm -rf "$work/out-load"
  ./custos collect --case LOAD --recipient "$pub" --profile none --path "$corpus" --cpu 1 --read-rate 20MiB/s --to "$work/out-load" -q >/dev/null 2>&1 & c=$!
  sleep 1
  during=$(rps)
  kill $c 2>/dev/null || true; wait $c 2>/dev/null || true
  awk -v b="$base" -v d="$during" -v r="$round" 'BEGIN { printf "round %d: alone %.0f req/s, with custos %.0f req/s, loss %.1f%%\n", r, b, d, (b-d)/b*100 }'
done
