"""The app shows what the CLI shows, on SavedModels and TF2 checkpoints TensorFlow writes here.

``graphtui show`` prints saved_model_cli's "Concrete Functions:" section and each signature
input's default value, ``graphtui ls --objects`` marks the objects a registered saver wrote; both
are judged against TensorFlow in test_upstream_saved_model_cli.py and test_upstream_checkpoint.py.
Here the Signatures tab (7) and the Objects tab (8) of the app, driven with ``App.run_test``, must
show the same facts for the same directory: each root function with its options and what each is
callable with (the CLI's lines), the defaults, "N/A" with the reason where the CLI prints it (and
TensorFlow's saved_model_cli cannot list them either), and the registered saver's mark, its name
in the details and the tensors no object names. The realworld TF2 SavedModels (skipped when
``../shared/realworld`` is absent) open with the same sections.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import OptionList

from graphtui.cli import main as cli_main
from graphtui.tui.widgets.objects_pane import ObjectDetails, ObjectsPane, ObjectsTree
from graphtui.tui.widgets.signatures_pane import SignatureDetails, SignaturesPane, SignaturesTree

pytestmark = pytest.mark.interop
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
tf = pytest.importorskip("tensorflow")

from tensorflow.python.tools import saved_model_cli  # noqa: E402

from tests.interop.test_realworld import REALWORLD  # noqa: E402
from tests.interop.test_upstream_checkpoint import (  # noqa: E402
    registered_saver_checkpoint,
    registered_saver_root,
)
from tests.interop.test_upstream_saved_model_cli import (  # noqa: E402
    _dummy_functions,
    _functions_section,
    _many_arguments,
    _pure_concrete,
    _realworld_tf2_saved_models,
    defaults_model,
    ours,
    tf_prints,
)
from tests.tui.conftest import SIZE, make_app, settle  # noqa: E402


def details_text(widget: OptionList) -> list[str]:
    """The details pane's lines as a user reads them (each option's plain text)."""
    prompts = [widget.get_option_at_index(i).prompt for i in range(widget.option_count)]
    return [getattr(p, "plain", str(p)) for p in prompts]


def dedent(lines: list[str]) -> list[str]:
    """Lines less the indent they share (the app drops it: its pane is narrow)."""
    indent = min(len(ln) - len(ln.lstrip(" ")) for ln in lines if ln.strip())
    return [ln[indent:] for ln in lines]


def cli_functions(text: str) -> list[tuple[str, list[str]]]:
    """``graphtui show``'s "Concrete Functions:" section split per function: (name, lines)."""
    out: list[tuple[str, list[str]]] = []
    for line in _functions_section(text).split("\n")[1:]:
        found = re.fullmatch(r"  Function Name: '(.*)'", line)
        if found:
            out.append((found[1], [line]))
        elif line:
            out[-1][1].append(line)
    return out


def cli_options(lines: list[str]) -> list[list[str]]:
    """One function's lines (after its name) split per ``Option #N``."""
    options: list[list[str]] = []
    for line in lines[1:]:
        if line.startswith("    Option #"):
            options.append([])
        options[-1].append(line)
    return options


def concretes_branch(tree: SignaturesTree) -> Any:
    return next(c for c in tree.root.children if c.data is not None and c.data.kind == "concretes")


async def show(pilot: Any, tree: Any, line: Any) -> None:
    """Move the cursor to ``line``; its details are shown on the highlight message."""
    tree.move_cursor(line)
    await pilot.pause()


# -- the models ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("app_vs_cli")
    return {
        "functions": _dummy_functions(root / "functions"),
        "pure": _pure_concrete(root / "pure"),
        "many": _many_arguments(root / "many"),
    }


# -- Signatures tab: concrete functions ----------------------------------------------------------


