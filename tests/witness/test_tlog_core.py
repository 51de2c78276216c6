"""The Rust tlog core (src/core/merkle, src/core/tlog) against real
witnesses and an independent implementation.

- Checkpoints, consistency proofs and add-checkpoint bodies made by the
  Rust code (through examples/tlog_tool.rs, a test tool, not a user
  command; the proofs from a merkle::Extension, two compact ranges, as the
  engine is to make them) are sent to real litewitness and omniwitness; their answers are
  read, and their cosignatures verified, by the Rust code, and checked
  again by c2sp.py (Python, written from the C2SP texts). Both must agree
  on every accepted and every tampered cosignature.
- tests/vectors/tlog.json (SPEC §5.5) is recomputed here from the SPEC
  text alone: leaf data, roots, signatures, cosignatures, the consistency
  and the inclusion proof.

`make test-witness` builds the tool (AUDITCHAIN_TLOG_TOOL overrides it).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

import c2sp
from witness import REPO
from witness_harness import post

TOOL = Path(os.environ.get("AUDITCHAIN_TLOG_TOOL", REPO / "target" / "debug" / "examples" / "tlog_tool"))


@pytest.fixture(scope="session")
def tool() -> Path:
    if not os.access(TOOL, os.X_OK):
        pytest.fail(f"not built: {TOOL}; run `make test-witness` (it builds it first)")
    return TOOL


def run(tool: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run([str(tool), *args], capture_output=True)
    if check and r.returncode != 0:
        raise AssertionError(f"tlog_tool {' '.join(args)}: exit {r.returncode}: {r.stderr.decode()}")
    return r


class RustLog:
    """A log whose key, checkpoints and proofs come from the Rust code."""

    def __init__(self, tool: Path, tmp: Path, origin: str):
        self.tool, self.tmp, self.origin = tool, tmp, origin
        keys = json.loads(run(tool, "keygen", origin).stdout)
        self.vkey = keys["vkey"]
        self.skey = tmp / "log.skey"
        self.skey.write_text(keys["skey"] + "\n")
        self.n = 0

    def request(self, old: int, size: int, *extra: str) -> bytes:
        return run(self.tool, "request", "--skey", str(self.skey), "--old", str(old), "--size", str(size), *extra).stdout

    def answer(self, witness, body: bytes, r) -> dict:
        """The Rust reading of a witness's answer to `body`."""
        self.n += 1
        req, resp = self.tmp / f"req{self.n}", self.tmp / f"resp{self.n}"
        req.write_bytes(body)
        resp.write_bytes(r.body)
        out = run(self.tool, "answer", "--vkey", witness.vkey, "--log-vkey", self.vkey, "--request", str(req),
                  "--status", str(r.status), "--content-type", r.content_type, "--body", str(resp), check=False)
        if out.returncode != 0:
            return {"error": out.stderr.decode()}
        return json.loads(out.stdout)

    def file(self, name: str, data: str | bytes) -> str:
        p = self.tmp / name
        p.write_bytes(data.encode() if isinstance(data, str) else data)
        return str(p)


def impl(witness) -> str:
    return type(witness).__name__


@pytest.fixture
def rust_log(tool, tmp_path, request):
    def make(witness) -> RustLog:
        name = re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name).strip("-")
        log = RustLog(tool, tmp_path, f"example.com/auditchain-rust/{name}")
        witness.register(log.origin, log.vkey)
        return log

    return make


def test_real_witnesses_cosign_rust_checkpoints(witness, rust_log):
    """0 → 5 → 13 → 40: each checkpoint and consistency proof is the Rust
    code's; the witness checks the proof and cosigns; the Rust code and
    c2sp.py both verify the cosignature, and both refuse it tampered."""
    log = rust_log(witness)
    wv = c2sp.VKey.parse(witness.vkey)
    old = 0
    for n in (5, 13, 40):
        body = log.request(old, n, "--ext", f"time {1796141905000000000 + n}")
        r = post(witness.url, body, f"{impl(witness)}: rust add-checkpoint {old} -> {n}")
        assert r.status == 200, (r.status, r.body)
        got = log.answer(witness, body, r)
        assert got.get("answer") == "cosigned", got
        # The independent check of the very same bytes.
        text = c2sp.split_note(c2sp.Request.parse(body).note)[0]
        line = c2sp.parse_sig_lines(r.body)[0]
        assert c2sp.verify_cosig(wv, text, line) == got["timestamp"]
        cosigned = got["cosigned_note"].encode()
        assert cosigned == c2sp.Request.parse(body).note + r.body
        # One flipped bit anywhere in the signature: both refuse.
        raw = bytearray(base64.b64decode(r.body.decode().split(" ")[2]))
        for at in (4, 11, 12, 40, len(raw) - 1):
            bad = raw.copy()
            bad[at] ^= 0x10
            bad_body = f"\u2014 {line.name} {base64.b64encode(bytes(bad)).decode()}\n".encode()
            bad_r = type(r)(200, r.content_type, bad_body, 0, {})
            assert "error" in log.answer(witness, body, bad_r), at
            assert c2sp.verify_cosig(wv, text, c2sp.parse_sig_lines(bad_body)[0]) is None, at
        old = n

    # The cosigned checkpoint meets a policy that requires this witness, and
    # a tlog-proof of leaf 17 against it verifies offline.
    policy = log.file("policy", f"log {log.vkey}\nwitness w {witness.vkey}\nquorum w\n")
    note = log.file("cosigned", cosigned)
    verdict = json.loads(run(log.tool, "policy", "--policy", policy, "--note", note).stdout)
    assert verdict["quorum"] and verdict["size"] == 40 and verdict["bad"] == [], verdict
    proof = run(log.tool, "prove", "--size", "40", "--index", "17", "--note", note).stdout
    ok = json.loads(run(log.tool, "verify-proof", "--policy", policy, "--proof", log.file("p", proof), "--index", "17").stdout)
    assert ok["ok"] and ok["cosigned"][0][0] == "w"
    # The same proof for another leaf, or with its witness line removed, fails.
    assert run(log.tool, "verify-proof", "--policy", policy, "--proof", log.file("p", proof), "--index", "16",
               check=False).returncode == 1
    bare = proof[: proof.rindex("\u2014 ".encode())]  # the last line is the witness's
    r = run(log.tool, "verify-proof", "--policy", policy, "--proof", log.file("bare", bare), "--index", "17", check=False)
    assert r.returncode == 1 and b"quorum" in r.stderr, r.stderr


