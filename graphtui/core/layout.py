"""A layered ("Sugiyama") layout of a small directed graph onto a character grid.

Steps: break cycles (DFS back edges are laid out reversed), assign layers (longest path, then
sources pulled down next to their nearest consumer), insert one-column dummy nodes so that every
edge spans one layer, reduce crossings with barycenter sweeps (the best ordering seen is kept),
place boxes left to right by isotonic regression towards their neighbours' centres (boxes never
overlap), then route each edge in the channel between two layers: down from a port on the
source's bottom border, along a horizontal track, down to the target's top border. Tracks are
given so that no two horizontal segments touch and no two vertical segments share a cell (two
edges that swap columns need each other above: one of them doglegs through a free column).

Why our own module and not a library: we need integer cells, boxes of given character widths,
orthogonal routes with ports on box borders, and 300 nodes in well under 100 ms. grandalf (0.8,
last release 2023-01) lays out in float coordinates and routes edges as splines; on the
benchmark's random 300-node, 450-edge layered graph its ``SugiyamaLayout`` (init + 2 passes)
took 0.68 s where this module took 0.13 s for the whole job (same machine, same load; the
``_random_dag`` of bench/tui_bench.py). networkx has no layered layout (``multipartite_layout``
only spaces layers it is given) and would be a large dependency for a topological sort. This
module has no dependency; its parts are the textbook ones (Sugiyama, Tagawa, Toda 1981; Gansner
et al., "A technique for drawing directed graphs", 1993).

Coordinates: ``x`` is a column and ``y`` a row, both from 0; a box covers columns
``x .. x + width - 1`` and rows ``y .. y + height - 1``.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field

GAP = 2  # columns between boxes of a layer
SWEEPS = 4  # down + up barycenter sweeps
PLACEMENT_ROUNDS = 2


@dataclass(frozen=True)
class Box:
    """Where a node is drawn."""

    key: str
    x: int
    y: int
    width: int
    height: int
    layer: int
    order: int  # position within the layer, 0 = leftmost (dummies counted)


@dataclass(frozen=True)
class Route:
    """An edge drawn as an orthogonal polyline from the cell below (or above) its source box
    to the cell above (or below) its target box, in the edge's own direction. ``points`` are
    the corners (first and last included); consecutive points share a row or a column."""

    index: int  # position of the edge in the input list
    src: str
    dst: str
    points: list[tuple[int, int]]
    reversed: bool  # drawn upwards: the edge closed a cycle


@dataclass
class Layout:
    """The result: a box per node, a route per edge (self-loops too), the canvas size."""

    boxes: dict[str, Box]
    routes: list[Route]
    width: int
    height: int
    layers: list[list[str]] = field(default_factory=list)  # real nodes per layer, in order


def _break_cycles(n: int, succ: list[list[int]]) -> set[tuple[int, int]]:
    """Edges to reverse (DFS back edges, iterative), visiting nodes in input order."""
    state = [0] * n  # 0 new, 1 on stack, 2 done
    back: set[tuple[int, int]] = set()
    for root in range(n):
        if state[root]:
            continue
        state[root] = 1
        stack = [(root, 0)]
        while stack:
            u, i = stack[-1]
            if i < len(succ[u]):
                stack[-1] = (u, i + 1)
                v = succ[u][i]
                if state[v] == 0:
                    state[v] = 1
                    stack.append((v, 0))
                elif state[v] == 1:
                    back.add((u, v))
            else:
                state[u] = 2
                stack.pop()
    return back


def _layers(n: int, edges: list[tuple[int, int]]) -> list[int]:
    """Longest-path layering of a DAG, then each source moved down next to its nearest
    consumer (so a constant feeding a deep op does not draw a long edge from the top)."""
    succ: list[list[int]] = [[] for _ in range(n)]
    indeg = [0] * n
    for u, v in edges:
        succ[u].append(v)
        indeg[v] += 1
    layer = [0] * n
    queue = [i for i in range(n) if indeg[i] == 0]
    head = 0
    while head < len(queue):
        u = queue[head]
        head += 1
        for v in succ[u]:
            if layer[u] + 1 > layer[v]:
                layer[v] = layer[u] + 1
            indeg[v] -= 1
            if indeg[v] == 0:
                queue.append(v)
    has_pred = [False] * n
    for _, v in edges:
        has_pred[v] = True
    for u in range(n):
        if not has_pred[u] and succ[u]:
            layer[u] = min(layer[v] for v in succ[u]) - 1
    return layer


def _crossings(upper: list[int], pos: list[int], succ: list[list[int]], size: int) -> int:
    """Crossings between a layer and the next (inversions of the targets' positions, counted
    with a Fenwick tree); ``pos`` holds each node's position in its layer."""
    targets: list[int] = []
    for u in upper:
        near = succ[u]
        if len(near) == 1:
            targets.append(pos[near[0]])
        else:
            targets.extend(sorted([pos[v] for v in near]))
    count = 0
    tree = [0] * (size + 2)
    for seen, t in enumerate(targets):
        i = t + 1
        below = 0
        while i > 0:
            below += tree[i]
            i -= i & -i
        count += seen - below
        i = t + 1
        while i <= size + 1:
            tree[i] += 1
            i += i & -i
    return count


