"""What every action dialog shares (restore, rename, export, strip, state file edits).

A dialog is a form whose values feed a live preview, computed by a debounced thread worker from
the core's planning functions (the UI never reads checkpoint bytes itself). ``ctrl+s`` asks for a
confirmation, then the write runs in a thread worker that reports each step; the verified result
is shown, the app records how to undo it and can open it. Errors land in the error dialog and the
dialog stays usable.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Button, Footer, Input, Label, ProgressBar, Static
from textual.worker import get_current_worker

from graphtui.core.journal import JournalEntry, journaled, undo
from graphtui.core.output import WriteResult, existing_files
from graphtui.core.workspace import Workspace
from graphtui.errors import ConflictError, GraphtuiError
from graphtui.formats.state_file import DEFAULT_NAME
from graphtui.formats.visible import visible
from graphtui.tui.fmt import human_bytes, short_path
from graphtui.tui.screens.dialogs import ErrorDialog

if TYPE_CHECKING:  # the dialogs' widgets and the operations load when a dialog first opens
    from textual.widgets import DataTable

    from graphtui.core.operations import Plan

Step = Callable[[str], None]  # told each step of a write: "write model.ckpt.index", ...
MAX_ROWS = 2000  # preview rows shown; the rest are counted
STEP_INTERVAL = 0.1  # seconds between step reports from a write

KIND_STYLES = {
    "matched": "green",
    "initialized": "cyan",
    "reshaped": "yellow",
    "missing": "bold red",
    "unused": "dim",
    "mismatched": "bold red",
    "conflict": "bold red",
    "drop": "yellow",
    "keep": "dim",
    "key": "cyan",
    "count": "bold",
    "state": "",
    "-": "bold red",
    "+": "bold green",
    "=": "dim",
    "freeze": "green",
    "input": "cyan",
    "unresolved": "yellow",
    "write": "green",
    "skip": "yellow",
}


@dataclass
class Preview:
    """What a write would do, computed from the form's values off the UI thread."""

    ok: bool  # nothing stands in the way of writing
    summary: Text | str
    rows: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, name, detail)
    problems: list[str] = field(default_factory=list)  # conflicts, shown first in red


@dataclass(kw_only=True)
class WriteRecord(JournalEntry):
    """A finished write: what to tell the user, and (the journal entry) what undoing it needs."""

    title: str
    message: Text | str
    previous_path: str | None = None  # the workspace open when the write ran
    previous_active: str | None = None
    opened: bool = False  # the app switched to ``prefix``


def fresh_target(directory: str, stem: str) -> str:
    """``directory/stem``, or ``directory-2/stem``... : a prefix no checkpoint file uses yet."""
    candidate = os.path.join(directory, stem)
    n = 2
    while existing_files(candidate) or os.path.exists(
        os.path.join(os.path.dirname(candidate), DEFAULT_NAME)
    ):
        candidate = os.path.join(f"{directory}-{n}", stem)
        n += 1
    return candidate


def default_target(ws: Workspace, kind: str) -> str:
    """Where a ``kind`` write goes unless told otherwise: a new folder beside the source (so
    the source directory's state file is left alone), named after the source checkpoint."""
    source = ws.active_prefix or ws.meta_path or ws.path
    base = os.path.dirname(os.path.abspath(source))
    stem = os.path.basename(ws.active_prefix) if ws.active_prefix else "model.ckpt"
    return short_path(fresh_target(os.path.join(base, kind), stem))


def record_write(
    title: str, target: str, write: Callable[[], WriteResult]
) -> tuple[WriteRecord, WriteResult]:
    """Run ``write`` (a core write to ``target``) through the undo journal."""
    entry, result = journaled(target, write)
    record = WriteRecord(title=title, message=written_message(result), **vars(entry))
    return record, result


def written_message(result: WriteResult) -> Text:
    text = Text("✔ ", style="bold green")
    text.append(f"Wrote {visible(short_path(result.prefix))}", style="bold")
    parts = []
    if result.tensors or os.path.isfile(result.prefix + ".index"):
        parts.append(f"{result.tensors} tensors, {human_bytes(result.bytes)}")
    if result.meta:
        parts.append("meta graph")
    if parts:
        text.append(": " + " + ".join(parts))
    text.append(" — read back and verified.", style="green")
    return text


