#!/usr/bin/env python3
"""Our DIE reader (explorer.binary.dwarf) against pyelftools' on the same questions.

Prints figures (CPU time of the best of ``--repeat`` runs, each from a freshly opened file);
asserts nothing. Why:
the package keeps its own DIE reader only where it is faster than pyelftools'
(``elftools.dwarf``), and says by how much in its docstring; this measures it again.

    python benchmarks/dwarf_vs_pyelftools.py [--version 1.27.3] [--repeat 3]

On cmd/go (the build tests/test_dwarf.py makes) and on the corpus crasher:

- ``first type``: open, find ``runtime.g`` in the runtime unit, then each field's name, offset and
  type (what opening a core needs first);
- ``every type``: every named type of the runtime units with their fields' types;
- ``functions``: the function DIE holding each of 300 pcs and its parameters and variables.

pyelftools is driven as its documentation shows (``iter_CUs``, ``get_top_DIE``,
``iter_children``, ``get_DIE_from_attribute``); its DIE and abbreviation caches persist within a run.
"""

from __future__ import annotations

import argparse
import functools
import random
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from corpus import build  # noqa: E402
from elftools.dwarf.die import DIE  # noqa: E402
from elftools.dwarf.ranges import RangeEntry  # noqa: E402
from elftools.elf.elffile import ELFFile  # noqa: E402
from hotpaths import cmd_go  # noqa: E402

from explorer.binary.dwarf import GoDwarf  # noqa: E402
from explorer.binary.elf import Executable  # noqa: E402


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t = time.process_time()
        result = fn()
        times.append(time.process_time() - t)
    return min(times), result


# --- ours ------------------------------------------------------------------------------------------

def ours_open(path: Path) -> GoDwarf:
    with open(path, "rb") as fh:
        return GoDwarf(ELFFile(fh))


def ours_first_type(path: Path) -> object:
    dw = ours_open(path)
    g = dw.type_by_name("runtime.g")
    assert g is not None
    return sorted((f.name, f.offset, f.type.name if f.type else "") for f in g.fields)


def ours_every_type(path: Path) -> object:
    dw = ours_open(path)
    out = 0
    for name in dw.type_names():
        t = dw.type_by_name(name)
        if t is not None:
            out += 1 + sum(1 for f in t.fields if f.type is not None and f.type.name)
    return out


def ours_functions(path: Path, pcs: list[int]) -> object:
    dw = ours_open(path)
    out = 0
    for pc in pcs:
        fn = dw.function_at(pc)
        if fn is not None:
            out += 1 + sum(1 for v in fn.variables if v.name)
    return out


# --- pyelftools ------------------------------------------------------------------------------------

class Theirs:
    """pyelftools over one open file (kept open: its DIEs read lazily from the stream)."""

    def __init__(self, path: Path) -> None:
        self.fh = open(path, "rb")
        self.di = ELFFile(self.fh).get_dwarf_info(relocate_dwarf_sections=False)

    def close(self) -> None:
        self.fh.close()

    def runtime_units(self) -> Iterator[DIE]:
        for cu in self.di.iter_CUs():
            top = cu.get_top_DIE()
            name = top.attributes.get("DW_AT_name")
            if name is not None and name.value == b"runtime":
                yield top


def _name(die: DIE) -> bytes:
    a = die.attributes.get("DW_AT_name")
    return a.value if a is not None else b""


def _fields(die: DIE) -> list[tuple[bytes, Any, bytes]]:
    out = []
    for m in die.iter_children():
        if m.tag != "DW_TAG_member":
            continue
        t = m.get_DIE_from_attribute("DW_AT_type") if "DW_AT_type" in m.attributes else None
        loc = m.attributes.get("DW_AT_data_member_location")
        out.append((_name(m), loc.value if loc is not None else 0, _name(t) if t is not None else b""))
    return out


def theirs_first_type(path: Path) -> object:
    th = Theirs(path)
    try:
        for top in th.runtime_units():
            for die in top.iter_children():
                if die.tag == "DW_TAG_structure_type" and _name(die) == b"runtime.g":
                    return sorted((n.decode(), off, tn.decode()) for n, off, tn in _fields(die))
        raise AssertionError("runtime.g not found")
    finally:
        th.close()


