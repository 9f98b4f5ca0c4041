"""Node details: op, device, inputs and consumers (links), attrs, collections, variable facts.

Every line is an option of an OptionList, so the keyboard reaches each of them; lines that lead
somewhere (a node, a collection, a value) carry an id and Enter follows them.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import OptionList
from textual.widgets.option_list import Option
from typing_extensions import Self

from graphtui.core.outputs import OutputInfo, output, outputs
from graphtui.core.variables import VARIABLE_OPS
from graphtui.core.workspace import Workspace
from graphtui.errors import GraphtuiError
from graphtui.formats.visible import visible
from graphtui.tui.fmt import human_bytes, human_count, shape_text, short_value
from graphtui.tui.messages import BackKey

if TYPE_CHECKING:
    from graphtui.core.graph import GraphIndex

MAX_EDGES = 500  # inputs or consumers listed before "... N more"


@dataclass(frozen=True)
class Line:
    """One line of the details: text, and where Enter goes (``node:NAME``, ``coll:KEY``,
    ``value:KEY``), if anywhere."""

    text: Text
    link: str | None = None


def heading(title: str) -> Line:
    return Line(Text(f"─ {title}", style="bold"))


def link(prefix: str, target: str, shown: str | None = None, note: str = "") -> Line:
    text = Text("  → ", style="dim")
    text.append(visible(shown or target), style="underline")
    if note:
        text.append(f"  {note}", style="dim")
    return Line(text, f"{prefix}:{target}")


def plain(label: str, value: str = "", style: str = "") -> Line:
    text = Text("  ")
    text.append(visible(label), style="dim" if value else style)
    if value:
        text.append(" " + visible(value), style=style)
    return Line(text)


def describe(
    ws: Workspace, path: str, indexed: bool = True, library: GraphIndex | None = None
) -> list[Line]:
    """The detail lines of node or scope ``path`` (``library``: the graph whose functions the
    node may call, when ``ws.graph`` is a function body).

    Until ``indexed`` (the graph's consumer, collection and variable indexes, built by a worker
    after start-up), consumers, collections and a variable's facts are left out, so neither
    the first screen nor a key pressed during the warm-up waits for a whole-graph pass.
    """
    graph = ws.graph
    if graph is None:
        return [Line(Text("No graph loaded (.meta).", style="dim"))]
    lines: list[Line] = [Line(Text(visible(path), style="bold"))]
    if path not in graph:
        return lines + _scope_lines(ws, path, indexed)
    node = graph.node(path)
    lines.append(plain("op", str(node.op), "bold"))
    lines.append(plain("device", str(node.device) or "(none)"))
    inputs = graph.inputs(path)
    lines.append(heading(f"Inputs ({len(inputs)})"))
    for ref in inputs[:MAX_EDGES]:
        note = graph.op(ref.node) if ref.node in graph else "missing"
        carried = None if ref.control else output(graph, ref.node, ref.port)
        if carried is not None:
            note += f"  {tensor_text(carried)}"
        lines.append(link("node", ref.node, str(ref), note))
    if len(inputs) > MAX_EDGES:
        lines.append(plain(f"… {len(inputs) - MAX_EDGES} more"))
    outs = outputs(graph, path)
    lines.append(heading(f"Outputs ({len(outs)})"))
    for out in outs:
        lines.append(plain(f":{out.index} {out.arg}".rstrip(), tensor_text(out)))
    if not indexed:
        lines.append(heading("Consumers (indexing the graph…)"))
        consumers = []
    else:
        consumers = graph.consumers(path)
        lines.append(heading(f"Consumers ({len(consumers)})"))
    # which output each reads (``reads loop:2``) when more than the first output is read
    ports = any(c.port > 0 for c in consumers)
    for consumer in consumers[:MAX_EDGES]:
        if consumer.control:
            shown = "^" + consumer.node
        elif ports:
            shown = f"{consumer.node}  reads {path.rpartition('/')[2]}:{consumer.port}"
        else:
            shown = consumer.node
        lines.append(link("node", consumer.node, shown, graph.op(consumer.node)))
    if len(consumers) > MAX_EDGES:
        lines.append(plain(f"… {len(consumers) - MAX_EDGES} more"))
    attrs = graph.attrs(path)
    if node.op == "Const":
        lines.append(link("const", path, "open the value view", "(v)"))
    lines.append(heading(f"Attributes ({len(attrs)})"))
    for key, value in attrs.items():
        shown = short_value(value) if isinstance(value, np.ndarray) else _attr_text(value)
        lines.append(plain(f"{key} =", shown))
    lines.extend(function_lines(library or graph, node))
    if indexed:
        lines.extend(_collection_lines(ws, path))
        lines.extend(_variable_lines(ws, path))
    elif node.op in VARIABLE_OPS:  # the variable table is the warm-up's (1M nodes: ~10 s)
        lines.append(heading("Variable (indexing the graph…)"))
    return lines


def tensor_text(out: OutputInfo) -> str:
    """``float32 [?,8]`` (``?`` for what the graph does not record)."""
    return (
        f"{out.dtype or '?'} {shape_text(out.shape) if out.shape is not None else '[unknown rank]'}"
    )


def overview_lines(ws: Workspace) -> list[Line]:
    """The model overview (the root's details): who wrote the graph, its versions and ops, the
    saver, the optimizer, parameter totals and each checkpoint's global step."""
    from graphtui.core.overview import model_overview

    graph = ws.graph
    if graph is None:
        return [Line(Text("No graph loaded (.meta).", style="dim"))]
    o = model_overview(graph, ws.history, ws.reader)
    lines = [Line(Text("Model overview", style="bold"))]
    lines.append(plain("TensorFlow", o.tensorflow_version or "(not recorded)"))
    if o.tensorflow_git_version:
        lines.append(plain("git version", o.tensorflow_git_version))
    if o.tags:
        lines.append(plain("tags", ", ".join(o.tags)))
    lines.append(plain("stripped default attrs", "yes" if o.stripped_default_attrs else "no"))
    lines.append(plain("GraphDef producer", str(o.producer)))
    lines.append(plain("min_consumer", str(o.min_consumer)))
    if o.bad_consumers:
        lines.append(plain("bad_consumers", ", ".join(map(str, o.bad_consumers))))
    lines.append(plain("nodes", f"{o.nodes:,}"))
    lines.append(plain("functions", str(o.functions)))
    lines.append(heading("Parameters"))
    lines.append(plain("model", f"{o.params_model:,}"))
    lines.append(plain("optimizer slots", f"{o.params_slots:,}"))
    lines.append(plain("other (step, local)", f"{o.params_other:,}"))
    lines.append(heading("Training"))
    lines.append(plain("optimizer", ", ".join(o.optimizers) or "(none found)"))
    lines.append(plain("moving averages", "yes" if o.moving_average else "no"))
    if o.global_step:
        lines.append(link("node", o.global_step, o.global_step, "global step"))
    if o.saver is not None:
        sv = o.saver
        lines.append(heading(f"Saver ({sv.version})"))
        lines.append(plain("sharded", "yes" if sv.sharded else "no"))
        lines.append(plain("max_to_keep", str(sv.max_to_keep)))
        lines.append(
            plain("keep_checkpoint_every_n_hours", f"{sv.keep_checkpoint_every_n_hours:g}")
        )
        for label, name in (
            ("filename tensor", sv.filename_tensor_name),
            ("save tensor", sv.save_tensor_name),
            ("restore op", sv.restore_op_name),
        ):
            node = name.split(":")[0]
            if node in graph:
                lines.append(link("node", node, name, label))
            else:
                lines.append(plain(label, name))
    if o.steps:
        lines.append(heading(f"Global step per checkpoint ({len(o.steps)})"))
        for step in o.steps:
            value = str(step.step) if step.step is not None else step.problem
            lines.append(plain(step.name, value, "" if step.step is not None else "red"))
    lines.append(heading(f"Ops used ({len(o.stripped_ops)}, stripped_op_list)"))
    histogram = graph.op_histogram()
    for op in o.stripped_ops:
        count = histogram.get(op, 0)
        lines.append(link("op", op, op, f"{count} nodes" if count else "in functions"))
    return lines


def op_histogram_lines(graph: GraphIndex) -> list[Line]:
    """Op types by node count with their share; Enter on one lists its nodes (``op:NAME``)."""
    histogram = graph.op_histogram()
    total = max(1, len(graph))
    lines = [Line(Text(f"Op types ({len(histogram)}) of {len(graph):,} nodes", style="bold"))]
    width = max((len(op) for op in histogram), default=0)
    for op, count in histogram.items():
        shown = f"{op:<{width}}  {count:>7,}  {100.0 * count / total:5.1f}%"
        lines.append(link("op", op, shown))
    return lines


def function_lines(library: GraphIndex, node: Any) -> list[Line]:
    """Links to the library functions a node calls (Enter shows the function, tab 7)."""
    called = library.calls(node)
    if not called:
        return []
    lines = [heading(f"Calls ({len(called)})")]
    lines.extend(link("fn", name, note="function (7)") for name in called)
    return lines


def _attr_text(value: object) -> str:
    if isinstance(value, list):
        inner = ", ".join(_attr_text(v) for v in value[:16])
        more = f", … +{len(value) - 16}" if len(value) > 16 else ""
        return f"[{inner}{more}]"
    if isinstance(value, bytes):
        return repr(value[:80])
    text = str(value)
    return text if len(text) <= 200 else text[:200] + "…"


def _scope_lines(ws: Workspace, path: str, indexed: bool) -> list[Line]:
    from graphtui.core.scopes import ScopeTree

    assert ws.graph is not None
    scopes = ScopeTree.of(ws.graph)
    if not scopes.exists(path):
        return [plain("not in the graph")]
    children = scopes.child_count(path)
    lines = [plain("scope", f"{human_count(scopes.node_count(path))} nodes, {children} children")]
    if indexed:
        lines.append(plain("params", human_count(scopes.param_count(path, kind="model"))))
        lines.append(
            plain(
                "trainable params",
                human_count(scopes.param_count(path, trainable_only=True, kind="model")),
            )
        )
        for label, kind in (("optimizer slots", "slots"), ("other (step, local)", "other")):
            count = scopes.param_count(path, kind=kind)  # type: ignore[arg-type]
            if count:
                lines.append(plain(label, human_count(count)))
    return lines


def _collection_lines(ws: Workspace, path: str) -> list[Line]:
    from graphtui.core.collections import CollectionTable

    assert ws.graph is not None
    keys = CollectionTable.of(ws.graph).collections_of(path)
    if not keys:
        return []
    return [heading(f"Collections ({len(keys)})")] + [link("coll", key) for key in keys]


def _variable_lines(ws: Workspace, path: str) -> list[Line]:
    from graphtui.core.variables import VariableTable

    assert ws.graph is not None
    table = VariableTable.of(ws.graph)
    if path not in table:
        return []
    var = table.get(path)
    lines = [heading("Variable")]
    lines.append(plain("dtype", var.dtype or "?"))
    lines.append(plain("shape", shape_text(var.shape)))
    lines.append(plain("trainable", "yes" if var.trainable else "no"))
    role = var.role
    if var.slot_of:
        role += f" of {var.slot_of} ({var.slot_name})"
    lines.append(plain("role", role))
    if var.save_slice is not None:
        lines.append(
            plain("partition of", f"{var.save_slice.full_name} {var.save_slice.slice_spec}")
        )
    for label, target in (("initializer", var.initializer), ("initial value", var.initial_value)):
        if target:
            lines.append(plain(label))
            lines.append(link("node", target))
    if var.slot_of:
        lines.append(plain("slot of"))
        lines.append(link("node", var.slot_of))
    key = ws.checkpoint_key_of(path) or var.checkpoint_key
    if key != var.checkpoint_key:
        how = " (object graph)"
    else:
        how = "" if var.key_from_saver else " (by name)"
    lines.append(plain("checkpoint key", key + how))
    reader = ws.active
    if reader is None:
        lines.append(plain("value", "(no checkpoint)"))
        return lines
    if not reader.has_tensor(key):
        lines.append(plain("value", "not in the active checkpoint", "yellow"))
        return lines
    try:
        info = reader.tensor_info(key)
        status = ws.variable(key) if key else None
        if status is not None and status.status == "mismatch":
            lines.append(plain("mismatch", status.detail, "red"))
        lines.append(
            plain(
                "stored", f"{info.dtype.name} {shape_text(info.shape)}, {human_bytes(info.nbytes)}"
            )
        )
        lines.append(plain("value", preview(ws, key)))
    except GraphtuiError as exc:
        lines.append(plain("error", str(exc), "red"))
    lines.append(link("value", key, "open value view", "(v)"))
    return lines


def preview(ws: Workspace, key: str, count: int = 6) -> str:
    """The first few elements of a checkpoint tensor, read without loading the rest."""
    value = ws.tensor(key)
    if value.size == 0:
        return "(empty)"
    first = next(iter(value.blocks(count)), None)
    if first is None:
        return "(empty)"
    arr = value.read(first).ravel()
    text = short_value(arr, limit=count)
    return text + (" …" if value.size > arr.size else "")


class NodeDetails(BackKey, OptionList):
    """The details of the node under the tree cursor; Enter follows a link line."""

    BINDINGS = [
        Binding("backspace", "go_back", "Back", id="details-back"),
    ]
    _keep_layout = False  # inside _update_lines: a new width alone is not laid out again
    _drawing = False  # inside render_lines

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.path: str | None = None
        self._ws: Workspace | None = None
        self.indexed = False  # set by the app when its warm-up worker has built the indexes
        self._shown: tuple[tuple[object, ...], tuple[object, ...]] | None = None  # built from
        self._folded_at = 0  # the width the link lines were folded to (see set_lines)
        self._unfolded_from = 0  # from this width on, no link line is folded
        self._wrapped_at = -1  # the width OptionList last wrapped its options to

    def show(self, ws: Workspace, path: str | None) -> None:
        """The details of ``path``; nothing to do when the same lines, folded to the same width,
        are on screen already (a jump reveals the node, then the tree's highlight and a resize
        ask again)."""
        # the objects themselves (compared by identity), so a new reader is never taken for
        # an old one whose id() it reuses
        sources = (ws, ws.graph, ws.active)
        shown = (path, self.indexed)
        last = self._shown
        if (
            last is not None
            and last[1] == shown
            and all(map(operator.is_, sources, last[0]))
            and (path is None or self._same_fold(self.scrollable_content_region.width))
        ):
            return
        self.path = path
        self._ws = ws
        if path is None:
            self.clear_options()
            self.add_option(
                Option(Text("Select a node in the tree; i: the model overview.", style="dim"))
            )
        else:
            try:
                lines = describe(ws, path, self.indexed)
            except GraphtuiError as exc:
                lines = [Line(Text(str(exc), style="red"))]
            self._folded_at = set_lines(self, lines)
            longest = max((line.text.cell_len for line in lines if line.link), default=0)
            self._unfolded_from = longest + FOLD_ROOM
        self._shown = (sources, shown)

    def _same_fold(self, width: int) -> bool:
        """The link lines folded to ``width`` are the ones on screen: the same width, or none
        of them folded at either (the scrollbar that comes as a long node's details are laid
        out narrows the pane, which rebuilt all of them: ~15 ms for 100 lines, twice)."""
        folded = self._folded_at
        return folded == width or min(folded, width) >= self._unfolded_from

    def show_op_histogram(self, ws: Workspace) -> None:
        self.path = None
        self._ws = ws
        self._shown = None
        if ws.graph is not None:
            set_lines(self, op_histogram_lines(ws.graph))

    def show_overview(self, ws: Workspace) -> None:
        """The model overview in place of a node's details (the root's details)."""
        self.path = None
        self._ws = ws
        self._shown = None
        try:
            lines = overview_lines(ws)
        except GraphtuiError as exc:
            lines = [Line(Text(str(exc), style="red"))]
        set_lines(self, lines)

    def on_focus(self) -> None:
        highlight_first(self)

    def on_resize(self, event: events.Resize) -> None:
        width = self.scrollable_content_region.width
        if self.path is not None and self._ws is not None:
            highlighted = self.highlighted
            self.show(self._ws, self.path)
            self.highlighted = highlighted
        if width == self._wrapped_at:
            # only the height changed (it is auto: each node's lines resize it): the options
            # wrapped for this width are still right, so OptionList need not render them again
            event.prevent_default()
        self._wrapped_at = width

    def link_of(self, option_id: str | None) -> str | None:
        return link_of(option_id)

    def _update_lines(self) -> None:
        # OptionList keeps its content width in its virtual size, a Reactive(layout=True): the
        # scrollbar that comes with a long node's details narrows it while the screen is laid
        # out, and the screen was laid out again once more (its frame ~20-30 ms later) for the
        # same height. Only a new height is laid out again; the width is kept without (and
        # when the lines are being drawn, nothing is asked: they are drawn as they are now).
        height = self.virtual_size.height
        self._keep_layout = True
        try:
            super()._update_lines()
        finally:
            self._keep_layout = False
        if self.virtual_size.height != height:
            self.refresh(layout=True)

    def render_lines(self, crop: Region) -> list[Strip]:
        self._drawing = True
        try:
            return super().render_lines(crop)
        finally:
            self._drawing = False

    def refresh(
        self,
        *regions: Region,
        repaint: bool = True,
        layout: bool = False,
        recompose: bool = False,
    ) -> Self:
        if self._keep_layout:
            if self._drawing:
                return self
            layout = False
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)


