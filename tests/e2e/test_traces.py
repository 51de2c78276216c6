"""Seed 002 end to end: two services send, over OTLP/gRPC and OTLP/HTTP
with the real OpenTelemetry SDK, the seed's audit spans and audit logs
(seed 000 events with their content hash, seed 002 configuration
changes) mixed with spans and logs nobody audits. The ocb-built collector
runs a traces/audit and a logs/audit pipeline, each with auditchain
selecting `attributes["audit.action"] != nil` and partitioning by
`resource.attributes["service.name"]`; the file exporters write
OTLP/JSON. `auditchain verify` reads traces and logs in one run: only the
audit records are stamped, one stream per service and signal, every stream
clean; a changed span attribute, a deleted span and a span moved to the
other service's stream are each caught.
"""

from __future__ import annotations

import copy
import json
import subprocess
import time
from pathlib import Path

import pytest

import soc2_client
from conftest import FIGURES
from harness import VERIFIER, Collector, free_port, telemetry

SELECT = 'attributes["audit.action"] != nil'
PARTITION = 'resource.attributes["service.name"]'
SERVICES = [("iam-service", "grpc"), ("billing-service", "http")]
ROUNDS = 6


def soc2_config(work: Path, grpc: int, http: int, metrics: int) -> dict:
    """distribution/examples/soc2.yaml with free ports and temporary
    directories."""

    def auditchain(name: str, **extra) -> dict:
        return {
            "stream_name": name,
            "state": {"directory": str(work / "state")},
            "select": [SELECT],
            "partition_by": [PARTITION],
            **extra,
        }

    def file(name: str) -> dict:
        return {"path": str(work / "data" / name), "format": "json", "append": True, "create_directory": True, "flush_interval": "200ms"}

    return {
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": f"127.0.0.1:{grpc}"}, "http": {"endpoint": f"127.0.0.1:{http}"}}}},
        "processors": {
            "memory_limiter": {"check_interval": "1s", "limit_percentage": 80, "spike_limit_percentage": 20},
            "auditchain/traces": auditchain("soc2-traces"),
            "auditchain/logs": auditchain("soc2-logs", content_hash={"check": True, "on_mismatch": "mark"}),
        },
        "exporters": {"file/traces": file("traces.jsonl"), "file/logs": file("logs.jsonl")},
        "service": {
            "pipelines": {
                "traces/audit": {"receivers": ["otlp"], "processors": ["memory_limiter", "auditchain/traces"], "exporters": ["file/traces"]},
                "logs/audit": {"receivers": ["otlp"], "processors": ["memory_limiter", "auditchain/logs"], "exporters": ["file/logs"]},
            },
            "telemetry": telemetry(metrics),
        },
    }


@pytest.fixture(scope="module")
def soc2(binaries, tmp_path_factory):
    work = tmp_path_factory.mktemp("soc2")
    grpc, http, metrics = free_port(), free_port(), free_port()
    config = work / "config.yaml"
    config.write_text(json.dumps(soc2_config(work, grpc, http, metrics), indent=2))
    collector = Collector(config, work / "collector.log", cwd=work)
    services = []
    try:
        collector.start([grpc, http])
        for name, transport in SERVICES:
            svc = soc2_client.Service(name, transport, grpc, http)
            soc2_client.emit(svc, ROUNDS)
            services.append(svc)
        for svc in services:
            svc.close()
        # A moment for the file exporters' flush interval.
        time.sleep(0.5)
        rc = collector.stop()
    finally:
        collector.kill()
    assert rc == 0, (work / "collector.log").read_text()[-4000:]
    for svc in services:
        assert svc.exporter.failed == 0, f"{svc.name}: spans refused: {svc.exporter.calls}"
        assert svc.logs.exporter.failed == 0, f"{svc.name}: logs refused: {svc.logs.exporter.calls}"
    return work, services


def lines(path: Path) -> list[dict]:
    return [json.loads(l) for l in path.read_text(encoding="utf-8").splitlines() if l.strip()]


def spans(requests: list[dict]):
    for req in requests:
        for rs in req.get("resourceSpans", []):
            for ss in rs.get("scopeSpans", []):
                for span in ss.get("spans", []):
                    yield rs, ss, span


def attr(record: dict, key: str):
    for kv in record.get("attributes", []):
        if kv["key"] == key:
            v = kv["value"]
            return v.get("stringValue", v.get("intValue", v.get("boolValue")))
    return None


