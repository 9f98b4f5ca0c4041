"""MetaGraphDef (and other TensorFlow protos) <-> bytes, binary or text format.

Reading mirrors TensorFlow's ``read_meta_graph_file`` (binary or text, text may hold expanded
``Any`` values such as ``[type.googleapis.com/tensorflow.VariableDef] {...}``) but decides the
format by looking at the bytes and reports failures as one-line :class:`FormatError` s: where
a binary file is truncated or corrupt (with the byte offset and the field path), or the line
and column of a text syntax error. Writing produces exactly TensorFlow's bytes: deterministic
binary serialization, or ``text_format.MessageToString``.
"""

from __future__ import annotations

import os
import re
from functools import cache
from typing import Any

from google.protobuf import text_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor, FileDescriptor
from google.protobuf.message import DecodeError, EncodeError, Message

from graphtui._proto import POOL, message_class
from graphtui.errors import FormatError
from graphtui.formats.varint import VarintError, decode_varint

__all__ = [
    "MAX_DEPTH",
    "parse_meta_graph",
    "serialize_meta_graph",
    "parse_message",
    "parse_binary_message",
    "parse_text_message",
    "serialize_message",
    "looks_like_text",
]

PathLike = str | os.PathLike[str] | None

# Message nesting limit of protobuf's decoders (upb's default, and TensorFlow's C++ default).
MAX_DEPTH = 100
MAX_MESSAGE_BYTES = (2 << 30) - 1  # protobuf's limit: TensorFlow cannot parse a bigger message
TOO_LARGE = (
    "is larger than 2 GiB, the most a protobuf message can be: TensorFlow could not read it "
    "either (a sparse or damaged file?)"
)
_SNIFF_BYTES = 4096
# Bytes that never occur in a text-format file: C0 controls except \t \n \v \f \r, and DEL.
_BINARY_ONLY = bytes([*range(0x00, 0x09), *range(0x0E, 0x20), 0x7F])
_BOM = b"\xef\xbb\xbf"


# --- MetaGraphDef -------------------------------------------------------------------------


def parse_meta_graph(data: bytes, path: PathLike = None) -> Any:
    """Decode a ``.meta`` file's bytes, binary or text format, into a ``MetaGraphDef``."""
    return parse_message(data, "MetaGraphDef", path)


def serialize_meta_graph(mg: Message, as_text: bool = False) -> bytes:
    """Encode a ``MetaGraphDef`` as TensorFlow's ``export_meta_graph`` would write it."""
    return serialize_message(mg, as_text)


# --- any message --------------------------------------------------------------------------


def parse_message(data: bytes, message_type: str | type[Message], path: PathLike = None) -> Any:
    """Decode ``data`` as ``message_type`` (a class or a name like "MetaGraphDef").

    Binary or text format is chosen from the bytes: text format never contains control bytes
    other than whitespace, binary protos of these types almost always do early on. Bytes that
    look like text but do not parse as text (or parse to nothing) are tried as binary, since a
    tiny or truncated binary file can be all printable; which error is reported depends on
    whether the data starts like text. A result with no known field is refused.
    """
    cls = _resolve(message_type)
    if not data:
        raise FormatError(path, f"empty file, expected a {_type_name(cls)}")
    if looks_like_text(data):
        try:
            msg = parse_text_message(data, cls, path)
        except FormatError as text_error:
            fallback = _clean_binary_parse(data, cls)
            if fallback is not None:
                return fallback
            if _starts_like_text(data):
                raise text_error from None
            msg = None  # e.g. a binary file cut after a few printable bytes
        if msg is not None and msg.ListFields():
            return msg
        if msg is not None:  # parsed as text, but nothing in it
            fallback = _clean_binary_parse(data, cls)
            if fallback is not None:
                return fallback
            raise FormatError(
                path, f"no {_type_name(cls)} in the file: only whitespace and comments"
            )
    msg = parse_binary_message(data, cls, path)
    if not msg.ListFields():
        raise FormatError(path, f"not a {_type_name(cls)}: no known field in {len(data)} bytes")
    return msg


def parse_binary_message(
    data: bytes, message_type: str | type[Message], path: PathLike = None
) -> Any:
    """Decode binary protobuf ``data``; a FormatError says where and why it is corrupt."""
    cls = _resolve(message_type)
    msg: Any = cls()
    try:
        msg.ParseFromString(data)
    except DecodeError as exc:
        raise _binary_error(data, cls.DESCRIPTOR, path, exc) from None
    return msg


