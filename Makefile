# auditchain: build, run and test everything from a fresh clone.
#
#   make run        build the collector and start it on distribution/config.yaml
#   make test       every test (Rust, C, Go, end to end)
#   make collector  bin/otelcol-audit, built by ocb with the auditchain processor
#   make bench      benchmarks that print figures

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# Pinned tool versions: builds repeat.
# ocb and every component in distribution/manifest.yaml move together (ocb
# checks it). 0.161.0, not newer: from 0.163.0 the otlp exporters need the
# module go.opentelemetry.io/collector/internal/statusutil, which the module
# proxy does not serve (403, every version); see distribution/manifest.yaml.
OCB_VERSION := 0.161.0

ROOT      := $(abspath .)
TOOLS     := $(ROOT)/.tools
OCB       := $(TOOLS)/builder-v$(OCB_VERSION)
CARGO     ?= cargo
GO        ?= go
PYTHON    ?= python3
VENV      := $(ROOT)/.venv

RUST_SRC  := $(shell find src -name '*.rs') Cargo.toml Cargo.lock build.rs cbindgen.toml
STATICLIB := target/release/libauditchain.a
CLI       := target/release/auditchain
COLLECTOR := bin/otelcol-audit

.PHONY: help
help:
	@sed -n 's/^#   //p' Makefile

# ---- Rust core, C ABI and CLI ---------------------------------------------

$(STATICLIB) $(CLI) &: $(RUST_SRC)
	$(CARGO) build --release --locked
	@touch $(STATICLIB) $(CLI)

.PHONY: lib cli header
lib: $(STATICLIB)
cli: $(CLI)

# Regenerate the committed C header after changing the C ABI (src/ffi);
# tests/header.rs fails until it is regenerated and committed.
header:
	AUDITCHAIN_WRITE_HEADER=1 $(CARGO) build --locked --lib

.PHONY: test-rust lint-rust
test-rust: lint-rust
	$(CARGO) test --locked

lint-rust:
	$(CARGO) fmt --check
	$(CARGO) clippy --locked --all-targets -- -D warnings

# ---- C test of the header ---------------------------------------------------

build/c/test_ffi: tests/c/test_ffi.c include/auditchain.h $(STATICLIB)
	@mkdir -p build/c
	$(CC) -std=c11 -Wall -Wextra -Werror -g -Iinclude -o $@ $< $(STATICLIB) -lm -ldl -lpthread

.PHONY: test-c
test-c: build/c/test_ffi
	./build/c/test_ffi
	@if command -v valgrind >/dev/null; then \
	  valgrind --quiet --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite ./build/c/test_ffi; \
	else echo "valgrind not installed: leak check skipped"; fi

# ---- Go shim ------------------------------------------------------------------

# The shim's tests link the static library; -count=1 because Go's test cache
# cannot see a changed libauditchain.a. Also: the package must build and its
# tests pass without cgo (creating the processor then fails, clearly).
.PHONY: test-go
test-go: $(STATICLIB)
	cd go-wrapper && $(GO) vet ./... && $(GO) test -race -count=1 ./...
	cd go-wrapper && CGO_ENABLED=0 $(GO) vet ./... && CGO_ENABLED=0 $(GO) test -count=1 ./...
	@test -z "$$(cd go-wrapper && gofmt -l .)" || { echo "gofmt: files need formatting:"; cd go-wrapper && gofmt -l .; exit 1; }

# ---- Collector (ocb) ---------------------------------------------------------
#
# ocb resolves every relative path in the manifest (output_path, path:)
# against the directory it runs in: always run it from the repository root.
# GOWORK=off: a go.work above the generated module must not leak into it.

MANIFEST       := distribution/manifest.yaml
OCB_OUT        := build/otelcol-audit
# What the collector binary is made of besides the manifest and the static
# library: the shim's sources (not its tests), go.mod/go.sum and C files.
GO_WRAPPER_SRC := $(shell find go-wrapper -type f \( -name '*.go' -o -name '*.c' -o -name '*.h' -o -name go.mod -o -name go.sum \) \
                    ! -name '*_test.go' ! -path '*/testdata/*' 2>/dev/null)
# Content of the Rust side as the collector sees it. The stamp changes only
# when libauditchain.a or the header really change, so that a rebuild of the
# CLI alone does not relink the collector.
CORE_STAMP     := build/stamps/core.sha256

# The builder binary carries its version in its name: a new OCB_VERSION
# installs a new builder and so rebuilds the collector.
$(OCB):
	@mkdir -p $(TOOLS)/.ocb-install
	GOBIN=$(TOOLS)/.ocb-install GOWORK=off $(GO) install go.opentelemetry.io/collector/cmd/builder@v$(OCB_VERSION)
	mv $(TOOLS)/.ocb-install/builder $@
	@rmdir $(TOOLS)/.ocb-install

.PHONY: ocb
ocb: $(OCB)