def _order(rows: list[list[int]], succ: list[list[int]], pred: list[list[int]]) -> list[list[int]]:
    """Barycenter sweeps down and up; returns the ordering with the fewest crossings seen.
    Every edge joins adjacent layers here (dummies make it so)."""
    pos = [0] * len(succ)

    def number(row: list[int]) -> None:
        for k, v in enumerate(row):
            pos[v] = k

    for row in rows:
        number(row)

    def total(rs: list[list[int]]) -> int:
        return sum(_crossings(rs[i], pos, succ, len(rs[i + 1])) for i in range(len(rs) - 1))

    best = [list(r) for r in rows]
    best_score = total(best)
    current = [list(r) for r in rows]
    for sweep in range(SWEEPS):
        if best_score == 0:
            break
        down = sweep % 2 == 0
        nbrs = pred if down else succ
        indices = range(1, len(current)) if down else range(len(current) - 2, -1, -1)
        for i in indices:
            keyed = []
            for k, v in enumerate(current[i]):
                near = nbrs[v]
                if not near:
                    keyed.append((float(k), k, v))
                elif len(near) == 1:
                    keyed.append((float(pos[near[0]]), k, v))
                else:
                    keyed.append((sum([pos[w] for w in near]) / len(near), k, v))
            keyed.sort()
            current[i] = [v for _, _, v in keyed]
            number(current[i])
        score = total(current)
        if score < best_score:
            best, best_score = [list(r) for r in current], score
    for row in best:
        number(row)
    return best


def _isotonic(desired: list[float], widths: list[int]) -> list[int]:
    """Left columns closest (least squares) to ``desired`` keeping order and ``GAP`` columns
    between neighbours: pool-adjacent-violators on the desired positions minus the offsets."""
    offsets = []
    acc = 0
    for w in widths:
        offsets.append(acc)
        acc += w + GAP
    sums: list[float] = []
    counts: list[int] = []
    for d, off in zip(desired, offsets, strict=True):
        s, c = d - off, 1
        while sums and sums[-1] * c > s * counts[-1]:  # previous block's mean is larger
            s += sums.pop()
            c += counts.pop()
        sums.append(s)
        counts.append(c)
    out: list[int] = []
    for s, c in zip(sums, counts, strict=True):
        value = round(s / c)
        for _ in range(c):
            out.append(value + offsets[len(out)])
    return out


