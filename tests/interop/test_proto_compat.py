"""Our protos against the installed TensorFlow: descriptors field by field, real meta graphs.

Any difference in a name, number, type, label, map-ness, oneof, packing or presence would make
our bytes or text format differ from TensorFlow's, so each one fails here. Then meta graphs
exported by TensorFlow must round-trip through graphtui byte for byte, and graphtui's exports
must load in TensorFlow.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool, text_format

from graphtui._proto import FILES, POOL, unpack_any
from graphtui.core.metagraph import export_meta_graph, read_meta_graph
from graphtui.formats.metagraph_io import parse_meta_graph, serialize_meta_graph

pytestmark = pytest.mark.interop
tf = pytest.importorskip("tensorflow")

# our file -> the TensorFlow module generated from the file with the same content
TF_MODULES = {
    "types": "tensorflow.core.framework.types_pb2",
    "tensor_shape": "tensorflow.core.framework.tensor_shape_pb2",
    "resource_handle": "tensorflow.core.framework.resource_handle_pb2",
    "tensor": "tensorflow.core.framework.tensor_pb2",
    "attr_value": "tensorflow.core.framework.attr_value_pb2",
    "node_def": "tensorflow.core.framework.node_def_pb2",
    "full_type": "tensorflow.core.framework.full_type_pb2",
    "op_def": "tensorflow.core.framework.op_def_pb2",
    "function": "tensorflow.core.framework.function_pb2",
    "graph": "tensorflow.core.framework.graph_pb2",
    "graph_debug_info": "tensorflow.core.framework.graph_debug_info_pb2",
    "versions": "tensorflow.core.framework.versions_pb2",
    "variable": "tensorflow.core.framework.variable_pb2",
    "saver": "tensorflow.core.protobuf.saver_pb2",
    "meta_graph": "tensorflow.core.protobuf.meta_graph_pb2",
    "struct": "tensorflow.core.protobuf.struct_pb2",
    "saved_object_graph": "tensorflow.core.protobuf.saved_object_graph_pb2",
    "trackable_object_graph": "tensorflow.core.protobuf.trackable_object_graph_pb2",
    "saved_model": "tensorflow.core.protobuf.saved_model_pb2",
    "checkpoint_state": "tensorflow.python.training.checkpoint_state_pb2",
    "tensor_bundle": "tensorflow.core.protobuf.tensor_bundle_pb2",
    "tensor_slice": "tensorflow.core.framework.tensor_slice_pb2",
    "saved_tensor_slice": "tensorflow.core.util.saved_tensor_slice_pb2",
    "control_flow": "tensorflow.core.protobuf.control_flow_pb2",
    "queue_runner": "tensorflow.core.protobuf.queue_runner_pb2",
    "error_codes": "tensorflow.compiler.xla.tsl.protobuf.error_codes_pb2",
}

OUR_FILES = sorted(f.name for f in FILES if f.name.startswith("graphtui_tf/"))


def _stem(file_name: str) -> str:
    return file_name.rsplit("/", 1)[1].removesuffix(".proto")


def _tf_file(stem: str) -> Any:
    return importlib.import_module(TF_MODULES[stem]).DESCRIPTOR


def _label(field: Any) -> str:
    if field.is_repeated:
        return "repeated"
    return "required" if field.is_required else "optional"


def _field_facts(field: Any) -> dict[str, Any]:
    """Everything about a field that shapes its bytes or its text form."""
    message_type = field.message_type
    oneof = field.containing_oneof
    return {
        "number": field.number,
        "type": field.type,
        "label": _label(field),
        "type_name": message_type.full_name
        if message_type
        else field.enum_type.full_name
        if field.enum_type
        else "",
        "map": bool(message_type and message_type.GetOptions().map_entry),
        "oneof": oneof.name if oneof is not None else None,
        "packed": field.is_packed,
        "presence": field.has_presence,
        "default": field.default_value if not field.is_repeated else None,
    }


def _reserved(desc: Any) -> tuple[list[tuple[int, int]], list[str]]:
    proto = descriptor_pb2.DescriptorProto()
    desc.CopyToProto(proto)
    return sorted((r.start, r.end) for r in proto.reserved_range), sorted(proto.reserved_name)


def _compare_enum(ours: Any, theirs: Any, problems: list[str]) -> None:
    our_values = {v.name: v.number for v in ours.values}
    tf_values = {v.name: v.number for v in theirs.values}
    if our_values != tf_values:
        missing = sorted(set(tf_values.items()) - set(our_values.items()))
        extra = sorted(set(our_values.items()) - set(tf_values.items()))
        problems.append(f"enum {theirs.full_name}: missing {missing}, extra {extra}")


def _compare_message(ours: Any, theirs: Any, problems: list[str]) -> None:
    name = theirs.full_name
    our_fields = {f.name: _field_facts(f) for f in ours.fields}
    tf_fields = {f.name: _field_facts(f) for f in theirs.fields}
    for field_name in sorted(set(our_fields) | set(tf_fields)):
        mine, real = our_fields.get(field_name), tf_fields.get(field_name)
        if mine != real:
            problems.append(f"{name}.{field_name}: ours {mine} != TensorFlow {real}")
    if [o.name for o in ours.oneofs] != [o.name for o in theirs.oneofs]:
        problems.append(f"{name}: oneofs differ")
    if _reserved(ours) != _reserved(theirs):
        problems.append(f"{name}: reserved {_reserved(ours)} != {_reserved(theirs)}")
    if set(ours.enum_types_by_name) != set(theirs.enum_types_by_name):
        problems.append(f"{name}: nested enums differ")
    for enum_name, tf_enum in theirs.enum_types_by_name.items():
        if enum_name in ours.enum_types_by_name:
            _compare_enum(ours.enum_types_by_name[enum_name], tf_enum, problems)
    if set(ours.nested_types_by_name) != set(theirs.nested_types_by_name):
        problems.append(
            f"{name}: nested types {sorted(ours.nested_types_by_name)}"
            f" != {sorted(theirs.nested_types_by_name)}"
        )
    for nested_name, tf_nested in theirs.nested_types_by_name.items():
        if nested_name in ours.nested_types_by_name:
            _compare_message(ours.nested_types_by_name[nested_name], tf_nested, problems)


def test_every_file_has_a_tensorflow_counterpart() -> None:
    assert sorted(_stem(name) for name in OUR_FILES) == sorted(TF_MODULES)


@pytest.mark.parametrize("file_name", OUR_FILES, ids=_stem)
def test_file_matches_tensorflow(file_name: str) -> None:
    ours = POOL.FindFileByName(file_name)
    theirs = _tf_file(_stem(file_name))
    assert ours.package == theirs.package and ours.package.split(".")[0] == "tensorflow"
    problems: list[str] = []
    if set(ours.message_types_by_name) != set(theirs.message_types_by_name):
        problems.append(
            f"messages {sorted(ours.message_types_by_name)}"
            f" != {sorted(theirs.message_types_by_name)}"
        )
    if set(ours.enum_types_by_name) != set(theirs.enum_types_by_name):
        problems.append(
            f"enums {sorted(ours.enum_types_by_name)} != {sorted(theirs.enum_types_by_name)}"
        )
    for name, tf_message in theirs.message_types_by_name.items():
        if name in ours.message_types_by_name:
            _compare_message(ours.message_types_by_name[name], tf_message, problems)
    for name, tf_enum in theirs.enum_types_by_name.items():
        if name in ours.enum_types_by_name:
            _compare_enum(ours.enum_types_by_name[name], tf_enum, problems)
    assert not problems, "\n".join(problems)


def test_imports_match_tensorflow() -> None:
    """Same dependency graph, modulo our file names (keeps the set self-contained)."""
    for file_name in OUR_FILES:
        ours = POOL.FindFileByName(file_name)
        theirs = _tf_file(_stem(file_name))
        our_deps = sorted(
            _stem(d.name) if d.name.startswith("graphtui_tf/") else d.name
            for d in ours.dependencies
        )
        tf_deps = sorted(
            d.name if d.name.startswith("google/") else _stem(d.name) for d in theirs.dependencies
        )
        assert our_deps == tf_deps, file_name


def test_comparison_catches_a_difference() -> None:
    """The checker itself must notice a changed field (guards against a vacuous test)."""
    fake = descriptor_pb2.FileDescriptorProto()
    POOL.FindFileByName("graphtui_tf/versions.proto").CopyToProto(fake)
    fake.name = "fake/versions.proto"
    fake.message_type[0].field[0].number = 7  # producer = 7 instead of 1
    pool = descriptor_pool.DescriptorPool()
    altered = pool.Add(fake)
    if altered is None:  # older runtimes return nothing from Add
        altered = pool.FindFileByName(fake.name)
    problems: list[str] = []
    tf_version_def = _tf_file("versions").message_types_by_name["VersionDef"]
    _compare_message(altered.message_types_by_name["VersionDef"], tf_version_def, problems)
    assert problems and "producer" in problems[0]


# --- real meta graphs -------------------------------------------------------------------


@pytest.fixture(scope="module")
def tf_exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A small TF1-style graph exported by TensorFlow itself, binary and text."""
    from tensorflow.core.framework import variable_pb2

    out = tmp_path_factory.mktemp("tf_meta")
    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        with tf.device("/device:CPU:0"):
            x = v1.placeholder(tf.float32, [None, 3], name="x")
            w = v1.get_variable("dense/w", [3, 2], use_resource=False)  # reference variable
            b = v1.get_variable("dense/b", [2], use_resource=True)
        y = tf.nn.relu(tf.matmul(x, w) + b, name="y")

        @tf.function
        def double(t: Any) -> Any:
            with tf.device("/device:CPU:0"):
                return t * 2.0

        z = double(y)
        step = v1.train.get_or_create_global_step()
        train = v1.train.GradientDescentOptimizer(0.1).minimize(tf.reduce_sum(z), step)
        v1.add_to_collection("train_op", train)
        v1.add_to_collection("ints", 7)
        v1.add_to_collection("floats", 0.25)
        packed = any_pb2.Any()
        packed.Pack(variable_pb2.VariableDef(variable_name="dense/w:0", trainable=True))
        v1.add_to_collection("anys", packed)
        saver = v1.train.Saver()
        saver.export_meta_graph(str(out / "binary.meta"))
        saver.export_meta_graph(str(out / "text.meta"), as_text=True)
    return {"binary": out / "binary.meta", "text": out / "text.meta"}


