"""Other people's graphs as the judge of dtypes and shapes: every meta graph of
``../shared/realworld`` (``.meta`` files and each SavedModel's meta graphs), imported by live
TensorFlow (``import_meta_graph``), and graphtui's answers without TF for the same file:

* every node's output dtypes (the details pane: ``float32_ref`` for a ref variable, as
  ``op.outputs[i].dtype``), for every node TF imports;
* every output shape graphtui shows (from ``_output_shapes``) agrees with TF's: same rank,
  the same size wherever both know it (TF may know more: it re-infers shapes on import);
* every global variable's dtype (base type) and shape, as ``tf.compat.v1.global_variables()``
  gives them (the old ``Variable`` op's ``shape {}`` is unknown to TF, not a scalar).

Checkpoint tensors' dtypes and shapes are compared in ``test_realworld.py``. The folder is
read-only and never copied; the tests skip when it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from graphtui.core.graph import GraphIndex
from graphtui.core.metagraph import read_meta_graph
from graphtui.core.outputs import outputs
from graphtui.core.savedmodel import open_saved_model
from graphtui.core.variables import VariableTable

pytestmark = pytest.mark.interop
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REALWORLD = Path(__file__).resolve().parents[2].parent / "shared" / "realworld"
SETS = sorted(p.name for p in REALWORLD.iterdir() if p.is_dir()) if REALWORLD.is_dir() else []


@pytest.fixture(scope="module")
def tf() -> Any:
    return pytest.importorskip("tensorflow")


def _graphs(name: str) -> list[tuple[str, Any, GraphIndex]]:
    """(label, MetaGraphDef, graphtui's index of it) for every meta graph of set ``name``."""
    out = []
    for path in sorted(p for p in (REALWORLD / name).rglob("*") if p.is_file()):
        if path.suffix == ".meta" or "meta_graph" in path.name:
            out.append((str(path), read_meta_graph(path), GraphIndex.from_file(path)))
        elif path.name in ("saved_model.pb", "saved_model.pbtxt"):
            for info in open_saved_model(path.parent).meta_graphs:
                out.append((f"{path}[{info.tag_set}]", info.meta_graph, info.graph))
    return out


def _tf_view(tf: Any, meta_graph: Any, tmp_path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Each op's output tensors and each global variable's (dtype, shape), as TF imports the
    meta graph. TF's importer parses ``tensorflow_version``; one it cannot parse (``0.12.head``)
    is cleared in the copy given to it (no node, attr or collection changes)."""
    tf1 = tf.compat.v1
    copy = type(meta_graph)()
    copy.CopyFrom(meta_graph)
    if copy.meta_info_def.tensorflow_version.endswith(".head"):
        copy.meta_info_def.ClearField("tensorflow_version")
    path = tmp_path / "copy.meta"
    path.write_bytes(copy.SerializeToString())
    graph = tf.Graph()
    with graph.as_default():
        tf1.train.import_meta_graph(str(path), clear_devices=True)
        ops = {op.name: list(op.outputs) for op in graph.get_operations()}
        variables = {
            v.op.name: (
                v.dtype.base_dtype.name,
                v.shape.as_list() if v.shape.rank is not None else None,
            )
            for v in tf1.global_variables()
        }
    return ops, variables


@pytest.mark.parametrize("name", SETS or ["(absent)"])
def test_dtypes_and_shapes_as_tf_imports_them(tf: Any, name: str, tmp_path: Path) -> None:
    if not SETS:
        pytest.skip(f"{REALWORLD} is absent")
    graphs = _graphs(name)
    if not graphs:
        pytest.skip("no meta graph in this set")
    judged = 0
    for label, meta_graph, index in graphs:
        try:
            ops, variables = _tf_view(tf, meta_graph, tmp_path)
        except (tf.errors.NotFoundError, ValueError, TypeError) as exc:
            # TF cannot import it (an op this TF lacks: TRTEngineOp, BucketizeWithInputBoundaries)
            assert "not registered" in str(exc) or "Op type" in str(exc), (label, exc)
            continue
        judged += 1
        for op_name, tensors in ops.items():
            ours = outputs(index, op_name)
            assert [o.dtype for o in ours] == [t.dtype.name for t in tensors], (label, op_name)
            for mine, theirs in zip(ours, tensors, strict=True):
                if mine.shape is None:
                    continue  # graphtui shows no shape: nothing claimed
                assert theirs.shape.rank == len(mine.shape), (label, op_name)
                for a, b in zip(mine.shape, theirs.shape.as_list(), strict=True):
                    assert a == -1 or b is None or a == b, (label, op_name, mine.shape)
        table = VariableTable.of(index)
        for var_name, (dtype, shape) in variables.items():
            var = table.get(var_name)
            assert var is not None, (label, var_name)
            assert (var.dtype, var.shape) == (dtype, shape), (label, var_name)
    if not judged:
        pytest.skip("TF imports none of this set's meta graphs")


def _tf_function_outputs(tf: Any, meta_graph: Any) -> dict[str, dict[str, list[str]]]:
    """Each library function's body as TF builds it (``function_def_to_graph``: an argument
    becomes a Placeholder of its name): op -> output dtype names, per function."""
    from tensorflow.core.framework import graph_pb2
    from tensorflow.python.framework.function_def_to_graph import function_def_to_graph

    out = {}
    graph_def = graph_pb2.GraphDef.FromString(meta_graph.graph_def.SerializeToString())
    with tf.Graph().as_default():  # the library registered, for bodies that call functions
        tf.graph_util.import_graph_def(graph_def, name="")
        for fdef in graph_def.library.function:
            theirs = function_def_to_graph(fdef)
            out[fdef.signature.name] = {
                op.name: [t.dtype.name for t in op.outputs] for op in theirs.get_operations()
            }
    return out


def function_outputs_as_tf_builds_them(tf: Any, meta_graph: Any, index: GraphIndex) -> int:
    """Every node of every function body: graphtui's output dtypes are TF's where the file
    describes the op (its op list or library, with the OpDef's default attrs), else unknown
    (None: nothing guessed). Returns how many nodes had their dtypes shown."""
    from graphtui.core.outputs import _op_defs

    shown = 0
    for fname, ops in _tf_function_outputs(tf, meta_graph).items():
        body = index.function_graph(fname)
        described = _op_defs(body)
        for op_name, want in ops.items():
            got = [o.dtype for o in outputs(body, op_name)]
            if body.op(op_name) in described:
                assert got == want, (fname, op_name)
                shown += 1
            else:
                assert all(d is None for d in got), (fname, op_name)
    return shown


@pytest.mark.parametrize("name", SETS or ["(absent)"])
def test_function_bodies_as_tf_builds_them(tf: Any, name: str) -> None:
    """The Functions tab's node details over every SavedModel of ``../shared/realworld``:
    each function body's node outputs judged by TF's ``function_def_to_graph``. graphtui knew
    no op inside a function (its body had no op list: every dtype ``?``), dropped default
    attrs (Shape's ``out_type``: stripped on save) and showed no output for an argument."""
    if not SETS:
        pytest.skip(f"{REALWORLD} is absent")
    graphs = [g for g in _graphs(name) if g[1].graph_def.library.function]
    if not graphs:
        pytest.skip("no function library in this set")
    for label, meta_graph, index in graphs:
        try:
            shown = function_outputs_as_tf_builds_them(tf, meta_graph, index)
        except (tf.errors.NotFoundError, ValueError) as exc:
            assert "not registered" in str(exc), (label, exc)
            continue
        assert shown > 0, label
