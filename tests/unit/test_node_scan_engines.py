"""The node scanner's two engines (formats/node_scan.py: the C pass in _wirescan.c and the
numpy scanner it falls back to) give the same table and the same input ranges
(formats/node_inputs.py), and on valid bytes the one protobuf's
decode gives: generated MetaGraphDefs in every framing protobuf accepts (fields out of order,
repeated names, long tags, several graph_def fields, every wire type), the same bytes damaged,
hand-made framing faults, and (in test_node_scan.py, run once per engine) the fixtures and the
real-world files.
"""

from __future__ import annotations

import os
import shutil
import sysconfig
from pathlib import Path

import numpy as np
import pytest
from google.protobuf.message import DecodeError
from hypothesis import given
from hypothesis import strategies as st

from graphtui._proto import pb
from graphtui.formats import node_scan
from graphtui.formats.node_inputs import input_ranges
from graphtui.formats.node_scan import NodeTable, scan_meta_graph
from graphtui.formats.varint import encode_varint
from tests.unit.test_fuzz import META_BINARY, fuzz, mutated, no_hang  # noqa: F401 (long runs: no per-test guard)

C_BUILT = "c" in node_scan.ENGINES
needs_c = pytest.mark.skipif(not C_BUILT, reason="the C scanner is not built here")


def _tag(number: int, wire: int, extra: int = 0) -> bytes:
    """A tag, written in ``extra`` more bytes than needed when asked (protobuf reads it)."""
    raw = encode_varint(number << 3 | wire)
    if not extra:
        return raw
    out = bytearray(raw)
    out[-1] |= 0x80
    return bytes(out) + b"\x80" * (extra - 1) + b"\x00"


def _len(number: int, payload: bytes, extra: int = 0) -> bytes:
    return _tag(number, 2, extra) + encode_varint(len(payload)) + payload


def _same(a: NodeTable | None, b: NodeTable | None) -> None:
    assert (a is None) == (b is None)
    if a is None or b is None:
        return
    for field in ("starts", "ends", "op_starts", "op_ends"):
        x, y = getattr(a, field), getattr(b, field)
        assert x.dtype == y.dtype == np.int64 and x.tolist() == y.tolist(), field
    assert a.shell_head == b.shell_head and a.shell_tail == b.shell_tail
    assert a.runs == b.runs
    assert a.names == b.names  # ops are decoded when asked for (the ranges agree)


def _both(data: bytes) -> NodeTable | None:
    """Scan with every engine built here; they must agree."""
    tables = [scan_meta_graph(data, engine) for engine in node_scan.ENGINES]
    for other in tables[1:]:
        _same(tables[0], other)
    return tables[0]


def _inputs(table: NodeTable) -> list[tuple[int, bytes]] | None:
    """Every node's inputs by each engine (formats/node_inputs.py); they must agree."""
    found = []
    for engine in node_scan.ENGINES:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(node_scan, "ENGINES", (engine,))
            ranges = input_ranges(table)
        if ranges is None:
            found.append(None)
            continue
        assert ranges.node.dtype == np.int32 and ranges.start.dtype == ranges.end.dtype
        spans = zip(ranges.node.tolist(), ranges.start.tolist(), ranges.end.tolist(), strict=True)
        found.append([(i, table.data[a:b]) for i, a, b in spans])
    assert all(other == found[0] for other in found[1:])
    return found[0]


def _as_protobuf(data: bytes, table: NodeTable) -> None:
    """``table`` (and the inputs found from it) say what protobuf's decode of ``data`` says."""
    full = pb.MetaGraphDef()
    full.ParseFromString(data)
    nodes = full.graph_def.node
    want = [(i, text.encode()) for i, n in enumerate(nodes) for text in n.input]
    assert _inputs(table) == want
    assert table.names == [n.name for n in nodes]
    assert table.ops() == [n.op for n in nodes]
    for i, node in enumerate(nodes):
        one = pb.NodeDef()
        one.ParseFromString(table.node_bytes(i))
        assert one == node
    shell = pb.MetaGraphDef()
    shell.ParseFromString(table.shell)
    view = memoryview(table.data)
    for a, b in table.runs:  # as GraphIndex completes the message
        shell.graph_def.MergeFromString(view[a:b])
    assert shell.SerializeToString(deterministic=True) == full.SerializeToString(deterministic=True)


# ---- generated MetaGraphDefs: every framing protobuf accepts -------------------------------

_names = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
_extra = st.sampled_from([0, 0, 0, 1, 3])  # tag written in more bytes than needed


