"""Checkpoints in a bucket: bytes and requests for ls, cat, the app's first screen and verify.

A 2 GiB / 2,000-tensor V2 checkpoint (bench/_build.py's ``many``, log-uniform sizes, in 16
data shards) is put in a local S3 server (moto, server mode) and read through a delaying proxy (tests/remote/servers.py ``Proxy``) that adds 20 ms to
every request (a far-away bucket) and counts requests and response bytes. graphtui runs as a
fresh process (``graphtui ls`` / ``cat`` / ``verify``) against ``AWS_ENDPOINT_URL`` = the
proxy; the app's first screen is measured in-process (``App.run_test`` until every worker is
done). ``verify`` is compared with fsspec's ``get`` of the same objects through the same proxy,
in the same run (what ``aws s3 cp --recursive`` does).

    .venv/bin/python bench/remote_bench.py [--gib 2] [--results]

``--results`` writes the table into bench/RESULTS.md (section "Checkpoints in a bucket").
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")

from bench._build import GiB, _random, many_shapes, write_checkpoint  # noqa: E402
from tests.remote.servers import S3_ENV, Proxy, clear_fs_caches, env, s3_server  # noqa: E402

DELAY = 0.020
BUCKET = "bench"
MiB = 1 << 20


def build_sharded(prefix: Path, total: int, shards: int = 16) -> None:
    """bench/_build.py's ``many`` checkpoint (same names, shapes and values) saved in
    ``shards`` data files, as a sharded Saver writes a big model (and so that no object needs
    a multipart upload: moto's server assembles those in memory)."""
    import numpy as np

    from graphtui._proto import pb
    from graphtui.formats.bundle import BundleReader
    from graphtui.formats.sstable_writer import TableWriter

    rng = np.random.default_rng(7)
    shapes = many_shapes(total)
    per = -(-len(shapes) // shards)
    entries: dict[bytes, bytes] = {}
    for k in range(shards):
        part = str(prefix) + f".part{k}"
        write_checkpoint(part, ((n, _random(rng, s)) for n, s in shapes[k * per : (k + 1) * per]))
        with BundleReader(part) as reader:
            for key, value in reader.table.items():
                if key == b"":
                    continue
                entry = pb.BundleEntryProto()
                entry.ParseFromString(bytes(value))
                entry.shard_id = k
                entries[bytes(key)] = entry.SerializeToString(deterministic=True)
        os.rename(part + ".data-00000-of-00001", f"{prefix}.data-{k:05d}-of-{shards:05d}")
        os.unlink(part + ".index")
    header = pb.BundleHeaderProto(num_shards=shards)
    with open(str(prefix) + ".index", "wb") as out:
        table = TableWriter(out)
        table.add(b"", header.SerializeToString(deterministic=True))
        for key in sorted(entries):
            table.add(key, entries[key])
        table.finish()


def _fresh(argv: list[str], proxy_url: str) -> tuple[float, int, str]:
    """Wall time, exit code and stdout of ``graphtui ARGV`` in a fresh process via the proxy."""
    child_env = {**os.environ, **S3_ENV, "AWS_ENDPOINT_URL": proxy_url}
    child_env.pop("PYTHONPATH", None)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "graphtui", *argv],
        env=child_env,
        capture_output=True,
        text=True,
        check=False,
    )
    return time.perf_counter() - start, done.returncode, done.stdout + done.stderr


def _measure(proxy: Proxy, fn: Any) -> tuple[float, int, int, Any]:
    before = proxy.snapshot()
    start = time.perf_counter()
    out = fn()
    wall = time.perf_counter() - start
    after = proxy.snapshot()
    return wall, after[0] - before[0], after[1] - before[1], out


