"""Rename scopes consistently through a meta graph and its checkpoint.

Modes: ``all`` (graph, collections, saver and checkpoint keys: the result shows the new names
everywhere), ``graph`` (what ``import_meta_graph(import_scope=...)`` does: checkpoint keys stay)
and ``checkpoint`` (keys only, no meta graph needed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphtui._proto import pb
from graphtui.core.ckpt_write import OBJECT_GRAPH_KEY, copy_tensors, plan_keys
from graphtui.core.graph_edit import RenameReport, rename_graph
from graphtui.core.names import ScopeMap
from graphtui.core.output import WriteResult, write_checkpoint
from graphtui.core.sources import open_source
from graphtui.core.write_check import Expected
from graphtui.errors import ConflictError, CoreError
from graphtui.formats.transaction import OnStep

MODES = ("all", "graph", "checkpoint")


@dataclass
class RenamePlan:
    mode: str
    graph: Any  # renamed MetaGraphDef (None in checkpoint mode or without a graph)
    key_plan: dict[str, str]  # old -> new checkpoint key (identity where unchanged)
    report: RenameReport = field(default_factory=RenameReport)

    @property
    def renamed_keys(self) -> dict[str, str]:
        return {k: v for k, v in self.key_plan.items() if k != v}


def plan_rename(
    scopes: ScopeMap, meta_graph: Any, checkpoint_names: list[str] | None, mode: str = "all"
) -> RenamePlan:
    """Compute the renamed graph and key mapping; ConflictError lists every conflict."""
    if mode not in MODES:
        raise CoreError(f"unknown rename mode {mode!r}")
    report = RenameReport()
    graph = None
    if meta_graph is not None and mode != "checkpoint":
        graph = pb.MetaGraphDef()
        graph.CopyFrom(meta_graph)
        rename_graph(graph, scopes, rename_keys=scopes if mode == "all" else None, report=report)
    key_plan: dict[str, str] = {}
    if checkpoint_names is not None:
        rename_keys = mode != "graph"
        try:
            key_plan = plan_keys(
                checkpoint_names, (lambda k: scopes(k)) if rename_keys else (lambda k: k)
            )
        except ConflictError as exc:
            report.conflicts.extend(exc.conflicts)
        report.checkpoint_keys = sum(1 for k, v in key_plan.items() if k != v)
    touched = report.nodes or any(k != v for k, v in key_plan.items() if k != OBJECT_GRAPH_KEY)
    if not touched and not report.conflicts:
        raise CoreError(
            "nothing to rename: no node or checkpoint key is under "
            + ", ".join(repr(old) for old, _ in scopes.pairs)
        )
    if report.conflicts:
        raise ConflictError(
            "refused: the rename has conflicts, nothing was written", report.conflicts
        )
    return RenamePlan(mode, graph, key_plan, report)


def rename(
    src: str,
    out: str,
    scopes: ScopeMap,
    *,
    mode: str = "all",
    meta: str | None = None,
    on_step: OnStep | None = None,
) -> tuple[RenamePlan, WriteResult]:
    """``graphtui rename``: write the renamed meta graph and checkpoint to ``out``."""
    source = open_source(src, meta, want_meta=mode != "checkpoint")
    if mode == "graph" and source.meta_graph is None:
        raise CoreError(f"{src}: --graph-only needs a meta graph (SRC.meta or --meta)")
    reader = source.reader() if source.prefix else None
    try:
        names = reader.names() if reader else None
        plan = plan_rename(scopes, source.meta_graph, names, mode)
        fill = None
        if reader is not None:

            def fill(writer: Any) -> dict[str, Expected]:
                return copy_tensors(reader, writer, plan.key_plan)

        result = write_checkpoint(
            out, sources=source.paths, fill=fill, meta_graph=plan.graph, on_step=on_step
        )
    finally:
        if reader is not None:
            reader.close()
    return plan, result
