"""Compressed cores as hostile input (issue 11): decompression bombs are refused on their first
bytes, a core that would not fit the temporary directory is refused with one line, junk behind a
core costs nothing.

"Written" is measured by the kernel: the ``wchar`` count of /proc/self/io (bytes passed to write
calls) before and after, in this process. Bounds are generous: a bomb is refused having written
under 200 MB, in under 10 s (pytest-timeout on the call, not a benchmark).
"""

from __future__ import annotations

import lzma
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import zstandard

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import CoreCase
from gotools import cache_dir, file_lock

from explorer.core import CoreFile
from explorer.core import compressed as comp
from explorer.errors import CoreFormatError, InputError

REPO = Path(__file__).resolve().parent.parent
CASE = ("1.24.11", "opt", "panic")
MB = 1 << 20
BOMB_LIMIT = 200 * MB


def _wchar() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    raise AssertionError("no wchar in /proc/self/io")


@contextmanager
def written() -> Iterator[list[int]]:
    """Bytes this process writes inside the block (the list's one item, filled in at the end)."""
    box = [0]
    before = _wchar()
    try:
        yield box
    finally:
        box[0] = _wchar() - before


def _cached(name: str, make: object) -> Path:
    """A generated file kept in the cache (bombs take a second or two to make)."""
    path = cache_dir() / "bombs" / name
    if not path.exists():
        with file_lock(cache_dir() / "locks" / "bombs.lock"):
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(path.name + f".tmp{os.getpid()}")
                with open(tmp, "wb") as fh:
                    make(fh)  # type: ignore[operator]
                os.replace(tmp, path)
    return path


