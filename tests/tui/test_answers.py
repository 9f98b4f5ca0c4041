"""Pilot tests: what a TensorFlow engineer asks (issue 13, "What is missing").

The expected answers come from what real TensorFlow wrote into the fixtures (``facts.json``,
``tests/fixtures/generate.py``): Saver(max_to_keep=3), AdamOptimizer, an EMA, steps 30/40/50.
"""

from __future__ import annotations

import numpy as np

from graphtui.core.graph import GraphIndex
from graphtui.core.outputs import outputs
from graphtui.core.overview import model_overview
from graphtui.tui.widgets.graph_pane import GraphPane
from graphtui.tui.widgets.node_details import NodeDetails
from graphtui.tui.widgets.value_pane import ValuePane

from .conftest import SIZE, TRAIN, make_app, screen_text, settle


def _details(app: object) -> str:
    details = app.workspace.query_one(NodeDetails)  # type: ignore[attr-defined]
    return "\n".join(
        getattr(details.get_option_at_index(i).prompt, "plain", "")
        for i in range(details.option_count)
    )


def test_overview_facts_of_the_training_graph() -> None:
    from graphtui.core.workspace import open_workspace

    ws = open_workspace(TRAIN)
    assert ws.graph is not None
    o = model_overview(ws.graph, ws.history, ws.reader)
    assert o.tensorflow_version.startswith("2.") and o.tensorflow_git_version.startswith("v2.")
    assert o.producer > 0 and o.min_consumer == 12
    assert "ApplyAdam" in o.stripped_ops and "MatMul" in o.stripped_ops
    assert o.saver is not None and o.saver.version == "V2" and o.saver.max_to_keep == 3
    assert o.saver.restore_op_name == "save/restore_all"
    assert o.optimizers == ("Adam",) and o.moving_average
    assert (o.params_model, o.params_slots, o.params_other) == (139, 419, 4)
    assert [(s.name, s.step) for s in o.steps] == [
        ("model.ckpt-30", 30),
        ("model.ckpt-40", 40),
        ("model.ckpt-50", 50),
    ]


def test_outputs_carry_dtype_and_shape() -> None:
    graph = GraphIndex.from_file(TRAIN / "model.ckpt-50.meta")
    (matmul,) = outputs(graph, "model/layer_1/dense/MatMul")
    assert (matmul.arg, matmul.dtype, matmul.shape) == ("product", "float32", (-1, 8))
    loop = outputs(graph, "loops/v2_while")
    assert [o.dtype for o in loop] == ["int32", "int32", "int32", "float32", "float32"]
    assert loop[4].shape == (-1, 3)
    (kernel,) = outputs(graph, "model/layer_1/dense/kernel")  # a ref variable: float32_ref
    assert kernel.dtype == "float32_ref" and kernel.shape == (4, 8)  # TF's op.outputs[0].dtype


async def test_overview_op_histogram_and_op_search_in_the_app() -> None:
    app = make_app(TRAIN)
    async with app.run_test(size=(120, 48)) as pilot:
        await settle(pilot)
        await pilot.press("i")
        await settle(pilot)
        text = _details(app)
        for wanted in (
            "Model overview",
            "GraphDef producer",
            "max_to_keep 3",
            "optimizer Adam",
            "model 139",
            "optimizer slots 419",
            "model.ckpt-30 30",
            "model.ckpt-50 50",
            "save/restore_all",
        ):
            assert wanted in text, wanted
        await pilot.press("1", "H")
        await settle(pilot)
        text = _details(app)
        assert "Op types" in text and "MatMul" in text
        details = app.workspace.query_one(NodeDetails)
        index = next(
            i
            for i in range(details.option_count)
            if getattr(details.get_option_at_index(i).prompt, "plain", "")
            .strip()
            .startswith("→ MatMul ")
        )
        details.highlighted = index
        await pilot.press("enter")
        await settle(pilot)
        pane = app.workspace.query_one(GraphPane)
        assert pane.pattern == "op:MatMul"
        assert len(pane.matches) == app.ws.graph.op_histogram()["MatMul"]  # type: ignore[union-attr]


async def test_node_details_list_outputs_and_input_tensors() -> None:
    app = make_app(TRAIN)
    async with app.run_test(size=(120, 48)) as pilot:
        await settle(pilot)
        assert app.workspace.jump_to_node("model/layer_1/dense/MatMul")
        await settle(pilot)
        text = _details(app).replace("\n    ", "")  # link lines fold at the pane's width
        assert "─ Outputs (1)" in text and ":0 product float32 [?,8]" in text
        assert "model/layer_1/dense/kernel/read  Identity  float32 [4,8]" in text


