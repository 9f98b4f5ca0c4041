"""Checkpoint history and the diff of two checkpoints."""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from functools import partial

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Label, ProgressBar, Static
from textual.worker import get_current_worker

from graphtui.core.history import CheckpointRecord
from graphtui.core.workspace import DiffRow, OperationCancelled, SideBySide, Workspace
from graphtui.errors import GraphtuiError
from graphtui.formats.visible import visible
from graphtui.tui.fmt import (
    age_text,
    fit_name,
    human_bytes,
    name_width,
    number,
    shape_text,
    short_path,
    time_text,
)
from graphtui.tui.messages import ProgressPane, ShowValue, progress_poster
from graphtui.tui.widgets.filter_bar import FilteredPane, FilterInput
from graphtui.tui.widgets.virtual_table import Cell, TableColumn, VirtualTable


def now() -> float:
    """The clock ages are measured against (tests pin it)."""
    return time.time()


def marks(
    rec: CheckpointRecord, active: str | None, marked_a: str | None = None, new: bool = False
) -> Text:
    """The state of one checkpoint: A (the diff's first side), new (written while the app was
    open), active, latest, kept (listed by the state file), missing..."""
    text = Text()
    if new:
        text.append("new ", style="bold cyan")
    if marked_a is not None and os.path.normpath(rec.prefix) == os.path.normpath(marked_a):
        text.append("A ", style="bold reverse")
    if active is not None and os.path.normpath(rec.prefix) == os.path.normpath(active):
        text.append("▶ active ", style="bold")
    if rec.latest:
        text.append("latest ", style="green")
    if rec.missing:
        text.append("missing ", style="bold red")
    elif rec.unreadable:
        text.append(f"unreadable: {rec.problem} ", style="bold red")
    elif not rec.complete:
        text.append(f"incomplete: {rec.problem} ", style="red")
    if rec.in_state:
        text.append("kept", style="dim")
    else:
        text.append("not in state file", style="yellow")
    if rec.outside:
        text.append(" outside dir", style="yellow")
    return text


class HistoryTable(VirtualTable):
    BINDINGS = [
        Binding("d", "diff_checkpoint", "Diff A → this", id="diff-checkpoint"),
        Binding("a", "mark_a", "Mark as A", id="mark-a"),
    ]
    PALETTE_ACTIONS = frozenset({"diff_checkpoint"})  # the palette may run it unfocused

    def action_diff_checkpoint(self) -> None:
        """Compare two checkpoints: the one marked A (``a``) to the highlighted one; with no
        mark, the active one and the highlighted one, older to newer."""
        pane = self.parent
        if isinstance(pane, HistoryPane):
            pane.ask_diff()

    def action_mark_a(self) -> None:
        """Mark the highlighted checkpoint as the diff's A side (again: unmark)."""
        pane = self.parent
        if isinstance(pane, HistoryPane):
            pane.toggle_mark()


HISTORY_COLUMNS = ("step", "name", "size", "age", "time", "fmt", "marks")  # marks last: they grow
AGE_INTERVAL = 5.0  # seconds between refreshes of the age column
POLL_INTERVAL = 3.0  # seconds between scans for new checkpoints (checkpoints_iterator: 1 s)


