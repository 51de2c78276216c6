"""`mode: verify` on a gateway, end to end (issue 11, item 1): an agent
collector stamps records (keyed chain, signed checkpoints, compact stamps)
and exports them over OTLP/gRPC to a small Python OTLP proxy; the proxy (the
tamper step) forwards them to a gateway collector (`auditchain` with `mode:
verify`, file exporter), unchanged or attacked: a record's body edited, a
record deleted, two records' contents swapped, a checkpoint forged, a batch
resent, two batches sent out of order (within and beyond the reorder
window). The gateway's file, its log and its metrics must show each
attack's outcome; duplicates and reordering within the window must pass.

The proxy stores what the agent sends and forwards it under the test's
control, so that each scenario is exact (which record, which batch).

The attack table (attack -> outcome on the gateway -> metric) is printed in
the terminal summary ("auditchain end-to-end figures", "gateway attacks").
"""

from __future__ import annotations

import json
import threading
import time
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc

from conftest import FIGURES
from harness import (
    Collector,
    crash,
    export_request_message,
    file_exporter,
    free_port,
    expect_pass,
    keygen,
    log_record,
    scrape,
    tail,
    telemetry,
    verify,
)

COMPACT = "audit.integrity.stamp"
SEQ = "audit.sequence.number"
EVENT = "audit.stream.event"
RESULT = "audit.verify.result"
REASON = "audit.verify.reason"
BATCHES = 8
PER_BATCH = 4
WINDOW = 12
TIMEOUT_S = 2

def metric(samples, name: str, **labels) -> float:
    names = {name, name + "_total"}
    return sum(v for n, l, v in samples if n in names and all(l.get(k) == w for k, w in labels.items()))


class Proxy(logs_service_pb2_grpc.LogsServiceServicer):
    """An OTLP/gRPC logs endpoint that keeps every request it receives."""

    def __init__(self):
        self.requests: list[logs_service_pb2.ExportLogsServiceRequest] = []
        self.lock = threading.Lock()

    def Export(self, request, context):  # noqa: N802 (gRPC's name)
        copy = logs_service_pb2.ExportLogsServiceRequest()
        copy.CopyFrom(request)
        with self.lock:
            self.requests.append(copy)
        return logs_service_pb2.ExportLogsServiceResponse()

    @classmethod
    def serve(cls):
        """A proxy listening on a free port: (proxy, its gRPC server, port)."""
        proxy = cls()
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        logs_service_pb2_grpc.add_LogsServiceServicer_to_server(proxy, server)
        port = free_port()
        server.add_insecure_port(f"127.0.0.1:{port}")
        server.start()
        return proxy, server, port


def records(req):
    for rl in req.resource_logs:
        for sl in rl.scope_logs:
            yield from sl.log_records


def attr(rec, key):
    for a in rec.attributes:
        if a.key == key:
            v = a.value
            return v.string_value if v.HasField("string_value") else v.int_value if v.HasField("int_value") else v
    return None


def number(rec) -> int:
    c = attr(rec, COMPACT)
    return int(c.split(" ")[2]) if c else int(attr(rec, SEQ))


def lowest(req) -> int:
    return min(number(r) for r in records(req))


def agent_config(work: Path, grpc_port: int, proxy_port: int, metrics: int, keys, interval: str = "1m") -> dict:
    return {
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": f"127.0.0.1:{grpc_port}"}}}},
        "processors": {
            "auditchain": {
                "stream_name": "e2e-agent",
                "state": {"directory": str(work / "agent-state")},
                "key_file": str(keys["chain"]),
                "signing_key_file": str(keys["sign"]),
                "stamp": "compact",
                "checkpoint": {"records": 6, "interval": interval},
                "key_epoch": {"records": 5, "interval": "1m"},
            }
        },
        "exporters": {
            "otlp_grpc/proxy": {
                "endpoint": f"127.0.0.1:{proxy_port}",
                "tls": {"insecure": True},
                "sending_queue": {"enabled": False},
            }
        },
        "service": {
            "pipelines": {"logs": {"receivers": ["otlp"], "processors": ["auditchain"], "exporters": ["otlp_grpc/proxy"]}},
            "telemetry": {"logs": {"level": "info"}, "metrics": {"level": "none"}},
        },
    }


