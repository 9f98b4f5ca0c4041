"""TensorFlow's ``tensorflow/python/training/saver_test.py``, translated for what graphtui writes.

Each test names the upstream test it comes from. TF saves the case as upstream does (plain,
int64, custom saveables, sharded V1 and V2 savers on two devices, partitioned variables in
every layout upstream uses); graphtui rewrites the checkpoint without TF (``export``, ``restore``
into another partitioning, ``rename --checkpoint-only`` for a name map); TF then restores what
graphtui wrote, with the Saver upstream builds and through the written meta graph, and must
see upstream's values. The state file graphtui writes is read by TF's ``get_checkpoint_state``
/ ``latest_checkpoint``.

Not translated: Saver construction errors and deferred builds (TF-side only), eager and GPU
cases, max_to_keep deletion and keep_checkpoint_every_n_hours (graphtui never deletes
checkpoints; its state file keeps the history and appends the new one, which is what a Saver
that has not reached max_to_keep writes).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from graphtui.core.export import export
from graphtui.core.names import ScopeMap
from graphtui.core.rename import rename
from graphtui.core.restore import restore

pytestmark = pytest.mark.interop
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
tf = pytest.importorskip("tensorflow")
tf1 = tf.compat.v1

from tensorflow.python.training import saver_test_utils  # noqa: E402

V1 = tf1.train.SaverDef.V1
V2 = tf1.train.SaverDef.V2


def _config() -> Any:
    return tf1.ConfigProto(device_count={"CPU": 2}, allow_soft_placement=True)


def _session(graph: Any) -> Any:
    return tf1.Session(graph=graph, config=_config())


def _restore_via_meta(meta: str, prefix: str) -> dict[str, Any]:
    """import_meta_graph + Saver.restore of graphtui's output: every variable by op name."""
    with tf.Graph().as_default() as graph:
        saver = tf1.train.import_meta_graph(meta)
        variables = tf1.global_variables()
        with _session(graph) as sess:
            saver.restore(sess, prefix)
            return dict(zip([v.op.name for v in variables], sess.run(variables), strict=True))


def _two_vars_and_table(v0: Any, v1: Any, keys: str, value: float) -> tuple[Any, ...]:
    a = tf1.Variable(v0, name="v0", use_resource=False)
    b = tf1.Variable(v1, name="v1", use_resource=False)
    table = saver_test_utils.CheckpointedOp(name="v2")
    return a, b, table, table.insert(keys, value)


# -- SaverTest ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "as_list", [False, True], ids=["testBasics", "testBasicsWithListOfVariables"]
)
def test_basics(tmp_path: Path, as_list: bool) -> None:
    """SaverTest.testBasics / testBasicsWithListOfVariables: two variables and a custom
    saveable (a hash table saved as two tensors) through graphtui export; upstream's second
    and third graphs restore graphtui's copy."""
    src = str(tmp_path / "basics")
    with tf.Graph().as_default() as graph:
        v0, v1, v2, v2_init = _two_vars_and_table(10.0, 20.0, "k1", 30.0)
        var_list: Any = (
            [v0, v1, v2.saveable] if as_list else {"v0": v0, "v1": v1, "v2": v2.saveable}
        )
        save = tf1.train.Saver(var_list, restore_sequentially=True)
        with _session(graph) as sess:
            sess.run([tf1.global_variables_initializer(), v2_init])
            assert save.save(sess, src) == src
    out = tmp_path / "out" / "basics"
    export(src, str(out))
    for start in ((-1.0, -1.0, None), (1000.0, 2000.0, ("k1000", 3000.0))):
        with tf.Graph().as_default() as graph:
            v0, v1, v2, insert = _two_vars_and_table(start[0], start[1], "k", 0.0)
            var_list = [v0, v1, v2.saveable] if as_list else {"v0": v0, "v1": v1, "v2": v2.saveable}
            save = tf1.train.Saver(var_list)
            with _session(graph) as sess:
                if start[2] is not None:
                    sess.run(v2.insert(*start[2]))
                    sess.run(tf1.global_variables_initializer())
                save.restore(sess, str(out))
                assert sess.run(v0) == 10.0 and sess.run(v1) == 20.0
                assert sess.run(v2.keys()) == b"k1"
                assert sess.run(v2.values()) == 30.0
        del insert
    got = _restore_via_meta(f"{out}.meta", str(out))
    assert got == {"v0": 10.0, "v1": 20.0}


