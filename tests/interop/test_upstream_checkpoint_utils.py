"""TensorFlow's ``tensorflow/python/training/checkpoint_utils_test.py``, translated.

Each test names the upstream test it comes from. TF builds the case as upstream does and gives
the answer (``init_from_checkpoint`` + initializers, or the error it raises); graphtui computes
the same without TF (``restore`` of the target's meta graph with the same assignment map, by
names where upstream passes Variable objects); then TF imports what graphtui wrote, restores it
and must see exactly the values its own ``init_from_checkpoint`` gave.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import graphtui
from graphtui.core.restore import RestoreReport, restore
from graphtui.errors import CoreError, GraphtuiError

pytestmark = pytest.mark.interop
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
tf = pytest.importorskip("tensorflow")
tf1 = tf.compat.v1


def _partitioner(min_slice: int) -> Any:
    return tf1.min_max_variable_partitioner(max_partitions=5, axis=0, min_slice_size=min_slice)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, np.ndarray]]:
    """Upstream ``_create_checkpoints``: var1..var3 and useful_scope/var4, saved at step 0."""
    directory = tmp_path_factory.mktemp("checkpoints")
    with tf.Graph().as_default() as graph, tf1.Session(graph=graph) as sess:
        v1 = tf1.get_variable("var1", [1, 10])
        v2 = tf1.get_variable("var2", [10, 10])
        v3 = tf1.get_variable("var3", [100, 100])
        with tf1.variable_scope("useful_scope"):
            v4 = tf1.get_variable("var4", [9, 9])
        sess.run(tf1.global_variables_initializer())
        values = dict(
            zip(
                ["var1", "var2", "var3", "useful_scope/var4"],
                sess.run([v1, v2, v3, v4]),
                strict=True,
            )
        )
        tf1.train.Saver().save(
            sess, str(directory / "model"), global_step=0, latest_filename="checkpoint"
        )
    return directory, values


@pytest.fixture(scope="module")
def partition_ckpt(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[np.ndarray]]:
    """Upstream ``_create_partition_checkpoints``: scope/var1 [100, 100] in partitions."""
    directory = tmp_path_factory.mktemp("partition_checkpoints")
    with tf.Graph().as_default() as graph, tf1.Session(graph=graph) as sess:
        with tf1.variable_scope("scope"):
            v1 = tf1.get_variable(
                "var1",
                [100, 100],
                initializer=tf1.truncated_normal_initializer(0.5),
                partitioner=_partitioner(8 << 10),
            )
        sess.run(tf1.global_variables_initializer())
        parts = sess.run(list(v1))
        tf1.train.Saver().save(
            sess, str(directory / "model"), global_step=0, latest_filename="checkpoint"
        )
    return directory, parts


def _values_after_restore(meta: Path, prefix: Path) -> dict[str, np.ndarray]:
    """TF: import graphtui's graph, run the initializers, restore graphtui's checkpoint."""
    with tf.Graph().as_default() as graph:
        saver = tf1.train.import_meta_graph(str(meta), clear_devices=True)
        variables = tf1.global_variables()
        with tf1.Session(graph=graph) as sess:
            sess.run(tf1.global_variables_initializer())
            saver.restore(sess, str(prefix))
            return dict(zip([v.op.name for v in variables], sess.run(variables), strict=True))


def judge(
    tmp_path: Path,
    source: Path,
    build: Callable[[], dict[str, Any]],
    tf_map: Callable[[dict[str, Any]], Any],
    names_map: Any,
    from_checkpoint: set[str],
) -> tuple[dict[str, np.ndarray], RestoreReport]:
    """Build the target in TF (``build`` returns its variables by name), export its meta graph,
    let TF's ``init_from_checkpoint(source, tf_map(vars))`` give the answer, run graphtui's
    restore with ``names_map``; TF must restore exactly TF's answer from graphtui's output
    for every variable, and graphtui must take from the checkpoint exactly ``from_checkpoint``
    (the rest keep their initializers). Returns TF's answer and graphtui's report."""
    meta = tmp_path / "target.meta"
    with tf.Graph().as_default() as graph:
        made = build()
        tf1.train.Saver().export_meta_graph(str(meta))
        tf1.train.init_from_checkpoint(str(source), tf_map(made))
        with tf1.Session(graph=graph) as sess:
            sess.run(tf1.global_variables_initializer())
            variables = tf1.global_variables()
            want = dict(zip([v.op.name for v in variables], sess.run(variables), strict=True))
    out = tmp_path / "out" / "model.ckpt"
    report, _ = restore(str(meta), str(source), names_map, str(out), allow_missing=True)
    assert {a.variable for a in report.matched} == from_checkpoint
    got = _values_after_restore(Path(f"{out}.meta"), out)
    for name in from_checkpoint | set(report.initialized):
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)
        assert got[name].dtype == want[name].dtype
    return want, report


# -- CheckpointsTest: reading -------------------------------------------------------------------


def test_no_checkpoints(tmp_path: Path) -> None:
    """CheckpointsTest.testNoCheckpoints"""
    with pytest.raises(tf.errors.OpError):
        tf.train.load_variable(str(tmp_path / "no_checkpoints"), "var1")
    with pytest.raises(GraphtuiError):
        graphtui.load_checkpoint(str(tmp_path / "no_checkpoints"))


def test_no_tensor(ckpt: tuple[Path, dict[str, Any]]) -> None:
    """CheckpointsTest.testNoTensor"""
    with pytest.raises(tf.errors.OpError):
        tf.train.load_variable(str(ckpt[0]), "var5")
    with graphtui.load_checkpoint(str(ckpt[0])) as reader, pytest.raises(GraphtuiError):
        reader.get_tensor("var5")


def test_get_tensor(ckpt: tuple[Path, dict[str, Any]]) -> None:
    """CheckpointsTest.testGetTensor"""
    directory, values = ckpt
    with graphtui.load_checkpoint(str(directory)) as reader:
        for name, value in values.items():
            np.testing.assert_array_equal(reader.get_tensor(name), value)
            np.testing.assert_array_equal(
                reader.get_tensor(name), tf.train.load_variable(str(directory), name)
            )


def test_get_all_variables(ckpt: tuple[Path, dict[str, Any]]) -> None:
    """CheckpointsTest.testGetAllVariables"""
    want = [
        ("useful_scope/var4", [9, 9]),
        ("var1", [1, 10]),
        ("var2", [10, 10]),
        ("var3", [100, 100]),
    ]
    assert tf.train.list_variables(str(ckpt[0])) == want
    assert graphtui.list_variables(str(ckpt[0])) == want


def test_fs_path(ckpt: tuple[Path, dict[str, Any]]) -> None:
    """CheckpointsTest.testFSPath (a pathlib.Path, not a str)"""
    directory, values = ckpt
    with graphtui.load_checkpoint(directory) as reader:
        np.testing.assert_array_equal(reader.get_tensor("var1"), values["var1"])
    assert graphtui.list_variables(directory) == tf.train.list_variables(directory)


# -- CheckpointsTest: init_from_checkpoint ------------------------------------------------------


def test_init_from_checkpoint(tmp_path: Path, ckpt: tuple[Path, dict[str, Any]]) -> None:
    """CheckpointsTest.testInitFromCheckpoint: a dict and a list of pairs in which ``var3``
    goes to two variables (issue 18.2)."""
    directory, values = ckpt

    def build() -> dict[str, Any]:
        with tf1.variable_scope("some_scope"):
            tf1.get_variable("my1", [1, 10])
            with tf1.variable_scope("some_other_scope"):
                tf1.get_variable("my2", [10, 10])
                with tf1.variable_scope("other_useful_scope"):
                    tf1.get_variable("var4", [9, 9])
        return {
            "my3": tf1.get_variable("my3", [100, 100]),
            "my3b": tf1.get_variable("my3b", [100, 100]),
        }

    pairs = [
        ("var1", "some_scope/my1"),
        ("useful_scope/", "some_scope/some_other_scope/other_useful_scope/"),
        ("var2", "some_scope/some_other_scope/my2"),
        ("var3", "my3"),
        ("var3", "my3b"),
    ]

    def tf_map(made: dict[str, Any]) -> Any:
        # upstream calls init_from_checkpoint twice (a dict, then pairs with Variables)
        tf1.train.init_from_checkpoint(str(directory), dict(pairs[:2]))
        return [pairs[2], ("var3", made["my3"]), ("var3", made["my3b"])]

    want, _ = judge(
        tmp_path,
        directory,
        build,
        tf_map,
        pairs,
        {
            "some_scope/my1",
            "some_scope/some_other_scope/my2",
            "some_scope/some_other_scope/other_useful_scope/var4",
            "my3",
            "my3b",
        },
    )
    np.testing.assert_array_equal(want["my3b"], values["var3"])
    np.testing.assert_array_equal(want["some_scope/my1"], values["var1"])


def test_initial_value_comes_from_checkpoint(
    tmp_path: Path, ckpt: tuple[Path, dict[str, Any]]
) -> None:
    """CheckpointsTest.testInitialValueComesFromCheckpoint"""
    directory, values = ckpt

    def build() -> dict[str, Any]:
        with tf1.variable_scope("some_scope", initializer=tf1.zeros_initializer()):
            return {"my1": tf1.get_variable("my1", [1, 10])}

    want, _ = judge(
        tmp_path,
        directory,
        build,
        lambda m: {"var1": m["my1"]},
        {"var1": "some_scope/my1"},
        {"some_scope/my1"},
    )
    np.testing.assert_array_equal(want["some_scope/my1"], values["var1"])


def test_init_with_scope_does_not_capture_suffixes(
    tmp_path: Path, ckpt: tuple[Path, dict[str, Any]]
) -> None:
    """CheckpointsTest.testInitWithScopeDoesNotCaptureSuffixes: useful_scope_1/var5 keeps its
    initializer (graphtui writes that constant)."""
    directory, _ = ckpt

    def build() -> dict[str, Any]:
        with tf1.variable_scope("useful_scope"):
            tf1.get_variable("var4", [9, 9])
        with tf1.variable_scope("useful_scope_1"):
            tf1.get_variable("var5", initializer=[[1.0, 2.0], [3.0, 4.0]])
        return {}

    amap = {"useful_scope/": "useful_scope/"}
    want, report = judge(tmp_path, directory, build, lambda m: amap, amap, {"useful_scope/var4"})
    assert report.initialized == ["useful_scope_1/var5"]
    np.testing.assert_array_equal(want["useful_scope_1/var5"], [[1.0, 2.0], [3.0, 4.0]])


def test_restore_runs_on_same_device(tmp_path: Path, ckpt: tuple[Path, dict[str, Any]]) -> None:
    """CheckpointsTest.testRestoreRunsOnSameDevice: a variable placed on /job:ps"""
    directory, values = ckpt
    meta = tmp_path / "target.meta"
    with tf.Graph().as_default():
        with tf.device("/job:ps"), tf1.variable_scope("useful_scope"):
            tf1.get_variable("var4", [9, 9])
        tf1.train.Saver().export_meta_graph(str(meta))
        tf1.train.init_from_checkpoint(str(directory), {"useful_scope/": "useful_scope/"})
    out = tmp_path / "out" / "model.ckpt"
    report, _ = restore(str(meta), str(directory), {"useful_scope/": "useful_scope/"}, str(out))
    assert [a.variable for a in report.matched] == ["useful_scope/var4"]
    got = _values_after_restore(Path(f"{out}.meta"), out)  # devices cleared to run here
    np.testing.assert_array_equal(got["useful_scope/var4"], values["useful_scope/var4"])


def _four_vars(scope: str | None) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        with tf1.variable_scope(scope) if scope else _nullcontext():
            tf1.get_variable("var1", [1, 10])
            tf1.get_variable("var2", [10, 10])
            tf1.get_variable("var3", [100, 100])
            with tf1.variable_scope("useful_scope"):
                tf1.get_variable("var4", [9, 9])
        return {}

    return build


class _nullcontext:  # noqa: N801 - a stand-in for contextlib.nullcontext typed for this use
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def test_init_from_root_checkpoint(tmp_path: Path, ckpt: tuple[Path, dict[str, Any]]) -> None:
    """CheckpointsTest.testInitFromRootCheckpoint: ``'/': 'some_scope/'``"""
    directory, values = ckpt
    amap = {"/": "some_scope/"}
    want, _ = judge(
        tmp_path,
        directory,
        _four_vars("some_scope"),
        lambda m: amap,
        amap,
        {f"some_scope/{k}" for k in values},
    )
    for key, value in values.items():
        np.testing.assert_array_equal(want[f"some_scope/{key}"], value)


def test_init_to_root_checkpoint(tmp_path: Path, ckpt: tuple[Path, dict[str, Any]]) -> None:
    """CheckpointsTest.testInitToRootCheckpoint: ``'/': '/'``"""
    directory, values = ckpt
    amap = {"/": "/"}
    want, _ = judge(tmp_path, directory, _four_vars(None), lambda m: amap, amap, set(values))
    for key, value in values.items():
        np.testing.assert_array_equal(want[key], value)


def _partitioned(scope: str, name: str, min_slice: int, init: Any) -> Callable[[], Any]:
    def make() -> Any:
        with tf1.variable_scope(scope):
            return tf1.get_variable(
                name, [100, 100], initializer=init, partitioner=_partitioner(min_slice)
            )

    return make


def test_init_from_partition_var(
    tmp_path: Path, partition_ckpt: tuple[Path, list[np.ndarray]]
) -> None:
    """CheckpointsTest.testInitFromPartitionVar (first graph): a partitioned variable by name,
    and a scope map onto a variable partitioned differently from the checkpoint's."""
    directory, parts = partition_ckpt
    my1 = _partitioned("some_scope", "my1", 8 << 10, tf1.zeros_initializer())
    my2 = _partitioned("some_other_scope", "var1", 16 << 10, tf1.zeros_initializer())

    def build() -> dict[str, Any]:
        return {"my1": list(my1()), "my2": list(my2())}

    amap = {"scope/var1": "some_scope/my1", "scope/": "some_other_scope/"}
    with tf.Graph().as_default():
        n1, n2 = len(list(my1())), len(list(my2()))
    names = {f"some_scope/my1/part_{i}" for i in range(n1)}
    names |= {f"some_other_scope/var1/part_{i}" for i in range(n2)}
    want, _ = judge(tmp_path, directory, build, lambda m: amap, amap, names)
    assert n2 != len(parts)  # upstream: a different number of partitions
    full = np.concatenate(parts, axis=0)
    np.testing.assert_array_equal(
        np.concatenate([want[f"some_other_scope/var1/part_{i}"] for i in range(n2)]), full
    )
    np.testing.assert_array_equal(
        np.concatenate([want[f"some_scope/my1/part_{i}"] for i in range(n1)]), full
    )


