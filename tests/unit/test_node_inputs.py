"""The input-range scanner (formats/node_inputs.py): every node's ``input`` strings found in the
wire format must be exactly the ``input`` lists protobuf decodes, in order, for any framing
protobuf accepts (fields in any order, inputs interleaved with other fields, unknown fields of
every wire type, tags written in more bytes than needed), on the numpy rounds and on the Python
walk alike; a framing it does not read gives None (the caller decodes)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphtui._proto import pb
from graphtui.formats import node_inputs, node_scan
from graphtui.formats.node_bytes import NodeBytes
from graphtui.formats.node_inputs import input_ranges
from graphtui.formats.node_scan import NodeTable, scan_meta_graph
from graphtui.formats.varint import encode_varint
from tests.unit.test_node_scan import _binary_metas

# the numpy rounds for every node (the Python walk only for what they do not read), or the
# Python walk for every node; and the C pass where it is built (formats/_wirescan.c)
PATHS = {"rounds": ("numpy", 1), "walk": ("numpy", 1 << 62)}
if "c" in node_scan.ENGINES:
    PATHS["c"] = ("c", 1)


def _take(path: tuple[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    engine, min_active = path
    monkeypatch.setattr(node_scan, "ENGINES", (engine,))
    monkeypatch.setattr(node_inputs, "_MIN_ACTIVE", min_active)


def _tag(number: int, wire: int) -> bytes:
    return encode_varint(number << 3 | wire)


def _field(number: int, payload: bytes) -> bytes:
    return _tag(number, 2) + encode_varint(len(payload)) + payload


def _meta(*nodes: bytes) -> bytes:
    return _field(2, b"".join(_field(1, node) for node in nodes))


def _decoded_inputs(data: bytes) -> list[tuple[int, str]]:
    meta = pb.MetaGraphDef()
    meta.ParseFromString(data)
    return [(i, text) for i, node in enumerate(meta.graph_def.node) for text in node.input]


def _scanned_inputs(table: NodeTable) -> list[tuple[int, str]] | None:
    ranges = input_ranges(table)
    if ranges is None:
        return None
    assert len(ranges.node) == len(ranges.start) == len(ranges.end) == len(ranges)
    assert str(ranges.node.dtype) == "int32" and str(ranges.start.dtype) == "int64"
    data = table.data
    return [
        (i, str(data[a:b], "utf-8"))
        for i, a, b in zip(
            ranges.node.tolist(), ranges.start.tolist(), ranges.end.tolist(), strict=True
        )
    ]


def _check(data: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    table = scan_meta_graph(data)
    assert table is not None
    want = _decoded_inputs(data)
    for path in PATHS.values():
        _take(path, monkeypatch)
        assert _scanned_inputs(table) == want


@pytest.mark.parametrize("path", _binary_metas(), ids=lambda p: p.name)
def test_fixtures_and_real_world_files(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _check(path.read_bytes(), monkeypatch)


def _node(name: str, op: str, *inputs: str) -> bytes:
    return (
        _field(1, name.encode())
        + _field(2, op.encode())
        + b"".join(_field(3, i.encode()) for i in inputs)
    )


def test_inputs_interleaved_with_other_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inputs before the name, between attrs, after the device; unknown fields of every wire
    type; an input whose tag is written in two bytes (protobuf reads it as an input)."""
    attr = _field(5, _field(1, b"T") + _field(2, bytes([0x30, 1])))
    odd = b"".join(
        [
            _field(3, b"^first"),
            _field(1, b"odd"),
            attr,
            _field(3, b"a:1"),
            _field(4, b"/cpu:0"),
            _tag(9, 0) + encode_varint(300),  # unknown varint
            _tag(10, 1) + bytes(8),  # unknown fixed64
            _tag(11, 5) + bytes(4),  # unknown fixed32
            _field(200, b"\x1a\x01x"),  # unknown, a two-byte tag, bytes that look like an input
            bytes([0x9A, 0x00, 1]) + b"b",  # field 3 with its tag in two bytes
            _field(2, b"Add"),
            _tag(3, 0) + bytes([5]),  # field 3 with the wrong wire type: not an input
            _field(3, b""),
        ]
    )
    data = _meta(_node("a", "NoOp"), odd, _node("b", "Y", "a", "odd:2"), _node("c", "Z"))
    assert _decoded_inputs(data)[:5] == [(1, "^first"), (1, "a:1"), (1, "b"), (1, ""), (2, "a")]
    _check(data, monkeypatch)


