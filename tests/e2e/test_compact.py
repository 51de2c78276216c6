"""The compact stamp (docs/SPEC.md §4.1.1, issue 12), end to end: the real
collector stamps the same records once with `stamp: full` and once with
`stamp: compact`, keyed and signed, into the real file exporter; both
verify with `auditchain verify`, an edited body in the compact file is
found, and the bytes each form adds per record in the exporter's OTLP/JSON
are measured (printed in the figures: the issue's goal is <= 250)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import FIGURES
from harness import Collector, Export, expect_fail, expect_pass, free_port, keygen, verify
from test_keyed import Sender, keyed_config

RECORDS = 600
BATCH = 100


def run_collector(work: Path, keys: dict, stamp: str | None) -> Path:
    ports = (free_port(), free_port(), free_port())
    cfg = keyed_config(
        work, ports, stream_name=f"compact-{stamp or 'none'}", chain_key=keys["chain"], signing_key=keys["sign"],
        data=work / "data", checkpoint_file=None,
    )
    # As shipped: format version 2 (the log's leaves take the compact
    # stamp's link like the full one's), not test_keyed's version 1.
    cfg["processors"]["auditchain"].pop("log", None)
    if stamp is None:
        cfg["service"]["pipelines"]["logs/audit"]["processors"] = ["memory_limiter"]
        del cfg["processors"]["auditchain"]
    else:
        cfg["processors"]["auditchain"]["stamp"] = stamp
    (work / "config.yaml").write_text(json.dumps(cfg, indent=2))
    c = Collector(work / "config.yaml", work / "collector.log", cwd=work)
    c.start(list(ports[:2]))
    s = Sender(ports[0], "compact")
    try:
        for _ in range(RECORDS // BATCH):
            s.batch(BATCH)
    finally:
        s.close()
        assert c.stop() == 0
    return work / "data" / "audit.jsonl"


@pytest.fixture(scope="module")
def files(binaries, tmp_path_factory) -> dict:
    work = tmp_path_factory.mktemp("compact")
    keys = keygen(name="compact-e2e", out_dir=work / "keys")
    out = {"keys": keys}
    for stamp in (None, "full", "compact"):
        d = work / (stamp or "none")
        d.mkdir()
        out[stamp] = run_collector(d, keys, stamp)
    return out


def client_bytes(path: Path) -> float:
    """Mean OTLP/JSON bytes of a client record (control records left out)."""
    export = Export.read([path])
    sizes = [len(json.dumps(export.record(r), separators=(",", ":"))) for r in export.refs() if r.control is None]
    assert len(sizes) == RECORDS
    return sum(sizes) / len(sizes)


def test_both_forms_verify_and_the_compact_one_adds_at_most_250_bytes(files):
    keys = files["keys"]
    for stamp in ("full", "compact"):
        expect_pass(verify(files[stamp], keys=[keys["chain"]], public_keys=[keys["pub"]]))
    base, full, compact = (client_bytes(files[s]) for s in (None, "full", "compact"))
    FIGURES["bytes added per record (full / compact stamp)"] = f"{full - base:.0f} / {compact - base:.0f}"
    FIGURES["exported file bytes per record (none / full / compact)"] = " / ".join(
        f"{files[s].stat().st_size / RECORDS:.0f}" for s in (None, "full", "compact")
    )
    assert compact - base <= 250, (base, compact)
    assert full - base > compact - base


def test_an_edited_body_in_the_compact_file_is_found(files, tmp_path):
    keys = files["keys"]
    lines = files["compact"].read_text().splitlines()
    i = next(n for n, line in enumerate(lines) if "record.delete" in line)
    lines[i] = lines[i].replace("db/customers/", "db/customerz/", 1)
    d = tmp_path / "tampered"
    d.mkdir()
    (d / "audit.jsonl").write_text("\n".join(lines) + "\n")
    v = expect_fail(verify(d, keys=[keys["chain"]], public_keys=[keys["pub"]]))
    kinds = {f["kind"] for s in v["streams"] for f in s["findings"] if f["severity"] == "error"}
    assert "content_mismatch" in kinds, kinds
