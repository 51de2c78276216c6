"""Every helper the end-to-end tests, the crash test and the benchmark
share, in one place: where the binaries are, free ports, the collector as a
subprocess, its configurations, keys, the verifier and its report, OTLP
requests, and reading and editing what the file exporter wrote (one OTLP/JSON
ExportLogsServiceRequest per line)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COLLECTOR = Path(os.environ.get("AUDITCHAIN_COLLECTOR", REPO / "bin" / "otelcol-audit"))
VERIFIER = Path(os.environ.get("AUDITCHAIN_CLI", REPO / "target" / "release" / "auditchain"))
DISTRIBUTION = REPO / "distribution"

STREAM_NAME = "e2e-gateway"
START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 60

# Attribute names (docs/SPEC.md).
SEQ = "audit.sequence.number"
STREAM_ID = "audit.sequence.stream_id"
SEQ_END = "audit.sequence.end"
INTEGRITY = "audit.integrity.value"
STREAM_EVENT = "audit.stream.event"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def tail(path: Path, n: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


def rfc3339(t: float) -> str:
    """Unix seconds -> 2026-11-22T05:00:00.123456Z"""
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --------------------------------------------------------------------------
# the exported files: OTLP/JSON requests, one per line


def any_value(v: dict):
    """OTLP/JSON AnyValue -> Python value."""
    if v is None:
        return None
    if "stringValue" in v:
        return v["stringValue"]
    if "intValue" in v:
        return int(v["intValue"])
    if "boolValue" in v:
        return v["boolValue"]
    if "doubleValue" in v:
        return v["doubleValue"]
    if "arrayValue" in v:
        return [any_value(x) for x in v["arrayValue"].get("values", [])]
    if "kvlistValue" in v:
        return {kv["key"]: any_value(kv.get("value")) for kv in v["kvlistValue"].get("values", [])}
    if "bytesValue" in v:
        return v["bytesValue"]
    return None


def attributes(obj: dict) -> dict:
    return {kv["key"]: any_value(kv.get("value")) for kv in obj.get("attributes", [])}


def find_attr(record: dict, key: str) -> dict:
    for kv in record.get("attributes", []):
        if kv["key"] == key:
            return kv
    raise KeyError(key)


def seq_of(rec: dict) -> int | None:
    """A record's audit.sequence.number (None when unstamped)."""
    return attributes(rec).get(SEQ)