def allow_unstamped(*paths):
    """`auditchain verify --allow-unstamped`: the selection leaves unstamped
    records on purpose."""
    proc = subprocess.run(
        [str(VERIFIER), "verify", "--format", "json", "--allow-unstamped", *map(str, paths)], capture_output=True, text=True, timeout=120
    )
    return proc.returncode, json.loads(proc.stdout), proc


def human(*paths) -> str:
    proc = subprocess.run([str(VERIFIER), "verify", "--allow-unstamped", *map(str, paths)], capture_output=True, text=True, timeout=120)
    return proc.stdout


def streams_by_name(report: dict) -> dict[str, dict]:
    out = {}
    for s in report["streams"]:
        name = "-".join(s["stream_id"].split("-")[:-2])
        out[name] = s
    return out


def test_only_audit_records_are_stamped_one_stream_per_service_and_signal(soc2):
    work, services = soc2
    data = work / "data"
    rc, report, proc = allow_unstamped(data)
    FIGURES["soc2: verify report"] = "\n" + human(data)
    assert rc == 0, proc.stdout[-6000:]
    assert report["verdict"] == "pass"
    assert report["errors"] == []
    streams = streams_by_name(report)
    assert sorted(streams) == [
        "soc2-logs-billing-service",
        "soc2-logs-iam-service",
        "soc2-traces-billing-service",
        "soc2-traces-iam-service",
    ], json.dumps(report, indent=1)[:3000]
    for svc in services:
        t = streams[f"soc2-traces-{svc.name}"]
        assert t["signal"] == "traces"
        # The role updates, the start span and the end span.
        assert t["records"] == svc.role_updates + 2, t
        lg = streams[f"soc2-logs-{svc.name}"]
        assert lg["signal"] == "logs"
        assert lg["records"] == svc.audit_logs + 2, lg
        for s in (t, lg):
            assert s["verdict"] == "pass" and s["ended"] and s["missing"] == [], s
    # Nothing else was stamped: the health checks, their db spans and the
    # plain logs passed through unstamped.
    assert report["unstamped_records"] == sum(s.plain_spans + s.plain_logs for s in services)
    stamped = [sp for _, _, sp in spans(lines(data / "traces.jsonl")) if attr(sp, "audit.sequence.number") is not None]
    assert all(attr(sp, "audit.action") == "role_update" or sp["name"].startswith("auditchain.") for sp in stamped)
    FIGURES["soc2: spans stamped / passed through"] = (
        f"{sum(s.role_updates for s in services)} / {sum(s.plain_spans for s in services)}"
    )


def test_content_hashes_from_the_sdk_match_and_a_tampered_payload_is_marked(soc2):
    work, services = soc2
    records = []
    for req in lines(work / "data" / "logs.jsonl"):
        for rl in req.get("resourceLogs", []):
            for sl in rl.get("scopeLogs", []):
                records += sl.get("logRecords", [])
    hashed = [r for r in records if attr(r, "audit.content_hash")]
    # Four seed 000 events with a string body and two with a dict body per service.
    assert len(hashed) == 6 * len(services)
    shapes = sorted({next(iter(r["body"])) for r in hashed})
    assert shapes == ["kvlistValue", "stringValue"], "the SDK sends json.dumps(payload) as a string, a dict as a kvlist"
    marked = [r for r in hashed if attr(r, "audit.integrity.content_hash_check") == "mismatch"]
    assert len(marked) == len(services), "exactly the tampered payloads are marked"
    assert all(attr(r, "audit.action") == "record.delete" for r in marked)
    _, report, _ = allow_unstamped(work / "data")
    mismatches = [f for s in report["streams"] for f in s["findings"] if f["kind"] == "content_hash_mismatch"]
    assert len(mismatches) == len(services) and all(f["severity"] == "warning" for f in mismatches), mismatches


def seed000_verify_audit_file(path: Path, guarded: bool):
    """Seed 000's verify_audit_integrity.py on a local file instead of an S3
    object (one OTLP/JSON request per line), with or without the guard
    go-wrapper/README.md ("Downstream consumers") documents."""
    import hashlib

    failures, checked = [], 0
    for line in path.read_text(encoding="utf-8").splitlines():
        records = json.loads(line)
        for record in records.get("resourceLogs", []):
            if guarded:
                service = {a["key"]: a["value"].get("stringValue") for a in record["resource"].get("attributes", [])}
                if service.get("service.name") == "auditchain":
                    continue
            for scope_log in record.get("scopeLogs", []):
                for log_record in scope_log.get("logRecords", []):
                    if guarded:
                        keys = {a["key"] for a in log_record.get("attributes", [])}
                        if "audit.stream.event" in keys or "audit.content_hash" not in keys:
                            continue
                        if "stringValue" not in log_record.get("body", {}):
                            continue
                    body = json.loads(log_record["body"]["stringValue"])
                    stored_hash = None
                    for attr in log_record.get("attributes", []):
                        if attr["key"] == "audit.content_hash":
                            stored_hash = attr["value"]["stringValue"]
                    computed_hash = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
                    checked += 1
                    if stored_hash != computed_hash:
                        failures.append({"record": body, "expected": stored_hash, "actual": computed_hash})
    return failures, checked


