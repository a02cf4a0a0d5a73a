"""pprof profiles rebuilt from a core: the goroutine profile and the heap profile (Go 1.21–1.27).

Both are gzipped ``profile.proto`` files (github.com/google/pprof/proto/profile.proto), encoded here
with a small protobuf writer, written the way ``runtime/pprof`` writes them so that ``go tool pprof``
shows the same functions and values for the core as for a profile the program took of itself:

- **goroutine** (``runtime/pprof.writeGoroutine``, debug=0): one sample per distinct (stack,
  labels), value = how many goroutines; dead goroutines and system goroutines are left out as
  ``runtime.isSystemGoroutine`` does (started in a ``runtime.`` function other than
  ``runtime.main``; the finalizer and cleanup goroutines only while they run user code). Stacks are
  the goroutines' own (frames on the goroutine stack; ``runtime.goexit`` dropped); labels are
  ``g.labels``.
- **heap** (``runtime/pprof.writeHeapProto``): the memory-profile buckets of ``runtime.mbuckets``
  (``runtime/mprof.go``): per allocation stack, the ``active`` cycle's allocs and frees (plus the
  cycle being flushed, as ``MemProfile`` does); values alloc_objects, alloc_space, inuse_objects,
  inuse_space scaled by ``scaleHeapSample`` with ``runtime.MemProfileRate``; leading runtime
  frames hidden; a ``bytes`` label with the object size. Up to 1.26 a cycle records counts and
  bytes, from 1.27 only counts (bytes are counts times the bucket's size).

Locations are symbolized from ``.gopclntab`` (inlined calls included), so the profile needs no
binary to be read.
"""

from __future__ import annotations

import gzip
import math
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from explorer.errors import ExplorerError

if TYPE_CHECKING:
    from explorer.goruntime.process import GoProcess

MEM_PROFILE = 1  # runtime.memProfile (bucketType)
MAX_BUCKETS = 1 << 22
MAX_STACK = 1024
FING_RUNNING_FINALIZER = 2
DEFAULT_MEM_PROFILE_RATE = 512 * 1024


# --------------------------------------------------------------------------------------------------
# A minimal protobuf writer


def _varint(v: int) -> bytes:
    v &= (1 << 64) - 1
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def _key(fieldno: int, wire: int) -> bytes:
    return _varint(fieldno << 3 | wire)


def _int(fieldno: int, v: int) -> bytes:
    """An int64/uint64 field (omitted when zero, as proto3 does)."""
    return _key(fieldno, 0) + _varint(v) if v else b""


def _bool(fieldno: int, v: bool) -> bytes:
    return _key(fieldno, 0) + b"\x01" if v else b""


def _bytes(fieldno: int, data: bytes) -> bytes:
    return _key(fieldno, 2) + _varint(len(data)) + data


def _packed(fieldno: int, values: Iterable[int]) -> bytes:
    body = b"".join(_varint(v) for v in values)
    return _bytes(fieldno, body) if body else b""


