"""Layering: `import graphtui`, the core and the CLI's data commands never import Textual."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "data" / "train"


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(out.split())


def test_import_graphtui_is_cheap() -> None:
    mods = _modules_after("import graphtui")
    assert "textual" not in mods
    assert "numpy" not in mods  # the public API is imported lazily
    assert not any(m.startswith("graphtui.core") for m in mods)


def test_reading_api_does_not_import_textual() -> None:
    mods = _modules_after(
        "import graphtui\n"
        f"r = graphtui.load_checkpoint({str(FIXTURE)!r})\n"
        "r.get_tensor(r.names()[0])\n"
        f"graphtui.read_meta_graph({str(FIXTURE / 'model.ckpt-50.meta')!r})\n"
        "from graphtui.core import graph, scopes, history, rename, restore, strip, export\n"
    )
    assert "textual" not in mods
    assert "rich" not in mods


def test_cli_data_commands_do_not_import_textual() -> None:
    mods = _modules_after(
        "import contextlib, io\n"
        "from graphtui.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main(['ls', {str(FIXTURE)!r}, '--json']) == 0\n"
        f"    assert main(['history', {str(FIXTURE)!r}]) == 0\n"
    )
    assert "textual" not in mods


def test_the_app_imports_only_what_its_first_screen_needs() -> None:
    """Issue 17.1: the write dialogs' widgets and the operations behind them, and the keymap's
    TOML reader without a config file, load when first used, not before the first screen."""
    mods = _modules_after(
        "import os\n"
        "os.environ['GRAPHTUI_CONFIG'] = os.devnull + '.absent.toml'\n"
        "from graphtui.tui.app import GraphtuiApp\n"
        "from graphtui.tui.keymap import load_keymap\n"
        "load_keymap(known=GraphtuiApp.binding_ids())\n"
    )
    assert "textual.app" in mods
    for deferred in (
        "textual.widgets._text_area",
        "textual.widgets._data_table",
        "textual.widgets._selection_list",
        "graphtui.core.operations",
        "tomllib",
    ):
        assert deferred not in mods, deferred


def test_locating_a_graph_without_a_checkpoint_imports_no_numpy(tmp_path: Path) -> None:
    """Every command and the app locate their path first: a ``.meta`` with no checkpoint
    beside it asks for V1 shards by name (formats/v1_shards.py), not through the V1 reader."""
    meta = tmp_path / "alone.meta"
    meta.write_bytes(b"")
    mods = _modules_after(
        f"from graphtui.core.locate import locate\nassert locate({str(meta)!r}).kind == 'meta'"
    )
    assert "numpy" not in mods


def _blas_threads_after_main(env: dict[str, str]) -> str:
    code = (
        "import contextlib, io, os\n"
        "from graphtui.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main(['ls', {str(FIXTURE)!r}]) == 0\n"
        "print(os.environ.get('OPENBLAS_NUM_THREADS', '-'))\n"
    )
    clean = {k: v for k, v in os.environ.items() if k not in _BLAS_VARIABLES}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=clean | env
    )
    return out.stdout.split()[-1]


_BLAS_VARIABLES = ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS")


def test_the_command_line_asks_openblas_for_one_thread_unless_told() -> None:
    """Issue 17: numpy's OpenBLAS starts a thread per core at import that spins ~0.1 s of a
    core; a command asks for one (the user's own setting is kept)."""
    assert _blas_threads_after_main({}) == "1"
    assert _blas_threads_after_main({"OPENBLAS_NUM_THREADS": "2"}) == "2"
    assert _blas_threads_after_main({"OMP_NUM_THREADS": "3"}) == "-"


def test_core_never_imports_textual_in_source() -> None:
    root = Path(__file__).resolve().parents[2] / "graphtui"
    for layer in ("core", "formats"):
        for path in (root / layer).rglob("*.py"):
            text = path.read_text()
            assert "import textual" not in text and "from textual" not in text, path


def test_core_never_prints_nor_imports_the_interfaces() -> None:
    """Printing is the CLI's job; core and formats return data and raise errors."""
    import ast

    root = Path(__file__).resolve().parents[2] / "graphtui"
    found: list[str] = []
    for layer in ("core", "formats"):
        for path in sorted((root / layer).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                where = f"{path.relative_to(root)}:{getattr(node, 'lineno', 0)}"
                if isinstance(node, ast.Call) and ast.unparse(node.func) == "print":
                    found.append(f"{where} prints")
                if isinstance(node, ast.Attribute) and ast.unparse(node) in (
                    "sys.stdout",
                    "sys.stderr",
                ):
                    found.append(f"{where} writes to {ast.unparse(node)}")
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else []
                )
                found += [
                    f"{where} imports {n}"
                    for n in names
                    if n.startswith(("graphtui.cli", "graphtui.tui"))
                ]
    assert found == []


def test_cli_handlers_are_registered_not_looked_up() -> None:
    root = Path(__file__).resolve().parents[2] / "graphtui" / "cli"
    for path in root.glob("*.py"):
        text = path.read_text()
        assert "globals()" not in text and "import_module" not in text, path
