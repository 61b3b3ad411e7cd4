#!/usr/bin/env bash
# make bench-remote: custos remote against the ssh shell line a responder
# would otherwise type, over a real OpenSSH server on loopback (both ends
# share this machine's cores), and against that line made to record the
# SHA-256s custos records, interleaved in one run; then 8 hosts with
# --parallel 4 against the same 8 one after another.
#
#   BENCH_REMOTE_SIZE=512MiB BENCH_ROUNDS=3 bash scripts/bench-remote.sh
set -euo pipefail
cd "$(dirname "$0")/.."
size=${BENCH_REMOTE_SIZE:-512MiB}
rounds=${BENCH_ROUNDS:-3}
work=${BENCH_DIR:-${TMPDIR:-/tmp}/custos-bench}
mkdir -p "$work"
for t in age zstd tar openssl /usr/sbin/sshd ssh ssh-keygen /usr/bin/time; do
  command -v "$t" >/dev/null || [ -x "$t" ] || { echo "bench-remote: $t is missing (apt-get install age zstd openssh-server openssh-client time)" >&2; exit 1; }
done
source scripts/bench-common.sh
bench_corpus "$size" bench-remote
bench_key

# An sshd of our own on a loopback port, as the tests start one.
s="$work/sshd"; rm -rf "$s"; mkdir -p "$s"; chmod 755 "$s"
ssh-keygen -q -t ed25519 -N '' -f "$s/host"; ssh-keygen -q -t ed25519 -N '' -f "$s/client"
cp "$s/client.pub" "$s/authorized_keys"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p /run/sshd
cat > "$s/sshd_config" <<CFG
Port $port
ListenAddress 127.0.0.1
HostKey $s/host
AuthorizedKeysFile $s/authorized_keys
PidFile none
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
PasswordAuthentication no
AllowUsers $(id -un)
LogLevel ERROR
MaxStartups 64
MaxSessions 64
CFG
/usr/sbin/sshd -D -e -f "$s/sshd_config" -E "$s/log" & sshd=$!
trap 'kill $sshd 2>/dev/null' EXIT
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$s/host.pub")" > "$s/known_hosts"
: > "$s/ssh_config"
for h in bench $(seq -f 'h%g' 1 8); do
  printf 'Host %s\n  HostName 127.0.0.1\n  Port %s\n  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n' \
    "$h" "$port" "$s/client" "$s/known_hosts" >> "$s/ssh_config"
done
seq -f 'h%g' 1 8 > "$s/hosts"
cat $(find "$corpus" -type f) > /dev/null

run() { # name command...: prints "name seconds user sys maxrss_kib"
  local name=$1; shift
  local tf="$work/time.out"
  /usr/bin/time -o "$tf" -f '%e %U %S %M' "$@" >/dev/null 2>&1 || [ $? -eq 3 ]
  echo "$name $(tail -n 1 "$tf")"
}
results="$work/remote-results.txt"; : > "$results"
for i in $(seq "$rounds"); do
  rm -rf "$work/out-remote" "$work/out-ssh"; mkdir -p "$work/out-ssh"
  run remote ./custos remote --ssh-config "$s/ssh_config" bench -- --case BENCH --recipient "$pub" --profile none --path "$corpus" --to "$work/out-remote" -q >> "$results"
  run ssh-line bash -c "ssh -F '$s/ssh_config' bench \"tar -cf - -C '$corpus' . | zstd -T0 -3 -q | age -r '$pub'\" > '$work/out-ssh/c.tar.zst.age'" >> "$results"
  # The same line made to record what custos records of the evidence: each
  # file's SHA-256, the tar's and the stored file's (openssl: SHA-NI, as
  # fast as custos's hashes; coreutils sha256sum runs at a fifth of that here).
  run ssh-sums bash -c "ssh -F '$s/ssh_config' bench \"bash -c 'cd $corpus && find . -type f -print0 | xargs -0 openssl dgst -sha256 -r >&2 && tar -cf - . | tee >(openssl dgst -sha256 -r >&2) | zstd -T0 -3 -q | age -r $pub'\" 2> '$work/out-ssh/sums' > '$work/out-ssh/c.tar.zst.age' && openssl dgst -sha256 -r '$work/out-ssh/c.tar.zst.age'" >> "$results"
done
# Eight hosts: one run with --parallel 4 against eight runs one after
# another, on a smaller tree each.
small="$work/corpus-64MiB"
if [ ! -f "$small/.done" ]; then
  rm -rf "$small"; go run ./internal/cmd/mkcorpus -size 64MiB -dir "$small"; touch "$small/.done"
fi
for i in $(seq "$rounds"); do
  rm -rf "$work/out-fleet" "$work/out-seq"
  run fleet-p4 ./custos remote --hosts "$s/hosts" --parallel 4 --ssh-config "$s/ssh_config" -- --case FLEET --recipient "$pub" --profile none --path "$small" --to "$work/out-fleet" -q >> "$results"
  run fleet-seq bash -c "for h in \$(cat '$s/hosts'); do ./custos remote --ssh-config '$s/ssh_config' \$h -- --case FLEET --recipient '$pub' --profile none --path '$small' --to '$work/out-seq' -q || [ \$? -eq 3 ]; done" >> "$results"
done
# Per round, the ssh line's time over remote's (>1: remote is faster): on a
# shared machine the load moves between rounds, so the pairs and their
# median say more than the means.
awk -v bytes="$bytes" '
function median(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
  return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
{ name=$1; s=$2; cpu=$3+$4; rss=$5/1024
  printf "%-10s %7.2f s %8.1f MiB/s %6.2f CPU-s %7.1f MiB peak RSS\n", name, s, (name ~ /^fleet/ ? 8*64 : bytes/1048576)/s, cpu, rss
  n[name]++; t[name]+=s
  if (name == "remote") last = s
  if (name == "ssh-line" && last > 0) { np++; pair[np] = s / last; pairs = pairs sprintf(" %.2f", s / last) }
  if (name == "ssh-sums" && last > 0) { ns++; spair[ns] = s / last; spairs = spairs sprintf(" %.2f", s / last); last = 0 } }
END {
  if (n["remote"] && n["ssh-line"]) printf "\nremote vs ssh line (%.0f MiB): %.2f s vs %.2f s, ratio %.2fx\n", bytes/1048576, t["remote"]/n["remote"], t["ssh-line"]/n["ssh-line"], (t["ssh-line"]/n["ssh-line"])/(t["remote"]/n["remote"])
  if (np) printf "per round (ssh line / remote):%s; median %.2fx\n", pairs, median(pair, np)
  if (ns) printf "the line with the SHA-256s custos records (ssh-sums / remote):%s; median %.2fx\n", spairs, median(spair, ns)
  if (n["fleet-p4"] && n["fleet-seq"]) printf "8 hosts: --parallel 4 %.2f s, one after another %.2f s, speed-up %.2fx\n", t["fleet-p4"]/n["fleet-p4"], t["fleet-seq"]/n["fleet-seq"], (t["fleet-seq"]/n["fleet-seq"])/(t["fleet-p4"]/n["fleet-p4"])
}' "$results"
