"""Interop: the model overview and node outputs, judged by live TensorFlow.

A graph built and saved by TF at test time (Momentum optimizer, a While loop, three saves):
graphtui's answers without TF must match what TF reports for the same files — each op's output
dtypes and shapes (``op.outputs``), the global step TF reads back from each checkpoint
(``tf.train.load_variable``), the SaverDef and meta_info_def TF wrote.
"""

from __future__ import annotations

from pathlib import Path

import pytest

tf = pytest.importorskip("tensorflow")


def _train(directory: Path) -> Path:
    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        step = v1.train.get_or_create_global_step()
        x = v1.placeholder_with_default(tf.ones([4, 3]), [None, 3], name="x")
        w = v1.get_variable("dense/kernel", [3, 2], initializer=v1.ones_initializer())
        y = tf.matmul(x, w, name="y")
        i0 = tf.constant(0)
        _, looped = tf.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1, a * 2.0), [i0, y])
        loss = tf.reduce_mean(tf.square(looped), name="loss")
        train = v1.train.MomentumOptimizer(0.01, 0.9).minimize(loss, global_step=step)
        saver = v1.train.Saver(max_to_keep=2)
        with v1.Session(graph=graph) as sess:
            sess.run(v1.global_variables_initializer())
            for _ in range(3):
                sess.run(train)
                saver.save(sess, str(directory / "model.ckpt"), global_step=step)
    return directory


def test_overview_and_outputs_match_tensorflow(tmp_path: Path) -> None:
    from graphtui.core.outputs import outputs
    from graphtui.core.overview import model_overview
    from graphtui.core.workspace import open_workspace

    directory = _train(tmp_path)
    ws = open_workspace(directory)
    assert ws.graph is not None
    o = model_overview(ws.graph, ws.history, ws.reader)
    assert o.optimizers == ("Momentum",)
    assert o.tensorflow_version == tf.__version__
    assert o.saver is not None and o.saver.version == "V2" and o.saver.max_to_keep == 2
    # the global step TF reads from each kept checkpoint
    kept = tf.train.get_checkpoint_state(str(directory)).all_model_checkpoint_paths
    want = [int(tf.train.load_variable(p, "global_step")) for p in kept]
    assert [s.step for s in o.steps] == want == [2, 3]
    assert (o.params_model, o.params_slots) == (6, 6)  # kernel; its Momentum slot
    # every node's outputs as TF's importer sees them
    meta = sorted(directory.glob("*.meta"))[-1]
    g = tf.Graph()
    with g.as_default():
        tf.compat.v1.train.import_meta_graph(str(meta))
    checked = 0
    for op in g.get_operations():
        ours = outputs(ws.graph, op.name)
        if not ours:
            continue
        assert [x.dtype for x in ours] == [t.dtype.name for t in op.outputs], op.name
        for mine, theirs in zip(ours, op.outputs, strict=True):
            if mine.shape is not None and theirs.shape.rank is not None:
                want_shape = tuple(-1 if d is None else d for d in theirs.shape.as_list())
                assert mine.shape == want_shape, op.name
        checked += 1
    assert checked > 50
