"""graphtui._proto: the committed descriptor set, the private pool and its helpers."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from google.protobuf import descriptor_pool

from graphtui import _proto
from graphtui._proto import (
    FILES,
    POOL,
    enum_name,
    enum_value,
    message_class,
    message_descriptor,
    pack_any,
    pb,
    unpack_any,
)

REPO = Path(__file__).resolve().parents[2]
DESCRIPTOR_SET = REPO / "graphtui" / "_proto" / "descriptors.binpb"

EXPECTED_MESSAGES = [
    "MetaGraphDef",
    "MetaGraphDef.MetaInfoDef",
    "CollectionDef",
    "CollectionDef.NodeList",
    "CollectionDef.BytesList",
    "CollectionDef.Int64List",
    "CollectionDef.FloatList",
    "CollectionDef.AnyList",
    "TensorInfo",
    "TensorInfo.CooSparse",
    "TensorInfo.CompositeTensor",
    "SignatureDef",
    "AssetFileDef",
    "GraphDef",
    "NodeDef",
    "NodeDef.ExperimentalDebugInfo",
    "AttrValue",
    "AttrValue.ListValue",
    "NameAttrList",
    "FullTypeDef",
    "OpDef",
    "OpDef.ArgDef",
    "OpDef.AttrDef",
    "OpList",
    "OpDeprecation",
    "FunctionDefLibrary",
    "FunctionDef",
    "GradientDef",
    "RegisteredGradient",
    "GraphDebugInfo",
    "VersionDef",
    "VariableDef",
    "SaveSliceInfoDef",
    "SaverDef",
    "TensorProto",
    "TensorShapeProto",
    "ResourceHandleProto",
    "StructuredValue",
    "TypeSpecProto",
    "SavedObjectGraph",
    "SavedObject",
    "TrackableObjectGraph",
    "SavedModel",
    "CheckpointState",
    "BundleHeaderProto",
    "BundleEntryProto",
    "TensorSliceProto",
    "TensorSliceProto.Extent",
    "SavedTensorSlices",
    "SavedTensorSliceMeta",
    "SavedSliceMeta",
    "SavedSlice",
]


def _run(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPO,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


# --- the committed descriptor set -------------------------------------------------------


def test_descriptor_set_is_up_to_date(tmp_path: Path) -> None:
    # protoc runs in a child process: grpc_tools' compiler and TensorFlow in one process crash.
    pytest.importorskip("grpc_tools")
    script = str(REPO / "protos" / "regenerate.py")

    def regenerate(*args: str) -> int:
        return subprocess.run([sys.executable, script, *args], capture_output=True).returncode

    out = tmp_path / "descriptors.binpb"
    assert regenerate("--output", str(out)) == 0
    assert out.read_bytes() == DESCRIPTOR_SET.read_bytes(), (
        "graphtui/_proto/descriptors.binpb is stale: run python protos/regenerate.py"
    )
    assert regenerate("--output", str(out), "--check") == 0
    out.write_bytes(out.read_bytes() + b"\n\x00")
    assert regenerate("--output", str(out), "--check") == 1


def test_descriptor_set_holds_our_files_and_the_well_known_types() -> None:
    names = [f.name for f in FILES]
    sources = sorted(p.name for p in (REPO / "protos" / "graphtui_tf").glob("*.proto"))
    assert sorted(
        n.removeprefix("graphtui_tf/") for n in names if n.startswith("graphtui_tf/")
    ) == (sources)
    assert set(names) - {f"graphtui_tf/{s}" for s in sources} == {
        "google/protobuf/any.proto",
        "google/protobuf/wrappers.proto",
    }
    # dependencies come first, as the pool needs
    for index, file in enumerate(FILES):
        for dep in file.dependencies:
            assert names.index(dep.name) < index, (file.name, dep.name)


def test_descriptor_set_uses_only_proto2_and_proto3() -> None:
    """No editions or features: runtimes down to our protobuf floor understand every file."""
    from google.protobuf import descriptor_pb2

    fds = descriptor_pb2.FileDescriptorSet.FromString(DESCRIPTOR_SET.read_bytes())
    syntaxes = {f.name: f.syntax for f in fds.file}
    # proto2 as in TensorFlow (protoc leaves the syntax field empty for proto2)
    assert syntaxes.pop("graphtui_tf/graph_debug_info.proto") in ("", "proto2")
    assert set(syntaxes.values()) == {"proto3"}
    for f in fds.file:
        assert not f.options.HasField("features"), f.name
        assert not f.HasField("source_code_info"), f.name


# --- names, classes, enums --------------------------------------------------------------


@pytest.mark.parametrize("name", EXPECTED_MESSAGES)
def test_every_expected_message_is_reachable(name: str) -> None:
    cls = message_class(name)
    assert cls.DESCRIPTOR.full_name == f"tensorflow.{name}"
    assert message_class(f"tensorflow.{name}") is cls
    obj = pb
    for part in name.split("."):
        obj = getattr(obj, part)
    assert obj is cls


def test_pb_attributes_are_cached_classes() -> None:
    assert pb.MetaGraphDef is pb.MetaGraphDef is message_class("MetaGraphDef")
    node_list = pb.CollectionDef.NodeList(value=["a", "b:0"])
    coll = pb.CollectionDef(node_list=node_list)
    assert coll.WhichOneof("kind") == "node_list"
    assert "MetaGraphDef" in dir(pb) and "DataType" in dir(pb)
    with pytest.raises(AttributeError, match="NoSuchMessage"):
        pb.NoSuchMessage  # noqa: B018
    with pytest.raises(KeyError):
        message_class("tensorflow.NoSuchMessage")


def test_well_known_types_come_from_our_pool() -> None:
    any_cls = message_class("google.protobuf.Any")
    assert any_cls.DESCRIPTOR.file.pool is POOL
    assert message_class("Any") is any_cls
    assert message_class("BoolValue").DESCRIPTOR.full_name == "google.protobuf.BoolValue"
    field = message_descriptor("MetaGraphDef.MetaInfoDef").fields_by_name["any_info"]
    assert field.message_type is any_cls.DESCRIPTOR


def test_enums() -> None:
    assert enum_value("tensorflow.DataType", "DT_FLOAT") == 1
    assert enum_value("DataType", "DT_FLOAT_REF") == 101
    assert enum_value("DataType", "DT_FLOAT4_E2M1FN_REF") == 133
    assert enum_name("tensorflow.DataType", 19) == "DT_HALF"
    assert enum_name("DataType", 120) == "DT_RESOURCE_REF"
    assert enum_value("tensorflow.SaverDef.CheckpointFormatVersion", "V2") == 2
    assert enum_name("BundleHeaderProto.Endianness", 1) == "BIG"
    assert enum_value("FullTypeId", "TFT_LEGACY_VARIANT") == 10203
    assert pb.DataType.Value("DT_STRING") == 7 and pb.DataType.Name(9) == "DT_INT64"
    assert pb.SaverDef.V2 == 2
    with pytest.raises(KeyError, match="DT_NOPE"):
        enum_value("DataType", "DT_NOPE")
    with pytest.raises(KeyError, match="99"):
        enum_name("DataType", 99)
    # every base type has its _REF twin at +100
    values = message_descriptor("TensorProto").fields_by_name["dtype"].enum_type.values
    names = {v.name: v.number for v in values}
    for name, number in names.items():
        if 0 < number < 100:
            assert names[f"{name}_REF"] == number + 100


# --- Any --------------------------------------------------------------------------------


def test_pack_and_unpack_any() -> None:
    var = pb.VariableDef(variable_name="w:0", initializer_name="w/Assign", trainable=True)
    packed = pack_any(var)
    assert packed.DESCRIPTOR.full_name == "google.protobuf.Any"
    assert packed.type_url == "type.googleapis.com/tensorflow.VariableDef"
    assert packed.value == var.SerializeToString(deterministic=True)
    back = unpack_any(packed)
    assert type(back) is pb.VariableDef and back == var
    assert packed.Is(pb.VariableDef.DESCRIPTOR)  # protobuf's own Any helpers work too


def test_unpack_any_errors() -> None:
    unknown = message_class("Any")(type_url="type.googleapis.com/acme.Thing", value=b"")
    with pytest.raises(LookupError, match="acme.Thing"):
        unpack_any(unknown)
    from google.protobuf.message import DecodeError

    bad = message_class("Any")(
        type_url="type.googleapis.com/tensorflow.VariableDef", value=b"\x0a\x05ab"
    )
    with pytest.raises(DecodeError, match="VariableDef"):
        unpack_any(bad)


# --- isolation and runtimes -------------------------------------------------------------


def test_import_does_not_touch_the_default_pool() -> None:
    result = _run(
        """
        import sys
        import graphtui._proto as p
        from google.protobuf import descriptor_pool
        p.pb.MetaGraphDef(); p.pb.CollectionDef.NodeList()  # build some classes too
        default = descriptor_pool.Default()
        for find, name in [
            (default.FindMessageTypeByName, "tensorflow.MetaGraphDef"),
            (default.FindMessageTypeByName, "tensorflow.BundleEntryProto"),
            (default.FindEnumTypeByName, "tensorflow.DataType"),
            (default.FindFileByName, "graphtui_tf/meta_graph.proto"),
        ]:
            try:
                find(name)
            except KeyError:
                continue
            raise SystemExit(f"{name} leaked into the default pool")
        assert "tensorflow" not in sys.modules
        print("clean")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "clean"


