"""Where the slow tab switches and links go: each one recorded on its own (50,000-node graph of
``tui_bench.py``), to find what makes the tail of issue 13's "every switch < 100 ms".

Per switch (6 tabs x ``--rounds`` after each pane's first visit) and per link (5 targets), in a
fresh process per run: key (call) -> pane shown and idle, key -> the last frame drawn, the
process's CPU time, the frames drawn, the screen layouts (``Screen._refresh_layout``: count and
time), the collector's passes (generation, time; ``gc.callbacks``), and with ``--profile`` a
cProfile of the slowest samples against the median ones (what the slow ones spend more on).

    .venv/bin/python bench/tui_tail.py --runs 3 [--profile] [--against DIR]

``--against DIR``: DIR's version in alternating fresh processes (the same load for both); the
load average is printed before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tui_bench import ROOT, build, run_child  # noqa: E402

CHILD = r"""
import asyncio, cProfile, gc, json, sys, time
from textual import events
from textual.screen import Screen
from graphtui.tui.app import GraphtuiApp
from graphtui.core.workspace import open_workspace

profile_dir = sys.argv[2]
gc_events = []
_gc_start = [0.0]

def on_gc(phase, info):
    if phase == "start":
        _gc_start[0] = time.perf_counter()
    else:
        gc_events.append((time.perf_counter(), info["generation"], time.perf_counter() - _gc_start[0]))

gc.callbacks.append(on_gc)
layouts = []
refresh_layout = Screen._refresh_layout

def timed_layout(self, *args, **kwargs):
    t = time.perf_counter()
    try:
        return refresh_layout(self, *args, **kwargs)
    finally:
        layouts.append((t, time.perf_counter() - t))

Screen._refresh_layout = timed_layout

async def main():
    app = GraphtuiApp(open_workspace(sys.argv[1]))
    samples = []
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = getattr(app, "workspace", app)
        frames = []
        display = app._display

        def drawn(screen_, update):
            frames.append(time.perf_counter())
            display(screen_, update)

        app._display = drawn
        for key in "356241":  # first visits (each pane mounts)
            await pilot.press(key)
            await pilot.pause()
        await pilot.pause(0.3)

        async def sample(kind, label, start):
            profiler = cProfile.Profile() if profile_dir else None
            t, cpu = time.perf_counter(), time.process_time()
            if profiler:
                profiler.enable()
            await start()
            await pilot.pause()
            if profiler:
                profiler.disable()
            end = time.perf_counter()
            mine = [f for f in frames if f >= t]
            record = {
                "kind": kind, "label": label, "idle": end - t,
                "frame": (max(mine) - t) if mine else 0.0, "frames": len(mine),
                "frame_times": [round((f - t) * 1000, 1) for f in mine],
                "cpu": time.process_time() - cpu,
                "gc": [(g, round(d * 1000, 2), round((s - t) * 1000, 1)) for s, g, d in gc_events if s >= t],
                "layouts": [(round((s - t) * 1000, 1), round(d * 1000, 2)) for s, d in layouts if s >= t],
            }
            if profiler:
                path = f"{profile_dir}/{kind}-{len(samples)}.prof"
                profiler.dump_stats(path)
                record["profile"] = path
            samples.append(record)

        rounds = int(sys.argv[3])
        for _ in range(rounds):
            for key, tab in (("3", "variables"), ("5", "history"), ("6", "diff"),
                             ("2", "collections"), ("4", "value"), ("1", "graph")):
                async def press(key=key, tab=tab):
                    app._driver.send_message(events.Key(key, key))
                    t = time.perf_counter()
                    while screen.active_tab != tab and time.perf_counter() < t + 10:
                        await asyncio.sleep(0)
                await sample("switch", tab, press)
        for target in ("model/block_39/layer_9/Relu", "model/block_3/layer_1/MatMul",
                       "wide/n_4999", "model/block_20/layer_5/kernel/read",
                       "model/block_0/layer_0/kernel"):
            async def jump(target=target):
                screen.jump_to_node(target)
            await sample("link", target, jump)
        await pilot.press("q")
    print(json.dumps(samples))

