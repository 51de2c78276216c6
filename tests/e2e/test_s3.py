"""`auditchain verify s3://bucket/prefix` against an S3-compatible server
(issue 14, part 4): moto's server, started here with IAM authentication on,
holds a bucket with Object Lock enabled; the real collector's stamped,
signed stream is uploaded in the awss3exporter's layout (one export request
per object, `.json` and `.json.gz`), with retention and a legal hold on some
objects. The report read from the bucket must equal the report of the same
objects as local files; --show-retention shows what was set; a tampered
object is caught; credentials come from the environment (long-term and
temporary) and from a credentials file; wrong credentials are an input
error, never a pass.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import boto3
import grpc
import pytest
import requests
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc

from conftest import FIGURES
from harness import (
    VERIFIER,
    Collector,
    Verified,
    collector_config,
    compact,
    expect_fail,
    export_request_message,
    free_port,
    keygen,
    listening,
    log_record,
    tail,
)

BUCKET = "audit-archive"
PREFIX = "otel/audit"
REGION = "eu-west-1"
AS_OF = "2030-01-01T00:00:00Z"  # the stream ended cleanly: no heartbeat is due
RETAIN = "2031-01-01T00:00:00Z"


@pytest.fixture(scope="module")
def stamped(tmp_path_factory):
    """The real collector's file output: a signed stream of 60 records in 12
    batches, stopped cleanly. Returns (export lines, public key file)."""
    work = tmp_path_factory.mktemp("s3-collector")
    keys = keygen(name="e2e-s3", out_dir=work / "keys")
    ports = [free_port(), free_port(), free_port()]
    cfg = collector_config(work, *ports, stream_name="e2e-s3")
    cfg["processors"]["auditchain"].update({"signing_key_file": str(keys["sign"]), "checkpoint": {"records": 25}, "log": {"format_version": 1}})
    config = work / "config.yaml"
    config.write_text(json.dumps(cfg))
    c = Collector(config, work / "collector.log", cwd=work)
    c.start(ports[:2])
    channel = grpc.insecure_channel(f"127.0.0.1:{ports[0]}")
    stub = logs_service_pb2_grpc.LogsServiceStub(channel)
    try:
        for b in range(12):
            recs = [log_record(f"archived {b * 5 + i}", {"audit.action": "s3.put", "e2e.n": b * 5 + i}, time.time_ns()) for i in range(5)]
            stub.Export(export_request_message(recs, "e2e.s3.client", "e2e.audit"), timeout=10)
    finally:
        channel.close()
        assert c.stop() == 0, tail(c.log)
    lines = [l for l in (work / "data" / "audit.jsonl").read_text().splitlines() if l.strip()]
    assert len(lines) >= 12
    return lines, keys["pub"]


def object_key(i: int, t: dt.datetime, gz: bool) -> str:
    """The awss3exporter's key: <prefix>/year=%Y/month=%m/day=%d/hour=%H/minute=%M/<file_prefix>logs_<random>.json[.gz]"""
    return f"{PREFIX}/{t:year=%Y/month=%m/day=%d/hour=%H/minute=%M}/audit_logs_{i:03d}{secrets.token_hex(4)}.json" + (".gz" if gz else "")


class Moto:
    def __init__(self, work: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(work / "moto.log", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "MOTO_ALLOW_NONEXISTENT_REGION": "true"},
        )
        deadline = time.monotonic() + 30
        while not listening(self.port):
            assert self.proc.poll() is None and time.monotonic() < deadline, "moto server did not start"
            time.sleep(0.1)

    def client(self, service: str, key_id="setup", secret="setup", token=None):
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
            aws_session_token=token,
        )

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log.close()


