"""The writing actions as dialogs: restore from a checkpoint, rename a scope, re-export, strip.

Each one previews what it would write with the core's planning functions, then writes through
the core (which never writes over the source and verifies what it wrote).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.suggester import SuggestFromList
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Label, RadioButton, RadioSet, SelectionList, TextArea

from graphtui.core.operations import (
    ExportRequest,
    RenameMode,
    RenameRequest,
    RestoreRequest,
    StripRequest,
    apply,
    plan,
)
from graphtui.core.workspace import Workspace
from graphtui.errors import CoreError, GraphtuiError
from graphtui.formats.visible import visible
from graphtui.tui.fmt import human_bytes
from graphtui.tui.screens.action_base import (
    ActionScreen,
    Preview,
    Step,
    WriteRecord,
    default_target,
    labelled,
    plan_rows,
    record_write,
    refused,
    short_path,
)

RENAME_MODES: tuple[tuple[RenameMode, str], ...] = (
    ("all", "graph and checkpoint"),
    ("graph", "graph only"),
    ("checkpoint", "checkpoint only"),
)
STRIP_DEFAULTS = ("*/Adam*", "*/ExponentialMovingAverage")


def lines_of(text: str) -> list[str]:
    """Non-empty, stripped lines."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def counts_text(parts: list[tuple[int, str, str]]) -> Text:
    """``8 matched · 1 missing``: each count styled when non-zero."""
    text = Text()
    for i, (n, label, style) in enumerate(parts):
        if i:
            text.append(" · ", style="dim")
        text.append(f"{n} {label}", style=style if n else "dim")
    return text


# -- restore --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RestoreValues:
    source: str
    amap: tuple[str, ...]
    allow_missing: bool
    reshape: bool
    target: str


class RestoreScreen(ActionScreen):
    """Bind a checkpoint's values to this graph's variables through an assignment map."""

    TITLE_TEXT = "Restore from a checkpoint into this graph"
    WRITE_LABEL = "Restore"

    def __init__(self, ws: Workspace, source: str = "") -> None:
        super().__init__(ws)
        self.source = source
        self._discard_armed: str | None = None  # the map the last Escape warned about

    def compose_form(self) -> ComposeResult:
        yield labelled(
            "Source checkpoint",
            Input(
                short_path(self.source) if self.source else "",
                placeholder="checkpoint prefix, .index or directory",
                suggester=SuggestFromList(self._history_prefixes(), case_sensitive=True),
                id="restore-source",
                compact=True,
                select_on_focus=False,
            ),
        )
        yield labelled(
            "Graph", Label(visible(short_path(self.ws.meta_path or "(none)")), id="restore-graph")
        )
        yield labelled(
            "Assignment map",
            TextArea(
                "",
                id="restore-map",
                compact=True,
                placeholder="one per line: ckpt_scope/=graph_scope/   (or ckpt/var=graph/var, /=graph_scope/)",
            ),
        )
        yield labelled(
            "Options",
            Horizontal(
                Checkbox("allow missing", id="restore-allow-missing", compact=True),
                Checkbox("reshape", id="restore-reshape", compact=True),
                classes="field",
            ),
        )
        yield labelled(
            "Write to",
            Input(
                default_target(self.ws, "restored"),
                id="restore-target",
                compact=True,
                select_on_focus=False,
            ),
        )

    def _history_prefixes(self) -> list[str]:
        """Checkpoints of the history, for the source box's completion (right arrow)."""
        hist = self.ws.history
        return [short_path(r.prefix) for r in hist.records if r.complete] if hist else []

    def first_focus(self) -> Widget | None:
        return self.query_one("#restore-source", Input)  # where a user starts: the source

    def action_close(self) -> None:
        """Close; a typed assignment map is not thrown away silently: the first Escape says
        so, a second one discards it (any edit in between asks again)."""
        typed = self.query_one("#restore-map", TextArea).text.strip()
        if self.busy or not typed or self.record is not None or self._discard_armed == typed:
            super().action_close()
            return
        self._discard_armed = typed
        self.notify(
            f"{len(lines_of(typed))} assignment map line(s) not restored: Escape again to "
            "discard them, or keep editing",
            title="Discard the assignment map?",
            severity="warning",
        )

    def values(self) -> RestoreValues:
        return RestoreValues(
            source=self.query_one("#restore-source", Input).value.strip(),
            amap=tuple(lines_of(self.query_one("#restore-map", TextArea).text)),
            allow_missing=self.query_one("#restore-allow-missing", Checkbox).value,
            reshape=self.query_one("#restore-reshape", Checkbox).value,
            target=self.query_one("#restore-target", Input).value.strip(),
        )

    def _request(self, values: RestoreValues) -> RestoreRequest:
        from graphtui.core.restore_map import parse_map

        graph = self.ws.graph
        if graph is None or not graph.has_meta_graph:
            raise CoreError("restore needs a meta graph to restore into")
        return RestoreRequest(
            self.ws.meta_path or "",
            values.source,
            tuple(parse_map(list(values.amap))),
            values.target,
            allow_missing=values.allow_missing,
            reshape=values.reshape,
            graph=graph.meta_graph,
        )

    def compute_preview(self, values: RestoreValues) -> Preview:
        if self.ws.graph is None or not self.ws.graph.has_meta_graph:
            raise CoreError("restore needs a meta graph to restore into")
        if not values.source:
            return Preview(False, Text("Enter the checkpoint to take values from.", style="yellow"))
        if not values.amap:
            return Preview(
                False, Text("Enter at least one map line: ckpt_scope/=graph_scope/", style="yellow")
            )
        planned = plan(self._request(values))
        if planned.report is None:
            return refused(planned)
        n = planned.counts
        summary = counts_text(
            [
                (n["matched"], "matched", "green"),
                (n["missing"], "missing", "bold red" if not values.allow_missing else "yellow"),
                (n["initialized"], "initialized", "cyan"),
                (n["unused"], "unused", ""),
                (n["mismatched"], "mismatched", "bold red"),
                (n["reshaped"], "reshaped", "yellow"),
            ]
        )
        ok = planned.ok
        if not ok:
            summary.append(
                "\nMissing variables would have no value: tick 'allow missing' to leave them to their initializers.",
                style="red",
            )
        if not values.target:
            ok = False
            summary.append("\nEnter where to write.", style="yellow")
        return Preview(ok, summary, plan_rows(planned))

    def confirm_text(self, values: RestoreValues) -> Text | str:
        n = len(self.preview.rows) if self.preview else 0
        return (
            f"Write a new checkpoint to {values.target}\n"
            f"with values from {values.source} ({n} preview rows),\n"
            f"and {os.path.basename(values.target)}.meta (this graph). The source is not changed."
        )

    def run_write(self, values: RestoreValues, step: Step) -> WriteRecord:
        if self.ws.meta_path is None:
            raise CoreError("restore needs a meta graph to restore into")
        planned = plan(self._request(values))
        record, _ = record_write("Restore", values.target, lambda: apply(planned, step))
        return record


