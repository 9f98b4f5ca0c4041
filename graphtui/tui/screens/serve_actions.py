"""The freeze and convert actions as dialogs: what the outputs keep and which variables become
constants (Z), and which tensors go to a .safetensors / .npz file or back into a checkpoint (C).

Both preview with the core's ``plan_*`` (nothing written) and write through ``apply_*`` (atomic,
read back), like the other action dialogs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Label, RadioButton, RadioSet, TextArea

from graphtui.core import operations
from graphtui.core.workspace import Workspace
from graphtui.errors import CoreError
from graphtui.tui.fmt import human_bytes
from graphtui.tui.screens.action_base import (
    ActionScreen,
    Preview,
    Step,
    WriteRecord,
    labelled,
    record_write,
    short_path,
)

DTYPE_CHOICES = (("keep", "keep dtypes"), ("float16", "float16"), ("bfloat16", "bfloat16"),
                 ("float32", "float32"))  # fmt: skip


def _lines(text: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def fresh_file(directory: str, name: str) -> str:
    """``directory/name``, or ``name-2`` ... before the suffix: a file that does not exist yet."""
    stem, ext = os.path.splitext(name)
    candidate = os.path.join(directory, name)
    n = 2
    while os.path.lexists(candidate):
        candidate = os.path.join(directory, f"{stem}-{n}{ext}")
        n += 1
    return short_path(candidate)


def _source_dir(ws: Workspace) -> str:
    source = ws.active_prefix or ws.meta_path or ws.path
    return os.path.dirname(os.path.abspath(source))


def file_record(title: str, path: str, message: Text) -> WriteRecord:
    """A write of one new file (no checkpoint to open, no state file): undo deletes it."""
    return WriteRecord(title=title, message=message, files=[os.path.abspath(path)])


# -- freeze ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FreezeValues:
    outputs: str
    target: str
    as_text: bool
    keep_devices: bool


class FreezeScreen(ActionScreen):
    """Freeze the graph for serving: outputs typed or taken from the tree."""

    TITLE_TEXT = "Freeze for serving"
    WRITE_LABEL = "Freeze"

    def __init__(self, ws: Workspace, outputs: str = "") -> None:
        super().__init__(ws)
        self.outputs = outputs

    def compose_form(self) -> ComposeResult:
        yield labelled(
            "Outputs",
            Input(self.outputs, id="freeze-outputs", compact=True, select_on_focus=False),
        )
        yield Label(
            "Node names, comma-separated (a SavedModel's signature outputs when empty).",
            classes="hint",
        )
        yield labelled(
            "Write to",
            Input(
                fresh_file(_source_dir(self.ws), "frozen.pb"),
                id="freeze-target",
                compact=True,
                select_on_focus=False,
            ),
        )
        yield Horizontal(
            Checkbox("text format", id="freeze-text", compact=True),
            Checkbox("keep devices", id="freeze-devices", compact=True),
            classes="field",
        )

    def first_focus(self) -> Widget | None:
        return self.query_one("#freeze-outputs", Input)

    def values(self) -> FreezeValues:
        return FreezeValues(
            outputs=self.query_one("#freeze-outputs", Input).value.strip(),
            target=self.query_one("#freeze-target", Input).value.strip(),
            as_text=self.query_one("#freeze-text", Checkbox).value,
            keep_devices=self.query_one("#freeze-devices", Checkbox).value,
        )

    def _request(self, values: FreezeValues) -> Any:
        from graphtui.core.freeze import FreezeRequest

        graph = self.ws.graph
        if graph is None or not graph.has_meta_graph:
            raise CoreError("freezing needs a graph (.meta or SavedModel)")
        outputs = tuple(o for o in values.outputs.split(",") if o.strip())
        if not outputs:
            outputs = tuple(self._signature_outputs())
        return FreezeRequest(
            source=self.ws.meta_path or self.ws.path,
            outputs=outputs,
            out=values.target or None,
            as_text=values.as_text,
            keep_devices=values.keep_devices,
            graph=graph.meta_graph,
            checkpoint=self.ws.active_prefix,
            checkpoint_keys=self.ws.object_links() if self.ws.saved_model else None,
        )

    def _signature_outputs(self) -> list[str]:
        sigs = [s for s in self.ws.signatures if not s.is_init_op] if self.ws.saved_model else []
        chosen = [s for s in sigs if s.key == "serving_default"] or sigs[:1]
        return [t.name for s in chosen for t in s.outputs if t.name]

    def compute_preview(self, values: FreezeValues) -> Preview:
        request = self._request(values)
        if not request.outputs:
            return Preview(False, Text("Enter the output nodes to keep.", style="yellow"))
        plan = operations.plan(request).report
        summary = Text(f"{plan.nodes_before} nodes → {plan.nodes_after}", style="bold")
        summary.append(f" · {len(plan.variables)} variables frozen")
        summary.append(f" ({human_bytes(plan.const_bytes)} of constants)", style="bold")
        summary.append(f" · {len(plan.inputs)} inputs to feed")
        if plan.unresolved:
            summary.append(f" · {len(plan.unresolved)} unresolved", style="yellow")
        summary.append(
            f" · functions: {len(plan.functions_kept)} kept, {plan.functions_dropped} dropped",
            style="dim",
        )
        rows: list[tuple[str, str, str]] = []
        for var in plan.variables:
            where = (
                var.key if var.extents is None else f"{var.key} {[list(e) for e in var.extents]}"
            )
            shape = ",".join(str(d) for d in var.shape)
            rows.append(
                ("freeze", var.node, f"{var.dtype}[{shape}] {human_bytes(var.nbytes)} ← {where}")
            )
        rows += [("input", name, "fed at run time") for name in plan.inputs]
        rows += [("unresolved", line.split(" ", 1)[0], line) for line in plan.unresolved]
        ok = plan.ok and bool(values.target)
        if plan.ok and not values.target:
            summary.append("\nEnter where to write.", style="yellow")
        return Preview(ok, summary, rows, list(plan.problems))

    def confirm_text(self, values: FreezeValues) -> Text | str:
        return f"Write the frozen graph to {values.target}? The source is not changed."

    def run_write(self, values: FreezeValues, step: Step) -> WriteRecord:
        result = operations.apply(operations.plan(self._request(values)), step).report
        message = Text("✔ ", style="bold green")
        message.append(f"Wrote {short_path(result.path)}", style="bold")
        message.append(
            f": {result.nodes} nodes, {result.variables} variables frozen, "
            f"{human_bytes(result.bytes)}"
        )
        message.append(" — read back and verified.", style="green")
        return file_record("Freeze", result.path, message)


# -- convert --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConvertValues:
    source: str
    target: str
    maps: tuple[str, ...]
    drop: tuple[str, ...]
    dtype: str
    check_graph: bool


class ConvertScreen(ActionScreen):
    """Weights to .safetensors / .npz, or from one of those back to a checkpoint."""

    TITLE_TEXT = "Convert weights"
    WRITE_LABEL = "Convert"

    def compose_form(self) -> ComposeResult:
        yield labelled(
            "Source",
            Input(
                short_path(self.ws.active_prefix or ""),
                id="convert-source",
                compact=True,
                select_on_focus=False,
            ),
        )
        yield labelled(
            "Write to",
            Input(
                fresh_file(_source_dir(self.ws), "model.safetensors"),
                id="convert-target",
                compact=True,
                select_on_focus=False,
            ),
        )
        yield Label(
            "A checkpoint goes to FILE.safetensors or FILE.npz; a .safetensors/.npz source "
            "goes to a checkpoint prefix.",
            classes="hint",
        )
        yield labelled("Rename OLD=NEW", TextArea("", id="convert-maps", compact=True))
        yield labelled("Drop globs", TextArea("", id="convert-drop", compact=True))
        with RadioSet(id="convert-dtype", compact=True):
            for i, (key, label) in enumerate(DTYPE_CHOICES):
                yield RadioButton(label, value=i == 0, id=f"convert-dtype-{key}", compact=True)
        yield Checkbox(
            "check names against this graph (to a checkpoint)",
            value=self._has_graph(),
            id="convert-check",
            compact=True,
        )

    def _has_graph(self) -> bool:
        graph = self.ws.graph
        return graph is not None and graph.has_meta_graph and self.ws.meta_path is not None

    def first_focus(self) -> Widget | None:
        return self.query_one("#convert-target", Input)

    def values(self) -> ConvertValues:
        pressed = self.query_one("#convert-dtype", RadioSet).pressed_index
        return ConvertValues(
            source=self.query_one("#convert-source", Input).value.strip(),
            target=self.query_one("#convert-target", Input).value.strip(),
            maps=_lines(self.query_one("#convert-maps", TextArea).text),
            drop=_lines(self.query_one("#convert-drop", TextArea).text),
            dtype=DTYPE_CHOICES[max(pressed, 0)][0],
            check_graph=self.query_one("#convert-check", Checkbox).value,
        )

    def _request(self, values: ConvertValues) -> Any:
        from graphtui.core.convert import ConvertRequest, kind_of

        if not values.source:
            raise CoreError("enter the source: a checkpoint, .safetensors or .npz file")
        to_checkpoint = kind_of(values.source) != "checkpoint"
        return ConvertRequest(
            source=values.source,
            out=values.target or None,
            target="checkpoint" if to_checkpoint else None,
            maps=values.maps,
            drop=values.drop,
            dtype=None if values.dtype == "keep" else values.dtype,  # type: ignore[arg-type]
            meta=self.ws.meta_path
            if to_checkpoint and values.check_graph and self._has_graph()
            else None,
            allow_missing=True,
        )

    def compute_preview(self, values: ConvertValues) -> Preview:
        if not values.target:
            return Preview(False, Text("Enter where to write.", style="yellow"))
        plan = operations.plan(self._request(values)).report
        summary = Text(f"{len(plan.items)} tensors", style="bold")
        summary.append(f" ({human_bytes(plan.total_bytes)}) → {plan.target}")
        if plan.skipped:
            summary.append(f" · {len(plan.skipped)} skipped", style="yellow")
        if plan.dropped:
            summary.append(f" · {len(plan.dropped)} dropped", style="dim")
        rows: list[tuple[str, str, str]] = []
        report = plan.report
        if report is not None:
            summary.append(
                f"\ngraph: {len(report.matched)} matched, {len(report.missing)} missing "
                f"(left to initializers), {len(report.unused)} unused",
                style="bold" if not report.missing else "yellow",
            )
            rows += [
                ("missing", name, "no value: left to its initializer") for name in report.missing
            ]
        for item in plan.items:
            name = (
                item.name if item.name == item.source_name else f"{item.source_name} → {item.name}"
            )
            dtype = item.dtype if item.dtype == item.out_dtype else f"{item.dtype}→{item.out_dtype}"
            shape = ",".join(str(d) for d in item.shape)
            rows.append(("write", name, f"{dtype}[{shape}] {human_bytes(item.nbytes)}"))
        rows += [("skip", text, "strings are not converted") for text in plan.skipped]
        rows += [("drop", name, "") for name in plan.dropped]
        if report is not None:
            rows += [("unused", name, "not a variable of the graph") for name in report.unused]
        return Preview(plan.ok, summary, rows, list(plan.problems))

    def confirm_text(self, values: ConvertValues) -> Text | str:
        n = sum(1 for r in self.preview.rows if r[0] == "write") if self.preview else 0
        return f"Write {n} tensors to {values.target}? The source is not changed."

    def run_write(self, values: ConvertValues, step: Step) -> WriteRecord:
        planned = operations.plan(self._request(values))
        if planned.report.target == "checkpoint":
            record, _ = record_write(
                "Convert", values.target, lambda: operations.apply(planned, step)
            )
            return record
        result = operations.apply(planned, step).report
        message = Text("✔ ", style="bold green")
        message.append(f"Wrote {short_path(result.path)}", style="bold")
        message.append(f": {result.tensors} tensors, {human_bytes(result.bytes)}")
        message.append(" — read back and verified.", style="green")
        return file_record("Convert", result.path, message)


__all__ = ["ConvertScreen", "FreezeScreen"]