async def assert_pane_equals_show(directory: Path, capsys: pytest.CaptureFixture[str]) -> int:
    """The Signatures tab's concrete functions of ``directory`` are ``graphtui show``'s: the
    same functions in order, each function's details its lines, each option's its lines.
    Returns the number of options compared."""
    expected = cli_functions(ours(capsys, str(directory), warnings=True))
    compared = 0
    app = make_app(directory)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        tree = app.workspace.query_one(SignaturesTree)
        details = app.workspace.query_one(SignatureDetails)
        branch = concretes_branch(tree)
        assert str(branch.label.plain) == f"concrete functions ({len(expected)})"
        assert [c.data.name for c in branch.children] == [name for name, _ in expected]
        for line, (name, lines) in zip(branch.children, expected, strict=True):
            await show(pilot, tree, line)
            text = details_text(details)
            start = text.index("─ Concrete Functions (as graphtui show prints it)") + 1
            assert text[start:] == dedent(lines)
            line.expand()
            await pilot.pause()
            function = tree.concretes[name]
            assert [c.data.index for c in line.children] == list(
                range(1, len(function.options) + 1)
            )
            printed = cli_options(lines)
            shown = [c for c in line.children if c.data.index <= len(function.options)]
            with_text = []
            for option in shown:
                await show(pilot, tree, option)
                text = details_text(details)
                assert f"  concrete function {function.options[option.data.index - 1].name}" in (
                    text
                )
                if "─ Callable with (as graphtui show prints it)" in text:
                    start = text.index("─ Callable with (as graphtui show prints it)") + 1
                    with_text.append(text[start:])
                else:  # saved_model_cli prints nothing for an option without arguments
                    assert "  callable with no recorded arguments (not listed)" in text
            assert with_text == [dedent(p) for p in printed]
            compared += len(shown)
    return compared


