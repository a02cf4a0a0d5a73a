"""Tests of explorer.binary.pclntab and explorer.binary.moduledata against the Go toolchain itself.

tests/testprogs/pcln is built with every Go release (gotools.test_versions()) in three modes:
optimized, ``-gcflags=all=-N -l`` and ``-ldflags=-s -w``. Builds are cached under
``gotools.cache_dir()/pcln-builds/``. The oracles are the same toolchain's ``go tool addr2line``
(names, file:line), ``go tool objdump`` (SP arithmetic of each instruction vs pcsp), ``go tool nm``
(moduledata addresses), the binary's DWARF (``DW_TAG_inlined_subroutine`` chains, the
``runtime.moduledata`` struct) and the runtime's own panic traceback (inlined ``main.f(...)`` frames).
Everything here reads the binary without symbols (moduledata found by content), like a stripped
build needs.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import os
import random
import re
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpus
import gotools

from explorer.binary.moduledata import (
    LAYOUTS,
    Moduledata,
    find_moduledata,
    layout_for_minor,
    layout_offsets,
    open_pclntab,
)
from explorer.binary.pclntab import (
    FUNCID_WRAPPER_BY_MINOR,
    MAGIC_GO118,
    MAGIC_GO120,
    Func,
    Pclntab,
    bytes_reader,
    func_name_for_print,
    parse_header,
)
from explorer.errors import BinaryFormatError, UnreadableMemory

elftools = pytest.importorskip("elftools")
from elftools.dwarf.ranges import BaseAddressEntry, RangeEntry  # noqa: E402
from elftools.elf.elffile import ELFFile  # noqa: E402

PROG = Path(__file__).resolve().parent / "testprogs" / "pcln"
MODES: dict[str, list[str]] = {
    "opt": [],
    "noopt": ["-gcflags=all=-N -l"],
    "stripped": ["-ldflags=-s -w"],
}
VERSIONS = gotools.test_versions()


def minor(version: str) -> int:
    return int(version.split(".")[1])


# -- building -----------------------------------------------------------------------------------------


def build(version: str, mode: str) -> Path:
    """The test program built by Go ``version`` in ``mode``, cached by source and flags."""
    flags = MODES[mode]
    h = hashlib.sha256()
    for name in ("main.go", "go.mod"):
        h.update((PROG / name).read_bytes())
    h.update(repr(flags).encode() + b" in-cache-src")
    out = gotools.cache_dir() / "pcln-builds" / version / mode / f"pcln-{h.hexdigest()[:12]}"
    if out.exists():
        return out
    # One go build at a time on this machine (2 cores), across test processes too.
    with gotools.file_lock(gotools.cache_dir() / "locks" / "go-build.lock"):
        if out.exists():
            return out
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        res = subprocess.run(
            [gotools.go_command(version), "build", "-o", str(tmp), *flags, "."],
            cwd=corpus.source_dir("pcln"), env=gotools.go_env(version), capture_output=True, text=True,
        )
        if res.returncode != 0:
            raise RuntimeError(f"go {version} build {flags} failed:\n{res.stderr}")
        tmp.rename(out)
    return out


def go_tool(version: str, *args: str, stdin: str | None = None) -> str:
    res = subprocess.run(
        [gotools.go_command(version), "tool", *args], input=stdin, capture_output=True, text=True,
        env=gotools.go_env(version), check=True,
    )
    return res.stdout


@dataclass
class Binary:
    version: str
    mode: str
    path: Path
    sections: dict[str, tuple[int, bytes]]
    nobits: dict[str, tuple[int, int]]  # .bss-like sections: (addr, size)
    tab: Pclntab
    md: Moduledata
    parse_seconds: float

    @property
    def minor(self) -> int:
        return minor(self.version)

    def read(self, addr: int, size: int) -> bytes:
        for base, data in self.sections.values():
            if base <= addr and addr + size <= base + len(data):
                return data[addr - base : addr - base + size]
        raise UnreadableMemory(addr, size, "not in any section of the executable")

    def section_of(self, addr: int) -> str | None:
        for name, (base, data) in self.sections.items():
            if base and base <= addr < base + len(data):
                return name
        return None

    @functools.cached_property
    def nm(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for line in go_tool(self.version, "nm", str(self.path)).splitlines():
            parts = line.split(None, 2)
            if len(parts) == 3 and parts[1] != "U":
                out.setdefault(parts[2], int(parts[0], 16))
        return out

    def main_funcs(self) -> list[Func]:
        return [f for f in self.tab.funcs() if f.name.startswith("main.")]


@functools.cache
def load(version: str, mode: str) -> Binary:
    path = build(version, mode)
    sections: dict[str, tuple[int, bytes]] = {}
    nobits: dict[str, tuple[int, int]] = {}
    with open(path, "rb") as fh:
        elf = ELFFile(fh)
        for s in elf.iter_sections():
            if not s.name or not s["sh_addr"]:
                continue
            if s["sh_type"] == "SHT_NOBITS":
                nobits[s.name] = (s["sh_addr"], s["sh_size"])
            else:
                sections[s.name] = (s["sh_addr"], s.data())
    t0 = time.perf_counter()
    tab, md = open_pclntab(sections)  # symbol-free: text base from firstmoduledata
    took = time.perf_counter() - t0
    return Binary(version, mode, path, sections, nobits, tab, md, took)


BUILDS = [(v, m) for v in VERSIONS for m in MODES]


@pytest.fixture(params=BUILDS, ids=[f"go{v}-{m}" for v, m in BUILDS])
def binary(request: pytest.FixtureRequest) -> Binary:
    return load(*request.param)


@pytest.fixture(params=[(v, m) for v, m in BUILDS if m != "stripped"],
                ids=[f"go{v}-{m}" for v, m in BUILDS if m != "stripped"])
def unstripped(request: pytest.FixtureRequest) -> Binary:
    return load(*request.param)


# -- header and functions -------------------------------------------------------------------------


def test_header(binary: Binary) -> None:
    tab, md = binary.tab, binary.md
    text_addr = binary.sections[".text"][0]
    assert tab.magic == MAGIC_GO120
    assert (tab.ptr_size, tab.quantum) == (8, 1)
    assert tab.nfunc == md.ftab.len - 1
    assert tab.text_start == md.text == text_addr
    # Go 1.26 stopped storing textStart in the header (cmd/link/internal/ld/pcln.go writes 0).
    assert tab.header.text_start == (0 if binary.minor >= 26 else text_addr)
    assert (tab.min_pc, tab.max_pc) == (md.minpc, md.maxpc)
    assert md.layout == layout_for_minor(binary.minor)
    if binary.minor >= 26:
        with pytest.raises(BinaryFormatError, match="text_start"):
            Pclntab.parse(binary.sections[".gopclntab"][1])
    assert binary.parse_seconds < 1.0, "header + ftab + moduledata must be cheap"


def test_funcs_and_lookup(binary: Binary) -> None:
    tab = binary.tab
    funcs = list(tab.funcs())
    assert len(funcs) == tab.nfunc
    for a, b in itertools.pairwise(funcs):
        assert a.end == b.entry and a.entry <= a.end
    names = {f.name for f in funcs}
    for want in ("main.main", "main.work", "main.trigger", "main.grow", "main.(*Rect).Scale",
                 "runtime.goexit", "runtime.mstart", "runtime.rt0_go", "runtime.sigpanic"):
        assert want in names, want
    assert any(n.startswith("main.Reduce[go.shape.") for n in names)
    assert any(n.startswith("main.work.func") for n in names)  # closures
    for f in funcs[:: max(1, len(funcs) // 200)] + binary.main_funcs():
        assert tab.find_func(f.entry) == f
        assert tab.find_func(f.end - 1) == f
        assert f in tab.funcs_by_name(f.name)
        by_name = tab.func_by_name(f.name)
        assert by_name is not None and by_name.entry <= f.entry
    assert tab.find_func(tab.min_pc - 1) is None
    assert tab.find_func(tab.max_pc) is None
    assert tab.func_by_name("main.nosuchfunction") is None
    goexit = tab.func_by_name("runtime.goexit")
    assert goexit is not None and goexit.is_topframe and goexit.is_asm
    for name in ("runtime.mstart", "runtime.rt0_go"):
        f = tab.func_by_name(name)
        assert f is not None and f.is_topframe
    main = tab.func_by_name("main.main")
    assert main is not None and not (main.is_topframe or main.is_asm or main.is_spwrite)
    assert any(f.is_spwrite for f in funcs)  # e.g. runtime.gogo, systemstack
    assert main.start_line > 0


def _abi_enum(version: str, type_name: str) -> list[str]:
    src = (gotools.goroot(version) / "src" / "internal" / "abi" / "symtab.go").read_text()
    body = src.split(f"type {type_name} uint8", 1)[1].split("const (", 1)[1].split("\n)", 1)[0]
    names = []
    for line in body.splitlines():
        line = line.split("//", 1)[0].strip()
        if line:
            names.append(line.split()[0])
    return names


def test_funcid_wrapper(binary: Binary) -> None:
    ids = _abi_enum(binary.version, "FuncID")
    assert FUNCID_WRAPPER_BY_MINOR[binary.minor] == ids.index("FuncIDWrapper")
    # (*Rect).Area is the compiler-made pointer wrapper of the value method Rect.Area.
    wrapper = binary.tab.func_by_name("main.(*Rect).Area")
    assert wrapper is not None and wrapper.func_id == ids.index("FuncIDWrapper")
    goexit = binary.tab.func_by_name("runtime.goexit")
    assert goexit is not None and goexit.func_id == ids.index("FuncID_goexit")


# -- addr2line ------------------------------------------------------------------------------------


def sample_pcs(b: Binary) -> list[int]:
    pcs: list[int] = []
    for f in b.main_funcs():
        pcs.extend(range(f.entry, f.end, 5))
    funcs = list(b.tab.funcs())
    for f in funcs[:: max(1, len(funcs) // 120)]:
        pcs.extend({f.entry, (f.entry + f.end) // 2, f.end - 1})
    return sorted(set(pcs))


def test_names_and_lines_vs_addr2line(binary: Binary) -> None:
    pcs = sample_pcs(binary)
    assert len(pcs) > 300
    out = go_tool(binary.version, "addr2line", str(binary.path),
                  stdin="".join(f"{pc:#x}\n" for pc in pcs)).splitlines()
    assert len(out) == 2 * len(pcs)
    mismatches = []
    for i, pc in enumerate(pcs):
        want_name, want_pos = out[2 * i], out[2 * i + 1]
        f = binary.tab.find_func(pc)
        assert f is not None, hex(pc)
        file, line = binary.tab.file_line(f, pc)
        if f.pcln == 0 or f.pcfile == 0:
            # Marker symbols (go:textfipsstart) have no tables: the runtime says "?", 0 while
            # debug/gosym decodes whatever is at pctab offset 0.
            assert (file, line) == ("?", 0) and f.name == want_name
            continue
        # Padding after a function's last instruction is not covered by its tables: the runtime's
        # funcline1 says "?", 0 and debug/gosym (addr2line) says ":-1".
        pos = ":-1" if (file, line) == ("?", 0) else f"{file}:{line}"
        if (f.name, pos) != (want_name, want_pos):
            mismatches.append((hex(pc), f.name, f"{file}:{line}", want_name, want_pos))
    assert not mismatches, mismatches[:10]


# -- pcsp vs objdump ------------------------------------------------------------------------------

_JUMP = re.compile(r"^J[A-Z]+ (0x[0-9a-f]+)$")
_SP_ADJ = re.compile(r"^(SUBQ|ADDQ) \$(-?0x[0-9a-f]+|-?\d+), SP$")


def objdump_main(b: Binary) -> dict[str, list[tuple[int, str]]]:
    """main.* functions → [(pc, instruction)] from go tool objdump, e.g. (0x49a6ca, "SUBQ $0x38, SP")."""
    funcs: dict[str, list[tuple[int, str]]] = {}
    cur: list[tuple[int, str]] | None = None
    for line in go_tool(b.version, "objdump", "-s", r"^main\.", str(b.path)).splitlines():
        if line.startswith("TEXT "):
            cur = funcs.setdefault(line.split()[1].removesuffix("(SB)"), [])
        elif cur is not None and line.strip():
            parts = line.strip().split("\t")
            parts = [p for p in parts if p]
            cur.append((int(parts[1], 16), parts[3].strip() if len(parts) > 3 else ""))
    return funcs


def sp_effect(asm: str) -> int | None:
    """Bytes an instruction pushes on the stack; None when control does not fall through."""
    op = asm.split(" ", 1)[0]
    if op in ("RET", "JMP", "UD2", "INT"):
        return None
    if op == "PUSHQ":
        return 8
    if op == "POPQ":
        return -8
    m = _SP_ADJ.match(asm)
    if m:
        n = int(m.group(2), 0)
        return n if m.group(1) == "SUBQ" else -n
    return 0


def test_sp_delta_vs_objdump(unstripped: Binary) -> None:
    b = unstripped
    code = objdump_main(b)
    assert "main.trigger" in code and "main.work" in code
    checked = frames = 0
    for name, insns in code.items():
        f = b.tab.func_by_name(name)
        assert f is not None and f.entry == insns[0][0], name
        assert b.tab.sp_delta(f, f.entry) == 0
        # A jump target starts a block whose SP comes from its jumps (the morestack block after a
        # call to a no-return panic function): only check fallthrough into non-targets.
        targets = {int(m.group(1), 16) for _, asm in insns for m in [_JUMP.match(asm)] if m}
        for (pc, asm), (npc, _) in itertools.pairwise(insns):
            sp = b.tab.sp_delta(f, pc)
            assert sp is not None and sp >= 0, (name, hex(pc))
            if asm.startswith("RET"):
                assert sp == 0, (name, hex(pc), asm)
            eff = sp_effect(asm)
            if eff is None or npc in targets:
                continue
            if asm.startswith("SUBQ") and eff > 0:
                frames += 1
                # The frame size objdump shows: after PUSHQ BP; SUBQ $N, SP the delta is N + 8.
                assert b.tab.sp_delta(f, npc) == sp + eff
            assert b.tab.sp_delta(f, npc) == sp + eff, (name, hex(pc), asm, sp)
            checked += 1
    assert checked > 200 and frames >= 5


def test_sp_delta_stripped_matches_unstripped() -> None:
    """Compiler output does not depend on -s -w: each main function's pcsp runs must be equal."""
    for version in VERSIONS:
        s, u = load(version, "stripped"), load(version, "opt")
        for f in u.main_funcs():
            g = s.tab.func_by_name(f.name)
            assert g is not None and g.end - g.entry == f.end - f.entry
            rel = [(a - f.entry, z - f.entry, v) for a, z, v in u.tab.pc_ranges(f, f.pcsp)]
            srel = [(a - g.entry, z - g.entry, v) for a, z, v in s.tab.pc_ranges(g, g.pcsp)]
            assert rel == srel, (version, f.name)


