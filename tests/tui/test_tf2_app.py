"""Pilot tests: the app on SavedModels and TF2 object-based checkpoints (tabs 7 and 8), against
what TensorFlow listed when it wrote the fixtures (facts.json)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from textual.widgets import OptionList, TabbedContent

from graphtui.core.checkpoint import load_checkpoint
from graphtui.core.objects import OBJECT_GRAPH_KEY
from graphtui.tui.app import GraphtuiApp
from graphtui.tui.widgets.node_details import NodeDetails
from graphtui.tui.widgets.objects_pane import ObjectDetails, ObjectsPane, ObjectsTree
from graphtui.tui.widgets.signatures_pane import SignatureDetails, SignaturesPane, SignaturesTree
from graphtui.tui.widgets.value_view import TensorGrid
from graphtui.tui.widgets.variables_pane import VariablesPane
from tests.fixtures.shared import FACTS

from .conftest import DATA, SIZE, TRAIN, make_app, record_notifications, screen_text, settle

SAVED_MODELS = sorted(FACTS["saved_models"])
MODULE = FACTS["tf2"]["module_kept"][-1]
KERAS = FACTS["tf2"]["keras_prefix"]


def tab(app: GraphtuiApp) -> str:
    return str(app.workspace.query_one(TabbedContent).active)


def tab_labels(app: GraphtuiApp) -> list[str]:
    tabs = app.workspace.query_one(TabbedContent)
    return [str(pane.id) for pane in tabs.query("TabPane")]


def options_text(widget: OptionList) -> list[str]:
    prompts = [widget.get_option_at_index(i).prompt for i in range(widget.option_count)]
    return [getattr(p, "plain", str(p)) for p in prompts]


def shape_text(shape: list[int] | None) -> str:
    """saved_model_cli's shape text, written here from the facts."""
    return "unknown_rank" if shape is None else "(" + ", ".join(map(str, shape)) + ")"


def labels(node: Any) -> list[str]:
    return [str(c.label.plain).split("  ")[0] for c in node.children]


# -- signatures (7) -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SAVED_MODELS)
async def test_saved_model_signatures_equal_the_facts(name: str) -> None:
    facts = FACTS["saved_models"][name]
    object_based = "object_graph" in FACTS["checkpoints"][facts["variables_prefix"]]
    app = make_app(DATA / name)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert tab(app) == "signatures"
        expected_tabs = ["graph", "collections", "variables", "value", "history", "diff"]
        expected_tabs += ["signatures"] + (["objects"] if object_based else [])
        expected_tabs += ["dataflow"]  # tab 9: every workspace with a graph
        assert tab_labels(app) == expected_tabs
        pane = app.workspace.query_one(SignaturesPane)
        tree = app.workspace.query_one(SignaturesTree)
        sig_branch = tree.root.children[0]
        assert labels(sig_branch) == sorted(facts["signatures"])
        shown = pane.shown
        assert shown is not None and shown.name == "serving_default"  # shown first
        for key, sig in facts["signatures"].items():
            assert pane.reveal_signature(key)
            await pilot.pause()
            text = options_text(app.workspace.query_one(SignatureDetails))
            assert text[0] == key
            assert f"  method {sig['method_name'] or '(none)'}" in text
            for where in ("inputs", "outputs"):
                title = f"─ {where.capitalize()} ({len(sig[where])})"
                start = text.index(title)
                block = text[start + 1 :]
                for io_key, io in sig[where].items():
                    line = next(t for t in block if t.startswith(f"  {io_key}  "))
                    assert line.startswith(f"  {io_key}  {io['dtype']} {shape_text(io['shape'])}")
                    if io["name"]:
                        assert any(t.startswith(f"  → {io['name']}") for t in block)
        # an input's tensor link goes to its node in the graph
        if "serving_default" in facts["signatures"]:
            pane.reveal_signature("serving_default")
            await pilot.pause()
            inputs = facts["signatures"]["serving_default"]["inputs"]
            first = next(io["name"] for io in inputs.values() if io["name"])
            details = app.workspace.query_one(SignatureDetails)
            details.focus()
            details.highlighted = next(
                i for i, t in enumerate(options_text(details)) if t.startswith(f"  → {first}")
            )
            await pilot.press("enter")
            await settle(pilot)
            assert tab(app) == "graph"
            assert app.workspace.graph_pane.node_tree.cursor_path == first.split(":")[0]