asyncio.run(main())
"""


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def summary(samples: list[dict[str, object]], kind: str) -> str:
    rows = [s for s in samples if s["kind"] == kind]
    idle = [float(s["idle"]) for s in rows]  # type: ignore[arg-type]
    frame = [float(s["frame"]) for s in rows]  # type: ignore[arg-type]
    cpu = [float(s["cpu"]) for s in rows]  # type: ignore[arg-type]
    over = sum(1 for x in idle if x >= 0.1)
    return (
        f"{kind}: {len(rows)} samples; key -> idle median {ms(statistics.median(idle))} / max "
        f"{ms(max(idle))} ms ({over} >= 100 ms); -> last frame {ms(statistics.median(frame))} / "
        f"{ms(max(frame))} ms; CPU {ms(statistics.median(cpu))} / {ms(max(cpu))} ms"
    )


def profile_diff(slow: list[str], typical: list[str], top: int = 25) -> str:
    """Functions by how much more time (tottime per sample) the slow samples spent in them."""

    def per_sample(paths: list[str]) -> dict[tuple[str, int, str], float]:
        stats = pstats.Stats(paths[0])
        for p in paths[1:]:
            stats.add(p)
        return {k: v[2] / len(paths) for k, v in stats.stats.items()}  # type: ignore[attr-defined]

    a, b = per_sample(slow), per_sample(typical)
    diff = sorted(((a.get(k, 0.0) - b.get(k, 0.0), k) for k in set(a) | set(b)), reverse=True)
    lines = [f"{'more in slow (ms)':>18}  function"]
    for d, (file, line, name) in diff[:top]:
        lines.append(f"{d * 1000:18.2f}  {Path(file).name}:{line}({name})")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of 6 switches per run")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--against", type=Path, metavar="DIR")
    parser.add_argument("--dump", type=Path, metavar="FILE", help="write every sample as JSON")
    args = parser.parse_args()
    versions = {"this": ROOT} | ({"other": args.against.resolve()} if args.against else {})
    print(f"load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory(prefix="graphtui-tail-") as tmp:
        build(Path(tmp))
        results: dict[str, list[dict[str, object]]] = {n: [] for n in versions}
        for run in range(args.runs):
            for name, root in versions.items():
                pdir = ""
                if args.profile:
                    pdir = f"{tmp}/prof-{name}-{run}"
                    os.makedirs(pdir)
                out = run_child(Path(tmp), root=root, code=CHILD, args=[pdir, str(args.rounds)])
                results[name] += out  # type: ignore[arg-type]
        print(f"load average after: {os.getloadavg()}")
        for name, samples in results.items():
            print(f"\n== {name} ({versions[name]})")
            for kind in ("switch", "link"):
                print(summary(samples, kind))
            slowest = sorted(samples, key=lambda s: -float(s["idle"]))[:8]  # type: ignore[arg-type]
            print(
                "slowest samples (ms): kind label idle frame cpu frames@ gc(gen,ms,at) layouts(at,ms)"
            )
            for s in slowest:
                print(
                    f"  {s['kind']} {s['label']} {ms(float(s['idle']))} {ms(float(s['frame']))} "  # type: ignore[arg-type]
                    f"{ms(float(s['cpu']))} {s['frame_times']} {s['gc']} {s['layouts']}"  # type: ignore[arg-type]
                )
            if args.profile:
                for kind in ("switch", "link"):
                    rows = sorted(
                        (s for s in samples if s["kind"] == kind),
                        key=lambda s: float(s["idle"]),  # type: ignore[arg-type]
                    )
                    k = max(1, len(rows) // 6)
                    mid = len(rows) // 2
                    print(f"\n{kind}: the {k} slowest against the {k} around the median")
                    print(
                        profile_diff(
                            [str(s["profile"]) for s in rows[-k:]],
                            [str(s["profile"]) for s in rows[mid - k // 2 : mid - k // 2 + k]],
                        )
                    )
        if args.dump:
            args.dump.write_text(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