# -- rename ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RenameValues:
    old: str
    new: str
    mode: RenameMode
    target: str


class RenameScreen(ActionScreen):
    """Rename a scope consistently through graph, collections, saver and checkpoint keys."""

    TITLE_TEXT = "Rename a scope"
    WRITE_LABEL = "Rename"

    def __init__(self, ws: Workspace, scope: str = "") -> None:
        super().__init__(ws)
        self.scope = scope

    def compose_form(self) -> ComposeResult:
        yield labelled(
            "Old scope", Input(self.scope, id="rename-old", compact=True, select_on_focus=False)
        )
        yield labelled(
            "New scope", Input(self.scope, id="rename-new", compact=True, select_on_focus=False)
        )
        has_graph = _writes_meta_graph(self.ws)
        has_ckpt = self.ws.active is not None
        buttons = []
        for mode, label in RENAME_MODES:
            usable = (mode != "graph" or has_graph) and (mode != "checkpoint" or has_ckpt)
            first = mode == ("all" if has_graph else "checkpoint")
            buttons.append(
                RadioButton(label, value=first, id=f"rename-mode-{mode}", disabled=not usable)
            )
        yield labelled("Rename in", RadioSet(*buttons, id="rename-mode", compact=True))
        yield labelled(
            "Write to",
            Input(
                default_target(self.ws, "renamed"),
                id="rename-target",
                compact=True,
                select_on_focus=False,
            ),
        )

    def first_focus(self) -> Widget | None:
        box = self.query_one("#rename-new", Input)
        return box

    def values(self) -> RenameValues:
        radio = self.query_one("#rename-mode", RadioSet)
        index = radio.pressed_index
        mode = RENAME_MODES[index][0] if index >= 0 else "all"
        return RenameValues(
            old=self.query_one("#rename-old", Input).value.strip(),
            new=self.query_one("#rename-new", Input).value.strip(),
            mode=mode,
            target=self.query_one("#rename-target", Input).value.strip(),
        )

    def _request(self, values: RenameValues) -> RenameRequest:
        src = self.ws.active_prefix or self.ws.meta_path
        if src is None:
            raise CoreError("nothing to rename: no checkpoint and no meta graph")
        meta = self.ws.meta_path if _writes_meta_graph(self.ws) else None
        return RenameRequest(
            src,
            values.target,
            ((values.old, values.new),),
            mode=values.mode,
            meta=meta,
            graph=self.ws.graph.meta_graph if meta is not None and self.ws.graph else None,
        )

    def compute_preview(self, values: RenameValues) -> Preview:
        if not values.old or not values.new:
            return Preview(
                False, Text("Enter the scope to rename and its new name.", style="yellow")
            )
        if values.old.rstrip("/") == values.new.rstrip("/"):
            return Preview(False, Text("Type the new name of the scope.", style="yellow"))
        planned = plan(self._request(values))
        if planned.report is None:
            return refused(planned)
        summary = Text("Changes: ", style="bold")
        summary.append_text(
            counts_text([(n, label, "bold") for label, n in planned.counts.items()])
        )
        ok = bool(values.target)
        if not ok:
            summary.append("\nEnter where to write.", style="yellow")
        return Preview(ok, summary, plan_rows(planned))

    def confirm_text(self, values: RenameValues) -> Text | str:
        mode = dict(RENAME_MODES)[values.mode]
        return (
            f"Rename {values.old!r} to {values.new!r} ({mode}) and write the result to\n"
            f"{values.target}. The source is not changed: U (undo) reopens it."
        )

    def run_write(self, values: RenameValues, step: Step) -> WriteRecord:
        planned = plan(self._request(values))
        record, _ = record_write("Rename", values.target, lambda: apply(planned, step))
        return record


