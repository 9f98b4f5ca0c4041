"""Every write, one contract: ``plan(request) -> Plan`` and ``apply(plan, on_step) -> WriteResult``.

``plan`` reads what it needs and writes nothing: the preview rows, the counts, the report of the
write and the conflicts that would make :func:`apply` refuse. Errors that make even a preview
impossible (no such file, nothing to rename) raise. ``apply`` writes atomically, verifies what it
wrote and returns the one result type, :class:`~graphtui.core.output.WriteResult` (the
operation's own report in ``result.report``); it raises :class:`ConflictError` (with
``.conflicts``) when the plan has conflicts, and never writes over a source.

``on_step(what)`` is told each step of the write ("write model.ckpt.index", ...): progress for a
UI, and the hook tests use to fail the writer at every step.

The CLI's write commands and the app's dialogs are thin over this module; a new write adds a
request dataclass, a ``_plan_*`` and an ``_apply_*`` here, registered in ``_OPERATIONS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from graphtui.core.output import WriteResult
from graphtui.errors import ConflictError, CoreError
from graphtui.formats.transaction import OnStep

OperationKind = Literal[
    "restore", "rename", "strip", "export", "rollback", "fix-paths", "freeze", "convert"
]
RenameMode = Literal["all", "graph", "checkpoint"]

__all__ = [
    "ConvertRequest",
    "ExportRequest",
    "FixPathsRequest",
    "FreezeRequest",
    "OnStep",
    "OperationKind",
    "Plan",
    "PlanRow",
    "RenameMode",
    "RenameRequest",
    "RestoreRequest",
    "RollbackRequest",
    "StripRequest",
    "WriteResult",
    "apply",
    "line_diff",
    "plan",
]


# -- requests -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RestoreRequest:
    """Bind checkpoint ``checkpoint``'s values to graph ``meta``'s variables through ``amap``
    (``init_from_checkpoint`` maps: checkpoint scope -> graph scope)."""

    meta: str
    checkpoint: str
    amap: tuple[tuple[str, str], ...]
    out: str
    allow_missing: bool = False
    reshape: bool = False
    graph: Any = field(default=None, compare=False)  # ``meta`` already read (the app's workspace)


@dataclass(frozen=True)
class RenameRequest:
    """Rename scopes (``old`` -> ``new`` pairs) in the graph and/or the checkpoint of ``src``."""

    src: str
    out: str
    pairs: tuple[tuple[str, str], ...]
    mode: RenameMode = "all"
    meta: str | None = None
    graph: Any = field(default=None, compare=False)  # ``meta`` already read (the app's workspace)


@dataclass(frozen=True)
class StripRequest:
    """Drop the checkpoint keys matching ``patterns`` (globs; ``*`` crosses ``/``)."""

    src: str
    out: str
    patterns: tuple[str, ...]
    meta: str | None = None


@dataclass(frozen=True)
class ExportRequest:
    """Re-export ``src`` (text or binary ``.meta``, devices cleared, a subset of collections:
    None keeps them all, ``()`` none)."""

    src: str
    out: str
    as_text: bool = False
    clear_devices: bool = False
    collections: tuple[str, ...] | None = None
    meta: str | None = None
    strip_default_attrs: bool = False
    graph: Any = field(default=None, compare=False)  # ``meta`` already read (the app's workspace)


@dataclass(frozen=True)
class RollbackRequest:
    """Make checkpoint ``target`` (a step or a prefix) of ``directory`` the latest."""

    directory: str
    target: str


@dataclass(frozen=True)
class FixPathsRequest:
    """Rewrite ``directory``'s state file paths as relative (after the directory moved)."""

    directory: str


if TYPE_CHECKING:
    from graphtui.core.convert import ConvertRequest
    from graphtui.core.copy_ahead import CopyAhead
    from graphtui.core.freeze import FreezeRequest

    Request = (
        RestoreRequest
        | RenameRequest
        | StripRequest
        | ExportRequest
        | RollbackRequest
        | FixPathsRequest
        | FreezeRequest
        | ConvertRequest
    )


