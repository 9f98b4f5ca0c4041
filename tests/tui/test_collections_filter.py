"""The Collections pane's ``/`` filter describes (decodes) items in a thread worker: the UI
thread answers keys meanwhile, a later keystroke cancels the earlier filter, and only the last
one's result is shown (graphtui/tui/widgets/collections_pane.py; the matching itself is
graphtui.core.collections.filter_collections)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from textual.widgets import Input

from graphtui.core.collections import CollectionTable, describe_item, filter_collections
from graphtui.core.graph import GraphIndex, name_matcher
from graphtui.tui.widgets import collections_pane
from graphtui.tui.widgets.collections_pane import CollectionsTree

from .conftest import SIZE, TRAIN, make_app, settle


def _keys(tree: CollectionsTree) -> list[str]:
    return [n.data[1] for n in tree.root.children if n.data]


async def test_the_filter_runs_in_a_worker_and_keys_are_answered_meanwhile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []  # the thread of each filter run
    hold = threading.Event()
    real = collections_pane.filter_collections

    def held(
        table: CollectionTable,
        match: Callable[[str], bool],
        texts: dict[str, list[str]],
        cancelled: Callable[[], bool],
    ) -> Any:
        calls.append(threading.current_thread().name)
        assert hold.wait(10)
        return real(table, match, texts, cancelled)

    monkeypatch.setattr(collections_pane, "filter_collections", held)
    app = make_app(TRAIN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        tree = app.workspace.query_one(CollectionsTree)
        everything = _keys(tree)
        await pilot.press("slash", *"layer_1")
        await pilot.pause()
        box = app.workspace.query_one("#collections-filter", Input)
        assert box.value == "layer_1"  # every key answered while the first filters were held
        assert tree.filtering and _keys(tree) == []
        assert "Filtering" in str(tree.root.children[0].label)
        await pilot.press("0")  # one more key while held: handled, and it supersedes
        await pilot.pause()
        assert box.value == "layer_10"
        for _ in range(100):  # the workers' threads start on their own time
            if calls:
                break
            await pilot.pause(0.05)
        assert calls and threading.main_thread().name not in calls
        hold.set()
        await settle(pilot)
        assert not tree.filtering
        keys = _keys(tree)
        assert 0 < len(keys) < len(everything) and "trainable_variables" in keys
        trainable = next(
            n for n in tree.root.children if n.data == ("collection", "trainable_variables")
        )
        items = [str(c.label.plain) for c in trainable.children]
        assert items and all("layer_10" in x for x in items)  # the last pattern's result only
        await pilot.press("escape")  # clears the filter: every collection, no worker
        await settle(pilot)
        assert _keys(tree) == everything and not tree.filtering


def test_filter_matches_a_describe_of_every_item_and_can_be_cancelled() -> None:
    graph = GraphIndex.from_file(next(TRAIN.glob("*.meta")))
    table = CollectionTable.of(graph)
    for pattern in ("layer_1", "kernel", "*Adam*", "variables", "zzz"):
        match = name_matcher(pattern)
        texts: dict[str, list[str]] = {}
        hits = filter_collections(table, match, texts, lambda: False)
        assert hits is not None
        want = {}
        for key in table.keys():  # noqa: SIM118
            if match(key):
                want[key] = None
                continue
            found = [i for i, item in enumerate(table[key].items) if match(describe_item(item))]
            if found:
                want[key] = found
        assert hits == want, pattern
        assert filter_collections(table, match, texts, lambda: False) == want  # from the texts
    asked = []

    def after_two() -> bool:
        asked.append(1)
        return len(asked) > 2

    assert filter_collections(table, name_matcher("zzz"), {}, after_two) is None