async def test_const_values_open_in_the_value_view() -> None:
    app = make_app(TRAIN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.workspace.jump_to_node("inputs/input")
        await settle(pilot)
        await pilot.press("v")
        await settle(pilot)
        pane = app.workspace.query_one(ValuePane)
        grid = pane.grid
        assert app.workspace.active_tab == "value" and grid.value is not None
        from graphtui.core.values import const_value

        want = const_value(app.ws.graph, "inputs/input").whole()  # type: ignore[arg-type]
        assert grid.grid_shape == want.shape
        assert grid.element(1, 2) == want[1, 2]
        assert app.workspace.value_pane.stats is not None and np.isclose(app.workspace.value_pane.stats.mean, want.mean())
        assert "Const in the graph" in screen_text(app)


async def test_value_view_transposes_and_jumps(tmp_path: object) -> None:
    from pathlib import Path

    from .test_app import _write

    arr = np.arange(3 * 4 * 5, dtype=np.float32).reshape(3, 4, 5)
    prefix = _write(Path(str(tmp_path)) / "cube", {"cube": arr})
    app = make_app(prefix)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.workspace.open_value("cube")
        await settle(pilot)
        grid = app.workspace.query_one(ValuePane).grid
        assert grid.grid_shape == (4, 5) and grid.slice_text() == "[0, :, :]"
        histogram = app.workspace.value_pane.stats
        await pilot.press("x")  # rows and columns swap
        assert grid.grid_shape == (5, 4) and grid.element(1, 2) == arr[0, 2, 1]
        assert "transposed" in grid.slice_text()
        await pilot.press("g")
        await pilot.pause()
        jump = app.workspace.query_one("#value-jump")
        jump.value = "2,:,:"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await settle(pilot)
        assert grid.slice_text() == "[2, :, :]" and grid.element(3, 4) == arr[2, 3, 4]
        await pilot.press("g")
        await pilot.pause()
        jump.value = ":,1,:"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await settle(pilot)
        assert grid.axes == (0, 2) and grid.element(2, 3) == arr[2, 1, 3]
        assert app.workspace.value_pane.stats is histogram  # the statistics and histogram stay


async def test_history_notices_a_checkpoint_written_while_open(tmp_path: object) -> None:
    """As ``tf.train.checkpoints_iterator`` polls a directory, the History pane does."""
    import shutil
    from pathlib import Path

    from graphtui.tui.widgets.history_pane import HistoryPane

    directory = Path(str(tmp_path)) / "live"
    directory.mkdir()
    for name in sorted(p.name for p in TRAIN.iterdir()):
        if not name.startswith("model.ckpt-50") and name != "checkpoint":
            shutil.copy(TRAIN / name, directory / name)
    app = make_app(directory)
    async with app.run_test(size=(120, 32)) as pilot:
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)
        pane = app.workspace.query_one(HistoryPane)
        assert [r.name for r in pane.records] == ["model.ckpt-30", "model.ckpt-40"]
        pane.poll()
        await settle(pilot)
        assert not pane.new  # nothing changed
        for path in TRAIN.glob("model.ckpt-50.*"):
            shutil.copy(path, directory / path.name)  # the trainer saves step 50
        pane.poll()
        await settle(pilot)
        assert [r.name for r in pane.records][-1] == "model.ckpt-50"
        assert pane.new == {str(directory / "model.ckpt-50")}
        row = next(x for x in screen_text(app).splitlines() if "model.ckpt-50" in x and " 50 " in x)
        assert "new" in row


async def test_long_string_cells_open_in_full() -> None:
    from graphtui.core.checkpoint import load_checkpoint
    from graphtui.tui.screens.dialogs import TextDialog

    from .conftest import DATA

    prefix = DATA / "dtypes" / "model.ckpt"
    strings = load_checkpoint(prefix).get_tensor("t_string")

    def readable(s: bytes) -> bool:
        try:
            return s.decode("utf-8").isprintable()
        except UnicodeDecodeError:
            return False

    longest = max((s for s in strings.ravel() if readable(s)), key=len)
    assert len(longest) == 20000  # the fixture's 20,000-byte string
    app = make_app(prefix)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.workspace.open_value("t_string")
        await settle(pilot)
        assert longest.decode("utf-8", "replace") not in screen_text(app)  # cut in the grid
        await pilot.press("f")
        await settle(pilot)
        assert isinstance(app.screen, TextDialog)
        assert longest.decode("utf-8", "replace") in app.screen.text