async def test_signature_lines_are_exact() -> None:
    """The one-line form of each input and output: key, dtype, shape; then its tensor."""
    sig = FACTS["saved_models"]["tf2/saved_model"]["signatures"]["serving_default"]
    app = make_app(DATA / "tf2" / "saved_model")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = options_text(app.workspace.query_one(SignatureDetails))
        x, y = sig["inputs"]["x"], sig["outputs"]["y"]
        assert text == [
            "serving_default",
            "  method tensorflow/serving/predict",
            "─ Inputs (1)",
            f"  x  {x['dtype']} {shape_text(x['shape'])}",
            f"  → {x['name']}  tensor",
            "─ Outputs (1)",
            f"  y  {y['dtype']} {shape_text(y['shape'])}",
            f"  → {y['name']}  tensor",
        ]
        assert "x  float32 (-1, 3)" in screen_text(app)


async def test_function_expands_to_its_nodes_with_details() -> None:
    name = "tf2/saved_model"
    app = make_app(DATA / name)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        tree = app.workspace.query_one(SignaturesTree)
        functions = next(c for c in tree.root.children if c.data.kind == "functions")
        assert labels(functions) == FACTS["saved_models"][name]["functions"]
        fname = "__inference_predict_1028"
        pane = app.workspace.query_one(SignaturesPane)
        assert pane.reveal_function(fname)
        line = tree.cursor_node
        assert line is not None and not line.children  # built on first expansion
        await pilot.press("enter")
        await settle(pilot)
        fdef = app.ws.graph.function(fname)  # type: ignore[union-attr]
        args = [a.name for a in fdef.signature.input_arg]
        body = [n.name for n in fdef.node_def]
        rets = [a.name for a in fdef.signature.output_arg]
        assert labels(line) == args + body + rets
        # selecting a body node shows its details; its input links stay in the function
        mul = next(c for c in line.children if c.data is not None and c.data.name == "mul")
        tree.move_cursor(mul)
        await pilot.pause()
        text = options_text(app.workspace.query_one(SignatureDetails))
        assert text[:3] == ["mul", f"  in function {fname}", "  op Mul"]
        details = app.workspace.query_one(SignatureDetails)
        details.focus()
        details.highlighted = next(i for i, t in enumerate(text) if t.startswith("  → x"))
        await pilot.press("enter")
        await settle(pilot)
        assert tab(app) == "signatures"
        cursor = tree.cursor_node
        assert cursor is not None and cursor.data is not None
        assert (cursor.data.kind, cursor.data.name, cursor.data.function) == ("fnode", "x", fname)


async def test_concrete_function_option_links_to_its_body() -> None:
    """A root function's option names the library function TF runs for it; Enter on that
    link shows the function's body (graphtui show prints the same option: interop
    test_app_vs_cli.py)."""
    app = make_app(DATA / "tf2" / "saved_model")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        tree = app.workspace.query_one(SignaturesTree)
        concretes = next(c for c in tree.root.children if c.data.kind == "concretes")
        assert labels(concretes) == ["double", "predict"]
        predict = concretes.children[1]
        predict.expand()
        await settle(pilot)
        assert labels(predict) == ["Option #1"]
        tree.move_cursor(predict.children[0])
        await settle(pilot)
        details = app.workspace.query_one(SignatureDetails)
        text = options_text(details)
        assert text[:3] == [
            "predict  Option #1",
            "  concrete function __inference_predict_1028",
            "  → __inference_predict_1028  its body",
        ]
        assert "      x: TensorSpec(shape=(None, 3), dtype=tf.float32, name='x')" in text
        details.focus()
        details.highlighted = 2
        await pilot.press("enter")
        await settle(pilot)
        shown = app.workspace.query_one(SignaturesPane).shown
        assert shown is not None and (shown.kind, shown.name) == (
            "function",
            "__inference_predict_1028",
        )


