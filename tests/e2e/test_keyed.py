"""Keyed, forward-secure chain and signed checkpoints, end to end (issue 3,
item 5): the real collector stamps records with `key_file` and
`signing_key_file` configured; every attack of the issue is then performed
on a copy of what the file exporter wrote, and `auditchain verify` must
report each one with the finding SPEC §8 names, while the clean files
still pass.

Nothing here is random: the records attacked are chosen by sequence
number from the stream the collector actually wrote (its layout depends on
timing: where the heartbeat checkpoints fall, how the batches split).

The attack table (attack -> exit code -> finding kinds) is printed in the
terminal summary ("auditchain end-to-end figures", entry "keyed attacks").
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import os
import shutil
import struct
import subprocess
import time
from pathlib import Path

import grpc
import pytest
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc

from conftest import FIGURES
from harness import (
    COLLECTOR,
    REPO,
    SEQ,
    SEQ_END,
    STREAM_EVENT,
    STREAM_ID,
    VERIFIER,
    Collector,
    Verified,
    all_findings,
    attributes,
    by_sequence,
    collector_config,
    collector_env,
    compact,
    expect_fail,
    expect_pass,
    explain,
    export_request_message,
    free_port,
    iter_records,
    keygen,
    kinds,
    log_record,
    only_stream,
    seq_of,
    tail,
    verify,
    write_lines,
)

ALG = "audit.integrity.algorithm"
VALUE = "audit.integrity.value"
PREV = "audit.sequence.previous_hash"
EPOCH = "audit.integrity.key_epoch"

KEY_NAME = "e2e-ops"
ROTATED_KEY_NAME = "e2e-ops-rotated"
STREAM = "e2e-keyed"
OTHER_STREAM = "e2e-keyed-other"

# Cadence: small, so that a few seconds of traffic give several checkpoints
# (by count and by time, including idle heartbeats) and several key epochs.
CHECKPOINT_RECORDS = 20
KEY_EPOCH_RECORDS = 25
BATCHES = 6
BATCH_SIZE = 12
BATCH_PAUSE_S = 0.6
IDLE_S = 2.5  # at the end, with no traffic: at least one heartbeat checkpoint (ticks are 1 s apart)
FIVE_MINUTES = 300.0

# attack -> (as-of, exit code, error kinds, warning kinds); printed at the end.
ATTACKS: list[tuple[str, str, int, list[str], list[str]]] = []


# --------------------------------------------------------------------------
# SPEC §3 and §5.2 in Python: what a third party (or an attacker without the
# key) implements from the document alone.


def u64be(n: int) -> bytes:
    return struct.pack(">Q", n)


def link_message(stream_id: str, sequence: int, key_epoch: int, end: bool, previous: bytes | None, record_hash: bytes) -> bytes:
    sid = stream_id.encode("utf-8")
    assert previous is None or len(previous) == 32
    assert len(record_hash) == 32
    return (
        b"auditchain.link.v1\x00"
        + struct.pack(">I", len(sid))
        + sid
        + u64be(sequence)
        + u64be(key_epoch)
        + (b"\x01" if end else b"\x00")
        + (previous if previous is not None else bytes(32))
        + record_hash
    )


def plain_link(*args) -> bytes:
    return hashlib.sha256(link_message(*args)).digest()


def _hmac(key: bytes, msg: bytes) -> bytes:
    return hmac.new(key, msg, hashlib.sha256).digest()


def read_chain_key(text: str) -> tuple[str, bytes]:
    """`AUDITCHAIN-CHAIN-KEY+<name>+<id>+<base64 secret>` -> (key id, secret)."""
    magic, name, kid, b64 = text.strip().split("+", 3)
    assert magic == "AUDITCHAIN-CHAIN-KEY", magic
    secret = base64.b64decode(b64)
    assert len(secret) == 32
    assert hashlib.sha256(b"auditchain.chain-key-id.v1\x00" + secret).digest()[:4].hex() == kid
    return f"{name}+{kid}", secret


def root_key(chain_key: bytes, stream_id: str) -> bytes:
    return _hmac(chain_key, b"auditchain.stream-key.v1\x00" + stream_id.encode())


def successor_key(k: bytes, stream_id: str) -> bytes:
    return _hmac(k, b"auditchain.successor-key.v1\x00" + stream_id.encode())


def evolve(k: bytes, to_epoch: int) -> bytes:
    return _hmac(k, b"auditchain.evolve.v1\x00" + u64be(to_epoch))


def epoch_key(k0: bytes, epoch: int) -> bytes:
    k = k0
    for e in range(1, epoch + 1):
        k = evolve(k, e)
    return k


def lineage_key(chain_key: bytes, lineage: list[str]) -> bytes:
    """Epoch 0 key of the last stream named by `audit.stream.key_lineage`."""
    k = root_key(chain_key, lineage[0])
    for hop in lineage[1:]:
        e, sid = hop.split(":", 1)
        k = successor_key(epoch_key(k, int(e)), sid)
    return k


# --------------------------------------------------------------------------
# editing the export (records found by sequence number: harness.by_sequence)


def edit(lines: list[str], fn) -> list[str]:
    """Applies fn(record) -> record | None to every record (None deletes it);
    requests left empty are dropped; untouched lines stay byte-identical."""
    out = []
    for line in lines:
        req = json.loads(line)
        changed = False
        for rl in req.get("resourceLogs", []):
            for sl in rl.get("scopeLogs", []):
                kept = []
                for rec in sl.get("logRecords", []):
                    before = compact(rec)
                    new = fn(rec)
                    if new is None or compact(new) != before:
                        changed = True
                    if new is not None:
                        kept.append(new)
                sl["logRecords"] = kept
            rl["scopeLogs"] = [sl for sl in rl.get("scopeLogs", []) if sl["logRecords"]]
        req["resourceLogs"] = [rl for rl in req.get("resourceLogs", []) if rl["scopeLogs"]]
        if not changed:
            out.append(line)
        elif req["resourceLogs"]:
            out.append(compact(req))
    return out


def set_attr(rec: dict, key: str, value: dict) -> None:
    for kv in rec["attributes"]:
        if kv["key"] == key:
            kv["value"] = value
            return
    rec["attributes"].append({"key": key, "value": value})


def drop_attr(rec: dict, key: str) -> None:
    rec["attributes"] = [kv for kv in rec["attributes"] if kv["key"] != key]


def canonical_hashes(path: Path) -> list[bytes]:
    """Record hashes, in file order, from `auditchain canonical`."""
    out = subprocess.run([str(VERIFIER), "canonical", str(path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return [bytes.fromhex(l.split(" ", 1)[0]) for l in out.stdout.splitlines() if l.strip()]


# --------------------------------------------------------------------------
# the verdicts, for the table


def record(attack: str, as_of: str, v: Verified) -> None:
    assert v.report is not None, v.describe()
    ATTACKS.append((attack, as_of, v.returncode, kinds(v.report, "error"), kinds(v.report, "warning")))


# --------------------------------------------------------------------------
# the collector runs


def keyed_config(
    work: Path,
    ports: tuple[int, int, int],
    *,
    stream_name: str,
    chain_key: Path,
    signing_key: Path,
    data: Path,
    checkpoint_file: Path | None,
    state: Path | None = None,
) -> dict:
    """harness.collector_config, with the processor keyed and signed and the
    file exporter writing to `data`/audit.jsonl."""
    cfg = collector_config(work, *ports, stream_name=stream_name)
    cfg["exporters"]["file/audit"]["path"] = str(data / "audit.jsonl")
    p = cfg["processors"]["auditchain"]
    if state is not None:
        p["state"]["directory"] = str(state)
    p["key_file"] = str(chain_key)
    p["signing_key_file"] = str(signing_key)
    p["log"] = {"format_version": 1}  # version 1 streams: chain-head checkpoints (SPEC §5.3)
    p["key_epoch"] = {"records": KEY_EPOCH_RECORDS}
    p["checkpoint"] = {"interval": "1s", "records": CHECKPOINT_RECORDS}
    if checkpoint_file is not None:
        p["checkpoint"]["file"] = str(checkpoint_file)
    return cfg


def audit_request(stream: str, first: int, n: int) -> logs_service_pb2.ExportLogsServiceRequest:
    """n numbered audit records (e2e.n = first .. first+n-1)."""
    now = time.time_ns()
    recs = [
        log_record(
            json.dumps({"event": i, "action": "record.delete", "resource": f"db/customers/{i}"}),
            {"audit.action": "record.delete", "audit.actor": f"user{i % 5}@example.com", "e2e.n": i},
            now,
        )
        for i in range(first, first + n)
    ]
    return export_request_message(recs, f"{stream}.client", "e2e.audit")


class Sender:
    def __init__(self, port: int, stream: str):
        self.stream = stream
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.stub = logs_service_pb2_grpc.LogsServiceStub(self.channel)
        self.sent = 0

    def batch(self, n: int) -> None:
        resp = self.stub.Export(audit_request(self.stream, self.sent + 1, n), timeout=10)
        assert not resp.HasField("partial_success") or resp.partial_success.rejected_log_records == 0, resp
        self.sent += n

    def close(self) -> None:
        self.channel.close()


@dataclasses.dataclass
class StreamRun:
    data: Path  # the exporter's directory (audit.jsonl)
    lines: list[str]
    records: dict[int, dict]  # by sequence number
    stream_id: str
    sent: int
    returncode: int
    stop_time: float  # wall clock, right after SIGTERM returned
    log: Path

    @property
    def file(self) -> Path:
        return self.data / "audit.jsonl"

    @property
    def last(self) -> int:
        return max(self.records)

    def checkpoints(self) -> list[int]:
        """Sequence numbers of the checkpoint records, ascending."""
        return sorted(n for n, r in self.records.items() if r["attrs"].get(STREAM_EVENT) == "checkpoint")

    def clients(self) -> list[int]:
        return sorted(n for n, r in self.records.items() if r["attrs"].get(STREAM_EVENT) is None)


@dataclasses.dataclass
class Keyed:
    work: Path
    keys: dict[str, Path]
    main: StreamRun
    other: StreamRun  # a second collector, another stream name, same keys
    checkpoint_file: Path  # the main stream's separate checkpoint store
    state: Path


def finish(collector: Collector, sender: Sender, data: Path) -> StreamRun:
    sender.close()
    rc = collector.stop()
    stop = time.time()
    lines = [l for l in (data / "audit.jsonl").read_text(encoding="utf-8").splitlines() if l.strip()]
    recs = by_sequence(lines)
    ids = {r["attrs"][STREAM_ID] for r in recs.values()}
    assert len(ids) == 1, ids
    return StreamRun(data, lines, recs, ids.pop(), sender.sent, rc, stop, collector.log)


@pytest.fixture(scope="module")
def keyed(binaries, tmp_path_factory) -> Keyed:
    """Two collectors with the same keys (the main stream and another one,
    for the splice), keyed and signed, fed numbered records over OTLP/gRPC
    in batches for ~4 s and then left idle for ~2 s, stopped with SIGTERM."""
    work = tmp_path_factory.mktemp("keyed")
    keys = keygen(name=KEY_NAME, out_dir=work / "keys")
    store = work / "checkpoint-store"
    store.mkdir()
    cp_file = store / "checkpoints.jsonl"
    runs = {}
    collectors = {}
    try:
        for name, stream, cpf in [("main", STREAM, cp_file), ("other", OTHER_STREAM, None)]:
            d = work / name
            d.mkdir()
            ports = (free_port(), free_port(), free_port())
            cfg = keyed_config(
                d, ports, stream_name=stream, chain_key=keys["chain"], signing_key=keys["sign"], data=d / "data", checkpoint_file=cpf
            )
            (d / "config.yaml").write_text(json.dumps(cfg, indent=2))
            c = Collector(d / "config.yaml", d / "collector.log", cwd=d)
            collectors[name] = (c, ports, d)
        t0 = time.monotonic()
        for name, (c, ports, d) in collectors.items():
            c.start(list(ports[:2]))
        senders = {name: Sender(ports[0], STREAM if name == "main" else OTHER_STREAM) for name, (c, ports, d) in collectors.items()}
        for b in range(BATCHES):
            senders["main"].batch(BATCH_SIZE)
            if b < 3:
                senders["other"].batch(BATCH_SIZE)
            time.sleep(BATCH_PAUSE_S)
        time.sleep(IDLE_S)
        for name, (c, ports, d) in collectors.items():
            runs[name] = finish(c, senders[name], d / "data")
        FIGURES["keyed: collectors ran (s)"] = round(time.monotonic() - t0, 1)
    finally:
        for c, _, _ in collectors.values():
            c.kill()
    main = runs["main"]
    FIGURES["keyed: records / checkpoints / epochs"] = (
        f"{len(main.records)} / {len(main.checkpoints())} / {max(r['attrs'].get(EPOCH, 0) for r in main.records.values()) + 1}"
    )
    return Keyed(work, keys, main, runs["other"], cp_file, work / "main" / "state")


@pytest.fixture(scope="module", autouse=True)
def attack_table():
    """Collects the verdicts of this module into FIGURES (printed in the
    terminal summary by conftest)."""
    ATTACKS.clear()
    yield
    if not ATTACKS:
        return
    rows = [("attack", "as-of", "exit", "errors", "warnings")] + [
        (a, asof, str(rc), ", ".join(e) or "-", ", ".join(w) or "-") for a, asof, rc, e, w in ATTACKS
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    fmt = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    table = [fmt(rows[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [fmt(r) for r in rows[1:]]
    FIGURES["keyed attacks"] = "\n" + "\n".join(table)


def ks(k: Keyed) -> dict:
    return {"keys": [k.keys["chain"]], "public_keys": [k.keys["pub"]]}


# --------------------------------------------------------------------------
# what the collector wrote


def test_the_collector_wrote_a_keyed_signed_stream(keyed):
    m = keyed.main
    assert m.returncode == 0, tail(m.log)
    assert keyed.other.returncode == 0, tail(keyed.other.log)
    seqs = sorted(m.records)
    assert seqs == list(range(1, len(seqs) + 1))
    assert len(m.clients()) == m.sent == BATCHES * BATCH_SIZE
    first, last = m.records[1]["attrs"], m.records[m.last]["attrs"]
    assert first[STREAM_EVENT] == "start", first
    assert first["audit.stream.chain_key_id"].startswith(KEY_NAME + "+"), first
    assert first["audit.stream.signer"].startswith(KEY_NAME + "+"), first
    assert first["audit.stream.key_lineage"] == [m.stream_id], first
    # The last record is the final checkpoint, carrying the end.
    assert last[STREAM_EVENT] == "checkpoint" and last.get(SEQ_END) is True, last
    for r in m.records.values():
        assert r["attrs"][ALG] == "hmac-sha256-chain-v1"
    epochs = [m.records[n]["attrs"][EPOCH] for n in seqs]
    assert epochs == sorted(epochs) and epochs[-1] >= 3, epochs
    cps = m.checkpoints()
    assert len(cps) > 3, cps
    # Heartbeats: checkpoints also while no records arrive (after the last
    # client record, before the final checkpoint).
    idle = [n for n in cps if n > max(m.clients()) and n != m.last]
    assert idle, f"no heartbeat while idle: checkpoints {cps}, last client record {max(m.clients())}"
    # The separate checkpoint store has every checkpoint of the stream.
    store = [json.loads(l) for l in keyed.checkpoint_file.read_text().splitlines() if l.strip()]
    assert [x["sequence"] for x in store] == cps, (store, cps)
    assert all(x["stream_id"] == m.stream_id for x in store)
    for x in store:
        assert x["note"] == m.records[x["sequence"]]["rec"]["body"]["stringValue"]
    assert keyed.other.stream_id != m.stream_id
    FIGURES["keyed: stream"] = f"{m.stream_id}: checkpoints at {cps}, idle heartbeats {idle}"


def test_spec_links_in_python_match_the_test_vectors():
    """SPEC §3 and §5.2 implemented from the document alone (above) give the
    vectors' link messages, links, epoch keys and successor keys."""
    v = json.loads((REPO / "tests" / "vectors" / "chain.json").read_text())
    sid = v["plain"]["stream_id"]
    prev = None
    for r in v["plain"]["records"]:
        assert (bytes.fromhex(r["previous"]) if r["previous"] else None) == prev
        rh = bytes.fromhex(r["record_hash"])
        msg = link_message(sid, r["sequence"], 0, r["end"], prev, rh)
        assert msg.hex() == r["link_message"]
        prev = plain_link(sid, r["sequence"], 0, r["end"], prev, rh)
        assert prev.hex() == r["value"]

    k = v["keyed"]
    key_id, secret = read_chain_key(k["chain_key_file"])
    assert key_id == k["chain_key_id"]
    k0 = lineage_key(secret, k["key_lineage"])
    for e in k["epoch_keys"]:
        assert epoch_key(k0, e["epoch"]).hex() == e["key"]
    prev = None
    for r in k["records"]:
        msg = link_message(k["stream_id"], r["sequence"], r["key_epoch"], r["end"], prev, bytes.fromhex(r["record_hash"]))
        assert msg.hex() == r["link_message"]
        prev = _hmac(epoch_key(k0, r["key_epoch"]), msg)
        assert prev.hex() == r["value"]

    s = v["successor"]
    k0 = lineage_key(secret, s["key_lineage"])
    assert k0.hex() == s["epoch_0_key"]
    prev = None
    for r in s["records"]:
        assert (bytes.fromhex(r["previous"]) if r["previous"] else None) == prev
        msg = link_message(s["stream_id"], r["sequence"], r["key_epoch"], r["end"], prev, bytes.fromhex(r["record_hash"]))
        assert msg.hex() == r["link_message"]
        prev = _hmac(epoch_key(k0, r["key_epoch"]), msg)
        assert prev.hex() == r["value"]


