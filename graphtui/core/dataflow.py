"""What the dataflow view shows: a small selection of a graph, as boxes (items) and edges (links).

Selections never walk more of the graph than they show, except the ones that must: a scope's
overview aggregates every edge under the scope (with numpy over :meth:`GraphIndex.edge_table`),
and paths, upstream and downstream walk the reachable part of the graph (over the same table).
The result is a :class:`View`, plain data that :mod:`graphtui.core.layout` lays out, the app
draws and :mod:`graphtui.core.dot` writes.

* :func:`around`: a node, its producers ``depth`` levels up and its consumers ``depth`` levels
  down; a node with more than ``fanout`` neighbours on one side shows the first ones and a
  ``+N more`` item (expanded when its key is in ``expanded``).
* :func:`scope_view`: a scope's children as boxes (a sub-scope is one box with its node and
  parameter counts), edges between them aggregated (``count``), edges from or to the rest of the
  graph ending in stubs named after the outside scope. The root scope is the model's overview.
* :func:`collapse`: a selection with every node outside a scope folded into one box per scope.
* :func:`paths`: the nodes on paths from one node to another (capped), the shortest one first.
* :func:`upstream` / :func:`downstream`: every node a node depends on / that depends on it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from graphtui.core.graph import GraphIndex, dtype_name, shape_list
from graphtui.core.natural import natural_key
from graphtui.core.scopes import ScopeTree
from graphtui.core.units import human_count, shape_text
from graphtui.core.variables import VARIABLE_OPS
from graphtui.errors import NotFoundError

ItemKind = Literal["op", "variable", "placeholder", "const", "scope", "more", "stub"]
ViewKind = Literal["around", "scope", "paths", "graph"]

DEPTH = 2  # levels above and below the centre
FANOUT = 8  # neighbours shown per node and side before a "+N more" item
AROUND_LIMIT = 240  # items of an around view (the layout stays well under 100 ms)
SCOPE_LIMIT = 60  # children of a scope shown before a "+N more" item
STUB_LIMIT = 12  # outside scopes shown as stubs; the rest share one
PATH_LIMIT = 120  # nodes shown on paths between two nodes

PLACEHOLDER_OPS = frozenset({"Placeholder", "PlaceholderV2", "PlaceholderWithDefault", "_Arg"})
CONST_OPS = frozenset({"Const", "HostConst"})
_SHORT_DTYPES = {
    "float32": "f32", "float64": "f64", "float16": "f16", "bfloat16": "bf16", "int32": "i32",
    "int64": "i64", "int8": "i8", "int16": "i16", "uint8": "u8", "bool": "bool",
    "string": "str", "resource": "res", "variant": "var", "complex64": "c64",
}  # fmt: skip


@dataclass(frozen=True)
class Item:
    """One box. ``target`` is the node or scope it stands for (for a ``more`` item, the node
    or scope whose hidden neighbours or children it counts; for a stub, the outside scope)."""

    key: str
    kind: ItemKind
    title: str
    op: str
    info: str
    target: str
    hidden: int = 0


@dataclass(frozen=True)
class Link:
    """An edge between two items; ``count`` tensors (or control edges) when aggregated."""

    src: str
    dst: str
    control: bool
    count: int = 1


@dataclass(frozen=True)
class View:
    """A selection ready to lay out: items in a stable order, links between them."""

    kind: ViewKind
    title: str
    items: dict[str, Item]
    links: list[Link]
    focus: str | None = None
    path: list[str] = field(default_factory=list)  # highlighted chain of item keys
    note: str = ""

    def path_links(self) -> set[tuple[str, str]]:
        """(src, dst) of the links along :attr:`path`, either way round."""
        pairs = set(zip(self.path, self.path[1:], strict=False))
        return pairs | {(b, a) for a, b in pairs}


# -- boxes for nodes -------------------------------------------------------------------------


def node_kind(op: str) -> ItemKind:
    if op in VARIABLE_OPS:
        return "variable"
    if op in PLACEHOLDER_OPS:
        return "placeholder"
    if op in CONST_OPS:
        return "const"
    return "op"


def output_text(index: GraphIndex, name: str) -> str:
    """Dtype and shape of the node's first output, ``f32[?,16]``; ``""`` when unknown.

    The shape comes from ``_output_shapes`` (written by TF1 exports), else from a variable's or
    placeholder's ``shape`` attr or a constant's value; the dtype from ``T``/``dtype``.
    """
    attrs = index.raw_attrs(name)
    dtype = ""
    for key in ("dtype", "T", "out_type", "DstT"):
        if key in attrs and attrs[key].WhichOneof("value") == "type":
            base = dtype_name(attrs[key].type).removesuffix("_ref")
            dtype = _SHORT_DTYPES.get(base, base)
            break
    shape: list[int] | None = None
    known = False
    if "_output_shapes" in attrs and len(attrs["_output_shapes"].list.shape):
        shape, known = shape_list(attrs["_output_shapes"].list.shape[0]), True
    elif "shape" in attrs and attrs["shape"].WhichOneof("value") == "shape":
        shape, known = shape_list(attrs["shape"].shape), True
    elif "value" in attrs and attrs["value"].WhichOneof("value") == "tensor":
        shape, known = shape_list(attrs["value"].tensor.tensor_shape), True
    if not known:
        return dtype
    return dtype + shape_text(shape)


def short_name(path: str) -> str:
    return path.rpartition("/")[2] or path


def node_item(index: GraphIndex, name: str) -> Item:
    op = index.op(name)
    return Item(name, node_kind(op), short_name(name), op, output_text(index, name), name)


def scope_item(tree: ScopeTree, path: str, nodes: int | None = None) -> Item:
    count = tree.node_count(path) if nodes is None else nodes
    params = tree.param_count(path, kind="model")  # as the graph tree counts: no slots
    info = f"{count:,} nodes" + (f" · {human_count(params)} params" if params else "")
    return Item(path, "scope", short_name(path) + "/", "scope", info, path)


def more_item(key: str, target: str, hidden: int, what: str = "more") -> Item:
    return Item(key, "more", f"+{hidden:,} {what}", "", "Enter shows them", target, hidden)


# -- around a node -----------------------------------------------------------------------------


def _neighbours(index: GraphIndex, name: str, up: bool, control: bool) -> list[str]:
    """Distinct producers (``up``) or consumers of ``name`` in edge order."""
    seen: dict[str, None] = {}
    if up:
        for ref in index.inputs(name):
            if (control or not ref.control) and ref.node in index:
                seen.setdefault(ref.node)
    else:
        for c in index.consumers(name):
            if control or not c.control:
                seen.setdefault(c.node)
    seen.pop(name, None)
    return list(seen)


def around(
    index: GraphIndex,
    center: str,
    depth: int = DEPTH,
    *,
    fanout: int = FANOUT,
    expanded: Iterable[str] = (),
    control: bool = True,
    limit: int = AROUND_LIMIT,
) -> View:
    """``center``, its producers ``depth`` levels up and consumers ``depth`` levels down."""
    index.index_of(center)  # NotFoundError for an unknown name
    opened = set(expanded)
    items: dict[str, Item] = {center: node_item(index, center)}
    more_links: list[Link] = []
    for up in (True, False):
        frontier = [center]
        for _ in range(max(0, depth)):
            nxt: list[str] = []
            for node in frontier:
                near = [n for n in _neighbours(index, node, up, control)]
                more_key = f"more:{'up' if up else 'down'}:{node}"
                cut = len(near) if more_key in opened else min(len(near), fanout)
                hidden = len(near) - cut
                for other in near[:cut]:
                    if other in items:
                        continue
                    if len(items) >= limit:
                        hidden += 1
                        continue
                    items[other] = node_item(index, other)
                    nxt.append(other)
                if hidden:
                    items[more_key] = more_item(more_key, node, hidden)
                    a, b = (more_key, node) if up else (node, more_key)
                    more_links.append(Link(a, b, False, hidden))
            frontier = nxt
    home = center.rpartition("/")[0]
    for key, item in items.items():  # outside the centre's scope: say which scope
        if item.kind != "more" and key.rpartition("/")[0] != home and "/" in key:
            items[key] = replace(item, title="/".join(key.split("/")[-2:]))
    links = _links_between(index, [k for k, it in items.items() if it.kind != "more"], control)
    title = f"around {center} · depth {depth}"
    return View("around", title, items, links + more_links, focus=center)


def _links_between(index: GraphIndex, names: list[str], control: bool) -> list[Link]:
    """Every edge among ``names``, one link per pair (data wins over control)."""
    inside = set(names)
    data: dict[tuple[str, str], int] = {}
    ctrl: dict[tuple[str, str], int] = {}
    for name in names:
        for ref in index.inputs(name):
            if ref.node not in inside or ref.node == name or (ref.control and not control):
                continue
            bucket = ctrl if ref.control else data
            bucket[(ref.node, name)] = bucket.get((ref.node, name), 0) + 1
    out = [Link(a, b, False, n) for (a, b), n in data.items()]
    out += [Link(a, b, True, n) for (a, b), n in ctrl.items() if (a, b) not in data]
    return out


# -- scopes ------------------------------------------------------------------------------------


def outside_scope(name: str, scope: str) -> str:
    """The scope naming ``name`` as seen from ``scope``: the first component where the two
    part ways (``model/block_2`` for ``model/block_2/layer_9/Relu`` seen from ``model/block_3``)."""
    return _outside_namer(scope)(name)


def _outside_namer(scope: str) -> Callable[[str], str]:
    """:func:`outside_scope` for one ``scope`` and many names: a few ``startswith`` a name."""
    parts = scope.split("/") if scope else []
    prefixes = ["/".join(parts[:k]) + "/" for k in range(1, len(parts) + 1)]

    def name_of(name: str) -> str:
        base = ""
        for prefix in prefixes:
            if not name.startswith(prefix):
                break
            base = prefix
        return base + name[len(base) :].partition("/")[0]

    return name_of


def _aggregate(
    index: GraphIndex,
    group: np.ndarray,
    group_keys: list[str],
    scope: str,
    control: bool,
) -> tuple[list[Link], dict[str, int]]:
    """Links between groups (``group[i]`` = the group of node ``i``, -1 outside), and stub
    links for edges crossing the boundary (stub key ``stub:<outside scope>``); also the number
    of edges per stub."""
    table = index.edge_table()
    gs = group[table.src]
    gd = group[table.dst]
    keep = (gs >= 0) | (gd >= 0)
    if not control:
        keep &= table.port >= 0
    gs, gd = gs[keep], gd[keep]
    src, dst, ctl = table.src[keep], table.dst[keep], table.port[keep] < 0
    n_groups = len(group_keys)
    stub_keys: list[str] = []
    crossing = (gs < 0) | (gd < 0)
    if crossing.any():
        outside = np.where(gs < 0, src, dst)[crossing]
        uniq, inverse = np.unique(outside, return_inverse=True)
        names = index.names
        namer = _outside_namer(scope)
        stub_of: dict[str, int] = {}
        ids = [
            stub_of.setdefault("stub:" + namer(names[pos]), n_groups + len(stub_of))
            for pos in uniq.tolist()
        ]
        stub_keys = list(stub_of)
        sid = np.asarray(ids, dtype=np.int64)[inverse]
        gs = gs.astype(np.int64)
        gd = gd.astype(np.int64)
        cs = np.flatnonzero(crossing)
        gs[cs] = np.where(gs[cs] < 0, sid, gs[cs])
        gd[cs] = np.where(gd[cs] < 0, sid, gd[cs])
    total = n_groups + len(stub_keys)
    differ = gs != gd
    code = (gs[differ].astype(np.int64) * total + gd[differ]) * 2 + ctl[differ]
    pairs, counts = np.unique(code, return_counts=True)
    keys = group_keys + stub_keys
    data: dict[tuple[str, str], int] = {}
    ctrl: dict[tuple[str, str], int] = {}
    per_stub: dict[str, int] = {}
    for pair, count in zip(pairs.tolist(), counts.tolist(), strict=True):
        is_ctl, rest = pair % 2, pair // 2
        a, b = keys[rest // total], keys[rest % total]
        (ctrl if is_ctl else data)[(a, b)] = count
        for k in (a, b):
            if k.startswith("stub:"):
                per_stub[k] = per_stub.get(k, 0) + count
    links = [Link(a, b, False, n) for (a, b), n in data.items()]
    links += [Link(a, b, True, n) for (a, b), n in ctrl.items() if (a, b) not in data]
    return links, per_stub


def _merge_stubs(
    links: list[Link], per_stub: dict[str, int], limit: int
) -> tuple[list[Link], dict[str, int]]:
    """Keep the ``limit`` busiest stubs; the others become one ``stub:*`` link end."""
    if len(per_stub) <= limit:
        return links, {k: 0 for k in per_stub}
    busiest = sorted(per_stub, key=lambda k: (-per_stub[k], natural_key(k)))
    keep = set(busiest[: limit - 1])
    merged: dict[tuple[str, str, bool], int] = {}
    folded = 0
    for link in links:
        a = link.src if link.src in keep or not link.src.startswith("stub:") else "stub:*"
        b = link.dst if link.dst in keep or not link.dst.startswith("stub:") else "stub:*"
        merged[(a, b, link.control)] = merged.get((a, b, link.control), 0) + link.count
    folded = len(per_stub) - len(keep)
    out = [Link(a, b, c, n) for (a, b, c), n in merged.items()]
    return out, {**{k: 0 for k in keep}, "stub:*": folded}


def _stub_item(key: str, folded: int) -> Item:
    if key == "stub:*":
        return Item(key, "stub", f"{folded} other scopes", "outside", "", "", folded)
    target = key[5:]
    return Item(key, "stub", target, "outside", "", target)


def scope_view(
    index: GraphIndex,
    scope: str = "",
    *,
    limit: int = SCOPE_LIMIT,
    control: bool = True,
) -> View:
    """The children of ``scope`` as boxes with aggregated edges (see the module doc)."""
    tree = ScopeTree.of(index)
    if scope and not tree.is_scope(scope):
        where = index.path or "graph"
        raise NotFoundError(f"{where}: no scope named {scope!r}")
    entries = tree.children(scope)
    shown, rest = entries[:limit], entries[limit:]
    items: dict[str, Item] = {}
    for e in shown:
        items[e.path] = (
            scope_item(tree, e.path, e.node_count) if e.is_scope else node_item(index, e.path)
        )
    more_key = f"more:scope:{scope}"
    group_keys = [e.path for e in shown]
    slot = {e.path: i for i, e in enumerate(shown)}
    if rest:
        slot.update({e.path: len(group_keys) for e in rest})
        group_keys.append(more_key)
        items[more_key] = more_item(more_key, scope, len(rest), "more children")
    group = np.full(len(index), -1, dtype=np.int32)
    cut = len(scope) + 1 if scope else 0
    pos = index.index_of
    for name in tree.names_under(scope):
        comp = name[cut:].partition("/")[0]
        group[pos(name)] = slot[name[:cut] + comp]
    if scope and scope in index:  # the scope's own node (``dense/kernel`` under itself)
        own = scope
        items.setdefault(own, node_item(index, own))
        group_keys.append(own)
        group[pos(own)] = len(group_keys) - 1
    links, per_stub = _aggregate(index, group, group_keys, scope, control)
    links, stubs = _merge_stubs(links, per_stub, STUB_LIMIT)
    for key, folded in sorted(stubs.items(), key=lambda kv: natural_key(kv[0])):
        items[key] = _stub_item(key, folded)
    title = f"scope {scope}/" if scope else "overview (root scope)"
    note = f"{tree.node_count(scope):,} nodes in {len(entries):,} children"
    return View("scope", title, items, links, note=note)


def collapse(index: GraphIndex, view: View, scope: str) -> View:
    """``view`` with every node not directly in ``scope`` folded into one box per scope as seen
    from ``scope`` (see :func:`outside_scope`); links between folded boxes add up."""
    tree = ScopeTree.of(index)
    prefix = scope + "/" if scope else ""

    def fold(key: str) -> str:
        item = view.items[key]
        if item.kind in ("more", "stub", "scope"):
            return key
        rest = key[len(prefix) :] if key.startswith(prefix) else None
        if rest is not None and "/" not in rest:
            return key
        return outside_scope(key, scope)

    members: dict[str, int] = {}
    items: dict[str, Item] = {}
    for key, item in view.items.items():
        group = fold(key)
        if group == key:
            items[key] = item
        else:
            members[group] = members.get(group, 0) + 1
    for group, count in members.items():
        base = scope_item(tree, group) if tree.is_scope(group) else node_item(index, group)
        info = f"{count} shown · {base.info}" if base.kind == "scope" else base.info
        items[group] = replace(base, info=info)
    merged: dict[tuple[str, str], list[int]] = {}
    for link in view.links:
        a, b = fold(link.src), fold(link.dst)
        if a == b:
            continue
        slot = merged.setdefault((a, b), [0, 0])
        slot[1 if link.control else 0] += link.count
    links = [Link(a, b, d == 0, d or c) for (a, b), (d, c) in merged.items()]
    focus = fold(view.focus) if view.focus else None
    return replace(view, items=items, links=links, focus=focus, title=view.title + " · collapsed")


def whole(index: GraphIndex, scope: str = "", *, control: bool = True) -> View:
    """Every node named ``scope`` or under it (the whole graph for the root), uncollapsed."""
    tree = ScopeTree.of(index)
    if scope and not tree.exists(scope):
        raise NotFoundError(f"{index.path or 'graph'}: no scope or node named {scope!r}")
    names = ([scope] if scope and scope in index else []) + tree.names_under(scope)
    names.sort(key=index.index_of)
    items = {n: node_item(index, n) for n in names}
    title = f"scope {scope}/" if scope else "whole graph"
    return View("graph", title, items, _links_between(index, names, control))


# -- walks over the whole graph ----------------------------------------------------------------


def _adjacency(index: GraphIndex, control: bool) -> tuple[list[list[int]], list[list[int]]]:
    """Producers and consumers of every node as Python lists of positions (built once)."""

    def build(g: GraphIndex) -> tuple[list[list[int]], list[list[int]]]:
        t = g.edge_table()
        keep = np.ones(len(t.src), dtype=bool) if control else t.port >= 0
        n = len(g)
        preds: list[list[int]] = [[] for _ in range(n)]
        succs: list[list[int]] = [[] for _ in range(n)]
        seen: set[tuple[int, int]] = set()
        for a, b in zip(t.src[keep].tolist(), t.dst[keep].tolist(), strict=True):
            if (a, b) not in seen and a != b:
                seen.add((a, b))
                preds[b].append(a)
                succs[a].append(b)
        return preds, succs

    return index.derived(f"dataflow-adjacency-{control}", build)


def _walk(start: int, nbrs: list[list[int]]) -> dict[int, int]:
    """Breadth-first distances from ``start`` (parents are not kept)."""
    dist = {start: 0}
    queue = deque([start])
    while queue:
        u = queue.popleft()
        d = dist[u] + 1
        for v in nbrs[u]:
            if v not in dist:
                dist[v] = d
                queue.append(v)
    return dist


def upstream(index: GraphIndex, name: str, *, control: bool = True) -> list[str]:
    """Every node ``name`` depends on (what a freeze to it keeps), nearest first."""
    preds, _ = _adjacency(index, control)
    return _names_by_distance(index, _walk(index.index_of(name), preds))


def downstream(index: GraphIndex, name: str, *, control: bool = True) -> list[str]:
    """Every node that depends on ``name``, nearest first."""
    _, succs = _adjacency(index, control)
    return _names_by_distance(index, _walk(index.index_of(name), succs))


def _names_by_distance(index: GraphIndex, dist: dict[int, int]) -> list[str]:
    names = index.names
    order = sorted((d, names[p]) for p, d in dist.items() if d > 0)
    return [n for _, n in order]


@dataclass(frozen=True)
class PathResult:
    """Nodes on paths between two nodes: ``total`` of them, ``shortest`` one path (names, from
    ``src`` to ``dst``; empty when unconnected), ``view`` the capped selection."""

    src: str
    dst: str
    total: int
    shortest: list[str]
    view: View


def paths(
    index: GraphIndex, a: str, b: str, *, limit: int = PATH_LIMIT, control: bool = True
) -> PathResult:
    """Nodes on paths from ``a`` to ``b`` (or from ``b`` to ``a`` when only that way
    connects): every node reachable from one that reaches the other. The shortest path is
    always shown; the rest by their distance along the paths, up to ``limit`` nodes."""
    preds, succs = _adjacency(index, control)
    pa, pb = index.index_of(a), index.index_of(b)
    fwd = _walk(pa, succs)
    if pb not in fwd:
        back = _walk(pb, succs)
        if pa in back:
            a, b, pa, pb, fwd = b, a, pb, pa, back
    names = index.names
    if pb not in fwd:
        items = {a: node_item(index, a), b: node_item(index, b)}
        view = View("paths", f"paths {a} → {b}", items, [], focus=b, note="no path either way")
        return PathResult(a, b, 0, [], view)
    bwd = _walk(pb, preds)
    on = [p for p in fwd if p in bwd]
    chain = [pb]  # shortest path: step back along decreasing forward distance
    while chain[-1] != pa:
        here = chain[-1]
        chain.append(min((p for p in preds[here] if p in fwd), key=lambda p: (fwd[p], p)))
    chain.reverse()
    shortest = [names[p] for p in chain]
    on_chain = set(chain)
    rest = sorted((p for p in on if p not in on_chain), key=lambda p: (fwd[p] + bwd[p], fwd[p], p))
    shown = chain + rest[: max(0, limit - len(chain))]
    shown.sort(key=lambda p: (fwd[p], p))
    shown_names = [names[p] for p in shown]
    items = {n: node_item(index, n) for n in shown_names}
    links = _links_between(index, shown_names, control)
    note = f"{len(on):,} nodes on paths, shortest {len(chain) - 1} edges"
    if len(on) > len(shown):
        note += f" (showing {len(shown)})"
    view = View("paths", f"paths {a} → {b}", items, links, focus=b, path=shortest, note=note)
    return PathResult(a, b, len(on), shortest, view)


def select(
    index: GraphIndex,
    *,
    around_node: str | None = None,
    depth: int = DEPTH,
    scope: str | None = None,
    collapsed: bool = False,
    control: bool = True,
    fanout: int = FANOUT,
) -> View:
    """The selection ``graphtui dot`` and the app's export share: around a node (with
    ``collapsed``, nodes outside its scope folded per scope), else a scope (the root when
    None) as its children with aggregated edges when ``collapsed``, or every node under it."""
    if around_node is not None:
        view = around(index, around_node, depth, fanout=fanout, control=control)
        return collapse(index, view, around_node.rpartition("/")[0]) if collapsed else view
    if collapsed:
        return scope_view(index, scope or "", control=control)
    return whole(index, scope or "", control=control)
