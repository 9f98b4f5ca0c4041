"""Servers on 127.0.0.1 for the remote tests, started once per session, fixtures uploaded.

Each server is skipped cleanly when its package (moto, gcp-storage-emulator, fsspec's
extras) is not installed; the `test` extra in pyproject installs them all.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# gcsfs reads this when imported: its gRPC bucket-type probe needs real Google credentials.
os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")

from tests.remote.servers import (  # noqa: E402
    RangeServer,
    clear_fs_caches,
    gcs_server,
    s3_server,
    upload_tree,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "data"
BUCKET = "fixtures"


@dataclass
class Remote:
    """One running server with the fixtures uploaded: ``url(rel)`` is the URL of
    ``tests/fixtures/data/rel``."""

    kind: str
    base: str  # URL of the fixtures root
    fs: Any  # fsspec filesystem (None for http: read-only)
    server: Any = None  # the RangeServer (http), for its counters

    def url(self, rel: str = "") -> str:
        return f"{self.base}/{rel}" if rel else self.base

    @property
    def writable(self) -> bool:
        return self.fs is not None


def _need(*modules: str) -> None:
    for m in modules:
        pytest.importorskip(m)


@pytest.fixture(scope="session")
def s3_remote() -> Iterator[Remote]:
    _need("fsspec", "s3fs", "moto.server", "flask")
    with s3_server():
        clear_fs_caches()
        import fsspec

        fs = fsspec.filesystem("s3")
        fs.mkdir(BUCKET, exist_ok=True)
        upload_tree(fs, FIXTURES, BUCKET)
        yield Remote("s3", f"s3://{BUCKET}", fs)
    clear_fs_caches()


@pytest.fixture(scope="session")
def gcs_remote() -> Iterator[Remote]:
    _need("fsspec", "gcsfs", "gcp_storage_emulator")
    with gcs_server():
        clear_fs_caches()
        import fsspec

        fs = fsspec.filesystem("gs")
        fs.mkdir(BUCKET, exist_ok=True)
        upload_tree(fs, FIXTURES, BUCKET)
        yield Remote("gcs", f"gs://{BUCKET}", fs)
    clear_fs_caches()


@pytest.fixture(scope="session")
def http_remote() -> Iterator[Remote]:
    _need("fsspec", "aiohttp")
    with RangeServer(FIXTURES) as server:
        yield Remote("http", server.url, None, server)


@pytest.fixture(params=["s3", "gcs", "http"])
def remote(request: pytest.FixtureRequest) -> Remote:
    """Each server in turn."""
    return request.getfixturevalue(f"{request.param}_remote")


@pytest.fixture(params=["s3", "gcs"])
def store(request: pytest.FixtureRequest) -> Remote:
    """Each writable object store in turn."""
    return request.getfixturevalue(f"{request.param}_remote")
