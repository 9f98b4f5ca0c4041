"""Edits of a directory's ``checkpoint`` state file: roll back to an older checkpoint, and
repair paths after the directory moved. Both show the state file now, check the edit with the
core before anything is written, and show the exact before/after diff once applied."""

from __future__ import annotations

import os
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import DataTable, Label, OptionList
from textual.widgets.option_list import Option

from graphtui.core.history import CheckpointRecord
from graphtui.core.journal import read_text
from graphtui.core.operations import FixPathsRequest, RollbackRequest, apply, line_diff, plan
from graphtui.core.workspace import Workspace
from graphtui.formats.state_file import DEFAULT_NAME
from graphtui.formats.visible import visible
from graphtui.tui.fmt import human_bytes
from graphtui.tui.screens.action_base import (
    KIND_STYLES,
    ActionScreen,
    Preview,
    Step,
    WriteRecord,
    labelled,
    plan_rows,
    short_path,
)


def _same(a: str, b: str) -> bool:
    return os.path.normpath(a) == os.path.normpath(b)


@dataclass(frozen=True)
class StateValues:
    prefix: str  # the checkpoint to make the latest ("" for fix-paths)


class StateFileScreen(ActionScreen):
    """Roll back (``mode="rollback"``) or repair paths (``mode="fix"``) of a state file."""

    def __init__(
        self, ws: Workspace, directory: str, mode: str, selected: str | None = None
    ) -> None:
        super().__init__(ws)
        self.directory = directory
        self.mode = mode
        self.selected = selected
        self.state_path = os.path.join(directory, DEFAULT_NAME)
        self.records: list[CheckpointRecord] = [
            r for r in (ws.history.records if ws.history is not None else []) if r.complete
        ]
        if mode == "rollback":
            self.TITLE_TEXT = "Roll back: make an older checkpoint the latest"
            self.WRITE_LABEL = "Roll back"
        else:
            self.TITLE_TEXT = "Repair the state file's paths"
            self.WRITE_LABEL = "Repair"

    def compose_form(self) -> ComposeResult:
        yield labelled("State file", Label(visible(short_path(self.state_path)), id="state-path"))
        if self.mode == "rollback":
            options = []
            for rec in self.records:
                text = Text(visible(rec.name), style="bold")
                if rec.step is not None:
                    text.append(f"  step {rec.step}", style="dim")
                text.append(f"  {human_bytes(rec.size)}", style="dim")
                if rec.latest:
                    text.append("  latest", style="green")
                options.append(Option(text, id=rec.prefix))
            box = OptionList(*options, id="state-records", compact=True)
            box.styles.height = max(1, min(6, len(options)))
            yield labelled("Make latest", box)
            yield Label(
                "The chosen checkpoint becomes model_checkpoint_path and moves to the end of "
                "all_model_checkpoint_paths; no checkpoint is deleted.",
                classes="hint",
            )
        else:
            yield Label(
                "Absolute paths into this directory, or to checkpoints now found here, become "
                "relative; other paths are kept and listed.",
                classes="hint",
            )

    def on_mount(self) -> None:  # before ActionScreen.on_mount (Textual calls both)
        if self.mode == "rollback" and self.records:
            box = self.query_one("#state-records", OptionList)
            box.highlighted = self._default_index()

    def _default_index(self) -> int:
        """The selected checkpoint unless it is the latest already; else the newest before
        the latest."""
        for i, rec in enumerate(self.records):
            if self.selected is not None and not rec.latest and _same(rec.prefix, self.selected):
                return i
        latest = next((i for i, r in enumerate(self.records) if r.latest), len(self.records))
        return max(0, latest - 1)

    def first_focus(self) -> Widget | None:
        if self.mode == "rollback":
            return self.query_one("#state-records", OptionList)
        return None

    def values(self) -> StateValues:
        if self.mode != "rollback":
            return StateValues("")
        box = self.query_one("#state-records", OptionList)
        index = box.highlighted
        if index is None or not 0 <= index < len(self.records):
            return StateValues("")
        return StateValues(self.records[index].prefix)

    def _current_rows(self) -> list[tuple[str, str, str]]:
        text = read_text(self.state_path)
        if text is None:
            return [("state", "(no state file yet: one will be written)", "")]
        return [("state", line, "") for line in text.splitlines()]

    def _request(self, values: StateValues) -> RollbackRequest | FixPathsRequest:
        if self.mode == "rollback":
            return RollbackRequest(self.directory, values.prefix)
        return FixPathsRequest(self.directory)

    def compute_preview(self, values: StateValues) -> Preview:
        rows = self._current_rows()
        if self.mode == "rollback" and not values.prefix:
            return Preview(
                False, Text("No complete checkpoint to roll back to.", style="yellow"), rows
            )
        planned = plan(self._request(values))
        change = planned.report
        if self.mode == "rollback":
            name = os.path.basename(values.prefix)
            summary = Text(f"{name} becomes the latest checkpoint.", style="bold")
            rec = next((r for r in self.records if r.prefix == values.prefix), None)
            if rec is not None and rec.latest:
                summary.append(
                    " (It already is: only the order of the list may change.)", style="dim"
                )
            summary.append("\nThe state file, before (-) and after (+):", style="dim")
            return Preview(True, summary, plan_rows(planned))
        if change.after != change.before:
            summary = Text("Paths will be rewritten relative to the directory.", style="bold")
            summary.append("\nThe state file, before (-) and after (+):", style="dim")
            return Preview(True, summary, plan_rows(planned))
        kept = [c for c in change.changes if c != "nothing to fix"]
        summary = Text("Nothing to fix: ", style="yellow")
        summary.append("; ".join(kept) if kept else "every path is already relative.")
        return Preview(False, summary, [("=", c, "") for c in kept] + rows)

    def confirm_text(self, values: StateValues) -> Text | str:
        if self.mode == "rollback":
            return (
                visible(f"Make {os.path.basename(values.prefix)} the latest checkpoint in")
                + f"\n{visible(short_path(self.state_path))}? U (undo) writes the old text back."
            )
        return f"Rewrite the paths in {visible(short_path(self.state_path))}? U (undo) writes the old text back."

    def run_write(self, values: StateValues, step: Step) -> WriteRecord:
        existed = os.path.isfile(self.state_path)
        change = apply(plan(self._request(values)), step).report
        title = "Roll back" if self.mode == "rollback" else "Repair paths"
        message = Text("✔ ", style="bold green")
        if change.after == change.before:
            message.append(visible("Nothing changed: " + "; ".join(change.changes)))
        else:
            message.append(visible(f"Updated {short_path(change.state_file)}: "), style="bold")
            message.append(visible("; ".join(change.changes)))
        return WriteRecord(
            title=title,
            message=message,
            state_file=change.state_file if change.after != change.before else None,
            state_before=change.before if existed else None,
            state_after=change.after,
        )

    def show_written(self, record: WriteRecord) -> None:
        before = record.state_before or ""
        after = record.state_after or ""
        self.query_one("#action-summary", Label).update(
            Text("The state file, before (-) and after (+):", style="bold")
        )
        table = self.query_one("#action-table", DataTable)
        table.clear()
        for tag, line in line_diff(before, after):
            kind = "=" if tag == " " else tag
            table.add_row(
                Text(kind, style=KIND_STYLES[kind]),
                Text(line, style=KIND_STYLES[kind] if kind != "=" else ""),
                "",
            )
