"""Bad inputs, made from the real corpus: every command on each gets a result or one clear error.

Users point the tool at whatever they have: cores cut short by ``ulimit -c``, cores paired with the
wrong build, stripped binaries, cores of C programs, corrupted memory. The contract (shared/CLI.md):
exit status 0 with a result that is never wrong (what is missing reads as unreadable), or exit
status 1 with one ``gocore-tui: ...`` line (after the warnings), never a traceback, a hang, or a
wrong or partial output file.

tests/test_inputs.py already covers the core given in either order, compressed cores, cores cut in
their headers or notes (``info`` only), random bytes, an empty file, a directory or a missing file as
CORE, a Go executable as CORE and /bin/ls as BINARY (``info``); this file covers the rest: every
command on truncated cores, mismatched executables, stripped binaries, a core of a C program, bad
files as BINARY, corrupted memory (garbage pointers, huge lengths, cyclic lists), bad expressions,
and ``save``'s promises. The helpers here are shared with tests/test_fuzz.py.

Commands run in-process with ``GOCORE_TUI_DEBUG=1``, so an unexpected exception ("internal error"
for a user) fails the test with its traceback.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import gotools
from corpus import TESTPROGS, CoreCase, CorpusError, _find_core, _raise_core_limit, core_pattern
from gotools import cache_dir, file_lock

from explorer.cli import main as cli_main
from explorer.core import CoreFile, Region
from explorer.core.memory import PRIO_CORE
from explorer.goruntime.process import GoProcess

PRIMARY = "1.24.11"
WAITS = (PRIMARY, "opt", "waits")
#: Per-call bound: a command that takes longer has hung (the slowest real one takes about a second).
CALL_LIMIT = float(os.environ.get("GOCORE_TUI_CALL_LIMIT", "60"))


# --------------------------------------------------------------------------------------------------
# Helpers (shared with test_fuzz.py)


class Hang(BaseException):
    """Raised by :func:`time_limit` (a BaseException: the code under test must not swallow it)."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Fail with :class:`Hang` after ``seconds`` of wall-clock time (SIGALRM; restores any outer timer,
    such as pytest-timeout's)."""

    def on_alarm(_sig: int, _frame: Any) -> None:
        raise Hang(f"still running after {seconds}s: a hang")

    old_handler = signal.signal(signal.SIGALRM, on_alarm)
    old_delay, old_interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    started = time.monotonic()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old_handler)
        if old_delay:
            left = max(old_delay - (time.monotonic() - started), 0.001)
            signal.setitimer(signal.ITIMER_REAL, left, old_interval)


@dataclass
class CliResult:
    argv: list[str]
    rc: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]

    @property
    def warnings(self) -> list[str]:
        return [line for line in self.err_lines if line.startswith("gocore-tui: warning: ")]

    @property
    def error(self) -> str:
        """The one error line of a failed command (after the warnings)."""
        lines = [line for line in self.err_lines if not line.startswith("gocore-tui: warning: ")]
        assert len(lines) == 1, f"{self.argv}: expected one error line, got:\n{self.err}"
        return lines[0]

    def json(self) -> Any:
        assert self.rc == 0, f"{self.argv}: exit {self.rc}\n{self.err}"
        return json.loads(self.out)


def check_outcome(r: CliResult) -> None:
    """A result (0) or one clear error line (1): never a usage error, a traceback or an internal error."""
    assert "Traceback" not in r.err and "internal error" not in r.err, f"{r.argv}:\n{r.err}"
    assert r.rc in (0, 1), f"{r.argv}: exit {r.rc}\n{r.err}"
    for line in r.err_lines:
        assert line.startswith("gocore-tui: "), f"{r.argv}: stray stderr line {line!r}"
    if r.rc == 1:
        assert r.error.startswith("gocore-tui: ") and len(r.error) > len("gocore-tui: ") + 5, r.err
    elif "--json" in r.argv:
        json.loads(r.out)


def cli(*args: str | os.PathLike[str], proc: GoProcess | None = None, limit: float = CALL_LIMIT) -> CliResult:
    """Run ``gocore-tui ARGS`` in this process; an unexpected exception propagates (GOCORE_TUI_DEBUG).

    With ``proc``, every ``GoProcess.open`` returns it (a process with memory overlays, see
    :func:`fresh_process`), so CORE and BINARY are then only placeholders.
    """
    argv = [str(a) for a in args]
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8", errors="replace", write_through=True)
    err = io.StringIO()
    opener = mock.patch.object(GoProcess, "open", lambda *a, **k: proc) if proc is not None \
        else contextlib.nullcontext()
    with time_limit(limit), mock.patch.dict(os.environ, {"GOCORE_TUI_DEBUG": "1", "GOCORE_TUI_WORKERS": "1"}), \
            opener, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli_main(argv)
        out.flush()
    r = CliResult(argv, rc, raw.getvalue().decode("utf-8", "replace"), err.getvalue())
    check_outcome(r)
    return r


def assert_clear_error(r: CliResult, *words: str) -> None:
    assert r.rc == 1, f"{r.argv}: expected a failure, got exit {r.rc}\n{r.out[:2000]}\n{r.err}"
    for w in words:
        assert w.lower() in r.error.lower(), f"{w!r} not in {r.error!r}"


def sparse_copy(src: Path, dst: Path, length: int | None = None) -> None:
    """Copy ``src`` (a sparse core: 40-80 MB apparent, 1-2 MB of data) to ``dst``, cut at ``length``.

    Only the data extents are copied (SEEK_DATA/SEEK_HOLE), so a copy costs milliseconds and the
    copy stays sparse; on a filesystem without them the whole file is copied.
    """
    size = src.stat().st_size
    end = size if length is None else min(length, size)
    with open(src, "rb") as fi, open(dst, "wb") as fo:
        pos = 0
        while pos < end:
            try:
                start = os.lseek(fi.fileno(), pos, os.SEEK_DATA)
                stop = min(os.lseek(fi.fileno(), start, os.SEEK_HOLE), end)
            except OSError:  # ENXIO: no data after pos
                break
            if start >= end:
                break
            fi.seek(start)
            fo.seek(start)
            left = stop - start
            while left:
                chunk = fi.read(min(left, 1 << 20))
                if not chunk:
                    break
                fo.write(chunk)
                left -= len(chunk)
            pos = stop
        fo.truncate(end)


