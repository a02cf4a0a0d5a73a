"""The model facade: one dumped Go process (a core and its executable).

Everything above this layer (render, tui, cli) talks to :class:`GoProcess` only; it never hands out
pyelftools objects. Expensive parts (pclntab, DWARF, goroutines) are computed lazily and cached on
the instance.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from explorer.binary.elf import Executable
from explorer.core import AddressSpace, CoreFile, Region, core_regions, is_elf_core
from explorer.core.elfstructs import EHDR as _EHDR
from explorer.core.elfstructs import PHDR as _PHDR
from explorer.core.elfstructs import parse_notes
from explorer.core.memory import PRIO_EXECUTABLE
from explorer.errors import ExplorerError, InputError, UnreadableMemory
from explorer.gcpause import gc_paused
from explorer.goruntime.backtraces import Backtraces, ThreadInfo

if TYPE_CHECKING:
    from explorer.binary.dwarf import GoDwarf
    from explorer.binary.moduledata import Moduledata
    from explorer.binary.pclntab import Pclntab
    from explorer.goruntime.goroutines import Goroutine, GReader
    from explorer.goruntime.layout import Layout


@dataclass(frozen=True)
class Warning_:
    """Something the user must know about the inputs (mismatched build, truncated core...)."""

    code: str
    message: str


def order_inputs(a: str | os.PathLike[str], b: str | os.PathLike[str] | None) -> tuple[Path, Path | None]:
    """Tell the core from the executable by their ELF headers; returns (core, executable-or-None)."""
    pa = Path(a)
    pb = Path(b) if b is not None else None
    for p in (pa, pb):
        if p is not None and not p.exists():
            raise InputError(f"{p}: no such file")
    if pb is None:
        return pa, None
    ka, kb = is_elf_core(pa), is_elf_core(pb)
    if ka is False and kb is True:
        return pb, pa
    return pa, pb


# ---------------------------------------------------------------------------------------------------
# The Go runtime's state: pclntab, layouts, goroutines, threads.


class _Runtime(Backtraces):
    """Mixin of GoProcess: the runtime's data structures (kept apart for readability)."""

    exe: Executable
    core: CoreFile
    goroutine_errors: list[str]
    dwarf_error: str | None = None
    if TYPE_CHECKING:  # provided by GoProcess

        @property
        def memory(self) -> AddressSpace: ...
        @property
        def pie_bias(self) -> int: ...
        @property
        def go_version(self) -> str | None: ...

    @cached_property
    def go_minor(self) -> int | None:
        from explorer.goruntime.layout import go_minor

        return go_minor(self.go_version)

    @cached_property
    def pclntab(self) -> Pclntab:
        from explorer.binary.moduledata import pclntab_section
        from explorer.binary.pclntab import Pclntab, parse_header

        try:
            _name, (_addr, data) = pclntab_section(
                {n: (s.addr, d) for n, s in self.exe.sections.items()
                 if "gopclntab" in n and (d := self.exe.section_data(n)) is not None})
        except ExplorerError:
            data = None
        if data is None:
            from explorer.errors import NotGoError

            raise NotGoError(f"{self.exe.path}: no .gopclntab section: not a Go program (or sections stripped)")
        hdr = parse_header(data)
        text = hdr.text_start
        if not text:
            text = self.exe.symbol("runtime.text") or 0
        if not text:
            md = self.moduledata
            text = md.text if md is not None else 0
        if not text:
            sec = self.exe.sections.get(".text")
            text = sec.addr if sec else 0
        return Pclntab.parse(data, text_start=text + self.pie_bias)

    @cached_property
    def moduledata(self) -> Moduledata | None:
        """runtime.firstmoduledata, found without symbols (None if it cannot be found)."""
        from explorer.binary.moduledata import find_moduledata

        sections = {}
        for name, sec in self.exe.sections.items():
            data = self.exe.section_data(name)
            # firstmoduledata is in .noptrdata up to Go 1.25 and in .go.module from 1.26.
            if data is not None and sec.addr and name.startswith((".gopclntab", ".data", ".noptrdata", ".go.")):
                sections[name] = (sec.addr, data)
        try:
            return find_moduledata(sections, go_minor=self.go_minor)
        except ExplorerError:
            return None

    @cached_property
    def gofunc(self) -> int:
        """Address of go:func.* (moduledata.gofunc): the base of funcdata such as inline trees."""
        sym = self.exe.symbol("go:func.*")
        if sym is not None:
            return sym + self.pie_bias
        md = self.moduledata
        if md is not None:
            return int(md.gofunc) + self.pie_bias
        return 0

    @cached_property
    def dwarf(self) -> GoDwarf | None:
        """The lazy DWARF index, or None for stripped binaries."""
        if not self.exe.has_dwarf:
            return None
        from explorer.binary.dwarf import GoDwarf

        try:
            return GoDwarf.from_elffile(self.exe.elf)
        except ExplorerError:
            return None

    @cached_property
    def layout(self) -> Layout:
        from explorer.goruntime.layout import DwarfLayout, Layout, LayoutError, TableLayout

        if self.dwarf is not None:
            try:
                if self.dwarf.type_by_name("runtime.g") is not None:
                    return Layout(DwarfLayout(self.dwarf), "DWARF")
            except ExplorerError as e:
                # Corrupt DWARF: treat it as absent; goroutines and backtraces still work from
                # the generated table.
                self.dwarf_error = str(e)
                self.__dict__["dwarf"] = None
        minor = self.go_minor
        if minor is None:
            raise LayoutError("unknown Go version and no DWARF: cannot read the runtime's structures")
        table = TableLayout(minor, self.core.arch)
        return Layout(table, f"generated table for Go {table.key}")

    def global_addr(self, name: str) -> int | None:
        """Address of a package-level variable: symbols, then DWARF; None if neither has it."""
        sym = self.exe.symbol(name)
        if sym is not None:
            return sym + self.pie_bias
        if self.dwarf is not None:
            gv = self.dwarf.global_var(name)
            if gv is not None:
                return int(gv[0]) + self.pie_bias
        return None

    def _global_array_len(self, name: str) -> int | None:
        if self.dwarf is None:
            return None
        gv = self.dwarf.global_var(name)
        if gv is None:
            return None
        t = gv[1]
        count = getattr(t, "count", None)
        return int(count) if count is not None else None

    @cached_property
    def wait_reasons(self) -> list[str]:
        """runtime.waitReasonStrings, read from the binary (its numbering moves between releases)."""
        from explorer.goruntime.heuristics import find_string_array, read_string_array

        addr = self.global_addr("runtime.waitReasonStrings")
        count = self._global_array_len("runtime.waitReasonStrings")
        if addr is None:
            addr = find_string_array(self.exe, 1, "GC assist marking", bias=self.pie_bias)
        if addr is None:
            return []
        return read_string_array(self.memory, addr, count)

    @cached_property
    def status_names(self) -> list[str]:
        """runtime.gStatusStrings (idle, runnable, running, ...), read from the binary."""
        from explorer.goruntime.heuristics import find_string_array, read_string_array

        addr = self.global_addr("runtime.gStatusStrings")
        count = self._global_array_len("runtime.gStatusStrings")
        if addr is None:
            addr = find_string_array(self.exe, 1, "runnable", bias=self.pie_bias)
        if addr is None:
            return []
        # Without DWARF the length is unknown: the table has empty holes (statuses 5 and 7), and
        # every name is lower-case words ("waiting for cgo callback", 1.26+).
        names = read_string_array(self.memory, addr, count, max_count=16,
                                  holes=lambda s: all(c.islower() or c == " " for c in s))
        return names if names[:3] == ["idle", "runnable", "running"] else []

    @cached_property
    def greader(self) -> GReader:
        from explorer.goruntime.goroutines import GReader

        return GReader(self.layout, self.status_names, self.wait_reasons)

    def _read_ptr_field(self, struct_name: str, path: str, base: int) -> int | None:
        off = self.layout.offset(struct_name, path)
        if off is None or not base:
            return None
        try:
            return self.memory.read_ptr(base + off)
        except UnreadableMemory:
            return None

    @cached_property
    def thread_infos(self) -> list[ThreadInfo]:
        """Each core thread with its g, M, curg. g is in a register where Go's ABI keeps it there
        (arm64: R28), else in TLS (amd64 pure Go: at fs_base - 8). When that is not a g of its own
        M (a thread in C code, where R28 is the C code's; a cgo build's TLS), the thread's M is the
        one of runtime.allm whose procid is the thread's id, and which g it was on is unknown."""
        out = []
        g_reg = self.core.arch_desc.g_reg
        for t in self.core.threads:
            tls_g = m = curg = g0 = gsignal = None
            if g_reg is not None:
                tls_g = t.regs.get(g_reg)
            else:
                fs = t.regs.get("fs_base", 0)
                try:
                    tls_g = self.memory.read_ptr(fs - 8) if fs >= 8 else None
                except UnreadableMemory:
                    tls_g = None
            if tls_g:
                m = self._read_ptr_field("runtime.g", "m", tls_g)
            if m:
                curg = self._read_ptr_field("runtime.m", "curg", m) or None
                g0 = self._read_ptr_field("runtime.m", "g0", m) or None
                gsignal = self._read_ptr_field("runtime.m", "gsignal", m) or None
            if not tls_g or tls_g not in (g0, gsignal, curg):
                by_tid = self.ms_by_procid.get(t.tid)
                if by_tid is not None:
                    tls_g, m = None, by_tid
                    curg = self._read_ptr_field("runtime.m", "curg", m) or None
                    g0 = self._read_ptr_field("runtime.m", "g0", m) or None
                    gsignal = self._read_ptr_field("runtime.m", "gsignal", m) or None
            if tls_g and tls_g == g0:
                on = "g0"
            elif tls_g and tls_g == gsignal:
                on = "gsignal"
            elif tls_g and tls_g == curg:
                on = "g"
            else:
                on = "?"
            out.append(ThreadInfo(t.tid, t.index, t.regs, tls_g or None, m or None, curg, g0, gsignal, on,
                                  self._vdso_of(m)))
        return out

    def _vdso_of(self, m: int | None) -> tuple[int, int] | None:
        """(m.vdsoPC, m.vdsoSP) when the M is inside a vDSO call (vdsoSP != 0), else None."""
        if not m:
            return None
        sp = self._read_ptr_field("runtime.m", "vdsoSP", m)
        pc = self._read_ptr_field("runtime.m", "vdsoPC", m)
        return (pc, sp) if sp and pc else None

    @cached_property
    def ms_by_procid(self) -> dict[int, int]:
        """The Ms of runtime.allm (linked by m.alllink) by thread id (m.procid); empty when allm
        cannot be found (stripped binaries) or read."""
        out: dict[int, int] = {}
        addr = self.global_addr("runtime.allm")
        m = None
        if addr:
            try:
                m = self.memory.read_ptr(addr)
            except UnreadableMemory:
                m = None
        seen: set[int] = set()
        while m and m not in seen and len(seen) < 1 << 16:
            seen.add(m)
            procid = self._read_ptr_field("runtime.m", "procid", m)
            if procid:
                out.setdefault(procid, m)
            m = self._read_ptr_field("runtime.m", "alllink", m)
        return out

    @cached_property
    def allgs_addr(self) -> int:
        from explorer.goruntime.heuristics import find_allgs
        from explorer.goruntime.layout import LayoutError

        addr = self.global_addr("runtime.allgs")
        if addr is not None:
            return addr
        known = [ti.curg for ti in self.thread_infos if ti.curg]
        reader = self.greader
        found = find_allgs(self.exe, self.memory, known, lambda g: reader.looks_like_g(self.memory, g),
                           bias=self.pie_bias)
        if found is None:
            raise LayoutError("cannot find runtime.allgs (no symbols, no DWARF, and no validated candidate)")
        return found

    @cached_property
    def all_goroutines(self) -> list[Goroutine]:
        """Every g of runtime.allgs, dead ones included, with the thread running it."""
        from explorer.goruntime.goroutines import read_allgs

        with gc_paused():
            gs, self.goroutine_errors = read_allgs(self.memory, self.allgs_addr, self.greader,
                                                   self.core.release_pages, known=self._known_gs)
        self._assign_threads(gs)
        return gs

    @cached_property
    def _known_gs(self) -> dict[int, Goroutine]:
        """The gs read before the whole list (the crashed one, the first page), by address: the
        list then holds these same objects."""
        return {}

    def _assign_threads(self, gs: Sequence[Goroutine]) -> None:
        m_to_tid = {ti.m: ti.tid for ti in self.thread_infos if ti.m}
        curg_to_tid = {ti.curg: ti.tid for ti in self.thread_infos if ti.curg}
        for g in gs:
            tid = curg_to_tid.get(g.addr)
            if tid is None and g.status == "running" and g.m:
                tid = m_to_tid.get(g.m)
            g.thread = tid

    @cached_property
    def goroutines(self) -> list[Goroutine]:
        """The goroutines that exist (not dead, as the runtime's traceback skips them), in allgs order."""
        return [g for g in self.all_goroutines if not g.dead]

    def goroutine_prefix(self, entries: int) -> list[Goroutine]:
        """The live goroutines among the first ``entries`` entries of allgs, in order: the start of
        :attr:`goroutines` (the same objects) without reading them all (the TUI's first screen)."""
        if "all_goroutines" in self.__dict__:
            return [g for g in self.all_goroutines[:entries] if not g.dead]
        from explorer.goruntime.goroutines import read_allgs

        gs, _errors = read_allgs(self.memory, self.allgs_addr, self.greader, limit=entries, known=self._known_gs)
        self._assign_threads(gs)
        self._known_gs.update((g.addr, g) for g in gs)
        return [g for g in gs if not g.dead]

    def goroutine(self, gid: int) -> Goroutine:
        for g in self.all_goroutines:
            if g.id == gid:
                return g
        raise ExplorerError(f"no goroutine {gid}")

    @cached_property
    def crashed_thread(self) -> ThreadInfo | None:
        """The thread that received the fatal signal.

        The kernel writes the dumping thread first, but with GOTRACEBACK=crash the runtime relays
        SIGQUIT from thread to thread so each prints its stack, and before Go 1.22 the last one
        dumps core. So: the first thread whose outermost signal frame delivered a signal other than
        the relayed SIGQUIT; failing that, the kernel's first thread.
        """
        threads = self.thread_infos
        for ti in threads:
            sigs = [f.signal for f in self.thread_backtrace(ti).frames if f.signal is not None]
            if sigs and sigs[-1] != 3:
                return ti
        return threads[0] if threads else None

    @cached_property
    def crashed_goroutine(self) -> Goroutine | None:
        """The goroutine the crashing thread was running (None for a crash on a system stack, such
        as the scheduler's "all goroutines are asleep")."""
        t = self.crashed_thread
        if t is None or not t.curg:
            return None
        return self.goroutine_at(t.curg)

    def goroutine_at(self, addr: int) -> Goroutine | None:
        """The goroutine whose g is at ``addr`` (a thread's ``m.curg``), or None when no allgs entry
        is. Without reading every goroutine when they have not been read (100,000 take a second):
        the first allgs entry that is ``addr``, read and checked as read_allgs would."""
        if "all_goroutines" in self.__dict__:
            return next((g for g in self.all_goroutines if g.addr == addr), None)
        known = self._known_gs.get(addr)
        if known is not None:
            return known
        from explorer.goruntime.goroutines import allgs_array, first_entry, implausible

        arr, _errors = allgs_array(self.memory, self.allgs_addr)
        if first_entry(arr, addr) is None:
            return None
        try:
            g = self.greader.read(self.memory, addr)
        except ExplorerError:
            return None
        if implausible(g):
            return None
        self._assign_threads([g])
        self._known_gs[g.addr] = g
        return g


