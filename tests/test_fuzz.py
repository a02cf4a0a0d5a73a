"""Fuzzing: real corpus cores and executables, mutated, through every command. Each outcome must be
a result or one clear error (an :class:`~explorer.errors.ExplorerError`), within a time bound.

What is mutated, and how:

- the core file (ELF header, program headers, notes: registers, NT_FILE, auxv, siginfo) and its
  length (truncation), on a sparse copy written with ``os.pwrite`` and restored after each example;
- the executable (ELF, program and section headers, ``.gopclntab``, ``.go.buildinfo``,
  ``runtime.firstmoduledata``, the build ID note), on a copy, the same way;
- the ``.gopclntab`` bytes given to the parser, and then to the unwinder of a real process;
- the decompressed DWARF sections (``.debug_info`` of the runtime and main units, abbreviations,
  lines, frames, locations, ranges) given to the DWARF reader of a real process;
- the process's memory, without touching files (an overlay region over the core, as in
  tests/test_grouping.py): ``runtime.allgs``' header and array, ``g`` structs, ``m`` structs,
  goroutine stacks, the TLS slot of each thread, the runtime's string tables, panics, labels, and
  heap objects reachable from the program's globals (maps, slices, strings, channels, pointers).

Every example runs under a wall-clock guard (SIGALRM): a hang is a failure. Commands run in-process
with ``GOCORE_TUI_DEBUG=1``, so an unexpected exception fails with its traceback.

In CI the run is bounded and reproducible: hypothesis derandomized (its seed is derived from each
test), about 3,700 examples in all (1,000 of them for the expression parser alone, which is cheap),
about 2 minutes with cached cores. For a longer run::

    GOCORE_TUI_FUZZ_EXAMPLES=5000 python -m pytest -q tests/test_fuzz.py   # examples per test
    GOCORE_TUI_FUZZ_SCALE=10 ...                                            # or 10x each test's own
    GOCORE_TUI_FUZZ_SEED=123 ...                                            # another random seed

or ``scripts/fuzz.sh`` (a fresh seed, printed, and ten times the examples). Each failure such a run
finds becomes an explicit ``@example`` here, with its fix.

``GOCORE_TUI_FUZZ_TIMEOUT`` (seconds, default 30) is the per-example bound.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import struct
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, example, given, seed, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))

import gotools
from corpus import CoreCase
from test_bad_inputs import PRIMARY, cli, fresh_process, overlay, sparse_copy, time_limit

from explorer.binary.pclntab import Func
from explorer.core import CoreFile
from explorer.errors import ExplorerError
from explorer.goruntime.process import GoProcess
from explorer.render.valuejson import value_json
from explorer.render.values import named_children, summary

EXAMPLE_LIMIT = float(os.environ.get("GOCORE_TUI_FUZZ_TIMEOUT", "30"))
_EXAMPLES = os.environ.get("GOCORE_TUI_FUZZ_EXAMPLES")
_SEED = os.environ.get("GOCORE_TUI_FUZZ_SEED")
_SCALE = float(os.environ.get("GOCORE_TUI_FUZZ_SCALE", "1"))


def fuzz(examples: int) -> Callable[[Any], Any]:
    """Hypothesis settings of a fuzz test: ``examples`` in CI (or $GOCORE_TUI_FUZZ_EXAMPLES, or that
    times $GOCORE_TUI_FUZZ_SCALE), derandomized unless $GOCORE_TUI_FUZZ_SEED is set, no example
    database, no deadline (the wall-clock guard is :func:`time_limit`)."""
    n = int(_EXAMPLES) if _EXAMPLES else int(examples * _SCALE)
    conf = settings(max_examples=n, deadline=None, derandomize=_SEED is None, database=None,
                    suppress_health_check=list(HealthCheck), print_blob=True,
                    phases=(Phase.explicit, Phase.generate, Phase.shrink))

    def wrap(test: Any) -> Any:
        test = conf(test)
        return seed(int(_SEED))(test) if _SEED is not None else test

    return wrap


# --------------------------------------------------------------------------------------------------
# Values and mutations


def interesting(width: int, extra: Sequence[int] = ()) -> st.SearchStrategy[int]:
    """Values of ``width`` bytes that break parsers: limits, sign bits, off-by-ones, real addresses."""
    top = (1 << 8 * width) - 1
    special = [0, 1, 2, 7, 8, 0x7F, 0x80, 0xFF, top, top >> 1, (top >> 1) + 1, 0x1000, 0x10000,
               *(v & top for v in extra)]
    return st.one_of(st.sampled_from(sorted(set(v & top for v in special))), st.integers(0, top))


@dataclass
class Mutation:
    kind: str  # the key of the range it falls in
    offset: int
    data: bytes


def draw_mutations(data: st.DataObject, ranges: dict[str, list[tuple[int, int]]],
                   extra: Sequence[int] = (), max_count: int = 6) -> list[Mutation]:
    """Overwrites at offsets inside the named ranges (``{kind: [(start, length)]}``)."""
    out = []
    for _ in range(data.draw(st.integers(1, max_count), label="mutations")):
        kind = data.draw(st.sampled_from(sorted(ranges)), label="where")
        start, length = data.draw(st.sampled_from(ranges[kind]))
        width = data.draw(st.sampled_from([1, 2, 4, 8]))
        off = start + data.draw(st.integers(0, max(length - 1, 0)))
        if data.draw(st.booleans()):
            raw = data.draw(interesting(width, extra)).to_bytes(width, "little")
        else:
            raw = data.draw(st.binary(min_size=1, max_size=16))
        out.append(Mutation(kind, off, raw))
    return out


@contextlib.contextmanager
def mutated(path: Path, original: Path, mutations: Sequence[Mutation]) -> Iterator[None]:
    """Write ``mutations`` into ``path`` (a copy of ``original``) and put the original bytes back."""
    with open(path, "r+b") as fh, open(original, "rb") as orig:
        saved = []
        for m in mutations:
            saved.append((m.offset, os.pread(orig.fileno(), len(m.data), m.offset)))
        try:
            for m in mutations:
                os.pwrite(fh.fileno(), m.data, m.offset)
            yield
        finally:
            for off, raw in reversed(saved):
                os.pwrite(fh.fileno(), raw, off)
            size = os.fstat(orig.fileno()).st_size
            if os.fstat(fh.fileno()).st_size != size:
                fh.truncate(size)


def run_commands(data: st.DataObject, commands: Sequence[Sequence[str]], core: str | Path = "CORE",
                 binary: str | Path = "BINARY", proc: GoProcess | None = None,
                 first: Sequence[str] = ("info", "--json"), count: int = 2) -> None:
    """``first`` and ``count`` more commands drawn from ``commands``, all within EXAMPLE_LIMIT."""
    chosen = [list(first), *data.draw(st.lists(st.sampled_from([list(c) for c in commands]), min_size=count,
                                               max_size=count, unique_by=tuple), label="commands")]
    with time_limit(EXAMPLE_LIMIT):
        for args in chosen:
            cli(args[0], core, binary, *args[1:], proc=proc, limit=EXAMPLE_LIMIT + 5)


# Commands for a core whose every part may be damaged; NEEDS_DWARF ones only with an unstripped binary.
BASIC = [["goroutines", "--json", "--stacks"], ["goroutines", "--format", "traceback"], ["goroutines", "--group"],
         ["goroutines"], ["bt"], ["bt", "--json", "-g", "1"], ["bt", "-g", "2"], ["info"],
         ["x", "0xc000000000", "-n", "256"], ["goroutines", "--filter", "main", "--json"]]
NEEDS_DWARF = [["vars", "--json"], ["vars", "-f", "3"], ["print", "main.registry"],
               ["print", "--json", "main.busyStatuses"], ["print", "runtime.allgs[1].sched"],
               ["x", "main.waits"], ["print", "--json", "main.registry.byKey"], ["print", "runtime.allm.curg"]]


# --------------------------------------------------------------------------------------------------
# Fixtures: corpus files and copies to mutate


@dataclass
class Work:
    case: CoreCase
    core: Path  # a sparse copy of case.core to mutate
    binary: Path  # a copy of case.binary to mutate
    ranges: dict[str, list[tuple[int, int]]] = field(default_factory=dict)

    def __repr__(self) -> str:  # hypothesis prints fixtures in a falsifying example: keep it short
        return f"Work({self.case.id}: {self.core}, {self.binary})"


def _copies(case: CoreCase, tmp: Path) -> Work:
    tmp.mkdir(parents=True, exist_ok=True)
    core, binary = tmp / "core", tmp / case.binary.name
    sparse_copy(case.core, core)
    shutil.copyfile(case.binary, binary)
    return Work(case, core, binary)


@pytest.fixture(scope="module")
def stripped_panic(corpus: Any, tmp_path_factory: pytest.TempPathFactory) -> Work:
    """The stripped build's panic core: no DWARF to parse, so an example costs milliseconds."""
    return _copies(corpus(PRIMARY, "stripped", "panic"), tmp_path_factory.mktemp("stripped"))