def _tf_read(path: Path) -> Any:
    from tensorflow.python.framework import meta_graph

    return meta_graph.read_meta_graph_file(str(path))


def test_tf_binary_meta_graph_round_trips(tf_exports: dict[str, Path]) -> None:
    data = tf_exports["binary"].read_bytes()
    ours = parse_meta_graph(data, tf_exports["binary"])
    assert serialize_meta_graph(ours) == data
    tf_mg = _tf_read(tf_exports["binary"])
    # same content, field for field, as TensorFlow's own text rendering shows
    assert serialize_meta_graph(ours, as_text=True).decode() == text_format.MessageToString(tf_mg)
    kinds = {key: c.WhichOneof("kind") for key, c in ours.collection_def.items()}
    assert kinds["anys"] == "any_list" and kinds["ints"] == "int64_list"
    assert kinds["floats"] == "float_list" and kinds["train_op"] == "node_list"
    assert kinds["variables"] == "bytes_list"
    assert unpack_any(ours.collection_def["anys"].any_list.value[0]).variable_name == "dense/w:0"
    assert len(ours.graph_def.library.function) >= 1
    assert ours.saver_def.version == 2


def test_tf_text_meta_graph_round_trips(tf_exports: dict[str, Path]) -> None:
    data = tf_exports["text"].read_bytes()
    assert b"[type.googleapis.com/tensorflow.VariableDef] {" in data
    ours = read_meta_graph(tf_exports["text"])
    assert serialize_meta_graph(ours, as_text=True) == data
    tf_mg = _tf_read(tf_exports["text"])
    assert serialize_meta_graph(ours) == tf_mg.SerializeToString(deterministic=True)


