"""Checkpoints signed in hardware, end to end (issue 14, part 3): a SoftHSM2
token in a temporary SOFTHSM2_CONF directory holds an Ed25519 key pair made
by pkcs11-tool (sensitive, never extractable); the real collector signs its
checkpoints through PKCS#11 with `signing_key: {pkcs11: ...}`; the public
key comes off the token with `auditchain pkcs11-pubkey`; every checkpoint
opens with golang.org/x/mod/sumdb/note (tests/e2e/noteopen) and `auditchain
verify --public-key` passes the stream. Configuration mistakes are refused
by the collector with messages naming the key.

Needs softhsm2 and opensc (pkcs11-tool), which .ci/run installs; without
them the tests skip, except in CI (CI set), where they fail.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import grpc
import pytest
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc

from conftest import FIGURES
from harness import (
    REPO,
    STREAM_EVENT,
    VERIFIER,
    Collector,
    by_sequence,
    collector_config,
    expect_fail,
    expect_pass,
    export_request_message,
    free_port,
    log_record,
    only_stream,
    tail,
    validate,
    verify,
)

TOKEN = "e2e-audit"
KEY = "e2e-hsm-sign"
USER_PIN = "8642"
NOTEOPEN = Path(os.environ.get("AUDITCHAIN_NOTEOPEN", REPO / "build" / "e2e" / "noteopen"))
MODULES = ["/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"]


def softhsm_module() -> Path | None:
    env = os.environ.get("AUDITCHAIN_PKCS11_MODULE")
    found = [Path(p) for p in ([env] if env else MODULES) if Path(p).exists()]
    return found[0] if found else None


def run(args, env) -> str:
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=60, env={**os.environ, **env})
    assert p.returncode == 0, f"{args}: exit {p.returncode}\n{p.stdout}\n{p.stderr}"
    return p.stdout


class Token:
    """A SoftHSM2 token with one Ed25519 key pair, in its own directory."""

    def __init__(self, work: Path, module: Path):
        self.module = module
        (work / "tokens").mkdir()
        self.conf = work / "softhsm2.conf"
        self.conf.write_text(f"directories.tokendir = {work / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
        self.env = {"SOFTHSM2_CONF": str(self.conf)}
        run(["softhsm2-util", "--init-token", "--free", "--label", TOKEN, "--so-pin", "97531", "--pin", USER_PIN], self.env)
        self.tool("--keypairgen", "--key-type", "EC:edwards25519", "--label", KEY)
        self.pin_file = work / "user.pin"
        self.pin_file.write_text(USER_PIN + "\n")
        self.pin_file.chmod(0o600)

    def tool(self, *args) -> str:
        return run(["pkcs11-tool", "--module", self.module, "--token-label", TOKEN, "--login", "--pin", USER_PIN, *args], self.env)

    def pkcs11(self, **override) -> dict:
        return {
            "module": str(self.module),
            "token_label": TOKEN,
            "key_label": KEY,
            "pin_file": str(self.pin_file),
            **override,
        }


@pytest.fixture(scope="module")
def token(tmp_path_factory) -> Token:
    module = softhsm_module()
    missing = [t for t in ("softhsm2-util", "pkcs11-tool") if shutil.which(t) is None]
    if module is None or missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs SoftHSM2 and pkcs11-tool (.ci/run installs softhsm2 and opensc): missing {missing or 'libsofthsm2.so'}")
        pytest.skip("SoftHSM2 or pkcs11-tool not installed (Debian: softhsm2, opensc)")
    return Token(tmp_path_factory.mktemp("softhsm"), module)


def hsm_config(work: Path, token: Token, grpc_port: int, http_port: int, metrics: int, **pkcs11) -> dict:
    cfg = collector_config(work, grpc_port, http_port, metrics, stream_name="e2e-hsm")
    cfg["processors"]["auditchain"].update(
        {
            "signing_key": {"pkcs11": token.pkcs11(**pkcs11)},
            "checkpoint": {"records": 20, "interval": "2s", "file": str(work / "checkpoints.jsonl")},
            "log": {"format_version": 1},  # version 1 streams (SPEC §5.3)
        }
    )
    return cfg


@pytest.fixture(scope="module")
def signed(token, tmp_path_factory):
    """The collector signing on the token: 100 records in 10 batches, an idle
    pause for a heartbeat checkpoint, then a clean stop."""
    work = tmp_path_factory.mktemp("hsm-collector")
    ports = [free_port(), free_port(), free_port()]
    config = work / "config.yaml"
    config.write_text(json.dumps(hsm_config(work, token, *ports), indent=2))
    collector = Collector(config, work / "collector.log", cwd=work, env=token.env)
    collector.start(ports[:2])
    channel = grpc.insecure_channel(f"127.0.0.1:{ports[0]}")
    stub = logs_service_pb2_grpc.LogsServiceStub(channel)
    try:
        for b in range(10):
            recs = [
                log_record(f"hsm-signed {b * 10 + i}", {"audit.action": "key.use", "e2e.n": b * 10 + i}, time.time_ns())
                for i in range(10)
            ]
            stub.Export(export_request_message(recs, "e2e.hsm.client", "e2e.audit"), timeout=10)
        time.sleep(3)  # idle: a heartbeat checkpoint signed by the ticker
    finally:
        channel.close()
        rc = collector.stop()
    assert rc == 0, tail(collector.log)
    lines = [l for l in (work / "data" / "audit.jsonl").read_text().splitlines() if l.strip()]
    return work, lines, by_sequence(lines), collector.log


def key_id(vkey: str) -> str:
    """<name>+<hash> of a verifier key <name>+<hash>+<base64> (which may hold '+')."""
    return "+".join(vkey.split("+")[:2])


def public_key(token: Token, out: Path) -> Path:
    """`auditchain pkcs11-pubkey`, saved as a .pub file."""
    vkey = run([VERIFIER, "pkcs11-pubkey", "--module", token.module, "--token-label", TOKEN, "--key-label", KEY], token.env)
    out.write_text(vkey)
    return out


def test_the_private_key_cannot_leave_the_token(token):
    objects = token.tool("--list-objects", "--type", "privkey")
    assert f"label:      {KEY}" in objects, objects
    assert "never extractable" in objects and "sensitive" in objects, objects


def test_checkpoints_signed_on_the_token_open_with_x_mod_sumdb_note(token, signed):
    work, lines, records, log = signed
    pub = public_key(token, work / f"{KEY}.pub")
    vkey = pub.read_text().strip()
    assert vkey.startswith(f"{KEY}+"), vkey
    notes = {n: r["rec"]["body"]["stringValue"] for n, r in records.items() if r["attrs"].get(STREAM_EVENT) == "checkpoint"}
    # 100 records at 20 per checkpoint, the heartbeat, and the final one.
    assert len(notes) >= 6, len(notes)
    start = records[1]["attrs"]
    assert start["audit.stream.signer"] == key_id(vkey), start
    files = []
    for n, body in sorted(notes.items()):
        p = work / f"note-{n}.txt"
        p.write_text(body)
        files.append(p)
    out = run([NOTEOPEN, "-key", vkey, *files], {})
    opened = out.splitlines()
    assert len(opened) == len(files) and all(f"opened by {key_id(vkey)}" in l for l in opened), out
    FIGURES["hsm checkpoints opened by x/mod/sumdb/note"] = f"{len(opened)}; e.g. {Path(opened[-1].split(':')[0]).name}:{opened[-1].split(':', 1)[1]}"
    # The checkpoint file's copies open the same way.
    shipped = [json.loads(l)["note"] for l in (work / "checkpoints.jsonl").read_text().splitlines()]
    assert sorted(shipped) == sorted(notes.values())
    # An altered note does not open.
    bad = work / "note-altered.txt"
    text = min(notes.items())[1].split("\n")
    text[1] = str(int(text[1]) + 1)
    bad.write_text("\n".join(text))
    p = subprocess.run([str(NOTEOPEN), "-key", vkey, str(bad)], capture_output=True, text=True, timeout=30)
    assert p.returncode == 1 and "invalid signature" in p.stdout, p.stdout + p.stderr


def test_the_stream_verifies_with_the_tokens_public_key(token, signed):
    work, lines, records, _ = signed
    pub = public_key(token, work / "verify.pub")
    report = expect_pass(verify(work / "data", work / "checkpoints.jsonl", public_keys=[pub]))
    s = only_stream(report)
    assert s["ended"] and s["checkpoints"] >= 6 and s["signers"] == [key_id(pub.read_text().strip())], s
    # Without the key, the signed stream cannot pass; with another key it fails.
    other = work / "other"
    run([VERIFIER, "keygen", "--name", KEY, "--out-dir", other], {})
    expect_fail(verify(work / "data", public_keys=[other / f"{KEY}.pub"]))


def test_mistakes_are_refused_naming_the_key(token, tmp_path):
    ports = [free_port(), free_port(), free_port()]
    # Validation (no start): both kinds of signing key at once.
    cfg = hsm_config(tmp_path, token, *ports)
    cfg["processors"]["auditchain"]["signing_key_file"] = str(tmp_path / "x.sign.key")
    config = tmp_path / "both.yaml"
    config.write_text(json.dumps(cfg))
    v = validate(config, cwd=tmp_path, env=token.env)
    assert v.returncode != 0 and "signing_key: signing_key and signing_key_file are mutually exclusive" in v.stdout + v.stderr, v.stdout + v.stderr
    # At start: a wrong PIN, and a PIN file others can read.
    wrong = tmp_path / "wrong.pin"
    wrong.write_text("0000\n")
    wrong.chmod(0o600)
    loose = tmp_path / "loose.pin"
    loose.write_text(USER_PIN + "\n")
    loose.chmod(0o644)
    for pin, expected in [(wrong, "signing_key.pkcs11.pin_file: cannot log in to the token"), (loose, "is readable by group or others")]:
        config = tmp_path / f"{pin.stem}.yaml"
        config.write_text(json.dumps(hsm_config(tmp_path, token, *ports, pin_file=str(pin))))
        c = Collector(config, tmp_path / f"{pin.stem}.log", cwd=tmp_path, env=token.env)
        with pytest.raises(AssertionError, match="exited"):
            c.start(ports[:2])
        c.stop() if c.proc and c.proc.poll() is None else c._logf.close()
        assert expected in c.log.read_text(), tail(c.log)
