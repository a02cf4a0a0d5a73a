"""Tests of explorer.binary.dwarf against the Go toolchain itself.

tests/testprogs/dwarfprog is built with Go 1.21 (DWARF 4), 1.24 (last DWARF 4), 1.25 (first DWARF 5)
and 1.27, optimized and with ``-gcflags=all=-N -l``; builds are cached under
``gotools.cache_dir()/dwarf-builds/`` keyed by a hash of the sources. The oracles are independent of
the DWARF: what the program prints about itself (``unsafe.Sizeof``/``Offsetof``, constant values)
and ``go tool nm`` (global addresses, function pc ranges). A slow test builds ``cmd/go`` once and prints
(never asserts) how long opening it takes.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import random
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpus
import gotools
from elftools.elf.elffile import ELFFile

from explorer.binary.dwarf import (
    DwarfLookupError,
    GoDwarf,
    Piece,
    eval_location,
)
from explorer.errors import ExplorerError

PROG = Path(__file__).resolve().parent / "testprogs" / "dwarfprog"
WANTED = ["1.21.13", "1.24.11", "1.25.5", "1.27.3"]
VERSIONS = [v for v in WANTED if v in gotools.test_versions()] or [gotools.test_versions()[-1]]
MODES = {"opt": [], "noopt": ["-gcflags=all=-N -l"], "arm64": []}
GOARCH = {"arm64": "arm64"}  # cross-built: checked against the tools, and the amd64 build's facts
CASES = [(v, m) for v in VERSIONS for m in ("opt", "noopt")] + [(VERSIONS[-1], "arm64")]


def _minor(version: str) -> int:
    return int(version.split(".")[1])


@dataclass
class Build:
    version: str
    mode: str
    exe: Path
    facts: dict  # what the program printed about itself

    @functools.cached_property
    def dwarf(self) -> GoDwarf:
        with open(self.exe, "rb") as fh:  # the index reads its sections up front
            dw = GoDwarf.from_elffile(ELFFile(fh))
        assert dw is not None
        return dw

    def tool(self, *args: str, stdin: str | None = None) -> str:
        env = gotools.go_env(self.version)
        return subprocess.run([gotools.go_command(self.version), "tool", *args], env=env, input=stdin,
                              capture_output=True, text=True, check=True).stdout

    def read(self, addr: int, size: int) -> bytes:
        """``size`` bytes at link-time address ``addr`` of the executable's file-backed segments."""
        with open(self.exe, "rb") as fh:
            for seg in ELFFile(fh).iter_segments():
                if seg["p_type"] == "PT_LOAD" and seg["p_vaddr"] <= addr < seg["p_vaddr"] + seg["p_filesz"]:
                    fh.seek(seg["p_offset"] + addr - seg["p_vaddr"])
                    return fh.read(size)
        raise AssertionError(f"{addr:#x} not in the file")

    @functools.cached_property
    def nm(self) -> dict[str, tuple[int, int, str]]:
        """name -> (address, size, type) from ``go tool nm -size``."""
        out = {}
        for line in self.tool("nm", "-size", str(self.exe)).splitlines():
            parts = line.split()
            if len(parts) >= 4:
                out[" ".join(parts[3:])] = (int(parts[0], 16), int(parts[1]), parts[2])
        return out


def _source_key() -> str:
    h = hashlib.sha256()
    for p in sorted(PROG.iterdir()):
        h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()[:12]


def build(version: str, mode: str, extra: tuple[str, ...] = ()) -> Path:
    """Build dwarfprog (cached by source hash, toolchain and flags); returns the executable."""
    flags = [*MODES.get(mode, []), *extra]
    arch = GOARCH.get(mode, "amd64")
    key = hashlib.sha256(f"{_source_key()} {version} {flags} {arch} in-cache-src".encode()).hexdigest()[:12]
    out = gotools.cache_dir() / "dwarf-builds" / f"dwarfprog-{version}-{mode}-{key}"
    if out.exists():
        return out
    with gotools.file_lock(gotools.cache_dir() / "locks" / "dwarf-build.lock"):  # one go build at a time
        if not out.exists():
            tmp = out.with_suffix(".tmp")
            subprocess.run([gotools.go_command(version), "build", *flags, "-o", str(tmp), "."],
                           cwd=corpus.source_dir("dwarfprog"), env={**gotools.go_env(version), "GOARCH": arch},
                           check=True)
            tmp.rename(out)
    return out