def parse_text_message(
    data: bytes | str, message_type: str | type[Message], path: PathLike = None
) -> Any:
    """Decode text-format ``data`` (``Any`` values may be expanded by type URL).

    Like TensorFlow this merges (a repeated singular field keeps its last value). The result
    must also survive a binary round trip, which rejects nesting deeper than MAX_DEPTH.
    """
    cls = _resolve(message_type)
    if isinstance(data, bytes):
        try:
            text = data.removeprefix(_BOM).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FormatError(
                path, f"text format is not valid UTF-8 at byte {exc.start}", offset=exc.start
            ) from None
    else:
        text = data
    msg: Any = cls()
    name = _type_name(cls)
    try:
        text_format.Merge(text, msg, descriptor_pool=POOL)
    except text_format.ParseError as exc:
        raise FormatError(path, _text_error_message(exc, name, text)) from None
    except RecursionError:
        raise FormatError(path, f"text {name} is nested too deeply to parse") from None
    _check_round_trip(msg, path)
    return msg


def serialize_message(msg: Message, as_text: bool = False) -> bytes:
    """Binary (deterministic: sorted map keys) or text format bytes, as TensorFlow writes."""
    if as_text:
        return text_format.MessageToString(msg, descriptor_pool=POOL).encode("utf-8")
    try:
        return msg.SerializeToString(deterministic=True)
    except EncodeError as exc:
        raise ValueError(f"cannot serialize {msg.DESCRIPTOR.full_name}: {exc}") from exc


def looks_like_text(data: bytes) -> bool:
    """True if the start of ``data`` has no byte that text format never contains."""
    head = data[:_SNIFF_BYTES]
    return len(head.translate(None, _BINARY_ONLY)) == len(head)


# --- helpers ------------------------------------------------------------------------------


def _resolve(message_type: str | type[Message]) -> type[Message]:
    return message_class(message_type) if isinstance(message_type, str) else message_type


def _type_name(cls: type[Message]) -> str:
    return str(cls.DESCRIPTOR.name)


def _starts_like_text(data: bytes) -> bool:
    """Text format starts with a field name, an extension/Any bracket or a comment."""
    first = data.removeprefix(_BOM).lstrip()[:1]
    return first.isalpha() or first in (b"_", b"[", b"#")


def _clean_binary_parse(data: bytes, cls: type[Message]) -> Any:
    """A binary parse with at least one known field and no unknown ones, else None."""
    msg: Any = cls()
    try:
        msg.ParseFromString(data)
    except DecodeError:
        return None
    size = msg.ByteSize()
    msg.DiscardUnknownFields()
    return msg if msg.ListFields() and msg.ByteSize() == size else None


def _text_error_message(exc: text_format.ParseError, type_name: str, text: str) -> str:
    detail = str(exc)
    line, column = exc.GetLine(), exc.GetColumn()
    if line is None:  # e.g. an unknown Any type: locate its type URL ourselves
        line = _line_of_type_url(detail, text)
        if line is None:
            return f"text {type_name} does not parse: {detail}"
        return f"text {type_name} error at line {line}: {detail}"
    detail = detail.removeprefix(f"{line}:{column} : ")
    return f"text {type_name} syntax error at line {line}, column {column}: {detail}"


def _line_of_type_url(detail: str, text: str) -> int | None:
    match = re.match(r"Type (\S+) not found", detail)
    if match is None:
        return None
    index = text.find(f"/{match.group(1)}]")
    return None if index < 0 else text.count("\n", 0, index) + 1


def _check_round_trip(msg: Any, path: PathLike) -> None:
    """Text can nest deeper than binary decoders accept; refuse what could not be re-read."""
    data = msg.SerializeToString()
    probe: Any = type(msg)()
    try:
        probe.ParseFromString(data)
    except DecodeError as exc:
        _, reason = _diagnose(data, msg.DESCRIPTOR, exc)
        raise FormatError(path, f"text {msg.DESCRIPTOR.name}: {reason}") from None


# --- binary diagnostics -------------------------------------------------------------------


class _WireError(Exception):
    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(reason)
        self.offset = offset
        self.reason = reason


def _binary_error(data: bytes, desc: Descriptor, path: PathLike, exc: DecodeError) -> FormatError:
    """A FormatError for bytes protobuf refused, saying where and why."""
    offset, reason = _diagnose(data, desc, exc)
    return FormatError(path, f"not a valid {desc.name}: {reason}", offset=offset)


def _diagnose(data: bytes, desc: Descriptor, exc: DecodeError) -> tuple[int | None, str]:
    """Re-walk the wire format to find the first fault (protobuf only says "corrupt")."""
    try:
        _walk(memoryview(data), 0, len(data), desc, 1, [], None)
    except _WireError as found:
        return found.offset, found.reason
    except RecursionError:
        pass
    return None, str(exc)


def _dotted(trail: list[str]) -> str:
    """A field path for messages, shortened in the middle when deep."""
    if len(trail) > 8:
        trail = [*trail[:3], f"...({len(trail) - 5} more)...", *trail[-2:]]
    return ".".join(trail)


