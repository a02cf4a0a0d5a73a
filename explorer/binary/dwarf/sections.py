"""The DWARF sections of an executable, and the primitive readers every other module uses.

Sections are read once, as stored, when the index is opened (they are small while compressed), and
inflated one by one on first use: ``SHF_COMPRESSED`` sections (zlib, what the Go linker writes by
default; zstd) and the old GNU ``.zdebug_*`` form ("ZLIB" and a big-endian size).
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Literal, NamedTuple

from elftools.elf.constants import SH_FLAGS

from explorer.errors import BinaryFormatError

if TYPE_CHECKING:
    from elftools.elf.elffile import ELFFile

MAX_INFLATE = 1 << 32  # a section that claims to inflate to more is malformed
_ELFCOMPRESS_ZLIB = 1  # Elf64_Chdr.ch_type (pyelftools knows zlib only)
_ELFCOMPRESS_ZSTD = 2


# --- primitive readers -----------------------------------------------------------------------------

def cstr(data: bytes, pos: int) -> tuple[str, int]:
    """The NUL-terminated UTF-8 string at ``pos``: (text, position after the NUL)."""
    end = data.index(0, pos)
    return data[pos:end].decode("utf-8", "replace"), end + 1


def read_uint(data: bytes, pos: int, size: int) -> int:
    """The little-endian unsigned ``size``-byte integer at ``pos``; ``IndexError`` past the end."""
    if pos + size > len(data):
        raise IndexError("read past the end of a DWARF section")
    return int.from_bytes(data[pos:pos + size], "little")


def unit_length(data: bytes, pos: int) -> tuple[int, int, int]:
    """The initial length field of a unit at ``pos`` (``.debug_info``, ``.debug_line``, ...):
    (length of the rest of the unit, offset size: 4 for 32-bit DWARF and 8 for 64-bit DWARF,
    position after the field)."""
    length = read_uint(data, pos, 4)
    if length == 0xFFFFFFFF:
        return read_uint(data, pos + 4, 8), 8, pos + 12
    return length, 4, pos + 4


# --- sections --------------------------------------------------------------------------------------

class RawSection(NamedTuple):
    """A section as the file stores it."""

    name: str
    data: bytes
    how: Literal["", "zlib", "zstd"]  # compression of ``data`` ("": none)
    size: int  # inflated size


def raw_debug_sections(elf: ELFFile) -> dict[str, RawSection]:
    """Every ``.debug_*`` (or GNU ``.zdebug_*``) section's bytes as stored, by ``.debug_*`` name.

    Read once at open (they are small while compressed) so that later lazy reads never touch the
    file: the index can then be used from several threads, and after the file is closed.
    """
    out: dict[str, RawSection] = {}
    stream = elf.stream
    stream.seek(0, 2)
    file_size = stream.tell()
    order: Literal["little", "big"] = "little" if elf.little_endian else "big"
    for sec in elf.iter_sections():
        name = sec.name
        gnu = name.startswith(".zdebug_")
        if not (name.startswith(".debug_") or gnu) or sec["sh_type"] == "SHT_NOBITS":
            continue
        key = ".debug_" + name[len(".zdebug_"):] if gnu else name
        offset, size = sec["sh_offset"], sec["sh_size"]
        if offset + size > file_size:
            raise BinaryFormatError(f"section {name} runs past the end of the file")
        stream.seek(offset)
        raw = stream.read(size)
        if sec["sh_flags"] & SH_FLAGS.SHF_COMPRESSED:
            hdr = 24 if elf.elfclass == 64 else 12  # Elf64_Chdr / Elf32_Chdr
            if len(raw) < hdr:
                raise BinaryFormatError(f"section {name}: truncated compression header")
            ch_type = int.from_bytes(raw[0:4], order)
            ch_size = int.from_bytes(raw[8:16] if hdr == 24 else raw[4:8], order)
            if ch_type not in (_ELFCOMPRESS_ZLIB, _ELFCOMPRESS_ZSTD):
                raise BinaryFormatError(f"section {name}: unknown compression type {ch_type}")
            how: Literal["", "zlib", "zstd"] = "zstd" if ch_type == _ELFCOMPRESS_ZSTD else "zlib"
            out[key] = RawSection(name, raw[hdr:], how, ch_size)
        elif gnu:
            if raw[:4] != b"ZLIB" or len(raw) < 12:
                raise BinaryFormatError(f"section {name}: no ZLIB header")
            out[key] = RawSection(name, raw[12:], "zlib", int.from_bytes(raw[4:12], "big"))
        else:
            out.setdefault(key, RawSection(name, raw, "", len(raw)))
    return out


def section_data(raw: RawSection) -> bytes:
    """The section's contents, inflated if it is compressed."""
    return _inflate(raw.data, raw.size, raw.how, raw.name) if raw.how else raw.data


def _inflate(raw: bytes, size: int, how: str, name: str) -> bytes:
    if size > MAX_INFLATE:
        raise BinaryFormatError(f"section {name} claims to inflate to {size} bytes")
    try:
        if how == "zstd":
            import zstandard

            return bytes(zstandard.ZstdDecompressor().decompress(raw, max_output_size=size))
        return zlib.decompressobj().decompress(raw, size)
    except (zlib.error, ValueError, ImportError) as exc:
        raise BinaryFormatError(f"cannot decompress {name}: {exc}") from exc
    except Exception as exc:  # zstandard.ZstdError does not derive from a stdlib class
        if type(exc).__name__ == "ZstdError":
            raise BinaryFormatError(f"cannot decompress {name}: {exc}") from exc
        raise