def test_seed_000s_script_reads_the_export_with_the_documented_guard(soc2):
    work, services = soc2
    logs_file = work / "data" / "logs.jsonl"
    # The seed's script as written breaks on the processor's own records
    # (and on everything else that is not a JSON string body).
    with pytest.raises((json.JSONDecodeError, KeyError)):
        seed000_verify_audit_file(logs_file, guarded=False)
    failures, checked = seed000_verify_audit_file(logs_file, guarded=True)
    assert failures == []
    assert checked == 4 * len(services), "every seed 000 event with a string body"


def write(tmp: Path, requests: list[dict], logs_from: Path) -> Path:
    out = tmp / "data"
    out.mkdir()
    (out / "traces.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in requests), encoding="utf-8")
    (out / "logs.jsonl").write_bytes(logs_from.read_bytes())
    return out


def audit_spans(requests, service: str):
    for rs, ss, sp in spans(requests):
        if attr(sp, "audit.action") == "role_update" and any(
            kv["key"] == "service.name" and kv["value"]["stringValue"] == service for kv in rs["resource"].get("attributes", [])
        ):
            yield ss, sp


def failed_streams(report: dict) -> dict[str, list[str]]:
    return {name: sorted({f["kind"] for f in s["findings"] if f["severity"] == "error"}) for name, s in streams_by_name(report).items() if s["verdict"] == "fail"}


def test_a_changed_span_attribute_is_caught(soc2, tmp_path):
    work, _ = soc2
    requests = lines(work / "data" / "traces.jsonl")
    _, span = list(audit_spans(requests, "iam-service"))[2]
    for kv in span["attributes"]:
        if kv["key"] == "audit.new_value":
            kv["value"]["stringValue"] = "superuser"
    rc, report, proc = allow_unstamped(write(tmp_path, requests, work / "data" / "logs.jsonl"))
    assert rc == 1, proc.stdout[-3000:]
    assert failed_streams(report) == {"soc2-traces-iam-service": ["content_mismatch"]}


def test_a_deleted_span_is_caught(soc2, tmp_path):
    work, _ = soc2
    requests = lines(work / "data" / "traces.jsonl")
    ss, span = list(audit_spans(requests, "billing-service"))[1]
    ss["spans"].remove(span)
    rc, report, proc = allow_unstamped(write(tmp_path, requests, work / "data" / "logs.jsonl"))
    assert rc == 1, proc.stdout[-3000:]
    assert failed_streams(report) == {"soc2-traces-billing-service": ["missing_records"]}


def test_a_span_moved_to_another_stream_is_caught(soc2, tmp_path):
    work, _ = soc2
    requests = lines(work / "data" / "traces.jsonl")
    # The billing stream's id, from any of its spans.
    _, billing = next(audit_spans(requests, "billing-service"))
    billing_id = attr(billing, "audit.sequence.stream_id")
    # Move an iam span into the billing stream: relabel it, and put it
    # under the billing resource.
    ss, span = list(audit_spans(requests, "iam-service"))[1]
    ss["spans"].remove(span)
    moved = copy.deepcopy(span)
    for kv in moved["attributes"]:
        if kv["key"] == "audit.sequence.stream_id":
            kv["value"]["stringValue"] = billing_id
    target, _ = next(audit_spans(requests, "billing-service"))
    target["spans"].append(moved)
    rc, report, proc = allow_unstamped(write(tmp_path, requests, work / "data" / "logs.jsonl"))
    assert rc == 1, proc.stdout[-3000:]
    failed = failed_streams(report)
    assert sorted(failed) == ["soc2-traces-billing-service", "soc2-traces-iam-service"], failed
    assert "missing_records" in failed["soc2-traces-iam-service"], failed
    assert set(failed["soc2-traces-billing-service"]) & {"content_mismatch", "fork", "records_after_end"}, failed