def test_spec_links_in_python_match_the_collectors_keyed_stream(keyed):
    """Every link the real collector wrote, recomputed in Python from SPEC
    §3/§5.2 with the chain key, and record hashes from `auditchain canonical`."""
    m = keyed.main
    _, secret = read_chain_key(keyed.keys["chain"].read_text())
    hashes = canonical_hashes(m.file)
    order = [attributes(rec)[SEQ] for _, _, _, rec in iter_records(m.lines)]
    assert len(hashes) == len(order)
    rh = dict(zip(order, hashes))
    k0 = lineage_key(secret, m.records[1]["attrs"]["audit.stream.key_lineage"])
    prev = None
    for n in sorted(m.records):
        a = m.records[n]["attrs"]
        assert (bytes.fromhex(a[PREV]) if PREV in a else None) == prev, n
        msg = link_message(m.stream_id, n, a[EPOCH], a.get(SEQ_END) is True, prev, rh[n])
        prev = _hmac(epoch_key(k0, a[EPOCH]), msg)
        assert prev.hex() == a[VALUE], f"record {n}"


# --------------------------------------------------------------------------
# clean


def test_clean_stream_passes_with_its_keys(keyed):
    m = keyed.main
    for as_of, label in [(m.stop_time, "stop"), (m.stop_time + FIVE_MINUTES, "stop+5m")]:
        for inputs, what in [([m.data], "records"), ([m.data, keyed.checkpoint_file], "records + checkpoint store")]:
            v = verify(*inputs, **ks(keyed), as_of=as_of)
            report = expect_pass(v)
            s = only_stream(report)
            assert s["stream_id"] == m.stream_id
            assert s["algorithm"] == "hmac-sha256-chain-v1"
            assert s["chain_key_id"] == m.records[1]["attrs"]["audit.stream.chain_key_id"]
            assert s["checkpoints"] == len(m.checkpoints()) > 3, s
            assert s["ended"] is True
            assert (s["records"], s["first_sequence"], s["last_sequence"], s["missing"]) == (len(m.records), 1, m.last, [])
            assert s["anchored_through"] == m.last - 1
            assert s["signers"] == [m.records[1]["attrs"]["audit.stream.signer"]]
            assert all_findings(report, severity="warning") == [], explain(v)
            if as_of == m.stop_time:
                record(f"none (clean; {what})", label, v)


