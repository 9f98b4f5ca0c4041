"""Workspace: opening paths, joined variables, lazy windows, chunked statistics, diffs, export."""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from graphtui.core.checkpoint import load_checkpoint
from graphtui.core.graph import GraphIndex
from graphtui.core.history import scan_history
from graphtui.core.workspace import (
    OperationCancelled,
    TensorValue,
    Workspace,
    compute_stats,
    iter_blocks,
    looks_like_slot,
    open_workspace,
)
from graphtui.errors import CoreError, GraphtuiError, NotFoundError
from graphtui.formats.bundle_writer import BundleWriter
from graphtui.formats.transaction import FileTransaction
from tests.fixtures.shared import DATA

TRAIN = DATA / "train"


def write_checkpoint(prefix: Path, tensors: dict[str, np.ndarray]) -> str:
    with FileTransaction() as txn:
        writer = BundleWriter(prefix, txn)
        for name, arr in tensors.items():
            writer.add(name, arr)
        writer.finish()
    return str(prefix)


# -- opening --------------------------------------------------------------------------------------


def test_open_directory_joins_state_history_latest_and_meta() -> None:
    ws = open_workspace(TRAIN)
    assert ws.graph is not None and ws.meta_path is not None
    assert ws.meta_path.endswith("model.ckpt-50.meta")
    assert ws.history is not None
    assert [r.step for r in ws.history.records] == [30, 40, 50]
    assert ws.active_prefix is not None and ws.active_prefix.endswith("model.ckpt-50")
    assert ws.warnings == []


def test_open_meta_uses_checkpoint_of_same_prefix() -> None:
    ws = open_workspace(TRAIN / "model.ckpt-50.meta")
    assert ws.graph is not None
    assert ws.active_prefix == str(TRAIN / "model.ckpt-50")


def test_open_meta_without_own_checkpoint_uses_directory_latest(tmp_path: Path) -> None:
    for name in os.listdir(TRAIN):
        shutil.copy(TRAIN / name, tmp_path / name)
    os.rename(tmp_path / "model.ckpt-50.meta", tmp_path / "graph.meta")
    ws = open_workspace(tmp_path / "graph.meta")
    assert ws.graph is not None
    assert ws.active_prefix == str(tmp_path / "model.ckpt-50")


def test_open_prefix_and_index_file() -> None:
    by_prefix = open_workspace(TRAIN / "model.ckpt-40")
    by_index = open_workspace(TRAIN / "model.ckpt-40.index")
    for ws in (by_prefix, by_index):
        assert ws.active_prefix == str(TRAIN / "model.ckpt-40")
        assert ws.graph is None  # no model.ckpt-40.meta beside it
        assert ws.history is not None and len(ws.history.records) == 3
    with_meta = open_workspace(TRAIN / "model.ckpt-50")
    assert with_meta.graph is not None


def test_open_v1_sharded_partitioned() -> None:
    v1 = open_workspace(DATA / "v1")
    assert v1.active is not None and v1.active.format == "V1"
    sharded = open_workspace(DATA / "sharded")
    assert sharded.active is not None and len(sharded.active.files()) == 3
    assert open_workspace(DATA / "partitioned").graph is not None


def test_open_missing_path_is_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError) as err:
        open_workspace(tmp_path / "nothing")
    assert "\n" not in str(err.value) and "nothing" in str(err.value)
    with pytest.raises(NotFoundError, match="no checkpoint or .meta"):
        open_workspace(tmp_path)


def test_open_none_is_the_demo() -> None:
    from graphtui.demo import demo_path

    ws = open_workspace(None)
    assert ws.path == str(demo_path())
    assert ws.graph is not None and ws.active is not None


def test_corrupt_meta_beside_checkpoint_is_a_warning(tmp_path: Path) -> None:
    for name in os.listdir(TRAIN):
        shutil.copy(TRAIN / name, tmp_path / name)
    (tmp_path / "model.ckpt-50.meta").write_bytes(b"\xff\xff\xff garbage")
    ws = open_workspace(tmp_path)
    assert ws.graph is None
    assert ws.active is not None
    assert len(ws.warnings) == 1 and "model.ckpt-50.meta" in ws.warnings[0]
    with pytest.raises(GraphtuiError):
        open_workspace(tmp_path / "model.ckpt-50.meta")  # asked for: an error, not a warning


def test_set_active_switches_checkpoint() -> None:
    ws = open_workspace(TRAIN)
    before = ws.stats("global_step", bins=0).mean
    ws.set_active(str(TRAIN / "model.ckpt-30"))
    assert ws.active_prefix == str(TRAIN / "model.ckpt-30")
    assert ws.stats("global_step", bins=0).mean != before


