"""Snapshot tests pinning the main screens (pytest-textual-snapshot).

Fixed terminal size, workers finished, search cursor not blinking, checkpoint times pinned.
After a deliberate change of the screens (or a Textual upgrade), regenerate with
``pytest tests/tui/test_snapshots.py --snapshot-update`` and review the SVGs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.css.query import NoMatches

from graphtui.tui.widgets.graph_pane import SearchInput
from graphtui.tui.widgets.node_tree import NodeTree

from .conftest import DATA, SIZE, TRAIN, make_app, pin_history_times, settle

Steps = Callable[[Any], Awaitable[None]]

pytestmark = pytest.mark.usefixtures("fixed_clock")


def scenario(*steps: Steps) -> Callable[[Any], Awaitable[None]]:
    """A ``run_before`` doing ``steps`` on a settled app with pinned history times."""

    async def run(pilot: Any) -> None:
        app = pilot.app
        try:
            app.workspace.query_one(SearchInput).cursor_blink = False
        except NoMatches:  # another tab opened first: the graph pane mounts after a frame
            await settle(pilot)
            app.workspace.query_one(SearchInput).cursor_blink = False
        await settle(pilot)
        pin_history_times(app)
        for step in steps:
            await step(pilot)
            await settle(pilot)
        app.clear_notifications()
        await pilot.pause()

    return run


def keys(*names: str) -> Steps:
    async def press(pilot: Any) -> None:
        await pilot.press(*names)

    return press


def call(fn: Callable[[Any], object]) -> Steps:
    async def run(pilot: Any) -> None:
        fn(pilot.app)

    return run


def test_graph_tree_and_details(snap_compare: Any) -> None:
    def reveal(app: Any) -> None:
        app.workspace.query_one(NodeTree).reveal("model/layer_1/dense/kernel")

    app = make_app(TRAIN)
    assert snap_compare(app, terminal_size=SIZE, run_before=scenario(call(reveal)))


def test_search(snap_compare: Any) -> None:
    app = make_app(TRAIN)
    steps = scenario(keys("slash", *"kernel/read", "enter", "n"))
    assert snap_compare(app, terminal_size=SIZE, run_before=steps)


def test_collections(snap_compare: Any) -> None:
    app = make_app(TRAIN)
    steps = scenario(keys("2"), call(lambda a: a.workspace.show_collection("trainable_variables")))
    assert snap_compare(app, terminal_size=SIZE, run_before=steps)


def test_variables_with_stats(snap_compare: Any) -> None:
    app = make_app(TRAIN)
    assert snap_compare(app, terminal_size=SIZE, run_before=scenario(keys("3", "T")))


def test_variables_while_joining(snap_compare: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Variables pane's first open while its worker joins graph and checkpoint: a loading
    line and no rows (issue 17.3). The join waits for the screenshot (at most 5 s)."""
    import threading

    from graphtui.core import workspace
    from graphtui.tui.widgets.variables_pane import VariablesPane

    release = threading.Event()
    join = workspace.join_variables

    def held(*args: Any, **kwargs: Any) -> Any:
        release.wait(5)
        return join(*args, **kwargs)

    monkeypatch.setattr(workspace, "join_variables", held)

    async def joining(pilot: Any) -> None:
        await scenario()(pilot)
        await pilot.press("3")
        pane = pilot.app.workspace.query_one(VariablesPane)
        assert pane.joining
        await pilot.pause()

    try:
        assert snap_compare(make_app(TRAIN), terminal_size=SIZE, run_before=joining)
    finally:
        release.set()


def test_value_with_histogram(snap_compare: Any) -> None:
    app = make_app(TRAIN)
    steps = scenario(call(lambda a: a.workspace.open_value("model/layer_2/dense/kernel")))
    assert snap_compare(app, terminal_size=SIZE, run_before=steps)


def test_history(snap_compare: Any) -> None:
    app = make_app(TRAIN)
    assert snap_compare(app, terminal_size=SIZE, run_before=scenario(keys("5", "up")))


def test_diff(snap_compare: Any) -> None:
    app = make_app(TRAIN)
    steps = scenario(keys("5", "up", "up", "d"))
    assert snap_compare(app, terminal_size=SIZE, run_before=steps)


def test_help(snap_compare: Any) -> None:
    app = make_app(TRAIN)
    assert snap_compare(app, terminal_size=SIZE, run_before=scenario(keys("question_mark")))


def test_graph_at_80x24(snap_compare: Any) -> None:
    app = make_app(TRAIN)
    assert snap_compare(app, terminal_size=(80, 24), run_before=scenario())


def test_error_dialog(snap_compare: Any) -> None:
    app = make_app(TRAIN)
    steps = scenario(keys("3"), call(lambda a: a.show_error("model.ckpt-99: no such checkpoint")))
    assert snap_compare(app, terminal_size=SIZE, run_before=steps)


# -- action dialogs (tests/tui/test_actions.py drives them end to end) --------------------------


def test_strip_dialog_preview(snap_compare: Any) -> None:
    app = make_app(TRAIN)
    assert snap_compare(app, terminal_size=SIZE, run_before=scenario(keys("S"), _action_preview))


def test_rename_dialog_conflicts(snap_compare: Any) -> None:
    def select_layer_1(app: Any) -> None:
        app.workspace.query_one(NodeTree).reveal("model/layer_1")

    async def new_name(pilot: Any) -> None:
        box = pilot.app.screen.query_one("#rename-new")
        box.value = "model/layer_"
        box.cursor_position = len(box.value)
        await pilot.press("2")

    app = make_app(TRAIN)
    steps = scenario(call(select_layer_1), keys("M"), new_name, _action_preview)
    assert snap_compare(app, terminal_size=SIZE, run_before=steps)


