"""MetaGraphDef binary/text I/O, its error messages, atomic writes, read/export_meta_graph."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from graphtui._proto import pack_any, pb
from graphtui.core.metagraph import clear_devices, export_meta_graph, read_meta_graph
from graphtui.errors import FormatError, MissingFileError
from graphtui.formats.atomic import atomic_write, atomic_writer
from graphtui.formats.metagraph_io import (
    MAX_DEPTH,
    looks_like_text,
    parse_binary_message,
    parse_message,
    parse_meta_graph,
    parse_text_message,
    serialize_message,
    serialize_meta_graph,
)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        if n:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _field(tag: bytes, payload: bytes) -> bytes:
    return tag + _varint(len(payload)) + payload


def make_meta_graph() -> Any:
    """A small MetaGraphDef touching every collection kind, maps, oneofs and Any."""
    mg = pb.MetaGraphDef()
    info = mg.meta_info_def
    info.tags.append("serve")
    info.tensorflow_version = "2.21.0"
    info.stripped_op_list.op.add(name="Const")
    info.function_aliases["f"] = "f_alias"
    graph = mg.graph_def
    graph.versions.producer = 1882
    const = graph.node.add(name="w/initial_value", op="Const", device="/device:CPU:0")
    const.attr["dtype"].type = pb.DataType.Value("DT_FLOAT")
    tensor = const.attr["value"].tensor
    tensor.dtype = 1
    tensor.tensor_shape.dim.add(size=2)
    tensor.tensor_content = b"\x00\x00\x80?\x00\x00\x00@"
    var = graph.node.add(name="w", op="VariableV2", device="/job:ps/task:0")
    var.attr["shape"].shape.dim.add(size=2)
    var.attr["_class"].list.s.append(b"loc:@w")
    graph.node.add(name="w/Assign", op="Assign", input=["w", "w/initial_value"])
    func = graph.library.function.add()
    func.signature.name = "f"
    func.node_def.add(name="inner", op="Identity", device="/device:GPU:0")
    func.ret["out"] = "inner:output:0"
    mg.saver_def.filename_tensor_name = "save/Const:0"
    mg.saver_def.version = pb.SaverDef.V2
    variable = pb.VariableDef(
        variable_name="w:0", initializer_name="w/Assign", snapshot_name="w/read:0"
    )
    mg.collection_def["variables"].bytes_list.value.append(variable.SerializeToString())
    mg.collection_def["train_op"].node_list.value.append("w/Assign")
    mg.collection_def["ints"].int64_list.value.extend([1, -2, 3])
    mg.collection_def["floats"].float_list.value.extend([0.5, 2.0])
    mg.collection_def["protos"].any_list.value.append(pack_any(variable))
    sig = mg.signature_def["serving_default"]
    sig.inputs["x"].name = "w/initial_value:0"
    sig.inputs["x"].dtype = 1
    sig.outputs["y"].coo_sparse.values_tensor_name = "sp/values:0"
    sig.method_name = "tensorflow/serving/predict"
    return mg


# --- round trips ------------------------------------------------------------------------


def test_binary_round_trip_is_exact() -> None:
    mg = make_meta_graph()
    data = serialize_meta_graph(mg)
    back = parse_meta_graph(data, "m.meta")
    assert back == mg
    assert serialize_meta_graph(back) == data
    assert data == mg.SerializeToString(deterministic=True)


def test_text_round_trip_expands_any() -> None:
    mg = make_meta_graph()
    text = serialize_meta_graph(mg, as_text=True)
    assert b"[type.googleapis.com/tensorflow.VariableDef] {" in text
    assert b'variable_name: "w:0"' in text
    back = parse_meta_graph(text, "m.meta")
    assert back == mg
    assert serialize_meta_graph(back, as_text=True) == text


def test_parses_hand_written_text_with_expanded_any() -> None:
    text = b"""
    # a comment, as TensorFlow's text parser allows
    meta_info_def { tags: "train" }
    collection_def {
      key: "variables"
      value {
        any_list {
          value {
            [type.googleapis.com/tensorflow.VariableDef] {
              variable_name: "v:0"
              is_resource: true
            }
          }
        }
      }
    }
    """
    mg = parse_meta_graph(text, "hand.meta")
    any_value = mg.collection_def["variables"].any_list.value[0]
    assert any_value.type_url == "type.googleapis.com/tensorflow.VariableDef"
    assert pb.VariableDef.FromString(any_value.value).is_resource


def test_generic_messages() -> None:
    state = pb.CheckpointState(
        model_checkpoint_path="model.ckpt-2",
        all_model_checkpoint_paths=["model.ckpt-1", "model.ckpt-2"],
        all_model_checkpoint_timestamps=[1.5, 2.5],
    )
    text = serialize_message(state, as_text=True)
    assert text.startswith(b'model_checkpoint_path: "model.ckpt-2"\n')
    assert parse_text_message(text.decode(), "CheckpointState") == state
    assert parse_message(text, pb.CheckpointState) == state
    entry = pb.BundleEntryProto(dtype=1, offset=8, size=16, crc32c=0xDEADBEEF)
    assert parse_binary_message(serialize_message(entry), "BundleEntryProto") == entry


def test_text_sniffing() -> None:
    assert looks_like_text(b'meta_info_def {\n\ttags: "x"\r\n}\n')
    assert looks_like_text("é".encode())
    assert not looks_like_text(serialize_meta_graph(make_meta_graph()))
    assert not looks_like_text(b"abc\x00")


def test_tiny_binary_that_looks_like_text_still_parses() -> None:
    """Every byte printable: field 1 { field 1: 40 printable bytes }. Text fails, binary wins."""
    version = "v" * 40
    mg = pb.MetaGraphDef()
    mg.meta_info_def.meta_graph_version = version
    data = serialize_meta_graph(mg)
    assert looks_like_text(data)
    assert parse_meta_graph(data, "tiny.meta") == mg


def test_utf8_bom_is_accepted() -> None:
    mg = parse_meta_graph(b'\xef\xbb\xbfmeta_info_def { tags: "a" }', "bom.meta")
    assert list(mg.meta_info_def.tags) == ["a"]


# --- errors -----------------------------------------------------------------------------


def _error(data: bytes, path: str = "bad.meta") -> FormatError:
    with pytest.raises(FormatError) as info:
        parse_meta_graph(data, path)
    message = str(info.value)
    assert message.startswith(path), message
    assert "\n" not in message
    return info.value


def test_empty_file() -> None:
    assert "empty file" in str(_error(b""))


def test_garbage_bytes() -> None:
    error = _error(bytes(range(256)) * 4, "junk.meta")
    assert "not a valid MetaGraphDef" in str(error)
    assert error.offset is not None


def test_garbage_without_known_fields() -> None:
    # a well-formed message whose only field (number 15) MetaGraphDef does not have
    error = _error(b"\x78\x01")
    assert "no known field" in str(error)


def test_truncated_binary_names_field_and_offset() -> None:
    mg = make_meta_graph()
    big = mg.graph_def.node.add(name="big", op="Const")
    big.attr["value"].tensor.tensor_content = b"\x01" * 5000
    data = serialize_meta_graph(mg)
    cut = data.index(b"\x01" * 5000) + 100
    error = _error(data[:cut], "cut.meta")
    assert "truncated" in str(error)
    assert "graph_def" in str(error)
    assert error.offset is not None and error.offset < cut


@pytest.mark.parametrize("cut", [2, 7, 31])
def test_truncated_in_the_first_field(cut: int) -> None:
    """Short prefixes can be all printable; they must still get the binary diagnosis."""
    data = serialize_meta_graph(make_meta_graph())
    assert data[0] == 0x0A  # meta_info_def, longer than 31 bytes
    error = _error(data[:cut])
    assert "meta_info_def" in str(error) and "truncated" in str(error)
    assert error.offset == 0


@pytest.mark.parametrize("data", [b"\n", b"   ", b"\n# only a comment\n"])
def test_only_whitespace_and_comments(data: bytes) -> None:
    assert "only whitespace and comments" in str(_error(data))


def test_invalid_wire_type() -> None:
    error = _error(b"\x12\x00\x0f")  # graph_def {}, then field 1 with wire type 7
    assert "invalid wire type 7" in str(error)
    assert error.offset == 2


def test_invalid_utf8_in_a_string_field() -> None:
    node = _field(b"\x0a", b"\xff\xfe")  # NodeDef.name with bytes that are not UTF-8
    error = _error(_field(b"\x12", _field(b"\x0a", node)))
    assert "graph_def.node.name" in str(error) and "UTF-8" in str(error)


def test_binary_nested_too_deeply() -> None:
    def nested(levels: int) -> bytes:
        value = b"\x6a\x01x"  # string_value: "x"
        for _ in range(levels):  # list_value { values { ... } }: two messages per level
            value = _field(b"\x9a\x03", _field(b"\x0a", value))
        return value

    ok = nested(MAX_DEPTH // 2 - 1)
    assert parse_binary_message(ok, "StructuredValue").WhichOneof("kind") == "list_value"
    with pytest.raises(FormatError, match=f"nested deeper than {MAX_DEPTH} levels") as info:
        parse_binary_message(nested(MAX_DEPTH), "StructuredValue", "deep.pb")
    assert str(info.value).startswith("deep.pb")
    assert "more" in str(info.value)  # the long field path is shortened


@pytest.mark.parametrize("levels", [MAX_DEPTH, 400])
def test_text_nested_too_deeply(levels: int) -> None:
    text = "list_value { values { " * levels + 'string_value: "x"' + " } }" * levels
    with pytest.raises(FormatError, match="nested") as info:
        parse_text_message(text.encode(), "StructuredValue", "deep.pbtxt")
    assert str(info.value).startswith("deep.pbtxt")


def test_text_syntax_error_has_line_and_column() -> None:
    text = serialize_meta_graph(make_meta_graph(), as_text=True).decode()
    lines = text.splitlines()
    lines[5] = lines[5] + " {{"
    error = _error("\n".join(lines).encode(), "syntax.meta")
    assert "syntax error at line 6" in str(error)


def test_text_unknown_field() -> None:
    error = _error(b"meta_info_def {\n  no_such_field: 1\n}\n")
    assert "line 2" in str(error) and "no_such_field" in str(error)


def test_text_unknown_any_type() -> None:
    text = b"meta_info_def {\n  any_info {\n    [type.googleapis.com/acme.Nope] { }\n  }\n}\n"
    error = _error(text)
    assert "line 3" in str(error) and "acme.Nope" in str(error)


def test_text_that_is_not_utf8() -> None:
    with pytest.raises(FormatError, match="not valid UTF-8"):
        parse_text_message(b'meta_info_def { tags: "\xff" }', "MetaGraphDef", "latin.meta")


# --- atomic writes ----------------------------------------------------------------------


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_atomic_write_creates_and_replaces(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    atomic_write(target, b"one")
    assert target.read_bytes() == b"one"
    atomic_write(str(target), b"two")
    assert target.read_bytes() == b"two"
    assert _leftovers(tmp_path) == []


def test_atomic_writer_text_mode(tmp_path: Path) -> None:
    target = tmp_path / "state"
    with atomic_writer(target, "w") as f:
        f.write("é\n")
    assert target.read_bytes() == "é\n".encode()
    with pytest.raises(ValueError, match="mode"), atomic_writer(target, "a"):
        pass


def test_atomic_writer_error_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "keep.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="boom"), atomic_writer(target) as f:
        f.write(b"partial")
        raise RuntimeError("boom")
    assert target.read_bytes() == b"old"
    assert _leftovers(tmp_path) == []


def test_atomic_write_keeps_permissions_and_symlinks(tmp_path: Path) -> None:
    target = tmp_path / "real.bin"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    link = tmp_path / "link.bin"
    link.symlink_to(target)
    atomic_write(link, b"new")
    assert link.is_symlink()
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_atomic_write_into_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        atomic_write(tmp_path / "nope" / "x.bin", b"x")


# --- core: read / export ----------------------------------------------------------------


def test_read_meta_graph_binary_and_text(tmp_path: Path) -> None:
    mg = make_meta_graph()
    (tmp_path / "b.meta").write_bytes(serialize_meta_graph(mg))
    (tmp_path / "t.meta").write_bytes(serialize_meta_graph(mg, as_text=True))
    assert read_meta_graph(tmp_path / "b.meta") == mg
    assert read_meta_graph(str(tmp_path / "t.meta")) == mg


def test_read_meta_graph_errors(tmp_path: Path) -> None:
    missing = tmp_path / "missing.meta"
    with pytest.raises(MissingFileError, match="missing.meta: no such file"):
        read_meta_graph(missing)
    with pytest.raises(FormatError, match="is a directory"):
        read_meta_graph(tmp_path)
    (tmp_path / "bad.meta").write_bytes(b"\x12\x05abc")
    with pytest.raises(FormatError, match=r"bad.meta \(at byte 0\): not a valid MetaGraphDef"):
        read_meta_graph(tmp_path / "bad.meta")


@pytest.mark.parametrize("as_text", [False, True])
def test_export_meta_graph_round_trip(tmp_path: Path, as_text: bool) -> None:
    mg = make_meta_graph()
    path = tmp_path / "out.meta"
    written = export_meta_graph(mg, path, as_text=as_text)
    assert written == mg
    assert path.read_bytes() == serialize_meta_graph(mg, as_text=as_text)
    assert read_meta_graph(path) == mg
    assert _leftovers(tmp_path) == []


def test_export_clear_devices_and_collection_list(tmp_path: Path) -> None:
    mg = make_meta_graph()
    before = mg.SerializeToString(deterministic=True)
    path = tmp_path / "cleared.meta"
    written = export_meta_graph(
        mg, path, clear_devices=True, collection_list=["variables", "ints", "not_there"]
    )
    assert mg.SerializeToString(deterministic=True) == before  # input untouched
    back = read_meta_graph(path)
    assert back == written
    assert sorted(back.collection_def) == ["ints", "variables"]
    assert all(node.device == "" for node in back.graph_def.node)
    assert all(n.device == "" for f in back.graph_def.library.function for n in f.node_def)
    # everything else is unchanged
    back.ClearField("collection_def")
    expected = clear_devices(mg)
    expected.ClearField("collection_def")
    assert back == expected
    assert [n.name for n in back.graph_def.node] == [n.name for n in mg.graph_def.node]


def test_export_empty_collection_list(tmp_path: Path) -> None:
    written = export_meta_graph(make_meta_graph(), tmp_path / "x.meta", collection_list=[])
    assert len(written.collection_def) == 0
    assert read_meta_graph(tmp_path / "x.meta").graph_def.node
