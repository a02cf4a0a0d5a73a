"""Find and decode ``runtime.firstmoduledata`` without symbols (works on ``-ldflags=-s -w`` builds).

The linker writes ``runtime.firstmoduledata`` into ``.noptrdata`` (up to Go 1.25) or a section of
its own, ``.go.module`` (Go 1.26+, symbol kind SMODULEDATA); its first word is the address of
``runtime.pcheader``, the start of ``.gopclntab``. So we scan ``.go.module``, ``.noptrdata`` (then
``.data`` and the rest) for an aligned pointer equal to the pclntab's address and accept the first hit whose following
slices (funcnametab, cutab, filetab, pctab, pclntable, ftab) point where the pclntab header says
they are. That gives ``moduledata.text`` — the text base Go 1.26+ no longer stores in the pclntab
header — and ``gofunc`` (where inline trees live), ``types``, the data/bss bounds, ...

Layouts (from ``runtime/symtab.go`` ``type moduledata`` and ``cmd/link/internal/ld/symtab.go``
of each release; checked against the ``runtime.moduledata`` DWARF type in the tests):

* Go 1.21–1.25: ``... types, etypes, rodata, gofunc, textsectmap, typelinks, itablinks, ptab,
  pluginpath, pkghashes, inittasks, modulename, modulehashes, hasmain`` (1.23 moved ``bad`` next to
  ``hasmain``, after every field read here).
* Go 1.26: ``epclntab`` added after ``gofunc`` (``go:func.*`` moved into ``.gopclntab``).
* Go 1.27: ``types, typedesclen, etypes, itaboffset, itabsize, rodata, gofunc, epclntab,
  textsectmap, ptab, ...`` — ``typelinks`` and ``itablinks`` are gone.

Every field before ``hasmain`` is a pointer, uintptr, slice (3 words) or string (2 words), so the
offsets are counted in words. Go 1.18–1.20 layouts are not handled.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from explorer.binary.pcheader import PcHeader, parse_header
from explorer.binary.pclntab import Pclntab
from explorer.errors import BinaryFormatError, NotGoError

SectionBytes = tuple[int, bytes | bytearray | memoryview]
"""A section as ``(virtual address, contents)``."""

_PTR, _SLICE, _STRING, _U8 = "ptr", "slice", "string", "u8"

_HEAD: tuple[tuple[str, str], ...] = (
    ("pcHeader", _PTR), ("funcnametab", _SLICE), ("cutab", _SLICE), ("filetab", _SLICE),
    ("pctab", _SLICE), ("pclntable", _SLICE), ("ftab", _SLICE), ("findfunctab", _PTR),
    ("minpc", _PTR), ("maxpc", _PTR), ("text", _PTR), ("etext", _PTR), ("noptrdata", _PTR),
    ("enoptrdata", _PTR), ("data", _PTR), ("edata", _PTR), ("bss", _PTR), ("ebss", _PTR),
    ("noptrbss", _PTR), ("enoptrbss", _PTR), ("covctrs", _PTR), ("ecovctrs", _PTR), ("end", _PTR),
    ("gcdata", _PTR), ("gcbss", _PTR), ("types", _PTR),
)
_TAIL: tuple[tuple[str, str], ...] = (
    ("ptab", _SLICE), ("pluginpath", _STRING), ("pkghashes", _SLICE), ("inittasks", _SLICE),
    ("modulename", _STRING), ("modulehashes", _SLICE), ("hasmain", _U8),
)

# Layout name → (Go minor releases, fields in order). Sources: runtime/symtab.go `type moduledata`.
LAYOUTS: dict[str, tuple[tuple[int, ...], tuple[tuple[str, str], ...]]] = {
    "go1.27": ((27,), (
        *_HEAD, ("typedesclen", _PTR), ("etypes", _PTR), ("itaboffset", _PTR), ("itabsize", _PTR),
        ("rodata", _PTR), ("gofunc", _PTR), ("epclntab", _PTR), ("textsectmap", _SLICE), *_TAIL,
    )),
    "go1.26": ((26,), (
        *_HEAD, ("etypes", _PTR), ("rodata", _PTR), ("gofunc", _PTR), ("epclntab", _PTR),
        ("textsectmap", _SLICE), ("typelinks", _SLICE), ("itablinks", _SLICE), *_TAIL,
    )),
    "go1.21": ((21, 22, 23, 24, 25), (
        *_HEAD, ("etypes", _PTR), ("rodata", _PTR), ("gofunc", _PTR),
        ("textsectmap", _SLICE), ("typelinks", _SLICE), ("itablinks", _SLICE), *_TAIL,
    )),
}

_KIND_WORDS = {_PTR: 1, _SLICE: 3, _STRING: 2, _U8: 1}
_PCLNTAB_NAMES = (".gopclntab", ".data.rel.ro.gopclntab", "__gopclntab")
_NOT_DATA = (".text", ".debug", ".zdebug", ".symtab", ".strtab", ".shstrtab", ".rela", ".note",
             ".interp", ".dynsym", ".dynstr", ".gnu", ".rodata", ".typelink", ".itablink", ".go.buildinfo")
_SCAN_FIRST = (".go.module", ".noptrdata", ".data", ".data.rel.ro", "__noptrdata", "__data")


def layout_offsets(layout: str, ptr_size: int = 8) -> dict[str, int]:
    """Byte offset of each field of ``runtime.moduledata`` in ``layout`` (a key of LAYOUTS)."""
    out: dict[str, int] = {}
    words = 0
    for name, kind in LAYOUTS[layout][1]:
        out[name] = words * ptr_size
        words += _KIND_WORDS[kind]
    return out


def layout_for_minor(go_minor: int) -> str:
    """The layout name for Go 1.``go_minor``."""
    for name, (minors, _fields) in LAYOUTS.items():
        if go_minor in minors:
            return name
    raise BinaryFormatError(f"moduledata layout of Go 1.{go_minor} is not known (1.21–1.27 are)")


@dataclass(frozen=True, slots=True)
class GoSlice:
    """A Go slice header."""

    ptr: int
    len: int
    cap: int


@dataclass(frozen=True, slots=True)
class Moduledata:
    """The fields of ``runtime.firstmoduledata`` that a debugger needs (addresses are link-time)."""

    address: int  # where firstmoduledata itself lives
    layout: str  # a key of LAYOUTS
    ptr_size: int
    pc_header: int
    funcnametab: GoSlice
    cutab: GoSlice
    filetab: GoSlice
    pctab: GoSlice
    pclntable: GoSlice
    ftab: GoSlice
    findfunctab: int
    minpc: int
    maxpc: int
    text: int
    etext: int
    noptrdata: int
    enoptrdata: int
    data: int
    edata: int
    bss: int
    ebss: int
    noptrbss: int
    enoptrbss: int
    covctrs: int
    ecovctrs: int
    end: int
    gcdata: int
    gcbss: int
    types: int
    etypes: int
    rodata: int
    gofunc: int  # the go:func.* symbol: funcdata (inline trees, stack maps) are at gofunc + offset
    textsectmap: GoSlice
    typelinks: GoSlice | None  # gone in Go 1.27
    itablinks: GoSlice | None  # gone in Go 1.27
    epclntab: int | None  # Go 1.26+
    typedesclen: int | None  # Go 1.27+
    itaboffset: int | None  # Go 1.27+
    itabsize: int | None  # Go 1.27+
    text_sections: tuple[tuple[int, int, int], ...] = ()  # textsectmap entries (vaddr, end, baseaddr)
    offsets: Mapping[str, int] = field(default_factory=dict)  # field → byte offset in this layout

    def field_address(self, name: str) -> int:
        """Address of field ``name`` inside firstmoduledata."""
        return self.address + self.offsets[name]


def pclntab_section(sections: Mapping[str, SectionBytes]) -> tuple[str, SectionBytes]:
    """The ``.gopclntab`` section (``.data.rel.ro.gopclntab`` in relro builds up to Go 1.25)."""
    for name in _PCLNTAB_NAMES:
        if name in sections:
            return name, sections[name]
    raise NotGoError("no .gopclntab section: not a Go executable")


def find_moduledata(sections: Mapping[str, SectionBytes], *, ptr_size: int | None = None,
                    go_minor: int | None = None, pclntab_addr: int | None = None) -> Moduledata:
    """Locate ``runtime.firstmoduledata`` by content and decode it.

    ``sections`` maps section names to ``(vaddr, bytes)`` (at least ``.gopclntab`` and
    ``.noptrdata``; ``.data`` and others are scanned if given). ``go_minor`` (e.g. 26) picks the
    layout; without it every known layout is tried and the one whose fields are consistent wins.
    ``pclntab_addr`` overrides where the pclntab is (when it is not a section of its own).
    """
    if pclntab_addr is None:
        _, (pcln_addr, pcln_data) = pclntab_section(sections)
    else:
        found = _containing(sections, pclntab_addr)
        if found is None:
            raise BinaryFormatError(f"no section holds the pclntab address {pclntab_addr:#x}")
        base, blob = found
        pcln_addr, pcln_data = pclntab_addr, blob[pclntab_addr - base :]
    hdr = parse_header(pcln_data)
    if ptr_size is not None and ptr_size != hdr.ptr_size:
        raise BinaryFormatError(f"pclntab pointer size {hdr.ptr_size} differs from {ptr_size}")
    ps = hdr.ptr_size
    bo = hdr.byteorder
    needle = struct.pack(bo + ("Q" if ps == 8 else "I"), pcln_addr)
    layouts = [layout_for_minor(go_minor)] if go_minor is not None else list(LAYOUTS)
    pcln_end = pcln_addr + len(pcln_data)

    order = [n for n in _SCAN_FIRST if n in sections]
    # Then any other section that may hold data (not code, tables, DWARF or symbols).
    order += [n for n in sections if n not in order and n not in _PCLNTAB_NAMES
              and not n.startswith(_NOT_DATA)]
    errors: list[str] = []
    for name in order:
        base, blob = sections[name]
        raw = blob if isinstance(blob, bytes) else bytes(blob)
        pos = raw.find(needle)
        while pos >= 0:
            if (base + pos) % ps == 0:
                for layout in layouts:
                    md = _decode(raw, pos, base, layout, hdr, pcln_addr, pcln_end, sections, errors)
                    if md is not None:
                        return md
            pos = raw.find(needle, pos + 1)
    detail = f" ({errors[0]})" if errors else ""
    raise BinaryFormatError(f"runtime.firstmoduledata not found{detail}")


def _decode(raw: bytes, pos: int, base: int, layout: str, hdr: PcHeader, pcln_addr: int,
            pcln_end: int, sections: Mapping[str, SectionBytes], errors: list[str]) -> Moduledata | None:
    ps = hdr.ptr_size
    fields = LAYOUTS[layout][1]
    nwords = sum(_KIND_WORDS[k] for _, k in fields)
    if pos + nwords * ps > len(raw):
        errors.append(f"{layout} at {base + pos:#x}: runs off the section")
        return None
    words = struct.unpack_from(f"{hdr.byteorder}{nwords}{'Q' if ps == 8 else 'I'}", raw, pos)
    vals: dict[str, int | GoSlice] = {}
    offsets: dict[str, int] = {}
    w = 0
    for name, kind in fields:
        offsets[name] = w * ps
        if kind == _SLICE:
            vals[name] = GoSlice(*words[w : w + 3])
        elif kind != _STRING:
            vals[name] = words[w]
        w += _KIND_WORDS[kind]

    def sl(name: str) -> GoSlice:
        v = vals[name]
        assert isinstance(v, GoSlice)
        return v

    def ptr(name: str) -> int:
        v = vals[name]
        assert isinstance(v, int)
        return v

    problem = _check(layout, sl, ptr, hdr, pcln_addr, pcln_end)
    if problem:
        errors.append(f"{layout} at {base + pos:#x}: {problem}")
        return None
    tsm = sl("textsectmap")
    text_sections: tuple[tuple[int, int, int], ...] = ()
    found = _containing(sections, tsm.ptr, tsm.len * 3 * ps)
    if found is not None:
        sbase, sdata = found
        n = tsm.len * 3
        flat = struct.unpack_from(f"{hdr.byteorder}{n}{'Q' if ps == 8 else 'I'}", sdata, tsm.ptr - sbase)
        text_sections = tuple((flat[i], flat[i + 1], flat[i + 2]) for i in range(0, n, 3))
    opt = vals.get
    return Moduledata(
        address=base + pos, layout=layout, ptr_size=ps, pc_header=ptr("pcHeader"),
        funcnametab=sl("funcnametab"), cutab=sl("cutab"), filetab=sl("filetab"), pctab=sl("pctab"),
        pclntable=sl("pclntable"), ftab=sl("ftab"), findfunctab=ptr("findfunctab"),
        minpc=ptr("minpc"), maxpc=ptr("maxpc"), text=ptr("text"), etext=ptr("etext"),
        noptrdata=ptr("noptrdata"), enoptrdata=ptr("enoptrdata"), data=ptr("data"),
        edata=ptr("edata"), bss=ptr("bss"), ebss=ptr("ebss"), noptrbss=ptr("noptrbss"),
        enoptrbss=ptr("enoptrbss"), covctrs=ptr("covctrs"), ecovctrs=ptr("ecovctrs"), end=ptr("end"),
        gcdata=ptr("gcdata"), gcbss=ptr("gcbss"), types=ptr("types"), etypes=ptr("etypes"),
        rodata=ptr("rodata"), gofunc=ptr("gofunc"), textsectmap=tsm,
        typelinks=sl("typelinks") if "typelinks" in vals else None,
        itablinks=sl("itablinks") if "itablinks" in vals else None,
        epclntab=_int_or_none(opt("epclntab")), typedesclen=_int_or_none(opt("typedesclen")),
        itaboffset=_int_or_none(opt("itaboffset")), itabsize=_int_or_none(opt("itabsize")),
        text_sections=text_sections, offsets=offsets,
    )


def _int_or_none(v: object) -> int | None:
    return v if isinstance(v, int) else None


def _check(layout: str, sl: Callable[[str], GoSlice], ptr: Callable[[str], int], hdr: PcHeader,
           pcln_addr: int, pcln_end: int) -> str | None:
    """Why this candidate is not firstmoduledata in ``layout``, or None when it is consistent."""
    expect = {"funcnametab": hdr.funcname_offset, "cutab": hdr.cu_offset,
              "filetab": hdr.filetab_offset, "pctab": hdr.pctab_offset,
              "pclntable": hdr.pcln_offset, "ftab": hdr.pcln_offset}
    for name, off in expect.items():
        s = sl(name)
        if s.ptr != pcln_addr + off:
            return f"{name} points to {s.ptr:#x}, not pclntab+{off:#x}"
        elem = {"cutab": 4, "ftab": 8}.get(name, 1)
        if s.len != s.cap or s.ptr + elem * s.len > pcln_end:
            return f"{name} slice {s.len}/{s.cap} is not inside .gopclntab"
    if sl("ftab").len != hdr.nfunc + 1:
        return f"ftab has {sl('ftab').len} entries, pclntab says {hdr.nfunc + 1}"
    text, minpc, maxpc, etext = ptr("text"), ptr("minpc"), ptr("maxpc"), ptr("etext")
    if not text <= minpc <= maxpc <= etext:
        return f"text range {text:#x} {minpc:#x} {maxpc:#x} {etext:#x} is inconsistent"
    if ptr("etypes") < ptr("types"):
        return "etypes < types"
    tsm = sl("textsectmap")
    if tsm.len != tsm.cap or not 1 <= tsm.len <= 1024:
        return f"textsectmap {tsm.len}/{tsm.cap} is not a text section list"
    if layout in ("go1.26", "go1.27"):
        gofunc, epclntab = ptr("gofunc"), ptr("epclntab")
        if not pcln_addr <= gofunc <= epclntab <= pcln_end:
            return f"gofunc {gofunc:#x}/epclntab {epclntab:#x} are not inside .gopclntab"
    if layout == "go1.27" and ptr("typedesclen") > ptr("etypes") - ptr("types"):
        return "typedesclen is larger than types..etypes"
    if layout in ("go1.21", "go1.26"):
        for name in ("typelinks", "itablinks"):
            s = sl(name)
            if s.len != s.cap:
                return f"{name} slice {s.len}/{s.cap} is not a linker slice"
    return None


def _containing(sections: Mapping[str, SectionBytes], addr: int,
                size: int = 1) -> tuple[int, bytes | bytearray | memoryview] | None:
    for base, data in sections.values():
        if base <= addr and addr + size <= base + len(data):
            return base, data
    return None


def open_pclntab(sections: Mapping[str, SectionBytes], *,
                 go_minor: int | None = None) -> tuple[Pclntab, Moduledata]:
    """Parse ``.gopclntab`` with the text base (and text sections) of firstmoduledata."""
    md = find_moduledata(sections, go_minor=go_minor)
    _, (_addr, data) = pclntab_section(sections)
    text_sections: Sequence[tuple[int, int, int]] | None = md.text_sections or None
    return Pclntab.parse(data, text_start=md.text, text_sections=text_sections), md


def text_start(sections: Mapping[str, SectionBytes], *, go_minor: int | None = None) -> int:
    """``moduledata.text`` (the ``runtime.text`` address) found without symbols."""
    return find_moduledata(sections, go_minor=go_minor).text


__all__ = [
    "LAYOUTS",
    "GoSlice",
    "Moduledata",
    "SectionBytes",
    "find_moduledata",
    "layout_for_minor",
    "layout_offsets",
    "open_pclntab",
    "pclntab_section",
    "text_start",
]
