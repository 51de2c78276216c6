"""Helpers of the tlog-witness tests (conftest.py holds the fixtures):
POST add-checkpoint with a record of every exchange, a log key made by the
proof-of-concept client (tests/witness/poc), and the independent check of
a cosignature. A module of its own name, so that it cannot be confused
with tests/e2e's conftest when both directories are collected.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import os
import re
import subprocess
import time
from pathlib import Path

import c2sp
from witness import REPO

POC = Path(os.environ.get("AUDITCHAIN_WITNESS_POC", REPO / "build" / "witness" / "poc"))
EXCHANGES = REPO / "build" / "witness" / "exchanges.txt"
FIGURES: dict[str, object] = {}


@dataclasses.dataclass
class Response:
    status: int
    content_type: str
    body: bytes
    ms: float
    headers: dict[str, str]


def post(url: str, body: bytes, label: str = "", conn: http.client.HTTPConnection | None = None) -> Response:
    """POST <url>/add-checkpoint, recorded in build/witness/exchanges.txt."""
    host, port = url.removeprefix("http://").split(":")
    c = conn or http.client.HTTPConnection(host, int(port), timeout=10)
    t0 = time.perf_counter()
    c.request("POST", "/add-checkpoint", body=body)
    r = c.getresponse()
    data = r.read()
    ms = (time.perf_counter() - t0) * 1000
    if conn is None:
        c.close()
    resp = Response(r.status, r.getheader("Content-Type", ""), data, ms, dict(r.getheaders()))
    with open(EXCHANGES, "a") as f:
        head = "\n".join(f"{k}: {v}" for k, v in resp.headers.items() if k != "Date")
        f.write(f"=== {label} ({url})\n--- request\n{body.decode(errors='replace')}"
                f"--- response {r.status} {r.reason}\n{head}\n\n{data.decode(errors='replace')}\n")
    return resp


@dataclasses.dataclass
class Log:
    """One log: an origin and its note key (made by the poc), known to a
    witness (or not)."""

    origin: str
    dir: Path
    vkey: str
    poc: Path

    @property
    def skey(self) -> Path:
        return self.dir / "log.skey"

    def body(self, old: int, size: int, **kw) -> bytes:
        """An add-checkpoint body from the poc. kw: proof_from, fork_from,
        root (base64), sign_with (a key file), ext (a list of lines)."""
        args = [str(self.poc), "body", "-skey", str(self.skey), "-old", str(old), "-size", str(size)]
        for k, v in kw.items():
            for x in v if isinstance(v, list) else [v]:
                args += [f"-{k.replace('_', '-')}", str(x)]
        return subprocess.run(args, check=True, capture_output=True).stdout

    def client(self, witness, sizes: list[int], start_old: int = 0, ext: list[str] = ()) -> tuple[int, list[dict]]:
        """The poc's witnessing loop (Go net/http): returns its exit status
        and its JSON lines."""
        args = [str(self.poc), "client", "-url", witness.url, "-skey", str(self.skey), "-witness", witness.vkey,
                "-sizes", ",".join(map(str, sizes)), "-start-old", str(start_old)]
        for e in ext:
            args += ["-ext", e]
        r = subprocess.run(args, capture_output=True, text=True)
        return r.returncode, [json.loads(x) for x in r.stdout.splitlines()]


def make_log(poc: Path, base: Path, origin: str, prefix: str = "log") -> Log:
    d = base / re.sub(r"[^A-Za-z0-9._-]", "_", origin)
    d.mkdir(parents=True, exist_ok=True)
    out = subprocess.run([str(poc), "keygen", "-origin", origin, "-dir", str(d), "-prefix", prefix],
                         check=True, capture_output=True, text=True).stdout
    return Log(origin, d, json.loads(out)["vkey"], poc)


def check_cosigned(witness, req_body: bytes, resp: Response, now: float | None = None) -> int:
    """Checks a 200 add-checkpoint response with c2sp.py (not the Go code):
    one signature line per witness key, the right key ID, a 72-byte
    timestamped Ed25519 signature over cosignature/v1 + the checkpoint body.
    Returns the timestamp."""
    assert resp.status == 200, resp
    sigs = c2sp.parse_sig_lines(resp.body)
    wv = c2sp.VKey.parse(witness.vkey)
    assert wv.sig_type == c2sp.SIG_COSIG_V1
    assert [(s.name, s.key_id) for s in sigs] == [(wv.name, wv.key_id)]
    body = c2sp.Request.parse(req_body).checkpoint_body
    ts = c2sp.verify_cosig(wv, body, sigs[0])
    assert ts is not None, "cosignature does not verify"
    now = time.time() if now is None else now
    assert now - 5 <= ts <= now + 5, (ts, now)
    return ts
