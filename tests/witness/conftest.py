"""Fixtures for the tlog-witness tests: real witnesses (litewitness and
omniwitness, see witness.py), log keys registered with them, and the
proof-of-concept client (tests/witness/poc) that builds trees, signs
checkpoints and makes add-checkpoint bodies.

The tests build nothing: `make test-witness` installs the witnesses and
builds the client first (AUDITCHAIN_WITNESS_POC overrides its path).
Every HTTP exchange is written to build/witness/exchanges.txt, and figures
are printed at the end of the run.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from witness import LiteWitness, OmniWitness
from witness_harness import EXCHANGES, FIGURES, POC, Log, make_log


def pytest_sessionstart(session):
    EXCHANGES.parent.mkdir(parents=True, exist_ok=True)
    EXCHANGES.write_text("")


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.section("tlog-witness figures")
        for k, v in FIGURES.items():
            terminalreporter.write_line(f"{k}: {v}")


@pytest.fixture(scope="session")
def poc() -> Path:
    if not os.access(POC, os.X_OK):
        pytest.fail(f"not built: {POC}; run `make test-witness` (it builds it first)")
    return POC


@pytest.fixture(scope="session")
def lite(tmp_path_factory):
    with LiteWitness.started(tmp_path_factory.mktemp("litewitness")) as w:
        yield w


@pytest.fixture(scope="session")
def omni(tmp_path_factory):
    with OmniWitness.started(tmp_path_factory.mktemp("omniwitness")) as w:
        yield w


@pytest.fixture(params=["litewitness", "omniwitness"])
def witness(request):
    return request.getfixturevalue({"litewitness": "lite", "omniwitness": "omni"}[request.param])


@pytest.fixture
def new_log(poc, tmp_path, request):
    """new_log(witness, suffix="") -> a Log with a fresh key and an origin
    unique to the test, registered with the witness (unless witness is
    None)."""

    def make(witness, suffix: str = "") -> Log:
        name = re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name).strip("-")
        log = make_log(poc, tmp_path, f"example.com/auditchain-test/{name}{suffix}")
        if witness is not None:
            witness.register(log.origin, log.vkey)
        return log

    return make