$(CORE_STAMP): $(STATICLIB) include/auditchain.h
	@mkdir -p $(@D)
	@sha256sum $(STATICLIB) include/auditchain.h > $@.new
	@if cmp -s $@.new $@; then rm $@.new; else mv $@.new $@; fi

# Go's build cache cannot see either Rust input: libauditchain.a is named in
# #cgo LDFLAGS (read by the linker, never hashed), and ../include/auditchain.h
# lies outside the package. Measured: with the old binary in place `go build`
# keeps it ("up to date") after the .a changed. So
#  - the old binary is removed first, which makes go build relink and read the
#    current .a (a relink, not a rebuild: the Go packages come from the cache);
#  - the header's hash goes into CGO_CPPFLAGS, which is part of every cgo
#    package's cache key, so a changed header recompiles the cgo packages
#    (the shim, runtime/cgo, net, os/user: seconds, not the whole tree as
#    `-a` would).
$(COLLECTOR): $(MANIFEST) $(GO_WRAPPER_SRC) $(CORE_STAMP) $(OCB)
	@mkdir -p $(@D)
	@distribution/collector-versions.sh check $(OCB_VERSION)
	rm -f $(OCB_OUT)/otelcol-audit
	GOWORK=off CGO_CPPFLAGS="-DAUDITCHAIN_H_SHA256=$$(sha256sum include/auditchain.h | cut -c1-16)" \
	  $(OCB) --config $(MANIFEST)
	install -m 0755 $(OCB_OUT)/otelcol-audit $@
	@echo "built $@ ($$(du -h $@ | cut -f1))"

.PHONY: collector
collector: $(COLLECTOR)

# ---- Run ----------------------------------------------------------------------------

# From the repository root: distribution/config.yaml writes ./data/audit.jsonl
# and keeps the chain state in ./state. Stop with Ctrl-C (a clean stop ends
# the stream), then: target/release/auditchain verify ./data
.PHONY: run
run: $(COLLECTOR) $(CLI)
	@install -d -m 0750 data state
	./$(COLLECTOR) --config distribution/config.yaml

# ---- End-to-end test -----------------------------------------------------------

# Python virtualenv for the end-to-end test, pinned by tests/e2e/requirements.txt.
VENV_STAMP := $(VENV)/.requirements.sha256

$(VENV_STAMP): tests/e2e/requirements.txt
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r tests/e2e/requirements.txt
	@sha256sum tests/e2e/requirements.txt > $@

.PHONY: venv
venv: $(VENV_STAMP)

# Builds what the test runs (the test itself builds nothing), then runs it.
.PHONY: test-e2e
test-e2e: $(COLLECTOR) $(CLI) $(VENV_STAMP)
	$(VENV)/bin/python -m pytest -p no:cacheprovider tests/e2e

# ---- Crash test ------------------------------------------------------------------

# Issue 4: a keyed, signed gateway forwarding through a persistent queue to a
# store is SIGKILLed CRASH_KILLS (12) times under OTLP load and restarted on
# the same state, the store (examples/store.yaml) CRASH_STORE_KILLS (3) times;
# issue 13: the default config (distribution/config.yaml, writing the files
# itself) is SIGKILLed CRASH_FILE_KILLS (8) times. No acknowledged record may
# be lost, no sequence number forked, and `auditchain verify` must pass.
# Prints its figures. Env: CRASH_SEED (repeat a kill schedule), CRASH_KILLS,
# CRASH_STORE_KILLS, CRASH_FILE_KILLS, CRASH_SENDERS.
.PHONY: crash-test
crash-test: $(COLLECTOR) $(CLI) $(VENV_STAMP)
	$(VENV)/bin/python -m pytest -p no:cacheprovider -s tests/e2e/crash_consistency.py

# ---- End-to-end benchmark ------------------------------------------------------

# The collector's CPU time per record with and without auditchain (file and
# discarding sinks), and the verifier's speed on the result. Env: BENCH_RECORDS,
# BENCH_BATCH, BENCH_SENDERS (see tests/e2e/bench_collector.py).
.PHONY: bench bench-e2e
bench-e2e: $(COLLECTOR) $(CLI) $(VENV_STAMP)
	$(VENV)/bin/python tests/e2e/bench_collector.py

# Criterion benchmarks of the Rust core: hashing from protobuf and JSON,
# stamping, verifying (per-record figures in target/criterion).
.PHONY: bench-rust bench-go
bench-rust:
	$(CARGO) bench --locked --bench core -- --warm-up-time 1 --measurement-time 3

# Go benchmarks of the shim: ConsumeLogs end to end and writing stamps.
bench-go: $(STATICLIB)
	cd go-wrapper && $(GO) test -run '^$$' -bench . -benchtime 2s -count 1 .

bench: bench-rust bench-go bench-e2e

# ---- Everything ---------------------------------------------------------------

.PHONY: test
test: test-rust test-c test-go test-e2e crash-test

.PHONY: clean
clean:
	rm -rf target build bin