@functools.cache
def get_build(version: str, mode: str) -> Build:
    exe = build(version, mode)
    if mode in GOARCH:  # cannot run here: layouts and values are those of the amd64 build (LP64)
        return Build(version, mode, exe, get_build(version, "opt").facts)
    facts_file = exe.with_name(exe.name + ".json")
    if not facts_file.exists():
        out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
        facts_file.write_text(out)
    return Build(version, mode, exe, json.loads(facts_file.read_text()))


@pytest.fixture(params=CASES, ids=[f"{v}-{m}" for v, m in CASES])
def b(request: pytest.FixtureRequest) -> Build:
    return get_build(*request.param)


def _source_line(text: str) -> int:
    for i, line in enumerate((PROG / "main.go").read_text().splitlines(), 1):
        if text in line:
            return i
    raise AssertionError(text)


# --- types ------------------------------------------------------------------------------------------

def test_sizes_and_offsets_match_unsafe(b: Build) -> None:
    dw = b.dwarf
    for tname, info in b.facts["types"].items():
        assert dw.struct_size(tname) == info["size"], tname
        for path, off in info["offsets"].items():
            assert dw.field_offset(tname, path) == off, (tname, path)


def test_type_model(b: Build) -> None:
    dw = b.dwarf
    req = dw.type_by_name("main.Request")
    assert req is not None and req.kind == "struct" and req.go_kind == 25
    f = {x.name: x for x in req.fields}
    assert f["Base"].embedded and f["Inner"].embedded
    assert not f["Method"].embedded and not f["Next"].embedded
    assert f["Inner"].type is not None and f["Inner"].type.name == "*main.Inner"
    kinds = {name: x.type.kind for name, x in f.items() if x.type is not None}
    assert kinds == {
        "Base": "struct", "Inner": "ptr", "Method": "string", "Headers": "map", "Body": "slice",
        "Done": "chan", "Err": "iface", "Any": "eface", "Shape": "iface", "Nested": "struct",
        "Next": "ptr", "Flag": "bool", "Score": "float", "Cplx": "complex", "Fn": "func",
        "Raw": "unsafe.Pointer", "Arr": "array", "Color": "int",
    }
    headers = f["Headers"].type
    assert headers is not None and headers.name == "map[string][]string" and headers.size == 8
    assert headers.key is not None and headers.key.name == "string"
    assert headers.elem is not None and headers.elem.name == "[]string"
    assert headers.elem.elem is not None and headers.elem.elem.name == "string"
    body = f["Body"].type
    assert body is not None and body.name == "[]uint8" and body.size == 24
    assert body.elem is not None and body.elem.name == "uint8" and body.elem.size == 1
    assert [x.name for x in body.fields] == ["array", "len", "cap"]
    done = f["Done"].type
    assert done is not None and done.name == "chan struct {}" and done.elem is not None
    assert done.elem.kind == "struct" and done.elem.size == 0
    arr = f["Arr"].type
    assert arr is not None and arr.count == 4 and arr.elem is dw.type_by_name("main.Inner")
    assert f["Err"].type is not None and f["Err"].type.name == "error" and f["Err"].type.size == 16
    assert [x.name for x in f["Err"].type.fields] == ["tab", "data"]
    assert f["Any"].type is not None and [x.name for x in f["Any"].type.fields] == ["_type", "data"]
    assert f["Color"].type is not None and f["Color"].type.name == "main.Color"
    # Self-reference, resolved lazily: Request.Next is *Request, Node.Next is *Node.
    nxt = f["Next"].type
    assert nxt is not None and nxt.elem is req
    node = dw.type_by_name("main.Node")
    assert node is not None
    nn = node.field("Next")
    assert nn is not None and nn.type is not None and nn.type.elem is node
    kids = node.field("Kids")
    assert kids is not None and kids.type is not None and kids.type.elem is nn.type
    assert dw.type_by_name("*main.Request") is nxt
    # Generic instantiation names.
    pair = dw.type_by_name("main.Pair[string,int]")
    assert pair is not None and [x.name for x in pair.fields] == ["Key", "Val"]
    assert dw.type_by_name("no.SuchType") is None