def test_int64(tmp_path: Path) -> None:
    """SaverTest.testInt64"""
    src = str(tmp_path / "int64")
    with tf.Graph().as_default() as graph:
        v = tf1.Variable(np.int64(15), name="v", use_resource=False)
        save = tf1.train.Saver({"v": v}, restore_sequentially=True)
        with _session(graph) as sess:
            sess.run(tf1.global_variables_initializer())
            save.save(sess, src)
    out = tmp_path / "out" / "int64"
    export(src, str(out))
    with tf.Graph().as_default() as graph:
        v = tf1.Variable(np.int64(-1), name="v", use_resource=False)
        save = tf1.train.Saver({"v": v})
        with _session(graph) as sess:
            save.restore(sess, str(out))
            value = sess.run(v)
    assert value == np.int64(15) and value.dtype == np.int64


def test_variables(tmp_path: Path) -> None:
    """SaverTest.testVariables: the default Saver (all variables) restores graphtui's copy."""
    src = str(tmp_path / "variables")
    with tf.Graph().as_default() as graph:
        tf1.Variable(1.0, use_resource=False)
        tf1.Variable([2.0, 2.0, 2.0], use_resource=False)
        v2 = saver_test_utils.CheckpointedOp(name="v2")
        save = tf1.train.Saver()
        with _session(graph) as sess:
            sess.run(tf1.global_variables_initializer())
            sess.run(v2.insert("k1", 3.0))
            save.save(sess, src)
    out = tmp_path / "out" / "variables"
    export(src, str(out))
    with tf.Graph().as_default() as graph:
        one = tf1.Variable(0.0, use_resource=False)
        twos = tf1.Variable([0.0, 0.0, 0.0], use_resource=False)
        v2 = saver_test_utils.CheckpointedOp(name="v2")
        with _session(graph) as sess:
            tf1.train.Saver().restore(sess, str(out))
            assert sess.run(one) == 1.0
            np.testing.assert_array_equal(sess.run(twos), [2.0, 2.0, 2.0])
            assert sess.run(v2.keys()) == b"k1" and sess.run(v2.values()) == 3.0


@pytest.mark.parametrize(
    "use_resource", [False, True], ids=["testNonReshapeVariable", "testNonReshapeResourceVariable"]
)
def test_save_restore_with_variable_name_map(tmp_path: Path, use_resource: bool) -> None:
    """SaveRestoreWithVariableNameMap.testNonReshapeVariable / ...ResourceVariable: values
    saved under ``save_prefix/`` names, not under the variables' own. graphtui's
    ``rename --checkpoint-only save_prefix=restore_prefix`` makes a checkpoint that a Saver
    keyed by the variables' new names (``restore_prefix/v0``) restores; the old keys are gone,
    as upstream checks for the original names."""
    src = str(tmp_path / "non_reshape")
    with tf.Graph().as_default() as graph:
        v0 = tf1.Variable(10.0, name="v0", use_resource=use_resource)
        v1 = tf1.Variable(20.0, name="v1", use_resource=use_resource)
        save = tf1.train.Saver({"save_prefix/v0": v0, "save_prefix/v1": v1})
        with _session(graph) as sess:
            sess.run(tf1.global_variables_initializer())
            assert save.save(sess, src) == src
    out = tmp_path / "out" / "non_reshape"
    rename(src, str(out), ScopeMap.parse(["save_prefix=restore_prefix"]), mode="checkpoint")
    with tf.Graph().as_default() as graph:
        v0 = tf1.Variable(-1.0, name="restore_prefix/v0", use_resource=use_resource)
        v1 = tf1.Variable(-1.0, name="restore_prefix/v1", use_resource=use_resource)
        with _session(graph) as sess:
            tf1.train.Saver([v0, v1]).restore(sess, str(out))
            assert sess.run(v0) == 10.0 and sess.run(v1) == 20.0
        old_names = tf1.train.Saver({"save_prefix/v0": v0})
        with _session(graph) as sess, pytest.raises(tf.errors.NotFoundError):
            old_names.restore(sess, str(out))


