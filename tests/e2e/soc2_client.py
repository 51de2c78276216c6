"""Seed 002's SOC 2 trail on the real OpenTelemetry Python SDK: services
that emit the audit spans of the seed (``user.role.update`` with its
``enduser.*`` and ``audit.*`` attributes) and spans nobody audits, over
OTLP/gRPC or OTLP/HTTP, plus logs through the SDK's logger (seed 000's
``emit_audit_event`` with ``audit.content_hash``, seed 002's configuration
changes, and logs nobody audits; see audit_client.py).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time

from opentelemetry import _logs as logs
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

import audit_client


class RecordingSpanExporter(SpanExporter):
    """Wraps an OTLP span exporter and records every export call's result."""

    def __init__(self, inner):
        self.inner = inner
        self.calls: list[tuple[int, str]] = []

    def export(self, spans):
        result = self.inner.export(spans)
        self.calls.append((len(spans), result.name if isinstance(result, SpanExportResult) else str(result)))
        return result

    def shutdown(self):
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)

    @property
    def failed(self) -> int:
        return sum(n for n, r in self.calls if r != "SUCCESS")


@dataclasses.dataclass
class User:
    id: str
    role: str


@dataclasses.dataclass
class Request:
    authenticated_user: User
    client_ip: str


class Service:
    """One service: a tracer and an audit logger on one OTLP transport."""

    def __init__(self, name: str, transport: str, grpc: int, http: int):
        self.name, self.transport = name, transport
        if transport == "grpc":
            inner = GrpcSpanExporter(endpoint=f"127.0.0.1:{grpc}", insecure=True, timeout=10)
            log_endpoint = f"127.0.0.1:{grpc}"
        else:
            inner = HttpSpanExporter(endpoint=f"http://127.0.0.1:{http}/v1/traces", timeout=10)
            log_endpoint = f"http://127.0.0.1:{http}/v1/logs"
        self.exporter = RecordingSpanExporter(inner)
        self.provider = TracerProvider(resource=Resource.create({"service.name": name}), shutdown_on_exit=False)
        self.provider.add_span_processor(BatchSpanProcessor(self.exporter, max_export_batch_size=5, schedule_delay_millis=200))
        self.tracer = self.provider.get_tracer("audit-service")
        self.logs = audit_client.AuditClient(transport, log_endpoint, name)
        self.roles: dict[str, str] = {}
        self.role_updates = 0
        self.plain_spans = 0
        self.plain_logs = 0
        self.audit_logs = 0

    # -- seed 002, verbatim but for the services it calls ---------------------
    def update_user_role(self, request: Request, user_id: str, new_role: str) -> bool:
        with self.tracer.start_as_current_span("user.role.update") as span:
            # Identity attributes - who performed the action
            span.set_attribute("enduser.id", request.authenticated_user.id)
            span.set_attribute("enduser.role", request.authenticated_user.role)
            span.set_attribute("enduser.ip", request.client_ip)

            # Action attributes - what was changed
            span.set_attribute("audit.action", "role_update")
            span.set_attribute("audit.target_user", user_id)
            span.set_attribute("audit.old_value", self.roles.get(user_id, "viewer"))
            span.set_attribute("audit.new_value", new_role)
            span.set_attribute("audit.resource_type", "user_permission")

            # Perform the actual update
            self.roles[user_id] = new_role
            result = True

            span.set_attribute("audit.result", "success" if result else "failure")
            self.role_updates += 1
            return result

    def plain_span(self, i: int) -> None:
        """A span no audit rule selects."""
        with self.tracer.start_as_current_span("GET /healthz") as span:
            span.set_attribute("http.request.method", "GET")
            span.set_attribute("http.response.status_code", 200)
            with self.tracer.start_as_current_span("db.query") as child:
                child.set_attribute("db.statement", f"SELECT {i}")
        self.plain_spans += 2

    def audit_event_with_dict_body(self, actor: str, action: str, details: dict, *, tamper: bool = False) -> None:
        """Seed 000's event with the payload itself as the body (the SDK
        sends a dict as a kvlistValue), hashed as seed 000 hashes it;
        ``tamper`` changes the payload after hashing."""
        payload = {"actor": actor, "action": action, "resource": "iam/users", "details": details, "timestamp": time.time_ns()}
        content_hash = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        if tamper:
            payload["action"] = action + ".tampered"
        self.logs.logger.emit(
            logs.LogRecord(
                body=payload,
                attributes={"audit.actor": actor, "audit.action": action, "audit.content_hash": content_hash},
            )
        )
        self.audit_logs += 1

    def plain_log(self, i: int) -> None:
        self.logs.system_logger.info("cache warmed in %d ms", i)
        self.plain_logs += 1

    def close(self) -> None:
        self.provider.force_flush(30000)
        self.provider.shutdown()
        self.logs.close()


def emit(service: Service, rounds: int) -> None:
    """A realistic mix for one service."""
    admin = Request(User(f"admin@{service.name}", "admin"), "10.0.0.7")
    for i in range(rounds):
        service.update_user_role(admin, f"user-{i % 3}", ["editor", "viewer", "owner"][i % 3])
        service.plain_span(i)
        service.plain_log(i)
    # seed 000 events (string body: json.dumps of the payload) and seed 002
    # configuration changes through the logging bridge, all audit records.
    audit_client.emit_seed_traffic(service.logs, service.name, events=4, config_changes=2)
    service.audit_logs += 6
    service.audit_event_with_dict_body("alice", "export.download", {"rows": 1200, "ratio": 0.1, "big": 10**18, "note": "naïve ✓"})
    service.audit_event_with_dict_body("mallory", "record.delete", {"id": 7}, tamper=True)