def test_runtime_types(b: Build) -> None:
    dw = b.dwarf
    g = dw.type_by_name("runtime.g")
    assert g is not None and g.kind == "struct" and g.size is not None and g.size > 200
    names = {f.name for f in g.fields}
    assert {"goid", "atomicstatus", "sched", "m", "waitreason", "stack", "gopc", "startpc"} <= names
    assert dw.field_offset("runtime.g", "atomicstatus.value") == dw.field_offset("runtime.g", "atomicstatus")
    assert dw.field_offset("runtime.g", "sched.pc") > dw.field_offset("runtime.g", "sched")
    with pytest.raises(DwarfLookupError, match="no field 'nosuchfield'"):
        dw.field_offset("runtime.g", "sched.nosuchfield")
    with pytest.raises(DwarfLookupError):
        dw.struct_size("runtime.nosuchtype")
    m = dw.type_by_name("runtime.m")
    assert m is not None and m.field("procid") is not None and m.field("curg") is not None
    # DW_AT_go_runtime_type maps back to the same type.
    for name in ("runtime.g", "main.Request", "*main.Request", "[]uint8", "string"):
        t = dw.type_by_name(name)
        assert t is not None and t.runtime_type is not None, name
        assert dw.type_by_runtime_type(t.runtime_type) is t, name
    # ... and is the offset of the type descriptor from runtime.types: its abi.Type starts with
    # Size_ (uintptr), and has Kind_ (a byte; the low 5 bits) at 23.
    types = b.nm["runtime.types"][0]
    for name in ("main.Request", "main.Node", "*main.Request", "[]uint8", "string", "runtime.g"):
        t = dw.type_by_name(name)
        assert t is not None and t.runtime_type is not None and t.go_kind is not None
        desc = b.read(types + t.runtime_type, 24)
        assert int.from_bytes(desc[:8], "little") == t.size, name
        assert desc[23] & 0x1F == t.go_kind, name
    allgs = dw.global_var("runtime.allgs")
    assert allgs is not None and allgs.type is not None and allgs.type.name == "[]*runtime.g"
    assert allgs.address == b.nm["runtime.allgs"][0]


# --- constants and globals --------------------------------------------------------------------------

def test_constants(b: Build) -> None:
    dw = b.dwarf
    for name, value in b.facts["constants"].items():
        assert dw.constant(name) == int(value), name
    assert dw.constant("main.NoSuchConst") is None
    assert dw.constant("runtime._Grunning") == 2
    assert dw.constant("runtime._Gwaiting") == 4
    assert dw.constant("runtime._Gdead") == 6
    reasons = dw.constants_with_prefix("runtime.waitReason")
    assert reasons["runtime.waitReasonZero"] == 0
    assert "runtime.waitReasonChanReceive" in reasons
    assert all(k.startswith("runtime.waitReason") for k in reasons)
    assert set(dw.constants_with_prefix("main.")) >= set(b.facts["constants"])


def test_globals_match_nm(b: Build) -> None:
    dw = b.dwarf
    want_types = {
        "main.config": "*main.Config", "main.counter": "uint64", "main.table": "map[string]int",
        "main.requests": "[]*main.Request", "main.root": "main.Node",
        "main.pair": "main.Pair[string,int]", "main.shape": "main.Shape", "main.names": "[3]string",
    }
    for name, tname in want_types.items():
        g = dw.global_var(name)
        assert g is not None, name
        assert g.address == b.nm[name][0], name
        assert g.type is not None and g.type.name == tname, name
    everything = dw.globals_of("main")
    assert set(want_types) <= set(everything)
    assert dw.global_var("main.nosuchvar") is None
    assert dw.global_var("nosuchpkg.x") is None


