"""Text of the machine-level commands (``regs``, ``threads``, ``thread N``, ``list``,
``disassemble``) and of a numbered backtrace: plain lines, shared by the command line and the TUI's
popups. Every string from the core or the executable passes :func:`explorer.render.text.safe`
here, so the lines may be printed as they are.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from explorer.core.elfcore import SIGNAL_NAMES
from explorer.errors import ExplorerError
from explorer.render.text import safe

if TYPE_CHECKING:
    from explorer.binary.pclntab import Pclntab
    from explorer.core.arch import Arch
    from explorer.goruntime.machine import ThreadView
    from explorer.goruntime.unwind import Frame
    from explorer.render.disasm import DisasmLine
    from explorer.render.source import SourceFile

#: delve's marker of the current line, frame or instruction.
MARK = "=>"
#: Lines ``list`` shows on each side of the line (delve's default).
LIST_CONTEXT = 5


def signal_name(signo: int | None) -> str:
    """``SIGSEGV`` for 11; ``-`` for no signal, ``signal N`` for one without a name."""
    if signo is None:
        return "-"
    return SIGNAL_NAMES.get(signo, f"signal {signo}")


def describe_pc(pcln: Pclntab, pc: int) -> str | None:
    """``function+0xoff file:line`` of ``pc``: what ``regs`` and ``threads`` say after a code
    address. None outside every function, or where the tables (a damaged core's) cannot tell."""
    try:
        f = pcln.find_func(pc)
        if f is None:
            return None
        file, line = pcln.file_line(f, pc)
    except ExplorerError:
        return None
    return f"{f.name}+{pc - f.entry:#x} {os.path.basename(file)}:{line}"


def code_registers(arch: Arch) -> tuple[str, ...]:
    """The registers that hold code addresses (pc, and the link register where there is one): the
    ones :func:`register_lines` describes."""
    return (arch.pc_reg,) + ((arch.lr_reg,) if arch.lr_reg else ())


def _width(name: str, value: int) -> int:
    """Hex digits a register is shown with: 16 for 64-bit ones, more for x87 (20) and vector (32)
    registers, whatever the value."""
    if name.startswith("st") and name[2:].isdigit():
        return 20
    if (name.startswith("xmm") and name[3:].isdigit()) or (name.startswith("v") and name[1:].isdigit()):
        return 32
    return max(16, (value.bit_length() + 3) // 4)


def register_lines(regs: dict[str, int], describe: Callable[[int], str | None] | None = None,
                   code_regs: Iterable[str] = ()) -> list[str]:
    """``   rax = 0x0000000000000000`` per register, in the order given; the registers named in
    ``code_regs`` (pc, lr) followed by what ``describe`` says of the address (``runtime.raise+0x21``)."""
    if not regs:
        return ["(no registers known at this frame)"]
    pad = max(len(n) for n in regs)
    code = set(code_regs)
    out = []
    for name, value in regs.items():
        line = f"{name:>{pad + 3}} = {value:#0{_width(name, value) + 2}x}"
        if name in code and describe is not None:
            what = describe(value)
            if what:
                line += f"  {safe(what)}"
        out.append(line)
    return out


def frame_lines(frames: Sequence[Frame], selected: int | None = None, *, with_pc: bool = True) -> list[str]:
    """A numbered backtrace in the Go runtime's words (``func(...)`` then ``\\tfile:line +off``),
    ``=>`` before the selected frame; a signal trampoline says which signal it delivered."""
    out = []
    digits = len(str(max(len(frames) - 1, 0)))
    for f in frames:
        mark = MARK if f.index == selected else ""
        name = "panic" if f.function == "runtime.gopanic" else safe(f.function)
        sig = f"  [signal {signal_name(f.signal)}]" if f.signal is not None else ""
        out.append(f"{mark:<2} {f.index:>{digits}}  {name}({'...' if f.inlined else ''}){sig}")
        loc = f"\t{safe(f.file)}:{f.line}"
        if not f.inlined:
            loc += f" +{f.offset:#x}"
            if with_pc:
                loc += f" fp={f.fp:#x} sp={f.sp:#x} pc={f.pc:#x}"
        out.append(loc)
    return out


def thread_lines(views: Sequence[ThreadView], describe: Callable[[int], str | None] | None = None) -> list[str]:
    """``threads``: one row per LWP (``*`` the crashing one): its pc and sp, the goroutine its M
    runs, the signal whose handler it runs, and where its pc is."""
    out = [f"  {'LWP':<9} {'PC':<18} {'SP':<18} {'GOROUTINE':<10} {'SIGNAL':<8} WHERE"]
    for tv in views:
        where = describe(tv.pc) if describe is not None else tv.function
        out.append(f"{'*' if tv.crashed else ' '} {tv.lwp:<9} {tv.pc:#018x} {tv.sp:#018x} "
                   f"{'-' if tv.goroutine is None else tv.goroutine:<10} {signal_name(tv.signal):<8} "
                   f"{safe(where or '?')}")
    return out


def source_lines(src: SourceFile, line: int, *, current: int | None = None,
                 context: int = LIST_CONTEXT) -> tuple[int, int, list[str]]:
    """``list``: lines ``line - context`` .. ``line + context`` of ``src`` (clamped to the file),
    numbered, ``=>`` before ``current``. Returns (first, last, lines)."""
    n = len(src.lines)
    first = max(1, line - context)
    last = min(n, line + context)
    digits = len(str(last))
    out = []
    for i in range(first, last + 1):
        mark = MARK if i == current else ""
        out.append(f"{mark:<2} {i:>{digits}}:\t{safe(src.lines[i - 1].expandtabs(4))}")
    return first, last, out


def instruction_line(ln: DisasmLine, *, current: bool = False) -> str:
    """One instruction as ``disassemble`` prints it: ``=>\\tfile.go:12\\t0x4a0d64\\t4889e5\\tmov rbp,
    rsp`` (call and jump targets named)."""
    ops = ln.operands
    if ln.target_name:
        ops += f"  ; {ln.target_name}"
    return (f"{MARK if current else '':<2}\t{safe(os.path.basename(ln.file))}:{ln.line}\t{ln.address:#x}\t"
            f"{ln.raw.hex()}\t{ln.mnemonic} {safe(ops)}".rstrip())


def disassembly_lines(parts: Sequence[tuple[str, str, Sequence[DisasmLine]]], current: int | None = None) -> list[str]:
    """``disassemble``: per function ``TEXT name(SB) file`` (as ``go tool objdump`` heads it), then
    its instructions, ``=>`` at the one holding ``current``."""
    out = []
    for name, file, lines in parts:
        out.append(f"TEXT {safe(name)}(SB) {safe(file)}")
        for ln in lines:
            here = current is not None and ln.address <= current < ln.address + ln.size
            out.append(instruction_line(ln, current=here))
    return out