@pytest.fixture(scope="module")
def store(stamped, tmp_path_factory):
    """The bucket, the same objects as local files, and the credentials."""
    lines, pub = stamped
    work = tmp_path_factory.mktemp("s3")
    moto = Moto(work)
    iam, sts = moto.client("iam"), moto.client("sts")
    allow = lambda actions: json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]})
    creds = {}
    for user, actions in [("auditor", ["s3:*"])]:
        iam.create_user(UserName=user)
        iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=allow(actions))
        k = iam.create_access_key(UserName=user)["AccessKey"]
        creds[user] = (k["AccessKeyId"], k["SecretAccessKey"])
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName="audit-verify", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    iam.put_role_policy(RoleName="audit-verify", PolicyName="p", PolicyDocument=allow(["s3:*"]))
    t = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="verify")["Credentials"]
    creds["session"] = (t["AccessKeyId"], t["SecretAccessKey"], t["SessionToken"])

    s3 = moto.client("s3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}, ObjectLockEnabledForBucket=True)
    local = work / "local"
    t0 = dt.datetime(2026, 11, 22, 3, 58, tzinfo=dt.timezone.utc)
    keys = []
    for i, line in enumerate(lines):
        gz = i % 2 == 1
        key = object_key(i, t0 + dt.timedelta(minutes=i // 3), gz)
        body = gzip.compress(line.encode() + b"\n") if gz else line.encode() + b"\n"
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        (local / key).parent.mkdir(parents=True, exist_ok=True)
        (local / key).write_bytes(body)
        keys.append(key)
    until = dt.datetime.fromisoformat(RETAIN.replace("Z", "+00:00"))
    retention = {}
    for i, key in enumerate(keys):
        if i % 3 == 2:
            continue  # no retention
        mode = "COMPLIANCE" if i % 3 == 0 else "GOVERNANCE"
        s3.put_object_retention(Bucket=BUCKET, Key=key, Retention={"Mode": mode, "RetainUntilDate": until})
        retention[key] = mode
    s3.put_object_legal_hold(Bucket=BUCKET, Key=keys[0], LegalHold={"Status": "ON"})
    # From here on every request must be signed by a known key.
    requests.post(f"{moto.url}/moto-api/reset-auth", data=b"0", timeout=10).raise_for_status()
    home = work / "home"
    home.mkdir()
    yield dict(moto=moto, creds=creds, keys=keys, retention=retention, local=local, pub=pub, home=home, work=work)
    moto.stop()


def run_verify(store, *args, env=None, fmt="json"):
    """auditchain verify with a bare environment: HOME without ~/.aws, no
    AWS variables but those given."""
    base = {"PATH": "/usr/bin:/bin", "HOME": str(store["home"])}
    p = subprocess.run(
        [str(VERIFIER), "verify", "--format", fmt, "--as-of", AS_OF, "--public-key", str(store["pub"]), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**base, **(env or {})},
    )
    report = json.loads(p.stdout) if fmt == "json" and p.stdout.strip() else None
    return p, report


def env_keys(store, user="auditor"):
    c = store["creds"][user]
    e = {"AWS_ACCESS_KEY_ID": c[0], "AWS_SECRET_ACCESS_KEY": c[1], "AWS_REGION": REGION}
    if len(c) > 2:
        e["AWS_SESSION_TOKEN"] = c[2]
    return e


def s3_url():
    return f"s3://{BUCKET}/{PREFIX}"


def renamed(report: dict, store) -> dict:
    """The report with s3:// object names written as the local copies' paths."""
    text = json.dumps(report).replace(f"s3://{BUCKET}/", f"{store['local']}/")
    return json.loads(text)


def test_the_report_from_the_bucket_equals_the_local_report(store):
    p, local = run_verify(store, store["local"])
    assert p.returncode == 0, p.stdout + p.stderr
    p, remote = run_verify(store, s3_url(), "--endpoint-url", store["moto"].url, env=env_keys(store))
    assert p.returncode == 0, p.stdout + p.stderr
    assert remote["verdict"] == "pass" and remote["inputs"]["files"] == len(store["keys"])
    assert renamed(remote, store) == local
    # Several ListObjectsV2 pages give the same report.
    p, paged = run_verify(store, s3_url(), "--endpoint-url", store["moto"].url, "--s3-max-keys", "2", env=env_keys(store))
    assert p.returncode == 0 and paged == remote, p.stdout + p.stderr
    human, _ = run_verify(store, s3_url(), "--endpoint-url", store["moto"].url, env=env_keys(store), fmt="human")
    FIGURES["s3 verify (human)"] = "\n" + human.stdout.rstrip()


def test_credentials_from_a_file_and_temporary_ones_from_the_environment(store):
    creds_file = store["work"] / "aws-credentials"
    a = store["creds"]["auditor"]
    creds_file.write_text(f"[default]\naws_access_key_id = wrong\naws_secret_access_key = wrong\n\n[audit]\naws_access_key_id = {a[0]}\naws_secret_access_key = {a[1]}\n")
    config_file = store["work"] / "aws-config"
    config_file.write_text(f"[profile audit]\nregion = {REGION}\n")
    env = {"AWS_SHARED_CREDENTIALS_FILE": str(creds_file), "AWS_CONFIG_FILE": str(config_file), "AWS_PROFILE": "audit"}
    p, r = run_verify(store, s3_url(), "--endpoint-url", store["moto"].url, env=env)
    assert p.returncode == 0 and r["verdict"] == "pass", p.stdout + p.stderr
    # ~/.aws/credentials itself, through HOME.
    aws = store["home"] / ".aws"
    aws.mkdir(exist_ok=True)
    (aws / "credentials").write_text(f"[default]\naws_access_key_id = {a[0]}\naws_secret_access_key = {a[1]}\n")
    p, r = run_verify(store, s3_url(), "--endpoint-url", store["moto"].url, env={"AWS_DEFAULT_REGION": REGION})
    (aws / "credentials").unlink()
    assert p.returncode == 0 and r["verdict"] == "pass", p.stdout + p.stderr
    # Temporary credentials (an assumed role): AWS_SESSION_TOKEN is sent.
    p, r = run_verify(store, s3_url(), "--endpoint-url", store["moto"].url, env=env_keys(store, "session"))
    assert p.returncode == 0 and r["verdict"] == "pass", p.stdout + p.stderr
    # Wrong secret, unknown key, or none at all: an input error, exit 2.
    wrong = {**env_keys(store), "AWS_SECRET_ACCESS_KEY": "not-the-secret"}
    for env, expected in [(wrong, "SignatureDoesNotMatch"), ({**wrong, "AWS_ACCESS_KEY_ID": "AKIAUNKNOWN0000000000"}, "InvalidAccessKeyId"), ({}, "no AWS credentials")]:
        p, r = run_verify(store, s3_url(), "--endpoint-url", store["moto"].url, env=env)
        assert p.returncode == 2, p.stdout + p.stderr
        assert r["verdict"] != "pass" or r["inputs"]["records"] == 0, r
        assert any(expected in e["message"] and e["file"] == s3_url() for e in r["errors"]), r["errors"]


def test_show_retention(store):
    p, r = run_verify(store, s3_url(), "--endpoint-url", store["moto"].url, "--show-retention", env=env_keys(store))
    assert p.returncode == 0, p.stdout + p.stderr
    objects = {o["object"]: o for o in r["objects"]}
    assert len(objects) == len(store["keys"])
    for i, key in enumerate(store["keys"]):
        o = objects[f"s3://{BUCKET}/{key}"]
        assert o["mode"] == store["retention"].get(key), o
        assert (o["retain_until"] is not None) == (key in store["retention"]), o
        assert o["legal_hold"] == ("ON" if i == 0 else o["legal_hold"]), o
        assert "problem" not in o, o
    p, _ = run_verify(store, s3_url(), "--endpoint-url", store["moto"].url, "--show-retention", env=env_keys(store), fmt="human")
    table = p.stdout[p.stdout.index("Object Lock retention") :]
    assert "COMPLIANCE until" in table and "GOVERNANCE until" in table and "no retention" in table and "legal hold ON" in table, table
    FIGURES["s3 --show-retention"] = "\n" + "\n".join(table.splitlines()[:5])
    # (The case of a reader without s3:GetObjectRetention, where AWS sends
    # no lock headers and GetObjectRetention answers 403, is not testable
    # here: moto sends the headers to anyone and answers 404.)


def test_a_tampered_object_is_caught(store):
    a = store["creds"]["auditor"]
    s3 = store["moto"].client("s3", a[0], a[1])
    key = store["keys"][4]  # an uncompressed one, in the middle of the stream
    original = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    req = json.loads(original)
    rec = req["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]
    rec["body"]["stringValue"] += " (edited)"
    s3.put_object(Bucket=BUCKET, Key=key, Body=compact(req).encode() + b"\n")
    try:
        p, r = run_verify(store, s3_url(), "--endpoint-url", store["moto"].url, env=env_keys(store))
        report = expect_fail(Verified(p.returncode, r, p.stdout, p.stderr))
        found = [f for s in report["streams"] for f in s["findings"] if f["kind"] == "content_mismatch"]
        assert found and found[0]["locations"][0]["file"] == f"s3://{BUCKET}/{key}", json.dumps(report)[:3000]
    finally:
        s3.put_object(Bucket=BUCKET, Key=key, Body=original)
    p, r = run_verify(store, s3_url(), "--endpoint-url", store["moto"].url, env=env_keys(store))
    assert p.returncode == 0, p.stdout
