"""A user's build of a collector with auditchain: ocb in an empty directory,
on a manifest that names the processor by `gomod:` and a version only (no
`path:`, no checkout, no Rust toolchain involved), with GOPROXY pointing first
at a module proxy directory made by distribution/module.sh, then at the
usual proxy. The collector it builds must stamp records that verify.

`make test-module` makes the proxy directory (host platform only) and runs
this file with AUDITCHAIN_OCB, AUDITCHAIN_MODULE_PROXY and
AUDITCHAIN_MODULE_VERSION set. Prints its figures (pytest -s).

The Go module cache is a fresh temporary one, as on a user's machine: a
version already in a shared cache would be used as it is there, never read
from the proxy directory again. The collector's other modules come from the
shared cache's download directory, which has the GOPROXY layout, through a
second file:// entry (no network for what is already there); the Go build
cache is shared, so only the cgo package and the link are new.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

import audit_client
from harness import REPO, Collector, free_port, tail, verify

MODULE = "github.com/auditchain/auditchain/go-wrapper"
OCB = os.environ.get("AUDITCHAIN_OCB", "")
PROXY = os.environ.get("AUDITCHAIN_MODULE_PROXY", "")
VERSION = os.environ.get("AUDITCHAIN_MODULE_VERSION", "")
BUILD_TIMEOUT_S = 900

# The collector release of distribution/manifest.yaml (the module's go.mod
# pins the same).
BETA = "v0.161.0"
STABLE = "v1.67.0"


def user_manifest(version: str) -> str:
    return f"""\
dist:
  name: otelcol-user
  description: a user's collector with auditchain from its module version
  module: example.com/otelcol-user
  output_path: ./out
  cgo_enabled: true
receivers:
  - gomod: go.opentelemetry.io/collector/receiver/otlpreceiver {BETA}
processors:
  - gomod: {MODULE} {version}
    name: auditchainprocessor
exporters:
  - gomod: github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter {BETA}
providers:
  - gomod: go.opentelemetry.io/collector/confmap/provider/envprovider {STABLE}
  - gomod: go.opentelemetry.io/collector/confmap/provider/fileprovider {STABLE}
