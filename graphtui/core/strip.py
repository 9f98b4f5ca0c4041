"""Strip variables (optimizer slots, moving averages) from a checkpoint and its meta graph."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from graphtui._proto import pb
from graphtui.core.ckpt_write import OBJECT_GRAPH_KEY, copy_tensors
from graphtui.core.graph_edit import drop_from_collections, drop_saver_entries
from graphtui.core.output import WriteResult, write_checkpoint
from graphtui.core.saver_upgrade import with_v2_saver
from graphtui.core.sources import open_source
from graphtui.errors import CoreError
from graphtui.formats.transaction import OnStep


@dataclass
class StripReport:
    dropped: list[str] = field(default_factory=list)  # checkpoint keys removed
    kept: int = 0
    bytes_dropped: int = 0
    bytes_kept: int = 0
    graph_variables_dropped: list[str] = field(default_factory=list)
    collection_items_dropped: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "dropped": self.dropped,
            "kept": self.kept,
            "bytes_dropped": self.bytes_dropped,
            "bytes_kept": self.bytes_kept,
            "graph_variables_dropped": self.graph_variables_dropped,
            "collection_items_dropped": self.collection_items_dropped,
        }


def matcher(patterns: Sequence[str]) -> Any:
    """A key predicate from shell globs (``*/Adam*``); ``*`` also crosses ``/``."""
    if not patterns:
        raise CoreError("strip needs at least one --drop pattern")

    def match(key: str) -> bool:
        return key != OBJECT_GRAPH_KEY and any(fnmatch.fnmatchcase(key, p) for p in patterns)

    return match


def strip(
    src: str,
    out: str,
    patterns: Sequence[str],
    *,
    meta: str | None = None,
    on_step: OnStep | None = None,
) -> tuple[StripReport, WriteResult]:
    """``graphtui strip``: write ``out`` without the checkpoint keys the patterns match."""
    drop = matcher(patterns)
    source = open_source(src, meta)
    report = StripReport()
    with source.reader() as reader:
        plan: dict[str, str] = {}
        for info in reader.tensors():
            if drop(info.name):
                report.dropped.append(info.name)
                report.bytes_dropped += info.nbytes
            else:
                plan[info.name] = info.name
                report.kept += 1
                report.bytes_kept += info.nbytes
        if not report.dropped:
            raise CoreError(
                f"{reader.prefix}: no checkpoint key matches " + ", ".join(map(repr, patterns))
            )
        if not [name for name in plan if name != OBJECT_GRAPH_KEY]:
            raise CoreError(
                f"{reader.prefix}: the patterns match every tensor; nothing would be left"
            )
        graph = None
        notes: list[str] = []
        if source.meta_graph is not None:
            # a V1 saver (per-variable RestoreSlice ops) becomes TF's V2 one first: the
            # output is V2, and RestoreV2's lists can lose entries
            graph, notes = with_v2_saver(source.meta_graph)
            if graph is source.meta_graph:
                graph = pb.MetaGraphDef()
                graph.CopyFrom(source.meta_graph)
            dropped_vars = drop_saver_entries(graph, drop)
            report.graph_variables_dropped = sorted(dropped_vars)
            report.collection_items_dropped = drop_from_collections(graph, dropped_vars)
        result = write_checkpoint(
            out,
            sources=source.paths,
            fill=lambda writer: copy_tensors(reader, writer, plan),
            meta_graph=graph,
            on_step=on_step,
        )
        result.notes = notes + result.notes
    return report, result