def test_freeze_dialog_preview(snap_compare: Any) -> None:
    async def outputs(pilot: Any) -> None:
        box = pilot.app.screen.query_one("#freeze-outputs")
        box.value = "prediction"
        box.cursor_position = len(box.value)
        await pilot.press("s")

    app = make_app(TRAIN)
    steps = scenario(keys("Z"), outputs, _action_preview)
    assert snap_compare(app, terminal_size=SIZE, run_before=steps)


def test_convert_dialog_preview(snap_compare: Any) -> None:
    app = make_app(TRAIN)
    assert snap_compare(app, terminal_size=SIZE, run_before=scenario(keys("C"), _action_preview))


async def _action_preview(pilot: Any) -> None:
    """Wait until the open action dialog shows its preview."""
    screen = pilot.app.screen
    for _ in range(100):
        await pilot.pause(0.05)
        await pilot.app.workers.wait_for_complete()
        if not getattr(screen, "pending", False):
            break


# -- SavedModels and TF2 checkpoints (tests/tui/test_tf2_app.py drives them) --------------------


def test_signatures(snap_compare: Any) -> None:
    def expand_function(app: Any) -> None:
        from graphtui.tui.widgets.signatures_pane import SignaturesTree

        tree = app.workspace.query_one(SignaturesTree)
        functions = next(c for c in tree.root.children if c.data.kind == "functions")
        predict = next(c for c in functions.children if c.data.name == "__inference_predict_1028")
        predict.expand()  # the cursor stays on serving_default

    app = make_app(DATA / "tf2" / "saved_model")
    assert snap_compare(app, terminal_size=SIZE, run_before=scenario(call(expand_function)))


def test_objects(snap_compare: Any) -> None:
    def reveal(app: Any) -> None:
        from graphtui.tui.widgets.objects_pane import ObjectsPane

        pane = app.workspace.query_one(ObjectsPane)
        pane.reveal_path("optimizer")
        pane.object_tree.cursor_node.expand()
        pane.reveal_path("model/hidden/w")

    app = make_app(DATA / "tf2" / "module")
    assert snap_compare(app, terminal_size=SIZE, run_before=scenario(call(reveal)))


def test_signatures_concrete_function(snap_compare: Any) -> None:
    """The root's function ``predict`` expanded, its option's details: what it is callable
    with, as ``graphtui show`` prints it under "Concrete Functions:"."""

    def show_option(app: Any) -> None:
        from graphtui.tui.widgets.signatures_pane import SignaturesPane, SignaturesTree

        tree = app.workspace.query_one(SignaturesTree)
        concretes = next(c for c in tree.root.children if c.data.kind == "concretes")
        predict = next(c for c in concretes.children if c.data.name == "predict")
        predict.expand()
        tree.fill(predict)
        _ = tree.last_line
        tree.move_cursor(predict.children[0])
        app.workspace.query_one(SignaturesPane).show_item(predict.children[0].data)

    app = make_app(DATA / "tf2" / "saved_model")
    assert snap_compare(app, terminal_size=SIZE, run_before=scenario(call(show_option)))


def _registered_saver_checkpoint(prefix: Path) -> Path:
    """The object graph TF writes for test_upstream_checkpoint.py's registered_saver_checkpoint
    (root ``v``, ``registered`` written by saver ``Custom.DemoSaver`` under its own key
    ``registered``, ``save_counter``), written here without TensorFlow."""
    import numpy as np

    from graphtui._proto import pb
    from graphtui.core.objects import OBJECT_GRAPH_KEY
    from graphtui.formats.bundle_writer import BundleWriter
    from graphtui.formats.transaction import FileTransaction

    proto = pb.TrackableObjectGraph()
    nodes = [proto.nodes.add() for _ in range(5)]
    for node_id, name in ((1, "v"), (2, "registered"), (0, "root"), (3, "save_counter")):
        nodes[0].children.add(node_id=node_id, local_name=name)
    nodes[2].children.add(node_id=4, local_name="value")
    nodes[2].registered_saver.name = "Custom.DemoSaver"
    nodes[2].registered_saver.object_name = "registered"
    values = {
        1: ("v", "Variable", np.float32(1.0)),
        3: ("save_counter", "save_counter", np.int64(1)),
        4: ("registered/value", "Variable", np.array([1.0, 2.0], np.float32)),
    }
    with FileTransaction() as txn:
        writer = BundleWriter(prefix, txn)
        for node_id, (path, full_name, value) in values.items():
            key = f"{path}/.ATTRIBUTES/VARIABLE_VALUE"
            nodes[node_id].attributes.add(
                name="VARIABLE_VALUE", full_name=full_name, checkpoint_key=key
            )
            writer.add(key, np.asarray(value))
        writer.add("registered", np.array([1.0, 2.0], np.float32))
        writer.add(OBJECT_GRAPH_KEY, np.array(proto.SerializeToString(), dtype=object))
        writer.finish()
    return prefix


def test_objects_registered_saver(snap_compare: Any, tmp_path: Path) -> None:
    """An object a registered saver wrote: marked in the tree as ``ls --objects`` marks it,
    the saver and the tensors no object names in its details, their count in the summary."""

    def reveal(app: Any) -> None:
        from graphtui.tui.widgets.objects_pane import ObjectsPane

        app.workspace.query_one(ObjectsPane).reveal_path("registered")

    app = make_app(_registered_saver_checkpoint(tmp_path / "ckpt-1"))
    assert snap_compare(app, terminal_size=SIZE, run_before=scenario(call(reveal)))
