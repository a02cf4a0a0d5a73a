"""Vectorised reads of a dumped process's memory (numpy views over the core's mapped bytes).

The heap walk reads millions of words (span structs, alloc bits, pointer bitmaps, object fields):
one Python call per word would take minutes. :class:`VecMemory` wraps the same layered address
space the rest of the model reads through (:class:`explorer.core.AddressSpace`), but answers whole
arrays of addresses at once: each readable region becomes a zero-copy numpy view of the memory-
mapped core (or executable), and a gather is a ``searchsorted`` over the region starts plus one
fancy-index per region touched. Addresses that no region holds read as 0 with ``ok`` False: a core
is hostile input, and garbage pointers are data, not errors.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from explorer.core.memory import AddressSpace
from explorer.errors import ExplorerError

U64 = npt.NDArray[np.uint64]
Mask = npt.NDArray[np.bool_]

SMALL = 16  # gathers of at most this many words are done word by word


class VecMemory:
    """Gathers of little-endian integers at many addresses of one address space."""

    def __init__(self, mem: AddressSpace) -> None:
        self.mem = mem
        starts: list[int] = []
        ends: list[int] = []
        self._bytes: list[npt.NDArray[np.uint8]] = []
        for lo, hi, reg in mem.regions:
            if reg.buf is None or hi <= lo:
                continue
            off = reg.offset + (lo - reg.start)
            self._bytes.append(np.frombuffer(reg.buf, dtype=np.uint8, count=hi - lo, offset=off))
            starts.append(lo)
            ends.append(hi)
        self._starts = np.array(starts, dtype=np.uint64)
        self._ends = np.array(ends, dtype=np.uint64)
        self._words: dict[int, tuple[int, U64]] = {}

    def _word_view(self, k: int) -> tuple[int, U64]:
        """Region k as uint64 words from its first 8-aligned address: (that address, view)."""
        v = self._words.get(k)
        if v is None:
            lo = int(self._starts[k])
            skip = (-lo) % 8
            b = self._bytes[k][skip:]
            n = len(b) // 8
            if n == 0:
                words: U64 = np.zeros(0, dtype=np.uint64)
            elif b.ctypes.data % 8 == 0:
                words = b[: n * 8].view(np.uint64)
            else:  # the mapping itself is misaligned (never for page-aligned cores): copy once
                words = np.frombuffer(b[: n * 8].tobytes(), dtype=np.uint64)
            v = (lo + skip, words)
            self._words[k] = v
        return v

    def _regions_of(self, addrs: U64, size: int) -> tuple[npt.NDArray[np.intp], Mask]:
        if len(addrs) > SMALL and len(self._starts):
            # Most gathers stay in one region (a chunk of heap): one lookup for all of them.
            lo, hi = int(addrs.min()), int(addrs.max())
            k = int(np.searchsorted(self._starts, np.uint64(lo), side="right")) - 1
            if k >= 0 and hi + size <= int(self._ends[k]):
                return np.full(len(addrs), k, dtype=np.intp), np.ones(len(addrs), dtype=bool)
        idx = np.searchsorted(self._starts, addrs, side="right").astype(np.intp) - 1
        ok = idx >= 0
        safe = np.where(ok, idx, 0)
        if len(self._ends):
            ok &= addrs + np.uint64(size) <= self._ends[safe]
            ok &= addrs <= np.uint64((1 << 64) - 1 - size)
        else:
            ok[:] = False
        return safe, ok

    def u64(self, addrs: U64) -> tuple[U64, Mask]:
        """The 8-byte words at ``addrs`` (which should be 8-aligned; others read via bytes)."""
        addrs = np.asarray(addrs, dtype=np.uint64)
        n = len(addrs)
        if n <= SMALL:
            return self._u64_small(addrs)
        out = np.zeros(n, dtype=np.uint64)
        idx, ok = self._regions_of(addrs, 8)
        aligned = (addrs & np.uint64(7)) == 0
        if len(idx) and idx[0] == idx[-1] and ok.all() and aligned.all() and (idx == idx[0]).all():
            base, words = self._word_view(int(idx[0]))
            return words[((addrs - np.uint64(base)) >> np.uint64(3)).astype(np.intp)], ok
        for k in np.unique(idx[ok]):
            sel = np.nonzero(ok & (idx == k))[0]
            base, words = self._word_view(int(k))
            a = addrs[sel]
            al = aligned[sel]
            if al.all():
                out[sel] = words[((a - np.uint64(base)) >> np.uint64(3)).astype(np.intp)]
            else:
                b = self._bytes[int(k)]
                off = (a - self._starts[k]).astype(np.intp)
                acc = np.zeros(len(sel), dtype=np.uint64)
                for i in range(8):
                    acc |= b[off + i].astype(np.uint64) << np.uint64(8 * i)
                out[sel] = acc
        return out, ok

    def _u64_small(self, addrs: U64) -> tuple[U64, Mask]:
        """A few words: one Python read each beats a vectorised gather's fixed cost."""
        out = np.zeros(len(addrs), dtype=np.uint64)
        ok = np.zeros(len(addrs), dtype=bool)
        read = self.mem.read_u64
        for i, a in enumerate(addrs.tolist()):
            try:
                out[i] = read(a)
                ok[i] = True
            except ExplorerError:
                pass
        return out, ok

    def uint(self, addrs: U64, size: int) -> tuple[U64, Mask]:
        """Unsigned integers of ``size`` bytes (1, 2, 4 or 8) at ``addrs``."""
        if size == 8:
            return self.u64(addrs)
        addrs = np.asarray(addrs, dtype=np.uint64)
        out = np.zeros(len(addrs), dtype=np.uint64)
        if not len(addrs):
            return out, np.zeros(0, dtype=bool)
        idx, ok = self._regions_of(addrs, size)
        for k in np.unique(idx[ok]):
            sel = np.nonzero(ok & (idx == k))[0]
            b = self._bytes[int(k)]
            off = (addrs[sel] - self._starts[k]).astype(np.intp)
            acc = np.zeros(len(sel), dtype=np.uint64)
            for i in range(size):
                acc |= b[off + i].astype(np.uint64) << np.uint64(8 * i)
            out[sel] = acc
        return out, ok

    def u8(self, addrs: U64) -> tuple[npt.NDArray[np.uint8], Mask]:
        """The bytes at ``addrs``."""
        v, ok = self.uint(addrs, 1)
        return v.astype(np.uint8), ok

    def block(self, addr: int, size: int) -> npt.NDArray[np.uint8] | None:
        """A zero-copy view of ``size`` bytes at ``addr`` if one region holds them all, else a copy
        (None if any byte is unreadable)."""
        if size <= 0:
            return np.zeros(0, dtype=np.uint8)
        if len(self._starts):
            k = int(np.searchsorted(self._starts, np.uint64(addr), side="right")) - 1
            if k >= 0 and addr + size <= int(self._ends[k]):
                off = addr - int(self._starts[k])
                return self._bytes[k][off : off + size]
        data = self.mem.try_read(addr, size)
        return None if data is None else np.frombuffer(data, dtype=np.uint8)

    def words(self, addr: int, count: int) -> U64 | None:
        """``count`` 8-byte words at ``addr`` (a view when possible), None if unreadable."""
        b = self.block(addr, count * 8)
        if b is None:
            return None
        if addr % 8 == 0 and b.ctypes.data % 8 == 0:
            return b.view(np.uint64)
        return np.frombuffer(b.tobytes(), dtype=np.uint64)

    def readable(self, addrs: U64, size: int = 8) -> Mask:
        """Whether ``size`` bytes at each address can be read."""
        addrs = np.asarray(addrs, dtype=np.uint64)
        if not len(addrs):
            return np.zeros(0, dtype=bool)
        return self._regions_of(addrs, size)[1]