# -- variables ------------------------------------------------------------------------------------


def test_variables_join_graph_and_checkpoint() -> None:
    ws = open_workspace(TRAIN)
    rows = {r.name: r for r in ws.variables()}
    reader = ws.active
    assert reader is not None
    kernel = rows["model/layer_1/dense/kernel"]
    assert (kernel.status, kernel.dtype, kernel.shape, kernel.params) == (
        "ok",
        "float32",
        (4, 8),
        32,
    )
    assert kernel.nbytes == reader.tensor_info("model/layer_1/dense/kernel").nbytes
    assert kernel.key == "model/layer_1/dense/kernel" and not kernel.is_slot
    assert rows["model/layer_1/dense/kernel/Adam"].is_slot
    assert rows["model/layer_1/dense/kernel/ExponentialMovingAverage"].is_slot
    assert rows["beta1_power"].is_slot
    assert not rows["global_step"].is_slot
    # local/metric variables are never saved (TF's Saver skips LOCAL_VARIABLES): local
    assert rows["mean_loss/total"].status == "local" and rows["mean_loss/total"].key is None
    # every checkpoint tensor appears exactly once
    keys = [r.key for r in ws.variables() if r.key]
    assert sorted(keys) == sorted(reader.names())
    names = [r.name for r in ws.variables()]
    assert names.index("model/layer_2/dense/bias") < names.index("model/layer_10/dense/bias")


def test_partitioned_variable_is_one_row_keyed_by_full_name() -> None:
    ws = open_workspace(DATA / "partitioned")
    rows = {r.name: r for r in ws.variables()}
    table = rows["embeddings/table"]
    assert table.partitions == 3 and table.shape == (10, 4) and table.status == "ok"
    assert table.node is not None and table.node.startswith("embeddings/table/part_")


def test_checkpoint_only_and_mismatch(tmp_path: Path) -> None:
    graph = GraphIndex.from_file(TRAIN / "model.ckpt-50.meta")
    prefix = write_checkpoint(
        tmp_path / "odd",
        {
            "model/layer_1/dense/kernel": np.zeros((8, 4), np.float32),  # transposed
            "global_step": np.zeros((), np.float64),  # wrong dtype
            "extra/thing": np.ones(3, np.float32),
            "extra/thing/Momentum": np.ones(3, np.float32),
        },
    )
    ws = Workspace(str(tmp_path), graph=graph, active=prefix)
    rows = {r.name: r for r in ws.variables()}
    kernel = rows["model/layer_1/dense/kernel"]
    assert kernel.status == "mismatch"
    assert kernel.detail == "shape [4, 8] vs [8, 4] in checkpoint"
    step = rows["global_step"]
    assert step.status == "mismatch" and step.detail == "dtype int64 vs float64 in checkpoint"
    assert rows["extra/thing"].status == "checkpoint-only" and not rows["extra/thing"].is_slot
    assert rows["extra/thing/Momentum"].is_slot
    assert rows["model/layer_2/dense/kernel"].status == "graph-only"


def test_checkpoint_without_graph_guesses_slots() -> None:
    ws = open_workspace(TRAIN / "model.ckpt-40")
    rows = {r.name: r for r in ws.variables()}
    assert all(r.status == "ok" for r in rows.values())
    assert rows["model/layer_1/dense/kernel/Adam_1"].is_slot
    assert rows["beta2_power"].is_slot
    assert not rows["model/layer_1/dense/kernel"].is_slot
    assert looks_like_slot("a/b/ExponentialMovingAverage") and not looks_like_slot("Adam")


# -- lazy values ----------------------------------------------------------------------------------


def test_iter_blocks_cover_shape_in_c_order() -> None:
    for shape, limit in [
        ((), 4),
        ((7,), 3),
        ((4, 5), 6),
        ((3, 4, 5), 7),
        ((2, 3, 4), 100),
        ((2, 0, 3), 4),
    ]:
        seen = []
        for window in iter_blocks(shape, limit):
            size = math.prod(b - a for a, b in window)
            assert 1 <= size <= max(limit, 1) or not shape
            idx = np.arange(math.prod(shape)).reshape(shape)
            seen.extend(idx[tuple(slice(a, b) for a, b in window)].ravel().tolist())
        assert seen == list(range(math.prod(shape)))


