"""Issue 11 item 3, in small: the verifier's memory grows with the number
of streams, not of records. Two archives stamped by the real engine
(examples/gen_archive.rs: four keyed, signed streams, each file's lines
shuffled), 50,000 and 200,000 records; the CLI verifies each with a small
`--spill-after`: its peak RSS at four times the records stays within a
fifth of the smaller run's. The same runs with every record held in
memory (`--spill-after 0`) grow by far more, so the measure tells the
two apart, and both give one report. Measured on one CPU and on all (the
parallel reader's threads, whose buffers once made the peak vary by half
and grow with the files: 46 -> 67 MiB here). `make bench-verify` runs the
10 M figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import shutil

import pytest

from harness import REPO, VERIFIER

GEN = REPO / "target" / "release" / "examples" / "gen_archive"

# A child's peak RSS starts at its parent's RSS at fork (Linux carries the
# high-water mark across exec): measured from pytest, every run would read
# at least pytest's size. A small Python in between spawns the verifier and
# reports the verifier's own peak (wait4) on its last stderr line.
PEAK_RSS = """
import os, sys
pid = os.posix_spawnp(sys.argv[1], sys.argv[1:], os.environ)
_, status, usage = os.wait4(pid, 0)
print(usage.ru_maxrss, file=sys.stderr)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def archive(base: Path, records: int) -> Path:
    d = base / f"a{records}"
    subprocess.run(
        [str(GEN), "write", "--out", str(d), "--records", str(records), "--streams", "4",
         "--file-records", "10000", "--shuffle", "--keyed"],
        check=True,
    )
    return d


def verify(d: Path, spill_after: int, out: Path, one_cpu: bool = True) -> tuple[dict, int]:
    """The report and the verifier's peak RSS in KiB (its own, by wait4)."""
    pin = ["taskset", "-c", "0"] if one_cpu and shutil.which("taskset") else []
    cmd = [*pin, str(VERIFIER), "verify", str(d / "data"), "--key", str(d / "keys" / "chain.key"),
           "--public-key", str(d / "keys" / "bench.pub"), "--format", "json",
           "--as-of", "2026-12-01T00:00:00Z", "--spill-after", str(spill_after)]
    with open(out, "w") as f:
        p = subprocess.run([sys.executable, "-c", PEAK_RSS, *cmd], stdout=f, stderr=subprocess.PIPE, text=True)
    report = json.loads(out.read_text())
    assert p.returncode == 0 and report["verdict"] == "pass", (p.returncode, report["verdict"], p.stderr)
    return report, int(p.stderr.strip().splitlines()[-1])


@pytest.mark.skipif(not GEN.exists(), reason="make test-e2e builds target/release/examples/gen_archive")
def test_peak_rss_does_not_grow_with_the_records(tmp_path: Path):
    small, large = archive(tmp_path, 50_000), archive(tmp_path, 200_000)
    r_small, rss_small = verify(small, 1000, tmp_path / "small.json")
    r_large, rss_large = verify(large, 1000, tmp_path / "large.json")
    assert r_large["inputs"]["records"] > 4 * r_small["inputs"]["records"] - 100
    _, all_small = verify(small, 1000, tmp_path / "small-all.json", one_cpu=False)
    _, all_large = verify(large, 1000, tmp_path / "large-all.json", one_cpu=False)
    m_small, mem_small = verify(small, 0, tmp_path / "small-memory.json")
    m_large, mem_large = verify(large, 0, tmp_path / "large-memory.json")
    figures = (f"spilling, one CPU: {rss_small} -> {rss_large} KiB; all CPUs: {all_small} -> {all_large} KiB; "
               f"in memory, one CPU: {mem_small} -> {mem_large} KiB")
    print(figures)
    assert rss_large < rss_small * 1.2, figures
    assert all_large < all_small * 1.2, figures
    # Held in memory, 150,000 more records take over 16 MiB (about 180
    # bytes each): the measure sees memory that grows with the records.
    assert mem_large > mem_small + 16 * 1024, figures
    assert (r_small["streams"], r_large["streams"], r_large.get("logs")) == (
        m_small["streams"], m_large["streams"], m_large.get("logs")), "spilling changed a report"
