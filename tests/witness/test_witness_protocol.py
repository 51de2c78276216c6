"""C2SP tlog-witness add-checkpoint against real witnesses: litewitness
(filippo.io/torchwood v0.6.1) and omniwitness (transparency-dev/witness).

A log key is made and registered the way each witness's own tooling does;
the proof-of-concept client (tests/witness/poc, Go, golang.org/x/mod/sumdb
tlog + note) builds RFC 6962 trees and signs checkpoints; every response
the spec documents is provoked; the cosignatures are verified here with
c2sp.py (Python, `cryptography`), which pins down the exact signed bytes.

Where a witness departs from the spec (tlog-witness as of C2SP 2026-07),
the table ANSWERS says so and the test asserts what the pinned version
really does, so that an upgrade that changes it shows up here.
"""

from __future__ import annotations

import base64
import hashlib
import json
import signal
import subprocess
import threading
import time

import pytest

import c2sp
from witness_harness import FIGURES, check_cosigned, make_log, post
from witness import LiteWitness, OmniWitness, witness_view

LITE, OMNI = "litewitness", "omniwitness"

# (status, body) per case and witness. "spec" is what tlog-witness says.
# Every 409 is `text/x.tlog.size` with the witness's size and "\n" (both).
ANSWERS = {
    "unknown origin": {"spec": 404, LITE: (403, b"unknown log\n"), OMNI: (500, b"")},
    "origin without keys": {"spec": 404, LITE: (403, b"unknown log\n")},
    "unknown log key": {"spec": 403, LITE: (403, b"invalid signature\n"), OMNI: (500, b"")},
    "bad log signature": {"spec": 403, LITE: (403, b"invalid signature\n"), OMNI: (500, b"")},
    "bad proof": {"spec": 422, LITE: (422, b"bad consistency proof\n"), OMNI: (422, b"")},
    "missing proof": {"spec": 422, LITE: (422, b"bad consistency proof\n"), OMNI: (422, b"")},
    "fork, same size": {"spec": 422, LITE: (422, b"bad consistency proof\n"), OMNI: (422, b"")},
    "fork, larger": {"spec": 422, LITE: (422, b"bad consistency proof\n"), OMNI: (422, b"")},
    "old > new": {"spec": 400, LITE: (400, b"invalid input\n"), OMNI: (400, b"")},
    "no blank line": {"spec": 400, LITE: (400, b"invalid input\n"), OMNI: (400, b"")},
    "proof line not base64": {"spec": 400, LITE: (400, b"invalid input\n"), OMNI: (400, b"")},
    "old size not a number": {"spec": 400, LITE: (400, b"invalid input\n"), OMNI: (400, b"")},
    "unsigned checkpoint": {"spec": 403, LITE: (500, b"malformed note\n"), OMNI: (500, b"")},
    # Not conforming, and worth knowing:
    "old 0 with proof lines": {"spec": 422, LITE: (200, None), OMNI: (200, None)},
    "size 0, wrong root": {"spec": 422, LITE: (200, None), OMNI: (422, b"")},
    "fresh log, old 5": {"spec": 409, LITE: (409, b"0\n"), OMNI: (200, None)},
    "64 proof lines": {"spec": 422, LITE: (422, b"bad consistency proof\n"), OMNI: (422, b"")},
}


def impl(w) -> str:
    return LITE if isinstance(w, LiteWitness) else OMNI


def expect(w, case: str, resp) -> None:
    want = ANSWERS[case].get(impl(w))
    assert want is not None, f"no expectation for {case} on {impl(w)}"
    status, body = want
    assert resp.status == status, f"{case}: {impl(w)} answered {resp.status} {resp.body!r} (spec: {ANSWERS[case]['spec']})"
    if body is not None:
        assert resp.body == body, f"{case}: {resp.body!r}"


def expect_409(resp, size: int) -> None:
    assert resp.status == 409, resp
    assert resp.content_type == "text/x.tlog.size", resp.content_type
    assert resp.body == b"%d\n" % size


