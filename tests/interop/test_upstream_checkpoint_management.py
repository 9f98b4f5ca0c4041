"""TensorFlow's ``tensorflow/python/checkpoint/checkpoint_management_test.py``, translated.

Each test names the upstream test it comes from. TensorFlow builds the case as upstream does
(``Saver.save``, ``CheckpointManager``, ``update_checkpoint_state``) and gives its answer;
graphtui answers the same question without TF (``latest_checkpoint``, ``get_checkpoint_state``,
``checkpoint_exists``, ``get_checkpoint_mtimes``, ``list_variables``, ``history``) and the two
must agree. Upstream cases about what TF writes and nothing graphtui reads
(``generate_checkpoint_state_proto``, ``CheckpointManager.restore_or_initialize``,
``checkpoint_interval``) are left out.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

import graphtui
from graphtui.core.history import scan_history

pytestmark = pytest.mark.interop
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
tf = pytest.importorskip("tensorflow")
tf1 = tf.compat.v1

from tensorflow.core.protobuf import saver_pb2  # noqa: E402
from tensorflow.python.checkpoint import checkpoint_management  # noqa: E402
from tensorflow.python.training import checkpoint_utils  # noqa: E402

V1, V2 = saver_pb2.SaverDef.V1, saver_pb2.SaverDef.V2


@contextlib.contextmanager
def _cwd(path: Path) -> Iterator[None]:
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


@contextlib.contextmanager
def _session() -> Iterator[Any]:
    """A fresh graph and session, as upstream's ``self.cached_session()`` in graph mode."""
    graph = tf.Graph()
    with graph.as_default(), tf1.Session(graph=graph) as sess:
        yield sess


def _state_fields(state: Any) -> Any:
    if state is None:
        return None
    return (
        state.model_checkpoint_path,
        list(state.all_model_checkpoint_paths),
        list(state.all_model_checkpoint_timestamps),
        state.last_preserved_timestamp,
    )


def _agree(directory: str | os.PathLike[str]) -> str | None:
    """graphtui and TF give the same state and latest checkpoint; the history lists the state
    file's checkpoints in its order. Returns the latest checkpoint."""
    theirs = tf.train.get_checkpoint_state(directory)
    assert _state_fields(graphtui.get_checkpoint_state(directory)) == _state_fields(theirs)
    latest = tf.train.latest_checkpoint(directory)
    assert graphtui.latest_checkpoint(directory) == latest
    if theirs is not None:
        hist = scan_history(directory)
        listed = [r.prefix for r in hist.records if r.in_state]
        want = [os.path.normpath(os.path.abspath(p)) for p in theirs.all_model_checkpoint_paths]
        assert listed[: len(want)] == want
        if latest is not None:
            assert hist.latest is not None
            assert hist.latest.prefix == os.path.normpath(os.path.abspath(latest))
    return latest


def _same_variables(prefix: str) -> None:
    assert graphtui.list_variables(prefix) == tf.train.list_variables(prefix)
    theirs = tf.train.load_checkpoint(prefix)
    for name, _ in tf.train.list_variables(prefix):
        assert graphtui.load_variable(prefix, name) == theirs.get_tensor(name)


# -- LatestCheckpointWithRelativePaths ------------------------------------------------------------


def test_name_collision(tmp_path: Path) -> None:
    """LatestCheckpointWithRelativePaths.testNameCollision."""
    with _cwd(tmp_path):
        traindir = "train"
        os.mkdir(traindir)
        filepath = os.path.join(traindir, "checkpoint")
        with _session() as sess:
            tf1.Variable(0.0)
            sess.run(tf1.global_variables_initializer())
            saver = tf1.train.Saver(sharded=False)
            with pytest.raises(ValueError, match="collides with"):
                saver.save(sess, filepath)
            saved = saver.save(sess, filepath, global_step=1)
            assert _agree(traindir) == saved
            _same_variables(saved)
            for step in (None, 1):
                saved = tf1.train.Saver(sharded=True).save(sess, filepath, global_step=step)
                latest = _agree(traindir)
                assert latest is not None and latest == saved
                _same_variables(latest)


