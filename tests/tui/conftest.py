"""Helpers for the app's pilot and snapshot tests."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from graphtui.core.workspace import open_workspace
from graphtui.tui.app import GraphtuiApp

DATA = Path(__file__).resolve().parents[1] / "fixtures" / "data"
TRAIN = DATA / "train"
SIZE = (100, 32)


def make_app(path: str | Path | None) -> GraphtuiApp:
    return GraphtuiApp(open_workspace(None if path is None else str(path)))


async def settle(pilot: Any) -> None:
    """Let messages, timers and every worker finish. A worker cancelled meanwhile (a history
    poll superseded by the next one of its exclusive group) is no failure: the others are
    still waited for."""
    from textual.worker import WorkerCancelled

    await pilot.pause()
    for worker in list(pilot.app.workers):
        try:
            await worker.wait()
        except WorkerCancelled:
            continue
    await pilot.pause()


def screen_text(app: Any) -> str:
    """The screen as plain text (what a user would read)."""
    console = Console(
        width=app.size.width,
        height=app.size.height,
        file=io.StringIO(),
        force_terminal=True,
        color_system=None,
        record=True,
        legacy_windows=False,
    )
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    console.print(update)
    return console.export_text()


@pytest.fixture
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Ages and times in the history pane independent of when the fixtures were written."""
    import time

    from graphtui.tui.widgets import history_pane

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.setattr(history_pane, "now", lambda: 1_700_000_000.0 + 3600.0)
    yield
    monkeypatch.undo()
    time.tzset()


def pin_history_times(app: GraphtuiApp) -> None:
    """Give each checkpoint a fixed timestamp (file mtimes change with every checkout)."""
    from graphtui.tui.widgets.history_pane import HistoryPane

    if app.ws.history is None:
        return
    for i, rec in enumerate(app.ws.history.records):
        rec.timestamp = 1_700_000_000.0 + 60.0 * i
    app.query_one(HistoryPane).refresh_rows()