# -- re-export ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportValues:
    target: str
    as_text: bool
    clear_devices: bool
    collections: tuple[str, ...] | None  # None: all of them


class ExportScreen(ActionScreen):
    """Write the graph and checkpoint again: text or binary, devices cleared, some collections."""

    TITLE_TEXT = "Re-export graph and checkpoint"
    WRITE_LABEL = "Export"

    def __init__(self, ws: Workspace) -> None:
        super().__init__(ws)
        self.all_collections: list[str] = []
        if ws.graph is not None and _writes_meta_graph(ws):
            from graphtui.core.collections import CollectionTable

            self.all_collections = list(CollectionTable.of(ws.graph).keys())  # noqa: SIM118

    def compose_form(self) -> ComposeResult:
        yield labelled(
            "Write to",
            Input(
                default_target(self.ws, "exported"),
                id="export-target",
                compact=True,
                select_on_focus=False,
            ),
        )
        yield labelled(
            "Options",
            Horizontal(
                Checkbox("meta graph as text", id="export-text", compact=True),
                Checkbox("clear devices", id="export-clear-devices", compact=True),
                classes="field",
            ),
        )
        if self.all_collections:
            items = [(visible(key), key, True) for key in self.all_collections]
            yield labelled(
                "Collections", SelectionList[str](*items, id="export-collections", compact=True)
            )

    def on_mount(self) -> None:  # before ActionScreen.on_mount (Textual calls both)
        with contextlib.suppress(Exception):
            self.query_one("#export-collections").styles.height = min(8, len(self.all_collections))

    def first_focus(self) -> Widget | None:
        return self.query_one("#export-target", Input)

    def values(self) -> ExportValues:
        chosen: tuple[str, ...] | None = None
        if self.all_collections:
            selected = self.query_one("#export-collections", SelectionList).selected
            if len(selected) != len(self.all_collections):
                chosen = tuple(k for k in self.all_collections if k in selected)
        return ExportValues(
            target=self.query_one("#export-target", Input).value.strip(),
            as_text=self.query_one("#export-text", Checkbox).value,
            clear_devices=self.query_one("#export-clear-devices", Checkbox).value,
            collections=chosen,
        )

    def _request(self, values: ExportValues) -> ExportRequest:
        src = self.ws.active_prefix or self.ws.meta_path
        if src is None:
            raise CoreError("nothing to export: no checkpoint and no meta graph")
        graph = self.ws.graph.meta_graph if self.ws.graph and _writes_meta_graph(self.ws) else None
        return ExportRequest(
            src,
            values.target,
            as_text=values.as_text,
            clear_devices=values.clear_devices,
            collections=values.collections,
            meta=self.ws.meta_path,
            graph=graph,
        )

    def compute_preview(self, values: ExportValues) -> Preview:
        planned = plan(self._request(values))
        n = planned.counts
        summary = Text()
        if "tensors" in n:
            summary.append(
                f"{n['tensors']} tensors ({human_bytes(n['bytes'])}) copied as they are",
                style="bold",
            )
        else:
            summary.append("No checkpoint: the meta graph alone", style="bold")
        rows: list[tuple[str, str, str]] = []
        if _writes_meta_graph(self.ws):
            summary.append(f" · meta graph as {'text' if values.as_text else 'binary'}")
            summary.append(" · devices cleared" if values.clear_devices else " · devices kept")
            summary.append(
                f" · {n.get('collections kept', 0)} of {n.get('collections', 0)} collections"
            )
            rows = plan_rows(planned)
        ok = bool(values.target)
        if not ok:
            summary.append("\nEnter where to write.", style="yellow")
        if values.collections == ():
            summary.append("\nNo collection selected: the result keeps none.", style="yellow")
        return Preview(ok, summary, rows)

    def confirm_text(self, values: ExportValues) -> Text | str:
        return f"Export to {values.target}? The source is not changed."

    def run_write(self, values: ExportValues, step: Step) -> WriteRecord:
        planned = plan(self._request(values))
        record, _ = record_write("Export", values.target, lambda: apply(planned, step))
        return record


