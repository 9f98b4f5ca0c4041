"""A scanned graph's node bytes let go and read back from the file (formats/node_bytes.py,
``GraphIndex.release_node_bytes``): the same nodes as a full decode, and one FormatError line,
never other bytes, when the file changed on disk since it was read."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

import pytest

from graphtui._proto import pb
from graphtui.core import graph as graph_module
from graphtui.core.graph import GraphIndex
from graphtui.core.metagraph import read_meta_graph
from graphtui.errors import FormatError
from graphtui.formats.node_bytes import CHANGED, CLOSED, NodeBytes, read_keeping_file
from graphtui.formats.node_scan import scan_meta_graph
from tests.unit.test_node_scan import DATA, _binary_metas, _meta, _node

TRAIN_META = next(iter(sorted((DATA / "train").glob("*.meta"))), None)


def _graph_file(tmp_path: Path, count: int = 50) -> Path:
    nodes = [
        _node(f"n{i}", "Identity" if i else "Const", *([f"n{i - 1}"] if i else []))
        for i in range(count)
    ]
    path = tmp_path / "g.meta"
    path.write_bytes(_meta(*[b"\x0a" + bytes([len(n)]) + n for n in nodes]))
    return path


def _bump_mtime(path: Path) -> None:
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def test_released_bytes_read_back_the_same(tmp_path: Path) -> None:
    path = tmp_path / "f"
    data = bytes(range(256)) * 40
    path.write_bytes(data)
    source = read_keeping_file(str(path), too_large="too large")
    assert source.data == data and source.release() and not source.in_memory
    for start, end in [(0, 1), (5, 300), (1000, len(data)), (len(data), len(data))]:
        assert source.read(start, end) == data[start:end]
    assert source.data == data and not source.in_memory  # a scan after it: a copy read back


@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_a_same_size_rewrite_in_one_tick_is_seen_by_the_samples(tmp_path: Path, where: str) -> None:
    """Size and time as at the read, one sampled range rewritten: one line, not its bytes."""
    path = tmp_path / "f"
    data = bytes(range(256)) * 4000  # ~1 MB: the samples are 16 ranges of 64 bytes
    path.write_bytes(data)
    st = os.stat(path)
    source = read_keeping_file(str(path), too_large="too large")
    assert source.release()
    at = {"start": 0, "middle": len(data) // 2 - 32, "end": len(data) - 1}[where]
    at = min((a for a, _ in source._samples), key=lambda a: abs(a - at))
    with open(path, "r+b") as fh:
        fh.seek(at)
        fh.write(b"\xff")
    _put_time_back(path, st)
    with pytest.raises(FormatError, match=CHANGED):
        source.read(100, 200)  # not the byte written: the samples say the file changed
    with pytest.raises(FormatError, match=CHANGED):
        source.data  # noqa: B018


def _fds_under(folder: Path) -> list[str]:
    """The files under ``folder`` this process has a descriptor open on."""
    out = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/self/fd/{fd}")
            if target.startswith(str(folder)):
                out.append(target)
    return out


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_close_closes_the_file_and_released_bytes_say_so(tmp_path: Path) -> None:
    path = tmp_path / "f"
    data = bytes(range(256)) * 10
    path.write_bytes(data)
    kept = read_keeping_file(str(path), too_large="too large")
    released = read_keeping_file(str(path), too_large="too large")
    assert released.release() and len(_fds_under(tmp_path)) == 2
    kept.close()
    released.close()
    released.close()  # twice: nothing more
    assert _fds_under(tmp_path) == []
    assert kept.read(3, 9) == data[3:9]  # still in memory
    with pytest.raises(FormatError) as closed:
        released.read(3, 9)
    assert str(closed.value) == f"{path}: {CLOSED}"
    index = GraphIndex.from_file(_graph_file(tmp_path))
    assert len(_fds_under(tmp_path)) == 1
    index.close()
    assert _fds_under(tmp_path) == []


def test_bytes_without_a_file_are_kept() -> None:
    source = NodeBytes(b"abc")
    assert not source.release() and source.data == b"abc" and source.read(1, 2) == b"b"


def _put_time_back(path: Path, st: os.stat_result) -> None:
    """A rewrite within one tick of a coarse clock: the size and modification time of before."""
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (os.stat(path).st_size, os.stat(path).st_mtime_ns) == (st.st_size, st.st_mtime_ns)


@pytest.mark.parametrize("change", ["truncated", "rewritten", "rewritten in one tick", "appended"])
def test_a_changed_file_gives_one_line(tmp_path: Path, change: str) -> None:
    path = _graph_file(tmp_path)
    data = path.read_bytes()
    index = GraphIndex.from_file(path)
    assert index.release_node_bytes()
    assert index.node("n3").input == ["n2"]  # read back from the file
    if change == "truncated":
        os.truncate(path, len(data) // 2)
    elif change == "rewritten":  # same size, other bytes
        path.write_bytes(data.replace(b"Identity", b"Identitx"))
        _bump_mtime(path)  # a coarse clock could give the same time within one tick
    elif change == "rewritten in one tick":  # in place: size and time as before
        st = os.stat(path)
        with open(path, "r+b") as fh:
            fh.write(data.replace(b"Identity", b"Identitx"))
        _put_time_back(path, st)
    else:
        with open(path, "ab") as fh:
            fh.write(b"\x00")
    expected = f"{path}: {CHANGED}"
    with pytest.raises(FormatError) as node_error:
        index.node("n7")
    assert str(node_error.value) == expected
    with pytest.raises(FormatError) as whole_error:
        index.meta_graph  # noqa: B018 - the whole message for a write
    assert str(whole_error.value) == expected
    assert "\n" not in expected


def test_a_file_replaced_by_rename_keeps_serving_the_old_one(tmp_path: Path) -> None:
    path = _graph_file(tmp_path)
    want = read_meta_graph(path)
    index = GraphIndex.from_file(path)
    assert index.release_node_bytes()
    other = tmp_path / "other.meta"
    other.write_bytes(_meta(b"\x0a\x07" + _node("x", "NoOp")))
    os.replace(other, path)
    assert index.node("n9") == want.graph_def.node[9]
    assert index.meta_graph == want


def test_release_is_a_no_op_without_a_table(tmp_path: Path) -> None:
    text = tmp_path / "t.meta"
    text.write_text('graph_def { node { name: "a" op: "NoOp" } }\n')
    assert not GraphIndex.from_file(text).release_node_bytes()
    data = _graph_file(tmp_path).read_bytes()  # bytes without a file (a remote object's)
    table = scan_meta_graph(data)
    assert table is not None
    shell = pb.MetaGraphDef()
    shell.ParseFromString(table.shell)
    index = GraphIndex(shell, path="remote.meta", nodes=table)
    assert not index.release_node_bytes()
    assert index.node("n4").input == ["n3"]


def test_whole_decode_reads_back_in_pieces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pieces smaller than a node, and than several: each decodes on its own."""
    path = _graph_file(tmp_path, count=300)
    want = read_meta_graph(path)
    for piece in (1, 37, 1000):
        monkeypatch.setattr(graph_module, "_RUN_PIECE", piece)
        index = GraphIndex.from_file(path)
        assert index.release_node_bytes()
        assert index.meta_graph == want


