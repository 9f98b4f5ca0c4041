"""V1 checkpoints as TF's own ``Saver`` writes them, read by graphtui and by TF (issue 18.3, 18.4,
18.10; issue 11.1): scalar strings, the sharded ``PREFIX-?????-of-0000N`` name ``Saver.save``
returns and writes in the state file, checkpoints the state file does not list, a state file
whose latest is gone, and ``fix-paths`` after a move. TF builds every case once per module."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import graphtui
from graphtui.cli import main as cli_main
from graphtui.core.history import scan_history
from graphtui.core.state_ops import fix_paths

pytestmark = pytest.mark.interop
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
tf = pytest.importorskip("tensorflow")
tf1 = tf.compat.v1

_TWO_CPUS = tf1.ConfigProto(device_count={"CPU": 2})


def _save_v1(directory: Path, *, sharded: bool, step: int | None) -> str:
    """A graph with a scalar string, a scalar float and two variables on two devices, saved by a
    ``Saver(write_version=V1)``; returns what ``Saver.save`` returns."""
    from tensorflow.core.protobuf import saver_pb2

    graph = tf.Graph()
    with graph.as_default():
        tf1.Variable(b"k1", name="string_scalar")
        tf1.Variable(3.5, name="scalar")
        tf1.Variable(np.arange(6, dtype=np.int64).reshape(2, 3), name="counts")
        with tf.device("/cpu:0"):
            tf1.Variable([1.0, 2.0], name="a")
        with tf.device("/cpu:1"):
            tf1.Variable([[3.0]], name="b")
        saver = tf1.train.Saver(write_version=saver_pb2.SaverDef.V1, sharded=sharded)
        with tf1.Session(graph=graph, config=_TWO_CPUS) as sess:
            sess.run(tf1.global_variables_initializer())
            return str(saver.save(sess, str(directory / "model.ckpt"), global_step=step))


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("v1")
    single_dir, sharded_dir = root / "single", root / "sharded"
    single_dir.mkdir()
    sharded_dir.mkdir()
    return {
        "single": _save_v1(single_dir, sharded=False, step=None),
        "sharded": _save_v1(sharded_dir, sharded=True, step=5),
        "sharded_dir": sharded_dir,
    }


def _copy_run(cases: dict[str, Any], dst: Path) -> Path:
    """The sharded run copied to ``dst``, its state file naming the checkpoint relatively."""
    shutil.copytree(cases["sharded_dir"], dst)
    name = os.path.basename(cases["sharded"])
    tf1.train.update_checkpoint_state(str(dst), name, [name])
    return dst


def _same(ours: Any, theirs: Any) -> None:
    assert type(ours) is type(theirs), (type(ours), type(theirs))
    if isinstance(theirs, np.ndarray):
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        if theirs.dtype == object:
            assert ours.tolist() == theirs.tolist()
        else:
            assert ours.tobytes() == theirs.tobytes()
    else:
        assert ours == theirs


@pytest.mark.parametrize("which", ["single", "sharded", "sharded_dir"])
def test_every_value_and_its_type_as_tf_returns_it(cases: dict[str, Any], which: str) -> None:
    """18.4 / 11.1: a V1 string scalar is ``b'k1'``, not array(array(b'k1')); 18.3: the sharded
    pattern and its directory open."""
    path = str(cases[which])
    theirs = tf.train.load_checkpoint(path)
    ours = graphtui.load_checkpoint(path)
    assert graphtui.list_variables(path) == tf.train.list_variables(path)
    names = sorted(theirs.get_variable_to_shape_map())
    assert names == ours.names()
    for name in names:
        _same(ours.get_tensor(name), theirs.get_tensor(name))
    assert ours.get_tensor("string_scalar") == b"k1"


def test_cat_prints_a_v1_string_scalar(
    cases: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """11.1: ``graphtui cat FILE string_scalar`` printed an internal error."""
    assert cli_main(["cat", cases["single"], "string_scalar", "--json"]) == 0
    assert '"value": "k1"' in capsys.readouterr().out


def test_sharded_pattern_in_ls_and_history(
    cases: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """18.3: ``ls`` opens ``prefix-?????-of-00003``; ``history`` lists it complete, step 5."""
    pattern = cases["sharded"]
    assert pattern.endswith("-?????-of-00003")
    assert tf.train.latest_checkpoint(str(cases["sharded_dir"])) == pattern
    assert graphtui.latest_checkpoint(cases["sharded_dir"]) == pattern
    assert cli_main(["ls", pattern]) == 0
    assert "(V1: " in capsys.readouterr().out
    hist = scan_history(cases["sharded_dir"])
    (rec,) = hist.records
    assert (rec.prefix, rec.format, rec.step, rec.complete, rec.latest) == (
        pattern,
        "V1",
        5,
        True,
        True,
    )
    assert len([p for p, _ in rec.files if "-of-00003" in p]) == 3
    assert any(p.endswith("model.ckpt-5.meta") for p, _ in rec.files)


def test_history_lists_unlisted_v1_checkpoints(cases: dict[str, Any], tmp_path: Path) -> None:
    """18.10: a V1 checkpoint on disk that the state file does not list is in the history."""
    _copy_run(cases, tmp_path / "run")
    shutil.copy(cases["single"], tmp_path / "run" / "model.ckpt-9")  # a single-file V1
    hist = scan_history(tmp_path / "run")
    by_name = {r.name: r for r in hist.records}
    assert set(by_name) == {"model.ckpt-5-?????-of-00003", "model.ckpt-9"}
    extra = by_name["model.ckpt-9"]
    assert (extra.in_state, extra.format, extra.step, extra.complete) == (False, "V1", 9, True)
    os.remove(tmp_path / "run" / "checkpoint")
    hist = scan_history(tmp_path / "run")
    assert {r.name for r in hist.records} == set(by_name)
    assert not any(r.in_state for r in hist.records)


def test_latest_gone_gives_none_as_tf(cases: dict[str, Any], tmp_path: Path) -> None:
    """18.10: with the state file's latest missing, ``latest_checkpoint`` is None (as TF's),
    and ``history`` marks that entry missing rather than picking another."""
    run = _copy_run(cases, tmp_path / "run")
    shutil.copy(cases["single"], run / "model.ckpt-2")
    for shard in run.glob("model.ckpt-5-0000*"):
        shard.unlink()
    assert tf.train.latest_checkpoint(str(run)) is None
    assert graphtui.latest_checkpoint(run) is None
    latest = scan_history(run).latest
    assert latest is not None and latest.missing and latest.name.startswith("model.ckpt-5")


def test_fix_paths_rewrites_the_shard_pattern_after_a_move(
    cases: dict[str, Any], tmp_path: Path
) -> None:
    """18.3: the state file's absolute ``-?????-of-00003`` pattern is made relative after the
    directory moved, and TF then finds the checkpoint."""
    moved = tmp_path / "moved"
    shutil.copytree(cases["sharded_dir"], moved)
    old = tmp_path / "old" / "model.ckpt-5-?????-of-00003"  # where it was written, now gone
    tf1.train.update_checkpoint_state(str(moved), str(old), [str(old)])
    assert tf.train.latest_checkpoint(str(moved)) is None
    change = fix_paths(str(moved))
    assert any("->" in c for c in change.changes), change.changes
    want = str(moved / "model.ckpt-5-?????-of-00003")
    assert tf.train.latest_checkpoint(str(moved)) == want
    assert graphtui.latest_checkpoint(moved) == want
    assert graphtui.list_variables(moved) == tf.train.list_variables(want)
