"""Location specifiers, as delve's ``list`` and ``disassemble -l`` take them (delve's
Documentation/cli/locspec.md), resolved from ``.gopclntab`` alone (stripped binaries too):

- ``*ADDR``: the instruction at an address (decimal, ``0x`` hex, ``0o`` octal);
- ``FILE:LINE``: a line of a file; FILE may be a partial path or a base name, as long as one file
  of the binary ends with it (``main.go:12``, ``crasher/main.go:12``);
- ``LINE``, ``+N``, ``-N``: a line of the current frame's file, or N lines after or before the
  current one;
- ``FUNC`` and ``FUNC:LINE``: a function (its first line, where its code starts) or a line of its
  file. The full name is ``pkg/path.(*T).Method``; a tail of it names a function as long as one
  function of the binary ends with it (``processOrder``, ``(*orderServer).ServeHTTP``,
  ``orderServer.ServeHTTP``).

Ambiguity is an error listing the candidates, never a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from explorer.errors import ExplorerError

if TYPE_CHECKING:
    from explorer.binary.pclntab import Func, Pclntab
    from explorer.goruntime.unwind import Frame

#: Candidates named in an "ambiguous" error at most.
SHOW_CANDIDATES = 6

_NUMBER = re.compile(r"^(0[xX][0-9a-fA-F]+|0[oO][0-7]+|[0-9]+)$")
_SOURCE_SUFFIXES = (".go", ".s", ".c", ".h", ".S")


@dataclass(frozen=True)
class Location:
    """Where a location specifier points."""

    file: str
    """The file as the binary names it."""
    line: int
    function: str | None = None
    """The function that holds ``pc``, or that ``FUNC`` named (None for a bare ``FILE:LINE``)."""
    pc: int | None = None
    """An address: ``*ADDR``'s, a function's entry; None for a line (see :func:`line_pcs`)."""


def _number(text: str) -> int | None:
    if not _NUMBER.match(text):
        return None
    return int(text, 0) if not text.isdigit() else int(text, 10)


def _normalized(name: str) -> str:
    """``main.(*orderServer).ServeHTTP`` → ``main.orderServer.ServeHTTP``: a method may be named with
    or without its receiver's parentheses and star."""
    return name.replace("(*", "").replace("(", "").replace(")", "")


def _check_unique(spec: str, found: list[str]) -> None:
    """Raise the "ambiguous" error (the first candidates, sorted) when ``spec`` matched more than one."""
    if len(found) > 1:
        found = sorted(found)
        more = f" and {len(found) - SHOW_CANDIDATES} more" if len(found) > SHOW_CANDIDATES else ""
        raise ExplorerError(f"{spec!r} is ambiguous: {', '.join(found[:SHOW_CANDIDATES])}{more}")


def find_function(pcln: Pclntab, spec: str) -> Func:
    """The function ``spec`` names: its full name, or a tail of it (after a ``.`` or ``/``) that
    only one function has."""
    exact = pcln.func_by_name(spec)
    if exact is not None:
        return exact
    want = _normalized(spec)
    found = []
    for name in pcln.function_names():
        norm = _normalized(name)
        if norm == want or norm.endswith("." + want) or norm.endswith("/" + want):
            found.append(name)
    if not found:
        raise ExplorerError(f"no function {spec!r} in the executable")
    _check_unique(spec, found)
    f = pcln.func_by_name(found[0])
    assert f is not None
    return f


def find_file(pcln: Pclntab, spec: str) -> str:
    """The file of the binary that ``spec`` names: itself, or the only one ending with ``/spec``."""
    files = pcln.file_names()
    if spec in files:
        return spec
    tail = spec.lstrip("./")
    found = [f for f in files if f.endswith("/" + tail) or f == tail]
    if not found:
        raise ExplorerError(f"no file {spec!r} in the executable's line tables")
    _check_unique(spec, found)
    return found[0]


def _at_pc(pcln: Pclntab, pc: int) -> Location:
    f = pcln.find_func(pc)
    if f is None:
        raise ExplorerError(f"no function at {pc:#x}")
    file, line = pcln.file_line(f, pc)
    return Location(file, line, f.name, pc)


def _current(current: Frame | None, spec: str) -> Frame:
    if current is None:
        raise ExplorerError(f"{spec!r} is relative to the current frame, and there is none")
    return current


def resolve(pcln: Pclntab, spec: str, current: Frame | None = None) -> Location:
    """Resolve a location specifier (see the module docstring); ``current`` is the selected frame
    (for ``LINE``, ``+N``, ``-N``). Raises ExplorerError with the reason."""
    spec = spec.strip()
    if not spec:
        raise ExplorerError("an empty location")
    if spec.startswith("*"):
        pc = _number(spec[1:].strip())
        if pc is None:
            raise ExplorerError(f"{spec!r}: *ADDR wants an address")
        return _at_pc(pcln, pc)
    if spec[0] in "+-" and _number(spec[1:]) is not None:
        f = _current(current, spec)
        n = _number(spec[1:])
        assert n is not None
        return Location(f.file, max(1, f.line + (n if spec[0] == "+" else -n)), f.function)
    n = _number(spec)
    if n is not None:
        f = _current(current, spec)
        return Location(f.file, n, f.function)
    head, sep, tail = spec.rpartition(":")
    line = _number(tail) if sep else None
    if line is not None:
        if head.endswith(_SOURCE_SUFFIXES):
            return Location(find_file(pcln, head), line)
        try:
            fn = find_function(pcln, head)
        except ExplorerError:
            if "/" not in head:
                raise
            return Location(find_file(pcln, head), line)  # a path that names no function
        file, _ = pcln.file_line(fn, fn.entry)
        return Location(file, line, fn.name)
    if spec.endswith(_SOURCE_SUFFIXES):
        return Location(find_file(pcln, spec), 1)
    fn = find_function(pcln, spec)
    file, first = pcln.file_line(fn, fn.entry)
    return Location(file, first, fn.name, fn.entry)


def line_pcs(pcln: Pclntab, file: str, line: int) -> list[tuple[Func, int, int]]:
    """``(function, start, end)`` of the code the line tables give to ``file:line`` (an inlined call
    appears in each function it was inlined into), in address order."""
    out: list[tuple[Func, int, int]] = []
    for fn in pcln.funcs():
        try:
            lines = [r for r in pcln.pc_ranges(fn, fn.pcln) if r[2] == line]
            if not lines:
                continue
            files = pcln.pc_ranges(fn, fn.pcfile)
        except ExplorerError:
            continue
        names: dict[int, str] = {}
        for start, end, _ in lines:
            for fstart, fend, fno in files:
                if fend <= start or fstart >= end:
                    continue
                if fno not in names:
                    try:
                        names[fno] = pcln.file_name(fn, fno)
                    except ExplorerError:
                        names[fno] = "?"
                if names[fno] == file:
                    out.append((fn, max(start, fstart), min(end, fend)))
    return out


def code_at(pcln: Pclntab, loc: Location) -> int:
    """An address of ``loc``'s code: its pc, or the first instruction the line tables give its line."""
    if loc.pc is not None:
        return loc.pc
    found = line_pcs(pcln, loc.file, loc.line)
    if not found:
        raise ExplorerError(f"no code at {loc.file}:{loc.line}")
    return found[0][1]
