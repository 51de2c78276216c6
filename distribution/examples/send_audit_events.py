"""Send a few audit events to a collector over OTLP/gRPC with the
OpenTelemetry Python SDK, as the application in seed 000 does.

    make venv
    .venv/bin/python distribution/examples/send_audit_events.py [--endpoint 127.0.0.1:4317] [--count 10]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time

from opentelemetry import _logs as logs
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--endpoint", default="127.0.0.1:4317")
    ap.add_argument("--count", type=int, default=10)
    args = ap.parse_args()

    provider = LoggerProvider(resource=Resource.create({"service.name": "audit.service"}))
    provider.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter(endpoint=args.endpoint, insecure=True)))
    logger = provider.get_logger("audit.service")
    for i in range(args.count):
        event = {"actor": f"user-{i % 3}", "action": "delete", "resource": f"doc-{i}", "timestamp": time.time_ns()}
        body = json.dumps(event, sort_keys=True)
        logger.emit(
            logs.LogRecord(
                timestamp=event["timestamp"],
                severity_number=SeverityNumber.INFO,
                severity_text="INFO",
                body=body,
                attributes={
                    "audit.actor": event["actor"],
                    "audit.action": event["action"],
                    "audit.resource": event["resource"],
                    "audit.content_hash": hashlib.sha256(body.encode()).hexdigest(),
                    "audit.schema_version": "1.0",
                },
            )
        )
    # Flush, and fail loudly if the collector refused the batch.
    if not provider.force_flush(timeout_millis=10_000):
        raise SystemExit("the collector did not accept the events in time")
    provider.shutdown()
    print(f"sent {args.count} audit events to {args.endpoint}")


if __name__ == "__main__":
    main()