@dataclass
class _Builder:
    """profile.proto's tables: strings, functions, locations, mappings, samples."""

    strings: list[str] = field(default_factory=lambda: [""])
    _string_ids: dict[str, int] = field(default_factory=lambda: {"": 0})
    functions: dict[tuple[str, str, int], int] = field(default_factory=dict)
    locations: dict[int, tuple[int, list[tuple[int, int]]]] = field(default_factory=dict)  # pc -> (id, lines)
    samples: list[bytes] = field(default_factory=list)
    head: list[bytes] = field(default_factory=list)
    mappings: list[bytes] = field(default_factory=list)

    def s(self, text: str) -> int:
        i = self._string_ids.get(text)
        if i is None:
            i = self._string_ids[text] = len(self.strings)
            self.strings.append(text)
        return i

    def value_type(self, fieldno: int, typ: str, unit: str) -> None:
        self.head.append(_bytes(fieldno, _int(1, self.s(typ)) + _int(2, self.s(unit))))

    def function(self, name: str, file: str, start_line: int) -> int:
        key = (name, file, start_line)
        fid = self.functions.get(key)
        if fid is None:
            fid = self.functions[key] = len(self.functions) + 1
        return fid

    def location(self, pc: int, frames: list[tuple[str, str, int, int]]) -> int:
        """The location of ``pc`` with its frames (name, file, line, start line), innermost first."""
        got = self.locations.get(pc)
        if got is None:
            lines = [(self.function(n, f, sl), ln) for n, f, ln, sl in frames]
            got = self.locations[pc] = (len(self.locations) + 1, lines)
        return got[0]

    def sample(self, locs: list[int], values: list[int], labels: list[tuple[str, str | None, int]]) -> None:
        body = _packed(1, locs) + _packed(2, values)
        for k, sv, num in labels:
            lab = _int(1, self.s(k)) + (_int(2, self.s(sv)) if sv is not None else _int(3, num))
            body += _bytes(3, lab)
        self.samples.append(_bytes(2, body))

    def build(self, extra: bytes = b"") -> bytes:
        out = bytearray()
        for h in self.head:
            out += h
        for smp in self.samples:
            out += smp
        out += b"".join(self.mappings)
        for pc, (lid, lines) in self.locations.items():
            body = _int(1, lid) + _int(2, 1 if self.mappings else 0) + _int(3, pc)
            for fid, ln in lines:
                body += _bytes(4, _int(1, fid) + _int(2, ln))
            out += _bytes(4, body)
        for (name, file, start), fid in self.functions.items():
            body = _int(1, fid) + _int(2, self.s(name)) + _int(3, self.s(name)) + _int(4, self.s(file)) + \
                _int(5, start)
            out += _bytes(5, body)
        out += extra
        for text in self.strings:
            out += _bytes(6, text.encode("utf-8", "surrogateescape"))
        return gzip.compress(bytes(out), mtime=0)


# --------------------------------------------------------------------------------------------------
# Symbolization


class _Symbols:
    """Frames of pcs from .gopclntab (cached)."""

    def __init__(self, proc: GoProcess) -> None:
        self.proc = proc
        self.pcln = proc.pclntab
        self._cache: dict[tuple[int, bool], list[tuple[str, str, int, int]]] = {}

    def frames(self, pc: int, all_inlined: bool) -> list[tuple[str, str, int, int]]:
        """Frames at the call before return address ``pc`` (innermost first): all logical frames,
        or only the innermost (stacks that Callers already expanded, one pc per logical frame)."""
        key = (pc, all_inlined)
        got = self._cache.get(key)
        if got is None:
            got = self._cache[key] = self._frames(pc, all_inlined)
        return got

    def _frames(self, pc: int, all_inlined: bool) -> list[tuple[str, str, int, int]]:
        f = self.pcln.find_func(pc)
        if f is None:
            f = self.pcln.find_func(pc - 1)
            if f is None:
                return [(f"{pc:#x}", "", 0, 0)]
        at = pc - 1 if pc > f.entry else pc
        try:
            inl = self.pcln.inline_frames(f, at, self.proc.memory.read, self.proc.gofunc)
        except ExplorerError:
            inl = []
        if not inl:
            file, line = self.pcln.file_line(f, at)
            return [(f.name, file, line, f.start_line)]
        out = [(x.name, x.file, x.line, x.start_line) for x in inl]
        return out if all_inlined else out[:1]

    def name_at(self, pc: int) -> str:
        """``runtime.FuncForPC(pc).Name()``: the innermost function at ``pc`` itself."""
        f = self.pcln.find_func(pc)
        if f is None:
            return ""
        try:
            inl = self.pcln.inline_frames(f, pc, self.proc.memory.read, self.proc.gofunc)
        except ExplorerError:
            return f.name
        return inl[0].name if inl else f.name


def _gnu_build_id(proc: GoProcess) -> str | None:
    """The GNU build ID (``.note.gnu.build-id``, which the Go linker writes outside the PT_NOTE
    segment holding its own build ID)."""
    from explorer.core.elfstructs import NT_GNU_BUILD_ID, parse_notes

    data = proc.exe.section_data(".note.gnu.build-id")
    for name, ntype, desc in parse_notes(data) if data is not None else []:
        if name == "GNU" and ntype == NT_GNU_BUILD_ID:
            return desc.hex()
    return proc.exe.gnu_build_id