def compact(obj) -> str:
    """JSON as the file exporter writes it: compact, UTF-8."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def write_lines(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(l + "\n" for l in lines), encoding="utf-8")
    return path


def iter_records(lines: list[str]):
    """(line index, resource logs, scope logs, record) in file order."""
    for li, line in enumerate(lines):
        req = json.loads(line)
        for rl in req.get("resourceLogs", []):
            for sl in rl.get("scopeLogs", []):
                for rec in sl.get("logRecords", []):
                    yield li, rl, sl, rec


def by_sequence(lines: list[str]) -> dict[int, dict]:
    """Sequence number -> {"rec", "rl", "sl", "attrs", "line"}, for an export
    of one stream in which every number occurs once."""
    out = {}
    for li, rl, sl, rec in iter_records(lines):
        a = attributes(rec)
        n = a[SEQ]
        assert n not in out, f"sequence {n} twice in the clean export"
        out[n] = {"rec": rec, "rl": rl, "sl": sl, "attrs": a, "line": li}
    return out


@dataclasses.dataclass
class Ref:
    """Where one log record sits in the export."""

    line: int  # 0-based line index
    rl: int
    sl: int
    lr: int
    sequence: int | None
    stream_id: str | None
    control: str | None  # value of audit.stream.event, None for client records
    attrs: dict
    body: object


class Export:
    """The parsed lines of one or more exported files, in file order."""

    def __init__(self, lines: list[str]):
        self.lines = lines
        self.requests = [json.loads(l) for l in lines]

    @classmethod
    def read(cls, paths) -> "Export":
        lines: list[str] = []
        for p in paths:
            lines += [l for l in Path(p).read_text(encoding="utf-8").splitlines() if l.strip()]
        return cls(lines)

    def refs(self) -> list[Ref]:
        out = []
        for li, req in enumerate(self.requests):
            for ri, rl in enumerate(req.get("resourceLogs", [])):
                for si, sl in enumerate(rl.get("scopeLogs", [])):
                    for ki, rec in enumerate(sl.get("logRecords", [])):
                        a = attributes(rec)
                        out.append(
                            Ref(li, ri, si, ki, a.get(SEQ), a.get(STREAM_ID), a.get(STREAM_EVENT), a, any_value(rec.get("body")))
                        )
        return out

    def client_refs(self) -> list[Ref]:
        """The clients' records (not the engine's control records), by sequence."""
        return sorted((r for r in self.refs() if r.control is None), key=lambda r: r.sequence)

    def record(self, ref: Ref) -> dict:
        return self.requests[ref.line]["resourceLogs"][ref.rl]["scopeLogs"][ref.sl]["logRecords"][ref.lr]

    def records_in_line(self, line: int) -> int:
        return sum(1 for r in self.refs() if r.line == line)

    def serialise_line(self, line: int) -> str:
        """Re-serialise one edited request (compact, like the exporter)."""
        return compact(self.requests[line])

    def write(self, path: Path, lines: list[str] | None = None) -> Path:
        return write_lines(path, self.lines if lines is None else lines)


# --------------------------------------------------------------------------
# OTLP requests, built with the opentelemetry-proto messages


def kv(key: str, value):
    """An OTLP KeyValue; bool, int, float or (anything else) string."""
    from opentelemetry.proto.common.v1 import common_pb2

    if isinstance(value, bool):
        v = common_pb2.AnyValue(bool_value=value)
    elif isinstance(value, int):
        v = common_pb2.AnyValue(int_value=value)
    elif isinstance(value, float):
        v = common_pb2.AnyValue(double_value=value)
    else:
        v = common_pb2.AnyValue(string_value=str(value))
    return common_pb2.KeyValue(key=key, value=v)


def log_record(body: str, attrs: dict, t_ns: int):
    """An INFO LogRecord with a string body, timestamp and observed
    timestamp t_ns, and the given attributes (in their order)."""
    from opentelemetry.proto.common.v1 import common_pb2
    from opentelemetry.proto.logs.v1 import logs_pb2

    return logs_pb2.LogRecord(
        time_unix_nano=t_ns,
        observed_time_unix_nano=t_ns,
        severity_number=logs_pb2.SEVERITY_NUMBER_INFO,
        severity_text="INFO",
        body=common_pb2.AnyValue(string_value=body),
        attributes=[kv(k, v) for k, v in attrs.items()],
    )


def export_request_message(records, service: str, scope: str):
    """One ExportLogsServiceRequest holding `records` (LogRecord messages)
    under one resource (service.name = service) and one scope."""
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
    from opentelemetry.proto.common.v1 import common_pb2
    from opentelemetry.proto.logs.v1 import logs_pb2
    from opentelemetry.proto.resource.v1 import resource_pb2

    return logs_service_pb2.ExportLogsServiceRequest(
        resource_logs=[
            logs_pb2.ResourceLogs(
                resource=resource_pb2.Resource(attributes=[kv("service.name", service)]),
                scope_logs=[logs_pb2.ScopeLogs(scope=common_pb2.InstrumentationScope(name=scope), log_records=records)],
            )
        ]
    )


def export_request(records, service: str, scope: str) -> bytes:
    """export_request_message(...), serialised (for raw gRPC senders)."""
    return export_request_message(records, service, scope).SerializeToString()


# --------------------------------------------------------------------------
# the collector


def collector_env(home: Path, extra: dict | None = None) -> dict:
    """A bare environment: no LD_LIBRARY_PATH, no Rust toolchain on PATH; the
    binary carries the Rust core statically."""
    return {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8", **(extra or {})}


def config_args(config) -> list[str]:
    """--config arguments: one path, or a list of config sources (paths,
    or `yaml:key::path: value` overrides, applied in order)."""
    sources = [config] if isinstance(config, (str, Path)) else list(config)
    return [a for s in sources for a in ("--config", str(s))]


def validate(config, *, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """`otelcol-audit validate --config ...`: loads and validates the
    configuration without starting anything."""
    return subprocess.run(
        [str(COLLECTOR), "validate", *config_args(config)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env=collector_env(cwd, env),
    )


class Collector:
    def __init__(
        self,
        config,
        log: Path,
        cwd: Path,
        *,
        env: dict | None = None,
        binary: Path | None = None,
        extra_args: list[str] = (),
    ):
        """`config` is one path or a list of config sources (see
        config_args); `env` is added to the bare environment."""
        self.config, self.log, self.cwd, self.env = config, log, cwd, env
        self.binary = binary or COLLECTOR
        self.extra_args = list(extra_args)
        self.proc: subprocess.Popen | None = None
        self._logf = None

    def start(self, ports: list[int]) -> float:
        self._logf = open(self.log, "wb")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [str(self.binary), *config_args(self.config), *self.extra_args],
            cwd=self.cwd,
            stdout=self._logf,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=collector_env(self.cwd, self.env),
        )
        deadline = t0 + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"collector exited with {self.proc.returncode} at start:\n{tail(self.log)}")
            if all(listening(p) for p in ports):
                return time.monotonic() - t0
            time.sleep(0.1)
        self.kill()
        raise AssertionError(f"collector not listening on {ports} after {START_TIMEOUT_S}s:\n{tail(self.log)}")

    def stop(self) -> int:
        """SIGTERM: the clean shutdown that ends the stream."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"collector did not stop within {STOP_TIMEOUT_S}s of SIGTERM:\n{tail(self.log)}")
        finally:
            self._logf.close()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def crash(collector: Collector) -> int | None:
    """SIGKILL the collector (no shutdown of any kind), reap it and close its
    log. Returns its exit status (-9), or None if it was not running."""
    if collector.proc is None:
        return None
    if collector.proc.poll() is None:
        collector.proc.send_signal(signal.SIGKILL)
    rc = collector.proc.wait(timeout=10)
    if collector._logf is not None and not collector._logf.closed:
        collector._logf.close()
    return rc