@pytest.fixture(scope="module")
def opt_waits(corpus: Any, tmp_path_factory: pytest.TempPathFactory) -> Work:
    return _copies(corpus(PRIMARY, "opt", "waits"), tmp_path_factory.mktemp("opt"))


def core_ranges(path: Path) -> dict[str, list[tuple[int, int]]]:
    """Where a core's headers and notes are: ELF header, program headers, each note (and, for the
    notes the model reads, its fields)."""
    with CoreFile.open(path) as c:
        head = bytes(c.data[:64])
        phoff, phnum = struct.unpack_from("<Q", head, 32)[0], struct.unpack_from("<H", head, 56)[0]
        notes: list[tuple[int, int]] = []
        fields: list[tuple[int, int]] = []
        mv = memoryview(c.data)
        for off, size in c._note_ranges:
            pos, end = off, off + size
            while pos + 12 <= end:
                namesz, descsz, ntype = struct.unpack_from("<III", mv, pos)
                desc = pos + 12 + ((namesz + 3) & ~3)
                notes.append((pos, 12))  # the note header: sizes and type
                if ntype == 1:  # NT_PRSTATUS: signal, pid, registers (rip 16, rsp 19, fs_base 21)
                    fields += [(desc + 12, 2), (desc + 32, 4)] + [(desc + 112 + 8 * r, 8) for r in (4, 16, 19, 21)]
                else:  # NT_FILE, NT_AUXV, NT_SIGINFO, NT_PRPSINFO: anywhere
                    fields.append((desc, max(descsz, 1)))
                pos = desc + ((descsz + 3) & ~3)
    return {"ehdr": [(0, 64)], "phdr": [(phoff + 56 * i, 56) for i in range(phnum)], "note": notes,
            "note-field": fields}


