"""The collector, side by side: auditchain against the processors a user
would otherwise reach for, on one bin/otelcol-audit, each pipeline driven to
saturation by a separate load process. Run by `make bench-collector`;
prints figures and same-round ratios, asserts nothing but that requests
were accepted (a benchmark, not a test).

Pipelines (otlp -> memory_limiter -> [processor] -> exporter), each with the
nop exporter and with the file exporter (OTLP/JSON, rotation mode as
shipped):

    none               no processor
    attributes         attributes, 3 static inserts
    transform          transform, set(log.attributes["body_sha256"], SHA256(log.body))
    auditchain-plain   auditchain, unkeyed chain, no checkpoints
    auditchain-keyed   auditchain, keyed chain and signed checkpoints
    auditchain-compact the same with `stamp: compact` (one stamp attribute)

Load: pre-serialised ExportLogsServiceRequests of BENCH_BATCH (1000)
seed-000-like audit records of about 362 bytes each, sent by BENCH_SENDERS
(8) concurrent unary gRPC calls from BENCH_PROCESSES (2) load processes,
for BENCH_SECONDS (10) per pipeline after a 2 s warm-up. The pipelines are
interleaved over BENCH_ROUNDS (5) rounds, and ratios are taken within a
round, so that drift of the machine cancels out.

Figures per pipeline (median over rounds): records/s accepted, collector
CPU µs per record (user+system from /proc, so the load processes' CPU is
not counted), collector peak RSS (VmHWM), and for the file exporter the
bytes written per record.

Environment: BENCH_ROUNDS, BENCH_SECONDS, BENCH_BATCH, BENCH_SENDERS,
BENCH_PROCESSES, BENCH_PIPELINES (comma-separated names like
"none/nop,auditchain-keyed/file"; default all), BENCH_JSON (write the raw
figures there).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import grpc

from harness import Collector, export_request, file_exporter, free_port, keygen, log_record, tail

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
WARMUP = 2.0
BATCH = int(os.environ.get("BENCH_BATCH", "1000"))
SENDERS = int(os.environ.get("BENCH_SENDERS", "8"))
PROCESSES = int(os.environ.get("BENCH_PROCESSES", "2"))
EXPORT = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
TICKS = os.sysconf("SC_CLK_TCK")

PROCESSORS = {
    "none": {},
    "attributes": {
        "attributes/insert": {
            "actions": [
                {"key": "deployment.environment", "value": "production", "action": "insert"},
                {"key": "audit.pipeline", "value": "collector-a", "action": "insert"},
                {"key": "audit.schema", "value": "1.0", "action": "insert"},
            ]
        }
    },
    "transform": {
        "transform/sha256": {
            "log_statements": [
                {"context": "log", "statements": ['set(log.attributes["body_sha256"], SHA256(log.body))']}
            ]
        }
    },
    "auditchain-plain": {"auditchain": {"stream_name": "bench-plain"}},
    "auditchain-keyed": {"auditchain": {"stream_name": "bench-keyed"}},
    "auditchain-compact": {"auditchain": {"stream_name": "bench-compact", "stamp": "compact"}},
}
EXPORTERS = ("nop", "file")


def records(variant: int) -> bytes:
    """One request of BATCH audit records, about 362 bytes of protobuf each."""
    now = time.time_ns()
    recs = []
    for i in range(BATCH):
        body = json.dumps(
            {
                "actor": f"user{(i * 7 + variant) % 97}@example.com",
                "action": ["user.login", "role.update", "record.delete", "secret.read"][i % 4],
                "resource": f"db/customers/{variant}-{i:06d}",
                "details": {"ip": f"10.0.{i % 250}.{variant % 250}", "result": "success", "attempt": i % 3},
                "timestamp": now + i,
            }
        )
        recs.append(
            log_record(
                body,
                {
                    "audit.actor": f"user{i % 97}@example.com",
                    "audit.action": "record.delete",
                    "audit.resource": f"db/customers/{i:06d}",
                    "audit.schema_version": "1.0",
                },
                now + i,
            )
        )
    return export_request(recs, "audit.bench", "audit.service")


def config(name: str, exporter: str, work: Path, grpc_port: int, keys: dict) -> dict:
    processors = {"memory_limiter": {"check_interval": "1s", "limit_percentage": 80, "spike_limit_percentage": 20}}
    for key, cfg in PROCESSORS[name].items():
        cfg = json.loads(json.dumps(cfg))
        if key == "auditchain":
            cfg["state"] = {"directory": str(work / "state")}
            if name in ("auditchain-keyed", "auditchain-compact"):
                cfg["key_file"] = str(keys["chain"])
                cfg["signing_key_file"] = str(keys["sign"])
                cfg["log"] = {"format_version": 1}
                cfg["checkpoint"] = {"interval": "10s", "records": 100000}
        processors[key] = cfg
    exporters = {"nop": {"nop": {}}, "file": {"file/audit": file_exporter(work / "data" / "audit.jsonl")}}[exporter]
    return {
        "receivers": {
            "otlp": {"protocols": {"grpc": {"endpoint": f"127.0.0.1:{grpc_port}", "max_recv_msg_size_mib": 64}}}
        },
        "processors": processors,
        "exporters": exporters,
        "service": {
            "pipelines": {"logs/bench": {"receivers": ["otlp"], "processors": list(processors), "exporters": list(exporters)}},
            "telemetry": {"logs": {"level": "warn"}, "metrics": {"level": "none"}},
        },
    }


def load_process(port: int, payloads: list[bytes], threads: int, start_at: float, stop_at: float, out) -> None:
    """A load process: `threads` senders, each sending the pre-serialised
    requests in turn as fast as the collector accepts them; counts the
    records accepted between start_at and stop_at."""
    counted = [0] * threads
    failures = [0] * threads

    def sender(k: int) -> None:
        channel = grpc.insecure_channel(
            f"127.0.0.1:{port}", options=[("grpc.max_send_message_length", 64 << 20)]
        )
        call = channel.unary_unary(EXPORT, request_serializer=None, response_deserializer=None)
        i = k
        while (now := time.time()) < stop_at:
            try:
                call(payloads[i % len(payloads)], timeout=30)
                if now >= start_at:
                    counted[k] += BATCH
            except grpc.RpcError:
                failures[k] += 1
            i += threads
        channel.close()

    ts = [threading.Thread(target=sender, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    out.put((sum(counted), sum(failures)))


def proc_stat(pid: int) -> tuple[float, int]:
    """CPU seconds (user+system) and peak RSS in bytes of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICKS
    hwm = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            hwm = int(line.split()[1]) * 1024
    return cpu, hwm


