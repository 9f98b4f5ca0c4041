"""restore's plan reads the checkpoint's dtypes, shapes and partitioning from its index decoded
in bulk (no entry decoded one by one): a dtype or shape that does not match is still refused
with TensorFlow's words, ``--reshape`` still accepts an equal element count, whole tensors are
copied as stored bytes and partitioned ones never are."""

from __future__ import annotations

from typing import Any

import pytest

from graphtui.core.checkpoint import CheckpointReader
from graphtui.core.metagraph import read_meta_graph
from graphtui.core.restore import RestorePlan, plan_restore
from graphtui.errors import ConflictError
from tests.fixtures.shared import DATA

RESTORE = DATA / "restore"
SRC = str(RESTORE / "src" / "model.ckpt")
VAR1 = "new_scope/old_scope/var1"  # [2, 3] float32, from old_scope/var1


def _graph() -> Any:
    return read_meta_graph(RESTORE / "target_c_root.meta")


def _node(graph: Any, name: str) -> Any:
    return next(n for n in graph.graph_def.node if n.name == name)


def _plan(graph: Any, **kw: Any) -> RestorePlan:
    with CheckpointReader(SRC) as reader:
        return plan_restore(graph, reader, {"/": "new_scope/"}, **kw)


def test_whole_tensors_are_copied_partitions_are_not() -> None:
    plan = _plan(_graph())
    assert plan.copies == {
        "new_scope/old_scope/inner/var3": "old_scope/inner/var3",
        VAR1: "old_scope/var1",
        "new_scope/old_scope/var2": "old_scope/var2",
        "new_scope/other/keep": "other/keep",
    }
    assert [ext for ext, _ in plan.values["new_scope/old_scope/part"]] == [
        ((2 * i, 2), (0, 2)) for i in range(5)
    ]


def test_a_dtype_mismatch_is_refused() -> None:
    graph = _graph()
    _node(graph, VAR1).attr["dtype"].type = 2  # float64
    with pytest.raises(ConflictError) as info:
        _plan(graph)
    assert info.value.conflicts == [
        f"{VAR1}: graph dtype float64, checkpoint old_scope/var1 is float32"
    ]


def test_a_shape_mismatch_is_refused_unless_reshape_allows_it() -> None:
    graph = _graph()
    dims = _node(graph, VAR1).attr["shape"].shape.dim
    dims[0].size, dims[1].size = 3, 2
    with pytest.raises(ConflictError) as info:
        _plan(graph)
    assert info.value.conflicts == [
        f"Shape of variable {VAR1} ([3, 2]) doesn't match with shape of tensor old_scope/var1 "
        "([2, 3]) from checkpoint reader."
    ]
    plan = _plan(graph, reshape=True)
    assert plan.report.reshaped == [f"{VAR1}: [2, 3] -> [3, 2]"]
    assert plan.copies[VAR1] == "old_scope/var1"
    assert plan.shapes[VAR1] == [3, 2]
