"""A table that keeps its rows as data and draws only the lines on screen (Textual's Line API).

Textual's DataTable copies every cell into its own structures and measures it (``add_row`` is
~0.5 ms a row): 20,000 variables took seconds to show, sort or filter. Here a pane hands over a
row count and a function that makes one row's cells; the table asks for the cells of the rows it
draws (cached), so a sort or a filter is a list operation in the pane plus one repaint. It looks
and answers like the DataTable it replaces: same styles (zebra stripes, header, cursor, focus),
same key bindings and row cursor, and RowHighlighted / RowSelected / HeaderSelected messages.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len
from rich.console import Console, RenderableType
from rich.padding import Padding
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size, Spacing
from textual.message import Message
from textual.renderables.styled import Styled
from textual.scroll_view import ScrollView
from textual.strip import Strip

Cell = str | Text
CELL_PADDING = 1  # blank cells on each side of a column, as DataTable's default
ROW_CACHE = 512  # rows whose cells are kept (a screen or two)
COMPONENTS = ("vtable--cursor", "vtable--header", "vtable--odd-row", "vtable--even-row")
LINE_CACHE = 2048  # drawn rows kept per look (a few screens of scrolling)
MAX_LOOKS = 4  # looks whose lines are kept (focused or not; a theme or width changed since)


@dataclass(frozen=True)
class TableColumn:
    """One column: ``width`` is its content width in cells; None measures the label and every
    row's cell (fine for a few hundred rows; a big table passes widths it knows)."""

    key: str
    label: str
    width: int | None = None


class _RowMessage(Message):
    """A row of a table: ``cursor_row`` of ``table``."""

    def __init__(self, table: VirtualTable, cursor_row: int) -> None:
        super().__init__()
        self.table = table
        self.cursor_row = cursor_row

    @property
    def control(self) -> VirtualTable:
        return self.table


