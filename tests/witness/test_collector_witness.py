"""The collector's witness client against real witnesses (issue 10, items 4
and 6): a collector (bin/otelcol-audit, built by ocb) with a signing key and
`witnesses:` stamps records while litewitness (and omniwitness) cosign its
log's checkpoints. Checked with real files and independent code:

- the cosignature control record and the checkpoint.file line are there,
  and the cosignature verifies under the witness's vkey (c2sp.py, Python's
  own Ed25519, not the engine), over the body of a checkpoint the collector
  signed and emitted;
- a witness that is down does not stop stamping; it is counted, and the
  checkpoints are cosigned again once it is back;
- a state rolled back (the state directory copied back after more
  checkpoints were witnessed) makes the collector refuse to start, naming
  the witness and both sizes.

The witness sits behind a loopback forwarder on a fixed port, so that the
collector's URL survives the witness's restarts and "down" is a refused
connection.
"""

from __future__ import annotations

import json
import shutil
import socket
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import grpc
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))

import c2sp  # noqa: E402
from harness import (  # noqa: E402
    COLLECTOR,
    REPO,
    VERIFIER,
    Collector,
    attributes,
    collector_config,
    export_request_message,
    free_port,
    iter_records,
    keygen,
    log_record,
    tail,
)
from witness_harness import FIGURES  # noqa: E402

COSIGNED_TIMEOUT_S = 30


@pytest.fixture(scope="module", autouse=True)
def binaries():
    for b in (COLLECTOR, VERIFIER):
        if not b.exists():
            pytest.fail(f"not built: {b}; run `make test-witness` (it builds the collector and the CLI first)")


