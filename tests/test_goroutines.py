"""Goroutines and backtraces against the oracle: what the Go runtime itself printed at the crash.

For every corpus core (each Go version CI builds; optimized, -N -l and stripped builds; every crash
scenario) the model must list each goroutine the runtime printed with the same id and status, end
each backtrace with exactly the frames the runtime printed (function, file:line, pc and sp), name
the same creator, and pick the goroutine the runtime printed first as the crashing one.

The same checks run on arm64 cores (made under qemu-user, see tests/corpus.py): every version
optimized, and every mode on 1.21, 1.24 and 1.27 (:func:`corpus.arm64_cases`).
"""

from __future__ import annotations

import json
import subprocess

import pytest
from corpus import CoreCase, arm64_cases, case_id, corpus_cases
from oracle import printed_name, status_words

from explorer.cli import main as cli_main
from explorer.goruntime.process import GoProcess

CASES = corpus_cases() + arm64_cases()


@pytest.fixture(scope="module")
def opened() -> dict[str, GoProcess]:
    cache: dict[str, GoProcess] = {}
    yield cache
    for p in cache.values():
        p.close()


def open_case(case: CoreCase, cache: dict[str, GoProcess]) -> GoProcess:
    if case.id not in cache:
        cache[case.id] = GoProcess.open(case.core, case.binary)
    return cache[case.id]


def readelf_threads(core: str) -> int:
    out = subprocess.run(["readelf", "-n", "-W", core], capture_output=True, text=True, check=True).stdout
    return sum(1 for line in out.splitlines() if "NT_PRSTATUS" in line)


@pytest.mark.parametrize("core_case", CASES, ids=case_id, indirect=True)
def test_info_matches_runtime(core_case: CoreCase, capsys: pytest.CaptureFixture[str]) -> None:
    rc = cli_main(["info", "--json", str(core_case.core), str(core_case.binary)])
    out = capsys.readouterr()
    assert rc == 0, out.err
    info = json.loads(out.out)
    assert info["go_version"] == f"go{core_case.version}"
    assert info["signal"] == core_case.exit_signal == 6
    assert info["signal_name"] == "SIGABRT"
    assert info["threads"] == readelf_threads(str(core_case.core))
    printed = core_case.trace.user_goroutines()
    assert info["goroutines"] == len(printed)
    assert info["arch"] == core_case.arch
    # qemu-user leaves the executable's text out of its cores, the ELF header page with the build
    # ID included: there is nothing to compare (the kernel keeps that page).
    assert info["build_id_match"] is (True if core_case.arch == "amd64" else None)
    assert info["core_truncated"] is False
    crashing = core_case.trace.crashing
    assert info["crashed_goroutine"] == (crashing.id if crashing else None)
    if core_case.trace.panic is not None and core_case.scenario != "httpabort":
        # The runtime prints the panic value on the first line(s).
        assert info["panic"] == core_case.trace.panic.message
    if crashing is not None:  # where it crashed: the first frame of the program's own code
        first_main = next(f for f in crashing.frames if f.function.startswith("main."))
        assert info["crash_site"]["function"] == first_main.function
        assert (info["crash_site"]["file"], info["crash_site"]["line"]) == (first_main.file, first_main.line)
    if core_case.trace.fatal_error is not None:  # a throw, not a panic: say so, and where
        assert info["fatal_error"] is True and info["panic"] is None
        assert info["crash_site"]["function"] in {f.function for f in core_case.trace.runtime_stack}
    if core_case.trace.panic_signal is not None:
        assert info["fault_address"] == core_case.trace.panic_signal.addr
        assert info["go_signal"]["signal_name"] == core_case.trace.panic_signal.name


