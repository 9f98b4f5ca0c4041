"""Write SVG screenshots of each pane of the app, on the bundled demo, into screenshots/.

The SavedModel and TF2 views (the demo is a TF1 run) are taken from the test fixtures.

    .venv/bin/python scripts/screenshots.py [--out screenshots] [--size 110x34]

The app runs headless (Textual's ``run_test``); every worker finishes before a screenshot.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

Step = Callable[[Any], Awaitable[None]]


async def settle(pilot: Any) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def keys(*names: str) -> Step:
    async def run(pilot: Any) -> None:
        await pilot.press(*names)

    return run


def call(fn: Callable[[Any], object]) -> Step:
    async def run(pilot: Any) -> None:
        fn(pilot.app)

    return run


def first_weights(app: Any) -> str:
    """The graph node of the first model weight matrix (or of the first variable)."""
    rows = [r for r in app.ws.variables() if r.node and not r.is_slot]
    named = [r for r in rows if r.name.endswith(("weights", "kernel"))]
    return str((named or rows)[0].node)


def biggest(app: Any) -> str:
    rows = [r for r in app.ws.variables() if r.key and not r.is_slot]
    return str(max(rows, key=lambda r: (len(r.shape or ()), r.params)).key)


def expand_function(name: str) -> Callable[[Any], None]:
    def run(app: Any) -> None:
        functions = app.workspace.query_one("SignaturesTree").root.children[1]
        for line in functions.children:
            if line.data is not None and line.data.name == name:
                line.expand()

    return run


def reveal_objects(*paths: str) -> Callable[[Any], None]:
    """Expand each object but the last, then put the cursor on the last."""

    def run(app: Any) -> None:
        pane = app.workspace.query_one("ObjectsPane")
        for path in paths[:-1]:
            pane.reveal_path(path)
            pane.object_tree.cursor_node.expand()
        pane.reveal_path(paths[-1])

    return run


TF2 = ROOT / "tests" / "fixtures" / "data" / "tf2"


def damaged_demo() -> Path:
    """A copy of the demo whose latest checkpoint's index is no sstable (bad magic number)."""
    import shutil
    import tempfile

    from graphtui.demo import demo_path

    directory = Path(tempfile.mkdtemp(prefix="graphtui-shot-")) / "demo"
    shutil.copytree(demo_path(), directory)
    index = directory / "model.ckpt-300.index"
    index.write_bytes(index.read_bytes()[:-8] + b"\0" * 8)
    return directory

# (file name, steps, what to open: None for the demo)
SHOTS: list[tuple[str, list[Step], Path | Callable[[], Path] | None]] = [
    ("01-graph", [call(lambda a: a.workspace.query_one("NodeTree").reveal(first_weights(a)))], None),
    ("02-search", [keys("slash", *"kernel", "enter", "n")], None),
    (
        "03-collections",
        [keys("2"), call(lambda a: a.workspace.show_collection("trainable_variables"))],
        None,
    ),
    ("04-variables", [keys("3", "T")], None),
    ("05-value", [call(lambda a: a.workspace.open_value(biggest(a))), keys("right_square_bracket")], None),
    ("06-history", [keys("5")], None),
    ("07-diff", [keys("5", "up", "up", "up", "d")], None),
    ("08-help", [keys("question_mark")], None),
    ("09-signatures", [call(expand_function("__inference_predict_1028"))], TF2 / "saved_model"),
    ("10-objects", [call(reveal_objects("optimizer", "model/hidden/w"))], TF2 / "module"),
    ("11-dataflow", [call(lambda a: a.workspace.show_dataflow("mnist_like/conv2/Conv2D"))], None),
    ("12-dataflow-overview", [keys("9")], None),
    ("13-overview", [keys("i")], None),
    ("14-op-types", [keys("H")], None),
    ("15-damaged", [keys("3")], damaged_demo),
]


async def shoot(out: Path, size: tuple[int, int]) -> list[Path]:
    from graphtui.core.workspace import open_workspace
    from graphtui.tui.app import GraphtuiApp

    written = []
    for name, steps, source in SHOTS:
        where = source() if callable(source) else source
        app = GraphtuiApp(open_workspace(None if where is None else str(where)))
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            for step in steps:
                await step(pilot)
                await settle(pilot)
            app.clear_notifications()
            await pilot.pause()
            path = out / f"{name}.svg"
            app.save_screenshot(path.name, str(out))
            written.append(path)
        app.ws.close()
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(ROOT / "screenshots"), help="output directory")
    parser.add_argument("--size", default="110x34", help="terminal WIDTHxHEIGHT")
    args = parser.parse_args()
    width, height = (int(x) for x in args.size.lower().split("x"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    os.chdir(ROOT)  # paths in the screens relative to the repository
    for path in asyncio.run(shoot(out, (width, height))):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
