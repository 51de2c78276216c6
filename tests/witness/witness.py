"""Real, independent tlog-witness witnesses for tests, run as subprocesses on
loopback ports chosen at run time, each with its own temporary database and
key.

- LiteWitness: `litewitness` + `witnessctl` from filippo.io/torchwood. Its
  Ed25519 key lives in a dedicated ssh-agent (as torchwood's README says);
  logs are registered with `witnessctl add-log` / `add-key`, which write the
  same SQLite database while litewitness runs (no restart needed).
- OmniWitness: `omniwitness` from github.com/transparency-dev/witness, key
  made by its `generate_keys`; logs come from an `--additional_logs` YAML
  file, read only at start, so `register` rewrites it and restarts.

Both expose: url, vkey (the cosigning key, C2SP vkey, type 0x04), register
(origin, log vkey), checkpoint(origin) (the monitoring GET of C2SP
tlog-witness, None when the witness answers 404: neither serves it), stop,
restart, cleanup. What they hold can still be read back:
- witness_view(url, signed checkpoint), for any witness: its size, and a
  fresh cosignature when it holds that very checkpoint (see the function);
- LiteWitness.latest(origin): size and root from its index page, and
  list_logs() through witnessctl (neither carries a signature);
- OmniWitness.distributed(origin): its stored cosigned checkpoint, as it
  pushes it to a REST distributor (a loopback stand-in here).

The binaries come from `make witness-tools` (.tools/, versioned names);
AUDITCHAIN_LITEWITNESS, AUDITCHAIN_WITNESSCTL, AUDITCHAIN_OMNIWITNESS and
AUDITCHAIN_OMNIWITNESS_KEYGEN override the paths. Usable on its own:

    with LiteWitness.started(Path(tmp)) as w:
        w.register("example.com/log", log_vkey)
        ... POST f"{w.url}/add-checkpoint" ...
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import c2sp

REPO = Path(__file__).resolve().parents[2]
TOOLS = REPO / ".tools"
START_TIMEOUT_S = 15
STOP_TIMEOUT_S = 10


def _tool(env: str, pattern: str) -> Path:
    """The binary named by $env, else the one `make witness-tools` installed
    (.tools/<pattern>); a clear error when neither exists."""
    if os.environ.get(env):
        return Path(os.environ[env])
    found = sorted(TOOLS.glob(pattern))
    if not found:
        raise FileNotFoundError(f"no {TOOLS / pattern}: run `make witness-tools` (or set {env})")
    return found[-1]


def litewitness_bin() -> Path:
    return _tool("AUDITCHAIN_LITEWITNESS", "litewitness-v*")


def witnessctl_bin() -> Path:
    return _tool("AUDITCHAIN_WITNESSCTL", "witnessctl-v*")


def omniwitness_bin() -> Path:
    return _tool("AUDITCHAIN_OMNIWITNESS", "omniwitness-v*")


def omniwitness_keygen_bin() -> Path:
    return _tool("AUDITCHAIN_OMNIWITNESS_KEYGEN", "omniwitness-generate_keys-v*")


# ---- processes --------------------------------------------------------------

def listening_ports(pid: int) -> list[int]:
    """TCP ports a process listens on, read from /proc: lets a server bind
    port 0 and tells us which port it got, with no race."""
    inodes = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    try:
        for fd in fd_dir.iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
    except OSError:
        return []
    ports = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as f:
            next(f)
            for line in f:
                cols = line.split()
                if cols[3] == "0A" and cols[9] in inodes:  # 0A: LISTEN
                    ports.append(int(cols[1].rsplit(":", 1)[1], 16))
    return sorted(set(ports))


def _tail(path: Path, n: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


def _http_get(url: str, timeout: float = 5) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()


def _wait_port(proc: subprocess.Popen, log: Path, what: str) -> int:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{_tail(log)}")
        ports = listening_ports(proc.pid)
        if ports:
            return ports[0]
        time.sleep(0.02)
    raise RuntimeError(f"{what} did not listen within {START_TIMEOUT_S}s:\n{_tail(log)}")


def _stop(proc: subprocess.Popen | None, sig: int = signal.SIGINT) -> int | None:
    if proc is None or proc.poll() is not None:
        return None if proc is None else proc.returncode
    proc.send_signal(sig)
    try:
        return proc.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(STOP_TIMEOUT_S)


def origin_hash(origin: str) -> str:
    """The <origin hash> path element of the monitoring API: lowercase hex
    SHA-256 of the origin line."""
    return hashlib.sha256(origin.encode()).hexdigest()


def _post(url: str, body: bytes, timeout: float = 10) -> tuple[int, str, bytes]:
    req = urllib.request.Request(url + "/add-checkpoint", data=body, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()


def witness_view(url: str, signed_checkpoint: bytes) -> tuple[int, bytes | None]:
    """What a witness holds for a log, asked by anyone who has one of the
    log's signed checkpoints (they are in the exports), with no key and no
    monitoring API: `old 0` draws a 409 with the witness's size (or a 200
    for a witness that never saw the log, which then cosigns it); when that
    size is the checkpoint's, resending with `old <size>` and no proof is
    answered with a fresh cosignature (same size, same root: nothing
    changes). Returns (witness size, cosignature lines or None)."""
    size = c2sp.parse_checkpoint(c2sp.split_note(signed_checkpoint)[0]).size
    status, ctype, body = _post(url, b"old 0\n\n" + signed_checkpoint)
    if status == 200:
        return size, body
    if status != 409 or ctype != "text/x.tlog.size":
        raise RuntimeError(f"add-checkpoint old 0: HTTP {status} {body[:200]!r}")
    held = int(body)
    if held != size:
        return held, None
    status, _, body = _post(url, b"old %d\n\n" % size + signed_checkpoint)
    if status != 200:
        raise RuntimeError(f"add-checkpoint old {size}: HTTP {status} {body[:200]!r}")
    return size, body


class _Witness:
    name: str
    url: str
    vkey: str
    proc: subprocess.Popen | None = None
    log: Path

    def checkpoint(self, origin: str) -> bytes | None:
        """GET <monitoring prefix>/<origin hash>/checkpoint (C2SP
        tlog-witness, "Monitor Retrieval Mechanism"): the witness's latest
        cosigned checkpoint, or None on 404."""
        status, _, body = _http_get(f"{self.url}/{origin_hash(origin)}/checkpoint")
        if status == 404:
            return None
        if status != 200:
            raise RuntimeError(f"GET checkpoint: HTTP {status}: {body[:200]!r}")
        return body

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


# ---- litewitness ------------------------------------------------------------

class LiteWitness(_Witness):
    """litewitness with a fresh ssh-agent holding a fresh Ed25519 key."""

    def __init__(self, work: Path, name: str = "example.com/auditchain-test-witness"):
        for tool in ("ssh-keygen", "ssh-agent", "ssh-add"):
            if not shutil.which(tool):
                raise FileNotFoundError(f"{tool} not found: litewitness keeps its key in ssh-agent (Debian package openssh-client)")
        self.work = Path(work)
        self.work.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.db = self.work / "litewitness.db"
        self.key = self.work / "witness_key"
        self.log = self.work / "litewitness.log"
        # A unix socket path has at most 107 bytes: keep it short, outside
        # pytest's long temporary paths.
        self._sockdir = Path(tempfile.mkdtemp(prefix="lw-", dir="/tmp"))
        self.sock = self._sockdir / "agent.sock"
        self.agent: subprocess.Popen | None = None
        self.url = ""
        self.vkey = ""
        self.fingerprint = ""
        if not self.key.exists():
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "litewitness", "-f", str(self.key)],
                           check=True, capture_output=True)

    @classmethod
    @contextlib.contextmanager
    def started(cls, work: Path, **kw):
        w = cls(work, **kw)
        try:
            w.start()
            yield w
        finally:
            w.stop()
            w.cleanup()

    def public_key(self) -> bytes:
        """The raw 32-byte Ed25519 key from the OpenSSH .pub file."""
        blob = base64.b64decode(self.key.with_suffix(".pub").read_text().split()[1])
        # string "ssh-ed25519", string key: each a 4-byte length and bytes
        n = int.from_bytes(blob[:4], "big")
        assert blob[4:4 + n] == b"ssh-ed25519"
        k = blob[8 + n:]
        assert len(k) == 32
        return k

    def _start_agent(self) -> None:
        if self.agent is not None and self.agent.poll() is None:
            return
        self.sock.unlink(missing_ok=True)
        # -D: foreground, so that this process is the agent and we can stop it.
        self.agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(self.sock)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.sock.exists():
            if self.agent.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("ssh-agent did not start")
            time.sleep(0.01)
        env = {**os.environ, "SSH_AUTH_SOCK": str(self.sock)}
        subprocess.run(["ssh-add", "-q", str(self.key)], env=env, check=True, capture_output=True)
        fp = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", str(self.key.with_suffix(".pub"))],
                            check=True, capture_output=True, text=True).stdout.split()[1]
        assert fp.startswith("SHA256:"), fp
        self.fingerprint = fp

    def start(self) -> float:
        """Starts (or restarts on the same database and key); returns the
        seconds until it served HTTP."""
        t0 = time.monotonic()
        self._start_agent()
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [str(litewitness_bin()), "-db", str(self.db), "-ssh-agent", str(self.sock), "-key", self.fingerprint,
             "-name", self.name, "-listen", "127.0.0.1:0"],
            stdout=logf, stderr=subprocess.STDOUT, cwd=self.work)
        logf.close()
        port = _wait_port(self.proc, self.log, "litewitness")
        self.url = f"http://127.0.0.1:{port}"
        status, _, _ = _http_get(self.url + "/")
        assert status == 200, f"litewitness index: HTTP {status}"
        logged = re.findall(r'msg="verifier key" vkey=(\S+)', self.log_text())
        self.vkey = logged[-1]
        # The key it says it cosigns with is the one we gave it.
        assert self.vkey == c2sp.cosig_vkey(self.name, self.public_key()), (self.vkey, self.public_key().hex())
        return time.monotonic() - t0

    def stop(self, sig: int = signal.SIGINT) -> int | None:
        """SIGINT: litewitness shuts its HTTP server down and exits 0 (it
        logs "shutting down"). SIGKILL to simulate a crash. The ssh-agent
        is kept for a restart; cleanup() ends it."""
        rc = _stop(self.proc, sig)
        self.proc = None
        return rc

    def restart(self) -> float:
        self.stop()
        return self.start()

    def cleanup(self) -> None:
        self.stop()
        _stop(self.agent, signal.SIGTERM)
        self.agent = None
        shutil.rmtree(self._sockdir, ignore_errors=True)

    def witnessctl(self, *args: str) -> str:
        r = subprocess.run([str(witnessctl_bin()), args[0], "-db", str(self.db), *args[1:]],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"witnessctl {' '.join(args)}: exit {r.returncode}: {r.stderr}")
        return r.stdout + r.stderr

    def register(self, origin: str, log_vkey: str) -> None:
        """As torchwood's README: `witnessctl add-log -origin O` (the log
        starts at size 0), then `witnessctl add-key -origin O -key VKEY`
        with the log's note verifier key (type 0x01, name == origin)."""
        self.witnessctl("add-log", "-origin", origin)
        self.witnessctl("add-key", "-origin", origin, "-key", log_vkey)

    def list_logs(self) -> dict[str, dict]:
        """`witnessctl list-logs`: origin -> {size, root_hash, keys}."""
        out = subprocess.run([str(witnessctl_bin()), "list-logs", "-db", str(self.db)],
                             capture_output=True, text=True, check=True).stdout
        return {d["origin"]: d for d in map(json.loads, out.splitlines())}

    def latest(self, origin: str) -> tuple[int, bytes] | None:
        """(size, root hash) litewitness holds for origin, from its HTML
        index page (GET /). litewitness stores only size and root, not the
        checkpoint nor its cosignature: this is all it can tell."""
        status, _, body = _http_get(self.url + "/")
        assert status == 200
        text = html.unescape(body.decode())
        m = re.search(r"^- " + re.escape(origin) + r"\n  \(size (\d+), root (\S+)\)$", text, re.M)
        if not m:
            return None
        return int(m.group(1)), base64.b64decode(m.group(2))


