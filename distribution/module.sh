#!/usr/bin/env bash
# Makes a self-contained version of the Go module
# github.com/auditchain/auditchain/go-wrapper: the shim's files, the C header
# and the Rust core prebuilt as a static library for each platform
# (lib/<goos>_<goarch>/libauditchain.a, chosen by the #cgo lines of
# engine_cgo.go), with lib/BUILDINFO recording how each library was built.
# Then writes it as a module zip into a directory laid out as a GOPROXY.
# `make module VERSION=vX.Y.Z` runs it from the repository root.
#
#   distribution/module.sh [--out DIR] [--platforms "linux_amd64 linux_arm64"] vX.Y.Z
#
#   DIR/tree/vX.Y.Z/   the module tree (what the zip holds)
#   DIR/proxy/         the GOPROXY directory: GOPROXY=file://<abs DIR>/proxy,...
#   DIR/vX.Y.Z.sum     the version's go.sum lines
#
# Every platform is built by the same command, `cargo rustc --release
# --locked --lib --crate-type staticlib --target <triple>` (only the
# staticlib: the cdylib would need a linker for the target). Without
# --platforms: every platform whose Rust target is installed (rustup target
# add aarch64-unknown-linux-gnu), with a note for each one skipped; a
# platform named in --platforms must build.
set -euo pipefail
cd "$(dirname "$0")/.."

MODULE=github.com/auditchain/auditchain/go-wrapper
out=build/module
platforms=""
while [[ $# -gt 1 ]]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --platforms) platforms=$2; shift 2 ;;
    *) break ;;
  esac
done
version=${1:-}
if [[ $# -ne 1 || ! "$version" =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; then
  echo "usage: $0 [--out DIR] [--platforms \"linux_amd64 linux_arm64\"] vX.Y.Z  (got '${*:-}')" >&2
  exit 2
fi

triple() {
  case "$1" in
    linux_amd64) echo x86_64-unknown-linux-gnu ;;
    linux_arm64) echo aarch64-unknown-linux-gnu ;;
    *) echo "module: no Rust target known for platform $1 (known: linux_amd64 linux_arm64)" >&2; return 1 ;;
  esac
}
installed() { [[ -d "$(rustc --print sysroot)/lib/rustlib/$1/lib" ]]; }

if [[ -z "$platforms" ]]; then
  for p in linux_amd64 linux_arm64; do
    t=$(triple "$p")
    if installed "$t"; then
      platforms+=" $p"
    else
      echo "module: skipping $p: the Rust target $t is not installed (rustup target add $t)" >&2
    fi
  done
fi
platforms=$(xargs <<<"$platforms")
[[ -n "$platforms" ]] || { echo "module: no platform to build" >&2; exit 1; }

tree=$out/tree/$version
rm -rf "$tree"
mkdir -p "$tree/lib" "$out/proxy"

# The shim's files, as in the working tree: tracked and new (not ignored)
# files. The header symlink becomes a copy; any other link is an error
# (the module zip cannot hold links, and the module must not reach outside
# itself).
while IFS= read -r -d '' f; do
  rel=${f#go-wrapper/}
  [[ -e "$f" || -L "$f" ]] || continue # deleted in the working tree
  mkdir -p "$tree/$(dirname "$rel")"
  if [[ -L "$f" ]]; then
    [[ "$rel" == auditchain.h ]] || { echo "module: $f is a symbolic link; a module cannot hold one" >&2; exit 1; }
    cp -L "$f" "$tree/$rel"
  else
    cp -p "$f" "$tree/$rel"
  fi
done < <(git ls-files -z --cached --others --exclude-standard -- go-wrapper)
cmp -s include/auditchain.h "$tree/auditchain.h" || { echo "module: go-wrapper/auditchain.h differs from include/auditchain.h" >&2; exit 1; }

commit=$(git rev-parse HEAD)
dirty=false
[[ -z "$(git status --porcelain -- go-wrapper src include Cargo.toml Cargo.lock build.rs cbindgen.toml)" ]] || dirty=true
commit_time=$(git log -1 --format=%cI HEAD)
sha() { sha256sum "$1" | cut -d' ' -f1; }

info=$tree/lib/BUILDINFO
{
  echo "# The prebuilt Rust core of $MODULE $version."
  echo "# Reproduce: git checkout $commit && make module VERSION=$version"
  echo "# with the same rustc and CARGO_HOME (crate sources' paths under it are in the libraries);"
  echo "# then compare each lib/...sha256 below with sha256sum. Read by header_test.go."
  echo "module=$MODULE"
  echo "version=$version"
  echo "source_commit=$commit"
  echo "source_dirty=$dirty"
  echo "cargo_lock_sha256=$(sha Cargo.lock)"
  echo "rustc=$(rustc --version)"
  echo "rustc_host=$(rustc -vV | sed -n 's/^host: //p')"
  echo "rustc_llvm=$(rustc -vV | sed -n 's/^LLVM version: //p')"
  echo "cargo=$(cargo --version)"
  echo "cargo_home=${CARGO_HOME:-$HOME/.cargo}"
  echo "header_sha256=$(sha "$tree/auditchain.h")"
} >"$info"

for p in $platforms; do
  t=$(triple "$p")
  installed "$t" || { echo "module: the Rust target $t for $p is not installed: rustup target add $t" >&2; exit 1; }
  cmd=(cargo rustc --release --locked --lib --crate-type staticlib --target "$t")
  echo "module: $p: ${cmd[*]}" >&2
  "${cmd[@]}"
  lib=lib/$p/libauditchain.a
  install -m 0644 "target/$t/release/libauditchain.a" "$tree/$lib"
  {
    echo "$lib.target=$t"
    echo "$lib.command=${cmd[*]}"
    echo "$lib.sha256=$(sha "$tree/$lib")"
  } >>"$info"
done

abs_tree=$(cd "$tree" && pwd)
abs_proxy=$(cd "$out/proxy" && pwd)
sums=$(cd go-wrapper && GOWORK=off CGO_ENABLED=0 go run ./internal/tools/modzip \
  -dir "$abs_tree" -module "$MODULE" -version "$version" -proxy "$abs_proxy" -time "$commit_time")
echo "$sums" >"$out/$version.sum"

echo "module: $MODULE $version for $platforms$([[ $dirty == true ]] && echo ' (from uncommitted changes)')"
echo "  tree:  $tree"
echo "  proxy: $abs_proxy  (GOPROXY=file://$abs_proxy,$(go env GOPROXY))"
echo "$sums" | sed 's/^/  go.sum: /'
