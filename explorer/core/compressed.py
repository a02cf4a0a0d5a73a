"""Compressed cores: zstd (as systemd-coredump stores them, one frame or several), xz, and lz4 frames
where the ``lz4`` module is installed.

A compressed core is decompressed once, as a stream, into an unlinked temporary file (in
``$GOCORE_TUI_TMPDIR``, else the system's temporary directory), which is then mapped like any other
core. A compressed file is hostile input like any other, and a small one can decompress to
terabytes, so:

- the first decompressed bytes must be an ELF core header (magic, ``ET_CORE``): anything else is
  refused before more is decompressed;
- the decompressed size that the format declares (a zstd frame header's content size, an lz4 frame
  descriptor's, the sizes in an xz stream's index) must fit the temporary directory's free space,
  and while the data is written the free space is watched: a core that would fill the disk is
  refused with one line that says where to make room, and nothing of it is left;
- nothing past the end that the core's own headers describe (its segments, notes and section
  headers) is decompressed: junk behind a core header costs nothing;
- runs of zero bytes (untouched pages of a core, a zero-filled bomb) become holes of a sparse file:
  no disk space, no writes.
"""

from __future__ import annotations

import lzma
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from typing import IO, BinaryIO

from explorer.core.elfstructs import EHDR, ELF_MAGIC, ET_CORE, PHDR, Ehdr, Phdr
from explorer.errors import CoreFormatError, InputError

# Magic numbers of the compressed formats we accept in place of a core.
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
XZ_MAGIC = b"\xfd7zXZ\x00"
LZ4_MAGIC = b"\x04\x22\x4d\x18"

#: How much free space a decompression leaves in the temporary directory, at least.
FREE_MARGIN = 64 << 20
#: How often (in bytes really written) the free space is looked at again.
CHECK_EVERY = 64 << 20
#: Program headers read to find where the core ends, at most (65535 of them take 3.5 MiB).
MAX_HEADERS = 4 << 20
_CHUNK = 1 << 20
_ZEROS = bytes(_CHUNK)


def is_compressed(magic: bytes) -> bool:
    """Whether a file starting with ``magic`` is in one of the compressed formats we accept."""
    return magic.startswith((ZSTD_MAGIC, XZ_MAGIC, LZ4_MAGIC))


def temp_dir() -> str:
    """Where decompressed cores go."""
    return os.environ.get("GOCORE_TUI_TMPDIR") or tempfile.gettempdir()


def free_space(directory: str) -> int:
    """Bytes an unprivileged user may still write in ``directory``'s filesystem."""
    return shutil.disk_usage(directory).free


def _size_text(n: int) -> str:
    for unit, shift in (("GB", 30), ("MB", 20), ("KB", 10)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):.1f} {unit}"
    return f"{n} bytes"


def decompress_to_temp(path: os.PathLike[str] | str, fh: BinaryIO, magic: bytes) -> IO[bytes]:
    """Stream-decompress the compressed core ``fh`` into an unlinked temporary file (see the module
    docstring for what is refused); raises :class:`CoreFormatError` or :class:`InputError`."""
    directory = temp_dir()
    declared = declared_size(fh, magic)
    if declared is not None:
        free = free_space(directory)
        if declared > free - FREE_MARGIN:
            raise InputError(f"{path}: decompresses to {_size_text(declared)}, more than the "
                             f"{_size_text(max(free - FREE_MARGIN, 0))} free in {directory}: set "
                             f"GOCORE_TUI_TMPDIR to a directory with room, or decompress it elsewhere")
    try:
        tmp = tempfile.TemporaryFile(prefix="gocore-", dir=directory)
    except OSError as e:
        raise InputError(f"{path}: cannot create a temporary file in {directory}: {e.strerror or e}") from e
    try:
        _Writer(path, tmp, directory).run(_reader(path, fh, magic))
    except BaseException:
        tmp.close()
        raise
    return tmp