class Forwarder:
    """A loopback HTTP forwarder to a witness: `up()` listens on a fixed
    port and forwards POSTs to `target`; `down()` closes the port."""

    def __init__(self, target: str):
        self.target = target
        self.port = free_port()
        self.server: ThreadingHTTPServer | None = None
        self.posts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def up(self) -> None:
        fwd = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                fwd.posts += 1
                req = urllib.request.Request(fwd.target + self.path, data=body, method="POST")
                try:
                    with urllib.request.urlopen(req, timeout=10) as r:
                        status, ct, out = r.status, r.headers.get("Content-Type", ""), r.read()
                except urllib.error.HTTPError as e:
                    status, ct, out = e.code, e.headers.get("Content-Type", ""), e.read()
                self.send_response(status)
                if ct:
                    self.send_header("Content-Type", ct)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args):
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def down(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def send(port: int, first: int, n: int) -> None:
    now = time.time_ns()
    recs = [log_record(json.dumps({"event": i}), {"audit.action": "record.delete", "e2e.n": i}, now) for i in range(first, first + n)]
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc

    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        stub = logs_service_pb2_grpc.LogsServiceStub(ch)
        stub.Export(export_request_message(recs, "witnessed.client", "e2e.audit"), timeout=10)


def metric(port: int, name: str, **labels) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


class Run:
    """One collector with a signing key and one witness behind a forwarder."""

    def __init__(self, work: Path, witness, fwd: Forwarder, key_name: str):
        self.work, self.witness, self.fwd = work, witness, fwd
        self.keys = keygen(name=key_name, out_dir=work / "keys")
        self.log_vkey = self.keys["pub"].read_text().strip()
        self.origin = key_name
        self.grpc, self.http, self.metrics = free_port(), free_port(), free_port()
        self.cpfile = work / "checkpoints.jsonl"
        cfg = collector_config(work, self.grpc, self.http, self.metrics, stream_name="witnessed")
        cfg["processors"]["auditchain"].update({
            "signing_key_file": str(self.keys["sign"]),
            "checkpoint": {"interval": "1s", "records": 50, "file": str(self.cpfile)},
            "witnesses": [{"url": fwd.url, "key": witness.vkey, "timeout": "3s"}],
        })
        self.config = work / "config.json"
        self.config.write_text(json.dumps(cfg))
        self.n = 0
        self.collector: Collector | None = None

    def start(self, log: str = "collector.log") -> None:
        self.collector = Collector(self.config, self.work / log, self.work)
        self.collector.start([self.grpc])

    def stop(self) -> None:
        assert self.collector is not None
        assert self.collector.stop() == 0, tail(self.collector.log)

    def send(self, n: int = 5) -> None:
        send(self.grpc, self.n + 1, n)
        self.n += n

    def lines(self) -> list[dict]:
        if not self.cpfile.exists():
            return []
        return [json.loads(x) for x in self.cpfile.read_text().splitlines() if x.strip()]

    def cosigned_lines(self) -> list[dict]:
        name = c2sp.VKey.parse(self.witness.vkey).name
        return [x for x in self.lines() if f"\u2014 {name} " in x["note"]]

    def wait_cosigned(self, more_than: int = 0) -> list[dict]:
        deadline = time.monotonic() + COSIGNED_TIMEOUT_S
        while time.monotonic() < deadline:
            self.send(3)
            got = self.cosigned_lines()
            if len(got) > more_than:
                return got
            time.sleep(0.3)
        raise AssertionError(f"no cosigned checkpoint line after {COSIGNED_TIMEOUT_S}s:\n{tail(self.collector.log)}")

    def records(self) -> list[dict]:
        data = self.work / "data" / "audit.jsonl"
        return [rec for _, _, _, rec in iter_records(data.read_text().splitlines())]


def check_cosignature(run: Run, note: str) -> tuple[int, int]:
    """The note: signed by the log's key, cosigned by the witness's; both
    checked here independently. Returns (size, cosignature timestamp)."""
    text, sigs = c2sp.split_note(note.encode())
    cp = c2sp.parse_checkpoint(text)
    assert cp.origin == run.origin
    log_key = c2sp.VKey.parse(run.log_vkey)
    w_key = c2sp.VKey.parse(run.witness.vkey)
    assert any(c2sp.verify_note_sig(log_key, text, s) for s in sigs if s.name == log_key.name), note
    stamps = [t for s in sigs if s.name == w_key.name for t in [c2sp.verify_cosig(w_key, text, s)] if t]
    assert stamps, f"no valid cosignature of {w_key.name}:\n{note}"
    return cp.size, stamps[0]


def str_attr(rec: dict, key: str):
    v = attributes(rec).get(key)
    return v


@pytest.fixture
def forwarded(request, tmp_path):
    witness = request.getfixturevalue(request.param)
    fwd = Forwarder(witness.url)
    fwd.up()
    yield witness, fwd
    fwd.down()


@pytest.mark.parametrize("forwarded", ["lite", "omni"], indirect=True)
def test_checkpoints_are_cosigned_and_recorded(forwarded, tmp_path, request):
    witness, fwd = forwarded
    name = f"example.com-e2e-{request.node.callspec.id}-{int(time.time())}"
    run = Run(tmp_path, witness, fwd, name)
    witness.register(run.origin, run.log_vkey)
    fwd.target = witness.url  # omniwitness restarts on register: a new port
    run.start()
    cosigned = run.wait_cosigned()
    run.stop()
    size, ts = check_cosignature(run, cosigned[0]["note"])
    recs = run.records()
    # The checkpoint record the line names: same stream, sequence, body.
    cps = {(str_attr(r, "audit.sequence.stream_id"), str_attr(r, "audit.sequence.number")): r
           for r in recs if str_attr(r, "audit.stream.event") == "checkpoint"}
    cp = cps[(cosigned[0]["stream_id"], cosigned[0]["sequence"])]
    assert str_attr(cp, "audit.log.index") == size
    assert cp["body"]["stringValue"].split("\n\n")[0] == cosigned[0]["note"].split("\n\n")[0]
    # The cosignature record in the stream: the same cosigned note.
    cos = [r for r in recs if str_attr(r, "audit.stream.event") == "cosignature"]
    assert cos, "a cosignature control record"
    mine = [r for r in cos if str_attr(r, "audit.log.checkpoint_index") == size]
    assert mine, [str_attr(r, "audit.log.checkpoint_index") for r in cos]
    assert check_cosignature(run, mine[0]["body"]["stringValue"])[0] == size
    FIGURES[f"collector {request.node.callspec.id}: witnessed checkpoint note as recorded"] = "\n" + mine[0]["body"]["stringValue"]
    (REPO / "build" / "witness" / f"witnessed-note-{request.node.callspec.id}.txt").write_text(mine[0]["body"]["stringValue"])


@pytest.mark.parametrize("forwarded", ["lite"], indirect=True)
def test_witness_down_then_back_and_a_rolled_back_state_refused(forwarded, tmp_path, request):
    witness, fwd = forwarded
    run = Run(tmp_path, witness, fwd, f"example.com-e2e-down-{int(time.time())}")
    witness.register(run.origin, run.log_vkey)
    run.start()
    first = run.wait_cosigned()
    # A snapshot of the state now, for the rollback later.
    snapshot = tmp_path / "state-snapshot"
    shutil.copytree(tmp_path / "state", snapshot)
    size0 = check_cosignature(run, first[-1]["note"])[0]

    # Down: stamping goes on, answers are counted as unreachable.
    fwd.down()
    t0 = time.monotonic()
    for _ in range(8):
        run.send(5)
        time.sleep(0.3)
    assert time.monotonic() - t0 < 10, "stamping never waits for a witness"
    unreachable = metric(run.metrics, "otelcol_processor_auditchain_witness_answers", answer="unreachable")
    assert unreachable >= 1, "the witness being down is counted"
    lag = metric(run.metrics, "otelcol_processor_auditchain_witness_lag")
    assert lag > 0, "and its lag shows"
    before = len(run.cosigned_lines())

    # Back: the next checkpoint is cosigned, proven from the size it held.
    fwd.up()
    later = run.wait_cosigned(more_than=before)
    size1 = check_cosignature(run, later[-1]["note"])[0]
    assert size1 > size0
    run.stop()
    FIGURES["collector litewitness: down then back"] = (
        f"{int(unreachable)} unreachable answers, lag {int(lag)} leaves; cosigned again at size {size1} (held {size0})")

    # Rolled back: the old state put back (and the checkpoint file, which
    # would reveal it too, emptied): the witness holds a larger size.
    shutil.rmtree(tmp_path / "state")
    shutil.copytree(snapshot, tmp_path / "state")
    run.cpfile.write_text("")
    with pytest.raises(AssertionError) as refused:
        run.start("collector-rolled-back.log")
    text = (tmp_path / "collector-rolled-back.log").read_text()
    assert "refuses to start" in text and fwd.url in text and "rolled back" in text, tail(tmp_path / "collector-rolled-back.log")
    import re
    m = re.search(r"at size (\d+), larger than this log's newest checkpoint \(size (\d+)\)", text)
    assert m, text[-3000:]
    assert int(m.group(1)) >= size1 > int(m.group(2)), m.groups()
    FIGURES["collector litewitness: rolled-back state"] = m.group(0)
