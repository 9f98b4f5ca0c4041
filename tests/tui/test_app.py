"""Pilot tests: every pane of the app, driven by keys, on fixtures written by real TensorFlow."""

from __future__ import annotations

import gc
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from textual.widgets import Input, TabbedContent

from graphtui.core.checkpoint import load_checkpoint
from graphtui.core.scopes import ScopeTree
from graphtui.core.variables import VariableTable
from graphtui.tui.app import GraphtuiApp
from graphtui.tui.screens.dialogs import ErrorDialog, ExportDialog
from graphtui.tui.screens.help import HelpScreen
from graphtui.tui.widgets.collections_pane import CollectionsTree
from graphtui.tui.widgets.graph_pane import GraphPane
from graphtui.tui.widgets.history_pane import DiffPane, HistoryPane
from graphtui.tui.widgets.node_details import NodeDetails
from graphtui.tui.widgets.node_tree import NodeTree
from graphtui.tui.widgets.value_pane import ValuePane
from graphtui.tui.widgets.value_view import TensorGrid
from graphtui.tui.widgets.variables_pane import VariablesPane

from .conftest import DATA, SIZE, TRAIN, make_app, screen_text, settle


def tab(app: GraphtuiApp) -> str:
    return str(app.workspace.query_one(TabbedContent).active)


def details_text(app: GraphtuiApp) -> str:
    details = app.workspace.query_one(NodeDetails)
    prompts = [details.get_option_at_index(i).prompt for i in range(details.option_count)]
    return "\n".join(getattr(p, "plain", str(p)) for p in prompts)


def labels(node: object) -> list[str]:
    return [str(child.label.plain).split("  ")[0] for child in node.children]  # type: ignore[attr-defined]


# -- graph tree -----------------------------------------------------------------------------------


