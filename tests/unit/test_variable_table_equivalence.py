"""VariableTable finds optimizer and EMA updates from the updating ops' inputs, and op types from
the index's op list, instead of walking every variable's consumers and decoding nodes (a 26,000-
node graph took 0.45 s in ``graphtui restore``'s plan). The table must stay exactly what the
consumer walk gave: here the walk (the code this replaced) is the oracle, on every meta graph
fixture and every graph of ``../shared/realworld`` (skipped when absent)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from graphtui.core.collections import CollectionTable, _mentions, _strip
from graphtui.core.graph import GraphIndex
from graphtui.core.variables import (
    VariableTable,
    op_of,
    resolve_variable,
    restorable_variables,
)
from graphtui.core.workspace import open_workspace

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "data"
REALWORLD = ROOT.parent / "shared" / "realworld"
_PASS_THROUGH = frozenset({"Identity", "ReadVariableOp", "Snapshot", "StopGradient"})
_APPLY_OP = re.compile(r"^(Resource)?(Sparse)?Apply[A-Z]")
_EMA_UPDATE_OPS = frozenset({"AssignSub", "AssignSubVariableOp"})


def _graphs(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and (p.name.endswith((".meta", ".meta.txt")) or p.name == "saved_model.pb")
    )


CASES = [pytest.param(p, id=str(p.relative_to(ROOT))) for p in _graphs(FIXTURES)] + [
    pytest.param(p, id="realworld/" + str(p.relative_to(REALWORLD))) for p in _graphs(REALWORLD)
]


def _uses(index: GraphIndex, node: str) -> list[tuple[str, int]]:
    """The replaced walk: (op, input index) of the ops reading ``node``, directly or through
    one read op."""
    out = []
    for ref in index.consumers(node):
        if ref.control:
            continue
        op = index.op(ref.node)
        out.append((op, ref.input_index))
        if op in _PASS_THROUGH:
            out.extend(
                (index.op(r.node), r.input_index)
                for r in index.consumers(ref.node)
                if not r.control
            )
    return out


class WalkedTable(VariableTable):
    """The table with updates found by walking every node's consumers."""

    def _updates(self) -> tuple[set[str], set[str]]:
        applied, averaged = set(), set()
        for node in self.index:
            uses = _uses(self.index, node)
            if any(_APPLY_OP.match(op) and slot > 0 for op, slot in uses):
                applied.add(node)
            if any(op in _EMA_UPDATE_OPS and slot == 0 for op, slot in uses):
                averaged.add(node)
        return applied, averaged


def _index(path: Path) -> GraphIndex:
    target = path.parent if path.name == "saved_model.pb" else path
    try:
        graph = open_workspace(str(target)).graph
    except Exception as exc:  # noqa: BLE001 - other tests judge what does not open
        pytest.skip(f"does not open: {exc}")
    if graph is None or not len(graph):
        pytest.skip("no graph nodes")
    return graph


@pytest.mark.skipif(not CASES, reason="no graphs found")
@pytest.mark.parametrize("path", CASES)
def test_table_equals_the_consumer_walk(path: Path) -> None:
    index = _index(path)
    fast = VariableTable(index)
    walked = WalkedTable(index)
    names = set(index)
    assert {n for n in fast._updates()[0] if n in names} == walked._updates()[0]
    assert {n for n in fast._updates()[1] if n in names} == walked._updates()[1]
    assert fast.variables() == walked.variables()
    for node in index:  # op types come from the op list: the decoded node's, always
        assert op_of(index, node) == index.op(node)
    assert op_of(index, "no such node/at all") is None


def _fixture_index(rel: str) -> GraphIndex:
    return GraphIndex.from_file(FIXTURES / rel)


def test_roles_in_a_training_graph() -> None:
    """The fixture trained with Adam: slots found from ApplyAdam's inputs, Adam's powers as
    optimizer state (the oracle above compares everything; this says the case is covered)."""
    table = VariableTable.of(_fixture_index("train/model.ckpt-50.meta"))
    roles = {v.name: v.role for v in table.variables()}
    assert "slot" in roles.values() and "model" in roles.values()
    slots = [v for v in table.variables() if v.role == "slot"]
    assert all(v.slot_of in roles for v in slots)


def test_resolve_variable_without_such_node() -> None:
    index = _fixture_index("train/model.ckpt-50.meta")
    assert resolve_variable(index, "nowhere:0") is None


def _walked_collections(index: GraphIndex) -> dict[str, list[str]]:
    """The replaced ``collections_of`` map: every item of every collection, in key order, each
    name it mentions stripped of its port, a key added once per node."""
    by_node: dict[str, list[str]] = {}
    for coll in CollectionTable.of(index):  # decoded whole, in key order
        for item in coll.items:
            for name in _mentions(item):
                keys = by_node.setdefault(_strip(name), [])
                if not keys or keys[-1] != coll.key:
                    keys.append(coll.key)
    return by_node


@pytest.mark.skipif(not CASES, reason="no graphs found")
@pytest.mark.parametrize("path", CASES)
def test_collections_of_equals_the_item_walk(path: Path) -> None:
    """``collections_of`` builds its map with a bit per key and set operations (the 26,000-node
    restore graph: one pass per name instead of a tuple grown per mention)."""
    index = _index(path)
    walked = _walked_collections(index)
    table = CollectionTable.of(index)
    for name, keys in walked.items():
        assert table.collections_of(name) == keys, name
        assert table.keys_of(name) == tuple(keys)
    for node in index:
        assert table.collections_of(node) == walked.get(node, [])
    assert table.keys_of("no such node/at all") == ()


@pytest.mark.skipif(not CASES, reason="no graphs found")
@pytest.mark.parametrize("path", CASES)
def test_restorable_variables_equal_the_table(path: Path) -> None:
    """What ``restore`` binds, found without the whole table: the table's variables that the
    ``variables`` / ``local_variables`` collections mention or the saver writes (the filter
    ``plan_restore`` applied to the table before), field for field."""
    index = _index(path)
    want = {
        v.name: v
        for v in VariableTable(index).variables()
        if "variables" in v.collections or "local_variables" in v.collections or v.key_from_saver
    }
    got = restorable_variables(index)
    assert sorted(got) == sorted(want)
    for name, var in got.items():
        full = want[name]
        assert (var.name, var.dtype, var.shape, var.save_slice, var.initial_value) == (
            full.name,
            full.dtype,
            full.shape,
            full.save_slice,
            full.initial_value,
        ), name