def _mapping(b: _Builder, proc: GoProcess) -> None:
    text = proc.exe.sections.get(".text")
    lo = (text.addr if text else 0) + proc.pie_bias
    hi = lo + (text.size if text else 0)
    build_id = _gnu_build_id(proc) or proc.exe.go_build_id or ""  # runtime/pprof uses the GNU one
    body = (_int(1, 1) + _int(2, lo) + _int(3, hi) + _int(4, text.offset if text else 0)
            + _int(5, b.s(str(proc.exe.path))) + _int(6, b.s(build_id))
            + _bool(7, True) + _bool(8, True) + _bool(9, True) + _bool(10, True))
    b.mappings.append(_bytes(3, body))


# --------------------------------------------------------------------------------------------------
# The goroutine profile


def _is_system(proc: GoProcess, g: Any) -> bool:
    """``runtime.isSystemGoroutine(gp, false)``."""
    f = proc.pclntab.find_func(g.startpc) if g.startpc else None
    if f is None:
        return False
    name = f.name
    if name in ("runtime.main", "runtime.corostart", "runtime.handleAsyncEvent"):
        return False
    if name in ("runtime.runfinq", "runtime.runFinalizers"):
        addr = proc.global_addr("runtime.fingStatus")
        status = proc.memory.try_read(addr, 4) if addr is not None else None
        return status is None or not int.from_bytes(status, "little") & FING_RUNNING_FINALIZER
    if name == "runtime.runCleanups":
        off = proc.layout.offset("runtime.g", "runningCleanups")
        v = proc.memory.try_read(g.addr + off, 1) if off is not None else None
        return v is None or v[0] == 0
    return name.startswith("runtime.")


_PANICS = ("runtime.gopanic", "runtime.sigpanic", "runtime.panicwrap")


def _wrapper_func_id(minor: int) -> int:
    """``abi.FuncIDWrapper``: the last FuncID, which moved as releases added special functions."""
    return 21 if minor <= 21 else 22 if minor <= 24 else 23


def _is_wrapper(proc: GoProcess, name: str) -> bool:
    cache = proc.__dict__.setdefault("_pprof_wrappers", {})
    got = cache.get(name)
    if got is None:
        f = proc.pclntab.func_by_name(name)
        got = cache[name] = f is not None and f.func_id == _wrapper_func_id(proc.go_minor or 0)
    return bool(got)


def goroutine_stacks(proc: GoProcess) -> list[tuple[list[Any], dict[str, str] | None]]:
    """(physical frames as lists of logical frames, labels) of each goroutine the runtime's goroutine
    profile would list."""
    from explorer.goruntime.labels import read_labels

    out = []
    labels_off = proc.layout.offset("runtime.g", "labels")
    for g in proc.goroutines:
        if _is_system(proc, g):
            continue
        frames = []
        callee = ""
        for f in proc.backtrace(g).frames:
            if f.stack != "g" or f.function == "runtime.goexit":
                continue
            # tracebackPCs elides autogenerated wrappers (go statement wrappers, method value
            # wrappers...) unless they called a panic.
            if _is_wrapper(proc, f.function) and callee not in _PANICS:
                callee = f.function
                continue
            callee = f.function
            frames.append(f)
        phys: list[list[Any]] = []
        for f in frames:
            if phys and phys[-1][0].physical == f.physical:
                phys[-1].append(f)
            else:
                phys.append([f])
        labels = None
        if labels_off is not None:
            try:
                labels = read_labels(proc, proc.memory.read_ptr(g.addr + labels_off))
            except ExplorerError:
                labels = None
        out.append((phys, labels))
    return out


def goroutine_profile(proc: GoProcess) -> bytes:
    """The goroutine profile (gzipped profile.proto) of the goroutines in the core."""
    b = _Builder()
    b.value_type(1, "goroutine", "count")
    counts: dict[tuple[tuple[int, ...], tuple[tuple[str, str], ...]], int] = {}
    for phys, labels in goroutine_stacks(proc):
        locs = []
        for group in phys:
            top = group[0]
            frames = [(f.function, f.file, f.line, _start_line(proc, f)) for f in group]
            locs.append(b.location(top.pc, frames))
        key = (tuple(locs), tuple(sorted((labels or {}).items())))
        counts[key] = counts.get(key, 0) + 1
    for (loc_ids, label_items), n in counts.items():
        b.sample(list(loc_ids), [n], [(k, v, 0) for k, v in label_items])
    _mapping(b, proc)
    extra = _bytes(11, _int(1, b.s("goroutine")) + _int(2, b.s("count"))) + _int(12, 1)
    return b.build(extra)


