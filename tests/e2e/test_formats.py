"""What the exporters write, verified (issue 11, item 2): the real collector
writes one audit stream per file exporter format -- fileexporter `format:
json` and `format: proto`, each without and with `compression: zstd`
(per-message frames), and again with the `exporter.file.nativeCompression`
feature gate (one zstd stream per file) -- and a traces stream into the
proto file beside the logs. `auditchain verify` passes on each file; one
byte of one record body changed inside the proto file fails it; an awss3
layout tree built from the collector's output (otlp_json and otlp_proto
objects, gzip, one export request per object under year=/month=/day=/hour=/
minute= prefixes: the awss3exporter is not in the distribution, so the
objects are written as it lays them out) verifies recursively, and fails
with one object tampered; standard input (`-`) is read like a file.
"""

from __future__ import annotations

import gzip
import json
import secrets
import shutil
import struct
import subprocess
import time
from pathlib import Path

import grpc
import pytest
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from harness import (
    VERIFIER,
    Collector,
    explain,
    export_request_message,
    free_port,
    kv,
    log_record,
    tail,
    telemetry,
    verify,
)

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
BATCHES, PER_BATCH = 8, 5

# name -> the file exporter's settings besides its path.
VARIANTS = {
    "json": {"format": "json"},
    "proto": {"format": "proto"},
    "json_zstd": {"format": "json", "compression": "zstd"},
    "proto_zstd": {"format": "proto", "compression": "zstd"},
}


def config(work: Path, grpc_port: int, metrics: int, variants: dict) -> dict:
    def auditchain(name: str) -> dict:
        return {"stream_name": name, "state": {"directory": str(work / "state" / name)}, "on_error": "reject"}

    def exporter(name: str, settings: dict) -> dict:
        ext = "json" if settings["format"] == "json" else "binpb"
        # Rotation mode (as distribution/config.yaml): every export in the
        # file before the exporter returns.
        return {
            "path": str(work / "data" / name / f"audit.{ext}"),
            "create_directory": True,
            "rotation": {"max_megabytes": 100, "max_backups": 0, "max_days": 0},
            **settings,
        }

    processors = {"memory_limiter": {"check_interval": "1s", "limit_percentage": 80, "spike_limit_percentage": 20}}
    pipelines = {}
    for name in variants:
        processors[f"auditchain/{name}"] = auditchain(f"formats-{name}")
        pipelines[f"logs/{name}"] = {
            "receivers": ["otlp"],
            "processors": ["memory_limiter", f"auditchain/{name}"],
            "exporters": [f"file/{name}"],
        }
    # Spans as proto too. In a file of their own: a file exporter shared by
    # a logs and a traces pipeline is shut down with the first of them, and
    # the other's auditchain end records then reach a closed exporter (the
    # collector panics at shutdown). One verify run reads both files.
    processors["auditchain/traces"] = auditchain("formats-traces")
    pipelines["traces/proto"] = {
        "receivers": ["otlp"],
        "processors": ["memory_limiter", "auditchain/traces"],
        "exporters": ["file/traces"],
    }
    return {
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": f"127.0.0.1:{grpc_port}"}}}},
        "processors": processors,
        "exporters": {
            **{f"file/{n}": exporter(n, s) for n, s in variants.items()},
            "file/traces": exporter("traces", {"format": "proto"}),
        },
        "service": {
            "pipelines": pipelines,
            "telemetry": telemetry(metrics),
        },
    }


def spans_request(b: int):
    spans = [
        trace_pb2.Span(
            trace_id=bytes([b + 1]) * 16,
            span_id=struct.pack(">Q", b * 10 + i + 1),
            name="iam.role.update",
            kind=trace_pb2.Span.SPAN_KIND_SERVER,
            start_time_unix_nano=time.time_ns(),
            end_time_unix_nano=time.time_ns() + 1000,
            attributes=[kv("audit.actor", f"admin-{b}-{i}"), kv("audit.action", "role.update")],
        )
        for i in range(2)
    ]
    return trace_service_pb2.ExportTraceServiceRequest(
        resource_spans=[
            trace_pb2.ResourceSpans(
                resource=resource_pb2.Resource(attributes=[kv("service.name", "e2e.formats")]),
                scope_spans=[trace_pb2.ScopeSpans(scope=common_pb2.InstrumentationScope(name="e2e.audit"), spans=spans)],
            )
        ]
    )


