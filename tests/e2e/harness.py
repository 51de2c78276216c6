"""Shared by the end-to-end test and the benchmark: where the binaries are,
free ports, the collector as a subprocess, the verifier."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COLLECTOR = Path(os.environ.get("AUDITCHAIN_COLLECTOR", REPO / "bin" / "otelcol-audit"))
VERIFIER = Path(os.environ.get("AUDITCHAIN_CLI", REPO / "target" / "release" / "auditchain"))

STREAM_NAME = "e2e-gateway"
START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 60

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


@dataclasses.dataclass
class Verified:
    returncode: int
    report: dict | None
    stdout: str
    stderr: str

    def describe(self) -> str:
        return f"exit {self.returncode}\nstdout:\n{self.stdout[-6000:]}\nstderr:\n{self.stderr[-3000:]}"


def run_verify(*paths, fmt: str = "json") -> Verified:
    """`auditchain verify` without keys."""
    return verify_with(*paths, fmt=fmt)


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
    (sink "discard", for measuring the pipeline without file I/O). Written
    as JSON, which every YAML parser reads."""
    exporters = {
        "file": {
            "file/audit": {
                "path": str(work / "data" / "audit.jsonl"),
                "format": "json",
                "append": True,
                "create_directory": True,
                "flush_interval": "200ms",
            }
        },
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
            "telemetry": {
                "logs": {"level": "info"},
                "metrics": {
                    "readers": [
                        {"pull": {"exporter": {"prometheus": {"host": "127.0.0.1", "port": metrics}}}}
                    ]
                },
            },
        },
    }


class Collector:
    def __init__(
        self,
        config: Path,
        log: Path,
        cwd: Path,
        binary: Path | None = None,
        extra_args: list[str] = (),
        extra_env: dict[str, str] | None = None,
    ):
        self.config, self.log, self.cwd = config, log, cwd
        self.binary = binary or COLLECTOR
        self.extra_args, self.extra_env = list(extra_args), dict(extra_env or {})
        self.proc: subprocess.Popen | None = None
        self._logf = None

    def start(self, ports: list[int]) -> float:
        self._logf = open(self.log, "wb")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [str(self.binary), "--config", str(self.config), *self.extra_args],
            cwd=self.cwd,
            stdout=self._logf,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # A bare environment: no LD_LIBRARY_PATH, no Rust toolchain on
            # PATH; the binary carries the Rust core statically.
            env={"PATH": "/usr/bin:/bin", "HOME": str(self.cwd), "LANG": "C.UTF-8", **self.extra_env},
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


# --------------------------------------------------------------------------
# Added for the crash test (tests/e2e/crash_consistency.py): a keyed, signed
# gateway that forwards through a persistent queue to a store, keys, and the
# verifier with options. Nothing above changes behaviour.


def keygen(out_dir: Path, name: str) -> dict[str, Path]:
    """`auditchain keygen --name NAME --out-dir OUT_DIR`: returns the paths of
    the chain key, the signing key and the public key."""
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
    return keys


def _telemetry(metrics: int) -> dict:
    return {
        "logs": {"level": "info"},
        "metrics": {"readers": [{"pull": {"exporter": {"prometheus": {"host": "127.0.0.1", "port": metrics}}}}]},
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
            "telemetry": _telemetry(metrics),
        },
    }


def store_config(*, grpc: int, metrics: int, data_dir: Path, flush_interval: str = "200ms") -> dict:
    """distribution/examples/store.yaml with a free port and a given data
    directory: OTLP/gRPC in, OTLP/JSON lines out (append: true)."""
    return {
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": f"127.0.0.1:{grpc}", "max_recv_msg_size_mib": 64}}}},
        "processors": {
            "memory_limiter": {"check_interval": "1s", "limit_percentage": 80, "spike_limit_percentage": 20},
        },
        "exporters": {
            "file/audit": {
                "path": str(data_dir / "audit.jsonl"),
                "format": "json",
                "append": True,
                "create_directory": True,
                "flush_interval": flush_interval,
            }
        },
        "service": {
            "pipelines": {
                "logs/audit": {
                    "receivers": ["otlp"],
                    "processors": ["memory_limiter"],
                    "exporters": ["file/audit"],
                }
            },
            "telemetry": _telemetry(metrics),
        },
    }


def verify_with(
    *paths,
    keys: list[Path] = (),
    public_keys: list[Path] = (),
    as_of: str | None = None,
    fmt: str = "json",
    max_delay: str | None = None,
    allow_unstamped: bool = False,
) -> Verified:
    """`auditchain verify` with chain keys, public keys, --as-of, --max-delay
    and --allow-unstamped."""
    args = [str(VERIFIER), "verify", "--format", fmt]
    if max_delay is not None:
        args += ["--max-delay", max_delay]
    if allow_unstamped:
        args.append("--allow-unstamped")
    for k in keys:
        args += ["--key", str(k)]
    for p in public_keys:
        args += ["--public-key", str(p)]
    if as_of is not None:
        args += ["--as-of", as_of]
    proc = subprocess.run(args + [str(p) for p in paths], capture_output=True, text=True, timeout=120)
    report = None
    if fmt == "json" and proc.stdout.strip():
        try:
            report = json.loads(proc.stdout)
        except json.JSONDecodeError:
            report = None
    return Verified(proc.returncode, report, proc.stdout, proc.stderr)


def export_request(records, service: str, scope: str) -> bytes:
    """One serialised OTLP ExportLogsServiceRequest holding `records`
    (opentelemetry-proto LogRecord messages) under one resource and scope."""
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
    from opentelemetry.proto.common.v1 import common_pb2
    from opentelemetry.proto.logs.v1 import logs_pb2
    from opentelemetry.proto.resource.v1 import resource_pb2

    service_name = common_pb2.KeyValue(key="service.name", value=common_pb2.AnyValue(string_value=service))
    req = logs_service_pb2.ExportLogsServiceRequest(
        resource_logs=[
            logs_pb2.ResourceLogs(
                resource=resource_pb2.Resource(attributes=[service_name]),
                scope_logs=[logs_pb2.ScopeLogs(scope=common_pb2.InstrumentationScope(name=scope), log_records=records)],
            )
        ]
    )
    return req.SerializeToString()


def rfc3339_utc(unix_seconds: float) -> str:
    """2026-11-22T05:00:00.123456Z"""
    t = time.gmtime(int(unix_seconds))
    micros = int(round((unix_seconds - int(unix_seconds)) * 1e6)) % 1_000_000
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + f".{micros:06d}Z"


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
