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
    proc = subprocess.run(
        [str(VERIFIER), "verify", "--format", fmt, *[str(p) for p in paths]],
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = None
    if fmt == "json" and proc.stdout.strip():
        try:
            report = json.loads(proc.stdout)
        except json.JSONDecodeError:
            report = None
    return Verified(proc.returncode, report, proc.stdout, proc.stderr)


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
    def __init__(self, config: Path, log: Path, cwd: Path):
        self.config, self.log, self.cwd = config, log, cwd
        self.proc: subprocess.Popen | None = None
        self._logf = None

    def start(self, ports: list[int]) -> float:
        self._logf = open(self.log, "wb")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [str(COLLECTOR), "--config", str(self.config)],
            cwd=self.cwd,
            stdout=self._logf,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # A bare environment: no LD_LIBRARY_PATH, no Rust toolchain on
            # PATH; the binary carries the Rust core statically.
            env={"PATH": "/usr/bin:/bin", "HOME": str(self.cwd), "LANG": "C.UTF-8"},
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
