"""Disassembly of one function with capstone: Intel syntax (amd64) or ARM64, call targets named.

Code bytes come from the process's address space (the executable's text, under the core), so the
listing is what the process ran. Direct calls and jumps are resolved through ``.gopclntab``
(``call main.processOrder``), RIP-relative operands through the symbol table where there is one
(``lea rax, [rip + 0x1234]  ; runtime.types+0x80``); each instruction carries its source line.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from rich.text import Text

from explorer.errors import ExplorerError

if TYPE_CHECKING:
    from explorer.binary.pclntab import Func, Pclntab

#: Functions bigger than this are disassembled only up to it.
MAX_FUNC_BYTES = 1 << 20

_IMM = re.compile(r"^#?(0x[0-9a-f]+)$")
_RIP = re.compile(r"\[rip ([+-]) (0x[0-9a-f]+)\]")
_BRANCH_X86 = ("call", "jmp", "ja", "jae", "jb", "jbe", "je", "jne", "jg", "jge", "jl", "jle", "jo", "jno",
               "js", "jns", "jp", "jnp", "jrcxz", "jecxz", "loop")
_BRANCH_ARM = ("bl", "b", "cbz", "cbnz", "tbz", "tbnz", "adr", "adrp")


@dataclass(frozen=True, slots=True)
class DisasmLine:
    """One instruction."""

    address: int
    size: int
    raw: bytes
    mnemonic: str
    operands: str
    target: int | None  # branch or call target, or RIP-relative address
    target_name: str | None  # "main.processOrder", "<+0x1a>", "runtime.types+0x80"
    file: str
    line: int

    @property
    def is_call(self) -> bool:
        return self.mnemonic in ("call", "bl", "blr")


@dataclass
class Listing:
    """A function's instructions; ``error`` says why it stopped early (unreadable bytes...)."""

    function: str
    entry: int
    end: int
    lines: list[DisasmLine]
    error: str | None = None

    def index_of(self, pc: int) -> int | None:
        """Index of the instruction that contains ``pc``."""
        addrs = [ln.address for ln in self.lines]
        i = bisect.bisect_right(addrs, pc) - 1
        if i >= 0 and pc < self.lines[i].address + self.lines[i].size:
            return i
        return None


@lru_cache(maxsize=4)
def _capstone(arch: str) -> Any:
    import capstone

    if arch == "amd64":
        return capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    if arch == "arm64":
        return capstone.Cs(capstone.CS_ARCH_ARM64, capstone.CS_MODE_ARM)
    raise ExplorerError(f"no disassembler for {arch}")


class SymbolIndex:
    """Address → name for data symbols (sorted table with bisect); empty for stripped binaries."""

    def __init__(self, symbols: dict[str, tuple[int, int]], bias: int = 0) -> None:
        rows = sorted((addr + bias, size, name) for name, (addr, size) in symbols.items() if addr and size)
        self._addrs = [r[0] for r in rows]
        self._rows = rows

    def name(self, addr: int) -> str | None:
        i = bisect.bisect_right(self._addrs, addr) - 1
        if i < 0:
            return None
        start, size, name = self._rows[i]
        if addr >= start + size:
            return None
        return name if addr == start else f"{name}+{addr - start:#x}"


def disassemble(read: Callable[[int, int], bytes], pcln: Pclntab, func: Func, arch: str,
                symbols: SymbolIndex | None = None) -> Listing:
    """Disassemble ``func`` (a pclntab Func) with code read by ``read(addr, size)``."""
    size = min(func.end - func.entry, MAX_FUNC_BYTES)
    error = None
    if func.end - func.entry > MAX_FUNC_BYTES:
        error = f"function is {func.end - func.entry} bytes: showing the first {MAX_FUNC_BYTES}"
    try:
        code = read(func.entry, size)
    except ExplorerError as e:
        return Listing(func.name, func.entry, func.end, [], f"code unreadable: {e}")
    lines_table = _line_table(pcln, func)
    cs = _capstone(arch)
    out: list[DisasmLine] = []
    end = func.entry
    for addr, n, mnem, ops in cs.disasm_lite(code, func.entry):
        end = addr + n
        target, tname = _target(mnem, ops, addr + n, func, pcln, symbols, arch)
        file, line = _lookup_line(lines_table, addr)
        out.append(DisasmLine(addr, n, bytes(code[addr - func.entry : addr - func.entry + n]), mnem, ops,
                              target, tname, file, line))
    if end < func.entry + size and error is None:
        error = f"cannot decode the instruction at {end:#x}"
    # The alignment padding up to the next function (int3 on amd64, zero words on arm64) has no
    # line: it is not the function's code (go tool objdump stops before it too).
    while out and out[-1].line == 0 and (out[-1].mnemonic == "int3" or not any(out[-1].raw)):
        out.pop()
    return Listing(func.name, func.entry, func.end, out, error)


