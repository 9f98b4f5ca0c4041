"""GraphIndex against the TensorFlow-written fixtures and their facts, plus synthetic graphs."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from graphtui._proto import pb
from graphtui.core.graph import (
    ConsumerRef,
    GraphIndex,
    InputRef,
    TensorStub,
    decode_attr,
    parse_input,
    tensor_node,
)
from graphtui.core.scopes import ScopeTree
from graphtui.errors import NotFoundError
from tests.fixtures.shared import FACTS, meta_cases

ROOT = Path(__file__).resolve().parents[2]
TRAIN = "train/model.ckpt-50.meta"


def _facts() -> dict[str, Any]:
    if not FACTS:
        pytest.skip("tests/fixtures/facts.json is missing (run tests/fixtures/generate.py)")
    return FACTS


_meta_cases = meta_cases


def _meta_path(section: str, rel: str) -> Path:
    gen = _facts()["generator"]
    root = gen["data_root"] if section == "metas" else gen["demo_root"]
    return ROOT / root / rel


def _meta_facts(section: str, rel: str) -> dict[str, Any]:
    facts = _facts()
    result: dict[str, Any] = (facts["metas"] if section == "metas"
                              else facts["demo"]["metas"])[rel]
    return result


_INDEXES: dict[Path, GraphIndex] = {}


def _index(section: str, rel: str) -> GraphIndex:
    path = _meta_path(section, rel)
    if path not in _INDEXES:
        _INDEXES[path] = GraphIndex.from_file(path)
    return _INDEXES[path]


@pytest.fixture(scope="module")
def train() -> GraphIndex:
    return _index("metas", TRAIN)


# -- parsing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a/b", InputRef("a/b", 0, False)),
        ("a/b:0", InputRef("a/b", 0, False)),
        ("a/b:12", InputRef("a/b", 12, False)),
        ("^a/b", InputRef("a/b", -1, True)),
        ("mul:z:0", InputRef("mul", 0, False)),
        ("split:output:3", InputRef("split", 3, False)),
    ],
)
def test_parse_input(text: str, expected: InputRef) -> None:
    assert parse_input(text) == expected


def test_input_ref_str_round_trips() -> None:
    for text in ("a/b", "a/b:3", "^c"):
        assert str(parse_input(text)) == text
    assert tensor_node("x/y:1") == "x/y"
    assert tensor_node("^x/y") == "x/y"


# -- against TensorFlow's facts -----------------------------------------------------------------


@pytest.mark.parametrize(("section", "rel"), _meta_cases())
def test_counts_ops_and_functions_match_tensorflow(section: str, rel: str) -> None:
    facts = _meta_facts(section, rel)
    index = _index(section, rel)
    assert len(index) == facts["node_count"]
    assert len(set(index.names)) == len(index) and not index.duplicates
    assert dict(sorted(index.op_histogram().items())) == facts["op_histogram"]
    assert sorted(f.name for f in index.functions()) == facts["functions"]
    assert index.has_meta_graph


def test_op_histogram_is_most_frequent_first(train: GraphIndex) -> None:
    counts = list(train.op_histogram().values())
    assert counts == sorted(counts, reverse=True)
    assert sum(counts) == len(train)


def test_lookup_by_name(train: GraphIndex) -> None:
    name = "model/layer_2/dense/kernel"
    i = train.index_of(name)
    assert train.names[i] == name
    assert train.node(name).name == name
    assert train.op(name) == "VarHandleOp"
    assert train.graph_def.node[i].name == name
    assert name in train and "no/such/node" not in train
    with pytest.raises(NotFoundError, match="model.ckpt-50.meta: no node named 'nope'"):
        train.node("nope")


def test_inputs_and_consumers_mirror_each_other(train: GraphIndex) -> None:
    edges = 0
    for name in train.names:
        for slot, ref in enumerate(train.inputs(name)):
            assert ref.node in train, f"{name} reads missing {ref.node}"
            expected = ConsumerRef(name, ref.port, ref.control, slot)
            assert expected in train.consumers(ref.node)
            edges += 1
    assert sum(len(train.consumers(n)) for n in train.names) == edges
    # control inputs come after data inputs in every NodeDef
    for name in train.names:
        flags = [ref.control for ref in train.inputs(name)]
        assert flags == sorted(flags)


def test_known_edges(train: GraphIndex) -> None:
    save_inputs = train.inputs("save/SaveV2")
    assert save_inputs[:3] == [
        InputRef("save/Const", 0, False),
        InputRef("save/SaveV2/tensor_names", 0, False),
        InputRef("save/SaveV2/shape_and_slices", 0, False),
    ]
    readers = {c.node for c in train.consumers("model/layer_1/dense/kernel")}
    assert "model/layer_1/dense/kernel/read" in readers
    assert "save/SaveV2" in readers


def test_attrs_decode_to_python(train: GraphIndex) -> None:
    var = train.attrs("model/layer_1/dense/kernel")
    assert var["dtype"] == "float32" and var["shape"] == [4, 8]
    assert train.raw_attrs("model/layer_1/dense/kernel")["dtype"].type == 1
    names = train.attrs("save/SaveV2/tensor_names")["value"]
    assert isinstance(names, np.ndarray) and names.dtype == object
    assert b"model/layer_10/dense/kernel" in names.tolist()
    call = train.attrs(train.nodes_with_op("PartitionedCall")[0])
    assert call["f"] == "__inference_row_energy_100"
    assert call["Tin"] == ["float32"] and call["Tout"] == ["float32"]
    loop = train.attrs(train.nodes_with_op("StatelessWhile")[0])
    assert loop["body"] == "loops_v2_while_body_147"
    assert loop["cond"] == "loops_v2_while_cond_146"
    assert isinstance(loop["parallel_iterations"], int)
    handle = train.attrs("model/layer_2/dense/kernel")
    assert handle["shared_name"] == "model/layer_2/dense/kernel"
    assert handle["_class"] == ["loc:@model/layer_2/dense/kernel"]


def test_decode_attr_kinds() -> None:
    av = pb.AttrValue(s=b"\xff\xfe")
    assert decode_attr(av) == b"\xff\xfe"
    assert decode_attr(pb.AttrValue(s="héllo".encode())) == "héllo"
    assert decode_attr(pb.AttrValue(f=0.5)) == 0.5
    assert decode_attr(pb.AttrValue(b=True)) is True
    assert decode_attr(pb.AttrValue(type=101)) == "float32_ref"
    unknown = pb.AttrValue()
    unknown.shape.unknown_rank = True
    assert decode_attr(unknown) is None
    assert decode_attr(pb.AttrValue()) is None
    empty = pb.AttrValue()
    empty.list.SetInParent()
    assert decode_attr(empty) == []
    shapes = pb.AttrValue()
    shape = shapes.list.shape.add()
    shape.dim.add().size = -1
    shape.dim.add().size = 3
    assert decode_attr(shapes) == [[-1, 3]]
    assert decode_attr(pb.AttrValue(placeholder="T")) == "$T"


def test_tensor_attr_element_cap() -> None:
    av = pb.AttrValue()
    av.tensor.dtype = 1
    for d in (100, 100):
        av.tensor.tensor_shape.dim.add().size = d
    av.tensor.float_val.append(1.5)
    stub = decode_attr(av, max_elements=1000)
    assert isinstance(stub, TensorStub)
    assert stub.dtype == "float32" and stub.shape == [100, 100]
    full = decode_attr(av, max_elements=10_000)
    assert isinstance(full, np.ndarray) and full.shape == (100, 100) and full[99, 99] == 1.5
    bad = pb.AttrValue()
    bad.tensor.dtype = 1
    bad.tensor.tensor_shape.dim.add().size = 2
    bad.tensor.tensor_content = b"\x00" * 3
    assert isinstance(decode_attr(bad), TensorStub)


def test_colocation(train: GraphIndex) -> None:
    assert train.colocation("model/layer_1/dense/kernel/Assign") == ["model/layer_1/dense/kernel"]
    assert train.colocation("model/layer_2/dense/kernel") == ["model/layer_2/dense/kernel"]
    assert train.colocation("predictions") == []


def test_device_empty_without_placement(train: GraphIndex) -> None:
    assert train.device("predictions") == ""


def test_search(train: GraphIndex) -> None:
    hits = train.search("DENSE/KERNEL/adam")
    assert hits and all("dense/kernel/adam" in h.lower() for h in hits)
    glob = train.search("model/layer_*/dense/kernel")
    assert glob == ["model/layer_1/dense/kernel", "model/layer_2/dense/kernel",
                    "model/layer_10/dense/kernel"]
    assert train.search("model/layer_?/dense/bias") == ["model/layer_1/dense/bias",
                                                         "model/layer_2/dense/bias"]
    assert train.search("kernel", limit=3) == train.search("kernel")[:3]
    assert train.search("no-such-thing") == []
    everything = train.search("")
    assert sorted(everything) == sorted(train.names)


def test_functions(train: GraphIndex) -> None:
    funcs = {f.name: f for f in train.functions()}
    energy = funcs["__inference_row_energy_100"]
    assert [(a.name, a.type) for a in energy.inputs] == [("t", "float32")]
    assert [a.type for a in energy.outputs] == ["float32"]
    assert energy.node_count == len(train.function_nodes(energy.name)) > 0
    body = funcs["loops_v2_while_body_147"]
    assert [a.type for a in body.inputs] == ["int32", "int32", "int32", "float32", "float32"]
    ops = Counter(n.op for n in train.function_nodes("__inference_row_energy_100"))
    assert ops["Square"] == 1 and ops["Sum"] == 1
    with pytest.raises(NotFoundError, match="no function named 'f'"):
        train.function_nodes("f")


def test_bare_graph_def() -> None:
    graph = pb.GraphDef()
    for name, op, inputs in (("a", "Const", []), ("b", "Identity", ["a"]),
                             ("c", "AddV2", ["a", "b:0", "^b"])):
        graph.node.add(name=name, op=op, input=inputs)
    index = GraphIndex(graph)
    assert not index.has_meta_graph
    assert index.graph_def is graph
    assert [n.name for n in index.meta_graph.graph_def.node] == ["a", "b", "c"]
    assert index.consumers("b") == [ConsumerRef("c", 0, False, 1), ConsumerRef("c", -1, True, 2)]
    assert index.functions() == []
    with pytest.raises(TypeError):
        GraphIndex(pb.NodeDef())


def test_duplicate_names_resolve_to_first() -> None:
    graph = pb.GraphDef()
    graph.node.add(name="x", op="Const")
    graph.node.add(name="x", op="Identity")
    index = GraphIndex(graph)
    assert index.duplicates == ["x"]
    assert index.op("x") == "Const"


# -- a big synthetic graph: building stays flat and lazy ----------------------------------------


def _big_graph(n: int = 50_000) -> Any:
    graph = pb.GraphDef()
    nodes = graph.node
    for i in range(n):
        node = nodes.add()
        node.name = f"tower_{i % 8}/block_{i % 100}/op_{i}"
        node.op = "AddV2" if i % 2 else "Const"
        if i:
            node.input.append(nodes[i - 1].name)
    return graph


def test_big_graph_index_and_root_children_stay_lazy(monkeypatch: pytest.MonkeyPatch) -> None:
    graph = _big_graph()
    calls = Counter[str]()
    real_node = GraphIndex.node

    def counting_node(self: GraphIndex, name: str) -> Any:
        calls["node"] += 1
        return real_node(self, name)

    def forbidden(self: GraphIndex) -> Any:
        raise AssertionError("consumer index built eagerly")

    monkeypatch.setattr(GraphIndex, "node", counting_node)
    monkeypatch.setattr(GraphIndex, "_build_consumers", forbidden)
    index = GraphIndex(graph)
    assert len(index) == 50_000
    tree = ScopeTree(index)
    root = tree.children()
    assert [e.name for e in root] == [f"tower_{i}" for i in range(8)]
    assert sum(e.node_count for e in root) == 50_000
    blocks = tree.children("tower_3")
    assert [e.name for e in blocks][:3] == ["block_3", "block_7", "block_11"]
    assert calls["node"] == 0  # no NodeDef was touched: root and tower_3 hold only scopes
    # nothing else was derived on the way
    assert index._ops is None and index._lower is None and index._natural is None
    assert index._consumers is None
    assert index.index_of("tower_7/block_99/op_49999") == 49_999


def test_one_call_graph_over_if_while_partitioned_call_and_nested_functions() -> None:
    """calls()/callers(): the op, f of PartitionedCall, both If branches, While cond and body,
    list(func) and a function passed to a function, each once; a self call is not a caller."""
    graph = pb.GraphDef()
    for name in ("then_f", "else_f", "cond_f", "body_f", "inner_f", "listed_f", "op_f"):
        graph.library.function.add().signature.name = name
    body = next(f for f in graph.library.function if f.signature.name == "body_f")
    loop = body.node_def.add(name="again", op="body_f")  # calls itself: no caller entry
    loop.attr["g"].func.name = "inner_f"
    node = graph.node.add(name="if", op="If")
    node.attr["then_branch"].func.name = "then_f"
    node.attr["else_branch"].func.name = "else_f"
    node.attr["then_branch"].func.attr["nested"].func.name = "inner_f"
    loop_node = graph.node.add(name="while", op="While")
    loop_node.attr["cond"].func.name = "cond_f"
    loop_node.attr["body"].func.name = "body_f"
    graph.node.add(name="listed", op="X").attr["fs"].list.func.add(name="listed_f")
    graph.node.add(name="direct", op="op_f")
    graph.node.add(name="plain", op="Add")
    index = GraphIndex(graph)
    assert sorted(index.calls("if")) == ["else_f", "inner_f", "then_f"]
    assert sorted(index.calls("while")) == ["body_f", "cond_f"]
    assert index.calls("listed") == ["listed_f"] and index.calls("direct") == ["op_f"]
    assert index.calls("plain") == []
    assert index.calls(loop) == ["body_f", "inner_f"]  # a NodeDef of a function body: op first
    assert index.callers("inner_f") == [("graph", "if"), ("fn", "body_f")]
    assert index.callers("body_f") == [("graph", "while")]
    assert index.callers("nobody") == []
