"""Helpers for the app's pilot and snapshot tests."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len

from graphtui.core.workspace import open_workspace
from graphtui.tui.app import GraphtuiApp

DATA = Path(__file__).resolve().parents[1] / "fixtures" / "data"
TRAIN = DATA / "train"
SIZE = (100, 32)


def make_app(path: str | Path | None) -> GraphtuiApp:
    return GraphtuiApp(open_workspace(None if path is None else str(path)))


def record_notifications(app: Any) -> list[str]:
    """Every notification the app shows from now on (each still shown), as its text."""
    said: list[str] = []
    notify = app.notify

    def recording(message: object, *args: Any, **kwargs: Any) -> None:
        said.append(str(message))
        notify(message, *args, **kwargs)

    app.notify = recording
    return said


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
    """The screen as plain text (what a user would read), read back from the app's public SVG
    screenshot: each text run sits at column ``x / CHAR_WIDTH`` of its clip-path's line."""
    width, height = app.size
    grid = [[" "] * width for _ in range(height)]
    for attrs, body in _SVG_TEXT.findall(app.export_screenshot()):
        line = _SVG_LINE.search(attrs)
        x = _SVG_X.search(attrs)
        if line is None or x is None or int(line[1]) >= height:
            continue
        row, col = grid[int(line[1])], round(float(x[1]) / CHAR_WIDTH)
        for char in html.unescape(body).replace("\xa0", " "):
            if col < width:
                row[col] = char
            for extra in range(1, cell_len(char)):  # a wide character fills two cells
                if col + extra < width:
                    row[col + extra] = ""
            col += max(1, cell_len(char))
    return "\n".join("".join(row).rstrip() for row in grid) + "\n"


# rich's export_svg: a cell is 20 * 0.61 units wide; each run of text is one <text> element
CHAR_WIDTH = 20 * 0.61
_SVG_TEXT = re.compile(r"<text ([^>]*)>([^<]*)</text>")
_SVG_LINE = re.compile(r'clip-path="url\(#[^)]*-line-(\d+)\)"')
_SVG_X = re.compile(r'\bx="([\d.]+)"')


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
    app.workspace.query_one(HistoryPane).refresh_rows()
