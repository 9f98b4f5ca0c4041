"""graphtui's writing commands checked by real TensorFlow: every result loads in TF.

rename / restore / export / strip write into ``tmp_path``; TF then imports ``DST.meta``,
restores ``DST`` in a session and reads the checkpoint, and the values must equal the source's
(or, for restore, TF's own ``init_from_checkpoint`` result). Refusals must leave ``tmp_path``
empty. rollback / fix-paths edit a copy of a training directory that TF then reads.
Graph-mode work runs in fresh ``tf.Graph()``s; the TF2 case runs eagerly.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from graphtui.cli import main as cli_main
from graphtui.core.export import export
from graphtui.core.names import ScopeMap
from graphtui.core.rename import rename
from graphtui.core.restore import restore
from graphtui.core.state_ops import rollback
from graphtui.core.strip import strip
from graphtui.errors import ConflictError, CoreError
from tests.fixtures.shared import DATA, FACTS

pytestmark = pytest.mark.interop
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
tf = pytest.importorskip("tensorflow")
tf1 = tf.compat.v1

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TRAIN = DATA / "train" / "model.ckpt-50"
PARTITIONED = DATA / "partitioned" / "model.ckpt"
SHARDED = DATA / "sharded" / "model.ckpt"
V1 = DATA / "v1" / "model.ckpt-2"
RESTORE_SRC = DATA / FACTS["restore"]["source_prefix"]
RESTORE_CASES: dict[str, Any] = FACTS["restore"]["cases"]


def _load_generate() -> Any:
    """tests/fixtures/generate.py by path: its restore targets are rebuilt for TF's errors."""
    path = FIXTURES / "generate.py"
    spec = importlib.util.spec_from_file_location("graphtui_fixture_generate", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generate = _load_generate()


# -- TF helpers ------------------------------------------------------------------------------------


def _config() -> Any:
    # sharded/ places variables on /cpu:1
    return tf1.ConfigProto(
        device_count={"CPU": 2},
        allow_soft_placement=True,
        intra_op_parallelism_threads=1,
        inter_op_parallelism_threads=1,
    )


def tf_load(
    meta: Path | str,
    prefix: Path | str,
    *,
    fetch_collection: str | None = None,
    then: Callable[[Any, Any, Any], None] | None = None,
    init_first: bool = False,
) -> dict[str, Any]:
    """import_meta_graph + Saver.restore in a fresh graph; every global variable's value by op
    name (plus ``fetch_collection``'s tensors under ``"collection:<name>"``). ``init_first``
    runs the initializers before the restore (for variables the saver leaves out)."""
    graph = tf.Graph()
    with graph.as_default():
        saver = tf1.train.import_meta_graph(str(meta))
        assert saver is not None
        variables = tf1.global_variables()
        fetches = tf1.get_collection(fetch_collection) if fetch_collection else []
        with tf1.Session(graph=graph, config=_config()) as sess:
            if init_first:
                sess.run(tf1.global_variables_initializer())
            saver.restore(sess, str(prefix))
            values = dict(zip([v.op.name for v in variables], sess.run(variables), strict=True))
            if fetches:
                values[f"collection:{fetch_collection}"] = sess.run(fetches)
            if then is not None:
                then(graph, sess, saver)
    return values


def ckpt_values(prefix: Path | str) -> dict[str, np.ndarray]:
    reader = tf.train.load_checkpoint(str(prefix))
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}


