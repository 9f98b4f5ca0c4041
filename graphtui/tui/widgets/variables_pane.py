"""The variables table: graph variables joined with the active checkpoint's tensors."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Label, ProgressBar

from graphtui.core.workspace import TensorStats, VariableRow, Workspace
from graphtui.formats.visible import visible
from graphtui.tui.fmt import fit_name, human_bytes, human_count, name_width, number, shape_text
from graphtui.tui.widgets.filter_bar import FilteredPane, FilterInput

STATUS_STYLE = {
    "ok": "green",
    "graph-only": "yellow",
    "checkpoint-only": "cyan",
    "mismatch": "bold red",
    "corrupt": "bold white on red",
    "unreadable": "bold red",
    "failed": "bold red",
    "local": "dim",
}
# sort key name -> (column title, key function)
SORTS = ("name", "params", "bytes", "status", "dtype")
COLUMNS = ("name", "status", "dtype", "shape", "params", "bytes", "mean", "std", "nan/inf")
# below this width dtype and bytes leave the table (they stay in the detail line), so that at 80
# columns every other column is whole
NARROW = 100
NARROW_DROPS = ("dtype", "bytes")
NARROW_OTHERS = 64  # status, shape, params, mean, std, nan/inf with padding and a scrollbar
OTHER_WIDTH = 58  # room the columns after the name need before the statistics (with padding)
MIN_NAME = 16  # at 80 columns every other column still fits whole


def shown_name(row: VariableRow) -> str:
    """The name a row shows: a TF2 checkpoint key's object path (``model/dense/kernel`` for
    ``model/dense/kernel/.ATTRIBUTES/VARIABLE_VALUE``), else the variable's name."""
    if row.object_path and not row.in_graph and row.key == f"{row.object_path}/{_VALUE_SUFFIX}":
        return row.object_path
    return row.name


_VALUE_SUFFIX = ".ATTRIBUTES/VARIABLE_VALUE"


def _sort_key(sort: str, row: VariableRow) -> object:
    from graphtui.core.natural import natural_key

    if sort == "params":
        return row.params
    if sort == "bytes":
        return row.nbytes
    if sort == "status":
        return (row.status, natural_key(row.name))
    if sort == "dtype":
        return (row.dtype, natural_key(row.name))
    return natural_key(row.name)


class HomeEndTable(DataTable[object]):
    """A table where Home / End go to the first / last row (DataTable scrolls sideways)."""

    BINDINGS = [
        Binding("home", "first_row", "First", show=False),
        Binding("end", "last_row", "Last", show=False),
    ]

    def action_first_row(self) -> None:
        if self.row_count:
            self.move_cursor(row=0, animate=False)

    def action_last_row(self) -> None:
        if self.row_count:
            self.move_cursor(row=self.row_count - 1, animate=False)


class VariablesTable(HomeEndTable):
    BINDINGS = [
        Binding("o", "app.toggle_slots", "Slots", id="toggle-slots"),
        Binding("s", "app.sort_variables", "Sort", id="sort-variables"),
        Binding("r", "app.reverse_sort", "Reverse", show=False, id="reverse-sort"),
        Binding("t", "app.stats", "Stats", id="variable-stats"),
        Binding("T", "app.stats_all", "Stats all", id="stats-all"),
        Binding("g", "app.goto_node", "Go to node", show=False, id="goto-node"),
    ]