def plural(count: int, word: str) -> str:
    """``1 checkpoint``, ``3 checkpoints``."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


class HistoryPane(FilteredPane):
    @dataclass
    class Activate(Message):
        """Make checkpoint ``prefix`` the active one (Enter on its row)."""

        prefix: str

    @dataclass
    class DiffAsked(Message):
        """Compare checkpoint ``prefix_a`` to ``prefix_b`` (``d``)."""

        prefix_a: str
        prefix_b: str

    """The directory's checkpoints by step; Enter makes one active; d diffs it against the
    active one. Ages tick while the pane is open."""

    def __init__(self, ws: Workspace, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.ws = ws
        self.marked_a: str | None = None  # the diff's A side, chosen with ``a``
        self.new: set[str] = set()  # checkpoints that appeared while the app was open
        self.shown: list[CheckpointRecord] = []  # the rows of the table

    def toggle_mark(self) -> None:
        rec = self.current()
        if rec is None:
            return
        same = self.marked_a is not None and os.path.normpath(self.marked_a) == rec.prefix
        self.marked_a = None if same else rec.prefix
        self.refresh_rows()

    def compose(self) -> ComposeResult:
        yield Label("", id="history-summary")
        yield FilterInput(id="history-filter")
        yield HistoryTable(id="history-table")

    @property
    def table(self) -> HistoryTable:
        return self.query_one(HistoryTable)

    @property
    def records(self) -> list[CheckpointRecord]:
        """The checkpoints shown: by step, through the ``/`` filter."""
        records = self.ws.history.by_step() if self.ws.history is not None else []
        match = self.query_one(FilterInput).matcher() if self.is_mounted else None
        return records if match is None else [r for r in records if match(r.name)]

    def focus_table(self) -> None:
        self.table.focus()

    def filter_changed(self) -> None:
        self.refresh_rows()

    def on_mount(self) -> None:
        table = self.table
        self.refresh_rows()
        active = self.ws.active_prefix
        for i, rec in enumerate(self.shown):
            if active and os.path.normpath(rec.prefix) == os.path.normpath(active):
                table.move_cursor(row=i, animate=False)
        self.set_interval(AGE_INTERVAL, self.refresh_ages)
        if self.ws.history is not None:
            self.set_interval(POLL_INTERVAL, self.poll)

    def poll(self) -> None:
        """Look for new checkpoints in a thread worker (a directory listing, no tensor read)."""
        self.run_worker(self._poll_job, thread=True, group="history-poll", exclusive=True)

    def _poll_job(self) -> None:
        try:
            found = self.ws.rescan_history()
        except Exception:  # noqa: BLE001 - a directory gone or unreadable: keep what is shown
            return
        self.app.call_from_thread(self._polled, found)

    def _polled(self, found: list[str] | None) -> None:
        if found is None:
            return  # nothing changed on disk
        self.new.update(found)
        self.refresh_rows()
        if found:
            names = ", ".join(os.path.basename(p) for p in found)
            self.app.notify(visible(f"New checkpoint: {names}"), title="History")

    def refresh_rows(self) -> None:
        table = self.table
        self.shown = self.records
        columns = [TableColumn(col, col) for col in HISTORY_COLUMNS]
        table.set_rows(columns, len(self.shown), self._cells_at, cursor=max(0, table.cursor_row))
        hist = self.ws.history
        summary = Text()
        if hist is None:
            summary.append(
                "No checkpoint history here (no state file, no checkpoints).", style="dim"
            )
        else:
            summary.append(plural(len(hist.records), "checkpoint"), style="bold")
            summary.append("" if hist.state_file else "  (no state file)", style="yellow")
            summary.append(f"  {visible(short_path(hist.directory))}", style="dim")
            if hist.state_error:
                summary.append(f"\n{hist.state_error}", style="red")
        self.query_one("#history-summary", Label).update(summary)

    def _cells_at(self, index: int) -> list[Cell]:
        rec = self.shown[index]
        return [
            Text("" if rec.step is None else str(rec.step), justify="right"),
            visible(rec.name),
            Text(human_bytes(rec.size) if rec.files else "", justify="right"),
            age_text(rec.age(now())),
            f"invalid ({rec.bad_timestamp})" if rec.bad_timestamp else time_text(rec.timestamp),
            rec.format,
            marks(rec, self.ws.active_prefix, self.marked_a, rec.prefix in self.new),
        ]

    def refresh_ages(self) -> None:
        """Ages are relative to now: the rows are made again when drawn next."""
        self.table.refresh_rows()

    def current(self) -> CheckpointRecord | None:
        row = self.table.cursor_row
        return self.shown[row] if 0 <= row < len(self.shown) else None

    def on_virtual_table_row_selected(self, event: VirtualTable.RowSelected) -> None:
        rec = self.current()
        if rec is not None:
            self.post_message(self.Activate(rec.prefix))

    def ask_diff(self) -> None:
        """Post :class:`DiffAsked` for the marked (or active) and the highlighted checkpoint."""
        rec = self.current()
        if rec is None:
            self.notify("Highlight a checkpoint to compare", severity="warning")
            return
        if self.marked_a is not None:
            first, second = self.marked_a, rec.prefix
        else:
            active = self.ws.active_prefix
            if active is None:
                self.notify(
                    "No active checkpoint: mark one as A with a, then d on another",
                    severity="warning",
                )
                return
            order = {r.prefix: i for i, r in enumerate(self.records)}
            first, second = sorted(
                (active, rec.prefix), key=lambda p: order.get(os.path.normpath(p), -1)
            )
        if os.path.normpath(first) == os.path.normpath(second):
            self.notify("Pick another checkpoint than A to compare", severity="warning")
            return
        self.post_message(self.DiffAsked(first, second))


class DiffTable(VirtualTable):
    BINDINGS = [
        Binding("v", "view_value", "Value in B", id="diff-view-value"),
        Binding("a", "view_value_a", "Value in A", id="diff-view-value-a"),
    ]
    PALETTE_ACTIONS = frozenset({"view_value", "view_value_a"})  # the palette may run them

    def action_view_value(self) -> None:
        """Open the highlighted row's value in checkpoint B."""
        if isinstance(self.parent, DiffPane):
            self.parent.show_value(1)

    def action_view_value_a(self) -> None:
        """Open the highlighted row's value in checkpoint A."""
        if isinstance(self.parent, DiffPane):
            self.parent.show_value(0, unless="only-b")


