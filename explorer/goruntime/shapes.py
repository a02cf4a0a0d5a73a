"""Backtraces of parked goroutines by stack shape.

Most goroutines of a big process are parked at the same few places (a channel receive, a mutex, a
select, a sleep), and a parked goroutine's backtrace depends only on its saved pc and the return
addresses on its stack: a frame's size comes from ``pcsp`` at its pc alone, so the sequence of
physical pcs from ``sched.pc`` up to ``runtime.goexit`` (its *shape*) decides every frame's function,
file, line and inlining, and every ``sp``/``fp`` is the goroutine's saved ``sp`` plus a fixed offset.

So a parked goroutine is unwound in two steps: :meth:`ShapeUnwinder.chain` walks its stack reading
only the return addresses (a dict lookup and an ``unpack_from`` per frame), and the shape's frames
are computed once per distinct chain (:meth:`ShapeUnwinder.shape`) and shared; a goroutine's
backtrace is then ``(shape, sp)``. The walk follows the amd64 stepping rule of
:class:`explorer.goruntime.unwind.Unwinder` exactly, and gives up (returns None) wherever that rule
does anything but step to the caller: an unknown pc, a signal frame, a bad frame size, a frame
outside the stack, a zero return address, a stack not in one readable run of the core. The caller
then runs the full unwinder, which says what went wrong. Link-register machines (arm64) always take
the full unwinder.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from explorer.errors import ExplorerError
from explorer.goruntime.unwind import K_INJECTED, K_SIGTRAMP, PTR, Backtrace, Frame

if TYPE_CHECKING:
    from explorer.core.memory import AddressSpace
    from explorer.goruntime.unwind import Unwinder

#: Physical frames a chain may have; deeper stacks take the full unwinder.
MAX_CHAIN = 1000
#: Distinct shapes kept (a bound against hostile cores: each is a few hundred bytes).
MAX_SHAPES = 1 << 16

_U64 = struct.Struct("<Q")

# A shape frame: (function, file, line, pc, sp offset, fp offset, inlined, entry, sym_pc, physical).
ShapeFrame = tuple[str, str, int, int, int, int, bool, int, int, int]


class Shape:
    """The frames of every goroutine parked with one chain of pcs, with sp/fp relative to the
    goroutine's saved sp. Shared: never mutate."""

    __slots__ = ("cache", "frames", "pcs")

    def __init__(self, pcs: tuple[int, ...], frames: tuple[ShapeFrame, ...]) -> None:
        self.pcs = pcs
        self.frames = frames
        #: What consumers derive from the frames alone (JSON fragments, the TUI's 'where'...),
        #: computed once per shape rather than once per goroutine.
        self.cache: dict[str, Any] = {}

    def backtrace(self, sp: int) -> Backtrace:
        """The backtrace of a goroutine of this shape whose saved sp is ``sp``."""
        return Backtrace([Frame(i, fn, file, line, pc, sp + so, sp + fo, inl, entry, sym, "g", None, phys)
                          for i, (fn, file, line, pc, so, fo, inl, entry, sym, phys) in enumerate(self.frames)])

    def memo(self, key: str, make: Callable[[Shape], Any]) -> Any:
        """``make(self)``, computed once per shape and key."""
        try:
            return self.cache[key]
        except KeyError:
            v = self.cache[key] = make(self)
            return v