def run(name: str, exporter: str, payloads: list[bytes], root: Path, keys: dict) -> dict:
    work = Path(tempfile.mkdtemp(prefix=f"{name}-{exporter}-", dir=root))
    port = free_port()
    cfg = work / "config.yaml"
    cfg.write_text(json.dumps(config(name, exporter, work, port, keys)))
    col = Collector(cfg, work / "collector.log", cwd=work)
    col.start([port])
    try:
        t0 = time.time()
        start_at, stop_at = t0 + WARMUP, t0 + WARMUP + SECONDS
        q: mp.Queue = mp.Queue()
        per = max(1, SENDERS // PROCESSES)
        procs = [
            mp.Process(target=load_process, args=(port, payloads, per, start_at, stop_at, q)) for _ in range(PROCESSES)
        ]
        for p in procs:
            p.start()
        time.sleep(max(0.0, start_at - time.time()))
        cpu0, _ = proc_stat(col.proc.pid)
        time.sleep(max(0.0, stop_at - time.time()))
        cpu1, hwm = proc_stat(col.proc.pid)
        accepted = failures = 0
        for _ in procs:
            a, f = q.get(timeout=60)
            accepted += a
            failures += f
        for p in procs:
            p.join()
    finally:
        col.stop()
    data = work / "data"
    written = sum(f.stat().st_size for f in data.rglob("*") if f.is_file()) if data.exists() else 0
    total_records = 0
    if exporter == "file" and data.exists():
        for f in data.rglob("*.jsonl"):
            with open(f, "rb") as fh:
                for line in fh:
                    total_records += line.count(b'"timeUnixNano"')
    return {
        "pipeline": f"{name}/{exporter}",
        "records_per_s": accepted / SECONDS,
        "cpu_us_per_record": (cpu1 - cpu0) * 1e6 / accepted if accepted else float("nan"),
        "peak_rss_mb": hwm / 2**20,
        "bytes_per_record": written / total_records if total_records else None,
        "failures": failures,
    }


def main() -> int:
    wanted = os.environ.get("BENCH_PIPELINES")
    pipelines = [(n, e) for n in PROCESSORS for e in EXPORTERS]
    if wanted:
        pipelines = [p for p in pipelines if f"{p[0]}/{p[1]}" in wanted.split(",")]
    payloads = [records(v) for v in range(8)]
    print(f"bench-collector: {len(pipelines)} pipelines x {ROUNDS} rounds, {SECONDS:.0f}s each, "
          f"{BATCH} records/request ({len(payloads[0]) / BATCH:.0f} B/record protobuf), "
          f"{SENDERS} senders in {PROCESSES} load processes, {os.cpu_count()} cores")
    results: list[list[dict]] = []
    with tempfile.TemporaryDirectory(prefix="bench-collector-") as tmp:
        root = Path(tmp)
        keys = keygen(name="bench", out_dir=root / "keys")
        for r in range(ROUNDS):
            row = []
            for name, exporter in pipelines:
                try:
                    row.append(run(name, exporter, payloads, root, keys))
                except Exception as e:  # a failed pipeline is reported, the others still run
                    print(f"  {name}/{exporter}: failed: {e}", file=sys.stderr)
                    row.append({"pipeline": f"{name}/{exporter}", "failed": str(e)})
            results.append(row)
            print(f"round {r + 1}: " + ", ".join(
                f"{x['pipeline']} {x.get('records_per_s', 0) / 1000:.0f}k/s" for x in row))
    report(results)
    if out := os.environ.get("BENCH_JSON"):
        Path(out).write_text(json.dumps(results, indent=1))
    return 0


def report(results: list[list[dict]]) -> None:
    names = [x["pipeline"] for x in results[0]]

    def med(name: str, key: str):
        vals = [x[key] for row in results for x in row if x["pipeline"] == name and x.get(key) is not None]
        return statistics.median(vals) if vals else None

    def ratio(a: str, b: str) -> float | None:
        rs = []
        for row in results:
            xa = next((x for x in row if x["pipeline"] == a and "records_per_s" in x), None)
            xb = next((x for x in row if x["pipeline"] == b and "records_per_s" in x), None)
            if xa and xb and xb["records_per_s"]:
                rs.append(xa["records_per_s"] / xb["records_per_s"])
        return statistics.median(rs) if rs else None

    print()
    print(f"{'pipeline':28} {'records/s':>11} {'CPU µs/rec':>11} {'peak RSS MB':>12} {'bytes/rec':>10}")
    for n in names:
        bpr = med(n, "bytes_per_record")
        print(f"{n:28} {med(n, 'records_per_s') or 0:11,.0f} {med(n, 'cpu_us_per_record') or 0:11.2f} "
              f"{med(n, 'peak_rss_mb') or 0:12.0f} {'' if bpr is None else f'{bpr:10.0f}'}")
    print()
    print("same-round ratios (median over rounds):")
    for exp in EXPORTERS:
        for a, b in [("auditchain-keyed", "transform"), ("auditchain-keyed", "none"), ("auditchain-plain", "transform"),
                     ("auditchain-compact", "transform"), ("auditchain-compact", "none"),
                     ("transform", "none"), ("attributes", "none")]:
            r = ratio(f"{a}/{exp}", f"{b}/{exp}")
            if r is not None:
                print(f"  {a}/{exp} vs {b}/{exp}: {r:.2f}x throughput")
    none_cpu = med("none/nop", "cpu_us_per_record")
    keyed_cpu = med("auditchain-keyed/nop", "cpu_us_per_record")
    if none_cpu is not None and keyed_cpu is not None:
        print(f"  CPU added by auditchain-keyed over none (nop): {keyed_cpu - none_cpu:.2f} µs/record")
    compact_cpu = med("auditchain-compact/nop", "cpu_us_per_record")
    if none_cpu is not None and compact_cpu is not None:
        print(f"  CPU added by auditchain-compact over none (nop): {compact_cpu - none_cpu:.2f} µs/record")
    n_bpr, k_bpr = med("none/file", "bytes_per_record"), med("auditchain-keyed/file", "bytes_per_record")
    if n_bpr and k_bpr:
        print(f"  bytes added per exported record by auditchain-keyed: {k_bpr - n_bpr:.0f}")
    c_bpr = med("auditchain-compact/file", "bytes_per_record")
    if n_bpr and c_bpr:
        print(f"  bytes added per exported record by auditchain-compact: {c_bpr - n_bpr:.0f}")


if __name__ == "__main__":
    sys.exit(main())
