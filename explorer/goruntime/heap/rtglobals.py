"""Where the runtime's allocator and profiler globals live, with or without symbols.

With symbols or DWARF the address is looked up by name (``runtime.mheap_``, ``runtime.mbuckets``,
...). Stripped binaries (``-ldflags=-s -w``) keep only ``.gopclntab`` (function names and code), so:

- ``runtime.mheap_`` is found by scanning the data sections for its ``allspans`` slice and
  checking what it describes (every sampled span must be a plausible ``mspan``);
- small scalar globals (``runtime.MemProfileRate``, ``runtime.mProfCycle``, ``runtime.mbuckets``)
  are found through the code that uses them: the RIP-relative operands of a few runtime functions
  (amd64), each candidate validated by its value.

Nothing found is ever trusted without validation; a global that cannot be found is None and the
caller says what it cannot show.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import numpy as np

from explorer.errors import ExplorerError

if TYPE_CHECKING:
    from explorer.goruntime.heap.memview import VecMemory
    from explorer.goruntime.process import GoProcess

_DATA_SECTIONS = (".bss", ".noptrbss", ".data", ".noptrdata")


def rip_targets(proc: GoProcess, func_name: str, max_bytes: int = 4096) -> list[tuple[int, int]]:
    """(target address, operand size) of every RIP-relative memory operand of ``func_name`` (amd64),
    in code order; [] when the function or the disassembler is not available."""
    if proc.arch != "amd64":
        return []
    try:
        f = proc.pclntab.func_by_name(func_name)
    except ExplorerError:
        return []
    if f is None:
        return []
    size = max(0, min(f.end - f.entry, max_bytes))
    code = proc.memory.try_read(f.entry, size)
    if not code:
        return []
    try:
        import capstone
    except ImportError:  # pragma: no cover - capstone is a dependency
        return []
    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    md.detail = True
    out: list[tuple[int, int]] = []
    for insn in md.disasm(code, f.entry):
        for op in insn.operands:
            if op.type == capstone.x86.X86_OP_MEM and op.mem.base == capstone.x86.X86_REG_RIP:
                out.append((insn.address + insn.size + op.mem.disp, op.size))
    return out


def by_code(proc: GoProcess, funcs: Iterable[str], validate: Callable[[int], bool],
            sizes: tuple[int, ...] = (1, 2, 4, 8)) -> int | None:
    """The first RIP-relative target of ``funcs`` (in order) whose operand size is one of ``sizes``
    and that ``validate`` accepts."""
    seen: set[int] = set()
    for name in funcs:
        for target, size in rip_targets(proc, name):
            if target in seen or size not in sizes:
                continue
            seen.add(target)
            if validate(target):
                return target
    return None


def data_words(proc: GoProcess) -> list[tuple[int, np.ndarray]]:
    """The words of the executable's data sections as the core holds them: (address, uint64 array)."""
    out: list[tuple[int, np.ndarray]] = []
    for name in _DATA_SECTIONS:
        sec = proc.exe.sections.get(name)
        if sec is None or not sec.size:
            continue
        start = (sec.addr + proc.pie_bias + 7) & ~7
        n = proc.memory.readable_prefix(start, sec.size - (start - sec.addr - proc.pie_bias))
        if n < 8:
            continue
        raw = proc.memory.read(start, n - n % 8)
        out.append((start, np.frombuffer(raw, dtype=np.uint64)))
    return out


def find_slice_candidates(proc: GoProcess, max_len: int = 1 << 30) -> list[int]:
    """Addresses of words in the data sections that look like a slice header {ptr, len, cap} with a
    non-nil, aligned ptr and 0 < len <= cap <= max_len."""
    out: list[int] = []
    for start, w in data_words(proc):
        if len(w) < 3:
            continue
        p, ln, cap = w[:-2], w[1:-1], w[2:]
        ok = (p != 0) & ((p & np.uint64(7)) == 0) & (ln > 0) & (ln <= cap) & (cap <= np.uint64(max_len))
        out.extend(int(start + 8 * i) for i in np.nonzero(ok)[0])
    return out


def find_pointer_to(proc: GoProcess, vm: VecMemory, validate: Callable[[int], bool],
                    prefilter: Callable[[np.ndarray], np.ndarray] | None = None) -> int | None:
    """The address of the first data word whose value ``validate`` accepts (after an optional
    vectorised ``prefilter`` of the values)."""
    for start, w in data_words(proc):
        ok = (w != 0) & ((w & np.uint64(7)) == 0)
        if prefilter is not None:
            ok &= prefilter(w)
        for i in np.nonzero(ok)[0]:
            if validate(int(w[i])):
                return int(start + 8 * i)
    return None