def executable_ranges(case: CoreCase) -> dict[str, list[tuple[int, int]]]:
    """Where an executable's headers and Go tables are, as file offsets."""
    from elftools.elf.elffile import ELFFile

    with GoProcess.open(case.core, case.binary) as proc:
        exe = proc.exe
        with open(case.binary, "rb") as fh:
            elf = ELFFile(fh)
            phoff, phnum = elf.header.e_phoff, elf.header.e_phnum
            shoff, shnum = elf.header.e_shoff, elf.header.e_shnum
        secs = exe.sections
        pcln = proc.pclntab
        hot = _hot_pclntab(proc)
        base = secs[".gopclntab"].offset
        md = proc.moduledata
        md_off = None
        if md is not None:
            for s in secs.values():
                if s.addr <= md.address < s.addr + s.size and s.type != "SHT_NOBITS":
                    md_off = s.offset + md.address - s.addr
        out = {
            "ehdr": [(0, 64)],
            "phdr": [(phoff + 56 * i, 56) for i in range(phnum)],
            "shdr": [(shoff + 64 * i, 64) for i in range(shnum)],
            "pclntab-header": [(base, pcln.header.size)],
            "pclntab": [(base + o, n) for o, n in hot],
            "buildinfo": [(secs[".go.buildinfo"].offset, min(secs[".go.buildinfo"].size, 256))],
            "buildid": [(secs[".note.go.buildid"].offset, secs[".note.go.buildid"].size)],
        }
        if md_off is not None:
            out["moduledata"] = [(md_off, 8 * 64)]
        return out


