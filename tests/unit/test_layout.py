"""The layered layout (graphtui.core.layout): layers follow edges, boxes never overlap, every
edge gets an orthogonal route from its source's border to its target's border that crosses no
box, and vertical runs of different edges never share a cell."""

from __future__ import annotations

import random

import pytest

from graphtui.core.layout import Box, Layout, layered_layout


def random_dag(
    n: int, m: int, seed: int, span: int = 6
) -> tuple[list[tuple[str, int, int]], list[tuple[str, str]]]:
    rng = random.Random(seed)
    nodes = [(f"n{i}", rng.randint(6, 24), rng.choice((3, 4))) for i in range(n)]
    edges: set[tuple[str, str]] = set()
    while len(edges) < m:
        a = rng.randrange(n)
        b = rng.randrange(n)
        if a < b <= a + span:
            edges.add((f"n{a}", f"n{b}"))
    return nodes, sorted(edges)


def inside(box: Box, x: int, y: int) -> bool:
    return box.x <= x < box.x + box.width and box.y <= y < box.y + box.height


def cells(points: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out = [points[0]]
    for (ax, ay), (bx, by) in zip(points, points[1:], strict=False):
        assert ax == bx or ay == by, f"diagonal segment {(ax, ay)} -> {(bx, by)}"
        while (ax, ay) != (bx, by):
            ax += (bx > ax) - (bx < ax)
            ay += (by > ay) - (by < ay)
            out.append((ax, ay))
    return out


def touches(box: Box, x: int, y: int) -> bool:
    """(x, y) is just outside the box, next to one of its borders."""
    return (box.x <= x < box.x + box.width and y in (box.y - 1, box.y + box.height)) or (
        box.y <= y < box.y + box.height and x in (box.x - 1, box.x + box.width)
    )


def check(layout: Layout, nodes: list[tuple[str, int, int]], edges: list[tuple[str, str]]) -> None:
    boxes = layout.boxes
    assert set(boxes) == {k for k, _, _ in nodes}
    # no overlaps
    items = list(boxes.values())
    for i, a in enumerate(items):
        assert a.x >= 0 and a.y >= 0
        assert a.x + a.width <= layout.width and a.y + a.height <= layout.height
        for b in items[i + 1 :]:
            apart = (
                a.x + a.width <= b.x
                or b.x + b.width <= a.x
                or a.y + a.height <= b.y
                or b.y + b.height <= a.y
            )
            assert apart, f"{a} overlaps {b}"
    # one route per edge, in the edge's direction, touching both boxes, never inside a box
    assert [r.index for r in layout.routes] == list(range(len(edges)))
    covered = {
        (x, y) for b in items for x in range(b.x, b.x + b.width) for y in range(b.y, b.y + b.height)
    }
    vertical: dict[tuple[int, int], int] = {}
    horizontal: dict[tuple[int, int], int] = {}
    for route in layout.routes:
        src, dst = edges[route.index]
        assert (route.src, route.dst) == (src, dst)
        if not route.reversed and src != dst:
            assert boxes[src].layer < boxes[dst].layer, f"{src} -> {dst} goes up"
        path = cells(route.points)
        assert all(0 <= x < layout.width and 0 <= y < layout.height for x, y in path)
        assert touches(boxes[src], *path[0]), (route, boxes[src])
        assert touches(boxes[dst], *path[-1]), (route, boxes[dst])
        crossed = [cell for cell in path if cell in covered]
        assert not crossed, f"route {src}->{dst} crosses a box at {crossed[0]}"
        for (ax, ay), (bx, by) in zip(path, path[1:], strict=False):
            if ay == by:
                for cell in ((ax, ay), (bx, by)):
                    owner = horizontal.setdefault(cell, route.index)
                    same_pair = set(edges[owner]) == set(edges[route.index])
                    assert owner == route.index or same_pair, (
                        f"horizontal runs of {edges[owner]} and {(src, dst)} share {cell}"
                    )
            if ax == bx:
                for cell in ((ax, ay), (bx, by)):
                    owner = vertical.setdefault(cell, route.index)
                    # only the edges of one pair (a -> b and b -> a) share their line
                    same_pair = set(edges[owner]) == set(edges[route.index])
                    assert owner == route.index or same_pair, (
                        f"vertical runs of {edges[owner]} and {(src, dst)} share {cell}"
                    )


def test_chain_is_one_column_of_layers() -> None:
    nodes = [("a", 10, 4), ("b", 10, 4), ("c", 10, 4)]
    edges = [("a", "b"), ("b", "c")]
    layout = layered_layout(nodes, edges)
    check(layout, nodes, edges)
    assert [layout.boxes[k].layer for k in "abc"] == [0, 1, 2]
    assert layout.layers == [["a"], ["b"], ["c"]]
    # straight down: each route is one vertical segment
    assert all(len({x for x, _ in r.points}) == 1 for r in layout.routes)


def test_sources_sit_next_to_their_consumer() -> None:
    # "c" feeds only "d" (layer 3): it is placed on layer 2, not drawn with a long edge from 0
    nodes = [(k, 8, 4) for k in "abcd"]
    edges = [("a", "b"), ("b", "x"), ("x", "d"), ("c", "d")]
    nodes.append(("x", 8, 4))
    layout = layered_layout(nodes, edges)
    check(layout, nodes, edges)
    assert layout.boxes["c"].layer == layout.boxes["d"].layer - 1


def test_cycle_is_drawn_with_a_reversed_edge() -> None:
    nodes = [(k, 8, 4) for k in ("enter", "merge", "body", "next", "exit")]
    edges = [
        ("enter", "merge"),
        ("merge", "body"),
        ("body", "next"),
        ("next", "merge"),
        ("merge", "exit"),
    ]
    layout = layered_layout(nodes, edges)
    check(layout, nodes, edges)
    reversed_edges = [edges[r.index] for r in layout.routes if r.reversed]
    assert reversed_edges == [("next", "merge")]


def test_self_loop_and_parallel_edges_have_routes() -> None:
    nodes = [("a", 8, 4), ("b", 8, 4)]
    edges = [("a", "a"), ("a", "b")]
    layout = layered_layout(nodes, edges)
    assert len(layout.routes) == 2
    loop = layout.routes[0]
    box = layout.boxes["a"]
    assert all(x >= box.x + box.width for x, _ in loop.points)


def test_boxes_widen_for_their_ports() -> None:
    nodes = [("hub", 3, 4)] + [(f"c{i}", 6, 4) for i in range(10)]
    edges = [("hub", f"c{i}") for i in range(10)]
    layout = layered_layout(nodes, edges)
    check(layout, nodes, edges)
    assert layout.boxes["hub"].width >= 12
    starts = [r.points[0][0] for r in layout.routes]
    assert len(set(starts)) == 10  # every edge leaves by its own column


@pytest.mark.parametrize("seed", range(12))
def test_random_dags(seed: int) -> None:
    nodes, edges = random_dag(40 + 5 * seed, 60 + 8 * seed, seed)
    check(layered_layout(nodes, edges), nodes, edges)


def test_random_graph_with_cycles() -> None:
    rng = random.Random(5)
    nodes = [(f"n{i}", rng.randint(6, 20), 4) for i in range(60)]
    edges = sorted({(f"n{rng.randrange(60)}", f"n{rng.randrange(60)}") for _ in range(120)})
    edges = [(a, b) for a, b in edges if a != b]
    check(layered_layout(nodes, edges), nodes, edges)


def test_empty_and_isolated() -> None:
    assert layered_layout([], []).boxes == {}
    layout = layered_layout([("a", 8, 3), ("b", 8, 3)], [])
    check(layout, [("a", 8, 3), ("b", 8, 3)], [])