async def test_graph_node_links_to_the_function_it_calls_and_back() -> None:
    app = make_app(DATA / "tf2" / "saved_model")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("1")
        await settle(pilot)
        assert app.workspace.graph_pane.reveal("StatefulPartitionedCall")
        await settle(pilot)  # the tree's highlight message shows the details again
        details = app.workspace.query_one(NodeDetails)
        text = options_text(details)
        called = app.ws.graph.attrs("StatefulPartitionedCall")["f"]  # type: ignore[union-attr]
        assert "─ Calls (1)" in text
        details.focus()
        details.highlighted = text.index("─ Calls (1)") + 1
        await pilot.press("enter")
        await settle(pilot)
        assert tab(app) == "signatures"
        shown = app.workspace.query_one(SignaturesPane).shown
        assert shown is not None and (shown.kind, shown.name) == ("function", called)
        callers = options_text(app.workspace.query_one(SignatureDetails))
        assert "  → StatefulPartitionedCall  graph node (1)" in callers
        await pilot.press("backspace")
        await settle(pilot)
        assert tab(app) == "graph"
        assert app.workspace.graph_pane.node_tree.cursor_path == "StatefulPartitionedCall"


async def test_tag_set_switch_rebuilds_the_panes() -> None:
    metas = FACTS["saved_model_meta_graphs"]["saved_model_v1"]
    app = make_app(DATA / "saved_model_v1")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "tag-set serve  (1 of 2, t: next)" in screen_text(app)
        await pilot.press("t")
        await settle(pilot)
        assert app.ws.tag_set == "train,gpu"
        assert tab(app) == "signatures"
        tree = app.workspace.query_one(SignaturesTree)
        assert labels(tree.root.children[0]) == sorted(metas[1]["signatures"])
        assert "SavedModel [train,gpu]" in app.sub_title
        assert f"{metas[1]['node_count']} nodes" in app.sub_title
        # assets of the meta graph are listed
        assets = tree.root.children[2]
        assert labels(assets) == ["vocab.txt"]
        await pilot.press("t")
        await settle(pilot)
        assert app.ws.tag_set == "serve"


async def test_saved_model_without_variables_opens_with_a_warning(tmp_path: Path) -> None:
    copy = tmp_path / "sm"
    shutil.copytree(DATA / "tf2" / "saved_model", copy)
    shutil.rmtree(copy / "variables")
    app = make_app(copy)
    said = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert tab(app) == "signatures" and "objects" not in tab_labels(app)
        assert "variables: unreadable" in screen_text(app)
        assert any("variables.index" in note for note in said)
        await pilot.press("3")
        await settle(pilot)
        rows = app.workspace.query_one(VariablesPane).rows
        assert rows and {r.status for r in rows} == {"graph-only"}


# -- objects (8) ----------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", [MODULE, KERAS, "tf2/saved_model/variables/variables"])
async def test_object_tree_shows_paths_and_keys(prefix: str) -> None:
    facts = FACTS["checkpoints"][prefix]
    path = DATA / prefix.removesuffix("/variables/variables")
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("8")
        await settle(pilot)
        assert tab(app) == "objects"
        tree = app.workspace.query_one(ObjectsTree)
        root = facts["object_graph"][0]
        assert [n.rstrip("/") for n in labels(tree.root)] == [n for _, n in root["children"]]
        assert not any(c.children for c in tree.root.children)  # nothing expanded yet
        pane = app.workspace.query_one(ObjectsPane)
        graph = app.ws.objects
        assert graph is not None
        for key, dtype in facts["dtypes"].items():
            if key == OBJECT_GRAPH_KEY:
                continue
            node = graph.node_for_key(key)
            assert pane.reveal(node), key
            await pilot.pause()
            line = tree.cursor_node
            assert line is not None and line.data is not None
            label = str(line.label)
            shape = [d for k, d in facts["list_variables"] if k == key][0]
            assert label.endswith(f"{dtype}[{','.join(map(str, shape))}]")
            text = options_text(app.workspace.query_one(ObjectDetails))
            assert text[0] == node.path and f"  key {key}" in text
            expected = key.removesuffix("/.ATTRIBUTES/VARIABLE_VALUE")
            assert node.path == expected