def _start_line(proc: GoProcess, f: Any) -> int:
    fn = proc.pclntab.find_func(f.pc) if not f.inlined else None
    return fn.start_line if fn is not None else 0


# --------------------------------------------------------------------------------------------------
# The heap profile


@dataclass
class MemRecord:
    """One bucket of the memory profile, as ``runtime.MemProfile`` reports it."""

    size: int
    stack: list[int]
    allocs: int
    frees: int
    alloc_bytes: int
    free_bytes: int

    @property
    def inuse_objects(self) -> int:
        return self.allocs - self.frees

    @property
    def inuse_bytes(self) -> int:
        return self.alloc_bytes - self.free_bytes


def _mbuckets(proc: GoProcess) -> int | None:
    addr = proc.global_addr("runtime.mbuckets")
    if addr is not None:
        return addr
    from explorer.goruntime.heap.rtglobals import by_code

    def is_head(a: int) -> bool:
        head = proc.memory.try_read(a, 8)
        return head is not None and int.from_bytes(head, "little") != 0 and _valid_chain(proc, head)

    found = by_code(proc, ("runtime.memProfileInternal", "runtime.MemProfile", "runtime.mProf_FlushLocked",
                           "runtime.mProf_Flush", "runtime.mProf_PostSweep"), is_head, sizes=(8,))
    if found is not None:
        return found
    # An empty list (nothing sampled yet) cannot be validated by its contents: mProf_FlushLocked
    # reads one 8-byte global, mbuckets (and MemProfile/memProfileInternal, where linked, too).
    from explorer.goruntime.heap.rtglobals import code_targets

    flush = {t for t, n in code_targets(proc, "runtime.mProf_FlushLocked") if n == 8}
    reader = {t for name in ("runtime.MemProfile", "runtime.memProfileInternal")
              for t, n in code_targets(proc, name) if n == 8}
    common = sorted(flush & reader) if reader else sorted(flush)
    if len(common) == 1 and proc.memory.try_read(common[0], 8) == bytes(8):
        return common[0]
    return None


def _valid_chain(proc: GoProcess, head: bytes | None) -> bool:
    if head is None:
        return False
    b = int.from_bytes(head, "little")
    lay = proc.layout
    o_typ = lay.offset("runtime.bucket", "typ") or 16
    o_nstk = lay.offset("runtime.bucket", "nstk") or 40
    o_allnext = lay.offset("runtime.bucket", "allnext") or 8
    text = proc.exe.sections.get(".text")
    for _ in range(4):
        if not b:
            return True
        raw = proc.memory.try_read(b, 48)
        if raw is None:
            return False
        typ = int.from_bytes(raw[o_typ : o_typ + 8], "little")
        nstk = int.from_bytes(raw[o_nstk : o_nstk + 8], "little")
        if typ != MEM_PROFILE or not 0 < nstk <= MAX_STACK:
            return False
        pc = proc.memory.try_read(b + 48, 8)
        if text is not None and pc is not None:
            v = int.from_bytes(pc, "little") - proc.pie_bias
            if not text.addr <= v < text.addr + text.size:
                return False
        b = int.from_bytes(raw[o_allnext : o_allnext + 8], "little")
    return True


def _mprof_cycle(proc: GoProcess) -> int | None:
    addr = proc.global_addr("runtime.mProfCycle")
    if addr is None:
        from explorer.goruntime.heap.rtglobals import by_code

        addr = by_code(proc, ("runtime.mProf_NextCycle", "runtime.mProf_Flush", "runtime.mProf_Malloc"),
                       lambda a: proc.memory.try_read(a, 4) is not None, sizes=(4,))
    if addr is None:
        return None
    raw = proc.memory.try_read(addr, 4)
    return int.from_bytes(raw, "little") >> 1 if raw is not None else None