# --- functions --------------------------------------------------------------------------------------

def test_function_ranges_match_nm(b: Build) -> None:
    dw = b.dwarf
    checked = 0
    for name, (addr, size, typ) in b.nm.items():
        if typ not in ("T", "t") or not size or not name.startswith(("main.", "runtime.")):
            continue
        fn = dw.function_at(addr)
        if name.startswith("main."):
            assert fn is not None, name
        if fn is None or fn.low_pc != addr:
            continue
        assert fn.name == name.removesuffix(".abi0")  # nm names assembly functions F.abi0
        assert fn.high_pc == addr + size, name
        assert dw.function_at(addr + size - 1) is fn
        checked += 1
    assert checked > 100
    assert dw.function_at(0x10) is None
    proc = dw.function_by_name("main.process")
    assert proc is not None and proc.low_pc == b.nm["main.process"][0]
    assert proc.decl_file == str(corpus.source_dir("dwarfprog") / "main.go")
    assert proc.decl_line == _source_line("func process(")
    assert proc.frame_base == bytes([0x9C])  # DW_OP_call_frame_cfa
    names = {n for n, _lo, _hi in dw.functions_of("main")}
    assert {"main.main", "main.process"} <= names
    # Generic shape instantiations: a .dict argument, and the type parameter as a typedef with
    # DW_AT_go_dict_index whose target is the shape.
    shapes = sorted(n for n in names if n.startswith("main.Sum["))
    assert shapes == ["main.Sum[go.shape.float64]", "main.Sum[go.shape.int]"]
    sum_int = dw.function_by_name("main.Sum[go.shape.int]")
    assert sum_int is not None
    params = {v.name: v for v in sum_int.params}
    assert "xs" in params and (".dict" in params or b.mode != "noopt")
    xs = params["xs"].type
    assert xs is not None and xs.kind == "typedef" and xs.dict_index == 0
    assert xs.strip_typedefs().name == "[]go.shape.int"
    if b.mode == "noopt":
        acc = next(v for v in sum_int.locals if v.name == "acc")
        assert acc.type is not None and acc.type.dict_index == 1
        assert acc.type.strip_typedefs().name == "go.shape.int"


def _ops(expr: bytes) -> int:
    return expr[0] if expr else -1


def test_wrappers_are_trampolines(b: Build) -> None:
    """DW_AT_trampoline marks the compiler's wrappers: in package main, exactly the functions the
    pclntab gives the wrapper func ID (the encoding the runtime's traceback reads), among them the
    pointer-receiver wrapper main.(*Square).Area of the value method Square.Area."""
    from explorer.binary.elf import Executable
    from explorer.binary.goabi import FUNCID_WRAPPER_BY_MINOR
    from explorer.binary.pclntab import Pclntab

    exe = Executable(b.exe)
    data = exe.section_data(".gopclntab")
    assert data is not None
    pcln = Pclntab.parse(data, text_start=exe.symbol("runtime.text"))
    wrapper_id = FUNCID_WRAPPER_BY_MINOR[_minor(b.version)]
    dw = b.dwarf
    ours, theirs = set(), set()
    for name, lo, _hi in dw.functions_of("main"):
        f = pcln.find_func(lo)
        assert f is not None and f.entry == lo, name
        fn = dw.function_at(lo)
        assert fn is not None
        if fn.trampoline:
            ours.add(name)
        if f.func_id == wrapper_id:
            theirs.add(name)
    assert ours == theirs and "main.(*Square).Area" in ours
    exe.close()


