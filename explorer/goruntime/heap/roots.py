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
from explorer.goruntime.heap.stackmaps import MAX_BITMAP_BITS, FrameVars, StackMaps, covering, frame_bases

if TYPE_CHECKING:
    from explorer.goruntime.heap.base import HeapLike as Heap

U64 = npt.NDArray[np.uint64]
I32 = npt.NDArray[np.int32]

ARGS_SIZE_UNKNOWN = -0x80000000
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
        namer = FrameVars(proc) if proc.dwarf is not None else None
        smaps = StackMaps(self.heap)
        for n, g in enumerate(goroutines):
            if n % 256 == 0:
                self.heap.progress("reading goroutine stacks", 0.5 + 0.1 * n / max(len(goroutines), 1))
            try:
                bt = proc.backtrace(g)
            except ExplorerError:
                continue
            self._goroutine(g, bt.frames, smaps, namer, proc.thread_of(g) is not None)

    def _goroutine(self, g: Any, frames: list[Any], smaps: StackMaps, namer: FrameVars | None,
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
                v = covering(vars_, s)
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


def build_roots(heap: Heap) -> RootSet:
    """Every root of the heap and what it points to."""
    return _Builder(heap).build()
