"""The format readers over gs://, s3:// and http:// answer exactly as over local files, with
range requests: bytes transferred are counted, errors are one line naming the URL."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from graphtui.errors import ChecksumError, FormatError, MissingExtraError, MissingFileError
from graphtui.formats import remote as remote_mod
from graphtui.formats.bundle import BundleReader
from graphtui.formats.byte_source import is_url, read_file
from graphtui.formats.state_file import read_state
from tests.counting_meter import CountingMeter
from tests.remote.conftest import FIXTURES, Remote

V2_PREFIXES = [
    "train/model.ckpt-50",
    "sharded/model.ckpt",
    "partitioned/model.ckpt",
    "dtypes/model.ckpt",
    "tf2/saved_model/variables/variables",
]


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    if a.dtype == object or b.dtype == object:
        return a.shape == b.shape and a.tolist() == b.tolist()
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def test_is_url() -> None:
    assert is_url("gs://b/x") and is_url("s3://b") and is_url("https://h/x.ckpt")
    assert is_url("memory://x") and is_url("abfs://c/x")
    assert not is_url("model.ckpt") and not is_url("/tmp/x") and not is_url("C:\\x")
    assert not is_url("dir/a://b")


@pytest.mark.parametrize("rel", V2_PREFIXES)
def test_bundle_over_url_equals_local(remote: Remote, rel: str) -> None:
    with BundleReader(FIXTURES / rel) as local, BundleReader(remote.url(rel)) as far:
        assert far.names() == local.names()
        assert far.num_shards == local.num_shards
        for name in local.names():
            if local.entry(name).dtype.name == "variant":
                continue
            assert _same(far.read(name), local.read(name)), name
        assert far.verify() == []


def test_ls_transfers_the_index_only(remote: Remote) -> None:
    rel = "train/model.ckpt-50"
    index_size = (FIXTURES / f"{rel}.index").stat().st_size
    before = remote_mod.STATS.snapshot()
    with BundleReader(remote.url(rel)) as far:
        assert len(far.names()) > 10
    requests, nbytes = (a - b for a, b in zip(remote_mod.STATS.snapshot(), before, strict=True))
    assert nbytes <= index_size + 4096
    assert requests <= 2  # size, then the whole index in one range


def test_cat_of_one_tensor_transfers_its_size_plus_one_block(remote: Remote) -> None:
    rel = "dtypes/model.ckpt"
    with BundleReader(remote.url(rel)) as far:
        entry = far.entry("t_string")
        before = remote_mod.STATS.snapshot()
        far.read("t_string")
        after = remote_mod.STATS.snapshot()
        assert after[1] - before[1] <= entry.size + remote_mod.BLOCK_SIZE
        assert after[0] - before[0] <= 2  # the shard's size, then one range
        far.read("t_string")  # cached: nothing more
        assert remote_mod.STATS.snapshot() == after
    if remote.server is not None:  # the server's own count agrees on the bytes sent
        before_srv = remote.server.counters.snapshot()
        with BundleReader(remote.url(rel)) as far:
            far.read("t_float32_3d")
        sent = remote.server.counters.snapshot()[1] - before_srv[1]
        index_size = (FIXTURES / f"{rel}.index").stat().st_size
        assert sent <= index_size + far.entry("t_float32_3d").size + remote_mod.BLOCK_SIZE


def test_big_tensor_is_one_exact_range(remote: Remote) -> None:
    rel = "dtypes/model.ckpt"
    with BundleReader(remote.url(rel)) as far:
        name = max(far.names(), key=lambda n: far.entry(n).size)
        far.read(far.names()[0])  # shard opened
        before = remote_mod.STATS.snapshot()
        far.read(name)
        requests, nbytes = (a - b for a, b in zip(remote_mod.STATS.snapshot(), before, strict=True))
        assert requests <= 1 and nbytes <= far.entry(name).size + remote_mod.BLOCK_SIZE


def test_state_file_over_url(remote: Remote) -> None:
    local = read_state(FIXTURES / "train" / "checkpoint")
    assert read_state(remote.url("train/checkpoint")) == local


def test_corrupt_remote_tensor_is_reported_by_verify(store: Remote) -> None:
    src = FIXTURES / "train"
    dst = f"fixtures/corrupt-{store.kind}"
    for path in src.glob("model.ckpt-50.*"):
        data = bytearray(path.read_bytes())
        if ".data-" in path.name:
            data[len(data) // 2] ^= 0xFF
        store.fs.pipe_file(f"{dst}/{path.name}", bytes(data))
    url = f"{store.base.split('://')[0]}://{dst}/model.ckpt-50"
    with BundleReader(url) as far:
        problems = far.verify()
    assert len(problems) == 1 and isinstance(problems[0], ChecksumError)
    assert "model.ckpt-50.data-00000-of-00001" in str(problems[0])
    assert str(problems[0]).startswith(url.split("model.ckpt")[0])


def test_stream_with_many_chunks_checks_tensors_across_chunks(
    remote: Remote, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tiny pieces and chunks: tensors straddle many chunks, many pieces run at once."""
    from graphtui.formats import bundle_stream

    monkeypatch.setattr(remote_mod, "STREAM_CHUNK", 97)  # fetched ranges (gcs)
    monkeypatch.setattr(remote_mod, "STREAM_PIECE", 97)  # streamed ranges (s3, http)
    monkeypatch.setattr(bundle_stream, "PIECE_MIN", 500)
    with BundleReader(remote.url("dtypes/model.ckpt")) as far:
        assert far.verify() == []


