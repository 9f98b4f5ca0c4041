"""Scope renames as functions over node names, tensor names (``x:0``), control inputs (``^x``)
and colocation entries (``loc:@x``)."""

from __future__ import annotations

from collections.abc import Iterable

from graphtui.errors import CoreError


class ScopeMap:
    """Ordered ``old -> new`` scope renames; each applies to the result of the previous one.

    ``old`` matches a whole name or a leading run of ``/``-separated components: ``a/b`` maps
    ``a/b`` and ``a/b/c`` but not ``a/bc``. A trailing ``/`` on either side is ignored. An empty
    (or ``/``) ``old`` is the root: every name gets ``new/`` in front, as
    ``import_meta_graph(import_scope=new)`` names them. An empty ``new`` moves ``old``'s
    contents to the root (``old/x`` -> ``x``).
    """

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self.pairs: list[tuple[str, str]] = []
        for old, new in pairs:
            old_s, new_s = old.strip().strip("/"), new.strip().strip("/")
            if not old_s and not new_s:
                raise CoreError("a rename needs a scope on at least one side of OLD=NEW")
            self.pairs.append((old_s, new_s))

    @classmethod
    def parse(cls, specs: Iterable[str]) -> ScopeMap:
        """From ``OLD=NEW`` strings (the CLI's ``--map``)."""
        pairs = []
        for spec in specs:
            old, sep, new = spec.partition("=")
            if not sep:
                raise CoreError(f"--map takes OLD=NEW, got {spec!r}")
            pairs.append((old, new))
        return cls(pairs)

    def __call__(self, name: str) -> str:
        for old, new in self.pairs:
            if not old:
                name = f"{new}/{name}"
            elif name == old:
                name = new
            elif name.startswith(old) and name[len(old)] == "/":
                name = new + name[len(old) :] if new else name[len(old) + 1 :]
        return name

    def matches(self, name: str) -> bool:
        return self(name) != name

    def tensor(self, ref: str) -> str:
        """Rename a tensor or input reference: ``x``, ``x:1``, ``^x``, ``loc:@x``."""
        if ref.startswith("^"):
            return "^" + self(ref[1:])
        if ref.startswith("loc:@"):
            return "loc:@" + self(ref[5:])
        node, colon, port = ref.rpartition(":")
        if colon and port.isdigit():
            return f"{self(node)}:{port}"
        return self(ref)


def node_of(ref: str) -> str:
    """The node name in ``x``, ``x:1``, ``^x`` or ``loc:@x``."""
    if ref.startswith("^"):
        ref = ref[1:]
    elif ref.startswith("loc:@"):
        ref = ref[5:]
    node, colon, port = ref.rpartition(":")
    return node if colon and port.isdigit() else ref