def gateway_config(work: Path, name: str, grpc_port: int, metrics: int, keys, on_failure: str, grace: str = "1m") -> dict:
    verify = {
        "mode": "verify",
        "state": {"directory": str(work / name / "state")},
        "key_file": str(keys["chain"]),
        "public_keys": [str(keys["pub"])],
        "on_failure": on_failure,
        "reorder_window": WINDOW,
        "reorder_timeout": f"{TIMEOUT_S}s",
        "heartbeat_grace": grace,
    }
    out = work / name / "out.jsonl"
    pipelines = {"logs": {"receivers": ["otlp"], "processors": ["auditchain/gw"], "exporters": ["file/out"]}}
    exporters = {"file/out": file_exporter(out)}
    processors = {"auditchain/gw": verify}
    connectors = {}
    if on_failure == "route":
        # route: mark, then split with the forward connector and two filter
        # processors (the routing connector is not served at v0.161.0).
        connectors = {"forward/verified": {}}
        exporters["file/quarantine"] = file_exporter(work / name / "quarantine.jsonl")
        processors["filter/failed"] = {"error_mode": "propagate", "logs": {"log_record": [f'attributes["{RESULT}"] == "failed"']}}
        processors["filter/passed"] = {"error_mode": "propagate", "logs": {"log_record": [f'attributes["{RESULT}"] != "failed"']}}
        pipelines = {
            "logs/in": {"receivers": ["otlp"], "processors": ["auditchain/gw"], "exporters": ["forward/verified"]},
            "logs/store": {"receivers": ["forward/verified"], "processors": ["filter/failed"], "exporters": ["file/out"]},
            "logs/quarantine": {"receivers": ["forward/verified"], "processors": ["filter/passed"], "exporters": ["file/quarantine"]},
        }
    cfg = {
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": f"127.0.0.1:{grpc_port}"}}}},
        "processors": processors,
        "exporters": exporters,
        "service": {
            "pipelines": pipelines,
            "telemetry": telemetry(metrics),
        },
    }
    if connectors:
        cfg["connectors"] = connectors
    return cfg


@pytest.fixture(scope="module")
def stamped(tmp_path_factory):
    """The agent's batches as the proxy received them, in sequence order,
    and the keys."""
    work = tmp_path_factory.mktemp("gateway")
    keys = keygen(name="e2e-gw", out_dir=work / "keys")
    proxy, server, proxy_port = Proxy.serve()
    grpc_port, metrics = free_port(), free_port()
    cfg = work / "agent.json"
    cfg.write_text(json.dumps(agent_config(work, grpc_port, proxy_port, metrics, keys)))
    agent = Collector(cfg, work / "agent.log", work)
    agent.start([grpc_port])
    try:
        with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as ch:
            stub = logs_service_pb2_grpc.LogsServiceStub(ch)
            for b in range(BATCHES):
                recs = [log_record(f"user-{b}-{i} deleted doc-{i}", {"audit.actor": f"user-{b}-{i}"}, time.time_ns()) for i in range(PER_BATCH)]
                stub.Export(export_request_message(recs, "audit.service", "audit.scope"), timeout=10)
    finally:
        assert agent.stop() == 0, tail(work / "agent.log")
        server.stop(1)
    reqs = sorted(proxy.requests, key=lowest)
    n = sum(1 for r in reqs for _ in records(r))
    assert n >= BATCHES * PER_BATCH + 2, f"{n} records"
    return work, keys, reqs