async def test_enter_on_a_variable_opens_its_value() -> None:
    app = make_app(DATA / MODULE)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert tab(app) == "objects"  # a TF2 checkpoint without a graph starts here
        key = "model/hidden/w/.ATTRIBUTES/VARIABLE_VALUE"
        tree = app.workspace.query_one(ObjectsTree)
        # by keys: model, down to hidden, into it, down to w
        await pilot.press("enter", "down", "enter", "down")
        await settle(pilot)
        item = tree.current
        assert item is not None and item.value_key == key
        await pilot.press("enter")
        await settle(pilot)
        assert tab(app) == "value" and app.workspace.value_pane.key == key
        with load_checkpoint(DATA / MODULE) as reader:
            expected = reader.get_tensor(key)
        grid = app.workspace.query_one(TensorGrid)
        assert grid.value is not None and grid.value.mapped  # windows, not the whole tensor
        np.testing.assert_array_equal(grid.value.read(((0, 4), (0, 3))), expected)
        # a slot variable under the optimizer, by v
        await pilot.press("8")
        await settle(pilot)
        slot_key = "model/head/b/.OPTIMIZER_SLOT/optimizer/v/.ATTRIBUTES/VARIABLE_VALUE"
        pane = app.workspace.query_one(ObjectsPane)
        assert pane.reveal(app.ws.objects.node_for_key(slot_key))  # type: ignore[union-attr]
        line = tree.cursor_node
        assert line is not None and str(line.label).startswith("v of model/head/b")
        assert line.parent is not None and line.parent.data is not None
        assert line.parent.data.node.path == "optimizer"
        await pilot.press("v")
        await settle(pilot)
        assert tab(app) == "value" and app.workspace.value_pane.key == slot_key


async def test_shared_objects_are_references() -> None:
    """Keras lists each weight under the model and the optimizer: one line, one reference."""
    app = make_app(DATA / KERAS)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.workspace.query_one(ObjectsPane)
        tree = app.workspace.query_one(ObjectsTree)
        assert pane.reveal_path("model/_functional/_operations/1")
        await pilot.press("enter")
        await settle(pilot)
        line = tree.cursor_node
        assert line is not None
        refs = [str(c.label) for c in line.children]
        assert refs == [
            "_kernel  → optimizer/_trainable_variables/0",
            "bias  → optimizer/_trainable_variables/1",
        ]
        tree.move_cursor(line.children[0])
        await pilot.press("enter")
        await settle(pilot)
        item = tree.current
        assert item is not None and item.kind == "node"
        assert item.node.path == "optimizer/_trainable_variables/0"
        text = options_text(app.workspace.query_one(ObjectDetails))
        assert "  name tiny_keras/hidden/kernel" in text
        assert "─ Also reached as (1)" in text
        assert "  → model/_functional/_operations/1/_kernel" in text


async def test_objects_follow_the_active_checkpoint() -> None:
    older, newer = FACTS["tf2"]["module_kept"]
    app = make_app(DATA / "tf2" / "module")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "ckpt-3" in str(app.workspace.query_one("#objects-summary").render())
        assert app.workspace.activate_checkpoint(str(DATA / older))
        await settle(pilot)
        summary = str(app.workspace.query_one("#objects-summary").render())
        assert older.rsplit("/", 1)[-1] in summary
        assert app.workspace.query_one(ObjectsTree).graph is app.ws.objects
        # a name-based checkpoint: the tab stays and says so
        assert app.workspace.activate_checkpoint(str(TRAIN / "model.ckpt-50"))
        await settle(pilot)
        tree = app.workspace.query_one(ObjectsTree)
        assert tree.graph is None
        assert labels(tree.root) == ["model.ckpt-50: not an object-based (TF2) checkpoint."]
        await pilot.press("8")
        assert tab(app) == "objects"


