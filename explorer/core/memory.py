"""The address space of a dumped process, assembled from layers.

A core does not hold every byte the process could read: Linux's default ``coredump_filter`` leaves
out file-backed read-only mappings (text, rodata, .gopclntab of the executable), and a core cut short
by ``ulimit -c`` or a full disk loses its tail. The address space therefore stacks layers, higher
priority first: the core's segments, then the executable's PT_LOAD segments (moved by the PIE bias),
then holes that only explain why an address cannot be read.

Reads never trust sizes: the range is checked against the map before anything is allocated.
"""

from __future__ import annotations

import bisect
import heapq
import mmap
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from explorer.errors import CorruptData, UnreadableMemory

# Priorities of the standard layers.
PRIO_CORE = 30
PRIO_CORE_TRUNCATED = 30  # a truncated core segment hides the executable's stale bytes below it
PRIO_EXECUTABLE = 20
PRIO_HOLE = 0

_U64 = struct.Struct("<Q")
BufferLike = bytes | bytearray | memoryview | mmap.mmap

# One read at most this big; a larger request is a garbage length, not a wish.
MAX_READ = 1 << 31
# An array (a slice's backing array, a map's buckets...) bigger than this is a garbage length.
MAX_EXTENT = 1 << 40


class Memory(Protocol):
    """What the model reads a dumped process's memory through (an :class:`AddressSpace`, or a test's
    stand-in). Every read is bounded and raises :class:`UnreadableMemory` rather than return short;
    ``try_read`` returns None instead. Integers are little-endian; pointers are 8 bytes (amd64, arm64).
    """

    def read(self, addr: int, size: int) -> bytes: ...
    def try_read(self, addr: int, size: int) -> bytes | None: ...
    def read_u8(self, addr: int) -> int: ...
    def read_u16(self, addr: int) -> int: ...
    def read_u32(self, addr: int) -> int: ...
    def read_i32(self, addr: int) -> int: ...
    def read_u64(self, addr: int) -> int: ...
    def read_i64(self, addr: int) -> int: ...
    def read_ptr(self, addr: int) -> int: ...
    def read_uint(self, addr: int, size: int) -> int: ...
    def is_readable(self, addr: int, size: int = 1) -> bool: ...
    def readable_prefix(self, addr: int, size: int) -> int: ...
    def why_unreadable(self, addr: int) -> str: ...
    def chunks(self, addr: int, size: int) -> Iterator[tuple[int, memoryview | None, str]]: ...


@dataclass(frozen=True)
class Region:
    """A range [start, end) backed by ``buf[offset:offset+end-start]``, or a hole (``buf`` None)."""

    start: int
    end: int
    buf: BufferLike | None  # the bytes behind the range, or None for a hole
    offset: int = 0
    priority: int = 0
    reason: str = "unmapped"
    source: str = ""


def _buffer_size(buf: BufferLike) -> int:
    return buf.nbytes if isinstance(buf, memoryview) else len(buf)


def _checked(regions: Sequence[Region]) -> list[Region]:
    """The regions with each data region cut to the bytes its buffer really holds.

    A program header may promise more than its file holds (a truncated or corrupt executable): the
    missing tail becomes a hole of the same priority, so that no read ever runs off a buffer.
    """
    out: list[Region] = []
    for r in regions:
        if r.end <= r.start:
            continue
        if r.buf is not None:
            have = _buffer_size(r.buf) - r.offset if r.offset >= 0 else 0
            if have < r.end - r.start:
                have = max(have, 0)
                if have:
                    out.append(replace(r, end=r.start + have))
                out.append(Region(r.start + have, r.end, None, 0, r.priority,
                                  f"past the end of the {r.source or 'mapped'} file", r.source))
                continue
        out.append(r)
    return out


