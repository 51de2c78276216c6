"""Reading and editing the fileexporter's output: one OTLP/JSON
ExportLogsServiceRequest per line."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

SEQ = "audit.sequence.number"
STREAM_ID = "audit.sequence.stream_id"
SEQ_END = "audit.sequence.end"
INTEGRITY = "audit.integrity.value"
STREAM_EVENT = "audit.stream.event"


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

    def record(self, ref: Ref) -> dict:
        return self.requests[ref.line]["resourceLogs"][ref.rl]["scopeLogs"][ref.sl]["logRecords"][ref.lr]

    def records_in_line(self, line: int) -> int:
        return sum(1 for r in self.refs() if r.line == line)

    def serialise_line(self, line: int) -> str:
        """Re-serialise one edited request (compact, like the exporter)."""
        return json.dumps(self.requests[line], ensure_ascii=False, separators=(",", ":"))

    def write(self, path: Path, lines: list[str] | None = None) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(l + "\n" for l in (self.lines if lines is None else lines)), encoding="utf-8")
        return path
