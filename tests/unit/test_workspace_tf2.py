"""Workspace over SavedModels and TF2 checkpoints: tag-sets, variables, object graph, object paths
(against what TensorFlow listed when it wrote the fixtures, facts.json)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from graphtui._proto import pb
from graphtui.core.objects import OBJECT_GRAPH_KEY
from graphtui.core.workspace import Workspace, open_workspace
from graphtui.errors import FormatError, NotFoundError
from graphtui.formats.bundle_writer import BundleWriter
from graphtui.formats.transaction import FileTransaction
from tests.fixtures.shared import DATA, FACTS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SAVED_MODELS = sorted(FACTS["saved_models"])
MODULE = FACTS["tf2"]["module_kept"][-1]
KERAS = FACTS["tf2"]["keras_prefix"]
VALUE_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"


def _open(path: Path | str) -> Workspace:
    return open_workspace(str(path))


# -- SavedModels ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SAVED_MODELS)
@pytest.mark.parametrize("how", ["directory", "file"])
def test_saved_model_opens_serve_graph_and_variables(name: str, how: str) -> None:
    facts = FACTS["saved_models"][name]
    path = DATA / name if how == "directory" else DATA / name / "saved_model.pb"
    ws = _open(path)
    try:
        assert ws.saved_model is not None and ws.meta_graph is not None
        assert ws.path == str((DATA / name).resolve())
        assert ws.tag_set == ",".join(facts["tags"])
        assert ws.graph is not None and len(ws.graph) == facts["node_count"]
        assert sorted(s.key for s in ws.signatures) == sorted(facts["signatures"])
        assert ws.history is None and ws.meta_path is None
        assert ws.active_prefix == str(DATA / facts["variables_prefix"])
        assert ws.variables_problem is None and ws.warnings == []
        keys = set(FACTS["checkpoints"][facts["variables_prefix"]]["dtypes"])
        assert {r.key for r in ws.variables() if r.key} == keys
    finally:
        ws.close()


def test_tag_sets_and_switching() -> None:
    metas = FACTS["saved_model_meta_graphs"]["saved_model_v1"]
    ws = _open(DATA / "saved_model_v1")
    assert ws.tag_sets == [",".join(m["tags"]) for m in metas] == ["serve", "train,gpu"]
    ws.variables()
    mg = ws.select_tag_set("gpu,train")  # order does not matter
    assert ws._variables is None  # joined again with the new graph on next use
    assert mg.tag_set == ws.tag_set == "train,gpu"
    assert ws.graph is mg.graph and len(ws.graph) == metas[1]["node_count"]
    assert [s.key for s in ws.signatures] == sorted(metas[1]["signatures"])
    assert all(r.node in mg.graph for r in ws.variables() if r.node)
    assert ws.active_prefix is not None  # same variables
    with pytest.raises(NotFoundError, match="no meta graph with tag-set 'nope'"):
        ws.select_tag_set("nope")
    assert ws.tag_set == "train,gpu"
    ws.close()


def test_not_a_saved_model_has_no_tag_sets() -> None:
    ws = _open(DATA / MODULE)
    assert ws.saved_model is None and ws.tag_sets == [] and ws.tag_set is None
    assert ws.signatures == []
    with pytest.raises(Exception, match="not a SavedModel"):
        ws.select_tag_set("serve")


def test_missing_or_broken_variables_are_a_problem_not_a_crash(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    shutil.copytree(DATA / "tf2" / "saved_model", missing)
    shutil.rmtree(missing / "variables")
    ws = _open(missing)
    assert ws.graph is not None and ws.active is None
    assert ws.variables_problem is not None and "variables.index" in ws.variables_problem
    assert ws.warnings == [ws.variables_problem]
    assert {r.status for r in ws.variables()} == {"graph-only"}
    assert ws.objects is None and not ws.has_objects

    broken = tmp_path / "broken"
    shutil.copytree(DATA / "tf2" / "saved_model", broken)
    (broken / "variables" / "variables.index").write_bytes(b"not a table")
    ws = _open(broken)
    assert ws.active is None and ws.graph is not None
    assert ws.variables_problem is not None and "variables.index" in ws.variables_problem


def test_tf2_saved_model_joins_graph_variables_through_the_object_graph() -> None:
    ws = _open(DATA / "tf2" / "keras_saved_model")
    rows = {r.name: r for r in ws.variables()}
    og = FACTS["checkpoints"]["tf2/keras_saved_model/variables/variables"]["object_graph"]
    by_key = {a["checkpoint_key"]: a for node in og for a in node["attributes"]}
    joined = [r for r in rows.values() if r.in_graph and r.key]
    # every saved variable found its graph variable, named as TensorFlow named it in Python
    assert {r.key for r in joined} == set(by_key)
    for row in joined:
        assert row.status == "ok"
        assert row.object_name == by_key[row.key]["full_name"] == row.name
        assert row.object_path is not None and row.key == row.object_path + VALUE_SUFFIX
        assert ws.checkpoint_key_of(row.name) == row.key
    # Keras 3 lists the model's weights under the optimizer too: not optimizer state
    assert not rows["tiny_keras/hidden/kernel"].is_slot
    assert rows["adam/tiny_keras_hidden_kernel_momentum"].is_slot
    ws.close()


# -- TF2 checkpoints: object graph and object paths ---------------------------------------------


def test_objects_of_a_tf2_checkpoint_are_lazy_and_follow_the_active_checkpoint() -> None:
    ws = _open(DATA / "tf2" / "module")
    assert ws.has_objects and ws._objects is None  # not decoded before asked
    graph = ws.objects
    assert graph is not None and graph is ws.objects  # decoded once
    facts = FACTS["checkpoints"][MODULE]["object_graph"]
    assert len(graph) == len(facts)
    for node, expected in zip(graph.nodes, facts, strict=True):
        assert [a.checkpoint_key for a in node.attributes] == [
            a["checkpoint_key"] for a in expected["attributes"]
        ]
    older = FACTS["tf2"]["module_kept"][0]
    ws.set_active(str(DATA / older))
    other = ws.objects
    assert other is not None and other is not graph and other.prefix == str(DATA / older)
    ws.close()


def test_name_based_checkpoint_has_no_objects() -> None:
    ws = _open(DATA / "train")
    assert not ws.has_objects and ws.objects is None
    assert all(r.object_path is None for r in ws.variables())


@pytest.mark.parametrize("prefix", [MODULE, KERAS])
def test_variable_rows_carry_object_paths(prefix: str) -> None:
    ws = _open(DATA / prefix)
    facts = FACTS["checkpoints"][prefix]
    by_key = {a["checkpoint_key"]: a for n in facts["object_graph"] for a in n["attributes"]}
    rows = ws.variables()
    assert {r.key for r in rows} == set(facts["dtypes"])
    for row in rows:
        if row.key == OBJECT_GRAPH_KEY:
            assert row.object_path is None
            continue
        assert row.key is not None and row.key.endswith(VALUE_SUFFIX)
        assert row.object_path == row.key[: -len(VALUE_SUFFIX)]
        assert row.object_name == by_key[row.key]["full_name"]
    ws.close()


def test_slot_rows_from_the_object_graph() -> None:
    ws = _open(DATA / MODULE)
    slots = {r.object_path for r in ws.variables() if r.is_slot}
    assert {p for p in slots if p and "/.OPTIMIZER_SLOT/" in p} == {
        f"model/{layer}/{v}/.OPTIMIZER_SLOT/optimizer/{s}"
        for layer in ("hidden", "head")
        for v in ("w", "b")
        for s in ("m", "v")
    }
    assert "model/hidden/w" not in slots and "save_counter" not in slots
    ws.close()
    keras = _open(DATA / KERAS)
    rows = {r.object_name: r for r in keras.variables()}
    assert not rows["tiny_keras/hidden/kernel"].is_slot  # reached from the model as well
    assert rows["adam/tiny_keras_hidden_kernel_momentum"].is_slot
    keras.close()


def test_object_graph_that_does_not_decode(tmp_path: Path) -> None:
    prefix = tmp_path / "ckpt-1"
    with FileTransaction() as txn:
        writer = BundleWriter(prefix, txn)
        writer.add(OBJECT_GRAPH_KEY, np.array(b"\xff\xff\xff", dtype=object))
        writer.add("w/.ATTRIBUTES/VARIABLE_VALUE", np.ones(3, np.float32))
        writer.finish()
    ws = _open(prefix)
    assert ws.has_objects
    with pytest.raises(FormatError, match="TrackableObjectGraph"):
        _ = ws.objects
    rows = ws.variables()  # still listed, the problem as a warning
    assert {r.key for r in rows} == {OBJECT_GRAPH_KEY, "w/.ATTRIBUTES/VARIABLE_VALUE"}
    assert any("TrackableObjectGraph" in w for w in ws.warnings)
    ws.close()


def test_object_graph_proto_round_trip_in_a_written_checkpoint(tmp_path: Path) -> None:
    """A checkpoint written here (not by TensorFlow): the object path comes from the graph,
    not from the key text."""
    proto = pb.TrackableObjectGraph()
    root = proto.nodes.add()
    root.children.add(node_id=1, local_name="layer.0")
    var = proto.nodes.add()
    var.attributes.add(name="VARIABLE_VALUE", full_name="dense/kernel", checkpoint_key="k0")
    prefix = tmp_path / "ckpt"
    with FileTransaction() as txn:
        writer = BundleWriter(prefix, txn)
        writer.add(OBJECT_GRAPH_KEY, np.array(proto.SerializeToString(), dtype=object))
        writer.add("k0", np.zeros((2, 2), np.float32))
        writer.finish()
    ws = _open(prefix)
    (row,) = [r for r in ws.variables() if r.key == "k0"]
    assert row.object_path == "layer..0" and row.object_name == "dense/kernel"
    ws.close()