def advance(w, log, sizes: list[int]) -> None:
    """Brings the witness's view of log to sizes[-1], one checkpoint each."""
    old = 0
    for n in sizes:
        r = post(w.url, log.body(old, n), f"{impl(w)}: {old} -> {n}")
        assert r.status == 200, r
        old = n


def flip(b64: str, i: int = 0) -> str:
    raw = bytearray(base64.b64decode(b64))
    raw[i] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


# ---- the happy path -----------------------------------------------------------

def test_cosignatures_verify_independently(witness, new_log):
    log = new_log(witness)
    lv = c2sp.VKey.parse(log.vkey)
    assert (lv.name, lv.sig_type) == (log.origin, c2sp.SIG_ED25519)

    times = []
    old = 0
    roots = {0: c2sp.EMPTY_ROOT}
    for n in (5, 13, 13, 40):
        body = log.body(old, n)
        req = c2sp.Request.parse(body)
        text, sigs = c2sp.split_note(req.note)
        cp = c2sp.parse_checkpoint(text)
        # The poc's tree is RFC 6962 and its proofs are the RFC's.
        assert (cp.origin, cp.size, cp.root) == (log.origin, n, c2sp.poc_root(n))
        assert c2sp.verify_note_sig(lv, text, sigs[0])
        assert c2sp.verify_consistency(old, n, roots[old], cp.root, req.proof)
        roots[n] = cp.root

        r = post(witness.url, body, f"{impl(witness)}: add-checkpoint {old} -> {n}")
        times.append(r.ms)
        ts = check_cosigned(witness, body, r)
        assert r.content_type == "text/plain; charset=utf-8"
        # The signature covers exactly cosignature/v1, the time line, the body.
        wv = c2sp.VKey.parse(witness.vkey)
        sig = c2sp.parse_sig_lines(r.body)[0]
        assert c2sp.verify_cosig(wv, text.replace(b"\n%d\n" % n, b"\n%d\n" % (n + 1)), sig) is None
        assert c2sp.verify_cosig(wv, text, c2sp.SigLine(sig.name, sig.key_id, (ts + 1).to_bytes(8, "big") + sig.sig[8:])) is None
        old = n
    FIGURES[f"{impl(witness)}: add-checkpoint, Python client, new connection (ms)"] = [round(t, 2) for t in times]


def test_go_client_merges_and_verifies(witness, new_log):
    """The poc's own loop: sends, verifies with its Go cosignature verifier,
    merges the cosignature into the checkpoint it keeps."""
    log = new_log(witness)
    rc, out = log.client(witness, [3, 8, 100])
    assert rc == 0, out
    assert [(a["old"], a["size"], a["status"], a["cosig_ok"]) for a in out] == [
        (0, 3, 200, True), (3, 8, 200, True), (8, 100, 200, True)]
    # What the processor would record: the log's note plus the witness's line.
    text, sigs = c2sp.split_note(out[-1]["cosigned"].encode())
    assert [s.name for s in sigs] == [log.origin, witness.name]
    assert c2sp.verify_cosig(c2sp.VKey.parse(witness.vkey), text, sigs[1]) == out[-1]["cosig_time"]


def test_extension_lines_are_accepted_and_cosigned(witness, new_log):
    log = new_log(witness)
    # docs/SPEC.md §5.3's extension lines, and one more of our own.
    ext = ["time 1796141905123456789", "interval 60", "auditchain/stream gateway-1"]
    body = log.body(0, 7, ext=ext)
    text = c2sp.Request.parse(body).checkpoint_body
    assert c2sp.parse_checkpoint(text).extensions == tuple(ext)
    r = post(witness.url, body, f"{impl(witness)}: extension lines")
    check_cosigned(witness, body, r)
    # The extension lines are inside the signed message.
    sig = c2sp.parse_sig_lines(r.body)[0]
    without = text.split(b"\n" + ext[0].encode())[0] + b"\n"
    assert c2sp.verify_cosig(c2sp.VKey.parse(witness.vkey), without, sig) is None
    rc, out = log.client(witness, [9], start_old=7, ext=ext)
    assert rc == 0 and out[-1]["cosig_ok"], out


# ---- every documented refusal ----------------------------------------------------