# -- strip ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StripValues:
    patterns: tuple[str, ...]
    target: str


class StripScreen(ActionScreen):
    """Drop checkpoint keys matching glob patterns (optimizer slots, moving averages)."""

    TITLE_TEXT = "Strip variables from the checkpoint"
    WRITE_LABEL = "Strip"

    def compose_form(self) -> ComposeResult:
        yield labelled(
            "Drop keys matching",
            TextArea("\n".join(self.default_patterns()), id="strip-patterns", compact=True),
        )
        yield Label("One glob per line; * also crosses /.", classes="hint")
        yield labelled(
            "Write to",
            Input(
                default_target(self.ws, "stripped"),
                id="strip-target",
                compact=True,
                select_on_focus=False,
            ),
        )

    def default_patterns(self) -> list[str]:
        """The optimizer state of the open checkpoint (TF1 slot names, TF2/Keras slot keys)."""
        from graphtui.core.workspace import strip_patterns

        try:
            return strip_patterns(self.ws.variables())
        except GraphtuiError:
            return list(STRIP_DEFAULTS)

    def first_focus(self) -> Widget | None:
        return self.query_one("#strip-patterns", TextArea)

    def values(self) -> StripValues:
        return StripValues(
            patterns=tuple(lines_of(self.query_one("#strip-patterns", TextArea).text)),
            target=self.query_one("#strip-target", Input).value.strip(),
        )

    def _request(self, values: StripValues) -> StripRequest:
        src = self.ws.active_prefix
        if src is None:
            raise CoreError("no checkpoint to strip")
        return StripRequest(src, values.target, values.patterns, meta=self.ws.meta_path)

    def compute_preview(self, values: StripValues) -> Preview:
        if self.ws.active is None:
            raise CoreError("no checkpoint to strip")
        if not values.patterns:
            return Preview(False, Text("Enter at least one pattern.", style="yellow"))
        planned = plan(self._request(values))
        report = planned.report
        dropped, kept = len(report.dropped), report.kept
        summary = Text(f"{dropped} keys match", style="bold yellow" if dropped else "dim")
        summary.append(f" ({human_bytes(report.bytes_dropped)} saved)", style="bold")
        summary.append(f" · {kept} kept ({human_bytes(report.bytes_kept)})")
        ok = planned.ok and bool(values.target)
        if not dropped:
            summary.append("\nNo checkpoint key matches: nothing to strip.", style="yellow")
        elif not kept:
            summary.append("\nThe patterns match every tensor: nothing would be left.", style="red")
        elif not values.target:
            summary.append("\nEnter where to write.", style="yellow")
        return Preview(ok, summary, plan_rows(planned))

    def confirm_text(self, values: StripValues) -> Text | str:
        n = len(self.preview.rows) if self.preview else 0
        return f"Write {values.target} without the {n} matching keys? The source is not changed."

    def run_write(self, values: StripValues, step: Step) -> WriteRecord:
        planned = plan(self._request(values))
        record, _ = record_write("Strip", values.target, lambda: apply(planned, step))
        return record


__all__: list[Any] = ["ExportScreen", "RenameScreen", "RestoreScreen", "StripScreen"]


def _writes_meta_graph(ws: Workspace) -> bool:
    """The write actions rewrite a ``.meta`` file; a SavedModel's graph is not one (only its
    variables checkpoint is written), so the dialogs must not promise a meta graph then."""
    return ws.graph is not None and ws.graph.has_meta_graph and ws.meta_path is not None