def test_partitioned_windows_match_whole_tensor() -> None:
    ws = open_workspace(DATA / "partitioned")
    reader = ws.active
    assert reader is not None
    for name in ("embeddings/table", "embeddings/wide", "embeddings/columns", "embeddings/ids"):
        value = ws.tensor(name)
        assert value.mapped
        full = reader.read(name)
        np.testing.assert_array_equal(value.read(tuple((0, d) for d in value.shape)), full)
        if full.ndim == 2:
            np.testing.assert_array_equal(value.read(((1, 4), (1, 2))), full[1:4, 1:2])
            # windows past the end are clipped
            np.testing.assert_array_equal(value.read(((5, 99), (0, 99))), full[5:, :])


def test_window_reads_only_its_elements(tmp_path: Path) -> None:
    big = np.arange(200 * 300, dtype=np.float32).reshape(2, 100, 300)
    prefix = write_checkpoint(tmp_path / "big", {"w": big})
    value = TensorValue(load_checkpoint(prefix), "w")
    assert value.mapped
    got = value.read(((1, 2), (10, 12), (5, 8)))
    np.testing.assert_array_equal(got, big[1:2, 10:12, 5:8])
    assert got.base is None or got.base.nbytes == got.nbytes  # a copy of the window, not a view


def test_dtypes_read_through_values() -> None:
    ws = open_workspace(DATA / "dtypes" / "model.ckpt")
    reader = ws.active
    assert reader is not None
    for name in reader.names():
        value = ws.tensor(name)
        full = reader.read(name)
        got = value.read(tuple((0, d) for d in value.shape))
        if full.dtype == object:
            assert got.tolist() == full.tolist()
        else:
            assert got.shape == full.shape and got.dtype == full.dtype
            assert got.tobytes() == np.ascontiguousarray(full).tobytes()


# -- statistics -----------------------------------------------------------------------------------


