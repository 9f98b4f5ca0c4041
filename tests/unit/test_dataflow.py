"""Selections of the dataflow view (graphtui.core.dataflow) checked against brute force over
GraphIndex.inputs, on hand-made graphs, the demo, the train fixture (v1 and v2 while loops) and
the 50,000-node benchmark graph; plus the drawing (graphtui.core.diagram)."""

from __future__ import annotations

from collections import Counter, deque
from pathlib import Path

import pytest

from graphtui._proto import pb
from graphtui.core import dataflow as df
from graphtui.core.diagram import draw, lay_out, render_text
from graphtui.core.graph import GraphIndex
from graphtui.core.scopes import ScopeTree

DATA = Path(__file__).resolve().parents[1] / "fixtures" / "data"
TRAIN_META = DATA / "train" / "model.ckpt-50.meta"


def graph(*nodes: tuple[str, str, list[str]]) -> GraphIndex:
    g = pb.GraphDef()
    for name, op, inputs in nodes:
        g.node.add(name=name, op=op, input=inputs)
    return GraphIndex(g)


@pytest.fixture(scope="module")
def demo() -> GraphIndex:
    from graphtui.demo import demo_path

    return GraphIndex.from_file(Path(demo_path()) / "model.ckpt-300.meta")


@pytest.fixture(scope="module")
def train() -> GraphIndex:
    return GraphIndex.from_file(TRAIN_META)


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> GraphIndex:
    from bench.tui_bench import build

    meta, _, _ = build(tmp_path_factory.mktemp("big"))
    return GraphIndex.from_file(meta)


def brute_reach(index: GraphIndex, start: str, up: bool) -> set[str]:
    seen = {start}
    queue = deque([start])
    while queue:
        name = queue.popleft()
        near = (
            [r.node for r in index.inputs(name)] if up else [c.node for c in index.consumers(name)]
        )
        for other in near:
            if other in index and other not in seen:
                seen.add(other)
                queue.append(other)
    return seen - {start}


# -- around --------------------------------------------------------------------------------------


def test_around_depth_one_is_inputs_and_consumers(demo: GraphIndex) -> None:
    center = "mnist_like/conv2/Conv2D"
    view = df.around(demo, center, 1)
    expected = (
        {center} | {r.node for r in demo.inputs(center)} | {c.node for c in demo.consumers(center)}
    )
    assert set(view.items) == expected
    assert view.focus == center
    assert {(link.src, link.dst) for link in view.links} >= {
        (r.node, center) for r in demo.inputs(center)
    }


def test_around_depth_two_and_fanout() -> None:
    nodes = [("x", "Placeholder", []), ("hub", "Relu", ["x"])]
    nodes += [(f"c{i}", "Neg", ["hub"]) for i in range(20)]
    nodes += [("c0/deeper", "Neg", ["c0"])]
    g = graph(*nodes)
    view = df.around(g, "hub", 2, fanout=8)
    shown = [k for k in view.items if k.startswith("c")]
    assert shown == [f"c{i}" for i in range(8)] + ["c0/deeper"]
    more = view.items["more:down:hub"]
    assert (more.kind, more.hidden, more.title) == ("more", 12, "+12 more")
    assert df.Link("hub", "more:down:hub", False, 12) in view.links
    opened = df.around(g, "hub", 1, fanout=8, expanded={"more:down:hub"})
    assert {f"c{i}" for i in range(20)} <= set(opened.items)
    assert not any(i.kind == "more" for i in opened.items.values())
    assert set(df.around(g, "hub", 0).items) == {"hub"}


def test_around_control_edges_and_parallel_edges() -> None:
    g = graph(
        ("a", "Const", []),
        ("b", "NoOp", []),
        ("c", "AddV2", ["a", "a", "^b"]),
    )
    view = df.around(g, "c", 1)
    assert sorted(view.links, key=lambda link: link.src) == [
        df.Link("a", "c", False, 2),
        df.Link("b", "c", True, 1),
    ]
    hidden = df.around(g, "c", 1, control=False)
    assert set(hidden.items) == {"a", "c"}


def test_item_kinds_and_output_shapes(demo: GraphIndex) -> None:
    assert df.node_item(demo, "mnist_like/conv2/weights").kind == "variable"
    assert df.node_item(demo, "mnist_like/conv2/weights").info == "f32[3,3,8,16]"
    conv = df.node_item(demo, "mnist_like/conv2/Conv2D")
    assert (conv.kind, conv.op, conv.info) == ("op", "Conv2D", "f32[?,4,4,16]")
    kinds = Counter(df.node_item(demo, n).kind for n in demo.names)
    assert kinds["placeholder"] >= 1 and kinds["const"] > 10 and kinds["variable"] >= 8