@st.composite
def _node_fields(draw: st.DrawFn) -> bytes:
    """One NodeDef's fields, mostly in a serializer's order, sometimes not."""
    fields = [_len(1, draw(_names).encode(), draw(_extra)), _len(2, draw(_names).encode())]
    fields += [_len(3, draw(_names).encode()) for _ in range(draw(st.integers(0, 40)))]
    if draw(st.integers(0, 9)) == 0:  # a save op's run of inputs (numpy skips such runs)
        fields += [_len(3, b"save/v%d" % i) for i in range(draw(st.integers(300, 700)))]
    if draw(st.booleans()):
        fields.append(_len(4, b"/cpu:0"))
    for _ in range(draw(st.integers(0, 2))):  # attr map entries: key, AttrValue{i}
        value = _tag(3, 0) + encode_varint(draw(st.integers(0, 1 << 63)))
        fields.append(_len(5, _len(1, draw(_names).encode()) + _len(2, value)))
    order = draw(st.sampled_from(["written", "shuffled", "renamed"]))
    if order == "shuffled":
        fields = draw(st.permutations(fields))
    elif order == "renamed":  # a second name and op later on: the last one wins
        fields += [_len(1, draw(_names).encode(), draw(_extra)), _len(2, b"Second")]
    if draw(st.booleans()):  # unknown fields of every wire type protobuf keeps
        fields.append(_tag(99, 0) + encode_varint(draw(st.integers(0, 1 << 64 - 1))))
        fields.append(_tag(98, 1) + b"\x01" * 8 + _tag(97, 5) + b"\x02" * 4)
    return b"".join(fields)


@st.composite
def meta_graphs(draw: st.DrawFn) -> bytes:
    """A valid binary MetaGraphDef, framed in any way protobuf reads."""
    graph_defs = []
    for _ in range(draw(st.integers(1, 3)) if draw(st.booleans()) else 1):
        parts = []
        for _ in range(draw(st.integers(0, 12))):
            kind = draw(st.sampled_from(["node"] * 6 + ["versions", "library", "empty"]))
            if kind == "node":
                parts.append(_len(1, draw(_node_fields()), draw(_extra)))
            elif kind == "empty":
                parts.append(_len(1, b""))
            elif kind == "versions":
                parts.append(_len(4, _tag(1, 0) + encode_varint(draw(st.integers(0, 99)))))
            else:
                parts.append(_len(2, _len(1, _len(1, _len(1, draw(_names).encode())))))
        graph_defs.append(_len(2, b"".join(parts), draw(_extra)))
    others = [
        _len(1, _len(1, b"1.15")),  # meta_info_def.meta_graph_version
        _len(3, _len(1, b"save/Const:0")),  # saver_def
        _len(4, _len(1, b"variables") + _len(2, _len(2, _len(1, b"v:0")))),  # collection_def
    ]
    fields = graph_defs + [f for f in others if draw(st.booleans())]
    return b"".join(draw(st.permutations(fields)) if draw(st.booleans()) else fields)


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(meta_graphs()))
    for _ in range(draw(st.integers(1, 3))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        how = draw(st.sampled_from(["set", "insert", "delete", "cut"]))
        if how == "set":
            data[at] = draw(st.sampled_from([0x00, 0x02, 0x0A, 0x12, 0x1A, 0x0B, 0x80, 0xFF]))
        elif how == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=3))
        elif how == "delete":
            del data[at]
        else:
            del data[at:]
    return bytes(data)


@fuzz(ci_examples=100)
@given(data=meta_graphs())
def test_generated_graphs_scan_as_protobuf_decodes_them(data: bytes) -> None:
    table = _both(data)
    assert table is not None
    _as_protobuf(data, table)


@fuzz(ci_examples=200)
@given(
    data=st.one_of(
        damaged(),
        meta_graphs().flatmap(mutated),
        st.sampled_from(sorted(META_BINARY)).map(META_BINARY.__getitem__).flatmap(mutated),
    )
)
def test_damaged_graphs_both_give_up_or_agree(data: bytes) -> None:
    """Where both engines read the bytes, they say the same; where protobuf decodes them too,
    what it says."""
    table = _both(data)
    if table is None:
        return
    _inputs(table)
    try:
        pb.MetaGraphDef().ParseFromString(data)
    except DecodeError:
        return
    try:
        _as_protobuf(data, table)
    except DecodeError:  # a node protobuf reads as part of the whole but not alone: none here
        raise AssertionError("a node the whole decode reads does not decode alone") from None


# ---- framing faults, made by hand ------------------------------------------------------

_GOOD = _len(1, _len(1, b"a") + _len(2, b"NoOp"))


def _meta(*graph_parts: bytes) -> bytes:
    return _len(1, _len(1, b"1.15")) + _len(2, b"".join(graph_parts))


