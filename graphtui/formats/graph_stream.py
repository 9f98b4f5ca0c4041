"""Write a binary ``GraphDef`` whose large ``Const`` values come straight from other buffers (a
checkpoint's mapped data) instead of being copied into the message, serialised into one more
copy and written: on a frozen graph of 130 MiB of constants those copies (and the page faults
of each fresh 130 MiB buffer) were most of the time.

The file holds exactly the bytes ``SerializeToString(deterministic=True)`` gives for the graph
with the values in place: each node is serialised by protobuf, a streamed value is appended as
the node's last ``attr`` map entry (``"value"`` sorts after every other attr of a ``Const``), and
the nodes are written with ``writev`` in batches, the values' bytes by address.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import IO, Any

from graphtui.formats._buffer import Buffer
from graphtui.formats.varint import encode_varint

_IOV_MAX = 1024
_LEN = 2  # wire type of length-delimited fields


_SMALL = [bytes((n,)) for n in range(0x80)]


def _varint(n: int) -> bytes:
    """``encode_varint`` with the one- to three-byte cases (tags, most lengths) inline: it runs
    several times per node."""
    if n < 0x80:
        return _SMALL[n]
    if n < 0x4000:
        return bytes((n & 0x7F | 0x80, n >> 7))
    if n < 0x200000:
        return bytes((n & 0x7F | 0x80, n >> 7 & 0x7F | 0x80, n >> 14))
    return encode_varint(n)


def _field(number: int, payload_len: int) -> bytes:
    """The tag and length that start a length-delimited field of ``payload_len`` bytes."""
    return _varint(number << 3 | _LEN) + _varint(payload_len)


class StreamedValue:
    """A ``Const`` node's ``value`` attr: a serialised ``TensorProto`` without its
    ``tensor_content`` (dtype and shape) and the content bytes to put in it (bytes or a
    memoryview of bytes)."""

    __slots__ = ("content", "header")

    def __init__(self, header: bytes, content: Buffer) -> None:
        self.header = header
        self.content = content

    def prefix(self, numbers: tuple[int, int, int, int]) -> tuple[bytes, int]:
        """The bytes of the map entry up to the content, and the entry's whole length."""
        attr_field, tensor_field, content_field, _ = numbers
        n = len(self.content)
        tensor = self.header + (_field(content_field, n) if n else b"")
        tensor_len = len(tensor) + n
        attr_value = _field(tensor_field, tensor_len)
        attr_len = len(attr_value) + tensor_len
        key = b"value"
        entry_head = _field(1, len(key)) + key + _field(2, attr_len)
        entry_len = len(entry_head) + attr_len
        head = _field(attr_field, entry_len) + entry_head + attr_value + tensor
        return head, len(head) + n


def _numbers(pb: Any) -> tuple[int, int, int, int]:
    return (
        pb.NodeDef.DESCRIPTOR.fields_by_name["attr"].number,
        pb.AttrValue.DESCRIPTOR.fields_by_name["tensor"].number,
        pb.TensorProto.DESCRIPTOR.fields_by_name["tensor_content"].number,
        pb.GraphDef.DESCRIPTOR.fields_by_name["node"].number,
    )


def write_graph_def(
    f: IO[bytes],
    graph: Any,
    values: Mapping[str, StreamedValue],
    on_bytes: Callable[[int], None] | None = None,
) -> int:
    """Write ``graph`` to the binary file ``f``; the nodes named in ``values`` (which must have
    no ``value`` attr of their own) get theirs from it. Returns the bytes written;
    ``on_bytes`` is told how many content bytes each batch wrote."""
    from graphtui._proto import pb

    numbers = _numbers(pb)
    node_field = numbers[3]
    rest = pb.GraphDef()
    for desc, value in graph.ListFields():
        if desc.name != "node":
            getattr(rest, desc.name).CopyFrom(value)
    f.flush()
    fd = f.fileno()
    batch: list[Buffer] = []
    batch_content = 0
    total = 0

    def flush() -> None:
        nonlocal batch_content, total
        total += _writev_all(fd, batch)
        if on_bytes is not None and batch_content:
            on_bytes(batch_content)
        batch.clear()
        batch_content = 0

    pending = bytearray()  # consecutive small pieces, joined so a batch is not all tiny iovecs
    for node in graph.node:
        data = node.SerializeToString(deterministic=True)
        value = values.get(node.name)
        if value is None:
            pending += _field(node_field, len(data))
            pending += data
            continue
        head, entry_len = value.prefix(numbers)
        pending += _field(node_field, len(data) + entry_len)
        pending += data
        pending += head
        batch.append(bytes(pending))
        pending.clear()
        batch.append(value.content)
        batch_content += entry_len - len(head)
        if len(batch) >= _IOV_MAX - 1:
            flush()
    pending += rest.SerializeToString(deterministic=True)
    batch.append(bytes(pending))
    flush()
    return total


def _writev_all(fd: int, buffers: list[Buffer]) -> int:
    """``os.writev`` until every byte is written (a regular file may take fewer at a time)."""
    views = [b for b in buffers if len(b)]
    total = sum(len(v) for v in views)
    first = 0
    while first < len(views):
        done = os.writev(fd, views[first : first + _IOV_MAX])
        while first < len(views) and done >= len(views[first]):
            done -= len(views[first])
            first += 1
        if done:
            views[first] = memoryview(views[first])[done:]
    return total
