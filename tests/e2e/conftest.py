"""End-to-end fixtures: the ocb-built collector on a temporary config, real
OTLP clients, and the verifier.

The test builds nothing: `make test-e2e` builds bin/otelcol-audit and
target/release/auditchain first (AUDITCHAIN_COLLECTOR / AUDITCHAIN_CLI
override the paths).
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path

import pytest

import audit_client
from harness import COLLECTOR, VERIFIER, Collector, Export, collector_config, free_port

# Figures printed at the end of the run (pytest_terminal_summary).
FIGURES: dict[str, object] = {}


@dataclasses.dataclass
class Run:
    work: Path
    data: Path
    state: Path
    log: Path
    sent: list[audit_client.Sent]
    clients: list[audit_client.AuditClient]
    returncode: int
    files: list[Path]
    export: Export


@pytest.fixture(scope="session")
def binaries() -> None:
    missing = [str(p) for p in (COLLECTOR, VERIFIER) if not os.access(p, os.X_OK)]
    if missing:
        pytest.fail(f"not built: {', '.join(missing)}; run `make test-e2e` (it builds them first)")


@pytest.fixture(scope="session")
def run(binaries, tmp_path_factory) -> Run:
    """Start the collector, send the seeds' audit logs over gRPC and HTTP,
    stop it with SIGTERM, and read what the file exporter wrote."""
    work = tmp_path_factory.mktemp("collector")
    grpc, http, metrics = free_port(), free_port(), free_port()
    config = work / "config.yaml"
    config.write_text(json.dumps(collector_config(work, grpc, http, metrics), indent=2))
    log = work / "collector.log"
    collector = Collector(config, log, cwd=work)

    t0 = time.monotonic()
    try:
        FIGURES["collector start (s)"] = round(collector.start([grpc, http]), 2)
        grpc_client = audit_client.AuditClient("grpc", f"127.0.0.1:{grpc}", "audit.service")
        audit_client.emit_seed_traffic(grpc_client, "grpc", events=30, config_changes=8)
        grpc_client.close()
        http_client = audit_client.AuditClient("http", f"http://127.0.0.1:{http}/v1/logs", "audit.service.http")
        audit_client.emit_seed_traffic(http_client, "http", events=10, config_changes=3)
        http_client.close()
        t_sent = time.monotonic()
        returncode = collector.stop()
    finally:
        collector.kill()
    FIGURES["send + flush (s)"] = round(t_sent - t0, 2)
    FIGURES["collector exit"] = returncode

    clients = [grpc_client, http_client]
    files = sorted(p for p in (work / "data").rglob("*") if p.is_file())
    export = Export.read(files)
    sent = grpc_client.sent + http_client.sent
    FIGURES["records sent (grpc/http)"] = f"{len(grpc_client.sent)}/{len(http_client.sent)}"
    FIGURES["OTLP requests sent"] = sum(len(c.exporter.calls) for c in clients)
    FIGURES["records acknowledged"] = sum(c.exporter.acknowledged for c in clients)
    FIGURES["exported lines"] = len(export.lines)
    FIGURES["exported records"] = len(export.refs())
    return Run(work, work / "data", work / "state", log, sent, clients, returncode, files, export)


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.section("auditchain end-to-end figures")
        for k, v in FIGURES.items():
            terminalreporter.write_line(f"{k:>32}: {v}")