def test_409_old_size_mismatch(witness, new_log):
    log = new_log(witness)
    advance(witness, log, [5, 13])
    for old, n in ((0, 13), (0, 40), (5, 40), (20, 40), (12, 13)):
        expect_409(post(witness.url, log.body(old, n, proof_from=min(old, n) if old else -1), f"{impl(witness)}: 409 old {old}"), 13)
    fresh = new_log(witness, "-fresh")
    expect(witness, "fresh log, old 5", post(witness.url, fresh.body(5, 9), f"{impl(witness)}: fresh log, old 5"))


def test_422_bad_proofs_and_forks(witness, new_log):
    log = new_log(witness)
    advance(witness, log, [5, 13])
    good = c2sp.Request.parse(log.body(13, 40))

    bad = c2sp.Request(13, [bytes([good.proof[0][0] ^ 1]) + good.proof[0][1:], *good.proof[1:]], good.note)
    expect(witness, "bad proof", post(witness.url, bad.encode(), f"{impl(witness)}: bad proof"))
    expect(witness, "missing proof", post(witness.url, c2sp.Request(13, [], good.note).encode(), f"{impl(witness)}: no proof"))
    expect(witness, "fork, same size", post(witness.url, log.body(13, 13, fork_from=10), f"{impl(witness)}: fork same size"))
    expect(witness, "fork, larger", post(witness.url, log.body(13, 40, fork_from=10), f"{impl(witness)}: fork larger"))
    junk = c2sp.Request(13, [bytes([i]) * 32 for i in range(64)], good.note)
    expect(witness, "64 proof lines", post(witness.url, junk.encode(), f"{impl(witness)}: 64 proof lines"))
    # None of it moved the witness.
    r = post(witness.url, good.encode(), f"{impl(witness)}: good proof after the bad ones")
    check_cosigned(witness, good.encode(), r)


def test_403_bad_log_signatures(witness, new_log, tmp_path, poc):
    log = new_log(witness)
    advance(witness, log, [5])
    other = make_log(poc, tmp_path / "other", log.origin)  # same name, another key
    expect(witness, "unknown log key", post(witness.url, log.body(5, 9, sign_with=other.skey), f"{impl(witness)}: unknown key"))

    req = c2sp.Request.parse(log.body(5, 9))
    text, sigs = c2sp.split_note(req.note)
    line = req.note.decode().rsplit("\n", 2)[1]
    name, b64 = line.removeprefix(c2sp.EM_DASH + " ").split(" ")
    tampered = req.note.decode().replace(b64, flip(b64, 10)).encode()
    expect(witness, "bad log signature", post(witness.url, c2sp.Request(5, req.proof, tampered).encode(),
                                              f"{impl(witness)}: bad signature, right key ID"))
    unsigned = c2sp.Request(5, req.proof, text).encode()
    expect(witness, "unsigned checkpoint", post(witness.url, unsigned, f"{impl(witness)}: no signature line"))

    # A signature from a key the witness does not know is ignored (spec: MUST).
    foreign = c2sp.Request.parse(log.body(5, 9, sign_with=other.skey)).note.decode().rsplit("\n", 2)[1]
    both = c2sp.Request(5, req.proof, req.note + (foreign + "\n").encode()).encode()
    r = post(witness.url, both, f"{impl(witness)}: extra unknown signature")
    check_cosigned(witness, both, r)


def test_unknown_origin(witness, new_log):
    stranger = new_log(None)
    expect(witness, "unknown origin", post(witness.url, stranger.body(0, 3), f"{impl(witness)}: unknown origin"))
    if isinstance(witness, LiteWitness):
        keyless = new_log(None, "-keyless")
        witness.witnessctl("add-log", "-origin", keyless.origin)
        expect(witness, "origin without keys", post(witness.url, keyless.body(0, 3), "litewitness: add-log, no add-key"))
        removed = new_log(witness, "-removed")
        advance(witness, removed, [3])
        witness.witnessctl("del-key", "-origin", removed.origin, "-key", removed.vkey)
        expect(witness, "origin without keys", post(witness.url, removed.body(3, 4), "litewitness: after del-key"))