def _zstd_zeros(head: bytes, total: int) -> object:
    def make(fh: object) -> None:
        c = zstandard.ZstdCompressor(level=1).compressobj()
        zero = bytes(MB)
        fh.write(c.compress(head))  # type: ignore[attr-defined]
        for _ in range((total - len(head)) // MB):
            fh.write(c.compress(zero))  # type: ignore[attr-defined]
        fh.write(c.flush())  # type: ignore[attr-defined]
    return make


def _xz_zeros(total: int) -> object:
    def make(fh: object) -> None:
        c = lzma.LZMACompressor(preset=0)
        zero = bytes(MB)
        for _ in range(total // MB):
            fh.write(c.compress(zero))  # type: ignore[attr-defined]
        fh.write(c.flush())  # type: ignore[attr-defined]
    return make


def _elf_header(e_type: int) -> bytes:
    """A 64-byte little-endian x86-64 ELF header of type ``e_type`` with no program headers."""
    import struct

    ident = b"\x7fELF\x02\x01\x01" + bytes(9)
    return struct.pack("<16sHHIQQQIHHHHHH", ident, e_type, 62, 1, 0, 0, 0, 0, 64, 56, 0, 64, 0, 0)


@pytest.fixture(scope="module")
def zstd_bomb() -> Path:
    """98 KB of zstd that decompresses to 3 GiB of zeros."""
    return _cached("zeros-3g.zst", _zstd_zeros(b"", 3 << 30))


@pytest.fixture(scope="module")
def xz_bomb() -> Path:
    """About 40 KB of xz that decompresses to 256 MiB of zeros."""
    return _cached("zeros-256m.xz", _xz_zeros(256 << 20))


@pytest.fixture(scope="module")
def exec_bomb() -> Path:
    """An ELF executable's header, then 3 GiB of zeros, as zstd."""
    return _cached("exec-3g.zst", _zstd_zeros(_elf_header(2), 3 << 30))


def _run_cli(*args: str | os.PathLike[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "explorer", *map(str, args)], capture_output=True, text=True,
                          timeout=60, env=env)


@pytest.mark.timeout(10, func_only=True)
@pytest.mark.parametrize("bomb, words", [("zstd_bomb", "not an ELF file"), ("xz_bomb", "not an ELF file"),
                                         ("exec_bomb", "an ELF file but not a core")])
def test_bomb_refused_on_its_first_bytes(request: pytest.FixtureRequest, bomb: str, words: str) -> None:
    path: Path = request.getfixturevalue(bomb)
    assert path.stat().st_size < 200_000
    with written() as n, pytest.raises(CoreFormatError, match=words):
        CoreFile.open(path)
    assert n[0] < BOMB_LIMIT, f"{n[0]} bytes written"
    r = _run_cli("info", path)
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and words in r.stderr, r.stderr


@pytest.fixture(scope="module")
def core(corpus) -> CoreCase:  # type: ignore[no-untyped-def]
    return corpus(*CASE)


def test_declared_sizes(core: CoreCase, tmp_path: Path) -> None:
    """zstd's frame header and xz's index give the decompressed size, checked before decompressing."""
    data = core.core.read_bytes()
    z = tmp_path / "core.zst"
    z.write_bytes(zstandard.ZstdCompressor(level=1).compress(data))  # one shot: the size is in the header
    x = tmp_path / "core.xz"
    x.write_bytes(lzma.compress(data, preset=0) + bytes(8))  # with stream padding
    streamed = tmp_path / "streamed.zst"
    with open(core.core, "rb") as src, open(streamed, "wb") as dst:
        zstandard.ZstdCompressor(level=1).copy_stream(src, dst)  # streaming: no size in the header
    for path, want in ((z, len(data)), (x, len(data)), (streamed, None)):
        with open(path, "rb") as fh:
            assert comp.declared_size(fh, fh.read(8)) == want, path


def test_core_that_does_not_fit_is_refused(core: CoreCase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = core.core.read_bytes()
    z = tmp_path / "core.zst"
    z.write_bytes(zstandard.ZstdCompressor(level=1).compress(data))
    # the declared size against the free space: refused before anything is decompressed
    monkeypatch.setattr(comp, "free_space", lambda d: comp.FREE_MARGIN + len(data) - 1)
    with written() as n, pytest.raises(InputError, match=r"decompresses to .* free in .*GOCORE_TUI_TMPDIR"):
        CoreFile.open(z)
    assert n[0] < MB
    monkeypatch.setattr(comp, "free_space", lambda d: comp.FREE_MARGIN + len(data) + MB)
    CoreFile.open(z).close()
    # no declared size: the free space is watched as the data grows
    streamed = tmp_path / "streamed.zst"
    with open(core.core, "rb") as src, open(streamed, "wb") as dst:
        zstandard.ZstdCompressor(level=1).copy_stream(src, dst)
    monkeypatch.setattr(comp, "CHECK_EVERY", MB)
    monkeypatch.setattr(comp, "free_space", lambda d: comp.FREE_MARGIN - 1)
    with pytest.raises(InputError, match="does not fit in"):
        CoreFile.open(streamed)


def test_junk_behind_a_core_is_not_decompressed(core: CoreCase, tmp_path: Path, zstd_bomb: Path) -> None:
    """A real core followed by a 3 GiB frame of zeros: opens as the core, and writes no more than it."""
    data = core.core.read_bytes()
    z = tmp_path / "core-and-junk.zst"
    z.write_bytes(zstandard.ZstdCompressor(level=1).compress(data) + zstd_bomb.read_bytes())
    with written() as n:
        with CoreFile.open(z) as c:
            assert c.size == len(data) and not c.truncated
            assert bytes(c.data[: len(data)]) == data
    assert n[0] <= len(data)
    r = _run_cli("info", "--json", z, core.binary)
    assert r.returncode == 0, r.stderr


def test_zero_pages_are_holes(core: CoreCase, tmp_path: Path) -> None:
    """Runs of zeros are not written: the temporary file is sparse."""
    data = core.core.read_bytes()
    z = tmp_path / "core.zst"
    z.write_bytes(zstandard.ZstdCompressor(level=1).compress(data))
    nonzero = sum(1 for i in range(0, len(data), MB) if data[i:i + MB] != bytes(len(data[i:i + MB])))
    with written() as n, CoreFile.open(z) as c:
        assert bytes(c.data[: len(data)]) == data
    assert n[0] <= nonzero * MB
