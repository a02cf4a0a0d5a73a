"""A goroutine frame's roots, as ``runtime/stkframe.go`` ``getStackMap`` finds them: where a physical
frame's locals and arguments are (:func:`frame_bases`, per architecture), which of their words are
live pointers at the frame's pc (the stack maps of ``PCDATA_StackMapIndex``,
``FUNCDATA_LocalsPointerMaps`` and ``FUNCDATA_ArgsPointerMaps``, decoded once per pc), and the DWARF
variables that name the slots. Used by :mod:`explorer.goruntime.heap.roots`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from explorer.errors import ExplorerError

if TYPE_CHECKING:
    from explorer.core.arch import Arch
    from explorer.goruntime.heap.base import HeapLike as Heap

U64 = npt.NDArray[np.uint64]

FUNCDATA_ARGS, FUNCDATA_LOCALS, FUNCDATA_STACK_OBJECTS = 0, 1, 2
PCDATA_STACK_MAP_INDEX = 1  # PCDATA_UnsafePoint is 0
MAX_STACK_OBJECTS = 1 << 12
MAX_BITMAP_BITS = 1 << 20


def frame_bases(arch: Arch, sp: int, fp: int) -> tuple[int, int]:
    """A physical frame's ``(varp, argp)`` from its sp and fp (the caller's sp), as the runtime's
    unwinder derives them (traceback.go resolveInternal): locals end below amd64's pushed return
    address (arm64 keeps its LR at 0(sp)) and, in a frame of any size, the saved frame pointer
    (arm64 writes it below sp, mimicking amd64); arguments start above an arm64 caller's LR slot."""
    varp = fp if arch.uses_lr else fp - arch.ptr_size
    if varp > sp:
        varp -= arch.ptr_size
    return varp, fp + arch.min_frame_size


