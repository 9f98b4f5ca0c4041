"""Keys typed ahead during start-up (issue 11, item 2).

Over SSH people type before the first frame arrives. Keys the terminal delivers while the app
starts reach the app's queue before the lazily mounted panes exist; each binding must then be
safe (the app queues them and replays them once every pane is mounted). The keys are posted to
the app before it runs, exactly where the terminal driver puts them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.binding import BindingsMap
from textual.widgets import TabbedContent

from graphtui.tui.app import GraphtuiApp
from graphtui.tui.screens.workspace import FOCUS
from graphtui.tui.widgets.graph_pane import GraphPane, SearchInput
from graphtui.tui.widgets.node_details import NodeDetails
from graphtui.tui.widgets.value_pane import ValuePane

from .conftest import DATA, SIZE, TRAIN, make_app, settle


def every_key() -> list[str]:
    """Every key bound by the app and by the panes' widgets (their merged, inherited bindings),
    plus the keys Textual itself handles (focus movement, the command palette)."""
    keys: list[str] = []
    classes: list[Any] = [GraphtuiApp, GraphPane, SearchInput, NodeDetails, *FOCUS.values()]
    classes.append(ValuePane)  # the value grid's keys are its pane's
    for cls in classes:
        for base in reversed(cls.__mro__):  # inherited bindings first, as Textual merges them
            for key in BindingsMap(base.__dict__.get("BINDINGS", [])).key_to_bindings:
                if key not in keys:
                    keys.append(key)
    return keys + ["tab", "shift+tab", "escape", "ctrl+p", "x", "9", "0"]


def key_event(key: str) -> events.Key:
    char = key if len(key) == 1 else {"space": " ", "enter": "\r"}.get(key)
    return events.Key(key, char)


async def storm(path: Path | str | None, keys: list[str]) -> GraphtuiApp:
    """Start the app on ``path`` with ``keys`` already typed; fail on any exception."""
    app = make_app(path)
    for key in keys:
        app.post_message(key_event(key))
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(len(keys) + 20):  # one key is replayed per refresh
            await settle(pilot)
            if not app.typed_ahead or app.return_code is not None:  # replayed, or exiting
                break
        assert app.typed_ahead == [] or app.return_code is not None
    return app


@pytest.mark.parametrize("key", ["2", "6", "q"])
async def test_a_tab_or_quit_key_typed_during_start_up(key: str) -> None:
    """The reported crash: 2-6 or q within half a second of start (NoMatches / MountError)."""
    app = await storm(TRAIN, [key])
    if key == "q":
        assert app.return_code == 0
    else:
        assert app.workspace.panes_ready


@pytest.mark.parametrize(
    "path",
    [
        TRAIN,
        DATA / "tf2" / "saved_model",
        DATA / "tf2" / "module",
    ],
    ids=["train", "saved_model", "tf2"],
)
async def test_every_key_at_once_during_start_up(path: Path) -> None:
    keys = every_key()
    assert {"1", "6", "8", "q", "slash", "question_mark", "R", "enter"} <= set(keys)
    quit_keys = [k for k in keys if k in ("q", "ctrl+q")]
    app = await storm(path, [k for k in keys if k not in quit_keys] + ["escape"] * 4 + ["q"])
    assert app.return_code in (None, 0)  # 1 after an exception


async def test_typed_ahead_keys_act_in_order_once_the_panes_exist() -> None:
    """Queued, not dropped: `3` then `4` lands on the value tab, as typed."""
    app = make_app(TRAIN)
    for key in ("3", "4"):
        app.post_message(key_event(key))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.workspace.query_one(TabbedContent).active == "value"


async def test_palette_dismissed_while_it_searches() -> None:
    """Found by the key-storm fuzz target (flaky, a race): the palette opened, letters typed,
    then keys that dismiss it while its search worker starts (NoMatches: CommandList)."""
    keys = ["T", "ctrl+p", "8", "Z", "R", "T", "R", "C", "pageup", "escape", "escape", "q"]
    for _ in range(3):
        app = await storm(DATA / "tf2" / "module", keys)
        assert app.return_code in (None, 0)  # 1 after an exception


async def test_typed_ahead_keys_never_stall_behind_a_modal_screen() -> None:
    """Found by the fuzz target (flaky): after ctrl+p and escape the replay waited for a refresh
    that did not come, and every later key queued behind it."""
    keys = ["ctrl+p", "ctrl+shift+a", "v", "right_square_bracket", "8", "n", "escape",
            "ctrl+backspace", "ctrl+a", "U", "0", "ctrl+shift+left", "shift+home", "z", "ctrl+e",
            "alt+backspace", "v", "right_curly_bracket", "ctrl+end", "minus"]  # fmt: skip
    app = await storm(DATA / "tf2" / "module", keys)
    assert app.typed_ahead == []


async def test_a_superseded_history_poll_is_no_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by the key-storm fuzz target under load: a history poll still running when the
    next one starts is cancelled (its group is exclusive), and waiting for every worker raised
    ``WorkerCancelled`` although the app was fine. ``settle`` waits for the others instead."""
    import asyncio
    import threading

    from graphtui.tui.widgets.history_pane import HistoryPane

    app = make_app(TRAIN)
    release = threading.Event()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.workspace.query_one(HistoryPane)
        rescan = app.ws.rescan_history
        monkeypatch.setattr(app.ws, "rescan_history", lambda: release.wait(10) and rescan())
        pane.poll()  # blocks in its thread until released
        await pilot.pause()
        waiting = asyncio.create_task(settle(pilot))  # waits for the blocked poll
        await asyncio.sleep(0.1)
        pane.poll()  # supersedes it while settle waits: Textual cancels it
        release.set()
        await waiting  # raised WorkerCancelled
        assert app.return_code in (None, 0)  # 1 after an exception


async def test_a_replayed_key_overtaken_by_the_next_replay_keeps_its_place() -> None:
    """Seen in the real terminal at load 6: `/` then `kernel/read` showed `ernel/readk`. Keys
    held for the search box are replayed one per refresh, or after 0.25 s when no refresh
    comes; under load the timer posted `e` before the replayed `k` had been handled, and `k`,
    arriving while keys still waited, was taken for a new key and queued behind them. Here the
    timer's replay is made to come first, as it did there."""
    app = make_app(TRAIN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await settle(pilot)
        assert isinstance(app.focused, SearchInput)
        app._typed_ahead = [key_event(k) for k in "kernel"]
        app._replay_typed_ahead()  # `k` posted...
        app._replaying = None  # ...and the 0.25 s timer's replay comes before it is handled
        app._replay_typed_ahead()  # `e` posted behind it
        for _ in range(20):
            await settle(pilot)
            if not app.typed_ahead:
                break
        assert app.workspace.query_one(SearchInput).value == "kernel"


async def test_a_replayed_key_arriving_while_keys_are_held_goes_first() -> None:
    """The same race with `/` replayed: the timer's replay of `k` is posted before the `/` is
    handled, so `k` arrives while the keys are held for the search box; it was queued behind
    the keys typed after it. It goes back to the front, and the box reads `ke`."""
    app = make_app(TRAIN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app._typed_ahead = [key_event(k) for k in ("slash", "k", "e")]
        app._replay_typed_ahead()  # `/` posted...
        app._replaying = None  # ...and the timer's replay of `k` comes before it is handled
        app._replay_typed_ahead()
        for _ in range(20):
            await settle(pilot)
            if not app.typed_ahead:
                break
        assert app.workspace.query_one(SearchInput).value == "ke"