def undo_write(record: WriteRecord) -> list[str]:
    """Take back what ``record`` wrote (see :func:`graphtui.core.journal.undo`)."""
    return undo(record, short=short_path)


def refused(planned: Plan) -> Preview:
    """The preview of a plan with conflicts: why, and each conflict."""
    summary = f"{planned.refusal} ({len(planned.conflicts)} listed)"
    return Preview(False, Text(summary, style="red"), problems=list(planned.conflicts))


def plan_rows(planned: Plan) -> list[tuple[str, str, str]]:
    return [(r.kind, r.name, r.detail) for r in planned.rows]


def labelled(label: str, widget: Widget, *, id: str | None = None) -> Horizontal:
    """One form row: a label, then the widget."""
    return Horizontal(Label(label, classes="field-label"), widget, classes="field", id=id)


class ConfirmDialog(ModalScreen[bool]):
    """A yes/no question: y or Enter says yes, n or Escape says no."""

    DEFAULT_CSS = """
    ConfirmDialog { align: center middle; }
    ConfirmDialog #confirm-message { height: auto; max-height: 20; }
    """
    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm-yes"),
        Binding("n", "answer(False)", "No", id="confirm-no"),
        Binding("escape", "answer(False)", "No", show=False, id="confirm-escape"),
    ]

    def __init__(
        self,
        title: str,
        message: Text | str,
        *,
        yes: str = "Yes",
        no: str = "Cancel",
        purpose: str = "",
    ) -> None:
        super().__init__()
        self.title_text = title
        self.message = message
        self.yes_label = yes
        self.no_label = no
        self.purpose = purpose

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(self.title_text, id="dialog-title")
            yield Static(self.message, id="confirm-message")
            with Horizontal(id="dialog-buttons"):
                yield Button(f"{self.yes_label} (y)", id="confirm-yes", variant="primary")
                yield Button(f"{self.no_label} (n)", id="confirm-no")

    def on_mount(self) -> None:
        self.query_one("#confirm-yes", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm-yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class ActionScreen(ModalScreen[None]):
    """A form, its live preview, confirmation, the write in a worker, and its result."""

    TITLE_TEXT = "Action"
    WRITE_LABEL = "Write"
    PREVIEW_DELAY = 0.3  # seconds of quiet after an edit before the preview is recomputed

    BINDINGS = [
        Binding("escape", "close", "Close", id="action-close"),
        Binding("ctrl+s", "write", "Write", id="action-write"),
        Binding("ctrl+o", "open_result", "Open result", id="action-open-result"),
    ]

    DEFAULT_CSS = """
    ActionScreen { align: center middle; }
    #action-dialog {
        width: 96; max-width: 100%; height: 1fr; max-height: 30;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    #action-title { text-style: bold; }
    #action-form { height: auto; max-height: 14; }
    #action-form .field { height: auto; }
    #action-form .field-label { width: 18; color: $text-muted; }
    #action-form Input { width: 1fr; }
    #action-form TextArea { width: 1fr; height: 4; }
    #action-form Checkbox { margin-right: 2; }
    #action-form .hint { width: 100%; color: $text-muted; }
    #action-summary { width: 100%; height: auto; max-height: 3; margin-top: 1; }
    #action-table { height: 1fr; min-height: 3; }
    #action-progress { height: 1; }
    #action-status { width: 100%; height: auto; max-height: 3; }
    #action-buttons { height: 1; align: right middle; }
    #action-buttons Button { margin-left: 2; }
    """

    def __init__(self, ws: Workspace) -> None:
        super().__init__()
        self.ws = ws
        self.preview: Preview | None = None
        self.pending = True  # a preview is scheduled or being computed
        self.busy = False  # a write is running
        self.record: WriteRecord | None = None
        self._generation = 0
        self._timer: Timer | None = None
        self._initial: Any = None

    # -- what each dialog provides ------------------------------------------------------------

    def compose_form(self) -> ComposeResult:
        """The form's rows."""
        yield from ()

    def values(self) -> Any:
        """The form's values (comparable: unconfirmed edits are values unlike the first)."""
        return ()

    def compute_preview(self, values: Any) -> Preview:
        """What writing ``values`` would do (runs in a thread worker; may raise GraphtuiError)."""
        raise NotImplementedError

    def run_write(self, values: Any, step: Step) -> WriteRecord:
        """Write (runs in a thread worker; raises GraphtuiError when the core refuses)."""
        raise NotImplementedError

    def confirm_text(self, values: Any) -> Text | str:
        return f"{self.TITLE_TEXT}?"

    def first_focus(self) -> Widget | None:
        return None

    def show_written(self, record: WriteRecord) -> None:
        """Show what was written (beyond the status line); the default shows nothing more."""

    # -- layout ---------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="action-dialog"):
            yield Label(self.TITLE_TEXT, id="action-title")
            with VerticalScroll(id="action-form"):
                yield from self.compose_form()
            yield Label("Computing the preview…", id="action-summary")
            yield _data_table()(id="action-table", cursor_type="row", zebra_stripes=True)
            yield ProgressBar(
                total=None, show_eta=False, show_percentage=False, id="action-progress"
            )
            yield Static("", id="action-status")
            with Horizontal(id="action-buttons"):
                yield Button(
                    f"{self.WRITE_LABEL} ^s",
                    id="action-write-button",
                    variant="primary",
                    compact=True,
                )
                yield Button("Open result ^o", id="action-open-button", compact=True)
                yield Button("Close esc", id="action-close-button", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        table: DataTable[Any] = self.query_one("#action-table", _data_table())
        table.add_column("what", key="kind", width=11)
        table.add_column("name", key="name")
        table.add_column("detail", key="detail")
        for box in self.query(Input):
            box.cursor_blink = False
        for area in self.query("TextArea"):
            area.cursor_blink = False  # type: ignore[attr-defined]
        self.query_one("#action-progress").display = False
        self.query_one("#action-open-button").display = False
        target = self.first_focus()
        if target is not None:
            target.focus()
        self._initial = self.values()
        self._start_preview()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open_result":
            return self.record is not None and self.record.prefix is not None
        return True

    # -- state ----------------------------------------------------------------------------------

    @property
    def dirty(self) -> bool:
        """The form holds edits that were not written."""
        return self._initial is not None and self.values() != self._initial

    # -- preview --------------------------------------------------------------------------------

    # a field of the form changed (handlers by name: the widgets' modules load with a dialog)
    def on_input_changed(self) -> None:
        self._edited()

    def on_text_area_changed(self) -> None:
        self._edited()

    def on_checkbox_changed(self) -> None:
        self._edited()

    def on_radio_set_changed(self) -> None:
        self._edited()

    def on_selection_list_selected_changed(self) -> None:
        self._edited()

    def on_option_list_option_highlighted(self) -> None:
        self._edited()

    def _edited(self) -> None:
        if self._initial is None:
            return
        self.pending = True
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(self.PREVIEW_DELAY, self._start_preview)

    def _start_preview(self) -> None:
        self._timer = None
        self._generation += 1
        self.pending = True
        self.run_worker(
            partial(self._preview_job, self._generation, self.values()),
            thread=True,
            group="preview",
            exclusive=True,
            exit_on_error=False,
        )

    def _preview_job(self, generation: int, values: Any) -> None:
        worker = get_current_worker()
        try:
            preview = self.compute_preview(values)
        except ConflictError as exc:
            summary = f"{exc.summary} ({len(exc.conflicts)} listed)"
            preview = Preview(False, Text(summary, style="red"), problems=list(exc.conflicts))
        except GraphtuiError as exc:
            preview = Preview(False, Text(str(exc), style="red"))
        except Exception as exc:  # noqa: BLE001 - any failure is shown; the dialog stays usable
            preview = Preview(False, Text(f"{type(exc).__name__}: {exc}", style="red"))
        if not worker.is_cancelled:
            self.app.call_from_thread(self._preview_done, generation, preview)

    def _preview_done(self, generation: int, preview: Preview) -> None:
        if generation != self._generation:
            return
        if self._timer is None:
            self.pending = False
        self.preview = preview
        self.show_preview(preview)

    def show_preview(self, preview: Preview) -> None:
        self.query_one("#action-summary", Label).update(preview.summary)
        table: DataTable[Any] = self.query_one("#action-table", _data_table())
        table.clear()
        rows = [("conflict", p, "") for p in preview.problems] + preview.rows
        for kind, name, detail in rows[:MAX_ROWS]:
            table.add_row(
                Text(kind, style=KIND_STYLES.get(kind, "")), visible(name), visible(detail)
            )
        if len(rows) > MAX_ROWS:
            table.add_row("…", f"{len(rows) - MAX_ROWS} more", "")

    # -- writing --------------------------------------------------------------------------------

    @on(Button.Pressed, "#action-write-button")
    def action_write(self) -> None:
        """Confirm, then write."""
        if self.busy:
            self.notify("A write is already running", severity="warning")
            return
        if self.pending or self.preview is None:
            self.notify("The preview is not ready yet: try again in a moment", severity="warning")
            return
        if not self.preview.ok:
            reason = self.preview.problems[0] if self.preview.problems else self.preview.summary
            self.notify(
                f"Nothing written: {Text(str(reason)).plain}", severity="warning", timeout=6
            )
            return
        values = self.values()

        def answered(yes: bool | None) -> None:
            if yes:
                self._start_write(values)

        self.app.push_screen(
            ConfirmDialog(
                self.TITLE_TEXT, self.confirm_text(values), yes=self.WRITE_LABEL, purpose="write"
            ),
            answered,
        )

    def _start_write(self, values: Any) -> None:
        self.busy = True
        self.record = None
        self.query_one("#action-progress").display = True
        self.query_one("#action-open-button").display = False
        self._status(Text("Writing…", style="bold"))
        self.run_worker(
            partial(self._write_job, values), thread=True, group="write", exit_on_error=False
        )

    def _write_job(self, values: Any) -> None:
        last = [0.0]

        def step(name: str) -> None:
            now = time.monotonic()
            if now - last[0] >= STEP_INTERVAL:
                last[0] = now
                self.app.call_from_thread(
                    self._status, Text(f"Writing… {visible(name)}", style="bold")
                )

        try:
            record = self.run_write(values, step)
        except Exception as exc:  # noqa: BLE001 - refused or failed: said in a dialog
            self.app.call_from_thread(self._write_failed, exc)
            return
        self.app.call_from_thread(self._write_done, values, record)

    def _status(self, text: Text | str) -> None:
        self.query_one("#action-status", Static).update(text)

    def _write_done(self, values: Any, record: WriteRecord) -> None:
        self.busy = False
        self.record = record
        self._initial = values  # written: nothing unsaved any more
        self.query_one("#action-progress").display = False
        self._status(record.message)
        self.show_written(record)
        after = getattr(self.app, "after_write", None)
        if after is not None:
            after(record)
        self.refresh_bindings()
        if record.prefix is not None:
            button = self.query_one("#action-open-button", Button)
            button.display = True
            button.focus()
        else:
            self.query_one("#action-close-button", Button).focus()

    def _write_failed(self, exc: Exception) -> None:
        self.busy = False
        self.query_one("#action-progress").display = False
        message = str(exc) or type(exc).__name__
        self._status(Text(f"✘ Nothing written: {message}", style="bold red"))
        if not isinstance(exc, GraphtuiError):
            message = f"{type(exc).__name__}: {message}"
        self.app.push_screen(ErrorDialog(message, f"{self.TITLE_TEXT}: nothing written"))

    # -- closing and opening --------------------------------------------------------------------

    @on(Button.Pressed, "#action-close-button")
    def action_close(self) -> None:
        """Close the dialog (not while a write runs)."""
        if self.busy:
            self.notify("A write is running: wait for it to finish", severity="warning")
            return
        self.dismiss(None)

    @on(Button.Pressed, "#action-open-button")
    async def action_open_result(self) -> None:
        """Open the written checkpoint in place of the current workspace."""
        record = self.record
        opener = getattr(self.app, "open_result", None)
        if record is None or record.prefix is None or opener is None:
            self.notify("Nothing written yet", severity="warning")
            return
        await opener(record)


def _data_table() -> type[DataTable[Any]]:
    """Textual's DataTable, imported when a dialog first shows one (not at start-up)."""
    from textual.widgets import DataTable

    return DataTable
