"""The consumer index and edge table of GraphIndex, built from the wire format's input ranges
(formats/node_inputs.py) without decoding a node, against a reference built the plain way
from protobuf's decode: every node's inputs parsed in graph order, producers looked up by name
(the first node of a duplicated name wins), unknown producers left out.

Graphs: hypothesis graphs (duplicate names, ``^ctrl``, ``x:3``, inputs naming missing nodes,
function-style ``a:out:1``, odd strings), the fixtures, the real-world files (skipped when
../shared/realworld is absent), and TensorFlow's own ops_test.py testInputsAndOutputs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphtui._proto import pb
from graphtui.core.graph import ConsumerRef, GraphIndex, parse_input
from graphtui.core.metagraph import open_meta_graph
from tests.unit.test_node_scan import _binary_metas


def _reference(meta: object) -> tuple[list[str], dict[int, list[tuple[int, int, int]]]]:
    """Node names, and producer position -> (consumer position, port, slot) in graph order."""
    nodes = meta.graph_def.node  # type: ignore[attr-defined]
    names = [node.name for node in nodes]
    first: dict[str, int] = {}
    for i, name in enumerate(names):
        first.setdefault(name, i)
    out: dict[int, list[tuple[int, int, int]]] = {}
    for c, node in enumerate(nodes):
        for slot, text in enumerate(node.input):
            ref = parse_input(text)
            if ref.node in first:
                out.setdefault(first[ref.node], []).append((c, ref.port, slot))
    return names, out


def _lazy(data: bytes, path: str = "g.meta") -> GraphIndex:
    from graphtui.formats.node_scan import scan_meta_graph

    table = scan_meta_graph(data)
    assert table is not None
    shell = pb.MetaGraphDef()
    shell.ParseFromString(table.shell)
    return GraphIndex(shell, path=path, nodes=table)


def _check_against_reference(index: GraphIndex, meta: object) -> None:
    names, want = _reference(meta)
    assert index.names == names
    for name in set(names):
        p = names.index(name)
        refs = [ConsumerRef(names[c], port, port < 0, slot) for c, port, slot in want.get(p, [])]
        assert index.consumers(name) == refs
    # the edge table: every edge sorted by producer, then in graph order of consumers; an
    # int32 port each (a port past int32, no tensor TF imports, clipped: it raised before)
    edges = [(p, c, min(port, 2**31 - 1)) for p in sorted(want) for c, port, _ in want[p]]
    table = index.edge_table()
    assert [str(a.dtype) for a in table] == ["int32"] * 3
    assert (
        list(zip(table.src.tolist(), table.dst.tolist(), table.port.tolist(), strict=True)) == edges
    )


def _assert_nothing_decoded(index: GraphIndex) -> None:
    assert index._table is not None, "the whole message was decoded"
    assert len(index._decoded) == 0, "a node was decoded"


_NAMES = st.sampled_from(["a", "b", "c", "a/b", "x_1", "é", "a:1", "^a", ""])


def _input_text() -> st.SearchStrategy[str]:
    base = st.one_of(_NAMES, st.sampled_from(["missing", "", "^", ":", "a:", ":0"]))
    return st.one_of(
        base,
        base.map(lambda n: "^" + n),
        st.tuples(base, st.integers(0, 12)).map(lambda t: f"{t[0]}:{t[1]}"),
        st.tuples(base, st.sampled_from(["out", "y"]), st.integers(0, 3)).map(
            lambda t: f"{t[0]}:{t[1]}:{t[2]}"
        ),
        st.sampled_from(["a:²", "b:99999999999", "a:0x1", "c:-1"]),
    )


@settings(max_examples=200, deadline=None)
@given(
    nodes=st.lists(st.tuples(_NAMES, st.lists(_input_text(), max_size=6)), min_size=1, max_size=14)
)
def test_consumers_and_edges_equal_the_decode(nodes: list[tuple[str, list[str]]]) -> None:
    meta = pb.MetaGraphDef()
    for name, inputs in nodes:
        meta.graph_def.node.add(name=name, op="Op", input=inputs)
    data = meta.SerializeToString()
    lazy = _lazy(data)
    _check_against_reference(lazy, meta)
    for name in lazy.names:
        assert lazy.op(name) == "Op"
    _assert_nothing_decoded(lazy)
    eager = GraphIndex(meta)  # the decoded message's own path
    _check_against_reference(eager, meta)


@pytest.mark.parametrize("path", _binary_metas(), ids=lambda p: p.name)
def test_fixtures_and_real_world_files(path: Path) -> None:
    meta, table = open_meta_graph(path)
    assert table is not None
    shell = pb.MetaGraphDef()
    shell.ParseFromString(table.shell)
    index = GraphIndex(shell, path=path, nodes=table)
    full = pb.MetaGraphDef()
    full.ParseFromString(path.read_bytes())
    _check_against_reference(index, full)
    for name in index.names[:: max(1, len(index) // 50)]:
        assert index.op(name) == index.ops[index.index_of(name)]
    _assert_nothing_decoded(index)


def test_tensorflow_ops_test_inputs_and_outputs() -> None:
    """tensorflow/python/framework/ops_test.py, OperationTest.testInputsAndOutputs: myop3
    reads myop1, and myop2:1 twice; myop1:0 has one consumer, myop2:0 none, myop2:1 two
    (both myop3). testNoInputs: myop2 (FloatInput) is myop1's one consumer."""
    meta = pb.MetaGraphDef()
    nodes = meta.graph_def.node
    nodes.add(name="myop1", op="FloatOutput")
    nodes.add(name="myop2", op="FloatOutputStringOutput")
    nodes.add(name="myop3", op="Foo2", input=["myop1", "myop2:1", "myop2:1"])
    nodes.add(name="reader", op="FloatInput", input=["myop1"])
    index = _lazy(meta.SerializeToString())
    by_port = {
        (name, port): [c.node for c in index.consumers(name) if c.port == port]
        for name, port in [("myop1", 0), ("myop2", 0), ("myop2", 1)]
    }
    assert by_port == {
        ("myop1", 0): ["myop3", "reader"],
        ("myop2", 0): [],
        ("myop2", 1): ["myop3", "myop3"],
    }
    assert index.consumers("myop2") == [
        ConsumerRef("myop3", 1, False, 1),
        ConsumerRef("myop3", 1, False, 2),
    ]
    assert [str(r) for r in index.inputs("myop3")] == ["myop1", "myop2:1", "myop2:1"]
    src, dst, port = index.edge_table()
    assert (src.tolist(), dst.tolist(), port.tolist()) == ([0, 0, 1, 1], [2, 3, 2, 2], [0, 0, 1, 1])


