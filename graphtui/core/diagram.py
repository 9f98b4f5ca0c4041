"""A :class:`~graphtui.core.dataflow.View` drawn as text: boxes sized from their items, laid out
by :func:`~graphtui.core.layout.layered_layout`, then drawn onto a character grid with
box-drawing characters. Every cell carries a style name (``border.variable``, ``edge``,
``control``, ``path``, ``label``...) that the app maps to colours; the text alone reads too.

Box borders tell the kinds apart: light for ops, heavy for variables, double for placeholders
and function arguments, rounded for constants, heavy-topped for scopes, dotted for ``+N more``
and dashed for stubs (scopes outside the one shown). Data edges are solid, control edges dashed.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphtui.core.dataflow import Item, ItemKind, View
from graphtui.core.layout import Box, Layout, layered_layout
from graphtui.formats.visible import visible

MIN_WIDTH = 8
MAX_WIDTH = 34

# corner tl, tr, bl, br, horizontal, vertical, port on the bottom, port on the top
_BORDERS: dict[ItemKind, str] = {
    "op": "┌┐└┘─│┬┴",
    "variable": "┏┓┗┛━┃┯┷",
    "placeholder": "╔╗╚╝═║╤╧",
    "const": "╭╮╰╯─│┬┴",
    "scope": "┍┑┕┙━│┯┷",
    "more": "╭╮╰╯┈┊┬┴",
    "stub": "┌┐└┘┄┆┬┴",
}
_UP, _DOWN, _LEFT, _RIGHT = 1, 2, 4, 8
_LINES = {
    _UP | _DOWN: "│", _LEFT | _RIGHT: "─", _DOWN | _RIGHT: "┌", _DOWN | _LEFT: "┐",
    _UP | _RIGHT: "└", _UP | _LEFT: "┘", _UP | _DOWN | _RIGHT: "├", _UP | _DOWN | _LEFT: "┤",
    _DOWN | _LEFT | _RIGHT: "┬", _UP | _LEFT | _RIGHT: "┴", 15: "┼", _UP: "│", _DOWN: "│",
    _LEFT: "─", _RIGHT: "─",
}  # fmt: skip
_DASHED = {_UP | _DOWN: "╎", _LEFT | _RIGHT: "╌", _UP: "╎", _DOWN: "╎", _LEFT: "╌", _RIGHT: "╌"}


def box_lines(item: Item) -> list[str]:
    """The text inside an item's box (one or two lines; names escaped, see formats.visible)."""
    if item.kind == "more":
        lines = [item.title]
    elif item.kind == "stub":
        lines = ["◂ " + item.title if item.target else item.title]
    elif item.kind == "scope":
        lines = ["▸ " + item.title, item.info]
    else:
        lines = [item.title, f"{item.op} {item.info}".strip()]
    return [visible(line) for line in lines]


def _fit(text: str, width: int, keep_end: bool = False) -> str:
    if len(text) <= width:
        return text
    if width <= 1:
        return text[:width]
    return "…" + text[-(width - 1) :] if keep_end else text[: width - 1] + "…"


def box_size(item: Item) -> tuple[int, int]:
    lines = box_lines(item)
    width = max(MIN_WIDTH, min(MAX_WIDTH, max(len(s) for s in lines) + 4))
    return width, len(lines) + 2


def lay_out(view: View) -> Layout:
    """Lay out the view's items and links (the link order is the route order)."""
    nodes = [(key, *box_size(item)) for key, item in view.items.items()]
    return layered_layout(nodes, [(link.src, link.dst) for link in view.links])


@dataclass
class Canvas:
    """The drawn view: ``chars[y][x]`` and ``styles[y][x]`` (``""`` for plain)."""

    width: int
    height: int
    chars: list[list[str]]
    styles: list[list[str]]

    def text(self) -> str:
        return "\n".join("".join(row).rstrip() for row in self.chars)

    def spans(self, y: int) -> list[tuple[str, str]]:
        """Row ``y`` as runs of (text, style)."""
        out: list[tuple[str, str]] = []
        chars, styles = self.chars[y], self.styles[y]
        start = 0
        for x in range(1, self.width + 1):
            if x == self.width or styles[x] != styles[start]:
                out.append(("".join(chars[start:x]), styles[start]))
                start = x
        return out


def draw(view: View, layout: Layout) -> Canvas:
    """Draw ``layout`` (from :func:`lay_out` of ``view``)."""
    width, height = layout.width + 2, layout.height
    chars = [[" "] * width for _ in range(height)]
    styles = [[""] * width for _ in range(height)]
    for key, box in layout.boxes.items():
        _draw_box(chars, styles, view.items[key], box)
    bits: dict[tuple[int, int], int] = {}
    solid: set[tuple[int, int]] = set()
    cell_style: dict[tuple[int, int], str] = {}
    highlighted = view.path_links()
    arrows: list[tuple[int, int, str, str]] = []
    labels: list[tuple[list[tuple[int, int]], str]] = []
    for route in layout.routes:
        link = view.links[route.index]
        style = (
            "path"
            if (link.src, link.dst) in highlighted
            else ("control" if link.control else "edge")
        )
        pts = route.points
        for (ax, ay), (bx, by) in zip(pts, pts[1:], strict=False):
            _segment(bits, ax, ay, bx, by)
            for cell in _cells(ax, ay, bx, by):
                if not link.control:
                    solid.add(cell)
                if cell_style.get(cell) != "path":
                    cell_style[cell] = style
        if len(pts) == 1:
            bits.setdefault(pts[0], 0)
            cell_style.setdefault(pts[0], style)
            if not link.control:
                solid.add(pts[0])
        src_box = layout.boxes[route.src]
        fx, fy = pts[0]
        if fy >= src_box.y + src_box.height:  # join the first corner to the port
            bits[pts[0]] = bits.get(pts[0], 0) | _UP
        elif fy < src_box.y:
            bits[pts[0]] = bits.get(pts[0], 0) | _DOWN
        _port(chars, src_box, view.items[route.src].kind, pts[0])
        dst_box = layout.boxes[route.dst]
        arrows.append((*pts[-1], _arrow(pts, dst_box), style))
        if link.count > 1:
            labels.append((pts, f"×{link.count}"))
    for (x, y), b in bits.items():
        if 0 <= y < height and 0 <= x < width and chars[y][x] == " ":
            glyph = _LINES.get(b, "┼") if (x, y) in solid else _DASHED.get(b, _LINES.get(b, "┼"))
            chars[y][x] = glyph
            styles[y][x] = cell_style[(x, y)]
    for x, y, glyph, style in arrows:
        if 0 <= y < height and 0 <= x < width:
            chars[y][x] = glyph
            styles[y][x] = style
    for pts, text in labels:
        _label(chars, styles, pts, text)
    return Canvas(width, height, chars, styles)


