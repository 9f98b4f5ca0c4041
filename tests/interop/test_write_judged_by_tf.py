"""Issue 18 (write side) and 11.1: what graphtui writes is what TF can use, judged by TF.

Each case is built in TF at test time in ``tmp_path``; graphtui writes without TF; TF then
imports the written graph, restores the written checkpoint, saves again and restores that, and
the values must be the source's. A write graphtui cannot make right must be refused, never
reported as verified.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from graphtui.core.export import export
from graphtui.core.restore import restore
from graphtui.errors import FormatError

pytestmark = pytest.mark.interop
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
tf = pytest.importorskip("tensorflow")
tf1 = tf.compat.v1


def _config() -> Any:
    return tf1.ConfigProto(device_count={"CPU": 2}, allow_soft_placement=True)


def same(a: Any, b: Any) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype == object:
        return bool(list(a.ravel()) == list(b.ravel()))
    return a.tobytes() == b.tobytes()


def tf_round_trip(meta: Path | str, prefix: Path | str, again: Path) -> dict[str, Any]:
    """import_meta_graph + Saver.restore, then Saver.save + restore of that: every global
    variable's value by op name (after the second restore)."""
    with tf.Graph().as_default() as graph:
        saver = tf1.train.import_meta_graph(str(meta))
        variables = tf1.global_variables()
        with tf1.Session(graph=graph, config=_config()) as sess:
            saver.restore(sess, str(prefix))
            first = sess.run(variables)
            again.mkdir(parents=True, exist_ok=True)
            path = saver.save(sess, str(again / "model.ckpt"))
            sess.run(tf1.global_variables_initializer())
            saver.restore(sess, path)
            second = sess.run(variables)
    for a, b in zip(first, second, strict=True):
        assert same(a, b)
    return dict(zip([v.op.name for v in variables], first, strict=True))


def tf_shapes(prefix: Path | str) -> dict[str, list[int]]:
    return dict(tf.train.list_variables(str(prefix)))


# -- 18.1: restore keeps every shape (scalars stay []) ------------------------------------------------


@pytest.mark.parametrize("resource", [False, True], ids=["ref", "resource"])
def test_restore_keeps_scalar_shapes(tmp_path: Path, resource: bool) -> None:
    """Issue 18.1: scalars were written as [1]; TF's Saver.restore then refused them (ref
    variables) or silently changed their shape (resource variables)."""
    src = tmp_path / "src" / "model.ckpt"
    with tf.Graph().as_default() as graph:
        tf1.train.get_or_create_global_step()
        tf1.Variable(10.0, name="plain", use_resource=resource)
        tf1.get_variable(
            "w", shape=[], initializer=tf1.constant_initializer(3.0), use_resource=resource
        )
        tf1.get_variable("m", shape=[2, 3], use_resource=resource)
        saver = tf1.train.Saver()
        with tf1.Session(graph=graph) as sess:
            sess.run(tf1.global_variables_initializer())
            path = saver.save(sess, str(src), global_step=7)
            want = {v.op.name: sess.run(v) for v in tf1.global_variables()}
    dst = tmp_path / "out" / "model.ckpt"
    restore(f"{path}.meta", path, {"/": "/"}, str(dst))
    assert tf_shapes(dst) == tf_shapes(path)
    got = tf_round_trip(f"{dst}.meta", dst, tmp_path / "again")
    assert set(got) == set(want)
    for name, value in want.items():
        assert same(got[name], value), name
        assert np.shape(got[name]) == np.shape(value)


# -- 18.6: V1 checkpoints exported as V2 get TF's V2 saver -------------------------------------------


def _v1_source(tmp_path: Path, *, sharded: bool) -> tuple[str, str, dict[str, Any]]:
    src = tmp_path / "src"
    src.mkdir()
    with tf.Graph().as_default() as graph:
        with tf.device("/cpu:0"):
            a = tf1.Variable(1.5, name="a")
            p = tf1.get_variable("p", [6, 2], partitioner=tf1.fixed_size_partitioner(2))
        with tf.device("/cpu:1"):
            tf1.Variable([[1.0, 2.0]], name="b")
            tf1.Variable(np.arange(4, dtype=np.int64), name="n")
        del a, p
        saver = tf1.train.Saver(write_version=tf1.train.SaverDef.V1, sharded=sharded)
        with tf1.Session(graph=graph, config=_config()) as sess:
            sess.run(tf1.global_variables_initializer())
            path = saver.save(sess, str(src / "model.ckpt"))
            values = {v.op.name: sess.run(v) for v in tf1.global_variables()}
    assert saver.saver_def.version == tf1.train.SaverDef.V1
    return path, str(src / "model.ckpt.meta"), values


