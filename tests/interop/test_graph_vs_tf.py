"""Our graph model against the graph TensorFlow builds from the same .meta files.

Each fixture meta graph is imported into a fresh ``tf.Graph`` with ``import_meta_graph``; then
every op's inputs, control inputs, consumers, device, colocation and attrs, the variable
collections and the checkpoint names TensorFlow's saver would use are compared with ours.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from graphtui.core.graph import GraphIndex, TensorStub
from graphtui.core.variables import VariableTable, saver_info

pytestmark = pytest.mark.interop
tf = pytest.importorskip("tensorflow")

ROOT = Path(__file__).resolve().parents[2]
FACTS_FILE = ROOT / "tests" / "fixtures" / "facts.json"


def _meta_paths() -> list[Path]:
    if not FACTS_FILE.exists():
        return []
    facts = json.loads(FACTS_FILE.read_text())
    gen = facts["generator"]
    paths = [ROOT / gen["data_root"] / rel for rel in facts["metas"]]
    paths += [ROOT / gen["demo_root"] / rel for rel in facts.get("demo", {}).get("metas", {})]
    return paths


class Imported:
    """A meta graph imported by TensorFlow, with our index of the same file."""

    def __init__(self, path: Path) -> None:
        tf1 = tf.compat.v1
        self.path = path
        self.index = GraphIndex.from_file(path)
        self.graph = tf.Graph()
        with self.graph.as_default():
            self.saver = tf1.train.import_meta_graph(str(path))
            self.collections = {
                "variables": [v.name for v in tf1.global_variables()],
                "trainable_variables": [v.name for v in tf1.trainable_variables()],
                "local_variables": [v.name for v in tf1.local_variables()],
                "moving_average_variables": [v.name for v in tf1.moving_average_variables()],
                "model_variables": [v.name for v in tf1.model_variables()],
            }
            self.shapes = {v.op.name: (v.shape.as_list(), v.dtype.base_dtype.name)
                           for v in tf1.global_variables() + tf1.local_variables()}
            from tensorflow.python.training.saving import saveable_object_util

            self.checkpoint_names: dict[str, str] = {}  # variable node -> TF's checkpoint name
            for var in tf1.global_variables():
                (key,) = saveable_object_util.op_list_to_dict([var])
                self.checkpoint_names[var.name.rpartition(":")[0]] = key


_CACHE: dict[Path, Imported] = {}


@pytest.fixture(params=_meta_paths(), ids=lambda p: p.relative_to(ROOT).as_posix())
def imported(request: pytest.FixtureRequest) -> Imported:
    path: Path = request.param
    if path not in _CACHE:
        _CACHE[path] = Imported(path)
    return _CACHE[path]


def test_same_ops_inputs_and_devices(imported: Imported) -> None:
    index, graph = imported.index, imported.graph
    ops = graph.get_operations()
    assert sorted(op.name for op in ops) == sorted(index.names)
    for op in ops:
        refs = index.inputs(op.name)
        data = [(r.node, r.port) for r in refs if not r.control]
        control = [r.node for r in refs if r.control]
        assert data == [(t.op.name, t.value_index) for t in op.inputs], op.name
        assert sorted(control) == sorted(c.name for c in op.control_inputs), op.name
        assert index.op(op.name) == op.type
        assert index.placed_device(op.name) == op.device, op.name


def test_same_consumers(imported: Imported) -> None:
    index = imported.index
    for op in imported.graph.get_operations():
        ours = index.consumers(op.name)
        for out in op.outputs:
            theirs = sorted(c.name for c in out.consumers())
            mine = sorted(c.node for c in ours if not c.control and c.port == out.value_index)
            assert mine == theirs, f"{op.name}:{out.value_index}"
        mine_ctl = sorted(c.node for c in ours if c.control)
        assert mine_ctl == sorted(c.name for c in op._control_outputs), op.name


def test_same_colocation(imported: Imported) -> None:
    index = imported.index
    for op in imported.graph.get_operations():
        theirs = sorted(g.decode()[len("loc:@"):] for g in op.colocation_groups())
        assert sorted(index.colocation(op.name) or [op.name]) == theirs, op.name


def _tf_attr(value: Any) -> Any:
    """TF's get_attr value in the shape our decode_attr returns."""
    if isinstance(value, list):
        return [_tf_attr(v) for v in value]
    if isinstance(value, tf.dtypes.DType):
        return value.name
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value
    desc = getattr(value, "DESCRIPTOR", None)
    if desc is not None and desc.full_name == "tensorflow.TensorShapeProto":
        return None if value.unknown_rank else [d.size for d in value.dim]
    if desc is not None and desc.full_name == "tensorflow.TensorProto":
        return tf.make_ndarray(value)
    if desc is not None and desc.full_name == "tensorflow.NameAttrList":
        return value.name
    return value


