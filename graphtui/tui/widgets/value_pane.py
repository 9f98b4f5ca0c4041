"""The value pane: title, the tensor grid, and statistics with a small histogram beside it."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, ProgressBar, Sparkline, Static

from graphtui.core.workspace import TensorStats, TensorValue
from graphtui.formats.visible import visible
from graphtui.tui.fmt import human_bytes, number, shape_text
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


class ValuePane(Vertical):
    """A checkpoint tensor: paged grid, statistics, histogram."""

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

    def open_jump(self) -> None:
        box = self.query_one(JumpInput)
        box.display = True
        box.value = self.grid.slice_text().replace(" transposed", "").strip("[]")
        box.focus()

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
            if grid.checksum not in (None, True):
                # permanent while this value is open, shown or not
                title.append("checksum mismatch: values unverified", style="bold white on red")
                title.append("  ")
            title.append(visible(value.name), style="bold")
            title.append(f"  {value.dtype.name} {shape_text(value.shape)}")
            title.append(f"  {human_bytes(value.nbytes)}", style="dim")
            if getattr(self, "step_name", ""):
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
