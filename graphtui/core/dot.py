"""Graphviz DOT of a :class:`~graphtui.core.dataflow.View`, for people who render with Graphviz.

Each box is declared once, on its own line, as its quoted full name (a node name, a scope
path, ``+N more`` items by their key) with an attribute list; edges follow, one per line,
between those names. So the file diffs and greps well: ``grep '"model/dense/MatMul"'`` finds
the node and every edge touching it.
"""

from __future__ import annotations

from graphtui.core.dataflow import Item, ItemKind, View
from graphtui.formats.visible import visible

_SHAPES: dict[ItemKind, str] = {
    "op": "shape=box",
    "variable": "shape=box, style=bold",
    "placeholder": "shape=invhouse",
    "const": "shape=box, style=rounded",
    "scope": "shape=box3d",
    "more": "shape=note, style=dashed",
    "stub": "shape=plaintext",
}


def quote(text: str) -> str:
    """A DOT double-quoted ID: backslashes and quotes escaped, line breaks as ``\\n``, other
    control characters shown (``\\x1b``), never passed to a terminal."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\r", "").replace("\n", "\\n")
    return f'"{visible(escaped)}"'


def dot_name(item: Item) -> str:
    """The name a box is declared under: a stub by the outside scope it names."""
    if item.kind == "stub":
        return item.target or "(other scopes)"
    return item.key


def _label(item: Item) -> str:
    if item.kind == "scope":
        return f"{item.target}/\n{item.info}"
    if item.kind == "stub":
        return item.title
    if item.kind == "more":
        return item.title
    return "\n".join(s for s in (item.title, f"{item.op} {item.info}".strip()) if s)


def to_dot(view: View, *, graph_name: str = "graphtui") -> str:
    """The DOT text of ``view`` (a ``digraph``; control edges dashed, counts as labels, the
    highlighted path in bold red)."""
    lines = [
        f"digraph {quote(graph_name)} {{",
        f"  graph [rankdir=TB, label={quote(view.title)}, labelloc=t];",
        '  node [fontname="monospace", fontsize=10];',
    ]
    names = {key: dot_name(item) for key, item in view.items.items()}
    for key, item in view.items.items():
        attrs = f"label={quote(_label(item))}, {_SHAPES[item.kind]}"
        if key == view.focus or key in view.path:
            attrs += ", penwidth=2"
        lines.append(f"  {quote(names[key])} [{attrs}];")
    on_path = view.path_links()
    for link in view.links:
        edge_attrs = []
        if link.control:
            edge_attrs.append("style=dashed")
        if link.count > 1:
            edge_attrs.append(f"label={quote('×' + str(link.count))}")
        if (link.src, link.dst) in on_path:
            edge_attrs.append("color=red, penwidth=2")
        tail = f" [{', '.join(edge_attrs)}]" if edge_attrs else ""
        lines.append(f"  {quote(names[link.src])} -> {quote(names[link.dst])}{tail};")
    lines.append("}")
    return "\n".join(lines) + "\n"