# -- SaveRestoreShardedTest / SaveRestoreShardedTestV2 ------------------------------------------


def _sharded_graph(v0: int, v1: int, version: int) -> tuple[Any, ...]:
    with tf.device("/cpu:0"):
        a = tf1.Variable(v0, name="v0", use_resource=False)
        t0 = saver_test_utils.CheckpointedOp(name="t0")
    with tf.device("/cpu:1"):
        b = tf1.Variable(v1, name="v1", use_resource=False)
        t1 = saver_test_utils.CheckpointedOp(name="t1")
    save = tf1.train.Saver(
        {"v0": a, "v1": b, "t0": t0.saveable, "t1": t1.saveable},
        write_version=version,
        sharded=True,
    )
    return a, b, t0, t1, save


@pytest.mark.parametrize(
    "version", [V1, V2], ids=["SaveRestoreShardedTest", "SaveRestoreShardedTestV2"]
)
def test_sharded_basics(tmp_path: Path, version: int) -> None:
    """SaveRestoreShardedTest.testBasics (V1) / SaveRestoreShardedTestV2.testBasics: a sharded
    saver on two devices; graphtui exports it (V1 becomes V2); upstream's sharded Saver
    restores graphtui's copy, so does the written meta graph, and latest_checkpoint names it."""
    src_dir = tmp_path / "src"
    src_dir.mkdir()
    save_path = str(src_dir / "sharded_basics")
    with tf.Graph().as_default() as graph:
        v0, v1, t0, t1, save = _sharded_graph(10, 20, version)
        with _session(graph) as sess:
            sess.run(tf1.global_variables_initializer())
            sess.run([t0.insert("k1", 30.0), t1.insert("k2", 40.0)])
            val = save.save(sess, save_path)
    assert val == (save_path + "-?????-of-00002" if version == V1 else save_path)
    out_dir = tmp_path / "out"
    out = out_dir / "sharded_basics"
    export(save_path, str(out), meta=save_path + ".meta")
    with tf.Graph().as_default() as graph:
        v0, v1, t0, t1, save = _sharded_graph(111, 222, V2)
        with _session(graph) as sess:
            sess.run(tf1.global_variables_initializer())
            sess.run([t0.insert("k11", 33.0), t1.insert("k22", 44.0)])
            save.restore(sess, str(out))
            assert (sess.run(v0), sess.run(v1)) == (10, 20)
            assert (sess.run(t0.keys()), sess.run(t0.values())) == (b"k1", 30.0)
            assert (sess.run(t1.keys()), sess.run(t1.values())) == (b"k2", 40.0)
    assert _restore_via_meta(f"{out}.meta", str(out)) == {"v0": 10, "v1": 20}
    assert tf1.train.latest_checkpoint(str(out_dir)) == str(out)
    # the written graph saves what it sits beside: a V2 checkpoint, merged from its shards
    with tf.Graph().as_default() as graph:
        saver = tf1.train.import_meta_graph(f"{out}.meta")
        assert saver.saver_def.version == V2 and saver.saver_def.sharded
        with _session(graph) as sess:
            saver.restore(sess, str(out))
            (tmp_path / "again").mkdir()
            again = saver.save(sess, str(tmp_path / "again" / "sharded_basics"))
    assert again == str(tmp_path / "again" / "sharded_basics")
    assert _restore_via_meta(f"{out}.meta", again) == {"v0": 10, "v1": 20}