def test_around_a_v1_while_loop_has_its_cycle(train: GraphIndex) -> None:
    view = df.around(train, "loops/v1_while/Merge", 3)
    pairs = {(link.src, link.dst) for link in view.links}
    assert ("loops/v1_while/NextIteration", "loops/v1_while/Merge") in pairs
    layout = lay_out(view)
    assert any(r.reversed for r in layout.routes)  # the back edge is drawn upwards
    text = draw(view, layout).text()
    assert "▲" in text and "Merge" in text


def test_function_body_as_a_graph(train: GraphIndex) -> None:
    body = train.function_graph("loops_v2_while_body_147")
    assert body is train.function_graph("loops_v2_while_body_147")  # built once
    view = df.scope_view(body, "")
    assert view.items["placeholder"].kind == "placeholder"  # an _Arg
    assert df.Link("placeholder", "add_0", False, 1) in view.links


# -- scopes -------------------------------------------------------------------------------------


def brute_scope_links(index: GraphIndex, scope: str) -> Counter[tuple[str, str, bool]]:
    """Edge counts between the groups of a scope view, computed the slow way."""
    tree = ScopeTree.of(index)
    children = {e.path for e in tree.children(scope)}
    prefix = scope + "/" if scope else ""

    def group(name: str) -> str:
        if name == scope:
            return name
        if name.startswith(prefix):
            head = prefix + name[len(prefix) :].split("/")[0]
            if head in children:
                return head
        return "stub:" + df.outside_scope(name, scope)

    counts: Counter[tuple[str, str, bool]] = Counter()
    for name in index.names:
        for ref in index.inputs(name):
            if ref.node not in index:
                continue
            a, b = group(ref.node), group(name)
            if a != b and not (a.startswith("stub:") and b.startswith("stub:")):
                counts[(a, b, ref.control)] += 1
    return counts


def view_counts(view: df.View) -> dict[tuple[str, str], int]:
    return {(link.src, link.dst): link.count for link in view.links}


@pytest.mark.parametrize("scope", ["", "mnist_like", "mnist_like/conv2", "train"])
def test_scope_view_aggregates_every_edge(demo: GraphIndex, scope: str) -> None:
    view = df.scope_view(demo, scope, limit=1000)
    brute = brute_scope_links(demo, scope)
    if any(k.kind == "stub" and k.key == "stub:*" for k in view.items.values()):
        pytest.skip("stubs merged")
    expected: dict[tuple[str, str], int] = {}
    for (a, b, ctl), n in brute.items():
        if not ctl:
            expected[(a, b)] = n
    for (a, b, ctl), n in brute.items():
        if ctl and (a, b) not in expected:
            expected[(a, b)] = n
    assert view_counts(view) == expected
    tree = ScopeTree.of(demo)
    for entry in tree.children(scope):
        item = view.items[entry.path]
        assert item.kind == ("scope" if entry.is_scope else df.node_kind(entry.op or ""))
        if entry.is_scope:
            assert item.info.startswith(f"{entry.node_count:,} nodes")


def test_scope_view_params_and_stubs(demo: GraphIndex) -> None:
    view = df.scope_view(demo, "mnist_like")
    conv2 = view.items["mnist_like/conv2"]
    # 3*3*8*16 + 16: the model's variables, not their Adam slots (as the graph tree counts)
    assert conv2.info == "37 nodes · 1.2k params"
    stubs = {k for k, i in view.items.items() if i.kind == "stub"}
    assert "stub:input" in stubs and "stub:train" in stubs


def test_scope_view_caps_children_and_stubs() -> None:
    nodes = [("src", "Placeholder", [])]
    nodes += [(f"wide/n{i}", "Neg", ["src"]) for i in range(100)]
    nodes += [(f"out{i}/x", "Neg", [f"wide/n{i}"]) for i in range(30)]
    g = graph(*nodes)
    view = df.scope_view(g, "wide", limit=10)
    more = view.items["more:scope:wide"]
    assert more.hidden == 90
    assert view_counts(view)[("stub:src", "more:scope:wide")] == 90
    stubs = [i for i in view.items.values() if i.kind == "stub"]
    assert len(stubs) == df.STUB_LIMIT
    folded = view.items["stub:*"]
    assert folded.hidden == 31 - (df.STUB_LIMIT - 1)
    assert sum(link.count for link in view.links if link.dst.startswith("stub:")) == 30


def test_collapse_folds_other_scopes(demo: GraphIndex) -> None:
    view = df.collapse(demo, df.around(demo, "mnist_like/conv2/Conv2D", 2), "mnist_like/conv2")
    assert "mnist_like/conv1" in view.items and view.items["mnist_like/conv1"].kind == "scope"
    assert "mnist_like/conv2/BiasAdd" in view.items
    assert not any(k.startswith("mnist_like/conv1/") for k in view.items)