@pytest.mark.parametrize(
    "node",
    [
        pytest.param(_len(1, b"a") + b"\x1a\x05ab", id="field past its node"),
        pytest.param(_len(1, b"a") + b"\x0e\x00", id="wire type 6"),
        pytest.param(_len(1, b"a") + b"\x02\x01x", id="field 0"),
        pytest.param(_len(1, b"a") + b"\x18" + b"\xff" * 10 + b"\x01", id="11-byte varint"),
        pytest.param(_len(1, b"a") + b"\x18\xff", id="varint cut by the node's end"),
        pytest.param(_len(1, b"a") + b"\x19\x00\x00", id="fixed64 past its node"),
        pytest.param(b"\x0a" + b"\x80" * 9 + b"\x02" + b"\x12\x01X", id="length 2**64"),
        pytest.param(b"\x0a" + b"\xff" * 8 + b"\x7f" + b"\x12\x01X", id="length 2**63-1 (wraps)"),
        pytest.param(_len(1, b"\xff") + _len(2, b"X"), id="name not UTF-8"),
        pytest.param(_len(1, b"\xed\xa0\x80") + _len(2, b"X"), id="name a surrogate"),
    ],
)
def test_framing_faults_give_up(node: bytes) -> None:
    """Each fault inside a node: both engines give up (protobuf refuses them too)."""
    data = _meta(_GOOD, _len(1, node), _GOOD)
    assert _both(data) is None
    with pytest.raises(DecodeError):
        pb.MetaGraphDef().ParseFromString(data)


def test_groups_give_up() -> None:
    """A group (legal, never written by TensorFlow): both engines leave it to protobuf."""
    data = _meta(_GOOD, _len(1, _len(1, b"a") + b"\x0b\x0c"), _GOOD)
    assert _both(data) is None
    assert len(pb.MetaGraphDef.FromString(data).graph_def.node) == 3


@pytest.mark.parametrize("inputs", [29, 30, 200])
def test_field_0_in_a_run_the_numpy_walk_skips_gives_up(inputs: int) -> None:
    """A node with hundreds of fields: the numpy walk skips runs of one tag from every 32nd
    field on; a run of field-0 fields there (the 32nd field with 29 inputs) is found too."""
    head = _len(1, b"save") + _len(2, b"SaveV2")
    run = b"".join(_len(3, b"input_%d" % i) for i in range(inputs))
    zeros = b"".join(b"\x02\x08" + b"x" * 8 for _ in range(600))
    data = _meta(_GOOD, _len(1, head + run + zeros))
    assert _both(data) is None
    with pytest.raises(DecodeError):
        pb.MetaGraphDef().ParseFromString(data)


@pytest.mark.parametrize(
    "cut", [1, 2, 5], ids=["tag cut", "graph_def past the file", "node past graph_def"]
)
def test_faults_outside_nodes_give_up(cut: int) -> None:
    data = _meta(_GOOD, _GOOD, _GOOD)
    assert _both(data) is not None
    assert _both(data[:-cut]) is None
    assert _both(b"\x12\x80") is None  # graph_def's length cut off
    assert _both(b"") is None


def test_a_long_node_tag_joins_the_run_before_it() -> None:
    """The node records' ranges are the longest runs of node fields, however tags are
    written (both engines: one run here)."""
    data = _meta(_GOOD, _len(1, _len(1, b"b") + _len(2, b"X"), extra=2), _GOOD)
    table = _both(data)
    assert table is not None and len(table.runs) == 1 and table.names == ["a", "b", "a"]


@needs_c
def test_the_c_scan_keeps_its_buffers_alive() -> None:
    """The arrays own their memory (a buffer object each): they outlive the scan's result."""
    table = scan_meta_graph(_meta(_GOOD, _GOOD), "c")
    assert table is not None
    starts = table.starts
    del table
    assert starts.tolist() == [starts[0], starts[0] + 11] and starts.flags.writeable


def test_the_c_scan_is_built_where_a_compiler_is() -> None:
    """The project's install step builds the accelerator where it can: in CI (a fresh
    install), a C compiler and Python's headers mean it must be in use (a failed build is not
    silent). Elsewhere a checkout may predate the extension: skipped, saying how to build it."""
    headers = Path(sysconfig.get_paths()["include"]) / "Python.h"
    if not (shutil.which("cc") or shutil.which("gcc")) or not headers.is_file():
        pytest.skip("no C compiler or Python headers: the numpy scanner is the only engine")
    if not C_BUILT and not os.environ.get("CI"):
        pytest.skip("C scan not built here: scripts/dev-env.sh test (or setup.py build_ext -i)")
    assert C_BUILT, "a compiler is here but graphtui/formats/_wirescan.c is not built"