def run_collector(
    work: Path, extra_args: list[str], variants: dict = VARIANTS, batches: int = BATCHES, per_batch: int = PER_BATCH, pad: int = 0
) -> Path:
    """Runs the collector on `variants`, sends `batches` batches of
    `per_batch` log records (bodies padded by `pad` bytes) and 2 spans,
    stops it cleanly; returns its data directory."""
    grpc_port, metrics = free_port(), free_port()
    cfg = work / "config.yaml"
    cfg.write_text(json.dumps(config(work, grpc_port, metrics, variants), indent=2))
    c = Collector(cfg, work / "collector.log", cwd=work, extra_args=extra_args)
    try:
        c.start([grpc_port])
        channel = grpc.insecure_channel(f"127.0.0.1:{grpc_port}")
        logs = logs_service_pb2_grpc.LogsServiceStub(channel)
        traces = trace_service_pb2_grpc.TraceServiceStub(channel)
        for b in range(batches):
            n0 = b * per_batch
            recs = [
                log_record(f"formats-e2e record {n0 + i:04d} " + "x" * pad, {"audit.action": "doc.delete", "e2e.n": n0 + i}, time.time_ns())
                for i in range(per_batch)
            ]
            logs.Export(export_request_message(recs, "e2e.formats", "e2e.audit"), timeout=10)
            traces.Export(spans_request(b), timeout=10)
        channel.close()
        rc = c.stop()
    finally:
        c.kill()
    assert rc == 0, tail(c.log)
    return work / "data"


@pytest.fixture(scope="module")
def written(binaries, tmp_path_factory) -> dict[str, Path]:
    """Each variant's output file, per-message compression and native
    (whole-file) compression: name -> file."""
    out = {}
    legacy = run_collector(tmp_path_factory.mktemp("formats"), [])
    native = run_collector(tmp_path_factory.mktemp("formats-native"), ["--feature-gates=exporter.file.nativeCompression"])
    for name in VARIANTS:
        for label, data in [(name, legacy), (f"{name}_native", native)]:
            if label.endswith("_native") and "zstd" not in label:
                continue
            files = [p for p in (data / name).iterdir() if p.is_file()]
            assert len(files) == 1, files
            out[label] = files[0]
    out["traces"] = legacy / "traces" / "audit.binpb"
    return out


def frames(data: bytes) -> list[bytes]:
    """The fileexporter's length-prefixed messages."""
    out, i = [], 0
    while i < len(data):
        (n,) = struct.unpack(">I", data[i : i + 4])
        out.append(data[i + 4 : i + 4 + n])
        i += 4 + n
    assert i == len(data)
    return out


def streams_of(report: dict) -> dict[str, tuple[str, int, bool]]:
    return {s["stream_name"]: (s["signal"], s["records"], s["ended"]) for s in report["streams"]}


def test_the_collector_wrote_each_format_as_configured(written):
    head = {k: p.read_bytes()[:8] for k, p in written.items()}
    assert head["json"].startswith(b'{"resour')
    assert head["proto"][:1] == b"\0" and head["proto"][4:5] == b"\x0a", head["proto"]
    # Legacy compression: length-prefixed frames, each a zstd frame.
    for k in ("json_zstd", "proto_zstd"):
        assert head[k][:1] == b"\0" and head[k][4:8] == ZSTD_MAGIC, (k, head[k])
    # Native compression: the whole file is zstd.
    for k in ("json_zstd_native", "proto_zstd_native"):
        assert head[k].startswith(ZSTD_MAGIC), (k, head[k])


@pytest.mark.parametrize("name", ["json", "proto", "json_zstd", "proto_zstd", "json_zstd_native", "proto_zstd_native"])
def test_auditchain_verify_passes_on_each_format(written, name):
    v = verify(written[name])
    assert v.returncode == 0 and v.report["verdict"] == "pass", explain(v)
    variant = name.removesuffix("_native")
    assert streams_of(v.report) == {f"formats-{variant}": ("logs", BATCHES * PER_BATCH + 2, True)}
    assert v.report["errors"] == []


def test_proto_logs_and_spans_verify_in_one_run(written):
    v = verify(written["proto"], written["traces"], written["json_zstd"])
    assert v.returncode == 0 and v.report["verdict"] == "pass", explain(v)
    assert streams_of(v.report) == {
        "formats-proto": ("logs", BATCHES * PER_BATCH + 2, True),
        "formats-json_zstd": ("logs", BATCHES * PER_BATCH + 2, True),
        "formats-traces": ("traces", BATCHES * 2 + 2, True),
    }


def test_one_changed_byte_of_a_body_in_the_proto_file_fails(written, tmp_path):
    data = bytearray(written["proto"].read_bytes())
    at = data.index(b"formats-e2e record 0017") + len("formats-e2e record 001")
    data[at] = ord("8")
    tampered = tmp_path / "audit.binpb"
    tampered.write_bytes(bytes(data))
    v = verify(tampered)
    assert v.returncode == 1 and v.report["verdict"] == "fail", explain(v)
    bad = [f for s in v.report["streams"] for f in s["findings"] if f["severity"] == "error"]
    assert [f["kind"] for f in bad] == ["content_mismatch"], explain(v)
    # The untouched copy still passes: the byte, nothing else, made it fail.
    assert verify(written["proto"]).returncode == 0


def s3_key(root: Path, i: int, kind: str, ext: str) -> Path:
    """awss3exporter: <prefix>/year=%Y/month=%m/day=%d/hour=%H/minute=%M/<file_prefix><kind>_<random>.<ext>.gz"""
    t = time.gmtime(1_795_320_660 + 60 * i)
    d = root / "audit" / time.strftime("year=%Y/month=%m/day=%d/hour=%H/minute=%M", t)
    d.mkdir(parents=True, exist_ok=True)
    return d / f"audit_{kind}_{i:03d}{secrets.token_hex(4)}.{ext}.gz"


