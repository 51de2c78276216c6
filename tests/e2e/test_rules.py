"""Seed 003 end to end: distribution/examples/rules.yaml as shipped (ports
and directories from its environment variables), its rules as OTTL
conditions on the logs pipeline and as the Rego policy audit.rego on the
traces pipeline. The real SDK sends DELETE requests, login attempts and
GET requests as logs and spans; only the first two are stamped, and the
verifier passes both streams. The seed 002 example is checked to load in
the built collector too.
"""

from __future__ import annotations

import json
import subprocess
import time

from opentelemetry import _logs as logs
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

import audit_client
from harness import COLLECTOR, REPO, VERIFIER, Collector, free_port

EXAMPLES = REPO / "distribution" / "examples"

REQUESTS = [
    {"http.request.method": "DELETE", "url.path": "/accounts/7"},
    {"audit.action": "login_attempt", "enduser.id": "mallory", "audit.result": "failure"},
    {"http.request.method": "GET", "url.path": "/accounts/7"},
    {"http.request.method": "POST", "url.path": "/accounts"},
]


def test_the_examples_load_in_the_built_collector():
    for name in ["soc2.yaml", "rules.yaml"]:
        proc = subprocess.run(
            [str(COLLECTOR), "validate", "--config", str(EXAMPLES / name)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=REPO,
        )
        assert proc.returncode == 0, f"{name}:\n{proc.stdout}\n{proc.stderr}"


def test_seed_003_rules_as_ottl_and_as_rego(binaries, tmp_path):
    grpc, http = free_port(), free_port()
    env = {
        "AUDITCHAIN_GRPC_ENDPOINT": f"127.0.0.1:{grpc}",
        "AUDITCHAIN_HTTP_ENDPOINT": f"127.0.0.1:{http}",
        "AUDITCHAIN_STATE_DIR": str(tmp_path / "state"),
        "AUDITCHAIN_DATA_DIR": str(tmp_path / "data"),
        "AUDITCHAIN_POLICY": str(EXAMPLES / "audit.rego"),
    }
    collector = Collector(EXAMPLES / "rules.yaml", tmp_path / "collector.log", cwd=tmp_path, env=env)
    try:
        collector.start([grpc, http])
        client = audit_client.AuditClient("grpc", f"127.0.0.1:{grpc}", "api")
        for attrs in REQUESTS:
            client.logger.emit(logs.LogRecord(body=f"request {attrs}", attributes=attrs))
        client.close()
        provider = TracerProvider(resource=Resource.create({"service.name": "api"}), shutdown_on_exit=False)
        provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"127.0.0.1:{grpc}", insecure=True)))
        tracer = provider.get_tracer("api")
        for attrs in REQUESTS:
            with tracer.start_as_current_span(f"{attrs.get('http.request.method', 'LOGIN')} request", attributes=attrs):
                pass
        provider.shutdown()
        time.sleep(0.5)
        assert collector.stop() == 0
    finally:
        collector.kill()

    proc = subprocess.run(
        [str(VERIFIER), "verify", "--format", "json", "--allow-unstamped", str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    report = json.loads(proc.stdout)
    assert proc.returncode == 0, proc.stdout[-4000:]
    by_signal = {s["signal"]: s for s in report["streams"]}
    assert sorted(by_signal) == ["logs", "traces"]
    assert by_signal["logs"]["stream_id"].startswith("rules-ottl-")
    assert by_signal["traces"]["stream_id"].startswith("rules-rego-")
    # OTTL: the DELETE and the login attempt, plus start and end. Rego
    # (audit.rego): the same two spans, plus start and end.
    assert by_signal["logs"]["records"] == 4 and by_signal["traces"]["records"] == 4, report["streams"]
    assert report["unstamped_records"] == 4, "the GET and the POST, as a log record and as a span"

    stamped = set()
    for name in ["logs.jsonl", "traces.jsonl"]:
        for line in (tmp_path / "data" / name).read_text().splitlines():
            for r in line_records(json.loads(line)):
                attrs = {kv["key"]: next(iter(kv["value"].values()), None) for kv in r.get("attributes", [])}
                if "audit.sequence.number" in attrs and "audit.stream.event" not in attrs:
                    stamped.add((name, attrs.get("http.request.method") or attrs.get("audit.action")))
    assert stamped == {
        ("logs.jsonl", "DELETE"),
        ("logs.jsonl", "login_attempt"),
        ("traces.jsonl", "DELETE"),
        ("traces.jsonl", "login_attempt"),
    }


def line_records(req: dict):
    for rl in req.get("resourceLogs", []):
        for sl in rl.get("scopeLogs", []):
            yield from sl.get("logRecords", [])
    for rs in req.get("resourceSpans", []):
        for ss in rs.get("scopeSpans", []):
            yield from ss.get("spans", [])
