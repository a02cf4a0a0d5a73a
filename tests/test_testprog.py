"""The Go runtime's own crash programs against the runtime's own traceback.

``runtime/testdata/testprog`` is built from each Go release's source (its scenarios differ between
releases: every one registered that dies with a core under GOTRACEBACK=crash is run; see
corpus.testprog_scenarios) in optimized, ``-N -l`` and stripped builds (see FULL_MATRIX). For every core, every
goroutine the runtime printed must be ours with the same id, status, frames and creator (see
tests/oracle.py for the rules), and what ``info`` says about the crash must agree with the print:
the crashing goroutine, and the program's own line as the crash site (the ``go`` statement of
``go of nil func value``, the map write of ``concurrent map writes``).

On arm64 (under qemu-user, see tests/corpus.py) the optimized build runs every scenario of the
newest release and the named ones of 1.21 and 1.24: the link-register unwinder through stack
overflows (morestack), faults in Go code, throws on the system stack, nested panics and deadlocks.
"""

from __future__ import annotations

import pytest
from corpus import ARM64_FULL_VERSIONS, MODES, TESTPROG_NAMED, case_id
from corpus import testprog_core as make_testprog_core
from corpus import testprog_scenarios as runtime_testprog_scenarios
from gotools import corpus_arches
from gotools import test_versions as selected_versions  # not test_*: pytest would collect it
from oracle import crash_problems, goroutine_problems, runtime_stack_problems, thread_section_problems

from explorer.goruntime.process import GoProcess

#: Releases that run every scenario in every mode; the others run the named scenarios (the
#: crashes issue 10 lists) in every mode and the rest optimized only: CI stays within its budget.
FULL_MATRIX = ("1.21.13", "1.24.11", "1.27.3")


def _cases() -> list[tuple]:
    out: list[tuple] = []
    for v in selected_versions():
        for s in runtime_testprog_scenarios(v):
            modes = MODES if v in FULL_MATRIX or s in TESTPROG_NAMED else ("opt",)
            out += [(v, m, s) for m in modes]
    if "arm64" in corpus_arches():
        arm64 = [v for v in selected_versions() if v in ARM64_FULL_VERSIONS]
        for v in arm64:
            out += [(v, "opt", s, (), "arm64") for s in runtime_testprog_scenarios(v)
                    if v == arm64[-1] or s in TESTPROG_NAMED]
    return out


CASES = _cases()


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_testprog_core_matches_runtime(case: tuple) -> None:
    core_case = make_testprog_core(*case[:3], arch=case[4] if len(case) > 4 else "amd64")
    with GoProcess.open(core_case.core, core_case.binary) as proc:
        problems = goroutine_problems(proc, core_case.trace)
        problems += runtime_stack_problems(proc, core_case.trace)
        problems += thread_section_problems(proc, core_case.trace)
        problems += crash_problems(proc, core_case)
    assert not problems, f"{core_case.directory}:\n" + "\n".join(problems)


@pytest.mark.parametrize("version", selected_versions())
def test_scenarios_are_discovered(version: str) -> None:
    """Every named crash a release registers is run, and more: discovery finds every scenario that
    dies by a core-dumping signal (the named list leaves out e.g. the panicCustom* family)."""
    from corpus import testprog_discovery, testprog_registered

    registered = set(testprog_registered(version))
    scenarios = set(runtime_testprog_scenarios(version))
    assert {n for n in TESTPROG_NAMED if n in registered} <= scenarios
    assert len(TESTPROG_NAMED) - len(set(TESTPROG_NAMED) & registered) <= 2  # panicDeferFatal is 1.26+
    assert {"panicCustomInt", "DoubleErrorPanic", "RecursivePanic3"} <= scenarios
    found = testprog_discovery(version)
    assert not {n for n, r in found.items() if r["returncode"] == 0} & scenarios - {
        n for n in TESTPROG_NAMED}  # a clean exit is never a crash scenario


@pytest.mark.parametrize("mode", ["opt", "stripped"])
@pytest.mark.parametrize("version", selected_versions())
def test_crash_site_is_the_users_line(version: str, mode: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`info` names the program's line for throws on the system stack: the go statement of
    `go of nil func value` and the map write of `concurrent map writes`, as the runtime printed."""
    from explorer.cli import main as cli_main

    for scenario, function in (("GoNil", "main.GoNil"), ("concurrentMapWrites", "main.concurrentMapWrites.func")):
        case = make_testprog_core(version, mode, scenario)
        crashing = case.trace.crashing
        assert crashing is not None
        printed = next(f for f in crashing.frames if f.function.startswith("main."))
        assert printed.function.startswith(function)
        assert cli_main(["info", str(case.core), str(case.binary)]) == 0
        out = capsys.readouterr().out
        assert f"crash site:         {printed.function} {printed.file}:{printed.line}\n" in out, out
        assert "panic:              - (a fatal runtime error, not a panic)" in out
        assert "None" not in out
