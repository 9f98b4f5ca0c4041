"""The app while its warm-up builds the graph's indexes (graphtui/tui/warm_up.py): a key never
waits for a whole-graph index on the UI thread, the GIL is shared with a short switch interval,
and what the warm-up built is frozen out of the collector's way, then freed with its workspace.

Speed itself is measured in bench/warmup_latency.py (keystroke to paint on the 1,000,000-node
graph); these tests check the behaviour that makes it."""

from __future__ import annotations

import contextlib
import gc
import os
import shutil
import sys
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from graphtui.core.graph import GraphIndex
from graphtui.core.variables import VariableTable
from graphtui.core.workspace import open_workspace
from graphtui.tui import warm_up as warm_up_module
from graphtui.tui.widgets.node_details import NodeDetails

from .conftest import DATA, SIZE, TRAIN, make_app, settle
from .test_app import details_text

VARIABLE = "model/layer_1/dense/kernel"


class HeldWarmUp:
    """The app's warm-up held before its first step until :meth:`go` (the test stands for a
    graph whose indexes take seconds to build)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        real = warm_up_module.warm_up

        def held(graph: GraphIndex, cancelled: Callable[[], bool]) -> bool:
            self.started.set()
            assert self.release.wait(30)
            return real(graph, cancelled)

        monkeypatch.setattr(warm_up_module, "warm_up", held)

    def go(self) -> None:
        self.release.set()


def _builders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the threads that build a VariableTable from now on."""
    threads: list[str] = []
    build = VariableTable._build

    def recording(self: VariableTable) -> None:
        threads.append(threading.current_thread().name)
        build(self)

    monkeypatch.setattr(VariableTable, "_build", recording)
    return threads


async def test_a_variable_shown_during_the_warm_up_waits_for_its_facts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a 1,000,000-node graph the variable table is ~10 s of the warm-up: the details of a
    variable shown before it is built say so instead of building it on the UI thread."""
    held = HeldWarmUp(monkeypatch)
    builders = _builders(monkeypatch)
    app = make_app(TRAIN)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert held.started.wait(10)
        assert app.workspace.jump_to_node(VARIABLE)
        await pilot.pause()
        details = app.workspace.query_one(NodeDetails)
        assert details.path == VARIABLE and not app.workspace.indexes_built
        text = details_text(app)
        assert "Variable (indexing the graph…)" in text and "VariableV2" in text
        assert builders == []  # nothing built it, on any thread
        held.go()
        await settle(pilot)
        assert app.workspace.indexes_built
        text = details_text(app)
        assert "indexing the graph" not in text and "trainable" in text  # the facts, now
        assert len(builders) == 1 and builders[0] != threading.main_thread().name


def test_a_table_asked_for_by_two_threads_is_built_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The warm-up and a pane's worker (the Variables pane's join) both want the variable
    table: the second waits for the first one's instead of building its own."""
    graph = GraphIndex.from_file(next(TRAIN.glob("*.meta")))
    builders = _builders(monkeypatch)
    inside, leave = threading.Event(), threading.Event()
    build = VariableTable._build

    def slow(self: VariableTable) -> None:
        inside.set()
        assert leave.wait(10)
        build(self)

    monkeypatch.setattr(VariableTable, "_build", slow)
    tables: list[VariableTable] = []
    first = threading.Thread(target=lambda: tables.append(VariableTable.of(graph)))
    second = threading.Thread(target=lambda: tables.append(VariableTable.of(graph)))
    first.start()
    assert inside.wait(10)
    second.start()
    second.join(0.2)
    assert second.is_alive()  # waiting for the first build
    leave.set()
    first.join(10)
    second.join(10)
    assert len(tables) == 2 and tables[0] is tables[1]
    assert len(builders) == 1  # one build (`slow` wraps the recording one)
    assert VariableTable.of(graph) is tables[0]


def test_the_switch_interval_is_short_while_a_warm_up_runs() -> None:
    before = sys.getswitchinterval()
    with warm_up_module.ui_first():
        assert sys.getswitchinterval() == min(before, warm_up_module.SWITCH_INTERVAL)
        with warm_up_module.ui_first():  # a second screen's warm-up
            pass
        assert sys.getswitchinterval() == min(before, warm_up_module.SWITCH_INTERVAL)
    assert sys.getswitchinterval() == before


def test_a_cancelled_warm_up_stops_between_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    graph = GraphIndex.from_file(next(TRAIN.glob("*.meta")))
    ran: list[int] = []
    steps = [lambda i=i: ran.append(i) for i in range(5)]
    monkeypatch.setattr(warm_up_module, "steps", lambda _graph: steps)
    assert not warm_up_module.warm_up(graph, lambda: len(ran) >= 2)
    assert ran == [0, 1]
    assert warm_up_module.warm_up(graph, lambda: False) and ran == [0, 1, 0, 1, 2, 3, 4]


