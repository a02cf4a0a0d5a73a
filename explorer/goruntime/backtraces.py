"""Backtraces of a dumped process's goroutines and threads: the part of :class:`GoProcess` that
decides where each unwind starts (a parked goroutine's saved context, a running one's thread, the
crashing thread's signal frames) and caches the results (shared stack shapes for parked goroutines,
:mod:`explorer.goruntime.shapes`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING

from explorer.errors import ExplorerError
from explorer.gcpause import gc_paused
from explorer.goruntime.unwind import MAX_FRAMES, Backtrace, Frame, StackContext, Unwinder, _which_stack

if TYPE_CHECKING:
    from explorer.binary.pclntab import Pclntab
    from explorer.core import AddressSpace, CoreFile
    from explorer.goruntime.goroutines import Goroutine, GReader
    from explorer.goruntime.shapes import Shape, ShapeUnwinder

#: prime_backtraces vectorises from this many goroutines on (below, numpy's fixed costs dominate).
PRIME_MIN = 256
#: ... and this many at a time (the core's pages they touch are given back after each batch).
PRIME_BATCH = 8192


@dataclass
class ThreadInfo:
    """A thread of the core with the runtime's view of it."""

    tid: int
    index: int
    regs: dict[str, int]
    tls_g: int | None  # the g current on the thread (g0, gsignal or a user g)
    m: int | None
    curg: int | None  # m.curg: the user goroutine the M is running, if any
    g0: int | None
    gsignal: int | None
    on: str  # "g", "g0", "gsignal" or "?": which stack the registers are on
    vdso: tuple[int, int] | None = None  # (m.vdsoPC, m.vdsoSP) while the M is in a vDSO call