def __getattr__(name: str) -> Any:
    """Freeze's and convert's requests, re-exported: their modules (the graph code, numpy) are
    imported when asked for, so the other writes start without them."""
    if name == "ConvertRequest":
        from graphtui.core.convert import ConvertRequest

        return ConvertRequest
    if name == "FreezeRequest":
        from graphtui.core.freeze import FreezeRequest

        return FreezeRequest
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# -- the plan -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanRow:
    """One preview line: ``kind`` (matched, missing, drop, key, +, -, ...), a name, a detail."""

    kind: str
    name: str
    detail: str = ""


@dataclass
class Plan:
    """What a write would do; nothing has been written."""

    kind: OperationKind
    request: Any
    target: str  # the prefix, file or state file that would be written
    counts: dict[str, int] = field(default_factory=dict)  # e.g. {"matched": 8, "missing": 1}
    rows: list[PlanRow] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)  # why apply would refuse (one per line)
    refusal: str = ""  # the one-line reason for the conflicts
    report: Any = None  # the operation's own report (``to_json()``), as the CLI prints it
    state: Any = field(default=None, repr=False)  # what apply needs beyond the request

    @property
    def ok(self) -> bool:
        return not self.conflicts and not self.refusal

    def refuse(self) -> None:
        """Raise the ConflictError apply raises for this plan (nothing is written)."""
        if not self.ok:
            raise ConflictError(self.refusal or "refused: nothing was written", self.conflicts)


def plan(request: Request) -> Plan:
    """What ``request`` would write (see the module docstring)."""
    planner, _ = _operation(request)
    return planner(request)


def apply(plan: Plan, on_step: OnStep | None = None) -> WriteResult:
    """Write what ``plan`` describes (refused with ConflictError when it has conflicts)."""
    plan.refuse()
    _, applier = _operation(plan.request)
    return applier(plan, on_step)


def run(request: Request, on_step: OnStep | None = None) -> WriteResult:
    """``apply(plan(request), on_step)``, for a caller that writes without showing the plan
    first (the command line): a restore's data copy then begins while it is planned
    (:mod:`graphtui.core.copy_ahead`; the same files either way)."""
    if type(request) is not RestoreRequest or request.graph is not None:
        return apply(plan(request), on_step)
    from graphtui.core.copy_ahead import copying_ahead

    with copying_ahead(
        request.checkpoint, request.amap, request.out, [request.meta], on_step
    ) as ahead:
        planned = plan(request)
        planned.refuse()
        return _apply_restore(planned, on_step, ahead)


# -- restore --------------------------------------------------------------------------------------


def _plan_restore(request: RestoreRequest) -> Plan:
    from graphtui.core.checkpoint import CheckpointReader
    from graphtui.core.metagraph import read_meta_graph_bytes
    from graphtui.core.restore import plan_restore

    meta_graph, meta_bytes = (
        (request.graph, None) if request.graph is not None else read_meta_graph_bytes(request.meta)
    )
    result = Plan("restore", request, request.out)
    with CheckpointReader(request.checkpoint) as reader:
        sources = [p for p in (request.meta, reader.prefix) if p]
        try:  # planned with allow_missing so the report lists what is missing either way
            restore_plan = plan_restore(
                meta_graph,
                reader,
                list(request.amap),
                allow_missing=True,
                reshape=request.reshape,
                meta_bytes=meta_bytes,
            )
        except ConflictError as exc:  # dtype or shape mismatches: no report to show
            result.conflicts, result.refusal = list(exc.conflicts), exc.summary
            return result
    report = restore_plan.report
    result.report = report
    result.counts = {
        "matched": len(report.matched),
        "missing": len(report.missing),
        "initialized": len(report.initialized),
        "unused": len(report.unused),
        "mismatched": len(report.mismatched),
        "reshaped": len(report.reshaped),
    }
    for a in report.matched:
        part = (
            ""
            if a.extents is None
            else " [" + ", ".join(f"{s}:{s + n}" for s, n in a.extents) + "]"
        )
        result.rows.append(PlanRow("matched", a.variable, f"← {a.key}{part}"))
    result.rows += [PlanRow("reshaped", r) for r in report.reshaped]
    result.rows += [
        PlanRow("initialized", v, "from its constant initializer") for v in report.initialized
    ]
    note = "left to its initializer" if request.allow_missing else "no value: refused"
    result.rows += [PlanRow("missing", v, note) for v in report.missing]
    result.rows += [PlanRow("unused", k, "checkpoint tensor nothing takes") for k in report.unused]
    result.rows += [
        PlanRow("not mapped", v, "a plain tf.Variable: scope maps skip it, as TF's do")
        for v in report.not_in_store
    ]
    result.rows += [
        PlanRow("assumed", v, "mapped by scope; the graph does not show tf.get_variable made it")
        for v in report.assumed_in_store
    ]
    if report.missing and not request.allow_missing:
        result.conflicts = list(report.missing)
        result.refusal = (
            "refused: graph variables would have no value (use --allow-missing to leave them to "
            "their initializers), nothing was written"
        )
    result.state = (restore_plan, sources)  # apply writes it: missing ones are allowed or refused
    return result