EXPORTS = {
    "binary": {},
    "text": {"as_text": True},
    "clear_devices": {"clear_devices": True},
    "collections": {"collection_list": ["variables", "trainable_variables", "train_op"]},
}


@pytest.mark.parametrize("variant", sorted(EXPORTS))
def test_our_export_loads_in_tensorflow(
    tf_exports: dict[str, Path], tmp_path: Path, variant: str
) -> None:
    options: dict[str, Any] = EXPORTS[variant]
    ours = read_meta_graph(tf_exports["binary"])
    path = tmp_path / f"{variant}.meta"
    written = export_meta_graph(ours, path, **options)

    tf_mg = _tf_read(path)  # TensorFlow's reader sees exactly what we meant to write
    assert tf_mg.SerializeToString(deterministic=True) == serialize_meta_graph(written)

    graph = tf.Graph()
    with graph.as_default():
        restored = tf.compat.v1.train.import_meta_graph(str(path))
    assert restored is not None  # a Saver, rebuilt from our saver_def
    names = {op.name for op in graph.get_operations()}
    assert names == {node.name for node in ours.graph_def.node}
    keys = set(graph.get_all_collection_keys())
    graph_def = graph.as_graph_def()
    functions = graph_def.library.function
    assert functions
    if variant == "collections":
        assert {"variables", "trainable_variables", "train_op"} <= keys
        assert not keys & {"ints", "floats", "anys", "global_step"}
    else:
        assert {"ints", "floats", "anys", "train_op", "variables"} <= keys
        assert graph.get_collection("ints") == [7]
    # devices in the file TensorFlow read (graph and function bodies) and in the graph it built
    node_devices = [n.device for n in tf_mg.graph_def.node]
    function_devices = [n.device for f in tf_mg.graph_def.library.function for n in f.node_def]
    imported_devices = [n.device for n in graph_def.node]
    if variant == "clear_devices":
        assert not any(node_devices + function_devices + imported_devices)
    else:
        assert any(node_devices) and any(function_devices) and any(imported_devices)
