"""The shipped distribution: the components in the binary, every collector
configuration under distribution/ loads and validates with the built
collector (and broken ones are refused), and seed 000's example runs: the
seed's application sends, the pipeline filters, adds its metadata, stamps,
writes the append-only file and delivers through its persistent queue, and
the result verifies.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pytest

import audit_client
from conftest import FIGURES
from harness import (
    COLLECTOR,
    DISTRIBUTION,
    REPO,
    STREAM_EVENT,
    Collector,
    Export,
    expect_pass,
    free_port,
    keygen,
    only_stream,
    tail,
    validate,
    verify,
)

# Every collector configuration shipped: distribution/*.yaml and
# distribution/examples/*.yaml, except the ocb manifest.
CONFIGS = sorted(
    p.relative_to(DISTRIBUTION).as_posix()
    for p in [*DISTRIBUTION.glob("*.yaml"), *DISTRIBUTION.glob("examples/*.yaml")]
    if p.name != "manifest.yaml"
)
ENV_REF = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}")


def env_for(config: Path, work: Path) -> dict[str, str]:
    """A value for every environment variable the configuration names:
    directories under `work`, free ports, endpoints on them; anything else
    gets its default. A variable without a default that this cannot guess
    fails the test, so that a new example says what it needs."""
    env = {}
    for name, default in ENV_REF.findall(config.read_text()):
        if name.endswith("_DIR"):
            env[name] = str(work / name.lower())
        elif name.endswith("_ENDPOINT"):
            # A URL where the default is one (otlp_http), host:port otherwise.
            scheme = "http://" if default[2:].startswith("http") else ""
            env[name] = f"{scheme}127.0.0.1:{free_port()}"
        elif name.endswith("_PORT"):
            env[name] = str(free_port())
        elif name.endswith("_POLICY"):
            env[name] = str(REPO / default[2:])
        elif name.endswith("_STREAM_NAME"):
            env[name] = f"validate-{config.stem}"
        elif default:
            env[name] = default[2:]
        else:
            raise AssertionError(f"{config}: ${{env:{name}}} has no default; say in env_for() what it needs")
    return env


def test_every_shipped_config_is_listed():
    assert "config.yaml" in CONFIGS and "examples/seed-000.yaml" in CONFIGS, CONFIGS
    FIGURES["shipped configs validated"] = ", ".join(CONFIGS)


@pytest.mark.parametrize("config", CONFIGS)
def test_shipped_config_is_valid_with_its_defaults(binaries, config, tmp_path):
    # From the repository root, as `make run` starts the collector: the
    # defaults' relative paths (a policy file) are relative to it; validate
    # creates nothing there.
    out = validate(DISTRIBUTION / config, cwd=REPO)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("config", CONFIGS)
def test_shipped_config_is_valid_with_its_environment_set(binaries, config, tmp_path):
    env = env_for(DISTRIBUTION / config, tmp_path)
    out = validate(DISTRIBUTION / config, cwd=tmp_path, env=env)
    assert out.returncode == 0, f"env {env}\n{out.stdout}{out.stderr}"


# The default config with one bad change each (applied by a `yaml:` override
# after it), and what the collector must say.
BROKEN = {
    "append and rotation": (
        ["yaml:exporters::file/audit::append: true"],
        "append and rotation enabled at the same time is not supported",
    ),
    "a sending_queue on the file exporter (it has none)": (
        ["yaml:exporters::file/audit::sending_queue: {enabled: true}"],
        "invalid keys: sending_queue",
    ),
    "auditchain on_error misspelt": (
        ["yaml:processors::auditchain::on_error: drop"],
        'on_error: "drop" is not valid',
    ),
    "auditchain mode misspelt": (
        ["yaml:processors::auditchain::mode: check"],
        'mode: "check" is not valid; use "stamp" or "verify"',
    ),
    "a verifying auditchain with a stamping key": (
        ["yaml:processors::auditchain::mode: verify", "yaml:processors::auditchain::signing_key_file: /x"],
        "signing_key_file: only mode: stamp uses it",
    ),
    "auditchain without a state directory": (
        ['yaml:processors::auditchain::state::directory: ""'],
        "state.directory: must not be empty",
    ),
    "an exporter this build does not have (awss3)": (
        [
            "yaml:exporters::awss3: {s3uploader: {region: us-east-1, s3_bucket: audit}}",
            "yaml:service::pipelines::logs/audit::exporters: [file/audit, awss3]",
        ],
        'unknown type: "awss3"',
    ),
    "a filter condition that does not parse": (
        [
            "yaml:processors::filter/audit: {log_conditions: ['resource.attributes[\"service.name\"] !=']}",
            "yaml:service::pipelines::logs/audit::processors: [memory_limiter, filter/audit, auditchain]",
        ],
        "processors::filter/audit: condition has invalid syntax",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_config_is_refused(binaries, case, tmp_path):
    overrides, message = BROKEN[case]
    out = validate([DISTRIBUTION / "config.yaml", *overrides], cwd=tmp_path)
    log = out.stdout + out.stderr
    assert out.returncode != 0, f"{case}: accepted\n{log}"
    assert message in log, f"{case}: expected {message!r} in\n{log}"


def test_collector_has_the_components_of_the_manifest(binaries):
    out = subprocess.run([str(COLLECTOR), "components"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    for name in [
        "otlp", "batch", "memory_limiter", "auditchain", "filter", "attributes", "transform", "resource",
        "file", "debug", "otlp_grpc", "otlp_http", "file_storage", "forward",
    ]:
        assert f"name: {name}\n" in text, f"{name} missing from `otelcol-audit components`:\n{text}"


def test_binary_needs_no_shared_auditchain_library(binaries):
    out = subprocess.run(["ldd", str(COLLECTOR)], capture_output=True, text=True, timeout=30)
    assert "auditchain" not in out.stdout, out.stdout


# --------------------------------------------------------------------------
# seed 000's example, running

STORE_WAIT_S = 30  # the queue batches for up to 5 s (the seed's batch timeout)


def test_seed_000_example_filters_adds_metadata_stamps_and_delivers(binaries, tmp_path):
    keys = keygen(name="audit", out_dir=tmp_path / "keys")
    grpc, http, metrics, store_grpc, store_metrics = (free_port() for _ in range(5))
    data, store_data = tmp_path / "data", tmp_path / "store-data"
    env = {
        "AUDITCHAIN_GRPC_ENDPOINT": f"127.0.0.1:{grpc}",
        "AUDITCHAIN_HTTP_ENDPOINT": f"127.0.0.1:{http}",
        "AUDITCHAIN_METRICS_PORT": str(metrics),
        "AUDITCHAIN_STORE_ENDPOINT": f"127.0.0.1:{store_grpc}",
        "AUDITCHAIN_KEY_DIR": str(keys["chain"].parent),
        "AUDITCHAIN_STATE_DIR": str(tmp_path / "state"),
        "AUDITCHAIN_QUEUE_DIR": str(tmp_path / "queue"),
        "AUDITCHAIN_DATA_DIR": str(data),
        "AUDITCHAIN_COLLECTOR_ID": "collector-e2e-01",
    }
    store_env = {
        "AUDITCHAIN_STORE_ENDPOINT": env["AUDITCHAIN_STORE_ENDPOINT"],
        "AUDITCHAIN_DATA_DIR": str(store_data),
        "AUDITCHAIN_METRICS_PORT": str(store_metrics),
    }
    # As shipped: format version 2 streams (a transparency log, SPEC §5.5).
    seed = Collector(DISTRIBUTION / "examples" / "seed-000.yaml", tmp_path / "seed-000.log", cwd=tmp_path, env=env)
    store = Collector(DISTRIBUTION / "examples" / "store.yaml", tmp_path / "store.log", cwd=tmp_path, env=store_env)
    try:
        store.start([store_grpc])
        seed.start([grpc, http])
        # One client after the other: both would attach their logging
        # bridge to the same Python logger (seed 002's "audit.system").
        audited = audit_client.AuditClient("grpc", f"127.0.0.1:{grpc}", "audit.service")
        audit_client.emit_seed_traffic(audited, "audited", events=12, config_changes=2)
        audited.close()
        other = audit_client.AuditClient("grpc", f"127.0.0.1:{grpc}", "billing.service")
        audit_client.emit_seed_traffic(other, "other", events=5, config_changes=1)
        other.close()
        assert audited.exporter.failed == other.exporter.failed == 0, (audited.exporter.calls, other.exporter.calls)

        # The second destination gets every audited record through the queue.
        want = {s.key for s in audited.sent}

        def delivered() -> set:
            files = sorted(p for p in store_data.rglob("*") if p.is_file())
            return {k for r in Export.read(files).client_refs() if (k := record_key(r)) is not None}

        t0 = time.monotonic()
        while not want <= delivered():
            assert time.monotonic() - t0 < STORE_WAIT_S, (
                f"not delivered to the store after {STORE_WAIT_S}s: {sorted(want - delivered())[:5]}\n{tail(seed.log)}"
            )
            time.sleep(0.2)
        FIGURES["seed 000: delivered to the store (s)"] = round(time.monotonic() - t0, 1)
        assert seed.stop() == 0, tail(seed.log)
        assert store.stop() == 0, tail(store.log)
    finally:
        seed.kill()
        store.kill()

    export = Export.read(sorted(p for p in data.rglob("*") if p.is_file()))
    clients = export.client_refs()
    # Only the audit service's records: billing.service was filtered out.
    assert sorted(record_key(r) for r in clients) == sorted(want), sorted(record_key(r) for r in clients)
    for r in clients:
        assert r.attrs["audit.collector_id"] == "collector-e2e-01", r.attrs
        assert r.attrs["audit.pipeline_version"] == "2.1.0", r.attrs
    # The engine's own records: the stream's start, and checkpoints.
    controls = [r.control for r in sorted(export.refs(), key=lambda r: r.sequence) if r.attrs.get(STREAM_EVENT)]
    assert controls[0] == "start" and "checkpoint" in controls, controls

    report = expect_pass(verify(data, keys=[keys["chain"]], public_keys=[keys["pub"]]))
    s = only_stream(report)
    assert s["algorithm"] == "hmac-sha256-chain-v1" and s["ended"] is True and s["checkpoints"] >= 1, s
    assert s["records"] == len(export.refs()) and s["missing"] == [], s
    FIGURES["seed 000: records stamped / filtered out"] = f"{len(clients)} / {len(other.sent)}"


def record_key(r) -> str | None:
    """The seed client's key of a record (audit_client.Sent.key)."""
    if r.attrs.get("audit.action") == "config_change":
        return r.attrs.get("audit.changed_by")
    try:
        return json.loads(r.body)["details"]["request_id"]
    except (TypeError, ValueError, KeyError):
        return None


