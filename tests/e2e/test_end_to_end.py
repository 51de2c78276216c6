"""auditchain end to end: the ocb-built collector stamps the audit logs that
real OTLP clients send (seeds 000 and 002, over gRPC and HTTP); the file
exporter writes them; `auditchain verify` finds the export clean, finds every
tampering, and accepts what at-least-once, out-of-order delivery produces.
"""

from __future__ import annotations

import gzip
import json
import random


from conftest import FIGURES
from harness import (
    INTEGRITY,
    SEQ,
    SEQ_END,
    STREAM_NAME,
    Export,
    expect_fail,
    expect_pass,
    find_attr,
    only_stream,
    stream_findings,
    tail,
    verify,
)

# --------------------------------------------------------------------------
# helpers


def pick(refs, fraction: float, *, different_line_from=None, multi_record_line=None, export=None):
    """A client record well inside the stream (never the first or last
    record, which are control records anyway), deterministically."""
    start = int(len(refs) * fraction)
    for r in refs[start:] + refs[:start]:
        if different_line_from is not None and r.line == different_line_from.line:
            continue
        if multi_record_line and export.records_in_line(r.line) < 2:
            continue
        return r
    raise AssertionError("no suitable record to tamper with")


# --------------------------------------------------------------------------
# the clean run


def test_clients_were_acknowledged_and_collector_stopped_cleanly(run):
    for c in run.clients:
        assert c.exporter.calls, f"{c.transport}: no export call"
        assert c.exporter.failed == 0, f"{c.transport}: export results {c.exporter.calls}\n{tail(run.log)}"
    assert sum(c.exporter.acknowledged for c in run.clients) == len(run.sent)
    assert run.returncode == 0, f"collector exit {run.returncode} after SIGTERM:\n{tail(run.log)}"


def test_every_sent_record_is_exported_once_and_stamped(run):
    refs = run.export.refs()
    assert run.files == [run.data / "audit.jsonl"], run.files
    clients = [r for r in refs if r.control is None]
    controls = [r for r in refs if r.control is not None]

    # Every record the clients sent is there exactly once, unchanged.
    def key(kind, body, attrs):
        if kind == "seed000":
            return json.loads(body)["details"]["request_id"]
        return attrs["audit.changed_by"]

    exported = {}
    for r in clients:
        kind = "seed002" if r.attrs.get("audit.action") == "config_change" else "seed000"
        exported.setdefault(key(kind, r.body, r.attrs), []).append(r)
    assert len(clients) == len(run.sent), (len(clients), len(run.sent))
    for s in run.sent:
        got = exported.get(s.key, [])
        assert len(got) == 1, f"{s.key}: exported {len(got)} times"
        assert got[0].body == s.body
        for k, v in s.attributes.items():
            assert got[0].attrs.get(k) == v, (s.key, k, got[0].attrs.get(k), v)

    # One stream; sequence numbers 1..N, each once; every record stamped.
    assert {r.stream_id for r in refs} == {refs[0].stream_id} and refs[0].stream_id
    seqs = sorted(r.sequence for r in refs)
    assert seqs == list(range(1, len(refs) + 1))
    for r in refs:
        assert r.attrs.get(INTEGRITY), f"record {r.sequence} has no {INTEGRITY}"

    # The engine's own records open and close the stream.
    by_seq = {r.sequence: r for r in refs}
    assert by_seq[1].control == "start", by_seq[1].attrs
    last = by_seq[len(refs)]
    assert last.control == "end", last.attrs
    assert last.attrs.get(SEQ_END) is True, last.attrs
    FIGURES["control records"] = len(controls)
    FIGURES["stream id"] = refs[0].stream_id


def test_verify_reports_the_export_clean(run):
    v = verify(run.data)
    report = expect_pass(v)
    refs = run.export.refs()
    total = len(refs)
    controls = sum(1 for r in refs if r.control is not None)
    assert report["version"] == 2
    assert report["inputs"] == {"files": 1, "requests": len(run.export.lines), "records": total,
                                "checkpoint_lines": 0, "unreadable": 0}, report["inputs"]
    assert report["unstamped_records"] == 0
    s = only_stream(report)
    assert s["stream_id"] == refs[0].stream_id
    assert s["verdict"] == "pass"
    # The figures: what the clients sent plus the engine's control records.
    assert s["records"] == len(run.sent) + controls == total
    assert s["duplicates"] == 0
    assert (s["first_sequence"], s["last_sequence"]) == (1, total)
    assert s["ended"] is True
    assert s["missing"] == []
    FIGURES["verify: records / warnings"] = f"{s['records']} / {[f['kind'] for f in stream_findings(s, severity='warning')]}"


def test_verify_human_output_is_clean(run):
    v = verify(run.data, fmt="human")
    assert v.returncode == 0, v.describe()
    assert STREAM_NAME in v.stdout or "pass" in v.stdout.lower(), v.stdout


def test_state_is_kept_outside_the_data_directory(run):
    assert any(run.state.rglob("*")), "no chain state written"
    assert not any(p.is_relative_to(run.data) for p in run.state.rglob("*"))


# --------------------------------------------------------------------------
# tampering is found