def file_offset(core: Path, addr: int) -> int | None:
    """Offset in the core file of the dumped byte at ``addr`` (None when the core does not hold it)."""
    with CoreFile.open(core) as c:
        for seg in c.segments:
            if seg.vaddr <= addr < seg.vaddr + seg.filesz:
                return seg.offset + addr - seg.vaddr
    return None


def address_at(core: Path, offset: int) -> int | None:
    """The address whose dumped byte sits at ``offset`` in the core file."""
    with CoreFile.open(core) as c:
        for seg in c.segments:
            if seg.offset <= offset < seg.offset + seg.filesz:
                return seg.vaddr + offset - seg.offset
    return None


#: What a process computes once and keeps whatever the memory holds (parsed from the executable).
_SHARED = ("pclntab", "moduledata", "gofunc", "dwarf", "layout", "go_minor", "pie_bias", "go_version")


def fresh_process(base: GoProcess) -> GoProcess:
    """A new process over ``base``'s core and executable, with fresh memory and memory-derived caches
    (so overlays start from the real bytes), sharing what parsing the executable gave. Closing it
    leaves ``base`` open."""
    p = GoProcess(base.core, base.exe)
    for key in _SHARED:
        if key in base.__dict__:
            p.__dict__[key] = base.__dict__[key]
    p.close = lambda: None  # type: ignore[method-assign]
    return p


def overlay(proc: GoProcess, addr: int, data: bytes) -> None:
    """Make ``data`` what ``proc`` reads at ``addr`` (over the core's own bytes)."""
    proc.memory.add([Region(addr, addr + len(data), bytes(data), 0, PRIO_CORE + 1, source="test")])


def overlay_u64(proc: GoProcess, addr: int, *values: int) -> None:
    overlay(proc, addr, b"".join(struct.pack("<Q", v & (1 << 64) - 1) for v in values))


def agrees(got: Any, want: Any) -> bool:
    """``got`` (read from a damaged core) says nothing that ``want`` (the intact core) contradicts:
    equal, except that any part of it may be ``unreadable`` and collections may stop early (with
    ``truncated``)."""
    if isinstance(got, dict) and got.get("kind") == "unreadable":
        return True
    if isinstance(got, dict) and isinstance(want, dict):
        for k, v in got.items():
            if k in ("truncated", "error", "cycle"):
                continue
            if k not in want or not agrees(v, want[k]):
                return False
        return True
    if isinstance(got, list) and isinstance(want, list):
        return len(got) <= len(want) and all(agrees(a, b) for a, b in zip(got, want, strict=False))
    return bool(got == want)


# --------------------------------------------------------------------------------------------------
# A C program's core


CABORT_SRC = TESTPROGS / "cabort" / "cabort.c"