def test_400_malformed_requests(witness, new_log):
    log = new_log(witness)
    advance(witness, log, [5])
    expect(witness, "old > new", post(witness.url, log.body(9, 8, proof_from=0), f"{impl(witness)}: old 9 > size 8"))
    note = c2sp.Request.parse(log.body(5, 9)).note
    expect(witness, "no blank line", post(witness.url, b"old 5\n" + note, f"{impl(witness)}: no blank line"))
    expect(witness, "proof line not base64", post(witness.url, b"old 5\n!!!!\n\n" + note, f"{impl(witness)}: bad proof line"))
    expect(witness, "old size not a number", post(witness.url, b"old five\n\n" + note, f"{impl(witness)}: old five"))


def test_edge_cases_at_size_zero(witness, new_log):
    """Spec (2026-07): a proof with old 0 and a size-0 checkpoint whose root
    is not the empty tree's are 422. Recorded as they are."""
    a = new_log(witness, "-a")
    junk = c2sp.Request(0, [b"\x07" * 32], c2sp.Request.parse(a.body(0, 5)).note).encode()
    expect(witness, "old 0 with proof lines", post(witness.url, junk, f"{impl(witness)}: old 0 with a proof line"))
    b = new_log(witness, "-b")
    r = post(witness.url, b.body(0, 0), f"{impl(witness)}: size 0, empty root")
    check_cosigned(witness, b.body(0, 0), r)
    c = new_log(witness, "-c")
    wrong = base64.b64encode(c2sp.poc_root(1)).decode()
    expect(witness, "size 0, wrong root", post(witness.url, c.body(0, 0, root=wrong), f"{impl(witness)}: size 0, wrong root"))


def test_body_size_limit(witness, new_log):
    """litewitness wraps its handler in http.MaxBytesHandler(10 KiB);
    omniwitness reads at most 16 KiB. The spec's 63 proof lines need ~2.9 KB."""
    log = new_log(witness)
    advance(witness, log, [5])
    note = c2sp.Request.parse(log.body(5, 9)).note
    limit = 10 * 1024 if isinstance(witness, LiteWitness) else 16 * 1024
    head = len(b"old 5\n\n") + len(note)
    k = (limit - head) // 45  # 44 base64 chars + newline per proof line
    under = c2sp.Request(5, [b"\x01" * 32] * k, note).encode()
    over = c2sp.Request(5, [b"\x01" * 32] * (k + 2), note).encode()
    assert len(under) <= limit < len(over)
    assert post(witness.url, under, f"{impl(witness)}: {len(under)} bytes").status == 422
    r = post(witness.url, over, f"{impl(witness)}: {len(over)} bytes")
    if isinstance(witness, LiteWitness):
        assert (r.status, r.body) == (500, b"http: request body too large\n"), r
    else:
        assert (r.status, r.body) == (400, b""), r
    FIGURES[f"{impl(witness)}: largest body accepted (bytes)"] = limit


# ---- the log's side of the protocol ---------------------------------------------

def test_client_resyncs_and_detects_rollback(witness, new_log):
    log = new_log(witness)
    rc, out = log.client(witness, [5, 13])
    assert rc == 0, out
    # The log's state lost the cosigned 13 (it believes the witness holds 5):
    # 409 "13", resync from 13, cosigned.
    rc, out = log.client(witness, [20], start_old=5)
    assert rc == 0, out
    assert [(a["old"], a["status"], a.get("resync", False)) for a in out] == [(5, 409, False), (13, 200, True)]
    # The log's state was rolled back to 8 leaves: the witness holds 20.
    # Probing with the state's own checkpoint (old = size = 8) reveals it.
    rc, out = log.client(witness, [8], start_old=8)
    assert rc == 3, out
    assert out[0]["status"] == 409 and out[0]["body"] == "20\n"
    assert out[-1]["witness_size"] == 20 and out[-1]["log_size"] == 8