class Backtraces:
    """Mixin of GoProcess: backtraces (kept apart for readability)."""

    core: CoreFile
    if TYPE_CHECKING:  # provided by GoProcess

        @property
        def memory(self) -> AddressSpace: ...
        @property
        def pclntab(self) -> Pclntab: ...
        @property
        def gofunc(self) -> int: ...
        @property
        def greader(self) -> GReader: ...
        @property
        def thread_infos(self) -> list[ThreadInfo]: ...
        @property
        def crashed_thread(self) -> ThreadInfo | None: ...
        def _vdso_of(self, m: int | None) -> tuple[int, int] | None: ...

    @cached_property
    def unwinder(self) -> Unwinder:
        arch = self.core.arch_desc
        if arch.uses_lr:
            from explorer.goruntime.unwind_lr import LRUnwinder

            return LRUnwinder(self.pclntab, self.memory.read, self.gofunc, self.memory.read_u64, arch)
        return Unwinder(self.pclntab, self.memory.read, self.gofunc, self.memory.read_u64, arch)

    def _stack_of(self, gaddr: int | None) -> tuple[int, int] | None:
        if not gaddr:
            return None
        try:
            g = self.greader.read(self.memory, gaddr)
        except ExplorerError:
            return None
        return (g.stack_lo, g.stack_hi)

    @cached_property
    def _thread_by_curg(self) -> dict[int, ThreadInfo]:
        out: dict[int, ThreadInfo] = {}
        for ti in self.thread_infos:
            if ti.curg:
                out.setdefault(ti.curg, ti)
        return out

    def thread_of(self, g: Goroutine) -> ThreadInfo | None:
        """The thread running ``g`` (whose M's curg it is), or None."""
        return self._thread_by_curg.get(g.addr)

    @cached_property
    def shapes(self) -> ShapeUnwinder | None:
        """Shared backtraces of parked goroutines (:mod:`explorer.goruntime.shapes`); None on
        link-register machines, which always take the full unwinder."""
        if self.core.arch_desc.uses_lr:
            return None
        from explorer.goruntime.shapes import ShapeUnwinder

        return ShapeUnwinder(self.unwinder, self.memory)

    def backtrace(self, g: Goroutine, max_frames: int | None = None) -> Backtrace:
        """The goroutine's frames, innermost first, as the runtime's traceback shows them (cached per
        goroutine). Where it starts follows ``runtime/traceback.go`` (``initAt``, ``traceback1``):

        - in a system call (``syscallsp != 0``): at ``syscallpc/syscallsp``, or at ``m.vdsoPC/vdsoSP``
          while its M is in a vDSO call; never at its thread's registers (under GOTRACEBACK=crash
          every thread sits in a signal handler when the core is written);
        - running on another thread: where its thread's frames reach the goroutine's own stack (the
          signal context the runtime printed it from, or its ``sched`` when the thread was on the
          system stack);
        - the crashing goroutine: its thread's frames from the innermost one (the crash machinery,
          the ``runtime stack:`` of a throw on the system stack), then the goroutine's own as above;
          the runtime printed the outer part of them;
        - any other: at ``g.sched``.

        The thread's own full view (signal frames included) is :meth:`thread_backtrace`.
        """
        return self._materialized(self._cached_backtrace(g, max_frames))

    def stack_shape(self, g: Goroutine) -> tuple[Shape, int] | None:
        """(shape, sp) of a parked goroutine whose backtrace is a shared shape's
        (:mod:`explorer.goruntime.shapes`), or None: then only :meth:`backtrace` tells. Consumers
        of many goroutines derive what they need once per shape (:meth:`Shape.memo`)."""
        hit = self._cached_backtrace(g, None)
        return hit if isinstance(hit, tuple) else None

    def prime_backtraces(self, gs: Sequence[Goroutine]) -> None:
        """Compute the backtraces of many goroutines at once where that is faster (parked ones, by
        :meth:`ShapeUnwinder.chains`), into :meth:`backtrace`'s cache. Only an optimisation: what
        it leaves out is computed one by one when asked for."""
        try:
            shapes = self.shapes
        except ExplorerError:  # no unwinder: backtrace() says why, goroutine by goroutine
            return
        if shapes is None or len(gs) < PRIME_MIN:
            return
        with gc_paused():
            for i in range(0, len(gs), PRIME_BATCH):
                self._prime(shapes, gs[i : i + PRIME_BATCH])
                # Every stack read maps a page of the core (and its neighbours, by fault-around):
                # 100,000 stacks would keep most of the core resident; give them back as we go.
                self.core.release_pages()

    def _prime(self, shapes: ShapeUnwinder, gs: Sequence[Goroutine]) -> None:
        cache = self.__dict__.setdefault("_bt_cache", {})
        todo: list[Goroutine] = []
        starts: list[tuple[int, int, int, int]] = []
        by_curg = self._thread_by_curg
        for g in gs:
            if g.addr in by_curg or (g.addr, None) in cache:
                continue
            try:
                at = self._parked_start(g)
            except ExplorerError:
                continue
            if at is not None and g.stack_lo < g.stack_hi:
                todo.append(g)
                starts.append((at[0], at[1], g.stack_lo, g.stack_hi))
        for g, start, shape in zip(todo, starts, shapes.parked_many(starts, MAX_FRAMES), strict=True):
            if shape is not None:
                cache[(g.addr, None)] = (shape, start[1])

    def _cached_backtrace(self, g: Goroutine, max_frames: int | None) -> Backtrace | tuple[Shape, int]:
        """The cache of :meth:`backtrace`: a Backtrace, or (shape, sp) for a parked goroutine (a
        hundred thousand of them then cost a tuple each, not their frames)."""
        cache = self.__dict__.setdefault("_bt_cache", {})
        key = (g.addr, max_frames)
        hit = cache.get(key)
        if hit is None:
            hit = cache[key] = self._goroutine_backtrace(g, max_frames)
        return hit

    def _goroutine_backtrace(self, g: Goroutine, max_frames: int | None) -> Backtrace | tuple[Shape, int]:
        ti = self.thread_of(g)
        if ti is None:
            return self._parked_backtrace(g, max_frames)
        crashed = self.crashed_thread is not None and self.crashed_thread.tid == ti.tid
        tbt = self.thread_backtrace(ti, max_frames)
        first_g = next((i for i, f in enumerate(tbt.frames) if f.stack == "g"), None)
        if first_g is None and not g.syscallsp and tbt.truncated:
            # The thread's frames broke off before reaching the goroutine's stack (a signal context
            # or a frame the core lost): its `sched` is stale while it runs, so say where it stopped
            # rather than go on from there.
            own = Backtrace([], True, tbt.error)
        elif g.syscallsp or first_g is None:
            own = self._materialized(self._parked_backtrace(g, max_frames))
        elif first_g == 0:
            return tbt
        else:
            own = Backtrace(tbt.frames[first_g:], tbt.truncated, tbt.error)
        if not crashed:
            return _renumbered(own.frames, own, max_frames)
        prefix = tbt.frames if first_g is None else tbt.frames[:first_g]
        return _renumbered(prefix + own.frames, own, max_frames)

    def forget_backtraces(self) -> None:
        """Drop cached goroutine backtraces, and the core's pages read for them (streaming consumers
        keep memory flat with it)."""
        self.__dict__.pop("_bt_cache", None)
        self.core.release_pages()

    def _context(self, g: Goroutine | None, ti: ThreadInfo | None) -> StackContext:
        ctx = StackContext()
        if g is not None:
            ctx.curg_sched = (g.sched_pc, g.sched_sp, g.sched_bp)
            ctx.curg_lr = g.sched_lr
            ctx.curg_stack = (g.stack_lo, g.stack_hi)
        if ti is not None:
            ctx.g0_stack = self._stack_of(ti.g0)
            ctx.gsignal_stack = self._stack_of(ti.gsignal)
            ctx.vdso = ti.vdso
        return ctx

    def thread_backtrace(self, ti: ThreadInfo, max_frames: int | None = None) -> Backtrace:
        """A thread's frames from its registers: system stack frames, then its goroutine's (if any)."""

        cache = self.__dict__.setdefault("_tbt_cache", {})
        key = (ti.tid, max_frames)
        if key in cache:
            return cache[key]
        curg = None
        if ti.curg:
            try:
                curg = self.greader.read(self.memory, ti.curg)
            except ExplorerError:
                curg = None
        ctx = self._context(curg, ti)
        regs = ti.regs
        arch = self.core.arch_desc
        pc, sp = arch.pc(regs), arch.sp(regs)
        # The stack pointer says which stack the thread is on; TLS g can lag behind it (the runtime
        # does not always switch g when it dies from a signal on gsignal).
        on = _which_stack(sp, ctx, ti.on if ti.on != "?" else "g0")
        try:
            bt = self.unwinder.unwind(pc, sp, ctx=ctx, trap=True, stack=on, regs=dict(regs),
                                      max_frames=max_frames or MAX_FRAMES)
        except ExplorerError as e:
            bt = Backtrace([], True, str(e))
        cache[key] = bt
        return bt

    @staticmethod
    def _materialized(hit: Backtrace | tuple[Shape, int]) -> Backtrace:
        """A cached backtrace as a Backtrace: a (shape, sp) pair's frames made."""
        return hit[0].backtrace(hit[1]) if isinstance(hit, tuple) else hit

    def _parked_backtrace(self, g: Goroutine, max_frames: int | None) -> Backtrace | tuple[Shape, int]:
        """From where the runtime saved the goroutine: syscallpc/sp (vdsoPC/SP), else sched. A
        (shape, sp) pair where the shared shapes apply (see :mod:`explorer.goruntime.shapes`)."""
        limit = max_frames or MAX_FRAMES
        try:
            shapes = self.shapes
        except ExplorerError:  # no unwinder at all: the full path below says why
            shapes = None
        if shapes is not None:
            try:
                start = self._parked_start(g)
            except ExplorerError:
                start = None
            if start is not None:
                shape = shapes.parked(start[0], start[1], g.stack_lo, g.stack_hi, limit)
                if shape is not None:
                    return (shape, start[1])
        ctx = StackContext((g.sched_pc, g.sched_sp, g.sched_bp), (g.stack_lo, g.stack_hi))
        uses_lr = self.core.arch_desc.uses_lr
        try:
            vdso = self._vdso_of(g.m) if g.m and g.status in ("running", "syscall") else None
            if vdso is not None and g.stack_lo <= vdso[1] < g.stack_hi:
                return self.unwinder.unwind(vdso[0], vdso[1], ctx=ctx, trap=False, stack="g", max_frames=limit)
            if g.syscallsp:
                return self.unwinder.unwind(g.syscallpc, g.syscallsp, ctx=ctx, trap=False, stack="g",
                                            max_frames=limit, syscall=True, lr=0)
            pc, sp = g.sched_pc, g.sched_sp
            # A goroutine that never ran has sched.pc at its function's entry and, on LR machines,
            # the return address (goexit) in sched.lr (runtime: gostartcall).
            lr = g.sched_lr if uses_lr else None
            if pc == 0 and sp:  # a call through a nil func value: start in the caller
                pc, lr = self.memory.read_u64(sp), 0
                if not uses_lr:
                    sp += 8
            return self.unwinder.unwind(pc, sp, ctx=ctx, trap=False, stack="g", max_frames=limit, lr=lr)
        except ExplorerError as e:
            return Backtrace([], True, str(e))

    def _parked_start(self, g: Goroutine) -> tuple[int, int] | None:
        """(pc, sp) where an amd64 goroutine's backtrace starts when it is a return address on its
        own stack, as :meth:`_parked_backtrace` decides; None for the other cases."""
        if g.m and g.status in ("running", "syscall"):
            vdso = self._vdso_of(g.m)
            if vdso is not None and g.stack_lo <= vdso[1] < g.stack_hi:
                return vdso
        if g.syscallsp:
            return g.syscallpc, g.syscallsp
        if g.sched_pc == 0:  # a call through a nil func value: rare, the full unwinder reads it
            return None
        return g.sched_pc, g.sched_sp

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - per-process cache (every g's startpc)
    def func_name_at(self, pc: int) -> str | None:
        """The name of the function holding ``pc``, or None."""
        f = self.pclntab.find_func(pc)
        return f.name if f else None

    def created_by(self, g: Goroutine) -> tuple[str, str, int, int] | None:
        """(function, file, line, pc) of the ``go`` statement that created g, as the runtime prints it."""
        if not g.gopc or g.id == 1:  # the runtime names no creator for the main goroutine
            return None
        return self._created_by_pc(g.gopc)

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - per-process cache; the process outlives it
    def _created_by_pc(self, gopc: int) -> tuple[str, str, int, int] | None:
        f = self.pclntab.find_func(gopc)
        if f is None:
            return None
        tracepc = gopc - 1 if gopc > f.entry else gopc
        file, line = self.pclntab.file_line(f, tracepc)
        return (f.name, file, line, gopc)


def _renumbered(frames: list[Frame], bt: Backtrace, max_frames: int | None) -> Backtrace:
    """A Backtrace of ``frames`` (taken from others) with indexes and physical numbers from 0, the
    error and truncation of ``bt``, at most ``max_frames`` frames."""
    out: list[Frame] = []
    phys, last = -1, None
    for f in frames[: max_frames or MAX_FRAMES]:
        key = (f.physical, f.pc, f.sp)
        if key != last:
            phys, last = phys + 1, key
        out.append(replace(f, index=len(out), physical=phys))
    truncated = bt.truncated or (max_frames is not None and len(frames) > max_frames)
    return Backtrace(out, truncated, bt.error)
