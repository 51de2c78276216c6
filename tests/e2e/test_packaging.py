"""What the collector binaries need where they run, measured on the real
binaries and checked against the container image distribution/Dockerfile
builds (no Docker engine here: the image itself is not built).

- bin/otelcol-audit: dynamically linked; it may need only glibc (symbol
  versions up to the base image's glibc) and libgcc_s; no libauditchain.
- bin/otelcol-audit-static (`make collector-static`): no dynamic
  dependencies at all; it runs the image's configuration
  (distribution/container.yaml) end to end here.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from harness import COLLECTOR, REPO, Collector, free_port, tail, verify

STATIC = Path(REPO / "bin" / "otelcol-audit-static")
DOCKERFILE = REPO / "distribution" / "Dockerfile"
README = REPO / "distribution" / "README.md"

# The glibc each base image we ship for carries: distroless cc-debian12 is
# made from Debian 12 packages (libc6 2.36, libgcc-s1 12.2).
BASE_GLIBC = {"gcr.io/distroless/cc-debian12": (2, 36)}
# What the dynamic binary may ask the dynamic loader for.
ALLOWED_NEEDED = {"libc.so.6", "libgcc_s.so.1", "libm.so.6", "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1"}


def objdump(*args) -> str:
    return subprocess.run(["objdump", *args], capture_output=True, text=True, check=True).stdout


def needed(binary: Path) -> set[str]:
    return set(re.findall(r"^\s*NEEDED\s+(\S+)$", objdump("-p", str(binary)), re.M))


def max_symbol_version(binary: Path, prefix: str) -> tuple[int, ...]:
    versions = {tuple(int(x) for x in v.split(".")) for v in re.findall(rf"\({prefix}_([0-9.]+)\)", objdump("-T", str(binary)))}
    assert versions, f"no {prefix}_ symbol versions in {binary}"
    return max(versions)


def dockerfile_arg(name: str) -> str:
    m = re.search(rf"^ARG {name}=(\S+)$", DOCKERFILE.read_text(), re.M)
    assert m, f"no `ARG {name}=` default in {DOCKERFILE}"
    return m.group(1)


@pytest.fixture(scope="module")
def dynamic(binaries) -> Path:
    return COLLECTOR


@pytest.fixture(scope="module")
def static() -> Path:
    if not STATIC.is_file():
        pytest.fail(f"not built: {STATIC}; run `make test-e2e` (it builds it first)")
    return STATIC


def test_dynamic_binary_needs_what_the_base_image_has(dynamic):
    base = dockerfile_arg("BASE").split(":")[0]
    assert dockerfile_arg("BINARY") == "bin/otelcol-audit"
    assert base in BASE_GLIBC, f"Dockerfile base {base}: its glibc is not known to this test"
    deps = needed(dynamic)
    assert deps <= ALLOWED_NEEDED, f"unexpected shared libraries: {deps - ALLOWED_NEEDED}"
    assert "libgcc_s.so.1" in deps and "libc.so.6" in deps, deps
    glibc = max_symbol_version(dynamic, "GLIBC")
    assert glibc <= BASE_GLIBC[base], f"needs GLIBC_{'.'.join(map(str, glibc))}, {base} has {BASE_GLIBC[base]}"
    gcc = max_symbol_version(dynamic, "GCC")
    assert gcc <= (12,), f"needs libgcc_s GCC_{gcc}"
    # The README states the measured requirement.
    want = f"GLIBC_{'.'.join(map(str, glibc))}"
    assert want in README.read_text(), f"distribution/README.md does not state {want} (measured on {dynamic})"
    print(f"\n{dynamic.name}: NEEDED {sorted(deps)}; highest {want}, GCC_{'.'.join(map(str, gcc))}; base {base} glibc {BASE_GLIBC[base]}")


def test_static_binary_needs_nothing(static):
    headers = objdump("-p", str(static))
    assert "NEEDED" not in headers and "INTERP" not in headers, headers[:2000]
    out = subprocess.run([str(static), "components"], capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert "auditchain" in out.stdout


def test_dockerfile_lints():
    hadolint = Path(sys.executable).parent / "hadolint"
    proc = subprocess.run([str(hadolint), str(DOCKERFILE)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_container_config_runs(static, tmp_path):
    """The image's configuration, with its ports moved to free ones on
    127.0.0.1 (yaml: overrides) and AUDITCHAIN_DIR at a temporary
    directory; no stream name set: it is derived from the host name."""
    grpc, http, metrics = free_port(), free_port(), free_port()
    overrides = [
        f"yaml:receivers::otlp::protocols::grpc::endpoint: 127.0.0.1:{grpc}",
        f"yaml:receivers::otlp::protocols::http::endpoint: 127.0.0.1:{http}",
        "yaml:service::telemetry::metrics::readers: "
        + json.dumps([{"pull": {"exporter": {"prometheus": {"host": "127.0.0.1", "port": metrics}}}}]),
    ]
    c = Collector(
        REPO / "distribution" / "container.yaml",
        tmp_path / "collector.log",
        cwd=tmp_path,
        binary=static,
        extra_args=[a for o in overrides for a in ("--config", o)],
        env={"AUDITCHAIN_DIR": str(tmp_path / "audit")},
    )
    try:
        c.start([grpc, http, metrics])
        body = {
            "resourceLogs": [
                {
                    "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "container"}}]},
                    "scopeLogs": [{"logRecords": [{"body": {"stringValue": f"event {i}"}} for i in range(5)]}],
                }
            ]
        }
        req = urllib.request.Request(
            f"http://127.0.0.1:{http}/v1/logs", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 200
        assert c.stop() == 0, tail(c.log)
    finally:
        c.kill()
    assert (tmp_path / "audit" / "state").is_dir()
    v = verify(tmp_path / "audit" / "data")
    assert v.returncode == 0, v.describe()
    (s,) = v.report["streams"]
    assert s["verdict"] == "pass" and s["ended"] is True and s["records"] == 5 + 2, v.describe()
