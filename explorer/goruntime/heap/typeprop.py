"""The type of each heap object: what the runtime recorded, then what typed pointers say.

1. Authoritative types (Go 1.22+): the malloc header of objects over 512 bytes and
   ``mspan.largeType`` of large objects name the type of what they hold (an array's element type).
2. Typed roots: globals and stack variables whose DWARF type is known (stack variables only
   through their live pointer slots, as the stack maps say).
3. Propagation: each newly typed object's pointer plan (:mod:`.types`) types the objects its
   pointers lead to — a ``*T`` field types its target as T, a slice types its backing array, an
   interface types its data by its dynamic type, a map value types the runtime's map header, its
   buckets or directory, tables and groups (and so the keys' and values' targets), a channel its
   buffer, a func value its closure.

An object keeps the first type it is given (headers win, then roots in order, then breadth-first
propagation), only when the pointer is to its start (or, for slices, at a multiple of the element
size) and the type fits in it. What nothing types stays unknown: the histogram shows it by size
class, honestly, rather than guess.

Work is done per type, vectorised over all pending objects of that type; a chain that yields one
object at a time (a linked list) costs one small batch per link.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from explorer.errors import ExplorerError
from explorer.goruntime.heap.params import MALLOC_HEADER_SIZE, MIN_SIZE_FOR_MALLOC_HEADER
from explorer.goruntime.heap.types import Action, HType, TypeRegistry

if TYPE_CHECKING:
    from explorer.goruntime.heap.base import HeapLike as Heap

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
MAX_ELEMS = 1 << 24  # elements of one batch expanded at once
MAX_STACK_VALUES = 1 << 16
SMALL_BATCH = 8
SMALL_WORK = 4096
SMALL_ELEMS = 64


def _unique(a: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
    """Sorted unique values (np.unique's fixed cost is large for the tiny arrays chains make)."""
    if len(a) <= 32:
        return np.array(sorted(set(a.tolist())), dtype=a.dtype)
    s = np.sort(a)
    return s[np.concatenate(([True], s[1:] != s[:-1]))]


class TypeProp:
    """Object types of one heap (``obj_type``: registry index or -1; ``obj_array``: typed as an array)."""

    def __init__(self, heap: Heap) -> None:
        self.heap = heap
        self.vm = heap.vm
        self.objs = heap.objects
        self.reg: TypeRegistry = heap.type_registry
        n = len(self.objs)
        self.obj_type = np.full(n, -1, dtype=np.int32)
        self.obj_array = np.zeros(n, dtype=bool)
        sp = heap.spans
        hdr_span = np.zeros(len(sp), dtype=bool)
        if heap.params.malloc_headers:
            hdr_span = (~sp.noscan) & (sp.sizeclass != 0) & (sp.elemsize > np.uint64(MIN_SIZE_FOR_MALLOC_HEADER))
        self.hdr = np.where(hdr_span[self.objs.span], np.uint64(MALLOC_HEADER_SIZE), np.uint64(0))
        self.payload_start = self.objs.addr + self.hdr
        self.payload = self.objs.size - self.hdr
        self._pending: dict[int, list[npt.NDArray[np.intp]]] = {}
        self._pending_one: dict[int, list[int]] = {}
        # Memoryviews: scalar access without numpy scalar objects (the fast path's inner loop).
        self._type_mv = self.obj_type.data
        self._start_mv = self.payload_start.data
        self._payload_mv = self.payload.data
        self._array_mv = self.obj_array.data
        self._simple: dict[int, list[tuple[int, int, HType]] | None] = {}
        self._order: deque[int] = deque()
        lay = heap.proc.layout
        itab = "internal/abi.ITab" if lay.has("internal/abi.ITab") else "runtime.itab"
        self.itab_type_off = lay.offset(itab, "Type" if itab.startswith("internal") else "_type") or 8
        self._closure_names: dict[int, HType | None] = {}
        self._stacks: tuple[U64, U64] | None = None
        self._stack_done: set[tuple[int, int]] = set()
        self.from_headers = 0
        self.from_roots = 0

    # -- running --------------------------------------------------------------------------------

    def run(self) -> None:
        self._headers()
        self._roots()
        self._drain()

    def _headers(self) -> None:
        """Types recorded by the runtime: malloc headers (1.22+) and large objects' span types."""
        heap = self.heap
        if not heap.params.malloc_headers:
            return
        objs = self.objs
        sp = heap.spans
        has_hdr = self.hdr > 0
        typ = np.zeros(len(objs), dtype=np.uint64)
        idx = np.nonzero(has_hdr)[0]
        if len(idx):
            v, ok = self.vm.u64(objs.addr[idx])
            typ[idx] = np.where(ok, v, np.uint64(0))
        large = sp.sizeclass[objs.span] == 0
        typ[large] = sp.large_type[objs.span[large]]
        for t in np.unique(typ[typ != 0]):
            rt = heap.descriptors.get(int(t))
            if rt is None or not rt.name:
                continue
            sel = np.nonzero(typ == t)[0]
            ht = self.reg.from_rtype(rt)
            self.from_headers += self._assign(ht, sel, array=None)

    def _roots(self) -> None:
        roots = self.heap.roots
        for r in roots.roots:
            if r.type is None:
                continue
            ht = self.reg.from_dwarf(r.type)
            if ht is None or not ht.plan:
                continue
            live = None
            if r.live is not None:
                live = np.array(sorted(r.live), dtype=np.uint64)
            self.apply(ht, np.array([r.addr], dtype=np.uint64), live)
        self.from_roots = int((self.obj_type >= 0).sum()) - self.from_headers

    def _drain(self) -> None:
        done = 0
        while self._order:
            tid = self._order.popleft()
            batches = self._pending.pop(tid, None)
            singles = self._pending_one.pop(tid, None)
            if singles:
                batches = [*(batches or []), np.array(singles, dtype=np.intp)]
            if not batches:
                continue
            sel = _unique(np.concatenate(batches)) if len(batches) > 1 else batches[0]
            t = self.reg.types[tid]
            done += len(sel)
            if done % 4096 < len(sel):
                self.heap.progress("typing objects", 0.7 + 0.25 * min(1.0, done / max(len(self.objs), 1)))
            if len(sel) <= SMALL_BATCH and t.size > 0 and \
                    int((self.payload[sel] // np.uint64(t.size)).sum()) <= SMALL_ELEMS and self._process_small(t, sel):
                continue
            self._process(t, sel)

    # -- the work -------------------------------------------------------------------------------

    def _queue(self, t: HType) -> None:
        if t.id not in self._pending and t.id not in self._pending_one:
            self._order.append(t.id)

    def _assign(self, t: HType, cand: npt.NDArray[np.intp], array: bool | None) -> int:
        """Give type ``t`` to the untyped objects among ``cand`` that can hold it; queue them."""
        if not len(cand) or t.size <= 0:
            return 0
        cand = cand[self.obj_type[cand] < 0]
        if not len(cand):
            return 0
        cand = _unique(cand)
        cand = cand[self.payload[cand] >= np.uint64(t.size)]
        if not len(cand):
            return 0
        self.obj_type[cand] = t.id
        count = self.payload[cand] // np.uint64(t.size)
        self.obj_array[cand] = (count > 1) if array is None else (True if array else (count > 1))
        if t.plan:
            self._queue(t)
            self._pending.setdefault(t.id, []).append(cand)
        return len(cand)

    def _simple_plan(self, t: HType) -> list[tuple[int, int, HType]] | None:
        """``t``'s plan as (offset, kind, target) when it has only ptr/elems/string entries (what
        the chain-following path handles), else None."""
        got = self._simple.get(t.id, False)
        if got is False:
            codes = {"ptr": 0, "elems": 1, "string": 2}
            plan = t.plan
            if all(a.kind in codes for a in plan):
                got = [(a.offset, codes[a.kind], a.target) for a in plan if a.target is not None]
            else:
                got = None
            self._simple[t.id] = got
        return got  # type: ignore[return-value]

    def _process_small(self, t: HType, sel: npt.NDArray[np.intp]) -> bool:
        """A few objects, word by word, following what they lead to depth-first while it stays
        small (a linked list yields one object per step: the vectorised path's fixed cost would
        dominate). Objects whose plan needs more, or a worklist that grows, go back to the queues.
        False if ``t`` itself needs the general path."""
        if t.size <= 0 or self._simple_plan(t) is None:
            return False
        read = self.heap.proc.memory.read_u64
        find = self.objs.find_one
        types_mv, start_mv, payload_mv, array_mv = self._type_mv, self._start_mv, self._payload_mv, self._array_mv
        work: list[tuple[HType, int]] = [(t, i) for i in sel.tolist()]
        while work:
            if len(work) > SMALL_WORK:
                for wt, i in work:  # big enough to vectorise again
                    self._queue(wt)
                    self._pending_one.setdefault(wt.id, []).append(i)
                return True
            wt, i = work.pop()
            plan = self._simple_plan(wt)
            if plan is None:
                self._queue(wt)
                self._pending_one.setdefault(wt.id, []).append(i)
                continue
            base = start_mv[i]
            size = wt.size
            for e in range(max(1, payload_mv[i] // size)):
                for off, kind, tgt in plan:
                    slot = base + e * size + off
                    try:
                        v = read(slot)
                    except ExplorerError:
                        continue
                    if not v:
                        continue
                    j = find(v)
                    if j < 0:
                        if kind != 2 and tgt.plan:
                            self._on_stack(Action(off, "elems" if kind == 1 else "ptr", tgt),
                                           np.array([slot], dtype=np.uint64), np.array([v], dtype=np.uint64))
                        continue
                    if types_mv[j] >= 0:
                        continue
                    rel = v - start_mv[j]
                    tsize = tgt.size
                    if tsize <= 0 or payload_mv[j] < tsize:
                        continue
                    if kind == 1:
                        if rel < 0 or rel % tsize:
                            continue
                    elif rel != 0:
                        continue
                    types_mv[j] = tgt.id
                    nel = payload_mv[j] // tsize
                    array_mv[j] = kind != 0 or nel > 1
                    if tgt.plan:
                        if nel > SMALL_ELEMS:  # a big array: the vectorised path
                            self._queue(tgt)
                            self._pending_one.setdefault(tgt.id, []).append(j)
                        else:
                            work.append((tgt, j))
        return True

    def _process(self, t: HType, sel: npt.NDArray[np.intp]) -> None:
        if t.size <= 0:
            return
        starts = self.payload_start[sel]
        nel = (self.payload[sel] // np.uint64(t.size)).astype(np.int64)
        if (nel == 1).all():
            self.apply(t, starts)
            return
        lo = 0
        cum = np.cumsum(nel)
        while lo < len(sel):
            base = int(cum[lo - 1]) if lo else 0
            hi = max(lo + 1, int(np.searchsorted(cum, base + MAX_ELEMS, side="right")))
            ne = nel[lo:hi]
            first = np.repeat(np.cumsum(ne) - ne, ne)
            k = np.arange(int(ne.sum()), dtype=np.int64) - first
            addrs = np.repeat(starts[lo:hi], ne) + (k * t.size).astype(np.uint64)
            self.apply(t, addrs)
            lo = hi

    def _targets(self, vals: U64) -> npt.NDArray[np.intp]:
        return self.objs.find(vals)

    def apply(self, t: HType, addrs: U64, live: U64 | None = None) -> None:
        """Follow ``t``'s plan for values of ``t`` at ``addrs`` (only through slots in ``live``)."""
        for a in t.plan:
            slots = addrs + np.uint64(a.offset)
            if live is not None:
                slots = slots[np.isin(slots, live)]
            if not len(slots):
                continue
            self._action(a, slots, live)

    def _action(self, a: Action, slots: U64, live: U64 | None) -> None:
        k = a.kind
        if k == "array":
            if a.target is None or not a.target.plan:
                return
            el = (slots[:, None] + (np.arange(a.count, dtype=np.uint64) * np.uint64(a.stride))[None, :]).ravel()
            self.apply(a.target, el, live)
            return
        vals, ok = self.vm.u64(slots)
        if k in ("eface", "iface"):
            self._iface(k, slots, vals, ok)
            return
        if k == "swissdir":
            self._swissdir(a, slots, vals, ok)
            return
        tgt = self._targets(np.where(ok, vals, np.uint64(0)))
        good = tgt >= 0
        if k in ("ptr", "elems") and not good.all() and a.target is not None and a.target.plan:
            self._on_stack(a, slots[~good & ok], vals[~good & ok])
        if not good.any():
            return
        tgt, vals = tgt[good], vals[good]
        if k in ("ptr", "map", "chan"):
            if a.target is None:
                return
            exact = vals == self.payload_start[tgt]
            self._assign(a.target, tgt[exact], array=False if k == "ptr" else None)
        elif k in ("elems", "string"):
            if a.target is None or a.target.size <= 0:
                return
            rel = vals - self.payload_start[tgt]
            ok2 = (vals >= self.payload_start[tgt]) & (rel % np.uint64(a.target.size) == 0)
            if k == "string":
                ok2 &= rel == 0
            self._assign(a.target, tgt[ok2], array=True)
        elif k == "func":
            exact = tgt[vals == self.payload_start[tgt]]
            if not len(exact):
                return
            fn, ok3 = self.vm.u64(self.payload_start[exact])
            for f in np.unique(fn[ok3]):
                ht = self._closure(int(f))
                if ht is not None:
                    self._assign(ht, exact[ok3 & (fn == f)], array=False)

    def _stack_ranges(self) -> tuple[U64, U64]:
        if self._stacks is None:
            gs = []
            try:
                gs = [(g.stack_lo, g.stack_hi) for g in self.heap.proc.goroutines if g.stack_hi > g.stack_lo]
            except ExplorerError:
                pass
            gs.sort()
            self._stacks = (np.array([x[0] for x in gs], dtype=np.uint64),
                            np.array([x[1] for x in gs], dtype=np.uint64))
        return self._stacks

    def _on_stack(self, a: Action, slots: U64, vals: U64) -> None:
        """Pointers into a goroutine's stack (a local whose address was taken, a slice whose backing
        array did not escape): what they point to is a value of the target type there."""
        lo, hi = self._stack_ranges()
        if not len(lo) or not len(vals) or a.target is None:
            return
        i = np.searchsorted(lo, vals, side="right").astype(np.intp) - 1
        inside = (i >= 0) & (vals < hi[np.where(i >= 0, i, 0)])
        t = a.target
        for slot, v, top in zip(slots[inside].tolist(), vals[inside].tolist(), hi[i[inside]].tolist(), strict=True):
            if (t.id, v) in self._stack_done or len(self._stack_done) > MAX_STACK_VALUES:
                continue
            self._stack_done.add((t.id, v))
            n = 1
            if a.kind == "elems" and t.size > 0:  # a slice: its len is the next word
                ln = self.heap.proc.memory.try_read(slot + 8, 8)
                n = int.from_bytes(ln, "little") if ln else 0
                n = max(0, min(n, (top - v) // t.size, MAX_ELEMS))
            if n:
                self.apply(t, np.uint64(v) + np.arange(n, dtype=np.uint64) * np.uint64(max(t.size, 1)))

    def _closure(self, pc: int) -> HType | None:
        if pc not in self._closure_names:
            f = self.heap.proc.pclntab.find_func(pc) if pc else None
            self._closure_names[pc] = self.reg.closure(f.name) if f is not None and f.entry == pc else None
        return self._closure_names[pc]

    def _iface(self, kind: str, slots: U64, tw: U64, ok: npt.NDArray[np.bool_]) -> None:
        """Interfaces: the dynamic type (itab.Type for non-empty ones) types the data word."""
        keep = ok & (tw != 0)
        if not keep.any():
            return
        slots, tw = slots[keep], tw[keep]
        if kind == "iface":
            tw, ok2 = self.vm.u64(tw + np.uint64(self.itab_type_off))
            slots, tw = slots[ok2 & (tw != 0)], tw[ok2 & (tw != 0)]
        data_slots = slots + np.uint64(8)
        for t in np.unique(tw):
            ht = self.reg.from_rtype_addr(int(t))
            if ht is None or ht.rtype is None:
                continue
            sel = data_slots[tw == t]
            if ht.rtype.direct_iface:
                self.apply(ht, sel)  # the data word holds the value itself (a pointer-shaped type)
                continue
            vals, ok3 = self.vm.u64(sel)
            tgt = self._targets(np.where(ok3, vals, np.uint64(0)))
            good = tgt >= 0
            tgt, vals = tgt[good], vals[good]
            self._assign(ht, tgt[vals == self.payload_start[tgt]], array=False)

    def _swissdir(self, a: Action, slots: U64, vals: U64, ok: npt.NDArray[np.bool_]) -> None:
        """A swiss map's dirPtr: one group when dirLen is 0, else an array of table pointers."""
        tptr, dirlen_off = a.extra
        dl, ok2 = self.vm.u64(slots - np.uint64(a.offset) + np.uint64(dirlen_off))
        tgt = self._targets(np.where(ok & ok2, vals, np.uint64(0)))
        good = (tgt >= 0)
        tgt, vals, dl = tgt[good], vals[good], dl[good]
        exact = vals == self.payload_start[tgt]
        if a.target is not None:
            self._assign(a.target, tgt[exact & (dl == 0)], array=False)
        self._assign(tptr, tgt[exact & (dl > 0)], array=True)


def type_objects(heap: Heap) -> TypeProp:
    tp = TypeProp(heap)
    tp.run()
    return tp