def _line_table(pcln: Pclntab, func: Func) -> list[tuple[int, int, str, int]]:
    """(start, end, file, line) runs of the function's pc → file:line tables.

    The line and the file tables change at different pcs: one line number can run on across a
    change of file (line 49 of the function, then line 49 of an inlined callee's file), so the rows
    are cut wherever either table changes.
    """
    try:
        lines = pcln.pc_ranges(func, func.pcln)
        files = pcln.pc_ranges(func, func.pcfile)
    except ExplorerError:
        return []
    names: dict[int, str] = {}

    def file_name(fno: int) -> str:
        if fno not in names:
            try:
                names[fno] = pcln.file_name(func, fno) if fno >= 0 else "?"
            except ExplorerError:
                names[fno] = "?"
        return names[fno]

    out = []
    j = 0
    for start, end, line in lines:
        pos = start
        while pos < end:
            while j < len(files) and files[j][1] <= pos:
                j += 1
            if j < len(files) and files[j][0] <= pos:
                stop, fno = min(end, files[j][1]), files[j][2]
            else:  # no file run here
                stop, fno = (min(end, files[j][0]) if j < len(files) else end), -1
            out.append((pos, stop, file_name(fno), line))
            pos = stop
    return out


def _lookup_line(table: Sequence[tuple[int, int, str, int]], pc: int) -> tuple[str, int]:
    lo, hi = 0, len(table)
    while lo < hi:
        mid = (lo + hi) // 2
        s, e, f, ln = table[mid]
        if pc < s:
            hi = mid
        elif pc >= e:
            lo = mid + 1
        else:
            return f, ln
    return "?", 0


def _target(mnem: str, ops: str, next_pc: int, func: Func, pcln: Pclntab, symbols: SymbolIndex | None,
            arch: str) -> tuple[int | None, str | None]:
    branches = _BRANCH_X86 if arch == "amd64" else _BRANCH_ARM
    if mnem in branches or (arch == "arm64" and mnem.startswith("b.")):
        m = _IMM.match(ops.split(",")[-1].strip())
        if m:
            t = int(m.group(1), 16)
            return t, _name_pc(t, func, pcln, symbols)
        return None, None
    if arch == "amd64":
        m = _RIP.search(ops)
        if m:
            off = int(m.group(2), 16)
            t = next_pc + off if m.group(1) == "+" else next_pc - off
            return t, _name_pc(t, func, pcln, symbols)
    return None, None


def _name_pc(t: int, func: Func, pcln: Pclntab, symbols: SymbolIndex | None) -> str | None:
    if func.entry <= t < func.end:
        return f"<+{t - func.entry:#x}>"
    f = pcln.find_func(t)
    if f is not None:
        return f.name if t == f.entry else f"{f.name}+{t - f.entry:#x}"
    if symbols is not None:
        return symbols.name(t)
    return None


def render_line(ln: DisasmLine, entry: int, *, current: bool = False, show_bytes: bool = False,
                offset_digits: int = 4) -> Text:
    """``▶ 0x7b2a4f +0x08f call   main.processOrder``"""
    t = Text(no_wrap=True, end="")
    t.append("▶ " if current else "  ", style="bold red" if current else "")
    t.append(f"{ln.address:#x}", style="cyan")
    t.append(f" +{ln.address - entry:0{offset_digits}x} ", style="dim")
    if show_bytes:
        t.append(f"{ln.raw.hex(' '):<30} ", style="dim")
    t.append(f"{ln.mnemonic:<7}", style="bold" if ln.is_call else "yellow" if ln.target_name else "")
    if ln.is_call and ln.target_name and _IMM.match(ln.operands.strip()):
        t.append(" " + ln.target_name, style="bold green")
    else:
        t.append(" " + ln.operands)
        if ln.target_name:
            t.append(f"  ; {ln.target_name}", style="green")
    return t


#: ``disassemble -a START END`` covers at most this many bytes.
MAX_RANGE_BYTES = 1 << 20


def disassemble_range(read: Callable[[int, int], bytes], pcln: Pclntab, start: int, end: int, arch: str,
                      symbols: SymbolIndex | None = None,
                      listing_of: Callable[[Func], Listing] | None = None) -> list[tuple[Func, Listing]]:
    """The instructions in [start, end), per function: each function the range touches is
    disassembled from its entry (so instruction boundaries are the code's, wherever ``start``
    falls) and cut to the range. Bytes outside every function (alignment padding) are left out.
    ``listing_of`` may supply cached listings."""
    if end <= start:
        raise ExplorerError(f"disassemble -a: the end {end:#x} is not after the start {start:#x}")
    if end - start > MAX_RANGE_BYTES:
        raise ExplorerError(f"disassemble -a: {end - start} bytes; at most {MAX_RANGE_BYTES} at once")
    out: list[tuple[Func, Listing]] = []
    pc = start
    while pc < end:
        f = pcln.find_func(pc)
        if f is None:
            nxt = _next_func_entry(pcln, pc, end)
            if nxt is None:
                break
            pc = nxt
            continue
        whole = listing_of(f) if listing_of is not None else disassemble(read, pcln, f, arch, symbols)
        lines = [ln for ln in whole.lines if ln.address + ln.size > start and ln.address < end]
        out.append((f, Listing(whole.function, whole.entry, whole.end, lines, whole.error)))
        pc = f.end
    if not out:
        raise ExplorerError(f"no function's code in [{start:#x}, {end:#x})")
    return out


def _next_func_entry(pcln: Pclntab, pc: int, end: int) -> int | None:
    """The entry of the first function after ``pc`` and before ``end`` (None when there is none)."""
    if pc < pcln.min_pc:
        return pcln.min_pc if pcln.min_pc < end else None
    return None