def test_concurrent_submissions_are_atomic(witness, new_log):
    """Two add-checkpoints from the same old size at once: one is cosigned,
    the other gets 409 with the winner's size (no rollback). omniwitness
    may instead answer 429 (its SQLite transaction met SQLITE_BUSY:
    ErrPushback), or cosign neither (both 429): retry later."""
    log = new_log(witness)
    advance(witness, log, [4])
    cur = 4
    seen: dict[int, int] = {}
    for _ in range(8):
        bodies = [log.body(cur, cur + 3), log.body(cur, cur + 5)]
        results: list = [None, None]

        def send(i):
            results[i] = post(witness.url, bodies[i], f"{impl(witness)}: concurrent {cur} -> {cur + 3 + 2 * i}")

        ts = [threading.Thread(target=send, args=(i,)) for i in range(2)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        for r in results:
            seen[r.status] = seen.get(r.status, 0) + 1
        won = [i for i, r in enumerate(results) if r.status == 200]
        if isinstance(witness, OmniWitness) and not won:
            assert [r.status for r in results] == [429, 429], results
            continue
        assert len(won) == 1, [(r.status, r.body) for r in results]
        winner = cur + 3 + 2 * won[0]
        loser = results[1 - won[0]]
        if isinstance(witness, OmniWitness) and loser.status == 429:
            assert loser.body == b""
        else:
            expect_409(loser, winner)
        cur = winner
    FIGURES[f"{impl(witness)}: statuses of 8 concurrent pairs"] = dict(sorted(seen.items()))
    # Either way the witness ends at a size one of the winners had.
    expect_409(post(witness.url, log.body(0, cur), f"{impl(witness)}: after the races"), cur)


def test_timings_and_no_rate_limit(witness, new_log, poc):
    """200 checkpoints back to back over one keep-alive connection from Go:
    all cosigned (neither witness limits by default; omniwitness has
    --rate_limit, which answers 429)."""
    log = new_log(witness)
    r = subprocess.run([str(poc), "bench", "-url", witness.url, "-skey", str(log.skey), "-witness", witness.vkey,
                        "-count", "200", "-step", "7"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    b = json.loads(r.stdout)
    assert b["count"] == 200 and b["final_size"] == 1400
    FIGURES[f"{impl(witness)}: add-checkpoint round trip, Go keep-alive (ms)"] = (
        f"median {b['median_ms']}, p95 {b['p95_ms']}, max {b['max_ms']}; "
        f"{b['per_checkpoint_ms_incl_client']:.2f} per checkpoint incl. tree, proof, signing")


# ---- reading back ---------------------------------------------------------------

def test_monitoring_endpoints(witness, new_log):
    log = new_log(witness)
    advance(witness, log, [5, 13])
    # C2SP's GET <prefix>/<sha256(origin) hex>/checkpoint: neither serves it.
    assert witness.checkpoint(log.origin) is None
    if isinstance(witness, LiteWitness):
        # What litewitness does expose: size and root, on its index page and
        # through witnessctl list-logs (the database). No cosignature.
        assert witness.latest(log.origin) == (13, c2sp.poc_root(13))
        entry = witness.list_logs()[log.origin]
        assert entry["size"] == 13 and base64.b64decode(entry["root_hash"]) == c2sp.poc_root(13)
        assert entry["keys"] == [log.vkey]


def test_witness_view_from_an_exported_checkpoint(witness, new_log):
    """A verifier holding only the log's exported signed checkpoints (no
    log key, no monitoring API) learns the witness's size and gets a fresh
    cosignature on the newest one; an older one shows the export lacks the
    tail the witness saw."""
    log = new_log(witness)
    advance(witness, log, [5, 13])
    note13 = c2sp.Request.parse(log.body(0, 13)).note
    size, sigs = witness_view(witness.url, note13)
    assert size == 13 and sigs is not None
    sig = c2sp.parse_sig_lines(sigs)[0]
    assert c2sp.verify_cosig(c2sp.VKey.parse(witness.vkey), c2sp.split_note(note13)[0], sig)
    assert witness_view(witness.url, c2sp.Request.parse(log.body(0, 5)).note) == (13, None)
    # Nothing moved.
    expect_409(post(witness.url, log.body(0, 13), f"{impl(witness)}: after the views"), 13)


def test_omniwitness_distributes_its_cosigned_checkpoint(omni, new_log):
    """omniwitness keeps the whole cosigned checkpoint and PUTs it to its
    REST distributor (--rest_distro_url): the witness's own latest view,
    with the log's signature and its cosignature."""
    log = new_log(omni)
    advance(omni, log, [5, 13])
    got = omni.distributed(log.origin)
    text, sigs = c2sp.split_note(got)
    cp = c2sp.parse_checkpoint(text)
    assert (cp.origin, cp.size, cp.root) == (log.origin, 13, c2sp.poc_root(13))
    by = {s.name: s for s in sigs}
    assert c2sp.verify_note_sig(c2sp.VKey.parse(log.vkey), text, by[log.origin])
    assert c2sp.verify_cosig(c2sp.VKey.parse(omni.vkey), text, by[omni.name])


def test_many_origins(lite, omni, poc, tmp_path):
    """No limit on origins in either witness's code; 40 logs registered the
    way each expects, each cosigned."""
    for w in (lite, omni):
        logs = [make_log(poc, tmp_path / impl(w), f"example.com/auditchain-test/many-{impl(w)}-{i}") for i in range(40)]
        t0 = time.monotonic()
        if isinstance(w, LiteWitness):
            for log in logs:
                w.register(log.origin, log.vkey)
        else:
            w.logs.update({log.origin: log.vkey for log in logs})
            w.register(logs[0].origin, logs[0].vkey)  # rewrites the YAML, restarts once
        FIGURES[f"{impl(w)}: registering 40 logs (s)"] = round(time.monotonic() - t0, 2)
        for log in logs:
            body = log.body(0, 3)
            check_cosigned(w, body, post(w.url, body, f"{impl(w)}: many origins"))


# ---- restarts ----------------------------------------------------------------------

@pytest.mark.parametrize("kind", [LITE, OMNI])
def test_restart_remembers_sizes(kind, tmp_path, poc):
    cls = LiteWitness if kind == LITE else OmniWitness
    w = cls(tmp_path / "w")
    try:
        FIGURES[f"{kind}: start (s)"] = round(w.start(), 3)
        log = make_log(poc, tmp_path, f"example.com/auditchain-test/restart-{kind}")
        w.register(log.origin, log.vkey)
        advance(w, log, [5, 13])
        vkey = w.vkey

        rc = w.stop(signal.SIGINT)
        t = w.start()
        FIGURES[f"{kind}: restart (s)"] = round(t, 3)
        assert w.vkey == vkey
        expect_409(post(w.url, log.body(0, 13), f"{kind}: after restart"), 13)
        check_cosigned(w, log.body(13, 40), post(w.url, log.body(13, 40), f"{kind}: after restart, 13 -> 40"))
        if kind == LITE:
            assert rc == 0 and "shutting down" in w.log_text()

        # A crash right after a cosignature: the size was persisted before
        # the response (spec: MUST).
        w.stop(signal.SIGKILL)
        w.start()
        expect_409(post(w.url, log.body(0, 40), f"{kind}: after SIGKILL"), 40)
    finally:
        w.cleanup()


def test_litewitness_key_formats(lite, new_log, poc, tmp_path):
    """The witness key: an OpenSSH Ed25519 key in a dedicated ssh-agent,
    chosen by its SHA256 fingerprint; its vkey is
    <name>+<keyID>+base64(0x04 || key)."""
    v = c2sp.VKey.parse(lite.vkey)
    assert v.sig_type == c2sp.SIG_COSIG_V1 and v.name == lite.name and v.public == lite.public_key()
    blob = base64.b64decode(lite.key.with_suffix(".pub").read_text().split()[1])
    assert lite.fingerprint == "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")

    # witnessctl add-key takes a note vkey (type 0x01). A key whose name is
    # not the origin draws a warning but is added, and it verifies (the Go
    # sumdb's key is named sum.golang.org, its origin "go.sum database tree").
    log = new_log(None)
    lite.witnessctl("add-log", "-origin", log.origin)
    named = make_log(poc, tmp_path / "named", "other.example/key-name")
    out = lite.witnessctl("add-key", "-origin", log.origin, "-key", named.vkey)
    assert "does not match origin" in out and "Added key" in out
    body = log.body(0, 3, sign_with=named.skey)
    check_cosigned(lite, body, post(lite.url, body, "litewitness: key name != origin"))


# ---- a fixed vector (docs/WITNESSING-NOTES.md shows the same bytes) ------------

VECTOR = {
    # litewitness v0.6.1 -name witness.example/w1, captured on 2026-12-01.
    "witness_vkey": "witness.example/w1+99d91bd5+BIzYejmlJUoEJZKZoP3WYi6vtaSpXVlTFDm512BL9RIR",
    "witness_ssh_pub": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIzYejmlJUoEJZKZoP3WYi6vtaSpXVlTFDm512BL9RIR",
    "log_vkey": "example.com/audit/gateway-1+28af1add+AfGnpaFylRAtvSoIWQdYcISQVOf3D7ZdTm5VtX8OI6/G",
    "note5": ("example.com/audit/gateway-1\n5\nPSRysyXZTDU4AlrnRyNu/SUqzKD/s/Awza5dJ/+DLuU=\n\n"
              "\u2014 example.com/audit/gateway-1 KK8a3RYM+SYVphLL3NEsp8rQgYGBBb1VfqmTmX5QGO0G42zcI7L9ILZrogCFHTzSKWMneNNNTE4TOdKGarIkVOU6gQI=\n"),
    "cosig5": "\u2014 witness.example/w1 mdkb1QAAAABrDvNRSPy7SJ/1yda4G2c1kZZpaSIA76daLYaCOI6oKt/THmFKfxk9+f8FB0g3Jf4WjlRh0v1e/pCOcIIkSSaki1CSDA==\n",
    "cosig5_time": 1796141905,
    "proof_5_13": ["pjzKooYgCKW4A4Cryll7Ub2RNfAdz9yCtZYpWFRss+Y=", "bccIrmubr+789HhV7m7PGhShNbo+F4XQctjb1QTm3Qc=",
                   "pttPPVFApsK/GjZe8jbOqaEKSJe5X8xVCENrWZD0//s=", "a3P5FYx/LbbAwamxmGRzvArZ3lGIIgQbYQMPTF9YDqc=",
                   "V8Vt2mTsK1w4EOkIPuatGpAuxJe/KHDHAeVl13BAqVI="],
    "root13": "oMm6+KRiI80Bn0+ZV3UXyNCB7y6YlgutZISSScPGsxA=",
}


def test_fixed_vector():
    v = VECTOR
    wv = c2sp.VKey.parse(v["witness_vkey"])
    blob = base64.b64decode(v["witness_ssh_pub"].split()[1])
    assert wv.public == blob[-32:] and c2sp.cosig_vkey("witness.example/w1", blob[-32:]) == v["witness_vkey"]
    text, sigs = c2sp.split_note(v["note5"].encode())
    assert c2sp.verify_note_sig(c2sp.VKey.parse(v["log_vkey"]), text, sigs[0])
    assert c2sp.parse_checkpoint(text).root == c2sp.poc_root(5)
    line = c2sp.parse_sig_lines(v["cosig5"].encode())[0]
    assert c2sp.verify_cosig(wv, text, line) == v["cosig5_time"]
    msg = c2sp.cosignature_message(v["cosig5_time"], text)
    assert msg == b"cosignature/v1\ntime 1796141905\nexample.com/audit/gateway-1\n5\nPSRysyXZTDU4AlrnRyNu/SUqzKD/s/Awza5dJ/+DLuU=\n"
    assert base64.b64decode(v["root13"]) == c2sp.poc_root(13)
    proof = [base64.b64decode(h) for h in v["proof_5_13"]]
    assert c2sp.verify_consistency(5, 13, c2sp.poc_root(5), c2sp.poc_root(13), proof)
    assert not c2sp.verify_consistency(5, 13, c2sp.poc_root(5), c2sp.poc_root(13), proof[:-1])