# -- inlining -------------------------------------------------------------------------------------


def traceback_groups(text: str) -> list[tuple[str, int, list[tuple[str, str, int]]]]:
    """Physical frames of goroutine 1 as (print name, pc offset, [(name, file, line)...] innermost first)."""
    lines = text.split("goroutine 1 [", 1)[1].splitlines()[1:]
    groups = []
    pending: list[tuple[str, str, int]] = []
    for head, pos in zip(lines[0::2], lines[1::2], strict=False):
        if not head or head.startswith("created by") or not pos.startswith("\t"):
            break
        name = head[: head.rindex("(")]
        m = re.match(r"\t(.*):(\d+)(?: \+0x([0-9a-f]+))?", pos)
        assert m, pos
        pending.append((name, m.group(1), int(m.group(2))))
        if m.group(3) is not None:
            groups.append((name, int(m.group(3), 16), pending))
            pending = []
    return groups


def test_inline_frames_vs_runtime_traceback(binary: Binary) -> None:
    res = subprocess.run([str(binary.path), "panic"], capture_output=True, text=True,
                         env={**os.environ, "GOTRACEBACK": "all"}, timeout=60)
    assert res.returncode == 2 and "index out of range" in res.stderr, res.stderr
    groups = traceback_groups(res.stderr)
    by_print = {func_name_for_print(f.name): f for f in binary.main_funcs()}
    seen_inlined = 0
    md = binary.md
    for name, off, frames in groups:
        if not name.startswith("main."):
            continue
        f = by_print[name]
        pc = f.entry + off
        # Not the innermost frame (its callee panicked), so the traceback looks up pc-1.
        ours = binary.tab.inline_frames(f, pc - 1, binary.read, md.gofunc)
        got = [(func_name_for_print(x.name), x.file, x.line) for x in ours if x.name.startswith("main.")]
        want = [x for x in frames if x[0].startswith("main.")]
        assert got == want
        assert [x.is_inlined for x in ours][-1] is False
        seen_inlined += sum(x.is_inlined for x in ours)
    names = [g[0] for g in groups]
    assert "main.trigger" in names and "main.main" in names
    if binary.mode == "noopt":
        assert seen_inlined == 0
    else:
        assert seen_inlined >= 3  # explode, fuse, light inlined into trigger