class AddressSpace:
    """Reads of a process's memory from a stack of :class:`Region` layers."""

    def __init__(self, regions: Sequence[Region] = ()) -> None:
        self._regions: list[Region] = _checked(regions)
        self._flatten()

    def add(self, regions: Sequence[Region]) -> None:
        """Add regions (of any priority) and rebuild the map."""
        self._regions.extend(_checked(regions))
        self._flatten()

    def _flatten(self) -> None:
        """Resolve overlaps: every address belongs to the highest-priority region covering it."""
        regs = [r for r in self._regions if r.end > r.start]
        points = sorted({r.start for r in regs} | {r.end for r in regs})
        by_start = sorted(range(len(regs)), key=lambda i: regs[i].start)
        active: list[tuple[int, int, int]] = []  # heap of (-priority, -index, index)
        out: list[tuple[int, int, Region]] = []
        k = 0
        for i in range(len(points) - 1):
            lo, hi = points[i], points[i + 1]
            while k < len(by_start) and regs[by_start[k]].start <= lo:
                j = by_start[k]
                heapq.heappush(active, (-regs[j].priority, -j, j))
                k += 1
            while active and regs[active[0][2]].end <= lo:
                heapq.heappop(active)
            if not active:
                continue
            top = regs[active[0][2]]
            if out and out[-1][1] == lo and out[-1][2] is top:
                out[-1] = (out[-1][0], hi, top)
            else:
                out.append((lo, hi, top))
        self._starts = [s for s, _, _ in out]
        self._map = out
        self._last = -1

    # -- lookup ----------------------------------------------------------------------------------

    def _find(self, addr: int) -> int:
        last = self._last  # reads cluster: most land in the region of the previous one
        if last >= 0:
            lo, hi, _ = self._map[last]
            if lo <= addr < hi:
                return last
        i = bisect.bisect_right(self._starts, addr) - 1
        if i >= 0 and addr < self._map[i][1]:
            self._last = i
            return i
        return -1

    def span_at(self, addr: int) -> tuple[int, int, BufferLike, int] | None:
        """(lo, hi, buffer, offset of lo in the buffer) of the readable run holding ``addr``, or None.
        Hot loops that read many small things from the same run (every g of allgs, a stack's words)
        slice or ``unpack_from`` the buffer themselves instead of calling :meth:`read` each time;
        they must stay inside [lo, hi)."""
        i = self._find(addr)
        if i < 0:
            return None
        lo, hi, reg = self._map[i]
        if reg.buf is None:
            return None
        return lo, hi, reg.buf, reg.offset + (lo - reg.start)

    def region_at(self, addr: int) -> Region | None:
        """The region (data or hole) that decides what ``addr`` reads as."""
        i = self._find(addr)
        return self._map[i][2] if i >= 0 else None

    def is_readable(self, addr: int, size: int = 1) -> bool:
        return self.readable_prefix(addr, size) >= size

    def readable_prefix(self, addr: int, size: int) -> int:
        """How many bytes from ``addr`` (at most ``size``) can be read."""
        done = 0
        while done < size:
            i = self._find(addr + done)
            if i < 0:
                break
            _lo, hi, reg = self._map[i]
            if reg.buf is None:
                break
            done += min(size - done, hi - (addr + done))
        return done

    def why_unreadable(self, addr: int) -> str:
        """Why ``addr`` cannot be read (the hole's reason), or "" if it can."""
        i = self._find(addr)
        if i < 0:
            return "unmapped"
        reg = self._map[i][2]
        return "" if reg.buf is not None else reg.reason

    def chunks(self, addr: int, size: int) -> Iterator[tuple[int, memoryview | None, str]]:
        """Cover [addr, addr+size) with (start, data-or-None, reason) pieces, in order."""
        pos, end = addr, addr + size
        while pos < end:
            i = self._find(pos)
            if i < 0:
                nxt = bisect.bisect_right(self._starts, pos)
                stop = min(end, self._starts[nxt]) if nxt < len(self._starts) else end
                yield pos, None, "unmapped"
                pos = stop
                continue
            _lo, hi, reg = self._map[i]
            stop = min(end, hi)
            if reg.buf is None:
                yield pos, None, reg.reason
            else:
                off = reg.offset + (pos - reg.start)
                yield pos, memoryview(reg.buf)[off : off + (stop - pos)], ""
            pos = stop

    # -- reads -----------------------------------------------------------------------------------

    def read(self, addr: int, size: int) -> bytes:
        """``size`` bytes at ``addr``; raises :class:`UnreadableMemory` if any of them is missing."""
        if size < 0 or size > MAX_READ or addr < 0 or addr + size > 1 << 64:
            raise UnreadableMemory(addr, size, "bad address or length")
        if size == 0:
            return b""
        i = self._find(addr)
        if i >= 0:
            _lo, hi, reg = self._map[i]
            if reg.buf is not None and addr + size <= hi:  # fast path: one region
                off = reg.offset + (addr - reg.start)
                return bytes(memoryview(reg.buf)[off : off + size])
        n = self.readable_prefix(addr, size)
        if n < size:
            raise UnreadableMemory(addr + n, size - n, self.why_unreadable(addr + n))
        return b"".join(bytes(c) for _, c, _ in self.chunks(addr, size) if c is not None)

    def try_read(self, addr: int, size: int) -> bytes | None:
        try:
            return self.read(addr, size)
        except UnreadableMemory:
            return None

    def read_u8(self, addr: int) -> int:
        return self.read(addr, 1)[0]

    def read_u16(self, addr: int) -> int:
        return int.from_bytes(self.read(addr, 2), "little")

    def read_u32(self, addr: int) -> int:
        return int.from_bytes(self.read(addr, 4), "little")

    def read_i32(self, addr: int) -> int:
        return int.from_bytes(self.read(addr, 4), "little", signed=True)

    def read_u64(self, addr: int) -> int:
        i = self._find(addr)
        if i >= 0:  # fast path: no intermediate bytes object (the unwinder's hot loop)
            _lo, hi, reg = self._map[i]
            if reg.buf is not None and addr + 8 <= hi:
                return int(_U64.unpack_from(reg.buf, reg.offset + addr - reg.start)[0])
        return int.from_bytes(self.read(addr, 8), "little")

    def read_i64(self, addr: int) -> int:
        return int.from_bytes(self.read(addr, 8), "little", signed=True)

    def read_ptr(self, addr: int) -> int:
        return self.read_u64(addr)

    def read_uint(self, addr: int, size: int) -> int:
        """An unsigned little-endian integer of ``size`` bytes (1 to 8)."""
        if size == 8:
            return self.read_u64(addr)
        return int.from_bytes(self.read(addr, size), "little")

    def read_struct(self, fmt: struct.Struct, addr: int) -> tuple[int, ...]:
        return fmt.unpack(self.read(addr, fmt.size))

    def read_cstring(self, addr: int, limit: int = 4096) -> bytes:
        """A NUL-terminated string of at most ``limit`` bytes (stops early at unreadable memory)."""
        n = self.readable_prefix(addr, limit)
        data = self.read(addr, n) if n else b""
        return data.split(b"\0", 1)[0]

    @property
    def regions(self) -> list[tuple[int, int, Region]]:
        """The resolved map: (start, end, region) sorted by address."""
        return list(self._map)


def check_array(mem: Memory, addr: int, count: int, elem_size: int, what: str) -> None:
    """Refuse an array the core cannot hold: ``count`` elements of ``elem_size`` bytes at ``addr``
    must all be readable before anything is decoded or allocated for them.

    Raises :class:`CorruptData` for an impossible length (negative, astronomic, or non-zero behind a
    nil pointer) and :class:`UnreadableMemory` naming the first missing byte and why it is missing.
    """
    if count < 0:
        raise CorruptData(f"bad {what} length {count}")
    total = count * elem_size
    if total == 0:
        return
    if not addr:
        raise CorruptData(f"{what} of length {count} with a nil data pointer")
    if total > MAX_EXTENT:
        raise CorruptData(f"{what} length {count} is impossible")
    got = mem.readable_prefix(addr, total)
    if got < total:
        raise UnreadableMemory(addr + got, total - got,
                               f"{what} of {total} bytes at {addr:#x} is not in the core "
                               f"({mem.why_unreadable(addr + got) or 'unmapped'})")
