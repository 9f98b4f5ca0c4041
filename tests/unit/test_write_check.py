"""The one post-write check (graphtui/core/write_check.py) and the V1 -> V2 saver rewrite,
without TensorFlow: a write that TF could not use, or whose values differ from what was meant,
is removed and reported, never called verified."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from graphtui.core.checkpoint import CheckpointReader
from graphtui.core.export import export
from graphtui.core.metagraph import read_meta_graph
from graphtui.core.output import write_checkpoint
from graphtui.core.saver_upgrade import needs_upgrade, upgrade_saver
from graphtui.core.write_check import Expected, check_saver, values_equal
from graphtui.errors import FormatError

DATA = Path(__file__).resolve().parents[1] / "fixtures" / "data"
V1 = DATA / "v1" / "model.ckpt-2"
TRAIN = DATA / "train" / "model.ckpt-50"


def test_values_equal_refuses_nested_and_text_strings() -> None:
    """Issue 11.1's wrong value: a 0-d array inside an object array is not the bytes it holds."""
    good = np.array(b"hello", dtype=object)
    assert values_equal(good, np.array(b"hello", dtype=object))
    nested = np.empty((), dtype=object)
    nested[()] = np.array(b"hello", dtype=object)
    assert not values_equal(good, nested)
    assert not values_equal(good, np.array(b"b'hello'", dtype=object))
    assert not values_equal(np.float32(1.0), np.array([1.0], np.float32))  # [] is not [1]


def test_a_value_other_than_meant_is_removed_not_verified(tmp_path: Path) -> None:
    def fill(writer: Any) -> dict[str, Expected]:
        writer.add("x", np.float32(1.0))
        return {"x": Expected("float32", (), lambda: np.float32(2.0))}

    with pytest.raises(FormatError, match="other values than were meant"):
        write_checkpoint(str(tmp_path / "out" / "m"), fill=fill)
    assert not (tmp_path / "out").exists()


def test_a_shape_other_than_meant_is_removed(tmp_path: Path) -> None:
    def fill(writer: Any) -> dict[str, Expected]:
        writer.add("x", np.array([1.0], np.float32))
        return {"x": Expected("float32", ())}

    with pytest.raises(FormatError, match=r"float32\[1\], meant float32\[\]"):
        write_checkpoint(str(tmp_path / "m"), fill=fill)
    assert list(tmp_path.iterdir()) == []


def test_check_saver_names_a_v1_saver_beside_a_v2_checkpoint(tmp_path: Path) -> None:
    """What TF would hit: SaverDef V1 and SaveSlices beside the V2 bundle graphtui writes."""
    dst = tmp_path / "out"
    export(str(V1), str(dst))
    v1_graph = read_meta_graph(str(V1) + ".meta")
    with CheckpointReader(str(dst)) as reader:
        problems = check_saver(v1_graph, reader)
        assert any("SaverDef says V1" in p for p in problems)
        assert any("SaveSlices" in p for p in problems)
        assert check_saver(read_meta_graph(f"{dst}.meta"), reader) == []


def test_check_saver_names_a_missing_key_and_a_wrong_shape(tmp_path: Path) -> None:
    graph = read_meta_graph(str(TRAIN) + ".meta")
    with CheckpointReader(str(TRAIN)) as src:
        names = [n for n in src.names() if n != "global_step"]
        values = {n: src.get_tensor(n) for n in names}
        step = src.get_tensor("global_step")

    def fill(writer: Any) -> None:
        for name, value in values.items():
            writer.add(name, value)
        writer.add("global_step", np.reshape(step, [1]))  # the [1] of issue 18.1

    write_checkpoint(str(tmp_path / "bad"), fill=fill)  # no graph: nothing to check against
    with CheckpointReader(str(tmp_path / "bad")) as reader:
        problems = check_saver(graph, reader)
    assert any("global_step" in p and "shape []" in p and "restores [1]" in p for p in problems)


def test_upgrade_is_idempotent_and_keeps_saver_def_names() -> None:
    graph = read_meta_graph(str(V1) + ".meta")
    assert needs_upgrade(graph)
    before = (
        graph.saver_def.filename_tensor_name,
        graph.saver_def.save_tensor_name,
        graph.saver_def.restore_op_name,
    )
    notes = upgrade_saver(graph)
    assert any("SaveSlices -> SaveV2" in n for n in notes)
    assert not needs_upgrade(graph)
    assert upgrade_saver(graph) == []
    after = (
        graph.saver_def.filename_tensor_name,
        graph.saver_def.save_tensor_name,
        graph.saver_def.restore_op_name,
    )
    assert before == after
    names = {n.name for n in graph.graph_def.node}
    assert all(n.split(":")[0] in names for n in before)


def test_check_checkpoint_names_missing_extra_and_retyped_tensors(tmp_path: Path) -> None:
    """The keys, dtypes and shapes come from the index decoded in bulk: each kind of
    difference is still named."""
    from graphtui.core.write_check import check_checkpoint, stored_tensors

    def fill(writer: Any) -> None:
        writer.add("kept", np.zeros([2, 3], np.float32))
        writer.add("extra", np.float32(1.0))
        writer.add("retyped", np.int32(1))

    write_checkpoint(str(tmp_path / "m"), fill=fill)
    want = {
        "kept": Expected("float32", (2, 3)),
        "retyped": Expected("float32", ()),
        "lost": Expected("float32", ()),
    }
    with CheckpointReader(str(tmp_path / "m")) as reader:
        problems = check_checkpoint(reader, want)
        stored = stored_tensors(reader)
        assert stored == {
            n: (i.dtype.name, tuple(i.shape))
            for n in reader.names()
            for i in [reader.tensor_info(n)]
        }
    assert problems == [
        "tensor 'lost' was not written",
        "tensor 'extra' was written but not meant to be",
        "tensor 'retyped' is int32[], meant float32[]",
    ]


def test_check_saver_names_a_missing_key_and_a_wrong_dtype(tmp_path: Path) -> None:
    graph = read_meta_graph(str(TRAIN) + ".meta")
    with CheckpointReader(str(TRAIN)) as src:
        values = {n: src.get_tensor(n) for n in src.names()}
    dropped = next(n for n in values if n != "global_step")

    def fill(writer: Any) -> None:
        for name, value in values.items():
            if name == "global_step":
                writer.add(name, np.asarray(value, np.int32))  # the graph says int64
            elif name != dropped:
                writer.add(name, value)

    write_checkpoint(str(tmp_path / "bad"), fill=fill)
    with CheckpointReader(str(tmp_path / "bad")) as reader:
        problems = check_saver(graph, reader)
    assert any(f"restores {dropped!r}, which the checkpoint does not have" in p for p in problems)
    assert any("restores 'global_step' as int64, the checkpoint has int32" in p for p in problems)
    assert any(
        "variable global_step is int64, 'global_step' in the checkpoint is int32" in p
        for p in problems
    )