def test_one_byte_of_a_body_changed_is_a_content_mismatch(run, tmp_path):
    export = run.export
    target = pick([r for r in export.client_refs() if r.attrs.get("audit.action") != "config_change"], 0.4)
    request_id = json.loads(target.body)["details"]["request_id"]
    line = export.lines[target.line]
    assert line.count(request_id) == 1, "the request id must occur once in its line"
    at = line.index(request_id)
    flipped = line[:at] + request_id[0].upper() + line[at + 1 :]  # one byte: 'g' -> 'G'
    assert len(flipped.encode()) == len(line.encode())
    assert json.loads(flipped) != json.loads(line)
    lines = list(export.lines)
    lines[target.line] = flipped
    export.write(tmp_path / "audit.jsonl", lines)

    report = expect_fail(verify(tmp_path))
    s = only_stream(report)
    mism = stream_findings(s, kind="content_mismatch")
    assert {f.get("sequence") for f in mism} == {target.sequence}, json.dumps(s["findings"], indent=1)
    assert s["records"] == len(export.refs())
    assert s["missing"] == []


def test_one_attribute_value_changed_is_a_content_mismatch(run, tmp_path):
    export = Export(list(run.export.lines))
    target = pick([r for r in export.client_refs() if "audit.actor" in r.attrs], 0.6)
    kv = find_attr(export.record(target), "audit.actor")
    assert kv["value"]["stringValue"] != "mallory@example.com"
    kv["value"]["stringValue"] = "mallory@example.com"
    lines = list(export.lines)
    lines[target.line] = export.serialise_line(target.line)
    export.write(tmp_path / "audit.jsonl", lines)

    report = expect_fail(verify(tmp_path))
    s = only_stream(report)
    mism = stream_findings(s, kind="content_mismatch")
    assert {f.get("sequence") for f in mism} == {target.sequence}, json.dumps(s["findings"], indent=1)
    assert s["missing"] == []


def test_one_record_deleted_is_reported_missing(run, tmp_path):
    export = Export(list(run.export.lines))
    target = pick(export.client_refs(), 0.5, multi_record_line=True, export=export)
    n = target.sequence
    del export.requests[target.line]["resourceLogs"][target.rl]["scopeLogs"][target.sl]["logRecords"][target.lr]
    lines = list(export.lines)
    lines[target.line] = export.serialise_line(target.line)
    export.write(tmp_path / "audit.jsonl", lines)

    report = expect_fail(verify(tmp_path))
    s = only_stream(report)
    assert s["missing"] == [[n, n]], s["missing"]
    gone = stream_findings(s, kind="missing_records")
    assert gone, json.dumps(s["findings"], indent=1)
    assert [(f.get("first"), f.get("last")) for f in gone] == [(n, n)], gone
    assert stream_findings(s, kind="content_mismatch") == []
    assert s["records"] == len(run.export.refs()) - 1
    assert report["inputs"]["records"] == len(run.export.refs()) - 1


def test_two_sequence_numbers_swapped_are_both_reported(run, tmp_path):
    export = Export(list(run.export.lines))
    refs = export.client_refs()
    a = pick(refs, 0.25)
    b = pick(refs, 0.75, different_line_from=a)
    assert abs(a.sequence - b.sequence) > 1
    ka, kb = find_attr(export.record(a), SEQ), find_attr(export.record(b), SEQ)
    ka["value"], kb["value"] = kb["value"], ka["value"]
    lines = list(export.lines)
    for li in {a.line, b.line}:
        lines[li] = export.serialise_line(li)
    export.write(tmp_path / "audit.jsonl", lines)

    report = expect_fail(verify(tmp_path))
    s = only_stream(report)
    mism = {f.get("sequence") for f in stream_findings(s, kind="content_mismatch")}
    assert mism == {a.sequence, b.sequence}, json.dumps(s["findings"], indent=1)
    # Anything else reported is about the swapped places and their successors.
    near = {a.sequence, a.sequence + 1, b.sequence, b.sequence + 1}
    for f in stream_findings(s, severity="error"):
        if f.get("sequence") is not None:
            assert f["sequence"] in near, f
    assert s["missing"] == []


# --------------------------------------------------------------------------
# what delivery does is not tampering


def test_records_split_across_files_in_shuffled_order_verify_clean(run, tmp_path):
    export = run.export
    lines = list(export.lines)
    random.Random(20261122).shuffle(lines)
    parts = [lines[0::3], lines[1::3], lines[2::3]]
    assert all(parts), "need at least three exported lines"
    # Names sort differently from the written order; one part gzip-compressed,
    # in nested directories (verify reads directories recursively).
    export.write(tmp_path / "z-first-written.jsonl", parts[0])
    export.write(tmp_path / "a" / "b" / "m-second-written.jsonl", parts[1])
    gz = tmp_path / "a" / "0-third-written.jsonl.gz"
    gz.write_bytes(gzip.compress("".join(l + "\n" for l in parts[2]).encode()))

    report = expect_pass(verify(tmp_path))
    total = len(export.refs())
    assert report["inputs"] == {"files": 3, "requests": len(lines), "records": total,
                                "checkpoint_lines": 0, "unreadable": 0}, report["inputs"]
    s = only_stream(report)
    assert (s["records"], s["duplicates"], s["missing"]) == (total, 0, [])
    assert (s["first_sequence"], s["last_sequence"], s["ended"]) == (1, total, True)


def test_a_batch_delivered_twice_verifies_clean_with_duplicates(run, tmp_path):
    export = run.export
    refs = export.client_refs()
    line = pick(refs, 0.5).line
    copies = export.records_in_line(line)
    assert copies > 0
    lines = list(export.lines) + [export.lines[line]]  # redelivered later
    export.write(tmp_path / "audit.jsonl", lines)

    report = expect_pass(verify(tmp_path))
    total = len(export.refs())
    assert report["inputs"]["records"] == total + copies
    s = only_stream(report)
    assert s["records"] == total
    assert s["duplicates"] == copies
    assert s["missing"] == []
    FIGURES["duplicated batch: records"] = copies