def same(a: Any, b: Any) -> bool:
    """Equal dtype, shape and bytes (strings element by element)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype == object:
        return bool(list(a.ravel()) == list(b.ravel()))
    return a.tobytes() == b.tobytes()


def cli(*args: str | Path) -> int:
    return cli_main([str(a) for a in args])


def files_under(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def tree_hash(path: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


_source_cache: dict[str, dict[str, Any]] = {}


def source_values(prefix: Path) -> dict[str, Any]:
    if str(prefix) not in _source_cache:
        _source_cache[str(prefix)] = tf_load(f"{prefix}.meta", prefix)
    return _source_cache[str(prefix)]


def assert_renamed(src: dict[str, Any], dst: dict[str, Any], scopes: ScopeMap) -> None:
    assert set(dst) == {scopes(name) for name in src}
    for name, value in src.items():
        assert same(dst[scopes(name)], value), name


# -- 1. rename ------------------------------------------------------------------------------------


def test_rename_train_loads_restores_and_trains_in_tf(tmp_path: Path) -> None:
    scopes = ScopeMap([("model", "net")])
    dst = tmp_path / "out" / "renamed"
    assert cli("rename", TRAIN, "--map", "model=net", "--out", dst) == 0

    keys = [name for name, _ in tf.train.list_variables(str(dst))]
    src_keys = [name for name, _ in tf.train.list_variables(str(TRAIN))]
    assert not [k for k in keys if k.startswith("model/")]
    assert sorted(keys) == sorted(scopes(k) for k in src_keys)
    assert any(k.startswith("net/") for k in keys)

    stepped: dict[str, dict[str, Any]] = {}

    def train_one_step(tag: str) -> Callable[[Any, Any, Any], None]:
        def run(graph: Any, sess: Any, saver: Any) -> None:
            sess.run(tf1.get_collection("train_op"))
            variables = tf1.global_variables()
            stepped[tag] = dict(
                zip([v.op.name for v in variables], sess.run(variables), strict=True)
            )
            # the renamed saver's save subgraph works too
            saver.save(sess, str(tmp_path / f"resaved_{tag}" / "model.ckpt"))

        return run

    src = tf_load(f"{TRAIN}.meta", TRAIN, fetch_collection="my_tensors", then=train_one_step("src"))
    out = tf_load(f"{dst}.meta", dst, fetch_collection="my_tensors", then=train_one_step("dst"))
    # while/cond/function results fetched through the renamed collection are equal
    src_fetched, dst_fetched = src.pop("collection:my_tensors"), out.pop("collection:my_tensors")
    for a, b in zip(src_fetched, dst_fetched, strict=True):
        assert same(a, b)
    assert_renamed(src, out, scopes)
    assert_renamed(stepped["src"], stepped["dst"], scopes)
    resaved = [n for n, _ in tf.train.list_variables(str(tmp_path / "resaved_dst" / "model.ckpt"))]
    assert sorted(resaved) == sorted(keys)


def test_rename_two_maps_apply_in_order(tmp_path: Path) -> None:
    scopes = ScopeMap([("model", "net"), ("net/layer_1", "net/first")])
    dst = tmp_path / "renamed"
    rename(str(TRAIN), str(dst), scopes)
    keys = {name for name, _ in tf.train.list_variables(str(dst))}
    assert "net/first/dense/kernel" in keys
    assert "net/first/dense/kernel/Adam" in keys
    assert "net/layer_2/dense/kernel" in keys
    assert "net/layer_10/dense/kernel" in keys  # a/b does not match a/bc
    assert not [k for k in keys if "layer_1/" in k or k.startswith("model/")]
    assert_renamed(source_values(TRAIN), tf_load(f"{dst}.meta", dst), scopes)


@pytest.mark.parametrize(
    ("source", "pairs"),
    [
        (PARTITIONED, [("embeddings", "emb/tables")]),
        (SHARDED, [("tower_0", "gpu_a"), ("tower_1", "gpu_b")]),
    ],
    ids=["partitioned", "sharded"],
)
def test_rename_partitioned_and_sharded(
    tmp_path: Path, source: Path, pairs: list[tuple[str, str]]
) -> None:
    scopes = ScopeMap(pairs)
    dst = tmp_path / "renamed"
    rename(str(source), str(dst), scopes)
    src_list = tf.train.list_variables(str(source))
    dst_list = tf.train.list_variables(str(dst))
    assert sorted(dst_list) == sorted((scopes(n), s) for n, s in src_list)
    assert not {n for n, _ in dst_list} & {n for n, _ in src_list if scopes(n) != n}
    src_ckpt, dst_ckpt = ckpt_values(source), ckpt_values(dst)
    for name, value in src_ckpt.items():
        assert same(dst_ckpt[scopes(name)], value), name
    resaved = tmp_path / "resaved" / "model.ckpt"
    resaved.parent.mkdir()

    def save_again(graph: Any, sess: Any, saver: Any) -> None:
        saver.save(sess, str(resaved), write_meta_graph=False)

    assert_renamed(source_values(source), tf_load(f"{dst}.meta", dst, then=save_again), scopes)
    assert sorted(tf.train.list_variables(str(resaved))) == sorted(dst_list)
    if source == PARTITIONED:
        graph = tf.Graph()
        with graph.as_default():
            tf1.train.import_meta_graph(f"{dst}.meta")
            parts = [v for v in tf1.global_variables() if v._save_slice_info is not None]  # noqa: SLF001
            assert parts
            assert {v._save_slice_info.full_name for v in parts} == {  # noqa: SLF001
                "emb/tables/table",
                "emb/tables/wide",
                "emb/tables/columns",
                "emb/tables/ids",
            }


# -- 2. graph-only / checkpoint-only --------------------------------------------------------------


def test_rename_graph_only_keeps_checkpoint_keys(tmp_path: Path) -> None:
    scopes = ScopeMap([("model", "net")])
    dst = tmp_path / "g" / "renamed"
    rename(str(TRAIN), str(dst), scopes, mode="graph")
    assert sorted(tf.train.list_variables(str(dst))) == sorted(tf.train.list_variables(str(TRAIN)))
    src = source_values(TRAIN)
    assert_renamed(src, tf_load(f"{dst}.meta", dst), scopes)
    # the renamed graph restores the untouched source checkpoint as well
    assert_renamed(src, tf_load(f"{dst}.meta", TRAIN), scopes)


def test_rename_checkpoint_only(tmp_path: Path) -> None:
    scopes = ScopeMap([("model/layer_10", "model/head")])
    dst = tmp_path / "renamed"
    assert (
        cli(
            "rename", TRAIN, "--map", "model/layer_10=model/head", "--checkpoint-only", "--out", dst
        )
        == 0
    )
    assert not Path(f"{dst}.meta").exists()
    src, out = ckpt_values(TRAIN), ckpt_values(dst)
    assert set(out) == {scopes(n) for n in src}
    assert "model/head/dense/kernel/ExponentialMovingAverage" in out
    assert not [n for n in out if "layer_10" in n]
    for name, value in src.items():
        assert same(out[scopes(name)], value), name


# -- 3. restore (init_from_checkpoint maps) -------------------------------------------------------


def _parse_spec(spec: str) -> tuple[slice, ...] | None:
    if not spec:
        return None
    *_, extents = spec.split(" ")
    out = []
    for part in extents.split(":"):
        if part == "-":
            out.append(slice(None))
        else:
            start, length = (int(x) for x in part.split(","))
            out.append(slice(start, start + length))
    return tuple(out)


def _checkpoint_key(var_name: str) -> str:
    base = var_name.rsplit(":", 1)[0]
    head, sep, tail = base.rpartition("/part_")
    return head if sep and tail.isdigit() else base


@pytest.mark.parametrize("case", sorted(RESTORE_CASES))
def test_restore_matches_init_from_checkpoint(tmp_path: Path, case: str) -> None:
    facts = RESTORE_CASES[case]
    covered = {k: v for k, v in facts["initializers"].items() if v is not None}
    uncovered = [k for k, v in facts["initializers"].items() if v is None]
    dst = tmp_path / "restored" / "model.ckpt"
    args = ["restore", str(DATA / facts["target_meta"]), "--from", str(RESTORE_SRC)]
    for ckpt_name, graph_name in facts["assignment_map"].items():
        args += ["--map", f"{ckpt_name}={graph_name}"]
    args += ["--out", str(dst), "--json"]
    if uncovered:
        # without --allow-missing, the random-initialized variables are refused
        assert cli_main([*args[:-3], "--out", str(tmp_path / "refused" / "m")]) == 1
        assert not (tmp_path / "refused").exists() or not files_under(tmp_path / "refused")
        args.append("--allow-missing")
    assert cli_main(args) == 0

    expected = ckpt_values(DATA / facts["expected_prefix"])
    ours = ckpt_values(dst)
    covered_keys = {_checkpoint_key(name) for name in covered}
    assert set(ours) == covered_keys
    for key in covered_keys:
        assert same(ours[key], expected[key]), key

    restored = tf_load(f"{dst}.meta", dst, init_first=bool(uncovered))
    assert set(restored) == {name.rsplit(":", 1)[0] for name in facts["initializers"]}
    for name, init in covered.items():
        want = expected[_checkpoint_key(name)]
        index = _parse_spec(init["slice"])
        if index is not None:
            want = want[index]
        assert same(restored[name.rsplit(":", 1)[0]], want), name


def _tf_init_from_checkpoint(build: Callable[[], None], amap: dict[str, str]) -> None:
    with tf.Graph().as_default():
        build()
        tf1.train.init_from_checkpoint(str(RESTORE_SRC), amap)


RESTORE_ERRORS = [
    ("b_single", {"old_scope/nothere": "new_scope/var1"}),  # a missing checkpoint tensor
    ("a_scope", {"other/": "new_scope/"}),  # scope map onto tensors the checkpoint lacks
    ("b_single", {"old_scope/": "new_scope/var1"}),  # 'scope/' onto one variable
    ("a_scope", {"old_scope/var1": "new_scope"}),  # a variable onto a scope
    ("a_scope", {"old_scope/": "new_scope"}),  # graph scope without its trailing slash
]


@pytest.mark.parametrize(("case", "amap"), RESTORE_ERRORS)
def test_restore_errors_where_tf_raises(tmp_path: Path, case: str, amap: dict[str, str]) -> None:
    builders = generate._restore_targets(tf)  # noqa: SLF001
    with pytest.raises(ValueError):  # noqa: PT011 - TF raises a bare ValueError
        _tf_init_from_checkpoint(builders[case][1], amap)
    with pytest.raises(CoreError):
        restore(
            str(DATA / RESTORE_CASES[case]["target_meta"]),
            str(RESTORE_SRC),
            amap,
            str(tmp_path / "out" / "m"),
            allow_missing=True,
        )
    assert files_under(tmp_path) == []


def test_restore_later_map_entries_win_in_sorted_order(tmp_path: Path) -> None:
    """TF applies the map sorted by checkpoint name; the last assignment of a variable wins."""
    src = tmp_path / "src" / "model.ckpt"
    with tf.Graph().as_default() as graph:
        p = tf1.get_variable("s/p", initializer=tf.constant([1.0, 2.0]))
        q = tf1.get_variable("s/q", initializer=tf.constant([3.0, 4.0]))
        saver = tf1.train.Saver()
        with tf1.Session(graph=graph) as sess:
            sess.run(tf1.variables_initializer([p, q]))
            saver.save(sess, str(src), write_meta_graph=False)
    amap = {"s/q": "t/p", "s/": "t/"}  # TF: 's/' first, then 's/q' overrides t/p
    target_meta = tmp_path / "target.meta"
    with tf.Graph().as_default() as graph:
        tp = tf1.get_variable("t/p", [2])
        tq = tf1.get_variable("t/q", [2])
        tf1.train.Saver().export_meta_graph(str(target_meta))
        tf1.train.init_from_checkpoint(str(src), amap)
        with tf1.Session(graph=graph) as sess:
            sess.run(tf1.global_variables_initializer())
            want = dict(zip(["t/p", "t/q"], sess.run([tp, tq]), strict=True))
    dst = tmp_path / "out" / "m"
    restore(str(target_meta), str(src), amap, str(dst))
    got = ckpt_values(dst)
    assert set(got) == set(want)
    for name, value in want.items():
        assert same(got[name], value), name


# -- 4. export ------------------------------------------------------------------------------------


def test_export_text_clear_devices_loads_in_tf(tmp_path: Path) -> None:
    dst = tmp_path / "exported"
    assert cli("export", SHARDED, "--as-text", "--clear-devices", "--out", dst) == 0
    assert Path(f"{dst}.meta").read_bytes().lstrip().startswith(b"meta_info_def")
    devices: list[str] = []

    def record(graph: Any, sess: Any, saver: Any) -> None:
        devices.extend(op.device for op in graph.get_operations())

    out = tf_load(f"{dst}.meta", dst, then=record)
    assert devices and set(devices) == {""}
    assert_renamed(source_values(SHARDED), out, ScopeMap([]))


def test_export_train_as_text_loads_in_tf(tmp_path: Path) -> None:
    dst = tmp_path / "exported"
    export(str(TRAIN), str(dst), as_text=True, clear_devices=True)
    out = tf_load(f"{dst}.meta", dst)
    assert_renamed(source_values(TRAIN), out, ScopeMap([]))
    assert sorted(tf.train.list_variables(str(dst))) == sorted(tf.train.list_variables(str(TRAIN)))


def test_export_v1_to_v2_loads_in_tf(tmp_path: Path) -> None:
    dst = tmp_path / "v2" / "model.ckpt"
    export(str(V1), str(dst))
    assert Path(f"{dst}.index").is_file()
    assert not Path(dst).exists()  # V2 layout, not a V1 single file
    out_ckpt = ckpt_values(dst)  # TF's V2 reader returns every tensor of ours
    src_reader = tf.train.load_checkpoint(str(V1))
    assert set(out_ckpt) == set(src_reader.get_variable_to_shape_map())
    unreadable = []
    for name, value in out_ckpt.items():
        try:
            want = src_reader.get_tensor(name)
        except tf.errors.UnimplementedError:  # TF's V1 reader: float16, sliced tensors
            unreadable.append(name)
            continue
        assert same(value, want), name
    assert sorted(unreadable) == ["v1/emb", "v1/half"]
    # ...those two are compared through sessions: RestoreV2 reads V1 files
    src = source_values(V1)
    assert_renamed(src, tf_load(f"{dst}.meta", dst), ScopeMap([]))
    parts = [src[f"v1/emb/part_{i}"] for i in range(3)]
    assert same(out_ckpt["v1/emb"], np.concatenate(parts))
    assert same(out_ckpt["v1/half"], src["v1/half"])


def test_export_collection_subset(tmp_path: Path) -> None:
    dst = tmp_path / "exported"
    keep = ["variables", "trainable_variables", "my_ints"]
    export(str(TRAIN), str(dst), collections=keep)
    keys: list[str] = []

    def record(graph: Any, sess: Any, saver: Any) -> None:
        keys.extend(graph.get_all_collection_keys())

    out = tf_load(f"{dst}.meta", dst, then=record)
    assert sorted(keys) == sorted(keep)
    assert_renamed(source_values(TRAIN), out, ScopeMap([]))


# -- 5. strip -------------------------------------------------------------------------------------


def test_strip_adam_slots(tmp_path: Path) -> None:
    dst = tmp_path / "stripped"
    report, _ = strip(str(TRAIN), str(dst), ["*/Adam*"])
    src_ckpt = ckpt_values(TRAIN)
    dropped = {k for k in src_ckpt if "/Adam" in k}
    assert dropped and set(report.dropped) == dropped
    out_ckpt = ckpt_values(dst)
    assert set(out_ckpt) == set(src_ckpt) - dropped
    for name, value in out_ckpt.items():
        assert same(value, src_ckpt[name]), name
    slot_bytes = sum(src_ckpt[k].nbytes for k in dropped)
    src_data = os.path.getsize(f"{TRAIN}.data-00000-of-00001")
    assert src_data - os.path.getsize(f"{dst}.data-00000-of-00001") == slot_bytes

    out = tf_load(f"{dst}.meta", dst)
    src = source_values(TRAIN)
    assert set(out) == {n for n in src if "/Adam" not in n}
    for name, value in out.items():
        assert same(value, src[name]), name


def test_strip_a_whole_shard_of_a_sharded_saver(tmp_path: Path) -> None:
    dst = tmp_path / "stripped"
    strip(str(SHARDED), str(dst), ["tower_1/*"])
    resaved = tmp_path / "resaved" / "model.ckpt"
    resaved.parent.mkdir()

    def save_again(graph: Any, sess: Any, saver: Any) -> None:
        saver.save(sess, str(resaved))  # the shard's save op is gone, the merge still works

    out = tf_load(f"{dst}.meta", dst, then=save_again)
    src = source_values(SHARDED)
    assert set(out) == {n for n in src if not n.startswith("tower_1/")}
    for name, value in out.items():
        assert same(value, src[name]), name
    assert sorted(n for n, _ in tf.train.list_variables(str(resaved))) == sorted(out)


def test_strip_everything_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CoreError):
        strip(str(SHARDED), str(tmp_path / "m"), ["*"])
    assert files_under(tmp_path) == []


# -- 6. refusals ----------------------------------------------------------------------------------


def test_colliding_rename_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    before = tree_hash(DATA / "train")
    with pytest.raises(ConflictError) as info:
        rename(
            str(TRAIN), str(tmp_path / "out" / "m"), ScopeMap([("model/layer_1", "model/layer_2")])
        )
    conflicts = info.value.conflicts
    assert any("model/layer_2/dense/kernel" in c for c in conflicts)
    assert any("checkpoint keys" in c for c in conflicts)
    assert files_under(tmp_path) == []
    assert tree_hash(DATA / "train") == before
    assert (
        cli("rename", TRAIN, "--map", "model/layer_1=model/layer_2", "--out", tmp_path / "m") == 1
    )
    assert files_under(tmp_path) == []


def test_dangling_input_is_refused(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from graphtui._proto import pb
    from graphtui.formats.metagraph_io import serialize_meta_graph

    broken_dir = tmp_path_factory.mktemp("broken")
    mg = pb.MetaGraphDef()
    mg.ParseFromString(Path(f"{SHARDED}.meta").read_bytes())
    node = next(n for n in mg.graph_def.node if n.name == "output")
    node.input.append("tower_0/gone")
    meta = broken_dir / "broken.meta"
    meta.write_bytes(serialize_meta_graph(mg))
    with pytest.raises(ValueError), tf.Graph().as_default():  # noqa: PT011 - TF refuses it too
        tf1.train.import_meta_graph(str(meta))
    with pytest.raises(ConflictError) as info:
        rename(str(SHARDED), str(tmp_path / "m"), ScopeMap([("tower_0", "t0")]), meta=str(meta))
    assert any("gone" in c for c in info.value.conflicts)
    assert files_under(tmp_path) == []


def test_invalid_new_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CoreError):
        rename(str(SHARDED), str(tmp_path / "m"), ScopeMap([("tower_0", "bad name")]))
    assert files_under(tmp_path) == []


# -- 7. rollback / fix-paths ----------------------------------------------------------------------


def test_rollback_agrees_with_tf(tmp_path: Path) -> None:
    train = tmp_path / "train"
    shutil.copytree(DATA / "train", train)
    rollback(str(train), "40")
    latest = tf.train.latest_checkpoint(str(train))
    state = tf.train.get_checkpoint_state(str(train))
    assert latest == str(train / "model.ckpt-40")
    assert state.model_checkpoint_path == latest
    assert state.all_model_checkpoint_paths[-1] == latest
    assert sorted(state.all_model_checkpoint_paths) == sorted(
        str(train / f"model.ckpt-{s}") for s in (30, 40, 50)
    )
    from graphtui.core.checkpoint import latest_checkpoint

    assert latest_checkpoint(str(train)) == latest


def test_fix_paths_lets_tf_find_the_checkpoint(tmp_path: Path) -> None:
    moved = tmp_path / "moved"
    shutil.copytree(DATA / "moved", moved)
    assert tf.train.latest_checkpoint(str(moved)) is None
    assert cli("fix-paths", moved) == 0
    assert tf.train.latest_checkpoint(str(moved)) == str(moved / "model.ckpt-2")
    state = tf.train.get_checkpoint_state(str(moved))
    assert list(state.all_model_checkpoint_paths) == [
        str(moved / "model.ckpt-1"),
        str(moved / "model.ckpt-2"),
    ]


# -- 8. TF2 object-based checkpoints --------------------------------------------------------------


def _tiny_model() -> Any:
    """The structure generate.py trains (names matter, initial values do not)."""

    module: Any = tf.Module

    class Dense(module):
        def __init__(self, n_in: int, n_out: int, name: str) -> None:
            super().__init__(name=name)
            self.w = tf.Variable(tf.zeros([n_in, n_out]), name="w")
            self.b = tf.Variable(tf.zeros([n_out]), name="b")

    class TinyModel(module):
        def __init__(self) -> None:
            super().__init__(name="tiny_model")
            self.hidden = Dense(4, 3, "hidden")
            self.head = Dense(3, 2, "head")
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")

    return TinyModel()


def test_tf2_checkpoint_only_rename_restores_by_object_graph(tmp_path: Path) -> None:
    source = DATA / "tf2" / "module" / "ckpt-3"
    dst = tmp_path / "renamed" / "ckpt-3"
    scopes = ScopeMap([("model/hidden", "net/first"), ("model", "net")])
    rename(str(source), str(dst), scopes, mode="checkpoint")
    src = ckpt_values(source)
    out = ckpt_values(dst)
    assert "net/first/w/.ATTRIBUTES/VARIABLE_VALUE" in out
    assert not [k for k in out if k.startswith("model/")]
    for name, value in src.items():
        if name != "_CHECKPOINTABLE_OBJECT_GRAPH":
            assert same(out[scopes(name)], value), name

    model = _tiny_model()
    opt = tf1.train.AdamOptimizer(0.05)
    status = tf.train.Checkpoint(model=model, optimizer=opt).restore(str(dst))
    status.assert_existing_objects_matched()
    prefix = "/.ATTRIBUTES/VARIABLE_VALUE"
    for attr, var in (
        ("model/hidden/w", model.hidden.w),
        ("model/hidden/b", model.hidden.b),
        ("model/head/w", model.head.w),
        ("model/head/b", model.head.b),
        ("model/step", model.step),
    ):
        assert same(var.numpy(), src[attr + prefix]), attr
    # slots are restored when the optimizer creates them; one zero-gradient step scales m by beta1
    variables = [model.hidden.w, model.hidden.b, model.head.w, model.head.b]
    opt.apply_gradients([(tf.zeros_like(v), v) for v in variables])
    status.assert_consumed()
    m = opt.get_slot(model.hidden.w, "m").numpy()
    m_saved = src["model/hidden/w/.OPTIMIZER_SLOT/optimizer/m" + prefix]
    assert np.abs(m_saved).max() > 0
    np.testing.assert_allclose(m, 0.9 * m_saved, rtol=1e-5)