def _die_ranges(dwarf, cu, die) -> list[tuple[int, int]]:  # type: ignore[no-untyped-def]
    attrs = die.attributes
    if "DW_AT_low_pc" in attrs:
        low = attrs["DW_AT_low_pc"].value
        high = attrs["DW_AT_high_pc"]
        return [(low, high.value if high.form == "DW_FORM_addr" else low + high.value)]
    if "DW_AT_ranges" not in attrs:
        return []
    base = cu.get_top_DIE().attributes["DW_AT_low_pc"].value
    out = []
    for entry in dwarf.range_lists().get_range_list_at_offset(attrs["DW_AT_ranges"].value, cu=cu):
        if isinstance(entry, BaseAddressEntry):
            base = entry.base_address
        elif isinstance(entry, RangeEntry):
            off = 0 if entry.is_absolute else base
            out.append((entry.begin_offset + off, entry.end_offset + off))
    return out


def dwarf_inline_chains(b: Binary) -> dict[int, list[tuple[str, int]]]:
    """pc → DWARF inlining chain [(name, call_line)...] innermost first, ending with (subprogram, 0)."""
    with open(b.path, "rb") as fh:
        dwarf = ELFFile(fh).get_dwarf_info()
        chains: dict[int, list[tuple[str, int]]] = {}

        def walk(cu, die, outer: list[tuple[str, int]]) -> None:  # type: ignore[no-untyped-def]
            for child in die.iter_children():
                if child.tag != "DW_TAG_inlined_subroutine":
                    continue
                origin = child.get_DIE_from_attribute("DW_AT_abstract_origin")
                chain = [(origin.attributes["DW_AT_name"].value.decode(),
                          child.attributes["DW_AT_call_line"].value), *outer]
                for lo, hi in _die_ranges(dwarf, cu, child):
                    for pc in {lo, (lo + hi) // 2, hi - 1}:
                        # A nested inline visited later overrides its parent's entry at the same pc.
                        chains[pc] = chain
                walk(cu, child, chain)

        for cu in dwarf.iter_CUs():
            if cu.get_top_DIE().attributes["DW_AT_name"].value != b"main":
                continue
            for die in cu.get_top_DIE().iter_children():
                if die.tag == "DW_TAG_subprogram" and "DW_AT_name" in die.attributes:
                    walk(cu, die, [(die.attributes["DW_AT_name"].value.decode(), 0)])
        return chains


def test_inline_frames_vs_dwarf(unstripped: Binary) -> None:
    b = unstripped
    chains = dwarf_inline_chains(b)
    if b.mode == "noopt":
        assert not chains
        for f in b.main_funcs():
            for pc in range(f.entry, f.end, 7):
                assert len(b.tab.inline_frames(f, pc, b.read, b.md.gofunc)) == 1
        return
    assert len(chains) > 20
    bad = []
    for pc, chain in sorted(chains.items()):
        f = b.tab.find_func(pc)
        assert f is not None
        ours = b.tab.inline_frames(f, pc, b.read, b.md.gofunc)
        names = [x.name for x in ours]
        # The DWARF chain at pc is the innermost inlined_subroutine containing it and its parents;
        # a deeper inline starting at the same pc may not be in `chains` for this pc: compare suffix.
        want_names = [n for n, _ in chain]
        if names[-len(want_names) :] != want_names:
            bad.append((hex(pc), names, want_names))
            continue
        # The caller of an inlined frame shows the call line (parentPc's pcln).
        k = len(names) - len(want_names)
        for i, (_, call_line) in enumerate(chain[:-1]):
            if ours[k + i + 1].line != call_line:
                bad.append((hex(pc), "call line", names, ours[k + i + 1].line, call_line))
    assert not bad, bad[:10]


def test_inline_tree_read_from_pclntab_only(binary: Binary) -> None:
    """From Go 1.26 go:func.* (inline trees) lives inside .gopclntab: no other memory is needed."""
    base, data = binary.sections[".gopclntab"]
    f = binary.tab.func_by_name("main.trigger")
    assert f is not None
    read = bytes_reader(base, data) if binary.minor >= 26 else binary.read
    frames = binary.tab.inline_frames(f, f.end - 1, read, binary.md.gofunc)
    assert frames[-1].name == "main.trigger"
    if binary.minor >= 26:
        assert base <= binary.md.gofunc < base + len(data)
    else:
        assert binary.section_of(binary.md.gofunc) == ".rodata"


# -- moduledata -----------------------------------------------------------------------------------

_NM_FIELDS = {
    "address": "runtime.firstmoduledata", "pc_header": "runtime.pcheader", "text": "runtime.text",
    "etext": "runtime.etext", "noptrdata": "runtime.noptrdata", "enoptrdata": "runtime.enoptrdata",
    "data": "runtime.data", "edata": "runtime.edata", "bss": "runtime.bss", "ebss": "runtime.ebss",
    "noptrbss": "runtime.noptrbss", "enoptrbss": "runtime.enoptrbss", "end": "runtime.end",
    "gcdata": "runtime.gcdata", "gcbss": "runtime.gcbss", "types": "runtime.types",
    "etypes": "runtime.etypes", "rodata": "runtime.rodata", "gofunc": "go:func.*",
    "findfunctab": "runtime.findfunctab", "epclntab": "runtime.epclntab",
}


def test_moduledata_vs_nm(unstripped: Binary) -> None:
    b, md = unstripped, unstripped.md
    nm = b.nm
    compared = []
    for attr, sym in _NM_FIELDS.items():
        value = getattr(md, attr)
        if value is None:
            assert attr == "epclntab" and b.minor < 26
            continue
        if sym in nm:
            assert value == nm[sym], (attr, hex(value), hex(nm[sym]))
            compared.append(attr)
    for must in ("address", "text", "etext", "gofunc", "types", "etypes", "noptrdata", "bss", "end"):
        assert must in compared, (must, compared)
    assert md.minpc == nm[b.tab.func_at(0).name]
    for sl, sym in (("textsectmap", "runtime.textsectionmap"), ("typelinks", "runtime.typelink"),
                    ("itablinks", "runtime.itablink")):
        value = getattr(md, sl)
        if value is None:
            assert b.minor >= 27 and sl != "textsectmap"
        elif sym in nm:
            assert value.ptr == nm[sym], sl
    assert md.text_sections == ((0, md.etext - md.text, md.text),) or md.text_sections[0][2] == md.text


def test_moduledata_vs_sections(binary: Binary) -> None:
    """Holds for stripped builds too: section headers are an independent witness."""
    md, secs, nob = binary.md, binary.sections, binary.nobits
    pcln_addr, pcln = secs[".gopclntab"]
    assert md.pc_header == pcln_addr
    assert md.text == secs[".text"][0] and md.etext <= secs[".text"][0] + len(secs[".text"][1])
    assert md.noptrdata == secs[".noptrdata"][0]
    assert md.enoptrdata == secs[".noptrdata"][0] + len(secs[".noptrdata"][1])
    assert md.data == secs[".data"][0]
    assert md.bss == nob[".bss"][0] and md.noptrbss == nob[".noptrbss"][0]
    assert md.enoptrbss == nob[".noptrbss"][0] + nob[".noptrbss"][1] == md.end
    assert md.funcnametab.ptr == pcln_addr + binary.tab.header.funcname_offset
    assert md.ftab.len == binary.tab.nfunc + 1
    home = ".go.module" if binary.minor >= 26 else ".noptrdata"
    assert binary.section_of(md.address) == home
    if binary.minor >= 26:
        assert md.epclntab == pcln_addr + len(pcln)
        assert pcln_addr <= md.gofunc < md.epclntab
    if binary.minor >= 27:
        assert md.types == secs[".go.type"][0] and md.typelinks is None and md.itablinks is None
        assert md.typedesclen is not None and 0 < md.typedesclen <= md.etypes - md.types
        assert md.itaboffset is not None and md.itabsize is not None
    else:
        assert md.typelinks is not None and md.typelinks.len > 0


def test_moduledata_given_minor_and_errors(binary: Binary) -> None:
    md = find_moduledata(binary.sections, go_minor=binary.minor, ptr_size=8)
    assert md == binary.md
    wrong = 27 if binary.minor < 26 else 21
    with pytest.raises(BinaryFormatError):
        find_moduledata(binary.sections, go_minor=wrong)
    no_md = {k: v for k, v in binary.sections.items() if k not in (".go.module", ".noptrdata")}
    with pytest.raises(BinaryFormatError, match="firstmoduledata"):
        find_moduledata(no_md)


@pytest.mark.parametrize("version", VERSIONS)
def test_moduledata_layout_vs_dwarf(version: str) -> None:
    b = load(version, "opt")
    with open(b.path, "rb") as fh:
        dwarf = ELFFile(fh).get_dwarf_info()
        members: dict[str, int] = {}
        for cu in dwarf.iter_CUs():
            for die in cu.get_top_DIE().iter_children():
                name = die.attributes.get("DW_AT_name")
                if die.tag == "DW_TAG_structure_type" and name and name.value == b"runtime.moduledata":
                    for m in die.iter_children():
                        members[m.attributes["DW_AT_name"].value.decode()] = (
                            m.attributes["DW_AT_data_member_location"].value)
                    break
            if members:
                break
    assert members, "runtime.moduledata not in DWARF"
    layout = layout_for_minor(minor(version))
    offsets = layout_offsets(layout)
    assert offsets == {k: members[k] for k in offsets}
    assert b.md.offsets == offsets
    # Every field of the struct up to hasmain is in the table (nothing silently skipped).
    upto = [k for k, v in sorted(members.items(), key=lambda kv: kv[1]) if v <= members["hasmain"]]
    assert set(upto) - {"NotInHeap"} == set(offsets)


def test_layout_table_covers_all_versions() -> None:
    covered = sorted(m for minors, _ in LAYOUTS.values() for m in minors)
    assert covered == list(range(21, 28))


# -- robustness -----------------------------------------------------------------------------------


def _exercise(tab: Pclntab, pcs: list[int], read, gofunc: int) -> None:  # type: ignore[no-untyped-def]
    for pc in pcs:
        f = tab.find_func(pc)
        if f is None:
            continue
        tab.file_line(f, pc)
        tab.sp_delta(f, pc)
        tab.pcdata_value(f, 0, pc)
        tab.inline_frames(f, pc, read, gofunc)
    tab.func_by_name("main.main")


def test_fuzz_mutations_raise_or_answer() -> None:
    b = load(VERSIONS[-1], "opt")
    addr, data = b.sections[".gopclntab"]
    hdr = parse_header(data)
    ftab_start = hdr.pcln_offset
    hot = [(0, hdr.size), (ftab_start, ftab_start + 8 * 64),
           (ftab_start + 8 * hdr.nfunc - 64, ftab_start + 8 * (hdr.nfunc + 1))]
    # The _func records and pc tables of main.trigger, the function the traceback test uses.
    f = b.tab.func_by_name("main.trigger")
    assert f is not None
    foff = ftab_start + struct.unpack_from("<I", data, ftab_start + 8 * f.index + 4)[0]
    hot.append((foff, foff + 44 + 4 * (len(f.pcdata) + len(f.funcdata))))
    hot.append((hdr.pctab_offset + f.pcsp, hdr.pctab_offset + f.pcsp + 64))
    rng = random.Random(1234)
    pcs = [f.entry, f.entry + 7, f.end - 1, b.md.minpc, b.md.maxpc - 1]
    outcomes = {"ok": 0, "error": 0}
    deadline = time.perf_counter() + 60
    for _ in range(400):
        blob = bytearray(data)
        for _ in range(rng.randint(1, 6)):
            lo, hi = rng.choice(hot)
            i = rng.randrange(lo, hi)
            blob[i] = rng.choice([0, 0xFF, 0x80, rng.randrange(256), blob[i] ^ (1 << rng.randrange(8))])
        try:
            tab = Pclntab.parse(bytes(blob), text_start=b.md.text)
            _exercise(tab, pcs, bytes_reader(addr, blob) if b.minor >= 26 else b.read, b.md.gofunc)
            outcomes["ok"] += 1
        except (BinaryFormatError, UnreadableMemory):
            # UnreadableMemory: a mutated funcdata offset sent the inline-tree read elsewhere.
            outcomes["error"] += 1
        assert time.perf_counter() < deadline, "a mutated table made the parser crawl"
    assert outcomes["ok"] and outcomes["error"], outcomes
    # Truncations anywhere.
    for cut in (0, 3, 8, 40, hdr.size, ftab_start + 5, len(data) // 2):
        try:
            tab = Pclntab.parse(data[:cut], text_start=b.md.text)
            _exercise(tab, pcs, b.read, b.md.gofunc)
        except (BinaryFormatError, UnreadableMemory):
            pass


def test_bad_magic() -> None:
    with pytest.raises(BinaryFormatError, match="magic"):
        Pclntab.parse(b"\xfb\xff\xff\xff\x00\x00\x01\x08" + bytes(64), text_start=0)
    with pytest.raises(BinaryFormatError):
        parse_header(b"")


def _synthetic_go118() -> bytes:
    """A one-function pclntab in the Go 1.18/1.19 layout (40-byte _func without startLine)."""
    names = b"\x00main.f\x00"
    cutab = struct.pack("<I", 0)  # file 0 of CU 0 → filetab offset 0
    filetab = b"/src/f.go\x00"
    # pcsp: value 0 for 4 bytes, then +8 until 10; pcfile: 0 for 10; pcln: 7 for 4, 9 for 6.
    pctab = bytes([0, 2, 4, 16, 6, 0, 2, 10, 0, 16, 4, 4, 6, 0])
    pcsp_off, pcfile_off, pcln_off = 1, 6, 9
    hdr_size = 8 + 8 * 8
    fn_off = hdr_size
    cu_off = fn_off + len(names)
    file_off = cu_off + len(cutab)
    pc_off = file_off + len(filetab)
    pcln_tab_off = pc_off + len(pctab)
    func = struct.pack("<IiiIIIIIIBBxB", 0, 1, 0, 0, pcsp_off, pcfile_off, pcln_off, 0, 0, 0, 0, 0)
    ftab = struct.pack("<IIII", 0, 16, 10, 16)
    body = ftab + func
    header = struct.pack("<IBBBBQQQQQQQQ", MAGIC_GO118, 0, 0, 1, 8, 1, 1, 0x1000, fn_off, cu_off,
                         file_off, pc_off, pcln_tab_off)
    return header + names + cutab + filetab + pctab + body


def test_go118_layout_synthetic() -> None:
    tab = Pclntab.parse(_synthetic_go118())
    assert tab.magic == MAGIC_GO118 and tab.nfunc == 1 and tab.text_start == 0x1000
    f = tab.find_func(0x1003)
    assert f is not None and f.name == "main.f" and (f.entry, f.end) == (0x1000, 0x100A)
    assert f.start_line == 0
    assert [tab.sp_delta(f, pc) for pc in (0x1000, 0x1003, 0x1004, 0x1009)] == [0, 0, 8, 8]
    assert tab.file_line(f, 0x1002) == ("/src/f.go", 7)
    assert tab.file_line(f, 0x1005) == ("/src/f.go", 9)
    assert tab.sp_delta(f, 0x100A) is None  # past the table
    assert tab.find_func(0x100A) is None


def test_func_name_for_print() -> None:
    assert func_name_for_print("main.main") == "main.main"
    assert func_name_for_print("main.Reduce[go.shape.int,go.shape.string]") == "main.Reduce[...]"
    assert func_name_for_print("main.(*Stack[go.shape.string]).Push") == "main.(*Stack[...]).Push"
    assert func_name_for_print("p.T[go.shape.int].M[go.shape.[]int]") == "p.T[...].M[...]"
    assert func_name_for_print("p.F[go.shape.[]int]") == "p.F[...]"
    assert func_name_for_print("a]b[c") == "a]b[c"


@pytest.mark.parametrize("version", VERSIONS)
def test_toolchain_go_binary(version: str) -> None:
    """The release's own `go` command: a big real-world binary (15k+ functions), read symbol-free."""
    path = gotools.goroot(version) / "bin" / "go"
    with open(path, "rb") as fh:
        elf = ELFFile(fh)
        sections = {s.name: (s["sh_addr"], s.data()) for s in elf.iter_sections()
                    if s.name and s["sh_addr"] and s["sh_type"] != "SHT_NOBITS"}
    tab, md = open_pclntab(sections)
    assert tab.nfunc > 10000 and md.text == sections[".text"][0]
    rng = random.Random(7)
    pcs = sorted(rng.randrange(md.minpc, md.maxpc) for _ in range(150))
    out = go_tool(version, "addr2line", str(path), stdin="".join(f"{pc:#x}\n" for pc in pcs)).splitlines()
    for i, pc in enumerate(pcs):
        f = tab.find_func(pc)
        assert f is not None and f.name == out[2 * i]
        if f.pcln and f.pcfile:
            file, line = tab.file_line(f, pc)
            assert (":-1" if line == 0 else f"{file}:{line}") == out[2 * i + 1], hex(pc)
    main = tab.func_by_name("main.main")
    assert main is not None and tab.sp_delta(main, main.entry) == 0