@pytest.mark.parametrize("name", ["functions", "pure", "many"])
async def test_concrete_functions_pane_equals_show(
    models: dict[str, Path], name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """saved_model_cli_test.py testShowAllWithFunctions / testShowAllWithPureConcreteFunction
    (and test_upstream_saved_model_cli.py's model with arguments of every kind), in the app:
    the functions and options ``graphtui show`` prints, which saved_model_cli prints too."""
    directory = models[name]
    theirs = tf_prints(saved_model_cli._show_all, str(directory))  # noqa: SLF001
    assert "Concrete Functions:" in theirs and "N/A" not in theirs
    assert await assert_pane_equals_show(directory, capsys) >= 1


async def test_signature_defaults_pane_equals_show(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """test_upstream_saved_model_cli.py test_signature_with_defaults in the app: signature
    ``s``'s details list each input with a default value and the value, as ``show`` prints
    them below the signatures (the values TF's ``make_ndarray`` reads: 1.5 and [1, 2])."""
    directory = defaults_model(tmp_path / "defaults")
    printed = [
        ln[len("  s: ") :]
        for ln in ours(capsys, str(directory)).splitlines()
        if ln.startswith("  s: inputs[")
    ]
    assert printed == ["inputs['y'] defaults to 1.5", "inputs['z'] defaults to [1, 2]"]
    app = make_app(directory)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.workspace.query_one(SignaturesPane)
        assert pane.reveal_signature("s")
        await settle(pilot)
        text = details_text(app.workspace.query_one(SignatureDetails))
        start = text.index("─ Defaults (2)") + 1
        assert text[start : start + 2] == [f"  {ln}" for ln in printed]


def _drop_concrete_function(proto: Any) -> None:
    """The root function's concrete function taken out of the object graph."""
    graph = proto.meta_graphs[0].object_graph_def
    child = next(c for c in graph.nodes[0].children if c.local_name == "pure_concrete_function")
    del graph.concrete_functions[
        graph.nodes[child.node_id].bare_concrete_function.concrete_function_name
    ]


def _bad_child(proto: Any) -> None:
    """A root child naming a node past the object graph's end."""
    graph = proto.meta_graphs[0].object_graph_def
    graph.nodes[0].children.add(local_name="zz", node_id=len(graph.nodes) + 5)


@pytest.mark.parametrize(
    "edit", [_drop_concrete_function, _bad_child], ids=["missing_concrete", "bad_child"]
)
async def test_functions_that_cannot_be_listed_are_na(
    models: dict[str, Path], tmp_path: Path, edit: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """saved_model_cli_test.py testShowAllWithInvalidFuncGraph's outcome for an object graph
    TF's loader refuses: saved_model_cli prints "Concrete Functions: N/A (could not be listed
    ...)"; ``show`` prints N/A with the reason (it printed the functions it could read as if
    fine, or failed), and the app says the same, listing no function as fine."""
    from tensorflow.python.saved_model import loader_impl

    directory = tmp_path / "edited"
    shutil.copytree(models["pure"], directory)
    proto = loader_impl.parse_saved_model(str(directory))
    edit(proto)
    (directory / "saved_model.pb").write_bytes(proto.SerializeToString(deterministic=True))
    theirs = tf_prints(saved_model_cli._show_all, str(directory))  # noqa: SLF001
    assert "Concrete Functions: N/A (could not be listed due to" in theirs
    mine = ours(capsys, str(directory))
    na = [ln for ln in mine.splitlines() if ln.startswith("Concrete Functions:")]
    assert len(na) == 1 and na[0].startswith("Concrete Functions: N/A (could not be listed: ")
    assert "Function Name" not in mine
    app = make_app(directory)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        tree = app.workspace.query_one(SignaturesTree)
        branch = concretes_branch(tree)
        assert str(branch.label.plain) == "concrete functions: N/A"
        assert [str(c.label.plain) for c in branch.children] == [
            na[0][len("Concrete Functions: N/A (") : -1]
        ]
        assert tree.concretes == {}
        await show(pilot, tree, branch)
        assert na[0] in details_text(app.workspace.query_one(SignatureDetails))


@pytest.mark.parametrize(
    "directory",
    _realworld_tf2_saved_models(),
    ids=lambda p: p.relative_to(REALWORLD).as_posix(),
)
async def test_realworld_concrete_functions_in_the_app(
    directory: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The realworld TF2 SavedModels open in the app with the concrete functions ``show``
    prints (judged against saved_model_cli by test_concrete_functions_realworld)."""
    assert await assert_pane_equals_show(directory, capsys) >= 1


# -- Objects tab: registered savers --------------------------------------------------------------


@pytest.mark.parametrize("kind", ["checkpoint", "saved_model"])
async def test_registered_saver_objects_pane_equals_ls(
    tmp_path: Path, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """test_upstream_checkpoint.py test_registered_saver (util_test.py
    test_serialize_gathered_objects) in the app: the object a saver registered by name wrote is
    marked as ``ls --objects`` marks it, its details name the saver and its name in the
    saver's call and give the line ``ls`` prints for the key no object names; the summary
    counts that key. In a TF2 checkpoint and in a SavedModel's variables."""
    from tensorflow.python.checkpoint.checkpoint import object_metadata

    saver = f"GraphtuiApp_{kind}"  # a name is registered once per process
    if kind == "checkpoint":
        path = prefix = registered_saver_checkpoint(tmp_path / "ckpt", saver)
    else:
        path = str(tmp_path / "model")
        tf.saved_model.save(registered_saver_root(saver), path)
        prefix = os.path.join(path, "variables", "variables")
    theirs = {
        (n.registered_saver.name, n.registered_saver.object_name)
        for n in object_metadata(prefix).nodes
        if n.HasField("registered_saver")
    }
    assert theirs == {(f"Custom.{saver}", "registered")}

    capsys.readouterr()
    assert cli_main(["ls", path, "--objects"]) == 0
    listing = capsys.readouterr().out.splitlines()
    marked = [ln.strip() for ln in listing if "[saved by " in ln]
    assert marked == [f"registered/  [saved by Custom.{saver} as 'registered']"]
    mark = marked[0].split("[", 1)[1].rstrip("]")
    unnamed = next(ln for ln in listing if ln.startswith("tensors the object graph does not"))

    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("8")  # a SavedModel opens on tab 7
        await settle(pilot)
        tree = app.workspace.query_one(ObjectsTree)
        labels = {c.data.label: str(c.label.plain) for c in tree.root.children}
        assert labels["registered"].endswith(f"  {mark}")
        assert mark not in labels["v"]
        pane = app.workspace.query_one(ObjectsPane)
        assert pane.reveal_path("registered")
        await settle(pilot)
        text = details_text(app.workspace.query_one(ObjectDetails))
        start = text.index("─ Registered saver")
        assert text[start + 1 : start + 5] == [
            f"  saver Custom.{saver}",
            "  object name 'registered'",
            "  its tensors under keys of the saver's own, maybe these:",
            f"  {unnamed}",
        ]
        assert pane.reveal_path("v")
        await settle(pilot)
        assert "─ Registered saver" not in details_text(app.workspace.query_one(ObjectDetails))
        summary = str(app.workspace.query_one("#objects-summary").render())
        assert "  ·  1 tensor no object names" in summary
