"""Read and export ``.meta`` files, named after ``tf.compat.v1.train`` (no TensorFlow needed).

``read_meta_graph`` accepts what TensorFlow writes (binary or text format); ``export_meta_graph``
writes what TensorFlow reads, atomically, optionally without device placements or with only
some collections.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from google.protobuf.message import DecodeError

from graphtui._proto import pb
from graphtui.errors import FormatError
from graphtui.formats.atomic import atomic_write
from graphtui.formats.byte_source import is_url, read_file
from graphtui.formats.metagraph_io import (
    MAX_MESSAGE_BYTES,
    TOO_LARGE,
    looks_like_text,
    parse_binary_message,
    parse_meta_graph,
    serialize_meta_graph,
)
from graphtui.formats.node_bytes import NodeBytes, read_keeping_file
from graphtui.formats.node_scan import NodeTable, scan_meta_graph

_SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")

__all__ = [
    "read_meta_graph",
    "read_meta_graph_bytes",
    "open_meta_graph",
    "export_meta_graph",
    "clear_devices",
    "prepare_export",
    "strip_default_valued_attrs",
]


def read_meta_graph(path: str | os.PathLike[str]) -> Any:
    """The ``MetaGraphDef`` stored in ``path`` (binary or text format)."""
    path = os.fspath(path)
    return _parse(_read(path), path)


def read_meta_graph_bytes(path: str | os.PathLike[str]) -> tuple[Any, bytes | None]:
    """:func:`read_meta_graph`, and the file's bytes when it is binary: a write that leaves
    the graph as it is writes those bytes instead of serializing the message again."""
    path = os.fspath(path)
    data = _read(path)
    return _parse(data, path), None if looks_like_text(data) else data


def open_meta_graph(path: str | os.PathLike[str]) -> tuple[Any, NodeTable | None]:
    """``path``'s MetaGraphDef for indexing, its nodes left undecoded when that is possible.

    For a binary file the nodes are found by :func:`scan_meta_graph`: the message returned
    holds everything but ``graph_def.node``, and the table says where each node's bytes are
    (``GraphIndex`` decodes them on demand). Text files, and bytes the scanner does not read,
    are decoded whole (table None), with the same errors as :func:`read_meta_graph`. A local
    file stays open with the table, so that it can let its bytes go (``NodeTable.release``).
    """
    path = os.fspath(path)
    source = _read_keeping_file(path)
    data = source.data
    saved_model = os.path.basename(path) in _SAVED_MODEL_FILES  # decoded whole: says what it is
    table = None if saved_model or looks_like_text(data) else scan_meta_graph(source)
    if table is not None:
        head, tail = table.shell_parts()  # the tail (collections: MBs) decoded in place
        try:
            shell = parse_binary_message(head, "MetaGraphDef", path)
            shell.MergeFromString(tail)
        except (FormatError, DecodeError):
            pass  # decoded whole below, which says where the fault is in the file
        else:
            if len(table) or shell.ListFields():
                return shell, table
    return _parse(data, path), None


def _refuse_directory(path: str) -> None:
    if not is_url(path) and os.path.isdir(path):
        raise FormatError(path, "is a directory, expected a .meta file")


def _read(path: str) -> bytes:
    _refuse_directory(path)
    return read_file(path, missing="no such file", limit=MAX_MESSAGE_BYTES, too_large=TOO_LARGE)


def _read_keeping_file(path: str) -> NodeBytes:
    """:func:`_read`'s bytes; for a local file, with the file kept open to read them back."""
    if is_url(path):
        return NodeBytes(_read(path), path=path)
    _refuse_directory(path)
    return read_keeping_file(
        path, missing="no such file", limit=MAX_MESSAGE_BYTES, too_large=TOO_LARGE
    )


def _parse(data: bytes, path: str) -> Any:
    try:
        return parse_meta_graph(data, path)
    except FormatError:
        if os.path.basename(path) in _SAVED_MODEL_FILES:
            # its bytes are a SavedModel message: decoding them as a MetaGraphDef fails deep
            # inside ("string is not valid UTF-8"), which says nothing useful
            raise FormatError(
                path,
                "is a SavedModel (one MetaGraphDef per tag-set), not a meta graph file: "
                "give the SavedModel directory as the source, or a .meta file",
            ) from None
        raise


def export_meta_graph(
    mg: Any,
    path: str | os.PathLike[str],
    as_text: bool = False,
    clear_devices: bool = False,
    collection_list: Iterable[str] | None = None,
    strip_default_attrs: bool = False,
) -> Any:
    """Write ``mg`` to ``path`` atomically and return the ``MetaGraphDef`` written.

    ``clear_devices`` empties every node's device, in the graph and in its function library.
    ``collection_list`` keeps only the named collections (like TensorFlow, names the graph
    does not have are ignored). ``strip_default_attrs`` drops attrs equal to their op's default
    (see :func:`strip_default_valued_attrs`). ``mg`` itself is never modified.
    """
    out = prepare_export(
        mg,
        clear_devices=clear_devices,
        collection_list=collection_list,
        strip_default_attrs=strip_default_attrs,
    )
    atomic_write(path, serialize_meta_graph(out, as_text=as_text))
    return out


def prepare_export(
    mg: Any,
    *,
    clear_devices: bool = False,
    collection_list: Iterable[str] | None = None,
    strip_default_attrs: bool = False,
) -> Any:
    """``mg`` as ``export_meta_graph`` would write it (a copy when anything changes)."""
    out = mg
    if clear_devices or collection_list is not None or strip_default_attrs:
        out = pb.MetaGraphDef()
        out.CopyFrom(mg)
        if clear_devices:
            _clear_devices(out)
        if strip_default_attrs:
            strip_default_valued_attrs(out)
        if collection_list is not None:
            keep = set(collection_list)
            for key in [k for k in out.collection_def if k not in keep]:
                del out.collection_def[key]
    return out


def strip_default_valued_attrs(mg: Any) -> int:
    """Remove (in place) every node attr equal to its op's default, in the graph and its
    function library, as ``export_meta_graph(strip_default_attrs=True)`` does; return how many.

    TF looks the defaults up in its op registry; without TF they come from the graph's own
    ``meta_info_def.stripped_op_list`` (the registry's OpDefs TF wrote for the ops used). A node
    whose op is not listed, or is a function of the library, is left as it is (TF leaves
    unregistered ops and function calls alone too)."""
    defaults: dict[str, dict[str, Any]] = {}
    for op_def in mg.meta_info_def.stripped_op_list.op:
        defaults[op_def.name] = {
            a.name: a.default_value for a in op_def.attr if a.HasField("default_value")
        }
    functions = {f.signature.name for f in mg.graph_def.library.function}
    removed = 0

    def strip(node: Any) -> int:
        known = defaults.get(node.op)
        if known is None or node.op in functions:
            return 0
        names = [k for k, v in node.attr.items() if k in known and v == known[k]]
        for name in names:
            del node.attr[name]
        return len(names)

    for node in mg.graph_def.node:
        removed += strip(node)
    for function in mg.graph_def.library.function:
        for node in function.node_def:
            removed += strip(node)
    mg.meta_info_def.stripped_default_attrs = True
    return removed


def clear_devices(mg: Any) -> Any:
    """A copy of ``mg`` with every node device emptied (graph and function library)."""
    out = pb.MetaGraphDef()
    out.CopyFrom(mg)
    _clear_devices(out)
    return out


def _clear_devices(mg: Any) -> None:
    for node in mg.graph_def.node:
        node.device = ""
    for function in mg.graph_def.library.function:
        for node in function.node_def:
            node.device = ""
