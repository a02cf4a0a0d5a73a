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
from explorer.goruntime.heap.spans import HeapError, Objects, Spans, allocated_objects, read_allspans, read_spans

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
        """What ``heap`` prints (JSON keys of shared/CLI.md)."""
        objs = self.objects
        return {
            "objects": len(objs),
            "bytes": objs.bytes,
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
