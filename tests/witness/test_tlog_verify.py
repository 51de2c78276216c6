"""`auditchain verify --witness-policy/--witness-checkpoint` with the
cosignatures of real witnesses (litewitness, omniwitness).

A format version 2 log (two streams, checkpoints with their compact
ranges and consistency proofs, docs/SPEC.md §5.5) is written by
tests/tlog_cli.rs (`write_v2_files_for_witness_tests`, built record by
record as the contract says the engine writes them). Here, as the
processor's witness client would, each checkpoint is sent to the witness
in order (old size and proof read from the checkpoint record's
`audit.log.previous_size` / `audit.log.consistency`), and each cosigned
note is appended to the checkpoint file. Then the real CLI verifies:

- the log as written, with a policy requiring the witness: it passes, the
  newest checkpoint cosigned by it with the quorum met;
- the key holder's rewrite (one record edited, every checkpoint re-signed
  with the real key), which the witness refuses to cosign: unwitnessed, and
  a `fork` against the witness's own cosigned checkpoint
  (`--witness-checkpoint`);
- the log with its newest stream deleted, checkpoint lines too: the
  witness's checkpoint shows the `missing_leaves`.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path

import c2sp
from witness import REPO
from witness_harness import post

TARGET = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
AUDITCHAIN = Path(os.environ.get("AUDITCHAIN_BIN", TARGET / "debug" / "auditchain"))
B = "gw-20261122T051100Z-bbbb"


def generate(out: Path) -> None:
    r = subprocess.run(
        ["cargo", "test", "--locked", "--test", "tlog_cli", "--", "--ignored", "--exact",
         "write_v2_files_for_witness_tests"],
        cwd=REPO, env={**os.environ, "AUDITCHAIN_V2_OUT": str(out)}, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert AUDITCHAIN.exists(), f"{AUDITCHAIN} not built"


def records(store: Path) -> dict[tuple[str, int], dict]:
    """Every record of the stream files, by (stream id, sequence number)."""
    out = {}
    for f in store.glob("gw-*.jsonl"):
        for line in f.read_text().splitlines():
            for rl in json.loads(line)["resourceLogs"]:
                for sl in rl["scopeLogs"]:
                    for r in sl["logRecords"]:
                        a = {kv["key"]: kv["value"] for kv in r["attributes"]}
                        out[(a["audit.sequence.stream_id"]["stringValue"], int(a["audit.sequence.number"]["intValue"]))] = a
    return out


def witness_the_log(witness, store: Path) -> bytes:
    """Sends every checkpoint of the checkpoint file to the witness, in
    order, and appends the cosigned notes to the file. Returns the newest
    cosigned note."""
    cp_file = store / "checkpoints.jsonl"
    lines = [json.loads(x) for x in cp_file.read_text().splitlines()]
    recs = records(store)
    old, cosigned = 0, []
    for line in lines:
        note = line["note"].encode()
        size = c2sp.parse_checkpoint(c2sp.split_note(note)[0]).size
        a = recs[(line["stream_id"], line["sequence"])]
        proof = []
        if old:
            assert int(a["audit.log.previous_size"]["intValue"]) == old
            proof = [base64.b64decode(v["stringValue"]) for v in a["audit.log.consistency"]["arrayValue"]["values"]]
        body = c2sp.Request(old, proof, note).encode()
        r = post(witness.url, body, f"v2 log {old} -> {size}")
        assert r.status == 200, (r.status, r.body)
        cosigned.append({**line, "note": (note + r.body).decode()})
        old = size
    with open(cp_file, "a") as f:
        for c in cosigned:
            f.write(json.dumps(c) + "\n")
    return cosigned[-1]["note"].encode()


def verify(out: Path, store: Path, *extra: str) -> tuple[int, dict]:
    r = subprocess.run([str(AUDITCHAIN), "verify", "--format", "json", "--as-of", (out / "as_of").read_text(),
                        "--public-key", (out / "log.vkey").read_text(), *extra, str(store)],
                       capture_output=True, text=True)
    return r.returncode, json.loads(r.stdout)


def kinds(report: dict) -> set[str]:
    return {f["kind"] for f in report["logs"][0]["findings"] if f["severity"] == "error"}


def test_verify_against_real_witness_cosignatures(witness, tmp_path):
    out = tmp_path / "v2"
    generate(out)
    origin, vkey = (out / "origin").read_text(), (out / "log.vkey").read_text()
    witness.register(origin, vkey)
    store = out / "store"
    newest = witness_the_log(witness, store)
    policy = out / "policy"
    policy.write_text(f"log {vkey}\nwitness w {witness.vkey}\nquorum w\n")
    note = out / "witness.note"
    note.write_bytes(newest)

    code, r = verify(out, store, "--witness-policy", str(policy))
    assert code == 0, json.dumps(r, indent=1)
    log = r["logs"][0]
    assert log["newest_checkpoint"]["cosigned_by"] == ["w"] and log["newest_checkpoint"]["quorum"] is True
    assert log["witnessed_size"] == log["size"] == c2sp.parse_checkpoint(c2sp.split_note(newest)[0]).size

    # The rewrite, re-signed with the real key: the witness will not cosign
    # it (it holds the other tree), and the verifier sees it.
    forged = out / "forged"
    lines = [json.loads(x) for x in (forged / "checkpoints.jsonl").read_text().splitlines()]
    last = lines[-1]["note"].encode()
    size = c2sp.parse_checkpoint(c2sp.split_note(last)[0]).size
    r = post(witness.url, c2sp.Request(size, [], last).encode(), "v2 forged newest")
    assert r.status != 200, (r.status, r.body)
    code, r = verify(out, forged, "--max-delay", "2s", "--witness-policy", str(policy), "--witness-checkpoint", str(note))
    assert code == 1
    assert {"fork", "unwitnessed", "checkpoint_mismatch"} <= kinds(r), json.dumps(r["logs"], indent=1)

    # The newest stream deleted, with the checkpoint file.
    cut = out / "cut"
    shutil.copytree(store, cut)
    (cut / f"{B}.jsonl").unlink()
    (cut / "checkpoints.jsonl").unlink()
    code, r = verify(out, cut, "--witness-policy", str(policy))
    assert code == 0, "without the witness's checkpoint nothing shows it"
    code, r = verify(out, cut, "--witness-policy", str(policy), "--witness-checkpoint", str(note))
    assert code == 1 and kinds(r) == {"missing_leaves"}, json.dumps(r["logs"], indent=1)