class StackMaps:
    """Live pointer slots of physical frames (cached stack map decoding per pc)."""

    def __init__(self, heap: Heap) -> None:
        self.heap = heap
        self.proc = heap.proc
        self.mem = heap.proc.memory
        self.gofunc = heap.proc.gofunc
        layout = heap.proc.layout
        md = heap.proc.moduledata
        self.rodata = (md.rodata + heap.proc.pie_bias) if md is not None else 0
        r = "runtime.stackObjectRecord"
        self.rec_size = layout.source.size(r) or 16
        self.o_off = layout.offset(r, "off") or 0
        self.o_size = layout.offset(r, "size") or 4
        pb = layout.offset(r, "ptrBytes")
        self.o_ptrbytes = pb if pb is not None else (layout.offset(r, "_ptrdata") or 8)
        self.o_gcdataoff = layout.offset(r, "gcdataoff") or 12
        # (func entry, pc) -> (locals bits as word offsets from varp-nbit*8, nbit, arg word offsets, objects)
        self._cache: dict[tuple[int, int], tuple[np.ndarray, int, np.ndarray, list[tuple[int, int, np.ndarray]]]] = {}

    def _bitmap(self, fd_off: int | None, index: int) -> tuple[np.ndarray, int] | None:
        if fd_off is None:
            return None
        addr = self.gofunc + fd_off
        hdr = self.mem.try_read(addr, 8)
        if hdr is None:
            return None
        n = int.from_bytes(hdr[:4], "little", signed=True)
        nbit = int.from_bytes(hdr[4:8], "little", signed=True)
        if n <= 0 or nbit < 0 or nbit > MAX_BITMAP_BITS:
            return None
        if nbit == 0:
            return np.zeros(0, np.int64), 0
        if not 0 <= index < n:
            return None
        nbytes = (nbit + 7) // 8
        raw = self.mem.try_read(addr + 8 + index * nbytes, nbytes)
        if raw is None:
            return None
        bits = np.unpackbits(np.frombuffer(raw, dtype=np.uint8), bitorder="little")[:nbit]
        return np.nonzero(bits)[0].astype(np.int64), nbit

    def _decode(self, fn: Any, pc: int) -> tuple[np.ndarray, int, np.ndarray, list[tuple[int, int, np.ndarray]]]:
        key = (fn.entry, pc)
        got = self._cache.get(key)
        if got is not None:
            return got
        pcln = self.proc.pclntab
        index = 0
        if pc != fn.entry:
            v = pcln.pcdata_value(fn, PCDATA_STACK_MAP_INDEX, pc - 1)
            index = 0 if v == -1 else v
        loc = self._bitmap(fn.funcdata_offset(FUNCDATA_LOCALS), index)
        locals_, nbit = loc if loc is not None else (np.zeros(0, np.int64), 0)
        args = np.zeros(0, np.int64)
        if fn.args > 0:
            a = self._bitmap(fn.funcdata_offset(FUNCDATA_ARGS), index)
            if a is not None:
                args = a[0][a[0] < fn.args // 8]
        objs: list[tuple[int, int, np.ndarray]] = []
        so = fn.funcdata_offset(FUNCDATA_STACK_OBJECTS)
        if so is not None and self.rodata:
            base = self.gofunc + so
            try:
                cnt = self.mem.read_u64(base)
            except ExplorerError:
                cnt = 0
            for i in range(min(cnt, MAX_STACK_OBJECTS)):
                rec = self.mem.try_read(base + 8 + i * self.rec_size, self.rec_size)
                if rec is None:
                    break
                off = int.from_bytes(rec[self.o_off : self.o_off + 4], "little", signed=True)
                size = int.from_bytes(rec[self.o_size : self.o_size + 4], "little", signed=True)
                ptrbytes = int.from_bytes(rec[self.o_ptrbytes : self.o_ptrbytes + 4], "little", signed=True)
                gcoff = int.from_bytes(rec[self.o_gcdataoff : self.o_gcdataoff + 4], "little")
                if size <= 0 or ptrbytes <= 0 or ptrbytes > size or size > 1 << 20:
                    continue
                raw = self.mem.try_read(self.rodata + gcoff, (ptrbytes // 8 + 7) // 8)
                if raw is None:
                    continue
                bits = np.unpackbits(np.frombuffer(raw, dtype=np.uint8), bitorder="little")[: ptrbytes // 8]
                objs.append((off, size, np.nonzero(bits)[0].astype(np.int64)))
        got = (locals_, nbit, args, objs)
        self._cache[key] = got
        return got

    def live_slots(self, fn: Any, f: Any) -> U64:
        """Addresses of the live pointer slots of physical frame ``f`` (function ``fn``)."""
        locals_, nbit, args, objs = self._decode(fn, f.pc)
        arch = self.proc.core.arch_desc
        varp, argp = frame_bases(arch, f.sp, f.fp)
        parts = []  # getStackMap: no locals in a frame of the minimum size
        if len(locals_) and varp - f.sp > (arch.stack_align if arch.name == "arm64" else arch.min_frame_size):
            parts.append(np.uint64(varp - nbit * 8) + locals_.astype(np.uint64) * np.uint64(8))
        if len(args):
            parts.append(np.uint64(argp) + args.astype(np.uint64) * np.uint64(8))
        slots = np.concatenate(parts) if parts else np.zeros(0, np.uint64)
        if objs and len(slots):
            slots = self._stack_objects(slots, objs, varp, argp)
        return slots

    def _stack_objects(self, slots: U64, objs: list[tuple[int, int, np.ndarray]], varp: int, argp: int) -> U64:
        """Add the pointer words of the stack objects live pointers point into (transitively)."""
        placed = [((varp + off) if off < 0 else (argp + off), size, mask) for off, size, mask in objs]
        vals, ok = self.heap.vm.u64(slots)
        pending = [int(v) for v in vals[ok]]
        done: set[int] = set()
        extra: list[U64] = []
        while pending:
            v = pending.pop()
            for k, (addr, size, mask) in enumerate(placed):
                if k not in done and addr <= v < addr + size:
                    done.add(k)
                    w = np.uint64(addr) + mask.astype(np.uint64) * np.uint64(8)
                    extra.append(w)
                    wv, wok = self.heap.vm.u64(w)
                    pending.extend(int(x) for x in wv[wok])
        return np.concatenate([slots, *extra]) if extra else slots


@dataclass
class _Var:
    name: str
    addr: int  # where the variable starts (for a variable in pieces: where it would start)
    size: int
    frame: int
    function: str
    type: Any
    whole: bool  # the variable is one piece of memory (typed root)
    pieces: tuple[tuple[int, int], ...] = ()  # (address, size) of the parts in memory


def covering(vars_: list[_Var], addr: int) -> _Var | None:
    for v in vars_:
        if any(a <= addr < a + n for a, n in v.pieces):
            return v
    return None


_UNNAMED_PACKAGES = ("runtime.", "internal/", "runtime/internal/")


class FrameVars:
    """DWARF variables in memory of a physical frame, as (name, address, size, type).

    Locations relative to the frame (``fbreg``/CFA based) are cached per pc; variables in registers
    are left out (only a thread's innermost frame knows registers, and such a frame is scanned
    conservatively anyway).
    """

    PROBE = 1 << 40

    def __init__(self, proc: Any) -> None:
        self.proc = proc
        self._cache: dict[tuple[int, str, int], list[tuple[str, int, int, Any, bool, list[tuple[int, int]]]]] = {}

    def variables(self, g: Any, group: list[Any], phys: Any) -> list[_Var]:
        out: list[_Var] = []
        if group[-1].function.startswith(_UNNAMED_PACKAGES):
            # The runtime's own frames: their DWARF (the runtime's line tables) costs more than the
            # names are worth; their slots are named by offset.
            return out
        for f in group:
            key = (f.pc, f.function, f.index - group[0].index)
            rel = self._cache.get(key)
            if rel is None:
                rel = self._cache[key] = self._relative(g, f)
            for name, off, size, typ, whole, pieces in rel:
                out.append(_Var(name, phys.fp + off, size, f.index, f.function, typ, whole,
                                tuple((phys.fp + po, pn) for po, pn in pieces)))
        return out

    def _relative(self, g: Any, f: Any) -> list[tuple[str, int, int, Any, bool, list[tuple[int, int]]]]:
        from explorer.goruntime.variables import frame_scope

        try:
            scope = frame_scope(self.proc, g, f.index)
        except ExplorerError:
            return []
        if scope.logical is None or scope.function is None:
            return []
        dw = self.proc.dwarf
        out: list[tuple[str, int, int, Any, bool, list[tuple[int, int]]]] = []
        for var in scope.logical.variables:
            name = var.name
            if not name or name == "_" or name.startswith("."):
                continue
            expr = var.location_at(scope.link_pc)
            if not expr:
                continue
            try:
                pieces = dw.eval_location(expr, cu=scope.function.cu, cfa=self.PROBE, regs={},
                                          frame_base=self.PROBE, read_mem=None)
            except ExplorerError:
                continue
            size = var.type.size if var.type is not None and var.type.size else 8
            pos = 0
            mem: list[tuple[int, int]] = []
            start = None
            for p in pieces:
                n = p.size if p.size is not None else size - pos
                if p.kind == "memory" and p.address is not None and abs(p.address - self.PROBE) < 1 << 24:
                    mem.append((p.address - self.PROBE, n if n > 0 else 8))
                    if start is None:
                        start = p.address - self.PROBE - pos
                pos += max(n, 0)
            if mem and start is not None:
                whole = len(pieces) == 1
                out.append((name, start, size, var.type, whole, mem))
        return out