def _apply_restore(
    plan: Plan, on_step: OnStep | None, ahead: CopyAhead | None = None
) -> WriteResult:
    from graphtui.core.restore import write_restored

    restore_plan, sources = plan.state
    result = write_restored(restore_plan, plan.request.out, sources, on_step=on_step, ahead=ahead)
    result.report = restore_plan.report
    return result


# -- rename ---------------------------------------------------------------------------------------


def _plan_rename(request: RenameRequest) -> Plan:
    from graphtui.core.names import ScopeMap
    from graphtui.core.rename import plan_rename
    from graphtui.core.sources import open_source

    want_meta = request.mode != "checkpoint"
    source = open_source(request.src, request.meta, want_meta=want_meta and request.graph is None)
    meta_graph = request.graph if want_meta and request.graph is not None else source.meta_graph
    if request.mode == "graph" and meta_graph is None:
        raise CoreError(f"{request.src}: --graph-only needs a meta graph (SRC.meta or --meta)")
    names = None
    if source.prefix:
        with source.reader() as reader:
            names = reader.names()
    result = Plan("rename", request, request.out)
    try:
        rename_plan = plan_rename(ScopeMap(list(request.pairs)), meta_graph, names, request.mode)
    except ConflictError as exc:
        result.conflicts, result.refusal = list(exc.conflicts), exc.summary
        return result
    report = rename_plan.report
    result.report = rename_plan
    result.counts = {
        "nodes": report.nodes,
        "inputs": report.inputs,
        "collection items": report.collection_items,
        "saver fields": report.saver_fields,
        "signature tensors": report.signature_tensors,
        "checkpoint keys": report.checkpoint_keys,
    }
    result.rows = [PlanRow("count", label, str(n)) for label, n in result.counts.items()]
    result.rows += [
        PlanRow("key", old, f"→ {new}") for old, new in rename_plan.renamed_keys.items()
    ]
    return result


def _apply_rename(plan: Plan, on_step: OnStep | None) -> WriteResult:
    from graphtui.core.names import ScopeMap
    from graphtui.core.rename import rename

    request: RenameRequest = plan.request
    rename_plan, result = rename(
        request.src,
        request.out,
        ScopeMap(list(request.pairs)),
        mode=request.mode,
        meta=request.meta,
        on_step=on_step,
    )
    result.report = rename_plan
    return result


# -- strip ----------------------------------------------------------------------------------------


