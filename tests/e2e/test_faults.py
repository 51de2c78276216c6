"""Faults around the real collector (issue 13): an older state.json put back,
an outage of the state directory, a checkpoint file that cannot be written,
a config number that does not fit, and hostile bytes under
`on_error: forward_unstamped`. Each runs bin/otelcol-audit on a real config
and checks what it wrote (or why it refused to start) with the real
verifier.

The outage is the 70 s read-only state directory of the issue, shortened:
checkpoint.interval 1s and `--max-delay 3s` give the same shape (several
heartbeat checkpoints that could not be saved, then announced as a gap) in
six seconds. As root a read-only directory is still writable, so the outage
is made by a directory where the state's temporary file goes: every save
fails, as on a read-only or full file system.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import grpc
import pytest
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.logs.v1 import logs_pb2
from opentelemetry.proto.resource.v1 import resource_pb2

from conftest import FIGURES
from harness import COLLECTOR, Collector, collector_config, free_port, keygen, tail, verify

STREAM = "e2e-faults"
RESERVED = ("audit.sequence.", "audit.integrity.", "audit.stream.")


def config(work: Path, ports, keys: dict[str, Path] | None, **processor) -> dict:
    cfg = collector_config(work, *ports, stream_name=STREAM)
    p = cfg["processors"]["auditchain"]
    if keys is not None:
        p["key_file"] = str(keys["chain"])
        p["signing_key_file"] = str(keys["sign"])
        p["log"] = {"format_version": 1}  # version 1 streams (SPEC §5.3)
        p["checkpoint"] = {"interval": "1s"}
    for k, v in processor.items():
        if isinstance(v, dict) and isinstance(p.get(k), dict):
            p[k].update(v)
        else:
            p[k] = v
    return cfg


def start(work: Path, cfg: dict, ports, name: str = "collector") -> Collector:
    path = work / f"{name}.yaml"
    path.write_text(json.dumps(cfg, indent=2))
    c = Collector(path, work / f"{name}.log", cwd=work)
    c.start(list(ports[:2]))
    return c


def refused_start(work: Path, cfg: dict, name: str, config_text: str | None = None) -> str:
    """Runs the collector on cfg, which must fail at start; returns its log."""
    path = work / f"{name}.yaml"
    path.write_text(config_text if config_text is not None else json.dumps(cfg, indent=2))
    proc = subprocess.run(
        [str(COLLECTOR), "--config", str(path)],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(work), "LANG": "C.UTF-8"},
    )
    assert proc.returncode != 0, f"the collector started on {name}:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
    return proc.stdout + proc.stderr


def records_request(first: int, n: int) -> logs_service_pb2.ExportLogsServiceRequest:
    recs = [
        logs_pb2.LogRecord(
            time_unix_nano=time.time_ns(),
            severity_number=logs_pb2.SEVERITY_NUMBER_INFO,
            body=common_pb2.AnyValue(string_value=f"record {i}"),
            attributes=[common_pb2.KeyValue(key="audit.action", value=common_pb2.AnyValue(string_value="delete"))],
        )
        for i in range(first, first + n)
    ]
    return logs_service_pb2.ExportLogsServiceRequest(
        resource_logs=[
            logs_pb2.ResourceLogs(
                resource=resource_pb2.Resource(
                    attributes=[common_pb2.KeyValue(key="service.name", value=common_pb2.AnyValue(string_value="faults"))]
                ),
                scope_logs=[logs_pb2.ScopeLogs(scope=common_pb2.InstrumentationScope(name="faults"), log_records=recs)],
            )
        ]
    )


def send(port: int, payload: bytes) -> grpc.StatusCode:
    """One Export call with these exact bytes; returns the status code."""
    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        export = ch.unary_unary(
            "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
            request_serializer=lambda b: b,
            response_deserializer=lambda b: b,
        )
        try:
            export(payload, timeout=10)
            return grpc.StatusCode.OK
        except grpc.RpcError as e:
            return e.code()


def wait_for(cond, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def checkpoint_lines(path: Path) -> int:
    return sum(1 for l in path.read_text().splitlines() if l.strip()) if path.exists() else 0


@pytest.fixture(scope="module")
def keys(binaries, tmp_path_factory) -> dict[str, Path]:
    return keygen(name="faults", out_dir=tmp_path_factory.mktemp("faults-keys"))


def test_an_older_state_json_put_back_is_refused(keys, tmp_path):
    """Item 4: copy state.json, let the stream go on, put the copy back,
    restart: the collector refuses, saying why, and writes nothing."""
    ports = (free_port(), free_port(), free_port())
    cp = tmp_path / "checkpoints.jsonl"
    cfg = config(tmp_path, ports, keys, checkpoint={"file": str(cp)})
    state = tmp_path / "state" / STREAM / "state.json"
    c = start(tmp_path, cfg, ports)
    try:
        assert send(ports[0], records_request(1, 5).SerializeToString()) == grpc.StatusCode.OK
        wait_for(lambda: checkpoint_lines(cp) >= 2, 10, "checkpoint lines")
        backup = state.read_bytes()
        assert send(ports[0], records_request(6, 5).SerializeToString()) == grpc.StatusCode.OK
        n = checkpoint_lines(cp)
        wait_for(lambda: checkpoint_lines(cp) > n + 1, 10, "newer checkpoint lines")
    finally:
        c.stop()
    data = tmp_path / "data" / "audit.jsonl"
    exported = data.read_bytes()
    state.write_bytes(backup)
    log = refused_start(tmp_path, cfg, "restored")
    assert "rollback refused" in log and "older than" in log, tail(tmp_path / "restored.log")
    assert "again with other content" in log and "state.new_stream: true" in log, log[-3000:]
    assert "from a backup to continue" not in log
    assert data.read_bytes() == exported, "nothing was stamped from the old state"
    FIGURES["rollback refused with"] = next(l for l in log.splitlines() if "rollback refused" in l)[-160:]


def test_an_announced_outage_of_the_state_directory_is_a_warning(keys, tmp_path):
    """Item 6: the state cannot be saved for ~6 s (checkpoint every 1 s):
    heartbeat checkpoints and batches fail, the gap is announced once the
    directory is back, and the verifier warns instead of failing."""
    ports = (free_port(), free_port(), free_port())
    cfg = config(tmp_path, ports, keys)
    c = start(tmp_path, cfg, ports)
    blocked = tmp_path / "state" / STREAM / "state.json.tmp"
    refused = []
    try:
        assert send(ports[0], records_request(1, 3).SerializeToString()) == grpc.StatusCode.OK
        time.sleep(2.5)
        blocked.mkdir()
        t_out = time.monotonic()
        time.sleep(2)
        refused.append(send(ports[0], records_request(4, 3).SerializeToString()))
        time.sleep(4)
        blocked.rmdir()
        outage = time.monotonic() - t_out
        time.sleep(2.5)
        assert send(ports[0], records_request(7, 3).SerializeToString()) == grpc.StatusCode.OK
        time.sleep(1.5)
    finally:
        c.stop()
    assert refused == [grpc.StatusCode.UNAVAILABLE] or refused[0] != grpc.StatusCode.OK, refused
    # 3 s of slack for late ticks on a loaded machine; the outage (6 s) is
    # longer than interval + max delay, so without its announcement it fails.
    v = verify(tmp_path / "data", keys=[keys["chain"]], public_keys=[keys["pub"]], max_delay="3s")
    assert v.report is not None, v.describe()
    s = v.report["streams"][0]
    errors = [f for f in s["findings"] if f["severity"] == "error"]
    warnings = {f["kind"] for f in s["findings"] if f["severity"] == "warning"}
    assert not errors, v.describe()
    assert "heartbeat_missing" in warnings and "missing_records" in warnings, v.describe()
    FIGURES["state outage (s)"] = round(outage, 1)
    FIGURES["state outage verdict"] = f"{v.report['verdict']}, warnings {sorted(warnings)}"


def test_checkpoint_file_is_checked_at_start(keys, tmp_path):
    """Item 9: a checkpoint file in a missing directory, or a directory."""
    ports = (free_port(), free_port(), free_port())
    for name, path, why in [
        ("missing-dir", tmp_path / "no" / "such" / "checkpoints.jsonl", "does not exist"),
        ("is-a-dir", tmp_path, "is a directory"),
    ]:
        log = refused_start(tmp_path, config(tmp_path, ports, keys, checkpoint={"file": str(path)}), name)
        assert f"checkpoint.file: {path}" in log and why in log, log[-3000:]
    assert not (tmp_path / "state" / STREAM / "state.json").exists(), "no stream was started"


def test_a_config_number_that_does_not_fit_is_reported_as_written(tmp_path):
    """Item 10: checkpoint.records: 2^63."""
    ports = (free_port(), free_port(), free_port())
    cfg = config(tmp_path, ports, None)
    text = json.dumps(cfg).replace('"on_error": "reject"', '"on_error": "reject", "checkpoint": {"records": 9223372036854775808}')
    log = refused_start(tmp_path, cfg, "overflow", config_text=text)
    assert "checkpoint.records: must be a whole number between 1 and 9223372036854775807 (got 9223372036854775808)" in log, log[-3000:]
    assert "-9223372036854775808" not in log


def hostile_request() -> bytes:
    """OTLP/JSON a client could send: forged stamps (record, resource and
    scope attributes), and a body, an attribute value and a key holding
    bytes that are not UTF-8 (the OTLP/HTTP JSON receiver hands them on;
    the protobuf receivers refuse them)."""

    def kv(k: str, v: str) -> dict:
        return {"key": k, "value": {"stringValue": v}}

    forged = [
        kv("audit.sequence.stream_id", "forged-20260101T000000Z-0000"),
        {"key": "audit.sequence.number", "value": {"intValue": "1"}},
        kv("audit.integrity.value", "00" * 32),
        kv("audit.stream.event", "start"),
    ]
    req = {
        "resourceLogs": [
            {
                "resource": {"attributes": [kv("audit.stream.name", "forged")]},
                "scopeLogs": [
                    {
                        "scope": {"name": "faults", "attributes": [kv("audit.integrity.algorithm", "x")]},
                        "logRecords": [
                            {"body": {"stringValue": "forged"}, "attributes": forged},
                            {"body": {"stringValue": "BADUTF8"}, "attributes": [kv("BADUTF8", "BADUTF8")]},
                        ],
                    }
                ],
            }
        ]
    }
    return json.dumps(req).encode().replace(b"BADUTF8", b"\xff\xfe\xc3(ok")


def send_http_json(port: int, payload: bytes) -> int:
    import urllib.error
    import urllib.request

    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/logs", data=payload, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as e:
        return e.code


def test_forward_unstamped_writes_no_stamp_it_did_not_make_and_no_invalid_json(tmp_path):
    """Item 7: with on_error: forward_unstamped, hostile records go out
    scrubbed and marked; every exported line is valid JSON; the verifier sees
    only the collector's own stream."""
    ports = (free_port(), free_port(), free_port())
    cfg = config(tmp_path, ports, None, on_error="forward_unstamped")
    c = start(tmp_path, cfg, ports)
    try:
        assert send_http_json(ports[1], hostile_request()) == 200
        assert send(ports[0], records_request(1, 2).SerializeToString()) == grpc.StatusCode.OK
    finally:
        c.stop()
    lines = [l for l in (tmp_path / "data" / "audit.jsonl").read_bytes().splitlines() if l.strip()]
    unstamped = []
    for raw in lines:
        req = json.loads(raw.decode("utf-8"))  # valid UTF-8 and valid JSON, or this raises
        for rl in req["resourceLogs"]:
            for sl in rl["scopeLogs"]:
                for rec in sl["logRecords"]:
                    keys_ = [kv["key"] for kv in rec.get("attributes", [])]
                    if "audit.unstamped.removed" in keys_ or "audit.unstamped.invalid_utf8" in keys_:
                        unstamped.append(rec)
                        for where in (rec, rl.get("resource", {}), sl.get("scope", {})):
                            leaked = [kv["key"] for kv in where.get("attributes", []) if kv["key"].startswith(RESERVED)]
                            assert not leaked, f"reserved attributes left the processor: {leaked}"
    assert len(unstamped) == 2, lines
    v = verify(tmp_path / "data", allow_unstamped=True)
    assert v.report is not None, v.describe()
    assert [s["stream_id"].startswith(STREAM) for s in v.report["streams"]] == [True], v.describe()
    assert v.report["unstamped_records"] == 2, v.describe()
