# Sourced by the bench scripts: the corpus they share and the key they
# encrypt to, made once in $work (BENCH_DIR).
#   bench_corpus SIZE NAME   sets corpus= and bytes=, generating it if needed
#   bench_key                sets key= and pub=

bench_corpus() { # size name-for-messages
  corpus="$work/corpus-$1"
  if [ ! -f "$corpus/.done" ]; then
    echo "$2: generating a $1 log-like corpus in $corpus"
    rm -rf "$corpus"
    go run ./internal/cmd/mkcorpus -size "$1" -dir "$corpus"
    touch "$corpus/.done"
  fi
  bytes=$(du -sb --exclude=.done "$corpus" | cut -f1)
}

bench_key() {
  key="$work/bench.key"
  [ -f "$key" ] || ./custos keygen -o "$key" >/dev/null 2>&1
  pub=$(grep -o 'age1[a-z0-9]*' "$key" | head -n 1)
}
