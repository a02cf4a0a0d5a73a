"""The garbage collector's roots in a core (Go 1.21–1.27), as ``runtime/mgcmark.go`` marks them.

- **Globals**: the words of ``.data`` and ``.bss`` whose bit is set in the module's pointer masks
  (``moduledata.gcdatamask`` / ``gcbssmask``, bit vectors the runtime builds at start-up; they are in
  the core). Named by the symbol table, typed by DWARF where the binary has them.
- **Goroutine stacks**: for each goroutine that is not dead, each frame on its own stack
  (``runtime/stkframe.go`` ``getStackMap``): the stack map index is ``PCDATA_StackMapIndex`` at the
  frame's continuation pc minus one (the call instruction; the entry map at the entry pc); the
  locals bitmap (``FUNCDATA_LocalsPointerMaps``) covers ``nbit`` words below ``varp``, the
  arguments bitmap (``FUNCDATA_ArgsPointerMaps``) ``args/8`` words from ``argp`` (both per
  architecture: :func:`frame_bases`). Stack objects
  (``FUNCDATA_StackObjects``: address-taken locals) are scanned when a live pointer points into
  them, as ``scanstack`` does. A frame that was interrupted rather than stopped at a call (a
  goroutine running on a thread when the core was written, a frame ``sigpanic`` was injected into)
  has no precise map: it is scanned conservatively, every word that points into the heap.
  Slots are named by the DWARF variables that cover them.
- **Specials** on spans: a finalizer keeps what its object points to (not the object) and its
  function alive; cleanups (1.24+) their function and argument; weak handles their handle.
- **Queued finalizers** (``runtime.allfin`` blocks): their function and argument.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from explorer.errors import ExplorerError

if TYPE_CHECKING:
    from explorer.core.arch import Arch
    from explorer.goruntime.heap.base import HeapLike as Heap

U64 = npt.NDArray[np.uint64]
I32 = npt.NDArray[np.int32]

FUNCDATA_ARGS, FUNCDATA_LOCALS, FUNCDATA_STACK_OBJECTS = 0, 1, 2
PCDATA_STACK_MAP_INDEX = 1  # PCDATA_UnsafePoint is 0
ARGS_SIZE_UNKNOWN = -0x80000000
MAX_STACK_OBJECTS = 1 << 12
MAX_BITMAP_BITS = 1 << 20
MAX_SPECIALS = 1 << 16
MAX_FINBLOCKS = 1 << 16


@dataclass
class Root:
    """One root: a global variable, a stack variable or slot, a special, a queued finalizer."""

    kind: str  # "global", "stack", "finalizer", "cleanup", "weak", "finq"
    name: str
    addr: int  # where the root's memory starts (variable, slot, special record)
    size: int
    goroutine: int | None = None
    frame: int | None = None  # index of the (logical) frame in the goroutine's backtrace
    function: str | None = None
    type: Any = None  # a DWARF GoType, for typed roots (the whole variable is in memory)
    live: set[int] | None = None  # stack variables: the live pointer slots within the variable
    naming_type: Any = None  # the variable's DWARF type, to name fields (also when only parts are in memory)

    def label(self) -> str:
        if self.kind == "stack":
            return f"goroutine {self.goroutine} frame {self.frame} {self.function}: {self.name}"
        return self.name if self.kind == "global" else f"{self.kind}: {self.name}"


@dataclass
class RootSet:
    """Roots and the heap objects each of their pointer slots points to."""

    roots: list[Root]
    root: I32  # per edge: index into roots
    slot: U64  # per edge: address of the pointer slot
    dst: I32  # per edge: the target object
    conservative_frames: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def edges(self) -> int:
        return len(self.dst)


class _Builder:
    def __init__(self, heap: Heap) -> None:
        self.heap = heap
        self.proc = heap.proc
        self.vm = heap.vm
        self.mem = heap.proc.memory
        self.objects = heap.objects
        self.roots: list[Root] = []
        self.e_root: list[I32] = []
        self.e_slot: list[U64] = []
        self.e_dst: list[I32] = []
        self.notes: list[str] = []
        self.conservative = 0

    def add_slots(self, root_ids: I32, slots: U64) -> None:
        """Edges from root slots to the objects their values point into."""
        if not len(slots):
            return
        vals, ok = self.vm.u64(slots)
        dst = self.objects.find(np.where(ok, vals, np.uint64(0)))
        keep = dst >= 0
        self.e_root.append(root_ids[keep].astype(np.int32))
        self.e_slot.append(slots[keep])
        self.e_dst.append(dst[keep].astype(np.int32))

    def new_root(self, r: Root) -> int:
        self.roots.append(r)
        return len(self.roots) - 1

    def build(self) -> RootSet:
        self.globals()
        self.heap.progress("reading goroutine stacks", 0.5)
        self.stacks()
        self.specials()
        self.finq()
        if self.e_root:
            root = np.concatenate(self.e_root)
            slot = np.concatenate(self.e_slot)
            dst = np.concatenate(self.e_dst)
        else:
            root, slot, dst = np.zeros(0, np.int32), np.zeros(0, np.uint64), np.zeros(0, np.int32)
        return RootSet(self.roots, root, slot, dst, self.conservative, self.notes)

    # -- globals --------------------------------------------------------------------------------

    def _moduledata_addr(self) -> int | None:
        addr = self.proc.global_addr("runtime.firstmoduledata")
        if addr is not None:
            return addr
        md = self.proc.moduledata
        return md.address + self.proc.pie_bias if md is not None else None

    def globals(self) -> None:
        layout = self.proc.layout
        md = self._moduledata_addr()
        if md is None:
            self.notes.append("no moduledata: global roots unknown")
            return
        s = "runtime.moduledata"
        words: list[U64] = []
        for lo_f, hi_f, mask in (("data", "edata", "gcdatamask"), ("bss", "ebss", "gcbssmask")):
            try:
                lo = self.mem.read_ptr(md + layout.need(s, lo_f))
                hi = self.mem.read_ptr(md + layout.need(s, hi_f))
                nbits = self.mem.read_u64(md + layout.need(s, mask + ".n"))
                bytedata = self.mem.read_ptr(md + layout.need(s, mask + ".bytedata"))
            except ExplorerError as e:
                self.notes.append(f"moduledata.{mask} unreadable: {e}")
                continue
            nbits = min(nbits, (hi - lo) // 8, MAX_BITMAP_BITS * 64)
            raw = self.vm.block(bytedata, (nbits + 7) // 8) if nbits > 0 else None
            if raw is None:
                if nbits > 0:
                    self.notes.append(f"moduledata.{mask} bitmap at {bytedata:#x} is not in the core")
                continue
            bits = np.unpackbits(np.asarray(raw), bitorder="little")[:nbits]
            words.append(np.uint64(lo) + np.nonzero(bits)[0].astype(np.uint64) * np.uint64(8))
        if not words:
            return
        slots = np.concatenate(words)
        vals, ok = self.vm.u64(slots)
        dst = self.objects.find(np.where(ok, vals, np.uint64(0)))
        keep = dst >= 0
        slots, dst = slots[keep], dst[keep]
        # Name the slots by the symbol (data/bss variable) that holds them.
        syms = sorted((a + self.proc.pie_bias, max(sz, 8), n) for n, (a, sz) in self.proc.exe.symbols.items()
                      if sz and a)
        starts = np.array([x[0] for x in syms], dtype=np.uint64)
        sizes = np.array([x[1] for x in syms], dtype=np.uint64)
        sym_of = np.searchsorted(starts, slots, side="right").astype(np.intp) - 1
        if len(starts):
            safe = np.where(sym_of >= 0, sym_of, 0)
            inside = (sym_of >= 0) & (slots < starts[safe] + sizes[safe])
        else:
            inside = np.zeros(len(slots), dtype=bool)
        sym_of = np.where(inside, sym_of, -1)
        root_ids = np.empty(len(slots), dtype=np.int32)
        by_sym: dict[int, int] = {}
        by_addr: dict[int, int] = {}
        for k in range(len(slots)):
            si = int(sym_of[k])
            if si >= 0:
                rid = by_sym.get(si)
                if rid is None:
                    a, sz, n = syms[si]
                    rid = by_sym[si] = self.new_root(Root("global", n, a, sz))
            else:
                a = int(slots[k])
                rid = by_addr.get(a)
                if rid is None:
                    rid = by_addr[a] = self.new_root(Root("global", f"global {a:#x}", a, 8))
            root_ids[k] = rid
        self.e_root.append(root_ids)
        self.e_slot.append(slots)
        self.e_dst.append(dst.astype(np.int32))
        dw = self.proc.dwarf
        if dw is not None:
            for rid in by_sym.values():
                r = self.roots[rid]
                try:
                    gv = dw.global_var(r.name)
                except ExplorerError:
                    gv = None
                if gv is not None and gv.type is not None and int(gv.address) + self.proc.pie_bias == r.addr:
                    r.type = gv.type

    # -- stacks ---------------------------------------------------------------------------------

    def stacks(self) -> None:
        proc = self.proc
        try:
            goroutines = proc.goroutines
        except ExplorerError as e:
            self.notes.append(f"goroutines unreadable: {e}")
            return
        namer = _FrameVars(proc) if proc.dwarf is not None else None
        smaps = _StackMaps(self.heap)
        for n, g in enumerate(goroutines):
            if n % 256 == 0:
                self.heap.progress("reading goroutine stacks", 0.5 + 0.1 * n / max(len(goroutines), 1))
            try:
                bt = proc.backtrace(g)
            except ExplorerError:
                continue
            self._goroutine(g, bt.frames, smaps, namer, proc.thread_of(g) is not None)

    def _goroutine(self, g: Any, frames: list[Any], smaps: _StackMaps, namer: _FrameVars | None,
                   on_thread: bool) -> None:
        # Physical frames on the goroutine's own stack, innermost first.
        phys: list[list[Any]] = []
        for f in frames:
            if f.stack != "g":
                continue
            if phys and phys[-1][0].physical == f.physical:
                phys[-1].append(f)
            else:
                phys.append([f])
        inner_was_injected = False
        prev_stack_g = False
        for i, group in enumerate(phys):
            f = group[-1]  # the physical function (inlined calls come first)
            fn = self.proc.pclntab.find_func(f.pc) if f.pc else None
            if fn is None:
                continue
            interrupted = (i == 0 and on_thread and not prev_stack_g) or inner_was_injected
            inner_was_injected = fn.name in ("runtime.sigpanic", "runtime.asyncPreempt")
            prev_stack_g = True
            if interrupted:
                argp = frame_bases(self.proc.core.arch_desc, f.sp, f.fp)[1]
                slots = self._conservative(f.sp, argp + max(fn.args, 0) if fn.args != ARGS_SIZE_UNKNOWN else argp)
                self.conservative += 1
            else:
                slots = smaps.live_slots(fn, f)
            if not len(slots):
                continue
            vals, ok = self.vm.u64(slots)
            dst = self.objects.find(np.where(ok, vals, np.uint64(0)))
            keep = dst >= 0
            if not keep.any():
                continue
            slots, dst = slots[keep], dst[keep]
            vars_ = namer.variables(g, group, f) if namer is not None else []
            rids = np.empty(len(slots), dtype=np.int32)
            made: dict[tuple[str, int], int] = {}
            live = {int(s) for s in slots}
            for k, s in enumerate(slots.tolist()):
                v = _covering(vars_, s)
                if v is not None:
                    key = (v.name, v.addr)
                    rid = made.get(key)
                    if rid is None:
                        rid = made[key] = self.new_root(Root(
                            "stack", v.name, v.addr, v.size, g.id, v.frame, v.function,
                            v.type if v.whole else None, {x for x in live if v.addr <= x < v.addr + v.size},
                            v.type))
                else:
                    key = ("", s)
                    rid = made.get(key)
                    if rid is None:
                        rid = made[key] = self.new_root(Root(
                            "stack", f"unnamed slot sp+{s - f.sp:#x}", s, 8, g.id, f.index, f.function))
                rids[k] = rid
            self.e_root.append(rids)
            self.e_slot.append(slots)
            self.e_dst.append(dst.astype(np.int32))

    def _conservative(self, lo: int, hi: int) -> U64:
        lo = (lo + 7) & ~7
        if hi <= lo or hi - lo > 1 << 20:
            return np.zeros(0, np.uint64)
        return np.arange(lo, hi, 8, dtype=np.uint64)

    # -- specials and finalizers ----------------------------------------------------------------

    def specials(self) -> None:
        heap = self.heap
        layout = self.proc.layout
        sp = heap.spans
        kinds = heap.params.specials
        o_next = layout.offset("runtime.special", "next")
        o_off = layout.offset("runtime.special", "offset")
        o_kind = layout.offset("runtime.special", "kind")
        if o_next is None or o_off is None or o_kind is None:
            return
        off_size = layout.field_size("runtime.special", "offset") or (2 if heap.params.minor <= 23 else 8)
        special_size = layout.source.size("runtime.special") or 16
        o_fin_fn = layout.offset("runtime.specialfinalizer", "fn")
        o_weak = layout.offset("runtime.specialWeakHandle", "handle")
        cleanup_size = layout.source.size("runtime.specialCleanup")
        o_cleanup_id = layout.offset("runtime.specialCleanup", "id")
        count = 0
        for s in np.nonzero(sp.specials)[0]:
            p = int(sp.specials[s])
            while p and count < MAX_SPECIALS:
                count += 1
                try:
                    nxt = self.mem.read_ptr(p + o_next)
                    offset = self.mem.read_uint(p + o_off, off_size)
                    kind = self.mem.read_u8(p + o_kind)
                except ExplorerError:
                    break
                base = int(sp.base[s]) + offset // int(sp.elemsize[s]) * int(sp.elemsize[s])
                if kind == kinds.get("finalizer") and o_fin_fn is not None:
                    rid = self.new_root(Root("finalizer", f"finalizer of {base:#x}", p, special_size))
                    i = self.objects.find_one(base)
                    slots = [np.array([p + o_fin_fn], dtype=np.uint64)]
                    if i >= 0:  # what the object points to (not the object itself)
                        slots.append(heap.pointers.words_of(i))
                    w = np.concatenate(slots)
                    self.add_slots(np.full(len(w), rid, dtype=np.int32), w)
                elif kind == kinds.get("cleanup") and cleanup_size and o_cleanup_id is not None:
                    rid = self.new_root(Root("cleanup", f"cleanup of {base:#x}", p, cleanup_size))
                    w = np.arange(p + special_size, p + o_cleanup_id, 8, dtype=np.uint64)
                    self.add_slots(np.full(len(w), rid, dtype=np.int32), w)
                elif kind == kinds.get("weakhandle") and o_weak is not None:
                    rid = self.new_root(Root("weak", f"weak handle of {base:#x}", p, o_weak + 8))
                    self.add_slots(np.array([rid], dtype=np.int32), np.array([p + o_weak], dtype=np.uint64))
                p = nxt

    def finq(self) -> None:
        layout = self.proc.layout
        name = "runtime.finBlock" if layout.has("runtime.finBlock") else "runtime.finblock"
        allfin = self.proc.global_addr("runtime.allfin")
        if allfin is None or not layout.has(name):
            return
        o_alllink = layout.need(name, "alllink")
        o_cnt = layout.need(name, "cnt")
        o_fin = layout.need(name, "fin")
        fsize = layout.source.size("runtime.finalizer") or 40
        o_fn = layout.offset("runtime.finalizer", "fn") or 0
        o_arg = layout.offset("runtime.finalizer", "arg") or 8
        try:
            b = self.mem.read_ptr(allfin)
        except ExplorerError:
            return
        n = 0
        while b and n < MAX_FINBLOCKS:
            n += 1
            try:
                cnt = self.mem.read_u32(b + o_cnt)
                nxt = self.mem.read_ptr(b + o_alllink)
            except ExplorerError:
                break
            cnt = min(cnt, 4096)
            if cnt:
                rid = self.new_root(Root("finq", f"queued finalizers at {b:#x}", b, o_fin + cnt * fsize))
                base = np.uint64(b + o_fin) + np.arange(cnt, dtype=np.uint64) * np.uint64(fsize)
                w = np.concatenate([base + np.uint64(o_fn), base + np.uint64(o_arg)])
                self.add_slots(np.full(len(w), rid, dtype=np.int32), w)
            b = nxt


def frame_bases(arch: Arch, sp: int, fp: int) -> tuple[int, int]:
    """A physical frame's ``(varp, argp)`` from its sp and fp (the caller's sp), as the runtime's
    unwinder derives them (traceback.go resolveInternal): locals end below amd64's pushed return
    address (arm64 keeps its LR at 0(sp)) and, in a frame of any size, the saved frame pointer
    (arm64 writes it below sp, mimicking amd64); arguments start above an arm64 caller's LR slot."""
    varp = fp if arch.uses_lr else fp - arch.ptr_size
    if varp > sp:
        varp -= arch.ptr_size
    return varp, fp + arch.min_frame_size


class _StackMaps:
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


def _covering(vars_: list[_Var], addr: int) -> _Var | None:
    for v in vars_:
        if any(a <= addr < a + n for a, n in v.pieces):
            return v
    return None


_UNNAMED_PACKAGES = ("runtime.", "internal/", "runtime/internal/")


class _FrameVars:
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


def build_roots(heap: Heap) -> RootSet:
    """Every root of the heap and what it points to."""
    return _Builder(heap).build()