def _gcc_version() -> str:
    try:
        return subprocess.run(["gcc", "--version"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError) as e:
        raise CorpusError(f"gcc is needed to build {CABORT_SRC} (the non-Go core): {e}") from e


def c_core() -> tuple[Path, Path]:
    """(core, executable) of tests/testprogs/cabort, a C program that calls abort(); built with gcc,
    run with the core limit raised in a temporary directory, cached like the Go corpus."""
    key = hashlib.sha256(CABORT_SRC.read_bytes() + _gcc_version().encode()).hexdigest()[:16]
    exe = cache_dir() / "builds" / "c" / f"cabort-{key}"
    directory = cache_dir() / "cores" / "c" / f"cabort-{key}"
    core = directory / "core"
    if exe.exists() and core.exists():
        return core, exe
    with file_lock(cache_dir() / "locks" / "c-cabort.lock"):
        if not exe.exists():
            exe.parent.mkdir(parents=True, exist_ok=True)
            tmp = exe.with_name(f"{exe.name}.tmp{os.getpid()}")
            r = subprocess.run(["gcc", "-O1", "-g", "-o", str(tmp), str(CABORT_SRC)], capture_output=True,
                               text=True, timeout=300)
            if r.returncode != 0 or not tmp.exists():
                raise CorpusError(f"gcc failed on {CABORT_SRC}:\n{r.stdout}{r.stderr}")
            os.replace(tmp, exe)
        if not core.exists():
            work = directory.with_name(f"{directory.name}.tmp{os.getpid()}")
            shutil.rmtree(work, ignore_errors=True)
            run_dir = work / "run"
            run_dir.mkdir(parents=True)
            started = time.time()
            p = subprocess.Popen([str(exe)], cwd=run_dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 stdin=subprocess.DEVNULL, preexec_fn=_raise_core_limit)
            out, errs = p.communicate(timeout=60)
            found = _find_core(core_pattern(), p.pid, run_dir, started, work / "core")
            if p.returncode != -signal.SIGABRT or found is None:
                raise CorpusError(f"{exe} left no core (exit {p.returncode}, core_pattern "
                                  f"{core_pattern()!r}): {out!r} {errs!r}")
            shutil.rmtree(run_dir)
            shutil.rmtree(directory, ignore_errors=True)
            os.replace(work, directory)
    return core, exe


# --------------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="module")
def waits(corpus: Any) -> CoreCase:
    case: CoreCase = corpus(*WAITS)
    return case


@dataclass
class Intact:
    """What the intact core says, to compare damaged cores with."""

    case: CoreCase
    info: dict[str, Any]
    goroutines: dict[int, dict[str, Any]]
    crashed: int
    bt: list[dict[str, Any]]
    frame: int  # a frame of the crashed goroutine with variables (main.startManyWaiters)
    vars: list[dict[str, Any]]
    registry: dict[str, Any]
    allgs: int
    stack_sp: int


@pytest.fixture(scope="module")
def intact(waits: CoreCase) -> Intact:
    c, b = waits.core, waits.binary
    info = cli("info", "--json", c, b).json()
    gs = {g["id"]: g for g in cli("goroutines", "--json", "--stacks", c, b).json()}
    crashed = info["crashed_goroutine"]
    bt = cli("bt", "--json", "-g", str(crashed), c, b).json()
    frame = next(f["index"] for f in bt if f["function"] == "main.startManyWaiters")
    variables = cli("vars", "--json", "-g", str(crashed), "-f", str(frame), c, b).json()
    registry = cli("print", "--json", c, b, "main.registry").json()
    with GoProcess.open(c, b) as proc:
        allgs = proc.allgs_addr
    return Intact(waits, info, gs, crashed, bt, frame, variables, registry, allgs, bt[0]["sp"])


# --------------------------------------------------------------------------------------------------
# Truncated cores: every command reads what is there and marks the rest unreadable


def _cut_points(it: Intact) -> dict[str, int]:
    core = it.case.core
    size = core.stat().st_size
    points = {
        "allgs": file_offset(core, it.allgs),  # the goroutine list itself is lost
        "stack": file_offset(core, it.stack_sp + 256),  # inside the crashing goroutine's stack
        "heap": file_offset(core, it.registry["target"]["address"] if it.registry.get("target")
                            else it.registry["address"]),
        "half": size // 2,
        "last-byte": size - 1,
    }
    out = {}
    for name, off in points.items():
        assert off is not None, name
        out[name] = off
    return out


CUTS = ["allgs", "stack", "heap", "half", "last-byte"]


@pytest.mark.parametrize("where", CUTS)
def test_truncated_core_info(intact: Intact, tmp_path: Path, where: str) -> None:
    """`info` always works on a truncated core: it is where the user learns how much is missing."""
    case = intact.case
    size = case.core.stat().st_size
    cut = _cut_points(intact)[where]
    core = tmp_path / "core"
    sparse_copy(case.core, core, cut)
    r = cli("info", "--json", core, case.binary)
    assert r.warnings and "truncated" in r.warnings[0], r.err
    d = r.json()
    assert d["core_truncated"] is True and d["core_missing_bytes"] == size - cut
    assert any("truncated" in w for w in d["warnings"])
    for key in ("go_version", "build_id_match", "signal", "threads"):
        assert d[key] == intact.info[key], key
    if d["goroutines"] is None:  # the goroutine list itself is lost: say so
        assert any("truncated" in e for e in d["errors"]), d["errors"]
    text = cli("info", core, case.binary)
    assert text.rc == 0 and "truncated" in text.out
    assert "None" not in text.out, text.out  # e.g. "crashed goroutine:  None"


@pytest.mark.parametrize("where", CUTS)
def test_truncated_core_every_command(intact: Intact, tmp_path: Path, where: str) -> None:
    case = intact.case
    cut = _cut_points(intact)[where]
    core = tmp_path / "core"
    sparse_copy(case.core, core, cut)
    b = case.binary
    g = str(intact.crashed)
    results: list[CliResult] = []

    r = cli("goroutines", "--json", "--stacks", core, b)
    results.append(r)
    if r.rc == 0:
        for got in r.json():
            want = intact.goroutines.get(got["id"])
            assert want is not None, f"goroutine {got['id']} is not in the intact core"
            assert (got["status"], got["wait_reason"]) == (want["status"], want["wait_reason"])
            assert _frames_prefix(got["frames"], want["frames"]), got["id"]
    else:
        assert_clear_error(r, "truncated")

    r = cli("bt", "--json", "-g", g, core, b)
    results.append(r)
    if r.rc == 0:
        assert _frames_prefix(r.json(), intact.bt)
    else:
        assert "truncated" in r.error or "no goroutine" in r.error, r.error

    r = cli("vars", "--json", "-g", g, "-f", str(intact.frame), core, b)
    results.append(r)
    if r.rc == 0:
        assert agrees(r.json(), intact.vars)

    r = cli("print", "--json", core, b, "main.registry")
    results.append(r)
    if r.rc == 0:
        assert agrees(r.json(), intact.registry)
    else:
        assert_clear_error(r, "truncated")

    for text in (True, False):
        results.append(cli("goroutines", *(["--stacks"] if text else ["--group"]), core, b))
        results.append(cli("bt", "-g", g, core, b))
    results.append(cli("goroutines", core, b))
    for r in results[-5:]:  # text output: never Python's None
        assert "None" not in r.out, (r.argv, r.out)

    # Bytes past the cut: shown as unreadable, never saved.
    missing = address_at(case.core, cut)
    if missing is not None:
        r = cli("x", core, b, hex(missing), "-n", "64")
        results.append(r)
        assert r.rc == 0 and "??" in r.out and "truncated" in r.out, r.out
        out = tmp_path / "saved"
        r = cli("save", core, b, f"{missing:#x}:64", "-o", out)
        results.append(r)
        assert_clear_error(r, "truncated")
        assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["core"]
    # Bytes before the cut: exact.
    r = cli("save", core, b, f"{intact.stack_sp:#x}:64", "-o", tmp_path / "stack.bin")
    results.append(r)
    if (off := file_offset(case.core, intact.stack_sp)) is not None and off + 64 <= cut:
        assert r.rc == 0
        with open(case.core, "rb") as fh:
            fh.seek(off)
            assert (tmp_path / "stack.bin").read_bytes() == fh.read(64)

    for r in results:  # every command said the core is truncated, before anything else
        assert r.warnings and "truncated" in r.warnings[0], (r.argv, r.err)


def _frames_prefix(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> bool:
    key = ("function", "file", "line", "pc", "sp", "inlined")
    return len(got) <= len(want) and all(
        tuple(a[k] for k in key) == tuple(b[k] for k in key) for a, b in zip(got, want, strict=False))


# --------------------------------------------------------------------------------------------------
# Mismatched executables: a prominent warning, never silent garbage


def _mismatches() -> list[tuple[str, str]]:
    """(version, mode) of builds of the crasher that did not dump WAITS' core: another flag, another
    Go release (the ones GOCORE_TUI_GO_VERSIONS allows)."""
    out = [(PRIMARY, "noopt"), (PRIMARY, "stripped")]
    out += [(v, "opt") for v in ("1.21.13", "1.27.3") if v in gotools.test_versions()]
    return out


@pytest.mark.parametrize(("version", "mode"), _mismatches(), ids=lambda x: str(x))
def test_mismatched_executable(waits: CoreCase, version: str, mode: str) -> None:
    from corpus import build

    other = build(version, mode)
    c = waits.core
    r = cli("info", "--json", c, other)
    assert r.warnings and "not the one that dumped this core" in r.warnings[0], r.err
    assert "build ID" in r.warnings[0]
    # `info` must work: it is how the user learns that the pair does not match.
    d = r.json()
    assert d["build_id_match"] is False and d["build_id"] != d["core_build_id"]
    assert any("not the one that dumped this core" in w for w in d["warnings"])
    text = cli("info", c, other)
    assert "MISMATCH" in text.out and text.warnings
    # Every other command: the warning first, then a result or one clear error.
    for args in (["goroutines"], ["goroutines", "--json", "--stacks"], ["bt"], ["vars", "--json"],
                 ["print", "main.registry"], ["x", "0xc000000000"]):
        r = cli(args[0], c, other, *args[1:])
        assert r.warnings and "not the one that dumped this core" in r.warnings[0], (args, r.err)


def test_mismatched_executable_is_not_silent_about_goroutines(waits: CoreCase) -> None:
    """The -N -l build of the same program has its globals elsewhere: reading them from this core
    would be garbage; the command says why it cannot list goroutines instead."""
    from corpus import build

    r = cli("goroutines", waits.core, build(PRIMARY, "noopt"))
    assert_clear_error(r, "not of this Go program")


def _without_core_build_id(case: CoreCase, dst: Path) -> None:
    """A copy of the core whose dump of the executable's first page (ELF header, Go build ID note)
    is gone, as when coredump_filter leaves file-backed pages out."""
    sparse_copy(case.core, dst)
    with GoProcess.open(case.core, case.binary) as proc:
        base = min(s.vaddr for s in proc.exe.segments) + proc.pie_bias
    off = file_offset(case.core, base)
    assert off is not None
    with open(dst, "r+b") as fh:
        os.pwrite(fh.fileno(), b"\0" * 4096, off)


def test_core_naming_another_program(waits: CoreCase, tmp_path: Path) -> None:
    core = tmp_path / "core"
    _without_core_build_id(waits, core)
    renamed = tmp_path / "otherprog"
    shutil.copyfile(waits.binary, renamed)
    r = cli("info", "--json", core, renamed)
    d = r.json()
    assert d["build_id_match"] is None
    assert r.warnings and "dumped by" in r.warnings[0] and waits.binary.name in r.warnings[0], r.err
    # The right name, the build ID unknown: nothing to warn about, and the core is read as usual.
    r = cli("info", "--json", core, waits.binary)
    assert r.warnings == [] and r.json()["goroutines"] == d["goroutines"] == len(waits.trace.user_goroutines())


def test_same_build_under_another_name_is_no_mismatch(waits: CoreCase, tmp_path: Path) -> None:
    copy = tmp_path / "renamed"
    shutil.copyfile(waits.binary, copy)
    r = cli("info", "--json", waits.core, copy)
    assert r.warnings == [] and r.json()["build_id_match"] is True


# --------------------------------------------------------------------------------------------------
# Stripped binaries: goroutines and backtraces work; variables say why they cannot be shown


def test_stripped_binary(corpus: Any, tmp_path: Path) -> None:
    case: CoreCase = corpus(PRIMARY, "stripped", "waits")
    c, b = case.core, case.binary
    gs = cli("goroutines", "--json", "--stacks", c, b).json()
    assert len(gs) == len(case.trace.user_goroutines()) and all(g["frames"] for g in gs)
    assert cli("bt", "--json", c, b).json()
    info = cli("info", "--json", c, b).json()
    assert info["has_dwarf"] is False and any("DWARF" in w for w in info["warnings"])
    for args in (["vars"], ["vars", "--json", "-f", "2"], ["print", "main.registry"],
                 ["print", "--json", "runtime.allgs"], ["x", "main.registry"],
                 ["save", "main.busyStatuses", "-o", str(tmp_path / "out")]):
        r = cli(args[0], c, b, *args[1:])
        assert_clear_error(r, "DWARF")
    assert not (tmp_path / "out").exists()
    # Raw memory needs no DWARF.
    sp = gs[0]["frames"][0]["sp"]
    assert cli("x", c, b, hex(sp), "-n", "32").rc == 0
    r = cli("save", c, b, f"{sp:#x}:32", "-o", tmp_path / "raw")
    assert r.rc == 0 and (tmp_path / "raw").stat().st_size == 32


def test_corrupt_dwarf_is_treated_like_none(waits: CoreCase, tmp_path: Path) -> None:
    """DWARF that decompresses but does not parse (here: unknown attribute forms in .debug_abbrev):
    goroutines and backtraces come from .gopclntab and the generated layouts, as for a stripped
    binary; variables explain that the DWARF is unusable."""
    import zlib

    from elftools.elf.elffile import ELFFile

    bad = tmp_path / "crasher"
    shutil.copyfile(waits.binary, bad)
    with open(waits.binary, "rb") as fh:
        sec = ELFFile(fh).get_section_by_name(".debug_abbrev")
        assert sec is not None
        off, size, flags = int(sec["sh_offset"]), int(sec["sh_size"]), int(sec["sh_flags"])
        fh.seek(off)
        raw = fh.read(size)
    assert flags & 0x800, "the Go linker compresses DWARF (SHF_COMPRESSED)"
    body = zlib.decompress(raw[24:])
    packed = zlib.compress(body.replace(b"\x0b", b"\x7f"), 9)  # DW_FORM_data1 -> an unknown form
    assert len(packed) <= size - 24
    with open(bad, "r+b") as fh:
        os.pwrite(fh.fileno(), raw[:24] + packed + b"\0" * (size - 24 - len(packed)), off)
    c = waits.core
    gs = cli("goroutines", "--json", c, bad)
    assert gs.rc == 0, gs.err
    assert len(gs.json()) == len(waits.trace.user_goroutines())
    assert cli("bt", "--json", c, bad).rc == 0
    assert cli("info", "--json", c, bad).json()["goroutines"] == len(waits.trace.user_goroutines())
    assert_clear_error(cli("vars", c, bad), "DWARF")


# --------------------------------------------------------------------------------------------------
# Not Go at all; not a core; not an executable


@pytest.fixture(scope="module")
def cprog() -> tuple[Path, Path]:
    return c_core()


def test_core_of_a_c_program(cprog: tuple[Path, Path], waits: CoreCase, corpus: Any) -> None:
    core, exe = cprog
    for args in ([core, exe], [exe, core], [core]):  # its own binary (either order, or found from the core)
        for cmd in ("info", "goroutines", "bt", "vars"):
            assert_clear_error(cli(cmd, *args), "not a Go program")
    stripped = corpus(PRIMARY, "stripped", "waits").binary
    for go_binary in (waits.binary, stripped):  # a Go binary with a C program's core
        for argv in (["info", "--json"], ["goroutines"], ["bt"], ["vars"], ["print", "main.registry"]):
            r = cli(argv[0], core, go_binary, *argv[1:])
            assert r.warnings and "dumped by" in r.warnings[0] and exe.name in r.warnings[0], r.err
            if r.rc == 0 and argv[0] == "print":  # a global's initial value, from the executable
                continue
            if r.rc == 0:
                assert argv[0] == "info"
                assert json.loads(r.out)["goroutines"] is None
                assert any("not of this Go program" in e for e in json.loads(r.out)["errors"])
            elif argv[0] != "print":
                assert "not of this Go program" in r.error or "no goroutine" in r.error, r.error
    # A Go core with the C program as its binary.
    assert_clear_error(cli("info", waits.core, exe), "not a Go program")


def test_bin_ls_in_every_place(waits: CoreCase) -> None:
    ls = Path("/bin/ls")
    for cmd in ("goroutines", "bt", "vars"):
        assert_clear_error(cli(cmd, waits.core, ls), "not a Go program")
    assert_clear_error(cli("info", ls), "not a core")
    assert_clear_error(cli("info", ls, waits.binary), "not a core")  # two executables
    assert_clear_error(cli("info", waits.binary, ls), "not a core")


@pytest.mark.parametrize("what", ["empty", "random", "directory", "missing", "truncated-elf", "text"])
def test_bad_file_as_binary(waits: CoreCase, tmp_path: Path, what: str) -> None:
    bad = tmp_path / what
    if what == "empty":
        bad.write_bytes(b"")
    elif what == "random":
        bad.write_bytes(os.urandom(1 << 16))
    elif what == "directory":
        bad.mkdir()
    elif what == "truncated-elf":
        bad.write_bytes(waits.binary.read_bytes()[:4096])
    elif what == "text":
        bad.write_text("#!/bin/sh\necho not a program\n")
    words = {"empty": "empty", "directory": "directory", "missing": "no such file"}.get(what, "")
    for cmd in ("info", "goroutines", "bt"):
        assert_clear_error(cli(cmd, waits.core, bad), str(bad), words)


def test_two_cores(waits: CoreCase, corpus: Any) -> None:
    other = corpus(PRIMARY, "opt", "panic").core
    assert_clear_error(cli("info", waits.core, other), "core")


# --------------------------------------------------------------------------------------------------
# Corrupted memory: garbage pointers, huge lengths, cycles. Bounded, and never a crash.


@pytest.fixture(scope="module")
def waits_proc(waits: CoreCase) -> Iterator[GoProcess]:
    proc = GoProcess.open(waits.core, waits.binary)
    proc.all_goroutines  # noqa: B018 - parse once; fresh_process() copies what does not depend on memory
    yield proc
    proc.close()


def _run_all(proc: GoProcess, *extra: Sequence[str]) -> list[CliResult]:
    """The commands that walk goroutines and stacks, on a process with overlays."""
    runs = [["goroutines", "--json", "--stacks"], ["goroutines", "--format", "traceback"], ["goroutines", "--group"],
            ["bt"], ["bt", "--json", "-g", "1"], ["vars", "--json"], *extra]
    return [cli(args[0], "CORE", "BINARY", *args[1:], proc=proc) for args in runs]


_GARBAGE = [0, 0x10, 0xFFFF_FFFF_FFFF_FFF8, 1 << 63, 0x7FFF_FFFF_FFFF, 0xC000000001]


@pytest.mark.parametrize(("ln", "cap"), [(1 << 40, 1 << 40), (10_000_001, 10_000_001), (10, 5), (1 << 20, 1 << 20),
                                         (0, 0), (143, (1 << 64) - 1)])
@pytest.mark.parametrize("ptr", ["real", "unmapped", "text"])
def test_allgs_header_garbage(waits_proc: GoProcess, ln: int, cap: int, ptr: str) -> None:
    p = fresh_process(waits_proc)
    real = waits_proc.memory.read_u64(waits_proc.allgs_addr)
    addr = {"real": real, "unmapped": 0x10, "text": waits_proc.pclntab.min_pc}[ptr]
    overlay_u64(p, waits_proc.allgs_addr, addr, ln, cap)
    started = time.monotonic()
    for r in _run_all(p):
        if r.rc == 1:
            assert "allgs" in r.error or "goroutine" in r.error, r.error
    assert time.monotonic() - started < 30


def test_allgs_entries_garbage(waits_proc: GoProcess) -> None:
    p = fresh_process(waits_proc)
    arr = waits_proc.memory.read_u64(waits_proc.allgs_addr)
    n = len(waits_proc.all_goroutines)
    bad = [*_GARBAGE, waits_proc.allgs_addr, waits_proc.pclntab.min_pc, arr]
    for i, v in enumerate(bad):
        overlay_u64(p, arr + 8 * (n - 1 - i), v)
    results = _run_all(p)
    gs = results[0].json()
    intact = {g.id for g in waits_proc.goroutines}
    assert len(gs) >= len(intact) - len(bad) and {g["id"] for g in gs} <= intact | {0}


def _g_field_cases(proc: GoProcess) -> list[tuple[str, int]]:
    gr = proc.greader
    out: list[tuple[str, int]] = []
    for key in ("status", "waitreason", "goid", "m", "sched_sp", "sched_pc", "sched_bp", "stack_lo", "stack_hi",
                "syscallsp", "syscallpc", "gopc", "startpc", "labels", "panic", "lockedm", "sigpc"):
        if key in gr.offsets:
            out.append((key, gr.offsets[key][0]))
    return out


@pytest.mark.parametrize("which", ["crashed", "parked"])
def test_g_struct_garbage(waits_proc: GoProcess, which: str) -> None:
    """Every field of a g overwritten, one at a time, with each kind of garbage."""
    crashed = waits_proc.crashed_goroutine
    assert crashed is not None
    g = crashed if which == "crashed" else next(x for x in waits_proc.goroutines if x.status == "waiting")
    for name, off in _g_field_cases(waits_proc):
        for v in (*_GARBAGE, g.addr, g.stack_hi - 8):
            p = fresh_process(waits_proc)
            width = waits_proc.greader.offsets[name][1].size
            overlay(p, g.addr + off, (v & ((1 << 8 * width) - 1)).to_bytes(width, "little"))
            for args in (["goroutines", "--json", "--stacks"], ["bt", "-g", str(g.id)], ["info", "--json"]):
                cli(args[0], "CORE", "BINARY", *args[1:], proc=p)


def _zero_frame_pc(proc: GoProcess) -> int:
    """A pc with a frame size of 0 in a function the unwinder does not stop at."""
    pcln = proc.pclntab
    for f in pcln.funcs():
        if f.is_topframe or f.is_spwrite or not f.name.startswith("runtime.") or f.end - f.entry < 8:
            continue
        pc = f.entry + 1
        if pcln.sp_delta(f, pc) == 0 and pcln.find_func(pc) == f:
            return pc
    raise AssertionError("no function with a zero frame size")


def test_stack_of_return_addresses_is_bounded(waits_proc: GoProcess) -> None:
    """A parked goroutine whose stack is all return addresses into a frameless function, and whose
    stack bounds are huge: its backtrace stops at the frame limit, quickly, and says so."""
    from explorer.goruntime.unwind import MAX_FRAMES

    g = next(x for x in waits_proc.goroutines if x.status == "waiting" and x.thread is None)
    pc = _zero_frame_pc(waits_proc)
    p = fresh_process(waits_proc)
    words = 2 * MAX_FRAMES
    lo = g.sched_sp
    overlay(p, lo, struct.pack("<Q", pc) * words)
    overlay_u64(p, g.addr + waits_proc.greader.offsets["sched_pc"][0], pc)
    overlay_u64(p, g.addr + waits_proc.greader.offsets["stack_hi"][0], lo + 8 * words + 8)
    started = time.monotonic()
    r = cli("bt", "--json", "-g", str(g.id), "CORE", "BINARY", proc=p)
    assert time.monotonic() - started < 30
    assert r.rc == 0 and 1 <= len(r.json()) <= MAX_FRAMES
    gs = {x["id"]: x for x in cli("goroutines", "--json", "CORE", "BINARY", proc=p).json()}
    assert gs[g.id]["backtrace_error"], gs[g.id]


def test_cyclic_m_list(waits_proc: GoProcess) -> None:
    """runtime.allm's alllink chain made into a loop: printing it ends, marking the cycle."""
    p = fresh_process(waits_proc)
    allm = waits_proc.memory.read_u64(waits_proc.global_addr("runtime.allm") or 0)
    off = waits_proc.layout.need("runtime.m", "alllink")
    overlay_u64(p, allm + off, allm)
    started = time.monotonic()
    r = cli("print", "--json", "CORE", "BINARY", "runtime.allm.alllink.alllink.alllink", proc=p)
    assert r.json()["value"] == allm
    r = cli("print", "CORE", "BINARY", "runtime.allm", proc=p)
    assert r.rc == 0
    assert time.monotonic() - started < 30


def test_cyclic_sudog_list(waits_proc: GoProcess) -> None:
    """A goroutine blocked on a channel: its sudog's next/prev point back at itself."""
    g = next(x for x in waits_proc.goroutines if x.wait_reason == "chan receive" and x.thread is None)
    waiting_off = waits_proc.layout.need("runtime.g", "waiting")
    sudog = waits_proc.memory.read_u64(g.addr + waiting_off)
    assert sudog
    p = fresh_process(waits_proc)
    for fld in ("next", "prev", "waitlink"):
        off = waits_proc.layout.offset("runtime.sudog", fld)
        if off is not None:
            overlay_u64(p, sudog + off, sudog)
    idx = [x.addr for x in waits_proc.all_goroutines].index(g.addr)
    for expr in (f"runtime.allgs[{idx}].waiting", f"*runtime.allgs[{idx}].waiting"):
        r = cli("print", "--json", "CORE", "BINARY", expr, proc=p)
        assert r.rc == 0 and "cycle" in r.out, r.out[:2000]


@pytest.mark.parametrize("length", [1 << 40, (1 << 63) - 1, 1 << 24])
def test_huge_slice_and_string_lengths(waits_proc: GoProcess, tmp_path: Path, length: int) -> None:
    p = fresh_process(waits_proc)
    addr = waits_proc.global_addr("main.busyStatuses")
    assert addr is not None
    data = waits_proc.memory.read_u64(addr)
    overlay_u64(p, addr + 8, length, length)  # len, cap
    overlay_u64(p, data + 8, length)  # busyStatuses[0]'s length
    started = time.monotonic()
    r = cli("print", "--json", "CORE", "BINARY", "main.busyStatuses", proc=p)
    assert r.rc == 1 or "unreadable" in r.out
    out = tmp_path / "out"
    for expr in ("main.busyStatuses", "main.busyStatuses[0]"):
        r = cli("save", "CORE", "BINARY", expr, "-o", out, proc=p)
        assert r.rc == 1 and not out.exists()
        r = cli("x", "CORE", "BINARY", expr, proc=p)
        assert r.rc == 1 or len(r.out) < 1 << 16
    assert time.monotonic() - started < 30


@pytest.mark.parametrize("pointer", [0x10, 0xFFFF_FFFF_FFFF_0000, 1, "odd", "text", "self"])
def test_garbage_pointers(waits_proc: GoProcess, pointer: int | str) -> None:
    """main.registry (a *goroutineRegistry) pointing anywhere: unreadable values or clear errors."""
    p = fresh_process(waits_proc)
    addr = waits_proc.global_addr("main.registry")
    assert addr is not None
    real = waits_proc.memory.read_u64(addr)
    value = {"odd": real + 1, "text": waits_proc.pclntab.min_pc, "self": addr}.get(str(pointer), pointer)
    assert isinstance(value, int)
    overlay_u64(p, addr, value)
    for expr in ("main.registry", "main.registry.byKey", "*main.registry", 'main.registry.byKey["chan_send"]'):
        for args in (["print", "--json"], ["print"], ["x"]):
            cli(args[0], "CORE", "BINARY", *args[1:], expr, proc=p)


def test_unmapped_addresses(waits: CoreCase, tmp_path: Path) -> None:
    c, b = waits.core, waits.binary
    for addr in (0, 0x10, 0xFFFF_FFFF_FFFF_FF00, 0x7FFF_FFFF_F000):
        r = cli("x", c, b, hex(addr), "-n", "256")
        assert r.rc == 0 and "??" in r.out
        out = tmp_path / f"{addr:x}"
        assert_clear_error(cli("save", c, b, f"{addr:#x}:16", "-o", out), "nothing written")
        assert not out.exists()
    assert_clear_error(cli("x", c, b, "0xc000000000", "-n", str(1 << 40)), "length")
    assert_clear_error(cli("save", c, b, f"0xc000000000:{1 << 40:#x}", "-o", tmp_path / "big"))
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------------
# Expressions that do not parse or name nothing


BAD_EXPRESSIONS = [
    "", " ", "1+", "main.", "a[", "a]", "f()", "&x", "x.(T)", "a[1:2:3]", "'x", '"abc', "`raw`", "main.registry +",
    "main.nosuch", "nosuchvar", "main.registry.nosuch", "main.busyStatuses[99999]", "main.busyStatuses[-1]",
    "main.busyStatuses[2:1]", "*main.busyStatuses", 'main.registry.byKey["nope"]', "main.registry.byKey[1.5]",
    "main.busyStatuses[main.registry]", "main.busyStatuses[99999999999999999999999]", "runtime.allgs[0:1<<40]",
    "nil", "main.registry.byKey.x", "main.busyStatuses.len", "\x00", "é", "main.registry\n+",
    "runtime.allgs[0].sched.pc.x", "a" * 10_000,
]


def test_bad_expressions(waits_proc: GoProcess, corpus: Any, tmp_path: Path) -> None:
    proc = fresh_process(waits_proc)
    for i, expr in enumerate(BAD_EXPRESSIONS):
        cmds = [["print"], ["x"]]
        if i % 4 == 0:
            cmds += [["print", "--json"], ["save", "-o", str(tmp_path / "out")], ["vars", "-f", "999"]]
        for cmd in cmds:
            r = cli(cmd[0], "CORE", "BINARY", *cmd[1:], *([expr] if cmd[0] != "vars" else []), proc=proc)
            assert_clear_error(r)
    assert list(tmp_path.iterdir()) == []
    stripped = corpus(PRIMARY, "stripped", "waits")
    assert_clear_error(cli("print", stripped.core, stripped.binary, "main.registry"), "DWARF")


@pytest.mark.parametrize("expr", [
    "(" * 5000 + "main.registry" + ")" * 5000,
    "*" * 5000 + "main.registry",
    "main.busyStatuses" + "[0]" * 5000,
    "main.registry" + ".byKey" * 5000,
    "*(" * 2500 + "main.registry" + ")" * 2500,
    "runtime.allgs[" + "9" * 5000 + "]",  # more digits than int() converts by default
], ids=["parens", "stars", "indexes", "fields", "star-parens", "long-literal"])
def test_deeply_nested_expression(waits: CoreCase, expr: str) -> None:
    """Nesting deeper than Python's recursion limit, a literal longer than int() takes: a clear error,
    not an internal one."""
    r = cli("print", waits.core, waits.binary, expr)
    assert_clear_error(r)


# --------------------------------------------------------------------------------------------------
# save: never clobbers, never leaves a partial or stray file


def _snapshot(path: Path) -> tuple[bytes, int, int]:
    st = path.stat()
    return path.read_bytes(), st.st_mtime_ns, st.st_ino


@pytest.mark.parametrize("target", ["main.busyStatuses", "0xc000000000:64", "0x10:16", "main.nosuch",
                                    "main.busyStatuses[0]"])
def test_save_never_overwrites_without_force(waits: CoreCase, tmp_path: Path, target: str) -> None:
    existing = tmp_path / "existing.bin"
    existing.write_bytes(b"precious\x00data" * 100)
    before = _snapshot(existing)
    r = cli("save", waits.core, waits.binary, target, "-o", existing)
    assert r.rc == 1
    assert _snapshot(existing) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing.bin"]  # no temporary file left


def test_save_into_missing_directory(waits: CoreCase, tmp_path: Path) -> None:
    for out in (tmp_path / "missing" / "out.bin", tmp_path / "missing" / "deeper" / "out.bin"):
        r = cli("save", waits.core, waits.binary, "main.busyStatuses", "-o", out)
        assert_clear_error(r, "does not exist")
        assert list(tmp_path.iterdir()) == []


def test_save_onto_a_directory_or_a_symlink(waits: CoreCase, tmp_path: Path) -> None:
    d = tmp_path / "dir"
    d.mkdir()
    assert_clear_error(cli("save", waits.core, waits.binary, "main.busyStatuses", "-o", d), "directory")
    assert list(d.iterdir()) == []
    target = tmp_path / "target"
    target.write_bytes(b"keep")
    link = tmp_path / "link"
    link.symlink_to(target)
    assert_clear_error(cli("save", waits.core, waits.binary, "main.busyStatuses", "-o", link), "exists")
    assert target.read_bytes() == b"keep" and link.is_symlink()
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    r = cli("save", waits.core, waits.binary, "main.busyStatuses", "-o", dangling)
    assert r.rc == 1 and not (tmp_path / "nowhere").exists() and dangling.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dangling", "dir", "link", "target"]


def test_save_with_force_replaces_whole(waits: CoreCase, tmp_path: Path) -> None:
    out = tmp_path / "out.bin"
    out.write_bytes(b"x" * 10_000)  # longer than what is saved: no stale tail may remain
    r = cli("save", waits.core, waits.binary, "main.busyStatuses", "-o", out, "--force")
    assert r.rc == 0 and out.stat().st_size == 6 * 16
    # A failing save with --force leaves the old file alone too.
    before = _snapshot(out)
    assert cli("save", waits.core, waits.binary, "0x10:16", "-o", out, "--force").rc == 1
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


# --------------------------------------------------------------------------------------------------
# Loops in maps: overflow chains (classic maps, and pprof labels up to Go 1.23), swiss tables


def _version_or_primary(version: str) -> str:
    return version if version in gotools.test_versions() else PRIMARY


def test_cyclic_map_buckets(corpus: Any) -> None:
    """Overflow chains that loop, and a directory whose entries all name one table: every map walk
    ends, with the entries it could read or a clear error."""
    from explorer.goruntime.expr import evaluate
    from explorer.goruntime.maps import read_map

    for version in sorted({_version_or_primary("1.21.13"), PRIMARY}):
        case: CoreCase = corpus(version, "opt", "waits")
        with GoProcess.open(case.core, case.binary) as base:
            m = evaluate(base, "main.registry.byKey", None, 0)
            assert m._t is not None and isinstance(m.value, int)
            info = read_map(base.memory, m._t, m.value)
            p = fresh_process(base)
            if info.layout == "classic":
                for i in range(1 << info.B):  # every bucket's overflow: back to bucket 0
                    overlay_u64(p, info.buckets + i * info.unit_size + info.overflow_off, info.buckets)
            else:
                assert info.dir_len, "13 entries need a table directory"
                first = base.memory.read_u64(info.dir_ptr)
                overlay_u64(p, info.dir_ptr, *([first] * info.dir_len))
                overlay_u64(p, first + info.groups_mask_off, (1 << 40) - 1)  # a table of 2^40 groups
            started = time.monotonic()
            for args in (["print", "--json", "main.registry.byKey"], ["print", "main.registry"],
                         ["print", 'main.registry.byKey["chan_send"]'], ["x", "main.registry.byKey"]):
                cli(args[0], "CORE", "BINARY", *args[1:], proc=p)
            assert time.monotonic() - started < 30


def test_cyclic_label_map(corpus: Any) -> None:
    """pprof labels kept in a classic map (Go <= 1.23) whose overflow chain loops, or whose size is
    garbage: the goroutines are listed, their labels are not invented."""
    version = _version_or_primary("1.21.13")
    case: CoreCase = corpus(version, "opt", "waits")
    with GoProcess.open(case.core, case.binary) as base:
        labeled = [g for g in base.goroutines if g.labels_ptr]
        assert labeled
        p = fresh_process(base)
        for g in labeled:
            if (base.go_minor or 0) <= 23:
                hmap = base.memory.read_u64(g.labels_ptr)
                buckets = base.memory.read_u64(hmap + base.layout.need("runtime.hmap", "buckets"))
                overlay_u64(p, buckets + 8 + 8 * 16 + 8 * 16, buckets)  # overflow -> itself
                overlay(p, buckets, b"\x00" * 8)  # no live slot: only the loop could find more
            else:
                overlay_u64(p, g.labels_ptr + 8, 1 << 40, 1 << 40)  # the label list's len and cap
        started = time.monotonic()
        gs = {x["id"]: x for x in cli("goroutines", "--json", "CORE", "BINARY", proc=p).json()}
        assert time.monotonic() - started < 30
        for g in labeled:
            assert gs[g.id]["labels"] in (None, {}), gs[g.id]["labels"]


# --------------------------------------------------------------------------------------------------
# Regressions: bugs the fuzz tests found


def _patched_copy(src: Path, dst: Path, patches: Sequence[tuple[int, bytes]]) -> Path:
    shutil.copyfile(src, dst)
    with open(dst, "r+b") as fh:
        for off, raw in patches:
            os.pwrite(fh.fileno(), raw, off)
    return dst


def test_segment_longer_than_its_file(corpus: Any, tmp_path: Path) -> None:
    """A PT_LOAD whose p_filesz runs past the end of the executable: the bytes it lacks are
    unreadable (reads used to run off the mapping: struct.error, short reads)."""
    from elftools.elf.elffile import ELFFile

    case: CoreCase = corpus(PRIMARY, "stripped", "panic")
    size = case.binary.stat().st_size
    with open(case.binary, "rb") as fh:
        elf = ELFFile(fh)
        phoff = elf.header.e_phoff
        loads = [i for i, seg in enumerate(elf.iter_segments()) if seg["p_type"] == "PT_LOAD"]
    for i in loads:
        for field, value in ((8, size - 4096), (32, 1 << 32)):  # p_offset near the end; a huge p_filesz
            bad = _patched_copy(case.binary, tmp_path / f"load{i}-{field}",
                                [(phoff + 56 * i + field, struct.pack("<Q", value))])
            for args in (["info", "--json"], ["goroutines", "--json", "--stacks"], ["bt"]):
                cli(args[0], case.core, bad, *args[1:])


def test_error_while_the_pclntab_is_viewed(corpus: Any, tmp_path: Path) -> None:
    """A malformed .gopclntab header: one clear error (closing the executable used to fail with
    BufferError while the error's traceback still held views of the mapping)."""
    case: CoreCase = corpus(PRIMARY, "stripped", "panic")
    with GoProcess.open(case.core, case.binary) as proc:
        off = proc.exe.sections[".gopclntab"].offset
    bad = _patched_copy(case.binary, tmp_path / "crasher", [(off + 8 + 5 * 8, struct.pack("<Q", 1 << 40))])
    r = cli("bt", case.core, bad)
    assert r.rc == 1 and ".gopclntab" in r.error, r.err
    for cmd in ("goroutines", "info"):  # the list (without frames) and the summary still show
        cli(cmd, case.core, bad)


@pytest.mark.parametrize("args", [["info"], ["info", "--json"], ["goroutines"], ["goroutines", "--json"],
                                  ["goroutines", "--group"], ["goroutines", "--stacks"], ["bt"]])
def test_pclntab_with_bad_magic(corpus: Any, tmp_path: Path, args: list[str]) -> None:
    """A .gopclntab whose magic is damaged: what can be told without backtraces is printed, then
    one line says why there are none, with exit 1 (info and goroutines used to exit 0 with every
    frame `?` and no word why)."""
    case: CoreCase = corpus(PRIMARY, "stripped", "panic")
    with GoProcess.open(case.core, case.binary) as proc:
        off = proc.exe.sections[".gopclntab"].offset
    bad = _patched_copy(case.binary, tmp_path / "crasher", [(off, b"\x00\x00\x00\x00")])
    r = cli(*args, case.core, bad)
    assert_clear_error(r, ".gopclntab magic 0x00000000")
    if args == ["info"]:
        assert "goroutines:         " in r.out and "error: no backtraces: .gopclntab magic" in r.out, r.out
    if "--json" in args:
        d = json.loads(r.out)
        if args[0] == "info":
            assert d["goroutines"] and any(".gopclntab magic" in e for e in d["errors"]), d["errors"]
        else:
            assert d and all(".gopclntab magic" in (g["backtrace_error"] or "") for g in d)
    assert "None" not in r.out


def test_panic_value_of_a_garbage_float_type() -> None:
    """A panic value whose type descriptor says float of size 3: shown as an opaque value."""
    from types import SimpleNamespace

    from explorer.core import AddressSpace
    from explorer.goruntime.panics import eface_text
    from explorer.goruntime.rtype import RType

    class Reader:
        def read(self, addr: int) -> RType:
            return RType(addr, 3, 14, 0, "float64", False)

    proc = SimpleNamespace(memory=AddressSpace([Region(0x1000, 0x1010, b"\x01" * 16, 0, PRIO_CORE)]),
                           _rtype_reader=Reader())
    assert eface_text(proc, 0x2000, 0x1000) == "(float64) 0x1000"


def test_control_characters_from_files_stay_on_one_line(corpus: Any, tmp_path: Path) -> None:
    """A build ID (or a path) with a newline in it: every warning and error is still one line."""
    case: CoreCase = corpus(PRIMARY, "stripped", "panic")
    with GoProcess.open(case.core, case.binary) as proc:
        sec = proc.exe.sections[".note.go.buildid"]
    bad = _patched_copy(case.binary, tmp_path / "crasher", [(sec.offset + 16 + 4, b"\n\x00\x1b[2J")])
    r = cli("info", "--json", case.core, bad)
    assert r.warnings and "\\n" in r.warnings[0], r.err
    odd = tmp_path / "new\nline"
    r = cli("info", odd, case.binary)
    assert_clear_error(r, "\\n")
