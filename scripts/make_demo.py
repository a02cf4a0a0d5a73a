#!/usr/bin/env python3
"""Rebuild the bundled demo (explorer/demo/): a core of tests/testprogs/crasher, scenario httpabort.

    python scripts/make_demo.py [--version 1.24.11] [--mode opt]

Builds the crasher with the test corpus's toolchain (tests/corpus.py: build, make_core), runs the
scenario until it dumps core, and writes zstd-compressed copies of the core, the executable and the
program's sources next to a demo.json that describes them. ``gocore-tui demo`` opens the result.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import tarfile
from pathlib import Path

import zstandard

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from corpus import TESTPROGS, make_core  # noqa: E402

DEMO = REPO / "explorer" / "demo"
LEVEL = 19


def compress(data: bytes) -> bytes:
    return zstandard.ZstdCompressor(level=LEVEL, write_content_size=True).compress(data)


def sources_tar(prog_dir: Path) -> bytes:
    """The program's .go files and go.mod as a tar (flat names, fixed metadata: reproducible)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        for p in sorted(prog_dir.iterdir()):
            if p.is_file() and (p.suffix == ".go" or p.name == "go.mod"):
                data = p.read_bytes()
                info = tarfile.TarInfo(p.name)
                info.size = len(data)
                info.mode = 0o644
                info.mtime = 0
                tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--version", default="1.24.11", help="Go release (default: 1.24.11)")
    ap.add_argument("--mode", default="opt", choices=("opt", "noopt"), help="build mode (default: opt)")
    args = ap.parse_args()

    case = make_core(args.version, args.mode, "httpabort")
    core = case.core.read_bytes()
    binary = case.binary.read_bytes()
    prog_dir = TESTPROGS / "crasher"
    DEMO.mkdir(parents=True, exist_ok=True)
    files = {
        "core.zst": compress(core),
        "crasher.zst": compress(binary),
        "src.tar.zst": compress(sources_tar(prog_dir)),
    }
    for name, data in files.items():
        (DEMO / name).write_bytes(data)
    meta = {
        "description": "tests/testprogs/crasher, scenario httpabort: an HTTP handler panics decoding a "
                       "request body; crash middleware aborts the process",
        "go_version": args.version,
        "mode": args.mode,
        "scenario": "httpabort",
        "core": "core.zst",
        "binary": "crasher.zst",
        "binary_name": "crasher",
        "binary_sha256": hashlib.sha256(binary).hexdigest(),
        "core_sha256": hashlib.sha256(core).hexdigest(),
        "sources": "src.tar.zst",
        "source_dir": str(prog_dir),
        "ready": case.ready,
    }
    (DEMO / "demo.json").write_text(json.dumps(meta, indent=1) + "\n")
    total = sum(len(d) for d in files.values())
    for name, data in files.items():
        print(f"{DEMO / name}: {len(data):,} bytes")
    print(f"total {total:,} bytes (core {len(core):,}, executable {len(binary):,} uncompressed)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
