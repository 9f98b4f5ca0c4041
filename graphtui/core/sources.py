"""What a write command starts from: a checkpoint prefix and/or its meta graph."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphtui.core.checkpoint import CheckpointReader
from graphtui.core.locate import locate
from graphtui.errors import MissingFileError


@dataclass
class Source:
    prefix: str | None  # checkpoint prefix (None: a meta graph alone)
    meta_path: str | None
    meta_graph: Any  # MetaGraphDef or None

    def reader(self) -> CheckpointReader:
        if self.prefix is None:
            raise MissingFileError(self.meta_path, "no checkpoint beside this meta graph")
        return CheckpointReader(self.prefix)

    @property
    def paths(self) -> list[str]:
        return [p for p in (self.prefix, self.meta_path) if p]


def open_source(src: str, meta: str | None = None, *, want_meta: bool = True) -> Source:
    """SRC is what :func:`~graphtui.core.locate.locate` accepts: a checkpoint prefix (its
    ``SRC.meta`` used when present), a ``.index`` path, a directory (its latest checkpoint), a
    SavedModel (its variables) or a graph file alone (``.meta``, ``.pbtxt``); ``meta`` overrides
    the graph."""
    located = locate(src)
    prefix = located.prefix
    if prefix is None and located.kind != "meta":
        located.checkpoint()  # raises what is missing
    meta_path = meta or located.meta
    mg = None
    if meta_path and want_meta:
        from graphtui.core.metagraph import read_meta_graph  # the graph code: only for a graph

        mg = read_meta_graph(meta_path)
    return Source(prefix=prefix, meta_path=meta_path if want_meta else None, meta_graph=mg)