def test_variables_of_process(b: Build) -> None:
    dw = b.dwarf
    proc = dw.function_by_name("main.process")
    assert proc is not None
    params = {v.name: v for v in proc.params}
    assert set(params) == {"req", "n", "total", "err"}
    assert params["total"].is_return_param and params["err"].is_return_param
    assert not params["req"].is_return_param
    assert params["req"].type is not None and params["req"].type.name == "*main.Request"
    assert params["err"].type is not None and params["err"].type.name == "error"
    locals_ = {v.name: v for v in proc.locals}
    if b.mode == "noopt" or "local" in locals_:  # optimized builds may fold it away (1.21, 1.27)
        assert locals_["local"].decl_line == _source_line("local := n * 2")
    lo, hi = proc.low_pc, proc.high_pc
    if b.mode == "noopt":
        # Every variable lives in the frame (DW_OP_fbreg, or DW_OP_call_frame_cfa for arguments'
        # spill slots); register-ABI arguments have a two-entry list: the register at entry,
        # then the spill slot.
        assert {"i", "s"} <= set(locals_)
        for v in proc.variables:
            exprs = [v.location] if v.location is not None else [e.expr for e in v.location_list or ()]
            assert exprs, v.name
            assert any(_ops(e) in (0x91, 0x9C) for e in exprs), (v.name, [e.hex() for e in exprs])
        assert locals_["local"].location is not None and _ops(locals_["local"].location) == 0x91
        assert not proc.inlined
        s = locals_["s"]
        block = s.scope[0]
        assert lo <= block[0] < block[1] <= hi and block != (lo, hi)
        assert not s.in_scope(lo) and s.in_scope(block[0])
        assert s not in proc.variables_at(lo) and s in proc.variables_at(block[0])
    else:
        # The named results are written only at the return: no location in the body.
        assert params["total"].optimized_out or params["total"].location_list
        lists = [v for v in proc.variables if v.location_list]
        assert lists, [(v.name, v.location) for v in proc.variables]
        regs_seen = False
        for v in lists:
            for e in v.location_list or ():
                assert lo <= e.low < e.high <= hi, (v.name, hex(e.low), hex(e.high))
                ops = e.expr
                regs_seen |= 0x50 <= _ops(ops) <= 0x6F or 0x93 in ops
        assert regs_seen
        # scale() is inlined with its arguments. (arm64 1.22-1.24 folds its body into one
        # instruction on the caller's line: no pcs left for a DW_TAG_inlined_subroutine.)
        calls = [c for c in proc.inlined if c.name == "main.scale"]
        if not calls and b.mode == "arm64" and _minor(b.version) <= 24:
            return
        assert calls, [c.name for c in proc.inlined]
        call = calls[0]
        assert call.call_file == str(corpus.source_dir("dwarfprog") / "main.go")
        assert call.call_line == _source_line("total += scale(i, local)")
        assert {"x", "factor"} <= {v.name for v in call.variables if v.kind == "arg"}
        pc = call.ranges[0][0]
        frames = dw.frames_at(pc)
        assert [f.name for f in frames][:2] == ["main.scale", "main.process"]
        assert frames[0].inlined and not frames[1].inlined
        assert dw.variables_at(pc) == frames[0].variables


