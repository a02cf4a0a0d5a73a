"""The Go heap of a core: spans, objects, pointers, roots, reachability, types, paths (Go 1.21–1.27).

:class:`Heap` is the facade the CLI and the TUI use (``heap_of(proc)``); every part is computed on
first use and cached, and the expensive parts are vectorised with numpy over spans and objects:

- :mod:`.spans` — ``mheap_.allspans``, in-use spans, allocated objects (alloc bits + freeindex);
- :mod:`.pointers` — which heap words hold pointers (1.21's arena bitmap; 1.22+'s span heap bits,
  malloc headers and large-object types) and the object graph they make;
- :mod:`.roots` — globals (data/bss pointer masks), goroutine stack slots (stack maps),
  finalizers and other specials;
- :mod:`.reach` — reachability from the roots, with a shortest path to each object;
- :mod:`.types` — runtime type descriptors and DWARF types as pointer plans;
- :mod:`.typeprop` — object types: malloc headers, then propagation from typed roots.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from explorer.goruntime.heap.memview import VecMemory
from explorer.goruntime.heap.params import HeapParams, green_tea_default, special_kinds
from explorer.goruntime.heap.pointers import Graph, PointerMap
from explorer.goruntime.heap.reach import Reach, reachability
from explorer.goruntime.heap.roots import RootSet
from explorer.goruntime.heap.rtypes import TypeDescriptors
from explorer.goruntime.heap.spans import HeapError, Objects, Spans, allocated_objects, read_allspans, read_spans
from explorer.goruntime.heap.typeprop import TypeProp
from explorer.goruntime.heap.types import TypeRegistry

if TYPE_CHECKING:
    from explorer.goruntime.process import GoProcess

Progress = Callable[[str, float], None]
"""A progress callback: (what is being done, fraction done 0..1)."""


def _no_progress(_what: str, _frac: float) -> None:
    pass


class Heap:
    """The heap of one dumped Go process."""

    def __init__(self, proc: GoProcess, progress: Progress | None = None) -> None:
        self.proc = proc
        self.progress: Progress = progress or _no_progress
        self.notes: list[str] = []  # what could not be done, for the user

    # -- basics ----------------------------------------------------------------------------------

    @cached_property
    def params(self) -> HeapParams:
        proc = self.proc
        minor = proc.go_minor
        if minor is None or not 21 <= minor <= 27:
            raise HeapError(f"the heap of Go {proc.go_version or 'of an unknown release'} is not supported "
                            f"(Go 1.21-1.27 are)")
        bi = proc.exe.buildinfo
        settings = dict(bi.settings) if bi is not None else {}
        return HeapParams(minor, proc.arch, green_tea_default(minor, proc.go_version, settings),
                          special_kinds(minor))

    @cached_property
    def vm(self) -> VecMemory:
        return VecMemory(self.proc.memory)

    @cached_property
    def mheap(self) -> int:
        """Address of ``runtime.mheap_``."""
        addr = self.proc.global_addr("runtime.mheap_")
        if addr is not None:
            return addr
        from explorer.goruntime.heap.rtglobals import find_slice_candidates

        off = self.proc.layout.need("runtime.mheap", "allspans")
        for cand in find_slice_candidates(self.proc):
            if self._looks_like_mheap(cand - off):
                return cand - off
        raise HeapError("cannot find runtime.mheap_ (no symbols, no DWARF, and no validated candidate)")

    def _looks_like_mheap(self, addr: int) -> bool:
        layout = self.proc.layout
        try:
            ptrs = read_allspans(self.vm, layout, addr)
        except HeapError:
            return False
        sample = ptrs[: 64]
        off_state = layout.need("runtime.mspan", "state")
        off_start = layout.need("runtime.mspan", "startAddr")
        off_npages = layout.need("runtime.mspan", "npages")
        state, ok1 = self.vm.uint(sample + np.uint64(off_state), 1)
        start, ok2 = self.vm.u64(sample + np.uint64(off_start))
        npages, ok3 = self.vm.u64(sample + np.uint64(off_npages))
        if not (ok1.all() and ok2.all() and ok3.all()) or (state > 2).any():
            return False
        live = state == 1
        return bool(live.any() and (start[live] % np.uint64(8192) == 0).all() and (npages[live] > 0).all())

    @cached_property
    def spans(self) -> Spans:
        self.progress("reading spans", 0.0)
        return read_spans(self.vm, self.proc.layout, self.params, self.mheap)

    @cached_property
    def objects(self) -> Objects:
        spans = self.spans
        self.progress("reading alloc bits", 0.05)
        return allocated_objects(self.vm, spans)

    @cached_property
    def descriptors(self) -> TypeDescriptors:
        """Runtime type descriptors (cached per address)."""
        return TypeDescriptors(self.proc, self.vm)

    @cached_property
    def pointers(self) -> PointerMap:
        return PointerMap(self)

    @cached_property
    def graph(self) -> Graph:
        """The object graph: every pointer between allocated objects."""
        self.progress("reading pointers", 0.1)
        return self.pointers.build()

    @cached_property
    def roots(self) -> RootSet:
        """The garbage collector's roots: globals, goroutine stacks, specials, queued finalizers."""
        from explorer.goruntime.heap.roots import build_roots

        _ = self.objects
        self.progress("reading roots", 0.5)
        return build_roots(self)

    @cached_property
    def reach(self) -> Reach:
        """Reachability from the roots (with the first edge each object was reached by)."""
        graph = self.graph
        roots = self.roots
        self.progress("marking reachable objects", 0.65)
        return reachability(graph, roots, len(self.objects))

    @cached_property
    def type_registry(self) -> TypeRegistry:
        return TypeRegistry(self)

    @cached_property
    def types(self) -> TypeProp:
        """Object types: malloc headers and span types, then propagation from typed roots."""
        from explorer.goruntime.heap.typeprop import type_objects

        _ = self.roots
        self.progress("typing objects", 0.7)
        tp = type_objects(self)
        self.progress("done", 1.0)
        return tp

    def type_name(self, i: int) -> str | None:
        """The type of object ``i`` as the histogram names it (``T``, or ``[]T`` for an array of
        T: a slice's backing store or a map's buckets), None if unknown."""
        tp = self.types
        tid = int(tp.obj_type[i])
        if tid < 0:
            return None
        t = self.type_registry.types[tid]
        return "[]" + t.name if tp.obj_array[i] else t.name

    def elements(self, i: int) -> int:
        """How many values of its type object ``i``'s slot holds (0 if untyped)."""
        tp = self.types
        tid = int(tp.obj_type[i])
        if tid < 0:
            return 0
        return int(tp.payload[i]) // max(self.type_registry.types[tid].size, 1)

    def histogram(self) -> list[dict[str, Any]]:
        """Objects by type, largest total first: ``{"type", "count", "bytes"}``; unknown types have
        ``type`` None and the slot ``size``. Arrays of T count as ``[]T``."""
        tp = self.types
        objs = self.objects
        reg = self.type_registry
        rows: list[dict[str, Any]] = []
        typed = tp.obj_type >= 0
        # Keys are small integers (type id * 2 + array flag): bincount, not a sort of millions.
        key = tp.obj_type[typed].astype(np.int64) * 2 + tp.obj_array[typed]
        if len(key):
            counts = np.bincount(key)
            sums = np.bincount(key, weights=objs.size[typed].astype(np.float64))
            by_name: dict[str, list[int]] = {}
            for k in np.nonzero(counts)[0].tolist():
                t = reg.types[k // 2]
                name = ("[]" + t.name) if k % 2 else t.name
                acc = by_name.setdefault(name, [0, 0])
                acc[0] += int(counts[k])
                acc[1] += int(sums[k])
            rows.extend({"type": n, "count": c, "bytes": b} for n, (c, b) in by_name.items())
        us = objs.size[~typed]
        if len(us):
            uv, counts = np.unique(us, return_counts=True)
            rows.extend({"type": None, "size": int(v), "count": int(c), "bytes": int(v) * int(c)}
                        for v, c in zip(uv.tolist(), counts.tolist(), strict=True))
        rows.sort(key=lambda r: (-r["bytes"], -r["count"], r["type"] or ""))
        return rows

    # -- summaries -------------------------------------------------------------------------------

    def size_classes(self) -> list[dict[str, Any]]:
        """Per size class (0 = large objects): slot size, spans, objects and bytes allocated."""
        spans, objs = self.spans, self.objects
        cls = spans.sizeclass[objs.span]
        out = []
        span_counts = np.bincount(spans.sizeclass, minlength=256)
        obj_counts = np.bincount(cls, minlength=256)
        byte_sums = np.bincount(cls, weights=objs.size.astype(np.float64), minlength=256)
        for c in range(256):
            if not span_counts[c]:
                continue
            sizes = spans.elemsize[spans.sizeclass == c]
            out.append({"class": c, "size": int(sizes[0]) if c else None, "spans": int(span_counts[c]),
                        "objects": int(obj_counts[c]), "bytes": int(byte_sums[c])})
        return out

    def summary(self) -> dict[str, Any]:
        """What ``heap`` prints (JSON keys of docs/CLI.md)."""
        objs = self.objects
        live = self.reach.reachable
        return {
            "objects": len(objs),
            "bytes": objs.bytes,
            "reachable_objects": int(live.sum()),
            "reachable_bytes": int(objs.size[live].sum(dtype=np.uint64)),
            "spans": len(self.spans),
            "size_classes": self.size_classes(),
        }


def heap_of(proc: GoProcess, progress: Progress | None = None) -> Heap:
    """The process's :class:`Heap` (one per process, kept on it)."""
    h = proc.__dict__.get("_heap")
    if h is None:
        h = Heap(proc, progress)
        proc.__dict__["_heap"] = h
    elif progress is not None:
        h.progress = progress
    return h


__all__ = ["Heap", "HeapError", "Progress", "heap_of"]