@pytest.mark.parametrize("core_case", CASES, ids=case_id, indirect=True)
def test_goroutines_and_frames_match_runtime(core_case: CoreCase, opened: dict[str, GoProcess]) -> None:
    proc = open_case(core_case, opened)
    ours = {g.id: g for g in proc.goroutines}
    printed = core_case.trace.user_goroutines()
    assert set(ours) == set(printed), "goroutine ids differ from the runtime's"
    for gid, rg in printed.items():
        g = ours[gid]
        assert g.header_status == status_words(rg.status), f"goroutine {gid} status"
        blocks = [b for b in core_case.trace.goroutines if b.id == gid and b.frames]
        bt = proc.backtrace(g)
        assert not bt.truncated, f"goroutine {gid}: {bt.error}"
        for block in blocks:
            check_frames(gid, block, bt.frames)
        check_created_by(proc, g, rg)
        if rg.labels:  # printed from Go 1.26 (GODEBUG=tracebacklabels=1)
            from explorer.goruntime.model import labels_of

            assert labels_of(proc, g) == rg.labels, f"goroutine {gid} labels"


@pytest.mark.parametrize("core_case", corpus_cases(modes=["opt", "stripped"], scenarios=["waits"])
                         + arm64_cases(scenarios=["waits"], modes=["opt", "stripped"]), ids=case_id, indirect=True)
def test_pprof_labels(core_case: CoreCase, opened: dict[str, GoProcess]) -> None:
    """The program labels some goroutines request_id=42, handler=orders (pprof.Do); the runtime
    prints labels only from 1.26, so the program's READY line names the labelled goroutines."""
    from explorer.goruntime.model import labels_of

    proc = open_case(core_case, opened)
    labelled = set(core_case.ready["goroutines"]["labels"])
    for g in proc.goroutines:
        got = labels_of(proc, g)
        if g.id in labelled:
            assert got == {"request_id": "42", "handler": "orders"}, f"goroutine {g.id}"
        else:
            assert got is None, f"goroutine {g.id} has labels {got}"


def check_frames(gid: int, block, frames) -> None:  # type: ignore[no-untyped-def]
    runtime_frames = block.frames
    if block.elided:
        # The runtime printed the innermost 50 and the outermost 50 of a deep stack: match the tail.
        runtime_frames = runtime_frames[block.elided_at[0]:]
    n = len(runtime_frames)
    assert len(frames) >= n, f"goroutine {gid}: {len(frames)} frames, runtime printed {n}"
    tail = frames[len(frames) - n:]
    for rf, f in zip(runtime_frames, tail, strict=True):
        where = f"goroutine {gid} frame {f.index} ({rf.function})"
        assert printed_name(f.function) == rf.function, where
        assert (f.file, f.line) == (rf.file, rf.line), where
        assert f.inlined == rf.inlined, where
        if rf.pc is not None:
            assert f.pc == rf.pc, where
            assert f.sp == rf.sp, where
            assert f.fp == rf.fp, where
        if rf.offset is not None:
            assert f.offset == rf.offset, where


def check_created_by(proc: GoProcess, g, rg) -> None:  # type: ignore[no-untyped-def]
    cb = proc.created_by(g)
    if rg.created_by is None:
        assert cb is None, f"goroutine {g.id}: runtime printed no creator"
        return
    assert cb is not None, f"goroutine {g.id}: no creator"
    func, file, line, _pc = cb
    assert printed_name(func) == rg.created_by.function
    assert (file, line) == (rg.created_by.file, rg.created_by.line)
    if rg.created_by.goroutine is not None:
        assert g.parent_goid == rg.created_by.goroutine


@pytest.mark.parametrize("core_case", corpus_cases(modes=["opt"]) + arm64_cases(modes=["opt"]), ids=case_id,
                         indirect=True)
def test_bt_json_of_crashing_goroutine(core_case: CoreCase, capsys: pytest.CaptureFixture[str]) -> None:
    crashing = core_case.trace.crashing
    args = ["bt", "--json", str(core_case.binary), str(core_case.core)]  # either order works
    rc = cli_main(args)
    out = capsys.readouterr()
    if crashing is None:  # a throw on the system stack: no goroutine was running
        assert rc == 1 and "no goroutine" in out.err
        return
    assert rc == 0, out.err
    frames = json.loads(out.out)
    assert [f["index"] for f in frames] == list(range(len(frames)))
    printed = [(f.function, f.file, f.line) for f in crashing.frames]
    ours = [(printed_name(f["function"]), f["file"], f["line"]) for f in frames]
    assert ours[len(ours) - len(printed):] == printed
    user = [f for f in frames if not f["function"].startswith("runtime.")]
    assert user, "crashing goroutine has no user frame"