@pytest.mark.parametrize("sharded", [False, True], ids=["single", "sharded"])
def test_export_v1_writes_a_v2_saver_tf_can_use(tmp_path: Path, sharded: bool) -> None:
    """Issue 18.6: the graph kept ``saver_def.version: V1`` and V1 save ops beside a V2
    checkpoint. TF must restore the output, save it again as V2 and restore that."""
    path, meta, want = _v1_source(tmp_path, sharded=sharded)
    # graphtui opens a sharded V1 checkpoint by its base name (the glob is the read side's)
    src = path.replace("-?????-of-00002", "")
    dst = tmp_path / "out" / "model.ckpt"
    result = export(src, str(dst), meta=meta)
    assert result.notes  # the saver rewrite is reported
    with tf.Graph().as_default():
        saver = tf1.train.import_meta_graph(f"{dst}.meta")
        assert saver.saver_def.version == tf1.train.SaverDef.V2
        ops = {op.type for op in tf1.get_default_graph().get_operations()}
    assert not ops & {"SaveSlices", "Save", "RestoreSlice", "Restore", "ShardedFilespec"}
    assert ("MergeV2Checkpoints" in ops) == sharded
    got = tf_round_trip(f"{dst}.meta", dst, tmp_path / "again")
    assert set(got) == set(want)
    for name, value in want.items():
        assert same(got[name], value), name
    # TF's V2 save of the rewritten graph is one merged bundle, as a V2 Saver writes it
    assert (tmp_path / "again" / "model.ckpt.index").is_file()


def _legacy_graph(tmp_path: Path) -> tuple[str, str, dict[str, Any]]:
    """A TF 0.x-style saver: one ``RestoreSlice`` per variable (scalar name constants), a
    ``SaveSlices`` op and SaverDef V1, as ``Saver`` built them before bulk restore."""
    from tensorflow.python.ops import gen_io_ops

    src = tmp_path / "legacy"
    src.mkdir()
    prefix = str(src / "model.ckpt")
    with tf.Graph().as_default() as graph:
        a = tf1.Variable(np.float32(2.5), name="a")
        b = tf1.Variable(np.arange(6, dtype=np.float32).reshape(2, 3), name="b")
        variables = [a, b]
        with tf1.name_scope("save"):
            filename = tf1.placeholder_with_default("model", [], name="Const")
            names = tf1.constant([v.op.name for v in variables], name="save/tensor_names")
            specs = tf1.constant(["", ""], name="save/shapes_and_slices")
            save = gen_io_ops.save_slices(filename, names, specs, variables, name="save")
            with tf1.control_dependencies([save]):
                save_tensor = tf1.identity(filename, name="control_dependency")
            assigns = []
            for i, v in enumerate(variables):
                name = "restore_slice" if i == 0 else f"restore_slice_{i}"
                with tf1.name_scope(name) as ns:
                    tname = tf1.constant(v.op.name, name="tensor_name")
                    spec = tf1.constant("", name="shape_and_slice")
                value = gen_io_ops.restore_slice(
                    filename, tname, spec, v.dtype.base_dtype, name=ns.rstrip("/")
                )
                assigns.append(tf1.assign(v, value))
            restore_all = tf1.group(*assigns, name="restore_all")
        saver_def = tf1.train.SaverDef(
            filename_tensor_name=filename.name,
            save_tensor_name=save_tensor.name,
            restore_op_name=restore_all.name,
            version=tf1.train.SaverDef.V1,
        )
        saver = tf1.train.Saver(saver_def=saver_def)
        with tf1.Session(graph=graph) as sess:
            sess.run(tf1.global_variables_initializer())
            path = saver.save(sess, prefix, write_meta_graph=False)
            want = {v.op.name: sess.run(v) for v in variables}
        saver.export_meta_graph(prefix + ".meta")
    # TF itself restores this legacy graph from its own V1 file
    got = tf_round_trip(prefix + ".meta", path, tmp_path / "legacy_again")
    assert all(same(got[k], v) for k, v in want.items())
    return path, prefix + ".meta", want


