"""The processor's self-telemetry in a running collector: two named
instances, auditchain/a and auditchain/b, in two pipelines; their series on
the collector's Prometheus /metrics, told apart by the `processor` label the
collector's processorhelper uses, and, on the auditchain metrics, by
`stream_name`. Every counter is there from the start (at 0), and the
standard otelcol_processor_incoming_items / _outgoing_items /
_internal_duration series are there like for every other processor.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from harness import Collector, free_port, scrape, tail, telemetry

AUDITCHAIN_COUNTERS = [
    "otelcol_processor_auditchain_batches_failed",
    "otelcol_processor_auditchain_checkpoints_emitted",
    "otelcol_processor_auditchain_records_forwarded_unstamped",
    "otelcol_processor_auditchain_records_stamped",
    "otelcol_processor_auditchain_state_writes",
]
STANDARD_COUNTERS = ["otelcol_processor_incoming_items", "otelcol_processor_outgoing_items"]
SCOPE = "github.com/auditchain/auditchain/go-wrapper"
INSTANCES = {"auditchain/a": "telemetry-a", "auditchain/b": "telemetry-b"}

def series(samples, name: str, **labels) -> list[tuple[dict, float]]:
    """Samples of a counter or histogram part, by name with or without the
    Prometheus `_total` suffix, whose labels include `labels`."""
    names = {name, name + "_total"}
    return [(l, v) for n, l, v in samples if n in names and all(l.get(k) == w for k, w in labels.items())]


def value(samples, name: str, **labels) -> float:
    got = series(samples, name, **labels)
    assert len(got) == 1, f"{name}{labels}: expected one series, got {got}"
    return got[0][1]


def post_logs(port: int, bodies: list[str], attrs: dict | None = None) -> int:
    records = [
        {
            "timeUnixNano": str(time.time_ns()),
            "body": {"stringValue": b},
            "attributes": [{"key": k, "value": v} for k, v in (attrs or {}).items()],
        }
        for b in bodies
    ]
    req = {
        "resourceLogs": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "telemetry-test"}}]},
                "scopeLogs": [{"scope": {"name": "audit"}, "logRecords": records}],
            }
        ]
    }
    r = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/logs",
        data=json.dumps(req).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(r, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as e:
        return e.code


def config(work, http: dict, metrics: int) -> dict:
    receivers, processors, exporters, pipelines = {}, {}, {}, {}
    for inst, stream in INSTANCES.items():
        n = inst.split("/")[1]
        receivers[f"otlp/{n}"] = {"protocols": {"http": {"endpoint": f"127.0.0.1:{http[inst]}"}}}
        processors[inst] = {"stream_name": stream, "state": {"directory": str(work / f"state-{n}")}}
        exporters[f"file/{n}"] = {
            "path": str(work / "data" / f"{n}.jsonl"),
            "format": "json",
            "append": True,
            "create_directory": True,
            "flush_interval": "200ms",
        }
        pipelines[f"logs/{n}"] = {"receivers": [f"otlp/{n}"], "processors": [inst], "exporters": [f"file/{n}"]}
    return {
        "receivers": receivers,
        "processors": processors,
        "exporters": exporters,
        "service": {
            "pipelines": pipelines,
            "telemetry": telemetry(metrics),
        },
    }


def wait_for(pred, what: str, timeout_s: float = 10.0):
    deadline = time.monotonic() + timeout_s
    while True:
        got = pred()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.fixture
def collector(binaries, tmp_path):
    http = {inst: free_port() for inst in INSTANCES}
    metrics = free_port()
    (tmp_path / "config.yaml").write_text(json.dumps(config(tmp_path, http, metrics), indent=2))
    c = Collector(tmp_path / "config.yaml", tmp_path / "collector.log", cwd=tmp_path)
    c.start([*http.values(), metrics])
    yield c, http, metrics
    c.kill()


def test_metrics_per_instance(collector):
    c, http, metrics = collector

    # Before any traffic: every counter of both instances, at 0 (the
    # outgoing count has the start record once the first tick ran).
    def started():
        s = scrape(metrics)
        out = [series(s, "otelcol_processor_outgoing_items", processor=i) for i in INSTANCES]
        return s if all(len(o) == 1 and o[0][1] >= 1 for o in out) else None

    first = wait_for(started, "both streams' start records")
    for inst, stream in INSTANCES.items():
        for name in AUDITCHAIN_COUNTERS:
            got = series(first, name, processor=inst)
            assert len(got) == 1, f"{name} of {inst} missing at start: {got}"
            labels, v = got[0]
            assert labels.get("stream_name") == stream, labels
            assert labels.get("otel_scope_name", SCOPE) == SCOPE, labels
            if name != "otelcol_processor_auditchain_state_writes":
                assert v == 0, (name, inst, v)
        assert value(first, "otelcol_processor_incoming_items", processor=inst, otel_signal="logs") == 0
        assert value(first, "otelcol_processor_outgoing_items", processor=inst, otel_signal="logs") == 1  # the start record

    # a: 3 + 4 records, and one batch it refuses (already stamped); b: 5.
    assert post_logs(http["auditchain/a"], ["a1", "a2", "a3"]) == 200
    assert post_logs(http["auditchain/a"], ["a4", "a5", "a6", "a7"]) == 200
    assert post_logs(http["auditchain/a"], ["forged"], {"audit.sequence.number": {"intValue": "5"}}) == 400
    assert post_logs(http["auditchain/b"], ["b1", "b2", "b3", "b4", "b5"]) == 200
    s = scrape(metrics)

    expect = {
        "auditchain/a": dict(stamped=7, failed=1, incoming=8, outgoing=1 + 7, batches=3),
        "auditchain/b": dict(stamped=5, failed=0, incoming=5, outgoing=1 + 5, batches=1),
    }
    for inst, e in expect.items():
        stream = INSTANCES[inst]
        own = dict(processor=inst, stream_name=stream)
        std = dict(processor=inst, otel_signal="logs")
        assert value(s, "otelcol_processor_auditchain_records_stamped", **own) == e["stamped"]
        assert value(s, "otelcol_processor_auditchain_batches_failed", **own) == e["failed"]
        assert value(s, "otelcol_processor_auditchain_records_forwarded_unstamped", **own) == 0
        assert value(s, "otelcol_processor_auditchain_checkpoints_emitted", **own) == 0
        # Open, first tick, one per stamped batch (group commit may share).
        assert value(s, "otelcol_processor_auditchain_state_writes", **own) >= 2
        assert value(s, "otelcol_processor_incoming_items", **std) == e["incoming"]
        assert value(s, "otelcol_processor_outgoing_items", **std) == e["outgoing"]
        # One duration per batch handed to the processor, refused ones included.
        assert value(s, "otelcol_processor_internal_duration_count", **std) == e["batches"]
    # Nothing of ours without the instance's identity.
    for n, labels, _ in s:
        if n.startswith("otelcol_processor_auditchain_"):
            assert labels.get("processor") in INSTANCES and labels.get("stream_name") in INSTANCES.values(), (n, labels)

    assert c.stop() == 0, tail(c.log)
