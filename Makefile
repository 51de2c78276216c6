# auditchain: build, run and test everything from a fresh clone.
#
#   make run        build the collector and start it on distribution/config.yaml
#   make test       every test (Rust, C, Go, end to end)
#   make collector  bin/otelcol-audit, built by ocb with the auditchain processor
#   make bench      benchmarks that print figures
#   make man        man pages (auditchain.1 and one per subcommand) in build/man
#   make fuzz       every fuzz target for FUZZ_SECONDS (60) each (nightly Rust, cargo-fuzz)
#   make test-c-asan  the C tests under AddressSanitizer and UndefinedBehaviorSanitizer
#   make module VERSION=vX.Y.Z   the Go module with the prebuilt core, in a GOPROXY directory (build/module)

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

# The archive generator of the verifier's benchmark and memory test.
GEN_ARCHIVE := target/release/examples/gen_archive
$(GEN_ARCHIVE): $(RUST_SRC) examples/gen_archive.rs $(wildcard tests/support/*.rs)
	$(CARGO) build --release --locked --example gen_archive

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
	$(CARGO) clippy --locked --lib --bins -- -D warnings -W clippy::too_many_lines

# Man pages from the clap definitions (src/cli/mod.rs): build/man/auditchain.1
# and auditchain-<subcommand>.1; read one with `man -l build/man/auditchain-verify.1`.
# Shell completions come from the binary itself: `auditchain completions bash`.
MAN_DIR := build/man

.PHONY: man
man: $(CLI)
	rm -rf $(MAN_DIR).new
	./$(CLI) man --out-dir $(MAN_DIR).new
	rm -rf $(MAN_DIR) && mv $(MAN_DIR).new $(MAN_DIR)

# ---- C test of the header ---------------------------------------------------

build/c/test_ffi: tests/c/test_ffi.c include/auditchain.h $(STATICLIB)
	@mkdir -p build/c
	$(CC) -std=c11 -Wall -Wextra -Werror -g -Iinclude -o $@ $< $(STATICLIB) -lm -ldl -lpthread

build/c/test_rss: tests/c/test_rss.c include/auditchain.h $(STATICLIB)
	@mkdir -p build/c
	$(CC) -std=c11 -O2 -Wall -Wextra -Werror -g -Iinclude -o $@ $< $(STATICLIB) -lm -ldl -lpthread

# The C test natively and under valgrind; one million FFI calls with flat
# RSS (tests/c/test_rss.c prints the figures).
.PHONY: test-c
test-c: build/c/test_ffi build/c/test_rss
	./build/c/test_ffi
	@if command -v valgrind >/dev/null; then \
	  valgrind --quiet --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite ./build/c/test_ffi; \
	  valgrind --quiet --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite ./build/c/test_rss 20000 --no-rss-limit; \
	else echo "valgrind not installed: leak check skipped"; fi
	./build/c/test_rss 1000000

# ---- C test under AddressSanitizer and UndefinedBehaviorSanitizer ----------
#
# The staticlib built by nightly Rust with -Zsanitizer=address (--target, so
# that build scripts and proc macros are not instrumented), linked into the
# C tests by gcc with -fsanitize=address,undefined, whose runtime (libasan,
# libubsan) serves both. Leaks are checked by LeakSanitizer at exit.
ASAN_TARGET := x86_64-unknown-linux-gnu
ASAN_LIB    := target/asan/$(ASAN_TARGET)/release/libauditchain.a
SAN_CFLAGS  := -std=c11 -g -O1 -Wall -Wextra -Werror -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
SAN_ENV     := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

$(ASAN_LIB): $(RUST_SRC)
	RUSTFLAGS="-Zsanitizer=address" $(CARGO) +nightly build --locked --release --lib --target $(ASAN_TARGET) --target-dir target/asan

build/c/%_asan: tests/c/%.c include/auditchain.h $(ASAN_LIB)
	@mkdir -p build/c
	$(CC) $(SAN_CFLAGS) -Iinclude -o $@ $< $(ASAN_LIB) -lm -ldl -lpthread

.PHONY: test-c-asan
test-c-asan:
	@if ! $(CARGO) +nightly --version >/dev/null 2>&1; then \
	  echo "######## SKIPPED test-c-asan: no nightly Rust toolchain (rustup toolchain install nightly --profile minimal) ########"; \
	else $(MAKE) --no-print-directory build/c/test_ffi_asan build/c/test_rss_asan && \
	  $(SAN_ENV) ./build/c/test_ffi_asan && $(SAN_ENV) ./build/c/test_rss_asan 100000 --no-rss-limit && \
	  echo "C ABI under AddressSanitizer + UndefinedBehaviorSanitizer: no error, no leak"; fi

# ---- The Rust core inside the Go module ---------------------------------------
#
# The shim links lib/<goos>_<goarch>/libauditchain.a of its own module
# (go-wrapper/engine_cgo.go). In the repository that file is a link to the
# library cargo builds here (gitignored); in a module version made by
# `make module` it is a real, prebuilt file.
GO_PLATFORM := $(shell $(GO) env GOOS)_$(shell $(GO) env GOARCH)
GO_LIB      := go-wrapper/lib/$(GO_PLATFORM)/libauditchain.a

$(GO_LIB): $(STATICLIB)
	@mkdir -p $(@D)
	ln -sfn ../../../$(STATICLIB) $@

.PHONY: go-lib
go-lib: $(GO_LIB)

# ---- Go shim ------------------------------------------------------------------

# The shim's tests link the static library; -count=1 because Go's test cache
# cannot see a changed libauditchain.a. Also: the package must build and its
# tests pass without cgo (creating the processor then fails, clearly).
.PHONY: test-go
test-go: $(GO_LIB)
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
# #cgo LDFLAGS (go-wrapper/lib/<platform>/libauditchain.a, a link to
# target/release: read by the linker, never hashed), and the header is
# include/auditchain.h (the package holds a symlink to it). Measured: with
# the old binary in place `go build` keeps it ("up to date") after the .a
# changed. So
#  - the old binary is removed first, which makes go build relink and read the
#    current .a (a relink, not a rebuild: the Go packages come from the cache);
#  - the header's hash goes into CGO_CPPFLAGS, which is part of every cgo
#    package's cache key, so a changed header recompiles the cgo packages
#    (the shim, runtime/cgo, net, os/user: seconds, not the whole tree as
#    `-a` would).
$(COLLECTOR): $(MANIFEST) $(GO_WRAPPER_SRC) $(CORE_STAMP) $(GO_LIB) $(OCB)
	@mkdir -p $(@D)
	@distribution/collector-versions.sh check $(OCB_VERSION)
	rm -f $(OCB_OUT)/otelcol-audit
	GOWORK=off CGO_CPPFLAGS="-DAUDITCHAIN_H_SHA256=$$(sha256sum include/auditchain.h | cut -c1-16)" \
	  $(OCB) --config $(MANIFEST)
	install -m 0755 $(OCB_OUT)/otelcol-audit $@
	@echo "built $@ ($$(du -h $@ | cut -f1))"

.PHONY: collector
collector: $(COLLECTOR)

# The same collector linked fully static (glibc and libgcc's unwinder linked
# in), for bases without glibc (distroless/static, scratch, Alpine). netgo and
# osusergo keep Go's DNS and user lookups off glibc's NSS, which a static
# binary cannot load. The linker warns that the Rust std in libauditchain.a
# contains getaddrinfo and getpwuid_r calls: std::net and std::env::home_dir,
# which the core never calls. Built from the sources ocb generated for
# $(COLLECTOR), to a new file (so that the go command links it afresh).
COLLECTOR_STATIC := bin/otelcol-audit-static
STATIC_LDFLAGS   := -s -w -linkmode=external -extldflags=-static

$(COLLECTOR_STATIC): $(COLLECTOR)
	rm -f $@.new
	cd $(OCB_OUT) && GOWORK=off CGO_ENABLED=1 CGO_CPPFLAGS="-DAUDITCHAIN_H_SHA256=$$(sha256sum $(ROOT)/include/auditchain.h | cut -c1-16)" \
	  $(GO) build -trimpath -tags netgo,osusergo -ldflags='$(STATIC_LDFLAGS)' -o $(ROOT)/$@.new .
	mv $@.new $@
	@echo "built $@ ($$(du -h $@ | cut -f1))"

.PHONY: collector-static
collector-static: $(COLLECTOR_STATIC)

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

# Opens signed notes with golang.org/x/mod/sumdb/note for tests/e2e/test_hsm.py
# (its own module, pinned x/mod).
NOTEOPEN     := build/e2e/noteopen
NOTEOPEN_SRC := tests/e2e/noteopen/main.go tests/e2e/noteopen/go.mod tests/e2e/noteopen/go.sum

$(NOTEOPEN): $(NOTEOPEN_SRC)
	@mkdir -p $(@D)
	cd tests/e2e/noteopen && GOWORK=off $(GO) vet ./... && GOWORK=off $(GO) build -o $(ROOT)/$@ .
	@test -z "$$(gofmt -l tests/e2e/noteopen)" || { echo "gofmt: files need formatting:"; gofmt -l tests/e2e/noteopen; exit 1; }

# Builds what the test runs (the test itself builds nothing), then runs it.
.PHONY: test-e2e
test-e2e: $(COLLECTOR) $(COLLECTOR_STATIC) $(CLI) $(GEN_ARCHIVE) $(NOTEOPEN) $(VENV_STAMP)
	AUDITCHAIN_NOTEOPEN=$(ROOT)/$(NOTEOPEN) $(VENV)/bin/python -m pytest -p no:cacheprovider tests/e2e

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
bench-go: $(GO_LIB)
	cd go-wrapper && $(GO) test -run '^$$' -bench . -benchtime 2s -count 1 .

# Issue 12's side-by-side: none / attributes / transform SHA256(body) /
# auditchain plain / auditchain keyed, with the nop and the file exporter,
# interleaved over rounds, each driven to saturation by separate load
# processes; prints records/s, collector CPU µs/record, peak RSS, bytes per
# exported record and same-round ratios. Env: BENCH_ROUNDS, BENCH_SECONDS,
# BENCH_BATCH, BENCH_SENDERS, BENCH_PROCESSES, BENCH_PIPELINES, BENCH_JSON
# (see tests/e2e/bench_pipelines.py). Run it on an otherwise idle machine.
.PHONY: bench-collector
bench-collector: $(COLLECTOR) $(CLI) $(VENV_STAMP)
	$(VENV)/bin/python tests/e2e/bench_pipelines.py

# Issue 11's verifier benchmark: `auditchain verify` on 1 and all CPUs over
# an engine-stamped archive (1 stream in order, 16 streams shuffled), next
# to openssl dgst -sha256, sha256sum and parse-only over the same files;
# peak RSS. BENCH_VERIFY_RECORDS (default 1000000; ~1.1 KB of disk each),
# BENCH_VERIFY_DIR (default build/bench/verify; archives are kept).
.PHONY: bench-verify
bench-verify:
	$(CARGO) build --release --locked --bin auditchain --example gen_archive
	python3 tests/bench/verify_bench.py

bench: bench-rust bench-go bench-e2e bench-collector bench-verify

# ---- Go module with the prebuilt core ----------------------------------------
#
# `make module VERSION=vX.Y.Z` (default: v + the crate's version) writes the
# module github.com/auditchain/auditchain/go-wrapper at that version, with
# the Rust core prebuilt for linux/amd64 and, where its Rust target is
# installed, linux/arm64 (MODULE_PLATFORMS="linux_amd64" to choose), into
# build/module/proxy, a directory in GOPROXY layout; lib/BUILDINFO in the
# module records the toolchain and each library's sha256. See
# distribution/module.sh and distribution/README.md.
VERSION          ?= v$(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
MODULE_PLATFORMS ?=

.PHONY: module
module:
	distribution/module.sh $(if $(MODULE_PLATFORMS),--platforms "$(MODULE_PLATFORMS)") $(VERSION)

# A user's build: ocb in an empty directory on a manifest that names the
# module by `gomod:` and version only, GOPROXY pointing at a module proxy
# directory made like `make module` (host platform only, in its own
# directory), then the collector it built stamps records.
E2E_MODULE := build/e2e-module

.PHONY: test-module
test-module: $(OCB) $(CLI) $(VENV_STAMP)
	distribution/module.sh --out $(E2E_MODULE) --platforms $(GO_PLATFORM) $(VERSION)
	AUDITCHAIN_OCB=$(OCB) AUDITCHAIN_MODULE_PROXY=$(ROOT)/$(E2E_MODULE)/proxy AUDITCHAIN_MODULE_VERSION=$(VERSION) \
	  $(VENV)/bin/python -m pytest -p no:cacheprovider tests/e2e/module_build.py

# ---- Fuzzing (cargo-fuzz on nightly Rust) -------------------------------------
#
# fuzz/: libFuzzer targets over the canonical readers (protobuf, JSON, and a
# differential target: both must give the same bytes), the whole verifier
# with keys loaded, and the note/key/time/range/lineage parsers. Their seed
# corpora (fuzz/corpus/<target>, from tests/vectors and engine output: `make
# fuzz-seeds`) are committed; inputs that once crashed or hung live in
# fuzz/regressions/<target> and are replayed by `cargo test`
# (tests/fuzz_regressions.rs). New inputs go to build/fuzz, never into the
# committed corpus.
#   make fuzz        every target for FUZZ_SECONDS (60) each
#   make test-fuzz   every target for 5 s over its corpus (part of make test)
CARGO_FUZZ_VERSION := 0.13.1
CARGO_FUZZ         := $(TOOLS)/cargo-fuzz-v$(CARGO_FUZZ_VERSION)/bin/cargo-fuzz
FUZZ_TARGETS       := canonical_proto canonical_json canonical_differential verify parsers json_differential
FUZZ_SECONDS       ?= 60
FUZZ_FLAGS          = -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1

# Built with stable (its own dependencies do not build on nightly); it runs
# `cargo +nightly` itself.
$(CARGO_FUZZ):
	$(CARGO) +stable install --locked --root $(TOOLS)/cargo-fuzz-v$(CARGO_FUZZ_VERSION) cargo-fuzz --version $(CARGO_FUZZ_VERSION)

# $(1): seconds per target; $(2): the directory new inputs go to (emptied
# first when $(3) is "fresh").
define run_fuzz
	@if ! $(CARGO) +nightly --version >/dev/null 2>&1; then \
	  echo "######## SKIPPED fuzzing: no nightly Rust toolchain (rustup toolchain install nightly --profile minimal) ########"; \
	else cd fuzz && RUSTUP_TOOLCHAIN=nightly $(CARGO_FUZZ) build -O && for t in $(FUZZ_TARGETS); do \
	  if [ "$(3)" = fresh ]; then rm -rf $(2)/$$t; fi; \
	  mkdir -p $(2)/$$t $(ROOT)/build/fuzz/artifacts/$$t regressions/$$t; \
	  log=$(ROOT)/build/fuzz/$$t.log; \
	  echo "::: fuzz $$t for $(1)s (log: build/fuzz/$$t.log)"; \
	  RUSTUP_TOOLCHAIN=nightly $(CARGO_FUZZ) run -O $$t $(2)/$$t corpus/$$t regressions/$$t -- \
	    $(FUZZ_FLAGS) -max_total_time=$(1) -artifact_prefix=$(ROOT)/build/fuzz/artifacts/$$t/ >$$log 2>&1 \
	    || { tail -40 $$log; echo "fuzz target $$t FAILED: the input is in build/fuzz/artifacts/$$t; keep it in fuzz/regressions/$$t"; exit 1; }; \
	  grep -E '^(#[0-9]+ +(INITED|DONE)|stat::number_of_executed_units|stat::peak_rss_mb|INFO: seed corpus)' $$log || true; \
	done; fi
endef

.PHONY: fuzz test-fuzz fuzz-seeds
fuzz: $(CARGO_FUZZ)
	$(call run_fuzz,$(FUZZ_SECONDS),$(ROOT)/build/fuzz/corpus,keep)

test-fuzz: $(CARGO_FUZZ)
	$(call run_fuzz,5,$(ROOT)/build/fuzz/smoke,fresh)

fuzz-seeds:
	cd fuzz && $(CARGO) run --locked --release --bin seed_corpus

# ---- Everything ---------------------------------------------------------------

.PHONY: test
test: test-rust test-c test-c-asan test-fuzz test-go test-e2e test-module crash-test

.PHONY: clean
clean:
	rm -rf target build bin
	rm -f go-wrapper/lib/*/libauditchain.a

# ---- Witnesses (C2SP tlog-witness) ---------------------------------------------
#
# Real, independent witnesses for tests/witness, pinned and installed like
# ocb: versioned file names in .tools/, GOWORK=off go install from the module
# proxy, compiled with the Go installed here (GOTOOLCHAIN is not raised).
#  - litewitness + witnessctl, filippo.io/torchwood v0.6.1: the newest that
#    builds with Go 1.26 (v0.10.0, the only later one served, needs Go 1.27).
#  - omniwitness + its generate_keys, github.com/transparency-dev/witness: no
#    tagged releases, so an exact pseudo-version (its go.mod says go 1.25.0).
# See docs/WITNESSING-NOTES.md for what each does on the wire.
TORCHWOOD_VERSION   := 0.6.1
OMNIWITNESS_VERSION := 0.0.0-20260720115447-2e1c6971d19e

LITEWITNESS        := $(TOOLS)/litewitness-v$(TORCHWOOD_VERSION)
WITNESSCTL         := $(TOOLS)/witnessctl-v$(TORCHWOOD_VERSION)
OMNIWITNESS        := $(TOOLS)/omniwitness-v$(OMNIWITNESS_VERSION)
OMNIWITNESS_KEYGEN := $(TOOLS)/omniwitness-generate_keys-v$(OMNIWITNESS_VERSION)
WITNESS_POC        := build/witness/poc
WITNESS_POC_SRC    := $(wildcard tests/witness/poc/*.go) tests/witness/poc/go.mod tests/witness/poc/go.sum

$(LITEWITNESS) $(WITNESSCTL) &:
	@rm -rf $(TOOLS)/.torchwood-install && mkdir -p $(TOOLS)/.torchwood-install
	GOBIN=$(TOOLS)/.torchwood-install GOWORK=off $(GO) install \
	  filippo.io/torchwood/cmd/litewitness@v$(TORCHWOOD_VERSION) \
	  filippo.io/torchwood/cmd/witnessctl@v$(TORCHWOOD_VERSION)
	mv $(TOOLS)/.torchwood-install/litewitness $(LITEWITNESS)
	mv $(TOOLS)/.torchwood-install/witnessctl $(WITNESSCTL)
	@rmdir $(TOOLS)/.torchwood-install

$(OMNIWITNESS) $(OMNIWITNESS_KEYGEN) &:
	@rm -rf $(TOOLS)/.omniwitness-install && mkdir -p $(TOOLS)/.omniwitness-install
	GOBIN=$(TOOLS)/.omniwitness-install GOWORK=off $(GO) install \
	  github.com/transparency-dev/witness/cmd/omniwitness@v$(OMNIWITNESS_VERSION) \
	  github.com/transparency-dev/witness/cmd/generate_keys@v$(OMNIWITNESS_VERSION)
	mv $(TOOLS)/.omniwitness-install/omniwitness $(OMNIWITNESS)
	mv $(TOOLS)/.omniwitness-install/generate_keys $(OMNIWITNESS_KEYGEN)
	@rmdir $(TOOLS)/.omniwitness-install

.PHONY: witness-tools
witness-tools: $(LITEWITNESS) $(WITNESSCTL) $(OMNIWITNESS) $(OMNIWITNESS_KEYGEN)

# The proof-of-concept tlog-witness client (its own module, pinned x/mod).
$(WITNESS_POC): $(WITNESS_POC_SRC)
	@mkdir -p $(@D)
	cd tests/witness/poc && GOWORK=off $(GO) vet ./... && GOWORK=off $(GO) build -o $(ROOT)/$@ .
	@test -z "$$(gofmt -l tests/witness/poc)" || { echo "gofmt: files need formatting:"; gofmt -l tests/witness/poc; exit 1; }

# The test tool over the Rust tlog core (examples/tlog_tool.rs): checkpoints,
# proofs and answers for tests/witness/test_tlog_core.py.
TLOG_TOOL := target/debug/examples/tlog_tool

$(TLOG_TOOL): $(RUST_SRC) examples/tlog_tool.rs
	$(CARGO) build --locked --example tlog_tool
	@touch $@

# tests/witness's own pins, in the same .venv as the e2e tests.
WITNESS_VENV_STAMP := $(VENV)/.witness-requirements.sha256

$(WITNESS_VENV_STAMP): tests/witness/requirements.txt $(VENV_STAMP)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r tests/witness/requirements.txt
	@sha256sum tests/witness/requirements.txt > $@

.PHONY: witness-venv
witness-venv: $(WITNESS_VENV_STAMP)

# Real witnesses (litewitness, omniwitness) against the proof-of-concept
# client: every documented add-checkpoint response, cosignatures checked by
# an independent implementation, restarts, timings; and against the
# collector itself (test_collector_witness.py: checkpoints cosigned and
# recorded, a witness down and back, a rolled-back state refused at start).
# Prints its figures.
.PHONY: test-witness
test-witness: witness-tools $(WITNESS_POC) $(TLOG_TOOL) $(WITNESS_VENV_STAMP) $(COLLECTOR) $(CLI)
	AUDITCHAIN_LITEWITNESS=$(LITEWITNESS) AUDITCHAIN_WITNESSCTL=$(WITNESSCTL) \
	AUDITCHAIN_OMNIWITNESS=$(OMNIWITNESS) AUDITCHAIN_OMNIWITNESS_KEYGEN=$(OMNIWITNESS_KEYGEN) \
	AUDITCHAIN_WITNESS_POC=$(ROOT)/$(WITNESS_POC) AUDITCHAIN_TLOG_TOOL=$(ROOT)/$(TLOG_TOOL) \
	  $(VENV)/bin/python -m pytest -p no:cacheprovider tests/witness

# Part of `make test`: the test itself takes seconds (the first build of the
# witnesses, from the module proxy, takes a minute or two).
test: test-witness