def test_select_matches_the_cli_modes(demo: GraphIndex) -> None:
    assert df.select(demo).kind == "graph"
    assert len(df.select(demo).items) == len(demo)
    assert df.select(demo, collapsed=True).title.startswith("overview")
    assert set(df.select(demo, scope="loss").items) == {"loss", "loss/tags"}  # the node too


def test_unknown_names_raise(demo: GraphIndex) -> None:
    from graphtui.errors import NotFoundError

    with pytest.raises(NotFoundError, match="no node named 'nope'"):
        df.around(demo, "nope")
    with pytest.raises(NotFoundError, match="no scope named 'nope'"):
        df.scope_view(demo, "nope")


def test_outside_scope_names() -> None:
    assert df.outside_scope("model/block_2/layer_9/Relu", "model/block_3") == "model/block_2"
    assert df.outside_scope("input", "model/block_3") == "input"
    assert df.outside_scope("model", "model/block_3") == "model"
    assert df.outside_scope("a/b", "") == "a"


# -- paths, upstream, downstream -----------------------------------------------------------------


def diamond() -> GraphIndex:
    return graph(
        ("a", "Placeholder", []),
        ("b", "Neg", ["a"]),
        ("c", "Neg", ["a"]),
        ("d", "Neg", ["c"]),
        ("e", "AddV2", ["b", "d"]),
        ("side", "Neg", ["a"]),
        ("f", "Neg", ["e", "^side"]),
    )


def test_paths_between_two_nodes() -> None:
    g = diamond()
    result = df.paths(g, "a", "e")
    assert result.total == 5  # a b c d e
    assert result.shortest == ["a", "b", "e"]
    assert set(result.view.items) == {"a", "b", "c", "d", "e"}
    assert result.view.path == ["a", "b", "e"]
    backwards = df.paths(g, "e", "a")  # only a -> e connects: the same answer
    assert (backwards.src, backwards.dst, backwards.total) == ("a", "e", 5)
    assert df.paths(g, "b", "c").total == 0
    capped = df.paths(g, "a", "f", limit=3)
    assert capped.total == 7 and set(capped.view.items) == {"a", "side", "f"}
    assert capped.shortest == ["a", "side", "f"]
    no_control = df.paths(g, "a", "f", control=False)
    assert no_control.shortest == ["a", "b", "e", "f"]


def test_upstream_downstream_match_brute_force(demo: GraphIndex) -> None:
    for name in ("mnist_like/logits/BiasAdd", "input/images", "train/Adam"):
        up = df.upstream(demo, name)
        assert set(up) == brute_reach(demo, name, up=True)
        down = df.downstream(demo, name)
        assert set(down) == brute_reach(demo, name, up=False)
    assert df.upstream(diamond(), "e") == ["b", "d", "a", "c"]


# -- the 50,000-node graph -------------------------------------------------------------------


def test_big_graph_overview_and_scopes(big: GraphIndex) -> None:
    root = df.scope_view(big, "")
    assert {"model", "gradients", "wide", "input"} <= set(root.items)
    counts = view_counts(root)
    assert counts[("model", "gradients")] == 400 * 94
    assert counts[("input", "model")] == 1
    block = df.scope_view(big, "model/block_3")
    assert view_counts(block)[("model/block_3/layer_0", "model/block_3/layer_1")] == 1
    assert view_counts(block)[("stub:model/block_2", "model/block_3/layer_0")] == 1
    wide = df.scope_view(big, "wide")
    assert wide.items["more:scope:wide"].hidden == 5000 - df.SCOPE_LIMIT
    view = df.around(big, "model/block_0/layer_0/Relu", 2)
    assert view.items["more:down:model/block_0/layer_0/Relu"].hidden == 95 - df.FANOUT
    text = render_text(view)
    assert "+87 more" in text


def test_big_graph_paths(big: GraphIndex) -> None:
    result = df.paths(big, "input", "model/block_1/layer_0/Relu")
    assert result.shortest[0] == "input" and result.shortest[-1] == "model/block_1/layer_0/Relu"
    assert len(result.shortest) == 3 * 11 + 1  # MatMul, BiasAdd, Relu per layer
    assert len(result.view.items) <= df.PATH_LIMIT
    # per layer: MatMul, BiasAdd, kernel, kernel/read, bias, bias/read (+ layer_0's Relu),
    # and the input; initializers feed Assign, not the forward pass
    up = df.upstream(big, "model/block_0/layer_1/Relu")
    assert len(up) == 6 + 7 + 1 and up[-1] in ("input", "model/block_0/layer_0/kernel")


def test_drawing_marks_kinds_and_counts(demo: GraphIndex) -> None:
    text = render_text(df.scope_view(demo, ""))
    assert "▸ mnist_like/" in text and "┍" in text  # a scope box
    assert "×" in text  # aggregated edges carry their count
    text = render_text(df.around(demo, "mnist_like/conv2/Conv2D", 1))
    assert "Conv2D f32[?,4,4,16]" in text
    assert "▼" in text