def test_rust_reads_409_and_422_from_real_witnesses(witness, rust_log):
    log = rust_log(witness)
    body = log.request(0, 13)
    assert post(witness.url, body, f"{impl(witness)}: rust 0 -> 13").status == 200
    # A stale old size: the witness says 13, the Rust code reads it.
    stale = log.request(5, 20)
    r = post(witness.url, stale, f"{impl(witness)}: rust stale 5 -> 20")
    assert (r.status, log.answer(witness, stale, r)) == (409, {"answer": "conflict", "size": 13})
    # Resent from 13 with the Rust proof: cosigned.
    again = log.request(13, 20)
    r = post(witness.url, again, f"{impl(witness)}: rust resync 13 -> 20")
    assert log.answer(witness, again, r).get("answer") == "cosigned"
    # A proof with one bit flipped: 422, read as an inconsistency (alarm).
    bad = log.request(20, 30, "--bad-proof")
    r = post(witness.url, bad, f"{impl(witness)}: rust bad proof 20 -> 30")
    assert (r.status, log.answer(witness, bad, r)) == (422, {"answer": "Inconsistent"})


def test_spec_vector_independently():
    """tests/vectors/tlog.json from SPEC §5.5's text, with Python only."""
    v = json.loads((REPO / "tests/vectors/tlog.json").read_text())
    leaf_hashes = []
    for leaf in v["leaves"]:
        sid = leaf["stream_id"].encode()
        data = (b"auditchain.leaf.v1\x00" + len(sid).to_bytes(4, "big") + sid + leaf["sequence"].to_bytes(8, "big")
                + bytes.fromhex(leaf["record_hash"]) + bytes.fromhex(leaf["link"]))
        assert data.hex() == leaf["leaf_data"]
        leaf_hashes.append(c2sp.leaf_hash(data))
        assert leaf_hashes[-1].hex() == leaf["leaf_hash"]
    assert [c2sp.tree_hash(leaf_hashes[:n]).hex() for n in range(len(leaf_hashes) + 1)] == v["roots"]
    # The leaves are chain.json's records, links included.
    chain = json.loads((REPO / "tests/vectors/chain.json").read_text())
    links = [r["value"] for part in ("plain", "keyed") for r in chain[part]["records"]]
    assert [leaf["link"] for leaf in v["leaves"]] == links

    log = c2sp.VKey.parse(v["log_vkey"])
    text, sigs = c2sp.split_note(v["cosigned_note"].encode())
    assert text == v["checkpoint_body"].encode()
    cp = c2sp.parse_checkpoint(text)
    assert (cp.origin, cp.size, cp.root.hex()) == (log.name, 9, v["roots"][9])
    assert c2sp.verify_note_sig(log, text, sigs[0])
    for wk, s in zip(v["witness_vkeys"], sigs[1:], strict=True):
        assert c2sp.verify_cosig(c2sp.VKey.parse(wk), text, s) is not None
    proof = [base64.b64decode(h) for h in v["consistency_4_9"]]
    assert c2sp.verify_consistency(4, 9, bytes.fromhex(v["roots"][4]), cp.root, proof)

    # The tlog-proof: header, index, audit path, blank line, the note.
    head, note = v["tlog_proof_leaf_6"].split("\n\n", 1)
    lines = head.split("\n")
    assert lines[0] == "c2sp.org/tlog-proof@v1" and lines[1] == "index 6"
    assert note == v["cosigned_note"]
    path = [base64.b64decode(h) for h in lines[2:]]
    assert root_from_path(6, 9, leaf_hashes[6], path) == cp.root
    assert root_from_path(6, 9, leaf_hashes[5], path) != cp.root


def root_from_path(index: int, size: int, leaf: bytes, path: list[bytes]) -> bytes:
    """RFC 9162 2.1.3.2, as written there."""
    fn, sn, r = index, size - 1, leaf
    for p in path:
        assert sn != 0
        if fn & 1 or fn == sn:
            r = c2sp.node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = c2sp.node_hash(r, p)
        fn >>= 1
        sn >>= 1
    assert sn == 0
    return r