def _cells(ax: int, ay: int, bx: int, by: int) -> list[tuple[int, int]]:
    if ax == bx:
        step = 1 if by >= ay else -1
        return [(ax, y) for y in range(ay, by + step, step)]
    step = 1 if bx >= ax else -1
    return [(x, ay) for x in range(ax, bx + step, step)]


def _segment(bits: dict[tuple[int, int], int], ax: int, ay: int, bx: int, by: int) -> None:
    cells = _cells(ax, ay, bx, by)
    vertical = ax == bx
    for i, cell in enumerate(cells):
        b = bits.get(cell, 0)
        if i > 0:
            prev = cells[i - 1]
            if vertical:
                b |= _UP if prev[1] < cell[1] else _DOWN
            else:
                b |= _LEFT if prev[0] < cell[0] else _RIGHT
        if i < len(cells) - 1:
            nxt = cells[i + 1]
            if vertical:
                b |= _DOWN if nxt[1] > cell[1] else _UP
            else:
                b |= _RIGHT if nxt[0] > cell[0] else _LEFT
        if i == 0 and vertical and len(cells) == 1:
            b |= _UP | _DOWN
        bits[cell] = b


def _port(chars: list[list[str]], box: Box, kind: ItemKind, first: tuple[int, int]) -> None:
    """The junction where an edge leaves its source box."""
    x, y = first
    border = _BORDERS[kind]
    if y >= box.y + box.height:
        cy, glyph = box.y + box.height - 1, border[6]
    elif y < box.y:
        cy, glyph = box.y, border[7]
    else:  # a self-loop leaves by the right border
        chars[y][x - 1] = "├"
        return
    if box.x < x < box.x + box.width - 1:
        chars[cy][x] = glyph


def _arrow(pts: list[tuple[int, int]], dst: Box) -> str:
    x, y = pts[-1]
    if y < dst.y:
        return "▼"
    if y >= dst.y + dst.height:
        return "▲"
    return "◀" if x >= dst.x + dst.width else "▶"


def _label(
    chars: list[list[str]], styles: list[list[str]], pts: list[tuple[int, int]], text: str
) -> None:
    """Write an edge's count on its longest horizontal run, else beside its arrow."""
    best = None
    for (ax, ay), (bx, by) in zip(pts, pts[1:], strict=False):
        long_enough = ay == by and abs(bx - ax) - 1 >= len(text) + 2
        if long_enough and (best is None or abs(bx - ax) > best[2] - best[0]):
            best = (min(ax, bx), ay, max(ax, bx))
    spots = []
    if best is not None:
        lo, y, hi = best
        spots.append((lo + (hi - lo - len(text)) // 2 + 1, y, "─╌"))
    spots.append((pts[-1][0] + 1, pts[-1][1], " "))
    spots.append((pts[0][0] + 1, pts[0][1], " "))
    for x, y, allowed in spots:
        if y >= len(chars) or x + len(text) > len(chars[y]) or x < 0:
            continue
        if all(chars[y][x + i] in allowed for i in range(len(text))):
            for i, ch in enumerate(text):
                chars[y][x + i] = ch
                styles[y][x + i] = "label"
            return


def _draw_box(chars: list[list[str]], styles: list[list[str]], item: Item, box: Box) -> None:
    glyphs = _BORDERS[item.kind]
    tl, tr, bl, br, h, v = (glyphs[i] for i in range(6))
    x0, y0, w, hgt = box.x, box.y, box.width, box.height
    border = f"border.{item.kind}"
    chars[y0][x0 : x0 + w] = [tl] + [h] * (w - 2) + [tr]
    chars[y0 + hgt - 1][x0 : x0 + w] = [bl] + [h] * (w - 2) + [br]
    for y in (y0, y0 + hgt - 1):
        styles[y][x0 : x0 + w] = [border] * w
    lines = box_lines(item)
    for i in range(1, hgt - 1):
        y = y0 + i
        chars[y][x0] = chars[y][x0 + w - 1] = v
        styles[y][x0] = styles[y][x0 + w - 1] = border
        text = lines[i - 1] if i - 1 < len(lines) else ""
        text = _fit(text, w - 4, keep_end=item.kind == "stub")
        style = f"title.{item.kind}" if i == 1 else "info"
        cells = list(" " + text.ljust(w - 3))
        chars[y][x0 + 1 : x0 + w - 1] = cells
        styles[y][x0 + 1 : x0 + w - 1] = [style] * (w - 2)


def render_text(view: View) -> str:
    """The view drawn as plain text (the CLI and tests)."""
    return draw(view, lay_out(view)).text()
