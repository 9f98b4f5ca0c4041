"""The value pane: title, the tensor grid, and statistics with a small histogram beside it."""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from functools import partial
from typing import Literal

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label, ProgressBar, Sparkline, Static
from textual.worker import get_current_worker

from graphtui.core.workspace import (
    OperationCancelled,
    TensorStats,
    TensorValue,
    Workspace,
    compute_stats,
)
from graphtui.errors import ChecksumError, GraphtuiError, NotFoundError, TransferCancelled
from graphtui.formats.byte_source import is_url
from graphtui.formats.visible import visible
from graphtui.tui.fmt import human_bytes, number, shape_text
from graphtui.tui.messages import FollowLink, ProgressPane, progress_poster
from graphtui.tui.screens.dialogs import ErrorDialog, ExportDialog
from graphtui.tui.widgets.value_view import TensorGrid


def stats_text(stats: TensorStats | None, note: str = "") -> Text:
    """Statistics as a few aligned lines."""
    text = Text()
    if stats is None:
        text.append(note or "statistics: press t", style="dim")
        return text
    rows = [
        ("min", number(stats.min)),
        ("max", number(stats.max)),
        ("mean", number(stats.mean)),
        ("std", number(stats.std)),
        ("count", f"{stats.count:,}"),
        ("zeros", f"{stats.zeros:,}"),
        ("nan", f"{stats.nan:,}"),
        ("inf", f"{stats.inf:,}"),
    ]
    for i, (label, value) in enumerate(rows):
        bad = label in ("nan", "inf") and value != "0"
        text.append(f"{label:>5} ", style="dim")
        text.append(value, style="bold red" if bad else "")
        if i < len(rows) - 1:
            text.append("\n")
    return text


class JumpInput(Input):
    """``g``: an index to jump to, ``3,0,:,:`` (``:`` marks the two dimensions shown)."""

    BINDINGS = [Binding("escape", "close", "Close", id="close-jump")]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(placeholder="index: 3,0,:,:  (: marks the two shown)", id=id, compact=True)
        self.display = False

    def action_close(self) -> None:
        self.display = False
        self.value = ""
        pane = self.parent
        if isinstance(pane, ValuePane):
            pane.grid.focus()