def test_verify_streams_one_request_per_piece(
    remote: Remote, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each piece of whole tensors is one streamed range request (s3, gcs, http)."""
    from graphtui.formats import bundle_stream

    monkeypatch.setattr(bundle_stream, "PIECE_MIN", 1000)
    seen: list[int] = []
    real = bundle_stream.plan_pieces

    def counting(*args: object, **kw: object) -> list:  # type: ignore[type-arg]
        pieces = real(*args, **kw)  # type: ignore[arg-type]
        seen.append(len(pieces))
        return pieces

    monkeypatch.setattr(bundle_stream, "plan_pieces", counting)
    with BundleReader(remote.url("dtypes/model.ckpt")) as far:
        far.read(far.names()[0])  # index and shard size fetched
        data = sum(e.size for e in (far.entry(n) for n in far.names()))
        before = remote_mod.STATS.snapshot()
        assert far.verify() == []
        requests, nbytes = (a - b for a, b in zip(remote_mod.STATS.snapshot(), before, strict=True))
    assert sum(seen) > 1
    assert requests == sum(seen)
    assert data <= nbytes <= data + 1024 * sum(seen)  # alignment padding between tensors


def test_plan_pieces_keeps_tensors_whole_and_overlaps_together() -> None:
    from graphtui.formats.bundle_stream import plan_pieces
    from graphtui.formats.byte_source import MemorySource

    class E:
        def __init__(self, name: str, offset: int, size: int) -> None:
            self.name, self.offset, self.size = name, offset, size

    src = MemorySource(b"x" * 1000)
    entries = [E("a", 0, 40), E("b", 40, 40), E("c", 80, 300), E("d", 100, 10), E("e", 380, 5)]
    pieces = plan_pieces("p", src, entries, 100)  # type: ignore[arg-type]
    assert [[e.name for e in p.entries] for p in pieces] == [["a", "b"], ["c", "d"], ["e"]]
    assert [(p.start, p.end) for p in pieces] == [(0, 80), (80, 380), (380, 385)]


def test_a_server_ignoring_range_still_verifies(http_remote: Remote) -> None:
    """A web server that answers a Range request with the whole object (200): the reader
    skips to the range it asked for."""
    with BundleReader(http_remote.url("norange/dtypes/model.ckpt")) as far:
        assert far.verify() == []
        local = BundleReader(FIXTURES / "dtypes/model.ckpt")
        name = max(local.names(), key=lambda n: local.entry(n).size)
        assert _same(far.read(name), local.read(name))
        local.close()


def test_missing_object_is_one_line(remote: Remote) -> None:
    url = remote.url("train/nothing-here")
    with pytest.raises(MissingFileError) as err:
        BundleReader(url)
    text = str(err.value)
    assert "\n" not in text and url + ".index" in text


def test_missing_bucket(store: Remote) -> None:
    url = f"{store.base.split('://')[0]}://no-such-bucket-graphtui/model.ckpt"
    with pytest.raises(MissingFileError) as err:
        BundleReader(url)
    assert str(err.value) == f"{url}.index: no such bucket"


def test_forbidden_is_one_line(http_remote: Remote) -> None:
    url = http_remote.url("forbidden/model.ckpt")
    with pytest.raises(FormatError) as err:
        read_file(url)
    assert str(err.value) == f"{url}: access denied (403): the credentials may not read this"


def test_connection_refused_is_one_line() -> None:
    pytest.importorskip("aiohttp")
    from tests.remote.servers import free_port

    url = f"http://127.0.0.1:{free_port()}/model.ckpt"
    with pytest.raises(FormatError) as err:
        BundleReader(url)
    text = str(err.value)
    assert "\n" not in text and text.startswith(url) and "cannot connect" in text


def test_timeout_is_one_line(http_remote: Remote, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(remote_mod.TIMEOUT_ENV, "0.5")
    url = http_remote.url("slow/train/model.ckpt-50.data-00000-of-00001")
    with pytest.raises(FormatError) as err:
        read_file(url)
    assert str(err.value) == f"{url}: timed out waiting for the server"


def test_no_credentials_is_one_line(s3_remote: Remote, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.remote.servers import clear_fs_caches

    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    clear_fs_caches()
    url = s3_remote.url("train/model.ckpt-50")
    try:
        with pytest.raises(FormatError) as err:
            BundleReader(url)
    finally:
        monkeypatch.undo()
        clear_fs_caches()
    text = str(err.value)
    assert "\n" not in text and url in text and "credentials" in text


@pytest.mark.parametrize(
    ("url", "module", "extra"),
    [
        ("s3://b/model.ckpt", "s3fs", "s3"),
        ("gs://b/model.ckpt", "gcsfs", "gcs"),
        ("https://h/model.ckpt", "fsspec", "remote"),
    ],
)
def test_missing_extra_names_it(
    url: str, module: str, extra: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # import fails as if not installed
    if module != "fsspec" and "fsspec" in sys.modules:
        registry = sys.modules["fsspec.registry"]._registry  # classes already imported
        for scheme in ("s3", "s3a", "gs", "gcs"):
            monkeypatch.delitem(registry, scheme, raising=False)
    if module == "fsspec":
        for name in [m for m in sys.modules if m.startswith("fsspec.")]:
            monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(MissingExtraError) as err:
        BundleReader(url)
    assert f"pip install 'graphtui[{extra}]'" in str(err.value)
    assert str(err.value).startswith(url)


def test_cancel_stops_a_range_in_flight(http_remote: Remote) -> None:
    """What the app's Esc does: every range request in flight raises TransferCancelled."""
    import threading
    import time

    from graphtui.errors import TransferCancelled

    url = http_remote.url("slow/train/model.ckpt-50")
    far = BundleReader(url)  # the index is not slow
    errors: list[BaseException] = []

    def read() -> None:
        try:
            far.read("global_step")
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    thread = threading.Thread(target=read)
    thread.start()
    deadline = time.monotonic() + 5
    while remote_mod.STATS.in_flight()[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert remote_mod.STATS.in_flight()[0] == 1, errors
    assert remote_mod.STATS.cancel() == 1
    thread.join(2)
    assert not thread.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], TransferCancelled)
    assert str(errors[0]).endswith(": cancelled") and url in str(errors[0])
    far.close()


def test_remote_verify_reports_progress(remote: Remote) -> None:
    """The CLI's progress bar: a remote verify expects its tensors' bytes and advances to
    exactly that (the padding between tensors passes by too, but is not counted past it)."""
    from graphtui.formats import progress

    meter = CountingMeter()
    with BundleReader(remote.url("dtypes/model.ckpt")) as far:
        size = sum(far.entry(n).size for n in far.names())
        with progress.metered(meter):
            assert far.verify() == []
    assert meter.total == size and meter.done == size


def test_a_missing_remote_shard_is_one_verify_problem(store: Remote) -> None:
    """The other shard is still streamed and checked; the missing one is said once."""
    dst = f"fixtures/missing-shard-{store.kind}"
    for path in (FIXTURES / "sharded").glob("model.ckpt.*"):
        if not path.name.endswith("00001-of-00002"):
            store.fs.pipe_file(f"{dst}/{path.name}", path.read_bytes())
    url = f"{store.base.split('://')[0]}://{dst}/model.ckpt"
    with BundleReader(url) as far:
        problems = far.verify()
    assert [str(p) for p in problems] == [f"{url}.data-00001-of-00002: data shard is missing"]