@pytest.mark.parametrize("path", _binary_metas(), ids=lambda p: p.name)
def test_after_release_every_node_is_the_full_decode(path: Path, tmp_path: Path) -> None:
    """Fixtures and the real-world files (skipped when ../shared/realworld is absent)."""
    copy = tmp_path / path.name
    shutil.copyfile(path, copy)  # a copy: nothing may change the source while it is read
    want = read_meta_graph(copy)
    index = GraphIndex.from_file(copy)
    released = index.release_node_bytes()
    assert released == (index._table is not None)
    nodes = want.graph_def.node
    assert index.names == [n.name for n in nodes]
    for i, name in enumerate(index.names):
        if index.index_of(name) == i:  # duplicates resolve to the first node
            assert index.node(name) == nodes[i]
    assert index.meta_graph == want


@pytest.mark.skipif(TRAIN_META is None, reason="no train fixture")
async def test_app_warm_up_releases_and_shows_details(tmp_path: Path) -> None:
    """The warm-up lets the bytes go; details are read back from the file, and a file cut
    short meanwhile shows the one line in the details pane (no traceback, no wrong node)."""
    from graphtui.tui.widgets.node_details import NodeDetails
    from tests.tui.conftest import SIZE, TRAIN, make_app, screen_text, settle

    train = tmp_path / "train"
    shutil.copytree(TRAIN, train)
    app = make_app(train)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        graph = app.ws.graph
        assert graph is not None and app.workspace.indexes_built
        table = graph._table
        assert table is not None and table.released  # the warm-up let the bytes go
        details = app.workspace.query_one(NodeDetails)
        assert app.workspace.jump_to_node("model/layer_1/dense/kernel/read")
        await settle(pilot)
        assert details.path == "model/layer_1/dense/kernel/read"
        text = screen_text(app)
        assert "op Identity" in text and "Inputs (1)" in text and "Consumers" in text
        meta = Path(app.ws.meta_path or "")
        assert meta.parent == train
        os.truncate(meta, meta.stat().st_size // 2)
        assert app.workspace.jump_to_node("save/Assign_17")
        await settle(pilot)
        assert details.path == "save/Assign_17"
        prompts = (details.get_option_at_index(i).prompt for i in range(details.option_count))
        shown = [str(getattr(p, "plain", p)) for p in prompts]
        assert [line for line in shown if CHANGED in line] == [f"{meta}: {CHANGED}"]
