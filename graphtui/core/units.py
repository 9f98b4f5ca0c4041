"""Human-readable sizes, counts and shapes, shared by the CLI and the app."""

from __future__ import annotations


def human_bytes(n: int | None) -> str:
    """``1536`` -> ``"1.5 KiB"``; ``None`` -> ``""``."""
    if n is None:
        return ""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def human_count(n: int | None) -> str:
    """1234 -> 1.2k, 5_600_000 -> 5.6M."""
    if n is None:
        return ""
    if n < 1000:
        return str(n)
    for unit, size in (("k", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12)):
        if n < size * 1000 or unit == "T":
            return f"{n / size:.1f}{unit}"
    return str(n)


def shape_text(shape: tuple[int, ...] | list[int] | None) -> str:
    if shape is None:
        return "?"
    return "[" + ",".join("?" if d < 0 else str(d) for d in shape) + "]"
