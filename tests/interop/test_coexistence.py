"""graphtui and TensorFlow in one process, imported in either order.

Each case runs in a fresh interpreter, because the point is what importing does to protobuf's
default descriptor pool. TensorFlow owns ``tensorflow.*`` in that pool; graphtui must keep to
its private pool and both must keep working, with byte-identical results.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from graphtui._proto import pack_any, pb
from graphtui.formats.metagraph_io import serialize_meta_graph

pytestmark = pytest.mark.interop
pytest.importorskip("tensorflow")

REPO = Path(__file__).resolve().parents[2]

GRAPHTUI_PART = """
import graphtui
from graphtui._proto import POOL, pb, unpack_any
from graphtui.core.metagraph import export_meta_graph, read_meta_graph
from graphtui.formats.metagraph_io import serialize_meta_graph
ours = read_meta_graph(META)
assert unpack_any(ours.collection_def["anys"].any_list.value[0]).variable_name == "c:0"
"""

TENSORFLOW_PART = """
import tensorflow as tf
from tensorflow.core.protobuf import meta_graph_pb2
from tensorflow.python.framework import meta_graph
theirs = meta_graph.read_meta_graph_file(META)
graph = tf.Graph()
with graph.as_default():
    tf.compat.v1.train.import_meta_graph(META)
assert graph.get_tensor_by_name("y:0").dtype == tf.float32
"""

CHECKS = """
from google.protobuf import descriptor_pool, text_format
default = descriptor_pool.Default()
# TensorFlow's descriptors own the default pool; ours are only in POOL
assert default.FindMessageTypeByName("tensorflow.MetaGraphDef").file.name == (
    "tensorflow/core/protobuf/meta_graph.proto"
)
for name in ("graphtui_tf/meta_graph.proto", "graphtui_tf/tensor_bundle.proto"):
    try:
        default.FindFileByName(name)
    except KeyError:
        pass
    else:
        raise SystemExit(f"{name} is in the default pool")
assert POOL.FindMessageTypeByName("tensorflow.MetaGraphDef").file.name == (
    "graphtui_tf/meta_graph.proto"
)
assert pb.MetaGraphDef is not meta_graph_pb2.MetaGraphDef

# same bytes and the same text (Any expanded by each side from its own pool)
data = open(META, "rb").read()
assert theirs.SerializeToString(deterministic=True) == data == serialize_meta_graph(ours)
assert text_format.MessageToString(theirs).encode() == serialize_meta_graph(ours, as_text=True)

# graphtui still works after both are loaded: new classes, a fresh parse, an export TF reads
assert pb.BundleEntryProto(dtype=1, crc32c=5).SerializeToString() == b"\\x08\\x015\\x05\\0\\0\\0"
export_meta_graph(read_meta_graph(META), OUT, as_text=True, clear_devices=True)
again = meta_graph.read_meta_graph_file(OUT)
assert [n.device for n in again.graph_def.node] == ["", ""]
from tensorflow.core.framework import variable_pb2
assert again.collection_def["anys"].any_list.value[0].Is(variable_pb2.VariableDef.DESCRIPTOR)
print("ok")
"""


def _meta_graph_bytes() -> bytes:
    """A tiny graph TensorFlow can import: c = Const(1.5); y = Identity(c); an Any collection."""
    mg = pb.MetaGraphDef()
    mg.meta_info_def.tags.append("serve")
    graph = mg.graph_def
    graph.versions.producer = 1882
    const = graph.node.add(name="c", op="Const", device="/device:CPU:0")
    const.attr["dtype"].type = pb.DataType.Value("DT_FLOAT")
    const.attr["value"].tensor.dtype = pb.DataType.Value("DT_FLOAT")
    const.attr["value"].tensor.float_val.append(1.5)
    ident = graph.node.add(name="y", op="Identity", input=["c"], device="/device:CPU:0")
    ident.attr["T"].type = pb.DataType.Value("DT_FLOAT")
    mg.collection_def["outputs"].node_list.value.append("y:0")
    mg.collection_def["anys"].any_list.value.append(pack_any(pb.VariableDef(variable_name="c:0")))
    return serialize_meta_graph(mg)


@pytest.mark.parametrize("first", ["graphtui", "tensorflow"])
def test_both_orders(tmp_path: Path, first: str) -> None:
    meta = tmp_path / "tiny.meta"
    meta.write_bytes(_meta_graph_bytes())
    parts = [GRAPHTUI_PART, TENSORFLOW_PART]
    if first == "tensorflow":
        parts.reverse()
    header = f"META = {str(meta)!r}\nOUT = {str(tmp_path / 'out.meta')!r}\n"
    script = header + "".join(textwrap.dedent(p) for p in [*parts, CHECKS])
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")
