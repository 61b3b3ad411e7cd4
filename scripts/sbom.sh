#!/usr/bin/env bash
# The SBOM of a release (CycloneDX, from the module graph), checked to list
# every module the build and the tests use.
#   bash scripts/sbom.sh OUT.json
set -euo pipefail
cd "$(dirname "$0")/.."
out=$1
tools=${CUSTOS_TOOLS:-$HOME/.cache/custos-tools}
[ -x "$tools/cyclonedx-gomod" ] || bash scripts/provision.sh tools
"$tools/cyclonedx-gomod" mod -json -noserial -notimestamp -test -output "$out" . 2>/dev/null
missing=$(go list -deps -test -f '{{with .Module}}{{if not .Main}}{{.Path}}@{{.Version}}{{end}}{{end}}' ./... | sort -u |
  while read -r m; do grep -q "\"purl\": \"pkg:golang/${m%@*}@${m#*@}" "$out" || echo "$m"; done)
if [ -n "$missing" ]; then
  echo "sbom: $out lacks modules the build uses: $missing" >&2
  exit 1
fi
echo "sbom: $out lists $(grep -c '"purl": "pkg:golang/' "$out") modules, every one the build and tests use among them"