def _hot_pclntab(proc: GoProcess) -> list[tuple[int, int]]:
    """(offset in .gopclntab, length) of what unwinding this core reads: the header, and the ftab
    entries, _func records and pc-value tables of every function on a backtrace."""
    pcln = proc.pclntab
    h = pcln.header
    funcs: dict[int, Func] = {}
    for g in proc.goroutines:
        for frame in proc.backtrace(g).frames:
            fn = pcln.find_func(frame.pc)
            if fn is not None:
                funcs[fn.index] = fn
    base_f = h.pcln_offset
    pctab = h.pctab_offset
    out = [(0, h.size)]
    for i, f in funcs.items():
        out.append((h.pcln_offset + 8 * i, 16))
        off = base_f + pcln._funcoffs[i]
        out.append((off, 44 + 4 * (len(f.pcdata) + len(f.funcdata))))
        out += [(pctab + t, 16) for t in (f.pcsp, f.pcfile, f.pcln, *f.pcdata) if t]
        out.append((h.funcname_offset + (pcln._func_struct.unpack_from(pcln._data, off)[1]), 8))
    return out


# --------------------------------------------------------------------------------------------------
# The core file


@fuzz(300)
@given(data=st.data())
def test_fuzz_core_headers(stripped_panic: Work, data: st.DataObject) -> None:
    w = stripped_panic
    if not w.ranges:
        w.ranges = core_ranges(w.case.core)
    muts = draw_mutations(data, {k: w.ranges[k] for k in ("ehdr", "phdr")},
                          extra=[w.core.stat().st_size, 64, 56, 0x1000])
    with mutated(w.core, w.case.core, muts):
        run_commands(data, BASIC, w.core, w.case.binary)


@fuzz(300)
@given(data=st.data())
def test_fuzz_core_notes(stripped_panic: Work, data: st.DataObject) -> None:
    w = stripped_panic
    if not w.ranges:
        w.ranges = core_ranges(w.case.core)
    muts = draw_mutations(data, {k: w.ranges[k] for k in ("note", "note-field")},
                          extra=[0xC000000000, 0x400000, 0x1000, 6])
    with mutated(w.core, w.case.core, muts):
        run_commands(data, BASIC, w.core, w.case.binary)