class GoProcess(_Runtime):
    """A Go process as its core dump left it.

    Open with :meth:`open`; close with :meth:`close` (or use as a context manager).
    """

    def __init__(self, core: CoreFile, exe: Executable) -> None:
        self.core = core
        self.exe = exe
        exe.require_go()
        self.arch = core.arch
        if exe.arch != core.arch:
            raise InputError(f"{exe.path} is {exe.arch} but the core is {core.arch}")

    @classmethod
    def open(cls, core_path: str | os.PathLike[str], exe_path: str | os.PathLike[str] | None = None) -> GoProcess:
        """Open a core (compressed or not) and its executable (found from the core if omitted)."""
        cpath, epath = order_inputs(core_path, exe_path)
        core = CoreFile.open(cpath)
        try:
            if epath is None:
                named = core.executable_path
                if not named or not Path(named).is_file():
                    raise InputError(
                        f"{cpath}: no executable given, and the one the core names "
                        f"({named or 'none'}) does not exist: pass the binary as the second argument"
                    )
                epath = Path(named)
            exe = Executable(epath)
            return cls(core, exe)
        except BaseException:
            core.close()
            raise

    def close(self) -> None:
        self.core.close()
        self.exe.close()

    def __enter__(self) -> GoProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- memory ----------------------------------------------------------------------------------

    @cached_property
    def pie_bias(self) -> int:
        """Load bias of a PIE executable: AT_ENTRY minus e_entry (0 for non-PIE)."""
        at_entry = self.core.notes.auxv.get(9)
        if self.exe.is_pie and at_entry is not None:
            return at_entry - self.exe.entry
        return 0

    @cached_property
    def memory(self) -> AddressSpace:
        """The core's bytes over the executable's (text, rodata and pclntab often live only there)."""
        regions = core_regions(self.core)
        for seg in self.exe.segments:
            start = seg.vaddr + self.pie_bias
            if seg.filesz:
                regions.append(Region(start, start + seg.filesz, self.exe.data, seg.offset, PRIO_EXECUTABLE,
                                      source="executable"))
        return AddressSpace(regions)

    # -- identity --------------------------------------------------------------------------------

    @cached_property
    def core_build_id(self) -> str | None:
        """The Go build ID in the core's copy of the executable's first page, if the core kept it."""
        base = min((s.vaddr for s in self.exe.segments), default=None)
        if base is None:
            return None
        base += self.pie_bias
        core_only = AddressSpace(core_regions(self.core))
        try:
            hdr = _EHDR.unpack(core_only.read(base, _EHDR.size))
        except ExplorerError:
            return None
        if hdr[0][:4] != b"\x7fELF":
            return None
        phoff, phentsize, phnum = hdr[5], hdr[9], hdr[10]
        if phentsize != _PHDR.size or phnum > 64:
            return None
        for i in range(phnum):
            try:
                ph = _PHDR.unpack(core_only.read(base + phoff + i * _PHDR.size, _PHDR.size))
            except ExplorerError:
                return None
            if ph[0] == 4:  # PT_NOTE
                data = core_only.try_read(ph[3] + self.pie_bias, min(ph[5], 4096))
                if data is None:
                    continue
                for name, ntype, desc in parse_notes(data):
                    if name == "Go" and ntype == 4:
                        return desc.decode("utf-8", "replace")
        return None

    @property
    def build_id_match(self) -> bool | None:
        """True/False when the core's copy of the build ID is known, None when it is not."""
        core_id = self.core_build_id
        mine = self.exe.go_build_id
        if core_id is None or mine is None:
            return None
        return core_id == mine

    @cached_property
    def warnings(self) -> list[Warning_]:
        """What the user must be told before trusting anything shown."""
        out: list[Warning_] = []
        if self.build_id_match is False:
            out.append(Warning_("build_id_mismatch",
                                f"the executable {self.exe.path} is not the one that dumped this core "
                                f"(build ID {self.exe.go_build_id} != {self.core_build_id}): values "
                                f"and backtraces may be wrong"))
        named = self.core.executable_path
        if named and self.build_id_match is None and Path(named).name != self.exe.path.name:
            out.append(Warning_("name_mismatch",
                                f"the core was dumped by {named}, not {self.exe.path}"))
        if self.core.truncated:
            out.append(Warning_("core_truncated",
                                f"the core file is truncated: {self.core.missing_bytes} bytes of "
                                f"{self.core.expected_size} are missing; what they held reads as unreadable"))
        if self.exe.has_dwarf and getattr(self, "dwarf_error", None) is None:
            try:
                _ = self.layout
            except ExplorerError:
                pass
        if getattr(self, "dwarf_error", None):
            out.append(Warning_("dwarf_unusable", f"the executable's DWARF cannot be read ({self.dwarf_error}): "
                                "goroutines and backtraces work, typed variables may not"))
        if not self.exe.has_dwarf:
            out.append(Warning_("no_dwarf",
                                "the executable has no DWARF (stripped): goroutines and backtraces "
                                "work, typed variables cannot be shown"))
        return out

    @cached_property
    def go_version(self) -> str | None:
        return self.exe.go_version
