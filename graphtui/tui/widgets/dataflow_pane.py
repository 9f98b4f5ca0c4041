"""The Dataflow tab: the graph drawn as boxes and arrows around a node, a scope, or a path.

The selection, layout and drawing come from core (:mod:`graphtui.core.dataflow`,
:mod:`graphtui.core.layout`, :mod:`graphtui.core.diagram`) and run in a thread worker; the
canvas is drawn with the Line API (only visible rows, each a slice of the finished grid), so a
frame costs the same on a 50,000-node graph as on a small one. The pane keeps its own state and
history (Backspace steps back through views) and asks the app for other tabs through messages.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Literal

from rich.segment import Segment
from rich.style import Style
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from graphtui.core import dataflow as df
from graphtui.core.diagram import Canvas, draw, lay_out
from graphtui.core.dot import to_dot
from graphtui.core.graph import GraphIndex
from graphtui.core.layout import Box, Layout
from graphtui.errors import GraphtuiError
from graphtui.formats.visible import visible
from graphtui.tui.screens.dialogs import ExportDialog

MAX_DEPTH = 8
LIST_SHOWN = 500  # names listed for upstream / downstream
FLAT_FUNCTION = 60  # function bodies up to this many nodes are drawn whole, not by scope
Mode = Literal["around", "scope", "paths"]

_STYLES: dict[str, Style] = {
    "border.op": Style(color="white"),
    "border.variable": Style(color="yellow", bold=True),
    "border.placeholder": Style(color="green", bold=True),
    "border.const": Style(color="blue"),
    "border.scope": Style(color="cyan", bold=True),
    "border.more": Style(dim=True),
    "border.stub": Style(dim=True),
    "title.op": Style(bold=True),
    "title.variable": Style(color="yellow", bold=True),
    "title.placeholder": Style(color="green", bold=True),
    "title.const": Style(color="blue", bold=True),
    "title.scope": Style(color="cyan", bold=True),
    "title.more": Style(italic=True),
    "title.stub": Style(dim=True, italic=True),
    "info": Style(dim=True),
    "edge": Style(color="bright_black"),
    "control": Style(color="bright_black", dim=True),
    "path": Style(color="red", bold=True),
    "label": Style(color="yellow"),
}
_CURSOR = Style(reverse=True)
_MARK = Style(underline=True)


@dataclass(frozen=True)
class FlowState:
    """What the view shows; every change pushes the previous state on the history."""

    mode: Mode = "scope"
    center: str | None = None  # around: the centre node; paths: the end node
    scope: str = ""  # scope mode: the scope shown
    depth: int = df.DEPTH
    expanded: frozenset[str] = frozenset()  # "+N more" items opened
    scope_limit: int = df.SCOPE_LIMIT
    control: bool = True
    collapsed: bool = False  # around: nodes outside the centre's scope folded per scope
    mark: str | None = None  # paths: the start node
    function: str | None = None  # a library function's body instead of the graph
    cursor: str | None = None


@dataclass
class Drawn:
    """A finished view: the data, its layout and its drawing."""

    state: FlowState
    view: df.View
    layout: Layout
    canvas: Canvas
    graph: GraphIndex
    neighbours: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)


def build(graph: GraphIndex, state: FlowState) -> Drawn:
    """Select, lay out and draw ``state`` (runs in a worker)."""
    if state.mode == "around" and state.center is not None:
        view = df.around(
            graph, state.center, state.depth, expanded=state.expanded, control=state.control
        )
        if state.collapsed:
            view = df.collapse(graph, view, state.center.rpartition("/")[0])
    elif state.mode == "paths" and state.center is not None and state.mark is not None:
        view = df.paths(graph, state.mark, state.center, control=state.control).view
    elif state.function and not state.scope and len(graph) <= FLAT_FUNCTION:
        view = df.whole(graph, control=state.control)  # a small body: every node
    else:
        view = df.scope_view(graph, state.scope, limit=state.scope_limit, control=state.control)
    if state.function:
        view = replace(view, title=f"function {state.function} · {view.title}")
    layout = lay_out(view)
    drawn = Drawn(state, view, layout, draw(view, layout), graph)
    for key in view.items:
        drawn.neighbours[key] = ([], [])
    for link in view.links:
        drawn.neighbours[link.dst][0].append(link.src)
        drawn.neighbours[link.src][1].append(link.dst)
    return drawn


class DotExportDialog(ExportDialog):
    """Ask where to write the view as Graphviz DOT."""

    def compose(self) -> ComposeResult:
        yield from super().compose()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#dialog-title", Label).update(f"Export {visible(self.tensor_name)} as DOT")


class FlowCanvas(ScrollView, can_focus=True):
    """The drawn view; arrow keys move between boxes."""

    BINDINGS = [
        Binding("up", "move('up')", "Producer", show=False, id="flow-up"),
        Binding("down", "move('down')", "Consumer", show=False, id="flow-down"),
        Binding("left", "move('left')", "Left", show=False, id="flow-left"),
        Binding("right", "move('right')", "Right", show=False, id="flow-right"),
        Binding("enter", "enter", "Open", id="flow-enter"),
        Binding("plus,equals_sign", "depth(1)", "Depth +", id="flow-deeper"),
        Binding("minus", "depth(-1)", "Depth -", id="flow-shallower"),
        Binding("c", "toggle_control", "Control edges", id="flow-control"),
        Binding("z", "toggle_collapse", "Fold scopes", id="flow-collapse"),
        Binding("s", "scope", "Scope", id="flow-scope"),
        Binding("o", "overview", "Overview", id="flow-overview"),
        Binding("m", "mark", "Mark", id="flow-mark"),
        Binding("p", "paths", "Paths", id="flow-paths"),
        Binding("u", "upstream", "Upstream", id="flow-upstream"),
        Binding("w", "downstream", "Downstream", id="flow-downstream"),
        Binding("f", "function", "Function", id="flow-function"),
        Binding("d", "details", "Details", id="flow-details"),
        Binding("v", "value", "Value", id="flow-value"),
        Binding("x", "export_dot", "DOT", id="flow-export"),
        Binding("backspace", "back", "Back", show=False, id="flow-back"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.drawn: Drawn | None = None
        self.cursor: str | None = None

    @property
    def pane(self) -> DataflowPane:
        parent = self.parent
        assert isinstance(parent, DataflowPane)
        return parent

    def show(self, drawn: Drawn) -> None:
        self.drawn = drawn
        self.virtual_size = Size(drawn.canvas.width, drawn.canvas.height)
        keys = drawn.view.items
        wanted = drawn.state.cursor
        self.cursor = wanted if wanted in keys else drawn.view.focus
        if self.cursor not in keys:  # the top left box
            layers = drawn.layout.layers
            self.cursor = layers[0][0] if layers and layers[0] else None
        self.scroll_to(0, 0, animate=False, force=True)
        self.refresh()
        self.call_after_refresh(self.reveal_cursor)

    def box(self, key: str | None) -> Box | None:
        if self.drawn is None or key is None:
            return None
        return self.drawn.layout.boxes.get(key)

    def reveal_cursor(self) -> None:
        """Scroll the cursor's box into view (centred along an axis where it was out)."""
        box = self.box(self.cursor)
        if box is None:
            return
        sx, sy = int(self.scroll_offset.x), int(self.scroll_offset.y)
        width, height = self.scrollable_content_region.size
        x, y = sx, sy
        if not width or not height:
            return
        if box.x < sx or box.x + box.width > sx + width:
            x = max(0, box.x + box.width // 2 - width // 2)
        if box.y < sy or box.y + box.height > sy + height:
            y = max(0, box.y + box.height // 2 - height // 2)
        if (x, y) != (sx, sy):
            self.scroll_to(x, y, animate=False, force=True)

    def set_cursor(self, key: str) -> None:
        old, self.cursor = self.box(self.cursor), key
        for box in (old, self.box(key)):
            if box is not None:
                self.refresh_lines(box.y - int(self.scroll_offset.y), box.height)
        self.reveal_cursor()
        self.pane.cursor_moved()

    def render_line(self, y: int) -> Strip:
        drawn = self.drawn
        width = self.size.width
        sx, sy = self.scroll_offset
        row = y + sy
        if drawn is None or row >= drawn.canvas.height:
            return Strip.blank(width)
        chars = drawn.canvas.chars[row]
        styles = drawn.canvas.styles[row]
        lo, hi = sx, min(drawn.canvas.width, sx + width)
        cursor = self.box(self.cursor)
        mark = self.box(self.pane.state.mark) if self.pane.state.mode != "paths" else None
        segments: list[Segment] = []
        start = lo
        for x in range(lo, hi + 1):
            if (
                x < hi
                and x > start
                and _key(styles, x, row, cursor, mark) == _key(styles, start, row, cursor, mark)
            ):
                continue
            if x > start:
                name, in_cursor, in_mark = _key(styles, start, row, cursor, mark)
                style = _STYLES.get(name, Style())
                if in_cursor:
                    style = style + _CURSOR
                elif in_mark:
                    style = style + _MARK
                segments.append(Segment("".join(chars[start:x]), style))
            start = x
        return Strip(segments).extend_cell_length(width)

    def on_click(self, event: events.Click) -> None:
        """A click puts the cursor on a box; a double click opens it as Enter does."""
        drawn = self.drawn
        if drawn is None:
            return
        x = event.x + int(self.scroll_offset.x)
        y = event.y + int(self.scroll_offset.y)
        for key, box in drawn.layout.boxes.items():
            if box.x <= x < box.x + box.width and box.y <= y < box.y + box.height:
                self.focus()
                self.set_cursor(key)
                if event.chain >= 2:
                    self.pane.open_item(key)
                return

    # -- keys -------------------------------------------------------------------------------

    def action_move(self, direction: str) -> None:
        drawn = self.drawn
        here = self.box(self.cursor)
        if drawn is None or here is None or self.cursor is None:
            return
        boxes = drawn.layout.boxes
        centre = here.x + here.width / 2
        if direction in ("up", "down"):
            ins, outs = drawn.neighbours.get(self.cursor, ([], []))
            near = ins if direction == "up" else outs
            if not near:  # no edge that way: the nearest box in the next layer
                layer = here.layer + (-1 if direction == "up" else 1)
                near = [k for k, b in boxes.items() if b.layer == layer]
            if near:
                self.set_cursor(
                    min(near, key=lambda k: abs(boxes[k].x + boxes[k].width / 2 - centre))
                )
            return
        row = drawn.layout.layers[here.layer]
        i = row.index(self.cursor) + (1 if direction == "right" else -1)
        if 0 <= i < len(row):
            self.set_cursor(row[i])

    def action_enter(self) -> None:
        self.pane.open_item(self.cursor)

    def action_depth(self, step: int) -> None:
        self.pane.change_depth(step)

    def action_toggle_control(self) -> None:
        self.pane.toggle_control()

    def action_toggle_collapse(self) -> None:
        self.pane.toggle_collapse()

    def action_scope(self) -> None:
        self.pane.show_scope_of(self.cursor)

    def action_overview(self) -> None:
        self.pane.go(scope="", mode="scope", cursor=None)

    def action_mark(self) -> None:
        self.pane.mark(self.cursor)

    def action_paths(self) -> None:
        self.pane.show_paths(self.cursor)

    def action_upstream(self) -> None:
        self.pane.list_reach(self.cursor, up=True)

    def action_downstream(self) -> None:
        self.pane.list_reach(self.cursor, up=False)

    def action_function(self) -> None:
        self.pane.open_function(self.cursor)

    def action_details(self) -> None:
        self.pane.request_details(self.cursor)

    def action_value(self) -> None:
        self.pane.request_value(self.cursor)

    def action_export_dot(self) -> None:
        self.pane.export_dot()

    def action_back(self) -> None:
        self.pane.back()


def _key(
    styles: list[str], x: int, y: int, cursor: Box | None, mark: Box | None
) -> tuple[str, bool, bool]:
    def inside(b: Box | None) -> bool:
        return b is not None and b.x <= x < b.x + b.width and b.y <= y < b.y + b.height

    return styles[x], inside(cursor), inside(mark)


class FlowList(OptionList):
    """Upstream / downstream names or called functions; Enter picks, Escape hides."""

    BINDINGS = [
        Binding("escape,backspace", "hide", "Hide list", id="flow-list-hide"),
    ]

    def action_hide(self) -> None:
        parent = self.parent
        if isinstance(parent, DataflowPane):
            parent.hide_list()


class DataflowPane(Vertical):
    """Title line, the canvas, and a list (upstream / downstream / functions) shown on demand."""

    class OpenNode(Message):
        """Show node ``name`` in the graph tab (``function``: a node of that function)."""

        def __init__(self, name: str, function: str | None) -> None:
            super().__init__()
            self.name = name
            self.function = function

    class OpenValue(Message):
        """Open the value of node ``name`` (a variable)."""

        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    def __init__(self, graph: GraphIndex | None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.graph = graph
        self.state = FlowState()
        self.history: list[FlowState] = []
        self.pushed = False  # the last request put the view before it on the history
        self.busy = False

    def compose(self) -> ComposeResult:
        yield Label("", id="flow-title")
        yield FlowCanvas(id="flow-canvas")
        yield FlowList(id="flow-list")
        yield Label("", id="flow-status")

    def on_mount(self) -> None:
        self.query_one("#flow-list").display = False
        if self.graph is None:
            self.query_one("#flow-title", Label).update("No graph: nothing to draw.")

    def on_show(self) -> None:
        """The first time the tab is shown with nothing asked for: the overview. (Nothing is
        computed before: the pane mounts in the background at start-up.)"""
        if self.graph is not None and self.canvas.drawn is None and not self.busy:
            self._start(self.state)

    @property
    def canvas(self) -> FlowCanvas:
        return self.query_one(FlowCanvas)

    @property
    def current_graph(self) -> GraphIndex | None:
        if self.graph is None or self.state.function is None:
            return self.graph
        return self.graph.function_graph(self.state.function)

    # -- building views ---------------------------------------------------------------------

    def go(self, *, remember: bool = True, **changes: object) -> None:
        """Show a new state (the current one goes on the history)."""
        if self.graph is None:
            return
        self.pushed = remember and self.canvas.drawn is not None
        if self.pushed:
            self.history.append(replace(self.state, cursor=self.canvas.cursor))
        self._start(replace(self.state, **changes))  # type: ignore[arg-type]

    def center_on(self, name: str, function: str | None = None) -> None:
        """Around ``name`` (of the graph, or of ``function``'s body)."""
        self.go(mode="around", center=name, function=function, expanded=frozenset(), cursor=name)

    def _start(self, state: FlowState) -> None:
        self.state = state
        self.busy = True
        self.query_one("#flow-status", Label).update("drawing…")
        self._build(state)

    @work(thread=True, exclusive=True, group="dataflow", exit_on_error=False)
    def _build(self, state: FlowState) -> None:
        graph = self.current_graph
        if graph is None:
            return
        try:
            drawn = build(graph, state)
        except GraphtuiError as exc:
            self.app.call_from_thread(self._failed, str(exc))
            return
        self.app.call_from_thread(self._done, drawn)

    def _done(self, drawn: Drawn) -> None:
        if drawn.state != self.state:
            return  # a newer request is on its way
        self.busy = False
        self.canvas.show(drawn)
        self.query_one("#flow-title", Label).update(visible(drawn.view.title))
        self.cursor_moved()

    def _failed(self, message: str) -> None:
        self.busy = False
        self.app.notify(message, title="Dataflow", severity="warning")
        drawn = self.canvas.drawn  # back to what is on screen (keeping the mark)
        self.state = replace(drawn.state if drawn else FlowState(), mark=self.state.mark)
        if self.pushed and self.history:
            self.history.pop()  # the view we stayed on is not a step back
        self.query_one("#flow-status", Label).update(message)

    def cursor_moved(self) -> None:
        drawn = self.canvas.drawn
        key = self.canvas.cursor
        parts = []
        if drawn is not None:
            if drawn.view.note:
                parts.append(drawn.view.note)
            item = drawn.view.items.get(key or "")
            if item is not None:
                parts.append(f"▸ {item.target or item.title}" + (f"  {item.op}" if item.op else ""))
        if self.state.mark:
            parts.append(f"mark: {self.state.mark}")
        if not self.state.control:
            parts.append("control edges hidden")
        self.query_one("#flow-status", Label).update(visible("  ·  ".join(parts)))

    # -- actions ----------------------------------------------------------------------------

    def _item(self, key: str | None) -> df.Item | None:
        drawn = self.canvas.drawn
        return None if drawn is None or key is None else drawn.view.items.get(key)

    def _node(self, key: str | None) -> str | None:
        item = self._item(key)
        if item is None or item.kind in ("scope", "more", "stub"):
            return None
        return item.target

    def open_item(self, key: str | None) -> None:
        item = self._item(key)
        if item is None:
            return
        if item.kind == "more":
            if self.state.mode == "scope":
                self.go(scope_limit=self.state.scope_limit + item.hidden, cursor=key)
            else:
                self.go(expanded=self.state.expanded | {item.key}, cursor=item.target)
        elif item.kind == "scope":
            self.go(mode="scope", scope=item.target, scope_limit=df.SCOPE_LIMIT, cursor=None)
        elif item.kind == "stub":
            if item.target:
                parent = item.target.rpartition("/")[0]
                self.go(mode="scope", scope=parent, scope_limit=df.SCOPE_LIMIT, cursor=item.target)
        else:
            self.center_on(item.target, self.state.function)

    def change_depth(self, step: int) -> None:
        if self.state.mode != "around":
            self.app.notify("Depth applies around a node (Enter on a node first)")
            return
        depth = max(0, min(MAX_DEPTH, self.state.depth + step))
        if depth != self.state.depth:
            self.go(depth=depth, cursor=self.canvas.cursor, remember=False)

    def toggle_control(self) -> None:
        self.go(control=not self.state.control, cursor=self.canvas.cursor, remember=False)
        self.app.notify("Control edges " + ("shown" if self.state.control else "hidden"))

    def toggle_collapse(self) -> None:
        """Around a node: fold the nodes outside its scope into one box per scope (as
        ``graphtui dot --around NODE --collapse`` writes)."""
        if self.state.mode != "around":
            self.app.notify("Folding applies around a node (a scope is folded already)")
            return
        self.go(collapsed=not self.state.collapsed, cursor=self.canvas.cursor, remember=False)

    def show_scope_of(self, key: str | None) -> None:
        """Around a node: the scope holding the box under the cursor; at a scope: its parent."""
        if self.state.mode == "scope":
            if self.state.scope:
                parent = self.state.scope.rpartition("/")[0]
                self.go(scope=parent, scope_limit=df.SCOPE_LIMIT, cursor=self.state.scope)
            return
        item = self._item(key)
        target = item.target if item is not None and item.target else ""
        scope = target.rpartition("/")[0]
        self.go(mode="scope", scope=scope, scope_limit=df.SCOPE_LIMIT, cursor=target)

    def mark(self, key: str | None) -> None:
        node = self._node(key)
        if node is None:
            self.app.notify("Mark a node (not a scope)", severity="warning")
            return
        self.state = replace(self.state, mark=node)
        self.canvas.refresh()
        self.cursor_moved()
        self.app.notify(f"Marked {visible(node)}: go to another node and press p for the paths")

    def show_paths(self, key: str | None) -> None:
        node = self._node(key)
        if self.state.mark is None or node is None:
            self.app.notify("Mark a node with m, move to another and press p", severity="warning")
            return
        if node == self.state.mark:
            self.app.notify("That is the marked node: move to another one", severity="warning")
            return
        self.go(mode="paths", center=node, cursor=node)

    def list_reach(self, key: str | None, *, up: bool) -> None:
        node = self._node(key)
        graph = self.current_graph
        if node is None or graph is None:
            self.app.notify("Upstream and downstream are of a node", severity="warning")
            return
        self._reach(graph, node, up)

    @work(thread=True, exclusive=True, group="dataflow-list", exit_on_error=False)
    def _reach(self, graph: GraphIndex, node: str, up: bool) -> None:
        names = (df.upstream if up else df.downstream)(graph, node, control=self.state.control)
        what = "upstream of" if up else "downstream of"
        extra = " (what a freeze to it keeps, colocation aside)" if up else ""
        title = f"{len(names):,} nodes {what} {node}{extra}, nearest first"
        rows = [(n, "n:" + n) for n in names[:LIST_SHOWN]]
        self.app.call_from_thread(self.show_list, title, rows)

    def show_list(self, title: str, rows: list[tuple[str, str]]) -> None:
        """Show ``rows`` (label, option id) under the canvas: Enter on ``n:NODE`` centres on
        the node, on ``f:FUNCTION`` opens the function's body; Escape hides the list."""
        box = self.query_one("#flow-list", OptionList)
        box.clear_options()
        box.add_option(Option(visible(title), id="title", disabled=True))
        for label, option_id in rows:
            box.add_option(Option(visible(label), id=option_id))
        box.display = True
        box.highlighted = 1 if rows else None
        box.focus()

    @on(OptionList.OptionSelected, "#flow-list")
    def _list_pick(self, event: OptionList.OptionSelected) -> None:
        option_id = event.option.id or ""
        box = self.query_one("#flow-list", OptionList)
        box.display = False
        self.canvas.focus()
        if option_id.startswith("n:"):
            self.center_on(option_id[2:], self.state.function)
        elif option_id.startswith("f:"):
            self.open_function_body(option_id[2:])

    def hide_list(self) -> bool:
        box = self.query_one("#flow-list", OptionList)
        if not box.display:
            return False
        box.display = False
        self.canvas.focus()
        return True

    def open_function(self, key: str | None) -> None:
        node = self._node(key)
        graph = self.current_graph
        if node is None or graph is None or self.graph is None:
            return
        called = self.graph.calls(graph.node(node))
        if not called:
            self.app.notify(f"{visible(node)} calls no library function", severity="warning")
        elif len(called) == 1:
            self.open_function_body(called[0])
        else:
            self.show_list(f"{node} calls:", [(f"function {f}", "f:" + f) for f in called])

    def open_function_body(self, fname: str) -> None:
        """The body of library function ``fname`` (its root scope)."""
        self.go(mode="scope", scope="", function=fname, scope_limit=df.SCOPE_LIMIT, cursor=None)

    def request_details(self, key: str | None) -> None:
        item = self._item(key)
        if item is None:
            return
        if item.kind in ("more", "stub") or not item.target:
            self.app.notify("No details for this box", severity="warning")
            return
        self.post_message(self.OpenNode(item.target, self.state.function))

    def request_value(self, key: str | None) -> None:
        node = self._node(key)
        if node is None or self.state.function is not None:
            self.app.notify("Values are of graph variables", severity="warning")
            return
        self.post_message(self.OpenValue(node))

    def back(self) -> None:
        if self.hide_list():
            return
        if not self.history:
            self.app.notify("Nothing to go back to in the dataflow view")
            return
        self.pushed = False
        self._start(self.history.pop())

    def export_dot(self) -> None:
        """Ask for a path and write the current view as Graphviz DOT."""
        drawn = self.canvas.drawn
        if drawn is None:
            return
        view = drawn.view
        base = (view.focus or self.state.scope or "graph").replace("/", "_") or "graph"
        default = f"{base}.dot"

        def done(path: str | None) -> None:
            if path:
                self._write_dot(to_dot(view), os.path.expanduser(path))

        self.app.push_screen(DotExportDialog(view.title, default), done)

    @work(thread=True, group="dataflow-export", exit_on_error=False)
    def _write_dot(self, text: str, path: str) -> None:
        from graphtui.formats.atomic import atomic_write

        try:
            atomic_write(path, text.encode("utf-8"))
        except OSError as exc:
            self.app.call_from_thread(
                self.app.notify, f"{path}: {exc.strerror or exc}", severity="error"
            )
            return
        self.app.call_from_thread(self.app.notify, f"Wrote {path}", title="DOT exported")
