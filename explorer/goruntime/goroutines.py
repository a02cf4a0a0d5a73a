"""Goroutines as the runtime keeps them: ``runtime.allgs``, each ``g``'s status and wait reason,
and the threads (Ms) running them. Go 1.21–1.27.

Status texts and wait-reason texts are read from the binary's own tables
(``runtime.gStatusStrings``, ``runtime.waitReasonStrings``), because their numbering changes between
releases. Every g is read with one bounded read of ``sizeof(runtime.g)`` bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from explorer.errors import ExplorerError, NotGoError, UnreadableMemory

if TYPE_CHECKING:
    from explorer.core.memory import AddressSpace
    from explorer.goruntime.layout import Layout

# Used only if the binary's own gStatusStrings cannot be found: these values never moved (10 and 11
# are new in 1.26: _Gleaked, and _Gdeadextra, a dead g kept for a cgo callback).
FALLBACK_STATUS = {0: "idle", 1: "runnable", 2: "running", 3: "syscall", 4: "waiting", 6: "dead",
                   8: "copystack", 9: "preempted", 10: "leaked", 11: "waiting for cgo callback"}
G_SCAN = 0x1000
G_DEAD = 6
G_WAITING = 4
G_SYSCALL = 3
G_RUNNING = 2
MAX_GOROUTINES = 10_000_000


@dataclass(slots=True)
class Goroutine:
    """One g from runtime.allgs (raw fields; frames come from the unwinder)."""

    addr: int
    id: int
    status_code: int
    status: str
    wait_reason: str | None
    wait_reason_code: int
    waitsince: int
    m: int
    sched_sp: int
    sched_pc: int
    sched_bp: int
    sched_lr: int
    syscallsp: int
    syscallpc: int
    syscallbp: int
    stack_lo: int
    stack_hi: int
    gopc: int
    startpc: int
    parent_goid: int | None
    labels_ptr: int
    panic_ptr: int
    sig: int
    sigcode0: int
    sigcode1: int
    sigpc: int
    lockedm: int
    scan: bool = False
    thread: int | None = None  # LWP running it (from the core's threads)
    # Not a list: 100,000 goroutines would be 100,000 more objects for the garbage collector to walk.
    errors: tuple[str, ...] = ()

    @property
    def dead(self) -> bool:
        """_Gdead, or (Go 1.27) _Gdeadextra, a dead g kept for a cgo callback: the runtime's
        traceback skips both."""
        return self.status_code == G_DEAD or self.status in ("dead", "waiting for cgo callback")

    @property
    def header_status(self) -> str:
        """The text the runtime prints in brackets (wait reason for waiting goroutines)."""
        return self.wait_reason if self.wait_reason else self.status


class GReader:
    """Decodes ``runtime.g`` structs with precomputed offsets."""

    FIELDS: ClassVar[dict[str, tuple[str, str]]] = {
        "goid": ("goid", "Q"), "status": ("atomicstatus.value", "I"), "waitreason": ("waitreason", "B"),
        "waitsince": ("waitsince", "q"), "m": ("m", "Q"), "sched_sp": ("sched.sp", "Q"),
        "sched_pc": ("sched.pc", "Q"), "sched_bp": ("sched.bp", "Q"), "sched_lr": ("sched.lr", "Q"),
        "syscallsp": ("syscallsp", "Q"), "syscallpc": ("syscallpc", "Q"), "syscallbp": ("syscallbp", "Q"),
        "stack_lo": ("stack.lo", "Q"), "stack_hi": ("stack.hi", "Q"), "gopc": ("gopc", "Q"),
        "startpc": ("startpc", "Q"), "parent_goid": ("parentGoid", "Q"), "labels": ("labels", "Q"),
        "panic": ("_panic", "Q"), "sig": ("sig", "I"), "sigcode0": ("sigcode0", "Q"),
        "sigcode1": ("sigcode1", "Q"), "sigpc": ("sigpc", "Q"), "lockedm": ("lockedm", "Q"),
    }
    REQUIRED: ClassVar[tuple[str, ...]] = ("goid", "status", "m", "sched_sp", "sched_pc", "stack_lo", "stack_hi")

    def __init__(self, layout: Layout, status_names: list[str], wait_reasons: list[str]) -> None:
        self.size = layout.size("runtime.g")
        self.offsets: dict[str, tuple[int, struct.Struct]] = {}
        for key, (path, fmt) in self.FIELDS.items():
            off = layout.offset("runtime.g", path)
            if off is None and path == "atomicstatus.value":
                off = layout.offset("runtime.g", "atomicstatus")
            if off is None:
                if key in self.REQUIRED:
                    layout.need("runtime.g", path)
                continue
            self.offsets[key] = (off, struct.Struct("<" + fmt))
        self.status_names = status_names
        self.wait_reasons = wait_reasons
        # One struct.Struct for all fields (sorted by offset, gaps as padding): one unpack per g.
        fmt, pos, self._keys = "<", 0, []
        for key, (off, st) in sorted(self.offsets.items(), key=lambda kv: kv[1][0]):
            if off < pos:  # overlapping (should not happen): read it separately
                continue
            fmt += f"{off - pos}x" + st.format[1:]
            pos = off + st.size
            self._keys.append(key)
        self._all = struct.Struct(fmt)
        self._compile_decoder()

    def field(self, raw: bytes, key: str, default: int = 0) -> int:
        o = self.offsets.get(key)
        if o is None:
            return default
        return int(o[1].unpack_from(raw, o[0])[0])

    # Goroutine's fields after (addr, id, status_code, status, wait_reason, wait_reason_code), in
    # order, with the GReader key each comes from (None: not a g field).
    _TAIL = ("waitsince", "m", "sched_sp", "sched_pc", "sched_bp", "sched_lr", "syscallsp", "syscallpc",
             "syscallbp", "stack_lo", "stack_hi", "gopc", "startpc", "parent_goid", "labels", "panic", "sig",
             "sigcode0", "sigcode1", "sigpc", "lockedm")

    def _compile_decoder(self) -> None:
        """An itemgetter that picks Goroutine's fields out of one unpacked g in one call."""
        from operator import itemgetter

        n = len(self._keys)
        index = {k: i for i, k in enumerate(self._keys)}
        # Missing fields read as 0 (the padding slot n), parentGoid as None (slot n+1).
        picks = [index.get(k, n + 1 if k == "parent_goid" else n) for k in self._TAIL]
        self._pick = itemgetter(*picks)
        self._i_goid, self._i_status = index["goid"], index["status"]
        self._i_wr = index.get("waitreason", n)

    def decode(self, addr: int, raw: bytes | memoryview, offset: int = 0) -> Goroutine:
        """The g at ``addr`` from its bytes (at ``offset`` in ``raw``; at least ``self.size`` of them)."""
        vals = (*self._all.unpack_from(raw, offset), 0, None)
        code = vals[self._i_status]
        base = code & ~G_SCAN
        names = self.status_names
        if 0 <= base < len(names) and names[base]:
            status = names[base]
        else:
            status = FALLBACK_STATUS.get(base, "???")
        wr = vals[self._i_wr]
        reason = None
        if wr and status in ("waiting", "leaked"):
            reason = self.wait_reasons[wr] if wr < len(self.wait_reasons) else f"wait reason {wr}"
        return Goroutine(addr, vals[self._i_goid], base, status, reason, wr, *self._pick(vals),  # type: ignore[misc]
                         scan=bool(code & G_SCAN))

    def read(self, mem: AddressSpace, addr: int) -> Goroutine:
        return self.decode(addr, mem.read(addr, self.size))

    def looks_like_g(self, mem: AddressSpace, addr: int) -> bool:
        """Plausibility check for symbol-free searches: sane status, stack bounds and goid."""
        try:
            g = self.read(mem, addr)
        except (ExplorerError, struct.error):
            return False
        if g.status_code > 16 or g.id > 1 << 40:
            return False
        if g.status_code == G_DEAD:
            return True
        return 0 < g.stack_lo < g.stack_hi and g.stack_hi - g.stack_lo <= 1 << 30