def test_relative_path(tmp_path: Path) -> None:
    """LatestCheckpointWithRelativePaths.testRelativePath: the latest of a relative directory
    holds the value TF restores (2.0)."""
    with _cwd(tmp_path):
        traindir = "train"
        os.mkdir(traindir)
        filepath = os.path.join(traindir, "snapshot")
        with _session() as sess:
            v0 = tf1.Variable(0.0)
            inc = v0.assign_add(1.0)
            save = tf1.train.Saver({"v0": v0})
            sess.run(tf1.global_variables_initializer())
            for step in range(3):
                if step:
                    sess.run(inc)
                save.save(sess, filepath, global_step=step)
        with _session() as sess:
            v0 = tf1.Variable(-1.0)
            save = tf1.train.Saver({"v0": v0})
            sess.run(tf1.global_variables_initializer())
            name = _agree(traindir)
            assert name is not None
            save.restore(sess, name)
            assert sess.run(v0) == 2.0
        assert graphtui.load_variable(name, "v0") == 2.0
        assert graphtui.load_variable(traindir, "v0:0") == 2.0


# -- CheckpointStateTest ----------------------------------------------------------------------------


def test_update_checkpoint_state(tmp_path: Path) -> None:
    """CheckpointStateTest.testUpdateCheckpointState (relative and absolute paths as written)."""
    with _cwd(tmp_path):
        os.mkdir("train")
        abs_path = os.path.join(str(tmp_path), "model-0")
        rel_path = os.path.join("train", "model-2")
        checkpoint_management.update_checkpoint_state(
            "train", rel_path, all_model_checkpoint_paths=[abs_path, rel_path]
        )
        ours = graphtui.get_checkpoint_state("train")
        assert ours.model_checkpoint_path == rel_path
        assert list(ours.all_model_checkpoint_paths) == [abs_path, rel_path]
        assert _agree("train") is None  # neither checkpoint exists


def test_fs_path(tmp_path: Path) -> None:
    """CheckpointStateTest.testFSPath: a ``pathlib.Path`` directory."""
    with _cwd(tmp_path):
        os.mkdir("train")
        rel_path = os.path.join("train", "model-2")
        checkpoint_management.update_checkpoint_state(
            "train", rel_path, all_model_checkpoint_paths=[str(tmp_path / "model-0"), rel_path]
        )
        assert graphtui.get_checkpoint_state(pathlib.Path("train")).model_checkpoint_path == (
            rel_path
        )
        _agree(pathlib.Path("train"))


def test_update_checkpoint_state_save_relative_paths(tmp_path: Path) -> None:
    """CheckpointStateTest.testUpdateCheckpointStateSaveRelativePaths: the file holds relative
    paths; get_checkpoint_state gives them joined to the directory."""
    save_dir = str(tmp_path)
    checkpoint_management.update_checkpoint_state_internal(
        save_dir=save_dir,
        model_checkpoint_path=os.path.join(save_dir, "model-2"),
        all_model_checkpoint_paths=["model-0", os.path.join(save_dir, "model-2")],
        save_relative_paths=True,
    )
    ours = graphtui.get_checkpoint_state(save_dir)
    assert ours.model_checkpoint_path == os.path.join(save_dir, "model-2")
    assert list(ours.all_model_checkpoint_paths) == [
        os.path.join(save_dir, "model-0"),
        os.path.join(save_dir, "model-2"),
    ]
    _agree(save_dir)
    hist = scan_history(save_dir)
    assert [(r.name, r.missing) for r in hist.records] == [("model-0", True), ("model-2", True)]


def test_checkpoint_state_fails_when_incomplete(tmp_path: Path) -> None:
    """CheckpointStateTest.testCheckPointStateFailsWhenIncomplete: ValueError, as TF."""
    (tmp_path / "checkpoint").write_text("")
    with pytest.raises(ValueError):
        checkpoint_management.get_checkpoint_state(str(tmp_path))
    with pytest.raises(ValueError):
        graphtui.get_checkpoint_state(tmp_path)


def test_checkpoint_completes_relative_paths(tmp_path: Path) -> None:
    """CheckpointStateTest.testCheckPointCompletesRelativePaths (``./`` kept, as TF)."""
    (tmp_path / "checkpoint").write_text(
        """
        model_checkpoint_path: "./model.ckpt-687529"
        all_model_checkpoint_paths: "./model.ckpt-687500"
        all_model_checkpoint_paths: "./model.ckpt-687529"
        """
    )
    ours = graphtui.get_checkpoint_state(str(tmp_path))
    assert ours.model_checkpoint_path == os.path.join(str(tmp_path), "./model.ckpt-687529")
    assert ours.all_model_checkpoint_paths[0] == os.path.join(str(tmp_path), "./model.ckpt-687500")
    _agree(str(tmp_path))


