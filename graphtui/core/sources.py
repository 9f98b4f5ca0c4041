"""What a write command starts from: a checkpoint prefix and/or its meta graph."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from graphtui.core.checkpoint import CheckpointReader, resolve_checkpoint
from graphtui.core.metagraph import read_meta_graph
from graphtui.errors import GraphtuiError, MissingFileError


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
    """SRC is a checkpoint prefix (its ``SRC.meta`` used when present), a ``.index`` path, a
    directory (its latest checkpoint), or a ``.meta`` file alone; ``meta`` overrides the graph."""
    prefix: str | None
    try:
        _, prefix = resolve_checkpoint(src)
    except GraphtuiError:
        if src.endswith(".meta") and os.path.isfile(src):
            prefix = None
            meta = meta or src
            stem = src[: -len(".meta")]
            if os.path.isfile(stem + ".index"):
                prefix = stem
        else:
            raise
    meta_path = meta
    if meta_path is None and want_meta and prefix is not None and os.path.isfile(prefix + ".meta"):
        meta_path = prefix + ".meta"
    mg = read_meta_graph(meta_path) if (meta_path and want_meta) else None
    return Source(prefix=prefix, meta_path=meta_path if want_meta else None, meta_graph=mg)
