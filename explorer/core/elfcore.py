"""ELF core files of Linux processes, x86-64 and AArch64 (the per-architecture facts: core.arch).

The file is memory-mapped and never read whole: program headers and notes are parsed eagerly (they
are small), segment data is only sliced on demand. Compressed cores (zstd as systemd-coredump stores
them, xz, lz4 where the module is installed) are decompressed once into an unlinked temporary file,
which is then mapped like any other core (explorer.core.compressed: checked and bounded as it goes).

Handles: PT_LOAD segments (with truncation detection: a segment whose data runs past the end of the
file), NT_PRSTATUS (threads and registers), NT_PRPSINFO, NT_SIGINFO, NT_AUXV, NT_FILE.

Cores written by qemu-user (7.2, ``qemu_<prog>_<date>_<pid>.core``) for its aarch64 guests have the
same layout with less in them: NT_PRSTATUS per thread (the thread that dumped first, as the kernel
does, and only that one with ``pr_cursig`` set), NT_PRPSINFO and NT_AUXV only (no NT_SIGINFO,
NT_FILE or NT_FPREGSET), and the executable's text written with file size 0, so code is read from
the executable. Pids and tids in the notes are qemu's own (host) ones.
"""

from __future__ import annotations

import mmap
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import IO

from explorer.core.arch import AMD64, ARM64, BY_MACHINE, Arch
from explorer.core.compressed import LZ4_MAGIC, XZ_MAGIC, ZSTD_MAGIC, decompress_to_temp, is_compressed
from explorer.core.elfstructs import (
    EHDR,
    ELF_MAGIC,
    EM_AARCH64,
    EM_X86_64,
    ET_CORE,
    PHDR,
    PT_LOAD,
    PT_NOTE,
    Ehdr,
    LoadSegment,
    Phdr,
    iter_notes,
)
from explorer.errors import CoreFormatError, InputError

NT_PRSTATUS = 1
NT_FPREGSET = 2
NT_PRPSINFO = 3
NT_AUXV = 6
NT_FILE = 0x46494C45
NT_SIGINFO = 0x53494749

AT_PHDR = 3
AT_ENTRY = 9
AT_EXECFN = 31

# Order of the registers of an elf_gregset_t (x86-64: struct user_regs_struct; arm64: x0..x30, sp,
# pc, pstate): see explorer.core.arch.
AMD64_REGS = AMD64.prstatus_regs
ARM64_REGS = ARM64.prstatus_regs

SIGNAL_NAMES = {
    1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS",
    8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE",
    14: "SIGALRM", 15: "SIGTERM", 16: "SIGSTKFLT", 17: "SIGCHLD", 18: "SIGCONT", 19: "SIGSTOP",
    20: "SIGTSTP", 21: "SIGTTIN", 22: "SIGTTOU", 23: "SIGURG", 24: "SIGXCPU", 25: "SIGXFSZ",
    26: "SIGVTALRM", 27: "SIGPROF", 28: "SIGWINCH", 29: "SIGIO", 30: "SIGPWR", 31: "SIGSYS",
}
# Signals whose siginfo carries a faulting address in si_addr.
FAULT_SIGNALS = {4, 7, 8, 11}



@dataclass(frozen=True)
class Segment(LoadSegment):
    """One PT_LOAD segment of the core.

    ``filesz`` is what the kernel meant to write; ``available`` is how much of it the file really
    holds (less than ``filesz`` when the core was truncated).
    """

    available: int

    @property
    def truncated(self) -> bool:
        return self.available < self.filesz


@dataclass(frozen=True)
class Thread:
    """A thread of the dumped process, from its NT_PRSTATUS note."""

    tid: int
    signal: int
    regs: dict[str, int]
    index: int

    @property
    def pc(self) -> int:
        return self.regs.get("rip", self.regs.get("pc", 0))

    @property
    def sp(self) -> int:
        return self.regs.get("rsp", self.regs.get("sp", 0))