class ValuePane(ProgressPane, Vertical):
    """A checkpoint tensor (or a graph constant): paged grid, statistics, histogram.

    The pane owns what is open (``key``, ``prefix``, ``stats``) and the workers that read it:
    the remote fetch, the checksum, the statistics and the .npy export. It tells the screen
    through messages: :class:`Opened` (show tab 4), :class:`Checked` and :class:`StatsDone`
    (the variables table marks the tensor), :class:`~graphtui.tui.messages.FollowLink`.
    """

    BINDINGS = [
        Binding("right_square_bracket", "next_slice", "Next slice", id="next-slice"),
        Binding("left_square_bracket", "previous_slice", "Prev slice", id="previous-slice"),
        Binding("right_curly_bracket", "next_outer", "Next outer", show=False, id="next-outer"),
        Binding(
            "left_curly_bracket", "previous_outer", "Prev outer", show=False, id="previous-outer"
        ),
        Binding("e", "export_value", "Export", id="export-value"),
        Binding("t", "stats", "Stats", id="value-stats"),
        Binding("G", "goto_node", "Go to node", show=False, id="value-goto-node"),
        Binding("g", "jump_index", "Jump to index", show=False, id="value-jump"),
        Binding("f", "full_strings", "Full strings", show=False, id="value-full-strings"),
        Binding("x", "transpose_value", "Transpose", show=False, id="value-transpose"),
        Binding("A", "next_axes", "Next axes", show=False, id="value-axes"),
        Binding(
            "exclamation_mark",
            "show_unverified",
            "Show unverified values",
            show=False,
            id="show-unverified",
        ),
    ]
    # the palette may run them all on this pane, focused or not
    PALETTE_ACTIONS = frozenset(b.action for b in BINDINGS if isinstance(b, Binding))

    class Fetched(Message):
        """A remote value arrived and is on the grid: the screen shows this pane's tab."""

    @dataclass
    class Checked(Message):
        """The checksum of tensor ``name`` of ``prefix`` was checked; ``problem`` says why it
        failed (None: it matched). ``unreadable``: the value cannot be read at all (a missing
        shard, a dtype TF has no type for), which is not a checksum mismatch."""

        name: str
        prefix: str
        problem: str | None
        unreadable: bool = False

    @dataclass
    class StatsDone(Message):
        """Statistics of tensor ``name`` of ``prefix`` are ready (the variables table shows them)."""

        name: str
        prefix: str
        stats: TensorStats

    def __init__(self, ws: Workspace, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.ws = ws
        self.key: str | None = None  # the checkpoint tensor open (None: nothing, or a Const)
        self.prefix: str | None = None  # its checkpoint (None: the active one)
        self.stats: TensorStats | None = None
        self.step_name = ""

    def compose(self) -> ComposeResult:
        yield Label("", id="value-title")
        yield JumpInput(id="value-jump")
        with Horizontal(id="value-split"):
            yield TensorGrid(id="value-grid")
            with Vertical(id="value-side"):
                yield Static(stats_text(None, "no value"), id="value-stats")
                yield Sparkline([], id="value-hist")
                yield Label("", id="value-hist-range")
                yield ProgressBar(total=1.0, show_eta=False, id="value-progress")

    def on_mount(self) -> None:
        self.query_one("#value-progress").display = False
        self.query_one("#value-hist").display = False
        self.show_value(None)

    @property
    def grid(self) -> TensorGrid:
        return self.query_one(TensorGrid)

    def _error(self, exc: BaseException | str) -> None:
        self.app.push_screen(ErrorDialog(exc))

    # -- opening a value ------------------------------------------------------------------------

    def open(self, key: str, prefix: str | None = None) -> Literal["shown", "fetching", "failed"]:
        """Show checkpoint tensor ``key`` (of ``prefix``, default the active checkpoint); a
        remote one is fetched in a worker (posts :class:`Fetched` when shown)."""
        reader = self.ws.reader(prefix) if prefix else self.ws.active
        if reader is not None and not reader.has_tensor(key):
            try:
                row = self.ws.variable(key)
                key = row.key or key
            except GraphtuiError:
                pass
        if reader is not None and is_url(reader.prefix):  # the range is fetched off the UI
            self.run_worker(
                partial(self._fetch_value, key, prefix),
                thread=True,
                group="value-fetch",
                exclusive=True,
                exit_on_error=False,
            )
            return "fetching"
        try:
            value = self.ws.tensor(key, prefix)
        except NotFoundError as exc:
            self.notify(str(exc), title="No value", severity="warning")
            return "failed"
        except GraphtuiError as exc:
            self._error(exc)
            return "failed"
        self._show_opened(value, key, prefix)
        return "shown"

    def cancel_fetch(self) -> None:
        self.workers.cancel_group(self, "value-fetch")

    def _fetch_value(self, key: str, prefix: str | None) -> None:
        """Worker: read a remote tensor's range (the header shows it in flight; Esc cancels)."""
        try:
            value = self.ws.tensor(key, prefix)
        except TransferCancelled:
            self.app.call_from_thread(self.notify, f"Fetch of {key} cancelled", severity="warning")
            return
        except NotFoundError as exc:
            self.app.call_from_thread(self.notify, str(exc), title="No value", severity="warning")
            return
        except GraphtuiError as exc:
            self.app.call_from_thread(self._error, exc)
            return
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_opened, value, key, prefix)
            self.post_message(self.Fetched())

    def _show_opened(self, value: TensorValue, key: str | None, prefix: str | None) -> None:
        self.key = key
        self.prefix = prefix
        self.stats = None
        self.show_value(value, os.path.basename(value.prefix) if key else "Const in the graph")
        self._check_value(value)

    def open_const(self, node: str) -> bool:
        """Show the tensor of ``Const`` node ``node``."""
        from graphtui.core.values import const_value

        if self.ws.graph is None:
            return False
        try:
            value = const_value(self.ws.graph, node)
        except GraphtuiError as exc:
            self._error(exc)
            return False
        self._show_opened(value, None, None)  # not a checkpoint tensor
        return True

    def checkpoint_activated(self) -> None:
        """Another checkpoint became the active one: a value of the active one follows it."""
        if self.key is None or self.prefix is not None:
            return
        reader = self.ws.active
        if reader is not None and reader.has_tensor(self.key):
            value = self.ws.tensor(self.key)
            lead = self.grid.lead
            self.show_value(value, os.path.basename(value.prefix))
            self.grid.set_value(value, lead)
            self.update_title()
            self._check_value(value)

    def dataflow_target(self) -> tuple[str | None, str | None]:
        """(node, function) for ``D``: the node of the value open."""
        return self.node(), None

    def node(self) -> str | None:
        """The graph node of the value open (its variable's, or the node of that name)."""
        if self.key is None:
            return None
        for row in self.ws.variables():
            if row.key == self.key and row.node:
                return row.node
        graph = self.ws.graph
        return self.key if graph is not None and self.key in graph else None

    # -- checksum and statistics (workers) ------------------------------------------------------

    def _check_value(self, value: TensorValue) -> None:
        """Verify the value's checksum (in a worker) before any of it is drawn; then its
        statistics. A known-corrupt tensor is not read again."""
        known = self.ws.corrupt_reason(value.name, value.prefix)
        if known is not None:
            self._value_checked(value, known)
            return
        if value.verified:
            self._value_checked(value, True)
            return
        self.workers.cancel_group(self, "value-stats")
        self.run_worker(
            partial(self._verify_job, value),
            thread=True,
            group="value-stats",
            exclusive=True,
            exit_on_error=False,
        )

    def _verify_job(self, value: TensorValue) -> None:
        worker = get_current_worker()
        result: bool | str = True
        try:
            value.verify()
        except ChecksumError as exc:
            result = str(exc)
        except GraphtuiError as exc:  # a missing shard, a short file, a dtype TF cannot read
            if not worker.is_cancelled:
                self.app.call_from_thread(self._value_unreadable, value, str(exc))
            return
        if not worker.is_cancelled:
            self.app.call_from_thread(self._value_checked, value, result)

    def _value_unreadable(self, value: TensorValue, why: str) -> None:
        """Nothing to draw, and nothing hidden: ``!`` has no values to show."""
        if self.grid.value is not value:
            return
        self.grid.error = why
        self.grid.refresh()
        self.update_title()
        self.post_message(self.Checked(value.name, value.prefix, why, unreadable=True))
        self.show_stats(None, "no statistics: the value cannot be read")

    def _value_checked(self, value: TensorValue, result: bool | str) -> None:
        if self.grid.value is not value:
            return
        self.grid.set_checksum(result)
        self.update_title()
        if result is True:
            self._start_stats(value)
            return
        self.ws.mark_corrupt(value.prefix, value.name, str(result))
        self.post_message(self.Checked(value.name, value.prefix, str(result)))
        self.show_stats(None, "no statistics: the checksum does not match")

    def _start_stats(self, value: TensorValue) -> None:
        if not value.numeric:
            self.show_stats(None, f"no statistics for {value.dtype.name}")
            self.workers.cancel_group(self, "value-stats")
            return
        self.show_progress(0.0)
        self.run_worker(
            partial(self._stats_job, value),
            thread=True,
            group="value-stats",
            exclusive=True,
            exit_on_error=False,
        )

    def _stats_job(self, value: TensorValue) -> None:
        worker = get_current_worker()
        try:
            stats = compute_stats(
                value, progress=progress_poster(self), cancelled=lambda: worker.is_cancelled
            )
        except OperationCancelled:
            return
        if not worker.is_cancelled:
            self.app.call_from_thread(self._stats_done, value, stats)

    def _stats_done(self, value: TensorValue, stats: TensorStats) -> None:
        self.show_progress(None)
        if self.grid.value is not value:
            return
        self.stats = stats
        self.show_stats(stats)
        self.post_message(self.StatsDone(value.name, value.prefix, stats))

    # -- actions --------------------------------------------------------------------------------

    def action_stats(self) -> None:
        """Compute statistics of the open value."""
        value = self.grid.value
        if value is None:
            return
        if self.grid.error is not None:
            self.notify("No statistics: the value cannot be read", severity="warning")
            return
        if self.grid.checksum is not True:
            self.notify("No statistics of unverified values", severity="warning")
            return
        self._start_stats(value)

    def action_show_unverified(self) -> None:
        """Show the values of a tensor whose checksum failed (under a permanent banner)."""
        grid = self.grid
        if grid.error is not None:
            self.notify("Nothing to show: the value cannot be read", severity="warning")
            return
        if grid.value is None or grid.checksum in (None, True):
            self.notify("Nothing hidden: the values on screen are verified", severity="information")
            return
        grid.show_unverified = True
        grid.refresh()
        self.update_title()

    def action_goto_node(self) -> None:
        """Show the graph node of the open value."""
        self.post_message(FollowLink(self.node()))

    def action_next_slice(self) -> None:
        """Next slice of the leading dimensions."""
        self._page(1, False)

    def action_previous_slice(self) -> None:
        """Previous slice of the leading dimensions."""
        self._page(-1, False)

    def action_next_outer(self) -> None:
        """Next index of the outermost dimension."""
        self._page(1, True)

    def action_previous_outer(self) -> None:
        """Previous index of the outermost dimension."""
        self._page(-1, True)

    def _page(self, step: int, outer: bool) -> None:
        if self.grid.page(step, outer):
            self.update_title()
        elif self.grid.value is not None and self.grid.slice_count <= 1:
            self.notify("This value has a single slice", severity="information")

    def action_jump_index(self) -> None:
        """Jump to an index of the open value (``3,0,:,:``)."""
        if self.grid.value is None:
            self.notify("Open a value first", severity="warning")
            return
        box = self.query_one(JumpInput)
        box.display = True
        box.value = self.grid.slice_text().replace(" transposed", "").strip("[]")
        box.focus()

    def action_full_strings(self) -> None:
        """Show the string cells on screen in full (the grid cuts them to its column width)."""
        from graphtui.tui.fmt import cell_text
        from graphtui.tui.screens.dialogs import TextDialog

        grid = self.grid
        cells = grid.visible_cells()
        if not cells:
            self.notify("No values on screen", severity="information")
            return
        lines = [f"[{where}] {cell_text(item, grid.kind, 1 << 20)}" for where, item in cells]
        name = grid.value.name if grid.value is not None else ""
        title = f"{visible(name)} {grid.slice_text()}: cells on screen"
        self.app.push_screen(TextDialog(title, "\n".join(lines)))

    def action_transpose_value(self) -> None:
        """Swap the two dimensions shown (rows and columns)."""
        grid = self.grid
        if grid.value is None or len(grid.value.shape) < 2:
            self.notify("Transpose needs a value of rank 2 or more", severity="information")
            return
        grid.set_axes((grid.axes[1], grid.axes[0]))
        self.update_title()

    def action_next_axes(self) -> None:
        """Show the next pair of dimensions (rank 3 and more)."""
        grid = self.grid
        if grid.value is None or len(grid.value.shape) < 3:
            self.notify("A value of rank 3 or more has other axes to show", severity="information")
            return
        pairs = list(itertools.combinations(range(len(grid.value.shape)), 2))
        current = tuple(sorted(grid.axes))
        grid.set_axes(pairs[(pairs.index(current) + 1) % len(pairs)])  # type: ignore[arg-type]
        self.update_title()

    def action_export_value(self) -> None:
        """Write the value on screen to a .npy file."""
        if self.key is None:
            self.notify("Open a value first (Enter on a variable)", severity="warning")
            return
        key, prefix = self.key, self.prefix
        default = key.replace("/", "_").replace(":", "_") + ".npy"

        def done(path: str | None) -> None:
            if path:
                self.run_worker(
                    partial(self._export_job, key, path, prefix),
                    thread=True,
                    group="export",
                    exit_on_error=False,
                )

        self.app.push_screen(ExportDialog(key, default), done)

    def _export_job(self, key: str, path: str, prefix: str | None) -> None:
        written = self.ws.export_npy(key, path, prefix)
        self.app.call_from_thread(self.notify, visible(f"Wrote {written}"), title="Exported")

    # -- drawing --------------------------------------------------------------------------------

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if not isinstance(event.input, JumpInput):
            return
        event.stop()
        try:
            self.grid.jump(event.value)
        except ValueError as exc:
            self.app.notify(f"Cannot jump there: {exc}", severity="warning")
            return
        event.input.action_close()
        self.update_title()

    def show_value(self, value: TensorValue | None, step_name: str = "") -> None:
        self.grid.set_value(value)
        self.step_name = step_name
        self.update_title()
        self.show_stats(
            None, "computing statistics…" if value is not None and value.numeric else ""
        )

    def update_title(self) -> None:
        grid = self.grid
        value = grid.value
        title = Text()
        if value is None:
            title.append(
                "No value open: Enter on a variable (3) or a variable node (1).", style="dim"
            )
        else:
            if grid.error is not None:
                title.append("value not readable", style="bold white on red")
                title.append("  ")
            elif grid.checksum not in (None, True):
                # permanent while this value is open, shown or not
                title.append("checksum mismatch: values unverified", style="bold white on red")
                title.append("  ")
            title.append(visible(value.name), style="bold")
            title.append(f"  {value.dtype.name} {shape_text(value.shape)}")
            title.append(f"  {human_bytes(value.nbytes)}", style="dim")
            if self.step_name:
                title.append(f"  @ {visible(self.step_name)}", style="dim")
            if grid.slice_count > 1:
                title.append(
                    f"  slice {grid.slice_text()} {grid.slice_number + 1}/{grid.slice_count}  [ ] to page",
                    style="cyan",
                )
        self.query_one("#value-title", Label).update(title)

    def show_stats(self, stats: TensorStats | None, note: str = "") -> None:
        self.query_one("#value-stats", Static).update(stats_text(stats, note))
        hist = self.query_one("#value-hist", Sparkline)
        label = self.query_one("#value-hist-range", Label)
        if stats is not None and stats.histogram and sum(stats.histogram):
            hist.data = [float(c) for c in stats.histogram]
            hist.display = True
            label.update(f"{number(stats.edges[0], 3)} … {number(stats.edges[-1], 3)}")
        else:
            hist.display = False
            label.update("")

    def show_progress(self, fraction: float | None) -> None:
        bar = self.query_one("#value-progress", ProgressBar)
        if fraction is None:
            bar.display = False
            return
        bar.display = True
        bar.update(progress=fraction)