def test_clean_stream_without_keys_is_never_a_pass(keyed):
    m = keyed.main
    cases = [
        ("no --key, no --public-key", {}),
        ("--public-key only", {"public_keys": [keyed.keys["pub"]]}),
        ("--key only", {"keys": [keyed.keys["chain"]]}),
    ]
    for what, kw in cases:
        v = verify(m.data, as_of=m.stop_time, **kw)
        report = expect_fail(v)
        assert "key_required" in kinds(report, "error"), explain(v)
        record(f"none (clean), {what}", "stop", v)
    # Without the chain key the verifier cannot check a single link.
    v = verify(m.data, as_of=m.stop_time)
    msgs = " ".join(f["message"] for f in all_findings(v.report, kind="key_required"))
    assert "--key" in msgs and "--public-key" in msgs, explain(v)


# --------------------------------------------------------------------------
# attacks on copies of the clean files


def truncated(m: StreamRun, below: int) -> list[str]:
    """The export without records numbered `below` and higher."""
    return edit(m.lines, lambda rec: rec if seq_of(rec) < below else None)


def test_a_truncating_the_newest_records(keyed, tmp_path):
    m = keyed.main
    n = 10
    cut = m.last - n + 1  # records cut..last are deleted (the final checkpoint among them)
    assert m.records[m.last]["attrs"].get(SEQ_END) is True
    write_lines(tmp_path / "data" / "audit.jsonl", truncated(m, cut))
    remaining_cps = [c for c in m.checkpoints() if c < cut]

    # Verified five minutes after the copy was taken: the newest checkpoint
    # left is older than interval + max delay, and the stream has not ended.
    v = verify(tmp_path / "data", **ks(keyed), as_of=m.stop_time + FIVE_MINUTES)
    record(f"a. truncate newest {n} (records {cut}..{m.last})", "stop+5m", v)
    report = expect_fail(v)
    s = only_stream(report)
    assert kinds(report, "error") == ["heartbeat_missing"], explain(v)
    assert (s["ended"], s["last_sequence"], s["missing"]) == (False, cut - 1, []), s
    assert s["anchored_through"] == remaining_cps[-1] - 1

    # Verified at the time of the copy, the cut cannot be seen: the newest
    # checkpoint is younger than interval + max delay, as it would be for a
    # live stream whose next checkpoint is not due yet. Only the unanchored
    # tail (records after the newest checkpoint) is reported, as a warning.
    # The heartbeat rule needs --as-of = when the files were copied.
    v = verify(tmp_path / "data", **ks(keyed), as_of=m.stop_time)
    record(f"a. truncate newest {n}", "stop", v)
    report = expect_pass(v)
    assert set(kinds(report, "warning")) <= {"unanchored_tail"}, explain(v)
    tail_start = remaining_cps[-1] + 1
    if cut - 1 >= tail_start:
        (f,) = all_findings(report, kind="unanchored_tail")
        assert (f["first"], f["last"]) == (tail_start, cut - 1), f

    # With the separate checkpoint store, the cut is plain: its newest
    # checkpoints cover records that are gone, and prove that the records
    # carrying them existed (the last one is the stream's final record).
    v = verify(tmp_path / "data", keyed.checkpoint_file, **ks(keyed), as_of=m.stop_time)
    record(f"a. truncate newest {n}, + checkpoint store", "stop", v)
    report = expect_fail(v)
    s = only_stream(report)
    assert kinds(report, "error") == ["missing_records"], explain(v)
    assert s["missing"] == [[cut, m.last]], s


