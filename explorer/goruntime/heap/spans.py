"""Spans and allocated objects: ``mheap_.allspans``, each ``mspan``, its alloc bits (Go 1.21–1.27).

``mheap_.allspans`` lists every ``mspan`` ever made; the in-use ones (``state == mSpanInUse``)
hold the heap's objects. A span of size class c > 0 has ``nelems`` slots of ``elemsize`` bytes; a
large span (class 0) holds one object of ``npages`` pages. Slot i is allocated when ``i <
freeindex`` (the allocator hands out slots in order and has passed it) or its bit in ``allocBits``
(the mark bits of the last sweep) is set — exactly the runtime's own rule (``mspan.isFree``). The
counts are those of ``runtime.MemStats``: ``HeapObjects`` is the number of allocated slots (a tiny
allocator block counts once) and ``HeapAlloc`` their ``elemsize`` sum (a large object counts its
whole span).

Field widths moved: ``freeindex``/``nelems`` are uintptrs in 1.21 and uint16 from 1.22;
``largeType`` exists from 1.22. Offsets and widths come from DWARF or the generated layout table.
Everything is read with vectorised gathers (:mod:`.memview`): a heap of a million spans takes
seconds, not minutes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from explorer.errors import ExplorerError
from explorer.goruntime.heap.params import MSPAN_IN_USE, PAGE_SIZE, HeapParams

if TYPE_CHECKING:
    from explorer.goruntime.heap.memview import VecMemory
    from explorer.goruntime.layout import Layout

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]

MAX_SPANS = 1 << 26  # allspans longer than this is garbage, not a heap
MAX_INDEX_PAGES = 1 << 26  # a page table of at most 256 MiB of int32 (a 512 GiB heap range)
MAX_NELEMS = PAGE_SIZE * 16  # the most slots any small span can have (8-byte objects in 8 pages is 8192)


class HeapError(ExplorerError):
    """The heap's structures cannot be read (no mheap_, a garbage allspans...)."""


@dataclass
class Spans:
    """The in-use spans, sorted by base address (one array element per span)."""

    mspan: U64  # address of the mspan struct
    base: U64
    npages: U64
    nelems: I64
    elemsize: U64
    spanclass: npt.NDArray[np.uint8]
    freeindex: I64
    alloc_bits: U64
    alloc_count: I64
    large_type: U64
    specials: U64
    total: int = 0  # entries of allspans (in-use or not)
    unreadable: int = 0  # in-use spans whose struct could not be read

    def __len__(self) -> int:
        return len(self.base)

    @property
    def sizeclass(self) -> npt.NDArray[np.uint8]:
        return self.spanclass >> np.uint8(1)

    @property
    def noscan(self) -> npt.NDArray[np.bool_]:
        return (self.spanclass & np.uint8(1)) != 0

    @property
    def end(self) -> U64:
        return self.base + self.npages * np.uint64(PAGE_SIZE)

    def index_of(self, addrs: U64) -> npt.NDArray[np.intp]:
        """The span holding each address, or -1."""
        i = np.searchsorted(self.base, addrs, side="right").astype(np.intp) - 1
        safe = np.where(i >= 0, i, 0)
        ok = (i >= 0) & (addrs < self.end[safe]) if len(self.base) else np.zeros(len(addrs), bool)
        return np.where(ok, i, -1)