@dataclass(frozen=True)
class FileMapping:
    """One entry of NT_FILE: a file mapped at [start, end) from page ``offset`` of ``path``."""

    start: int
    end: int
    offset: int
    path: str


@dataclass(frozen=True)
class SigInfo:
    """The fatal signal, from NT_SIGINFO."""

    signo: int
    errno: int
    code: int
    addr: int | None
    sender_pid: int | None

    @property
    def name(self) -> str:
        return SIGNAL_NAMES.get(self.signo, f"signal {self.signo}")


@dataclass(frozen=True)
class PrPsInfo:
    """NT_PRPSINFO: process name and command line."""

    pid: int
    fname: str
    psargs: str


@dataclass
class CoreNotes:
    """Everything parsed from the PT_NOTE segments."""

    threads: list[Thread] = field(default_factory=list)
    prpsinfo: PrPsInfo | None = None
    siginfo: SigInfo | None = None
    auxv: dict[int, int] = field(default_factory=dict)
    files: list[FileMapping] = field(default_factory=list)
    notes_truncated: bool = False
    fpregs: dict[int, bytes] = field(default_factory=dict)
    """NT_FPREGSET of each thread that has one, by thread index (the note follows its thread's
    NT_PRSTATUS): amd64's FXSAVE area, arm64's ``user_fpsimd_state``; decoded by
    :meth:`explorer.core.arch.Arch.decode_fpregs`. Kernel cores have them, qemu's do not."""


def map_file(path: str | os.PathLike[str], *, decompress: bool = True) -> tuple[mmap.mmap | bytes, bool]:
    """Map ``path`` read-only, decompressing it first if it is compressed.

    Returns the mapping (empty bytes for an empty file) and whether it was decompressed.
    """
    p = Path(path)
    try:
        if p.is_dir():
            raise InputError(f"{p}: is a directory")
        fh = open(p, "rb")
    except InputError:
        raise
    except OSError as e:
        raise InputError(f"{p}: {e.strerror or e}") from e
    with fh:
        magic = fh.read(8)
        fh.seek(0)
        compressed = decompress and is_compressed(magic)
        src: IO[bytes] = decompress_to_temp(p, fh, magic) if compressed else fh
        try:
            size = os.fstat(src.fileno()).st_size
            if size == 0:
                return b"", compressed
            return mmap.mmap(src.fileno(), 0, access=mmap.ACCESS_READ), compressed
        finally:
            if compressed:
                src.close()


def close_mapping(data: mmap.mmap) -> None:
    """Unmap ``data``; while views of it are still alive (say, in the traceback of the error being
    reported), leave the unmapping to the garbage collector instead of failing."""
    try:
        data.close()
    except BufferError:
        pass


