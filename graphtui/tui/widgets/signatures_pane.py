"""The signatures pane (tab 7, SavedModels): signatures, the function library, the root's
concrete functions and assets.

The tree lists the chosen meta graph's signatures (inputs and outputs with dtype, shape and
tensor name in the details, inputs with a default value and the value), its functions, each
expanding into its body (argument, body and result nodes, built on first expansion), the
functions of a TF2 SavedModel's root object with their options (what each is callable with, as
``graphtui show`` and ``saved_model_cli show --all`` print it under "Concrete Functions:"; "N/A"
with the reason where the object graph does not list them), and its assets. A function's node
shows the same details as a graph node; its links stay inside the function, ``fn`` links go to
the functions a node calls. ``t`` switches to the next tag-set.

A root function's input signatures are decoded when it is shown or expanded (a root may hold
thousands: ~0.3 ms each). Whether every one decodes (else TensorFlow's loader refuses them all
and saved_model_cli prints N/A) is checked by a worker while the tab is shown ("checking" on the
branch; stopped when another tab is shown, resumed when it is shown again); a model with few
options is checked at once.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, OptionList, Tree
from textual.widgets.tree import TreeNode
from textual.worker import get_current_worker

from graphtui.core.workspace import Workspace
from graphtui.errors import GraphtuiError
from graphtui.formats.visible import visible
from graphtui.tui.fmt import human_bytes
from graphtui.tui.messages import (
    BackKey,
    FollowLink,
    NextTagSet,
    ProgressPane,
    ShowValue,
    progress_poster,
)
from graphtui.tui.widgets.lazy_tree import LazyTree
from graphtui.tui.widgets.node_details import (
    Line,
    describe,
    heading,
    highlight_first,
    link,
    link_of,
    plain,
    set_lines,
)

if TYPE_CHECKING:
    from graphtui.core.graph import FunctionInfo, GraphIndex
    from graphtui.core.savedmodel import Signature, TensorSpec
    from graphtui.core.savedmodel_functions import (
        CallableFunction,
        FunctionCatalog,
        FunctionListing,
    )

CLI_LINES_SHOWN = 500  # lines of a concrete function's text in the details, then "... N more"
EAGER_OPTIONS = 64  # a root with at most this many options is checked when the pane is built


@dataclass(frozen=True)
class SigItem:
    """One tree line: a branch (``signatures``, ``functions``, ``concretes``, ``assets``), a
    ``signature``, a ``function``, a node of a function body (``fnode``), a root function
    (``concrete``) or one of its options (``option``), an ``asset`` or a ``more`` line."""

    kind: str
    name: str = ""
    function: str = ""  # fnode, option: the function it belongs to
    index: int = 0  # option: its number (from 1, as saved_model_cli counts them)


def spec_text(spec: TensorSpec) -> Text:
    """``key: dtype (shape)`` of a signature input or output."""
    text = Text("  ")
    text.append(visible(spec.key), style="bold")
    text.append(visible(f"  {spec.dtype} {spec.shape_text}"))
    if spec.encoding == "coo_sparse":
        text.append("  sparse", style="italic")
    elif spec.encoding == "composite_tensor":
        text.append(visible(f"  composite {spec.type_spec}".rstrip()), style="italic")
    return text


def _spec_lines(spec: TensorSpec) -> list[Line]:
    lines = [Line(spec_text(spec))]
    if spec.name:
        lines.append(link("graph", spec.name, spec.name, "tensor"))
    for part, name in spec.components.items():
        lines.append(link("graph", name, name, part))
    return lines


def signature_lines(sig: Signature) -> list[Line]:
    """A signature: method name, then each input and output with dtype, shape and tensor."""
    lines = [Line(Text(visible(sig.key), style="bold"))]
    if sig.is_init_op:
        lines.append(plain("init op", "run once when the model loads (not callable)"))
    lines.append(plain("method", sig.method_name or "(none)"))
    lines.append(heading(f"Inputs ({len(sig.inputs)})"))
    for spec in sig.inputs:
        lines.extend(_spec_lines(spec))
    lines.append(heading(f"Outputs ({len(sig.outputs)})"))
    for spec in sig.outputs:
        lines.extend(_spec_lines(spec))
    if sig.defaults:
        lines.append(heading(f"Defaults ({len(sig.defaults)})"))
        lines.extend(plain(line) for line in sig.default_lines())
    return lines


def cli_lines(lines: list[str], limit: int = CLI_LINES_SHOWN) -> list[Line]:
    """Lines of ``graphtui show``'s text as it prints them, less the indent they all share (the
    pane is narrow), the first ``limit``."""
    indent = min((len(ln) - len(ln.lstrip(" ")) for ln in lines if ln.strip()), default=0)
    out = [Line(Text(visible(line[indent:]))) for line in lines[:limit]]
    if len(lines) > limit:
        out.append(plain(f"... {len(lines) - limit} more lines (graphtui show lists all)"))
    return out


def option_summary(function: CallableFunction, index: int) -> str:
    """``2 arguments, 1 keyword`` of option ``index`` (from 1)."""
    option = function.options[index - 1]
    if option.args is None and not option.kwargs:
        return "no input signature"
    args, kwargs = len(option.args or ()), len(option.kwargs)
    parts = [f"{args} argument" + ("" if args == 1 else "s")]
    if kwargs:
        parts.append(f"{kwargs} keyword" + ("" if kwargs == 1 else "s"))
    return ", ".join(parts)


def _default_signature(keys: list[str]) -> str | None:
    """The signature shown first: ``serving_default``, else the first callable one."""
    from graphtui.core.savedmodel import INIT_OP_SIGNATURE_KEY

    if "serving_default" in keys:
        return "serving_default"
    return next((k for k in keys if k != INIT_OP_SIGNATURE_KEY), None)


class SignaturesTree(BackKey, LazyTree[SigItem | None, SigItem]):
    """Signatures, functions (expanding into their nodes) and assets."""

    BINDINGS = [
        Binding("t", "next_tag_set", "Tag-set", id="next-tag-set"),
        Binding("backspace", "go_back", "Back", show=False, id="signatures-back"),
    ]
    PALETTE_ACTIONS = frozenset({"next_tag_set"})  # the palette may run it unfocused

    def action_next_tag_set(self) -> None:
        """Show the SavedModel's next tag-set (meta graph)."""
        self.post_message(NextTagSet())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # a SavedModel with one tag-set has nothing to switch to
        if action != "next_tag_set":
            return True
        return len(self.query_ancestor(SignaturesPane).ws.tag_sets) > 1

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("signatures", None, id=id)
        self.show_root = False
        self.guide_depth = 2
        self.auto_expand = True
        self.infos: dict[str, FunctionInfo] = {}  # the library's functions by name
        self.body: Callable[[str], GraphIndex] | None = None  # a function's body (the pane's)
        # the root's functions by name (a FunctionCatalog: each decoded when looked up)
        self.concretes: Mapping[str, CallableFunction] = {}
        self.option_count: Callable[[str], int] = lambda name: 0  # without decoding it
        self.decoded: Callable[[str], CallableFunction | None] = lambda name: None

    @property
    def current(self) -> SigItem | None:
        node = self.cursor_node
        return None if node is None else node.data

    def lazy_items(self, node: TreeNode[SigItem | None]) -> list[SigItem] | None:
        item = node.data
        if item is not None and item.kind == "concrete":
            return [
                SigItem("option", f"Option #{i}", item.name, i)
                for i in range(1, self.option_count(item.name) + 1)
            ]
        if item is None or item.kind != "function" or self.body is None:
            return None
        try:
            graph = self.body(item.name)
        except GraphtuiError as exc:
            node.add_leaf(Text(str(exc), style="red"))
            return []
        return [SigItem("fnode", n, item.name) for n in graph.names]

    def add_item(self, parent: TreeNode[SigItem | None], item: SigItem) -> TreeNode[SigItem | None]:
        label = Text(visible(item.name))
        if item.kind == "function":
            info = self.infos.get(item.name)
            if info is not None:
                label.append(f"  {info.node_count} nodes", style="dim")
            return parent.add(label, item)
        if item.kind == "concrete":
            count = self.option_count(item.name)
            label.append(f"  {count} option" + ("" if count == 1 else "s"), style="dim")
            return parent.add(label, item)
        if item.kind == "option":
            function = self.decoded(item.function)
            if function is None:
                label.append("  does not decode", style="red")
            else:
                label.append(f"  {option_summary(function, item.index)}", style="dim")
            return parent.add_leaf(label, item)
        assert self.body is not None
        label.append(f"  {visible(self.body(item.function).op(item.name))}", style="dim italic")
        return parent.add_leaf(label, item)

    def more_data(self, parent: TreeNode[SigItem | None]) -> SigItem:
        return SigItem("more")

    def line_of(
        self, parent: TreeNode[SigItem | None], name: str
    ) -> TreeNode[SigItem | None] | None:
        """The child of lazy branch ``parent`` named ``name`` (loading children up to it)."""
        items = self.items_of(parent)
        return self.child_at(parent, next((i for i, it in enumerate(items) if it.name == name), -1))

    def dataflow_target(self) -> tuple[str | None, str | None]:
        """(node, function) for ``D``: a function's body, or the node of one."""
        item = self.current
        if item is not None and item.kind == "function":
            return None, item.name
        if item is not None and item.kind == "fnode":
            return item.name, item.function
        return None, None


