"""Object stores and a web server on 127.0.0.1, started and stopped by the tests (and the bench).

- S3: moto's server mode (``moto[server]``), reached by s3fs through ``AWS_ENDPOINT_URL``.
- GCS: gcp-storage-emulator, reached by gcsfs through ``STORAGE_EMULATOR_HOST`` (gcsfs's gRPC
  bucket-type probe is off: ``GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT=false``).
- HTTP: :class:`RangeServer`, a static server with single-range ``Range`` support that counts
  requests and bytes sent, and answers 403 under ``/forbidden/``, under ``/slow/`` data shards
  slowly, and under ``/norange/`` every Range request with the whole file.
- :class:`Proxy`: in front of any of them, adds latency (the bench) and injects faults (403,
  401, stalls) into a real server's conversation.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

S3_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_MAX_ATTEMPTS": "1",
    "AWS_RETRY_MODE": "standard",
}
GCS_ENV = {"GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false"}


@contextlib.contextmanager
def env(values: dict[str, str | None]) -> Iterator[None]:
    """Set (or with None, unset) environment variables for the block."""
    old = {k: os.environ.get(k) for k in values}
    try:
        for k, v in values.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def clear_fs_caches() -> None:
    """fsspec keeps one filesystem per set of arguments: forget them after changing the env."""
    import importlib

    for name in ("s3fs", "gcsfs"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        fs_cls = getattr(module, "S3FileSystem", None) or getattr(module, "GCSFileSystem", None)
        if fs_cls is not None:
            fs_cls.clear_instance_cache()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def s3_server() -> Iterator[str]:
    """A moto S3 server; yields its endpoint URL (also set as ``AWS_ENDPOINT_URL``)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        with env({**S3_ENV, "AWS_ENDPOINT_URL": endpoint}):
            yield endpoint
    finally:
        server.stop()


@contextlib.contextmanager
def gcs_server() -> Iterator[str]:
    """A gcp-storage-emulator server; yields its URL (also ``STORAGE_EMULATOR_HOST``)."""
    import logging

    from gcp_storage_emulator.server import create_server

    logging.getLogger("gcp_storage_emulator").setLevel(logging.WARNING)
    port = free_port()
    server = create_server("127.0.0.1", port, in_memory=True)
    server.start()
    url = f"http://127.0.0.1:{port}"
    try:
        with env({**GCS_ENV, "STORAGE_EMULATOR_HOST": url}):
            yield url
    finally:
        server.stop()


@dataclass
class Fault:
    """What a :class:`Proxy` does instead of forwarding a request: answer ``status`` with
    ``body``, or (``sleep``) wait that long first and then forward it, or (``cut_after``)
    forward it and hang up part way through the answer."""

    status: int = 0
    body: bytes = b""
    content_type: str = "application/xml"
    sleep: float = 0.0
    cut_after: int | None = None  # forward, but drop the connection after this many bytes


# (method, path and query, request headers) -> what to do instead of forwarding, or None
FaultRule = Callable[[str, str, Any], "Fault | None"]


