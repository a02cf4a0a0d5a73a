"""Hostile cores (issue 11): nothing from a core or an executable reaches the terminal raw.

tests/testprogs/hostile puts terminal control sequences (OSC 0/8/52, CSI), BEL, NUL, DEL, C1
controls, bidi overrides and Rich markup in its panic message, globals, locals, map keys, struct
fields and pprof labels, and is built in a directory whose name holds an OSC sequence (so file
names in its pclntab and the executable's path in the core's notes carry one). Every command's text
output, on it and on a sample of the other corpus cores, must hold no raw control character: no C0
control but the newline and tab of our own layout, no DEL, no C1 control, no bidi override, nothing
``str.isprintable`` rejects. The oracle for what the hostile strings must look like instead is the
program itself: it prints ``strconv.Quote`` of each.

Commands run in this process (tests/test_bad_inputs.cli's way) with stdout encoded strictly as
UTF-8 and decoded strictly, so that no byte escapes the check; ``--json`` output must be ASCII and
valid JSON.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import stat
import sys
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import gotools
from corpus import HOSTILE_DIR_NAME, CoreCase, go_unquote, make_core
from test_bad_inputs import fresh_process, time_limit

from explorer.cli import main as cli_main
from explorer.goruntime.process import GoProcess
from explorer.render.text import safe

#: The full mode matrix on these releases (those of them $GOCORE_TUI_GO_VERSIONS allows).
_WANTED = ("1.21", "1.24", "1.27")
VERSIONS = [v for v in gotools.test_versions() if v.startswith(_WANTED)] or gotools.test_versions()[:1]
MODES = ("opt", "noopt", "stripped")
HOSTILE_CASES = [(v, m) for v in VERSIONS for m in MODES]
#: Other corpus cores: one release, every crasher scenario that a test elsewhere has already made.
OTHER_CASES = [(VERSIONS[-1], "opt", s) for s in ("panic", "nilderef", "httpabort", "waits", "deadlock")]

BIDI = {chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]}


def raw_controls(text: str) -> list[str]:
    """The characters of ``text`` a terminal could act on (and that our layout does not use)."""
    bad = []
    for c in text:
        if c in "\n\t":
            continue
        o = ord(c)
        if o < 0x20 or o == 0x7F or 0x80 <= o <= 0x9F or c in BIDI or not c.isprintable():
            bad.append(f"U+{o:04X} {unicodedata.name(c, '?')}")
    return bad


@dataclass
class Output:
    argv: list[str]
    rc: int
    out: str
    err: str


def run(*args: str | os.PathLike[str], proc: GoProcess | None = None) -> Output:
    """``gocore-tui ARGS`` in this process; stdout is strict UTF-8 bytes, decoded strictly. With
    ``proc``, the command opens that process (its caches make a run of commands cheap)."""
    argv = [str(a) for a in args]
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8", errors="strict", write_through=True)
    err = io.StringIO()
    opener = mock.patch.object(GoProcess, "open", lambda *a, **k: fresh_process(proc)) if proc is not None \
        else contextlib.nullcontext()
    with time_limit(120), mock.patch.dict(os.environ, {"GOCORE_TUI_DEBUG": "1", "GOCORE_TUI_WORKERS": "1"}), \
            opener, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli_main(argv)
        out.flush()
    return Output(argv, rc, raw.getvalue().decode("utf-8", "strict"), err.getvalue())


def check(o: Output) -> Output:
    """No raw control character in stdout or stderr; JSON is ASCII and valid; errors are one line."""
    for name, text in (("stdout", o.out), ("stderr", o.err)):
        bad = raw_controls(text)
        assert not bad, f"{o.argv}: raw {sorted(set(bad))} in {name}:\n{text[:3000]!r}"
    assert "Traceback" not in o.err and "internal error" not in o.err, f"{o.argv}:\n{o.err}"
    assert o.rc in (0, 1), f"{o.argv}: exit {o.rc}\n{o.err}"
    if o.rc == 1:
        errors = [ln for ln in o.err.splitlines() if not ln.startswith("gocore-tui: warning: ")]
        assert len(errors) == 1, f"{o.argv}: {o.err}"
    if "--json" in o.argv and o.rc == 0:
        assert o.out.isascii(), o.argv
        json.loads(o.out)
    return o


@dataclass
class Core:
    case: CoreCase
    proc: GoProcess

    @property
    def files(self) -> tuple[str, str]:
        return str(self.case.core), str(self.case.binary)


@contextlib.contextmanager
def opened(case: CoreCase) -> Iterator[Core]:
    proc = GoProcess.open(case.core, case.binary)
    try:
        yield Core(case, proc)
    finally:
        proc.close()


def commands(c: Core, tmp: Path) -> list[list[str]]:
    """Every command with every text option, on the crashing goroutine, each of its frames that has
    variables, and the other goroutines; the globals and locals that hold hostile strings."""
    core, exe = c.files
    proc = c.proc
    g = proc.crashed_goroutine
    frames = proc.backtrace(g).frames if g is not None else []
    out: list[list[str]] = [
        ["info", core, exe], ["info", core], ["info", core, exe, "--json"],
        ["goroutines", core, exe], ["goroutines", core, exe, "--stacks"], ["goroutines", core, exe, "--group"],
        ["goroutines", core, exe, "--group", "--stacks"], ["goroutines", core, exe, "--format", "traceback"],
        ["goroutines", core, exe, "--filter", "main"], ["goroutines", core, exe, "--filter", "\x1b]0;"],
        ["goroutines", core, exe, "--json", "--stacks"], ["goroutines", core, exe, "--group", "--json"],
        ["bt", core, exe], ["bt", core, exe, "--json"], ["bt", core, exe, "-g", "99999"],
    ]
    for other in proc.goroutines[:12]:
        out.append(["bt", core, exe, "-g", str(other.id)])
    # The machine's view: every file and function name it prints comes from the executable.
    out += [["stack", core, exe, "3"], ["threads", core, exe], ["threads", core, exe, "--json"],
            ["regs", core, exe], ["regs", core, exe, "-a", "--json"], ["list", core, exe],
            ["list", core, exe, "--json"], ["disassemble", core, exe], ["disassemble", core, exe, "--json"],
            ["args", core, exe], ["locals", core, exe], ["list", core, exe, "main.handle"],
            ["disassemble", core, exe, "-l", "main.handle"], ["list", core, exe, "nosuch\x1b]0;TYPED\x07"]]
    out += [["thread", core, exe, str(t.tid)] for t in proc.thread_infos]
    if g is not None and c.case.mode != "stripped":
        for f in frames:
            if not f.function.startswith("runtime."):
                out.append(["vars", core, exe, "-f", str(f.index)])
            if HOSTILE_DIR_NAME in f.file:  # (a net/http handler's frame takes seconds in JSON: text is the point)
                out.append(["vars", core, exe, "-f", str(f.index), "--json"])
    exprs = ["main.GlobalTitle", "main.GlobalKeys", "main.GlobalRequest", "*main.GlobalRequest",
             "main.GlobalRequest.Err", "main.GlobalRequest.Header", "main.registry", "main.config"]
    handle = next((f.index for f in frames if f.function == "main.handle"), None)
    for e in exprs:
        out.append(["print", core, exe, e])
        out.append(["x", core, exe, e])
    if handle is not None:
        for e in ("local", "keys", "body", "copyReq", "msg", "req", "values"):
            out.append(["print", core, exe, "-f", str(handle), e])
    out += [
        ["print", core, exe, "nosuch\x1b]0;TYPED\x07\u202e"],  # user-typed text in an error
        ["print", core, exe, "09"],
        ["x", core, exe, "0x10", "-n", "64"],
        ["save", core, exe, "main.GlobalRequest.Body", "-o", str(tmp / "body\x1b]0;OUT\x07.bin")],
        ["save", core, exe, "main.GlobalRequest.Body", "-o", str(tmp / "body\x1b]0;OUT\x07.bin")],  # exists
        ["save", core, exe, "0x10:16", "-o", str(tmp / "unmapped.bin")],
    ]
    return out


# --------------------------------------------------------------------------------------------------
# The hostile program: what the oracle says, and no raw control anywhere


@pytest.fixture(scope="module", params=HOSTILE_CASES, ids=lambda p: "-".join(p))
def hostile(request: pytest.FixtureRequest) -> Iterator[Core]:
    version, mode = request.param
    with opened(make_core(version, mode, "panic", prog="hostile")) as c:
        yield c


def test_hostile_core_really_is_hostile(hostile: Core) -> None:
    """The build put an escape sequence in the source paths, and the core holds the hostile strings."""
    assert HOSTILE_DIR_NAME in str(hostile.case.binary)
    assert any(HOSTILE_DIR_NAME in f.file for f in hostile.proc.backtrace(hostile.proc.crashed_goroutine).frames)
    assert "\x1b]0;PWNED-TITLE\x07" in go_unquote(hostile.case.values["evil"])
    assert "\x1b]0;" in hostile.case.stderr  # the runtime printed its panic raw


def run_all(c: Core, tmp: Path) -> None:
    for argv in commands(c, tmp):
        # Opening is what "info CORE" (the executable found from the core's notes) is about.
        check(run(*argv, proc=None if argv[0] == "info" else c.proc))


def test_no_raw_control_in_any_output_of_the_hostile_core(hostile: Core, tmp_path: Path) -> None:
    run_all(hostile, tmp_path)
    names = [p.name for p in tmp_path.iterdir()]
    assert names == ([] if hostile.case.mode == "stripped" else ["body\x1b]0;OUT\x07.bin"])
    for name in names:
        assert stat.S_ISREG(os.lstat(tmp_path / name).st_mode)


def test_hostile_strings_are_shown_as_go_quotes_them(hostile: Core) -> None:
    """``print`` shows each hostile string as Go's strconv.Quote (the program's own); ``info`` shows
    the panic message and the paths escaped the same way, on one line each."""
    core, exe = hostile.files
    values = hostile.case.values
    if hostile.case.mode != "stripped":
        r = check(run("print", core, exe, "main.GlobalTitle"))
        assert r.out.strip() == values["global_title"]
        r = check(run("print", core, exe, "main.GlobalRequest.Method"))
        assert r.out.strip() == values["method"]
        g = hostile.proc.crashed_goroutine
        handle = next(f.index for f in hostile.proc.backtrace(g).frames if f.function == "main.handle")
        if hostile.case.mode == "noopt":
            r = check(run("print", core, exe, "-f", str(handle), "local"))
            assert r.out.strip() == values["local"]
            r = check(run("vars", core, exe, "-f", str(handle)))
            assert f"local = {values['local']}" in r.out
    r = check(run("info", core))
    rows = dict(line.split(":", 1) for line in r.out.splitlines() if ":" in line)
    evil = go_unquote(values["evil"])
    assert rows["panic"].strip() == safe(evil.encode("utf-8", "surrogateescape").decode("utf-8", "replace") + "3")
    assert rows["executable"].strip() == safe(str(hostile.case.binary))
    assert safe(HOSTILE_DIR_NAME) in rows["crash site"]
    assert rows["command line"].strip().startswith(safe(str(hostile.case.binary))[:40])  # argv[0], cut at 80 bytes
    assert "\\x1b" in rows["command line"]
    r = check(run("goroutines", core, exe, "--json"))
    labels = [g["labels"] for g in json.loads(r.out) if g["labels"]]
    assert {go_unquote(values["label_key"]): go_unquote(values["label_value"])} in labels


def test_warnings_and_errors_from_a_hostile_core(hostile: Core, corpus: Any, tmp_path: Path) -> None:
    """A mismatched executable: the warnings name the core's executable path (with its escape)."""
    other = corpus(hostile.case.version, "opt", "panic")
    r = check(run("info", hostile.case.core, other.binary))
    assert r.err, "a build ID mismatch warns"
    for argv in (["goroutines", hostile.case.core, other.binary], ["bt", hostile.case.core, other.binary]):
        check(run(*argv))


# --------------------------------------------------------------------------------------------------
# A sample of the other corpus cores


@pytest.mark.parametrize("case", OTHER_CASES, ids=lambda p: "-".join(p))
def test_no_raw_control_in_any_output_of_corpus_cores(case: tuple[str, str, str], corpus: Any,
                                                      tmp_path: Path) -> None:
    with opened(corpus(*case)) as c:
        run_all(c, tmp_path)