#: Goroutines read between two calls of read_allgs' ``release`` (see CoreFile.release_pages).
RELEASE_EVERY = 8192


def allgs_array(mem: AddressSpace, allgs_addr: int) -> tuple[bytes, list[str]]:
    """The readable entries of ``runtime.allgs`` (8 bytes each) and what is wrong with the rest."""
    errors: list[str] = []
    try:
        ptr, ln, cap = struct.unpack("<QQQ", mem.read(allgs_addr, 24))
    except UnreadableMemory as e:
        if e.reason == "unmapped":
            # .bss is always mapped (and dumped, or at least described) in a core of this program.
            raise NotGoError(f"runtime.allgs ({allgs_addr:#x}) is not in the dumped process's memory: the "
                             f"core is not of this Go program (another executable, or not a Go program at all)") from e
        raise UnreadableMemory(e.addr, e.size, f"{e.reason} (runtime.allgs, the list of goroutines, is "
                                               f"there)") from e
    if ln > cap or ln > MAX_GOROUTINES:
        raise UnreadableMemory(allgs_addr, 24, f"runtime.allgs has a garbage length {ln} (cap {cap})")
    have = mem.readable_prefix(ptr, 8 * ln) // 8 if ln else 0
    if have < ln:
        why = mem.why_unreadable(ptr + 8 * have) or "unmapped"
        if have == 0:
            raise UnreadableMemory(ptr, 8 * ln, f"{why} (the array of runtime.allgs, {ln} goroutines, is there)")
        errors.append(f"{ln - have} of the {ln} entries of runtime.allgs are unreadable ({why})")
    return mem.read(ptr, 8 * have), errors