def test_default_pool_untouched_in_this_process() -> None:
    if "tensorflow" in sys.modules:
        pytest.skip("TensorFlow registered its own protos in this process")
    with pytest.raises(KeyError):
        descriptor_pool.Default().FindFileByName("graphtui_tf/meta_graph.proto")


def test_pure_python_runtime() -> None:
    """The same API on protobuf's pure-Python implementation (nested classes included)."""
    result = _run(
        """
        from google.protobuf.internal import api_implementation
        assert api_implementation.Type() == "python", api_implementation.Type()
        from graphtui._proto import pb, pack_any, unpack_any
        m = pb.MetaGraphDef()
        m.collection_def["c"].node_list.value.append("x")
        nl = pb.CollectionDef.NodeList(value=["y"])
        info = pb.MetaGraphDef.MetaInfoDef(tags=["serve"])
        v = unpack_any(pack_any(pb.VariableDef(variable_name="v:0")))
        assert v.variable_name == "v:0" and nl.value == ["y"] and info.tags == ["serve"]
        assert pb.MetaGraphDef.FromString(m.SerializeToString()) == m
        print("ok")
        """,
        env={"PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION": "python"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_loads_on_the_oldest_declared_protobuf() -> None:
    """pyproject declares protobuf>=5.26. Point GRAPHTUI_PROTOBUF_FLOOR at a directory made by
    ``pip install --target DIR protobuf==5.26.0`` to run this against that runtime."""
    floor = os.environ.get("GRAPHTUI_PROTOBUF_FLOOR")
    if not floor:
        pytest.skip("set GRAPHTUI_PROTOBUF_FLOOR to a `pip install --target` dir of protobuf 5.26")
    result = _run(
        """
        import google.protobuf
        from graphtui._proto import pb, pack_any, unpack_any
        from graphtui.formats.metagraph_io import parse_meta_graph, serialize_meta_graph
        m = pb.MetaGraphDef()
        m.graph_def.node.add(name="a", op="Const")
        m.collection_def["v"].any_list.value.append(pack_any(pb.VariableDef(variable_name="v")))
        data = serialize_meta_graph(m)
        text = serialize_meta_graph(m, as_text=True)
        assert b"[type.googleapis.com/tensorflow.VariableDef]" in text
        assert serialize_meta_graph(parse_meta_graph(text)) == data
        assert serialize_meta_graph(parse_meta_graph(data)) == data
        print(google.protobuf.__version__)
        """,
        env={"PYTHONPATH": os.pathsep.join([floor, str(REPO)])},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith("5.26"), result.stdout


def test_module_constants() -> None:
    assert _proto.PACKAGE == "tensorflow"
    assert _proto.ANY_TYPE_URL_PREFIX == "type.googleapis.com/"
