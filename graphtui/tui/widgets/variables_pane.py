"""The variables table: graph variables joined with the active checkpoint's tensors."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from functools import partial
from operator import attrgetter
from typing import Any

import numpy as np
from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Label, ProgressBar
from textual.worker import Worker, get_current_worker

from graphtui.core.graph import name_matcher
from graphtui.core.natural import natural_key
from graphtui.core.workspace import (
    OperationCancelled,
    TensorStats,
    TensorValue,
    VariableRow,
    Workspace,
    compute_stats,
)
from graphtui.errors import ChecksumError, GraphtuiError
from graphtui.formats.gc_paused import gc_paused
from graphtui.formats.visible import visible
from graphtui.tui.fmt import fit_name, human_bytes, human_count, name_width, number, shape_text
from graphtui.tui.messages import FollowLink, ProgressPane, ShowValue, progress_poster
from graphtui.tui.screens.dialogs import ErrorDialog
from graphtui.tui.widgets.filter_bar import FilteredPane, FilterInput
from graphtui.tui.widgets.virtual_table import Cell, TableColumn, VirtualTable

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


class VariablesTable(VirtualTable):
    BINDINGS = [
        Binding("o", "toggle_slots", "Slots", id="toggle-slots"),
        Binding("s", "sort_variables", "Sort", id="sort-variables"),
        Binding("r", "reverse_sort", "Reverse", show=False, id="reverse-sort"),
        Binding("t", "stats", "Stats", id="variable-stats"),
        Binding("T", "stats_all", "Stats all", id="stats-all"),
        Binding("g", "goto_node", "Go to node", show=False, id="goto-node"),
    ]
    # what the command palette may run on this table when it is not focused
    PALETTE_ACTIONS = frozenset(
        {"toggle_slots", "sort_variables", "reverse_sort", "stats", "stats_all", "goto_node"}
    )

    @property
    def pane(self) -> VariablesPane:
        return self.query_ancestor(VariablesPane)

    def action_toggle_slots(self) -> None:
        """Hide or show optimizer slots, moving averages and beta powers."""
        pane = self.pane
        pane.hide_slots = not pane.hide_slots
        pane.refresh_rows()
        self.notify("Optimizer slots hidden" if pane.hide_slots else "Optimizer slots shown")

    def action_sort_variables(self) -> None:
        """Sort the variables by the next column (name, params, bytes, status, dtype)."""
        self.pane.cycle_sort()

    def action_reverse_sort(self) -> None:
        """Reverse the variables' order."""
        pane = self.pane
        pane.reverse = not pane.reverse
        pane.refresh_rows()

    def action_stats(self) -> None:
        """Compute statistics of the selected variable."""
        row = self.pane.current()
        if row is None or row.key is None:
            self.notify("Not in the checkpoint: no value", severity="warning")
            return
        self.pane.start_stats([row.key])

    def action_stats_all(self) -> None:
        """Compute statistics of every variable shown (in a worker, with progress); a tensor
        that fails is marked on its row, the others carry on."""
        pane = self.pane
        pane.ensure_rows()
        pane.start_stats([row.key for row in pane.rows if row.key is not None])

    def action_goto_node(self) -> None:
        """Show the graph node of the selected variable."""
        row = self.pane.current()
        node = None if row is None else row.node or (row.name if row.in_graph else None)
        self.post_message(FollowLink(node))


