"""ELF64 little-endian headers and notes, as ``struct`` formats (the System V gABI, ``elf.h``).

What the core, the executable and the core's copy of the executable's first page all read: the
file header (``Elf64_Ehdr``), program headers (``Elf64_Phdr``) and notes (``Elf64_Nhdr`` then the
name and descriptor, each padded to 4 bytes). Only the 64-bit little-endian layout: the executables
and cores this package reads are amd64 or arm64 Linux ones.
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

Buffer = bytes | bytearray | memoryview | mmap.mmap

ELF_MAGIC = b"\x7fELF"

ET_CORE = 4
EM_X86_64 = 62
EM_AARCH64 = 183
PT_LOAD = 1
PT_NOTE = 4

# Note types (by owner: "GNU", "Go", "CORE"/"LINUX").
NT_GNU_BUILD_ID = 3
NT_GO_BUILDID = 4  # cmd/link: the Go build ID, in the "Go" note of .note.go.buildid

EHDR = struct.Struct("<16sHHIQQQIHHHHHH")  # Elf64_Ehdr: 64 bytes
PHDR = struct.Struct("<IIQQQQQQ")  # Elf64_Phdr: 56 bytes
NHDR = struct.Struct("<III")  # Elf64_Nhdr: namesz, descsz, type


class Ehdr(NamedTuple):
    """``Elf64_Ehdr``: ``Ehdr._make(EHDR.unpack_from(data, 0))``."""

    e_ident: bytes
    e_type: int
    e_machine: int
    e_version: int
    e_entry: int
    e_phoff: int
    e_shoff: int
    e_flags: int
    e_ehsize: int
    e_phentsize: int
    e_phnum: int
    e_shentsize: int
    e_shnum: int
    e_shstrndx: int


class Phdr(NamedTuple):
    """``Elf64_Phdr``: ``Phdr._make(PHDR.unpack_from(data, offset))``."""

    p_type: int
    p_flags: int
    p_offset: int
    p_vaddr: int
    p_paddr: int
    p_filesz: int
    p_memsz: int
    p_align: int


@dataclass(frozen=True)
class LoadSegment:
    """A ``PT_LOAD`` segment: ``memsz`` bytes at ``vaddr``, the first ``filesz`` of them from file
    offset ``offset`` (the rest reads as zero); ``flags`` is ``p_flags`` (PF_X 1, PF_W 2, PF_R 4)."""

    vaddr: int
    memsz: int
    offset: int
    filesz: int
    flags: int

    @property
    def end(self) -> int:
        """The first address after the segment."""
        return self.vaddr + self.memsz


def iter_notes(data: Buffer, start: int = 0, end: int | None = None,
               ) -> Iterator[tuple[str, int, memoryview]]:
    """(name, type, descriptor) of each note in ``data[start:end]``, descriptors as views of
    ``data`` (no copy); stops at the first note that does not fit (a truncated or garbage one)."""
    mv = memoryview(data)
    end = len(mv) if end is None else min(end, len(mv))
    pos = start
    while pos + NHDR.size <= end:
        namesz, descsz, ntype = NHDR.unpack_from(mv, pos)
        pos += NHDR.size
        desc_off = pos + ((namesz + 3) & ~3)
        desc_end = desc_off + descsz
        if desc_end > end:
            return
        name = bytes(mv[pos:pos + namesz]).rstrip(b"\0").decode("latin-1")
        yield name, ntype, mv[desc_off:desc_end]
        pos = desc_off + ((descsz + 3) & ~3)


def parse_notes(data: Buffer) -> list[tuple[str, int, bytes]]:
    """(name, type, descriptor bytes) of each note in ``data``; stops at the first malformed one."""
    return [(name, ntype, bytes(desc)) for name, ntype, desc in iter_notes(data)]


__all__ = [
    "EHDR",
    "ELF_MAGIC",
    "EM_AARCH64",
    "EM_X86_64",
    "ET_CORE",
    "NHDR",
    "NT_GNU_BUILD_ID",
    "NT_GO_BUILDID",
    "PHDR",
    "PT_LOAD",
    "PT_NOTE",
    "Ehdr",
    "LoadSegment",
    "Phdr",
    "iter_notes",
    "parse_notes",
]