def test_unparsable_state_file_is_no_state(tmp_path: Path) -> None:
    """get_checkpoint_state's ``except text_format.ParseError: return None`` branch (upstream
    code path, no upstream test): graphtui returns None too, and ``history`` says why."""
    (tmp_path / "checkpoint").write_text("model_checkpoint_path: 'a'\nnot a field: 3\n")
    assert checkpoint_management.get_checkpoint_state(str(tmp_path)) is None
    assert graphtui.get_checkpoint_state(tmp_path) is None
    assert graphtui.latest_checkpoint(tmp_path) is None
    assert "no field named" in scan_history(tmp_path).state_error


# -- SaverUtilsTest ---------------------------------------------------------------------------------


@pytest.mark.parametrize("sharded", [False, True])
@pytest.mark.parametrize("version", [V2, V1], ids=["V2", "V1"])
def test_checkpoint_exists(tmp_path: Path, sharded: bool, version: int) -> None:
    """SaverUtilsTest.testCheckpointExists, each (sharded, version) in its own directory."""
    with _session() as sess:
        tf1.Variable(1.0, name="v")
        sess.run(tf1.global_variables_initializer())
        saver = tf1.train.Saver(sharded=sharded, write_version=version)
        path = str(tmp_path / f"{sharded}-{version}")
        assert graphtui.checkpoint_exists(path) is False
        assert checkpoint_management.checkpoint_exists(path) is False
        prefix = saver.save(sess, path)
    assert graphtui.checkpoint_exists(prefix) is True
    latest = _agree(tmp_path)
    assert latest is not None and graphtui.checkpoint_exists(latest)
    _same_variables(latest)
    (rec,) = scan_history(tmp_path).records
    assert (rec.latest, rec.complete, rec.format) == (True, True, "V1" if version == V1 else "V2")


def test_get_checkpoint_mtimes(tmp_path: Path) -> None:
    """SaverUtilsTest.testGetCheckpointMtimes (plus a prefix that does not exist)."""
    prefixes = []
    for version in (V2, V1):
        with _session() as sess:
            tf1.Variable(1.0, name="v")
            sess.run(tf1.global_variables_initializer())
            saver = tf1.train.Saver(write_version=version)
            prefixes.append(saver.save(sess, str(tmp_path / str(version))))
    prefixes.append(str(tmp_path / "missing"))
    theirs = checkpoint_management.get_checkpoint_mtimes(prefixes)
    ours = graphtui.get_checkpoint_mtimes(prefixes)
    assert len(ours) == 2 and ours[1] >= ours[0]
    assert ours == theirs


@pytest.mark.parametrize("sharded", [False, True])
@pytest.mark.parametrize("version", [V2, V1], ids=["V2", "V1"])
def test_remove_checkpoint(tmp_path: Path, sharded: bool, version: int) -> None:
    """SaverUtilsTest.testRemoveCheckpoint: gone for graphtui too; history says missing."""
    with _session() as sess:
        tf1.Variable(1.0, name="v")
        sess.run(tf1.global_variables_initializer())
        saver = tf1.train.Saver(sharded=sharded, write_version=version)
        prefix = saver.save(sess, str(tmp_path / f"{sharded}-{version}"))
    assert graphtui.checkpoint_exists(prefix)
    checkpoint_management.remove_checkpoint(prefix, version)
    assert graphtui.checkpoint_exists(prefix) is False
    assert _agree(tmp_path) is None
    (rec,) = scan_history(tmp_path).records
    assert rec.latest and rec.missing


# -- CheckpointManagerTest --------------------------------------------------------------------------


def test_manager_deletion(tmp_path: Path) -> None:
    """CheckpointManagerTest.testDeletion."""
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(), str(tmp_path), max_to_keep=3)
    paths = [manager.save() for _ in range(4)]
    assert [graphtui.checkpoint_exists(p) for p in paths] == [False, True, True, True]
    assert _agree(tmp_path) == paths[-1]
    assert [r.prefix for r in scan_history(tmp_path).records] == paths[1:]


