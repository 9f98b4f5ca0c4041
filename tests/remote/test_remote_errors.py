"""Errors of the object stores, each one line naming the URL: a fault-injecting proxy in front
of the real servers (moto, gcp-storage-emulator) answers what a real bucket answers (403,
GCS's 401 to an anonymous caller) or stalls; a closed port refuses the connection. Each case
runs the CLI too: one ``graphtui: error:`` line, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from graphtui.cli import main
from graphtui.errors import FormatError
from graphtui.formats import remote as remote_mod
from graphtui.formats.bundle import BundleReader
from tests.remote.conftest import Remote
from tests.remote.servers import Fault, FaultRule, Proxy, clear_fs_caches, env, free_port

ROOT = Path(__file__).resolve().parents[2]
_ENDPOINT = {"s3": "AWS_ENDPOINT_URL", "gcs": "STORAGE_EMULATOR_HOST"}

S3_DENIED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
    b"<Message>Access Denied</Message><RequestId>1</RequestId></Error>"
)
GCS_DENIED = (
    b'{"error": {"code": 403, "message": "caller does not have storage.objects.get access '
    b'to the Google Cloud Storage object.", "errors": [{"reason": "forbidden"}]}}'
)
GCS_ANONYMOUS = (
    b'{"error": {"code": 401, "message": "Anonymous caller does not have storage.objects.get '
    b'access to the Google Cloud Storage object.", "errors": [{"reason": "required"}]}}'
)


@pytest.fixture
def through(store: Remote) -> Iterator[tuple[Remote, Proxy]]:
    """``store`` reached through a :class:`Proxy` (no fault until a test sets one)."""
    var = _ENDPOINT[store.kind]
    with Proxy(os.environ[var]) as proxy, env({var: proxy.url}):
        clear_fs_caches()
        try:
            yield store, proxy
        finally:
            clear_fs_caches()
    clear_fs_caches()


def _one_line(capsys: pytest.CaptureFixture[str], url: str, *argv: str) -> str:
    code = main([*argv, url])
    out, err = capsys.readouterr()
    assert code == 1 and out == "", err
    assert err.count("\n") == 1 and err.startswith("graphtui: error: "), err
    assert "Traceback" not in err and url in err
    return err


def _always(fault: Fault) -> FaultRule:
    return lambda _method, _path, _headers: fault


def test_the_proxy_passes_answers_through(
    through: tuple[Remote, Proxy], capsys: pytest.CaptureFixture[str]
) -> None:
    """The cases below differ from a working store only by the fault."""
    store, proxy = through
    with BundleReader(store.url("train/model.ckpt-50")) as far:
        assert far.verify() == []
    assert proxy.snapshot()[0] >= 3


def test_forbidden(through: tuple[Remote, Proxy], capsys: pytest.CaptureFixture[str]) -> None:
    store, proxy = through
    if store.kind == "s3":
        proxy.fault = _always(Fault(403, S3_DENIED))
    else:
        proxy.fault = _always(Fault(403, GCS_DENIED, "application/json"))
    url = store.url("train/model.ckpt-50")
    with pytest.raises(FormatError) as err:
        BundleReader(url)
    assert str(err.value) == (
        f"{url}.index: access denied (403): the credentials may not read this"
    )
    assert "access denied (403)" in _one_line(capsys, url, "ls")


def test_gcs_without_credentials(
    gcs_remote: Remote, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No credentials anywhere: gcsfs goes on anonymously, and a bucket that is not public
    answers 401 (what the proxy says to a request without an Authorization header)."""
    for var in ("GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", "/nonexistent/gcloud")
    monkeypatch.setenv("NO_GCE_CHECK", "true")  # no metadata-server probe
    seen: list[bool] = []

    def anonymous(_method: str, _path: str, headers: Any) -> Fault | None:
        seen.append("Authorization" in headers)
        if "Authorization" in headers:
            return None
        return Fault(401, GCS_ANONYMOUS, "application/json")

    with Proxy(os.environ["STORAGE_EMULATOR_HOST"], fault=anonymous) as proxy:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", proxy.url)
        clear_fs_caches()
        url = gcs_remote.url("train/model.ckpt-50")
        try:
            with pytest.raises(FormatError) as err:
                BundleReader(url)
            text = _one_line(capsys, url, "ls")
            # a fresh process, where no test harness catches the libraries' log records:
            # gcsfs logs this refusal with its traceback (logger.exception)
            done = subprocess.run(
                [sys.executable, "-m", "graphtui", "ls", url],
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
        finally:
            monkeypatch.undo()
            clear_fs_caches()
    assert seen and not any(seen)
    assert str(err.value) == (
        f"{url}.index: no credentials found (set the usual environment variables or config files)"
    )
    assert "no credentials found" in text
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith(f"graphtui: error: {url}") and done.stderr.count("\n") == 1
    assert done.stderr.endswith(": " + str(err.value).split(": ", 1)[1] + "\n")


def test_timeout(
    through: tuple[Remote, Proxy],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store, proxy = through
    monkeypatch.setenv(remote_mod.TIMEOUT_ENV, "0.5")
    proxy.fault = _always(Fault(sleep=3))
    url = store.url("train/model.ckpt-50")
    with pytest.raises(FormatError) as err:
        BundleReader(url)
    assert str(err.value) == f"{url}.index: timed out waiting for the server"
    assert "timed out waiting for the server" in _one_line(capsys, url, "ls")


def test_a_stalled_data_shard_is_one_verify_problem(
    through: tuple[Remote, Proxy], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index comes, the data shard's ranges stall: verify reports it, once, and ends."""
    store, proxy = through
    url = store.url("train/model.ckpt-50")
    reader = BundleReader(url)
    reader.shard_source(0)  # the shard's size is known
    monkeypatch.setenv(remote_mod.TIMEOUT_ENV, "0.5")

    def stall(method: str, path: str, _headers: Any) -> Fault | None:
        return Fault(sleep=3) if method == "GET" and ".data-" in path else None

    proxy.fault = stall
    problems = reader.verify()
    reader.close()
    assert [str(p) for p in problems] == [
        f"{url}.data-00000-of-00001: timed out waiting for the server"
    ]


@pytest.mark.parametrize("kind", ["s3", "gcs"])
def test_connection_refused(
    kind: str,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store: Remote = request.getfixturevalue(f"{kind}_remote")
    if kind == "gcs":  # gcsfs retries a refused connection 5 times, 1+2+4+8+16 s apart
        import asyncio
        import types

        import gcsfs.retry

        async def no_wait(_seconds: float) -> None:
            await asyncio.sleep(0)

        monkeypatch.setattr(gcsfs.retry, "asyncio", types.SimpleNamespace(sleep=no_wait))
    monkeypatch.setenv(_ENDPOINT[kind], f"http://127.0.0.1:{free_port()}")
    clear_fs_caches()
    url = store.url("train/model.ckpt-50")
    try:
        with pytest.raises(FormatError) as err:
            BundleReader(url)
        text = _one_line(capsys, url, "ls")
    finally:
        monkeypatch.undo()
        clear_fs_caches()
    assert str(err.value).startswith(f"{url}.index: cannot connect to the server")
    assert "\n" not in str(err.value)
    assert "cannot connect to the server" in text


def test_a_stream_that_breaks_off_is_asked_again_from_there(
    through: tuple[Remote, Proxy], monkeypatch: pytest.MonkeyPatch
) -> None:
    """verify's long ranges survive a connection dropped part way: the rest is asked for,
    from the last piece handed over (64 bytes here)."""
    store, proxy = through
    monkeypatch.setattr(remote_mod, "STREAM_PIECE", 64)
    url = store.url("dtypes/model.ckpt")
    reader = BundleReader(url)
    reader.shard_source(0)
    ranges: list[str] = []

    def cut_once(method: str, path: str, headers: Any) -> Fault | None:
        if method == "GET" and ".data-" in path and "Range" in headers:  # not listings
            ranges.append(headers["Range"])
            if len(ranges) == 1:
                return Fault(cut_after=100)
        return None

    proxy.fault = cut_once
    try:
        assert reader.verify() == []
    finally:
        reader.close()
    assert len(ranges) == 2
    first, second = ranges
    start, end = first.removeprefix("bytes=").split("-")
    assert second == f"bytes={int(start) + 64}-{end}"
