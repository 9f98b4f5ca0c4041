"""Read and export ``.meta`` files, named after ``tf.compat.v1.train`` (no TensorFlow needed).

``read_meta_graph`` accepts what TensorFlow writes (binary or text format); ``export_meta_graph``
writes what TensorFlow reads, atomically, optionally without device placements or with only
some collections.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from graphtui._proto import pb
from graphtui.errors import FormatError
from graphtui.formats.atomic import atomic_write
from graphtui.formats.byte_source import is_url, read_file
from graphtui.formats.metagraph_io import parse_meta_graph, serialize_meta_graph

__all__ = ["read_meta_graph", "export_meta_graph", "clear_devices", "prepare_export"]


def read_meta_graph(path: str | os.PathLike[str]) -> Any:
    """The ``MetaGraphDef`` stored in ``path`` (binary or text format)."""
    path = os.fspath(path)
    if not is_url(path) and os.path.isdir(path):
        raise FormatError(path, "is a directory, expected a .meta file")
    data = read_file(path, missing="no such file")
    return parse_meta_graph(data, path)


def export_meta_graph(
    mg: Any,
    path: str | os.PathLike[str],
    as_text: bool = False,
    clear_devices: bool = False,
    collection_list: Iterable[str] | None = None,
) -> Any:
    """Write ``mg`` to ``path`` atomically and return the ``MetaGraphDef`` written.

    ``clear_devices`` empties every node's device, in the graph and in its function library.
    ``collection_list`` keeps only the named collections (like TensorFlow, names the graph
    does not have are ignored). ``mg`` itself is never modified.
    """
    out = prepare_export(mg, clear_devices=clear_devices, collection_list=collection_list)
    atomic_write(path, serialize_meta_graph(out, as_text=as_text))
    return out


def prepare_export(
    mg: Any, *, clear_devices: bool = False, collection_list: Iterable[str] | None = None
) -> Any:
    """``mg`` as ``export_meta_graph`` would write it (a copy when anything changes)."""
    out = mg
    if clear_devices or collection_list is not None:
        out = pb.MetaGraphDef()
        out.CopyFrom(mg)
        if clear_devices:
            _clear_devices(out)
        if collection_list is not None:
            keep = set(collection_list)
            for key in [k for k in out.collection_def if k not in keep]:
                del out.collection_def[key]
    return out


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