async def test_indexes_are_frozen_and_a_replaced_workspace_is_freed() -> None:
    """The warm-up freezes what it built (no full collection on the UI thread: ~0.5 s on a
    1M-node graph); the workspace that the next one replaces is collected then."""
    app = make_app(TRAIN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.workspace.indexes_built and gc.get_freeze_count() > 0
        old: Any = weakref.ref(app.ws.graph)
        other = next(iter(sorted((DATA / "tf2").glob("*.meta"))), None) or next(
            TRAIN.glob("*.meta")
        )
        await app.switch_workspace(open_workspace(str(other)))
        await settle(pilot)
        # the old panes' cancelled timers (History: every 5 s) stay in the event loop, with
        # their context, until their time: the old workspace goes then, never frozen
        for _ in range(100):
            gc.collect()  # frozen objects are out of its reach: a leak would stay
            if old() is None:
                break
            await pilot.pause(0.1)
        assert old() is None  # its cycles (views cached on the index) collected
        warm_up_module.freeze_alive()
        assert not warm_up_module._closed  # forgotten once freed: freezing goes on


def _open_metas(folder: Path) -> list[str]:
    """The .meta files under ``folder`` this process has a descriptor open on."""
    out = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/self/fd/{fd}")
            if target.endswith(".meta") and target.startswith(str(folder)):
                out.append(target)
    return out


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
async def test_switching_files_leaves_one_graph_file_open(tmp_path: Path) -> None:
    """Each local binary .meta is kept open once its warm-up let its bytes go (nodes are read
    back from it); a workspace replaced, or the app's end, closes it."""
    copies = []
    for i in range(3):
        folder = tmp_path / f"copy{i}"
        shutil.copytree(TRAIN, folder)
        copies.append(next(folder.glob("*.meta")))
    assert _open_metas(tmp_path) == []
    app = make_app(copies[0])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert _open_metas(tmp_path) == [str(copies[0])]
        for meta in [*copies[1:], copies[0]]:
            await app.switch_workspace(open_workspace(str(meta)))
            await settle(pilot)
            assert app.ws.graph is not None and app.ws.graph._table is not None
            assert app.ws.graph._table.released  # read back from the file kept open
            assert _open_metas(tmp_path) == [str(meta)]  # the one replaced is closed
        ws = app.ws
    ws.close()  # as run_app does when the app ends
    assert _open_metas(tmp_path) == []


def test_a_warm_up_gives_way_for_a_moment_after_each_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """In the warm-up's thread, every node read back (and every step) waits until no key came
    for QUIET seconds; any other thread (the UI's) never waits. A fake clock: no timing."""
    from types import SimpleNamespace

    from graphtui.formats import node_bytes

    clock = [1000.0]
    naps: list[float] = []

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        clock[0] += seconds

    monkeypatch.setattr(
        warm_up_module, "time", SimpleNamespace(monotonic=lambda: clock[0], sleep=sleep)
    )
    warm_up_module.key_pressed()
    warm_up_module.give_way()
    assert naps == []  # not a warm-up's thread
    with warm_up_module.ui_first():
        assert node_bytes._pace is warm_up_module.give_way  # every NodeBytes.read calls it
        warm_up_module.give_way()
        assert warm_up_module.QUIET <= sum(naps) < warm_up_module.QUIET + 0.05
        naps.clear()
        warm_up_module.give_way()  # no key since: no wait
        assert naps == []
    assert node_bytes._pace is None


async def test_every_key_the_app_receives_is_noted_for_the_warm_up() -> None:
    app = make_app(TRAIN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        before = warm_up_module._last_key
        await pilot.press("down")
        assert warm_up_module._last_key > before


def test_freeze_alive_leaves_a_replaced_workspace_to_the_collector(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What the UI freezes later (a pane's first showing, a big scope's tree lines) never takes
    a replaced workspace with it before the next warm-up collected it."""
    monkeypatch.setattr(warm_up_module, "_closed", [])

    class Workspace:
        me: object = None

    ws = Workspace()
    ws.me = ws  # a cycle: only the collector frees it
    ref = weakref.ref(ws)
    warm_up_module.workspace_closed(ws)
    del ws
    warm_up_module.freeze_alive()
    gc.collect()
    assert ref() is None
    monkeypatch.setattr(warm_up_module, "_closed", [])  # nothing waits: what is alive is frozen
    kept = [[] for _ in range(100)]
    before = gc.get_freeze_count()
    warm_up_module.freeze_alive()
    assert gc.get_freeze_count() >= before + len(kept)


async def test_a_pane_shown_the_first_time_is_frozen_once_drawn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A pane's first showing builds what it keeps; it is frozen out of the collector's way
    (its full passes land in later tab switches), once per tab."""
    monkeypatch.setattr(warm_up_module, "_closed", [])
    app = make_app(TRAIN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        frozen = []
        monkeypatch.setattr(
            "graphtui.tui.screens.workspace.freeze_alive",
            lambda: frozen.append(app.workspace.active_tab),
        )
        for key in "3131":
            await pilot.press(key)
            await settle(pilot)
        assert frozen == ["variables", "graph"]
