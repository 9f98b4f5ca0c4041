"""The app on a URL: the header names it, values are fetched off the UI thread, the header
says while a range is in flight, and Esc cancels the fetch."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from textual.worker import WorkerCancelled

import graphtui
from graphtui.core.workspace import open_workspace
from graphtui.formats import remote as remote_mod
from graphtui.tui.app import GraphtuiApp
from graphtui.tui.widgets.value_view import TensorGrid
from tests.remote.conftest import FIXTURES, Remote
from tests.tui.conftest import SIZE
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
        assert app.open_value("model/layer_1/dense/kernel")
        await settle(pilot)
        grid = app.query_one(TensorGrid)
        want = graphtui.load_checkpoint(str(FIXTURES / "train")).get_tensor(
            "model/layer_1/dense/kernel"
        )
        got = [[grid.element(r, c) for c in range(want.shape[1])] for r in range(want.shape[0])]
        assert np.array_equal(np.array(got, dtype=want.dtype), want)
    app.ws.close()


async def test_esc_cancels_a_slow_fetch(http_remote: Remote) -> None:
    url = http_remote.url("slow/train/model.ckpt-50")
    app = GraphtuiApp(open_workspace(url))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        before = app.value_key
        assert app.open_value("model/layer_1/dense/kernel")
        deadline = time.monotonic() + 5
        while remote_mod.STATS.in_flight()[0] == 0 and time.monotonic() < deadline:
            await pilot.pause(0.05)
        await pilot.pause(0.3)  # the header's poll
        assert "fetching" in app.sub_title and "esc cancels" in app.sub_title
        await pilot.press("escape")
        await settle(pilot)
        assert remote_mod.STATS.in_flight() == (0, 0)
        await pilot.pause(0.3)  # the header's poll
        assert "fetching" not in app.sub_title
        assert app.value_key == before  # nothing half-shown
        assert any("cancelled" in str(n.message) for n in app._notifications)
    app.ws.close()