def test_variable_locations_evaluate(b: Build) -> None:
    """Evaluate every location at every pc it covers, with a fake frame: nothing fails, and
    register pieces come out unavailable when the registers are not known."""
    dw = b.dwarf
    proc = dw.function_by_name("main.process")
    assert proc is not None
    cfa = 0xC000100000
    regs = dict.fromkeys(range(33), 0x1234)
    for v in proc.variables:
        entries = [(proc.low_pc, v.location)] if v.location is not None else \
            [(e.low, e.expr) for e in v.location_list or ()]
        for pc, expr in entries:
            assert v.location_at(pc) == expr
            pieces = dw.eval_location(expr, cu=proc.cu, cfa=cfa, regs=regs, frame_base=cfa)
            assert pieces and all(p.kind != "unavailable" for p in pieces), (v.name, expr.hex(), pieces)
            for p in pieces:
                if p.kind == "memory":
                    assert p.address is not None and cfa - 0x1000 < p.address < cfa + 0x100
            outer = dw.eval_location(expr, cu=proc.cu, cfa=cfa, regs=None, frame_base=cfa)
            for p in outer:
                if p.kind == "register":
                    assert p.value is None and not p.available
    if b.mode == "noopt":
        return
    # Optimized builds split multi-word values (strings, interfaces...) into DW_OP_piece parts,
    # some of them empty (optimized out); the pieces add up to the variable's size.
    pieced = 0
    for _name, lo, _hi in dw.functions_of("main"):
        fn = dw.function_at(lo)
        assert fn is not None
        for v in fn.variables:
            for e in v.location_list or ():
                if 0x93 not in e.expr:
                    continue
                pieces = dw.eval_location(e.expr, cu=fn.cu, cfa=cfa, regs=regs, frame_base=cfa)
                if all(p.size is not None for p in pieces) and v.type is not None:
                    assert sum(p.size or 0 for p in pieces) == v.type.size, (v.name, e.expr.hex())
                    pieced += 1
    assert pieced


def test_dwarf_version_and_units(b: Build) -> None:
    dw = b.dwarf
    assert dw.dwarf_version == (5 if _minor(b.version) >= 25 else 4)
    assert dw.go_version == f"go{b.version}"
    assert dw.producer.startswith(f"Go cmd/compile go{b.version}")
    main = dw.compile_unit("main")
    assert main is not None and main.go_version == f"go{b.version}"
    assert dw.cu_for_pc(b.nm["main.main"][0]) is main
    assert dw.cu_for_pc(b.nm["runtime.schedule"][0]) is dw.compile_unit("runtime")
    assert len(dw.compile_units_named("runtime")) > 1  # one unit per object: Go code, each .s file
    with open(b.exe, "rb") as fh:
        elf = ELFFile(fh)
        names = {s.name for s in elf.iter_sections()}
        if _minor(b.version) >= 25:
            assert {".debug_addr", ".debug_loclists", ".debug_rnglists"} <= names
        else:
            assert {".debug_loc", ".debug_ranges"} <= names
        info = elf.get_section_by_name(".debug_info")
        assert info is not None and info["sh_flags"] & 0x800  # SHF_COMPRESSED


# --- no DWARF ---------------------------------------------------------------------------------------

def test_threads_share_one_index() -> None:
    """Lazy caches filled from several threads at once give the same answers as one thread."""
    b = get_build(VERSIONS[-1], "opt")
    with open(b.exe, "rb") as fh:
        dw = GoDwarf.from_elffile(ELFFile(fh))
    assert dw is not None
    pcs = [addr for name, (addr, size, typ) in b.nm.items() if typ in "Tt" and size][:400]

    def work(seed: int) -> tuple[object, ...]:
        order = random.Random(seed).sample(pcs, len(pcs))
        fns = {pc: (f.name if (f := dw.function_at(pc)) else None) for pc in order}
        g = dw.type_by_name("runtime.g")
        return (sorted(fns.items()), g.size if g else None, dw.field_offset("runtime.g", "sched.pc"))

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(work, range(4)))
    assert all(r == results[0] for r in results)


def test_no_dwarf_gives_none() -> None:
    exe = build(VERSIONS[-1], "nodwarf", ("-ldflags=-w",))
    with open(exe, "rb") as fh:
        assert GoDwarf.from_elffile(ELFFile(fh)) is None


# --- robustness -----------------------------------------------------------------------------------

def _exercise(dw: GoDwarf, pc: int) -> None:
    g = dw.type_by_name("runtime.g")
    if g is not None:
        for f in g.fields:
            if f.type is not None:
                _ = (f.type.fields, f.type.elem, f.type.key, f.type.count, f.type.strip_typedefs())
    dw.constant("main.Answer")
    dw.constants_with_prefix("runtime.waitReason")
    dw.global_var("main.config")
    dw.globals_of("main")
    fn = dw.function_at(pc)
    if fn is not None:
        for p in range(fn.low_pc, min(fn.high_pc, fn.low_pc + 2048), 7):  # a mutated range may be huge
            for frame in fn.frames_at(p):
                for v in frame.variables:
                    expr = v.location_at(p)
                    if expr is not None:
                        dw.eval_location(expr, cu=fn.cu, cfa=0x1000, regs={0: 1}, frame_base=0x1000)


