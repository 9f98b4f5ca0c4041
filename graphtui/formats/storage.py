"""File-system questions about a path that may be a URL: is it a file, a directory, what is
beside it, how large and how old. Local paths go to ``os``; URLs (see
:func:`~graphtui.formats.byte_source.is_url`) to their fsspec filesystem, where a directory's
listing is one request and later questions about its entries are answered from it.

HTTP has no directories: a URL counts as one when a ``checkpoint`` state file or a
``saved_model.pb`` lies under it (the files a directory is opened for), and cannot be listed.
"""

from __future__ import annotations

import fnmatch
import glob as _glob
import os
import posixpath
from dataclasses import dataclass
from typing import Any

from graphtui.formats.byte_source import is_url

_DIR_MARKERS = ("checkpoint", "saved_model.pb", "saved_model.pbtxt")


@dataclass(frozen=True)
class Entry:
    """One file of a listing."""

    path: str  # full path or URL
    size: int
    mtime: float | None  # seconds since the epoch; None when the store does not say


def _fs(url: str) -> tuple[Any, str]:
    from graphtui.formats.remote import filesystem

    return filesystem(url)


def _call(url: str, fn: Any, *args: Any, **kw: Any) -> Any:
    from graphtui.formats.remote import call

    return call(url, fn, *args, **kw)


def _is_http(url: str) -> bool:
    return url.split("://", 1)[0].lower() in ("http", "https")


def _url_of(url: str, fs: Any, path: str) -> str:
    """The URL of ``path`` (as the filesystem names it) on the same store as ``url``."""
    if _is_http(url):
        return path
    return f"{url.split('://', 1)[0]}://{path}"


def _info(path: str) -> dict[str, Any] | None:
    """fsspec's info of a URL, None when there is nothing there. Network, credential and
    server failures raise (one line): they must not pass for a missing file."""
    from graphtui.errors import MissingFileError

    fs, p = _fs(path)
    try:
        return dict(_call(path, fs.info, p))
    except MissingFileError:
        return None


def _listing(directory: str) -> dict[str, dict[str, Any]] | None:
    """The entries of a URL directory by name (one listing; fsspec keeps it in its cache, so
    every later question about the directory is answered without a request). None when the
    store has no such directory."""
    from graphtui.errors import MissingFileError

    fs, p = _fs(directory)
    try:
        infos = _call(directory, fs.ls, p.rstrip("/"), detail=True)
    except MissingFileError:
        return None
    return {posixpath.basename(str(i["name"]).rstrip("/")): i for i in infos}


def _entry(path: str) -> dict[str, Any] | None:
    """What the listing of ``path``'s directory says about it (None: nothing there)."""
    scheme, rest = path.split("://", 1)
    if "/" not in rest.strip("/"):  # a bucket: ask for it
        return _info(path)
    listing = _listing(dirname(path))
    return None if listing is None else listing.get(basename(path))


def isfile(path: str) -> bool:
    if not is_url(path):
        return os.path.isfile(path)
    info = _info(path) if _is_http(path) else _entry(path)
    return info is not None and info.get("type") == "file"


def isdir(path: str) -> bool:
    if not is_url(path):
        return os.path.isdir(path)
    if _is_http(path):
        return any(isfile(join(path, name)) for name in _DIR_MARKERS)
    if not path.split("://", 1)[1].strip("/"):
        return False
    listing = _listing(path.rstrip("/"))  # its own listing: later questions are free
    if not listing:
        return False
    only = next(iter(listing.values()))
    return not (len(listing) == 1 and only.get("type") == "file" and basename(path) in listing)


def missing_bucket(path: str) -> bool:
    """True when ``path``'s bucket does not exist (to say so instead of "not found")."""
    from graphtui.errors import MissingFileError
    from graphtui.formats.remote import no_bucket

    if not is_url(path) or _is_http(path):
        return False
    fs, p = _fs(path)
    try:
        no_bucket(path, fs, p)
    except MissingFileError:
        return True
    return False


def exists(path: str) -> bool:
    return isfile(path) or isdir(path)


def glob(pattern: str) -> list[str]:
    """Paths matching a shell pattern whose wildcards are in the last component only."""
    if not is_url(pattern):
        return _glob.glob(pattern)
    directory, name = pattern.rsplit("/", 1)
    if not any(c in name for c in "*?["):
        return [pattern] if isfile(pattern) else []
    if _is_http(pattern):
        return []  # a web server cannot be listed
    return sorted(e.path for e in listdir(directory) if fnmatch.fnmatchcase(basename(e.path), name))


def glob_in(directory: str, pattern: str) -> list[str]:
    """Paths in ``directory`` whose names match the shell ``pattern`` (the directory's own
    name taken literally)."""
    if not is_url(directory):
        return _glob.glob(os.path.join(_glob.escape(directory), pattern))
    return glob(join(directory, pattern))


def listdir(directory: str) -> list[Entry]:
    """The files directly in ``directory`` (one listing request for a URL)."""
    if not is_url(directory):
        out = []
        with os.scandir(directory) as it:
            for e in it:
                try:
                    if e.is_file():
                        st = e.stat()
                        out.append(Entry(e.path, st.st_size, st.st_mtime))
                except OSError:
                    continue  # gone since the listing
        return out
    if _is_http(directory):
        return []
    fs, p = _fs(directory)
    from graphtui.errors import MissingFileError

    try:
        infos = _call(directory, fs.ls, p, detail=True)
    except MissingFileError:
        return []
    out = []
    for info in infos:
        if info.get("type") != "file":
            continue
        out.append(
            Entry(_url_of(directory, fs, info["name"]), int(info.get("size") or 0), _mtime(info))
        )
    return out


def _mtime(info: dict[str, Any]) -> float | None:
    for key in ("LastModified", "mtime", "updated", "last_modified", "created"):
        value = info.get(key)
        if value is None:
            continue
        if isinstance(value, (int, float)):
            return float(value)
        if hasattr(value, "timestamp"):
            return float(value.timestamp())
        if isinstance(value, str):
            from datetime import datetime

            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
            except ValueError:
                continue
    return None


def getsize(path: str) -> int:
    if not is_url(path):
        return os.path.getsize(path)
    fs, p = _fs(path)
    return int(_call(path, fs.size, p))


def join(base: str, *parts: str) -> str:
    if not is_url(base):
        return os.path.join(base, *parts)
    return posixpath.join(base, *parts)


def dirname(path: str) -> str:
    if not is_url(path):
        return os.path.dirname(path)
    scheme, rest = path.split("://", 1)
    head = posixpath.dirname(rest.rstrip("/"))
    return f"{scheme}://{head}"


def basename(path: str) -> str:
    if not is_url(path):
        return os.path.basename(path)
    return posixpath.basename(path.rstrip("/"))


def isabs(path: str) -> bool:
    return is_url(path) or os.path.isabs(path)


def normpath(path: str) -> str:
    if not is_url(path):
        return os.path.normpath(path)
    scheme, rest = path.split("://", 1)
    return f"{scheme}://{posixpath.normpath(rest)}" if rest else path


def abspath(path: str) -> str:
    return normpath(path) if is_url(path) else os.path.abspath(path)


def invalidate(path: str) -> None:
    """Forget cached listings under ``path`` (after writing there)."""
    if is_url(path):
        fs, p = _fs(path)
        fs.invalidate_cache(p)