def first_entry(arr: bytes, gaddr: int) -> int | None:
    """The index of the first entry of an allgs array that is ``gaddr``, or None."""
    needle = struct.pack("<Q", gaddr)
    pos = arr.find(needle)
    while pos >= 0 and pos % 8:
        pos = arr.find(needle, pos + 1)
    return None if pos < 0 else pos // 8


def read_allgs(mem: AddressSpace, allgs_addr: int, reader: GReader,
               release: Callable[[], None] | None = None, *, limit: int | None = None,
               known: dict[int, Goroutine] | None = None) -> tuple[list[Goroutine], list[str]]:
    """Every g in allgs (dead ones included), and errors met on the way (bounded). ``release``, if
    given, is called every RELEASE_EVERY goroutines to let go of the core's pages read so far.
    ``limit``: read only the first so many entries. ``known``: gs read before, by address, returned
    in place of a new reading of them (one object per g)."""
    arr, errors = allgs_array(mem, allgs_addr)
    if limit is not None:
        arr = arr[: 8 * limit]
    out: list[Goroutine] = []
    seen: set[int] = set()
    size = reader.size
    # The gs sit in a few big runs of the heap: decode each straight from the run's buffer (one
    # unpack_from per g, no read call nor bytes copy), falling back to mem.read at a run's edge.
    span_at = getattr(mem, "span_at", None)
    lo = hi = 0
    buf: Any = None
    base = 0
    decode = reader.decode
    for i, (gaddr,) in enumerate(struct.iter_unpack("<Q", arr)):
        if release is not None and i and i % RELEASE_EVERY == 0:
            release()
        try:
            if gaddr in seen:
                raise ExplorerError("listed twice in runtime.allgs")
            seen.add(gaddr)
            if not (lo <= gaddr and gaddr + size <= hi) and span_at is not None:
                run = span_at(gaddr)
                lo, hi, buf, base = run if run is not None else (0, 0, None, 0)
            if known is not None and gaddr in known:
                g = known[gaddr]
            elif lo <= gaddr and gaddr + size <= hi:
                g = decode(gaddr, buf, base + gaddr - lo)
            else:
                g = reader.read(mem, gaddr)
            problem = implausible(g)
            if problem:
                raise ExplorerError(f"not a goroutine: {problem}")
            out.append(g)
        except ExplorerError as e:
            if len(errors) < 100:
                errors.append(f"g at {gaddr:#x}: {e}")
    return out, errors


#: Statuses (without _Gscan) of a g that owns a stack: runnable, running, syscall, waiting, copystack, preempted.
_WITH_STACK = frozenset((1, 2, 3, 4, 8, 9))
MAX_STATUS = 0x1F
MAX_GOID = 1 << 48
MAX_STACK = 1 << 30  # the runtime's maxstacksize on 64-bit systems


def implausible(g: Goroutine) -> str | None:
    """Why ``g`` cannot be a real goroutine (a corrupt allgs entry or g), or None if it can be.

    Deliberately loose: only what no runtime 1.21–1.27 ever produces (a status code outside the
    table, a goroutine id no program reaches, a live goroutine without a stack)."""
    if g.addr % 8:
        return f"misaligned address {g.addr:#x}"
    if g.status_code > MAX_STATUS:
        return f"status {g.status_code:#x}"
    if g.id > MAX_GOID:
        return f"goroutine id {g.id}"
    if g.status_code in _WITH_STACK and not (0 < g.stack_lo < g.stack_hi and g.stack_hi - g.stack_lo <= MAX_STACK):
        return f"stack [{g.stack_lo:#x}, {g.stack_hi:#x}) of a {g.status} goroutine"
    return None
