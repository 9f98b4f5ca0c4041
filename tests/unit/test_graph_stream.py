"""The streamed GraphDef writer (formats/graph_stream.py) writes exactly the bytes protobuf's
deterministic serialisation gives for the graph with the values in place, whatever the value
sizes (varint lengths of one, two and three bytes) and however few bytes ``writev`` takes at a
time; and a frozen graph written by ``apply_freeze`` (streamed) equals the one
``fill_constants`` builds in memory."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from graphtui._proto import pb
from graphtui.core.freeze import FreezeRequest, apply_freeze, fill_constants, plan_freeze
from graphtui.formats import dtypes, graph_stream
from graphtui.formats.graph_stream import StreamedValue, write_graph_def
from graphtui.formats.tensor_proto import make_tensor_proto_raw

TRAIN = Path(__file__).resolve().parents[1] / "fixtures" / "data" / "train" / "model.ckpt-50"
F32 = dtypes.from_name("float32")


def _graphs(sizes: list[int]) -> tuple[object, object, dict[str, StreamedValue]]:
    """The same graph whole (values in place) and as a skeleton plus streamed values."""
    whole, skeleton = pb.GraphDef(), pb.GraphDef()
    whole.versions.producer = skeleton.versions.producer = 1234
    values: dict[str, StreamedValue] = {}
    rng = np.random.default_rng(0)
    for i, n in enumerate(sizes):
        raw = rng.standard_normal(n, dtype=np.float32).tobytes()
        for graph in (whole, skeleton):
            node = graph.node.add()
            node.name, node.op = f"c{i}", "Const"
            node.attr["dtype"].type = F32.enum
            other = graph.node.add()
            other.name, other.op = f"read{i}", "Identity"
            other.input.append(f"c{i}")
            other.attr["T"].type = F32.enum
        make_tensor_proto_raw(raw, F32, (n,), whole.node[2 * i].attr["value"].tensor)
        header = make_tensor_proto_raw(b"", F32, (n,), pb.TensorProto())
        values[f"c{i}"] = StreamedValue(
            header.SerializeToString(deterministic=True), memoryview(raw)
        )
    skeleton.library.function.add().signature.name = "f"
    whole.library.function.add().signature.name = "f"
    return whole, skeleton, values


@pytest.mark.parametrize("chunk", [None, 7])
def test_streamed_graph_is_byte_identical_to_serialize(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int | None
) -> None:
    # 4..40,000 floats: the value's length varint is 1, 2 or 3 bytes at every nesting level
    whole, skeleton, values = _graphs([2, 30, 4000, 40_000, 3] + [5] * 1100)
    if chunk is not None:  # a file that takes a few bytes per writev call
        real = os.writev

        def short(fd: int, buffers: list[bytes]) -> int:
            return real(fd, [memoryview(buffers[0])[:chunk]])

        monkeypatch.setattr(graph_stream.os, "writev", short)
    seen: list[int] = []
    out = tmp_path / "g.pb"
    with open(out, "wb") as fh:
        size = write_graph_def(fh, skeleton, values, seen.append)
    data = out.read_bytes()
    assert data == whole.SerializeToString(deterministic=True)  # type: ignore[attr-defined]
    assert size == len(data)
    assert sum(seen) == sum(len(v.content) for v in values.values())


def test_apply_freeze_streams_the_same_bytes_fill_constants_builds(tmp_path: Path) -> None:
    out = tmp_path / "frozen.pb"
    plan = plan_freeze(FreezeRequest(str(TRAIN), ("predictions", "energy"), str(out)))
    apply_freeze(plan)
    expected = fill_constants(plan).SerializeToString(deterministic=True)
    assert out.read_bytes() == expected
    frozen = {v.node for v in plan.variables}
    graph = pb.GraphDef()
    graph.ParseFromString(expected)
    assert any(n.attr["value"].tensor.tensor_content for n in graph.node if n.name in frozen)
