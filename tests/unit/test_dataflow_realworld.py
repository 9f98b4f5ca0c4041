"""Other people's graphs as the judge of the dataflow view: every ``.meta`` file and SavedModel
of ``../shared/realworld`` (TF 0.7 to 2.15) opened as the app opens it, then its overview, the
busiest node's neighbourhood, a path and every library function's body selected, laid out
(boxes apart, every edge routed from border to border) and written as DOT that pydot parses.
Skips when the folder is absent."""

from __future__ import annotations

from pathlib import Path

import pydot
import pytest

from graphtui.core import dataflow as df
from graphtui.core.diagram import box_size, draw, lay_out
from graphtui.core.dot import to_dot
from graphtui.core.workspace import open_workspace
from tests.unit.test_layout import check

REALWORLD = Path(__file__).resolve().parents[2].parent / "shared" / "realworld"
GRAPHS = (
    sorted(
        p
        for p in REALWORLD.rglob("*")
        if p.is_file()
        and (p.suffix == ".meta" or p.name in ("saved_model.pb", "saved_model.pbtxt"))
    )
    if REALWORLD.is_dir()
    else []
)
pytestmark = [
    pytest.mark.filterwarnings("ignore:.*deprecated:DeprecationWarning"),  # pydot, pyparsing 3
    pytest.mark.skipif(not GRAPHS, reason=f"{REALWORLD}: the real-world sets are not here"),
]


def check_view(view: df.View, *, parse: bool = False) -> None:
    layout = lay_out(view)
    nodes = [(k, *box_size(item)) for k, item in view.items.items()]
    check(layout, nodes, [(link.src, link.dst) for link in view.links])
    text = draw(view, layout).text()
    assert len(text.splitlines()) <= layout.height
    dot = to_dot(view)
    assert dot.count(" -> ") == len(view.links)
    if parse:  # pydot (pyparsing) is slow: once per graph
        parsed = pydot.graph_from_dot_data(dot)
        assert parsed and len(parsed[0].get_edges()) == len(view.links)


@pytest.mark.parametrize("path", GRAPHS, ids=lambda p: str(p.relative_to(REALWORLD)))
def test_real_graph_views(path: Path) -> None:
    target = path.parent if path.name.startswith("saved_model.") else path
    try:
        ws = open_workspace(str(target))
    except Exception as exc:  # noqa: BLE001 - other suites judge what does not open
        pytest.skip(f"does not open: {exc}")
    try:
        graph = ws.graph
        if graph is None or not len(graph):
            pytest.skip("no graph nodes")
        check_view(df.scope_view(graph, ""), parse=True)
        busiest = max(graph.names, key=lambda n: len(graph.inputs(n)) + len(graph.consumers(n)))
        check_view(df.around(graph, busiest, 2))
        up = df.upstream(graph, busiest)
        if up:
            result = df.paths(graph, up[-1], busiest)
            assert result.shortest[0] == up[-1] and result.shortest[-1] == busiest
            check_view(result.view)
        for info in graph.functions()[:8]:
            body = graph.function_graph(info.name)
            check_view(df.whole(body) if len(body) <= 60 else df.scope_view(body, ""))
    finally:
        ws.close()