def test_an_input_not_utf8_is_reported_as_a_decode_would() -> None:
    """Framing intact, an input string not UTF-8 (not a valid NodeDef): the consumer index
    says so in one FormatError naming the file, as decoding the node does."""
    from graphtui.errors import FormatError
    from graphtui.formats.varint import encode_varint

    def field(number: int, payload: bytes) -> bytes:
        return encode_varint(number << 3 | 2) + encode_varint(len(payload)) + payload

    good = field(1, b"a") + field(2, b"NoOp")
    bad = field(1, b"b") + field(2, b"Id") + field(3, b"\xff")
    data = field(2, field(1, good) + field(1, bad))
    index = _lazy(data, "bad.meta")
    with pytest.raises(FormatError, match=r"^bad\.meta"):
        index.consumers("a")


def test_the_decode_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nodes decoded one at a time are kept for the next ask, the most recent few only."""
    from graphtui.core import graph

    monkeypatch.setattr(graph, "_DECODED_MAX", 3)
    meta = pb.MetaGraphDef()
    for i in range(10):
        meta.graph_def.node.add(name=f"n{i}", op="NoOp", input=[f"n{i - 1}"] if i else [])
    index = _lazy(meta.SerializeToString())
    first = index.node("n0")
    assert index.node("n0") is first  # kept
    for i in range(1, 10):
        assert index.node(f"n{i}").name == f"n{i}"
        assert len(index._decoded) <= 3
    assert list(index._decoded) == [7, 8, 9]
    assert index.node("n0") == first  # decoded again, equal
    assert index._table is not None


def test_natural_order_is_an_int32_array_equal_to_sorting_by_natural_key() -> None:
    from graphtui.core.natural import natural_key

    names = ["b10", "b9", "a01", "a1", "a", "a/0", "B2", "x007y", "x7y", "x07y2", "é1", "é01"]
    meta = pb.MetaGraphDef()
    for name in names:
        meta.graph_def.node.add(name=name, op="NoOp")
    index = _lazy(meta.SerializeToString())
    assert index.natural_names() == sorted(names, key=natural_key)
    assert isinstance(index._natural, np.ndarray) and str(index._natural.dtype) == "int32"


@settings(max_examples=300, deadline=None)
@given(
    names=st.lists(
        st.text(st.sampled_from("ab/_0123456789\x00é٣"), max_size=10), min_size=0, max_size=30
    )
)
def test_natural_order_equals_the_key_tuples(names: list[str]) -> None:
    """The flat keys (ASCII digits, no NUL) and the tuple fallback order names exactly as
    sorting by natural_key does, duplicates in their given order."""
    from graphtui.core.natural import natural_key, natural_order

    want = sorted(range(len(names)), key=lambda i: natural_key(names[i]))
    assert natural_order(names).tolist() == want
    ascii_names = [n.replace("\x00", "").replace("é", "e").replace("٣", "3") for n in names]
    want = sorted(range(len(names)), key=lambda i: natural_key(ascii_names[i]))
    assert natural_order(ascii_names).tolist() == want


@given(text=st.one_of(_input_text(), st.text(st.sampled_from("^:a1/"), max_size=8)))
def test_tensor_node_is_parse_inputs_node(text: str) -> None:
    from graphtui.core.graph import tensor_node

    assert tensor_node(text) == parse_input(text).node


@pytest.mark.parametrize(
    "rel", ["train/model.ckpt-50.meta", "partitioned/model.ckpt.meta", "v1/model.ckpt-2.meta"]
)
def test_what_the_app_warms_up_decodes_no_node_wholesale(rel: str) -> None:
    """Every index the app's warm-up builds (natural order, consumers, search, collections
    by node, the variable table, scope parameter counts) and the model overview: built from
    the scan, the whole message never decoded, equal to the answers of the decoded graph."""
    from graphtui.core.collections import CollectionTable
    from graphtui.core.overview import model_overview
    from graphtui.core.scopes import ScopeTree
    from graphtui.core.variables import VariableTable
    from tests.fixtures.shared import DATA

    def answers(index: GraphIndex) -> list[object]:
        scopes = ScopeTree.of(index)
        top = [e.path for e in scopes.children("") if e.is_scope]
        return [
            index.natural_names(),
            index.search("a", limit=20),
            {name: index.consumers(name) for name in index.names},
            CollectionTable.of(index).collections_of(index.names[-1]),
            VariableTable.of(index).variables(),
            [scopes.param_count(path, kind="model") for path in top],
            [scopes.param_count(path, kind="slots") for path in top],
            model_overview(index),
        ]

    path = DATA / rel
    lazy = GraphIndex.from_file(path)
    got = answers(lazy)
    assert lazy._table is not None, "the whole message was decoded"
    eager = GraphIndex(lazy.meta_graph, path=path)
    assert got == answers(eager)


_OPS = st.sampled_from(["Save", "SaveV2", "SaveV", "", "VariableV2", "Variable", "é", "Assign"])


@settings(max_examples=150, deadline=None)
@given(ops=st.lists(_OPS, min_size=1, max_size=20), asked=st.lists(_OPS, max_size=4))
def test_nodes_with_op_from_the_scan_equals_the_decode(ops: list[str], asked: list[str]) -> None:
    meta = pb.MetaGraphDef()
    for i, op in enumerate(ops):
        meta.graph_def.node.add(name=f"n{i}", op=op)
    lazy = _lazy(meta.SerializeToString())
    want = [node.name for node in meta.graph_def.node if node.op in asked]
    assert lazy.nodes_with_op(*asked) == want
    assert lazy._ops is None and lazy._table is not None  # no op list, nothing decoded
    assert GraphIndex(meta).nodes_with_op(*asked) == want


def test_indexes_of_names_read_elsewhere_hold_the_graphs_strings() -> None:
    """canonical(): the graph's own string object for an equal name (else the name given);
    the variable table and collections by node keep those, not a copy per name."""
    from graphtui.core.collections import CollectionTable
    from graphtui.core.variables import VariableTable, saver_info
    from tests.fixtures.shared import DATA

    index = GraphIndex.from_file(DATA / "train/model.ckpt-50.meta")
    own = {id(name) for name in index.names}
    copy = "".join(list(index.names[3]))
    assert copy == index.names[3] and copy is not index.names[3]
    assert index.canonical(copy) is index.names[3]
    assert index.canonical("no/such/node") == "no/such/node"
    variables = VariableTable.of(index).variables()
    assert variables and all(id(v.name) in own for v in variables)
    assert all(id(v.initializer) in own for v in variables if v.initializer in index)
    saver = saver_info(index)
    assert saver is not None and saver.entries
    assert all(id(e.variable) in own for e in saver.entries if e.variable is not None)
    table = CollectionTable.of(index)
    table.collections_of("")
    assert table._by_node and all(id(n) in own for n in table._by_node if n in index)
