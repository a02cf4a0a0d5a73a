#!/usr/bin/env python3
"""In-process timings of the binary layer's hot paths, to compare two trees of the code.

Prints figures (the CPU time of the best of ``--repeat`` runs, each on fresh objects: CPU time,
not wall time, so that other processes on a shared machine disturb it less); asserts nothing. Run it once per
tree with that tree first on ``sys.path``, for instance before and after a refactoring:

    PYTHONPATH=/path/to/old python benchmarks/hotpaths.py
    PYTHONPATH=$PWD python benchmarks/hotpaths.py

Cases (on corpus builds, cached like the tests'; the cmd/go build is the one tests/test_dwarf.py
makes):

- ``pcvalue``: every function of cmd/go's ``.gopclntab``: its pcsp table up to its last pc, and
  its file and line at entry (varint decoding of the pc-value tables);
- ``backtraces``: open the crasher's ``waits`` core and unwind every goroutine, with inlining;
- ``dwarf types``: a fresh DWARF index of cmd/go, ``runtime.g`` by name, then every type of the
  runtime unit with its fields (DIE decoding, the unit index);
- ``dwarf functions``: ``function_at`` and the logical frames' variables at 2000 pcs of cmd/go.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import gotools  # noqa: E402
from corpus import build, make_core  # noqa: E402
from elftools.elf.elffile import ELFFile  # noqa: E402

import explorer  # noqa: E402
from explorer.binary.dwarf import GoDwarf  # noqa: E402
from explorer.binary.elf import Executable  # noqa: E402
from explorer.binary.pclntab import Pclntab  # noqa: E402
from explorer.goruntime.process import GoProcess  # noqa: E402


def cmd_go(version: str) -> Path:
    """cmd/go built with Go ``version`` (cached where tests/test_dwarf.py caches it)."""
    import subprocess

    out = gotools.cache_dir() / "dwarf-builds" / f"cmdgo-{version}"
    if not out.exists():
        with gotools.file_lock(gotools.cache_dir() / "locks" / "dwarf-build.lock"):
            if not out.exists():
                tmp = out.with_suffix(".tmp")
                subprocess.run([gotools.go_command(version), "build", "-o", str(tmp), "cmd/go"],
                               cwd=gotools.goroot(version) / "src", env=gotools.go_env(version), check=True)
                tmp.rename(out)
    return out


def best(label: str, fn: Callable[[], object], repeat: int) -> float:
    times = []
    result: object = None
    for _ in range(repeat):
        t = time.process_time()
        result = fn()
        times.append(time.process_time() - t)
    print(f"{label:<44} {min(times) * 1000:9.1f} ms cpu  (median {sorted(times)[len(times) // 2] * 1000:.1f})"
          f"  {result}", flush=True)
    return min(times)


def pcvalue_case(exe_path: Path) -> Callable[[], object]:
    exe = Executable(exe_path)
    data = exe.section_data(".gopclntab")
    assert data is not None
    text = exe.symbol("runtime.text") or exe.sections[".text"].addr  # no text start in 1.26+ headers
    pcln = Pclntab.parse(data, text_start=text)
    funcs = list(pcln.funcs())

    def run() -> object:
        total = 0
        for f in funcs:
            v = pcln.pcvalue(f, f.pcsp, f.entry + 0x7FFFFFF)  # walks the whole table
            total += 1 if v is None else 0
            pcln.file_line(f, f.entry)
        return f"{len(funcs)} funcs"
    return run


def backtraces_case(version: str) -> Callable[[], object]:
    case = make_core(version, "opt", "waits")

    def run() -> object:
        proc = GoProcess.open(case.core, case.binary)
        try:
            frames = sum(len(proc.backtrace(g).frames) for g in proc.all_goroutines)
            return f"{len(proc.all_goroutines)} goroutines, {frames} frames"
        finally:
            proc.close()
    return run


def dwarf_types_case(exe_path: Path) -> Callable[[], object]:
    def run() -> object:
        with open(exe_path, "rb") as fh:
            dw = GoDwarf(ELFFile(fh))
        g = dw.type_by_name("runtime.g")
        assert g is not None and g.field("goid") is not None
        n = 0
        for name in dw.type_names():
            t = dw.type_by_name(name)
            if t is not None:
                n += len(t.fields) + 1
        return f"{n} types+fields"
    return run


def dwarf_functions_case(exe_path: Path) -> Callable[[], object]:
    exe = Executable(exe_path)
    syms = [(a, s) for n, (a, s) in exe.symbols.items() if s and not n.startswith("type:")]
    rng = random.Random(1)
    pcs = [a + rng.randrange(s) for a, s in rng.sample(syms, min(2000, len(syms)))]

    def run() -> object:
        with open(exe_path, "rb") as fh:
            dw = GoDwarf(ELFFile(fh))
        nvars = nfn = 0
        for pc in pcs:
            fn = dw.function_at(pc)
            if fn is None:
                continue
            nfn += 1
            for fr in fn.frames_at(pc):
                nvars += len(fr.variables)
        return f"{nfn} functions, {nvars} variables"
    return run


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--version", default="1.27.3", help="Go toolchain of the corpus builds")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--only", default="", help="run only the cases whose label contains this")
    args = ap.parse_args()
    exe = cmd_go(args.version)
    build(args.version, "opt")
    print(f"explorer from {Path(explorer.__file__).parent}; Go {args.version}; best of {args.repeat}")
    cases: list[tuple[str, Callable[[], Callable[[], object]]]] = [
        ("pcvalue: every func of cmd/go", lambda: pcvalue_case(exe)),
        ("backtraces: crasher waits core", lambda: backtraces_case(args.version)),
        ("dwarf types: runtime unit of cmd/go", lambda: dwarf_types_case(exe)),
        ("dwarf functions: 2000 pcs of cmd/go", lambda: dwarf_functions_case(exe)),
    ]
    for label, make in cases:
        if args.only in label:
            best(label, make(), args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