"""


def go_env(name: str) -> str:
    return subprocess.run(["go", "env", name], capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture(scope="module")
def inputs():
    missing = [n for n, v in (("AUDITCHAIN_OCB", OCB), ("AUDITCHAIN_MODULE_PROXY", PROXY), ("AUDITCHAIN_MODULE_VERSION", VERSION)) if not v]
    if missing:
        pytest.fail(f"{', '.join(missing)} not set: run `make test-module`")
    escaped = MODULE  # no upper-case letters: no '!' escapes
    zip_path = Path(PROXY) / escaped / "@v" / f"{VERSION}.zip"
    if not zip_path.is_file():
        pytest.fail(f"no {zip_path}: run `make test-module`")
    return zip_path


def test_readme_shows_the_manifest_lines(inputs):
    """distribution/README.md gives users the exact lines this test builds
    with. `name:` is needed because ocb (v0.161) makes the Go import alias
    of a component from the last element of its module path, and
    `go-wrapper` is not a Go identifier."""
    readme = (REPO / "distribution" / "README.md").read_text()
    pairs = re.findall(rf"^(\s*)- gomod: {re.escape(MODULE)} (v\S+)\s*\n\1  name: (\S+)\s*$", readme, re.M)
    assert (VERSION, "auditchainprocessor") in [(v, n) for _, v, n in pairs], (
        f"distribution/README.md shows {pairs}, not `- gomod: {MODULE} {VERSION}` + `name: auditchainprocessor`"
    )


def test_user_build_from_module_proxy(inputs, tmp_path):
    work = tmp_path / "user"
    work.mkdir()
    (work / "manifest.yaml").write_text(user_manifest(VERSION))
    modcache = tmp_path / "gomodcache"
    shared_downloads = Path(go_env("GOMODCACHE")) / "cache" / "download"
    env = {
        **os.environ,
        "GOPROXY": f"file://{PROXY},file://{shared_downloads},{go_env('GOPROXY')}",
        # What a user sets for a module no public checksum database knows
        # (GOPRIVATE would also bypass the proxy, i.e. the directory).
        "GONOSUMDB": MODULE,
        "GOMODCACHE": str(modcache),
        "GOFLAGS": "-modcacherw -buildvcs=false",
        "GOWORK": "off",
    }
    t0 = time.monotonic()
    proc = subprocess.run(
        [OCB, "--config", "manifest.yaml"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
    )
    build_s = time.monotonic() - t0
    try:
        assert proc.returncode == 0, f"ocb failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}"
        binary = work / "out" / "otelcol-user"
        assert binary.is_file()

        # The module came from the proxy directory, complete: its prebuilt
        # library and its header are real files in the module cache, and
        # the generated go.mod has no replace.
        gomod = (work / "out" / "go.mod").read_text()
        assert f"{MODULE} {VERSION}" in gomod
        assert "replace" not in gomod, gomod
        extracted = modcache / f"{MODULE}@{VERSION}"
        lib = extracted / "lib" / "linux_amd64" / "libauditchain.a"
        assert lib.is_file() and not lib.is_symlink()
        assert (extracted / "auditchain.h").is_file() and not (extracted / "auditchain.h").is_symlink()
        assert "source_commit=" in (extracted / "lib" / "BUILDINFO").read_text()
        gosum = (work / "out" / "go.sum").read_text()
        published = (Path(PROXY).parent / f"{VERSION}.sum").read_text().split()
        assert f"{MODULE} {VERSION} {published[2]}" in gosum, "go.sum has the hash module.sh printed"

        ldd = subprocess.run(["ldd", str(binary)], capture_output=True, text=True).stdout
        assert "auditchain" not in ldd, ldd

        run_collector(binary, tmp_path / "run")
    finally:
        print(f"\nmodule build: ocb {build_s:.1f}s (fresh module cache, warm build cache)")
        shutil.rmtree(modcache, ignore_errors=True)


def run_collector(binary: Path, work: Path) -> None:
    work.mkdir()
    http, metrics = free_port(), free_port()
    config = {
        "receivers": {"otlp": {"protocols": {"http": {"endpoint": f"127.0.0.1:{http}"}}}},
        "processors": {"auditchain": {"stream_name": "user-build", "state": {"directory": str(work / "state")}}},
        "exporters": {
            "file/audit": {
                "path": str(work / "data" / "audit.jsonl"),
                "format": "json",
                "append": True,
                "create_directory": True,
                "flush_interval": "200ms",
            }
        },
        "service": {
            "pipelines": {"logs/audit": {"receivers": ["otlp"], "processors": ["auditchain"], "exporters": ["file/audit"]}},
            "telemetry": {"metrics": {"readers": [{"pull": {"exporter": {"prometheus": {"host": "127.0.0.1", "port": metrics}}}}]}},
        },
    }
    (work / "config.yaml").write_text(json.dumps(config, indent=2))
    log = work / "collector.log"
    collector = Collector(work / "config.yaml", log, cwd=work, binary=binary)
    try:
        collector.start([http])
        client = audit_client.AuditClient("http", f"http://127.0.0.1:{http}/v1/logs", "user.service")
        audit_client.emit_seed_traffic(client, "module", events=5, config_changes=2)
        client.close()
        assert client.exporter.failed == 0, client.exporter.calls
        rc = collector.stop()
    finally:
        collector.kill()
    assert rc == 0, tail(log)
    v = verify(work / "data")
    assert v.returncode == 0, v.describe()
    streams = v.report["streams"]
    assert len(streams) == 1, v.describe()
    s = streams[0]
    assert s["verdict"] == "pass" and s["ended"] is True, v.describe()
    # What the client sent, plus the engine's own records (start, end).
    assert len(client.sent) == 7
    assert s["records"] >= len(client.sent) + 2, v.describe()
    print(f"user-built collector: {len(client.sent)} records sent; verify: {s['records']} records, verdict {s['verdict']}")