@dataclass
class Objects:
    """The allocated objects (slots), sorted by address."""

    addr: U64
    size: U64  # the slot size (elemsize; a large object's whole span)
    span: npt.NDArray[np.int32]
    mismatched_spans: list[int] = field(default_factory=list)  # alloc bits disagree with allocCount
    _index: tuple[Any, ...] | None = field(default=None, repr=False)
    _scalar: tuple[Any, ...] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.addr)

    @property
    def bytes(self) -> int:
        return int(self.size.sum(dtype=np.uint64))

    def build_index(self, spans: Spans) -> None:
        """A page → span table and a slot → object table, so that :meth:`find` is a few gathers per
        address instead of a binary search over millions of objects (tens of times faster)."""
        if not len(spans) or not len(self.addr):
            return
        lo = int(spans.base[0])
        hi = int(spans.end.max())
        npages = (hi - lo) // PAGE_SIZE
        if npages > MAX_INDEX_PAGES:
            return  # a heap scattered over a huge range: binary search it is
        page_span = np.full(npages, -1, dtype=np.int32)
        np_ = spans.npages.astype(np.int64)
        first_page = ((spans.base - np.uint64(lo)) // np.uint64(PAGE_SIZE)).astype(np.int64)
        owner = np.repeat(np.arange(len(spans), dtype=np.int32), np_)
        k = np.arange(int(np_.sum()), dtype=np.int64) - np.repeat(np.cumsum(np_) - np_, np_)
        page_span[np.repeat(first_page, np_) + k] = owner
        slot_start = np.zeros(len(spans) + 1, dtype=np.int64)
        np.cumsum(spans.nelems, out=slot_start[1:])
        slot_obj = np.full(int(slot_start[-1]), -1, dtype=np.int32)
        s = self.span
        slot = ((self.addr - spans.base[s]) // spans.elemsize[s]).astype(np.int64)
        slot_obj[slot_start[s] + slot] = np.arange(len(self.addr), dtype=np.int32)
        self._index = (lo, npages, page_span, spans.base, spans.elemsize, spans.nelems, slot_start, slot_obj)

    def find(self, addrs: U64) -> npt.NDArray[np.intp]:
        """The object holding each address (interior pointers included), or -1."""
        addrs = np.asarray(addrs, dtype=np.uint64)
        if self._index is not None and len(addrs) > 16:
            lo, npages, page_span, base, elemsize, nelems, slot_start, slot_obj = self._index
            out = np.full(len(addrs), -1, dtype=np.intp)
            page = (addrs - np.uint64(lo)) >> np.uint64(13)  # below lo wraps around: out of range
            cand = np.nonzero(page < np.uint64(npages))[0]  # most words are nil or not heap pointers
            sp = page_span[page[cand].view(np.int64)]
            keep = sp >= 0
            cand, s = cand[keep], sp[keep]
            slot = ((addrs[cand] - base[s]) // elemsize[s]).view(np.int64)
            keep = slot < nelems[s]
            cand, s, slot = cand[keep], s[keep], slot[keep]
            out[cand] = slot_obj[slot_start[s] + slot]
            return out
        i = np.searchsorted(self.addr, addrs, side="right").astype(np.intp) - 1
        if not len(self.addr):
            return np.full(len(addrs), -1, dtype=np.intp)
        safe = np.where(i >= 0, i, 0)
        ok = (i >= 0) & (addrs < self.addr[safe] + self.size[safe])
        return np.where(ok, i, -1)

    def find_one(self, addr: int) -> int:
        """:meth:`find` for one address (plain Python through the index: no array round trip)."""
        ix = self._scalar
        if ix is None and self._index is not None:
            lo, npages, page_span, base, elemsize, nelems, slot_start, slot_obj = self._index
            ix = self._scalar = (lo, npages, *(a.data for a in (page_span, base, elemsize, nelems, slot_start,
                                                                          slot_obj)))
        if ix is not None:
            lo, npages, page_span, base, elemsize, nelems, slot_start, slot_obj = ix
            page = (addr - lo) >> 13
            if not 0 <= page < npages:
                return -1
            s = page_span[page]
            if s < 0:
                return -1
            slot = (addr - base[s]) // elemsize[s]
            return int(slot_obj[slot_start[s] + slot]) if slot < nelems[s] else -1
        return int(self.find(np.array([addr], dtype=np.uint64))[0])


class _Fields:
    """Offsets and widths of the mspan fields the walk reads."""

    def __init__(self, layout: Layout, params: HeapParams) -> None:
        s = "runtime.mspan"

        def need(name: str) -> int:
            return layout.need(s, name)

        def width(name: str, default: int) -> int:
            w = layout.field_size(s, name)
            return w if w in (1, 2, 4, 8) else default

        idx_w = 8 if params.minor <= 21 else 2
        self.start = need("startAddr")
        self.npages = need("npages")
        self.freeindex = (need("freeindex"), width("freeindex", idx_w))
        self.nelems = (need("nelems"), width("nelems", idx_w))
        self.alloc_bits = need("allocBits")
        self.alloc_count = (need("allocCount"), width("allocCount", 2))
        self.spanclass = need("spanclass")
        self.state = need("state")
        self.elemsize = need("elemsize")
        self.specials = layout.offset(s, "specials")
        self.large_type = layout.offset(s, "largeType")
        self.user_arena = layout.offset(s, "isUserArenaChunk")


def read_allspans(vm: VecMemory, layout: Layout, mheap: int) -> U64:
    """The ``mheap_.allspans`` array (mspan addresses)."""
    off = layout.need("runtime.mheap", "allspans")
    hdr = vm.mem.try_read(mheap + off, 24)
    if hdr is None:
        raise HeapError(f"mheap_.allspans at {mheap + off:#x} is not in the core")
    ptr, ln, cap = (int.from_bytes(hdr[i : i + 8], "little") for i in (0, 8, 16))
    if not ptr or not 0 < ln <= cap or ln > MAX_SPANS:
        raise HeapError(f"mheap_.allspans is not a plausible slice (ptr {ptr:#x}, len {ln}, cap {cap})")
    words = vm.words(ptr, ln)
    if words is None:
        raise HeapError(f"mheap_.allspans' array ({ln} entries at {ptr:#x}) is not in the core")
    return np.array(words, dtype=np.uint64)


def read_spans(vm: VecMemory, layout: Layout, params: HeapParams, mheap: int) -> Spans:
    """Every in-use span of ``mheap_`` (at address ``mheap``), sorted by base."""
    f = _Fields(layout, params)
    ptrs = read_allspans(vm, layout, mheap)
    total = len(ptrs)
    ptrs = ptrs[(ptrs != 0) & ((ptrs & np.uint64(7)) == 0)]
    state, ok = vm.uint(ptrs + np.uint64(f.state), 1)
    in_use = ok & (state == MSPAN_IN_USE)
    if f.user_arena is not None:
        ua, ok2 = vm.uint(ptrs + np.uint64(f.user_arena), 1)
        in_use &= ~(ok2 & (ua != 0))  # user arena chunks are not counted as heap objects
    p = ptrs[in_use]

    def get(off: int, size: int = 8) -> tuple[U64, npt.NDArray[np.bool_]]:
        return vm.uint(p + np.uint64(off), size)

    base, ok_b = get(f.start)
    npages, ok_n = get(f.npages)
    nelems, ok_e = get(*f.nelems)
    elemsize, ok_s = get(f.elemsize)
    spanclass, ok_c = get(f.spanclass, 1)
    freeindex, ok_f = get(*f.freeindex)
    alloc_bits, ok_a = get(f.alloc_bits)
    alloc_count, _ = get(*f.alloc_count)
    large_type = get(f.large_type)[0] if f.large_type is not None else np.zeros(len(p), dtype=np.uint64)
    specials = get(f.specials)[0] if f.specials is not None else np.zeros(len(p), dtype=np.uint64)
    good = ok_b & ok_n & ok_e & ok_s & ok_c & ok_f & ok_a
    # Plausibility: a hostile core must not make us allocate per garbage nelems.
    good &= (base % np.uint64(PAGE_SIZE) == 0) & (npages > 0) & (npages < np.uint64(1 << 40))
    good &= (nelems > 0) & (nelems <= np.uint64(MAX_NELEMS)) & (elemsize > 0)
    good &= elemsize * nelems <= npages * np.uint64(PAGE_SIZE)
    order = np.argsort(base[good], kind="stable")

    def pick(a: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
        return a[good][order]

    return Spans(
        mspan=pick(p), base=pick(base), npages=pick(npages), nelems=pick(nelems).astype(np.int64),
        elemsize=pick(elemsize), spanclass=pick(spanclass).astype(np.uint8),
        freeindex=pick(freeindex).astype(np.int64), alloc_bits=pick(alloc_bits),
        alloc_count=pick(alloc_count).astype(np.int64), large_type=pick(large_type), specials=pick(specials),
        total=total, unreadable=int((~good).sum()),
    )


def allocated_objects(vm: VecMemory, spans: Spans, chunk_slots: int = 1 << 21) -> Objects:
    """The allocated slots of every span (``i < freeindex || allocBits[i]``), sorted by address."""
    addrs: list[U64] = []
    sizes: list[U64] = []
    owners: list[npt.NDArray[np.int32]] = []
    mismatched: list[int] = []
    n = len(spans)
    start = 0
    while start < n:
        # A chunk of spans with about chunk_slots slots between them (bounded peak memory).
        cum = np.cumsum(spans.nelems[start:])
        stop = start + max(1, int(np.searchsorted(cum, chunk_slots, side="right")))
        sl = slice(start, stop)
        ne = spans.nelems[sl]
        tot = int(ne.sum())
        owner = np.repeat(np.arange(start, stop, dtype=np.int32), ne)
        first = np.repeat(np.cumsum(ne) - ne, ne)
        slot = np.arange(tot, dtype=np.int64) - first
        byte_addr = spans.alloc_bits[owner] + (slot >> 3).astype(np.uint64)
        bits, ok = vm.u8(byte_addr)
        bit = ok & (((bits >> (slot & 7).astype(np.uint8)) & np.uint8(1)) != 0)
        alloc = bit | (slot < spans.freeindex[owner])
        counts = np.bincount(owner[alloc] - start, minlength=stop - start)
        bad = np.nonzero(counts != spans.alloc_count[sl])[0]
        mismatched.extend(int(start + b) for b in bad)
        o = owner[alloc]
        addrs.append(spans.base[o] + slot[alloc].astype(np.uint64) * spans.elemsize[o])
        sizes.append(spans.elemsize[o])
        owners.append(o)
        start = stop
    if not addrs:
        return Objects(np.zeros(0, np.uint64), np.zeros(0, np.uint64), np.zeros(0, np.int32), mismatched)
    objs = Objects(np.concatenate(addrs), np.concatenate(sizes), np.concatenate(owners), mismatched)
    objs.build_index(spans)
    return objs