def test_manager_keep_all(tmp_path: Path) -> None:
    """CheckpointManagerTest.testKeepAll."""
    checkpoint = tf.train.Checkpoint()
    manager = tf.train.CheckpointManager(checkpoint, str(tmp_path), max_to_keep=None)
    paths = [manager.save() for _ in range(3)]
    assert _agree(tmp_path) == paths[-1]
    manager = tf.train.CheckpointManager(checkpoint, str(tmp_path), max_to_keep=None)
    paths.append(manager.save())
    manager = tf.train.CheckpointManager(checkpoint, str(tmp_path), max_to_keep=3)
    assert [r.prefix for r in scan_history(tmp_path).records] == manager.checkpoints == paths
    paths.append(manager.save())
    assert [graphtui.checkpoint_exists(p) for p in paths] == [False, False, True, True, True]
    assert [r.prefix for r in scan_history(tmp_path).records] == manager.checkpoints
    _agree(tmp_path)


def test_manager_save_restore_state(tmp_path: Path) -> None:
    """CheckpointManagerTest.testSaveRestoreState: timestamps and last_preserved_timestamp as
    the state file holds them, checkpoints kept by keep_checkpoint_every_n_hours."""
    directory = str(tmp_path)
    with mock.patch.object(checkpoint_management, "time") as mock_time:
        mock_time.time.return_value = 3.0
        checkpoint = tf.train.Checkpoint()
        first = tf.train.CheckpointManager(checkpoint, directory, max_to_keep=2)
        mock_time.time.return_value = 10000.0
        first.save()
        mock_time.time.return_value = 10000.0 + 3610.0
        first.save()
        _agree(directory)
        times = [r.timestamp for r in scan_history(directory).records]
        assert times == [10000.0, 13610.0]
        second = tf.train.CheckpointManager(
            checkpoint, directory, max_to_keep=2, keep_checkpoint_every_n_hours=1.5
        )
        for step in (0.2, 0.5, 0.5):
            mock_time.time.return_value += 3600.0 * step
            second.save()
            _agree(directory)
        hist = scan_history(directory)
        assert hist.last_preserved_timestamp == 10000.0  # upstream: first_time
        kept = [r.name for r in hist.records if not r.in_state]
        assert kept == ["ckpt-1"]  # preserved by keep_checkpoint_every_n_hours, on disk
        assert [r.prefix for r in hist.records if r.in_state] == second.checkpoints


def test_manager_continue_from_unmanaged(tmp_path: Path) -> None:
    """CheckpointManagerTest.testContinueFromUnmanaged: Checkpoint.save's own checkpoints stay
    on disk, outside the manager's list; history shows both."""
    prefix = str(tmp_path / "unusual_prefix")
    checkpoint = tf.train.Checkpoint()
    first, second = checkpoint.save(prefix), checkpoint.save(prefix)
    assert _agree(tmp_path) == second
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(), str(tmp_path), max_to_keep=2)
    paths = [manager.save() for _ in range(3)]
    assert [graphtui.checkpoint_exists(p) for p in (first, second, *paths)] == [
        True,
        True,
        False,
        True,
        True,
    ]
    hist = scan_history(tmp_path)
    assert [r.prefix for r in hist.records if r.in_state] == paths[1:]
    assert sorted(r.prefix for r in hist.records if not r.in_state) == [first, second]
    _agree(tmp_path)


def test_manager_clock_reset(tmp_path: Path) -> None:
    """CheckpointManagerTest.testClockReset: a clock set back leaves checkpoints the state file
    no longer lists; graphtui lists them as on disk."""
    directory = str(tmp_path)
    checkpoint = tf.train.Checkpoint()
    with mock.patch.object(checkpoint_management, "time") as mock_time:
        mock_time.time.return_value = 10000.0
        first = tf.train.CheckpointManager(
            checkpoint, directory, max_to_keep=1, keep_checkpoint_every_n_hours=1.0
        )
        paths = [first.save()]
        for _ in range(2):
            mock_time.time.return_value += 3600.0
            paths.append(first.save())
        _agree(directory)
        assert graphtui.get_checkpoint_state(directory).last_preserved_timestamp == 13600.0
        mock_time.time.return_value = 5000.0
        second = tf.train.CheckpointManager(checkpoint, directory, max_to_keep=1)
        for _ in range(2):
            mock_time.time.return_value += 10.0
            paths.append(second.save())
        _agree(directory)
    hist = scan_history(directory)
    assert hist.last_preserved_timestamp == 5000.0
    assert [(r.prefix, r.timestamp) for r in hist.records if r.in_state] == [(paths[-1], 5020.0)]
    assert sorted(r.prefix for r in hist.records if not r.in_state) == sorted(paths[1:3])


