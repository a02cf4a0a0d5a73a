"""Which heap words hold pointers, and the object graph they make (Go 1.21–1.27).

The runtime's own view of pointerness, per release (``mbitmap.go``):

- Go 1.21: one bit per heap word in the heap arena's metadata, ``heapArena.bitmap`` (bit i of
  ``bitmap[w]`` is word ``64*w + i`` of the arena); written for the whole object at allocation.
- Go 1.22+: objects of at most 512 bytes in scannable spans: one bit per word of the span at the
  end of the span (before Green Tea's 128-byte inline mark bits, when the binary has them and the
  objects are 16..512 bytes). Bigger small objects: the first word is a malloc header, the
  ``*abi.Type`` of the payload that follows, whose pointer mask is tiled over the rest of the slot
  (arrays hold the element type). Large objects: ``mspan.largeType``, tiled from the span's base.

Noscan spans (``spanclass & 1``) hold no pointers. A word is an edge of the graph when the word is
in an allocated object and its value points into an allocated object (interior pointers count, as
for the garbage collector). Everything is vectorised over pages and objects, in chunks so that a
gigabyte heap never needs more than a few hundred megabytes at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from explorer.goruntime.heap.params import (
    ARENA_BYTES,
    MALLOC_HEADER_SIZE,
    MIN_SIZE_FOR_MALLOC_HEADER,
    PAGE_SIZE,
    SPAN_INLINE_MARK_BITS,
)

if TYPE_CHECKING:
    from explorer.goruntime.heap.base import HeapLike as Heap

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]

BITMAP_BYTES_PER_PAGE = PAGE_SIZE // 8 // 8  # 128: one bit per 8-byte word
CHUNK_PAGES = 8192  # 64 MiB of heap per vectorised step
TILE_CHUNK_WORDS = 1 << 22


@dataclass
class Graph:
    """Pointers between allocated objects, in CSR form by source object."""

    indptr: I64  # edges of object i: [indptr[i], indptr[i+1])
    dst: I32  # target object
    off: npt.NDArray[np.uint32]  # byte offset of the pointer word in the source object
    pointer_words: int  # pointer-typed words in allocated objects (heap targets or not)

    @property
    def edges(self) -> int:
        return len(self.dst)

    def out(self, i: int) -> tuple[I32, npt.NDArray[np.uint32]]:
        lo, hi = int(self.indptr[i]), int(self.indptr[i + 1])
        return self.dst[lo:hi], self.off[lo:hi]

    def sources(self) -> I32:
        """The source object of every edge (computed on demand: referrer queries need it)."""
        n = len(self.indptr) - 1
        return np.repeat(np.arange(n, dtype=np.int32), np.diff(self.indptr))


class PointerMap:
    """Pointer words of the heap's objects for one :class:`~explorer.goruntime.heap.Heap`."""

    def __init__(self, heap: Heap) -> None:
        self.heap = heap
        self.vm = heap.vm
        self.params = heap.params
        self.spans = heap.spans
        self.objects = heap.objects
        sp = self.spans
        scan = ~sp.noscan
        small = sp.sizeclass != 0
        if self.params.arena_heap_bitmap:
            self.bit_spans = np.nonzero(scan)[0]
            self.header_spans = np.zeros(0, dtype=np.intp)
            self.large_spans = np.zeros(0, dtype=np.intp)
        else:
            in_span = sp.elemsize <= np.uint64(MIN_SIZE_FOR_MALLOC_HEADER)
            self.bit_spans = np.nonzero(scan & small & in_span)[0]
            self.header_spans = np.nonzero(scan & small & ~in_span)[0]
            self.large_spans = np.nonzero(scan & ~small)[0]
        self.green_tea_spans = 0
        self._l2: int | None = None

    # -- where the per-page bitmaps are -----------------------------------------------------------

    def _arena_l2(self) -> int:
        if self._l2 is None:
            layout = self.heap.proc.layout
            off = layout.need("runtime.mheap", "arenas")
            # arenas is [1 << arenaL1Bits]*[1 << arenaL2Bits]*heapArena; L1 has one entry on 64-bit Linux.
            self._l2 = self.heap.proc.memory.read_ptr(self.heap.mheap + off)
        return self._l2

    def _span_green_tea(self, idx: npt.NDArray[np.intp]) -> npt.NDArray[np.bool_]:
        """Which of these small scannable spans end with Green Tea's inline mark bits."""
        sp = self.spans
        es = sp.elemsize[idx].astype(np.int64)
        nbytes = sp.npages[idx].astype(np.int64) * PAGE_SIZE
        plain = (nbytes - nbytes // 64) // es
        green = (nbytes - nbytes // 64 - SPAN_INLINE_MARK_BITS) // es
        ne = sp.nelems[idx]
        eligible = es >= 16
        out = eligible & (ne == green) & (ne != plain)
        ambiguous = eligible & (ne == green) & (ne == plain)
        if ambiguous.any():
            # Same slot count either way: the inline mark bits end with the span class byte.
            last = sp.base[idx] + nbytes.astype(np.uint64) - np.uint64(1)
            cls, ok = self.vm.u8(last[ambiguous])
            guess = ok & (cls == sp.spanclass[idx][ambiguous])
            out[ambiguous] = guess if self.params.green_tea else guess & False
        return out

    def _page_bitmaps(self, idx: npt.NDArray[np.intp]) -> tuple[U64, U64]:
        """(page address, address of its 128-byte pointer bitmap) for every page of spans ``idx``."""
        sp = self.spans
        np_ = sp.npages[idx].astype(np.int64)
        owner = np.repeat(idx, np_)
        first = np.repeat(np.cumsum(np_) - np_, np_)
        k = (np.arange(int(np_.sum()), dtype=np.int64) - first).astype(np.uint64)
        pages = sp.base[owner] + k * np.uint64(PAGE_SIZE)
        if self.params.arena_heap_bitmap:
            l2 = self._arena_l2()
            ai = ((pages - np.uint64(self.params.arena_base_offset)) // np.uint64(ARENA_BYTES))
            arena, ok = self.vm.u64(np.uint64(l2) + ai * np.uint64(8))
            off_bitmap = self.heap.proc.layout.need("runtime.heapArena", "bitmap")
            bm = arena + np.uint64(off_bitmap) + (pages % np.uint64(ARENA_BYTES)) // np.uint64(64)
            return pages[ok & (arena != 0)], bm[ok & (arena != 0)]
        gt = self._span_green_tea(idx)
        self.green_tea_spans += int(gt.sum())
        span_bytes = (sp.npages[idx] * np.uint64(PAGE_SIZE))
        start = sp.base[idx] + span_bytes - span_bytes // np.uint64(64) - \
            np.where(gt, np.uint64(SPAN_INLINE_MARK_BITS), np.uint64(0))
        bm = np.repeat(start, np_) + k * np.uint64(BITMAP_BYTES_PER_PAGE)
        return pages, bm

    # -- pointer words --------------------------------------------------------------------------

    def _bit_words(self, pages: U64, bitmaps: U64) -> U64:
        """Addresses of the words whose bitmap bit is set."""
        word_addrs = bitmaps[:, None] + np.arange(0, BITMAP_BYTES_PER_PAGE, 8, dtype=np.uint64)[None, :]
        vals, ok = self.vm.u64(word_addrs.ravel())
        vals[~ok] = 0
        bits = np.unpackbits(vals.view(np.uint8).reshape(len(pages), BITMAP_BYTES_PER_PAGE), axis=1,
                             bitorder="little")
        pg, w = np.nonzero(bits)
        return pages[pg] + w.astype(np.uint64) * np.uint64(8)

    def _tile(self, starts: U64, ends: U64, tsize: int, mask: I64, owners: I32) -> tuple[I32, U64]:
        """Pointer word addresses of values of one type tiled over [start, end) of each object."""
        if not len(starts) or not len(mask) or tsize <= 0:
            return np.zeros(0, np.int32), np.zeros(0, np.uint64)
        span = (ends - starts).astype(np.int64)
        nel = np.maximum((span + tsize - 1) // tsize, 0)
        out_o: list[I32] = []
        out_a: list[U64] = []
        # Chunk by objects so that a huge array never expands all at once.
        cum = np.cumsum(nel * len(mask))
        lo = 0
        while lo < len(starts):
            base_total = int(cum[lo - 1]) if lo else 0
            hi = max(lo + 1, int(np.searchsorted(cum, base_total + TILE_CHUNK_WORDS, side="right")))
            ne = nel[lo:hi]
            if ne.sum() > TILE_CHUNK_WORDS and hi == lo + 1:
                # one very large object: its elements in pieces
                for e0 in range(0, int(ne[0]), max(1, TILE_CHUNK_WORDS // len(mask))):
                    e1 = min(int(ne[0]), e0 + max(1, TILE_CHUNK_WORDS // len(mask)))
                    el = starts[lo] + np.arange(e0, e1, dtype=np.uint64) * np.uint64(tsize)
                    a = (el[:, None] + (mask * 8).astype(np.uint64)[None, :]).ravel()
                    a = a[a < ends[lo]]
                    out_a.append(a)
                    out_o.append(np.full(len(a), owners[lo], dtype=np.int32))
                lo = hi
                continue
            o = np.repeat(np.arange(lo, hi), ne)
            first = np.repeat(np.cumsum(ne) - ne, ne)
            k = np.arange(int(ne.sum()), dtype=np.int64) - first
            el = starts[o] + (k * tsize).astype(np.uint64)
            a = (el[:, None] + (mask * 8).astype(np.uint64)[None, :])
            oo = np.broadcast_to(o[:, None], a.shape)
            a = a.ravel()
            oo = oo.ravel()
            keep = a < ends[oo]
            out_a.append(a[keep])
            out_o.append(owners[oo[keep]])
            lo = hi
        return np.concatenate(out_o), np.concatenate(out_a)

    def _objects_of(self, span_idx: npt.NDArray[np.intp]) -> npt.NDArray[np.int32]:
        """Indices of the allocated objects of spans ``span_idx`` (objects are sorted by address, so
        their span numbers never decrease)."""
        objs = self.objects
        if not len(span_idx):
            return np.zeros(0, np.int32)
        lo = int(np.searchsorted(objs.span, np.int32(span_idx.min()), side="left"))
        hi = int(np.searchsorted(objs.span, np.int32(span_idx.max()), side="right"))
        rng = np.arange(lo, hi, dtype=np.int32)
        return rng[np.isin(objs.span[lo:hi], span_idx)]

    def _typed_words(self, span_idx: npt.NDArray[np.intp], header: bool) -> tuple[I32, U64, int]:
        """(owner object, word address) of header objects or large objects of spans ``span_idx``;
        and how many objects had no usable type."""
        objs = self.objects
        sel = self._objects_of(span_idx)
        if not len(sel):
            return np.zeros(0, np.int32), np.zeros(0, np.uint64), 0
        addrs = objs.addr[sel]
        ends = addrs + objs.size[sel]
        if header:
            typ, ok = self.vm.u64(addrs)
            starts = addrs + np.uint64(MALLOC_HEADER_SIZE)
        else:
            typ = self.spans.large_type[objs.span[sel]]
            ok = np.ones(len(sel), dtype=bool)
            starts = addrs
        typ = np.where(ok, typ, np.uint64(0))
        tds = self.heap.descriptors
        out_o: list[I32] = []
        out_a: list[U64] = []
        untyped = 0
        for t in np.unique(typ):
            m = typ == t
            rt = tds.get(int(t)) if t else None
            if rt is None:
                untyped += int(m.sum())
                continue
            if not rt.ptrbytes:
                continue
            o, a = self._tile(starts[m], ends[m], rt.size, tds.mask(rt), sel[m])
            out_o.append(o)
            out_a.append(a)
        if not out_o:
            return np.zeros(0, np.int32), np.zeros(0, np.uint64), untyped
        return np.concatenate(out_o), np.concatenate(out_a), untyped

    # -- the graph ------------------------------------------------------------------------------

    def build(self) -> Graph:
        """Every pointer word of every allocated object, as edges between objects.

        Spans are walked in address order, a chunk of pages at a time; within a chunk the words
        are sorted by address, so edges come out grouped by source object without a global sort.
        """
        objs = self.objects
        sp = self.spans
        dsts: list[I32] = []
        offs: list[npt.NDArray[np.uint32]] = []
        counts = np.zeros(len(objs), dtype=np.int64)
        nwords = 0
        self.untyped_objects = 0
        is_bit = np.zeros(len(sp), dtype=bool)
        is_bit[self.bit_spans] = True
        is_hdr = np.zeros(len(sp), dtype=bool)
        is_hdr[self.header_spans] = True
        is_large = np.zeros(len(sp), dtype=bool)
        is_large[self.large_spans] = True
        scan = np.nonzero(is_bit | is_hdr | is_large)[0]
        cum = np.cumsum(sp.npages[scan].astype(np.int64))
        total = int(cum[-1]) if len(cum) else 0
        lo = 0
        while lo < len(scan):
            base = int(cum[lo - 1]) if lo else 0
            hi = lo + max(1, int(np.searchsorted(cum[lo:], base + CHUNK_PAGES, side="right")))
            chunk = scan[lo:hi]
            owners: list[I32] = []
            words: list[U64] = []
            bits = chunk[is_bit[chunk]]
            if len(bits):
                pages, bitmaps = self._page_bitmaps(bits)
                w = self._bit_words(pages, bitmaps)
                o = objs.find(w)
                inside = o >= 0
                owners.append(o[inside].astype(np.int32))
                words.append(w[inside])
            for sel, header in ((chunk[is_hdr[chunk]], True), (chunk[is_large[chunk]], False)):
                if len(sel):
                    o2, w2, untyped = self._typed_words(sel, header)
                    self.untyped_objects += untyped
                    owners.append(o2)
                    words.append(w2)
            if words:
                w = np.concatenate(words)
                o = np.concatenate(owners)
                if len(words) > 1:
                    order = np.argsort(w, kind="stable")
                    w, o = w[order], o[order]
                nwords += len(w)
                vals, ok = self.vm.u64(w)
                dst = objs.find(np.where(ok, vals, np.uint64(0)))
                keep = dst >= 0
                o = o[keep]
                dsts.append(dst[keep].astype(np.int32))
                offs.append((w[keep] - objs.addr[o]).astype(np.uint32))
                if len(o):
                    omin = int(o[0])  # sorted: the chunk's objects are one range of indices
                    c = np.bincount(o - omin)
                    counts[omin : omin + len(c)] += c
            self.heap.progress("reading pointers", 0.1 + 0.35 * int(cum[hi - 1]) / max(total, 1))
            lo = hi
        self.heap.progress("building the object graph", 0.45)
        dst_all = np.concatenate(dsts) if dsts else np.zeros(0, np.int32)
        off_all = np.concatenate(offs) if offs else np.zeros(0, np.uint32)
        indptr = np.zeros(len(objs) + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        return Graph(indptr, dst_all, off_all, nwords)

    def words_of(self, i: int) -> U64:
        """Pointer word addresses of object ``i`` (for display: fields, referrers)."""
        objs = self.objects
        s = int(objs.span[i])
        a = int(objs.addr[i])
        if self.params.arena_heap_bitmap or s in set(self.bit_spans.tolist()):
            pos = int(np.searchsorted(self.bit_spans, s))
            if pos >= len(self.bit_spans) or self.bit_spans[pos] != s:
                return np.zeros(0, np.uint64)
            pages, bitmaps = self._page_bitmaps(self.bit_spans[pos : pos + 1])
            lo, hi = a, a + int(objs.size[i])
            keep = (pages + np.uint64(PAGE_SIZE) > np.uint64(lo)) & (pages < np.uint64(hi))
            words = self._bit_words(pages[keep], bitmaps[keep])
            return words[(words >= np.uint64(lo)) & (words < np.uint64(hi))]
        header = s in set(self.header_spans.tolist())
        if header or s in set(self.large_spans.tolist()):
            _o, words, _u = self._typed_words(np.array([s]), header)
            return words[(words >= np.uint64(a)) & (words < np.uint64(a + int(objs.size[i])))]
        return np.zeros(0, np.uint64)