class Gateway:
    def __init__(self, work: Path, keys, name: str, on_failure: str = "mark", grace: str = "1m"):
        self.dir = work / name
        self.dir.mkdir(exist_ok=True)
        self.grpc, self.metrics = free_port(), free_port()
        cfg = self.dir / "gateway.json"
        cfg.write_text(json.dumps(gateway_config(work, name, self.grpc, self.metrics, keys, on_failure, grace)))
        self.collector = Collector(cfg, self.dir / "gateway.log", self.dir)
        self.collector.start([self.grpc, self.metrics])
        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.grpc}")
        self.stub = logs_service_pb2_grpc.LogsServiceStub(self.channel)

    def send(self, req):
        self.stub.Export(req, timeout=10)

    def finish(self, wait: float = 0.5):
        """Waits (for held records to time out), scrapes the metrics, stops
        the gateway; returns (records written, metrics, log text)."""
        time.sleep(wait)
        samples = scrape(self.metrics)
        self.channel.close()
        assert self.collector.stop() == 0, tail(self.dir / "gateway.log")
        out = []
        for name in ("out.jsonl", "quarantine.jsonl"):
            p = self.dir / name
            if not p.exists():
                continue
            for line in p.read_text().splitlines():
                for rl in json.loads(line)["resourceLogs"]:
                    for sl in rl["scopeLogs"]:
                        for r in sl["logRecords"]:
                            a = {x["key"]: x["value"] for x in r.get("attributes", [])}
                            c = a.get(COMPACT, {}).get("stringValue")
                            seq = int(c.split(" ")[2]) if c else int(a[SEQ]["intValue"])
                            out.append({"seq": seq, "file": name, "result": a.get(RESULT, {}).get("stringValue"), "reason": a.get(REASON, {}).get("stringValue")})
        return out, samples, (self.dir / "gateway.log").read_text()


def copy(req):
    c = logs_service_pb2.ExportLogsServiceRequest()
    c.CopyFrom(req)
    return c


def user_records(req):
    return [r for r in records(req) if attr(r, COMPACT)]


def failed(out) -> dict[int, str]:
    return {r["seq"]: r["reason"] for r in out if r["result"] == "failed"}


TABLE: list[tuple[str, str, str]] = []


@pytest.fixture(scope="module", autouse=True)
def attack_table():
    yield
    if TABLE:
        w = max(len(a) for a, _, _ in TABLE)
        FIGURES["gateway attacks"] = "\n" + "\n".join(f"{'':>34}{a:<{w}}  ->  {o}  [{m}]" for a, o, m in TABLE)


VERIFY = "otelcol_processor_auditchain_verify_records"


def test_clean_stream_duplicates_and_reordering_within_the_window_pass(stamped):
    work, keys, reqs = stamped
    gw = Gateway(work, keys, "clean")
    gw.send(reqs[0])
    gw.send(reqs[2])  # ahead of reqs[1]: held
    gw.send(reqs[1])
    gw.send(reqs[1])  # resent: duplicates
    for r in reqs[3:]:
        gw.send(r)
    out, m, log = gw.finish()
    assert failed(out) == {}, out
    total = sum(1 for r in reqs for _ in records(r))
    assert len(out) == total + len(list(records(reqs[1])))
    held, dup = metric(m, VERIFY, verdict="held"), metric(m, VERIFY, verdict="duplicate")
    assert held == len(list(records(reqs[2]))) and dup == len(list(records(reqs[1]))), (held, dup)
    assert metric(m, "otelcol_processor_auditchain_verify_resolved", verdict="ok") == held
    assert metric(m, "otelcol_processor_auditchain_verify_checkpoints") >= 3
    # What the gateway passed on is what the agent exported: it verifies
    # offline (the resent batch as duplicates).
    expect_pass(verify(gw.dir / "out.jsonl", keys=[keys["chain"]], public_keys=[keys["pub"]]))
    TABLE.append(("none (every batch in order)", "all pass, no mark", f"ok={metric(m, VERIFY, verdict='ok'):.0f}"))
    TABLE.append(("batch resent", f"{dup:.0f} duplicates pass", "verify_records{verdict=duplicate}"))
    TABLE.append(("two batches swapped (in window)", f"{held:.0f} held, then verified", "verify_resolved{verdict=ok}"))