# --------------------------------------------------------------------------
# collector configurations (JSON, which every YAML parser reads)


def telemetry(metrics: int) -> dict:
    """The collector's own telemetry: info logs, Prometheus metrics pulled
    from 127.0.0.1:`metrics` (read with `scrape`)."""
    return {
        "logs": {"level": "info"},
        "metrics": {"readers": [{"pull": {"exporter": {"prometheus": {"host": "127.0.0.1", "port": metrics}}}}]},
    }


def file_exporter(path: Path) -> dict:
    """The file exporter as distribution/config.yaml configures it (see the
    comments there): OTLP/JSON lines, every export in the file before the
    exporter returns (rotation mode: no in-memory buffer), never truncating
    and never deleting a file."""
    return {
        "path": str(path),
        "format": "json",
        "create_directory": True,
        "rotation": {"max_megabytes": 100, "max_backups": 0, "max_days": 0},
    }


def collector_config(
    work: Path,
    grpc: int,
    http: int,
    metrics: int,
    *,
    auditchain: bool = True,
    sink: str = "file",
    stream_name: str = STREAM_NAME,
) -> dict:
    """The e2e pipeline: OTLP in, memory_limiter + auditchain, OTLP/JSON file
    out (sink "file"), or a debug exporter that prints nothing per record
    (sink "discard", for measuring the pipeline without file I/O)."""
    exporters = {
        "file": {"file/audit": file_exporter(work / "data" / "audit.jsonl")},
        "discard": {"debug/discard": {"verbosity": "basic", "sampling_initial": 1, "sampling_thereafter": 1000000}},
    }[sink]
    processors = {"memory_limiter": {"check_interval": "1s", "limit_percentage": 80, "spike_limit_percentage": 20}}
    if auditchain:
        processors["auditchain"] = {
            "stream_name": stream_name,
            "state": {"directory": str(work / "state")},
            "on_error": "reject",
        }
    return {
        "receivers": {
            "otlp": {
                "protocols": {
                    "grpc": {"endpoint": f"127.0.0.1:{grpc}", "max_recv_msg_size_mib": 64},
                    "http": {"endpoint": f"127.0.0.1:{http}"},
                }
            }
        },
        "processors": processors,
        "exporters": exporters,
        "service": {
            "pipelines": {
                "logs/audit": {
                    "receivers": ["otlp"],
                    "processors": list(processors),
                    "exporters": list(exporters),
                }
            },
            "telemetry": telemetry(metrics),
        },
    }


