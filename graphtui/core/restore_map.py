"""Assignment maps of ``restore`` (``tf.compat.v1.train.init_from_checkpoint``'s ``assignment_map``:
checkpoint side -> graph side), kept apart from :mod:`graphtui.core.restore` so that reading
one (the command line parses ``--map`` first) does not load the graph code."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from graphtui.errors import CoreError

AssignmentMap = Mapping[str, str] | Sequence[tuple[str, str]]


def parse_map(specs: Sequence[str]) -> list[tuple[str, str]]:
    """``CKPT=GRAPH`` strings (the CLI's ``--map``) to an assignment map: a list of pairs, so
    one checkpoint tensor can be given to several variables, as TF's list form allows."""
    amap: list[tuple[str, str]] = []
    for spec in specs:
        ckpt, sep, graph = spec.partition("=")
        if not sep or not ckpt or not graph:
            raise CoreError(f"--map takes CKPT_SCOPE=GRAPH_SCOPE, got {spec!r}")
        amap.append((ckpt, graph))
    return amap


def map_pairs(amap: AssignmentMap) -> list[tuple[str, str]]:
    """The map's ``(checkpoint, graph)`` pairs in TF's order: sorted by checkpoint name
    (stable, so pairs with one checkpoint name keep their order)."""
    pairs = list(amap.items()) if isinstance(amap, Mapping) else [tuple(p) for p in amap]
    return sorted(((str(c), str(g)) for c, g in pairs), key=lambda pair: pair[0])


def reachable(names: Sequence[str], amap: AssignmentMap) -> list[str]:
    """The tensors of ``names`` the map's checkpoint side can give a variable (all of them
    for ``'/'``, those under a ``'scope/'``, one named one to one): the most a restore takes."""
    sides = {ckpt for ckpt, _ in map_pairs(amap)}
    if "/" in sides:
        return list(names)
    scopes = tuple(s for s in sides if s.endswith("/"))
    return [n for n in names if n in sides or n.startswith(scopes)]