class SignatureDetails(BackKey, OptionList):
    """The signature, function or function node under the cursor; Enter follows a link."""

    BINDINGS = [Binding("backspace", "go_back", "Back", show=False, id="sig-details-back")]

    def on_focus(self) -> None:
        highlight_first(self)


class SignaturesPane(ProgressPane, Vertical):
    """Tag-set line, the tree of signatures / functions / assets, and details."""

    def __init__(self, ws: Workspace, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.ws = ws
        self._bodies: dict[str, GraphIndex] = {}
        self._body_ws: dict[str, Workspace] = {}
        self._infos: dict[str, FunctionInfo] = {}
        self._catalog: FunctionCatalog | None = None  # the root's functions
        self._concretes: TreeNode[SigItem | None] | None = None  # their branch
        self.shown: SigItem | None = None

    def compose(self) -> ComposeResult:
        yield Label("", id="sig-summary")
        with Horizontal(id="sig-split"):
            yield SignaturesTree(id="sig-tree")
            yield SignatureDetails(id="sig-details")

    @property
    def sig_tree(self) -> SignaturesTree:
        return self.query_one(SignaturesTree)

    @property
    def details(self) -> SignatureDetails:
        return self.query_one(SignatureDetails)

    def on_mount(self) -> None:
        self._summary()
        mg = self.ws.meta_graph
        tree = self.sig_tree
        graph = self.ws.graph
        if mg is None and (graph is None or not graph.library.function):
            tree.root.add_leaf(Text("Not a SavedModel: no signatures.", style="dim"))
            return
        if mg is not None:
            sigs = tree.root.add(
                Text(f"signatures ({len(mg.signatures)})", style="bold"), SigItem("signatures")
            )
            for sig in mg.signatures:
                label = Text(visible(sig.key))
                if sig.is_init_op:
                    label.append("  init op", style="dim italic")
                else:
                    label.append(f"  {len(sig.inputs)} in, {len(sig.outputs)} out", style="dim")
                sigs.add_leaf(label, SigItem("signature", sig.key))
            sigs.expand()
            if mg.has_object_graph:  # saved_model_cli lists them after the signatures too
                self._add_concrete_functions()
        # a .meta graph's library too: While/If/PartitionedCall bodies
        assert graph is not None
        functions = graph.functions()
        fbranch = tree.root.add(
            Text(f"functions ({len(functions)})", style="bold"), SigItem("functions")
        )
        self._infos = tree.infos = {f.name: f for f in functions}
        tree.body = self.body
        tree.fill(fbranch, [SigItem("function", f.name) for f in functions])
        fbranch.expand()
        try:
            assets = mg.assets() if mg is not None else []
        except GraphtuiError as exc:
            tree.root.add_leaf(Text(f"assets: {exc}", style="red"))
            assets = []
        if assets:
            abranch = tree.root.add(
                Text(f"assets ({len(assets)})", style="bold"), SigItem("assets")
            )
            for asset in assets:
                label = Text(visible(asset.filename))
                label.append(
                    f"  {human_bytes(asset.size)}" if asset.exists else "  missing",
                    style="dim" if asset.exists else "bold red",
                )
                abranch.add_leaf(label, SigItem("asset", asset.filename))
        tree.cursor_line = 0
        default = _default_signature([s.key for s in mg.signatures] if mg is not None else [])
        if default is not None:
            self.reveal_signature(default)
        self.show_item(tree.current)

    def _add_concrete_functions(self) -> None:
        """The root object's functions, each expanding into its options; "N/A" and the reason
        where they cannot be listed. Listed without decoding their input signatures (each is
        decoded when shown); a worker checks that all decode while the tab is shown."""
        assert self.ws.meta_graph is not None
        tree = self.sig_tree
        catalog = self._catalog = self.ws.meta_graph.function_catalog()
        if sum(map(catalog.options, catalog)) <= EAGER_OPTIONS:
            catalog.check()
        branch = self._concretes = tree.root.add("", SigItem("concretes"))
        listing = catalog.listing
        if listing is not None and listing.problem is not None:
            self._not_listed(listing.problem)
            return
        tree.concretes = catalog
        tree.option_count = catalog.options
        tree.decoded = self._decoded
        self._label_concretes()
        tree.fill(branch, [SigItem("concrete", name) for name in catalog])
        branch.expand()

    def _label_concretes(self, fraction: float | None = None) -> None:
        """``concrete functions (N)``, and how far the check is while it runs."""
        assert self._concretes is not None and self._catalog is not None
        label = Text(f"concrete functions ({len(self._catalog)})", style="bold")
        if self._catalog.listing is None:
            done = f" {fraction:.0%}" if fraction is not None else ""
            label.append(f"  checking the signatures…{done}", style="dim italic")
        self._concretes.set_label(label)

    def _not_listed(self, problem: str) -> None:
        """The root's functions as N/A with ``problem`` (nothing listed as fine)."""
        tree, branch = self.sig_tree, self._concretes
        assert branch is not None
        node, inside = tree.cursor_node, False
        while node is not None and not inside:
            node = node.parent
            inside = node is branch
        tree.concretes = {}
        tree.forget(branch)
        branch.remove_children()
        branch.collapse()
        branch.set_label(Text("concrete functions: N/A", style="bold red"))
        branch.add_leaf(
            Text(visible(f"could not be listed: {problem}"), style="red"), SigItem("concretes")
        )
        if inside:
            tree.move_cursor(branch)

    def _decoded(self, name: str) -> CallableFunction | None:
        """Root function ``name`` decoded; None when it does not decode (then the check ends
        at once: the functions are N/A)."""
        assert self._catalog is not None
        function = self._catalog.decode(name)
        if function is None:
            self.call_later(self._check_now)
        return function

    # -- checking that every root function decodes ---------------------------------------------

    def _on_show(self, event: events.Show) -> None:
        # after the first frame: the worker holds the GIL often enough to slow it
        self.call_after_refresh(self._start_check)

    def _on_hide(self, event: events.Hide) -> None:
        for worker in self.workers:
            if worker.group == "sig-check":
                worker.cancel()

    def _start_check(self) -> None:
        catalog = self._catalog
        if catalog is None or catalog.listing is not None or not self.display:
            return
        self.run_worker(
            self._check, thread=True, group="sig-check", exclusive=True, exit_on_error=False
        )

    def _check(self) -> None:
        assert self._catalog is not None
        worker = get_current_worker()
        listing = self._catalog.check(lambda: worker.is_cancelled, progress_poster(self))
        if listing is not None and not worker.is_cancelled:
            self.app.call_from_thread(self._checked, listing)

    def _check_now(self) -> None:
        """A function did not decode: check the ones before it here (the first that does not
        decode is the reason, as saved_model_cli's N/A says)."""
        if self._catalog is not None and self._catalog.listing is None:
            listing = self._catalog.check()
            if listing is not None:
                self._checked(listing)

    def _checked(self, listing: FunctionListing) -> None:
        if self._concretes is None or self.sig_tree.concretes is not self._catalog:
            return  # said already
        if listing.problem is not None:
            self._not_listed(listing.problem)
        else:
            self._label_concretes()
        shown = self.shown
        if shown is not None and shown.kind in ("concretes", "concrete", "option"):
            self.show_item(self.sig_tree.current)

    def show_progress(self, fraction: float | None) -> None:
        if self._catalog is not None and self._catalog.listing is None:
            self._label_concretes(fraction)

    def _summary(self) -> None:
        ws = self.ws
        text = Text()
        if ws.meta_graph is None:
            if ws.graph is not None:
                count = len(ws.graph.library.function)  # without decoding every node
                text.append(f"function library of the graph: {count} functions", style="bold")
                text.append(f"  ·  {visible(ws.meta_path or ws.path)}", style="dim")
            self.query_one("#sig-summary", Label).update(text)
            return
        sets = ws.tag_sets
        text.append("tag-set ", style="dim")
        text.append(visible(ws.tag_set or "(none)"), style="bold")
        if len(sets) > 1:
            text.append(f"  ({sets.index(ws.tag_set or '') + 1} of {len(sets)}, t: next)")
        version = ws.meta_graph.tensorflow_version
        if version:
            text.append(f"  ·  TF {version}")
        if ws.saved_model is not None:
            text.append(f"  ·  {visible(os.path.basename(ws.saved_model.path))}")
        if ws.variables_problem:
            text.append("  ·  variables: ", style="dim")
            text.append("unreadable (see Variables)", style="bold red")
        self.query_one("#sig-summary", Label).update(text)

    # -- function bodies ------------------------------------------------------------------------

    def body(self, fname: str) -> GraphIndex:
        """Function ``fname``'s body as a graph (built once)."""
        graph = self._bodies.get(fname)
        if graph is None:
            assert self.ws.graph is not None
            graph = self._bodies[fname] = self.ws.graph.function_graph(fname)
        return graph

    # -- details --------------------------------------------------------------------------------

    def callers(self, fname: str) -> list[tuple[str, str]]:
        """Who calls function ``fname``: ``("graph", node)`` and ``("fn", function)`` pairs."""
        graph = self.ws.graph
        return [] if graph is None else list(graph.callers(fname))

    def _function_details(self, fname: str) -> list[Line]:
        info = self._infos.get(fname)
        lines = [Line(Text(visible(fname), style="bold"))]
        if info is None:
            return lines + [plain("not in the function library", style="red")]
        lines.append(plain("nodes", str(info.node_count)))
        lines.append(heading(f"Inputs ({len(info.inputs)})"))
        lines.extend(plain(f"{a.name}:", a.type) for a in info.inputs)
        lines.append(heading(f"Outputs ({len(info.outputs)})"))
        lines.extend(plain(f"{a.name}:", a.type) for a in info.outputs)
        callers = self.callers(fname)
        lines.append(heading(f"Called by ({len(callers)})"))
        for kind, name in callers[:500]:
            lines.append(link(kind, name, note="graph node (1)" if kind == "graph" else "function"))
        return lines

    def _node_details(self, fname: str, node: str) -> list[Line]:
        graph = self.body(fname)
        ws = self._body_ws.get(fname)
        if ws is None:
            ws = self._body_ws[fname] = Workspace(f"{fname}", graph=graph)
        lines = describe(ws, node, indexed=True, library=self.ws.graph)
        lines.insert(1, plain("in function", fname))
        return lines

    def _overview(self) -> list[Line]:
        mg = self.ws.meta_graph
        if mg is None:
            graph = self.ws.graph
            count = len(graph.library.function) if graph is not None else 0
            return [
                Line(Text("graph function library", style="bold")),
                plain("functions", str(count)),
                plain("graph", self.ws.meta_path or self.ws.path),
            ]
        lines = [Line(Text(visible(f"meta graph {mg.tag_set}"), style="bold"))]
        lines.append(plain("signatures", str(len(mg.signatures))))
        lines.append(plain("graph nodes", str(len(mg.graph))))
        lines.append(plain("functions", str(len(mg.function_names()))))
        summary = mg.object_graph_summary()
        if summary is not None:
            lines.append(plain("saved objects", str(summary.nodes)))
        problem = self.ws.variables_problem
        if problem:
            lines.append(plain("variables", problem, "red"))
        elif self.ws.active_prefix:
            lines.append(
                plain("variables", os.path.relpath(self.ws.active_prefix, mg.model.directory))
            )
        return lines

    def _concretes_details(self) -> list[Line]:
        catalog = self._catalog
        lines = [Line(Text("concrete functions of the root object", style="bold"))]
        if catalog is None:
            return lines
        listing = catalog.listing
        if listing is not None and listing.problem is not None:
            return lines + cli_lines(listing.lines())
        lines.append(plain("functions", str(len(catalog))))
        lines.append(plain("options", str(sum(map(catalog.options, catalog)))))
        lines.append(plain("as saved_model_cli show --all lists them (Enter: expand)"))
        if listing is None:
            lines.append(plain("checking that every signature decodes…", style="dim"))
        return lines

    def _concrete_details(self, fname: str) -> list[Line]:
        from graphtui.core.savedmodel_functions import function_lines

        function = self._decoded(fname)
        if function is None:
            return [Line(Text(visible(fname), style="bold")), plain("does not decode", style="red")]
        kind = "tf.function" if function.kind == "function" else "bare concrete function"
        lines = [Line(Text(visible(fname), style="bold")), plain("kind", kind)]
        lines.append(plain("options", str(len(function.options))))
        lines.append(heading("Concrete Functions (as graphtui show prints it)"))
        return lines + cli_lines(function_lines(function))

    def _option_details(self, fname: str, index: int) -> list[Line]:
        from graphtui.core.savedmodel_functions import option_lines

        function = self._decoded(fname)
        if function is None:
            return [Line(Text(visible(fname), style="bold")), plain("does not decode", style="red")]
        option = function.options[index - 1]
        lines = [Line(Text(visible(f"{fname}  Option #{index}"), style="bold"))]
        lines.append(plain("concrete function", option.name))
        if option.name in self._infos:
            lines.append(link("fn", option.name, note="its body"))
        else:
            lines.append(plain("not in the function library", style="red"))
        text = option_lines(option, index)
        if not text:
            return lines + [plain("callable with", "no recorded arguments (not listed)")]
        lines.append(heading("Callable with (as graphtui show prints it)"))
        return lines + cli_lines(text)

    def _asset_details(self, filename: str) -> list[Line]:
        assert self.ws.meta_graph is not None
        for asset in self.ws.meta_graph.assets():
            if asset.filename == filename:
                return [
                    Line(Text(visible(filename), style="bold")),
                    plain("path", asset.path),
                    plain("size", human_bytes(asset.size) if asset.exists else "missing"),
                    plain("fed to"),
                    link("graph", asset.tensor_name),
                ]
        return [Line(Text(visible(filename), style="bold"))]

    def lines_of(self, item: SigItem) -> list[Line]:
        mg = self.ws.meta_graph
        if item.kind == "signature" and mg is not None:
            return signature_lines(mg.signature(item.name))
        if item.kind == "function":
            return self._function_details(item.name)
        if item.kind == "fnode":
            return self._node_details(item.function, item.name)
        if item.kind == "asset":
            return self._asset_details(item.name)
        if item.kind == "concretes":
            return self._concretes_details()
        if item.kind == "concrete":
            return self._concrete_details(item.name)
        if item.kind == "option":
            return self._option_details(item.function, item.index)
        return self._overview()

    def show_item(self, item: SigItem | None) -> None:
        self.shown = item
        if item is None or item.kind == "more":
            set_lines(self.details, [Line(Text("Select a signature or function.", style="dim"))])
            return
        try:
            lines = self.lines_of(item)
        except GraphtuiError as exc:
            lines = [Line(Text(str(exc), style="red"))]
        set_lines(self.details, lines)

    @on(Tree.NodeHighlighted, "#sig-tree")
    def _highlighted(self, event: Tree.NodeHighlighted[SigItem | None]) -> None:
        self.show_item(event.node.data)

    @on(Tree.NodeSelected, "#sig-tree")
    def _selected(self, event: Tree.NodeSelected[SigItem | None]) -> None:
        item = event.node.data
        if item is None:
            return
        if item.kind == "more":
            self.sig_tree.load_next(event.node)
        elif item.kind in ("signature", "fnode", "asset", "option"):
            self.details.focus()

    @on(OptionList.OptionSelected, "#sig-details")
    def _follow(self, event: OptionList.OptionSelected) -> None:
        target = link_of(event.option.id)
        if target is None:
            return
        kind, _, rest = target.partition(":")
        if kind == "graph":
            from graphtui.core.graph import tensor_node

            self.post_message(FollowLink(tensor_node(rest)))
        elif kind == "fn":
            self.reveal_function(rest)
        elif kind == "node" and self.shown is not None and self.shown.kind == "fnode":
            self.reveal_function(self.shown.function, rest)
        elif kind == "value":
            self.post_message(ShowValue(rest))

    # -- revealing ------------------------------------------------------------------------------

    def reveal_function(self, fname: str, node: str | None = None) -> bool:
        """Move the cursor to function ``fname`` (or to its node ``node``)."""
        tree = self.sig_tree
        fbranch = next(
            (c for c in tree.root.children if c.data is not None and c.data.kind == "functions"),
            None,
        )
        if fbranch is None:
            return False
        line = tree.line_of(fbranch, fname)
        if line is None:
            return False
        fbranch.expand()
        if node is not None:
            line.expand()
            tree.fill(line)
            found = tree.line_of(line, node)
            if found is None:
                return False
            line = found
        _ = tree.last_line
        tree.move_cursor(line)
        tree.scroll_to_node(line, animate=False)
        self.show_item(line.data)
        tree.focus()
        return True

    def reveal_signature(self, key: str) -> bool:
        tree = self.sig_tree
        for branch in tree.root.children:
            for line in branch.children:
                if (
                    line.data is not None
                    and line.data.kind == "signature"
                    and line.data.name == key
                ):
                    _ = tree.last_line
                    tree.move_cursor(line)
                    self.show_item(line.data)
                    return True
        return False