class _Writer:
    """Writes decompressed chunks: checks the header, stops at the core's end, leaves holes for zeros,
    watches the free space."""

    def __init__(self, path: os.PathLike[str] | str, out: IO[bytes], directory: str) -> None:
        self.path = path
        self.out = out
        self.directory = directory
        self.head = bytearray()  # the first bytes, until the headers are checked
        self.checked = False
        self.limit: int | None = None  # where the core ends, once known
        self.size = 0  # bytes of the file so far (holes included)
        self.unchecked = 0  # bytes written since the free space was last looked at

    def run(self, chunks: Iterator[bytes]) -> None:
        for chunk in chunks:
            if not self.checked:
                self.head += chunk
                if not self._check_head():
                    continue
                chunk, self.head = bytes(self.head), bytearray()
            if self.limit is not None and self.size + len(chunk) >= self.limit:
                self._write(chunk[: max(self.limit - self.size, 0)])
                break
            self._write(chunk)
        if not self.checked and self.head:  # a short file: written as is, for the core parser to judge
            self._write(bytes(self.head))
        self.out.truncate(self.size)  # a trailing hole still counts
        self.out.flush()

    def _check_head(self) -> bool:
        """Check the ELF header once enough is there; True when the head may be written out."""
        head = self.head
        if len(head) < EHDR.size:
            return False
        if head[:4] != ELF_MAGIC:
            raise CoreFormatError(f"{self.path}: decompressed, it is not an ELF file, so not a core")
        eh = Ehdr._make(EHDR.unpack_from(head, 0))
        if eh.e_type != ET_CORE:
            raise CoreFormatError(f"{self.path}: decompressed, it is an ELF file but not a core "
                                  f"(e_type {eh.e_type})")
        table_end = eh.e_phoff + eh.e_phnum * PHDR.size
        if table_end > MAX_HEADERS or eh.e_phentsize != PHDR.size:
            self.checked = True  # no end to find: the core parser will judge the headers
            return True
        if len(head) < table_end:
            return False
        end = max(table_end, eh.e_shoff + eh.e_shentsize * eh.e_shnum if eh.e_shoff else 0)
        for i in range(eh.e_phnum):
            ph = Phdr._make(PHDR.unpack_from(head, eh.e_phoff + i * PHDR.size))
            end = max(end, ph.p_offset + ph.p_filesz)
        self.limit = end
        self.checked = True
        return True

    def _write(self, chunk: bytes) -> None:
        n = len(chunk)
        if (chunk == _ZEROS) if n == len(_ZEROS) else chunk == _ZEROS[:n]:
            self.out.seek(n, os.SEEK_CUR)  # a hole
        else:
            self.out.write(chunk)
            self.unchecked += n
            if self.unchecked >= CHECK_EVERY:
                self.unchecked = 0
                self.out.flush()
                free = free_space(self.directory)
                if free < FREE_MARGIN:
                    raise InputError(f"{self.path}: the decompressed core does not fit in {self.directory} "
                                     f"({_size_text(self.size + n)} decompressed, {_size_text(free)} left): "
                                     f"set GOCORE_TUI_TMPDIR to a directory with room, or decompress it "
                                     f"elsewhere")
        self.size += n


def _reader(path: os.PathLike[str] | str, fh: BinaryIO, magic: bytes) -> Iterator[bytes]:
    """The decompressed data in chunks of at most 1 MiB (library errors become CoreFormatError)."""
    open_stream: Callable[[], IO[bytes]]
    if magic.startswith(ZSTD_MAGIC):
        import zstandard

        def open_stream() -> IO[bytes]:
            dctx = zstandard.ZstdDecompressor()
            return dctx.stream_reader(fh, read_size=_CHUNK, read_across_frames=True)
    elif magic.startswith(XZ_MAGIC):
        def open_stream() -> IO[bytes]:
            return lzma.open(fh)
    elif magic.startswith(LZ4_MAGIC):
        try:
            import lz4.frame
        except ImportError as e:
            raise InputError(f"{path}: lz4-compressed core, and the lz4 module is not installed") from e

        def open_stream() -> IO[bytes]:
            return lz4.frame.open(fh)
    else:
        raise CoreFormatError(f"{path}: not a compressed format we know")
    fh.seek(0)
    try:
        with open_stream() as src:
            while chunk := src.read(_CHUNK):
                yield chunk
    except (InputError, GeneratorExit):
        raise
    except Exception as e:  # a corrupt stream raises library-specific errors
        raise CoreFormatError(f"{path}: cannot decompress: {e}") from e


# --------------------------------------------------------------------------------------------------
# Declared sizes


def declared_size(fh: BinaryIO, magic: bytes) -> int | None:
    """The decompressed size the compressed file declares (at least: later zstd frames or earlier xz
    streams are not counted), or None where it does not say."""
    try:
        if magic.startswith(ZSTD_MAGIC):
            import zstandard

            fh.seek(0)
            size = zstandard.frame_content_size(fh.read(18))
            return size if size >= 0 else None
        if magic.startswith(LZ4_MAGIC):
            fh.seek(0)
            head = fh.read(14)
            if len(head) == 14 and head[4] & 0x08:  # FLG: content size present
                return int.from_bytes(head[6:14], "little")
            return None
        if magic.startswith(XZ_MAGIC):
            return _xz_size(fh)
    except Exception:  # a garbled header: the decompressor will say what is wrong
        return None
    finally:
        fh.seek(0)
    return None


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("bad varint")
        b = data[pos]
        value |= (b & 0x7F) << shift
        pos += 1
        if not b & 0x80:
            return value, pos
        shift += 7


def _xz_size(fh: BinaryIO) -> int | None:
    """Uncompressed size of an xz file's last stream, from its index (xz file format 1.0.4, 2.1.2 and
    4): the stream footer gives the index's size, the index one record per block."""
    end = fh.seek(0, os.SEEK_END)
    while end >= 4:  # stream padding: zero bytes in groups of four
        fh.seek(end - 4)
        if fh.read(4) != b"\0\0\0\0":
            break
        end -= 4
    if end < 24:
        return None
    fh.seek(end - 12)
    footer = fh.read(12)
    if footer[10:12] != b"YZ":
        return None
    index_size = (int.from_bytes(footer[4:8], "little") + 1) * 4
    if index_size > min(end - 24, 1 << 26):
        return None
    fh.seek(end - 12 - index_size)
    index = fh.read(index_size)
    if not index or index[0] != 0:
        return None
    count, pos = _varint(index, 1)
    total = 0
    for _ in range(count):
        _unpadded, pos = _varint(index, pos)
        size, pos = _varint(index, pos)
        total += size
    return total