def _plan_strip(request: StripRequest) -> Plan:
    from graphtui.core.sources import open_source
    from graphtui.core.strip import StripReport, matcher
    from graphtui.core.units import human_bytes

    if not request.patterns:
        raise CoreError("strip needs at least one pattern (--drop GLOB)")
    drop = matcher(list(request.patterns))
    source = open_source(request.src, request.meta, want_meta=False)
    report = StripReport()
    result = Plan("strip", request, request.out, report=report)
    with source.reader() as reader:
        for info in reader.tensors():
            if drop(info.name):
                report.dropped.append(info.name)
                report.bytes_dropped += info.nbytes
                result.rows.append(PlanRow("drop", info.name, human_bytes(info.nbytes)))
            else:
                report.kept += 1
                report.bytes_kept += info.nbytes
        where = reader.prefix
    result.counts = {"dropped": len(report.dropped), "kept": report.kept}
    if not report.dropped:
        result.refusal = f"{where}: no checkpoint key matches " + ", ".join(
            map(repr, request.patterns)
        )
    elif not report.kept:
        result.refusal = f"{where}: the patterns match every tensor; nothing would be left"
    return result


def _apply_strip(plan: Plan, on_step: OnStep | None) -> WriteResult:
    from graphtui.core.strip import strip

    request: StripRequest = plan.request
    report, result = strip(
        request.src, request.out, list(request.patterns), meta=request.meta, on_step=on_step
    )
    result.report = report
    return result


# -- export ---------------------------------------------------------------------------------------


def _plan_export(request: ExportRequest) -> Plan:
    from graphtui.core.collections import CollectionTable
    from graphtui.core.sources import open_source

    source = open_source(request.src, request.meta, want_meta=request.graph is None)
    meta_graph = request.graph if request.graph is not None else source.meta_graph
    result = Plan("export", request, request.out, state=meta_graph is not None)
    if source.prefix is not None:
        with source.reader() as reader:
            infos = reader.tensors()
        result.counts = {"tensors": len(infos), "bytes": sum(i.nbytes for i in infos)}
    if meta_graph is not None:
        names = CollectionTable(meta_graph).keys()
        kept = names if request.collections is None else list(request.collections)
        result.counts["collections"] = len(names)
        result.counts["collections kept"] = sum(1 for n in names if n in kept)
        result.rows = [PlanRow("keep" if n in kept else "drop", n, "collection") for n in names]
    return result


def _apply_export(plan: Plan, on_step: OnStep | None) -> WriteResult:
    from graphtui.core.export import export

    request: ExportRequest = plan.request
    # an empty selection keeps no collection; None keeps them all
    collections: list[str] | None = (
        None if request.collections is None else list(request.collections) or [""]
    )
    return export(
        request.src,
        request.out,
        as_text=request.as_text,
        clear_devices=request.clear_devices,
        collections=collections,
        meta=request.meta,
        strip_default_attrs=request.strip_default_attrs,
        on_step=on_step,
    )


# -- the state file -------------------------------------------------------------------------------


def line_diff(before: str, after: str) -> list[tuple[Literal[" ", "-", "+"], str]]:
    """Two texts' lines: kept (``" "``), removed (``"-"``), added (``"+"``)."""
    import difflib

    out: list[tuple[Literal[" ", "-", "+"], str]] = []
    for line in difflib.ndiff(before.splitlines(), after.splitlines()):
        text = line[2:]
        if line.startswith(" "):
            out.append((" ", text))
        elif line.startswith("-"):
            out.append(("-", text))
        elif line.startswith("+"):
            out.append(("+", text))
    return out


def _state_plan(kind: OperationKind, request: Any, change: Any) -> Plan:
    result = Plan(kind, request, change.state_file, report=change, state=change)
    detail = {" ": "", "-": "removed", "+": "added"}
    result.rows = [
        PlanRow("state" if tag == " " else tag, text, detail[tag])
        for tag, text in line_diff(change.before, change.after)
    ]
    result.counts = {"changes": sum(1 for r in result.rows if r.kind in "+-")}
    return result


def _plan_rollback(request: RollbackRequest) -> Plan:
    from graphtui.core.state_ops import rollback

    return _state_plan(
        "rollback", request, rollback(request.directory, request.target, dry_run=True)
    )


def _plan_fix_paths(request: FixPathsRequest) -> Plan:
    from graphtui.core.state_ops import fix_paths

    return _state_plan("fix-paths", request, fix_paths(request.directory, dry_run=True))


