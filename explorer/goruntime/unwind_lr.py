"""Backtraces on link-register machines (arm64), from ``.gopclntab`` alone (Go 1.21–1.27).

The stepping rule is the Go runtime's own unwinder with ``usesLR`` (``runtime/traceback.go``:
``unwinder.initAt``, ``resolveInternal``, ``next``), which differs from amd64's
(:mod:`explorer.goruntime.unwind`) in where a frame keeps its return address:

- a call leaves the return address in LR (x30); a function with a frame saves it at the bottom of
  its frame (``*sp``) in its prologue (``MOVD.W R30, -size(RSP)``), and keeps the caller's frame
  pointer just below (``sp - 8``). The frame size comes from ``pcsp``, and the caller's SP is
  ``sp + size`` with no extra word: a frame's ``fp`` (what the runtime prints, and DWARF's CFA) is
  ``sp + pcsp(pc)``;
- so the return address is ``*sp``, except where the frame holds none: at a function's entry or in
  a frameless leaf (``pcsp == 0``) it is still in LR, which only the innermost frame of a thread, a
  frame interrupted by a signal, or a goroutine's saved ``sched.lr`` (a goroutine that never ran, or
  stopped by ``morestack`` in a prologue) can tell. The runtime: "if innermost && sp < fp || lr == 0
  { lr = *sp }";
- an injected call (``sigpanic``, ``asyncPreempt``, ``debugCallV2``) was faked by the signal handler
  pushing LR in a 16-byte slot (``alignUp(MinFrameSize, StackAlign)``) and setting LR to the
  interrupted pc: the interrupted frame starts 16 bytes above the injected frame's ``fp``, and if it
  is frameless at that pc, its return address is the pushed LR;
- the pc quantum is 4: pc deltas in the pcvalue tables are multiples of it (the pclntab header's
  minLC); a caller frame's line is still looked up at ``pc - 1``.

Signal frames (``runtime.sigtramp``, TOPFRAME): the kernel's ``rt_sigframe`` begins at the SP the
handler was entered with, which is sigtramp's ``fp``; the interrupted registers are read from there
as :attr:`explorer.core.arch.Arch.sigframe` says (arm64: ``uc_mcontext`` at +304, x0 at +312, sp
+560, pc +568) and unwinding goes on from them, LR included (from ``m.vdsoPC/vdsoSP``, with no LR,
when the signal hit the vDSO, which has no Go frame information).

System stacks (g0 or gsignal of a thread whose M runs a goroutine): ``runtime.morestack``,
``runtime.mcall``, ``runtime.systemstack`` past its prologue (``pcsp != 0``: in its prologue or
epilogue it has not switched, and unwinds as any frame, as the runtime's ``unwindJumpStack`` does
on LR machines) and the bottom of g0 (``runtime.mstart``) end the system stack's frames, as in
the runtime's ``runtime stack:`` print, and unwinding goes on from ``curg.sched`` (pc, sp and lr)
as the runtime's print of the goroutine does: ``runtime.systemstack_switch`` (8 bytes past its
entry, which gosave_systemstack_switch stores, with systemstack's own frame as its frame) for a
systemstack, the function stopped in its prologue (its LR in ``sched.lr``) for a morestack.

Every loop is bounded: frame count, stuck frames (pc and sp not moving) and stack switches.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from explorer.binary.pclntab import Pclntab
from explorer.core.arch import ARM64, Arch
from explorer.errors import ExplorerError
from explorer.goruntime.unwind import (
    K_INJECTED,
    K_JUMP,
    K_SIGTRAMP,
    K_SYSTEMSTACK,
    MAX_FRAMES,
    MAX_SWITCHES,
    SNAPSHOT_MAX,
    Backtrace,
    Frame,
    StackContext,
    Unwinder,
    _which_stack,
)

_U64 = struct.Struct("<Q")


class LRUnwinder(Unwinder):
    """The unwinder of a link-register architecture (arm64); shares the per-pc caches of
    :class:`Unwinder`."""

    def __init__(self, pcln: Pclntab, read: Callable[[int, int], bytes], gofunc: int,
                 read_u64: Callable[[int], int] | None = None, arch: Arch = ARM64) -> None:
        super().__init__(pcln, read, gofunc, read_u64, arch)
        if not arch.uses_lr or arch.lr_reg is None:
            raise ValueError(f"{arch.name} does not use a link register")
        self.lr_reg: str = arch.lr_reg
        # The slot a signal handler pushes LR into when it fakes a call (runtime: alignUp(
        # sys.MinFrameSize, sys.StackAlign)).
        self.injected_slot = -(-arch.min_frame_size // arch.stack_align) * arch.stack_align

    def unwind(self, pc: int, sp: int, *, ctx: StackContext, trap: bool = True, stack: str = "g",
               regs: dict[str, int] | None = None, max_frames: int = MAX_FRAMES,
               syscall: bool = False, lr: int | None = None) -> Backtrace:
        """Unwind from (pc, sp). ``trap``: pc is the current instruction, not a return address.
        ``lr``: the link register's value (0: unknown, as for a goroutine stopped at a call); taken
        from ``regs`` when not given."""
        bt = Backtrace()
        frames = bt.frames
        append = frames.append
        logical_of = self.logical
        if lr is None:
            lr = regs.get(self.lr_reg, 0) if regs else 0
        phys = 0
        switches = 0
        jumped_to_curg = stack == "g"
        innermost = True
        last = (-1, -1)
        snap, snap_lo = b"", 0
        while True:
            if len(frames) >= max_frames:
                bt.truncated = True
                bt.error = f"more than {max_frames} frames"
                return bt
            if pc == 0 and innermost and lr:
                # A call through a nil func value: the caller's return address is still in LR.
                pc, lr, trap = lr, 0, False
            if pc == 0:
                if frames:
                    bt.truncated, bt.error = True, "the stack ends without reaching its top frame"
                return bt
            info = self._info(pc)
            if info is None:
                bt.truncated = True
                bt.error = f"unknown pc {pc:#x}"
                return bt
            kind = info.kind
            delta = info.delta
            bounds = ctx.curg_stack if stack == "g" else None
            if bounds is not None:
                if not bounds[0] <= sp < bounds[1]:
                    bt.truncated = True
                    bt.error = f"sp {sp:#x} is outside the goroutine's stack [{bounds[0]:#x}, {bounds[1]:#x})"
                    return bt
                if not snap_lo <= sp < snap_lo + len(snap) and bounds[1] - sp <= SNAPSHOT_MAX:
                    got = self._snapshot(sp, bounds[1])
                    snap, snap_lo = got if got is not None else (b"", 0)
            if delta is None or delta < 0 or delta > 1 << 20:
                bt.truncated = True
                bt.error = f"no frame size for {info.name} at pc {pc:#x}"
                return bt
            fp = sp + delta
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
            if kind == K_SIGTRAMP:
                if switches >= MAX_SWITCHES:
                    bt.truncated, bt.error = True, "too many stack switches"
                    return bt
                try:
                    new_regs, frames[-1].signal = self._signal_context(fp)
                except ExplorerError as e:
                    bt.truncated, bt.error = True, f"signal context unreadable: {e}"
                    return bt
                pc, sp, lr = self.arch.pc(new_regs), self.arch.sp(new_regs), new_regs.get(self.lr_reg, 0)
                regs, trap = new_regs, True
                if ctx.vdso is not None and self._info(pc) is None:
                    # Interrupted in the vDSO (no Go frames there): the runtime's traceback starts
                    # where the M entered it, with no LR (initAt's lr0 = 0).
                    pc, sp = ctx.vdso
                    lr, regs, trap = 0, None, False
                stack = _which_stack(sp, ctx, default=stack)
                if stack == "g":
                    jumped_to_curg = True
                innermost = True
                switches += 1
                last = (-1, -1)
                continue
            if stack != "g" and not jumped_to_curg and (
                    kind == K_JUMP or (kind == K_SYSTEMSTACK and delta) or info.topframe):
                # The end of a system stack's frames (morestack, mcall and systemstack past its
                # prologue write SP; the runtime's own "runtime stack:" print stops at them too);
                # the goroutine the M runs goes on from its sched: systemstack_switch for a
                # systemstack, the function in its prologue (and its LR in sched.lr) for morestack.
                target = ctx.curg_sched
                if target is None or not target[0] or not target[1]:
                    return bt
                if switches >= MAX_SWITCHES:
                    bt.truncated, bt.error = True, "too many stack switches"
                    return bt
                pc, sp, _bp = target
                lr = ctx.curg_lr
                stack, jumped_to_curg, trap, innermost, regs = "g", True, False, True, None
                switches += 1
                last = (-1, -1)
                continue
            spwrite = info.spwrite and not (syscall and innermost)
            if info.topframe or (spwrite and not innermost):
                return bt
            if (innermost and sp < fp) or lr == 0:
                off = sp - snap_lo
                if 0 <= off <= len(snap) - 8:
                    lr = _U64.unpack_from(snap, off)[0]
                else:
                    try:
                        lr = self._read_u64(sp)
                    except ExplorerError as e:
                        bt.truncated, bt.error = True, f"return address unreadable: {e}"
                        return bt
            if (pc, sp) == last or (lr == pc and fp == sp):
                bt.truncated, bt.error = True, "unwinding is stuck"
                return bt
            last = (pc, sp)
            injected = kind == K_INJECTED
            pc, sp, lr = lr, fp, 0
            trap, innermost, regs = injected, False, None
            if injected:
                # The signal handler pushed LR below the interrupted frame to fake this call.
                try:
                    pushed = self._read_u64(sp)
                except ExplorerError as e:
                    bt.truncated, bt.error = True, f"return address unreadable: {e}"
                    return bt
                sp += self.injected_slot
                caller = self._info(pc)
                if caller is None:
                    # Faulted at a bad pc (a call through a nil func value): the frame is the
                    # caller's, at the pushed LR (the runtime still looks its line up there).
                    pc = pushed
                elif caller.delta == 0:
                    lr = pushed
