"""TF2 object graphs: the decoded tree against what TensorFlow listed (facts.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from graphtui._proto import pb
from graphtui.cli import main
from graphtui.cli.savedmodel import print_object_tree
from graphtui.core.checkpoint import load_checkpoint
from graphtui.core.objects import (
    OBJECT_GRAPH_KEY,
    ObjectGraph,
    escape_local_name,
    format_tree,
    load_object_graph,
    object_tree,
    parse_object_graph,
)
from graphtui.errors import CoreError, FormatError, NotFoundError
from graphtui.formats import dtypes
from graphtui.formats.bundle_writer import BundleWriter
from graphtui.formats.transaction import FileTransaction
from tests.fixtures.shared import DATA, FACTS, hashing

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
OBJECT_CKPTS = sorted(p for p, f in FACTS["checkpoints"].items() if "object_graph" in f)
MODULE = FACTS["tf2"]["module_kept"][-1]
KERAS = FACTS["tf2"]["keras_prefix"]


@pytest.fixture(params=OBJECT_CKPTS)
def case(request: pytest.FixtureRequest) -> Any:
    reader = load_checkpoint(DATA / request.param)
    yield request.param, load_object_graph(reader)
    reader.close()


def test_fixtures_include_slots_shared_nodes_and_saved_models() -> None:
    assert MODULE in OBJECT_CKPTS and KERAS in OBJECT_CKPTS
    assert FACTS["tf2"]["saved_model"] + "/variables/variables" in OBJECT_CKPTS
    assert any(n["slot_variables"] for n in FACTS["checkpoints"][MODULE]["object_graph"])


def test_nodes_equal_tensorflows_listing(case: Any) -> None:
    prefix, graph = case
    ours = [
        {k: v for k, v in node.to_json().items() if k in ("children", "slot_variables")}
        | {
            "attributes": [
                {k: a[k] for k in ("name", "full_name", "checkpoint_key")}
                for a in node.to_json()["attributes"]
            ]
        }
        for node in graph.nodes
    ]
    assert ours == FACTS["checkpoints"][prefix]["object_graph"]


def test_attribute_dtypes_and_shapes_come_from_the_checkpoint(case: Any) -> None:
    prefix, graph = case
    facts = FACTS["checkpoints"][prefix]
    shapes = dict((name, shape) for name, shape in facts["list_variables"])
    pairs = graph.attributes()
    assert pairs
    for _, attr in pairs:
        assert attr.present
        assert attr.dtype == facts["dtypes"][attr.checkpoint_key]
        assert list(attr.shape) == shapes[attr.checkpoint_key]
    assert graph.missing_keys() == []
    assert graph.unreferenced_keys() == []
    keys = {a.checkpoint_key for _, a in pairs} | {OBJECT_GRAPH_KEY}
    assert keys == set(facts["dtypes"])


def test_paths_are_the_prefixes_of_tensorflows_keys(case: Any) -> None:
    """TF names each key <object path>/.ATTRIBUTES/<name>; our paths (BFS, escaped, slot
    variables included) must reproduce every key TF wrote."""
    _, graph = case
    for node, attr in graph.attributes():
        assert node.path is not None
        expected = f"{node.path}/.ATTRIBUTES/{escape_local_name(attr.name)}"
        assert attr.checkpoint_key == expected
        assert graph.node_for_key(attr.checkpoint_key) is node
        assert graph.find(node.path) is node


def test_values_on_demand_match_tensorflow(case: Any) -> None:
    prefix, graph = case
    tensors = FACTS["checkpoints"][prefix]["tensors"]
    for node, attr in graph.attributes():
        value = graph.value(attr)
        assert hashing.tensor_sha256(value) == tensors[attr.checkpoint_key]["sha256"]
        if attr.name == "VARIABLE_VALUE":
            assert np.array_equal(graph.value(node), value)
        assert np.array_equal(graph.value(attr.checkpoint_key), value)


def test_walk_lists_each_reachable_node_once(case: Any) -> None:
    _, graph = case
    rows = list(graph.walk())
    expanded = [r.node.node_id for r in rows if not r.reference]
    assert sorted(expanded) == sorted(
        n.node_id for n in graph.nodes if n not in graph.unreachable()
    )
    assert len(expanded) == len(set(expanded))
    for row in rows:
        if row.reference:  # a shared node: listed where its path says
            assert row.node.path is not None and row.node.node_id in expanded


def test_module_slots_link_variables_and_optimizer() -> None:
    with load_checkpoint(DATA / MODULE) as reader:
        root = object_tree(reader)
        graph = root.graph
        w = root.child("model").child("hidden").child("w")
        optimizer = root.child("optimizer")
        assert w.kind == "variable" and optimizer.kind == "optimizer" and root.kind == "root"
        assert sorted(link.slot_name for link in w.slots) == ["m", "v"]
        for link in w.slots:
            slot = graph.nodes[link.slot_id]
            assert slot.kind == "slot" and slot.slot_of == link
            assert slot.name == link.slot_name
            assert link.optimizer_id == optimizer.node_id
            assert slot.path == f"model/hidden/w/.OPTIMIZER_SLOT/optimizer/{link.slot_name}"
            assert graph.value(slot).shape == graph.value(w).shape
        # slot variables are reached only through the optimizer's links
        slots = {link.slot_id for link in graph.slot_links}
        assert all(not graph.nodes[i].parents for i in slots)
        assert graph.unreachable() == []


def test_keras_shared_nodes_print_as_references() -> None:
    with load_checkpoint(DATA / KERAS) as reader:
        graph = load_object_graph(reader)
        kernel = graph.find("model/_functional/_operations/1/_kernel")
        assert kernel is graph.find("optimizer/_trainable_variables/0")
        assert kernel.path == "optimizer/_trainable_variables/0"
        assert len(kernel.parents) == 2
        lines = list(format_tree(graph))
    assert "          _kernel -> optimizer/_trainable_variables/0" in lines
    key = kernel.value_attribute
    assert key is not None
    defined = [
        line for line in lines if line.strip().startswith("0 ") and key.checkpoint_key in line
    ]
    assert len(defined) == 1


def test_find_and_child_errors() -> None:
    with load_checkpoint(DATA / MODULE) as reader:
        graph = load_object_graph(reader)
        assert graph.find("") is graph.root
        assert graph.find("model/head/b").path == "model/head/b"
        with pytest.raises(NotFoundError, match="has no child 'nope'"):
            graph.find("model/nope")
        with pytest.raises(NotFoundError, match="no object saved checkpoint key"):
            graph.node_for_key("model/x")
        with pytest.raises(NotFoundError, match="is not a variable"):
            graph.value(graph.find("model"))


def test_escape_local_name() -> None:
    assert escape_local_name("a/b.c") == "a.Sb..c"
    assert escape_local_name("plain_0") == "plain_0"


@pytest.mark.parametrize("prefix", ["train/model.ckpt-50", "v1/model.ckpt-2"])
def test_name_based_checkpoint_is_refused(prefix: str) -> None:
    with (
        load_checkpoint(DATA / prefix) as reader,
        pytest.raises(CoreError, match="not an object-based checkpoint"),
    ):
        load_object_graph(reader)


# -- malformed object graphs ---------------------------------------------------------------------


def _write(prefix: Path, tensors: dict[str, Any]) -> Path:
    with FileTransaction() as txn:
        writer = BundleWriter(prefix, txn)
        for name, value in tensors.items():
            if isinstance(value, bytes):
                writer.add(name, np.array(value, dtype=object), dtypes.from_name("string"))
            else:
                writer.add(name, np.asarray(value))
        writer.finish()
        txn.commit()
    return prefix


def _graph_bytes(nodes: list[dict[str, Any]]) -> bytes:
    proto = pb.TrackableObjectGraph()
    for spec in nodes:
        node = proto.nodes.add()
        for node_id, name in spec.get("children", []):
            node.children.add(node_id=node_id, local_name=name)
        for name, key in spec.get("attributes", []):
            node.attributes.add(name=name, full_name=name, checkpoint_key=key)
    return bytes(proto.SerializeToString())


def test_garbage_object_graph_is_a_format_error(tmp_path: Path) -> None:
    prefix = _write(tmp_path / "ckpt", {OBJECT_GRAPH_KEY: b"\xff\xff\xff"})
    with load_checkpoint(prefix) as reader, pytest.raises(FormatError) as err:
        load_object_graph(reader)
    assert str(prefix) in str(err.value) and "TrackableObjectGraph" in str(err.value)
    assert "\n" not in str(err.value)


def test_out_of_range_child_is_a_format_error(tmp_path: Path) -> None:
    raw = _graph_bytes([{"children": [(7, "x")]}])
    prefix = _write(tmp_path / "ckpt", {OBJECT_GRAPH_KEY: raw})
    with (
        load_checkpoint(prefix) as reader,
        pytest.raises(FormatError, match="refers to node 7, but there are only 1 nodes"),
    ):
        load_object_graph(reader)


def test_non_string_object_graph_is_a_format_error(tmp_path: Path) -> None:
    prefix = _write(tmp_path / "ckpt", {OBJECT_GRAPH_KEY: np.zeros(3, np.float32)})
    with load_checkpoint(prefix) as reader, pytest.raises(FormatError, match="scalar string"):
        load_object_graph(reader)


def test_missing_and_unreferenced_keys_are_reported(tmp_path: Path) -> None:
    raw = _graph_bytes(
        [
            {"children": [(1, "a"), (2, "b")]},
            {"attributes": [("VARIABLE_VALUE", "a/.ATTRIBUTES/VARIABLE_VALUE")]},
            {"attributes": [("VARIABLE_VALUE", "b/.ATTRIBUTES/VARIABLE_VALUE")]},
        ]
    )
    prefix = _write(
        tmp_path / "ckpt",
        {OBJECT_GRAPH_KEY: raw, "a/.ATTRIBUTES/VARIABLE_VALUE": [1.0], "stray": [2]},
    )
    with load_checkpoint(prefix) as reader:
        graph = load_object_graph(reader)
        assert graph.missing_keys() == ["b/.ATTRIBUTES/VARIABLE_VALUE"]
        assert graph.unreferenced_keys() == ["stray"]
        assert not graph.find("b").value_attribute.present  # type: ignore[union-attr]
    assert print_object_tree(prefix) == 1


def test_cycles_and_unreachable_nodes_terminate() -> None:
    raw = _graph_bytes([{"children": [(1, "a")]}, {"children": [(0, "back"), (1, "self")]}, {}])
    graph = ObjectGraph(parse_object_graph(raw))
    rows = list(graph.walk())
    assert [(r.label, r.reference) for r in rows] == [
        ("(root)", False),
        ("a", False),
        ("back", True),
        ("self", True),
    ]
    assert [n.node_id for n in graph.unreachable()] == [2]
    assert list(format_tree(graph))[-1] == "<unreachable node 2>"
    with pytest.raises(CoreError, match="without its checkpoint"):
        graph.value("a")


def test_empty_object_graph_is_a_format_error() -> None:
    with pytest.raises(FormatError, match="no nodes"):
        ObjectGraph(pb.TrackableObjectGraph())


# -- printing and the CLI ------------------------------------------------------------------------


def test_cli_ls_objects_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ls", str(DATA / MODULE), "--objects"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "(root)"
    assert "  model/" in out and "    hidden/" in out
    keys = [k for k in FACTS["checkpoints"][MODULE]["dtypes"] if k != OBJECT_GRAPH_KEY]
    for key in keys:  # every saved tensor appears on exactly one line
        assert sum(key in line.split() for line in out) == 1, key
    assert any(line.strip().startswith("m of model/hidden/w ") for line in out)
    assert out[-1].startswith(f"21 objects, {len(keys)} variables (8 slot)")


def test_cli_ls_objects_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ls", str(DATA / KERAS), "--objects", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    facts = FACTS["checkpoints"][KERAS]["object_graph"]
    assert [[c for c in n["children"]] for n in data["nodes"]] == [n["children"] for n in facts]
    assert data["missing_keys"] == [] and data["unreferenced_keys"] == []
    for node in data["nodes"]:
        for attr in node["attributes"]:
            assert attr["dtype"] == FACTS["checkpoints"][KERAS]["dtypes"][attr["checkpoint_key"]]


def test_cli_ls_objects_of_a_saved_model_dir(capsys: pytest.CaptureFixture[str]) -> None:
    directory = DATA / FACTS["tf2"]["saved_model"]
    assert main(["ls", str(directory), "--objects", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["checkpoint"] == str(directory / "variables" / "variables")


def test_cli_ls_objects_refuses_name_based(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ls", str(DATA / "train"), "--objects"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("graphtui: error: ") and "not an object-based checkpoint" in err
    assert err.count("\n") == 1
