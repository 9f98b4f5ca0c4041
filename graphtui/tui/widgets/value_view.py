"""Value view: a tensor drawn with the Line API, one 2-D slice at a time.

Only the rows on screen are rendered, and only the blocks of elements they show are read from
the checkpoint (a small LRU cache of ``ROW_BLOCK`` x ``COL_BLOCK`` windows), so a tensor of any
size opens at once. Leading dimensions are paged with ``[`` / ``]`` (next index, odometer
style) and ``{`` / ``}`` (outermost dimension). 1-D tensors wrap ``WRAP`` elements per row.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from graphtui.core.workspace import TensorValue
from graphtui.errors import GraphtuiError
from graphtui.tui.fmt import cell_text, cell_width

ROW_BLOCK = 32
COL_BLOCK = 32
CACHE_BLOCKS = 64
WRAP = 8

_INDEX = Style(dim=True)
_HEADER = Style(bold=True)
_BAD = Style(color="red", bold=True)


class TensorGrid(ScrollView, can_focus=True):
    """The current 2-D slice of a tensor; reads lazily, draws only the visible rows."""

    # its keys (paging, transpose, export…) are the value pane's: ValuePane.BINDINGS

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.value: TensorValue | None = None
        self.lead: tuple[int, ...] = ()
        self.error: str | None = None
        # the checksum: None while it is being checked, then True (values drawn) or the reason it
        # failed (values hidden unless the user asked for them: ``show_unverified``)
        self.checksum: bool | str | None = None
        self.show_unverified = False
        # (row axis, column axis) shown for tensors of rank >= 2; the others are paged
        self.axes: tuple[int, int] = (0, 1)
        self._cache: OrderedDict[tuple[tuple[int, ...], int, int], np.ndarray] = OrderedDict()
        self.reads = 0  # windows read from the checkpoint (tests check laziness with it)

    def forget_blocks(self) -> None:
        """Drop the blocks read so far: the next frame reads what it shows again."""
        self._cache.clear()

    # -- layout ---------------------------------------------------------------------------------

    @property
    def kind(self) -> str:
        if self.value is None:
            return "f"
        np_dtype = self.value.dtype.numpy
        if np_dtype is None:
            return "O"
        kind = np_dtype.kind
        return "f" if kind == "V" and "float" in self.value.dtype.name else kind

    @property
    def lead_axes(self) -> tuple[int, ...]:
        """The dimensions paged (every one but the two shown), in order."""
        if self.value is None or len(self.value.shape) < 2:
            return ()
        return tuple(i for i in range(len(self.value.shape)) if i not in self.axes)

    @property
    def lead_shape(self) -> tuple[int, ...]:
        if self.value is None:
            return ()
        return tuple(self.value.shape[i] for i in self.lead_axes)

    @property
    def grid_shape(self) -> tuple[int, int]:
        """(rows, columns) of the current slice as drawn."""
        if self.value is None or self.value.size == 0:
            return 0, 0
        shape = self.value.shape
        if not shape:
            return 1, 1
        if len(shape) == 1:
            return math.ceil(shape[0] / WRAP), min(WRAP, shape[0])
        return shape[self.axes[0]], shape[self.axes[1]]

    @property
    def slice_count(self) -> int:
        if self.value is None or self.value.size == 0:
            return 0
        return math.prod(self.lead_shape)

    @property
    def slice_number(self) -> int:
        """0-based position of the current slice among all of them."""
        if not self.lead:
            return 0
        return int(np.ravel_multi_index(self.lead, self.lead_shape))

    @property
    def index_width(self) -> int:
        rows, _ = self.grid_shape
        return max(4, len(str(max(0, rows - 1) * (WRAP if self._wrapped else 1))) + 2)

    @property
    def _wrapped(self) -> bool:
        return self.value is not None and len(self.value.shape) == 1

    def set_value(self, value: TensorValue | None, lead: tuple[int, ...] | None = None) -> None:
        self.value = value
        self.error = None
        self.checksum = True if value is not None and value.verified else None
        self.show_unverified = False
        ndim = len(value.shape) if value is not None else 0
        self.axes = (ndim - 2, ndim - 1) if ndim >= 2 else (0, 1)
        self.forget_blocks()
        shape = self.lead_shape
        self.lead = (
            lead if lead is not None and len(lead) == len(shape) else tuple(0 for _ in shape)
        )
        self._layout()
        self.scroll_to(0, 0, animate=False)
        self.refresh()

    def _layout(self) -> None:
        rows, cols = self.grid_shape
        width = self.index_width + cols * cell_width(self.kind)
        self.virtual_size = Size(width, rows + 1)

    def page(self, step: int, outer: bool = False) -> bool:
        """Move to another slice of the leading dimensions; False at either end."""
        shape = self.lead_shape
        if not shape or self.slice_count <= 1:
            return False
        if outer:
            first = self.lead[0] + step
            if not 0 <= first < shape[0]:
                return False
            lead = (first, *(0 for _ in shape[1:]))
        else:
            number = self.slice_number + step
            if not 0 <= number < self.slice_count:
                return False
            lead = tuple(int(i) for i in np.unravel_index(number, shape))
        self.lead = lead
        self.forget_blocks()
        self.refresh()
        return True

    def slice_text(self) -> str:
        """``[2, 0, :, :]`` for the current slice (``:`` on the two axes shown)."""
        if self.value is None:
            return ""
        ndim = len(self.value.shape)
        if ndim < 2:
            return ""
        parts = [":"] * ndim
        for axis, i in zip(self.lead_axes, self.lead, strict=True):
            parts[axis] = str(i)
        text = "[" + ", ".join(parts) + "]"
        if self.axes[0] > self.axes[1]:
            text += " transposed"
        return text

    def set_axes(self, axes: tuple[int, int]) -> None:
        """Show dimensions ``axes`` (rows, columns); the lead indexes restart at 0."""
        self.axes = axes
        self.lead = tuple(0 for _ in self.lead_shape)
        self.forget_blocks()
        self._layout()
        self.scroll_to(0, 0, animate=False)
        self.refresh()

    def jump(self, spec: str) -> None:
        """Go to ``3,0,:,:``: a number fixes that dimension, ``:`` marks the two shown (when
        given, they become the shown axes); a number on a shown axis scrolls to that row or
        column. Raises ValueError on a spec that does not fit the shape."""
        if self.value is None:
            raise ValueError("no value open")
        shape = self.value.shape
        parts = [p.strip() for p in spec.strip().strip("[]").split(",")]
        if len(parts) != len(shape):
            raise ValueError(f"{len(parts)} indexes for a tensor of rank {len(shape)}")
        shown = [i for i, p in enumerate(parts) if p == ":"]
        fixed: dict[int, int] = {}
        for i, p in enumerate(parts):
            if p == ":":
                continue
            k = int(p)
            if k < 0:
                k += shape[i]
            if not 0 <= k < shape[i]:
                raise ValueError(f"index {p} is outside dimension {i} of size {shape[i]}")
            fixed[i] = k
        if len(shape) >= 2:
            if len(shown) == 2:
                self.set_axes((shown[0], shown[1]))
            elif shown:
                raise ValueError("mark the two dimensions to show with ':' (or none)")
            self.lead = tuple(fixed.get(a, 0) for a in self.lead_axes)
            self.forget_blocks()
            row = fixed.get(self.axes[0], 0)
            col = fixed.get(self.axes[1], 0)
            self.scroll_to(x=col * cell_width(self.kind), y=row, animate=False)
        elif len(shape) == 1:
            self.scroll_to(y=fixed.get(0, 0) // WRAP, animate=False)
        self.refresh()

    def set_checksum(self, result: bool | str) -> None:
        """The checksum check finished: True, or why it failed (values stay hidden)."""
        self.checksum = result
        self.refresh()

    @property
    def hidden_reason(self) -> str | None:
        """Why no values are drawn yet (checking, or a failed checksum), else None."""
        if self.value is None or self.checksum is True or self.show_unverified:
            return None
        if self.checksum is None:
            return "checking the checksum…"
        return f"Values not shown: {self.checksum}.\nPress ! to show them anyway (unverified)."

    def visible_cells(self, limit: int = 200) -> list[tuple[str, object]]:
        """(index text, element) of the cells on screen, row by row, at most ``limit``."""
        if self.value is None or self.hidden_reason or self.error:
            return []
        rows, cols = self.grid_shape
        first = int(self.scroll_offset.y)
        out: list[tuple[str, object]] = []
        for row in range(first, min(rows, first + max(1, self.size.height - 1))):
            for col in range(cols):
                item = self.element(row, col)
                if item is None and self._wrapped:
                    continue
                where = str(row * WRAP + col) if self._wrapped else f"{row},{col}"
                out.append((where, item))
                if len(out) >= limit:
                    return out
        return out

    # -- data -----------------------------------------------------------------------------------

    def _block(self, rb: int, cb: int) -> np.ndarray:
        key = (self.lead, rb, cb)
        got = self._cache.get(key)
        if got is not None:
            self._cache.move_to_end(key)
            return got
        assert self.value is not None
        rows, cols = self.grid_shape
        r0, r1 = rb * ROW_BLOCK, min(rows, (rb + 1) * ROW_BLOCK)
        c0, c1 = cb * COL_BLOCK, min(cols, (cb + 1) * COL_BLOCK)
        shape = self.value.shape
        if not shape:
            block = self.value[()].reshape(1, 1)
        elif len(shape) == 1:
            flat = self.value[r0 * WRAP : r1 * WRAP]
            pad = (r1 - r0) * WRAP - flat.size
            if pad:
                filler = np.empty(pad, dtype=object)
                flat = np.concatenate([flat.astype(object), filler])
            block = flat.reshape(r1 - r0, WRAP)[:, c0:c1]
        else:
            spans: list[tuple[int, int]] = [(0, 1)] * len(shape)
            for axis, i in zip(self.lead_axes, self.lead, strict=True):
                spans[axis] = (i, i + 1)
            row_axis, col_axis = self.axes
            spans[row_axis] = (r0, r1)
            spans[col_axis] = (c0, c1)
            raw = self.value.read(tuple(spans))
            if row_axis < col_axis:
                block = raw.reshape(r1 - r0, c1 - c0)
            else:
                block = raw.reshape(c1 - c0, r1 - r0).T
        self.reads += 1
        self._cache[key] = block
        while len(self._cache) > CACHE_BLOCKS:
            self._cache.popitem(last=False)
        return block

    def element(self, row: int, col: int) -> object:
        block = self._block(row // ROW_BLOCK, col // COL_BLOCK)
        return block[row % ROW_BLOCK, col % COL_BLOCK]

    # -- drawing --------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        hidden = self.error or self.hidden_reason
        if self.value is not None and self.value.size == 0 and not hidden:
            text = "" if y else "No elements (a dimension is 0)."
            return Strip([Segment(text[:width].ljust(width), _INDEX)])
        if self.value is None or hidden:
            # said once, wrapped over the first lines (never repeated down the grid)
            message = hidden or "No value: open a variable (Enter in the table)."
            lines = _wrap(message, max(10, width - 1))
            text = lines[y] if y < len(lines) else ""
            bad = self.error is not None or (self.checksum not in (None, True))
            return Strip([Segment(text[:width].ljust(width), _BAD if bad else _INDEX)])
        rows, cols = self.grid_shape
        kind = self.kind
        cw = cell_width(kind)
        iw = self.index_width
        scroll_x, scroll_y = self.scroll_offset
        first = min(max(0, cols - 1), scroll_x // cw)
        count = max(1, (width - iw) // cw + 1)
        last = min(cols, first + count)
        segments: list[Segment] = []
        if y == 0:
            segments.append(Segment(" " * iw, _INDEX))
            for c in range(first, last):
                segments.append(Segment(str(c).rjust(cw - 1) + " ", _HEADER))
        else:
            row = scroll_y + y - 1
            if row >= rows:
                return Strip.blank(width)
            label = str(row * WRAP) if self._wrapped else str(row)
            segments.append(Segment(label.rjust(iw - 2) + "  ", _INDEX))
            try:
                for c in range(first, last):
                    value = self.element(row, c)
                    if value is None and self._wrapped:
                        segments.append(Segment(" " * cw))
                        continue
                    text = cell_text(value, kind, cw - 1)
                    if len(text) > cw - 1:
                        text = text[: cw - 2] + "…"
                    style = _BAD if text in ("nan", "inf", "-inf") else Style()
                    segments.append(Segment(text.rjust(cw - 1) + " ", style))
            except GraphtuiError as exc:
                self.error = str(exc)
                self.app.call_later(self.refresh)
                return Strip.blank(width)
        strip = Strip(segments)
        return strip.crop(0, width).extend_cell_length(width)

    def action_scroll_right(self) -> None:
        self.scroll_to(x=self.scroll_x + cell_width(self.kind), animate=False)

    def action_scroll_left(self) -> None:
        self.scroll_to(x=max(0, self.scroll_x - cell_width(self.kind)), animate=False)


def _wrap(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` cells, broken at spaces where possible."""
    import textwrap

    lines: list[str] = []
    for paragraph in text.split("\n"):
        lines.extend(
            textwrap.wrap(paragraph, width, break_long_words=True, break_on_hyphens=False) or [""]
        )
    return lines