def test_stats_match_numpy_with_small_chunks(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    data = rng.normal(5.0, 2.0, size=(37, 11)).astype(np.float32)
    data[3, 4] = np.nan
    data[7, 1] = np.inf
    data[9, 9] = -np.inf
    data[0, :3] = 0
    prefix = write_checkpoint(tmp_path / "s", {"x": data})
    value = TensorValue(load_checkpoint(prefix), "x")
    fractions: list[float] = []
    stats = compute_stats(value, bins=10, max_elements=5, progress=fractions.append)
    finite = data[np.isfinite(data)].astype(np.float64)
    assert (stats.nan, stats.inf, stats.zeros, stats.count) == (1, 2, 3, data.size)
    assert stats.finite == finite.size
    assert stats.min == pytest.approx(finite.min()) and stats.max == pytest.approx(finite.max())
    assert stats.mean == pytest.approx(finite.mean(), rel=1e-12)
    assert stats.std == pytest.approx(finite.std(), rel=1e-9)
    assert sum(stats.histogram) == finite.size and len(stats.edges) == 11
    expected, _ = np.histogram(finite, bins=np.array(stats.edges))
    assert list(stats.histogram) == expected.tolist()
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_stats_of_partitioned_and_empty_and_strings() -> None:
    ws = open_workspace(DATA / "partitioned")
    full = ws.active.get_tensor("embeddings/wide").astype(np.float64)  # type: ignore[union-attr]
    stats = ws.stats("embeddings/wide", max_elements=3)
    assert stats.mean == pytest.approx(full.mean()) and stats.std == pytest.approx(full.std())
    dt = open_workspace(DATA / "dtypes" / "model.ckpt")
    empty = dt.stats("empty_float64_0x2x3")
    assert empty.count == 0 and empty.mean is None and empty.histogram == ()
    with pytest.raises(CoreError, match="not numeric"):
        dt.stats("t_string")
    assert dt.stats("t_bool", bins=0).max == 1.0


def test_stats_cancel(tmp_path: Path) -> None:
    prefix = write_checkpoint(tmp_path / "c", {"x": np.ones(100, np.float32)})
    value = TensorValue(load_checkpoint(prefix), "x")
    calls = []

    def cancelled() -> bool:
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(OperationCancelled):
        compute_stats(value, max_elements=10, cancelled=cancelled)


def test_stats_verify_checksum(tmp_path: Path) -> None:
    prefix = write_checkpoint(tmp_path / "bad", {"x": np.arange(64, dtype=np.float32)})
    data = Path(prefix + ".data-00000-of-00001")
    raw = bytearray(data.read_bytes())
    raw[10] ^= 0xFF
    data.write_bytes(bytes(raw))
    value = TensorValue(load_checkpoint(prefix), "x")
    value.read(((0, 4),))  # windows do not verify (they would read the whole tensor)
    with pytest.raises(GraphtuiError, match="checksum"):
        compute_stats(value)


# -- diff -----------------------------------------------------------------------------------------


def test_diff_of_history_sorted_by_change() -> None:
    ws = open_workspace(TRAIN)
    hist = scan_history(TRAIN)
    a, b = hist.records[0].prefix, hist.records[-1].prefix
    rows = ws.diff(a, b, max_elements=7)
    ra, rb = load_checkpoint(a), load_checkpoint(b)
    assert {r.name for r in rows} == set(ra.names())
    changed = [r for r in rows if r.status == "changed"]
    rel = [r.rel_l2 for r in changed]
    assert rel == sorted(rel, reverse=True)  # type: ignore[type-var]
    for row in rows:
        xa = ra.get_tensor(row.name).astype(np.float64)
        xb = rb.get_tensor(row.name).astype(np.float64)
        assert row.max_abs == pytest.approx(np.abs(xb - xa).max())
        assert row.rel_l2 == pytest.approx(np.linalg.norm(xb - xa) / np.linalg.norm(xa))
    step = next(r for r in rows if r.name == "global_step")
    assert step.max_abs == 20.0
    assert all(r.status == "same" for r in ws.diff(a, a))


def test_diff_reports_missing_and_mismatched(tmp_path: Path) -> None:
    a = write_checkpoint(
        tmp_path / "a", {"w": np.ones((2, 3), np.float32), "gone": np.ones(2), "z": np.zeros(2)}
    )
    b = write_checkpoint(
        tmp_path / "b", {"w": np.ones((3, 2), np.float32), "new": np.ones(2), "z": np.ones(2)}
    )
    ws = Workspace(str(tmp_path))
    rows = {r.name: r for r in ws.diff(a, b)}
    assert rows["w"].status == "mismatch" and rows["w"].detail == "shape [2, 3] -> [3, 2]"
    assert rows["gone"].status == "only-a" and rows["new"].status == "only-b"
    assert (
        rows["z"].status == "changed" and rows["z"].rel_l2 == math.inf and rows["z"].max_abs == 1.0
    )
    assert [r.status for r in ws.diff(a, b)][0] == "mismatch"


# -- export ---------------------------------------------------------------------------------------


def test_export_npy_roundtrip_and_widening(tmp_path: Path) -> None:
    ws = open_workspace(DATA / "dtypes" / "model.ckpt")
    reader = ws.active
    assert reader is not None
    for name in (
        "t_float32",
        "t_bfloat16",
        "t_int4",
        "t_string",
        "t_string_2d",
        "empty_string",
        "empty_int32_3x0",
        "scalar_int64",
    ):
        out = ws.export_npy(name, tmp_path / f"{name}.npy")
        got = np.load(out, allow_pickle=name == "t_string_2d")  # it has a b"\0\0" element
        want = reader.get_tensor(name)
        assert got.shape == want.shape
        if want.dtype == object:
            assert got.tolist() == want.tolist()
        else:
            np.testing.assert_array_equal(got, want.astype(got.dtype))
    assert np.load(tmp_path / "t_bfloat16.npy").dtype == np.float32
    assert np.load(tmp_path / "t_int4.npy").dtype == np.int8
    assert np.load(tmp_path / "t_string.npy").dtype.kind == "S"
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_export_partitioned(tmp_path: Path) -> None:
    ws = open_workspace(DATA / "partitioned")
    out = ws.export_npy("embeddings/table", tmp_path / "t.npy")
    np.testing.assert_array_equal(np.load(out), ws.active.get_tensor("embeddings/table"))  # type: ignore[union-attr]


def test_a_join_overtaken_by_an_activation_is_not_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app joins in a worker thread: a join that started before another checkpoint became
    active returns to its caller but is not kept as the new checkpoint's."""
    import threading

    from graphtui.core import workspace

    ws = open_workspace(str(TRAIN / "model.ckpt-50.meta"))
    other = write_checkpoint(tmp_path / "only_step", {"global_step": np.array(7, np.int64)})
    started, release = threading.Event(), threading.Event()
    join = workspace.join_variables

    def held(*args: object, **kwargs: object) -> object:
        rows = join(*args, **kwargs)  # type: ignore[arg-type]
        started.set()
        assert release.wait(10)
        return rows

    monkeypatch.setattr(workspace, "join_variables", held)
    got: list[list[object]] = []
    worker = threading.Thread(target=lambda: got.append(ws.variables()))  # type: ignore[arg-type]
    worker.start()
    assert started.wait(10)
    ws.set_active(other)
    release.set()
    worker.join()
    monkeypatch.setattr(workspace, "join_variables", join)
    assert not ws.variables_joined
    statuses = {r.name: r.status for r in ws.variables()}
    assert statuses["global_step"] == "ok"
    assert statuses["model/layer_1/dense/kernel"] == "graph-only"
    assert "graph-only" not in {r.status for r in got[0]}  # type: ignore[attr-defined]
