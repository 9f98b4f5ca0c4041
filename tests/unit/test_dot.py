"""Graphviz DOT export (graphtui.core.dot and ``graphtui dot``), parsed back by pydot (a
Graphviz DOT parser) and, when Debian's graphviz is installed, by ``dot`` itself."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pydot
import pytest

from graphtui._proto import pb
from graphtui.cli import main
from graphtui.core import dataflow as df
from graphtui.core.dot import quote, to_dot
from graphtui.core.graph import GraphIndex

DATA = Path(__file__).resolve().parents[1] / "fixtures" / "data"
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*deprecated:DeprecationWarning"
)  # pydot on pyparsing 3


def demo_dir() -> str:
    from graphtui.demo import demo_path

    return str(demo_path())


def parse(text: str) -> pydot.Dot:
    graphs = pydot.graph_from_dot_data(text)
    assert graphs and len(graphs) == 1, text[:500]
    return graphs[0]


def unquote(name: str) -> str:
    assert name.startswith('"') and name.endswith('"'), name
    return name[1:-1].replace('\\"', '"').replace("\\\\", "\\")


def check_round_trip(view: df.View, text: str) -> pydot.Dot:
    dot = parse(text)
    declared = [
        unquote(n.get_name())
        for n in dot.get_nodes()
        if n.get_name() not in ("node", "graph", "edge")
    ]
    assert len(declared) == len(set(declared)), "a node declared twice"
    assert len(declared) == len(view.items)
    edges = [(unquote(e.get_source()), unquote(e.get_destination())) for e in dot.get_edges()]
    assert len(edges) == len(view.links)
    assert {n for e in edges for n in e} <= set(declared)  # edges only between declared names
    # one declaration per line, so grep finds a node and its edges
    lines = text.splitlines()
    for name in declared[:20]:
        q = quote(name)
        assert sum(line.strip().startswith(q + " [") for line in lines) == 1
    return dot


def test_around_view_parses(capsys: pytest.CaptureFixture[str]) -> None:
    center = "mnist_like/conv2/Conv2D"
    assert main(["dot", demo_dir(), "--around", center, "--depth", "2"]) == 0
    text = capsys.readouterr().out
    index = GraphIndex.from_file(Path(demo_dir()) / "model.ckpt-300.meta")
    dot = check_round_trip(df.around(index, center, 2), text)
    node = dot.get_node(quote(center))[0]
    assert node.get("label") == '"Conv2D\\nConv2D f32[?,4,4,16]"'
    assert node.get("shape") == "box"
    kernel = dot.get_node(quote("mnist_like/conv2/weights"))
    assert kernel and kernel[0].get("style") == "bold"  # variables stand out


def test_collapsed_scope_has_counts_and_dashed_control(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dot", demo_dir(), "--collapse"]) == 0
    text = capsys.readouterr().out
    index = GraphIndex.from_file(Path(demo_dir()) / "model.ckpt-300.meta")
    dot = check_round_trip(df.scope_view(index, ""), text)
    labels = [e.get("label") for e in dot.get_edges() if e.get("label")]
    assert any(re.fullmatch(r'"×\d+"', lab) for lab in labels)
    assert any(e.get("style") == "dashed" for e in dot.get_edges())
    assert dot.get_node('"mnist_like"')[0].get("shape") == "box3d"


def test_scope_uncollapsed_and_function_and_out_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["dot", demo_dir(), "--scope", "mnist_like/conv2", "--no-control"]) == 0
    text = capsys.readouterr().out
    dot = parse(text)
    assert not any(e.get("style") == "dashed" for e in dot.get_edges())
    out = tmp_path / "body.dot"
    meta = str(DATA / "train" / "model.ckpt-50.meta")
    assert (
        main(
            ["dot", meta, "--function", "loops_v2_while_body_147", "--collapse", "--out", str(out)]
        )
        == 0
    )
    assert capsys.readouterr().out == ""
    body = parse(out.read_text())
    assert body.get_node('"add_0"') and body.get_node('"placeholder"')


def test_bad_requests_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dot", demo_dir(), "--around", "nope"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no node named 'nope'" in err
    assert main(["dot", demo_dir(), "--scope", "nope", "--collapse"]) == 1
    assert "no scope named 'nope'" in capsys.readouterr().err
    assert main(["dot", str(DATA / "dtypes" / "model.ckpt")]) == 1
    assert "no graph" in capsys.readouterr().err


def test_awkward_names_are_escaped() -> None:
    g = pb.GraphDef()
    g.node.add(name='we"ird\\name', op="Const")
    g.node.add(name="b", op="Neg", input=['we"ird\\name'])
    index = GraphIndex(g)
    text = to_dot(df.whole(index))
    dot = check_round_trip(df.whole(index), text)
    assert {unquote(e.get_source()) for e in dot.get_edges()} == {'we"ird\\name'}


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_graphviz_dot_accepts_it(tmp_path: Path) -> None:
    index = GraphIndex.from_file(Path(demo_dir()) / "model.ckpt-300.meta")
    for view in (df.scope_view(index, ""), df.around(index, "mnist_like/conv2/Conv2D", 2)):
        src = tmp_path / "g.dot"
        src.write_text(to_dot(view))
        done = subprocess.run(
            ["dot", "-Tplain", str(src)], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr
        assert sum(line.startswith("node ") for line in done.stdout.splitlines()) == len(view.items)