class PreparedRows:
    """The joined variables made ready once per join (per active checkpoint): the names shown,
    lower-case text for the ``/`` filter, numeric columns as arrays, each sort order on first
    use. A sort, a filter or a slot toggle is then index work over 20,000 rows, no Python
    call per row (issue 17: each action < 200 ms)."""

    def __init__(self, rows: list[VariableRow]) -> None:
        self.rows = rows
        count = len(rows)

        fields: tuple[str, ...] = ("name", "object_path", "is_slot", "role", "status")
        fields += ("params", "nbytes", "dtype", "shape")
        # every field of every row in one pass (C loops, no Python call per row)
        with gc_paused():  # (20,000 short-lived tuples would wake the cyclic collector)
            transposed = zip(*map(attrgetter(*fields), rows), strict=True)
            columns = dict(zip(fields, transposed, strict=True)) if rows else {}

        def column(attr: str) -> list[Any]:
            return list(columns.get(attr, ()))

        self.names = column("name")
        for i in np.flatnonzero(np.array(column("object_path"), object) != None):  # noqa: E711
            self.names[i] = shown_name(rows[i])  # TF2 keys show their object path
        longest = max(self.names, key=len, default="")
        if not "".join(self.names).isprintable():  # escapes make some names longer
            longest = max(map(visible, self.names), key=len)
        self.longest = longest
        self.is_slot = np.array(column("is_slot"), bool)
        self.is_model = (
            ~self.is_slot
            & (np.array(column("role"), object) != "global_step")
            & (np.array(column("status"), object) != "local")
        )
        self.params = np.array(column("params"), np.int64)
        self.nbytes = np.array(column("nbytes"), np.int64)
        # the content width of each row's cell in the columns that are not the name's, from
        # the text of each distinct value (a few dozen for 20,000 rows)
        self.widths: dict[str, np.ndarray] = {}
        texts: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
            ("status", "status", str),
            ("dtype", "dtype", str),
            ("shape", "shape", shape_text),
            ("params", "params", human_count),
            ("bytes", "nbytes", lambda n: human_bytes(n) if n else ""),
        )
        for col, attr, text in texts:
            cells = column(attr)
            width = {v: cell_len(text(v)) for v in set(cells)}
            self.widths[col] = np.fromiter(map(width.__getitem__, cells), np.int32, count)
        self._text: tuple[list[str], list[str], list[str]] | None = None
        self._orders: dict[tuple[str, bool], np.ndarray] = {}
        self._positions: dict[str, int] | None = None
        self._last: tuple[str, np.ndarray] | None = None  # the last substring and its matches

    def _filter_text(self) -> tuple[list[str], list[str], list[str]]:
        """Lower-case names, keys, and both in one string (a substring found in it is in one of
        them: "\\0" is never typed), made at the first ``/`` filter."""
        if self._text is None:
            names = [n.lower() for n in self.names]
            keys = [(r.key or "").lower() for r in self.rows]
            self._text = (names, keys, [f"{n}\0{k}" for n, k in zip(names, keys, strict=True)])
        return self._text

    def position(self, name: str) -> int | None:
        """The position of the row named ``name``."""
        if self._positions is None:
            self._positions = {r.name: i for i, r in enumerate(self.rows)}
        return self._positions.get(name)

    def same(self, rows: list[VariableRow]) -> bool:
        """``rows`` is this join (``Workspace.variables`` hands out a new list each time)."""
        mine = self.rows
        return len(rows) == len(mine) and (
            not rows or (rows[0] is mine[0] and rows[-1] is mine[-1])
        )

    def order(self, sort: str, reverse: bool) -> np.ndarray:
        """Row positions in ``sort`` order, as ``list.sort`` (stable) would give them; kept
        once computed. ``Workspace.variables`` is in natural name order, so ties keep it and
        the name order needs no sort (unless two rows share a name)."""
        got = self._orders.get((sort, reverse))
        if got is not None:
            return got
        rows, count = self.rows, len(self.rows)
        if sort in ("params", "bytes"):
            values = self.params if sort == "params" else self.nbytes
            # stable on the negated values: equal values keep their order, as list.sort does
            got = np.argsort(-values if reverse else values, kind="stable")
        elif sort == "name" and (not reverse or len({r.name for r in rows}) == count):
            got = np.arange(count)[:: -1 if reverse else 1]
        elif sort == "name":  # reversed with equal names: keep their order, as list.sort
            keys = [natural_key(r.name) for r in rows]
            got = np.array(sorted(range(count), key=keys.__getitem__, reverse=True), np.intp)
        else:  # status or dtype, then the name: the natural order breaks the ties
            first = [r.status if sort == "status" else r.dtype for r in rows]
            _, codes = np.unique(np.array(first, dtype=object), return_inverse=True)
            got = np.argsort(codes, kind="stable")
            if reverse:  # (status, name) pairs are distinct but for equal names: reversed
                got = got[::-1]
        self._orders[(sort, reverse)] = got
        return got

    def matching(self, pattern: str) -> np.ndarray:
        """A mask of the rows whose shown name or checkpoint key ``pattern`` matches (the
        ``/`` filter: substring or glob, case-insensitive). Typing on narrows the rows the
        last substring matched instead of testing every row again."""
        needle = pattern.lower()
        mask = np.zeros(len(self.rows), bool)
        if any(c in needle for c in "*?["):
            match = name_matcher(needle, lowered=True)
            names, keys, _ = self._filter_text()
            hits = [i for i in range(len(names)) if match(names[i]) or match(keys[i])]
            mask[hits] = True
            return mask
        last = self._last
        candidates: range | np.ndarray = range(len(self.rows))
        if last is not None and last[0] in needle:
            candidates = last[1]
        hay = self._filter_text()[2]
        hits_array = np.fromiter((i for i in candidates if needle in hay[i]), np.intp)
        self._last = (needle, hits_array)
        mask[hits_array] = True
        return mask