def test_b_truncating_the_newest_checkpoint_too(keyed, tmp_path):
    m = keyed.main
    # The newest regular checkpoint before the truncation point of (a) is
    # deleted too, with everything after it.
    cut = max(c for c in m.checkpoints() if c <= m.last - 10)
    older = [c for c in m.checkpoints() if c < cut]
    assert older, m.checkpoints()
    write_lines(tmp_path / "data" / "audit.jsonl", truncated(m, cut))

    v = verify(tmp_path / "data", **ks(keyed), as_of=m.stop_time + FIVE_MINUTES)
    record(f"b. truncate from newest checkpoint (records {cut}..{m.last})", "stop+5m", v)
    report = expect_fail(v)
    s = only_stream(report)
    assert kinds(report, "error") == ["heartbeat_missing"], explain(v)
    assert (s["ended"], s["last_sequence"], s["missing"], s["anchored_through"]) == (False, cut - 1, [], older[-1] - 1), s

    v = verify(tmp_path / "data", **ks(keyed), as_of=m.stop_time)
    record("b. truncate from newest checkpoint", "stop", v)
    report = expect_pass(v)
    assert set(kinds(report, "warning")) <= {"unanchored_tail"}, explain(v)

    # The checkpoint store still has the newer checkpoints: the records they
    # cover are missing.
    for as_of, label in [(m.stop_time, "stop"), (m.stop_time + FIVE_MINUTES, "stop+5m")]:
        v = verify(tmp_path / "data", keyed.checkpoint_file, **ks(keyed), as_of=as_of)
        record("b. truncate from newest checkpoint, + checkpoint store", label, v)
        report = expect_fail(v)
        s = only_stream(report)
        assert "missing_records" in kinds(report, "error"), explain(v)
        assert s["missing"] == [[cut, m.last]], s
        (f,) = all_findings(report, kind="missing_records")
        assert (f["severity"], f["first"], f["last"]) == ("error", cut, m.last), f
        assert s["anchored_through"] == m.last - 1
        if as_of == m.stop_time:
            assert kinds(report, "error") == ["missing_records"], explain(v)


