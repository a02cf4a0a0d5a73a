"""The bundled demo: a core of the project's own crasher program (scenario ``httpabort``: an HTTP
handler panics on a request body it cannot decode) with its executable and sources.

Shipped zstd-compressed (``core.zst``, ``crasher.zst``, ``src.tar.zst``, described by ``demo.json``)
and rebuilt by ``scripts/make_demo.py``. The core reader opens the compressed core itself; the
executable and the sources are unpacked once into the user's cache directory.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

from explorer.errors import InputError

DEMO_DIR = Path(__file__).resolve().parent
META = DEMO_DIR / "demo.json"


@dataclass(frozen=True)
class Demo:
    core: Path
    binary: Path
    substitute: list[tuple[str, str]]  # source path rules: (path in the binary, unpacked copy)
    meta: dict[str, object]


def cache_root() -> Path:
    base = os.environ.get("GOCORE_TUI_CACHE") or os.environ.get("XDG_CACHE_HOME")
    root = Path(base) if base else Path.home() / ".cache"
    if not os.environ.get("GOCORE_TUI_CACHE"):
        root = root / "gocore-tui"
    return root / "demo"


def _decompress(src: Path) -> bytes:
    import zstandard

    with open(src, "rb") as fh:
        return zstandard.ZstdDecompressor().stream_reader(fh).read()


def _write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_bytes(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def prepare(cache: Path | None = None) -> Demo:
    """Unpack the demo executable and sources (once) and return where everything is."""
    if not META.exists():
        raise InputError("this installation has no demo files (explorer/demo/demo.json is missing)")
    meta = json.loads(META.read_text())
    core = DEMO_DIR / str(meta["core"])
    packed_binary = DEMO_DIR / str(meta["binary"])
    for p in (core, packed_binary):
        if not p.exists():
            raise InputError(f"demo file {p} is missing")
    root = (cache or cache_root()) / str(meta["binary_sha256"])[:16]
    root.mkdir(parents=True, exist_ok=True)
    binary = root / str(meta["binary_name"])
    if not binary.exists():
        data = _decompress(packed_binary)
        if hashlib.sha256(data).hexdigest() != meta["binary_sha256"]:
            raise InputError(f"{packed_binary}: the unpacked executable does not match demo.json")
        _write_atomic(binary, data, 0o755)
    rules: list[tuple[str, str]] = []
    src_pack = DEMO_DIR / str(meta.get("sources", ""))
    if meta.get("sources") and src_pack.exists():
        src_dir = root / "src"
        if not (src_dir / ".complete").exists():
            src_dir.mkdir(exist_ok=True)
            with tarfile.open(fileobj=io.BytesIO(_decompress(src_pack)), mode="r:") as tf:
                for member in tf.getmembers():
                    # Only plain files with plain names: a tarball is never trusted to write elsewhere.
                    name = os.path.basename(member.name)
                    if not member.isfile() or not name or name != member.name:
                        continue
                    fh = tf.extractfile(member)
                    if fh is not None:
                        (src_dir / name).write_bytes(fh.read())
            (src_dir / ".complete").write_text("ok")
        rules.append((str(meta["source_dir"]), str(src_dir)))
    return Demo(core, binary, rules, meta)