def _partitioned_vars(
    kind: str, value: Any, use_resource: bool, slices: list[int] | None = None
) -> list[Any]:
    name, shape = "my_var", [10, 3]
    if kind == "slices":
        assert slices is not None
        return list(tf1.create_partitioned_variables(shape, slices, value, name=name))
    if kind == "partitioner":
        return [
            tf1.get_variable(
                name,
                shape=shape,
                initializer=value,
                partitioner=tf1.fixed_size_partitioner(num_shards=2),
                use_resource=use_resource,
            )
        ]
    return [tf1.Variable(value, name=name, use_resource=use_resource)]


def _full_value(kind: str, vs: list[Any], slices: list[int] | None, sess: Any) -> Any:
    if kind == "partitioner":
        return sess.run(vs[0].as_tensor())
    if kind == "slices" and slices is not None and slices[0] != 1:
        return sess.run(tf.concat(vs, 0))
    if kind == "slices":
        return sess.run(tf.concat(vs, 1))
    return sess.run(vs[0])


SAVE_LAYOUTS = [("partitioner", None), ("slices", [10, 1]), ("full", None)]
RESTORE_LAYOUTS = [("full", None), ("slices", [2, 1]), ("slices", [1, 3]), ("partitioner", None)]


@pytest.mark.parametrize(
    "use_resource",
    [False, True],
    ids=["testPartitionedVariable", "testPartitionedResourceVariable"],
)
def test_partitioned_variables(tmp_path: Path, use_resource: bool) -> None:
    """SaveRestoreShardedTest.testPartitionedVariable / testPartitionedResourceVariable: a
    variable saved whole, in 2 partitions or in 10 slices; graphtui's restore binds it to a
    target graph in another layout (whole, 2 rows, 3 columns, 2 partitions), TF restores
    graphtui's output with the target's saver, and the full value is the saved one.
    (Upstream's ``call_saver_with_dict`` variants name the same keys.)"""
    rng = np.random.default_rng(7)
    for s_kind, s_slices in SAVE_LAYOUTS:
        saved = rng.random((10, 3)).astype(np.float32)
        src = tmp_path / f"save_{s_kind}" / "ckpt"
        with tf.Graph().as_default() as graph:
            vs = _partitioned_vars(s_kind, saved, use_resource, s_slices)
            saver = tf1.train.Saver(vs)
            with _session(graph) as sess:
                sess.run(tf1.global_variables_initializer())
                saver.save(sess, str(src))
        for r_kind, r_slices in RESTORE_LAYOUTS:
            if s_kind == "full" and r_kind != "slices":
                continue  # upstream: a full variable is restored in 3 column slices
            tag = f"{s_kind}_to_{r_kind}{'' if r_slices is None else r_slices[0]}"
            meta = tmp_path / f"{tag}.meta"
            with tf.Graph().as_default():
                vs = _partitioned_vars(r_kind, tf.zeros([10, 3]), use_resource, r_slices)
                tf1.train.Saver(vs).export_meta_graph(str(meta))
            out = tmp_path / tag / "ckpt"
            restore(str(meta), str(src), {"my_var": "my_var"}, str(out))
            with tf.Graph().as_default() as graph:
                vs = _partitioned_vars(r_kind, tf.zeros([10, 3]), use_resource, r_slices)
                saver = tf1.train.Saver(vs)
                with _session(graph) as sess:
                    sess.run(tf1.global_variables_initializer())
                    saver.restore(sess, str(out))
                    got = _full_value(r_kind, vs, r_slices, sess)
            np.testing.assert_array_equal(got, saved, err_msg=tag)


# -- MaxToKeepTest / CheckpointStateTest: the state file graphtui writes ----------------------------