@pytest.mark.parametrize("config", CONFIGS)
def test_shipped_config_keeps_what_it_acknowledged(config):
    """Statically, what `make crash-test` shows under SIGKILL: every file
    exporter writes in rotation mode (no in-memory buffer, never
    truncating, never deleting) and never with `append` or `compression`;
    every sending queue is persistent (an in-memory queue acknowledges
    batches it would lose)."""
    import yaml

    doc = yaml.safe_load((DISTRIBUTION / config).read_text())
    for name, exp in (doc.get("exporters") or {}).items():
        exp = exp or {}
        if name.split("/")[0] == "file":
            rotation = exp.get("rotation") or {}
            assert rotation, f"{config}: {name} has no rotation section (it would buffer writes in memory)"
            assert rotation.get("max_backups") == 0 and rotation.get("max_days") == 0, f"{config}: {name} deletes old files"
            assert not exp.get("append") and not exp.get("compression"), f"{config}: {name}: append/compression"
        queue = exp.get("sending_queue")
        if queue and queue.get("enabled", True):
            assert queue.get("storage"), f"{config}: {name}'s sending_queue is in memory: a crash loses what it acknowledged"
    for name, ext in (doc.get("extensions") or {}).items():
        if name.split("/")[0] == "file_storage":
            assert (ext or {}).get("fsync") is True, f"{config}: {name} without fsync: true"
