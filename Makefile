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
OCB_VERSION := 0.164.0

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

.PHONY: test-rust
test-rust:
	$(CARGO) test --locked

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

# ---- Everything ---------------------------------------------------------------

.PHONY: test
test: test-rust test-c

.PHONY: clean
clean:
	rm -rf target build bin
