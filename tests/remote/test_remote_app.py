"""The app on a URL: the header names it, values are fetched off the UI thread, the header
says while a range is in flight, and Esc cancels the fetch."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from textual.worker import WorkerCancelled

import graphtui
from graphtui.core.workspace import open_workspace
from graphtui.formats import remote as remote_mod
from graphtui.tui.app import GraphtuiApp
from graphtui.tui.widgets.value_view import TensorGrid
from tests.remote.conftest import FIXTURES, Remote
from tests.tui.conftest import SIZE, record_notifications
from tests.tui.conftest import settle as _settle


async def settle(pilot: Any) -> None:
    """tests/tui's settle, again when an exclusive worker was replaced (cancelled) by a newer
    one while it waited (seen once under load: WorkerCancelled from wait_for_complete)."""
    for _ in range(5):
        try:
            await _settle(pilot)
            return
        except WorkerCancelled:
            continue
    await _settle(pilot)


async def test_app_on_a_bucket_shows_the_url_and_values(remote: Remote) -> None:
    url = remote.url("train")
    app = GraphtuiApp(open_workspace(url))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.sub_title.startswith(url)
        assert "ckpt model.ckpt-50" in app.sub_title
        assert app.workspace.open_value("model/layer_1/dense/kernel")
        await settle(pilot)
        grid = app.workspace.query_one(TensorGrid)
        want = graphtui.load_checkpoint(str(FIXTURES / "train")).get_tensor(
            "model/layer_1/dense/kernel"
        )
        got = [[grid.element(r, c) for c in range(want.shape[1])] for r in range(want.shape[0])]
        assert np.array_equal(np.array(got, dtype=want.dtype), want)
    app.ws.close()


@pytest.mark.parametrize("key", ["escape", "ctrl+c"])
async def test_esc_cancels_a_slow_fetch(http_remote: Remote, key: str) -> None:
    url = http_remote.url("slow/train/model.ckpt-50")
    app = GraphtuiApp(open_workspace(url))
    said = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        before = app.workspace.value_pane.key
        assert app.workspace.open_value("model/layer_1/dense/kernel")
        deadline = time.monotonic() + 5
        while remote_mod.STATS.in_flight()[0] == 0 and time.monotonic() < deadline:
            await pilot.pause(0.05)
        await pilot.pause(0.3)  # the header's poll
        assert "fetching" in app.sub_title and "esc cancels" in app.sub_title
        first = app.sub_title
        await pilot.pause(0.45)
        assert app.sub_title != first and "fetching" in app.sub_title  # the spinner turns
        await pilot.press(key)
        await settle(pilot)
        # the slow range (5 s at the server) is gone at once; the History pane's poll of the
        # state file (every 3 s) may show for a moment, so wait for a quiet header, < 3 s
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and (
            remote_mod.STATS.in_flight() != (0, 0) or "fetching" in app.sub_title
        ):
            await pilot.pause(0.1)
        assert remote_mod.STATS.in_flight() == (0, 0)
        assert "fetching" not in app.sub_title
        assert app.workspace.value_pane.key == before  # nothing half-shown
        assert any("cancelled" in note for note in said)
    app.ws.close()


@pytest.mark.tmux
@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_graphtui_on_a_bucket_in_a_real_terminal(gcs_remote: Remote, tmp_path: Path) -> None:
    """The issue's `graphtui gs://bucket/run`: the installed app in tmux, against the GCS
    emulator, shows the URL in its header and the run's latest checkpoint, and quits."""
    from tests.tui.test_tmux import _start

    url = gcs_remote.url("train")
    term, status = _start(tmp_path, url)  # type: ignore[arg-type]
    try:
        screen = term.wait_for("ckpt model.ckpt-50", timeout=60)
        assert url in screen, screen
        term.keys("3")
        screen = term.wait_for("30 variables")
        assert "model/layer_1/dense/kernel" in screen
        term.keys("q")
        deadline = time.monotonic() + 20
        while term.alive() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert status.read_text().strip() == "0"
    finally:
        term.tmux("kill-server", check=False)