def mem_profile_rate(proc: GoProcess) -> int:
    """``runtime.MemProfileRate`` (found by symbol, by the Ps' ``mcache.memProfRate`` copy from
    1.24, or through ``runtime.nextSample``'s code; the default when none of that is there)."""
    addr = proc.global_addr("runtime.MemProfileRate")
    if addr is not None:
        return proc.memory.read_i64(addr)
    lay = proc.layout
    o_p = lay.offset("runtime.m", "p")
    o_mcache = lay.offset("runtime.p", "mcache")
    o_rate = lay.offset("runtime.mcache", "memProfRate")
    if o_p is not None and o_mcache is not None and o_rate is not None:
        for ti in proc.thread_infos:
            if not ti.m:
                continue
            try:
                p = proc.memory.read_ptr(ti.m + o_p)
                mc = proc.memory.read_ptr(p + o_mcache) if p else 0
                if mc:
                    return proc.memory.read_i64(mc + o_rate)
            except ExplorerError:
                continue
    from explorer.goruntime.heap.rtglobals import code_targets

    # Up to 1.23: the 8-byte global both runtime.profilealloc and runtime.allocmcache read (their
    # inlined nextSample); nothing else is common to the two.
    a = {t for t, size in code_targets(proc, "runtime.profilealloc") if size == 8}
    b = {t for t, size in code_targets(proc, "runtime.allocmcache") if size == 8}
    common = sorted(a & b)
    if len(common) == 1:
        raw = proc.memory.try_read(common[0], 8)
        if raw is not None and 0 <= int.from_bytes(raw, "little", signed=True) < 1 << 40:
            return int.from_bytes(raw, "little", signed=True)
    return DEFAULT_MEM_PROFILE_RATE


def mem_records(proc: GoProcess) -> list[MemRecord]:
    """The memory profile's records (``runtime.MemProfile(p, true)``), in bucket list order."""
    head_addr = _mbuckets(proc)
    if head_addr is None:
        raise ExplorerError("cannot find runtime.mbuckets (the memory profile): no symbols, and no validated "
                            "candidate")
    lay = proc.layout
    mem = proc.memory
    bsize = lay.source.size("runtime.bucket") or 48
    o_allnext = lay.offset("runtime.bucket", "allnext") or 8
    o_typ = lay.offset("runtime.bucket", "typ") or 16
    o_size = lay.offset("runtime.bucket", "size") or 32
    o_nstk = lay.offset("runtime.bucket", "nstk") or 40
    c = "runtime.memRecordCycle"
    csize = lay.source.size(c) or 32
    with_bytes = lay.offset(c, "alloc_bytes") is not None
    o_future = lay.offset("runtime.memRecord", "future") or csize
    cycle = _mprof_cycle(proc)
    flush_index = cycle % 3 if cycle is not None else None
    out: list[MemRecord] = []
    b = mem.read_ptr(head_addr)
    seen = 0
    while b and seen < MAX_BUCKETS:
        seen += 1
        raw = mem.read(b, bsize)
        nxt = int.from_bytes(raw[o_allnext : o_allnext + 8], "little")
        typ = int.from_bytes(raw[o_typ : o_typ + 8], "little")
        size = int.from_bytes(raw[o_size : o_size + 8], "little")
        nstk = int.from_bytes(raw[o_nstk : o_nstk + 8], "little")
        if typ != MEM_PROFILE or nstk > MAX_STACK:
            raise ExplorerError(f"memory profile bucket at {b:#x} is corrupt (type {typ}, {nstk} frames)")
        stk = list(struct.unpack(f"<{nstk}Q", mem.read(b + bsize, 8 * nstk))) if nstk else []
        rec = b + bsize + 8 * nstk
        vals = _cycle(mem.read(rec, csize), with_bytes, size)
        if flush_index is not None:  # MemProfile flushes the cycle being completed first
            fut = _cycle(mem.read(rec + o_future + flush_index * csize, csize), with_bytes, size)
            vals = tuple(a + f for a, f in zip(vals, fut, strict=True))  # type: ignore[assignment]
        out.append(MemRecord(size, stk, *vals))
        b = nxt
    if out and all(r.allocs == 0 and r.frees == 0 for r in out):
        # No collection yet: MemProfile then adds up every cycle.
        out = []
        b = mem.read_ptr(head_addr)
        seen = 0
        while b and seen < MAX_BUCKETS:
            seen += 1
            raw = mem.read(b, bsize)
            size = int.from_bytes(raw[o_size : o_size + 8], "little")
            nstk = int.from_bytes(raw[o_nstk : o_nstk + 8], "little")
            stk = list(struct.unpack(f"<{nstk}Q", mem.read(b + bsize, 8 * nstk))) if nstk else []
            rec = b + bsize + 8 * nstk
            tot = [0, 0, 0, 0]
            for k in range(4):
                at = rec if k == 0 else rec + o_future + (k - 1) * csize
                for i, v in enumerate(_cycle(mem.read(at, csize), with_bytes, size)):
                    tot[i] += v
            out.append(MemRecord(size, stk, *tot))
            b = int.from_bytes(raw[o_allnext : o_allnext + 8], "little")
    return out