FOLD_ROOM = 3  # cells kept free right of a folded link line (room for the scrollbar)


def set_lines(options: OptionList, lines: list[Line]) -> int:
    """Show ``lines`` in ``options`` (link lines folded to its width), scrolled to the top;
    returns the width they were folded for."""
    options.clear_options()
    fit = options.scrollable_content_region.width
    width = fit - FOLD_ROOM
    options.add_options(
        [
            Option(fold(line.text, width) if line.link else line.text, id=_option_id(i, line.link))
            for i, line in enumerate(lines)
        ]
    )
    options.highlighted = None
    options.scroll_home(animate=False)
    return fit


def highlight_first(options: OptionList) -> None:
    """On focus (Tab), show where the cursor is: the first link line, else the first line."""
    if options.highlighted is not None or not options.option_count:
        return
    for i in range(options.option_count):
        if link_of(options.get_option_at_index(i).id):
            options.highlighted = i
            return
    options.highlighted = 0


def link_of(option_id: str | None) -> str | None:
    """The link (``kind:target``) of an option made by :func:`set_lines`, if any."""
    if not option_id:
        return None
    _, _, link = option_id.partition("|")
    return link or None


def fold(text: Text, width: int, indent: int = 4) -> Text:
    """Hard-wrap a link line at ``width`` cells, continuation lines indented, breaking after a
    ``/`` or a space where one is near the end of the line (a name is cut at a scope boundary,
    not mid-word; names have no spaces, so the terminal would cut them anywhere)."""
    if width < indent + 8 or text.cell_len <= width:
        return text
    plain_text = text.plain
    offsets: list[int] = []
    start, room = 0, width
    while len(plain_text) - start > room:
        end = start + room
        cut = max(plain_text.rfind("/", start, end), plain_text.rfind(" ", start, end))
        cut = cut + 1 if cut >= start + room // 2 else end
        offsets.append(cut)
        start, room = cut, width - indent
    parts = text.divide(offsets)
    out = parts[0]
    for part in parts[1:]:
        out.append("\n" + " " * indent)
        out.append_text(part)
    return out


def _option_id(i: int, link: str | None) -> str:
    return f"{i}|{link or ''}"