def _state_result(change: Any) -> WriteResult:
    changed = change.after != change.before
    return WriteResult(
        prefix=change.state_file,
        files=[change.state_file] if changed else [],
        state_file=change.state_file if changed else None,
        report=change,
    )


def _apply_rollback(plan: Plan, on_step: OnStep | None) -> WriteResult:
    from graphtui.core.state_ops import rollback

    request: RollbackRequest = plan.request
    return _state_result(rollback(request.directory, request.target, on_step=on_step))


def _apply_fix_paths(plan: Plan, on_step: OnStep | None) -> WriteResult:
    from graphtui.core.state_ops import fix_paths

    request: FixPathsRequest = plan.request
    return _state_result(fix_paths(request.directory, on_step=on_step))


# -- freeze and convert (their own plan/apply, adapted) ---------------------------------------------


def _steps(on_step: OnStep | None) -> Callable[[int, int, str], None] | None:
    if on_step is None:
        return None

    def step(done: int, total: int, what: str) -> None:
        on_step(f"{done}/{total} {what}")

    return step


def _plan_freeze(request: FreezeRequest) -> Plan:
    from graphtui.core.freeze import plan_freeze

    frozen = plan_freeze(request)
    result = Plan("freeze", request, request.out or "", report=frozen, state=frozen)
    result.counts = {
        "nodes before": frozen.nodes_before,
        "nodes after": frozen.nodes_after,
        "variables": len(frozen.variables),
        "bytes": frozen.const_bytes,
    }
    result.rows = [PlanRow("const", v.node, f"← {v.key}") for v in frozen.variables]
    result.rows += [PlanRow("unresolved", u) for u in frozen.unresolved]
    if frozen.problems:
        result.conflicts = list(frozen.problems)
        result.refusal = "refused: the graph cannot be frozen, nothing was written"
    return result


def _apply_freeze(plan: Plan, on_step: OnStep | None) -> WriteResult:
    from graphtui.core.freeze import apply_freeze

    frozen = apply_freeze(plan.state, _steps(on_step))
    return WriteResult(
        prefix=frozen.path, files=[frozen.path], bytes=frozen.bytes, meta=None, report=frozen
    )


def _plan_convert(request: ConvertRequest) -> Plan:
    from graphtui.core.convert import plan_convert

    converted = plan_convert(request)
    result = Plan("convert", request, request.out or "", report=converted, state=converted)
    if converted.problems:
        result.conflicts = list(converted.problems)
        result.refusal = "refused: nothing was written"
    return result


def _apply_convert(plan: Plan, on_step: OnStep | None) -> WriteResult:
    from graphtui.core.convert import apply_convert

    converted = apply_convert(plan.state, _steps(on_step))
    if converted.write_result is not None:  # a checkpoint: the writer's own result
        converted.write_result.report = converted
        return converted.write_result
    return WriteResult(
        prefix=converted.path,
        files=list(converted.files),
        tensors=converted.tensors,
        bytes=converted.bytes,
        report=converted,
    )


_Operation = tuple[Callable[[Any], Plan], Callable[[Plan, OnStep | None], WriteResult]]
_OPERATIONS: dict[type, _Operation] = {
    RestoreRequest: (_plan_restore, _apply_restore),
    RenameRequest: (_plan_rename, _apply_rename),
    StripRequest: (_plan_strip, _apply_strip),
    ExportRequest: (_plan_export, _apply_export),
    RollbackRequest: (_plan_rollback, _apply_rollback),
    FixPathsRequest: (_plan_fix_paths, _apply_fix_paths),
}


def _operation(request: Any) -> _Operation:
    """The planner and applier of ``request``'s type (freeze and convert registered on first
    use, see :func:`__getattr__`)."""
    if type(request) not in _OPERATIONS:
        from graphtui.core.convert import ConvertRequest
        from graphtui.core.freeze import FreezeRequest

        _OPERATIONS[FreezeRequest] = (_plan_freeze, _apply_freeze)
        _OPERATIONS[ConvertRequest] = (_plan_convert, _apply_convert)
    return _OPERATIONS[type(request)]