def test_init_from_partition_var_list(
    tmp_path: Path, partition_ckpt: tuple[Path, list[np.ndarray]]
) -> None:
    """CheckpointsTest.testInitFromPartitionVar (second graph): the partition list as target"""
    directory, parts = partition_ckpt
    my1 = _partitioned("some_scope", "my1", 8 << 10, tf1.truncated_normal_initializer(0.5))
    want, _ = judge(
        tmp_path,
        directory,
        lambda: {"my1": list(my1())},
        lambda m: {"scope/var1": m["my1"]},
        {"scope/var1": "some_scope/my1"},
        {f"some_scope/my1/part_{i}" for i in range(len(parts))},
    )
    for i, part in enumerate(parts):
        np.testing.assert_array_equal(want[f"some_scope/my1/part_{i}"], part)


MISSING_CASES = [
    ("no variable in checkpoint", {"no_var": "some_scope/my1"}),
    ("no variable in the graph", {"var3": "some_scope/no_var"}),
    ("shape mismatch", {"var1": "some_scope/my1"}),
    ("my1 and my2 missing in the checkpoint scope", {"useful_scope/": "some_scope/"}),
    ("mapping is not to a scope name", {"useful_scope": "some_scope/"}),
]


@pytest.fixture(scope="module")
def missing_meta(tmp_path_factory: pytest.TempPathFactory) -> Path:
    meta = tmp_path_factory.mktemp("missing") / "target.meta"
    with tf.Graph().as_default():
        with tf1.variable_scope("some_scope"):
            tf1.get_variable("my1", [10, 10])
            tf1.get_variable("my2", [1, 10], dtype=tf.int64, initializer=tf1.zeros_initializer())
        tf1.train.Saver().export_meta_graph(str(meta))
    return meta


