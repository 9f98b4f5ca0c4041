"""The node scanner (formats/node_scan.py) and the lazily decoded GraphIndex built on it.

``GraphIndex.from_file`` indexes a binary graph from a scan of its wire format and decodes
nodes on demand; every answer must be the one protobuf's full decode gives (names, ops, node
messages, the completed MetaGraphDef byte for byte), on our fixtures, on the real-world files
and on hand-built framings a serializer does not write but protobuf accepts. Every test runs
once per engine (the C pass and the numpy scanner; tests/unit/test_node_scan_engines.py
compares the two directly).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from graphtui._proto import pb
from graphtui.core.graph import GraphIndex
from graphtui.core.metagraph import open_meta_graph, read_meta_graph
from graphtui.core.scopes import ScopeTree
from graphtui.errors import FormatError
from graphtui.formats import node_scan
from graphtui.formats.metagraph_io import looks_like_text
from graphtui.formats.node_scan import scan_meta_graph
from graphtui.formats.varint import decode_varint, decode_varints_at, encode_varint
from tests.fixtures.shared import DATA

ROOT = Path(__file__).resolve().parents[2]
REALWORLD = ROOT.parent / "shared" / "realworld"


@pytest.fixture(
    autouse=True,
    params=[
        pytest.param(
            "c",
            marks=pytest.mark.skipif("c" not in node_scan.ENGINES, reason="C scan not built"),
        ),
        "numpy",
    ],
)
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The scanner every caller (GraphIndex.from_file, open_meta_graph) uses in this test."""
    monkeypatch.setattr(node_scan, "ENGINES", (request.param,))
    return request.param


def _binary_metas() -> list[Path]:
    paths = sorted(DATA.rglob("*.meta"))
    if REALWORLD.is_dir():
        paths += sorted(REALWORLD.rglob("*.meta"))
    return [p for p in paths if not looks_like_text(p.read_bytes()[:4096])]


def _field(number: int, payload: bytes) -> bytes:
    return encode_varint(number << 3 | 2) + encode_varint(len(payload)) + payload


def _node(name: str, op: str, *inputs: str) -> bytes:
    out = _field(1, name.encode()) + _field(2, op.encode())
    return out + b"".join(_field(3, i.encode()) for i in inputs)


def _meta(*graph_parts: bytes, extra: bytes = b"") -> bytes:
    info = _field(1, _field(1, b"1.15"))  # meta_info_def.meta_graph_version
    return info + _field(2, b"".join(graph_parts)) + extra


def _same_as_protobuf(path: str, data: bytes) -> GraphIndex:
    """Index ``data`` lazily and check every answer against protobuf's decode."""
    table = scan_meta_graph(data)
    assert table is not None
    shell = pb.MetaGraphDef()
    shell.ParseFromString(table.shell)
    index = GraphIndex(shell, path=path, nodes=table)
    full = pb.MetaGraphDef()
    full.ParseFromString(data)
    nodes = full.graph_def.node
    assert index.names == [n.name for n in nodes]
    assert index.ops == [n.op for n in nodes]
    for node in nodes:
        assert index.node(node.name) == nodes[index.index_of(node.name)]
    got = index.meta_graph.SerializeToString(deterministic=True)
    assert got == full.SerializeToString(deterministic=True)
    return index