class VariablesPane(ProgressPane, FilteredPane):
    """Sortable variables table; optimizer slots can be hidden; statistics fill in per row.

    The rows are a list sorted and filtered here; the table draws the visible ones only, so
    opening, sorting and filtering 20,000 variables is list work plus one repaint."""

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
        self._shown_columns: tuple[str, ...] = ()
        self._index: dict[str, int] | None = {}  # checkpoint key -> its row in ``rows``
        self._prepared: PreparedRows | None = None
        self._shown: np.ndarray = np.zeros(0, np.intp)  # positions in the join of ``rows``
        self.built = False
        # the join runs in a worker: the rows fill in when it is done (issue 17.3)
        self._joining: Worker[None] | None = None
        self._join_target: tuple[object, object] = (None, None)  # (graph, checkpoint) joining
        self._join_keep: str | None = None  # the row the cursor was on when the join started
        self._join_error: BaseException | None = None  # the last join failed: shown, no rows

    def compose(self) -> ComposeResult:
        yield Label("", id="variables-summary")
        yield FilterInput(id="variables-filter")
        yield VariablesTable(id="variables-table")
        yield Label("", id="variables-detail")
        yield ProgressBar(total=1.0, show_eta=False, id="variables-progress")

    def on_mount(self) -> None:
        self.query_one("#variables-progress").display = False

    def on_show(self) -> None:
        self.ensure_rows()

    def ensure_rows(self) -> None:
        """Build the table the first time it is needed (not at start-up: joining the variables
        of a big graph takes a while)."""
        if not self.built:
            self.refresh_rows()

    def on_resize(self) -> None:
        if self.built and (
            self._name_width() != self._shown_width or self.columns != self._shown_columns
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
        others = NARROW_OTHERS if self.narrow else OTHER_WIDTH
        longest = self._prepared.longest if self._prepared is not None else ""
        return name_width([longest], self.size.width, others, MIN_NAME)

    @property
    def table(self) -> VariablesTable:
        return self.query_one(VariablesTable)

    def _prepare(self) -> PreparedRows:
        """The rows of the current join, prepared (again only when the join changed)."""
        error, self._join_error = self._join_error, None
        all_rows = [] if error is not None else self.ws.variables()
        if self._prepared is None or not self._prepared.same(all_rows):
            self._prepared = PreparedRows(all_rows)
        return self._prepared

    @property
    def joining(self) -> bool:
        """The join of graph and checkpoint is being made (the pane says so; no rows yet)."""
        return self._joining is not None

    def _join_in_worker(self, keep: str | None) -> None:
        """No join for the active checkpoint yet: say so and make it in a thread worker; the
        rows fill in when it is done. A join already running for it is waited for, and one
        for a checkpoint no longer active is cancelled and its rows never shown."""
        if keep is None and self.rows and self._joining is None:
            row = self.current()  # the cursor's row, found again in the new join
            keep = row.name if row is not None else None
        self._join_keep = keep or self._join_keep
        target = (self.ws.graph, self.ws.active)
        if self._joining is not None and _same(self._join_target, target):
            return
        self._join_target = target
        self.rows, self._shown, self._index = [], np.zeros(0, np.intp), None
        columns = [TableColumn(col, col, cell_len(col)) for col in self.columns]
        self.table.set_rows(columns, 0, self._cells_at)
        where = self.ws.active_prefix or "no checkpoint"
        self.query_one("#variables-summary", Label).update(
            Text(f"Joining the variables with {visible(_short(where))} …", style="italic")
        )
        self.query_one("#variables-detail", Label).update("")
        # the join is pure Python: started at once, it takes the GIL from the frame that says
        # "Joining" (~100 ms of a 20,000-variable first open); it starts once that is drawn
        drawn = threading.Event()
        self.call_after_refresh(drawn.set)
        self._joining = self.run_worker(
            partial(self._join_job, target, drawn),
            thread=True,
            group="variables-join",
            exclusive=True,  # a join for the checkpoint active before is cancelled
            exit_on_error=False,
        )

    def _join_job(self, target: tuple[object, object], drawn: threading.Event) -> None:
        worker = get_current_worker()
        drawn.wait(0.5)  # a refresh that does not come (hidden pane) holds it back no longer
        error: BaseException | None = None
        try:
            self.ws.variables()  # kept by the workspace unless another activation overtook it
        except Exception as exc:  # noqa: BLE001 - shown, the app stays usable
            error = exc
        if not worker.is_cancelled:
            self.app.call_from_thread(self._joined, worker, target, error)

    def _joined(
        self, worker: Worker[None], target: tuple[object, object], error: BaseException | None
    ) -> None:
        if worker is not self._joining:
            return  # superseded: another join was started since
        self._joining = None
        if not _same(target, (self.ws.graph, self.ws.active)):
            self.refresh_rows(self._join_keep)  # the active checkpoint changed: join again
            return
        if error is not None:
            self._join_error = error
            self.app.push_screen(ErrorDialog(error))
        keep, self._join_keep = self._join_keep, None
        self.refresh_rows(keep)

    def refresh_rows(self, keep: str | None = None) -> None:
        """Show the rows again (after a sort, a filter or a new active checkpoint): positions
        in the prepared sort order, through the slot and ``/`` filters; the table draws only
        the visible ones. Without a join for the active checkpoint, a worker makes it first."""
        self.built = True
        if self._join_error is None and not self.ws.variables_joined:
            self._join_in_worker(keep)
            return
        if self._joining is not None:  # joined meanwhile (another pane asked for it)
            self._joining.cancel()
            self._joining = None
            keep, self._join_keep = keep or self._join_keep, None
        before = self._prepared
        kept = self._position(keep)  # the row to keep the cursor on: its position in the join
        prepared = self._prepare()
        if prepared is not before and kept is not None:  # a new join: find the row by name
            kept = prepared.position(before.rows[kept].name) if before is not None else None
        filter_input = self.query_one(FilterInput)
        order = prepared.order(self.sort, self.reverse)
        mask = ~prepared.is_slot if self.hide_slots else None
        if filter_input.value:
            hits = prepared.matching(filter_input.value)
            mask = hits if mask is None else mask & hits
        shown = order if mask is None else order[mask[order]]
        self._shown = shown
        self.rows = [prepared.rows[i] for i in shown.tolist()]
        self._index = None
        self._shown_width = self._name_width()
        self._shown_columns = self.columns
        cursor = 0
        if kept is not None:
            found = np.flatnonzero(shown == kept)
            cursor = int(found[0]) if len(found) else 0
        self.table.set_rows(self._table_columns(), len(shown), self._cells_at, cursor=cursor)
        hidden = int(prepared.is_slot.sum()) if self.hide_slots else 0
        model = int(prepared.params[shown[prepared.is_model[shown]]].sum())
        slots = int(prepared.params[shown[prepared.is_slot[shown]]].sum())
        nbytes = int(prepared.nbytes[shown].sum())
        arrow = "↓" if self.reverse else "↑"
        where = self.ws.active_prefix or "no checkpoint"
        summary = (
            f"{len(shown)} variables, {human_count(model)} model params"
            + (f" (+{human_count(slots)} in slots)" if slots else "")
            + f", {human_bytes(nbytes)}"
            + (f"  ({hidden} slots hidden: o)" if hidden else "")
            + (f"  filter: {filter_input.value}" if filter_input.value else "")
            + f"  sort: {self.sort} {arrow}  ·  {visible(_short(where))}"
        )
        if self.ws.checkpoint_problem:
            self.query_one("#variables-summary", Label).update(
                Text(summary + "\n")
                + Text("checkpoint unreadable: " + self.ws.checkpoint_problem, style="bold red")
            )
        else:
            self.query_one("#variables-summary", Label).update(summary)
        self.show_detail()

    def _position(self, name: str | None) -> int | None:
        """The position in the current join of row ``name``, else of the cursor's row."""
        prepared = self._prepared
        if prepared is None:
            return None
        if name is not None:
            return prepared.position(name)
        row = self.table.cursor_row if self.is_mounted and self.rows else -1
        return int(self._shown[row]) if 0 <= row < len(self._shown) else None

    def _table_columns(self) -> list[TableColumn]:
        """The columns with their widths: the widest cell of the rows shown, from widths
        measured once per join (statistics and marks added: few)."""
        prepared, shown = self._prepared, self._shown
        assert prepared is not None
        widths = {
            col: int(w[shown].max()) if len(shown) else 0 for col, w in prepared.widths.items()
        }
        widths["status"] = max(
            [widths["status"], *(cell_len(self.status_of(r)) for r in self._marked_rows())]
        )
        prefix = self.ws.active_prefix or ""
        index = self.index if self.stats else {}
        shown_stats = [
            _stat_texts(stats)
            for (where, key), stats in self.stats.items()
            if where == prefix and key in index
        ]
        for i, col in enumerate(COLUMNS[-3:]):
            widths[col] = max((cell_len(texts[i]) for texts in shown_stats), default=0)
        return [
            TableColumn(
                col,
                col,
                self._shown_width if col == "name" else max(cell_len(col), widths[col]),
            )
            for col in self.columns
        ]

    @property
    def index(self) -> dict[str, int]:
        """Checkpoint key -> its row in ``rows`` (made when first asked after a change)."""
        if self._index is None:
            self._index = {r.key: i for i, r in enumerate(self.rows) if r.key}
        return self._index

    def _marked_rows(self) -> list[VariableRow]:
        """Rows shown whose tensor failed to read or failed its checksum (usually none)."""
        where = os.path.normpath(self.ws.active_prefix or "")
        keys = {k for (p, k) in self.ws.corrupt if p == where}
        keys.update(k for (p, k) in self.failed if p == (self.ws.active_prefix or ""))
        index = self.index if keys else {}
        return [self.rows[index[k]] for k in keys if k in index]

    def _cells_at(self, index: int) -> list[Cell]:
        row = self.rows[index]
        stats = self.stats.get((self.ws.active_prefix or "", row.key or ""))
        width = self._shown_width
        name = Text(fit_name(shown_name(row), width), style="dim" if row.is_slot else "")
        shown = self.status_of(row)
        status = Text(shown, style=STATUS_STYLE.get(shown, ""))
        cells: dict[str, Cell] = {
            "name": name,
            "status": status,
            "dtype": row.dtype,
            "shape": shape_text(row.shape),
            "params": Text(human_count(row.params), justify="right"),
            "bytes": Text(human_bytes(row.nbytes) if row.nbytes else "", justify="right"),
        }
        cells.update(zip(COLUMNS[-3:], _stat_cells(stats), strict=True))
        return [cells[c] for c in self._shown_columns]

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
        if not self.built or prefix != (self.ws.active_prefix or ""):
            return
        index = self.index.get(key)
        if index is not None:
            self.table.widen("status", cell_len(self.status_of(self.rows[index])))
            self.table.refresh_rows([index])

    def open_filter(self) -> None:
        self.ensure_rows()
        super().open_filter()

    def focus_table(self) -> None:
        self.table.focus()

    def filter_changed(self) -> None:
        self.refresh_rows()

    def dataflow_target(self) -> tuple[str | None, str | None]:
        """(node, function) for ``D``: the graph node of the variable under the cursor."""
        row = self.current()
        return (row.node if row is not None else None), None

    def current(self) -> VariableRow | None:
        table = self.table
        if not self.rows or table.cursor_row < 0 or table.cursor_row >= len(self.rows):
            return None
        return self.rows[table.cursor_row]

    def on_virtual_table_row_highlighted(self, event: VirtualTable.RowHighlighted) -> None:
        self.show_detail()

    def on_virtual_table_row_selected(self, event: VirtualTable.RowSelected) -> None:
        row = self.current()
        if row is not None:
            self.post_message(ShowValue(row.key or row.name))

    def on_virtual_table_header_selected(self, event: VirtualTable.HeaderSelected) -> None:
        key = event.column_key
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
        index = self.index.get(key) if self.built else None
        if index is None:
            return
        table = self.table
        for col, text in zip(COLUMNS[-3:], _stat_texts(stats), strict=True):
            table.widen(col, cell_len(text))
        table.refresh_rows([index])

    def show_progress(self, fraction: float | None) -> None:
        bar = self.query_one("#variables-progress", ProgressBar)
        if fraction is None:
            bar.display = False
            return
        bar.display = True
        bar.update(progress=fraction)

    # -- statistics (a worker) ------------------------------------------------------------------

    def start_stats(self, keys: list[str]) -> None:
        """Statistics of tensors ``keys`` of the active checkpoint, filled in per row."""
        if self.ws.active is None:
            self.notify("No readable checkpoint: no values", severity="warning")
            return
        self.show_progress(0.0)
        self.run_worker(
            partial(self._stats_job, keys),
            thread=True,
            group="table-stats",
            exclusive=True,
            exit_on_error=False,
        )

    def _stats_job(self, keys: list[str]) -> None:
        worker = get_current_worker()
        prefix = self.ws.active_prefix or ""
        values: list[TensorValue] = []
        failed: list[tuple[str, str]] = []  # (key, why)
        for key in keys:
            try:
                value = self.ws.tensor(key, prefix)
            except GraphtuiError as exc:
                failed.append((key, str(exc)))
                continue
            if value.numeric:
                values.append(value)
        total = sum(max(1, v.size) for v in values) or 1
        done = 0
        report = progress_poster(self)
        for value in values:
            base = done

            def step(fraction: float, base: int = base, size: int = max(1, value.size)) -> None:
                report((base + fraction * size) / total)

            try:
                stats = compute_stats(
                    value, bins=0, progress=step, cancelled=lambda: worker.is_cancelled
                )
            except OperationCancelled:
                return
            except ChecksumError as exc:
                failed.append((value.name, str(exc)))
                self.ws.mark_corrupt(value.prefix, value.name, str(exc))
                continue
            except GraphtuiError as exc:  # a missing shard, a short file
                failed.append((value.name, str(exc)))
                continue
            finally:
                done += max(1, value.size)
            self.app.call_from_thread(self.set_stats, value.name, value.prefix, stats)
        self.app.call_from_thread(self._stats_done, prefix, failed)

    def _stats_done(self, prefix: str, failed: list[tuple[str, str]]) -> None:
        self.show_progress(None)
        for key, why in failed:
            self.mark_failed(key, prefix, why)
        self.show_detail()
        if failed:
            names = visible(", ".join(k for k, _ in failed[:3])) + (
                ", …" if len(failed) > 3 else ""
            )
            self.notify(
                f"{len(failed)} of the tensors did not read (marked on their rows): {names}",
                title="Statistics",
                severity="warning",
                timeout=8,
            )


def _stat_texts(stats: TensorStats) -> tuple[str, str, str]:
    """The mean, std and nan/inf cells' text."""
    return number(stats.mean, 3), number(stats.std, 3), f"{stats.nan}/{stats.inf}"


def _stat_cells(stats: TensorStats | None) -> list[Cell]:
    if stats is None:
        return ["", "", ""]
    mean, std, bad = _stat_texts(stats)
    style = "bold red" if stats.nan + stats.inf else "dim"
    return [
        Text(mean, justify="right"),
        Text(std, justify="right"),
        Text(bad, style=style, justify="right"),
    ]


def _same(a: tuple[object, object], b: tuple[object, object]) -> bool:
    """The same graph and checkpoint (objects, not equal ones)."""
    return a[0] is b[0] and a[1] is b[1]


def _short(prefix: str) -> str:
    return os.path.basename(prefix) or prefix