def test_manager_custom_numbering(tmp_path: Path) -> None:
    """CheckpointManagerTest.testCustomNumbering: steps from the checkpoint numbers."""
    step = tf.Variable(0, dtype=tf.int64)
    manager = tf.train.CheckpointManager(
        tf.train.Checkpoint(step=step), str(tmp_path), max_to_keep=2
    )
    for _ in range(5):
        path = manager.save(checkpoint_number=step)
        step.assign_add(2)
    last = manager.save(checkpoint_number=32)
    assert _agree(tmp_path) == last
    assert [r.step for r in scan_history(tmp_path).records] == [8, 32]
    assert [r.prefix for r in scan_history(tmp_path).records] == [path, last]
    assert graphtui.load_variable(last, "step/.ATTRIBUTES/VARIABLE_VALUE") == 10


def test_manager_custom_checkpoint_prefix(tmp_path: Path) -> None:
    """CheckpointManagerTest.testCustomCheckpointPrefix."""
    checkpoint = tf.train.Checkpoint()
    named = tf.train.CheckpointManager(
        checkpoint, str(tmp_path), max_to_keep=2, checkpoint_name="ckpt_name"
    ).save(checkpoint_number=5)
    plain = tf.train.CheckpointManager(checkpoint, str(tmp_path), max_to_keep=2).save(
        checkpoint_number=5
    )
    assert _agree(tmp_path) == plain
    names = sorted(r.name for r in scan_history(tmp_path).records)
    assert names == sorted([os.path.basename(named), os.path.basename(plain)])


def test_latest_checkpoint_fspath_directory(tmp_path: Path) -> None:
    """CheckpointManagerTest.testLatestCheckpointFSpathDirectory."""
    tf.train.CheckpointManager(
        tf.train.Checkpoint(), tmp_path, max_to_keep=2, checkpoint_name="ckpt_name"
    ).save()
    assert graphtui.latest_checkpoint(tmp_path) == str(tmp_path / "ckpt_name-1")
    _agree(tmp_path)


# -- checkpoint_utils: wait_for_new_checkpoint / checkpoints_iterator --------------------------------


def test_wait_and_iterate_as_tf(tmp_path: Path) -> None:
    """checkpoint_utils.wait_for_new_checkpoint / checkpoints_iterator on the same directory:
    the same paths yielded, None after the timeout (tensorflow/python/training/
    checkpoint_utils_iterator_test.py exercises these with TF's own timing)."""
    assert graphtui.wait_for_new_checkpoint(tmp_path, timeout=0.05, seconds_to_sleep=0.01) is None
    assert list(graphtui.checkpoints_iterator(tmp_path, timeout=0.05)) == []
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(), str(tmp_path), max_to_keep=2)
    path = manager.save()
    theirs = checkpoint_utils.wait_for_new_checkpoint(str(tmp_path), None, timeout=1)
    assert graphtui.wait_for_new_checkpoint(tmp_path, None, timeout=1) == theirs == path
    assert graphtui.wait_for_new_checkpoint(tmp_path, path, 0.01, timeout=0.05) is None
    ours = list(graphtui.checkpoints_iterator(tmp_path, timeout=0.05))
    assert ours == list(tf.train.checkpoints_iterator(str(tmp_path), timeout=0.05)) == [path]
    calls: list[int] = []

    def timeout_fn() -> bool:  # keep waiting once, then save, then stop
        calls.append(1)
        if len(calls) == 1:
            manager.save()
            return False
        return True

    ours = list(graphtui.checkpoints_iterator(tmp_path, timeout=0.05, timeout_fn=timeout_fn))
    assert ours == [path, manager.latest_checkpoint]
