"""The objects pane (tab 8): the object graph of a TF2 checkpoint or SavedModel as a tree.

Children are added when an object expands (in chunks, behind a "more" line; ``LazyTree``): its
tracked children by local name, then (for an optimizer) its slot variables, then the tensors it
saved. A variable is a leaf showing dtype and shape; Enter (or ``v``) opens its value in the value
view, which reads windows of the tensor, never the whole of a big one. An object reached again
through another edge (Keras lists each weight under the model and the optimizer) is one
reference line; Enter goes to where the object is listed. An object a registered saver wrote
(``register_checkpoint_saver``) is marked ``saved by NAME as 'object'`` as ``ls --objects``
marks it, the saver in its details with the tensors no object names (``ls --objects``' line);
the summary counts those tensors.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, OptionList, Tree
from textual.widgets.tree import TreeNode

from graphtui.core.objects import VARIABLE_VALUE, ObjectAttribute, ObjectGraph, ObjectNode, SlotLink
from graphtui.core.workspace import Workspace
from graphtui.errors import GraphtuiError
from graphtui.formats.visible import visible
from graphtui.tui.fmt import human_bytes, shape_text
from graphtui.tui.messages import BackKey, ShowValue
from graphtui.tui.widgets.lazy_tree import LazyTree
from graphtui.tui.widgets.node_details import (
    Line,
    heading,
    highlight_first,
    link,
    link_of,
    plain,
    preview,
    set_lines,
)

if TYPE_CHECKING:
    from graphtui.core.savedmodel import SavedObjectInfo

UNNAMED_SHOWN = 20  # tensors no object names listed in a registered saver's details (as ls)


@dataclass(frozen=True)
class ObjectItem:
    """What one tree line shows: an object (``node``), a reference to an object listed elsewhere
    (``ref``), one saved tensor of an object (``attr``) or the "more" line of a long list."""

    kind: str  # "node", "ref", "attr", "more"
    node: ObjectNode
    label: str = ""
    attribute: ObjectAttribute | None = None
    slot: SlotLink | None = None

    @property
    def value_key(self) -> str | None:
        """The checkpoint key Enter opens (a variable's value, or this saved tensor)."""
        if self.kind == "attr" and self.attribute is not None:
            return self.attribute.checkpoint_key
        if self.kind == "node":
            attr = self.node.value_attribute
            return attr.checkpoint_key if attr is not None else None
        return None


def _single_value(node: ObjectNode) -> bool:
    """A variable whose only saved tensor is its value: shown as one line."""
    return len(node.attributes) == 1 and node.attributes[0].name == VARIABLE_VALUE


def _is_branch(node: ObjectNode) -> bool:
    return bool(node.children or node.slot_variables) or (
        bool(node.attributes) and not _single_value(node)
    )


def _type_text(attr: ObjectAttribute) -> Text:
    if not attr.present or attr.shape is None:
        return Text("  missing", style="bold red")
    return Text(f"  {attr.dtype}{shape_text(attr.shape)}", style="dim")


def _entries(node: ObjectNode) -> list[ObjectItem]:
    """The lines under an expanded object, in the order TensorFlow stores them."""
    items: list[ObjectItem] = []
    for edge in node.children:
        kind = "node" if node.is_primary_child(edge) else "ref"
        items.append(ObjectItem(kind, edge.node, edge.local_name))
    graph = node.graph
    for link_ in node.slot_variables:
        variable = graph.nodes[link_.variable_id]
        slot = graph.nodes[link_.slot_id]
        label = f"{link_.slot_name} of {variable.path or variable.name}"
        kind = "node" if slot.slot_of == link_ and not slot.parents else "ref"
        items.append(ObjectItem(kind, slot, label, slot=link_))
    if not _single_value(node):
        for attr in node.attributes:
            items.append(ObjectItem("attr", node, attr.name, attribute=attr))
    return items


def _label(item: ObjectItem) -> Text:
    text = _bare_label(item)
    note = item.node.saver_note if item.kind == "node" else None
    if note is not None:
        text.append(f"  {visible(note)}", style="magenta")
    return text


def _bare_label(item: ObjectItem) -> Text:
    node = item.node
    text = Text()
    if item.kind == "ref":
        text.append(visible(item.label))
        text.append(f"  → {visible(node.path or '(root)')}", style="dim italic")
        return text
    if item.kind == "attr":
        assert item.attribute is not None
        text.append("." + visible(item.label), style="italic")
        text.append_text(_type_text(item.attribute))
        return text
    if _is_branch(node):
        text.append(visible(item.label) + "/", style="bold")
        count = len(node.children) + len(node.slot_variables)
        kind = f"  {node.kind}" if node.kind in ("optimizer", "variable", "slot") else ""
        if kind:
            text.append(kind, style="italic")
        if count:
            text.append(f"  {count} child" + ("" if count == 1 else "ren"), style="dim")
        return text
    text.append(visible(item.label), style="cyan" if node.kind == "slot" else "")
    value = node.value_attribute
    if value is not None:
        text.append_text(_type_text(value))
    return text


class ObjectsTree(BackKey, LazyTree[ObjectItem | None, ObjectItem]):
    """The object graph, expanded on demand; Enter opens a variable's value."""

    BINDINGS = [
        Binding("v", "view_value", "Value", id="object-value"),
        Binding("backspace", "go_back", "Back", show=False, id="object-back"),
    ]
    PALETTE_ACTIONS = frozenset({"view_value"})  # the palette may run it unfocused

    def action_view_value(self) -> None:
        """Open the value of the variable under the cursor."""
        item = self.current
        key = item.value_key if item is not None else None
        if key is None:
            self.notify("Not a variable: no saved value", severity="warning")
            return
        self.post_message(ShowValue(key))

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("objects", None, id=id)
        self.show_root = False
        self.guide_depth = 2
        self.auto_expand = True
        self.graph: ObjectGraph | None = None

    def show_graph(self, graph: ObjectGraph | None, message: str = "") -> None:
        self.clear()
        self.reset_loading()
        self.graph = graph
        if graph is None:
            self.root.add_leaf(Text(message or "No object graph.", style="dim"))
            return
        self.fill(self.root, _entries(graph.root))
        self.root.expand()
        if self.root.children:
            self.cursor_line = 0

    def lazy_items(self, node: TreeNode[ObjectItem | None]) -> list[ObjectItem] | None:
        item = node.data
        return _entries(item.node) if item is not None and item.kind == "node" else None

    def add_item(
        self, parent: TreeNode[ObjectItem | None], item: ObjectItem
    ) -> TreeNode[ObjectItem | None]:
        if item.kind == "node" and _is_branch(item.node):
            return parent.add(_label(item), item)
        return parent.add_leaf(_label(item), item)

    def more_data(self, parent: TreeNode[ObjectItem | None]) -> ObjectItem:
        return ObjectItem("more", self.items_of(parent)[0].node)

    @property
    def current(self) -> ObjectItem | None:
        node = self.cursor_node
        return None if node is None else node.data

    # -- revealing ------------------------------------------------------------------------------

    def _chain(self, node: ObjectNode) -> list[ObjectNode]:
        """The objects from the root's child down to ``node`` along the edges that name them."""
        chain: list[ObjectNode] = []
        seen: set[int] = set()
        while node.node_id != 0 and node.node_id not in seen:
            seen.add(node.node_id)
            chain.append(node)
            if node.parents:
                node = node.parents[0][0]
            elif node.slot_of is not None:
                node = node.graph.nodes[node.slot_of.optimizer_id]
            else:
                return []
        return chain[::-1]

    def find(self, target: ObjectNode) -> TreeNode[ObjectItem | None] | None:
        """The line listing ``target`` (expanding and loading the objects above it)."""
        if self.graph is None:
            return None
        line: TreeNode[ObjectItem | None] | None = self.root
        for node in self._chain(target):
            assert line is not None
            if line is not self.root and not line.is_expanded:
                line.expand()
                self.fill(line)
            items = self.items_of(line)
            index = next(
                (i for i, it in enumerate(items) if it.kind == "node" and it.node is node), -1
            )
            line = self.child_at(line, index)
            if line is None:
                return None
        return None if line is self.root else line

    def reveal(self, target: ObjectNode) -> bool:
        line = self.find(target)
        if line is None:
            return False
        _ = self.last_line  # rebuild the line index so the node knows its line
        self.move_cursor(line)
        self.scroll_to_node(line, animate=False)
        return True


class ObjectDetails(BackKey, OptionList):
    """The object under the cursor: path, kind, saved tensors with keys, slots, references."""

    BINDINGS = [Binding("backspace", "go_back", "Back", show=False, id="object-details-back")]

    def on_focus(self) -> None:
        highlight_first(self)


def describe_object(
    ws: Workspace, item: ObjectItem, saved: SavedObjectInfo | None = None
) -> list[Line]:
    """The detail lines of one tree line of the objects pane."""
    node = item.node
    lines = [Line(Text(visible(node.path or "(root)"), style="bold"))]
    if item.kind == "ref":
        lines.append(plain("reference", f"{item.label} is listed at its own path"))
        lines.append(link("obj", str(node.node_id), node.path or "(root)", "go there"))
    lines.append(plain("kind", node.kind))
    lines.append(plain("node id", str(node.node_id)))
    if saved is not None and saved.kind:
        lines.append(plain("saved as", f"{saved.kind} {saved.detail}".strip()))
    if node.registered_saver is not None:
        name, object_name = node.registered_saver
        lines.append(heading("Registered saver"))
        lines.append(plain("saver", name))
        lines.append(plain("object name", repr(object_name)))
        lines.append(plain("its tensors", "under keys of the saver's own, maybe these:"))
        lines.append(plain(node.graph.unnamed_keys_note(UNNAMED_SHOWN) or "(none)"))
    if node.slot_of is not None:
        graph = node.graph
        variable = graph.nodes[node.slot_of.variable_id]
        optimizer = graph.nodes[node.slot_of.optimizer_id]
        lines.append(plain("slot", f"{node.slot_of.slot_name} of"))
        lines.append(link("obj", str(variable.node_id), variable.path or variable.name))
        lines.append(plain("kept by"))
        lines.append(link("obj", str(optimizer.node_id), optimizer.path or optimizer.name))
    attrs = [item.attribute] if item.kind == "attr" and item.attribute else node.attributes
    for attr in attrs:
        lines.extend(_attribute_lines(ws, attr))
    if node.slots:
        lines.append(heading(f"Slots ({len(node.slots)})"))
        for slot_link in node.slots:
            slot = node.graph.nodes[slot_link.slot_id]
            lines.append(link("obj", str(slot.node_id), slot.path or slot.name))
    others = node.parents[1:]
    if others:
        lines.append(heading(f"Also reached as ({len(others)})"))
        for parent, name in others[:50]:
            shown = f"{parent.path}/{name}" if parent.path else name
            lines.append(link("obj", str(parent.node_id), shown))
    return lines


def _attribute_lines(ws: Workspace, attr: ObjectAttribute) -> list[Line]:
    title = "Value" if attr.name == VARIABLE_VALUE else f"Tensor .{attr.name}"
    lines = [heading(title)]
    if attr.full_name:
        lines.append(plain("name", attr.full_name))
    lines.append(plain("key", attr.checkpoint_key))
    if not attr.present or attr.shape is None:
        lines.append(plain("stored", "missing from the checkpoint", "red"))
        return lines
    reader = ws.active
    size = ""
    if reader is not None:
        try:
            size = f", {human_bytes(reader.tensor_info(attr.checkpoint_key).nbytes)}"
        except GraphtuiError:
            size = ""
    lines.append(plain("stored", f"{attr.dtype} {shape_text(attr.shape)}{size}"))
    try:
        lines.append(plain("value", preview(ws, attr.checkpoint_key)))
    except GraphtuiError as exc:
        lines.append(plain("error", str(exc), "red"))
    lines.append(link("value", attr.checkpoint_key, "open value view", "(Enter / v)"))
    return lines


class ObjectsPane(Vertical):
    """Summary line, the object tree and the details of the object under the cursor."""

    def __init__(self, ws: Workspace, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.ws = ws
        self._saved: dict[int, SavedObjectInfo] | None = None

    def compose(self) -> ComposeResult:
        yield Label("", id="objects-summary")
        with Horizontal(id="objects-split"):
            yield ObjectsTree(id="objects-tree")
            yield ObjectDetails(id="objects-details")

    def on_mount(self) -> None:
        self.refresh_graph()

    @property
    def object_tree(self) -> ObjectsTree:
        return self.query_one(ObjectsTree)

    @property
    def details(self) -> ObjectDetails:
        return self.query_one(ObjectDetails)

    def refresh_graph(self) -> None:
        """Show the active checkpoint's object graph (again: the active checkpoint changed)."""
        summary = self.query_one("#objects-summary", Label)
        try:
            graph = self.ws.objects
        except GraphtuiError as exc:
            self.object_tree.show_graph(None, str(exc))
            summary.update(Text(str(exc), style="red"))
            self.show_item(None)
            return
        prefix = self.ws.active_prefix
        if graph is None:
            where = os.path.basename(prefix) if prefix else "no checkpoint"
            self.object_tree.show_graph(None, f"{where}: not an object-based (TF2) checkpoint.")
            summary.update("")
            self.show_item(None)
            return
        self.object_tree.show_graph(graph)
        variables = sum(1 for n in graph.nodes if n.kind in ("variable", "slot"))
        text = Text(
            f"{len(graph)} objects, {variables} variables ({len(graph.slot_links)} slot), "
            f"{len(graph.attributes())} saved tensors  ·  {visible(os.path.basename(prefix or ''))}"
        )
        missing = graph.missing_keys()
        if missing:
            text.append(f"  ·  {len(missing)} keys missing", style="bold red")
        unnamed = len(graph.unreferenced_keys())
        if unnamed:
            plural = "" if unnamed == 1 else "s"
            text.append(f"  ·  {unnamed} tensor{plural} no object names", style="magenta")
        summary.update(text)
        self.show_item(self.object_tree.current)

    def _saved_objects(self) -> dict[int, SavedObjectInfo]:
        if self._saved is None:
            mg = self.ws.meta_graph
            self._saved = {} if mg is None else {o.node_id: o for o in mg.saved_objects()}
        return self._saved

    def show_item(self, item: ObjectItem | None) -> None:
        details = self.details
        if item is None or item.kind == "more":
            set_lines(details, [Line(Text("Select an object in the tree.", style="dim"))])
            return
        saved = self._saved_objects().get(item.node.node_id)
        set_lines(details, describe_object(self.ws, item, saved))

    @on(Tree.NodeHighlighted, "#objects-tree")
    def _highlighted(self, event: Tree.NodeHighlighted[ObjectItem | None]) -> None:
        self.show_item(event.node.data)

    @on(Tree.NodeSelected, "#objects-tree")
    def _selected(self, event: Tree.NodeSelected[ObjectItem | None]) -> None:
        item = event.node.data
        if item is None:
            return
        if item.kind == "more":
            self.object_tree.load_next(event.node)
        elif item.kind == "ref":
            self.reveal(item.node)
        elif item.kind == "attr" or not _is_branch(item.node):
            key = item.value_key
            if key is not None:
                self.post_message(ShowValue(key))

    @on(OptionList.OptionSelected, "#objects-details")
    def _follow(self, event: OptionList.OptionSelected) -> None:
        target = link_of(event.option.id)
        if target is None:
            return
        kind, _, rest = target.partition(":")
        if kind == "value":
            self.post_message(ShowValue(rest))
        elif kind == "obj" and self.object_tree.graph is not None:
            self.reveal(self.object_tree.graph.nodes[int(rest)])
            self.object_tree.focus()

    def reveal(self, node: ObjectNode) -> bool:
        """Move the cursor to ``node`` (expanding what is above it)."""
        found = self.object_tree.reveal(node)
        if found:
            self.show_item(self.object_tree.current)
        return found

    def reveal_path(self, path: str) -> bool:
        """Move the cursor to the object at ``path`` (see :meth:`ObjectGraph.find`)."""
        graph = self.object_tree.graph
        if graph is None:
            return False
        try:
            node = graph.find(path)
        except GraphtuiError:
            return False
        return self.reveal(node)