def test_mutated_dwarf_fails_cleanly() -> None:
    """Random byte changes in the DWARF sections give an ExplorerError or a result: never another
    exception or a hang. Built with uncompressed DWARF so that mutations reach the parsers."""
    version = VERSIONS[-1]
    exe = build(version, "rawdwarf", ("-ldflags=-compressdwarf=false",))
    data = exe.read_bytes()
    elf = ELFFile(io.BytesIO(data))
    sections = {s.name: (s["sh_offset"], s["sh_size"]) for s in elf.iter_sections()
                if s.name.startswith(".debug_") and s["sh_size"]}
    clean = GoDwarf.from_elffile(elf)
    info = elf.get_section_by_name(".debug_info")
    assert clean is not None and info is not None and not info["sh_flags"] & 0x800
    proc = clean.function_by_name("main.process")
    main = clean.compile_unit("main")
    assert proc is not None and main is not None
    _exercise(clean, proc.low_pc + 20)
    info_off = sections[".debug_info"][0]
    rng = random.Random(7)
    failures = 0
    for _ in range(120):
        buf = bytearray(data)
        name = rng.choice(sorted(sections))
        off, size = sections[name]
        if name == ".debug_info" and rng.random() < 0.7:  # aim at the unit the checks read
            off, size = info_off + main.offset, main.end - main.offset
        for _ in range(rng.randint(1, 12)):
            buf[off + rng.randrange(size)] = rng.randrange(256)
        try:
            dw = GoDwarf.from_elffile(ELFFile(io.BytesIO(bytes(buf))))
            if dw is not None:
                _exercise(dw, proc.low_pc + 20)
        except ExplorerError:
            failures += 1
    print(f"\n{failures} of 120 mutated binaries gave an ExplorerError")


# --- location expressions ---------------------------------------------------------------------------

def test_eval_location_ops() -> None:
    regs = {0: 100, 7: 0x1000}
    ev = functools.partial(eval_location, cfa=0x2000, frame_base=0x2000)
    assert ev(bytes([0x91, 0x78])) == [Piece(None, "memory", address=0x2000 - 8)]  # fbreg -8
    assert ev(bytes([0x9C, 0x23, 0x10])) == [Piece(None, "memory", address=0x2010)]  # cfa; plus_uconst
    assert ev(bytes([0x77, 0x08]), regs=regs) == [Piece(None, "memory", address=0x1008)]  # breg7 8
    assert ev(bytes([0x03]) + (0x4A_5000).to_bytes(8, "little")) == [Piece(None, "memory", address=0x4A5000)]
    assert ev(bytes([0x50]), regs=regs) == [Piece(None, "register", register=0, value=100)]
    outer = ev(bytes([0x50]))
    assert outer == [Piece(None, "register", register=0)] and not outer[0].available
    # Pieces: rax (8 bytes), nothing (8 bytes: optimized out), a stack slot.
    pieces = ev(bytes([0x50, 0x93, 0x08, 0x93, 0x08, 0x91, 0x10, 0x93, 0x08]), regs=regs)
    assert [p.kind for p in pieces] == ["register", "optimized_out", "memory"]
    assert [p.size for p in pieces] == [8, 8, 8] and pieces[2].address == 0x2010
    # breg of an unknown register: that piece only is unavailable.
    pieces = ev(bytes([0x73, 0x00, 0x93, 0x08, 0x91, 0x00, 0x93, 0x08]), regs={})
    assert [p.kind for p in pieces] == ["unavailable", "memory"]
    assert ev(bytes([0x91, 0x00]), frame_base=None)[0].kind == "unavailable"
    # Values: literals, arithmetic, stack_value, implicit_value, constants.
    assert ev(bytes([0x35, 0x9F])) == [Piece(None, "value", value=5)]
    assert ev(bytes([0x11, 0x7F, 0x9F])) == [Piece(None, "value", value=(1 << 64) - 1)]  # consts -1
    assert ev(bytes([0x3A, 0x33, 0x1C, 0x9F]))[0].value == 7  # 10 - 3
    assert ev(bytes([0x3A, 0x33, 0x22, 0x32, 0x1E, 0x9F]))[0].value == 26  # (10 + 3) * 2
    assert ev(bytes([0x0A, 0x34, 0x12, 0x9F]))[0].value == 0x1234  # const2u
    assert ev(bytes([0x9E, 0x02, 0xAB, 0xCD])) == [Piece(None, "implicit", data=b"\xab\xcd")]
    # DW_OP_addrx (DWARF 5) and DW_OP_deref.
    assert ev(bytes([0xA1, 0x02]), addrx=lambda i: 0x500000 + i * 8)[0].address == 0x500010
    mem = {0x3000: (0xDEAD).to_bytes(8, "little")}
    got = ev(bytes([0x0B, 0x00, 0x30, 0x06]), read_mem=lambda a, n: mem[a][:n])  # const2s 0x3000; deref
    assert got == [Piece(None, "memory", address=0xDEAD)]
    assert ev(bytes([0x0B, 0x00, 0x30, 0x06]))[0].kind == "unavailable"
    # Empty = optimized out; garbage = unavailable, never an exception.
    assert ev(b"") == [Piece(None, "optimized_out")]
    assert ev(bytes([0xE0]))[0].kind == "unavailable"
    assert ev(bytes([0x03, 0x01]))[0].kind == "unavailable"  # truncated address