def theirs_every_type(path: Path) -> object:
    th = Theirs(path)
    try:
        out = 0
        seen: set[bytes] = set()
        for top in th.runtime_units():
            for die in top.iter_children():
                if die.tag in ("DW_TAG_subprogram", "DW_TAG_variable", "DW_TAG_constant"):
                    continue
                name = _name(die)
                if name and name not in seen:
                    seen.add(name)
                    out += 1 + sum(1 for _n, _o, tn in _fields(die) if tn)
        return out
    finally:
        th.close()


def theirs_functions(path: Path, pcs: list[int]) -> object:
    th = Theirs(path)
    try:
        spans: list[tuple[int, int, DIE]] = []  # (low, high, unit top DIE)
        rl = th.di.range_lists()
        for cu in th.di.iter_CUs():
            top = cu.get_top_DIE()
            a = top.attributes
            if "DW_AT_ranges" in a and rl is not None:
                base = a["DW_AT_low_pc"].value if "DW_AT_low_pc" in a else 0
                for e in rl.get_range_list_at_offset(a["DW_AT_ranges"].value, cu=cu):
                    if isinstance(e, RangeEntry):
                        spans.append((base + e.begin_offset, base + e.end_offset, top))
            elif "DW_AT_low_pc" in a and "DW_AT_high_pc" in a:
                lo = a["DW_AT_low_pc"].value
                hi = a["DW_AT_high_pc"].value
                spans.append((lo, hi if a["DW_AT_high_pc"].form == "DW_FORM_addr" else lo + hi, top))
        functions: dict[int, list[tuple[int, int, DIE]]] = {}
        out = 0
        for pc in pcs:
            unit = next((t for lo, hi, t in spans if lo <= pc < hi), None)
            if unit is None:
                continue
            top = unit
            fns = functions.get(top.offset)
            if fns is None:
                fns = functions[top.offset] = []
                for die in top.iter_children():
                    a = die.attributes
                    if die.tag == "DW_TAG_subprogram" and "DW_AT_low_pc" in a and "DW_AT_high_pc" in a:
                        lo = a["DW_AT_low_pc"].value
                        hi = a["DW_AT_high_pc"].value
                        fns.append((lo, hi if a["DW_AT_high_pc"].form == "DW_FORM_addr" else lo + hi, die))
            fn = next((d for lo, hi, d in fns if lo <= pc < hi), None)
            if fn is None:
                continue
            out += 1
            stack = list(fn.iter_children())
            while stack:
                d = stack.pop()
                if d.tag in ("DW_TAG_formal_parameter", "DW_TAG_variable"):
                    if "DW_AT_abstract_origin" in d.attributes:
                        d = d.get_DIE_from_attribute("DW_AT_abstract_origin")
                    if "DW_AT_type" in d.attributes:  # as ours does: the variable's type
                        d.get_DIE_from_attribute("DW_AT_type")
                    out += 1 if _name(d) else 0
                elif d.tag == "DW_TAG_lexical_block":
                    stack.extend(d.iter_children())
        return out
    finally:
        th.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--version", default="1.27.3", help="Go toolchain of the corpus builds")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    for path in (cmd_go(args.version), build(args.version, "opt")):
        exe = Executable(path)
        syms = [(a, s) for n, (a, s) in exe.symbols.items() if s and n.startswith(("main.", "runtime."))]
        rng = random.Random(1)
        pcs = [a + rng.randrange(s) for a, s in rng.sample(syms, min(300, len(syms)))]
        print(f"{path.name} ({path.stat().st_size / 1e6:.1f} MB), best of {args.repeat}:")
        cases: list[tuple[str, Callable[[], object], Callable[[], object], bool]] = [
            ("first type (runtime.g and its fields)",
             functools.partial(ours_first_type, path), functools.partial(theirs_first_type, path), True),
            ("every type of the runtime units",
             functools.partial(ours_every_type, path), functools.partial(theirs_every_type, path), False),
            (f"functions at {len(pcs)} pcs, with variables",
             functools.partial(ours_functions, path, pcs), functools.partial(theirs_functions, path, pcs), False),
        ]
        for label, ours, theirs, same in cases:
            t_ours, r_ours = timed(ours, args.repeat)
            t_theirs, r_theirs = timed(theirs, args.repeat)
            agree = "" if not same else ("  (same answer)" if r_ours == r_theirs else "  (ANSWERS DIFFER)")
            print(f"  {label:<44} ours {t_ours * 1000:8.1f} ms  pyelftools {t_theirs * 1000:8.1f} ms  "
                  f"{t_theirs / t_ours:4.1f}x{agree}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
