"""Objects in buckets and on web servers (``gs://``, ``s3://``, ``https://``, any fsspec URL),
read by range requests through fsspec, gcsfs and s3fs (the optional extras).

Credentials and endpoints come from the libraries' own places (``AWS_*`` variables and
``~/.aws``, ``GOOGLE_APPLICATION_CREDENTIALS``, ``STORAGE_EMULATOR_HOST``, gcloud's config);
graphtui stores none. Nothing is written to local disk. Every failure becomes one
:class:`~graphtui.errors.RemoteError` line naming the URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from graphtui.errors import (
    FormatError,
    MissingExtraError,
    MissingFileError,
    RemoteError,
    TransferCancelled,
)
from graphtui.formats.byte_source import ByteSource

BLOCK_SIZE = 256 << 10  # a small read fetches this much ahead (one table block, many tensors)
CACHE_BYTES = 32 << 20  # the read-ahead cache of one object
_CACHE_MAX_READ = 8 << 20  # bigger reads are not kept (a view of a big tensor pages it anyway)
STREAM_CHUNK = 8 << 20  # a range that cannot be streamed is fetched this much at a time
STREAM_IN_FLIGHT = 8  # verify streams this many ranges at a time
STREAM_PIECE = 4 << 20  # a streamed range is handed to its reader this much at a time
STREAM_RETRIES = 2  # a streamed range that stalls or breaks off is asked again from there
TIMEOUT_ENV = "GRAPHTUI_REMOTE_TIMEOUT"  # seconds one request may take (default 60)

# scheme -> (the package that serves it, the graphtui extra that installs it)
_EXTRAS: dict[str, tuple[str, str]] = {
    "gs": ("gcsfs", "gcs"),
    "gcs": ("gcsfs", "gcs"),
    "s3": ("s3fs", "s3"),
    "s3a": ("s3fs", "s3"),
    "http": ("aiohttp", "remote"),
    "https": ("aiohttp", "remote"),
}

T = TypeVar("T")


@dataclass
class TransferStats:
    """Requests made and bytes received through graphtui's remote reads (all objects), and
    the range requests in flight now (what the app shows while it waits)."""

    requests: int = 0
    bytes: int = 0
    pending: int = 0  # range requests in flight
    pending_bytes: int = 0  # bytes they asked for

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.generation = 0  # bumped by cancel(): requests started before it stop

    def begin(self, nbytes: int) -> int:
        with self._lock:
            self.pending += 1
            self.pending_bytes += nbytes
            return self.generation

    def end(self, nbytes: int) -> None:
        with self._lock:
            self.pending -= 1
            self.pending_bytes -= nbytes

    def in_flight(self) -> tuple[int, int]:
        """``(requests, bytes asked for)`` in flight now."""
        with self._lock:
            return self.pending, self.pending_bytes

    def cancel(self) -> int:
        """Stop every range request in flight (each raises TransferCancelled); how many."""
        with self._lock:
            self.generation += 1
            return self.pending

    def add(self, nbytes: int, requests: int = 1) -> None:
        with self._lock:
            self.requests += requests
            self.bytes += nbytes

    def snapshot(self) -> tuple[int, int]:
        with self._lock:
            return self.requests, self.bytes


STATS = TransferStats()


def scheme_of(url: str) -> str:
    return url.split("://", 1)[0].lower()


# The client libraries log the failures they raise (gcsfs logs a refused request with its
# traceback); with no logging configured Python prints such records on stderr. A handler that
# drops them keeps errors to graphtui's one line; an application that configures logging still
# receives them (they propagate to its root handlers).
_QUIET_LOGGERS = ("gcsfs", "s3fs", "fsspec", "aiobotocore", "botocore", "google")


def _quiet_libraries() -> None:
    for name in _QUIET_LOGGERS:
        log = logging.getLogger(name)
        if not any(isinstance(h, logging.NullHandler) for h in log.handlers):
            log.addHandler(logging.NullHandler())


def filesystem(url: str) -> tuple[Any, str]:
    """The fsspec filesystem serving ``url`` and the path inside it.

    A missing library is one line naming the extra to install."""
    _quiet_libraries()
    scheme = scheme_of(url)
    package, extra = _EXTRAS.get(scheme, ("fsspec", "remote"))
    try:
        import fsspec
    except ImportError:
        raise MissingExtraError(url, scheme, "fsspec", extra) from None
    try:
        fs, path = fsspec.core.url_to_fs(url)
    except ImportError:
        raise MissingExtraError(url, scheme, package, extra) from None
    except ValueError as exc:
        raise RemoteError(url, f"no filesystem for {scheme}:// URLs ({_first_line(exc)})") from None
    except Exception as exc:  # noqa: BLE001 - credentials or configuration the library refused
        raise remote_error(url, exc) from None
    return fs, path


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    line = text.splitlines()[0]
    return line if len(line) <= 200 else line[:200] + "..."


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status", None) or getattr(exc, "code", None)
    return status if isinstance(status, int) else None


def remote_error(url: str, exc: BaseException, *, missing: str = "not found") -> FormatError:
    """One line for what the server or the client library said about ``url``."""
    if isinstance(exc, FormatError):
        return exc
    cause = exc.__cause__
    if (
        isinstance(exc, FileNotFoundError)
        and cause is not None
        and not isinstance(cause, FileNotFoundError)
        and _status(cause) != 404
    ):
        exc = cause  # fsspec's HTTP info says "not found" for any failure: the cause tells
    text = _first_line(exc)
    lower = text.lower()
    name = type(exc).__name__
    status = _status(exc)
    if "nosuchbucket" in lower or ("bucket" in lower and "not exist" in lower):
        return MissingFileError(url, "no such bucket")
    if isinstance(exc, FileNotFoundError) or status == 404:
        return MissingFileError(url, f"{missing} (404)")
    if (
        "credential" in lower
        or name in ("NoCredentialsError", "PartialCredentialsError")
        or status == 401  # gcsfs without credentials goes on anonymously: the bucket says 401
        or "anonymous caller" in lower
    ):
        return RemoteError(
            url, "no credentials found (set the usual environment variables or config files)"
        )
    if (
        isinstance(exc, PermissionError)
        or status == 403
        or lower.startswith("forbidden")  # gcsfs: OSError("Forbidden: ...")
    ):
        return RemoteError(url, "access denied (403): the credentials may not read this")
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)) or "timeout" in name.lower():
        return _transient(RemoteError(url, "timed out waiting for the server"))
    if "payload" in name.lower() or "disconnected" in name.lower():  # aiohttp, mid-answer
        return _transient(RemoteError(url, f"the connection broke off ({text})"))
    if (
        isinstance(exc, ConnectionError)
        or "connect" in name.lower()
        or "connection refused" in lower
        or "cannot connect" in lower
    ):
        return _transient(RemoteError(url, f"cannot connect to the server ({text})"))
    if isinstance(status, int):
        return RemoteError(url, f"server answered HTTP {status}: {text}")
    return RemoteError(url, f"{name}: {text}")


def _transient(err: RemoteError) -> RemoteError:
    err.transient = True
    return err


def request_timeout() -> float:
    """Seconds one request may take: ``GRAPHTUI_REMOTE_TIMEOUT``, else 60."""
    try:
        return max(0.1, float(os.environ.get(TIMEOUT_ENV, "60")))
    except ValueError:
        return 60.0


def call(url: str, fn: Callable[..., T], *args: Any, missing: str = "not found", **kw: Any) -> T:
    """``fn(*args, **kw)`` with any failure turned into one line naming ``url``; a method of
    an async filesystem gets the request timeout."""
    owner = getattr(fn, "__self__", None) or getattr(
        getattr(fn, "__wrapped__", None), "__self__", None
    )
    if getattr(owner, "async_impl", False):
        kw.setdefault("timeout", request_timeout())
    try:
        return fn(*args, **kw)
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except BaseException as exc:  # noqa: BLE001 - every library's errors, made one line
        raise remote_error(url, exc, missing=missing) from None


def no_bucket(url: str, fs: Any, path: str) -> None:
    """After a 404: raise "no such bucket" when it is the bucket that is missing."""
    split = getattr(fs, "split_path", None)
    if split is None:
        return
    try:
        bucket = split(path)[0]
        exists = bool(bucket) and fs.exists(bucket)
    except Exception:  # noqa: BLE001 - the 404 stands
        return
    if not exists:
        raise MissingFileError(url, "no such bucket") from None


class RemoteSource(ByteSource):
    """One remote object: its size from one metadata request, bytes by range requests.

    A read smaller than :data:`BLOCK_SIZE` fetches that much ahead and keeps it, so walking a
    table's blocks or neighbouring small tensors costs one request; a bigger read fetches
    exactly its bytes. So a tensor costs at most its size plus one block.
    """

    def __init__(
        self, url: str, *, missing: str = "not found", size: int | None = None, fs: Any = None
    ) -> None:
        self.name = url
        self.missing = missing
        if fs is None:
            self.fs, self.path = filesystem(url)
        else:
            self.fs, self.path = fs, fs._strip_protocol(url)
        if size is None:
            try:
                info = call(url, self.fs.info, self.path, missing=missing)
            except MissingFileError:
                no_bucket(url, self.fs, self.path)
                raise
            if info.get("type") == "directory":
                raise FormatError(url, "is a directory, not a file")
            got = info.get("size")
            if got is None:
                raise RemoteError(url, "the server does not say how large the object is")
            size = int(got)
        self.size = size
        self._cache: OrderedDict[int, bytes] = OrderedDict()  # start -> bytes, least recent first
        self._cached_bytes = 0
        self._lock = threading.Lock()

    def read(self, offset: int, length: int) -> memoryview:
        self._check_range(offset, length)
        if length == 0:
            return memoryview(b"")
        hit = self._lookup(offset, length)
        if hit is not None:
            return hit
        fetch = max(length, min(BLOCK_SIZE, self.size - offset))
        data = self.fetch(offset, offset + fetch)
        if fetch <= _CACHE_MAX_READ:
            self._store(offset, data)
        return memoryview(data)[:length]

    def _lookup(self, offset: int, length: int) -> memoryview | None:
        with self._lock:
            for start, data in self._cache.items():
                if start <= offset and offset + length <= start + len(data):
                    self._cache.move_to_end(start)
                    return memoryview(data)[offset - start : offset - start + length]
        return None

    def _store(self, start: int, data: bytes) -> None:
        with self._lock:
            old = self._cache.pop(start, None)
            if old is not None:
                self._cached_bytes -= len(old)
            self._cache[start] = data
            self._cached_bytes += len(data)
            while self._cached_bytes > CACHE_BYTES and len(self._cache) > 1:
                _, dropped = self._cache.popitem(last=False)
                self._cached_bytes -= len(dropped)

    def fetch(self, start: int, end: int) -> bytes:
        """Bytes ``start..end`` in one range request (no cache). :meth:`TransferStats.cancel`
        (or Ctrl+C) stops it while it waits."""
        generation = STATS.begin(end - start)
        try:
            data = self._cat(start, end, generation)
        finally:
            STATS.end(end - start)
        STATS.add(len(data))
        return self._checked(data, start, end)

    def _loop(self) -> asyncio.AbstractEventLoop | None:
        """The event loop of an async filesystem (None: a blocking one)."""
        return getattr(self.fs, "loop", None) if getattr(self.fs, "async_impl", False) else None

    def _cat(self, start: int, end: int, generation: int) -> bytes:
        if self._loop() is None:  # a blocking filesystem: nothing to cancel it with
            return call(self.name, self.fs.cat_file, self.path, start=start, end=end)
        return bytes(self._wait(self.fs._cat_file(self.path, start=start, end=end), generation))

    def _wait(self, coro: Any, generation: int) -> Any:
        """Run ``coro`` on the filesystem's loop within the request timeout; stop it when
        :meth:`TransferStats.cancel` is called (or Ctrl+C) while it waits."""
        loop = self._loop()
        assert loop is not None
        future = asyncio.run_coroutine_threadsafe(
            asyncio.wait_for(coro, timeout=request_timeout()), loop
        )
        while True:
            try:
                return future.result(timeout=0.1)
            except KeyboardInterrupt:
                future.cancel()
                raise
            except BaseException as exc:  # noqa: BLE001 - made one line below
                if future.done():
                    raise remote_error(self.name, exc) from None
                if STATS.generation != generation:  # still waiting, and cancelled
                    future.cancel()
                    raise TransferCancelled(self.name, "cancelled") from None

    def stream_range(self, start: int, end: int) -> Iterator[bytes]:
        """Bytes ``start..end`` in order, about :data:`STREAM_PIECE` at a time.

        S3, GCS and HTTP(S) stream the range from one request (one round trip and one
        server-side lookup however long it is; memory stays at one piece); other filesystems
        fetch it in consecutive :data:`STREAM_CHUNK` ranges. Closing the iterator early closes
        the request."""
        opener = _range_opener(self.fs) if self._loop() is not None else None
        if opener is None:
            for a in range(start, end, STREAM_CHUNK):
                yield self.fetch(a, min(end, a + STREAM_CHUNK))
            return
        if end <= start:
            return
        generation = STATS.begin(end - start)
        body: _RangeBody | None = None
        retries = 0
        try:
            body = self._wait(opener(self.fs, self.path, start, end), generation)
            STATS.add(0)
            pos = start
            while pos < end:
                try:
                    data = self._wait(body.read(min(STREAM_PIECE, end - pos)), generation)
                    if not data:
                        raise _transient(
                            RemoteError(
                                self.name,
                                f"asked for bytes {start}..{end}, the server sent "
                                f"{pos - start} bytes (object changed while reading?)",
                            )
                        )
                except RemoteError as exc:  # a stall or a dropped connection: ask for the rest
                    if not exc.transient or retries >= STREAM_RETRIES:
                        raise
                    retries += 1
                    body.close()
                    body = None
                    body = self._wait(opener(self.fs, self.path, pos, end), generation)
                    STATS.add(0)
                    continue
                STATS.add(len(data), requests=0)
                pos += len(data)
                yield data
        finally:
            STATS.end(end - start)
            if body is not None:
                body.close()

    def _checked(self, data: bytes, start: int, end: int) -> bytes:
        if len(data) == end - start:
            return data
        if len(data) == self.size:  # a server that ignores Range sends everything
            return data[start:end]
        raise RemoteError(
            self.name,
            f"asked for bytes {start}..{end}, the server sent {len(data)} bytes "
            "(object changed while reading?)",
        )

    def close(self) -> None:
        with self._lock:
            self._cache.clear()
            self._cached_bytes = 0


class _RangeBody:
    """The body of one streamed range request: ``read(n)`` gathers up to ``n`` bytes (fewer
    only at the end), ``close()`` releases the connection."""

    def __init__(self, read: Callable[[int], Any], close: Callable[[], Any], skip: int = 0) -> None:
        self._read = read
        self._close = close
        self._skip = skip  # a server that ignored Range: bytes to drop first

    async def read(self, n: int) -> bytes:
        while self._skip:
            dropped = await self._read(min(self._skip, STREAM_PIECE))
            if not dropped:
                return b""
            self._skip -= len(dropped)
        parts: list[bytes] = []
        got = 0
        while got < n:
            data = await self._read(n - got)
            if not data:
                break
            parts.append(data)
            got += len(data)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._close()


async def _open_s3_range(fs: Any, path: str, start: int, end: int) -> _RangeBody:
    bucket, key, version = fs.split_path(path)
    extra = {"VersionId": version} if version else {}
    resp = await fs._call_s3(
        "get_object", Bucket=bucket, Key=key, Range=f"bytes={start}-{end - 1}", **extra
    )
    body = resp["Body"]
    return _RangeBody(body.read, body.close)


async def _open_http_range(fs: Any, path: str, start: int, end: int) -> _RangeBody:
    session = await fs.set_session()
    kw = dict(fs.kwargs)
    headers = dict(kw.pop("headers", None) or {})
    headers["Range"] = f"bytes={start}-{end - 1}"
    resp = await session.get(fs.encode_url(path), headers=headers, **kw)
    if resp.status >= 400:
        resp.release()
        if resp.status == 404:
            raise FileNotFoundError(path)
        resp.raise_for_status()
    skip = start if resp.status == 200 else 0  # Range ignored: the whole object comes
    return _RangeBody(resp.content.read, resp.release, skip)


async def _open_gcs_range(fs: Any, path: str, start: int, end: int) -> _RangeBody:
    """One media download with ``Range`` (gcsfs's own session, URL and credentials). A zonal
    bucket (read over gRPC by gcsfs) is read in consecutive fetched ranges instead."""
    bucket = fs.split_path(path)[0]
    zonal = getattr(fs, "_is_zonal_bucket", None)
    if zonal is not None and await zonal(bucket):
        return _fetched_body(fs, path, start, end)
    from gcsfs.retry import validate_response

    await fs._set_session()
    url = fs.url(path)
    resp = await fs.session.get(
        url=url,
        params=fs._get_params({}),
        headers=fs._get_headers({"Range": f"bytes={start}-{end - 1}"}),
        timeout=fs.requests_timeout,
    )
    if resp.status >= 400:
        content = await resp.read()
        resp.release()
        validate_response(resp.status, content, url)  # raises what gcsfs raises
    skip = start if resp.status == 200 else 0
    return _RangeBody(resp.content.read, resp.release, skip)


def _fetched_body(fs: Any, path: str, start: int, end: int) -> _RangeBody:
    """A range read as consecutive range requests (a store that cannot stream one)."""
    pos = start

    async def read(n: int) -> bytes:
        nonlocal pos
        if pos >= end:
            return b""
        data = await fs._cat_file(path, start=pos, end=min(end, pos + n))
        pos += len(data)
        return bytes(data)

    return _RangeBody(read, lambda: None)


def _range_opener(fs: Any) -> Callable[[Any, str, int, int], Any] | None:
    """How to stream one range from ``fs`` (None: it cannot be streamed, fetch it)."""
    if hasattr(fs, "_call_s3") and hasattr(fs, "split_path"):
        return _open_s3_range
    try:
        from gcsfs import GCSFileSystem
    except ImportError:
        pass
    else:
        if isinstance(fs, GCSFileSystem):
            return _open_gcs_range
    try:
        from fsspec.implementations.http import HTTPFileSystem
    except ImportError:
        return None
    return _open_http_range if isinstance(fs, HTTPFileSystem) else None