def test_long_input_runs_are_taken_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    """A save op's thousands of inputs, some of them long (two-byte lengths) or holding the
    input tag byte itself; a second run after an attr; a node with no field at all."""
    names = [f"v{i}" if i % 97 else f"v{i}\x1a" + "x" * (i % 300) for i in range(3000)]
    save = (
        _node("save", "SaveV2", *names)
        + _field(4, b"")
        + b"".join(_field(3, n.encode()) for n in names[:700])
    )
    data = _meta(
        *(_node(n, "VariableV2") for n in names[:50]), save, b"", _node("z", "NoOp", "save")
    )
    _check(data, monkeypatch)


@pytest.mark.parametrize(
    "tail",
    [
        _tag(7, 3) + _tag(7, 4),  # a group
        bytes([0x00, 0x00]),  # field number 0
        _tag(3, 2) + bytes([0x80]),  # a length cut off by the node's end
        _tag(3, 2) + bytes([5]) + b"ab",  # an input running past its node
    ],
    ids=["group", "field-0", "varint-cut", "past-node"],
)
def test_framing_not_read_gives_none(tail: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    """The node scan gives up on these itself; a table made otherwise (a faster scanner)
    still gets None here rather than a wrong answer: the node's bytes are swapped under a
    scan of the same bytes with a harmless field in their place."""
    harmless = _tag(6, 2) + bytes([len(tail) - 2]) + b"x" * (len(tail) - 2)
    head = _field(1, b"g") + _field(2, b"X")
    table = scan_meta_graph(_meta(_node("a", "NoOp"), head + harmless))
    assert table is not None
    bad = dataclasses.replace(table, source=NodeBytes(_meta(_node("a", "NoOp"), head + tail)))
    assert len(bad.data) == len(table.data)
    for path in PATHS.values():
        _take(path, monkeypatch)
        assert _scanned_inputs(table) == [] and input_ranges(bad) is None


_TEXT = st.text(st.sampled_from("ab^:/_01\x1a\u00e9"), max_size=6)
_OTHER = st.one_of(
    st.builds(lambda t: _field(4, t.encode()), _TEXT),  # device
    st.builds(lambda t: _field(5, _field(1, t.encode())), _TEXT),  # attr
    st.builds(lambda v: _tag(12, 0) + encode_varint(v), st.integers(0, 1 << 40)),
    st.just(_tag(13, 1) + bytes(8)),
    st.just(_tag(14, 5) + b"\x1a\x1a\x1a\x1a"),
    st.builds(lambda t: _field(300, t.encode()), _TEXT),
)
_NODE = st.tuples(
    st.lists(st.one_of(st.builds(lambda t: ("in", t), _TEXT), _OTHER.map(lambda b: ("x", b)))),
    st.booleans(),
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(nodes=st.lists(_NODE, min_size=1, max_size=12))
def test_any_framing_agrees_with_protobuf(
    nodes: list[tuple[list[tuple[str, object]], bool]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Random nodes: inputs and other fields in any order, name and op first or last."""
    blobs = []
    for i, (fields, head) in enumerate(nodes):
        body = b"".join(
            _field(3, str(v).encode()) if kind == "in" else bytes(v)  # type: ignore[arg-type]
            for kind, v in fields
        )
        ident = _field(1, f"n{i}".encode()) + _field(2, b"Op")
        blobs.append(ident + body if head else body + ident)
    _check(_meta(*blobs), monkeypatch)