async def test_tree_is_lazy_with_counts_and_natural_order() -> None:
    app = make_app(TRAIN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        tree = app.workspace.query_one(NodeTree)
        scopes = ScopeTree.of(app.ws.graph)  # type: ignore[arg-type]
        top = scopes.children("")
        assert labels(tree.root) == [e.name + ("/" if e.is_scope else "") for e in top]
        assert len(tree._loading) == 1  # only the root's children exist
        model = next(n for n in tree.root.children if n.data and n.data.path == "model")
        assert "166 nodes" in model.label.plain
        assert f"{scopes.param_count('model', kind='model')} params" in model.label.plain
        tree.move_cursor(model)
        await pilot.press("space")
        await settle(pilot)
        assert model.is_expanded and len(tree._loading) == 2
        assert labels(model) == ["layer_1/", "layer_2/", "layer_10/"]
        assert tree.loaded_all()
        # a node shows its op
        node = tree.find("model/layer_1/dense/kernel/read")
        assert node is not None and node.label.plain.endswith("Identity")


async def test_big_scope_loads_in_chunks(tmp_path: Path) -> None:
    from graphtui._proto import pb
    from graphtui.core.graph import GraphIndex
    from graphtui.core.workspace import Workspace

    meta = pb.MetaGraphDef()
    for i in range(2500):
        node = meta.graph_def.node.add()
        node.name = f"wide/n_{i}"
        node.op = "NoOp"
    app = GraphtuiApp(Workspace(str(tmp_path), graph=GraphIndex(meta)))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        tree = app.workspace.query_one(NodeTree)
        wide = tree.root.children[0]
        steps: list[tuple[int, str]] = []
        load_more = tree._load_more

        def recording(node: object, **kwargs: object) -> None:
            load_more(node, **kwargs)  # type: ignore[arg-type]
            state = tree._loading[node.id]  # type: ignore[attr-defined]
            steps.append((state.done, str(node.children[-1].label.plain)))  # type: ignore[attr-defined]

        tree._load_more = recording  # type: ignore[method-assign]
        tree.move_cursor(wide)
        await pilot.press("space")
        for _ in range(50):
            await pilot.pause(0.02)
            if tree.loaded_all():
                break
        # the first chunk at once, the rest in chunks on later turns behind a placeholder
        assert [done for done, _ in steps] == [200, 1200, 2200, 2500]
        assert all("more (loading)" in last for _, last in steps[:-1])
        assert tree.loaded_all() and len(wide.children) == 2500
        assert labels(wide)[:3] == ["n_0", "n_1", "n_2"] and labels(wide)[-1] == "n_2499"
        # revealing a node deep in a scope that is not loaded yet loads only up to it
        assert tree.reveal("wide/n_2499")
        assert tree.cursor_path == "wide/n_2499"


async def test_a_huge_scope_loads_further_as_it_is_scrolled_into_view(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past AUTO_LIMIT children a branch stops loading on its own (every chunk makes Textual's
    Tree index all its lines again: a scope of 166,670 nodes took the UI thread for minutes);
    its next chunk comes when its "more" row is drawn."""
    from graphtui._proto import pb
    from graphtui.core.graph import GraphIndex
    from graphtui.core.workspace import Workspace
    from graphtui.tui.widgets import lazy_tree

    monkeypatch.setattr(lazy_tree, "AUTO_LIMIT", 1200)
    meta = pb.MetaGraphDef()
    names = [f"save/Assign_{i}" for i in range(4000)] + ["save/RestoreV2", "save/RestoreV2/x"]
    for name in names:
        meta.graph_def.node.add(name=name, op="NoOp")
    app = GraphtuiApp(Workspace(str(tmp_path), graph=GraphIndex(meta)))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        tree = app.workspace.query_one(NodeTree)
        save = tree.root.children[0]
        steps: list[int] = []
        load_more = tree._load_more

        def recording(node: object, **kwargs: object) -> None:
            load_more(node, **kwargs)  # type: ignore[arg-type]
            steps.append(tree._loading[node.id].done)  # type: ignore[attr-defined]

        tree._load_more = recording  # type: ignore[method-assign]
        tree.move_cursor(save)
        await pilot.press("space")
        await settle(pilot)
        for _ in range(20):  # auto-loading stops at the limit, whatever the time given
            await pilot.pause(0.02)
        assert steps == [lazy_tree.FIRST_CHUNK, 1200]  # the first screenful at once
        assert len(save.children) == 1200 + 1 and not tree.loaded_all()
        assert save.children[-1].label.plain == "… 2,801 more (loaded as you scroll)"
        listed = ScopeTree.of(app.ws.graph).children("save")  # type: ignore[arg-type]
        want = [e.name + ("/" if e.is_scope else "") for e in listed]
        assert want[:3] == ["RestoreV2/", "Assign_0", "Assign_1"]
        assert labels(save)[:-1] == want[:1200]
        await pilot.press("end")  # the "more" row comes into view: the next chunk is added
        for _ in range(20):
            await pilot.pause(0.02)
            if len(save.children) > 1201:
                break
        assert steps == [lazy_tree.FIRST_CHUNK, 1200, 2200]
        assert len(save.children) == 2200 + 1 and labels(save)[:-1] == want[:2200]
        assert save.children[-1].label.plain == "… 1,801 more (loaded as you scroll)"
        assert tree.reveal("save/Assign_3999")  # a link loads up to its target
        assert tree.cursor_path == "save/Assign_3999" and tree.loaded_all()


# -- search ---------------------------------------------------------------------------------------


async def test_search_substring_glob_and_next_previous() -> None:
    app = make_app(TRAIN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        await pilot.press(*"kernel/re")
        app.workspace.query_one("#search", Input).value = "dense/kernel/read"
        await pilot.pause()
        pane = app.workspace.query_one(GraphPane)
        expected = app.ws.graph.search("dense/kernel/read")  # type: ignore[union-attr]
        assert pane.matches == expected and len(expected) == 3
        assert pane.node_tree.cursor_path == expected[0]
        await pilot.press("enter")
        assert isinstance(app.focused, NodeTree)
        await pilot.press("n")
        assert pane.node_tree.cursor_path == expected[1]
        await pilot.press("n", "n")
        assert pane.node_tree.cursor_path == expected[0]  # wraps around
        await pilot.press("N")
        assert pane.node_tree.cursor_path == expected[2]
        assert "3/3" in screen_text(app)
        # a glob matches whole names
        await pilot.press("slash")
        app.workspace.query_one("#search", Input).value = "model/*/kernel"
        await pilot.pause()
        names = pane.matches
        assert names and all(n.startswith("model/") and n.endswith("/kernel") for n in names)
        assert names == app.ws.graph.search("model/*/kernel")  # type: ignore[union-attr]
        await pilot.press("end", "z")
        assert pane.matches == [] and "no match" in screen_text(app)
        await pilot.press("escape")
        assert isinstance(app.focused, NodeTree)


# -- node details ---------------------------------------------------------------------------------


async def test_details_follow_links_and_come_back() -> None:
    app = make_app(TRAIN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.workspace.query_one(GraphPane)
        assert app.workspace.jump_to_node("model/layer_1/dense/kernel/read")
        await settle(pilot)
        details = app.workspace.query_one(NodeDetails)
        assert details.path == "model/layer_1/dense/kernel/read"
        text = screen_text(app)
        assert "op Identity" in text and "Inputs (1)" in text and "Consumers" in text
        # put the cursor on the first input link and follow it
        details.focus()
        links = [
            i
            for i in range(details.option_count)
            if details.link_of(details.get_option_at_index(i).id)
        ]
        details.highlighted = links[0]
        await pilot.press("enter")
        await settle(pilot)
        assert pane.node_tree.cursor_path == "model/layer_1/dense/kernel"
        assert details.path == "model/layer_1/dense/kernel"
        await pilot.press("backspace")
        await settle(pilot)
        assert pane.node_tree.cursor_path == "model/layer_1/dense/kernel/read"


async def test_details_of_a_variable_and_a_const() -> None:
    app = make_app(TRAIN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.workspace.jump_to_node("model/layer_1/dense/kernel")
        await settle(pilot)
        text = details_text(app)
        var = VariableTable.of(app.ws.graph).get("model/layer_1/dense/kernel")  # type: ignore[arg-type]
        assert "─ Variable" in text and "trainable yes" in text
        assert f"checkpoint key {var.checkpoint_key}" in text
        first = load_checkpoint(TRAIN / "model.ckpt-50").get_tensor(var.checkpoint_key).ravel()[0]
        assert f"{first:.4g}"[:5] in text  # the value preview
        assert "─ Collections" in text and "trainable_variables" in text
        const = next(n for n in app.ws.graph.nodes_with_op("Const") if n.startswith("Adam/"))  # type: ignore[union-attr]
        app.workspace.jump_to_node(const)
        await settle(pilot)
        assert "value = " in details_text(app)
        # v on a variable node opens its value
        app.workspace.jump_to_node("model/layer_2/dense/bias")
        await pilot.press("v")
        await settle(pilot)
        assert tab(app) == "value" and app.workspace.value_pane.key == "model/layer_2/dense/bias"


# -- collections ----------------------------------------------------------------------------------


async def test_collections_kinds_items_and_jump() -> None:
    app = make_app(TRAIN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2")
        assert tab(app) == "collections"
        tree = app.workspace.query_one(CollectionsTree)
        text = screen_text(app)
        assert "trainable_variables  bytes_list  6 items" in text
        assert "my_floats  float_list  3 items" in text
        app.workspace.show_collection("trainable_variables")
        await settle(pilot)
        node = tree.cursor_node
        assert node is not None and node.is_expanded and len(node.children) == 6
        tree.move_cursor(node.children[0])
        await pilot.press("enter")
        await settle(pilot)
        assert tab(app) == "graph"
        assert app.workspace.query_one(GraphPane).node_tree.cursor_path == node.children[0].data[1]


async def test_collections_pane_decodes_no_whole_collection_on_the_ui_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 17.1: the pane lists every collection and its items without decoding whole
    collections on the UI thread (a 1M-node graph's 333,000 VariableDefs took 0.86 s there,
    before the first frame); items decode as the tree adds them."""
    from graphtui.core import collections

    on_ui: list[str] = []
    decode = collections.decode_collection

    def recording(key: str, coll: Any) -> Any:
        if threading.current_thread() is threading.main_thread():
            on_ui.append(key)
        return decode(key, coll)

    monkeypatch.setattr(collections, "decode_collection", recording)
    app = make_app(TRAIN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2")
        app.workspace.show_collection("trainable_variables")
        await settle(pilot)
        text = screen_text(app)
        assert "trainable_variables  bytes_list  6 items  VariableDef" in text
        assert "VariableDef(model/layer_1/dense/kernel:0)" in text
        assert on_ui == []


# -- variables ------------------------------------------------------------------------------------


async def test_variables_table_sort_slots_and_stats() -> None:
    app = make_app(TRAIN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("3")
        pane = app.workspace.query_one(VariablesPane)
        rows = app.ws.variables()
        assert [r.name for r in pane.rows] == [r.name for r in rows]
        assert pane.table.row_count == len(rows)
        await pilot.press("o")
        assert pane.rows and not any(r.is_slot for r in pane.rows)
        assert len(pane.rows) == sum(1 for r in rows if not r.is_slot)
        await pilot.press("s")  # params, biggest first
        assert pane.sort == "params"
        params = [r.params for r in pane.rows]
        assert params == sorted(params, reverse=True)
        await pilot.press("r")
        assert [r.params for r in pane.rows] == sorted(params)
        await pilot.press("o", "T")
        await settle(pilot)
        prefix = app.ws.active_prefix or ""
        with_key = [r for r in pane.rows if r.key]
        assert all((prefix, r.key) in pane.stats for r in with_key)
        reader = load_checkpoint(prefix)
        r0 = with_key[0]
        assert pane.stats[(prefix, r0.key)].mean == pytest.approx(
            float(reader.get_tensor(r0.key).astype(np.float64).mean())
        )
        # Enter opens the value of the highlighted row
        pane.table.move_cursor(row=pane.rows.index(r0))
        await pilot.press("enter")
        await settle(pilot)
        assert tab(app) == "value" and app.workspace.value_pane.key == r0.key


def _held_join(monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event, threading.Event]:
    """The workspace's joins wait for the second event (set by the test) once they have
    started, which the first one says: what a slow join of 20,000 variables does."""
    from graphtui.core import workspace

    started, release = threading.Event(), threading.Event()
    join = workspace.join_variables

    def held(*args: Any, **kwargs: Any) -> Any:
        started.set()
        assert release.wait(10)
        return join(*args, **kwargs)

    monkeypatch.setattr(workspace, "join_variables", held)
    return started, release


async def test_variables_pane_opens_at_once_and_fills_from_a_join_worker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 17.3: the very first open does not wait for the graph-checkpoint join (186 ms for
    20,000 variables, on the UI thread before): a loading line at once, the rows when the
    worker is done, and the app answers keys meanwhile."""
    started, release = _held_join(monkeypatch)
    app = make_app(TRAIN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await pilot.pause()
        pane = app.workspace.query_one(VariablesPane)
        assert started.wait(5) and pane.joining and pane.rows == []
        assert "Joining the variables with model.ckpt-50 …" in screen_text(app)
        await pilot.press("s", "1")  # keys act while the join runs
        assert tab(app) == "graph" and pane.sort == "params"
        await pilot.press("3")
        release.set()
        await settle(pilot)
        rows = app.ws.variables()
        assert not pane.joining and pane.rows
        assert sorted(r.name for r in pane.rows) == sorted(r.name for r in rows)
        assert [r.params for r in pane.rows] == sorted((r.params for r in rows), reverse=True)
        assert "Joining" not in screen_text(app) and f"{len(rows)} variables" in screen_text(app)


async def test_variables_join_overtaken_by_another_checkpoint_is_never_shown(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A join still running when another checkpoint becomes active is cancelled: the pane
    shows the new checkpoint's join only."""
    from graphtui.formats.bundle_writer import BundleWriter
    from graphtui.formats.transaction import FileTransaction

    other = str(tmp_path / "only_step")
    with FileTransaction() as txn:
        writer = BundleWriter(other, txn)
        writer.add("global_step", np.array(7, np.int64))
        writer.finish()
    started, release = _held_join(monkeypatch)
    app = make_app(TRAIN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await pilot.pause()
        pane = app.workspace.query_one(VariablesPane)
        assert started.wait(5) and pane.joining
        assert app.workspace.activate_checkpoint(other)
        await pilot.pause()
        assert "Joining the variables with only_step …" in screen_text(app)
        release.set()
        await settle(pilot)
        statuses = {r.name: r.status for r in pane.rows}
        assert statuses["global_step"] == "ok"
        assert statuses["model/layer_1/dense/kernel"] == "graph-only"
        assert statuses == {r.name: r.status for r in app.ws.variables()}
        assert "only_step" in screen_text(app) and "Joining" not in screen_text(app)


async def test_variables_without_graph_start_the_app_there() -> None:
    app = make_app(TRAIN / "model.ckpt-40")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert tab(app) == "variables"
        assert "No graph" in details_text(app)
        pane = app.workspace.query_one(VariablesPane)
        assert {r.key for r in pane.rows} == set(load_checkpoint(TRAIN / "model.ckpt-40").names())


# -- value view -----------------------------------------------------------------------------------


def _write(prefix: Path, tensors: dict[str, np.ndarray]) -> str:
    from graphtui.formats.bundle_writer import BundleWriter
    from graphtui.formats.transaction import FileTransaction

    with FileTransaction() as txn:
        writer = BundleWriter(prefix, txn)
        for name, arr in tensors.items():
            writer.add(name, arr)
        writer.finish()
    return str(prefix)


async def test_value_view_pages_a_big_tensor_lazily(tmp_path: Path) -> None:
    big = np.arange(6 * 500 * 300, dtype=np.float32).reshape(6, 500, 300)
    big[5, 499, 299] = np.nan
    _write(tmp_path / "big", {"big": big})
    app = make_app(tmp_path / "big")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.workspace.open_value("big")
        await settle(pilot)
        # statistics come from a worker, over every slice, and match numpy
        stats = app.workspace.value_pane.stats
        assert stats is not None and stats.nan == 1 and stats.count == big.size
        finite = big[np.isfinite(big)].astype(np.float64)
        assert stats.mean == pytest.approx(finite.mean()) and stats.max == finite.max()
        # drawing reads only the blocks on screen
        grid = app.workspace.query_one(TensorGrid)
        value = grid.value
        assert value is not None and value.mapped
        read: list[int] = []
        original = value.read

        def counting(window: tuple[tuple[int, int], ...]) -> np.ndarray:
            out = original(window)
            read.append(out.size)
            return out

        value.read = counting  # type: ignore[method-assign]
        grid.forget_blocks()
        grid.refresh()
        await settle(pilot)
        assert grid.slice_count == 6 and grid.lead == (0,)
        text = screen_text(app)
        assert "big  float32 [6,500,300]" in text and "slice [0, :, :] 1/6" in text
        assert 0 < sum(read) <= 32 * 32 * 2  # a block or two of 32 x 32, not the slice
        await pilot.press("right_square_bracket", "right_square_bracket")
        assert grid.lead == (2,) and "slice [2, :, :] 3/6" in screen_text(app)
        assert f"{big[2, 0, 1]:.5g}" in screen_text(app)
        await pilot.press("left_square_bracket")
        assert grid.lead == (1,)
        read.clear()
        await pilot.press("end")
        await settle(pilot)
        assert f"{big[1, 499, 0]:.5g}" in screen_text(app)
        assert sum(read) <= 32 * 32 * 2
        await pilot.press("right_curly_bracket")
        assert grid.lead == (2,)


async def test_value_view_partitioned_strings_and_scalars() -> None:
    app = make_app(DATA / "partitioned")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.workspace.open_value("embeddings/table")
        await settle(pilot)
        grid = app.workspace.query_one(TensorGrid)
        full = load_checkpoint(DATA / "partitioned" / "model.ckpt").get_tensor("embeddings/table")
        assert [[grid.element(r, c) for c in range(4)] for r in range(10)] == full.tolist()
    app = make_app(DATA / "v1")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.workspace.open_value("v1/names")
        await settle(pilot)
        text = screen_text(app)
        names = load_checkpoint(DATA / "v1" / "model.ckpt-2").get_tensor("v1/names")
        grid = app.workspace.query_one(TensorGrid)
        assert [grid.element(0, c) for c in range(len(names))] == names.tolist()
        assert any(n.decode("utf-8", "replace") in text for n in names)
        assert "no statistics for" in text
        app.workspace.open_value("v1/scalar")
        await settle(pilot)
        assert app.workspace.query_one(TensorGrid).grid_shape == (1, 1)


async def test_export_value_to_npy(tmp_path: Path) -> None:
    app = make_app(TRAIN)
    out = tmp_path / "kernel.npy"
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.workspace.open_value("model/layer_2/dense/kernel")
        await settle(pilot)
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ExportDialog)
        box = app.screen.query_one(Input)
        box.value = str(out)
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, ExportDialog)
    want = load_checkpoint(TRAIN / "model.ckpt-50").get_tensor("model/layer_2/dense/kernel")
    np.testing.assert_array_equal(np.load(out), want)


# -- history and diff -----------------------------------------------------------------------------


async def test_history_activates_and_diffs() -> None:
    app = make_app(TRAIN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.workspace.open_value("global_step")
        await settle(pilot)
        assert app.workspace.value_pane.stats is not None and app.workspace.value_pane.stats.mean == 50
        await pilot.press("5")
        history = app.workspace.query_one(HistoryPane)
        assert history.table.row_count == 3
        assert "▶ active latest kept" in screen_text(app)
        await pilot.press("up", "enter")
        await settle(pilot)
        assert app.ws.active_prefix == str(TRAIN / "model.ckpt-40")
        assert app.workspace.value_pane.stats is not None and app.workspace.value_pane.stats.mean == 40  # the value followed
        assert "ckpt model.ckpt-40" in app.sub_title
        await pilot.press("3")
        assert (
            "model.ckpt-40"
            in app.workspace.query_one(VariablesPane).query_one("#variables-summary").render().plain
        )  # type: ignore[attr-defined]
        await pilot.press("5", "up", "d")
        await settle(pilot)
        assert tab(app) == "diff"
        diff = app.workspace.query_one(DiffPane)
        assert diff.prefixes == (str(TRAIN / "model.ckpt-30"), str(TRAIN / "model.ckpt-40"))
        rels = [r.rel_l2 for r in diff.rows if r.status == "changed"]
        assert rels and rels == sorted(rels, reverse=True)
        step = next(r for r in diff.rows if r.name == "global_step")
        assert step.max_abs == 10
        assert diff.query_one("#diff-table").row_count == len(diff.rows)  # type: ignore[attr-defined]


# -- help, palette, errors, environment -----------------------------------------------------------


async def test_help_lists_the_live_bindings() -> None:
    app = make_app(TRAIN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        rows = {(title, row.description) for title, rs in app.screen.sections for row in rs}
        for cls, title in ((NodeTree, "Graph tree (1)"), (ValuePane, "Value (4)")):
            for binding in cls.BINDINGS:
                assert (title, binding.description) in rows  # type: ignore[union-attr]
        assert ("Everywhere", "Search") in rows
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_command_palette_runs_actions() -> None:
    app = make_app(TRAIN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        titles = [t for t, _, _ in app.palette_commands()]
        for wanted in ("Slots", "Stats all", "Diff A → this", "Export", "Next slice", "Help"):
            assert wanted in titles
        assert "Activate checkpoint model.ckpt-30" in titles
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Slots")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
        assert app.workspace.query_one(VariablesPane).hide_slots


async def test_errors_show_in_a_dialog_and_the_app_carries_on(tmp_path: Path) -> None:
    app = make_app(TRAIN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert not app.workspace.activate_checkpoint(str(tmp_path / "missing"))
        await pilot.pause()
        assert isinstance(app.screen, ErrorDialog)
        assert "missing" in app.screen.message
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ErrorDialog)
        await pilot.press("3")
        assert tab(app) == "variables"
        # a corrupt tensor is said in the value pane, not in a dialog: tests/tui/test_truth.py


async def test_readable_at_80x24_and_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(TRAIN)
    assert app.no_color
    assert app.animation_level == "none"
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for key, marker in (
            ("1", "model/"),
            ("2", "trainable_variables"),
            ("3", "status"),
            ("5", "model.ckpt-50"),
            ("4", "No value open"),
        ):
            await pilot.press(key)
            await settle(pilot)
            text = screen_text(app)
            assert marker in text
            assert "? Help" in text and "1 Graph" in text


async def test_demo_opens() -> None:
    app = make_app(None)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.ws.graph is not None and len(app.ws.graph) > 100
        assert "mnist_like/" in screen_text(app)


def test_run_app_reports_bad_path_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from graphtui.tui.app import run_app

    assert run_app(str(tmp_path / "nope")) == 1
    err = capsys.readouterr().err
    assert err.startswith("graphtui: error: ") and err.count("\n") == 1
    assert os.fspath(tmp_path / "nope") in err


def test_launch_opens_in_a_thread_and_reports_bad_input_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``graphtui PATH`` opens the workspace in a thread while the app is imported
    (tui/launch.py): the same workspace as open_workspace, and the same one-line error."""
    from graphtui.core.workspace import open_workspace
    from graphtui.tui.launch import Opening, launch

    opened = Opening(str(TRAIN / "model.ckpt-50.meta")).result()
    direct = open_workspace(str(TRAIN / "model.ckpt-50.meta"))
    assert opened.graph is not None and direct.graph is not None
    assert opened.graph.names == direct.graph.names
    assert opened.active_prefix == direct.active_prefix
    bad = tmp_path / "bad.meta"
    bad.write_bytes(b"\x0a\xff\xff\xff")
    assert launch(str(bad)) == 1
    assert gc.isenabled()  # the collector, paused while the workspace opened, is back on
    err = capsys.readouterr().err
    assert err.startswith("graphtui: error: ") and err.count("\n") == 1
    assert str(bad) in err


async def test_value_view_of_every_dtype_and_empty_tensors() -> None:
    app = make_app(DATA / "dtypes" / "model.ckpt")  # the directory has two: name the one
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        reader = load_checkpoint(DATA / "dtypes" / "model.ckpt")
        grid = app.workspace.query_one(TensorGrid)
        for name in reader.names():
            assert app.workspace.open_value(name)
            await settle(pilot)
            assert not isinstance(app.screen, ErrorDialog), name
            text = screen_text(app)
            full = reader.read(name)
            if full.size == 0:
                assert "No elements" in text and grid.slice_count == 0
            elif full.ndim >= 2:
                assert grid.grid_shape == full.shape[-2:]
                got, want = grid.element(0, 0), full[(0,) * full.ndim]
                assert got == want or (got != got and want != want)  # NaN is NaN


async def test_history_marks_missing_incomplete_and_unlisted(tmp_path: Path) -> None:
    import shutil

    for name in os.listdir(TRAIN):
        shutil.copy(TRAIN / name, tmp_path / name)
    (tmp_path / "model.ckpt-30.data-00000-of-00001").unlink()  # incomplete
    state = (tmp_path / "checkpoint").read_text()
    (tmp_path / "checkpoint").write_text(state + 'all_model_checkpoint_paths: "model.ckpt-20"\n')
    _write(tmp_path / "model.ckpt-60", {"global_step": np.array(60, np.int64)})  # not listed
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 32)) as pilot:
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)
        text = screen_text(app)
        rows = {line.split()[1]: line for line in text.splitlines() if "model.ckpt-" in line[:25]}
        assert "incomplete: no data file" in rows["model.ckpt-30"]
        assert "missing" in rows["model.ckpt-20"]
        assert "not in state file" in rows["model.ckpt-60"]
        assert "▶ active latest kept" in rows["model.ckpt-50"]
        # a missing checkpoint cannot become active: the dialog says why, the app goes on
        history = app.workspace.query_one(HistoryPane)
        history.table.move_cursor(row=[r.name for r in history.records].index("model.ckpt-20"))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ErrorDialog)
        await pilot.press("escape")
        assert app.ws.active_prefix == str(tmp_path / "model.ckpt-50")