def test_non_sharded_state_file(tmp_path: Path) -> None:
    """MaxToKeepTest.testNonSharded, the state-file half below max_to_keep: after s1, s2, s3
    the latest is s3 and the history [s1, s2, s3], as TF's Saver(max_to_keep=5) writes it."""
    tf_dir, our_dir = tmp_path / "tf", tmp_path / "ours"
    tf_dir.mkdir()
    with tf.Graph().as_default() as graph:
        v = tf1.Variable(10.0, name="v", use_resource=False)
        save = tf1.train.Saver({"v": v}, max_to_keep=5)
        with _session(graph) as sess:
            sess.run(tf1.global_variables_initializer())
            tf_paths = [save.save(sess, str(tf_dir / name)) for name in ("s1", "s2", "s3")]
    for name in ("s1", "s2", "s3"):
        export(tf_paths[0], str(our_dir / name))
    want = tf1.train.get_checkpoint_state(str(tf_dir))
    got = tf1.train.get_checkpoint_state(str(our_dir))
    assert got.model_checkpoint_path == str(our_dir / "s3")
    rel: Callable[[str], str] = os.path.basename
    assert [rel(p) for p in got.all_model_checkpoint_paths] == [
        rel(p) for p in want.all_model_checkpoint_paths
    ]
    assert tf1.train.latest_checkpoint(str(our_dir)) == str(our_dir / "s3")
    assert all(tf1.train.checkpoint_exists(str(our_dir / n)) for n in ("s1", "s2", "s3"))


# -- MetaGraphTest ---------------------------------------------------------------------------------


def test_add_collection_def(tmp_path: Path) -> None:
    """MetaGraphTest.testAddCollectionDef: a graph with a cond, a while loop, a queue runner,
    int/float/string/variable collections and user protos as string, bytes and Any; graphtui's
    export (binary and text) imports in TF and exports again as the same MetaGraphDef."""
    from google.protobuf.any_pb2 import Any as AnyProto
    from tensorflow.core.protobuf import queue_runner_pb2
    from tensorflow.python.framework import test_util

    filename = tmp_path / "metafile.meta"  # upstream's "metafile": a graph not named *.meta
    # is the read side's item 18.8; the suffix keeps this test on the write side
    was = tf1.control_flow_v2_enabled()
    tf1.disable_control_flow_v2()
    try:
        with tf.Graph().as_default():
            v0 = tf1.Variable(1.0, name="v0", use_resource=False)
            tf1.cond(tf.less(v0, 10), lambda: tf.add(v0, 1), lambda: tf.subtract(v0, 1))
            tf1.while_loop(lambda i: tf.less(i, 10), lambda i: tf.add(i, 1), [v0])
            var = tf1.Variable(tf.constant(0, dtype=tf.int64), use_resource=False)
            count_up_to = var.count_up_to(3)
            queue = tf1.FIFOQueue(30, tf.float32, shared_name="collection_queue")
            qr = tf1.train.QueueRunner(queue, [count_up_to])
            save = tf1.train.Saver({"v0": v0})
            tf1.add_to_collection("int_collection", 3)
            tf1.add_to_collection("float_collection", 3.5)
            tf1.add_to_collection("string_collection", "hello")
            tf1.add_to_collection("variable_collection", v0)
            tf1.train.add_queue_runner(qr)
            runner = queue_runner_pb2.QueueRunnerDef(queue_name="test_queue")
            tf1.add_to_collection("user_defined_string_collection", str(runner))
            tf1.add_to_collection("user_defined_bytes_collection", runner.SerializeToString())
            any_buf = AnyProto()
            any_buf.Pack(runner)
            tf1.add_to_collection("user_defined_any_collection", any_buf)
            meta_graph_def = save.export_meta_graph(str(filename))
        assert len(meta_graph_def.collection_def) == 12

        class Tester(tf.test.TestCase):
            __test__ = False

            def runTest(self) -> None:  # noqa: N802 - unittest's name
                """Only the assertion helpers are used."""

        for as_text in (False, True):
            out = tmp_path / ("text" if as_text else "binary")
            export(str(filename), str(out), as_text=as_text)
            with tf.Graph().as_default():
                new_saver = tf1.train.import_meta_graph(f"{out}.meta")
                new_meta_graph_def = new_saver.export_meta_graph()
            original = type(meta_graph_def)()
            original.CopyFrom(meta_graph_def)  # the comparison clears fields of its arguments
            test_util.assert_meta_graph_protos_equal(Tester(), original, new_meta_graph_def)
    finally:
        if was:
            tf1.enable_control_flow_v2()
