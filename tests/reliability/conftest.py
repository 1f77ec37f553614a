"""Reliability suite: faults, churn, a bad-input corpus, security — against the real control
plane (``control_plane``, ``kubeconfig``, ``k8s_namespace`` come from ``tests/conftest.py``)
and FakeKong.

``KIC_TRIO_RELIABILITY=short`` (the default, what ``nox -s tests`` runs) keeps the folder to a
few minutes; ``long`` (``nox -s soak``) runs more operations, more fault rounds and the full
30 s Kong outage. ``KIC_TRIO_RELIABILITY_SEED`` replays one churn sequence.

Every test here is marked ``integration`` (it needs the control plane); the long version is
marked ``slow`` too. At the end of the session a summary table is printed and written to
``tests/reliability/last-summary.json``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _reliability import MODE, Summary

HERE = Path(__file__).parent
SUMMARY_PATH = HERE / "last-summary.json"
_SUMMARY_KEY = pytest.StashKey[Summary]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)
            if MODE == "long":
                item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def summary(pytestconfig: pytest.Config) -> Iterator[Summary]:
    """Numbers the reliability tests report; printed and written once the session ends."""
    s = pytestconfig.stash.get(_SUMMARY_KEY, None)
    if s is None:
        s = Summary(mode=MODE)
        pytestconfig.stash[_SUMMARY_KEY] = s
    yield s


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    s = config.stash.get(_SUMMARY_KEY, None)
    if s is None or not s.sections:
        return
    terminalreporter.section("kic-trio reliability summary")
    for line in s.table().splitlines():
        terminalreporter.write_line(line)
    data = s.as_dict()
    data["exit_status"] = int(exitstatus)
    SUMMARY_PATH.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    terminalreporter.write_line(
        f"(written to {SUMMARY_PATH.relative_to(Path(os.getcwd()))})"
        if SUMMARY_PATH.is_relative_to(Path(os.getcwd()))
        else f"(written to {SUMMARY_PATH})"
    )