class Proxy:
    """HTTP reverse proxy on 127.0.0.1 in front of ``upstream`` (moto, the GCS emulator):
    waits ``delay`` per request (a far-away bucket, for the bench), counts requests and
    response bytes, and lets ``fault`` answer a request itself (403, 401, a stall) to test
    what the client libraries make of a real server's errors."""

    def __init__(self, upstream: str, delay: float = 0.0, fault: FaultRule | None = None) -> None:
        self.upstream = upstream.rstrip("/")
        self.delay = delay
        self.fault = fault
        self.requests = 0
        self.bytes = 0
        self.aborted = 0  # answers the client stopped reading part way (timeouts, retries)
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def snapshot(self) -> tuple[int, int]:
        with self._lock:
            return self.requests, self.bytes

    def __enter__(self) -> Proxy:
        self._thread.start()
        self._ready.wait()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        from aiohttp import ClientSession, TCPConnector, web

        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        session: Any = None

        async def handle(request: web.Request) -> web.StreamResponse:
            nonlocal session
            if session is None:
                session = ClientSession(connector=TCPConnector(limit=64), auto_decompress=False)
            if self.delay:
                await asyncio.sleep(self.delay)
            fault = (
                self.fault(request.method, request.rel_url.raw_path_qs, request.headers)
                if self.fault
                else None
            )
            cut = fault.cut_after if fault is not None else None
            if fault is not None and fault.sleep:
                await asyncio.sleep(fault.sleep)
            elif fault is not None and cut is None:
                with self._lock:
                    self.requests += 1
                return web.Response(
                    status=fault.status, body=fault.body, content_type=fault.content_type
                )
            body = await request.read()
            headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
            headers["Host"] = self.upstream.split("://", 1)[1]
            async with session.request(
                request.method,
                self.upstream + request.rel_url.raw_path_qs,
                headers=headers,
                data=body or None,
                allow_redirects=False,
            ) as up:
                out = web.StreamResponse(status=up.status)
                for k, v in up.headers.items():
                    if k.lower() not in ("transfer-encoding", "content-encoding", "connection"):
                        out.headers[k] = v
                await out.prepare(request)
                sent = 0
                try:
                    async for chunk in up.content.iter_chunked(1 << 20):
                        if cut is not None and sent + len(chunk) > cut:
                            await out.write(chunk[: cut - sent])
                            sent = cut
                            await asyncio.sleep(0.2)  # the part sent reaches the client
                            if request.transport is not None:
                                request.transport.close()  # hang up mid-answer
                            break
                        sent += len(chunk)
                        await out.write(chunk)
                    else:
                        await out.write_eof()
                except (ConnectionError, RuntimeError):
                    with self._lock:
                        self.aborted += 1  # the client hung up (a timeout, a retry)
                    return out
            with self._lock:
                self.requests += 1
                self.bytes += sent
            return out

        app = web.Application(client_max_size=1 << 30)
        app.router.add_route("*", "/{tail:.*}", handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(runner.cleanup())
            if session is not None:
                loop.run_until_complete(session.close())
            loop.close()


class _Counters:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests = 0
        self.bytes = 0

    def add(self, nbytes: int) -> None:
        with self.lock:
            self.requests += 1
            self.bytes += nbytes

    def snapshot(self) -> tuple[int, int]:
        with self.lock:
            return self.requests, self.bytes


_RANGE_RE = re.compile(r"bytes=(\d*)-(\d*)$")


class _Handler(BaseHTTPRequestHandler):
    server: Any
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def _target(self) -> Path | None:
        rel = self.path.split("?", 1)[0].lstrip("/")
        path = (self.server.root / rel).resolve()
        if self.server.root not in path.parents and path != self.server.root:
            return None
        return path

    def _reply(self, code: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.server.counters.add(len(body) if self.command != "HEAD" else 0)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        rel = self.path.lstrip("/")
        if rel.startswith("forbidden/"):
            self._reply(403, b"forbidden")
            return
        if rel.startswith("slow/"):  # slow data shards: the index and state file come fast
            if ".data-" in rel and self.command == "GET":
                time.sleep(self.server.slow_seconds)
            self.path = self.path[len("/slow") :]
        ignore_range = rel.startswith("norange/")  # a server without Range support
        if ignore_range:
            self.path = self.path[len("/norange") :]
        path = self._target()
        if path is None or not path.is_file():
            self._reply(404, b"not found")
            return
        data = path.read_bytes()
        size = len(data)
        spec = None if ignore_range else self.headers.get("Range")
        if spec:
            m = _RANGE_RE.match(spec.strip())
            if not m or (not m.group(1) and not m.group(2)):
                self._reply(416, b"", {"Content-Range": f"bytes */{size}"})
                return
            if m.group(1):
                start = int(m.group(1))
                end = min(size - 1, int(m.group(2))) if m.group(2) else size - 1
            else:  # suffix range: the last N bytes
                start = max(0, size - int(m.group(2)))
                end = size - 1
            if start >= size or start > end:
                self._reply(416, b"", {"Content-Range": f"bytes */{size}"})
                return
            self._reply(
                206,
                data[start : end + 1],
                {"Content-Range": f"bytes {start}-{end}/{size}", "Accept-Ranges": "bytes"},
            )
            return
        self._reply(200, data, {"Accept-Ranges": "bytes"})


class RangeServer(ThreadingHTTPServer):
    """A static file server for ``root`` with Range support and request/byte counters."""

    daemon_threads = True

    def __init__(self, root: Path, slow_seconds: float = 5.0) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.root = root.resolve()
        self.counters = _Counters()
        self.slow_seconds = slow_seconds
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hung up (a timeout test) is no failure of the server

    def __enter__(self) -> RangeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


def upload_tree(fs: Any, local: Path, remote: str) -> None:
    """Copy every file under ``local`` to ``remote`` (a path in ``fs``), keeping names."""
    for path in sorted(local.rglob("*")):
        if path.is_file():
            rel = path.relative_to(local).as_posix()
            fs.pipe_file(f"{remote}/{rel}", path.read_bytes())
