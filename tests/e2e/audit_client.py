"""The audit-log clients of the seed documents, on the real OpenTelemetry
Python SDK, pointed at the collector under test.

- seed 000: ``emit_audit_event(actor, action, resource, details)`` emits a log
  record whose body is the JSON event payload and whose attributes are
  audit.actor / audit.action / audit.resource / audit.content_hash /
  audit.schema_version, through ``logger.emit(LogRecord(...))``.
- seed 002: ``on_config_change(old, new, changed_by)`` logs "System
  configuration changed" through the Python ``logging`` bridge
  (``LoggingHandler``) with the audit.* attributes in ``extra``.

Both go over OTLP/gRPC and OTLP/HTTP. Every export call's result is
recorded, so that the test knows what the collector acknowledged, and every
emitted record is remembered (``Sent``), so that the test can find each one
in the exported files.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import time
import warnings

from opentelemetry import _logs as logs
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs import export as sdk_export
from opentelemetry.sdk.resources import Resource

# The SDK renamed LogExporter to LogRecordExporter; accept either.
_ExporterBase = getattr(sdk_export, "LogRecordExporter", None) or sdk_export.LogExporter

# Small export batches: several OTLP requests, hence several exported lines
# (the tamper tests split, reorder and duplicate lines).
MAX_EXPORT_BATCH = 7


@dataclasses.dataclass
class Sent:
    """One record the client emitted."""

    transport: str  # "grpc" | "http"
    kind: str  # "seed000" | "seed002"
    key: str  # unique per record: request id (seed 000) or changed_by (seed 002)
    body: str
    attributes: dict


class RecordingExporter(_ExporterBase):
    """Wraps an OTLP exporter and records what every export call returned."""

    def __init__(self, inner):
        self.inner = inner
        self.calls: list[tuple[int, str]] = []  # (records in the request, result name)

    def export(self, batch):
        result = self.inner.export(batch)
        self.calls.append((len(batch), getattr(result, "name", str(result))))
        return result

    def shutdown(self):
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        flush = getattr(self.inner, "force_flush", None)
        return flush(timeout_millis) if flush else True

    @property
    def acknowledged(self) -> int:
        return sum(n for n, r in self.calls if r == "SUCCESS")

    @property
    def failed(self) -> int:
        return sum(n for n, r in self.calls if r != "SUCCESS")


class AuditClient:
    """One service emitting audit logs over one OTLP transport."""

    def __init__(self, transport: str, endpoint: str, service_name: str):
        if transport == "grpc":
            inner = GrpcLogExporter(endpoint=endpoint, insecure=True, timeout=10)
        elif transport == "http":
            inner = HttpLogExporter(endpoint=endpoint, timeout=10)
        else:
            raise ValueError(transport)
        self.transport = transport
        self.exporter = RecordingExporter(inner)
        self.provider = LoggerProvider(
            resource=Resource.create({"service.name": service_name}),
            shutdown_on_exit=False,
        )
        self.provider.add_log_record_processor(
            sdk_export.BatchLogRecordProcessor(
                self.exporter,
                max_export_batch_size=MAX_EXPORT_BATCH,
                schedule_delay_millis=200,
            )
        )
        # seed 000: an OTel logger named after the service.
        self.logger = self.provider.get_logger("audit.service")
        # seed 002: a Python logger bridged to OpenTelemetry.
        with warnings.catch_warnings():
            # 1.45 deprecates the SDK's handler in favour of
            # opentelemetry-instrumentation-logging, whose current release
            # pins an older API; the bridge itself is the same.
            warnings.simplefilter("ignore", DeprecationWarning)
            self.handler = LoggingHandler(level=logging.INFO, logger_provider=self.provider)
        self.system_logger = logging.getLogger(f"audit.system.{transport}")
        self.system_logger.setLevel(logging.INFO)
        self.system_logger.propagate = False
        self.system_logger.addHandler(self.handler)
        self.sent: list[Sent] = []

    # -- seed 000 -----------------------------------------------------------
    def emit_audit_event(self, actor: str, action: str, resource: str, details: dict) -> None:
        """Emit an audit log with a content hash for integrity verification."""
        event_payload = {
            "actor": actor,
            "action": action,
            "resource": resource,
            "details": details,
            "timestamp": time.time_ns(),
        }
        content_hash = hashlib.sha256(json.dumps(event_payload, sort_keys=True).encode()).hexdigest()
        body = json.dumps(event_payload)
        attributes = {
            "audit.actor": actor,
            "audit.action": action,
            "audit.resource": resource,
            "audit.content_hash": content_hash,
            "audit.schema_version": "1.0",
        }
        self.logger.emit(logs.LogRecord(body=body, attributes=attributes))
        self.sent.append(Sent(self.transport, "seed000", details["request_id"], body, attributes))

    # -- seed 002 -----------------------------------------------------------
    def on_config_change(self, old_config: dict, new_config: dict, changed_by: str) -> None:
        extra = {
            "audit.action": "config_change",
            "audit.changed_by": changed_by,
            # sorted: the seed's set difference, in a stable order
            "audit.config_keys_modified": sorted(set(new_config.keys()) - set(old_config.keys())),
            "audit.change_source": "admin_api",
            "audit.severity": "high",
        }
        self.system_logger.info("System configuration changed", extra=extra)
        self.sent.append(Sent(self.transport, "seed002", changed_by, "System configuration changed", extra))

    def close(self, timeout_s: float = 30.0) -> None:
        """Flush everything, then shut down (and detach the logging bridge)."""
        self.provider.force_flush(int(timeout_s * 1000))
        self.system_logger.removeHandler(self.handler)
        self.provider.shutdown()


ACTORS = ["alice@example.com", "bob@example.com", "carol@example.com", "svc-deployer"]
ACTIONS = [
    ("user.login", "auth/session"),
    ("role.update", "iam/user/{n}/role"),
    ("record.delete", "db/customers/{n}"),
    ("secret.read", "vault/kv/payments/{n}"),
    ("export.download", "reports/q3/{n}.csv"),
]


def emit_seed_traffic(client: AuditClient, prefix: str, events: int, config_changes: int) -> None:
    """A realistic mix: seed-000 audit events with varied details (unicode,
    nested objects, numbers) and seed-002 configuration changes."""
    for i in range(events):
        action, resource = ACTIONS[i % len(ACTIONS)]
        details = {
            # unique per record; the byte-tamper test edits exactly this text
            "request_id": f"{prefix}-{i:04d}",
            "ip": f"10.0.{i % 7}.{i % 250 + 1}",
            "result": "success" if i % 4 else "denied",
            "attempt": i % 3 + 1,
            "note": "naïve café ✓" if i % 5 == 0 else "",
            "ctx": {"tenant": "acme", "tags": ["audit", "soc2"], "ratio": 0.25 * (i % 4)},
        }
        client.emit_audit_event(ACTORS[i % len(ACTORS)], action, resource.format(n=i), details)
    for i in range(config_changes):
        old = {"retention_days": 30, "mfa": True}
        new = dict(old, **{f"feature_{i}": True, "log_level": "debug"})
        client.on_config_change(old, new, changed_by=f"{prefix}-admin-{i}")
