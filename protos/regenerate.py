#!/usr/bin/env python3
"""Compile protos/graphtui_tf/*.proto into graphtui/_proto/descriptors.binpb.

The output is one serialized ``google.protobuf.FileDescriptorSet`` holding our files and the
well-known types they import (``--include_imports``), in dependency order. graphtui loads it
into a private descriptor pool at run time (see graphtui/_proto/__init__.py).

Usage (from the repository root, with grpcio-tools installed)::

    python protos/regenerate.py            # rewrite the committed file
    python protos/regenerate.py --check    # exit 1 if the committed file is stale
    python protos/regenerate.py -o OUT     # write somewhere else
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

PROTO_ROOT = Path(__file__).resolve().parent
REPO_ROOT = PROTO_ROOT.parent
SOURCE_DIR = PROTO_ROOT / "graphtui_tf"
DEFAULT_OUTPUT = REPO_ROOT / "graphtui" / "_proto" / "descriptors.binpb"


def proto_sources() -> list[str]:
    """Our .proto files as import paths ("graphtui_tf/x.proto"), sorted for a stable order."""
    return sorted(f"graphtui_tf/{p.name}" for p in SOURCE_DIR.glob("*.proto"))


def build_descriptor_set() -> bytes:
    """Run grpc_tools' bundled protoc and return the FileDescriptorSet bytes.

    protoc runs in a child process: its C++ protobuf must not share a process with another
    copy (importing it after TensorFlow crashes the interpreter).
    """
    import grpc_tools  # only needed to regenerate

    well_known = Path(grpc_tools.__file__).resolve().parent / "_proto"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "descriptors.binpb"
        args = [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"--proto_path={PROTO_ROOT}",
            f"--proto_path={well_known}",
            "--include_imports",
            f"--descriptor_set_out={out}",
            *proto_sources(),
        ]
        result = subprocess.run(args, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise SystemExit(f"protoc failed ({result.returncode}):\n{result.stderr}")
        return out.read_bytes()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--check", action="store_true", help="compare with --output instead of writing it"
    )
    args = parser.parse_args(argv)

    data = build_descriptor_set()
    if args.check:
        current = args.output.read_bytes() if args.output.exists() else b""
        if current != data:
            print(f"{args.output} is stale: run python protos/regenerate.py", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date ({len(data)} bytes)")
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(data)
    print(f"wrote {args.output} ({len(data)} bytes, {len(proto_sources())} sources)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
