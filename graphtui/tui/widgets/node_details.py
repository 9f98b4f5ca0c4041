"""Node details: op, device, inputs and consumers (links), attrs, collections, variable facts.

Every line is an option of an OptionList, so the keyboard reaches each of them; lines that lead
somewhere (a node, a collection, a value) carry an id and Enter follows them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from rich.text import Text
from textual.binding import Binding
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from graphtui.core.variables import VARIABLE_OPS
from graphtui.core.workspace import Workspace
from graphtui.errors import GraphtuiError
from graphtui.tui.fmt import human_bytes, human_count, shape_text, short_value

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
    text.append(shown or target, style="underline")
    if note:
        text.append(f"  {note}", style="dim")
    return Line(text, f"{prefix}:{target}")


def plain(label: str, value: str = "", style: str = "") -> Line:
    text = Text("  ")
    text.append(label, style="dim" if value else style)
    if value:
        text.append(" " + value, style=style)
    return Line(text)


def describe(
    ws: Workspace, path: str, indexed: bool = True, library: GraphIndex | None = None
) -> list[Line]:
    """The detail lines of node or scope ``path`` (``library``: the graph whose functions the
    node may call, when ``ws.graph`` is a function body).

    Until ``indexed`` (the graph's consumer, collection and variable indexes, built by a worker
    after start-up), consumers and collections are left out and variables are described only
    for variable ops, so the first screen never waits for a whole-graph pass.
    """
    graph = ws.graph
    if graph is None:
        return [Line(Text("No graph loaded (.meta).", style="dim"))]
    lines: list[Line] = [Line(Text(path, style="bold"))]
    if path not in graph:
        return lines + _scope_lines(ws, path, indexed)
    node = graph.node(path)
    lines.append(plain("op", str(node.op), "bold"))
    lines.append(plain("device", str(node.device) or "(none)"))
    inputs = graph.inputs(path)
    lines.append(heading(f"Inputs ({len(inputs)})"))
    for ref in inputs[:MAX_EDGES]:
        note = graph.op(ref.node) if ref.node in graph else "missing"
        lines.append(link("node", ref.node, str(ref), note))
    if len(inputs) > MAX_EDGES:
        lines.append(plain(f"… {len(inputs) - MAX_EDGES} more"))
    if not indexed:
        lines.append(heading("Consumers (indexing the graph…)"))
        consumers = []
    else:
        consumers = graph.consumers(path)
        lines.append(heading(f"Consumers ({len(consumers)})"))
    for consumer in consumers[:MAX_EDGES]:
        shown = ("^" if consumer.control else "") + consumer.node
        lines.append(link("node", consumer.node, shown, graph.op(consumer.node)))
    if len(consumers) > MAX_EDGES:
        lines.append(plain(f"… {len(consumers) - MAX_EDGES} more"))
    attrs = graph.attrs(path)
    lines.append(heading(f"Attributes ({len(attrs)})"))
    for key, value in attrs.items():
        shown = short_value(value) if isinstance(value, np.ndarray) else _attr_text(value)
        lines.append(plain(f"{key} =", shown))
    lines.extend(function_lines(library or graph, node))
    if indexed:
        lines.extend(_collection_lines(ws, path))
    if indexed or node.op in VARIABLE_OPS:
        lines.extend(_variable_lines(ws, path))
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
    children = scopes.children(path)
    lines = [
        plain("scope", f"{human_count(scopes.node_count(path))} nodes, {len(children)} children")
    ]
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


class NodeDetails(OptionList):
    """The details of the node under the tree cursor; Enter follows a link line."""

    BINDINGS = [
        Binding("backspace", "app.go_back", "Back", id="details-back"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.path: str | None = None
        self._ws: Workspace | None = None
        self.indexed = False  # set by the app when its warm-up worker has built the indexes

    def show(self, ws: Workspace, path: str | None) -> None:
        self.path = path
        self._ws = ws
        self.clear_options()
        if path is None:
            self.add_option(Option(Text("Select a node in the tree.", style="dim")))
            return
        try:
            lines = describe(ws, path, self.indexed)
        except GraphtuiError as exc:
            lines = [Line(Text(str(exc), style="red"))]
        set_lines(self, lines)

    def on_resize(self) -> None:
        if self.path is not None and self._ws is not None:
            highlighted = self.highlighted
            self.show(self._ws, self.path)
            self.highlighted = highlighted

    def link_of(self, option_id: str | None) -> str | None:
        return link_of(option_id)


def set_lines(options: OptionList, lines: list[Line]) -> None:
    """Show ``lines`` in ``options`` (link lines folded to its width), scrolled to the top."""
    options.clear_options()
    width = options.scrollable_content_region.width - 3  # room for the scrollbar
    options.add_options(
        [
            Option(fold(line.text, width) if line.link else line.text, id=_option_id(i, line.link))
            for i, line in enumerate(lines)
        ]
    )
    options.highlighted = None
    options.scroll_home(animate=False)


def link_of(option_id: str | None) -> str | None:
    """The link (``kind:target``) of an option made by :func:`set_lines`, if any."""
    if not option_id:
        return None
    _, _, link = option_id.partition("|")
    return link or None


def fold(text: Text, width: int, indent: int = 4) -> Text:
    """Hard-wrap a link line at ``width`` cells, continuation lines indented (names have no
    spaces to wrap at, so the terminal would otherwise leave the arrow alone on a line)."""
    if width < indent + 8 or text.cell_len <= width:
        return text
    offsets = list(range(width, len(text), width - indent))
    parts = text.divide(offsets)
    out = parts[0]
    for part in parts[1:]:
        out.append("\n" + " " * indent)
        out.append_text(part)
    return out


def _option_id(i: int, link: str | None) -> str:
    return f"{i}|{link or ''}"
