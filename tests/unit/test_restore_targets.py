"""The check after every write finds which variable each output of a ``RestoreV2`` op is assigned
to. It used to walk the restore op's consumers breadth-first (which needs the consumer index of
the whole graph: 0.1-0.2 s of ``graphtui restore`` on a 26,000-node graph); it now walks back
from the graph's Assign ops. The walk it replaced is the oracle here: on every graph of the
fixtures and of ``../shared/realworld`` (skipped when absent), and on random graphs made of the
ops that matter (several Assigns per output, Identity/Reshape chains up to and past the depth
limit, control inputs, other ports, resource and ref variables)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from graphtui._proto import pb
from graphtui.core.graph import GraphIndex
from graphtui.core.saver_upgrade import needs_upgrade, with_v2_saver
from graphtui.core.variables import node_dtype_shape, resolve_variable
from graphtui.core.write_check import _restore_targets, _Target
from tests.unit.test_variable_table_equivalence import CASES, ROOT, _index

_ASSIGN_OPS = frozenset({"Assign", "AssignVariableOp"})
_PASS = frozenset({"Identity", "Reshape"})


def walked_targets(index: GraphIndex, op: str) -> dict[int, _Target]:
    """The replaced code: breadth-first over the consumers of each output port."""
    out: dict[int, _Target] = {}
    for first in index.consumers(op):
        if first.control or first.port in out:
            continue
        frontier = [first]
        for _ in range(8):
            nxt = []
            for c in frontier:
                kind = index.op(c.node)
                if kind in _ASSIGN_OPS and c.input_index == 1:
                    var = resolve_variable(index, str(index.inputs(c.node)[0]))
                    if var is not None:
                        out[first.port] = _Target(var, *node_dtype_shape(index, var))
                        break
                elif kind in _PASS:
                    nxt += [d for d in index.consumers(c.node) if not d.control and d.port == 0]
            else:
                frontier = nxt
                continue
            break
    return out


def _same(index: GraphIndex) -> int:
    ops = index.nodes_with_op("RestoreV2")
    found = _restore_targets(index, set(ops))
    for op in ops:
        assert found[op] == walked_targets(index, op), op
    return sum(len(t) for t in found.values())


@pytest.mark.skipif(not CASES, reason="no graphs found")
@pytest.mark.parametrize("path", CASES)
def test_targets_equal_the_consumer_walk(path: Path) -> None:
    _same(_index(path))


def _random_graph(seed: int) -> GraphIndex:
    """Restore ops, variables, and Assign / Identity / Reshape / ReadVariableOp / Const nodes
    wired at random to earlier (and a few later) nodes, ports 0-2, some control inputs."""
    rng = random.Random(seed)
    graph = pb.GraphDef()
    names: list[str] = []

    def add(op: str, inputs: list[str]) -> str:
        node = graph.node.add(name=f"n{len(graph.node)}_{op}", op=op, input=inputs)
        if op in ("VariableV2", "VarHandleOp"):
            node.attr["dtype"].type = 1
            node.attr["shape"].shape.dim.add().size = rng.randint(1, 4)
        names.append(node.name)
        return node.name

    def ref(pool: list[str]) -> str:
        name = rng.choice(pool)
        roll = rng.random()
        if roll < 0.08:
            return "^" + name
        if roll < 0.3:
            return f"{name}:{rng.randint(1, 2)}"
        return name

    restores = [add("RestoreV2", []) for _ in range(rng.randint(1, 2))]
    for _ in range(rng.randint(1, 4)):
        add(rng.choice(["VariableV2", "VarHandleOp"]), [])
    for _ in range(rng.randint(5, 40)):
        op = rng.choice(
            [
                "Assign",
                "AssignVariableOp",
                "Identity",
                "Identity",
                "Reshape",
                "ReadVariableOp",
                "Const",
            ]
        )
        pool = names if rng.random() < 0.7 else restores
        inputs = [
            ref(pool) for _ in range({"Const": 0, "Identity": 1, "ReadVariableOp": 1}.get(op, 2))
        ]
        inputs += ["^" + rng.choice(names) for _ in range(rng.random() < 0.2)]
        add(op, inputs)
    for node in graph.node:  # a few inputs from later nodes (cycles through Identity)
        if node.op == "Identity" and rng.random() < 0.1:
            node.input[0] = rng.choice(names)
    return GraphIndex(graph)


def test_targets_equal_the_consumer_walk_on_random_graphs() -> None:
    found = sum(_same(_random_graph(seed)) for seed in range(600))
    assert found > 100  # the cases do assign restore outputs to variables


def _chain(steps: int) -> GraphIndex:
    """RestoreV2 -> ``steps`` Identity ops -> Assign(v, ...)."""
    graph = pb.GraphDef()
    graph.node.add(name="restore", op="RestoreV2")
    v = graph.node.add(name="v", op="VariableV2")
    v.attr["dtype"].type = 1
    last = "restore:1"
    for i in range(steps):
        graph.node.add(name=f"id{i}", op="Identity", input=[last])
        last = f"id{i}"
    graph.node.add(name="assign", op="Assign", input=["v", last])
    return GraphIndex(graph)


@pytest.mark.parametrize("steps", [0, 1, 7, 8])
def test_depth_limit(steps: int) -> None:
    """An Assign up to seven Identity ops from the restore op is its target; eight is too far."""
    index = _chain(steps)
    got = _restore_targets(index, {"restore"})["restore"]
    assert (got == {1: _Target("v", "float32", None)}) == (steps <= 7)
    assert got == walked_targets(index, "restore")


def test_nearer_assign_wins_over_an_earlier_deeper_one() -> None:
    """Breadth first: an Assign one step from the restore output's reader beats one two steps
    away even when the deeper one's nodes come first in the graph."""
    graph = pb.GraphDef()
    graph.node.add(name="restore", op="RestoreV2")
    for name in ("far", "near"):
        graph.node.add(name=name, op="VariableV2").attr["dtype"].type = 1
    graph.node.add(name="x", op="Identity", input=["restore"])
    graph.node.add(name="y", op="Identity", input=["x"])
    graph.node.add(name="assign_far", op="Assign", input=["far", "y"])
    graph.node.add(name="assign_near", op="Assign", input=["near", "x"])
    index = GraphIndex(graph)
    assert _restore_targets(index, {"restore"})["restore"] == {0: _Target("near", "float32", None)}
    assert walked_targets(index, "restore") == {0: _Target("near", "float32", None)}


