"""What every test shares: the hang guard, the committed fixtures and TF's facts about them,
the real-world sets (skipped when absent) and the ``slow`` marker."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.hang_guard import HANG_SECONDS, SLOW_HANG_SECONDS, hang_guard
from tests.fixtures.shared import DATA, FACTS

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[1]
REALWORLD = REPO.parent / "shared" / "realworld"


@pytest.fixture(autouse=True)
def no_hang(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test: still running after HANG_SECONDS (``slow``: SLOW_HANG_SECONDS) fails
    instead of hanging the suite."""
    slow = request.node.get_closest_marker("slow") is not None
    with hang_guard(SLOW_HANG_SECONDS if slow else HANG_SECONDS):
        yield


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The committed real-TF fixtures (tests/fixtures/data)."""
    return DATA


@pytest.fixture(scope="session")
def facts() -> dict[str, Any]:
    """What TensorFlow said about the committed fixtures (tests/fixtures/facts.json)."""
    return FACTS


@pytest.fixture(scope="session")
def realworld() -> Path:
    """../shared/realworld (real files from public repositories); skips when absent."""
    if not REALWORLD.is_dir():
        pytest.skip(f"{REALWORLD}: the real-world sets are not here")
    return REALWORLD


@pytest.fixture(params=["direct", "page cache"])
def sink_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Writes through formats/data_sink.py with small chunks (so a test's tensors span
    several), with O_DIRECT and through the page cache (as where O_DIRECT is refused)."""
    import os

    from graphtui.formats import data_sink

    monkeypatch.setattr(data_sink, "_CHUNK", 16 << 10)
    if request.param == "page cache":
        monkeypatch.delattr(os, "O_DIRECT", raising=False)
    elif not hasattr(os, "O_DIRECT"):
        pytest.skip("no O_DIRECT on this system")
    return str(request.param)