# --- a big binary -----------------------------------------------------------------------------------

@pytest.mark.slow
def test_every_function_of_cmd_go_is_found_where_nm_puts_it() -> None:
    """cmd/go (a big real program we did not write, built with DWARF): every text symbol that
    ``go tool nm`` lists is the DWARF function found at its address. (This found DWARF 5 range lists
    whose offsets wrap below the unit's base address: crypto/tls's functions had no DWARF at all.)
    Timings of the same binary are in benchmarks/hotpaths.py."""
    version = VERSIONS[-1]
    out = gotools.cache_dir() / "dwarf-builds" / f"cmdgo-{version}"
    if not out.exists():
        with gotools.file_lock(gotools.cache_dir() / "locks" / "dwarf-build.lock"):
            if not out.exists():
                tmp = out.with_suffix(".tmp")
                subprocess.run([gotools.go_command(version), "build", "-o", str(tmp), "cmd/go"],
                               cwd=gotools.goroot(version) / "src", env=gotools.go_env(version), check=True)
                tmp.rename(out)
    nm = subprocess.run([gotools.go_command(version), "tool", "nm", "-size", "-sort", "address", str(out)],
                        capture_output=True, text=True, env=gotools.go_env(version), check=True).stdout
    symbols = []
    for line in nm.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[2] in "Tt" and int(parts[1]) > 1:  # markers have size 0 or 1
            name = " ".join(parts[3:])
            if name not in ("runtime.text", "runtime.etext"):
                symbols.append((int(parts[0], 16), name))
    assert len(symbols) > 10_000
    with open(out, "rb") as fh:
        dw = GoDwarf.from_elffile(ELFFile(fh))
        assert dw is not None and dw.dwarf_version == (5 if int(version.split('.')[1]) >= 25 else 4)
        wrong = []
        for addr, name in symbols:
            fn = dw.function_at(addr)
            # nm names assembly functions NAME.abi0 and local types with a dot; DWARF with a middle dot
            want = name.removesuffix(".abi0")
            if fn is None or fn.name.replace("\u00b7", ".") != want:
                wrong.append(f"{addr:#x} {name}: {fn.name if fn else None}")
    assert not wrong, f"{len(wrong)} of {len(symbols)}:\n" + "\n".join(wrong[:20])
