#!/usr/bin/env bash
# One collector release for the whole build. ocb refuses a build whose Go
# module graph selects another collector version than the manifest names
# (strict versioning), and Go selects the highest version that any module
# requires, so go-wrapper/go.mod must not require a newer collector than
# distribution/manifest.yaml.
#
#   distribution/collector-versions.sh check [OCB_VERSION]
#       exit 1 with a clear message when the manifest, OCB_VERSION and
#       go-wrapper/go.mod disagree (run by `make collector` before ocb)
#   distribution/collector-versions.sh pin
#       rewrite go-wrapper/go.mod (go get + go mod tidy) so that every
#       go.opentelemetry.io/collector module is at the manifest's release
#
# The release is read from the manifest: the beta version (v0.x) from the
# otlp receiver, the stable version (v1.x) from the confmap providers.
set -euo pipefail
cd "$(dirname "$0")/.."

manifest=distribution/manifest.yaml
gomod=go-wrapper/go.mod

beta=$(sed -n 's|^ *- gomod: go.opentelemetry.io/collector/receiver/otlpreceiver \(v0\.[0-9.]*\).*|\1|p' "$manifest")
stable=$(sed -n 's|^ *- gomod: go.opentelemetry.io/collector/confmap/provider/[a-z]* \(v1\.[0-9.]*\).*|\1|p' "$manifest" | sort -u)
if [[ -z "$beta" || -z "$stable" || $(wc -l <<<"$stable") != 1 ]]; then
  echo "collector-versions: cannot read the release from $manifest (beta '$beta', stable '$stable')" >&2
  exit 2
fi

check() {
  local ocb_version=${1:-} bad=0
  if [[ -n "$ocb_version" && "v$ocb_version" != "$beta" ]]; then
    echo "OCB_VERSION is $ocb_version but $manifest pins the collector at $beta" >&2
    bad=1
  fi
  # Every component in the manifest at the same release (contrib follows core's beta number).
  while read -r mod ver; do
    case "$mod" in
      github.com/auditchain/*) continue ;;
      go.opentelemetry.io/collector/*) want=$([[ $ver == v1.* ]] && echo "$stable" || echo "$beta") ;;
      *) want=$beta ;;
    esac
    if [[ "$ver" != "$want" ]]; then
      echo "$manifest: $mod $ver, expected $want" >&2
      bad=1
    fi
  done < <(sed -n 's|^ *- gomod: \([^ ]*\) \([^ ]*\).*|\1 \2|p' "$manifest")
  # Every collector module the shim requires (direct or indirect) at the same release.
  if [[ -f "$gomod" ]]; then
    while read -r mod ver; do
      want=$([[ $ver == v1.* ]] && echo "$stable" || echo "$beta")
      if [[ "$ver" != "$want" ]]; then
        echo "$gomod: $mod $ver, but the distribution is built at $beta / $stable" >&2
        bad=1
      fi
    done < <(sed -n 's|^[[:space:]]*\(require[[:space:]]*\)\{0,1\}\(go\.opentelemetry\.io/collector/[^ ]*\) \(v[^ ]*\).*|\2 \3|p' "$gomod")
  fi
  if [[ $bad != 0 ]]; then
    echo "fix: keep OCB_VERSION and $manifest in step, and run: distribution/collector-versions.sh pin" >&2
    exit 1
  fi
}

pin() {
  cd go-wrapper
  local args
  args=$(GOWORK=off go list -m -f '{{.Path}} {{.Version}}' all | awk -v s="$stable" -v b="$beta" '
    $1 ~ /^go\.opentelemetry\.io\/collector\// { print $1 "@" ($2 ~ /^v1\./ ? s : b) }')
  # shellcheck disable=SC2086
  GOWORK=off go get $args
  GOWORK=off go mod tidy
  echo "go-wrapper/go.mod: collector modules at $beta / $stable"
}

case "${1:-check}" in
  check) check "${2:-}" ;;
  pin) pin ;;
  *) echo "usage: $0 check [OCB_VERSION] | pin" >&2; exit 2 ;;
esac
