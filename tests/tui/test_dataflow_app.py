"""The Dataflow tab (9): pilot tests of navigation, depth, control edges, fan-out, scopes,
paths, upstream / downstream, functions, details / value and DOT export; snapshots of the demo,
a while loop (v1 and v2) and the 50,000-node benchmark graph at a big scope."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from graphtui.core import dataflow as df
from graphtui.tui.widgets.dataflow_pane import DataflowPane, FlowCanvas

from .conftest import TRAIN, make_app, settle

SIZE = (110, 36)
CENTER = "mnist_like/conv2/Conv2D"


def pane_of(app: Any) -> DataflowPane:
    return app.workspace.query_one(DataflowPane)


def canvas_of(app: Any) -> FlowCanvas:
    return app.workspace.query_one(FlowCanvas)


def view_of(app: Any) -> df.View:
    drawn = canvas_of(app).drawn
    assert drawn is not None
    return drawn.view


async def open_around(pilot: Any, node: str) -> None:
    await settle(pilot)
    pilot.app.workspace.show_dataflow(node)
    await settle(pilot)


@pytest.fixture(scope="module")
def big_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from bench.tui_bench import build

    directory = tmp_path_factory.mktemp("graph50k", numbered=False)  # its name is on screen
    build(directory)
    return directory


async def test_tab_opens_on_the_overview_and_enter_opens_a_scope() -> None:
    app = make_app(None)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("9")
        await settle(pilot)
        assert app.workspace.active_tab == "dataflow"
        assert isinstance(app.focused, FlowCanvas)
        view = view_of(app)
        assert view.kind == "scope" and view.title.startswith("overview")
        canvas_of(app).set_cursor("mnist_like")
        await pilot.press("enter")
        await settle(pilot)
        assert pane_of(app).state.scope == "mnist_like"
        assert "mnist_like/conv2" in view_of(app).items
        await pilot.press("s")  # up to the parent scope, the cursor on where we came from
        await settle(pilot)
        assert pane_of(app).state.scope == "" and canvas_of(app).cursor == "mnist_like"
        await pilot.press("backspace")  # back to the scope we left
        await settle(pilot)
        assert pane_of(app).state.scope == "mnist_like"


async def test_key_from_the_graph_tree_and_arrow_navigation() -> None:
    app = make_app(None)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.workspace.graph_pane.reveal(CENTER)
        app.workspace.graph_pane.node_tree.focus()
        await pilot.press("D")
        await settle(pilot)
        assert app.workspace.active_tab == "dataflow"
        state = pane_of(app).state
        assert (state.mode, state.center, state.depth) == ("around", CENTER, 2)
        canvas = canvas_of(app)
        assert canvas.cursor == CENTER
        await pilot.press("down")
        assert canvas.cursor == "mnist_like/conv2/BiasAdd"
        await pilot.press("up", "up")
        producers = {r.node for r in app.ws.graph.inputs(CENTER)}
        assert canvas.cursor in producers
        first = canvas.cursor
        leftmost = canvas.box(first).order == 0
        await pilot.press("right" if leftmost else "left")  # the other producer, same layer
        assert canvas.cursor in producers - {first}
        await pilot.press("left" if leftmost else "right")
        assert canvas.cursor == first
        await pilot.press("right" if leftmost else "left")
        await pilot.press("enter")  # re-centre on the producer
        await settle(pilot)
        assert pane_of(app).state.center == canvas.cursor
        await pilot.press("backspace")
        await settle(pilot)
        assert pane_of(app).state.center == CENTER


async def test_depth_control_edges_and_fanout() -> None:
    app = make_app(None)
    async with app.run_test(size=SIZE) as pilot:
        await open_around(pilot, "train/Adam/beta1")  # 9 consumers: 8 shown + "+1 more"
        view = view_of(app)
        assert len(view.items) > 3
        more = view.items["more:down:train/Adam/beta1"]
        assert more.hidden == 1
        canvas_of(app).set_cursor(more.key)
        await pilot.press("enter")
        await settle(pilot)
        opened = view_of(app)
        assert "more:down:train/Adam/beta1" not in opened.items
        assert {c.node for c in app.ws.graph.consumers("train/Adam/beta1")} <= set(opened.items)
        before = len(opened.items)
        await pilot.press("minus")
        await settle(pilot)
        assert pane_of(app).state.depth == 1 and len(view_of(app).items) < before
        await pilot.press("plus", "plus")
        await settle(pilot)
        assert pane_of(app).state.depth == 3
        await open_around(pilot, "train/Adam")  # the step counter update: control inputs
        assert any(link.control for link in view_of(app).links)
        await pilot.press("c")
        await settle(pilot)
        assert pane_of(app).state.control is False
        assert not any(link.control for link in view_of(app).links)
        data_only = df.around(app.ws.graph, "train/Adam", 3, control=False)
        assert set(view_of(app).items) == set(data_only.items)
        assert len(data_only.items) < len(df.around(app.ws.graph, "train/Adam", 3).items)


async def test_mark_and_paths_with_the_shortest_highlighted() -> None:
    app = make_app(None)
    async with app.run_test(size=SIZE) as pilot:
        await open_around(pilot, "input/images")
        await pilot.press("m")
        assert pane_of(app).state.mark == "input/images"
        await open_around(pilot, "mnist_like/logits/BiasAdd")
        await pilot.press("p")
        await settle(pilot)
        view = view_of(app)
        assert view.kind == "paths"
        assert view.path[0] == "input/images" and view.path[-1] == "mnist_like/logits/BiasAdd"
        result = df.paths(app.ws.graph, "input/images", "mnist_like/logits/BiasAdd")
        assert view.path == result.shortest
        canvas = canvas_of(app).drawn.canvas  # type: ignore[union-attr]
        assert any("path" in row for row in canvas.styles)  # drawn in the highlight style
        status = str(app.workspace.query_one("#flow-status").render())
        assert f"{result.total} nodes on paths" in status


async def test_upstream_and_downstream_lists() -> None:
    app = make_app(None)
    async with app.run_test(size=SIZE) as pilot:
        await open_around(pilot, CENTER)
        await pilot.press("u")
        await settle(pilot)
        box = app.workspace.query_one("#flow-list")
        assert box.display and app.focused is box
        expected = df.upstream(app.ws.graph, CENTER)
        title = str(box.get_option_at_index(0).prompt)
        assert title.startswith(f"{len(expected):,} nodes upstream of {CENTER}")
        first = expected[0]
        await pilot.press("enter")
        await settle(pilot)
        assert not box.display and pane_of(app).state.center == first
        await pilot.press("w")
        await settle(pilot)
        title = str(box.get_option_at_index(0).prompt)
        assert title.startswith(f"{len(df.downstream(app.ws.graph, first)):,} nodes downstream")
        await pilot.press("escape")
        assert not box.display and isinstance(app.focused, FlowCanvas)


async def test_details_value_and_export(tmp_path: Path) -> None:
    app = make_app(None)
    async with app.run_test(size=SIZE) as pilot:
        await open_around(pilot, "mnist_like/conv2/weights")
        await pilot.press("v")
        await settle(pilot)
        assert app.workspace.active_tab == "value" and app.workspace.value_pane.key == "mnist_like/conv2/weights"
        await pilot.press("9")
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        assert app.workspace.active_tab == "graph"
        assert app.workspace.graph_pane.node_tree.cursor_path == "mnist_like/conv2/weights"
        await pilot.press("9")
        await settle(pilot)
        await pilot.press("x")
        await pilot.pause()
        box = app.screen.query_one("#export-path")
        target = tmp_path / "view.dot"
        box.value = str(target)
        await pilot.press("enter")
        await settle(pilot)
        text = target.read_text()
        assert text.startswith('digraph "graphtui"') and '"mnist_like/conv2/weights" [' in text


async def test_while_loop_function_bodies() -> None:
    app = make_app(TRAIN)
    async with app.run_test(size=SIZE) as pilot:
        await open_around(pilot, "loops/v2_while")
        await pilot.press("f")  # body and cond: pick one from the list
        await settle(pilot)
        box = app.workspace.query_one("#flow-list")
        assert box.display
        prompts = [str(box.get_option_at_index(i).prompt) for i in range(box.option_count)]
        assert "function loops_v2_while_body_147" in prompts
        box.highlighted = prompts.index("function loops_v2_while_body_147")
        await pilot.press("enter")
        await settle(pilot)
        state = pane_of(app).state
        assert state.function == "loops_v2_while_body_147"
        view = view_of(app)
        assert view.title.startswith("function loops_v2_while_body_147")
        assert "add_0" in view.items and view.items["placeholder"].kind == "placeholder"
        canvas_of(app).set_cursor("add_0")
        await pilot.press("enter")  # around a node of the body
        await settle(pilot)
        assert pane_of(app).state.center == "add_0" and pane_of(app).state.function
        await pilot.press("backspace", "backspace")
        await settle(pilot)
        assert pane_of(app).state.function is None
        assert pane_of(app).state.center == "loops/v2_while"


async def test_palette_has_the_dataflow_commands() -> None:
    app = make_app(TRAIN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        titles = [title for title, _, _ in app.palette_commands()]
        assert "Dataflow overview" in titles and "Export dataflow as DOT" in titles
        assert "Dataflow of function loops_v2_while_body_147" in titles
        run = dict((t, cb) for t, _, cb in app.palette_commands())
        run["Dataflow of function loops_v2_while_cond_146"]()
        await settle(pilot)
        assert app.workspace.active_tab == "dataflow"
        assert pane_of(app).state.function == "loops_v2_while_cond_146"
        sections = dict(app.help_sections())
        keys = {row.description for row in sections["Dataflow (9)"]}
        assert {"Depth +", "Control edges", "Paths", "Upstream", "DOT"} <= keys


async def test_big_graph_frames_render_the_visible_rows(big_dir: Path) -> None:
    app = make_app(big_dir)
    async with app.run_test(size=SIZE) as pilot:
        await open_around(pilot, "model/block_5/layer_0/Relu")
        view = view_of(app)
        assert view.items["more:down:model/block_5/layer_0/Relu"].hidden == 87
        canvas = canvas_of(app)
        canvas.set_cursor("more:down:model/block_5/layer_0/Relu")  # scrolls it into view
        await settle(pilot)
        lines = [canvas.render_line(y).text for y in range(canvas.size.height)]
        assert any("+87 more" in line for line in lines)
        app.workspace.show_dataflow("model")
        await settle(pilot)
        assert len(view_of(app).items) == 40 + 2  # 40 blocks, stubs for input and gradients


# -- snapshots -----------------------------------------------------------------------------------


def scenario(*steps: Any) -> Any:
    async def run(pilot: Any) -> None:
        await settle(pilot)
        for step in steps:
            await step(pilot)
            await settle(pilot)
        pilot.app.clear_notifications()
        await pilot.pause()

    return run


def around(node: str, function: str | None = None) -> Any:
    async def step(pilot: Any) -> None:
        pilot.app.workspace.show_dataflow(node, function)

    return step


def test_snapshot_demo_overview(snap_compare: Any) -> None:
    async def nine(pilot: Any) -> None:
        await pilot.press("9")

    assert snap_compare(make_app(None), terminal_size=SIZE, run_before=scenario(nine))


def test_snapshot_demo_around_a_node(snap_compare: Any) -> None:
    assert snap_compare(make_app(None), terminal_size=SIZE, run_before=scenario(around(CENTER)))


def test_snapshot_v1_while_loop(snap_compare: Any) -> None:
    steps = scenario(around("loops/v1_while/Merge"))
    assert snap_compare(make_app(TRAIN), terminal_size=SIZE, run_before=steps)


def test_snapshot_v2_while_body(snap_compare: Any) -> None:
    steps = scenario(around("", "loops_v2_while_body_147"))
    assert snap_compare(make_app(TRAIN), terminal_size=SIZE, run_before=steps)


def test_snapshot_big_graph_scope(snap_compare: Any, big_dir: Path) -> None:
    steps = scenario(around("model/block_3"))
    assert snap_compare(make_app(big_dir), terminal_size=SIZE, run_before=steps)


async def test_savedmodel_function_from_the_signatures_tab() -> None:
    from .conftest import DATA

    app = make_app(DATA / "tf2" / "saved_model")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.workspace.signatures_pane.reveal_function("__inference_predict_1028")
        app.workspace.query_one("SignaturesTree").focus()
        await pilot.press("D")
        await settle(pilot)
        assert app.workspace.active_tab == "dataflow"
        assert pane_of(app).state.function == "__inference_predict_1028"
        body = app.ws.graph.function_graph("__inference_predict_1028")
        assert set(view_of(app).items) == set(body.names)  # a small body: every node


async def test_click_and_double_click_on_boxes() -> None:
    app = make_app(None)
    async with app.run_test(size=SIZE) as pilot:
        await open_around(pilot, CENTER)
        canvas = canvas_of(app)
        box = canvas.box("mnist_like/conv2/BiasAdd")
        assert box is not None
        sx, sy = int(canvas.scroll_offset.x), int(canvas.scroll_offset.y)
        offset = (box.x - sx + 2, box.y - sy + 1)
        await pilot.click(FlowCanvas, offset=offset)
        assert canvas.cursor == "mnist_like/conv2/BiasAdd"
        await pilot.click(FlowCanvas, offset=offset, times=2)
        await settle(pilot)
        assert pane_of(app).state.center == "mnist_like/conv2/BiasAdd"


async def test_an_empty_graph_draws_nothing_and_keys_do_no_harm(tmp_path: Path) -> None:
    from graphtui._proto import pb

    meta = pb.MetaGraphDef()
    meta.meta_info_def.tensorflow_version = "1.15.5"  # a graph without a node
    (tmp_path / "empty.meta").write_bytes(meta.SerializeToString())
    app = make_app(tmp_path / "empty.meta")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("9")
        await settle(pilot)
        assert view_of(app).items == {}
        await pilot.press("down", "enter", "plus", "c", "s", "o", "m", "p", "u", "f", "d", "x")
        await settle(pilot)
        assert app.is_running


async def test_fold_other_scopes_around_a_node() -> None:
    app = make_app(None)
    async with app.run_test(size=SIZE) as pilot:
        await open_around(pilot, CENTER)
        await pilot.press("z")
        await settle(pilot)
        view = view_of(app)
        expected = df.collapse(app.ws.graph, df.around(app.ws.graph, CENTER), "mnist_like/conv2")
        assert set(view.items) == set(expected.items)
        assert view.items["mnist_like/conv1"].kind == "scope"
        canvas_of(app).set_cursor("mnist_like/conv1")
        await pilot.press("enter")  # a folded scope opens as a scope
        await settle(pilot)
        assert pane_of(app).state.mode == "scope" and pane_of(app).state.scope == "mnist_like/conv1"


async def test_a_failed_view_keeps_the_one_on_screen() -> None:
    app = make_app(None)
    async with app.run_test(size=SIZE) as pilot:
        await open_around(pilot, CENTER)
        pane = pane_of(app)
        steps = len(pane.history)
        pane.go(mode="scope", scope="no/such/scope")
        await settle(pilot)
        assert pane.state.mode == "around" and pane.state.center == CENTER
        assert view_of(app).focus == CENTER and len(pane.history) == steps
        await pilot.press("plus")  # the view still works
        await settle(pilot)
        assert pane.state.depth == 3
