"""The machine's view: a frame's registers as unwound, and every thread of the core with its own
stack (delve's ``regs``, ``threads`` and ``thread N``).

Registers of a frame:

- where the unwinder knows them exactly: the innermost frame of a thread (its NT_PRSTATUS
  registers: for the crashing goroutine's frame 0, the thread's), and the frame a signal
  interrupted (the registers the kernel saved in the signal frame); with ``-a`` the thread's
  segment registers and, for the thread's own innermost frame, its floating-point and vector
  registers (NT_FPREGSET, where the core has it);
- elsewhere only what unwinding gives (Go has no callee-saved registers): the pc and the stack
  pointer, the frame pointer the function's prologue set (amd64 ``rbp = CFA - 16``: the slot
  holding the caller's ``rbp``, the return address above it; arm64 ``x29 = sp - 8``) when the
  function has a frame, and on arm64 the link register: the frame's return address (its caller's
  pc).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from explorer.errors import ExplorerError
from explorer.goruntime.unwind import Backtrace, Frame

if TYPE_CHECKING:
    from explorer.goruntime.process import GoProcess, ThreadInfo


def _ordered(regs: dict[str, int], names: tuple[str, ...], extra: bool) -> dict[str, int]:
    out = {n: regs[n] for n in names if n in regs}
    if extra:
        out.update((n, v) for n, v in regs.items() if n not in out)
    return out


def thread_of_registers(proc: GoProcess, regs: dict[str, int] | None) -> ThreadInfo | None:
    """The thread whose NT_PRSTATUS registers ``regs`` are (None for a signal context's)."""
    if not regs:
        return None
    return next((t for t in proc.thread_infos if t.regs == regs), None)


def frame_registers(proc: GoProcess, frames: list[Frame], index: int, *, extra: bool = False) -> dict[str, int]:
    """The registers of ``frames[index]`` as unwound (see the module docstring), by name, in the
    order ``regs`` prints them. ``extra`` (``regs -a``): every register the core holds there."""
    if not 0 <= index < len(frames):
        raise ExplorerError(f"no frame {index}: frames 0..{len(frames) - 1}")
    arch = proc.core.arch_desc
    f = frames[index]
    if f.regs:
        out = _ordered(f.regs, arch.general_regs, extra)
        if extra:
            ti = thread_of_registers(proc, f.regs)
            raw = proc.core.notes.fpregs.get(ti.index) if ti is not None else None
            if raw is not None:
                out.update(arch.decode_fpregs(raw))
        return out
    out = {arch.pc_reg: f.pc, arch.sp_reg: f.sp}
    fp = _frame_pointer(frames, index, arch.uses_lr, arch.ptr_size)
    if fp is not None:
        out[arch.fp_reg] = fp
    if arch.uses_lr and arch.lr_reg is not None:
        caller = next((x for x in frames[index + 1:] if x.physical != f.physical), None)
        if caller is not None and caller.stack == f.stack:
            out[arch.lr_reg] = caller.pc
    return _ordered(out, arch.general_regs, False)


def _frame_pointer(frames: list[Frame], index: int, uses_lr: bool, ptr: int) -> int | None:
    """The frame pointer register at an outer frame: what the prologue of the first function with
    a frame, from this one outwards on the same stack, set it to (a frameless function leaves its
    caller's); None when none has a frame."""
    f = frames[index]
    for x in frames[index:]:
        if x.stack != f.stack or (x.regs and x is not f):
            return None
        if uses_lr:
            if x.fp > x.sp:
                return x.sp - ptr
        elif x.fp > x.sp + ptr:
            return x.fp - 2 * ptr
    return None


@dataclass
class ThreadView:
    """A thread of the core (an LWP) as ``threads`` lists it."""

    lwp: int
    index: int
    """Its position among the core's NT_PRSTATUS notes (the kernel writes the dumping thread first)."""
    goroutine: int | None
    """The goroutine its M runs (``m.curg``), or None."""
    pc: int
    sp: int
    function: str | None
    signal: int | None
    """The signal whose handler the thread runs (its innermost signal frame's); for the crashing
    thread without one, the fatal signal (``pr_cursig``); else None."""
    crashed: bool
    """The thread that received the fatal signal."""
    on: str
    """Which stack its registers are on: ``g``, ``g0``, ``gsignal`` or ``?``."""
    info: ThreadInfo
    backtrace: Backtrace


def _view(proc: GoProcess, ti: ThreadInfo) -> ThreadView:
    arch = proc.core.arch_desc
    bt = proc.thread_backtrace(ti)
    pc, sp = arch.pc(ti.regs), arch.sp(ti.regs)
    try:
        fn = proc.pclntab.find_func(pc)
    except ExplorerError:
        fn = None
    crashed = proc.crashed_thread is not None and proc.crashed_thread.tid == ti.tid
    # Kernels write the fatal signal as every thread's pr_cursig: the thread's own is the handler
    # it runs. Only the crashing thread may have got its signal without a Go handler running.
    signal = next((f.signal for f in bt.frames if f.signal is not None), None)
    if signal is None and crashed:
        signal = proc.core.threads[ti.index].signal or None
    g = proc.goroutine_at(ti.curg) if ti.curg else None
    # The stack the registers are on, by where sp is (as the backtrace's innermost frame says): the
    # TLS g can still name curg while a signal handler runs on gsignal's stack.
    on = bt.frames[0].stack if bt.frames and bt.frames[0].stack else ti.on
    return ThreadView(ti.tid, ti.index, g.id if g is not None else None, pc, sp, fn.name if fn else None, signal,
                      crashed, on, ti, bt)


def thread_views(proc: GoProcess) -> list[ThreadView]:
    """Every thread of the core, in the core's order."""
    return [_view(proc, ti) for ti in proc.thread_infos]


def thread_view(proc: GoProcess, lwp: int) -> ThreadView:
    """Thread ``lwp`` (its id, as ``threads`` lists it)."""
    for ti in proc.thread_infos:
        if ti.tid == lwp:
            return _view(proc, ti)
    ids = ", ".join(str(t.tid) for t in proc.thread_infos)
    raise ExplorerError(f"no thread {lwp} (the core's threads: {ids})")


def thread_frame_dict(proc: GoProcess, frames: list[Frame], i: int) -> dict[str, Any]:
    """A thread's frame as ``thread --json`` gives it: ``bt``'s frame, plus ``signal`` (the signal a
    ``runtime.sigtramp`` frame delivered, else null) and, on the frames whose registers are known
    exactly (the innermost, the one a signal interrupted), ``registers``."""
    from explorer.goruntime.model import frame_dict

    f = frames[i]
    d = frame_dict(f)
    d["signal"] = f.signal
    first_of_physical = i == 0 or frames[i - 1].physical != f.physical
    if f.regs and first_of_physical:
        d["registers"] = frame_registers(proc, frames, i)
    return d


def thread_dict(proc: GoProcess, tv: ThreadView, *, frames: bool = True) -> dict[str, Any]:
    """``threads --json``'s entry (``thread --json`` adds ``registers``)."""
    out: dict[str, Any] = {"lwp": tv.lwp, "index": tv.index, "goroutine": tv.goroutine, "pc": tv.pc, "sp": tv.sp,
                           "function": tv.function, "signal": tv.signal, "crashed": tv.crashed, "stack": tv.on}
    if frames:
        fs = tv.backtrace.frames
        out["frames"] = [thread_frame_dict(proc, fs, i) for i in range(len(fs))]
        out["backtrace_error"] = tv.backtrace.error
    return out