def test_export_legacy_restore_slice_saver(tmp_path: Path) -> None:
    """Issue 18.6: ``RestoreSlice`` cannot read a V2 bundle; the output's restore ops are
    ``RestoreV2`` with 1-D name constants, and TF restores and re-saves it."""
    path, meta, want = _legacy_graph(tmp_path)
    dst = tmp_path / "out" / "model.ckpt"
    export(path, str(dst), meta=meta)
    with tf.Graph().as_default():
        tf1.train.import_meta_graph(f"{dst}.meta")
        ops = [op.type for op in tf1.get_default_graph().get_operations()]
    assert ops.count("RestoreV2") == 2 and "RestoreSlice" not in ops
    got = tf_round_trip(f"{dst}.meta", dst, tmp_path / "again")
    for name, value in want.items():
        assert same(got[name], value), name


def test_export_v1_scalar_string_is_exact_or_refused(tmp_path: Path) -> None:
    """Issue 11.1: export of a V1 scalar string wrote ``b"b'hello, checkpoint'"`` and said
    verified. Now either TF reads the exact bytes back, or the write is refused and removed."""
    src = tmp_path / "src"
    src.mkdir()
    with tf.Graph().as_default() as graph:
        s = tf1.Variable(b"hello, checkpoint", name="s")
        tf1.Variable([b"x", b"yz"], name="v")
        saver = tf1.train.Saver(write_version=tf1.train.SaverDef.V1)
        with tf1.Session(graph=graph) as sess:
            sess.run(tf1.global_variables_initializer())
            path = saver.save(sess, str(src / "model.ckpt"))
    del s
    dst = tmp_path / "out" / "model.ckpt"
    try:
        export(path, str(dst))
    except FormatError as exc:
        assert "failed verification" in str(exc)
        assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
        return
    reader = tf.train.load_checkpoint(str(dst))
    assert reader.get_tensor("s") == b"hello, checkpoint"
    assert list(reader.get_tensor("v")) == [b"x", b"yz"]
    got = tf_round_trip(f"{dst}.meta", dst, tmp_path / "again")
    assert got["s"] == b"hello, checkpoint"


# -- 18.2 / 18.11: restore's assignment maps as init_from_checkpoint reads them -------------------


def _scope_source(tmp_path: Path) -> Path:
    src = tmp_path / "src" / "model.ckpt"
    with tf.Graph().as_default() as graph:
        for name in ("a", "b", "c", "d"):
            tf1.get_variable(f"s/{name}", initializer=tf.constant([float(ord(name))] * 2))
        saver = tf1.train.Saver()
        with tf1.Session(graph=graph) as sess:
            sess.run(tf1.global_variables_initializer())
            saver.save(sess, str(src))
    return src


def test_scope_maps_skip_plain_variables_as_tf_does(tmp_path: Path) -> None:
    """Issue 18.11: TF's scope maps cover tf.get_variable's variables only; plain
    tf.Variables keep their initializers. Where the graph cannot tell (an initial value outside
    the variable's scope), graphtui says it assumed get_variable."""
    src = _scope_source(tmp_path)
    meta = tmp_path / "target.meta"
    amap = {"s/": "t/"}
    with tf.Graph().as_default() as graph:
        ta = tf1.get_variable("t/a", [2])
        tb = tf1.Variable([5.0, 6.0], name="t/b")
        tc = tf1.Variable([7.0, 8.0], name="t/c", use_resource=True)
        tf1.train.Saver().export_meta_graph(str(meta))
        tf1.train.init_from_checkpoint(str(src), amap)
        with tf1.Session(graph=graph) as sess:
            sess.run(tf1.global_variables_initializer())
            want = dict(zip(["t/a", "t/b", "t/c"], sess.run([ta, tb, tc]), strict=True))
    np.testing.assert_array_equal(want["t/b"], [5.0, 6.0])  # TF left the plain ones alone
    dst = tmp_path / "out" / "model.ckpt"
    report, _ = restore(str(meta), str(src), amap, str(dst))
    assert [a.variable for a in report.matched] == ["t/a"]
    assert report.not_in_store == ["t/b", "t/c"]
    assert sorted(report.initialized) == ["t/b", "t/c"]
    assert report.assumed_in_store == []
    from graphtui.core.operations import RestoreRequest, plan

    planned = plan(RestoreRequest(str(meta), str(src), tuple(amap.items()), str(tmp_path / "p")))
    assert [(r.kind, r.name) for r in planned.rows if r.kind == "not mapped"] == [
        ("not mapped", "t/b"),
        ("not mapped", "t/c"),
    ]
    got = tf_round_trip(f"{dst}.meta", dst, tmp_path / "again")
    for name, value in want.items():
        assert same(got[name], value), name


