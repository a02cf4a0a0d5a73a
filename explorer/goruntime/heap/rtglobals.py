"""Where the runtime's allocator and profiler globals live, with or without symbols.

With symbols or DWARF the address is looked up by name (``runtime.mheap_``, ``runtime.mbuckets``,
...). Stripped binaries (``-ldflags=-s -w``) keep only ``.gopclntab`` (function names and code), so:

- ``runtime.mheap_`` is found by scanning the data sections for its ``allspans`` slice and
  checking what it describes (every sampled span must be a plausible ``mspan``);
- small scalar globals (``runtime.MemProfileRate``, ``runtime.mProfCycle``, ``runtime.mbuckets``)
  are found through the code that uses them: the data addresses a few runtime functions load or
  store (amd64: RIP-relative operands; arm64: an ``ADRP`` page plus the offset of the ``LDR``/``STR``
  or ``ADD`` the linker pairs with it), each candidate validated by its value.

Nothing found is ever trusted without validation; a global that cannot be found is None and the
caller says what it cannot show.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from explorer.errors import ExplorerError

if TYPE_CHECKING:
    from explorer.goruntime.heap.memview import VecMemory
    from explorer.goruntime.process import GoProcess

_DATA_SECTIONS = (".bss", ".noptrbss", ".data", ".noptrdata")


def code_targets(proc: GoProcess, func_name: str, max_bytes: int = 4096) -> list[tuple[int, int]]:
    """(target address, access size) of every static data address ``func_name`` reads or writes, in
    code order: amd64's RIP-relative memory operands, arm64's ``ADRP``-based addresses; [] when the
    function, its architecture or the disassembler is not available."""
    if proc.arch not in ("amd64", "arm64"):
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
    if proc.arch == "arm64":
        md = capstone.Cs(capstone.CS_ARCH_ARM64, capstone.CS_MODE_ARM)
        md.detail = True
        return _arm64_targets(md.disasm(code, f.entry))
    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    md.detail = True
    out: list[tuple[int, int]] = []
    for insn in md.disasm(code, f.entry):
        for op in insn.operands:
            if op.type == capstone.x86.X86_OP_MEM and op.mem.base == capstone.x86.X86_REG_RIP:
                out.append((insn.address + insn.size + op.mem.disp, op.size))
    return out


def _arm64_targets(insns: Iterable[Any]) -> list[tuple[int, int]]:
    """The data addresses of arm64 code: Go's linker makes a global's address with ``ADRP Rn, page``
    and then either a load or store at an offset from Rn (``MOVD sym(SB), R0``) or ``ADD $off, Rn``
    (``MOVD $sym(SB), Rn``: the address, which an atomic's ``LDAR (Rn)`` then uses). Registers
    holding such an address are followed within straight-line code only (any branch forgets them)."""
    from capstone import CS_GRP_CALL, CS_GRP_JUMP, CS_GRP_RET, arm64

    known: dict[int, int] = {}  # register -> the static address it holds
    out: list[tuple[int, int]] = []
    for insn in insns:
        ops = insn.operands
        for k, op in enumerate(ops):
            if op.type == arm64.ARM64_OP_MEM and op.mem.base in known and not op.mem.index:
                regs = [o for o in ops[:k] if o.type == arm64.ARM64_OP_REG]
                size = _arm64_access_size(insn.mnemonic, insn.reg_name(regs[-1].reg) if regs else "")
                out.append((known[op.mem.base] + op.mem.disp, size))
                break
        new: tuple[int, int] | None = None
        if insn.id == arm64.ARM64_INS_ADRP and len(ops) == 2 and ops[1].type == arm64.ARM64_OP_IMM:
            new = (ops[0].reg, ops[1].imm)
        elif (insn.id == arm64.ARM64_INS_ADD and len(ops) == 3 and ops[1].type == arm64.ARM64_OP_REG
              and ops[1].reg in known and ops[2].type == arm64.ARM64_OP_IMM and not ops[2].shift.type):
            new = (ops[0].reg, known[ops[1].reg] + ops[2].imm)
        if any(insn.group(g) for g in (CS_GRP_JUMP, CS_GRP_CALL, CS_GRP_RET)):
            known.clear()
        else:
            for r in insn.regs_access()[1]:
                known.pop(r, None)
        if new is not None:
            known[new[0]] = new[1]
    return out


def _arm64_access_size(mnemonic: str, reg: str) -> int:
    """Bytes a load or store accesses: by the mnemonic's width suffix (``ldrb``, ``ldrsh``,
    ``ldrsw``, ``ldarb``, ``ldaddalh``), else by its data register (w: 4, x: 8, b/h/s/d/q)."""
    if mnemonic.endswith("sw"):
        return 4
    if mnemonic.endswith("b"):
        return 1
    if mnemonic.endswith("h"):
        return 2
    return {"w": 4, "x": 8, "b": 1, "h": 2, "s": 4, "d": 8, "q": 16}.get(reg[:1], 8)


def by_code(proc: GoProcess, funcs: Iterable[str], validate: Callable[[int], bool],
            sizes: tuple[int, ...] = (1, 2, 4, 8)) -> int | None:
    """The first data address :func:`code_targets` finds in ``funcs`` (in order) whose access size is
    one of ``sizes`` and that ``validate`` accepts."""
    seen: set[int] = set()
    for name in funcs:
        for target, size in code_targets(proc, name):
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