def recompute_plain(lines: list[str], target: int, scratch: Path) -> list[str]:
    """What an attacker without the key can do: recompute every link from
    record `target` on with the public algorithm (sha256-chain-v1, SPEC §3),
    record hashes from `auditchain canonical` on the attacked lines."""
    hashes = canonical_hashes(write_lines(scratch, lines))
    reqs = [json.loads(l) for l in lines]
    recs = []
    for req in reqs:
        for rl in req["resourceLogs"]:
            for sl in rl["scopeLogs"]:
                recs.extend(sl["logRecords"])
    assert len(recs) == len(hashes)
    prev = None
    for rec, rh in sorted(zip(recs, hashes), key=lambda x: seq_of(x[0])):
        n = seq_of(rec)
        a = attributes(rec)
        if n >= target:
            set_attr(rec, ALG, {"stringValue": "sha256-chain-v1"})
            drop_attr(rec, EPOCH)
            if prev is None:
                drop_attr(rec, PREV)
            else:
                set_attr(rec, PREV, {"stringValue": prev.hex()})
            link = plain_link(a[STREAM_ID], n, 0, a.get(SEQ_END) is True, prev, rh)
            set_attr(rec, VALUE, {"stringValue": link.hex()})
        prev = bytes.fromhex(attributes(rec)[VALUE])
    return [compact(r) for r in reqs]


