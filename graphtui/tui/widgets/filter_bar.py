"""The ``/`` filter of a table pane: a one-line box above the table; rows whose name does not
match (substring, or glob with ``*`` ``?`` ``[``, as the graph search) are left out."""

from __future__ import annotations

from collections.abc import Callable

from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input

from graphtui.core.graph import name_matcher


class FilterInput(Input):
    """Enter keeps the filter and goes back to the table; Escape clears and closes it."""

    BINDINGS = [Binding("escape", "close_filter", "Clear filter", id="close-filter")]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(placeholder="filter rows: substring or glob (*, ?)", id=id, compact=True)
        self.display = False

    def open(self) -> None:
        self.display = True
        self.focus()

    def matcher(self) -> Callable[[str], bool] | None:
        """The row filter, None when there is none."""
        return name_matcher(self.value) if self.value else None

    def action_close_filter(self) -> None:
        self.value = ""  # posts Changed: the pane shows every row again
        self.display = False
        parent = self.parent
        if isinstance(parent, FilteredPane):
            parent.focus_table()


class FilteredPane(Vertical):
    """A pane with a :class:`FilterInput` above its table or tree: the one place that wires
    ``/`` (open the box), typing (:meth:`filter_changed`) and Enter (back to the table)."""

    def open_filter(self) -> None:
        self.query_one(FilterInput).open()

    def focus_table(self) -> None:
        raise NotImplementedError

    def filter_changed(self) -> None:
        """Show the rows the box's current :meth:`FilterInput.matcher` keeps."""
        raise NotImplementedError

    def on_input_changed(self, event: Input.Changed) -> None:
        if isinstance(event.input, FilterInput):
            event.stop()
            self.filter_changed()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if isinstance(event.input, FilterInput):
            event.stop()
            self.focus_table()