def test_scope_map_rule_where_the_graph_cannot_tell(tmp_path: Path) -> None:
    """Issue 18.11: ``tf.Variable(tensor)`` and ``get_variable(initializer=tensor)`` build the
    same graph; graphtui maps both and lists them as assumed (TF maps only the second)."""
    src = _scope_source(tmp_path)
    meta = tmp_path / "target.meta"
    with tf.Graph().as_default():
        tf1.get_variable("t/a", initializer=tf.constant([0.0, 0.0]))
        tf1.Variable(tf.constant([0.0, 0.0]), name="t/d")
        tf1.train.Saver().export_meta_graph(str(meta))
    report, _ = restore(str(meta), str(src), {"s/": "t/"}, str(tmp_path / "out" / "m"))
    assert [a.variable for a in report.matched] == ["t/a", "t/d"]
    assert report.assumed_in_store == ["t/a", "t/d"]


def test_cli_one_tensor_to_two_variables(tmp_path: Path) -> None:
    """Issue 18.2: ``--map s/a=t/x --map s/a=t/y`` binds both (TF's list-of-pairs form)."""
    from graphtui.cli import main as cli_main

    src = _scope_source(tmp_path)
    meta = tmp_path / "target.meta"
    with tf.Graph().as_default() as graph:
        x = tf1.get_variable("t/x", [2])
        y = tf1.get_variable("t/y", [2])
        tf1.train.Saver().export_meta_graph(str(meta))
        tf1.train.init_from_checkpoint(str(src), [("s/a", x), ("s/a", y)])
        with tf1.Session(graph=graph) as sess:
            sess.run(tf1.global_variables_initializer())
            want = dict(zip(["t/x", "t/y"], sess.run([x, y]), strict=True))
    dst = tmp_path / "out" / "model.ckpt"
    args = ["restore", str(meta), "--from", str(src), "--map", "s/a=t/x", "--map", "s/a=t/y"]
    assert cli_main([*args, "--out", str(dst)]) == 0
    got = tf_round_trip(f"{dst}.meta", dst, tmp_path / "again")
    for name, value in want.items():
        assert same(got[name], value), name
    assert same(got["t/x"], np.array([97.0, 97.0], np.float32))


# -- 18.5 / 18.13: rename keeps while loops whole; the root as a scope ----------------------------


def _loop_source(tmp_path: Path) -> tuple[Path, list[Any]]:
    """A v1 while loop and cond under ``loops/`` reading a variable, saved with a checkpoint;
    the gradient of the loop's output by the variable as TF computes it."""
    src = tmp_path / "src" / "model.ckpt"
    was = tf1.control_flow_v2_enabled()
    tf1.disable_control_flow_v2()
    try:
        with tf.Graph().as_default() as graph:
            with tf1.name_scope("loops"):
                var = tf1.Variable(1.5, name="w", use_resource=False)
                _, out = tf1.while_loop(
                    lambda i, x: i < 4, lambda i, x: (i + 1, x * var), [0, tf.constant(2.0)]
                )
                out = tf1.cond(out > 1.0, lambda: out * 2.0, lambda: out, name="cond")
                tf1.add_to_collection("out", out)
            grad = tf.gradients([out], [var])
            saver = tf1.train.Saver()
            with tf1.Session(graph=graph) as sess:
                sess.run(tf1.global_variables_initializer())
                want = sess.run(grad)
                saver.save(sess, str(src))
    finally:
        if was:
            tf1.enable_control_flow_v2()
    return src, want