def _first_screen(url: str) -> None:
    """Open the app on ``url`` and wait until the first screen and its workers are done."""
    from graphtui.core.workspace import open_workspace
    from graphtui.tui.app import GraphtuiApp

    async def run() -> None:
        app = GraphtuiApp(open_workspace(url))
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
        app.ws.close()

    asyncio.run(run())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gib", type=float, default=2.0, help="checkpoint size (default 2)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--results", action="store_true", help="write bench/RESULTS.md")
    args = parser.parse_args()
    total = int(args.gib * GiB)
    work = Path(tempfile.mkdtemp(prefix="graphtui-remote-bench-"))
    rows: list[tuple[str, str, str, str, str, str]] = []
    try:
        prefix = work / "run" / "model.ckpt-1000"
        t = time.perf_counter()
        build_sharded(prefix, total)
        (work / "run" / "checkpoint").write_text(
            'model_checkpoint_path: "model.ckpt-1000"\n'
            'all_model_checkpoint_paths: "model.ckpt-1000"\n'
        )
        print(f"built {total / GiB:.2f} GiB in {time.perf_counter() - t:.1f} s", flush=True)
        with s3_server() as endpoint:
            clear_fs_caches()
            import fsspec

            direct = fsspec.filesystem("s3")
            direct.mkdir(BUCKET)
            t = time.perf_counter()
            for path in sorted((work / "run").iterdir()):
                direct.pipe_file(f"{BUCKET}/run/{path.name}", path.read_bytes())
            print(f"uploaded in {time.perf_counter() - t:.1f} s", flush=True)
            from graphtui.core.checkpoint import load_checkpoint

            reader = load_checkpoint(str(prefix))
            index_size = (work / "run" / "model.ckpt-1000.index").stat().st_size
            data_size = sum(p.stat().st_size for p in (work / "run").glob("*.data-*"))
            names = reader.names()
            infos = {n: reader.tensor_info(n).nbytes for n in names}
            small = min(names, key=lambda n: abs(infos[n] - 4096))
            big = max(names, key=lambda n: infos[n])
            reader.close()
            with Proxy(endpoint, delay=DELAY) as proxy, env({"AWS_ENDPOINT_URL": proxy.url}):
                url = f"s3://{BUCKET}/run"
                cases = [
                    ("ls", ["ls", url, "--json"]),
                    ("cat small", ["cat", url, small, "--json"]),
                    ("cat big", ["cat", url, big, "--json"]),
                    ("verify", ["verify", url]),
                ]
                results: dict[str, list[tuple[float, int, int]]] = {k: [] for k, _ in cases}
                results["local ls"] = []
                results["get"] = []
                results["app"] = []
                for _ in range(args.runs):
                    print(f"load {os.getloadavg()[0]:.2f}", flush=True)
                    for key, argv in cases:
                        wall, nreq, nbytes, (_, code, text) = _measure(
                            proxy, lambda argv=argv: _fresh(argv, proxy.url)
                        )
                        if code != 0:
                            print(text, file=sys.stderr)
                            raise SystemExit(f"graphtui {' '.join(argv)} failed")
                        results[key].append((wall, nreq, nbytes))
                        print(
                            f"{key}: {wall:.3f} s {nreq} req {nbytes} B "
                            f"(answers broken off so far: {proxy.aborted})",
                            flush=True,
                        )
                    wall, _, _ = _fresh(["ls", str(work / "run"), "--json"], proxy.url)
                    results["local ls"].append((wall, 0, 0))
                    print(f"local ls: {wall:.3f} s", flush=True)
                    clear_fs_caches()
                    down = work / "down"
                    shutil.rmtree(down, ignore_errors=True)
                    down.mkdir()
                    fs = fsspec.filesystem("s3")
                    wall, nreq, nbytes, _ = _measure(
                        proxy,
                        lambda fs=fs, down=down: fs.get(
                            f"{BUCKET}/run/", str(down) + "/", recursive=True
                        ),
                    )
                    results["get"].append((wall, nreq, nbytes))
                    print(
                        f"fsspec get: {wall:.3f} s {nreq} req {nbytes} B "
                        f"(answers broken off so far: {proxy.aborted})",
                        flush=True,
                    )
                    shutil.rmtree(down, ignore_errors=True)
                    clear_fs_caches()
                    wall, nreq, nbytes, _ = _measure(proxy, lambda: _first_screen(url))
                    results["app"].append((wall, nreq, nbytes))
                    print(f"app first screen: {wall:.3f} s {nreq} req {nbytes} B", flush=True)
        rows = _rows(results, index_size, data_size, infos[small], infos[big], args.runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    table = _table(rows, total, len(names), args.runs)
    print(table)
    if args.results:
        _write_results(table)
    return 0


def _median(values: list[float]) -> float:
    s = sorted(values)
    return s[len(s) // 2]


def _rows(
    results: dict[str, list[tuple[float, int, int]]],
    index_size: int,
    data_size: int,
    small: int,
    big: int,
    runs: int,
) -> list[tuple[str, str, str, str, str, str]]:
    def med(key: str) -> tuple[float, int, int]:
        walls = [w for w, _, _ in results[key]]
        return _median(walls), results[key][-1][1], results[key][-1][2]

    ls, cs, cb, ver, get, app, local = (
        med(k) for k in ("ls", "cat small", "cat big", "verify", "get", "app", "local ls")
    )

    # verify's rate over get's, run by run (each pair measured minutes apart at most)
    ratios = [g / v for (v, _, _), (g, _, _) in zip(results["verify"], results["get"], strict=True)]
    rate = _median(ratios)
    return [
        (
            "`graphtui ls s3://…/run --json` (fresh process)",
            f"{ls[0]:.3f} s, {ls[1]} requests, {ls[2] / 1024:.0f} KiB",
            f"state file + index = {index_size / 1024:.0f} KiB; `graphtui ls` of the same "
            f"directory on local disk {local[0]:.3f} s (start-up and imports)",
            "< 1 s and < 1 MiB",
            "yes" if ls[0] < 1 and ls[2] < MiB else "**no**",
            str(runs),
        ),
        (
            f"`graphtui cat` of a {small / 1024:.0f} KiB tensor (fresh process)",
            f"{cs[0]:.3f} s, {cs[1]} requests, {cs[2] / 1024:.0f} KiB",
            f"index {index_size / 1024:.0f} KiB + tensor {small / 1024:.0f} KiB + one 256 KiB block",
            "the tensor in one or two requests",
            _one_or_two(cs[1] - ls[1]),
            str(runs),
        ),
        (
            f"`graphtui cat` of the largest tensor, {big / MiB:.1f} MiB (fresh process)",
            f"{cb[0]:.3f} s, {cb[1]} requests, {cb[2] / MiB:.1f} MiB",
            f"index + tensor = {(index_size + big) / MiB:.1f} MiB",
            "the tensor in one or two requests",
            _one_or_two(cb[1] - ls[1]),
            str(runs),
        ),
        (
            "app first screen on `s3://…/run` (in-process, until every worker is done)",
            f"{app[0]:.3f} s, {app[1]} requests, {app[2] / 1024:.0f} KiB",
            "state file + index (no graph: no .meta here)",
            "-",
            "-",
            str(runs),
        ),
        (
            "`graphtui verify s3://…/run` (fresh process, every checksum)",
            f"{ver[0]:.3f} s ({data_size / ver[0] / MiB:.0f} MiB/s), {ver[1]} requests, "
            f"{ver[2] / MiB:.0f} MiB",
            f"fsspec `get` of the same objects {get[0]:.3f} s ({data_size / get[0] / MiB:.0f} "
            f"MiB/s), {get[1]} requests, {get[2] / MiB:.0f} MiB",
            ">= 0.5 of get's rate",
            f"{'yes' if rate >= 0.5 else '**no**'} ({rate:.2f}; runs "
            + ", ".join(f"{r:.2f}" for r in ratios)
            + ")",
            str(runs),
        ),
    ]


def _one_or_two(extra: int) -> str:
    """Met when the tensor cost one or two requests more than ``ls``."""
    return f"{'yes' if extra <= 2 else '**no**'} ({extra} more than ls)"


def _table(rows: list[tuple[str, ...]], total: int, count: int, runs: int) -> str:
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    head = [
        "## Checkpoints in a bucket (bench/remote_bench.py)",
        "",
        f"Command: `.venv/bin/python bench/remote_bench.py --results` ({runs} runs, median "
        f"wall time; requests and bytes from the proxy's counters, last run). Machine: nproc "
        f"{os.cpu_count()}, {platform.processor() or platform.machine()}, load average "
        f"{load}. A {total / GiB:.2f} GiB V2 checkpoint of {count:,} float32 tensors "
        "(bench/_build.py `many`, 16 data shards) in moto's S3 server, read through a proxy adding "
        f"{DELAY * 1000:.0f} ms to every request.",
        "",
        "| figure | graphtui | compared with | goal | met | runs |",
        "|---|---|---|---|---|---|",
    ]
    return "\n".join(head + ["| " + " | ".join(r) + " |" for r in rows]) + "\n"


def _write_results(table: str) -> None:
    path = ROOT / "bench" / "RESULTS.md"
    text = path.read_text()
    start = text.find("## Checkpoints in a bucket")
    if start >= 0:
        nxt = re.search(r"^## ", text[start + 3 :], re.M)
        end = start + 3 + nxt.start() if nxt else len(text)
        text = text[:start] + table + "\n" + text[end:]
    else:
        text = text.rstrip("\n") + "\n\n" + table
    path.write_text(text)


if __name__ == "__main__":
    raise SystemExit(main())