def _cycle(raw: bytes, with_bytes: bool, size: int) -> tuple[int, int, int, int]:
    if with_bytes:
        a, f, ab, fb = struct.unpack_from("<QQQQ", raw)
        return a, f, ab, fb
    a, f = struct.unpack_from("<QQ", raw)
    return a, f, a * size, f * size


def scale_heap_sample(count: int, size: int, rate: int, *, total: bool) -> tuple[int, int]:
    """``runtime/pprof.scaleHeapSample``: unsample a count and its bytes (float64, truncated as
    Go's int64 conversion does). Up to 1.26 ``size`` is the bytes of all ``count`` objects
    (``total``); 1.27 passes the object size."""
    if count == 0 or size == 0:
        return 0, 0
    if rate <= 1:
        return (count, size) if total else (count, count * size)
    avg = float(size) / float(count) if total else float(size)
    scale = 1 / (1 - math.exp(-avg / float(rate)))
    return int(float(count) * scale), int(float(size if total else count * size) * scale)


def _locations(b: _Builder, sym: _Symbols, stk: list[int]) -> list[int]:
    """Locations of a Callers-style stack (one pc per logical frame: a return pc, then one inline
    mark pc per level of inlining) as runtime/pprof's profileBuilder makes them: one location per
    physical frame, its lines the inlined calls, innermost first."""
    out: list[int] = []
    i = 0
    while i < len(stk):
        pc = stk[i]
        frames = sym.frames(pc, all_inlined=True)
        if frames[0][0] == "runtime.goexit":
            break
        k = 1
        while k < len(frames) and i + k < len(stk) and sym.frames(stk[i + k], False)[0][0] == frames[k][0]:
            k += 1
        if k < len(frames):  # the marks are not there (a truncated stack): keep what the pcs say
            frames = frames[:k]
        out.append(b.location(pc, frames))
        i += k
    return out


def heap_profile(proc: GoProcess) -> bytes:
    """The heap profile (gzipped profile.proto) of the memory-profile buckets in the core."""
    rate = mem_profile_rate(proc)
    records = mem_records(proc)
    minor = proc.go_minor or 0
    prefixes = ("runtime.", "internal/runtime/") if minor >= 24 else ("runtime.",)
    sym = _Symbols(proc)
    b = _Builder()
    b.value_type(11, "space", "bytes")
    head_period = _int(12, rate)
    for t, u in (("alloc_objects", "count"), ("alloc_space", "bytes"), ("inuse_objects", "count"),
                 ("inuse_space", "bytes")):
        b.value_type(1, t, u)
    for r in records:
        stk = r.stack
        locs: list[int] = []
        for hide in (True, False):
            s = stk
            if hide:
                for i, pc in enumerate(stk):
                    if sym.name_at(pc).startswith(prefixes):
                        continue
                    s = stk[i:]
                    break
            locs = _locations(b, sym, s)
            if locs:
                break
        if minor >= 27:
            a_n, a_b = scale_heap_sample(r.allocs, r.size, rate, total=False)
            i_n, i_b = scale_heap_sample(r.inuse_objects, r.size, rate, total=False)
        else:
            a_n, a_b = scale_heap_sample(r.allocs, r.alloc_bytes, rate, total=True)
            i_n, i_b = scale_heap_sample(r.inuse_objects, r.inuse_bytes, rate, total=True)
        b.sample(locs, [a_n, a_b, i_n, i_b], [("bytes", None, r.size)])
    _mapping(b, proc)
    b.head.append(head_period)
    return b.build()