def _place(
    rows: list[list[int]],
    widths: list[int],
    succ: list[list[int]],
    pred: list[list[int]],
) -> list[int]:
    """Left column of every node: packed rows, then rounds of pulls towards the centres of
    the neighbours above, below, and both."""
    x = [0] * len(widths)
    half = [(w - 1) // 2 for w in widths]  # the column of a lone port (see _ports)
    for row in rows:
        col = 0
        for v in row:
            x[v] = col
            col += widths[v] + GAP
    both = [pred[v] + succ[v] for v in range(len(widths))]

    def pull(row: list[int], nbrs: list[list[int]]) -> None:
        desired = []
        for v in row:
            near = nbrs[v]
            if near:
                c = 0.0
                for w in near:
                    c += x[w] + half[w]
                desired.append(c / len(near) - half[v])
            else:
                desired.append(float(x[v]))
        for v, left in zip(row, _isotonic(desired, [widths[v] for v in row]), strict=True):
            x[v] = left

    for _ in range(PLACEMENT_ROUNDS):
        for row in rows[1:]:
            pull(row, pred)
        for row in reversed(rows[:-1]):
            pull(row, succ)
    for row in rows:
        pull(row, both)
    low = min(x) if x else 0
    return [v - low for v in x]


def _ports(x: int, width: int, count: int) -> list[int]:
    """``count`` distinct columns inside a border of ``width`` (the centre for one)."""
    if count == 0:
        return []
    if width <= 2:
        return [x] * count
    inner = width - 2
    if count == 1:
        return [x + (width - 1) // 2]
    step = inner / count
    return [x + 1 + int(step * i + step / 2) for i in range(count)]


def layered_layout(
    nodes: Sequence[tuple[str, int, int]],
    edges: Sequence[tuple[str, str]],
) -> Layout:
    """Lay out ``nodes`` (key, width, height) joined by ``edges`` (source key, target key).

    Boxes are widened when they need more ports than their border has columns. Unknown keys
    in ``edges`` raise ``KeyError``.
    """
    keys = [k for k, _, _ in nodes]
    pos = {k: i for i, k in enumerate(keys)}
    n = len(keys)
    raw = [(pos[a], pos[b]) for a, b in edges]
    succ0: list[list[int]] = [[] for _ in range(n)]
    for u, v in raw:
        if u != v and v not in succ0[u]:
            succ0[u].append(v)
    back = _break_cycles(n, succ0)
    dag = sorted({(v, u) if (u, v) in back else (u, v) for u, v in raw if u != v})
    layer = _layers(n, dag)

    # dummy chains: one node per crossed layer
    widths = [0] * n
    heights = [0] * n
    for key, wide, high in nodes:
        widths[pos[key]], heights[pos[key]] = wide, high
    layer_of = list(layer)
    chains: dict[tuple[int, int], list[int]] = {}
    succ: list[list[int]] = [[] for _ in range(n)]
    pred: list[list[int]] = [[] for _ in range(n)]

    def link(a: int, b: int) -> None:
        succ[a].append(b)
        pred[b].append(a)

    for u, v in dag:
        chain = [u]
        for lay in range(layer_of[u] + 1, layer_of[v]):
            d = len(widths)
            widths.append(1)
            heights.append(0)
            layer_of.append(lay)
            succ.append([])
            pred.append([])
            chain.append(d)
        chain.append(v)
        for a, b in zip(chain, chain[1:], strict=False):
            link(a, b)
        chains[(u, v)] = chain
    total = len(widths)
    for v in range(n):  # enough border columns for the ports
        widths[v] = max(widths[v], len(succ[v]) + 2, len(pred[v]) + 2)

    depth = max(layer_of) + 1 if total else 0
    rows: list[list[int]] = [[] for _ in range(depth)]
    for v in range(total):  # initial order: input order, dummies after their source
        rows[layer_of[v]].append(v)
    rows = _order(rows, succ, pred)
    x = _place(rows, widths, succ, pred)
    order = [0] * total
    for row in rows:
        for k, v in enumerate(row):
            order[v] = k

    # ports: sorted by the other end's column so that edges leaving a box do not cross
    out_port: dict[tuple[int, int], int] = {}
    in_port: dict[tuple[int, int], int] = {}
    for v in range(total):
        outs = sorted(succ[v], key=lambda w: (x[w] + widths[w] / 2, order[w]))
        for w, col in zip(outs, _ports(x[v], widths[v], len(outs)), strict=True):
            out_port[(v, w)] = col
        ins = sorted(pred[v], key=lambda w: (x[w] + widths[w] / 2, order[w]))
        for w, col in zip(ins, _ports(x[v], widths[v], len(ins)), strict=True):
            in_port[(w, v)] = col

    # rows: bands of boxes, channels of tracks between them
    band_h = [max([heights[v] for v in row if v < n] or [1]) for row in rows]
    tracks: list[dict[Hop, tuple[int, ...]]] = []
    for i in range(depth - 1):
        tracks.append(_tracks(rows[i], succ, out_port, in_port))
    top = [0] * depth
    y = 0
    for i in range(depth):
        top[i] = y
        y += band_h[i]
        if i < depth - 1:
            y += max((max(t[0], t[-1]) for t in tracks[i].values()), default=-1) + 2
    height = y

    boxes: dict[str, Box] = {}
    layers_out: list[list[str]] = []
    for i, row in enumerate(rows):
        real = [v for v in row if v < n]
        layers_out.append([keys[v] for v in real])
        for v in real:
            boxes[keys[v]] = Box(keys[v], x[v], top[i], widths[v], heights[v], i, order[v])

    def channel(i: int, a: int, b: int) -> list[tuple[int, int]]:
        """Corners of the hop a -> b from band i to band i + 1."""
        start_y = top[i] + (heights[a] if a < n else band_h[i])
        end_y = top[i + 1] - 1
        px, qx = out_port[(a, b)], in_port[(a, b)]
        if px == qx:
            return [(px, start_y), (px, end_y)]
        base = top[i] + band_h[i]
        t = tracks[i][(a, b)]
        if len(t) == 3:
            f = t[1]
            return [(px, start_y), (px, base + t[0]), (f, base + t[0]), (f, base + t[2]),
                    (qx, base + t[2]), (qx, end_y)]  # fmt: skip
        return [(px, start_y), (px, base + t[0]), (qx, base + t[0]), (qx, end_y)]

    routes: list[Route] = []
    right = max((b.x + b.width for b in boxes.values()), default=0)
    for index, (u, v) in enumerate(raw):
        if u == v:  # a self-loop: out of the right border and back
            box = boxes[keys[u]]
            rx = box.x + box.width
            mid = box.y + max(1, box.height // 2)
            loop = [(rx, box.y + 1), (rx + 1, box.y + 1), (rx + 1, mid), (rx, mid)]
            right = max(right, rx + 2)
            routes.append(Route(index, keys[u], keys[v], loop, False))
            continue
        rev = (u, v) in back
        a, b = (v, u) if rev else (u, v)
        chain = chains[(a, b)]
        pts: list[tuple[int, int]] = []
        for hop, (c, d) in enumerate(zip(chain, chain[1:], strict=False)):
            seg = channel(layer_of[c], c, d)
            if hop and pts[-1][0] == seg[0][0]:  # through a dummy: one straight run
                pts.pop()
                seg = seg[1:]
            pts.extend(seg)
        pts = _simplify(pts)
        right = max(right, max(x for x, _ in pts) + 1)  # dummies and doglegs may stick out
        if rev:
            pts.reverse()
        routes.append(Route(index, keys[u], keys[v], pts, rev))
    return Layout(boxes, routes, right, height, layers_out)


def _simplify(points: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Drop repeated points and corners that continue straight on."""
    out: list[tuple[int, int]] = []
    for p in points:
        if out and out[-1] == p:
            continue
        if len(out) >= 2:
            (ax, ay), (bx, by) = out[-2], out[-1]
            if (ax == bx == p[0]) or (ay == by == p[1]):
                out[-1] = p
                continue
        out.append(p)
    return out


Hop = tuple[int, int]


def _tracks(
    upper: list[int],
    succ: list[list[int]],
    out_port: dict[Hop, int],
    in_port: dict[Hop, int],
) -> dict[Hop, tuple[int, ...]]:
    """Tracks (0 = first row of the channel) of each hop leaving ``upper`` that bends:
    ``(t,)``, or ``(t1, column, t2)`` for a dogleg (down, across to a free column, down, across).

    A hop starting in the column where another ends must run above it, or their vertical runs
    would share cells; when two hops need each other above (they swap columns), one of them
    doglegs through a column no port uses. Tracks are then given greedily (left edge first, in
    an order that respects those constraints), keeping one clear column between horizontal
    runs on a track."""
    hops = [(a, b) for a in upper for b in succ[a] if out_port[(a, b)] != in_port[(a, b)]]
    if not hops:
        return {}
    ports = {out_port[h] for h in hops} | {in_port[h] for h in hops}
    ports |= {out_port[(a, b)] for a in upper for b in succ[a]}
    dogleg: dict[Hop, int] = {}
    taken = set(ports)
    while True:
        # pieces: (hop, part) with start and end columns; part 0 is the whole hop or the
        # first half of a dogleg, part 1 the second half
        pieces: list[tuple[Hop, int, int, int]] = []
        for h in hops:
            if h in dogleg:
                pieces.append((h, 0, out_port[h], dogleg[h]))
                pieces.append((h, 1, dogleg[h], in_port[h]))
            else:
                pieces.append((h, 0, out_port[h], in_port[h]))
        ends = {p[3]: k for k, p in enumerate(pieces) if p[3] in ports}
        below: list[list[int]] = [[] for _ in pieces]  # k -> pieces that must lie below k
        indeg = [0] * len(pieces)
        for k, (_, part, start, _) in enumerate(pieces):
            if part == 1:
                below[k - 1].append(k)
                indeg[k] += 1
            other = ends.get(start) if start in ports else None
            if other is not None and other != k:
                below[k].append(other)
                indeg[other] += 1
        order = sorted(
            (k for k in range(len(pieces)) if indeg[k] == 0),
            key=lambda k: min(pieces[k][2], pieces[k][3]),
        )
        done: list[int] = []
        while order:
            k = order.pop(0)
            done.append(k)
            for j in below[k]:
                indeg[j] -= 1
                if indeg[j] == 0:
                    order.append(j)
        if len(done) == len(pieces):
            break
        stuck = next(
            pieces[k][0] for k in range(len(pieces)) if indeg[k] and pieces[k][0] not in dogleg
        )
        dogleg[stuck] = _free_column(out_port[stuck], in_port[stuck], taken)
        taken.add(dogleg[stuck])
    track_of: dict[tuple[Hop, int], int] = {}
    used: list[list[tuple[int, int]]] = []
    above: dict[int, int] = {}  # piece -> lowest track it must be below (exclusive)
    for k in done:
        h, part, start, end = pieces[k]
        lo, hi = min(start, end), max(start, end)
        t = above.get(k, -1) + 1
        while True:
            while t >= len(used):
                used.append([])
            on_track = used[t]  # sorted, disjoint (lo, hi) spans
            i = bisect_left(on_track, (lo, hi))
            if (i == 0 or on_track[i - 1][1] + 1 < lo) and (
                i == len(on_track) or hi + 1 < on_track[i][0]
            ):
                on_track.insert(i, (lo, hi))
                break
            t += 1
        track_of[(h, part)] = t
        for j in below[k]:
            above[j] = max(above.get(j, -1), t)
    result: dict[Hop, tuple[int, ...]] = {}
    for h in hops:
        if h in dogleg:
            result[h] = (track_of[(h, 0)], dogleg[h], track_of[(h, 1)])
        else:
            result[h] = (track_of[(h, 0)],)
    return result


def _free_column(a: int, b: int, taken: set[int]) -> int:
    """A column no port of the channel uses, nearest the middle of ``a`` and ``b``."""
    mid = (a + b) // 2
    for d in range(0, abs(a - b) + 1000):
        for c in (mid - d, mid + d):
            if c >= 0 and c not in taken and c - 1 not in taken and c + 1 not in taken:
                return c
    return mid