def awss3_tree(written, root: Path) -> list[Path]:
    """The json stream as otlp_json objects, the proto file's requests (logs
    and spans) as otlp_proto objects: one export request per object."""
    protos = []
    for i, line in enumerate(l for l in written["json"].read_text().splitlines() if l.strip()):
        s3_key(root, i, "logs", "json").write_bytes(gzip.compress(line.encode()))
    for i, msg in enumerate(frames(written["proto"].read_bytes()) + frames(written["traces"].read_bytes())):
        p = s3_key(root, 1000 + i, "logs", "binpb")
        p.write_bytes(gzip.compress(msg))
        protos.append(p)
    return protos


def test_an_awss3_tree_verifies_recursively_and_a_tampered_object_fails(written, tmp_path):
    bucket = tmp_path / "bucket"
    protos = awss3_tree(written, bucket)
    v = verify(bucket)
    assert v.returncode == 0 and v.report["verdict"] == "pass", explain(v)
    assert streams_of(v.report) == {
        "formats-json": ("logs", BATCHES * PER_BATCH + 2, True),
        "formats-proto": ("logs", BATCHES * PER_BATCH + 2, True),
        "formats-traces": ("traces", BATCHES * 2 + 2, True),
    }
    assert v.report["inputs"]["files"] == len(list(bucket.rglob("*.gz")))
    # One byte of one body in one otlp_proto object.
    victim = next(p for p in protos if b"formats-e2e record 0003" in gzip.decompress(p.read_bytes()))
    raw = bytearray(gzip.decompress(victim.read_bytes()))
    raw[raw.index(b"formats-e2e record 0003") + 5] ^= 0x20
    victim.write_bytes(gzip.compress(bytes(raw)))
    v = verify(bucket)
    assert v.returncode == 1, explain(v)
    failed = {s["stream_name"]: sorted({f["kind"] for f in s["findings"] if f["severity"] == "error"}) for s in v.report["streams"] if s["verdict"] == "fail"}
    assert failed == {"formats-proto": ["content_mismatch"]}, explain(v)


def test_standard_input_and_the_progress_line(written):
    data = written["proto_zstd"].read_bytes() + written["traces"].read_bytes()
    p = subprocess.run(
        [str(VERIFIER), "verify", "--format", "json", "--progress", "always", "-"],
        input=data,
        capture_output=True,
        timeout=120,
    )
    report = json.loads(p.stdout)
    assert p.returncode == 0 and report["verdict"] == "pass", p.stdout.decode()[-3000:]
    assert report["inputs"]["files"] == 1
    last = p.stderr.decode().splitlines()[-1]
    assert last.startswith("verify: ") and f"{BATCHES * PER_BATCH + 2 + BATCHES * 2 + 2} records" in last, p.stderr
    # Not a terminal: --progress auto (the default) prints nothing.
    p = subprocess.run([str(VERIFIER), "verify", "--format", "json", "-"], input=data, capture_output=True, timeout=120)
    assert p.returncode == 0 and p.stderr == b""


def test_a_file_that_is_no_exporter_output_is_named(written, tmp_path):
    shutil.copy(written["proto"], tmp_path / "audit.binpb")
    (tmp_path / "notes.txt").write_text("rotated by hand, see ticket 42\n")
    v = verify(tmp_path)
    assert v.returncode == 2 and v.report["verdict"] == "incomplete", explain(v)
    assert [(Path(e["file"]).name, e["message"][:30]) for e in v.report["errors"]] == [("notes.txt", "not a file the exporters write")]


def test_rotated_files_verify_as_a_directory_older_ones_gzipped(binaries, tmp_path):
    """The fileexporter rotating at 1 MiB (timberjack names such as
    audit-2026-12-01T20-15-57.296-size.binpb: time and reason); the rotated
    files gzipped afterwards, as an operator's logrotate would."""
    rotation = {"max_megabytes": 1, "max_backups": 0, "max_days": 0}
    variants = {"rotated_proto": {"format": "proto", "rotation": rotation}, "rotated_json": {"format": "json", "rotation": rotation}}
    data = run_collector(tmp_path, [], variants, batches=30, per_batch=10, pad=4000)
    for name in variants:
        d = data / name
        current = next(d.glob("audit.*"))
        rotated = sorted(p for p in d.iterdir() if p != current)
        assert rotated, f"{name}: nothing rotated: {list(d.iterdir())}"
        for p in rotated:
            assert p.name.startswith("audit-20") and p.suffix == current.suffix, p.name
            p.with_name(p.name + ".gz").write_bytes(gzip.compress(p.read_bytes()))
            p.unlink()
        v = verify(d)
        assert v.returncode == 0 and v.report["verdict"] == "pass", explain(v)
        assert streams_of(v.report) == {f"formats-{name}": ("logs", 30 * 10 + 2, True)}
        assert v.report["inputs"]["files"] == len(rotated) + 1