# ---- omniwitness ------------------------------------------------------------

class _Distributor(ThreadingHTTPServer):
    """A stand-in for omniwitness's REST distributor on loopback: keeps the
    last body PUT to /distributor/v0/logs/<log ID>/byWitness/<witness
    name>/checkpoint, where log ID = hex SHA-256("o:" || origin)."""

    daemon_threads = True

    def __init__(self):
        self.puts: dict[str, bytes] = {}
        self.cond = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                parts = urllib.parse.unquote(self.path).split("/")
                # ["", "distributor", "v0", "logs", ID, "byWitness", NAME..., "checkpoint"]
                with outer.cond:
                    if len(parts) > 6 and parts[1:4] == ["distributor", "v0", "logs"] and body:
                        outer.puts[parts[4]] = body
                    outer.cond.notify_all()
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


def omniwitness_log_id(origin: str) -> str:
    return hashlib.sha256(b"o:" + origin.encode()).hexdigest()


class OmniWitness(_Witness):
    """omniwitness with a SQLite database, no metrics listener, no bastion,
    no public witness network lists, and its REST distributor pointed at a
    loopback stand-in (_Distributor): nothing reaches outside the machine."""

    def __init__(self, work: Path, name: str = "example.com/auditchain-test-omniwitness"):
        self.work = Path(work)
        self.work.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.db = self.work / "omniwitness.db"
        self.skey = self.work / "witness.skey"
        self.vkey_file = self.work / "witness.vkey"
        self.logs_yaml = self.work / "logs.yaml"
        self.log = self.work / "omniwitness.log"
        self.logs: dict[str, str] = {}
        self.url = ""
        self.distributor: _Distributor | None = None
        if not self.skey.exists():
            subprocess.run([str(omniwitness_keygen_bin()), "--origin", name, "--out_priv", str(self.skey),
                            "--out_pub", str(self.vkey_file)], check=True, capture_output=True)
        self.vkey = self.vkey_file.read_text().strip()
        self._write_yaml()

    @classmethod
    @contextlib.contextmanager
    def started(cls, work: Path, **kw):
        w = cls(work, **kw)
        try:
            w.start()
            yield w
        finally:
            w.cleanup()

    def _write_yaml(self) -> None:
        # The same schema as omniwitness/logs.yaml (only Origin and PublicKey
        # matter; JSON strings are YAML strings).
        lines = ["Logs:"]
        for origin, vkey in self.logs.items():
            lines += [f"  - Origin: {json.dumps(origin)}", f"    PublicKey: {json.dumps(vkey)}"]
        if not self.logs:
            lines = ["Logs: []"]
        self.logs_yaml.write_text("\n".join(lines) + "\n")

    def start(self) -> float:
        t0 = time.monotonic()
        if self.distributor is None:
            self.distributor = _Distributor()
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [str(omniwitness_bin()), "--listen", "127.0.0.1:0", "--metrics_listen", "", "--db_file", str(self.db),
             "--private_key_path", str(self.skey), "--additional_logs", str(self.logs_yaml), "--logtostderr",
             # The default --distribute_rate_limit 0 ("disabled") builds a
             # limiter of rate 0: after the first log it waits forever.
             "--rest_distro_url", self.distributor.url, "--distribute_rate_limit", "1000"],
            stdout=logf, stderr=subprocess.STDOUT, cwd=self.work)
        logf.close()
        port = _wait_port(self.proc, self.log, "omniwitness")
        self.url = f"http://127.0.0.1:{port}"
        return time.monotonic() - t0

    def stop(self, sig: int = signal.SIGINT) -> int | None:
        """omniwitness installs no signal handler: SIGINT ends it at once
        (its SQLite commits came before each response)."""
        rc = _stop(self.proc, sig)
        self.proc = None
        return rc

    def cleanup(self) -> None:
        self.stop()
        if self.distributor is not None:
            self.distributor.shutdown()
            self.distributor.server_close()
            self.distributor = None

    def restart(self) -> float:
        self.stop()
        return self.start()

    def distributed(self, origin: str, timeout: float = 10) -> bytes:
        """The witness's own latest cosigned checkpoint for origin, as its
        distributor pushes it (the log's note with the witness's
        cosignature added). omniwitness pushes every log once at start,
        then every minute: this restarts it and waits for the push."""
        assert self.distributor is not None
        log_id = omniwitness_log_id(origin)
        with self.distributor.cond:
            self.distributor.puts.pop(log_id, None)
        self.restart()
        deadline = time.monotonic() + timeout
        with self.distributor.cond:
            while log_id not in self.distributor.puts:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError(f"omniwitness pushed no checkpoint for {origin}:\n{_tail(self.log)}")
                self.distributor.cond.wait(left)
            return self.distributor.puts[log_id]

    def register(self, origin: str, log_vkey: str) -> None:
        """Adds the log to --additional_logs and restarts (omniwitness reads
        that file once, at start, and copies it into its database)."""
        self.logs[origin] = log_vkey
        self._write_yaml()
        if self.proc is not None:
            self.restart()