def test_edited_body_is_marked_or_dropped(stamped):
    work, keys, reqs = stamped
    target = user_records(reqs[2])[1]
    seq = number(target)
    for mode in ("mark", "drop"):
        gw = Gateway(work, keys, f"edit-{mode}", on_failure=mode)
        for i, r in enumerate(reqs):
            if i == 2:
                r = copy(r)
                next(x for x in records(r) if number(x) == seq).body.string_value = "nothing happened"
            gw.send(r)
        out, m, _ = gw.finish()
        if mode == "mark":
            assert failed(out) == {seq: "content_mismatch"}, failed(out)
        else:
            assert failed(out) == {} and seq not in {r["seq"] for r in out}
            assert metric(m, "otelcol_processor_auditchain_verify_records_dropped") == 1
        assert metric(m, VERIFY, verdict="failed", reason="content_mismatch") == 1
        TABLE.append((f"body of record {seq} edited (on_failure: {mode})", "marked content_mismatch" if mode == "mark" else "dropped", "verify_records{verdict=failed,reason=content_mismatch}"))


def test_deleted_record_holds_its_successors_then_is_reported(stamped):
    work, keys, reqs = stamped
    victim = user_records(reqs[3])[0]
    seq = number(victim)
    gw = Gateway(work, keys, "delete")
    for i, r in enumerate(reqs[:5]):
        if i == 3:
            r = copy(r)
            for rl in r.resource_logs:
                for sl in rl.scope_logs:
                    keep = [x for x in sl.log_records if number(x) != seq]
                    del sl.log_records[:]
                    sl.log_records.extend(keep)
        gw.send(r)
    out, m, log = gw.finish(wait=TIMEOUT_S + 2)
    assert seq not in {r["seq"] for r in out}
    assert metric(m, "otelcol_processor_auditchain_verify_missing_records") == 1
    assert metric(m, "otelcol_processor_auditchain_verify_resolved", verdict="failed", reason="unchecked_record") == 1
    assert f'"first": {seq}' in log or f'"first":{seq}' in log, log[-3000:]
    assert "records missing" in log
    held = metric(m, VERIFY, verdict="held")
    assert held >= 1
    TABLE.append((f"record {seq} deleted", f"{held:.0f} successors held; after {TIMEOUT_S}s: {seq} missing, {seq + 1} unchecked", "verify_missing_records, verify_resolved{reason=unchecked_record}"))


def test_swapped_contents_and_reordering_beyond_the_window_fail(stamped):
    work, keys, reqs = stamped
    gw = Gateway(work, keys, "swap")
    a, b = user_records(reqs[1])[:2]
    pair = (number(a), number(b))
    for i, r in enumerate(reqs):
        if i == 1:
            r = copy(r)
            x, y = user_records(r)[:2]
            bx, by = x.body.string_value, y.body.string_value
            x.body.string_value, y.body.string_value = by, bx
        gw.send(r)
    out, m, _ = gw.finish()
    assert failed(out) == {pair[0]: "content_mismatch", pair[1]: "content_mismatch"}, failed(out)
    TABLE.append((f"contents of records {pair[0]} and {pair[1]} swapped", "both marked content_mismatch", "verify_records{reason=content_mismatch}"))

    # Batches 3 and 4 held back until more than the window has passed.
    gw = Gateway(work, keys, "late")
    late = reqs[3:5]
    for r in reqs[:3] + reqs[5:]:
        gw.send(r)
    for r in late:
        gw.send(r)
    out, m, _ = gw.finish()
    late_seqs = {number(x) for r in late for x in records(r)}
    after = max(late_seqs) + 1
    # The numbers given up are missing; the record after them, held, is
    # judged without its predecessor (a compact stamp: unchecked); the late
    # batches come after the window gave up their numbers.
    assert failed(out) == {**{s: "out_of_window" for s in late_seqs}, after: "unchecked_record"}, failed(out)
    assert metric(m, "otelcol_processor_auditchain_verify_missing_records") == len(late_seqs)
    assert metric(m, VERIFY, verdict="failed", reason="unchecked_record") == 1
    TABLE.append((f"batches with records {min(late_seqs)}-{max(late_seqs)} delayed past the window ({WINDOW})", f"missing; {after} marked unchecked_record; the late ones marked out_of_window", "verify_missing_records, verify_records{reason=out_of_window}"))


