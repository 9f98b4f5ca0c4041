"""The variable table reads every variable's dtype and shape from nodes decoded in one pass
(``GraphIndex.nodes_of``: a few big reads of a released file, formats/range_reads.py) instead
of one ``index.node`` each (a pread and 34 checking system calls per node; ~5 s for 166,000
variables of a 1,000,000-node graph). The pass must give what the one-by-one decode gave: here
that decode (the code this replaced) is the oracle, on every fixture and ../shared/realworld
graph (skipped when absent), in memory and released, read back in pieces of every size, and
on generated graphs the scan misreads (a second op field: protobuf's last one wins) or whose
file changed since it was read."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from graphtui.core import graph as graph_module
from graphtui.core.graph import GraphIndex, decode_attr, shape_list
from graphtui.core.metagraph import read_meta_graph
from graphtui.core.variables import (
    RESOURCE_OPS,
    VARIABLE_OPS,
    VariableTable,
    node_dtype_shape,
    op_of,
    read_dtype_shapes,
)
from graphtui.errors import FormatError
from graphtui.formats import range_reads
from graphtui.formats.node_bytes import CHANGED
from tests.unit.test_node_scan import _binary_metas, _field, _meta, _node


def _one_by_one(index: GraphIndex, node: str) -> tuple[object, object]:
    """The replaced ``_node_dtype_shape``: attrs of ``index.node``, one node at a time."""
    attrs = index.raw_attrs(node)
    found = attrs.get("dtype")
    dtype = None if found is None else decode_attr(found)
    found = attrs.get("shape")
    shape = None if found is None else shape_list(found.shape)
    if shape == [] and op_of(index, node) == "Variable":  # TF 0.x's "no shape", as TF reads it
        shape = None
    if shape is None and "_output_shapes" in attrs and op_of(index, node) not in RESOURCE_OPS:
        shapes = attrs["_output_shapes"].list.shape
        shape = shape_list(shapes[0]) if len(shapes) else None
    if isinstance(dtype, str) and dtype.endswith("_ref"):
        dtype = dtype[:-4]
    return dtype, shape


def _attr_nodes(index: GraphIndex) -> list[str]:
    """Variable nodes, and as many others with a dtype, shape or _output_shapes attr (the fast
    path reads any node the same way): distinct names, graph order."""
    wanted = set(index.nodes_with_op(*VARIABLE_OPS, "Placeholder", "Const", "Identity"))
    return list(dict.fromkeys(n for n in index.names if n in wanted))


@pytest.mark.parametrize("path", _binary_metas(), ids=lambda p: p.name)
@pytest.mark.parametrize("release", [False, True], ids=["in memory", "released"])
def test_bulk_dtype_shape_equals_one_by_one(path: Path, release: bool, tmp_path: Path) -> None:
    copy = tmp_path / path.name
    shutil.copyfile(path, copy)  # nothing may change the source while it is read back
    index = GraphIndex.from_file(copy)
    oracle = GraphIndex.from_file(copy)
    if release:
        index.release_node_bytes()
    nodes = _attr_nodes(oracle)
    got = dict(index.nodes_of(nodes))
    assert list(got) == sorted(got, key=index.index_of)  # file order
    assert set(got) == set(nodes)
    for name in nodes:
        assert got[name] == oracle.node(name), name
    read_dtype_shapes(index, nodes)
    for name in nodes:
        assert node_dtype_shape(index, name) == _one_by_one(oracle, name), name


@pytest.mark.parametrize("path", _binary_metas()[:12], ids=lambda p: p.name)
def test_released_table_equals_the_decoded_one(path: Path, tmp_path: Path) -> None:
    """The whole table, built after the bytes were let go (the app's warm-up), equals the one
    built from the fully decoded message."""
    copy = tmp_path / path.name
    shutil.copyfile(path, copy)
    index = GraphIndex.from_file(copy)
    index.release_node_bytes()
    decoded = GraphIndex(read_meta_graph(copy), path=str(copy))
    assert VariableTable(index).variables() == VariableTable(decoded).variables()


def _variable(name: str, dtype: int, dims: list[int], *, extra: bytes = b"") -> bytes:
    shape = b"".join(_field(2, b"\x08" + _varint(d)) for d in dims)
    attrs = _field(5, _field(1, b"dtype") + _field(2, b"\x30" + _varint(dtype)))
    attrs += _field(5, _field(1, b"shape") + _field(2, _field(7, shape)))
    return _node(name, "VariableV2") + attrs + extra


def _varint(value: int) -> bytes:
    from graphtui.formats.varint import encode_varint

    return encode_varint(value & ((1 << 64) - 1))


def _records(*nodes: bytes) -> list[bytes]:
    return [_field(1, n) for n in nodes]


@pytest.mark.parametrize("piece", [1, 40, 200, 1 << 20])
@pytest.mark.parametrize("gap", [0, 30, 1 << 20])
def test_read_back_in_pieces_of_every_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, piece: int, gap: int
) -> None:
    """Pieces smaller than one node, holding several, with gaps read or skipped; the names
    taken a few at a time."""
    monkeypatch.setattr(graph_module, "_NODES_OF_CHUNK", 7)
    monkeypatch.setattr(range_reads, "PIECE", piece)
    monkeypatch.setattr(range_reads, "GAP", gap)
    nodes = []
    for i in range(120):
        if i % 3:
            nodes.append(_variable(f"v{i}", 1 + i % 9, [i, -1, 3][: 1 + i % 3]))
        else:
            nodes.append(_node(f"c{i}", "Const"))
    path = tmp_path / "g.meta"
    path.write_bytes(_meta(*_records(*nodes)))
    index = GraphIndex.from_file(path)
    oracle = GraphIndex.from_file(path)
    assert index.release_node_bytes()
    wanted = [f"v{i}" for i in range(119, 0, -1) if i % 3]  # asked out of order
    got = dict(index.nodes_of(wanted))
    assert list(got) == wanted[::-1]
    assert all(got[n] == oracle.node(n) for n in wanted)
    read_dtype_shapes(index, wanted)
    assert [node_dtype_shape(index, n) for n in wanted] == [_one_by_one(oracle, n) for n in wanted]


def test_a_second_op_or_attr_entry_reads_as_protobuf(tmp_path: Path) -> None:
    """A second ``op`` field later in a node, a second ``dtype`` attr entry (legal protobuf:
    the last one wins) read as protobuf reads them."""
    odd = _variable("v1", 1, [2]) + _field(2, b"VarHandleOp")
    twice = _variable("v2", 1, [4], extra=_field(5, _field(1, b"dtype") + _field(2, b"\x30\x03")))
    path = tmp_path / "g.meta"
    path.write_bytes(_meta(*_records(_variable("v0", 2, [1]), odd, twice)))
    for release in (False, True):
        index = GraphIndex.from_file(path)
        if release:
            assert index.release_node_bytes()
        got = dict(index.nodes_of(["v0", "v1", "v2"]))
        full = read_meta_graph(path).graph_def.node
        assert [got[n] for n in ("v0", "v1", "v2")] == list(full)
        assert got["v1"].op == "VarHandleOp" and index.op("v1") == "VarHandleOp"
        read_dtype_shapes(index, ["v0", "v1", "v2"])
        assert node_dtype_shape(index, "v2") == ("int32", [4])
        table = {v.name: (v.op, v.dtype, v.shape) for v in VariableTable(index).variables()}
        assert table == {
            "v0": ("VariableV2", "float64", [1]),
            "v1": ("VarHandleOp", "float32", [2]),
            "v2": ("VariableV2", "int32", [4]),
        }


def test_a_file_changed_since_gives_one_line(tmp_path: Path) -> None:
    path = tmp_path / "g.meta"
    path.write_bytes(_meta(*_records(*(_variable(f"v{i}", 1, [i]) for i in range(30)))))
    index = GraphIndex.from_file(path)
    assert index.release_node_bytes()
    with open(path, "ab") as fh:
        fh.write(b"\x00")
    with pytest.raises(FormatError) as error:
        read_dtype_shapes(index, [f"v{i}" for i in range(30)])
    assert str(error.value) == f"{path}: {CHANGED}"


def test_read_ranges_in_memory_and_back(tmp_path: Path) -> None:
    from graphtui.formats.node_bytes import read_keeping_file

    data = bytes(range(256)) * 50
    path = tmp_path / "f"
    path.write_bytes(data)
    starts = np.array([9000, 5, 300, 12000, 12001], dtype=np.int64)
    ends = np.array([9100, 300, 301, 12001, 12800], dtype=np.int64)
    for release in (False, True):
        source = read_keeping_file(str(path), too_large="too large")
        if release:
            assert source.release()
        got = [(k, bytes(raw)) for k, raw in range_reads.read_ranges(source, starts, ends)]
        assert [k for k, _ in got] == [1, 2, 0, 3, 4]
        assert all(raw == data[starts[k] : ends[k]] for k, raw in got)


@pytest.mark.parametrize("release", [False, True], ids=["in memory", "released"])
def test_a_node_the_scan_misread_is_decoded_as_one_by_one(tmp_path: Path, release: bool) -> None:
    """A node whose decoded op is not the scan's (here: the scan's op range moved onto the
    node's name): not trusted, the whole message decoded and indexed, as ``index.node`` does."""
    path = tmp_path / "g.meta"
    path.write_bytes(_meta(*_records(*(_variable(f"v{i}", 1, [i]) for i in range(5)))))
    index = GraphIndex.from_file(path)
    table = index._table
    assert table is not None
    if release:
        assert index.release_node_bytes()
    index._ops = None
    table.op_starts[2], table.op_ends[2] = table.starts[2] + 2, table.starts[2] + 4  # "v2"
    got = dict(index.nodes_of([f"v{i}" for i in range(5)]))
    assert index._table is None  # decoded whole
    assert list(got.values()) == list(read_meta_graph(path).graph_def.node)


def test_the_pass_paces_like_the_reads_it_replaced(tmp_path: Path) -> None:
    """The pace hook (a warm-up giving way to the UI) is called for each node of the pass and
    every few variables of the table, as the one-by-one reads did."""
    from graphtui.formats import node_bytes

    path = tmp_path / "g.meta"
    path.write_bytes(_meta(*_records(*(_variable(f"v{i}", 1, [i]) for i in range(40)))))
    calls: list[None] = []
    for release in (False, True):
        index = GraphIndex.from_file(path)
        if release:
            assert index.release_node_bytes()
        calls.clear()
        node_bytes.set_pace(lambda: calls.append(None))
        try:
            read_dtype_shapes(index, [f"v{i}" for i in range(40)])
            assert len(calls) >= 40
            calls.clear()
            VariableTable(index)
            assert len(calls) >= 40 // 16
        finally:
            node_bytes.set_pace(None)


from tests.unit.test_variable_table_equivalence import CASES  # noqa: E402
from tests.unit.test_variable_table_equivalence import _index as _workspace_index  # noqa: E402


@pytest.mark.skipif(not CASES, reason="no graphs found")
@pytest.mark.parametrize("path", CASES)
def test_natural_order_filter_equals_the_sort(path: Path) -> None:
    """The table orders its variables by filtering the graph's natural order once built (the
    app's warm-up builds it first): the same rows, in the same order, as sorting their names;
    ``in_natural_order`` equal to the sort for every node, and for every other one."""
    from graphtui.core.natural import natural_key

    index = _workspace_index(path)
    plain = VariableTable(index).variables()
    index.natural_names()  # the order the warm-up builds
    assert VariableTable(index).variables() == plain
    for picked in (list(range(len(index))), list(range(0, len(index), 2))):
        picked = [i for i in picked if index.index_of(index.names[i]) == i]  # distinct names
        assert index.in_natural_order(picked) == sorted(
            picked, key=lambda i: natural_key(index.names[i])
        )