class ShapeUnwinder:
    """Chains and shapes on top of an amd64 :class:`Unwinder` (its per-pc caches)."""

    def __init__(self, unwinder: Unwinder, memory: AddressSpace) -> None:
        self.unwinder = unwinder
        self.span_owner = memory
        self.span_at = memory.span_at
        self.shapes: dict[tuple[int, ...], Shape] = {}
        self._vec: Any = None  # the numpy view of memory (heap.memview.VecMemory), made when needed

    def chain(self, pc: int, sp: int, lo: int, hi: int) -> tuple[int, ...] | None:
        """The physical pcs of a goroutine parked at (pc, sp) (a return address: ``trap`` False)
        with stack [lo, hi), innermost first; None where the full unwinder must decide."""
        run = self.span_at(sp)
        if run is None:
            return None
        rlo, rhi, buf, base = run
        top = min(hi, rhi)
        pcinfo = self.unwinder._pcinfo
        info_of = self.unwinder._info
        unpack = _U64.unpack_from
        pcs: list[int] = []
        innermost = True
        while True:
            info = pcinfo.get(pc)
            if info is None:
                info = info_of(pc)
                if info is None:
                    return None
            delta = info.delta
            if info.kind == K_SIGTRAMP or delta is None or delta < 0 or delta > 1 << 20 or not lo <= sp < hi:
                return None
            fp = sp + delta + PTR
            if fp > hi:
                return None
            pcs.append(pc)
            if info.topframe or (info.spwrite and not innermost):
                return tuple(pcs)
            if fp > top or fp - PTR < rlo or len(pcs) >= MAX_CHAIN:
                return None
            pc = unpack(buf, base + fp - PTR - rlo)[0]
            if pc == 0:
                return None
            sp = fp
            innermost = False

    def chains(self, starts: list[tuple[int, int, int, int]]) -> list[tuple[int, ...] | None]:
        """:meth:`chain` of many goroutines ((pc, sp, lo, hi) each) at once, vectorised with numpy:
        one step of every goroutine's walk at a time (a gather of return addresses, the per-pc
        facts looked up once per distinct pc), chains grown as paths in a trie of pcs."""
        import numpy as np

        from explorer.goruntime.heap.memview import VecMemory

        n = len(starts)
        out: list[tuple[int, ...] | None] = [None] * n
        if not n:
            return out
        vec = self._vec
        if vec is None:
            vec = self._vec = VecMemory(self.span_owner)
        cols = np.array(starts, dtype=np.uint64).reshape(n, 4)
        pc, sp, lo, hi = (cols[:, i].copy() for i in range(4))
        # Trie of chains: node 0 is the empty chain; node k extends parents[k] by pcs_of[k].
        parents, pcs_of = [-1], [0]
        child: dict[tuple[int, int], int] = {}
        node = np.zeros(n, dtype=np.int64)
        final = np.full(n, -1, dtype=np.int64)  # the finished chain's node; -1: none (full unwinder)
        active = np.arange(n)
        info_of = self.unwinder._info
        innermost = True
        for _step in range(MAX_CHAIN):
            if not active.size:
                break
            upc, inv = np.unique(pc[active], return_inverse=True)
            m = len(upc)
            d8 = np.zeros(m, dtype=np.uint64)
            bad_u = np.zeros(m, dtype=bool)
            stop_u = np.zeros(m, dtype=np.int8)  # 1: top frame, 2: writes SP (ends a non-innermost frame)
            for j, v in enumerate(upc.tolist()):
                info = info_of(v)
                delta = None if info is None else info.delta
                if info is None or info.kind == K_SIGTRAMP or delta is None or delta < 0 or delta > 1 << 20:
                    bad_u[j] = True
                    continue
                d8[j] = delta + PTR
                stop_u[j] = 1 if info.topframe else 2 if info.spwrite else 0
            s, h = sp[active], hi[active]
            fp = s + d8[inv]
            bad = bad_u[inv] | (s < lo[active]) | (s >= h) | (fp > h)
            # Grow each chain by its pc: one trie node per distinct (parent, pc).
            pair = node[active] * m + inv
            upair, pinv = np.unique(pair, return_inverse=True)
            ids = np.empty(len(upair), dtype=np.int64)
            for j, key in enumerate(upair.tolist()):
                parent, v = divmod(key, m)
                edge = (parent, int(upc[v]))
                got = child.get(edge)
                if got is None:
                    got = child[edge] = len(parents)
                    parents.append(parent)
                    pcs_of.append(edge[1])
                ids[j] = got
            new_node = ids[pinv]
            stop = stop_u[inv]
            done = ~bad & ((stop == 1) | ((stop == 2) & (not innermost)))
            final[active[done]] = new_node[done]
            go = ~bad & ~done
            ret, ok = vec.u64(fp[go] - np.uint64(PTR))
            ok &= ret != 0
            nxt = active[go][ok]
            pc[nxt] = ret[ok]
            sp[nxt] = fp[go][ok]
            node[nxt] = new_node[go][ok]
            active = nxt
            innermost = False
        paths: dict[int, tuple[int, ...]] = {}
        for i, k in enumerate(final.tolist()):
            if k < 0:
                continue
            path = paths.get(k)
            if path is None:
                seq: list[int] = []
                j = k
                while j > 0:
                    seq.append(pcs_of[j])
                    j = parents[j]
                path = paths[k] = tuple(reversed(seq))
            out[i] = path  # goroutines of one chain share the tuple (see parked_many)
        return out

    def parked_many(self, starts: list[tuple[int, int, int, int]], max_frames: int) -> list[Shape | None]:
        """:meth:`parked` of many goroutines ((pc, sp, lo, hi) each), by :meth:`chains`."""
        by_chain: dict[int, Shape | None] = {}
        out: list[Shape | None] = []
        for pcs in self.chains(starts):
            if pcs is None:
                out.append(None)
                continue
            key = id(pcs)
            if key not in by_chain:
                s = self.shape(pcs)
                by_chain[key] = s if s is not None and len(s.frames) < max_frames else None
            out.append(by_chain[key])
        return out

    def shape(self, pcs: tuple[int, ...]) -> Shape | None:
        """The shape of a chain (cached); None if its tables cannot be read (the full unwinder
        then reports the error)."""
        s = self.shapes.get(pcs)
        if s is not None:
            return s
        u = self.unwinder
        frames: list[ShapeFrame] = []
        off, trap = 0, False
        try:
            for phys, pc in enumerate(pcs):
                info = u._info(pc)
                if info is None or info.delta is None:
                    return None
                fp_off = off + info.delta + PTR
                entry = info.entry
                sym_pc = pc if (trap or pc == entry) else pc - 1
                logical = u.logical(sym_pc)
                if logical:
                    frames.extend((name, file, line, pc, off, fp_off, inl, entry, sym_pc, phys)
                                  for name, file, line, inl in logical)
                else:
                    frames.append((info.name, "?", 0, pc, off, fp_off, False, entry, sym_pc, phys))
                trap = info.kind == K_INJECTED
                off = fp_off
        except ExplorerError:
            return None
        if len(self.shapes) >= MAX_SHAPES:
            self.shapes.clear()
        s = self.shapes[pcs] = Shape(pcs, tuple(frames))
        return s

    def parked(self, pc: int, sp: int, lo: int, hi: int, max_frames: int) -> Shape | None:
        """The shape of a goroutine parked at (pc, sp) with stack [lo, hi) whose backtrace has fewer
        than ``max_frames`` frames, or None (the full unwinder decides)."""
        pcs = self.chain(pc, sp, lo, hi)
        if pcs is None:
            return None
        s = self.shape(pcs)
        if s is None or len(s.frames) >= max_frames:
            return None
        return s