def rewrite_and_recompute(m: StreamRun, target: int, new_body: str, scratch: Path) -> list[str]:
    """Edits record `target`'s body, then recomputes every later link."""
    lines = edit(m.lines, lambda rec: dict(rec, body={"stringValue": new_body}) if seq_of(rec) == target else rec)
    return recompute_plain(lines, target, scratch)


def test_c_rewriting_a_record_and_recomputing_every_later_link(keyed, tmp_path):
    m = keyed.main
    clients = m.clients()
    target = clients[len(clients) * 2 // 5]
    lines = rewrite_and_recompute(m, target, '{"event":0,"action":"nothing happened"}', tmp_path / "scratch.jsonl")
    write_lines(tmp_path / "data" / "audit.jsonl", lines)

    v = verify(tmp_path / "data", **ks(keyed), as_of=m.stop_time)
    record(f"c. rewrite record {target}, recompute later links (plain)", "stop", v)
    report = expect_fail(v)
    assert kinds(report, "error") == ["checkpoint_mismatch", "downgrade"], explain(v)
    # Every recomputed record is flagged for its algorithm (a downgrade) ...
    bad_alg = {f["sequence"] for f in all_findings(report, kind="downgrade")}
    assert bad_alg == set(range(target, m.last + 1)), explain(v)
    # ... and every checkpoint covering the rewritten record signs the
    # original chain head.
    # Numbered by the record carrying the checkpoint.
    mism = {f["sequence"] for f in all_findings(report, kind="checkpoint_mismatch")}
    assert mism == {c for c in m.checkpoints() if c - 1 >= target}, explain(v)
    # The attacker's links are consistent among themselves.
    assert all_findings(report, kind="broken_link") == [] and all_findings(report, kind="content_mismatch") == []

    # The same recomputation without any edit gives the same findings: the
    # checkpoints sign the keyed chain heads, which a plain recomputation
    # cannot reproduce whatever the content (a downgrade is visible as such).
    lines = rewrite_and_recompute(m, target, m.records[target]["rec"]["body"]["stringValue"], tmp_path / "scratch2.jsonl")
    write_lines(tmp_path / "same" / "audit.jsonl", lines)
    v = verify(tmp_path / "same", **ks(keyed), as_of=m.stop_time)
    record(f"c'. no edit, recompute links from {target} (plain)", "stop", v)
    report = expect_fail(v)
    assert kinds(report, "error") == ["checkpoint_mismatch", "downgrade"], explain(v)


def test_c_downgrading_the_whole_stream_to_plain_without_checkpoints(keyed, tmp_path):
    """The attacker re-chains the whole stream as a plain one: checkpoint
    records removed, the rest renumbered 1..n, the start record stripped of
    its chain key, lineage and signer, the last record marked as the end,
    every link recomputed. Internally consistent; what gives it away is
    that the auditor expects keys: a keyed stream with no checkpoint at all
    is a failure, never a pass."""
    m = keyed.main
    kept = [n for n in sorted(m.records) if m.records[n]["attrs"].get(STREAM_EVENT) != "checkpoint"]
    renumber = {old: new for new, old in enumerate(kept, 1)}

    def downgrade(rec):
        n = seq_of(rec)
        if n not in renumber:
            return None
        rec = json.loads(compact(rec))
        rec["attributes"] = [
            kv
            for kv in rec["attributes"]
            if kv["key"]
            not in ("audit.stream.chain_key_id", "audit.stream.key_lineage", "audit.stream.signer", "audit.stream.checkpoint_interval", SEQ_END)
        ]
        set_attr(rec, SEQ, {"intValue": str(renumber[n])})
        if renumber[n] == len(kept):
            set_attr(rec, SEQ_END, {"boolValue": True})
        return rec

    lines = recompute_plain(edit(m.lines, downgrade), 1, tmp_path / "scratch.jsonl")
    write_lines(tmp_path / "data" / "audit.jsonl", lines)

    v = verify(tmp_path / "data", **ks(keyed), as_of=m.stop_time)
    record("c''. whole stream re-chained plain, checkpoints removed", "stop", v)
    report = expect_fail(v)
    s = only_stream(report)
    assert kinds(report, "error") == ["no_checkpoint", "unkeyed_stream"], explain(v)
    assert (s["algorithm"], s["ended"], s["missing"], s["checkpoints"]) == ("sha256-chain-v1", True, [], 0), s
    # Without keys the auditor would be told plainly what such a stream is.
    v = verify(tmp_path / "data", as_of=m.stop_time)
    record("c''. same, verified without any key", "stop", v)
    assert v.returncode == 0, explain(v)
    assert kinds(v.report, "warning") == ["plain_chain"], explain(v)


def test_d_replaying_an_old_checkpoint(keyed, tmp_path):
    m = keyed.main
    cps = [c for c in m.checkpoints() if c != m.last]  # not the final one
    assert len(cps) >= 2, cps
    old, target = cps[0], cps[min(3, len(cps) - 1)]
    replay = json.loads(compact(m.records[old]["rec"]))
    set_attr(replay, SEQ, {"intValue": str(target)})
    write_lines(tmp_path / "data" / "audit.jsonl", edit(m.lines, lambda rec: replay if seq_of(rec) == target else rec))

    v = verify(tmp_path / "data", **ks(keyed), as_of=m.stop_time)
    record(f"d. replay checkpoint {old} as record {target}", "stop", v)
    report = expect_fail(v)
    errs = kinds(report, "error")
    assert "checkpoint_mismatch" in errs and "content_mismatch" in errs, explain(v)
    assert {f["sequence"] for f in all_findings(report, kind="content_mismatch")} == {target}, explain(v)
    cm = all_findings(report, kind="checkpoint_mismatch")
    assert any("replayed" in f["message"] and f["locations"][0]["line"] == m.records[target]["line"] + 1 for f in cm), explain(v)
    # Checkpoint findings are numbered by their carrier: the replayed one at
    # `target`, and when the next record is a checkpoint too (its root no
    # longer matches record `target`), that one at `target + 1`.
    assert target in {f["sequence"] for f in cm} <= {target, target + 1}, explain(v)
    # Anything else is about the replaced record and its neighbour.
    for f in all_findings(report, severity="error"):
        if f.get("sequence") is not None:
            assert f["sequence"] in (target, target + 1), f


def test_e_splicing_two_streams(keyed, tmp_path):
    m, o = keyed.main, keyed.other
    # A window of the other stream around one of its checkpoints, relabelled
    # into the main stream at the same sequence numbers (replacing ours).
    c = next(c for c in o.checkpoints() if c >= 4 and c + 2 < o.last)
    window = range(c - 2, c + 3)
    assert window.stop - 1 < m.last
    spliced = []
    for n in window:
        rec = json.loads(compact(o.records[n]["rec"]))
        set_attr(rec, STREAM_ID, {"stringValue": m.stream_id})
        rl, sl = o.records[n]["rl"], o.records[n]["sl"]
        spliced.append(
            compact(
                {
                    "resourceLogs": [
                        {
                            "resource": rl.get("resource", {}),
                            "scopeLogs": [{"scope": sl.get("scope", {}), "logRecords": [rec]}],
                        }
                    ]
                }
            )
        )
    lines = edit(m.lines, lambda rec: None if seq_of(rec) in window else rec) + spliced
    write_lines(tmp_path / "data" / "audit.jsonl", lines)

    v = verify(tmp_path / "data", **ks(keyed), as_of=m.stop_time)
    record(f"e. splice records {window.start}..{window.stop - 1} of another stream", "stop", v)
    report = expect_fail(v)
    s = only_stream(report)
    errs = kinds(report, "error")
    assert "content_mismatch" in errs and "bad_checkpoint" in errs, explain(v)
    assert {f["sequence"] for f in all_findings(report, kind="content_mismatch")} == set(window), explain(v)
    bad = all_findings(report, kind="bad_checkpoint")
    assert len(bad) == sum(1 for n in window if n in o.checkpoints()) >= 1, explain(v)
    assert all(f"belongs to stream {o.stream_id}" in f["message"] for f in bad), explain(v)
    assert s["missing"] == [], s


def test_f_forging_a_checkpoint(keyed, tmp_path):
    m = keyed.main
    target = m.checkpoints()[1]

    def forge(note: str) -> str:
        lines = note.split("\n")
        lines[1] = str(int(lines[1]) + 1)  # the size line
        return "\n".join(lines)

    def change(rec):
        if seq_of(rec) == target:
            rec = json.loads(compact(rec))
            rec["body"] = {"stringValue": forge(rec["body"]["stringValue"])}
        return rec

    write_lines(tmp_path / "data" / "audit.jsonl", edit(m.lines, change))
    v = verify(tmp_path / "data", **ks(keyed), as_of=m.stop_time)
    record(f"f. forge checkpoint in record {target} (size + 1)", "stop", v)
    report = expect_fail(v)
    assert kinds(report, "error") == ["bad_checkpoint", "content_mismatch"], explain(v)
    (bad,) = all_findings(report, kind="bad_checkpoint")
    assert "does not verify" in bad["message"] and bad["locations"][0]["line"] == m.records[target]["line"] + 1, bad
    assert {f["sequence"] for f in all_findings(report, kind="content_mismatch")} == {target}

    # The same forgery in the checkpoint store, next to clean records: only
    # the signature can tell.
    store = [json.loads(l) for l in keyed.checkpoint_file.read_text().splitlines() if l.strip()]
    for x in store:
        if x["sequence"] == target:
            x["note"] = forge(x["note"])
    write_lines(tmp_path / "store" / "checkpoints.jsonl", [compact(x) for x in store])
    v = verify(m.data, tmp_path / "store", **ks(keyed), as_of=m.stop_time)
    record(f"f. forge checkpoint {target} in the checkpoint store", "stop", v)
    report = expect_fail(v)
    assert kinds(report, "error") == ["bad_checkpoint"], explain(v)


@pytest.mark.parametrize("key", ["signing_key_file", "key_file"])
def test_g_a_world_readable_secret_key_is_refused(keyed, tmp_path, key):
    src = keyed.keys["sign" if key == "signing_key_file" else "chain"]
    leaky = tmp_path / src.name
    shutil.copyfile(src, leaky)
    os.chmod(leaky, 0o644)
    ports = (free_port(), free_port(), free_port())
    keys = {"chain_key": keyed.keys["chain"], "signing_key": keyed.keys["sign"]}
    keys["signing_key" if key == "signing_key_file" else "chain_key"] = leaky
    cfg = keyed_config(tmp_path, ports, stream_name="e2e-leaky", data=tmp_path / "data", checkpoint_file=None, **keys)
    (tmp_path / "config.yaml").write_text(json.dumps(cfg))
    out = subprocess.run(
        [str(COLLECTOR), "--config", str(tmp_path / "config.yaml")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=collector_env(tmp_path),
    )
    log = out.stdout + out.stderr
    assert out.returncode != 0, log[-3000:]
    assert f"{key}: {leaky} is readable by group or others (mode 0644)" in log, log[-3000:]
    assert f"chmod 600 {leaky}" in log, log[-3000:]
    # The key itself is never logged.
    text = src.read_text().strip()
    secret = text.split("+", 4)[4] if key == "signing_key_file" else text.split("+", 3)[3]
    assert len(secret) > 40 and secret not in log
    # Nothing was stamped or exported.
    assert not any(p.stat().st_size for p in tmp_path.glob("data/**/*") if p.is_file())
    ATTACKS.append(
        (f"g. world-readable {key} (collector start)", "-", out.returncode, [f'refused: "{key}: … (mode 0644) … chmod 600 …"'], [])
    )


@pytest.fixture(scope="module")
def rotated(keyed) -> tuple[StreamRun, dict[str, Path]]:
    """The main collector restarted cleanly with a new signing key (same
    key_file, same state): a successor stream signed by the new key."""
    k2 = keygen(name=ROTATED_KEY_NAME, out_dir=keyed.work / "keys2")
    d = keyed.work / "rotated"
    d.mkdir()
    ports = (free_port(), free_port(), free_port())
    cfg = keyed_config(
        d,
        ports,
        stream_name=STREAM,
        chain_key=keyed.keys["chain"],
        signing_key=k2["sign"],
        data=d / "data",
        checkpoint_file=None,
        state=keyed.state,
    )
    (d / "config.yaml").write_text(json.dumps(cfg, indent=2))
    c = Collector(d / "config.yaml", d / "collector.log", cwd=d)
    try:
        c.start(list(ports[:2]))
        sender = Sender(ports[0], STREAM)
        for _ in range(2):
            sender.batch(5)
            time.sleep(0.5)
        run = finish(c, sender, d / "data")
    finally:
        c.kill()
    return run, k2


def test_h_a_rotated_signing_key_verifies_by_key_id(keyed, rotated):
    m = keyed.main
    r, k2 = rotated
    assert r.returncode == 0, tail(r.log)
    start = r.records[1]["attrs"]
    assert start["audit.stream.reason"] == "previous_stream_ended", start
    assert start["audit.stream.predecessor.id"] == m.stream_id
    assert start["audit.stream.predecessor.sequence"] == m.last
    assert start["audit.stream.signer"].startswith(ROTATED_KEY_NAME + "+")
    assert start["audit.stream.key_lineage"][0] == m.stream_id and start["audit.stream.key_lineage"][-1].endswith(":" + r.stream_id)
    as_of = r.stop_time

    v = verify(m.data, r.data, keys=[keyed.keys["chain"]], public_keys=[keyed.keys["pub"], k2["pub"]], as_of=as_of)
    record("h. rotated signing key, both --public-key", "stop", v)
    report = expect_pass(v)
    assert {s["stream_id"] for s in report["streams"]} == {m.stream_id, r.stream_id}
    by_id = {s["stream_id"]: s for s in report["streams"]}
    assert by_id[m.stream_id]["signers"] == [m.records[1]["attrs"]["audit.stream.signer"]]
    assert by_id[r.stream_id]["signers"] == [start["audit.stream.signer"]]
    assert by_id[r.stream_id]["checkpoints"] >= 1 and by_id[r.stream_id]["ended"] is True
    assert any(f["kind"] == "lineage" and m.stream_id in f["message"] for f in by_id[r.stream_id]["findings"])

    # The successor's keyed links also follow from SPEC §5.2 in Python
    # (its key lineage: evolve the predecessor's key, then the successor key).
    _, secret = read_chain_key(keyed.keys["chain"].read_text())
    k0 = lineage_key(secret, start["audit.stream.key_lineage"])
    hashes = dict(zip([seq_of(rec) for _, _, _, rec in iter_records(r.lines)], canonical_hashes(r.file)))
    prev = None
    for n in sorted(r.records):
        a = r.records[n]["attrs"]
        prev = _hmac(epoch_key(k0, a[EPOCH]), link_message(r.stream_id, n, a[EPOCH], a.get(SEQ_END) is True, prev, hashes[n]))
        assert prev.hex() == a[VALUE], n

    v = verify(m.data, r.data, keys=[keyed.keys["chain"]], public_keys=[keyed.keys["pub"]], as_of=as_of)
    record("h. rotated signing key, old --public-key only", "stop", v)
    report = expect_fail(v)
    # Its checkpoints are all by an unknown key, so it also has no valid one.
    assert kinds(report, "error") == ["no_checkpoint", "unknown_signer"], explain(v)
    by_id = {s["stream_id"]: s for s in report["streams"]}
    assert by_id[m.stream_id]["verdict"] == "pass"
    assert by_id[r.stream_id]["verdict"] == "fail"
    unknown = all_findings({"streams": [by_id[r.stream_id]]}, kind="unknown_signer")
    assert len(unknown) == len(r.checkpoints()), explain(v)
    assert all(k2["pub"].read_text().split("+")[0] in f["message"] for f in unknown)
