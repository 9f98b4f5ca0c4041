"""Inputs of the freeze / convert benchmark rows (bench/run.py --only serve)."""

from __future__ import annotations

import os


def build_freeze_checkpoint(meta: str, prefix: str) -> str:
    """A checkpoint holding every VariableV2 of ``meta`` (random float32 values of the declared
    shapes), written with graphtui's BundleWriter; returns the graph's last MatMul (the output
    that needs every variable)."""
    import numpy as np

    from graphtui.core.metagraph import read_meta_graph
    from graphtui.formats.bundle_writer import BundleWriter
    from graphtui.formats.transaction import FileTransaction

    graph = read_meta_graph(meta).graph_def
    last = [n.name for n in graph.node if n.op == "MatMul"][-1]
    if os.path.isfile(prefix + ".index"):
        return last
    rng = np.random.default_rng(0)
    with FileTransaction() as txn:
        writer = BundleWriter(prefix, txn)
        for node in graph.node:
            if node.op == "VariableV2":
                shape = [d.size for d in node.attr["shape"].shape.dim]
                writer.add(node.name, rng.standard_normal(shape, dtype=np.float32))
        writer.finish()
    return last


def tf_freeze(meta: str, prefix: str, output: str, out: str) -> dict[str, float]:
    """TensorFlow's own freeze of the same graph, timed after the import: import the graph,
    Saver.restore, convert_variables_to_constants, serialize and write the .pb."""
    import time

    import tensorflow as tf
    from tensorflow.core.protobuf import meta_graph_pb2

    tf1 = tf.compat.v1
    start = time.perf_counter()
    stored = meta_graph_pb2.MetaGraphDef()
    with open(meta, "rb") as fh:
        stored.ParseFromString(fh.read())
    # the bench graph's hand-made save nodes do not import into TF: the model part only, and a
    # Saver over its variables
    graph_def = tf1.GraphDef()
    graph_def.node.extend(n for n in stored.graph_def.node if not n.name.startswith("save/"))
    graph = tf.Graph()
    with graph.as_default(), tf1.Session(graph=graph) as sess:
        tf.import_graph_def(graph_def, name="")
        names = [n.name for n in graph_def.node if n.op == "VariableV2"]
        saver = tf1.train.Saver({n: graph.get_tensor_by_name(n + ":0") for n in names})
        saver.restore(sess, prefix)
        frozen = tf1.graph_util.convert_variables_to_constants(sess, graph_def, [output])
        with open(out, "wb") as fh:
            fh.write(frozen.SerializeToString())
            fh.flush()
            os.fsync(fh.fileno())
    return {"seconds": time.perf_counter() - start}


if __name__ == "__main__":
    import json
    import sys

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    print(json.dumps(tf_freeze(*sys.argv[2:6])) if sys.argv[1] == "tf_freeze" else "{}")