class VariablesPane(FilteredPane):
    """Sortable variables table; optimizer slots can be hidden; statistics fill in per row."""

    def __init__(self, ws: Workspace, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.ws = ws
        self.hide_slots = False
        self.sort = "name"
        self.reverse = False
        self.rows: list[VariableRow] = []
        self.stats: dict[tuple[str, str], TensorStats] = {}
        self.failed: dict[tuple[str, str], str] = {}  # (prefix, key) -> why it did not read
        self._shown_width = MIN_NAME
        self.built = False

    def compose(self) -> ComposeResult:
        yield Label("", id="variables-summary")
        yield FilterInput(id="variables-filter")
        table = VariablesTable(id="variables-table", cursor_type="row", zebra_stripes=True)
        yield table
        yield Label("", id="variables-detail")
        yield ProgressBar(total=1.0, show_eta=False, id="variables-progress")

    def on_mount(self) -> None:
        self.query_one("#variables-progress").display = False

    def on_show(self) -> None:
        self.ensure_rows()

    def ensure_rows(self) -> None:
        """Build the table the first time it is needed (not at start-up: joining the variables
        of a big graph and measuring the table's cells takes a while)."""
        if not self.built:
            self.refresh_rows()

    def on_resize(self) -> None:
        if self.rows and (
            self._name_width() != self._shown_width
            or len(self.columns) != len(self.table.columns)
        ):
            self.refresh_rows()

    @property
    def narrow(self) -> bool:
        return 0 < self.size.width < NARROW

    @property
    def columns(self) -> tuple[str, ...]:
        """The table's columns at the pane's width."""
        return tuple(c for c in COLUMNS if not (self.narrow and c in NARROW_DROPS))

    def _name_width(self) -> int:
        names = [shown_name(r) for r in self.ws_rows]
        others = NARROW_OTHERS if self.narrow else OTHER_WIDTH
        return name_width(names, self.size.width, others, MIN_NAME)

    @property
    def ws_rows(self) -> list[VariableRow]:
        try:
            return self.ws.variables()
        except Exception:  # noqa: BLE001 - refresh_rows reports it
            return []

    @property
    def table(self) -> VariablesTable:
        return self.query_one(VariablesTable)

    def refresh_rows(self, keep: str | None = None) -> None:
        """Rebuild the rows (after a sort, a filter or a new active checkpoint)."""
        self.built = True
        table = self.table
        if keep is None:
            keep = self.current_name()
        try:
            all_rows = self.ws.variables()
        except Exception as exc:  # noqa: BLE001 - shown, the app stays usable
            self.app.show_error(exc)  # type: ignore[attr-defined]
            all_rows = []
        rows = [r for r in all_rows if not (self.hide_slots and r.is_slot)]
        match = self.query_one(FilterInput).matcher()
        if match is not None:
            rows = [r for r in rows if match(shown_name(r)) or match(r.key or "")]
        self._shown_width = self._name_width()
        table.clear(columns=True)
        for col in self.columns:
            table.add_column(col, key=col, width=self._shown_width if col == "name" else None)
        rows.sort(key=lambda r: _sort_key(self.sort, r), reverse=self.reverse)  # type: ignore[arg-type, return-value]
        self.rows = rows
        for row in rows:
            table.add_row(*self._cells(row), key=row.name)
        if keep is not None:
            for i, row in enumerate(rows):
                if row.name == keep:
                    table.move_cursor(row=i, animate=False)
                    break
        hidden = sum(1 for r in all_rows if r.is_slot) if self.hide_slots else 0
        model = sum(r.params for r in rows if _is_model(r))
        slots = sum(r.params for r in rows if r.is_slot)
        nbytes = sum(r.nbytes for r in rows)
        arrow = "↓" if self.reverse else "↑"
        where = self.ws.active_prefix or "no checkpoint"
        summary = (
            f"{len(rows)} variables, {human_count(model)} model params"
            + (f" (+{human_count(slots)} in slots)" if slots else "")
            + f", {human_bytes(nbytes)}"
            + (f"  ({hidden} slots hidden: o)" if hidden else "")
            + (
                f"  filter: {self.query_one(FilterInput).value}"
                if self.query_one(FilterInput).value
                else ""
            )
            + f"  sort: {self.sort} {arrow}  ·  {visible(_short(where))}"
        )
        if self.ws.checkpoint_problem:
            from rich.text import Text

            self.query_one("#variables-summary", Label).update(
                Text(summary + "\n")
                + Text("checkpoint unreadable: " + self.ws.checkpoint_problem, style="bold red")
            )
        else:
            self.query_one("#variables-summary", Label).update(summary)
        self.show_detail()

    def _cells(self, row: VariableRow) -> list[object]:
        from rich.text import Text

        stats = self.stats.get((self.ws.active_prefix or "", row.key or ""))
        width = self._shown_width
        name = Text(fit_name(shown_name(row), width), style="dim" if row.is_slot else "")
        shown = self.status_of(row)
        status = Text(shown, style=STATUS_STYLE.get(shown, ""))
        cells: dict[str, object] = {
            "name": name,
            "status": status,
            "dtype": row.dtype,
            "shape": shape_text(row.shape),
            "params": Text(human_count(row.params), justify="right"),
            "bytes": Text(human_bytes(row.nbytes) if row.nbytes else "", justify="right"),
        }
        cells.update(zip(COLUMNS[-3:], _stat_cells(stats), strict=True))
        return [cells[c] for c in self.columns]

    def status_of(self, row: VariableRow) -> str:
        """The row's status, or ``corrupt`` / ``failed`` once reading its tensor failed."""
        if self.ws.corrupt_reason(row.key) is not None:
            return "corrupt"
        if (self.ws.active_prefix or "", row.key or "") in self.failed:
            return "failed"
        return row.status

    def mark_corrupt(self, key: str, prefix: str) -> None:
        """The tensor ``key`` of ``prefix`` failed its checksum: say so on its row."""
        self._restatus(key, prefix)

    def mark_failed(self, key: str, prefix: str, why: str) -> None:
        """Reading ``key`` failed (``why``); a checksum failure reads ``corrupt``."""
        if self.ws.corrupt_reason(key, prefix) is None:
            self.failed[(prefix, key)] = why
        self._restatus(key, prefix)

    def _restatus(self, key: str, prefix: str) -> None:
        from rich.text import Text

        if not self.built or prefix != (self.ws.active_prefix or ""):
            return
        for row in self.rows:
            if row.key == key:
                shown = self.status_of(row)
                self.table.update_cell(
                    row.name,
                    "status",
                    Text(shown, style=STATUS_STYLE.get(shown, "")),
                    update_width=True,
                )
                break

    def open_filter(self) -> None:
        self.ensure_rows()
        super().open_filter()

    def focus_table(self) -> None:
        self.table.focus()

    def filter_changed(self) -> None:
        self.refresh_rows()

    def current(self) -> VariableRow | None:
        table = self.table
        if not self.rows or table.cursor_row < 0 or table.cursor_row >= len(self.rows):
            return None
        return self.rows[table.cursor_row]

    def current_name(self) -> str | None:
        row = self.current() if self.is_mounted and self.rows else None
        return None if row is None else row.name

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_detail()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        row = self.current()
        if row is not None:
            self.app.open_value(row.key or row.name)  # type: ignore[attr-defined]

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        key = str(event.column_key.value)
        if key in SORTS:
            if self.sort == key:
                self.reverse = not self.reverse
            self.sort = key
            self.refresh_rows()

    def show_detail(self) -> None:
        row = self.current()
        label = self.query_one("#variables-detail", Label)
        if row is None:
            label.update("")
            return
        parts = [row.key and f"key {row.key}" or "not in checkpoint"]
        if self.narrow:
            parts.append(row.dtype + (f" {human_bytes(row.nbytes)}" if row.nbytes else ""))
        if row.role:
            parts.append(row.role)
        if row.trainable is not None:
            parts.append("trainable" if row.trainable else "not trainable")
        if row.partitions:
            parts.append(f"{row.partitions} partitions")
        if row.object_path is not None:
            parts.append(f"object {row.object_path or '(root)'}")
        if row.object_name and row.object_name != row.name:
            parts.append(f"name {row.object_name}")
        if row.detail:
            parts.append(row.detail)
        if self.ws.corrupt_reason(row.key):
            parts.insert(0, "checksum mismatch: values unverified")
        failed = self.failed.get((self.ws.active_prefix or "", row.key or ""))
        if failed:
            parts.insert(0, failed)
        label.update(visible("  ·  ".join(parts)))

    def cycle_sort(self) -> str:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self.reverse = self.sort in ("params", "bytes")
        self.refresh_rows()
        return self.sort

    def set_stats(self, key: str, prefix: str, stats: TensorStats) -> None:
        """Record statistics and fill them into the row of ``key`` (if shown)."""
        self.stats[(prefix, key)] = stats
        if prefix != (self.ws.active_prefix or ""):
            return
        table = self.table
        for row in self.rows:
            if row.key == key:
                for col, cell in zip(COLUMNS[-3:], _stat_cells(stats), strict=True):
                    table.update_cell(row.name, col, cell, update_width=True)
                break

    def show_progress(self, fraction: float | None) -> None:
        bar = self.query_one("#variables-progress", ProgressBar)
        if fraction is None:
            bar.display = False
            return
        bar.display = True
        bar.update(progress=fraction)


def _is_model(row: VariableRow) -> bool:
    """A model parameter: no optimizer slot, global step or local variable."""
    return not row.is_slot and row.role != "global_step" and row.status != "local"


def _stat_cells(stats: TensorStats | None) -> list[object]:
    from rich.text import Text

    if stats is None:
        return ["", "", ""]
    bad = stats.nan + stats.inf
    return [
        Text(number(stats.mean, 3), justify="right"),
        Text(number(stats.std, 3), justify="right"),
        Text(f"{stats.nan}/{stats.inf}", style="bold red" if bad else "dim", justify="right"),
    ]


def _short(prefix: str) -> str:
    import os

    return os.path.basename(prefix) or prefix