class VirtualTable(ScrollView, can_focus=True):
    """A row-cursor table over ``count`` rows whose cells ``cells(index)`` makes on demand."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Select", show=False),
        Binding("up", "cursor_up", "Cursor up", show=False),
        Binding("down", "cursor_down", "Cursor down", show=False),
        Binding("right", "scroll_right", "Scroll right", show=False),
        Binding("left", "scroll_left", "Scroll left", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("ctrl+home", "scroll_top", "Top", show=False),
        Binding("ctrl+end", "scroll_bottom", "Bottom", show=False),
        Binding("home", "first_row", "First", show=False),
        Binding("end", "last_row", "Last", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = set(COMPONENTS)

    # the look of Textual's DataTable (its DEFAULT_CSS), so the panes look as they did
    DEFAULT_CSS = """
    VirtualTable {
        background: $surface;
        color: $foreground;
        height: 1fr;
        &:focus {
            background-tint: $foreground 5%;
            & > .vtable--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .vtable--header {
                background-tint: $foreground 5%;
            }
        }
        &:dark {
            & > .vtable--even-row {
                background: $surface-darken-1 40%;
            }
        }
        & > .vtable--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        &:ansi > .vtable--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }
        & > .vtable--odd-row {
        }
        & > .vtable--even-row {
            background: $surface-lighten-1 50%;
        }
        & > .vtable--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """

    class RowHighlighted(_RowMessage):
        """The cursor moved to ``cursor_row`` (also after new rows are set)."""

    class RowSelected(_RowMessage):
        """Enter (or a click on the highlighted row) chose ``cursor_row``."""

    class HeaderSelected(Message):
        """A click on the header of column ``column_key``."""

        def __init__(self, table: VirtualTable, column_key: str) -> None:
            super().__init__()
            self.table = table
            self.column_key = column_key

        @property
        def control(self) -> VirtualTable:
            return self.table

    def __init__(
        self,
        *,
        zebra_stripes: bool = True,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.zebra_stripes = zebra_stripes
        self.columns: list[TableColumn] = []
        self._widths: list[int] = []  # content width of each column
        self._count = 0
        self._cells: Callable[[int], Sequence[Cell]] = lambda _: ()
        self._row_cells: dict[int, Sequence[Cell]] = {}
        self._lines: dict[tuple[int, bool], Strip] = {}  # (row or -1, cursor) -> line
        # the lines of each look the table had (focused or not, the theme's colours): a tab
        # switch blurs a table and focuses it again, which drew every visible row again
        self._looks: dict[tuple[object, ...], dict[tuple[int, bool], Strip]] = {}
        self._cursor = 0
        self._base = Style()  # the widget's own style, read once a repaint

    # -- data ------------------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return self._count

    @property
    def cursor_row(self) -> int:
        return self._cursor if self._count else -1

    def set_rows(
        self,
        columns: Sequence[TableColumn],
        count: int,
        cells: Callable[[int], Sequence[Cell]],
        *,
        cursor: int = 0,
        scroll_home: bool = False,
    ) -> None:
        """Show ``count`` rows whose cells ``cells(i)`` makes (one per column, in order), the
        cursor on row ``cursor``; posts RowHighlighted when there is a row."""
        self.columns = list(columns)
        self._count = count
        self._cells = cells
        self._row_cells.clear()
        self._widths = [
            col.width if col.width is not None else self._measure(i, col)
            for i, col in enumerate(self.columns)
        ]
        self._cursor = max(0, min(cursor, count - 1))
        self._changed()
        if scroll_home:
            self.scroll_to(0, 0, animate=False, immediate=True)
        if count:
            self._scroll_cursor_into_view()
            self.post_message(self.RowHighlighted(self, self._cursor))

    def _measure(self, index: int, col: TableColumn) -> int:
        widths = [cell_len(col.label)]
        for row in range(self._count):
            cell = self._row(row)[index]
            widths.append(cell_len(cell.plain if isinstance(cell, Text) else cell))
        return max(widths)

    def widen(self, key: str, width: int) -> None:
        """Make column ``key`` at least ``width`` cells wide (a cell grew)."""
        i = self._column_index(key)
        if width > self._widths[i]:
            self._widths[i] = width
            self._changed()

    def _column_index(self, key: str) -> int:
        return next(i for i, col in enumerate(self.columns) if col.key == key)

    def refresh_rows(self, rows: Sequence[int] | None = None) -> None:
        """Make the cells of ``rows`` again (all when None): their data changed."""
        if rows is None:
            self._row_cells.clear()
            self._drop_lines()
            self.refresh()
            return
        for row in rows:
            self._row_cells.pop(row, None)
            self._forget_line(row)

    def _row(self, index: int) -> Sequence[Cell]:
        cells = self._row_cells.get(index)
        if cells is None:
            if len(self._row_cells) >= ROW_CACHE:
                self._row_cells.clear()
            cells = self._row_cells[index] = self._cells(index)
        return cells

    def _changed(self) -> None:
        """Rows, columns or widths changed: new virtual size, every line drawn again."""
        self._drop_lines()
        width = sum(w + 2 * CELL_PADDING for w in self._widths)
        self.virtual_size = Size(width, self._count + 1)
        self.refresh()

    # -- cursor ----------------------------------------------------------------------------------

    def move_cursor(self, *, row: int, animate: bool = False, scroll: bool = True) -> None:
        """Put the cursor on ``row`` (clamped), scroll it into view, post RowHighlighted."""
        if not self._count:
            return
        row = max(0, min(row, self._count - 1))
        old, self._cursor = self._cursor, row
        if old != row:
            self._forget_line(old)
            self._forget_line(row)
            self.post_message(self.RowHighlighted(self, row))
        if scroll:
            self._scroll_cursor_into_view(animate=animate)

    def _forget_line(self, row: int) -> None:
        for lines in self._looks.values():
            lines.pop((row, False), None)
            lines.pop((row, True), None)
        self.refresh(Region(0, row + 1 - int(self.scroll_y), self.size.width, 1))

    def _scroll_cursor_into_view(self, animate: bool = False) -> None:
        region = Region(int(self.scroll_x), self._cursor + 1, max(1, self.size.width), 1)
        self.scroll_to_region(region, animate=animate, spacing=Spacing(top=1), force=True)

    def action_cursor_up(self) -> None:
        self.move_cursor(row=self._cursor - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(row=self._cursor + 1)

    def action_first_row(self) -> None:
        self.move_cursor(row=0)

    def action_last_row(self) -> None:
        self.move_cursor(row=self._count - 1)

    def action_scroll_top(self) -> None:
        self.move_cursor(row=0)

    def action_scroll_bottom(self) -> None:
        self.move_cursor(row=self._count - 1)

    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def action_page_down(self) -> None:
        page = self._page()
        self.scroll_relative(y=page, animate=False, force=True)
        self.move_cursor(row=self._cursor + page, scroll=False)
        self._scroll_cursor_into_view()

    def action_page_up(self) -> None:
        page = self._page()
        self.scroll_relative(y=-page, animate=False, force=True)
        self.move_cursor(row=self._cursor - page, scroll=False)
        self._scroll_cursor_into_view()

    def action_select_cursor(self) -> None:
        if self._count:
            self.post_message(self.RowSelected(self, self._cursor))

    async def _on_click(self, event: events.Click) -> None:
        meta = event.style.meta
        if "row" not in meta:
            return
        row, column = meta["row"], meta.get("column", 0)
        if row < 0:
            if 0 <= column < len(self.columns):
                self.post_message(self.HeaderSelected(self, self.columns[column].key))
            return
        event.stop()
        if row == self._cursor:
            self.action_select_cursor()
        else:
            self.move_cursor(row=row)

    # -- drawing ---------------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        # focus, blur, a theme: the lines of the new look are picked when drawn (render_lines)
        super().notify_style_update()
        self.refresh()

    def _drop_lines(self) -> None:
        """Every line drawn again, in every look."""
        self._looks.clear()
        self._lines = {}

    def render_lines(self, crop: Region) -> list[Strip]:
        self._base = self.rich_style  # (walks the ancestors: once a repaint, not once a line)
        # what a row's drawing depends on besides its cells (see _render_row); a pane shown
        # again is resized to the size it had
        look = (self.size.width, self._base, *map(self.get_component_rich_style, COMPONENTS))
        lines = self._looks.get(look)
        if lines is None:
            if len(self._looks) >= MAX_LOOKS:
                self._looks.clear()
            lines = self._looks[look] = {}
        self._lines = lines
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        row = -1 if y == 0 else y - 1 + int(self.scroll_y)
        width = self.size.width
        base = self._base
        if row >= self._count:
            return Strip.blank(width, base)
        cursor = row == self._cursor and row >= 0
        line = self._lines.get((row, cursor))
        if line is None:
            if len(self._lines) >= LINE_CACHE:
                self._lines.clear()
            line = self._lines[(row, cursor)] = self._render_row(row, cursor, base)
        scroll_x = int(self.scroll_x)
        return line.crop(scroll_x, scroll_x + width).adjust_cell_length(width, base).simplify()

    def _render_row(self, row: int, cursor: bool, base: Style) -> Strip:
        """One whole row (or the header, ``row`` -1), as DataTable draws it: each cell padded,
        the row's style under it, the cursor's colour over it, the rest of the width filled."""
        if row < 0:
            row_style = self.get_component_rich_style("vtable--header")
            cells: Sequence[RenderableType] = [Text(col.label) for col in self.columns]
        else:
            if self.zebra_stripes:
                row_style = self.get_component_rich_style(
                    "vtable--odd-row" if row % 2 else "vtable--even-row"
                )
            else:
                row_style = base
            cells = [c if isinstance(c, Text) else Text(c) for c in self._row(row)]
        extra = self.get_component_rich_style("vtable--cursor") if cursor else Style()
        post = Style.from_color(color=extra.color) if cursor else Style.null()
        under = row_style + extra
        console = self.app.console
        segments: list[Segment] = []
        for column, (cell, content) in enumerate(zip(cells, self._widths, strict=False)):
            pre = under + Style.from_meta({"row": row, "column": column})
            segments.extend(_cell_segments(console, cell, content, pre, post))
        table_width = sum(w + 2 * CELL_PADDING for w in self._widths)
        rest = max(0, self.size.width - table_width)
        fill = under + Style.from_meta({"row": row, "column": 0, "out_of_bounds": True})
        segments.append(Segment(" " * rest, fill))
        return Strip(segments)


def _cell_segments(
    console: Console, cell: RenderableType, width: int, pre: Style, post: Style
) -> list[Segment]:
    """One cell as DataTable draws it (``Styled(Padding(cell, (0, 1)))`` cut to one line),
    made directly from the Text: ~10x faster than a trip through ``render_lines``."""
    if not isinstance(cell, Text) or cell.justify not in (None, "default", "right"):
        options = console.options.update_dimensions(width + 2 * CELL_PADDING, 1)
        lines = console.render_lines(
            Styled(Padding(cell, (0, CELL_PADDING)), pre_style=pre, post_style=post),
            options.update(no_wrap=True),
        )
        return lines[0]
    text = cell
    if "\n" in text.plain:
        text = text.split("\n")[0]
    if text.justify == "right":  # rich's justify: strip the end, cut, pad on the left
        text = text.copy()
        text.rstrip()
        text.truncate(width)
        text.pad_left(width - text.cell_len)
        fill = 0
    else:
        if text.cell_len > width:
            text = text.copy()
            text.truncate(width)
        fill = width - text.cell_len
    outer = pre + post if post else pre
    pad = Segment(" " * CELL_PADDING, outer)
    out = [pad]
    if text.spans:  # rendered with the Text's own style under its spans
        pieces = [(seg.text, seg.style) for seg in text.render(console)]
    else:  # (Text.render leaves the style out when there are no spans)
        pieces = [(text.plain, console.get_style(text.style) if text.style else None)]
    out.extend(
        Segment(piece, (pre + style + post if post else pre + style) if style else outer)
        for piece, style in pieces
    )
    if fill:
        out.append(Segment(" " * fill, outer))
    out.append(pad)
    return out
