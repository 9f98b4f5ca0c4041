"""Pilot tests: moving around and fitting the screen (issue 13, "Navigation and fit")."""

from __future__ import annotations

from textual.widgets import Input, TextArea

from graphtui.tui.screens.action_base import ActionScreen
from graphtui.tui.screens.actions import RestoreScreen
from graphtui.tui.widgets.graph_pane import GraphPane
from graphtui.tui.widgets.history_pane import DiffPane, HistoryPane
from graphtui.tui.widgets.node_details import NodeDetails, fold
from graphtui.tui.widgets.node_tree import NodeTree
from graphtui.tui.widgets.signatures_pane import SignaturesPane
from graphtui.tui.widgets.variables_pane import VariablesPane

from .conftest import SIZE, TRAIN, make_app, screen_text, settle


def _details(app: object) -> list[str]:
    details = app.workspace.query_one(NodeDetails)  # type: ignore[attr-defined]
    return [
        getattr(details.get_option_at_index(i).prompt, "plain", "")
        for i in range(details.option_count)
    ]


async def test_enter_expands_and_collapses_a_scope() -> None:
    app = make_app(TRAIN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        tree = app.workspace.query_one(NodeTree)
        model = next(n for n in tree.root.children if n.data and n.data.path == "model")
        tree.move_cursor(model)
        await pilot.press("enter")
        await settle(pilot)
        assert model.is_expanded and model.children
        assert app.focused is tree  # a scope keeps the tree focused
        await pilot.press("enter")
        await settle(pilot)
        assert not model.is_expanded


async def test_function_links_open_in_a_meta_graph() -> None:
    """TRAIN's .meta holds While/If bodies and a tf.function in its library: the call links
    open them in tab 7 (Functions), as for SavedModels."""
    app = make_app(TRAIN)
    async with app.run_test(size=(120, 32)) as pilot:
        await settle(pilot)
        assert "signatures" in app.workspace.tab_ids
        assert "7 Functions" in screen_text(app)
        assert app.workspace.jump_to_node("loops/v2_while")
        await settle(pilot)
        lines = _details(app)
        body = next(x for x in lines if "while_body" in x and "→" in x)
        details = app.workspace.query_one(NodeDetails)
        details.focus()
        details.highlighted = lines.index(body)
        await pilot.press("enter")
        await settle(pilot)
        assert app.workspace.active_tab == "signatures"
        item = app.workspace.query_one(SignaturesPane).sig_tree.current
        assert item is not None and item.kind == "function" and "while_body" in item.name
        await pilot.press("backspace")
        await settle(pilot)
        assert app.workspace.active_tab == "graph"


async def test_slash_filters_the_pane_you_are_in() -> None:
    app = make_app(TRAIN)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        pane = app.workspace.query_one(VariablesPane)
        everything = len(pane.rows)
        await pilot.press("slash", *"*layer_1*kernel")
        await settle(pilot)
        assert app.workspace.active_tab == "variables"  # not sent to the graph search
        names = [r.name for r in pane.rows]
        assert names and all("layer_1" in n and "kernel" in n for n in names)
        assert "filter: *layer_1*kernel" in screen_text(app)
        await pilot.press("enter")
        assert app.focused is pane.table
        await pilot.press("slash", "escape")
        await settle(pilot)
        assert len(pane.rows) == everything
        # history and diff filter in place too
        await pilot.press("5", "slash", *"40")
        await settle(pilot)
        history = app.workspace.query_one(HistoryPane)
        assert [r.name for r in history.records] == ["model.ckpt-40"]
        await pilot.press("escape")
        history.table.move_cursor(row=0)
        await pilot.press("d")
        await settle(pilot)
        diff = app.workspace.query_one(DiffPane)
        await pilot.press("slash", *"bias/adam")
        await settle(pilot)
        assert diff.rows and all("bias/Adam" in r.name for r in diff.rows)
        assert len(diff.all_rows) > len(diff.rows)
        # in the graph tab, / is still the node search, with op: for op types
        await pilot.press("escape", "1", "slash", *"op:MatMul")
        await settle(pilot)
        graph = app.workspace.query_one(GraphPane)
        assert graph.matches and all(app.ws.graph.op(m) == "MatMul" for m in graph.matches)  # type: ignore[union-attr]


async def test_consumers_name_the_output_they_read_and_wrap_at_slashes() -> None:
    app = make_app(TRAIN)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        assert app.workspace.jump_to_node("loops/v2_while")
        await settle(pilot)
        text = "\n".join(_details(app))
        assert "loops/v2_while/Identity_2  reads v2_while:2" in text.replace("\n    ", "")
    folded = fold(
        __import__("rich.text", fromlist=["Text"]).Text(
            "  → ^ExponentialMovingAverage/AssignMovingAvg_2/ReadVariableOp  ReadVariableOp"
        ),
        40,
    ).plain
    first, *rest = folded.split("\n")
    assert first.endswith("/") and all(not line.strip().startswith("Op") for line in rest)


async def test_tab_highlights_a_row_and_home_end_move_in_tables() -> None:
    app = make_app(TRAIN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("tab")
        await settle(pilot)
        details = app.workspace.query_one(NodeDetails)
        assert app.focused is details and details.highlighted is not None
        await pilot.press("3")
        await settle(pilot)
        table = app.workspace.query_one(VariablesPane).table
        await pilot.press("end")
        assert table.cursor_row == table.row_count - 1
        await pilot.press("home")
        assert table.cursor_row == 0
        await pilot.press("5", "end")
        history = app.workspace.query_one(HistoryPane).table
        assert history.cursor_row == history.row_count - 1


async def test_80_columns_cut_no_column_to_nonsense() -> None:
    app = make_app(TRAIN)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("3", "T")
        await settle(pilot)
        header = next(x for x in screen_text(app).splitlines() if " status " in x)
        assert header.split()[-1] == "nan/inf"  # the last column whole
        assert "1 Graph" in screen_text(app) and "9 Flow" in screen_text(app)


async def test_restore_dialog_starts_in_the_source_and_asks_before_discarding() -> None:
    app = make_app(TRAIN / "model.ckpt-50.meta")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)
        await pilot.press("R")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RestoreScreen)
        assert app.focused is screen.query_one("#restore-source", Input)
        area = screen.query_one("#restore-map", TextArea)
        area.text = "model/=model/"
        await pilot.press("escape")  # asks (a warning), keeps the dialog
        await settle(pilot)
        assert app.screen is screen and area.text == "model/=model/"
        area.text = "model/=model/\nother/=other/"  # edited since: asks again
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
        await pilot.press("escape")  # the second Escape discards
        await settle(pilot)
        assert not isinstance(app.screen, ActionScreen)


async def test_slash_filters_the_collections() -> None:
    from graphtui.tui.widgets.collections_pane import CollectionsTree

    app = make_app(TRAIN)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        tree = app.workspace.query_one(CollectionsTree)
        everything = len(tree.root.children)
        await pilot.press("slash", *"layer_10")
        await settle(pilot)
        keys = [n.data[1] for n in tree.root.children if n.data]
        assert 0 < len(keys) < everything  # collections holding a layer_10 item
        assert "trainable_variables" in keys
        trainable = next(
            n for n in tree.root.children if n.data == ("collection", "trainable_variables")
        )
        items = [str(c.label.plain) for c in trainable.children]
        assert items and all("layer_10" in x for x in items)
        await pilot.press("escape")
        await settle(pilot)
        assert len(tree.root.children) == everything
        assert app.focused is tree