@pytest.mark.skipif(not CASES, reason="no graphs found")
@pytest.mark.parametrize("path", CASES)
def test_needs_upgrade_from_the_index_as_from_the_nodes(path: Path) -> None:
    """Writes ask whether the saver needs rewriting from the index's op list (no walk over
    every node message): the same answer as the walk."""
    index = _index(path)
    if not index.has_meta_graph:
        pytest.skip("a bare GraphDef")
    graph = index.meta_graph
    assert needs_upgrade(graph, index) == needs_upgrade(graph)
    upgraded, _ = with_v2_saver(graph, index) if needs_upgrade(graph) else (graph, [])
    assert not needs_upgrade(upgraded, GraphIndex(upgraded))


def test_needs_upgrade_sees_v1_ops_through_the_index() -> None:
    """A SaverDef that says V2 over V1 ops, and no SaverDef at all (the scope found from the
    save op): both need the rewrite, asked through the index or through the nodes."""
    graph = GraphIndex.from_file(ROOT / "tests/fixtures/data/v1/model.ckpt-2.meta").meta_graph
    graph.saver_def.version = 2
    for _ in range(2):
        index = GraphIndex(graph)
        assert needs_upgrade(graph, index) and needs_upgrade(graph)
        graph.ClearField("saver_def")
