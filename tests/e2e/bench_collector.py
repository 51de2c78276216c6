"""End-to-end benchmark of bin/otelcol-audit: what the auditchain processor
costs inside a real collector, per record, and how fast `auditchain verify`
reads the result. Run by `make bench-e2e`; prints figures, asserts nothing
but that every request was accepted and the stamped output verifies.

Four pipelines on the same binary, each fed the same pre-serialised OTLP/gRPC
ExportLogsServiceRequests (seed-000-like audit records) by concurrent
senders:

    discard            otlp -> memory_limiter -> debug (prints ~nothing)
    discard+auditchain otlp -> memory_limiter -> auditchain -> debug
    file               otlp -> memory_limiter -> file (OTLP/JSON)
    file+auditchain    otlp -> memory_limiter -> auditchain -> file

The figure that matters is the collector's CPU time per record (user+system
from /proc, so the Python client's own CPU is not counted); wall-clock
throughput is shown too but the client shares the machine's cores.

Environment: BENCH_RECORDS (default 200000), BENCH_BATCH (records per
request, 500), BENCH_SENDERS (concurrent requests, 4).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import grpc

from harness import COLLECTOR, VERIFIER, Collector, collector_config, export_request, free_port, log_record, tail, verify

RECORDS = int(os.environ.get("BENCH_RECORDS", "200000"))
BATCH = int(os.environ.get("BENCH_BATCH", "500"))
SENDERS = int(os.environ.get("BENCH_SENDERS", "4"))
EXPORT = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
TICKS = os.sysconf("SC_CLK_TCK")


def request(variant: int, n: int) -> bytes:
    """One ExportLogsServiceRequest of n seed-000-like audit records (~300 B
    body, five audit.* attributes), serialised once."""
    now = time.time_ns()
    records = []
    for i in range(n):
        body = json.dumps(
            {
                "actor": f"user{(i * 7 + variant) % 97}@example.com",
                "action": ["user.login", "role.update", "record.delete", "secret.read"][i % 4],
                "resource": f"db/customers/{variant}-{i}",
                "details": {"ip": f"10.0.{i % 250}.{variant}", "result": "success", "attempt": i % 3},
                "timestamp": now + i,
            }
        )
        records.append(
            log_record(
                body,
                {
                    "audit.actor": f"user{i % 97}@example.com",
                    "audit.action": "record.delete",
                    "audit.resource": f"db/customers/{i}",
                    "audit.content_hash": f"{(i * 2654435761) % (1 << 64):064x}",
                    "audit.schema_version": "1.0",
                },
                now + i,
            )
        )
    return export_request(records, "audit.bench", "audit.service")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def send_all(port: int, payloads: list[bytes], count: int) -> None:
    channel = grpc.insecure_channel(
        f"127.0.0.1:{port}", options=[("grpc.max_send_message_length", 64 << 20)]
    )
    export = channel.unary_unary(EXPORT, request_serializer=lambda b: b, response_deserializer=lambda b: b)
    next_i = iter(range(count))
    lock = threading.Lock()
    errors: list[Exception] = []

    def worker():
        while True:
            with lock:
                i = next(next_i, None)
            if i is None or errors:
                return
            try:
                export(payloads[i % len(payloads)], timeout=60)
            except Exception as e:  # noqa: BLE001
                errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(SENDERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    channel.close()
    if errors:
        raise RuntimeError(f"{len(errors)} requests failed, first: {errors[0]}")


def scenario(name: str, auditchain: bool, sink: str, payloads: list[bytes], root: Path) -> dict:
    work = root / name.replace("+", "-")
    work.mkdir()
    grpc_port, http_port, metrics = free_port(), free_port(), free_port()
    cfg = work / "config.yaml"
    cfg.write_text(json.dumps(collector_config(work, grpc_port, http_port, metrics, auditchain=auditchain, sink=sink, stream_name="bench")))
    col = Collector(cfg, work / "collector.log", cwd=work)
    col.start([grpc_port, http_port])
    try:
        send_all(grpc_port, payloads, max(2, 2000 // BATCH))  # warm up
        requests = RECORDS // BATCH
        c0, t0 = cpu_seconds(col.proc.pid), time.monotonic()
        send_all(grpc_port, payloads, requests)
        wall = time.monotonic() - t0
        cpu = cpu_seconds(col.proc.pid) - c0
        rc = col.stop()
    finally:
        col.kill()
    if rc != 0:
        raise RuntimeError(f"{name}: collector exit {rc}\n{tail(work / 'collector.log')}")
    n = requests * BATCH
    return {
        "name": name,
        "records": n,
        "wall_s": wall,
        "records_per_s": n / wall,
        "cpu_s": cpu,
        "cpu_us_per_record": cpu * 1e6 / n,
        "work": work,
    }


def main() -> int:
    for p in (COLLECTOR, VERIFIER):
        if not os.access(p, os.X_OK):
            print(f"not built: {p}; run `make bench-e2e`", file=sys.stderr)
            return 2
    print(f"bench: {RECORDS} records per pipeline, {BATCH} per request, {SENDERS} concurrent senders, {os.cpu_count()} cores")
    payloads = [request(v, BATCH) for v in range(4)]
    print(f"request size: {len(payloads[0])} bytes ({len(payloads[0]) / BATCH:.0f} B/record on the wire)")
    results = []
    with tempfile.TemporaryDirectory(prefix="auditchain-bench-") as tmp:
        root = Path(tmp)
        for name, ac, sink in [
            ("discard", False, "discard"),
            ("discard+auditchain", True, "discard"),
            ("file", False, "file"),
            ("file+auditchain", True, "file"),
        ]:
            r = scenario(name, ac, sink, payloads, root)
            results.append(r)
            print(
                f"  {name:<20} {r['records_per_s']:>10,.0f} records/s wall   "
                f"collector CPU {r['cpu_us_per_record']:6.2f} µs/record ({r['cpu_s']:.2f} s)"
            )
        by = {r["name"]: r for r in results}
        for base, with_ac in [("discard", "discard+auditchain"), ("file", "file+auditchain")]:
            d = by[with_ac]["cpu_us_per_record"] - by[base]["cpu_us_per_record"]
            print(f"  auditchain cost over {base:<8} {d:+6.2f} µs CPU/record ({d / by[base]['cpu_us_per_record'] * 100:+.0f}%)")

        data = by["file+auditchain"]["work"] / "data"
        size = sum(p.stat().st_size for p in data.rglob("*") if p.is_file())
        t0 = time.monotonic()
        v = verify(data)
        vt = time.monotonic() - t0
        if v.returncode != 0 or v.report is None:
            print(f"verify failed:\n{v.describe()}", file=sys.stderr)
            return 1
        s = v.report["streams"][0]
        expected = RECORDS // BATCH * BATCH + max(2, 2000 // BATCH) * BATCH
        print(
            f"  verify: {s['records']} records ({size / 1e6:.1f} MB OTLP/JSON) in {vt:.2f} s = "
            f"{s['records'] / vt:,.0f} records/s, {size / 1e6 / vt:.0f} MB/s; verdict {v.report['verdict']}"
        )
        if s["records"] < expected:
            print(f"verify saw {s['records']} records, expected at least {expected}", file=sys.stderr)
            return 1
    print("bench: done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