@pytest.mark.parametrize(("case", "amap"), MISSING_CASES, ids=[c for c, _ in MISSING_CASES])
def test_init_from_checkpoint_missing(
    tmp_path: Path,
    ckpt: tuple[Path, dict[str, Any]],
    missing_meta: Path,
    case: str,
    amap: dict[str, str],
) -> None:
    """CheckpointsTest.testInitFromCheckpointMissing: TF raises ValueError; graphtui refuses
    and writes nothing."""
    directory, _ = ckpt
    with tf.Graph().as_default():  # the store as upstream builds it (import does not fill it)
        with tf1.variable_scope("some_scope"):
            tf1.get_variable("my1", [10, 10])
            tf1.get_variable("my2", [1, 10], dtype=tf.int64, initializer=tf1.zeros_initializer())
        with pytest.raises(ValueError):  # noqa: PT011 - TF raises a bare ValueError
            tf1.train.init_from_checkpoint(str(directory), amap)
    with pytest.raises(CoreError):
        restore(
            str(missing_meta), str(directory), amap, str(tmp_path / "out" / "m"), allow_missing=True
        )
    assert not (tmp_path / "out").exists()


def test_init_from_checkpoint_missing_no_dir(tmp_path: Path, missing_meta: Path) -> None:
    """CheckpointsTest.testInitFromCheckpointMissing, the "No directory." case"""
    with tf.Graph().as_default():
        with tf1.variable_scope("some_scope"):
            tf1.get_variable("my1", [10, 10])
        with pytest.raises(tf.errors.OpError):
            tf1.train.init_from_checkpoint(str(tmp_path / "no_dir"), {"var1": "some_scope/my1"})
    with pytest.raises(GraphtuiError):
        restore(
            str(missing_meta),
            str(tmp_path / "no_dir"),
            {"var1": "some_scope/my1"},
            str(tmp_path / "out" / "m"),
        )
    assert not (tmp_path / "out").exists()


def test_no_additional_read_ops_for_resource_variables(
    tmp_path: Path, ckpt: tuple[Path, dict[str, Any]]
) -> None:
    """CheckpointsTest.testNoAdditionalReadOpsForResourceVariables: a plain ResourceVariable
    given one to one (by name in graphtui, as the Variable object in TF)."""
    directory, values = ckpt

    def build() -> dict[str, Any]:
        return {"my1": tf1.Variable([[0.0] * 10], name="my1", use_resource=True)}

    want, _ = judge(
        tmp_path, directory, build, lambda m: {"var1": m["my1"]}, {"var1": "my1"}, {"my1"}
    )
    np.testing.assert_array_equal(want["my1"], values["var1"])