def test_same_attrs(imported: Imported) -> None:
    index = imported.index
    checked = 0
    for op in imported.graph.get_operations():
        ours = index.attrs(op.name)
        theirs_keys = set(op.node_def.attr)
        # the importer drops _output_shapes; everything else must be the same
        assert set(ours) - theirs_keys <= {"_output_shapes"}, op.name
        assert theirs_keys <= set(ours), op.name
        for key, mine in ours.items():
            if key not in theirs_keys:
                continue
            theirs = _tf_attr(op.get_attr(key))
            if isinstance(mine, TensorStub):
                assert list(theirs.shape) == mine.shape
            elif isinstance(mine, np.ndarray):
                np.testing.assert_array_equal(mine, theirs, err_msg=f"{op.name}.{key}")
                assert mine.dtype == theirs.dtype or mine.dtype == object
            elif isinstance(mine, float):
                assert mine == pytest.approx(theirs), f"{op.name}.{key}"
            else:
                assert mine == theirs, f"{op.name}.{key}"
            checked += 1
    assert checked > 0


def test_same_variables(imported: Imported) -> None:
    table = VariableTable.of(imported.index)
    for key, names in imported.collections.items():
        assert [n + ":0" for n in table.in_collection(key)] == names, key
    for name, (shape, dtype) in imported.shapes.items():
        var = table.get(name)
        assert (var.shape, var.dtype) == (shape, dtype), name


def test_same_checkpoint_names(imported: Imported) -> None:
    table = VariableTable.of(imported.index)
    for node, key in imported.checkpoint_names.items():
        var = table.get(node)
        assert var.checkpoint_key == key, node
    saver = saver_info(imported.index)
    if imported.saver is None:
        return
    sd = imported.saver.saver_def
    assert saver is not None
    assert (saver.filename_tensor, saver.save_tensor, saver.restore_op) == (
        sd.filename_tensor_name, sd.save_tensor_name, sd.restore_op_name)
    assert saver.max_to_keep == sd.max_to_keep and saver.sharded == sd.sharded
    assert set(saver.keys) == set(imported.checkpoint_names.values())


def test_attr_dtype_names_are_tf_as_dtype_names() -> None:
    """A ``type`` attr (and a ``list(type)`` one) is shown by the name ``tf.as_dtype`` gives
    its enum, ``_REF`` types included (``float32_ref``); enums TF does not know are refused by
    ``tf.as_dtype`` and shown in TF's ``DataTypeString`` words, ``unknown dtype enum (N)``
    (graphtui showed ``DataType(N)``, a name TF never prints)."""
    from graphtui._proto import pb
    from graphtui.core.graph import decode_attr

    for enum in [*range(1, 40), *range(101, 140)]:
        try:
            want: str | None = tf.as_dtype(enum).name
        except TypeError:
            want = None
        attr = pb.AttrValue(type=enum)
        assert decode_attr(attr) == (want or f"unknown dtype enum ({enum})"), enum
        listed = pb.AttrValue()
        listed.list.type.extend([enum, 1])
        assert decode_attr(listed) == [want or f"unknown dtype enum ({enum})", "float32"], enum