def gateway_config(
    *,
    grpc: int,
    metrics: int,
    store_grpc: int,
    state_dir: Path,
    queue_dir: Path,
    keys: dict[str, Path],
    stream_name: str = "crash-gateway",
    checkpoint_interval: str = "2s",
    key_epoch: dict | None = None,
    num_consumers: int = 4,
) -> dict:
    """distribution/examples/gateway.yaml with free ports and given
    directories, keyed (key_file) and signed (signing_key_file): OTLP/gRPC in,
    memory_limiter + auditchain, otlp_grpc out to the store through a
    persistent sending queue on file_storage (fsync on), retrying forever.
    The retry intervals are shorter than the example's (1s..30s) so that the
    test's bounded waits stay short; the store never refuses in the test."""
    auditchain = {
        "stream_name": stream_name,
        "state": {"directory": str(state_dir)},
        "on_error": "reject",
        "key_file": str(keys["chain"]),
        "signing_key_file": str(keys["sign"]),
        "checkpoint": {"interval": checkpoint_interval},
        "log": {"format_version": 1},  # version 1 streams (SPEC §5.3)
    }
    if key_epoch:
        auditchain["key_epoch"] = key_epoch
    return {
        "extensions": {
            "file_storage/queue": {
                "directory": str(queue_dir),
                "create_directory": True,
                "fsync": True,
                "timeout": "10s",
            }
        },
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": f"127.0.0.1:{grpc}"}}}},
        "processors": {
            "memory_limiter": {"check_interval": "1s", "limit_percentage": 80, "spike_limit_percentage": 20},
            "auditchain": auditchain,
        },
        "exporters": {
            "otlp_grpc/store": {
                "endpoint": f"127.0.0.1:{store_grpc}",
                "tls": {"insecure": True},
                "sending_queue": {
                    "enabled": True,
                    "storage": "file_storage/queue",
                    "sizer": "requests",
                    "queue_size": 10000,
                    "num_consumers": num_consumers,
                },
                "retry_on_failure": {
                    "enabled": True,
                    "initial_interval": "200ms",
                    "max_interval": "2s",
                    "max_elapsed_time": "0s",
                },
            }
        },
        "service": {
            "extensions": ["file_storage/queue"],
            "pipelines": {
                "logs/audit": {
                    "receivers": ["otlp"],
                    "processors": ["memory_limiter", "auditchain"],
                    "exporters": ["otlp_grpc/store"],
                }
            },
            "telemetry": telemetry(metrics),
        },
    }


# --------------------------------------------------------------------------
# keys and the verifier