def is_elf_core(path: str | os.PathLike[str]) -> bool | None:
    """True for an ELF core (compressed or not), False for another ELF file, None if not ELF."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(64)
            if head[:4] != ELF_MAGIC:
                if any(head.startswith(m) for m in (ZSTD_MAGIC, XZ_MAGIC, LZ4_MAGIC)):
                    return True  # we only accept compressed cores, never compressed executables
                return None
            if len(head) < 18:
                return None
            return struct.unpack_from("<H", head, 16)[0] == ET_CORE
    except OSError:
        return None


class CoreFile:
    """A memory-mapped ELF core file.

    Use :meth:`open`; the object holds the mapping until :meth:`close` (also a context manager).
    """

    def __init__(self, path: Path, data: mmap.mmap | bytes, compressed: bool) -> None:
        self.path = path
        self.data = data
        self.compressed = compressed
        self.size = len(data)
        self._parse_header()

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> CoreFile:
        """Open (and if needed decompress) a core file; raises InputError/CoreFormatError."""
        data, compressed = map_file(path)
        return cls(Path(path), data, compressed)

    def close(self) -> None:
        if isinstance(self.data, mmap.mmap):
            close_mapping(self.data)

    def release_pages(self) -> None:
        """Give back the pages of the mapping that reads have touched.

        The kernel maps a whole neighbourhood of the page each read faults in (fault-around), and
        keeps them mapped: walking 100,000 goroutines spread over a heap maps a quarter of a GB.
        They are clean pages of a read-only file, so dropping them loses nothing (the next read
        maps them again from the page cache) and keeps the resident set flat on big cores.
        """
        if isinstance(self.data, mmap.mmap) and not self.data.closed:
            try:
                self.data.madvise(mmap.MADV_DONTNEED)
            except (OSError, ValueError):
                pass  # advice only

    def __enter__(self) -> CoreFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- headers ---------------------------------------------------------------------------------

    def _parse_header(self) -> None:
        d = self.data
        if self.size == 0:
            raise CoreFormatError(f"{self.path}: empty file, not a core")
        if self.size < EHDR.size or d[:4] != ELF_MAGIC:
            raise CoreFormatError(f"{self.path}: not an ELF file, so not a core")
        h = Ehdr._make(EHDR.unpack_from(d, 0))
        if h.e_ident[4] != 2 or h.e_ident[5] != 1:
            raise CoreFormatError(f"{self.path}: only 64-bit little-endian cores are supported")
        if h.e_type != ET_CORE:
            raise CoreFormatError(f"{self.path}: an ELF file but not a core (e_type {h.e_type})")
        if h.e_machine not in (EM_X86_64, EM_AARCH64):
            raise CoreFormatError(f"{self.path}: unsupported machine {h.e_machine}")
        self.machine = h.e_machine
        self.arch_desc: Arch = BY_MACHINE[h.e_machine]
        self.arch = self.arch_desc.name
        if h.e_phentsize != PHDR.size or h.e_phnum == 0:
            raise CoreFormatError(f"{self.path}: bad program header table")
        if h.e_phoff + h.e_phnum * PHDR.size > self.size:
            raise CoreFormatError(f"{self.path}: truncated before the end of its program headers")
        self.segments: list[Segment] = []
        self._note_ranges: list[tuple[int, int]] = []
        for i in range(h.e_phnum):
            ph = Phdr._make(PHDR.unpack_from(d, h.e_phoff + i * PHDR.size))
            if ph.p_type == PT_LOAD:
                off, filesz = ph.p_offset, ph.p_filesz
                avail = max(0, min(filesz, self.size - off)) if off < self.size else 0
                self.segments.append(Segment(ph.p_vaddr, ph.p_memsz, off, filesz, ph.p_flags, available=avail))
            elif ph.p_type == PT_NOTE:
                self._note_ranges.append((ph.p_offset, ph.p_filesz))
        self.segments.sort(key=lambda s: s.vaddr)

    # -- truncation ------------------------------------------------------------------------------

    @property
    def expected_size(self) -> int:
        """The file size the program headers call for."""
        ends = [s.offset + s.filesz for s in self.segments if s.filesz]
        ends += [o + n for o, n in self._note_ranges]
        return max(ends, default=self.size)

    @property
    def truncated(self) -> bool:
        return self.expected_size > self.size

    @property
    def missing_bytes(self) -> int:
        return max(0, self.expected_size - self.size)

    # -- notes -----------------------------------------------------------------------------------

    def iter_notes(self) -> Iterator[tuple[str, int, memoryview]]:
        """(name, type, descriptor) of every note the file holds, each PT_NOTE segment up to its
        first truncated note."""
        for off, size in self._note_ranges:
            yield from iter_notes(self.data, off, off + size)

    @cached_property
    def notes(self) -> CoreNotes:
        """Threads, process info, signal info, auxv and file mappings from the notes."""
        out = CoreNotes()
        reg_names = self.arch_desc.prstatus_regs
        for name, ntype, desc in self.iter_notes():
            if name != "CORE" and name != "LINUX":
                continue
            if ntype == NT_PRSTATUS and name == "CORE":
                need = 112 + 8 * len(reg_names)
                if len(desc) < need:
                    out.notes_truncated = True
                    continue
                cursig = struct.unpack_from("<H", desc, 12)[0]
                pid = struct.unpack_from("<i", desc, 32)[0]
                vals = struct.unpack_from(f"<{len(reg_names)}Q", desc, 112)
                out.threads.append(Thread(pid, cursig, dict(zip(reg_names, vals, strict=True)),
                                          len(out.threads)))
            elif ntype == NT_FPREGSET and name == "CORE" and out.threads:
                out.fpregs[out.threads[-1].index] = bytes(desc[:1024])  # bounded: 512 (amd64), 528 (arm64)
            elif ntype == NT_PRPSINFO and len(desc) >= 136:
                pid = struct.unpack_from("<i", desc, 24)[0]
                fname = bytes(desc[40:56]).split(b"\0", 1)[0].decode("utf-8", "replace")
                psargs = bytes(desc[56:136]).split(b"\0", 1)[0].decode("utf-8", "replace")
                out.prpsinfo = PrPsInfo(pid, fname, psargs.strip())
            elif ntype == NT_SIGINFO and len(desc) >= 24:
                signo, errno, code = struct.unpack_from("<iii", desc, 0)
                addr = struct.unpack_from("<Q", desc, 16)[0] if signo in FAULT_SIGNALS else None
                # SI_USER (0) and SI_TKILL (-6) carry the sender's pid at the same offset.
                sender = struct.unpack_from("<i", desc, 16)[0] if code in (0, -6) else None
                out.siginfo = SigInfo(signo, errno, code, addr, sender)
            elif ntype == NT_AUXV:
                n = len(desc) // 16
                for i in range(n):
                    key, val = struct.unpack_from("<QQ", desc, 16 * i)
                    if key == 0:
                        break
                    out.auxv[key] = val
            elif ntype == NT_FILE:
                out.files = _parse_nt_file(desc)
        return out

    @property
    def threads(self) -> list[Thread]:
        return self.notes.threads

    def segment_data(self, seg: Segment) -> memoryview:
        """The bytes of a segment that the file really holds (no copy)."""
        return memoryview(self.data)[seg.offset : seg.offset + seg.available]

    @cached_property
    def executable_path(self) -> str | None:
        """Path of the executable the core names: NT_FILE's mapping of AT_PHDR's page, else the
        string AT_EXECFN points to (the path given to execve, on the dumped stack: what a core
        without NT_FILE, such as qemu-user's, still tells)."""
        notes = self.notes
        phdr = notes.auxv.get(AT_PHDR)
        if phdr is not None:
            for f in notes.files:
                if f.start <= phdr < f.end:
                    return f.path
        if notes.files:
            return notes.files[0].path
        execfn = notes.auxv.get(AT_EXECFN)
        return self._cstring_at(execfn) if execfn else None

    def _cstring_at(self, addr: int, limit: int = 4096) -> str | None:
        """The NUL-terminated string the core holds at ``addr`` (None if it holds none there)."""
        for seg in self.segments:
            if seg.vaddr <= addr < seg.vaddr + seg.available:
                off = seg.offset + (addr - seg.vaddr)
                raw = bytes(self.data[off : min(seg.offset + seg.available, off + limit)])
                nul = raw.find(b"\0")
                return raw[:nul].decode("utf-8", "replace") if nul > 0 else None
        return None


def _parse_nt_file(desc: memoryview) -> list[FileMapping]:
    if len(desc) < 16:
        return []
    count, _page_size = struct.unpack_from("<QQ", desc, 0)
    if count > (len(desc) - 16) // 24:
        return []  # garbage count: more entries than bytes
    entries = [struct.unpack_from("<QQQ", desc, 16 + 24 * i) for i in range(count)]
    names = bytes(desc[16 + 24 * count :]).split(b"\0")
    out = []
    for i, (start, end, pgoff) in enumerate(entries):
        path = names[i].decode("utf-8", "replace") if i < len(names) else ""
        out.append(FileMapping(start, end, pgoff * _page_size, path))
    return out
