"""TensorFlow's protobuf messages, from our own descriptor set in a private pool.

``descriptors.binpb`` (built by ``protos/regenerate.py`` from ``protos/graphtui_tf/*.proto``)
is a FileDescriptorSet. Loading it into a private :class:`DescriptorPool` instead of importing
generated ``_pb2`` modules means: no gencode/runtime version check, nothing registered in
protobuf's default pool (so TensorFlow can be imported beside us), and full names and ``Any``
type URLs stay ``tensorflow.*``, so bytes and text format match TensorFlow's.

Usage::

    from graphtui._proto import pb
    mg = pb.MetaGraphDef()
    nodes = pb.CollectionDef.NodeList(value=["x"])
    pb.DataType.Value("DT_FLOAT")  # enums are EnumTypeWrapper objects
"""

from __future__ import annotations

import os
import threading
from typing import Any

from google.protobuf import descriptor_pool, message_factory
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FileDescriptor
from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper
from google.protobuf.message import DecodeError, Message

__all__ = [
    "POOL",
    "FILES",
    "PACKAGE",
    "pb",
    "message_class",
    "message_descriptor",
    "enum_descriptor",
    "enum_value",
    "enum_name",
    "unpack_any",
    "pack_any",
    "ANY_TYPE_URL_PREFIX",
]

PACKAGE = "tensorflow"
ANY_TYPE_URL_PREFIX = "type.googleapis.com/"
_DESCRIPTOR_SET = os.path.join(os.path.dirname(__file__), "descriptors.binpb")
# Packages tried, in order, when a name is not fully qualified.
_SEARCH_PREFIXES = ("", f"{PACKAGE}.", "google.protobuf.")


def _split_file_set(data: bytes) -> list[bytes]:
    """The serialized FileDescriptorProtos of a FileDescriptorSet (field 1, repeated bytes).

    Done by hand so that loading needs neither descriptor_pb2 nor a message parse.
    """
    files: list[bytes] = []
    pos, end = 0, len(data)
    while pos < end:
        if data[pos] != 0x0A:  # field 1, wire type 2
            raise ValueError(f"{_DESCRIPTOR_SET}: unexpected tag {data[pos]:#x} at {pos}")
        pos += 1
        size = shift = 0
        while True:
            byte = data[pos]
            pos += 1
            size |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                break
        if pos + size > end:
            raise ValueError(f"{_DESCRIPTOR_SET}: truncated at {pos}")
        files.append(data[pos : pos + size])
        pos += size
    return files


def _load_pool() -> tuple[descriptor_pool.DescriptorPool, tuple[FileDescriptor, ...]]:
    with open(_DESCRIPTOR_SET, "rb") as f:
        data = f.read()
    pool = descriptor_pool.DescriptorPool()
    # protoc writes dependencies before the files that import them, as the pool requires
    files = tuple(pool.AddSerializedFile(serialized) for serialized in _split_file_set(data))
    return pool, files


POOL, FILES = _load_pool()

_lock = threading.Lock()
_classes: dict[str, type[Message]] = {}


def _resolve(name: str, find: Any) -> Any:
    for prefix in _SEARCH_PREFIXES:
        try:
            return find(prefix + name)
        except KeyError:
            continue
    raise KeyError(f"no protobuf type {name!r} in graphtui's descriptor pool")


def message_descriptor(name: str) -> Descriptor:
    """Descriptor of a message by full or short name ("MetaGraphDef", "CollectionDef.NodeList")."""
    result: Descriptor = _resolve(name, POOL.FindMessageTypeByName)
    return result


def enum_descriptor(name: str) -> EnumDescriptor:
    """Descriptor of an enum by full or short name ("DataType", "BundleHeaderProto.Endianness")."""
    result: EnumDescriptor = _resolve(name, POOL.FindEnumTypeByName)
    return result


def message_class(name: str) -> type[Message]:
    """The message class for a full or short name; created on first use, then cached."""
    cls = _classes.get(name)
    if cls is None:
        desc = message_descriptor(name)
        with _lock:
            cls = message_factory.GetMessageClass(desc)
            _classes[name] = cls
            _classes[desc.full_name] = cls
        # upb attaches nested classes itself; the pure-Python runtime does not
        for nested in desc.nested_types:
            if not hasattr(cls, nested.name):
                setattr(cls, nested.name, message_class(nested.full_name))
    return cls


def enum_value(enum_full_name: str, value_name: str) -> int:
    """Number of an enum value: ``enum_value("tensorflow.DataType", "DT_FLOAT") == 1``."""
    value = enum_descriptor(enum_full_name).values_by_name.get(value_name)
    if value is None:
        raise KeyError(f"{enum_full_name} has no value {value_name!r}")
    return int(value.number)


def enum_name(enum_full_name: str, number: int) -> str:
    """Name of an enum number: ``enum_name("tensorflow.DataType", 1) == "DT_FLOAT"``."""
    value = enum_descriptor(enum_full_name).values_by_number.get(number)
    if value is None:
        raise KeyError(f"{enum_full_name} has no value numbered {number}")
    return str(value.name)


def unpack_any(any_msg: Any) -> Message:
    """Decode a ``google.protobuf.Any`` into a message of the type its URL names.

    Raises LookupError when the type is not in our pool and DecodeError when the bytes do not
    parse as that type.
    """
    type_url: str = any_msg.type_url
    type_name = type_url.rpartition("/")[2]
    try:
        desc = POOL.FindMessageTypeByName(type_name)
    except KeyError:
        raise LookupError(f"Any holds an unknown type {type_url!r}") from None
    msg = message_class(desc.full_name)()
    try:
        msg.ParseFromString(any_msg.value)
    except DecodeError as exc:
        raise DecodeError(f"Any value of type {type_name} does not parse: {exc}") from exc
    return msg


def pack_any(msg: Message) -> Message:
    """Wrap a message in a ``google.protobuf.Any`` (TensorFlow's URL prefix, stable bytes)."""
    any_msg: Any = message_class("google.protobuf.Any")()
    any_msg.type_url = ANY_TYPE_URL_PREFIX + msg.DESCRIPTOR.full_name
    any_msg.value = msg.SerializeToString(deterministic=True)
    return any_msg


class _Messages:
    """Attribute access to message classes and enums: ``pb.MetaGraphDef``, ``pb.DataType``.

    Attributes resolve like :func:`message_class` (package ``tensorflow`` first) and are cached
    on the instance, so only the classes actually used are ever built.
    """

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            value: Any = message_class(name)
        except KeyError:
            try:
                value = EnumTypeWrapper(enum_descriptor(name))
            except KeyError:
                raise AttributeError(f"no message or enum {name!r} in graphtui's protos") from None
        setattr(self, name, value)
        return value

    def __dir__(self) -> list[str]:
        names: set[str] = set()
        for file_desc in FILES:
            if file_desc.package == PACKAGE:
                names.update(file_desc.message_types_by_name)
                names.update(file_desc.enum_types_by_name)
        return sorted(names)


pb = _Messages()