@pytest.mark.parametrize("path", _binary_metas(), ids=lambda p: p.name)
def test_lazy_index_equals_the_full_decode(path: Path) -> None:
    """Fixtures and real-world files: the scan's names and ops, each node decoded alone, and
    the completed message re-serialised, all equal protobuf's full decode of the file."""
    meta, table = open_meta_graph(path)
    assert table is not None, "a binary meta graph is scanned, not decoded whole"
    assert len(meta.graph_def.node) == 0
    lazy = GraphIndex(meta, path=path, nodes=table)
    eager = GraphIndex(read_meta_graph(path), path=path)
    assert lazy.names == eager.names and lazy.ops == eager.ops
    assert lazy.duplicates == eager.duplicates
    assert ScopeTree.of(lazy).children("") == ScopeTree.of(eager).children("")
    for name in eager.names[:: max(1, len(eager) // 25)]:
        assert lazy.node(name) == eager.node(name)
        assert lazy.attrs(name).keys() == eager.attrs(name).keys()
    assert len(lazy.meta_graph_header.graph_def.node) == 0  # nothing decoded so far
    assert lazy.meta_graph.SerializeToString(deterministic=True) == (
        eager.meta_graph.SerializeToString(deterministic=True)
    )
    assert lazy.meta_graph_header is lazy.meta_graph


def test_from_file_scans_binary_and_decodes_text(tmp_path: Path) -> None:
    src = DATA / "v1" / "model.ckpt-2.meta"
    binary = GraphIndex.from_file(src)
    assert binary._table is not None
    text = tmp_path / "g.meta"
    text.write_bytes(
        __import__("graphtui.formats.metagraph_io", fromlist=["x"]).serialize_meta_graph(
            read_meta_graph(src), as_text=True
        )
    )
    as_text = GraphIndex.from_file(text)
    assert as_text._table is None
    assert as_text.names == binary.names


def test_node_opening_with_its_op_is_walked() -> None:
    """Fields in another order than a serializer writes (op before name): walked in Python."""
    odd = _field(2, b"Const") + _field(1, b"b")
    data = _meta(_field(1, _node("a", "NoOp")), _field(1, odd), _field(1, _node("c", "Add", "b")))
    assert _same_as_protobuf("odd.meta", data).names == ["a", "b", "c"]


def test_second_name_field_wins_as_in_protobuf() -> None:
    """A node holding a second name or op (legal protobuf, the last one wins; one damaged
    length byte makes one, as the fuzz test found): the scan reads protobuf's."""
    twice = _node("first", "NoOp") + _field(1, b"second") + _field(3, b"a") + _field(2, b"Add")
    data = _meta(_field(1, _node("a", "NoOp")), _field(1, twice))
    index = _same_as_protobuf("twice.meta", data)
    assert index.names == ["a", "second"] and index.ops == ["NoOp", "Add"]


def test_long_node_runs_are_skipped_exactly() -> None:
    """A node with thousands of inputs (a save op's) is walked with its input run skipped
    by numpy; a name hidden after the run still wins."""
    inputs = [f"v{i}" for i in range(5000)]
    save = _node("save", "SaveV2", *inputs) + _field(1, b"renamed")
    nodes = [_field(1, _node(n, "VariableV2")) for n in inputs]
    data = _meta(*nodes, _field(1, save), _field(1, _node("after", "NoOp", "^renamed")))
    index = _same_as_protobuf("save.meta", data)
    assert index.names[-2:] == ["renamed", "after"]
    assert len(index.node("renamed").input) == 5000


def test_unusual_framing_agrees_with_protobuf() -> None:
    """Two graph_def fields (merged), a node tag written in two bytes, nodes after the
    library, a node bigger than a 3-byte length, fields of graph_def between nodes."""
    library = _field(2, _field(1, _field(1, _field(1, b"f"))))  # library.function.signature
    versions = _field(4, bytes([8, 27]))  # versions.producer = 27
    long_tag = bytes([0x8A, 0x00]) + encode_varint(len(_node("b", "X"))) + _node("b", "X")
    big = _node("big", "Const") + _field(5, _field(1, b"value") + _field(2, b"x" * (3 << 20)))
    data = _meta(
        _field(1, _node("a", "NoOp")),
        long_tag,
        versions,
        _field(1, _node("c", "Y", "a", "^b")),
        library,
        _field(1, big),
        extra=_field(2, _field(1, _node("d", "Z"))) + _field(3, _field(1, b"save/Const:0")),
    )
    index = _same_as_protobuf("odd.meta", data)
    assert index.names == ["a", "b", "c", "big", "d"]
    assert index.meta_graph.graph_def.versions.producer == 27


def test_damaged_bytes_fall_back_to_the_full_decode(tmp_path: Path) -> None:
    """A cut file is not scanned; reading it says what protobuf's decode says."""
    data = (DATA / "v1" / "model.ckpt-2.meta").read_bytes()
    cut = data[: len(data) // 2]
    assert scan_meta_graph(cut) is None
    path = tmp_path / "cut.meta"
    path.write_bytes(cut)
    with pytest.raises(FormatError) as lazily:
        GraphIndex.from_file(path)
    with pytest.raises(FormatError) as eagerly:
        read_meta_graph(path)
    assert str(lazily.value) == str(eagerly.value)


def test_a_node_that_does_not_decode_is_reported_when_shown() -> None:
    """Framing intact, a node's device not UTF-8: the scan indexes it; decoding it (or the
    whole message) raises one FormatError naming the file, as reading it whole does."""
    bad = _node("b", "NoOp") + _field(4, b"\xff\xfe")
    data = _meta(_field(1, _node("a", "NoOp")), _field(1, bad))
    table = scan_meta_graph(data)
    assert table is not None and table.names == ["a", "b"]
    shell = pb.MetaGraphDef()
    shell.ParseFromString(table.shell)
    index = GraphIndex(shell, path="bad.meta", nodes=table)
    assert index.node("a").op == "NoOp"
    with pytest.raises(FormatError, match=r"^bad\.meta.*NodeDef|^bad\.meta.*MetaGraphDef"):
        index.node("b")
    with pytest.raises(FormatError, match=r"^bad\.meta"):
        index.meta_graph  # noqa: B018


def test_names_not_utf8_are_not_scanned() -> None:
    data = _meta(_field(1, _node("a", "NoOp")), _field(1, _field(1, b"\xff") + _field(2, b"X")))
    assert scan_meta_graph(data) is None


def test_vectorised_varints_match_decode_varint() -> None:
    values = [0, 1, 127, 128, 300, 1 << 14, (1 << 21) - 1, (1 << 35) + 5, (1 << 63) - 1]
    blob = b"".join(encode_varint(v) for v in values)
    starts, pos = [], 0
    for v in values:
        starts.append(pos)
        pos += len(encode_varint(v))
    buf = np.frombuffer(blob, np.uint8)
    got = decode_varints_at(buf, np.array(starts, np.int64), len(blob))
    assert got.ok.all() and got.value.tolist() == values
    assert got.next.tolist() == [decode_varint(blob, p)[1] for p in starts]
    cut = decode_varints_at(buf, np.array(starts, np.int64), np.array(starts, np.int64) + 1)
    assert cut.ok.tolist() == [v < 128 for v in values]
    eleven = np.frombuffer(b"\xff" * 10 + b"\x01", np.uint8)
    assert not decode_varints_at(eleven, np.zeros(1, np.int64), 11).ok[0]


def test_a_saved_model_file_is_not_scanned_as_a_meta_graph() -> None:
    """saved_model.pb holds MetaGraphDefs one level down: opening it as a graph says so (the
    scanner would read its fields at the wrong level), as read_meta_graph does."""
    path = DATA / "tf2" / "saved_model" / "saved_model.pb"
    with pytest.raises(FormatError, match="is a SavedModel"):
        GraphIndex.from_file(path)