_VARINT_TYPES = frozenset(
    {
        FieldDescriptor.TYPE_INT32,
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_UINT32,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_SINT32,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_BOOL,
        FieldDescriptor.TYPE_ENUM,
    }
)
_FIXED_SIZES = {
    FieldDescriptor.TYPE_FIXED32: 4,
    FieldDescriptor.TYPE_SFIXED32: 4,
    FieldDescriptor.TYPE_FLOAT: 4,
    FieldDescriptor.TYPE_FIXED64: 8,
    FieldDescriptor.TYPE_SFIXED64: 8,
    FieldDescriptor.TYPE_DOUBLE: 8,
}


def _read_varint(data: memoryview, pos: int, end: int, what: str) -> tuple[int, int]:
    try:
        return decode_varint(data, pos, end)
    except VarintError as exc:
        why = "varint cut off by the end of its data" if exc.cut else "varint longer than 10 bytes"
        raise _WireError(pos, f"{what}: {why}") from None


def _walk(
    data: memoryview,
    pos: int,
    end: int,
    desc: Descriptor | None,
    depth: int,
    trail: list[str],
    group: int | None,
) -> int:
    """Check the wire format of one message in data[pos:end]; return where it ended."""
    while pos < end:
        start = pos
        where = _dotted(trail)
        tag, pos = _read_varint(data, pos, end, f"field tag in {where}" if where else "field tag")
        number, wire_type = tag >> 3, tag & 7
        field = desc.fields_by_number.get(number) if desc is not None else None
        if field is not None:
            label = _dotted([*trail, field.name])
        else:
            label = f"{where}: field {number}" if where else f"field {number}"
        if number == 0:
            raise _WireError(start, f"{label}: invalid field number 0")
        if wire_type == 0:
            _, pos = _read_varint(data, pos, end, label)
        elif wire_type in (1, 5):
            pos += 8 if wire_type == 1 else 4
            if pos > end:
                raise _WireError(start, f"{label}: fixed-size value cut off by the end of data")
        elif wire_type == 2:
            length, pos = _read_varint(data, pos, end, f"{label} length")
            if pos + length > end:
                raise _WireError(
                    start,
                    f"{label}: {length} bytes declared but only {end - pos} remain"
                    " (truncated file?)",
                )
            if field is not None:
                _check_payload(data, pos, pos + length, field, depth, trail, start)
            pos += length
        elif wire_type == 3:
            if depth + 1 > MAX_DEPTH:
                raise _WireError(start, f"{label}: nested deeper than {MAX_DEPTH} levels")
            pos = _walk(data, pos, end, None, depth + 1, [*trail, f"group {number}"], number)
        elif wire_type == 4:
            if group != number:
                raise _WireError(start, f"{label}: end-group tag without a matching start")
            return pos
        else:
            raise _WireError(start, f"{label}: invalid wire type {wire_type}")
    if group is not None:
        raise _WireError(pos, f"group {group} not closed before the end of data")
    return pos


def _check_payload(
    data: memoryview,
    pos: int,
    end: int,
    field: FieldDescriptor,
    depth: int,
    trail: list[str],
    start: int,
) -> None:
    """Check a length-delimited payload the way protobuf would for this field's type."""
    label = _dotted([*trail, field.name])
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        if depth + 1 > MAX_DEPTH:
            raise _WireError(start, f"{label}: messages nested deeper than {MAX_DEPTH} levels")
        _walk(data, pos, end, field.message_type, depth + 1, [*trail, field.name], None)
    elif field.type == FieldDescriptor.TYPE_STRING and _validates_utf8(field.file):
        try:
            str(data[pos:end], "utf-8")
        except UnicodeDecodeError as exc:
            raise _WireError(pos + exc.start, f"{label}: string is not valid UTF-8") from None
    elif _is_repeated(field) and field.type in _VARINT_TYPES:
        while pos < end:
            _, pos = _read_varint(data, pos, end, f"{label} (packed)")
    elif _is_repeated(field) and field.type in _FIXED_SIZES:
        size = _FIXED_SIZES[field.type]
        if (end - pos) % size:
            raise _WireError(
                start, f"{label}: packed length {end - pos} is not a multiple of {size}"
            )


def _is_repeated(field: FieldDescriptor) -> bool:
    """``is_repeated`` appeared in protobuf 6; older runtimes only have ``label``."""
    flag = getattr(field, "is_repeated", None)
    if flag is None:
        return bool(field.label == FieldDescriptor.LABEL_REPEATED)
    return bool(flag)


@cache
def _validates_utf8(file: FileDescriptor) -> bool:
    """proto3 string fields must hold UTF-8; proto2 ones are not checked."""
    from google.protobuf import descriptor_pb2

    proto = descriptor_pb2.FileDescriptorProto()
    file.CopyToProto(proto)
    return proto.syntax == "proto3"