DIFF_STYLES = {"changed": "", "same": "dim", "mismatch": "bold red", "skipped": "yellow"}


class DiffPane(ProgressPane, FilteredPane):
    """Tensors of two checkpoints, biggest relative change first."""

    def __init__(self, ws: Workspace, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.ws = ws
        self.rows: list[DiffRow] = []  # shown (filtered)
        self.all_rows: list[DiffRow] = []
        self.prefixes: tuple[str, str] | None = None
        self._name_width = 24
        self._texts: dict[int, tuple[str, str, str]] = {}  # id of a row of all_rows -> texts

    def compose(self) -> ComposeResult:
        yield Label(
            "No diff yet: in History (5), put the cursor on a checkpoint and press d.",
            id="diff-summary",
        )
        yield ProgressBar(total=1.0, show_eta=False, id="diff-progress")
        yield FilterInput(id="diff-filter")
        yield DiffTable(id="diff-table")
        yield Static("", id="diff-detail")

    def on_mount(self) -> None:
        self.query_one("#diff-progress").display = False

    def on_resize(self) -> None:
        if self.all_rows:
            self.show_rows(self.all_rows)

    def start(self, prefix_a: str, prefix_b: str) -> None:
        """Compare two checkpoints (in a worker, with progress)."""
        self.prefixes = (prefix_a, prefix_b)
        self.rows = []
        self.all_rows = []
        self.query_one(DiffTable).set_rows([], 0, lambda _: [])
        self.query_one("#diff-summary", Label).update(
            visible(f"Comparing {os.path.basename(prefix_a)} → {os.path.basename(prefix_b)} …")
        )
        self.show_progress(0.0)
        self.run_worker(
            partial(self._diff_job, prefix_a, prefix_b),
            thread=True,
            group="diff",
            exclusive=True,
            exit_on_error=False,
        )

    def _diff_job(self, prefix_a: str, prefix_b: str) -> None:
        worker = get_current_worker()
        try:
            rows = self.ws.diff(
                prefix_a,
                prefix_b,
                progress=progress_poster(self),
                cancelled=lambda: worker.is_cancelled,
            )
        except OperationCancelled:
            return
        self.app.call_from_thread(self.show_rows, rows)

    def _side_by_side(self, name: str) -> None:
        """Read the first elements of ``name`` in the diff's A and B (in a worker)."""
        if self.prefixes is None:
            return
        prefix_a, prefix_b = self.prefixes

        def job() -> None:
            from graphtui.core.workspace import side_by_side

            try:
                got: SideBySide | str = side_by_side(
                    self.ws.tensor(name, prefix_a), self.ws.tensor(name, prefix_b)
                )
            except GraphtuiError as exc:
                got = f"{name}: {exc}"
            if not get_current_worker().is_cancelled:
                self.app.call_from_thread(self.show_side_by_side, name, got)

        self.run_worker(job, thread=True, group="diff-detail", exclusive=True, exit_on_error=False)

    def show_value(self, side: int, unless: str = "") -> None:
        """Open the highlighted row's value in checkpoint A (``side`` 0) or B (1), unless the
        row's status is ``unless`` (the tensor is not on that side)."""
        row = self.current()
        if row is not None and self.prefixes is not None and row.status != unless:
            self.post_message(ShowValue(row.name, self.prefixes[side]))

    def show_progress(self, fraction: float | None) -> None:
        bar = self.query_one("#diff-progress", ProgressBar)
        bar.display = fraction is not None
        if fraction is not None:
            bar.update(progress=fraction)

    def focus_table(self) -> None:
        self.query_one(DiffTable).focus()

    def filter_changed(self) -> None:
        if self.all_rows:
            self.show_rows(self.all_rows)

    def show_rows(self, rows: list[DiffRow]) -> None:
        """Show the diff's rows (those the ``/`` filter keeps)."""
        if rows is not self.all_rows:
            self._texts.clear()
        self.all_rows = rows
        match = self.query_one(FilterInput).matcher()
        rows = rows if match is None else [r for r in rows if match(r.name)]
        self.show_progress(None)
        table = self.query_one(DiffTable)
        self._name_width = width = name_width([r.name for r in rows], self.size.width, 44)
        # the other columns as wide as their widest text (made once per diff, kept for a
        # filter or a resize: 20,000 tensors are not measured cell by cell)
        texts = [self._text_of(r) for r in rows]
        widths = [
            max([cell_len(label), *(cell_len(t[i]) for t in texts)])
            for i, label in enumerate(("rel L2", "max |Δ|"))
        ]
        widths.append(max([len("status"), *(len(s) for s in {r.status for r in rows})]))
        widths.append(max([len("shape"), *(cell_len(t[2]) for t in texts)]))
        columns = [TableColumn("tensor", "tensor", width)] + [
            TableColumn(col, col, w)
            for col, w in zip(("rel L2", "max |Δ|", "status", "shape"), widths, strict=True)
        ]
        keep = self.current()  # the cursor stays on its tensor when it is still shown
        self.rows = rows
        cursor = next(
            (i for i, r in enumerate(rows) if keep is not None and r.name == keep.name), 0
        )
        table.set_rows(columns, len(rows), self._cells_at, cursor=cursor)
        changed = sum(1 for r in rows if r.status == "changed")
        a, b = self.prefixes or ("", "")
        self.query_one("#diff-summary", Label).update(
            visible(f"{os.path.basename(a)} → {os.path.basename(b)}: ")
            + f"{len(rows)} tensors, {changed} changed, sorted by relative change"
        )

    def _text_of(self, row: DiffRow) -> tuple[str, str, str]:
        """The rel L2, max |Δ| and shape cells' text of ``row`` (kept for this diff)."""
        got = self._texts.get(id(row))
        if got is None:
            rel = row.rel_l2
            got = self._texts[id(row)] = (
                "inf" if rel is not None and math.isinf(rel) else number(rel),
                number(row.max_abs),
                shape_text(row.shape) if row.shape is not None else row.detail,
            )
        return got

    def _cells_at(self, index: int) -> list[Cell]:
        row = self.rows[index]
        rel, max_abs, shape = self._text_of(row)
        return [
            fit_name(row.name, self._name_width),
            Text(rel, justify="right"),
            Text(max_abs, justify="right"),
            Text(row.status, style=DIFF_STYLES.get(row.status, "cyan")),
            shape,
        ]

    def current(self) -> DiffRow | None:
        row = self.query_one(DiffTable).cursor_row
        return self.rows[row] if 0 <= row < len(self.rows) else None

    def on_virtual_table_row_highlighted(self, event: VirtualTable.RowHighlighted) -> None:
        row = self.current()
        detail = self.query_one("#diff-detail", Static)
        if row is None or self.prefixes is None:
            detail.update("")
        elif row.status in ("only-a", "only-b", "mismatch"):
            detail.update(Text(visible(f"{row.name}: {row.status} {row.detail}"), style="dim"))
        else:
            detail.update(Text(f"{visible(row.name)}: reading A and B…", style="dim"))
            self._side_by_side(row.name)

    def show_side_by_side(self, name: str, got: SideBySide | str) -> None:
        """The first elements of ``name`` in A and B and their difference, in three columns."""
        row = self.current()
        if row is None or row.name != name:
            return
        detail = self.query_one("#diff-detail", Static)
        if isinstance(got, str):
            detail.update(Text(got, style="bold red"))
            return
        a, b = self.prefixes or ("", "")
        text = Text()
        text.append(f"{visible(name)}: first {len(got.index)} elements", style="bold")
        text.append(
            visible(f"   A = {os.path.basename(a)}   B = {os.path.basename(b)}") + "\n", style="dim"
        )
        text.append(f"{'index':>12}  {'A':>14}  {'B':>14}  {'Δ = B - A':>14}\n", style="dim")
        for idx, va, vb, d in zip(got.index, got.a, got.b, got.delta, strict=True):
            where = "[" + ",".join(str(i) for i in idx) + "]"
            text.append(f"{where:>12}  {_cell(va):>14}  {_cell(vb):>14}  ")
            text.append(f"{number(d):>14}\n", style="bold" if d else "dim")
        detail.update(text)

    def on_virtual_table_row_selected(self, event: VirtualTable.RowSelected) -> None:
        self.show_value(1, unless="only-a")


def _cell(value: object) -> str:
    from graphtui.tui.fmt import cell_text

    if isinstance(value, (bytes, str)):
        return cell_text(value, "O", 14)[:14]
    try:
        return number(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)[:14]