async def test_variables_show_object_paths() -> None:
    app = make_app(DATA / MODULE)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        text = screen_text(app)
        assert " model/hidden/w " in text and "model/hidden/w/.ATTRIBUTES" not in text
        pane = app.workspace.query_one(VariablesPane)
        table = pane.table
        row = next(i for i, r in enumerate(pane.rows) if r.object_path == "model/hidden/w")
        table.move_cursor(row=row)
        await pilot.pause()
        detail = str(app.workspace.query_one("#variables-detail").render())
        assert "key model/hidden/w/.ATTRIBUTES/VARIABLE_VALUE" in detail
        assert "object model/hidden/w" in detail
        await pilot.press("o")  # hide slots: the 8 slot variables and the two beta powers
        await settle(pilot)
        shown = {r.object_path for r in pane.rows}
        assert not any(p and ".OPTIMIZER_SLOT" in p for p in shown)
        assert "model/hidden/w" in shown


# -- what stays the same --------------------------------------------------------------------------


async def test_tf1_workspace_has_no_new_tabs_keys_or_help() -> None:
    # a graph without a function library (TRAIN's library shows as tab 7 Functions)
    app = make_app(DATA / "sharded")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        tabs = ["graph", "collections", "variables", "value", "history", "diff", "dataflow"]
        assert tab_labels(app) == tabs
        await pilot.press("7")
        await pilot.press("8")
        await settle(pilot)
        assert tab(app) == "graph"
        titles = [title for title, _ in app.help_sections()]
        assert "Signatures (7)" not in titles and "Objects (8)" not in titles
        commands = [title for title, _, _ in app.palette_commands()]
        assert "Signatures" not in commands and "Objects" not in commands


async def test_help_and_palette_pick_up_the_new_keys() -> None:
    app = make_app(DATA / "tf2" / "saved_model")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        sections = dict(app.help_sections())
        everywhere = {row.key: row.description for row in sections["Everywhere"]}
        assert everywhere["7"] == "Signatures" and everywhere["8"] == "Objects"
        assert any(r.key == "t" for r in sections["Signatures (7)"])
        assert any(r.key == "v" for r in sections["Objects (8)"])
        commands = {title: run for title, _, run in app.palette_commands()}
        assert "Signature double" in commands and "Objects" in commands
        commands["Signature double"]()
        await settle(pilot)
        shown = app.workspace.query_one(SignaturesPane).shown
        assert shown is not None and shown.name == "double"


async def test_long_object_lists_load_in_chunks(tmp_path: Path) -> None:
    from graphtui._proto import pb
    from graphtui.formats.bundle_writer import BundleWriter
    from graphtui.formats.transaction import FileTransaction
    from graphtui.tui.widgets import lazy_tree

    count = lazy_tree.CHUNK * 2 + 7
    proto = pb.TrackableObjectGraph()
    root = proto.nodes.add()
    prefix = tmp_path / "ckpt-1"
    with FileTransaction() as txn:
        writer = BundleWriter(prefix, txn)
        for i in range(count):
            root.children.add(node_id=i + 1, local_name=f"v{i}")
            key = f"v{i}/.ATTRIBUTES/VARIABLE_VALUE"
            proto.nodes.add().attributes.add(
                name="VARIABLE_VALUE", full_name=f"v{i}", checkpoint_key=key
            )
            writer.add(key, np.full(2, i, np.int32))
        writer.add(OBJECT_GRAPH_KEY, np.array(proto.SerializeToString(), dtype=object))
        writer.finish()
    app = make_app(prefix)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        tree = app.workspace.query_one(ObjectsTree)
        shown = labels(tree.root)
        assert len(shown) == lazy_tree.CHUNK + 1
        assert shown[-1] == f"… {count - lazy_tree.CHUNK:,} more (Enter)"
        tree.move_cursor(tree.root.children[-1])
        await pilot.press("enter")
        await settle(pilot)
        assert len(tree.root.children) == 2 * lazy_tree.CHUNK + 1
        # revealing the last object loads the rest
        assert app.workspace.query_one(ObjectsPane).reveal_path(f"v{count - 1}")
        assert len(tree.root.children) == count
        await pilot.press("enter")
        await settle(pilot)
        assert app.workspace.value_pane.key == f"v{count - 1}/.ATTRIBUTES/VARIABLE_VALUE"
        assert app.workspace.query_one(TensorGrid).value.read(((0, 2),)).tolist() == [count - 1] * 2  # type: ignore[union-attr]