def test_forged_checkpoint_is_marked_and_route_quarantines_it(stamped):
    work, keys, reqs = stamped
    i, cp = next((i, x) for i, r in enumerate(reqs) for x in records(r) if attr(x, EVENT) == "checkpoint")
    seq = number(cp)
    for mode in ("mark", "route"):
        gw = Gateway(work, keys, f"forge-{mode}", on_failure=mode)
        for j, r in enumerate(reqs):
            if j == i:
                r = copy(r)
                x = next(x for x in records(r) if number(x) == seq)
                lines = x.body.string_value.split("\n")
                lines[1] = str(int(lines[1]) + 100)  # a bigger size, the signature kept
                x.body.string_value = "\n".join(lines)
            gw.send(r)
        out, m, _ = gw.finish()
        assert failed(out) == {seq: "bad_checkpoint"}, failed(out)
        if mode == "route":
            q = [r for r in out if r["file"] == "quarantine.jsonl"]
            assert [r["seq"] for r in q] == [seq], q
            assert all(r["result"] is None for r in out if r["file"] == "out.jsonl")
        TABLE.append((f"checkpoint in record {seq} forged ({mode})", "marked bad_checkpoint" + (", routed to quarantine file" if mode == "route" else ""), "verify_records{reason=bad_checkpoint}"))


def test_a_restarted_gateway_continues_from_its_state(stamped):
    work, keys, reqs = stamped
    gw = Gateway(work, keys, "restart")
    for r in reqs[:3]:
        gw.send(r)
    gw.send(reqs[4])  # held across the restart
    out1, _, _ = gw.finish()
    gw = Gateway(work, keys, "restart")
    gw.send(reqs[2])  # a duplicate of a batch judged before the restart
    gw.send(reqs[3])
    for r in reqs[5:]:
        gw.send(r)
    out2, m, log = gw.finish()
    assert failed(out1) == {} and failed(out2) == {}, (failed(out1), failed(out2))
    assert metric(m, "otelcol_processor_auditchain_verify_missing_records") == 0
    assert metric(m, VERIFY, verdict="duplicate") == len(list(records(reqs[2])))
    held = len(list(records(reqs[4])))
    assert metric(m, "otelcol_processor_auditchain_verify_resolved", verdict="ok") == held
    TABLE.append(("gateway restarted mid-stream (a batch held across it)", f"continues: {held} held records verified after the restart, duplicates pass", "verify_resolved{verdict=ok}"))


def test_a_stream_whose_agent_died_goes_silent(tmp_path):
    """An agent checkpointing every second is killed (no final
    checkpoint); the gateway that received its records reports the stream
    silent once its newest checkpoint is older than 1 s + the grace."""
    keys = keygen(name="e2e-silent", out_dir=tmp_path / "keys")
    proxy, server, proxy_port = Proxy.serve()
    grpc_port = free_port()
    cfg = tmp_path / "agent.json"
    cfg.write_text(json.dumps(agent_config(tmp_path, grpc_port, proxy_port, free_port(), keys, interval="1s")))
    agent = Collector(cfg, tmp_path / "agent.log", tmp_path)
    agent.start([grpc_port])
    try:
        with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as ch:
            stub = logs_service_pb2_grpc.LogsServiceStub(ch)
            recs = [log_record(f"user-{i} deleted doc-{i}", {}, time.time_ns()) for i in range(3)]
            stub.Export(export_request_message(recs, "audit.service", "audit.scope"), timeout=10)
        time.sleep(2.5)  # heartbeat checkpoints
    finally:
        crash(agent)
        server.stop(1)
    reqs = sorted(proxy.requests, key=lowest)
    assert any(attr(x, EVENT) == "checkpoint" for r in reqs for x in records(r))
    gw = Gateway(tmp_path, keys, "silent", grace="1s")
    for r in reqs:
        gw.send(r)
    deadline = time.monotonic() + 15
    silent = 0.0
    while time.monotonic() < deadline and not silent:
        time.sleep(0.5)
        silent = metric(scrape(gw.metrics), "otelcol_processor_auditchain_verify_silent_streams")
    out, m, log = gw.finish(wait=0)
    assert silent == 1, log[-3000:]
    assert failed(out) == {}
    assert "stream silent past its heartbeat" in log
    TABLE.append(("agent killed (no final checkpoint, interval 1s)", "stream reported silent once, after interval + grace", "verify_silent_streams"))
