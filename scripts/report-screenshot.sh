#!/usr/bin/env bash
# A two-host case with indicator hits, card-like numbers and two signed
# response actions, reported as HTML and looked at in headless Chromium
# (issue 18). Needs root (each host is a UTS namespace with its own
# hostname), ssh-keygen and chromium.
#
#   bash scripts/report-screenshot.sh [OUTDIR]    # writes case.html, case.png
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/img}
bin=${CUSTOS:-./custos}
for t in unshare ssh-keygen chromium; do
  command -v "$t" >/dev/null || { echo "report-screenshot: $t is missing (apt-get install util-linux openssh-client chromium)" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out" "$work/logs"
ssh-keygen -q -t ed25519 -N '' -f "$work/alice" -C alice@ir.example
ssh-keygen -q -t ed25519 -N '' -f "$work/bob" -C bob@ir.example
{ echo "alice@ir.example $(cut -d' ' -f1,2 "$work/alice.pub")"; echo "bob@ir.example $(cut -d' ' -f1,2 "$work/bob.pub")"; } > "$work/allowed_signers"
"$bin" keygen -o "$work/team.key" >/dev/null 2>&1
pub=$(grep -o 'age1[a-z0-9]*' "$work/team.key" | head -n 1)
cat > "$work/logs/access.log" <<'LOG'
198.51.100.20 - - [01/Dec/2026:07:02:11 +0000] "GET /checkout/ HTTP/1.1" 200 5120 "-" "Mozilla/5.0"
203.0.113.9 - - [01/Dec/2026:07:12:44 +0000] "POST /pub/media/tmp/x.php?c=eval(base64_decode(ZWNobyAx)) HTTP/1.1" 200 512 "-" "curl/8.5"
198.51.100.20 - - [01/Dec/2026:07:13:02 +0000] "GET /static/frontend/x/en_US/js/skim.js HTTP/1.1" 200 2211 "https://evil-cdn.example.com/" "Mozilla/5.0"
LOG
printf 'order 100042 card 4111 1111 1111 1111 exp 12/29\n' > "$work/logs/payment-debug.log"
cat > "$work/case.ioc" <<IOC
# INC-2026-042, from the payment provider's notice
sha256:$(sha256sum "$bin" | cut -d' ' -f1)
ip:203.0.113.9
domain:evil-cdn.example.com
string:eval(base64_decode(
IOC
cat > "$work/p.yaml" <<PROF
name: report-demo
platform: linux
artifacts:
  - {name: processes, live: processes}
  - {name: sockets, live: sockets}
  - name: web-logs
    files: {paths: ["$work/logs"]}
PROF
for h in web01 web02; do
  unshare --uts sh -c "hostname $h && exec \"$bin\" collect --case INC-2026-042 -r $pub --profile $work/p.yaml --ioc $work/case.ioc \
    --category 2 --severity high --discovered-at 2026-12-01T07:40:00Z --owner 'M. Keller (IC)' --reporter 'Payment provider' \
    --reporter-contact fraud@psp.example --examiner 'A. Responder' --to $work/evidence -q" || [ $? -eq 3 ]
done
"$bin" annotate "$work/evidence/INC-2026-042/web01" --action "web01 isolated from the network (switch port 14 shut)" --at 2026-12-01T08:05:00Z --key "$work/alice" >/dev/null
"$bin" annotate "$work/evidence/INC-2026-042/web02" --action "admin and database passwords reset" --at 2026-12-01T08:20:00Z --key "$work/bob" >/dev/null
rm -f "$out/case.html" "$out/case.png"
"$bin" report "$work/evidence/INC-2026-042" --format html -o "$out/case.html" --allowed-signers "$work/allowed_signers" || [ $? -eq 1 ]
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1200,3000 --screenshot="$out/case.png" "file://$(realpath "$out/case.html")" 2>/dev/null
echo "report-screenshot: $out/case.html, $out/case.png"
