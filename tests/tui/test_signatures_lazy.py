"""Pilot tests: a SavedModel root with many functions. The Signatures tab lists them without
decoding their input signatures; each is decoded when shown or expanded, and a worker checks
that all decode while the tab is shown (stopped when another tab is, resumed after). What the
tab ends up showing is what ``graphtui show`` prints (as for a model checked at once)."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from graphtui._proto import pb
from graphtui.core import savedmodel_functions as smf
from graphtui.core.savedmodel_functions import function_lines, list_root_functions
from graphtui.tui.widgets.signatures_pane import SignatureDetails, SignaturesPane, SignaturesTree

from .conftest import DATA, SIZE, make_app, settle

COUNT = 120  # functions added: past EAGER_OPTIONS, so the worker checks them


def _many_functions(directory: Path, count: int = COUNT, bad: tuple[int, ...] = ()) -> Path:
    """The fixture SavedModel with ``count`` more root functions ``fn_000``... (one concrete
    function each: a TensorSpec and an int); those in ``bad`` hold a tensor of 10**12 elements
    in their signature (it does not decode: TF's loader refuses the model)."""
    shutil.copytree(DATA / "tf2" / "saved_model", directory)
    model = pb.SavedModel()
    model.ParseFromString((directory / "saved_model.pb").read_bytes())
    graph = model.meta_graphs[0].object_graph_def
    for i in range(count):
        name = f"__inference_fn_{i:03d}_{9000 + i}"
        args = graph.concrete_functions[name].canonicalized_input_signature.tuple_value.values
        positional = args.add().tuple_value.values
        spec = positional.add().tensor_spec_value
        spec.name, spec.dtype = f"x{i}", pb.DataType.Value("DT_FLOAT")
        spec.shape.dim.add(size=i + 1)
        positional.add().int64_value = i
        if i in bad:
            tensor = positional.add().tensor_value
            tensor.dtype = pb.DataType.Value("DT_FLOAT")
            tensor.tensor_shape.dim.add(size=10**12 + i)
        args.add().dict_value.SetInParent()
        node = graph.nodes.add()
        node.function.concrete_functions.append(name)
        graph.nodes[0].children.add(local_name=f"fn_{i:03d}", node_id=len(graph.nodes) - 1)
    (directory / "saved_model.pb").write_bytes(model.SerializeToString())
    return directory


def _branch(tree: SignaturesTree) -> Any:
    return next(c for c in tree.root.children if c.data is not None and c.data.kind == "concretes")


def _details(app: Any) -> list[str]:
    widget = app.workspace.query_one(SignatureDetails)
    prompts = [widget.get_option_at_index(i).prompt for i in range(widget.option_count)]
    return [getattr(p, "plain", str(p)) for p in prompts]


def _held_decoding(
    monkeypatch: pytest.MonkeyPatch, after: int
) -> tuple[list[str], threading.Event]:
    """A worker's decoding waits, once ``after`` functions were decoded, until the event
    returned is set (the UI thread's never waits); returns the names decoded, in order."""
    decoded: list[str] = []
    go_on = threading.Event()
    real = smf._decoded  # noqa: SLF001

    def held(entry: Any, graph: Any) -> Any:
        if threading.current_thread() is not threading.main_thread() and len(decoded) >= after:
            go_on.wait(timeout=20)
        decoded.append(entry.name)
        return real(entry, graph)

    monkeypatch.setattr(smf, "_decoded", held)
    return decoded, go_on


async def _until(pilot: Any, done: Any, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.02)


async def test_functions_are_listed_first_and_decoded_when_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tab's first frame lists every function with its option count and decodes none
    ("checking the signatures…" on the branch); a function shown is decoded then (its details
    are ``show``'s lines); the worker then checks the rest and the branch reads as it does for
    a model checked at once."""
    directory = _many_functions(tmp_path / "many")
    expected = list_root_functions(
        pb.SavedModel.FromString((directory / "saved_model.pb").read_bytes())
        .meta_graphs[0]
        .object_graph_def
    )
    decoded, go_on = _held_decoding(monkeypatch, after=0)
    at_mount: list[str] = []
    real_mount = SignaturesPane.on_mount

    def on_mount(pane: SignaturesPane) -> None:
        real_mount(pane)
        at_mount.extend(decoded)

    monkeypatch.setattr(SignaturesPane, "on_mount", on_mount)
    app = make_app(directory)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert at_mount == []  # nothing decoded to show the tab
        tree = app.workspace.query_one(SignaturesTree)
        branch = _branch(tree)
        assert [c.data.name for c in branch.children] == [f.name for f in expected.functions]
        assert str(branch.children[5].label.plain) == "fn_004  1 option"
        # shown before the worker reached it: decoded now, the lines show prints
        last = branch.children[-1]
        assert last.data.name == "predict"
        tree.move_cursor(last)
        await pilot.pause()
        assert decoded == ["predict"]  # the worker waits before its first
        text = _details(app)
        start = text.index("─ Concrete Functions (as graphtui show prints it)") + 1
        predict = next(f for f in expected.functions if f.name == "predict")
        assert text[start:] == [ln[2:] for ln in function_lines(predict)]
        assert "checking" in str(branch.label.plain)
        go_on.set()
        await _until(pilot, lambda: "checking" not in str(branch.label.plain))
        assert str(branch.label.plain) == f"concrete functions ({COUNT + 2})"
        assert sorted(decoded) == sorted(f.name for f in expected.functions)  # each once
        fn = branch.children[2]
        fn.expand()
        await settle(pilot)
        assert [str(c.label.plain) for c in fn.children] == ["Option #1  2 arguments"]
        assert tree.concretes[fn.data.name] == expected.functions[2]


async def test_the_check_stops_when_another_tab_is_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Showing another tab cancels the worker (it decodes no more); showing tab 7 again goes
    on where it stopped, each function decoded once."""
    directory = _many_functions(tmp_path / "many")
    decoded, go_on = _held_decoding(monkeypatch, after=3)
    app = make_app(directory)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        tree = app.workspace.query_one(SignaturesTree)
        branch = _branch(tree)
        await _until(pilot, lambda: len(decoded) >= 3)
        await pilot.press("1")
        go_on.set()  # the one in progress ends, then the worker sees it was cancelled
        await _until(pilot, lambda: len(decoded) == 4)
        await pilot.pause(0.2)
        assert len(decoded) == 4
        assert "checking" in str(branch.label.plain)
        await pilot.press("7")
        await _until(pilot, lambda: "checking" not in str(branch.label.plain))
        assert str(branch.label.plain) == f"concrete functions ({COUNT + 2})"
        assert len(decoded) == len(set(decoded)) == COUNT + 2


async def test_a_function_that_does_not_decode_makes_them_all_na(tmp_path: Path) -> None:
    """As for a model checked at once (test_app_vs_cli.py): one signature that does not decode
    and saved_model_cli prints N/A for all; the worker finds it and the branch says so with
    the reason ``show`` prints (the first such function in order)."""
    directory = _many_functions(tmp_path / "bad", bad=(70, 90))
    graph = pb.SavedModel.FromString((directory / "saved_model.pb").read_bytes())
    listing = list_root_functions(graph.meta_graphs[0].object_graph_def)
    assert listing.problem is not None and listing.functions == []
    app = make_app(directory)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        tree = app.workspace.query_one(SignaturesTree)
        branch = _branch(tree)
        await _until(pilot, lambda: "checking" not in str(branch.label.plain))
        await settle(pilot)
        assert str(branch.label.plain) == "concrete functions: N/A"
        assert [str(c.label.plain) for c in branch.children] == [
            f"could not be listed: {listing.problem}"
        ]
        assert tree.concretes == {}


async def test_showing_a_function_that_does_not_decode_says_why_for_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A function that does not decode, shown before the worker reached it: the branch turns
    N/A at once, with the first such function's reason (fn_070's, not fn_090's), the cursor on
    the branch and its details saying why."""
    directory = _many_functions(tmp_path / "bad", bad=(70, 90))
    graph = pb.SavedModel.FromString((directory / "saved_model.pb").read_bytes())
    listing = list_root_functions(graph.meta_graphs[0].object_graph_def)
    assert listing.problem is not None and str(10**12 + 70) in listing.problem
    monkeypatch.setattr(SignaturesPane, "_start_check", lambda pane: None)  # no worker
    app = make_app(directory)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        tree = app.workspace.query_one(SignaturesTree)
        branch = _branch(tree)
        assert "checking" in str(branch.label.plain)
        fn_090 = next(c for c in branch.children if c.data.name == "fn_090")
        tree.move_cursor(fn_090)
        await pilot.pause()
        await pilot.pause()
        assert str(branch.label.plain) == "concrete functions: N/A"
        assert [str(c.label.plain) for c in branch.children] == [
            f"could not be listed: {listing.problem}"
        ]
        assert tree.cursor_node is branch
        assert f"Concrete Functions: N/A (could not be listed: {listing.problem})" in _details(app)
        await settle(pilot)
        assert str(branch.label.plain) == "concrete functions: N/A"