def _gradient_after(meta: str, prefix: str, var_name: str) -> list[Any]:
    was = tf1.control_flow_v2_enabled()
    tf1.disable_control_flow_v2()
    try:
        with tf.Graph().as_default() as graph:
            saver = tf1.train.import_meta_graph(meta)
            (out,) = tf1.get_collection("out")
            var = graph.get_tensor_by_name(var_name)
            grad = tf.gradients([out], [var])
            with tf1.Session(graph=graph) as sess:
                saver.restore(sess, prefix)
                return list(sess.run(grad))
    finally:
        if was:
            tf1.enable_control_flow_v2()


def test_rename_renames_loop_frames(tmp_path: Path) -> None:
    """Issue 18.5: the Enter nodes' frame_name (and the while context it names) follow the
    rename; tf.gradients through the renamed loop works and equals the original's."""
    from graphtui.core.names import ScopeMap
    from graphtui.core.rename import rename

    src, want = _loop_source(tmp_path)
    dst = tmp_path / "out" / "model.ckpt"
    plan, _ = rename(str(src), str(dst), ScopeMap.parse(["loops=renamed"]))
    assert plan.report.frame_names > 0
    from graphtui.core.metagraph import read_meta_graph

    frames = {
        n.attr["frame_name"].s.decode()
        for n in read_meta_graph(f"{dst}.meta").graph_def.node
        if n.op in ("Enter", "RefEnter") and n.name.startswith("renamed/")
    }
    assert frames == {"renamed/while/while_context"}
    got = _gradient_after(f"{dst}.meta", str(dst), "renamed/w:0")
    assert got == want


@pytest.mark.parametrize("mode", ["all", "graph"])
def test_rename_whole_graph_under_a_scope_and_back(tmp_path: Path, mode: str) -> None:
    """Issue 18.13: ``=top/`` puts everything under ``top/`` (checkpoint keys too in mode
    all, kept in mode graph as import_scope keeps them); ``top/=`` brings it back. TF restores
    and differentiates each result; names equal TF's import_meta_graph(import_scope) + save."""
    from graphtui.core.names import ScopeMap
    from graphtui.core.rename import rename

    src, want = _loop_source(tmp_path)
    top = tmp_path / "top" / "model.ckpt"
    rename(str(src), str(top), ScopeMap.parse(["=top/"]), mode=mode)
    assert _gradient_after(f"{top}.meta", str(top), "top/loops/w:0") == want
    keys = dict(tf.train.list_variables(str(top)))
    # TF's import_scope + save: node names prefixed, checkpoint keys as the saver's constants
    with tf.Graph().as_default() as graph:
        saver = tf1.train.import_meta_graph(f"{src}.meta", import_scope="top")
        tf_nodes = {op.name for op in graph.get_operations()}
        with tf1.Session(graph=graph) as sess:
            saver.restore(sess, str(src))
            (tmp_path / "tf").mkdir()
            saved = saver.save(sess, str(tmp_path / "tf" / "model.ckpt"))
    tf_keys = dict(tf.train.list_variables(saved))
    ours = {n.name for n in read_meta(f"{top}.meta").graph_def.node}
    assert ours == tf_nodes
    if mode == "graph":
        assert keys == tf_keys
    else:
        assert keys == {f"top/{k}": v for k, v in tf_keys.items()}
    back = tmp_path / "back" / "model.ckpt"
    rename(str(top), str(back), ScopeMap.parse(["top/="]), mode=mode)
    assert _gradient_after(f"{back}.meta", str(back), "loops/w:0") == want
    assert dict(tf.train.list_variables(str(back))) == dict(tf.train.list_variables(str(src)))


def read_meta(path: str) -> Any:
    from graphtui.core.metagraph import read_meta_graph

    return read_meta_graph(path)


def test_rename_to_the_root_is_refused_on_collision(tmp_path: Path) -> None:
    """Issue 18.13: moving a scope to the root goes through the same conflict checks."""
    from graphtui.core.names import ScopeMap
    from graphtui.core.rename import rename
    from graphtui.errors import ConflictError

    src = tmp_path / "src" / "model.ckpt"
    with tf.Graph().as_default() as graph:
        tf1.get_variable("a/w", [2])
        tf1.get_variable("w", [2])
        saver = tf1.train.Saver()
        with tf1.Session(graph=graph) as sess:
            sess.run(tf1.global_variables_initializer())
            saver.save(sess, str(src))
    with pytest.raises(ConflictError, match="would both become"):
        rename(str(src), str(tmp_path / "out" / "m"), ScopeMap.parse(["a/="]))
    assert not (tmp_path / "out").exists()


