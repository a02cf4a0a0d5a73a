"""Backtraces of goroutines from ``.gopclntab`` alone (works for stripped binaries).

The stepping rule is the Go runtime's own unwinder (``runtime/traceback.go``, Go 1.21–1.27) for
amd64, where calls push the return address (arm64's link-register rule: :mod:`.unwind_lr`):
a frame's ``fp`` is ``sp + pcsp(pc) + 8``; the return address sits at ``fp - 8``; the caller's ``sp``
is ``fp``. A frame's file:line is looked up at ``pc - 1`` except for the innermost frame of a stack
segment and the frame that ``runtime.sigpanic`` was injected into (``unwindTrap``). Inlined calls
become frames of their own, sharing their physical frame's pc and sp.

Beyond what one traceback of the runtime prints, we cross the places where a thread changes stacks,
so a thread gets one continuous backtrace (what the runtime prints in several pieces):

- ``runtime.sigtramp``: the kernel's ``rt_sigframe`` sits just above its frame; the interrupted
  registers are in its ``ucontext`` (``uc_mcontext`` at +40; the layout is
  :attr:`explorer.core.arch.Arch.sigframe`) and unwinding goes on from them (from
  ``m.vdsoPC/vdsoSP`` when they point into the vDSO, which has no Go frame information).
- ``runtime.systemstack`` / ``runtime.morestack`` / ``runtime.mcall`` on a system stack of a thread
  whose M has a ``curg``: that frame ends the system stack's part, as in the runtime's ``runtime
  stack:`` print (they write SP, so the runtime stops there), and unwinding goes on from
  ``curg.sched``, where the switch saved the goroutine (``runtime.systemstack_switch`` for a
  systemstack), as the runtime's print of that goroutine does. So the frames of a ``fatal error``
  thrown on the system stack read: the system stack's, then the goroutine's own.

Every loop is bounded: frame count, stuck frames (sp not growing) and stack switches.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from explorer.binary.pclntab import Func, Pclntab
from explorer.core.arch import AMD64, Arch
from explorer.errors import ExplorerError

MAX_FRAMES = 10_000
MAX_SWITCHES = 8
PTR = 8

SIGTRAMP = {"runtime.sigtramp", "runtime.cgoSigtramp"}
INJECTED = {"runtime.sigpanic", "runtime.asyncPreempt", "runtime.debugCallV2"}


@dataclass(slots=True)
class Frame:
    """One logical frame. Physical frames are split into their inlined calls (``inlined`` True)."""

    index: int
    function: str
    file: str
    line: int
    pc: int
    sp: int
    fp: int
    inlined: bool
    entry: int = 0
    sym_pc: int = 0
    stack: str = "g"  # "g", "g0" or "gsignal": which stack the frame lives on
    regs: dict[str, int] | None = None  # registers known exactly at this frame (innermost ones)
    physical: int = 0  # index of the physical frame
    signal: int | None = None  # on a signal trampoline frame: the signal it delivered

    @property
    def offset(self) -> int:
        return self.pc - self.entry


@dataclass
class Backtrace:
    frames: list[Frame] = field(default_factory=list)
    truncated: bool = False
    error: str | None = None


@dataclass(slots=True)
class StackContext:
    """What the unwinder needs to know of the goroutine and its thread to switch stacks."""

    curg_sched: tuple[int, int, int] | None = None  # (pc, sp, bp) of m.curg, for jumps from g0
    vdso: tuple[int, int] | None = None  # m.vdsoPC, m.vdsoSP while the M is in a vDSO call
    curg_stack: tuple[int, int] | None = None
    g0_stack: tuple[int, int] | None = None
    gsignal_stack: tuple[int, int] | None = None
    curg_lr: int = 0  # m.curg's sched.lr (link-register machines: set by morestack, gostartcall)


# Kinds of functions the stepping rule treats specially, decided once per pc.
K_NORMAL, K_SIGTRAMP, K_INJECTED, K_JUMP, K_SYSTEMSTACK = range(5)
_KIND_BY_NAME = {**{n: K_SIGTRAMP for n in SIGTRAMP}, **{n: K_INJECTED for n in INJECTED},
                 "runtime.morestack": K_JUMP, "runtime.mcall": K_JUMP, "runtime.systemstack": K_SYSTEMSTACK}
# A goroutine's stack is read in one piece up to this size (the used part of a parked goroutine's
# stack is a few KiB); deeper stacks are read frame by frame.
SNAPSHOT_MAX = 64 << 10


class _PcInfo:
    """What the stepping rule needs of one pc (cached: most goroutines park at the same few pcs)."""

    __slots__ = ("delta", "entry", "func", "kind", "name", "spwrite", "topframe")

    def __init__(self, f: Func, delta: int | None) -> None:
        self.func = f
        self.name = f.name
        self.entry = f.entry
        self.delta = delta
        self.topframe = f.is_topframe
        self.spwrite = f.is_spwrite
        self.kind = _KIND_BY_NAME.get(f.name, K_NORMAL)


class Unwinder:
    """Unwinds stacks with per-pc caches (most goroutines park at the same few pcs)."""

    def __init__(self, pcln: Pclntab, read: Callable[[int, int], bytes], gofunc: int,
                 read_u64: Callable[[int], int] | None = None, arch: Arch = AMD64) -> None:
        self.arch = arch
        lo, hi = arch.sigframe.span
        self._sig_lo, self._sig_len = lo, hi - lo
        self.pcln = pcln
        self.read = read
        self._read_u64 = read_u64 or (lambda a: int.from_bytes(read(a, 8), "little"))
        self.gofunc = gofunc
        self.func_at = lru_cache(maxsize=65536)(self._func_at)
        self.sp_delta = lru_cache(maxsize=65536)(self._sp_delta)
        self.logical = lru_cache(maxsize=65536)(self._logical)
        # pc -> _PcInfo (None: no function there). A plain dict, cleared past a bound.
        self._pcinfo: dict[int, _PcInfo | None] = {}

    def _func_at(self, pc: int) -> Func | None:
        return self.pcln.find_func(pc)

    def _sp_delta(self, pc: int) -> int | None:
        f = self.func_at(pc)
        return None if f is None else self.pcln.sp_delta(f, pc)

    def _logical(self, sym_pc: int) -> tuple[tuple[str, str, int, bool], ...]:
        f = self.func_at(sym_pc)
        if f is None:
            return ()
        try:
            inl = self.pcln.inline_frames(f, sym_pc, self.read, self.gofunc)
            return tuple((x.name, x.file, x.line, x.is_inlined) for x in inl)
        except ExplorerError:
            file, line = self.pcln.file_line(f, sym_pc)
            return ((f.name, file, line, False),)

    def _info(self, pc: int) -> _PcInfo | None:
        info = self._pcinfo.get(pc, False)
        if info is False:
            if len(self._pcinfo) > 1 << 18:
                self._pcinfo.clear()
            fn = self.func_at(pc)
            info = self._pcinfo[pc] = None if fn is None else _PcInfo(fn, self.pcln.sp_delta(fn, pc))
        return info  # type: ignore[return-value]

    def unwind(self, pc: int, sp: int, *, ctx: StackContext, trap: bool = True, stack: str = "g",
               regs: dict[str, int] | None = None, max_frames: int = MAX_FRAMES,
               syscall: bool = False, lr: int | None = None) -> Backtrace:
        """Unwind from (pc, sp). ``trap``: pc is the current instruction, not a return address.
        ``lr`` is for link-register machines (:mod:`explorer.goruntime.unwind_lr`); amd64 keeps
        return addresses on the stack."""
        bt = Backtrace()
        frames = bt.frames
        append = frames.append
        logical_of = self.logical
        phys = 0
        switches = 0
        jumped_to_curg = stack == "g"
        innermost = True
        last = (-1, -1)
        # A snapshot of the stack from sp up, so return addresses are sliced from one read.
        snap, snap_lo = b"", 0
        while True:
            if len(frames) >= max_frames:
                bt.truncated = True
                bt.error = f"more than {max_frames} frames"
                return bt
            if pc == 0:
                if frames:  # a zero return address below a frame that is not a top frame
                    bt.truncated, bt.error = True, "the stack ends without reaching its top frame"
                return bt
            info = self._info(pc)
            if info is None:
                bt.truncated = True
                bt.error = f"unknown pc {pc:#x}"
                return bt
            kind = info.kind
            bounds = ctx.curg_stack if stack == "g" else None
            if bounds is not None:
                if not bounds[0] <= sp < bounds[1]:
                    # Every real frame of a goroutine lies within its stack: this one is corrupt.
                    bt.truncated = True
                    bt.error = f"sp {sp:#x} is outside the goroutine's stack [{bounds[0]:#x}, {bounds[1]:#x})"
                    return bt
                if not snap_lo <= sp < snap_lo + len(snap) and bounds[1] - sp <= SNAPSHOT_MAX:
                    got = self._snapshot(sp, bounds[1])
                    snap, snap_lo = got if got is not None else (b"", 0)
            delta = info.delta
            if delta is None or delta < 0 or delta > 1 << 20:
                bt.truncated = True
                bt.error = f"no frame size for {info.name} at pc {pc:#x}"
                return bt
            fp = sp + delta + PTR
            if bounds is not None and fp > bounds[1]:
                bt.truncated = True
                bt.error = f"frame of {info.name} runs past the top of the goroutine's stack"
                return bt
            entry = info.entry
            sym_pc = pc if (trap or pc == entry) else pc - 1
            logical = logical_of(sym_pc)
            if logical:
                for name, file, line, inl in logical:
                    append(Frame(len(frames), name, file, line, pc, sp, fp, inl, entry, sym_pc, stack,
                                 regs if not inl or innermost else None, phys))
            else:
                append(Frame(len(frames), info.name, "?", 0, pc, sp, fp, False, entry, sym_pc, stack, regs, phys))
            phys += 1
            # Signal frame: continue from the interrupted context.
            if kind == K_SIGTRAMP:
                if switches >= MAX_SWITCHES:
                    bt.truncated, bt.error = True, "too many stack switches"
                    return bt
                try:  # fp is where the ucontext starts (just above the return address)
                    new_regs, frames[-1].signal = self._signal_context(fp)
                except ExplorerError as e:
                    bt.truncated, bt.error = True, f"signal context unreadable: {e}"
                    return bt
                pc, sp = self.arch.pc(new_regs), self.arch.sp(new_regs)
                regs, trap = new_regs, True
                if ctx.vdso is not None and self._info(pc) is None:
                    # Interrupted in the vDSO (no Go frames there): the runtime's traceback starts
                    # where the M entered it.
                    pc, sp = ctx.vdso
                    regs, trap = None, False
                stack = _which_stack(sp, ctx, default=stack)
                if stack == "g":
                    jumped_to_curg = True
                innermost = True
                switches += 1
                last = (-1, -1)
                continue
            if stack != "g" and not jumped_to_curg and (kind in (K_JUMP, K_SYSTEMSTACK) or info.topframe):
                # The end of a system stack's frames (these functions write SP: the runtime's own
                # traceback stops at them too); the goroutine the M runs goes on from its sched.
                target = ctx.curg_sched
                if target is None or not target[0] or not target[1]:
                    return bt
                if switches >= MAX_SWITCHES:
                    bt.truncated, bt.error = True, "too many stack switches"
                    return bt
                pc, sp, _bp = target
                stack, jumped_to_curg, trap, innermost, regs = "g", True, False, True, None
                switches += 1
                last = (-1, -1)
                continue
            spwrite = info.spwrite and not (syscall and innermost)
            if info.topframe or (spwrite and not innermost):
                return bt
            off = fp - PTR - snap_lo
            if 0 <= off <= len(snap) - PTR:
                lr = _U64.unpack_from(snap, off)[0]
            else:
                try:
                    lr = self._read_u64(fp - PTR)
                except ExplorerError as e:
                    bt.truncated, bt.error = True, f"return address unreadable: {e}"
                    return bt
            if (pc, sp) == last or fp <= sp:
                bt.truncated, bt.error = True, "unwinding is stuck"
                return bt
            last = (pc, sp)
            trap = kind == K_INJECTED
            innermost = False
            regs = None
            pc, sp = lr, fp

    def _signal_context(self, cfa: int) -> tuple[dict[str, int], int]:
        """The registers the kernel saved in the signal frame above a signal trampoline whose CFA
        (its caller's SP) is ``cfa``, and the signal number (layout: ``arch.sigframe``)."""
        sf = self.arch.sigframe
        raw = self.read(cfa + self._sig_lo, self._sig_len)
        signo = _I32.unpack(self.read(cfa + sf.signo, 4))[0]
        return {k: _U64.unpack_from(raw, o - self._sig_lo)[0] for k, o in sf.regs.items()}, signo

    def _snapshot(self, lo: int, hi: int) -> tuple[bytes, int] | None:
        try:
            return self.read(lo, hi - lo), lo
        except ExplorerError:
            return None


def _which_stack(sp: int, ctx: StackContext, default: str) -> str:
    for name, rng in (("g", ctx.curg_stack), ("g0", ctx.g0_stack), ("gsignal", ctx.gsignal_stack)):
        if rng is not None and rng[0] <= sp < rng[1]:
            return name
    return default


_U64 = struct.Struct("<Q")
_I32 = struct.Struct("<i")