def keygen(*, name: str, out_dir: Path) -> dict[str, Path]:
    """`auditchain keygen --name NAME --out-dir OUT_DIR`: the paths of the
    chain key ("chain"), the signing key ("sign") and the public key ("pub");
    the two secret keys must be readable by their owner only."""
    out_dir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [str(VERIFIER), "keygen", "--name", name, "--out-dir", str(out_dir)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if proc.returncode != 0:
        raise AssertionError(f"auditchain keygen failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    keys = {
        "chain": out_dir / f"{name}.chain.key",
        "sign": out_dir / f"{name}.sign.key",
        "pub": out_dir / f"{name}.pub",
    }
    for what, p in keys.items():
        if not p.is_file():
            raise AssertionError(f"auditchain keygen wrote no {what} key {p}:\n{proc.stdout}\n{proc.stderr}")
        if what != "pub":
            assert p.stat().st_mode & 0o077 == 0, f"{p}: mode {p.stat().st_mode:o}"
    return keys


@dataclasses.dataclass
class Verified:
    returncode: int
    report: dict | None
    stdout: str
    stderr: str

    def describe(self) -> str:
        return f"exit {self.returncode}\nstdout:\n{self.stdout[-6000:]}\nstderr:\n{self.stderr[-3000:]}"


def verify(
    *paths,
    keys=(),
    public_keys=(),
    as_of: float | str | None = None,
    max_delay: str | None = None,
    fmt: str = "json",
    allow_unstamped: bool = False,
) -> Verified:
    """`auditchain verify` over paths, with chain keys (--key), public keys
    (--public-key), --as-of (unix seconds or RFC 3339), --max-delay and
    --allow-unstamped."""
    args = [str(VERIFIER), "verify", "--format", fmt]
    for k in keys:
        args += ["--key", str(k)]
    for p in public_keys:
        args += ["--public-key", str(p)]
    if as_of is not None:
        args += ["--as-of", as_of if isinstance(as_of, str) else rfc3339(as_of)]
    if max_delay is not None:
        args += ["--max-delay", max_delay]
    if allow_unstamped:
        args.append("--allow-unstamped")
    proc = subprocess.run(args + [str(p) for p in paths], capture_output=True, text=True, timeout=120)
    report = None
    if fmt == "json" and proc.stdout.strip():
        try:
            report = json.loads(proc.stdout)
        except json.JSONDecodeError:
            report = None
    return Verified(proc.returncode, report, proc.stdout, proc.stderr)


def all_findings(report: dict, *, severity: str | None = None, kind: str | None = None) -> list[dict]:
    """Every finding of the report (each stream's and the top-level ones)."""
    fs = [f for s in report["streams"] for f in s["findings"]] + list(report.get("findings", []))
    return [f for f in fs if (severity is None or f["severity"] == severity) and (kind is None or f["kind"] == kind)]


def stream_findings(stream: dict, *, kind: str | None = None, severity: str | None = None) -> list[dict]:
    """The findings of one stream of the report."""
    return [
        f
        for f in stream["findings"]
        if (kind is None or f["kind"] == kind) and (severity is None or f["severity"] == severity)
    ]


def kinds(report: dict, severity: str) -> list[str]:
    """The distinct kinds of the report's findings of one severity, sorted."""
    return sorted({f["kind"] for f in all_findings(report, severity=severity)})


def explain(v: Verified) -> str:
    if v.report is None:
        return v.describe()
    fs = [
        {k: f.get(k) for k in ("severity", "kind", "sequence", "first", "last", "message") if f.get(k) is not None}
        for f in all_findings(v.report)
    ]
    return f"exit {v.returncode}, verdict {v.report['verdict']}, errors {v.report['errors']}\n" + json.dumps(fs, indent=1)[:8000]


def expect_fail(v: Verified) -> dict:
    """Exit 1, verdict fail, no input error: an integrity failure was found."""
    assert v.returncode == 1, explain(v)
    assert v.report is not None, v.describe()
    assert v.report["verdict"] == "fail", explain(v)
    assert v.report["errors"] == [], explain(v)
    return v.report


def expect_pass(v: Verified) -> dict:
    """Exit 0, verdict pass, no input error and no error finding."""
    assert v.returncode == 0, explain(v)
    assert v.report is not None, v.describe()
    assert v.report["verdict"] == "pass", explain(v)
    assert v.report["errors"] == [], explain(v)
    assert all_findings(v.report, severity="error") == [], explain(v)
    return v.report


def only_stream(report: dict) -> dict:
    assert len(report["streams"]) == 1, json.dumps(report, indent=1)[:6000]
    return report["streams"][0]


# --------------------------------------------------------------------------
# the collector's own /metrics (Prometheus text format)

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def scrape(port: int) -> list[tuple[str, dict, float]]:
    """Every sample of the collector's /metrics: (name, labels, value)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        assert m, f"unparsed /metrics line: {line!r}"
        out.append((m.group(1), dict(_LABEL.findall(m.group(2) or "")), float(m.group(3))))
    return out