def test_strip_a_legacy_restore_slice_saver(tmp_path: Path) -> None:
    """Issue 18.6 for strip: a TF 0.x graph's per-variable ``RestoreSlice`` saver was refused
    ("cannot strip a V1 per-variable restore op"); it is rewritten to TF's V2 saver first,
    then loses the dropped variable; TF restores and re-saves the output."""
    from graphtui.core.strip import strip

    path, meta, want = _legacy_graph(tmp_path)
    dst = tmp_path / "out" / "model.ckpt"
    report, result = strip(path, str(dst), ["b"], meta=meta)
    assert report.dropped == ["b"] and report.graph_variables_dropped == ["b"]
    assert any("RestoreSlice -> RestoreV2" in n for n in result.notes)
    assert dict(tf.train.list_variables(str(dst))) == {"a": []}
    with tf.Graph().as_default() as graph:
        saver = tf1.train.import_meta_graph(f"{dst}.meta")
        assert saver.saver_def.version == tf1.train.SaverDef.V2
        (a,) = [v for v in tf1.global_variables() if v.op.name == "a"]
        with tf1.Session(graph=graph) as sess:
            sess.run(tf1.global_variables_initializer())
            saver.restore(sess, str(dst))
            assert same(sess.run(a), want["a"])
            (tmp_path / "again").mkdir()
            again = saver.save(sess, str(tmp_path / "again" / "m"))
    assert dict(tf.train.list_variables(again)) == {"a": []}


# -- other people's files: ../shared/realworld -----------------------------------------------------

REALWORLD = Path(__file__).resolve().parents[2].parent / "shared" / "realworld"


def _realworld_pairs() -> list[tuple[str, str]]:
    """(checkpoint prefix, its .meta) of every real-world set that has both."""
    if not REALWORLD.is_dir():
        return []
    pairs = []
    for meta in sorted(REALWORLD.glob("*/**/*.meta")):
        prefix = str(meta)[: -len(".meta")]
        if tf1.train.checkpoint_exists(prefix):
            pairs.append((prefix, str(meta)))
    return pairs


def _restored_by_tf(meta: str, prefix: str) -> dict[str, Any]:
    with tf.Graph().as_default() as graph:
        saver = tf1.train.import_meta_graph(meta, clear_devices=True)
        variables = tf1.global_variables()
        with tf1.Session(graph=graph) as sess:
            saver.restore(sess, prefix)
            return dict(zip([v.op.name for v in variables], sess.run(variables), strict=True))


@pytest.mark.slow
def test_realworld_whole_graph_under_a_scope(tmp_path: Path) -> None:
    """Issue 18.13 on files this project did not write: ``rename --map =top/`` of every
    real-world checkpoint with its graph, graph-only (import_scope's names, keys kept) and
    all (keys renamed too); TF imports each output, restores it and finds every variable under
    ``top/`` with the source's bytes."""
    from graphtui.core.names import ScopeMap
    from graphtui.core.rename import rename

    pairs = _realworld_pairs()
    if not pairs:
        pytest.skip("../shared/realworld is absent")
    checked = 0
    for i, (prefix, meta) in enumerate(pairs):
        try:
            want = _restored_by_tf(meta, prefix)
        except Exception:  # noqa: BLE001 - TF cannot restore the source itself
            continue
        for mode in ("graph", "all"):
            out = tmp_path / f"{i}-{mode}" / "model.ckpt"
            rename(prefix, str(out), ScopeMap.parse(["=top/"]), mode=mode, meta=meta)
            got = _restored_by_tf(f"{out}.meta", str(out))
            assert set(got) == {f"top/{k}" for k in want}, prefix
            for key, value in want.items():
                a, b = np.asarray(got[f"top/{key}"]), np.asarray(value)
                assert a.dtype == b.dtype and a.shape == b.shape, (prefix, key)
                if a.dtype != object:
                    assert a.tobytes() == b.tobytes(), (prefix, key)
                else:
                    assert list(a.ravel()) == list(b.ravel()), (prefix, key)
        checked += 1
    assert checked >= 10  # the sets hold more than ten restorable graph + checkpoint pairs