@fuzz(60)
@given(data=st.data())
def test_fuzz_core_truncated(opt_waits: Work, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    """A core cut anywhere: every command (values included) reads what is there."""
    case = opt_waits.case
    size = case.core.stat().st_size
    cut = data.draw(st.one_of(st.integers(0, size), st.integers(0, 0x20000), st.integers(size - (1 << 22), size)))
    tmp = tmp_path_factory.mktemp("cut", numbered=True)
    core = tmp / "core"
    sparse_copy(case.core, core, cut)
    run_commands(data, BASIC + NEEDS_DWARF + [["save", "main.busyStatuses", "-o", str(tmp / "out"), "--force"]],
                 core, case.binary, count=3)
    shutil.rmtree(tmp)


# --------------------------------------------------------------------------------------------------
# The executable


@fuzz(300)
@given(data=st.data())
def test_fuzz_executable(stripped_panic: Work, data: st.DataObject) -> None:
    w = stripped_panic
    if "exe" not in w.__dict__:
        w.__dict__["exe"] = executable_ranges(w.case)
    size = w.case.binary.stat().st_size
    muts = draw_mutations(data, w.__dict__["exe"], extra=[size, size - 1, 64, 56, 0x400000, 0xFFFFFFF1])
    with mutated(w.binary, w.case.binary, muts):
        run_commands(data, BASIC, w.case.core, w.binary)


@fuzz(60)
@given(data=st.data())
def test_fuzz_executable_dwarf_sections(opt_waits: Work, data: st.DataObject) -> None:
    """Bytes of the (compressed) DWARF sections and their section headers."""
    w = opt_waits
    if "dwarf" not in w.__dict__:
        with GoProcess.open(w.case.core, w.case.binary) as proc:
            secs = [s for n, s in proc.exe.sections.items() if n.startswith((".debug", ".zdebug"))]
        w.__dict__["dwarf"] = {"section": [(s.offset, min(s.size, 64)) for s in secs],
                               "inside": [(s.offset, s.size) for s in secs]}
    muts = draw_mutations(data, w.__dict__["dwarf"], max_count=3)
    with mutated(w.binary, w.case.binary, muts):
        run_commands(data, [*NEEDS_DWARF, ["goroutines", "--json"]], w.case.core, w.binary)


# --------------------------------------------------------------------------------------------------
# .gopclntab, parsed and used to unwind


@pytest.fixture(scope="module")
def waits_base(opt_waits: Work) -> Iterator[GoProcess]:
    proc = GoProcess.open(opt_waits.case.core, opt_waits.case.binary)
    proc.all_goroutines  # noqa: B018
    yield proc
    proc.close()


@fuzz(250)
@given(data=st.data())
def test_fuzz_pclntab(waits_base: GoProcess, data: st.DataObject) -> None:
    from explorer.binary.pclntab import Pclntab

    base = waits_base
    hot = base.__dict__.setdefault("_fuzz_hot", _hot_pclntab(base))
    pcs = base.__dict__.setdefault("_fuzz_pcs", sorted({f.pc for g in base.goroutines
                                                        for f in base.backtrace(g).frames}))
    raw = bytearray(base.pclntab._data)
    for m in draw_mutations(data, {"hot": hot}, extra=[len(raw), base.pclntab.nfunc, 0xFFFFFFF1]):
        raw[m.offset:m.offset + len(m.data)] = m.data[: max(0, len(raw) - m.offset)]
    with time_limit(EXAMPLE_LIMIT):
        try:
            pcln = Pclntab.parse(bytes(raw), text_start=base.pclntab.text_start)
        except ExplorerError:
            return
        for pc in pcs:
            try:
                f = pcln.find_func(pc)
                if f is None:
                    continue
                pcln.sp_delta(f, pc)
                pcln.file_line(f, pc)
                pcln.inline_frames(f, pc, base.memory.read, base.gofunc)
                pcln.func_by_name(f.name)
                pcln.pc_ranges(f, f.pcsp)
            except ExplorerError:
                pass
    p = fresh_process(base)
    p.__dict__["pclntab"] = pcln
    run_commands(data, BASIC + NEEDS_DWARF, proc=p)


# --------------------------------------------------------------------------------------------------
# DWARF, decompressed


_DWARF_SECTIONS = (".debug_info", ".debug_abbrev", ".debug_line", ".debug_frame", ".debug_loc", ".debug_ranges",
                   ".debug_loclists", ".debug_rnglists", ".debug_addr", ".debug_str", ".debug_str_offsets",
                   ".debug_line_str")


@dataclass(repr=False)
class DwarfCase:
    proc: GoProcess
    sections: dict[str, bytes]
    ranges: dict[str, list[tuple[int, int]]]


def _dwarf_case(case: CoreCase) -> DwarfCase:
    from explorer.binary.dwarf import GoDwarf

    proc = GoProcess.open(case.core, case.binary)
    proc.all_goroutines  # noqa: B018
    index = GoDwarf(proc.exe.elf)
    secs = {n: d for n in _DWARF_SECTIONS if (d := index._info if n == ".debug_info" else index._section(n))}
    # The units every command reads (types live in runtime's; the crasher's code in main's).
    hot = [(cu.offset, cu.end - cu.offset) for cu in index.compile_units if cu.name in ("runtime", "main")]
    ranges = {".debug_info": hot}
    for n, d in secs.items():
        ranges.setdefault(n, [(0, len(d))])
    return DwarfCase(proc, secs, ranges)


def mutated_dwarf(elf: Any, sections: dict[str, bytes]) -> Any:
    """A DWARF index of ``elf`` that reads ``sections`` (decompressed contents, by name) instead of
    the file's: its per-section cache is filled before anything is parsed."""
    from explorer.binary.dwarf import GoDwarf

    index = GoDwarf(elf)
    index._info = sections[".debug_info"]
    index._sections.update(sections)
    return index


_DWARF_CASES: dict[str, DwarfCase] = {}


def _dwarf_versions() -> list[str]:
    # DWARF 4 up to Go 1.24; DWARF 5 (loclists, rnglists, addrx) from 1.25.
    return [PRIMARY] + [v for v in ("1.27.3",) if v in gotools.test_versions()]


@pytest.fixture(scope="module", params=_dwarf_versions())
def dwarf_case(request: pytest.FixtureRequest, corpus: Any) -> Iterator[DwarfCase]:
    d = _dwarf_case(corpus(request.param, "opt", "waits"))
    yield d
    d.proc.close()


@fuzz(100)
@given(data=st.data())
def test_fuzz_dwarf(dwarf_case: DwarfCase, data: st.DataObject) -> None:
    d = dwarf_case
    sections = {n: bytearray(b) for n, b in d.sections.items()}
    for m in draw_mutations(data, d.ranges):
        buf = sections[m.kind]
        buf[m.offset:m.offset + len(m.data)] = m.data[: max(0, len(buf) - m.offset)]
    p = fresh_process(d.proc)
    p.__dict__.pop("layout", None)
    p.__dict__["dwarf"] = mutated_dwarf(d.proc.exe.elf, {n: bytes(b) for n, b in sections.items()})
    run_commands(data, BASIC + NEEDS_DWARF, proc=p, count=3)


# --------------------------------------------------------------------------------------------------
# Memory: the runtime's structures


@dataclass(repr=False)
class RuntimeTargets:
    """Addresses of the runtime structures a command reads, and pointers to write into them."""

    proc: GoProcess
    ranges: dict[str, list[tuple[int, int]]]
    pointers: list[int]


def _runtime_targets(proc: GoProcess) -> RuntimeTargets:
    mem = proc.memory
    gsize = proc.greader.size
    allgs = proc.allgs_addr
    arr, n = mem.read_u64(allgs), len(proc.all_goroutines)
    ranges: dict[str, list[tuple[int, int]]] = {
        "allgs": [(allgs, 24)],
        "allgs-array": [(arr, 8 * n)],
        "g": [(g.addr, gsize) for g in proc.all_goroutines],
        "g-field": [(g.addr + off, st_.size) for g in proc.all_goroutines[:20]
                    for off, st_ in proc.greader.offsets.values()],
        "stack": [(g.sched_sp, min(g.stack_hi - g.sched_sp, 512)) for g in proc.goroutines if g.sched_sp],
        "m": [(t.m, 1024) for t in proc.thread_infos if t.m],
        "tls": [(t.regs["fs_base"] - 8, 8) for t in proc.thread_infos if t.regs.get("fs_base")],
        "panic": [(g.panic_ptr, 64) for g in proc.all_goroutines if g.panic_ptr],
        "labels": [(g.labels_ptr, 64) for g in proc.all_goroutines if g.labels_ptr],
    }
    for name in ("runtime.waitReasonStrings", "runtime.gStatusStrings"):
        a = proc.global_addr(name)
        if a is not None:
            ranges.setdefault("tables", []).append((a, 16 * 16))
    ranges = {k: [r for r in v if r[1] > 0] for k, v in ranges.items()}
    ranges = {k: v for k, v in ranges.items() if v}
    pointers = [allgs, arr, proc.pclntab.min_pc, proc.pclntab.min_pc + 1]
    pointers += [g.addr for g in proc.all_goroutines[:8]] + [g.stack_lo for g in proc.goroutines[:4]]
    pointers += [t.m for t in proc.thread_infos if t.m]
    return RuntimeTargets(proc, ranges, pointers)


@pytest.fixture(scope="module", params=["opt", "stripped"] + (["arm64"] if "arm64" in gotools.corpus_arches() else []))
def runtime_targets(request: pytest.FixtureRequest, corpus: Any) -> Iterator[RuntimeTargets]:
    """Runtime structures of the opt build (layouts from DWARF, globals from symbols), of the
    stripped one (generated layouts, globals found by validated scans of memory), and of the arm64
    opt build (its stacks unwound by the link-register unwinder)."""
    mode, arch = ("opt", "arm64") if request.param == "arm64" else (request.param, "amd64")
    case = corpus(PRIMARY, mode, "waits", (), arch)
    proc = GoProcess.open(case.core, case.binary)
    proc.all_goroutines  # noqa: B018
    yield _runtime_targets(proc)
    proc.close()


@fuzz(250)
@given(data=st.data())
def test_fuzz_memory_runtime(runtime_targets: RuntimeTargets, data: st.DataObject) -> None:
    t = runtime_targets
    p = fresh_process(t.proc)
    for m in draw_mutations(data, t.ranges, extra=t.pointers, max_count=8):
        overlay(p, m.offset, m.data)
    run_commands(data, BASIC + NEEDS_DWARF, proc=p)


# --------------------------------------------------------------------------------------------------
# Memory: values reachable from the program's globals


_GLOBALS = ("main.registry", "main.waits", "main.busyStatuses", "runtime.allm", "main.scenarios")


@dataclass(repr=False)
class ValueTargets:
    proc: GoProcess
    ranges: dict[str, list[tuple[int, int]]]
    pointers: list[int]


def _value_targets(proc: GoProcess) -> ValueTargets:
    """Every object within a few pointers of the crasher's globals (maps' buckets and groups, slice
    arrays, strings, channels, structs), as (address, size) ranges."""
    from explorer.goruntime.expr import evaluate

    objects: list[tuple[int, int]] = []
    seen: set[int] = set()
    for name in _GLOBALS:
        try:
            root = evaluate(proc, name, None, 0)
        except ExplorerError:
            continue
        todo = [(root, 0)]
        while todo and len(objects) < 5000:
            v, depth = todo.pop()
            places = [(v.address, v.size or 8)]
            if v.kind in ("map", "chan") and isinstance(v.value, int):
                places.append((v.value, 96))  # the map's or channel's header
            if v.kind in ("string", "slice") and v.data:
                places.append((v.data, 64))
            for addr, size in places:
                if addr and addr not in seen:
                    seen.add(addr)
                    objects.append((addr, max(8, min(int(size), 256))))
            if depth < 6:
                try:
                    todo += [(c, depth + 1) for _, c in named_children(v, 32)]
                except ExplorerError:
                    pass
    assert len(objects) > 50
    return ValueTargets(proc, {"object": objects}, [a for a, _ in objects[:64]])


def _value_versions() -> list[str]:
    # 1.21: classic maps and map-based labels; 1.24: swiss maps; 1.27: the newest layouts.
    return [v for v in ("1.21.13", PRIMARY, "1.27.3") if v == PRIMARY or v in gotools.test_versions()]


@pytest.fixture(scope="module", params=_value_versions())
def value_targets(request: pytest.FixtureRequest, corpus: Any) -> Iterator[ValueTargets]:
    case = corpus(request.param, "opt", "waits")
    proc = GoProcess.open(case.core, case.binary)
    proc.all_goroutines  # noqa: B018
    yield _value_targets(proc)
    proc.close()


VALUE_COMMANDS = [["print", "--json", "main.registry"], ["print", "main.registry.byKey"], ["print", "main.waits"],
                  ["print", "--json", "main.waits.conns"], ["print", "--json", "main.busyStatuses"],
                  ["print", "runtime.allm"], ["print", 'main.registry.byKey["chan_send"]'],
                  ["print", "--json", "main.scenarios"], ["x", "main.busyStatuses"], ["x", "main.registry.byKey"],
                  ["vars", "--json"], ["goroutines", "--json"], ["print", "*main.waits.never"]]


@fuzz(150)
@given(data=st.data())
def test_fuzz_memory_values(value_targets: ValueTargets, tmp_path_factory: pytest.TempPathFactory,
                            data: st.DataObject) -> None:
    t = value_targets
    p = fresh_process(t.proc)
    for m in draw_mutations(data, t.ranges, extra=t.pointers, max_count=12):
        overlay(p, m.offset, m.data)
    out = tmp_path_factory.getbasetemp() / "fuzz-save.bin"
    run_commands(data, [*VALUE_COMMANDS, ["save", "main.busyStatuses", "-o", str(out), "--force"],
                        ["save", "main.registry", "-o", str(out), "--force"]],
                 proc=p, first=("print", "--json", "main.registry"), count=3)


# --------------------------------------------------------------------------------------------------
# Expressions


_TOKENS = ["main.registry", "main.waits", "main.busyStatuses", "runtime.allgs", "runtime.allm", "byKey", "conns",
           "sched", "pc", "msg", ".", "[", "]", "(", ")", "*", ":", "0", "1", "-1", "99999999999", "0x10", '"',
           '"chan_send"', "'a'", "1.5", "nil", "true", " ", "&", "+", ",", "é", "\\", "`",
           "len(", "cap(", "int8(", "uint64(", "float32(", "string(", "[]byte(", "(*main.waiter)(", "*[4]byte",
           ".(", "int)", "<<", ">>", "==", "<", "&&", "||", "!", "^", "/", "%", "&^", "09", "0o7", "1e308", "-"]
# Pieces of number, string and character literals: prefixes, underscores, exponents, escapes.
_LITERAL_BITS = ["0", "7", "8", "9", "_", "x", "X", "o", "O", "b", "e", "E", "p", "f", ".", "+", "-", "'", '"', "\\x",
                 "\\u", "\\U", "\\0", "\\n", "\x1b", "\u202e", "\x00"]

_soup = st.lists(st.sampled_from(_TOKENS), min_size=1, max_size=12).map("".join)
_literal_soup = st.lists(st.sampled_from(_TOKENS + _LITERAL_BITS), min_size=1, max_size=12).map("".join)


@fuzz(1000)
@given(src=st.one_of(_soup, _literal_soup, st.text(max_size=40)))
@example(src="09")  # seed-found regressions (issue 11): each was an internal ValueError
@example(src="a[09]")
@example(src="0" + "99999999999")
@example(src="1__0")
@example(src="0x_")
@example(src="09:4")
@example(src="0x10:1_")
def test_fuzz_expression_parser(src: str) -> None:
    """Anything typed as an expression, an ADDR:LEN range or an address: a parse or one clear error."""
    from explorer.goruntime.expr import parse, parse_address, parse_range

    with time_limit(EXAMPLE_LIMIT):
        for f in (parse, parse_range, parse_address):
            try:
                f(src)
            except ExplorerError as e:
                assert str(e)


@fuzz(300)
@given(expr=st.one_of(_soup, _literal_soup), frame=st.integers(0, 8))
@example(expr="09", frame=0)
@example(expr="main.registry[09]", frame=0)
def test_fuzz_expressions(waits_base: GoProcess, expr: str, frame: int) -> None:
    """Token soup through ``print``, ``x`` and ``save``'s expression evaluator."""
    from explorer.goruntime.expr import evaluate

    g = waits_base.crashed_goroutine
    with time_limit(EXAMPLE_LIMIT):
        try:
            v = evaluate(waits_base, expr, g, frame)
            value_json(v, max_depth=4)
            summary(v)
        except ExplorerError:
            pass
