# custos — see README.md. Every target works on a fresh clone with Go installed.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# Reproducible, static builds: no cgo, no paths, no build ID, no VCS stamp.
LDFLAGS := -s -w -buildid= -X main.version=$(VERSION)
GOBUILD := CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=false
BUILD := $(GOBUILD) -ldflags "$(LDFLAGS)"
PLATFORMS := linux/amd64 linux/arm64 windows/amd64 darwin/arm64
TEST_TIMEOUT ?= 14m
# The pinned Go tools (scripts/tools/go.mod), built by scripts/provision.sh.
TOOLS ?= $(HOME)/.cache/custos-tools
TESTSUM := $(GO) run ./internal/cmd/testsum

.PHONY: build dist repro release test integration bench bench-load bench-remote bench-many demo fuzz clean

# custos-host is the collector alone, without the S3 client and the
# responder's commands (10 MB, not 22), that custos remote copies to each
# host; custos records its SHA-256 (-X main.hostBuilds) and sends only
# that file.
build:
	$(BUILD) -tags custos_host -o custos-host ./cmd/custos
	$(GOBUILD) -ldflags "$(LDFLAGS) -X main.hostBuilds=$$($(GO) env GOOS)/$$($(GO) env GOARCH)=$$(sha256sum custos-host | cut -d' ' -f1)" -o custos ./cmd/custos

# The host builds first (not for Windows, which custos remote does not
# reach), then each full build with the list of their SHA-256s.
dist:
	@mkdir -p dist
	@set -e; hb=; for p in $(PLATFORMS); do \
	  os=$${p%/*}; arch=$${p#*/}; [ $$os = windows ] && continue; \
	  echo "build dist/custos-host-$$os-$$arch"; \
	  GOOS=$$os GOARCH=$$arch $(BUILD) -tags custos_host -o dist/custos-host-$$os-$$arch ./cmd/custos; \
	  hb=$$hb$${hb:+,}$$p=$$(sha256sum dist/custos-host-$$os-$$arch | cut -d' ' -f1); \
	done; \
	for p in $(PLATFORMS); do \
	  os=$${p%/*}; arch=$${p#*/}; ext=; [ $$os = windows ] && ext=.exe; \
	  echo "build dist/custos-$$os-$$arch$$ext"; \
	  GOOS=$$os GOARCH=$$arch $(GOBUILD) -ldflags "$(LDFLAGS) -X main.hostBuilds=$$hb" -o dist/custos-$$os-$$arch$$ext ./cmd/custos; \
	done
	cd dist && sha256sum custos-* > SHA256SUMS
	bash scripts/sbom.sh dist/custos.cdx.json

# Two clones at different paths build byte-identical binaries.
repro:
	bash scripts/repro.sh

# make release KEY=~/.ssh/id_ed25519: dist, then SHA256SUMS signed with SSHSIG
# (namespace custos-release), checked by ssh-keygen -Y verify (README).
release: dist
	@[ -n "$(KEY)" ] || { echo "make release needs KEY=PRIVATE_KEY (an SSH key that signs releases)"; exit 2; }
	rm -f dist/SHA256SUMS.sig
	ssh-keygen -Y sign -f "$(KEY)" -n custos-release dist/SHA256SUMS
	@echo "signed dist/SHA256SUMS: dist/SHA256SUMS.sig"

# Everything, on a fresh machine: provisions the tools and services first
# (scripts/provision.sh), then fails, never skips, when one is missing
# (CI=true), and ends with a summary of what ran.
test: export PATH := $(TOOLS):$(PATH)
test: export CUSTOS_VERSITYGW := $(TOOLS)/versitygw
test: export CI := true
test:
	@bash scripts/provision.sh test
	$(GO) vet ./...
	GOOS=windows $(GO) vet ./...
	$(TOOLS)/staticcheck ./...
	@set -o pipefail; $(GO) test -json -timeout $(TEST_TIMEOUT) ./... | $(TESTSUM) -q -title "make test"
	@# The concurrent parts (parallel artifacts, abandoned sources, stores) again under the race detector.
	@set -o pipefail; $(GO) test -race -json -timeout $(TEST_TIMEOUT) ./collect/... ./storage/... | $(TESTSUM) -q -title "make test (race)"

integration: export PATH := $(TOOLS):$(PATH)
integration: export CUSTOS_VERSITYGW := $(TOOLS)/versitygw
integration: export CI := true
integration:
	@bash scripts/provision.sh integration
	@set -o pipefail; $(GO) test -json -tags integration -timeout 60m ./... | $(TESTSUM) -q -title "make integration"

bench: build
	bash scripts/bench.sh
	bash scripts/bench-linux.sh
	bash scripts/bench-many.sh

bench-remote: build
	bash scripts/bench-remote.sh

bench-many: build
	bash scripts/bench-many.sh

bench-load: build
	bash scripts/load.sh

# Every parser of outside data, FUZZTIME each (a breached host writes the
# stream, notes, records and manifests; anyone may hand us SHA256SUMS).
FUZZTIME ?= 20s
FUZZ := ./custody:FuzzParse ./custody:FuzzParseSums ./custody:FuzzParseRecord \
	./custody:FuzzParseCountersignature ./custody:FuzzReceiverNotes \
	./custody/sshsig:FuzzParse ./custody/allowedsigners:FuzzParse \
	./storage/streamstore:FuzzIngest ./storage/s3store:FuzzParseURL ./storage/s3store:FuzzSanitizeTagValue \
	./internal/jsonx:FuzzCheck ./internal/jsonx:FuzzCheckReference ./internal/term:FuzzClean ./collect/apps/magento:FuzzParseArray \
	./profiles:FuzzParse ./collect/live:FuzzProcParsers ./collect/live:FuzzMoreProcParsers ./collect/windows:FuzzRedact ./collect/windows:FuzzApplicationHost \
	./collect/windows:FuzzNTFS ./collect/windows:FuzzFirewallRule ./collect/windows:FuzzIPNetTable2 \
	./collect/ioc:FuzzParse ./collect/ioc:FuzzTextReference ./collect/ioc:FuzzMarks ./collect/ioc:FuzzFilter ./collect/cardscan:FuzzScan ./collect/cardscan:FuzzChunksCount ./collect/cardscan:FuzzCountKernel ./collect/cardscan:FuzzBlocks ./internal/sha256x:FuzzWriteBoth ./collect/hostfile:FuzzWalkLinkText ./collect/paxtar:FuzzRoundTrip ./collect/apps:FuzzConfigParsers ./collect/redact:FuzzShadow ./collect/pkgdb:FuzzPackageDatabases ./custody:FuzzEscapePath

fuzz:
	@set -e; for t in $(FUZZ); do pkg=$${t%%:*}; fn=$${t#*:}; \
	  echo "fuzz $$pkg $$fn ($(FUZZTIME))"; \
	  $(GO) test $$pkg -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME); \
	done

# The README's first command: a throwaway key, a collection of this machine
# with the embedded default profile into ./evidence-demo/, then verify with
# decryption. Exit 3 (partial: some files unreadable without root) is fine.
demo: build
	@set -e; key=$$(mktemp -d)/demo.key; \
	./custos keygen -o $$key > $$key.pub; \
	./custos collect --case DEMO --examiner "$$(id -un)" --note "make demo" \
	  --recipients-file $$key.pub --to ./evidence-demo || [ $$? -eq 3 ]; \
	./custos verify "$$(ls -td ./evidence-demo/DEMO/*/*/ | head -n 1)" --identity $$key; \
	echo "demo key: $$key (throwaway)"

clean:
	rm -rf custos custos-host dist evidence-demo
