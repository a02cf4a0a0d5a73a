"""The executable of a dumped Go program: ELF sections, segments, notes, symbols.

The file is memory-mapped; sections are served as memoryviews of the mapping. pyelftools parses the
headers (and, through :mod:`explorer.binary.dwarf`, DWARF); nothing here decodes DWARF.
Handles ELF64 little-endian executables (amd64, arm64), PIE or not, with or without symbols.
"""

from __future__ import annotations

import io
import mmap
import os
import struct
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from explorer.binary.buildinfo import BuildInfo, parse_buildinfo
from explorer.core.elfcore import close_mapping
from explorer.core.elfstructs import NT_GNU_BUILD_ID, NT_GO_BUILDID, LoadSegment, parse_notes
from explorer.errors import BinaryFormatError, ExplorerError, InputError, NotGoError


@dataclass(frozen=True)
class Section:
    name: str
    addr: int
    offset: int
    size: int
    type: str
    flags: int

    @property
    def end(self) -> int:
        return self.addr + self.size


class Executable:
    """An ELF executable, memory-mapped. Not necessarily Go: see :attr:`is_go`."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            if self.path.is_dir():
                raise InputError(f"{self.path}: is a directory")
            with open(self.path, "rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                if size == 0:
                    raise BinaryFormatError(f"{self.path}: empty file, not an executable")
                self.data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except ExplorerError:
            raise
        except OSError as e:
            raise InputError(f"{self.path}: {e.strerror or e}") from e
        if self.data[:4] != b"\x7fELF":
            raise BinaryFormatError(f"{self.path}: not an ELF executable")
        try:
            self.elf = ELFFile(_MmapStream(self.data))  # type: ignore[arg-type]
            if self.elf.elfclass != 64 or not self.elf.little_endian:
                raise BinaryFormatError(f"{self.path}: only 64-bit little-endian executables are supported")
            if self.elf.header.e_type == "ET_CORE":
                raise BinaryFormatError(f"{self.path}: is a core file, not an executable")
            self.machine = self.elf.header.e_machine
            self.entry = int(self.elf.header.e_entry)
            self.is_pie = self.elf.header.e_type == "ET_DYN"
            self.sections = self._read_sections()
            self.segments = [
                LoadSegment(int(s["p_vaddr"]), int(s["p_memsz"]), int(s["p_offset"]), int(s["p_filesz"]),
                            int(s["p_flags"]))
                for s in self.elf.iter_segments() if s["p_type"] == "PT_LOAD"
            ]
        except ELFError as e:
            raise BinaryFormatError(f"{self.path}: malformed ELF: {e}") from e
        except (struct.error, ValueError, KeyError) as e:
            raise BinaryFormatError(f"{self.path}: malformed ELF: {e}") from e
        if self.machine not in ("EM_X86_64", "EM_AARCH64"):
            raise BinaryFormatError(f"{self.path}: unsupported machine {self.machine}")
        self.arch = "amd64" if self.machine == "EM_X86_64" else "arm64"

    def close(self) -> None:
        close_mapping(self.data)

    def _read_sections(self) -> dict[str, Section]:
        out: dict[str, Section] = {}
        for s in self.elf.iter_sections():
            if not s.name:
                continue
            sec = Section(s.name, int(s["sh_addr"]), int(s["sh_offset"]), int(s["sh_size"]),
                          s["sh_type"], int(s["sh_flags"]))
            if sec.type != "SHT_NOBITS" and sec.offset + sec.size > len(self.data):
                raise BinaryFormatError(f"{self.path}: section {sec.name} runs past the end of the file")
            out.setdefault(s.name, sec)
        return out

    def section_data(self, name: str) -> memoryview | None:
        """The raw bytes of a section (no copy), or None if absent or without file data."""
        sec = self.sections.get(name)
        if sec is None or sec.type == "SHT_NOBITS":
            return None
        return memoryview(self.data)[sec.offset : sec.offset + sec.size]

    def section_at(self, addr: int) -> Section | None:
        for sec in self.sections.values():
            if sec.addr and sec.addr <= addr < sec.end:
                return sec
        return None

    # -- identity --------------------------------------------------------------------------------

    @cached_property
    def notes(self) -> list[tuple[str, int, bytes]]:
        out = []
        for s in self.elf.iter_segments():
            if s["p_type"] == "PT_NOTE":
                off, size = int(s["p_offset"]), int(s["p_filesz"])
                out.extend(parse_notes(memoryview(self.data)[off : off + size]))
        if not out:
            for sec in self.sections.values():
                if sec.type == "SHT_NOTE":
                    out.extend(parse_notes(memoryview(self.data)[sec.offset : sec.offset + sec.size]))
        return out

    @cached_property
    def go_build_id(self) -> str | None:
        """The Go build ID (``.note.go.buildid``), as ``go tool buildid`` prints it."""
        for name, ntype, desc in self.notes:
            if name == "Go" and ntype == NT_GO_BUILDID:
                return desc.decode("utf-8", "replace")
        return None

    @cached_property
    def gnu_build_id(self) -> str | None:
        for name, ntype, desc in self.notes:
            if name == "GNU" and ntype == NT_GNU_BUILD_ID:
                return desc.hex()
        return None

    @property
    def build_id(self) -> str | None:
        return self.go_build_id or self.gnu_build_id

    @cached_property
    def buildinfo(self) -> BuildInfo | None:
        data = self.section_data(".go.buildinfo")
        if data is None:
            return None
        try:
            return parse_buildinfo(data, self.read_static)
        except ExplorerError:
            return None

    @property
    def is_go(self) -> bool:
        return ".gopclntab" in self.sections or self.buildinfo is not None

    def require_go(self) -> None:
        if not self.is_go:
            raise NotGoError(f"{self.path}: not a Go program (no .gopclntab, no Go build info)")

    @cached_property
    def go_version(self) -> str | None:
        """e.g. "go1.24.11" (from the build info), or None."""
        bi = self.buildinfo
        return bi.go_version if bi else None

    # -- static memory ---------------------------------------------------------------------------

    def read_static(self, addr: int, size: int) -> bytes:
        """Bytes at a link-time virtual address, from the file's PT_LOAD data (bss reads as zero)."""
        for seg in self.segments:
            if seg.vaddr <= addr and addr + size <= seg.vaddr + seg.memsz:
                rel = addr - seg.vaddr
                have = max(0, min(size, seg.filesz - rel))
                body = bytes(self.data[seg.offset + rel : seg.offset + rel + have]) if have else b""
                return body + b"\0" * (size - have)
        from explorer.errors import UnreadableMemory

        raise UnreadableMemory(addr, size, "not in the executable's segments")

    # -- symbols ---------------------------------------------------------------------------------

    @cached_property
    def symbols(self) -> dict[str, tuple[int, int]]:
        """name → (address, size) from ``.symtab``; empty for stripped binaries.

        Decoded with one ``struct.iter_unpack`` over the table (pyelftools' per-symbol parsing takes
        seconds on a 100 MB binary).
        """
        sec = self.sections.get(".symtab")
        out: dict[str, tuple[int, int]] = {}
        if sec is None or sec.type == "SHT_NOBITS":
            return out
        try:
            symtab = self.elf.get_section_by_name(".symtab")
            if symtab is None:
                return out
            link = symtab["sh_link"]
            strsec = self.elf.get_section(link)
            str_off, str_size = int(strsec["sh_offset"]), int(strsec["sh_size"])
        except (ELFError, KeyError, IndexError, struct.error):
            return out
        strtab = self.data[str_off : str_off + str_size]
        table = memoryview(self.data)[sec.offset : sec.offset + sec.size - sec.size % 24]
        for name_off, _info, _other, shndx, value, size in struct.iter_unpack("<IBBHQQ", table):
            if not name_off or shndx == 0 or name_off >= len(strtab):
                continue
            end = strtab.find(b"\0", name_off)
            name = strtab[name_off : end if end >= 0 else len(strtab)].decode("utf-8", "replace")
            if name not in out:
                out[name] = (value, size)
        return out

    def symbol(self, name: str) -> int | None:
        s = self.symbols.get(name)
        return s[0] if s else None

    @property
    def has_dwarf(self) -> bool:
        return ".debug_info" in self.sections or ".zdebug_info" in self.sections


class _MmapStream(io.RawIOBase):
    """A seekable read-only stream over an mmap, for pyelftools (which wants a file object)."""

    def __init__(self, data: mmap.mmap) -> None:
        self._data = data
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, pos: int, whence: int = 0) -> int:
        if whence == 0:
            self._pos = pos
        elif whence == 1:
            self._pos += pos
        else:
            self._pos = len(self._data) + pos
        return self._pos

    def tell(self) -> int:
        return self._pos

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = len(self._data) - self._pos
        out = self._data[self._pos : self._pos + n]
        self._pos += len(out)
        return out

    def readinto(self, b: bytearray) -> int:  # type: ignore[override]
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)
