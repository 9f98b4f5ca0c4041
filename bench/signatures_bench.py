"""Signatures tab benchmark: the first showing of tab 7 of a SavedModel whose root object holds
2,002 functions (a tf.function each, one concrete function each, whose input signature is a
dict of 8 TensorSpecs, a bool and a None: a Keras-style ``call``).

The model is the committed ``tests/fixtures/data/tf2/saved_model`` with 2,000 such functions
added to its object graph and their bodies to its function library, written without
TensorFlow. For a SavedModel the Signatures tab is the first one shown, so its first showing is
the app's first screen. Each run is a fresh process (imports count), headless at 120x40:

* first screen: from the first import to Textual's first frame (``on_ready``);
* mount to the first frame: from the workspace opened to that frame;
* CPU time of the process at the first frame;
* (this checkout) until every function was checked in the background (the branch's
  "checking the signatures…" gone), when the version checks them.

    .venv/bin/python bench/signatures_bench.py --runs 5 [--against DIR]

``--against DIR`` runs DIR's version (e.g. ``git worktree add DIR main``) in alternating fresh
processes, so both are measured under the same load; the load average is printed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from tui_bench import ms, run_child  # one child runner for the app benchmarks

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "data" / "tf2" / "saved_model"
EXTRA = 2000  # functions added to the fixture's two


def build(directory: Path, extra: int = EXTRA) -> Path:
    """The fixture SavedModel with ``extra`` more root functions, in ``directory``."""
    sys.path.insert(0, str(ROOT))
    from graphtui._proto import pb

    shutil.copytree(FIXTURE, directory)
    model = pb.SavedModel()
    model.ParseFromString((directory / "saved_model.pb").read_bytes())
    meta = model.meta_graphs[0]
    graph = meta.object_graph_def
    library = meta.graph_def.library
    body = next(f for f in library.function if f.signature.name == "__inference_predict_1028")
    predict = graph.concrete_functions["__inference_predict_1028"]
    node_of_predict = next(
        graph.nodes[c.node_id] for c in graph.nodes[0].children if c.local_name == "predict"
    )
    for i in range(extra):
        name = f"__inference_fn_{i:04d}_{5000 + i}"
        saved = graph.concrete_functions[name]
        saved.CopyFrom(predict)
        sig = saved.canonicalized_input_signature
        sig.Clear()
        args = sig.tuple_value.values.add().tuple_value.values
        features = args.add().dict_value.fields
        for k in range(8):
            spec = features[f"feature_{k}"].tensor_spec_value
            spec.name = f"feature_{k}"
            spec.dtype = pb.DataType.Value("DT_FLOAT" if k % 2 else "DT_INT64")
            spec.shape.dim.add(size=-1)
            spec.shape.dim.add(size=k + 1)
        args.add().bool_value = False
        args.add().none_value.SetInParent()
        sig.tuple_value.values.add().dict_value.SetInParent()
        function = library.function.add()
        function.CopyFrom(body)
        function.signature.name = name
        node = graph.nodes.add()
        node.CopyFrom(node_of_predict)
        del node.children[:]
        node.function.ClearField("concrete_functions")
        node.function.concrete_functions.append(name)
        graph.nodes[0].children.add(local_name=f"fn_{i:04d}", node_id=len(graph.nodes) - 1)
    (directory / "saved_model.pb").write_bytes(model.SerializeToString())
    return directory


CHILD = r"""
import time
t0, c0 = time.perf_counter(), time.process_time()
import asyncio, json, sys
from graphtui.tui.app import GraphtuiApp
from graphtui.core.workspace import open_workspace
from graphtui.tui.widgets.signatures_pane import SignaturesTree
ws = open_workspace(sys.argv[1])
t_open = time.perf_counter()
out = {}

def branch_label(app):
    tree = app.workspace.query_one(SignaturesTree)
    branch = next(c for c in tree.root.children if c.data and c.data.kind == "concretes")
    return str(branch.label.plain)

class BenchApp(GraphtuiApp):
    def on_ready(self) -> None:  # Textual: "the first frame has been displayed"
        out["first_screen"] = time.perf_counter() - t0
        out["first_screen_cpu"] = time.process_time() - c0
        out["mount"] = time.perf_counter() - t_open
        out["label_at_first_frame"] = branch_label(self)

async def main():
    app = BenchApp(ws)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        while "checking" in branch_label(app) and time.perf_counter() < t0 + 60:
            await asyncio.sleep(0.005)
        out["checked"] = time.perf_counter() - t0
        out["label"] = branch_label(app)
        await pilot.press("q")

asyncio.run(main())
print(json.dumps(out))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per version")
    parser.add_argument("--against", metavar="DIR", type=Path, help="another checkout")
    args = parser.parse_args()
    versions = {"this": ROOT}
    if args.against is not None:
        versions["other"] = args.against.resolve()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="graphtui-sig-bench-") as tmp:
        model = build(Path(tmp) / "model")
        runs: dict[str, list[dict[str, object]]] = {name: [] for name in versions}
        for _ in range(args.runs):
            for name, root in versions.items():
                runs[name].append(run_child(model, root, CHILD, []))
    load_after = os.getloadavg()
    print(
        f"{EXTRA + 2} root functions; {args.runs} alternating "
        f"fresh processes per version; load average {load_before[0]:.2f} before, "
        f"{load_after[0]:.2f} after; medians (min-max)"
    )
    print()
    names = list(versions)
    print("| figure | " + " | ".join(f"{n} ({versions[n]})" for n in names) + " |")
    print("|---|" + "---|" * len(names))
    for key, label in (
        ("first_screen", "first screen (tab 7 shown), from the first import"),
        ("mount", "workspace opened -> first frame"),
        ("first_screen_cpu", "CPU time at the first frame"),
        ("checked", "every function checked (branch final), from the first import"),
    ):
        cells = []
        for n in names:
            values = [float(r[key]) for r in runs[n]]  # type: ignore[arg-type]
            cells.append(f"{ms(statistics.median(values))} ({ms(min(values))}-{ms(max(values))})")
        print(f"| {label} | " + " | ".join(cells) + " |")
    for n in names:
        labels = sorted({str(r["label_at_first_frame"]) for r in runs[n]})
        finals = sorted({str(r["label"]) for r in runs[n]})
        print(f"\n{n}: branch at the first frame {labels}; at the end {finals}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
