"""The TUI in a real terminal: tmux (160x48) runs ``python -m explorer CORE BINARY``, keys go in with
``send-keys`` and the screen comes back with ``capture-pane``.

It checks what the pilot tests check, through a real terminal's escape sequences: the first screen
with the crashing goroutine's backtrace, ``:frame N``, ``x`` on a variable, shift+arrows, ``s`` and
the save dialog, ``:save`` and its overwrite confirmation, ``/`` and ``g`` in the hex view, ``?``,
``tab``/``shift+tab``, ``j``/``k``, ``G``, ``q``. How long the first screen took is printed and kept
as the ``first_screen_seconds`` property of the test (tests never assert on wall-clock time).
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from needs import need_tool

REPO = Path(__file__).resolve().parent.parent
WIDTH, HEIGHT = 160, 48
HANDLER = "main.(*orderServer).ServeHTTP"

need_tool("tmux", "apt-get install tmux")


class Tmux:
    """One tmux server (its own socket) running one command in a WIDTH x HEIGHT window."""

    def __init__(self, command: list[str], cwd: Path, env: dict[str, str] | None = None,
                 size: tuple[int, int] = (WIDTH, HEIGHT)) -> None:
        self.socket = f"gocore-tui-test-{uuid.uuid4().hex[:8]}"
        env = {**os.environ, "TERM": "xterm-256color", "COLORTERM": "truecolor", "PYTHONPATH": str(REPO),
               **(env or {})}
        env.pop("TMUX", None)
        self.env = env
        inner = " ".join(shlex.quote(c) for c in command)
        # Keep the pane after the program ends, to see how it ended.
        self.started = time.monotonic()
        self._tmux("-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", str(size[0]), "-y", str(size[1]),
                   "-c", str(cwd), f"{inner}; echo EXITED $?; sleep 600")

    def _tmux(self, *args: str) -> str:
        out = subprocess.run(["tmux", "-L", self.socket, *args], env=self.env, capture_output=True, text=True,
                             timeout=30)
        if out.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args)}: {out.stderr}")
        return out.stdout

    def screen(self, joined: bool = False) -> str:
        """The pane's text (``joined``: lines the terminal wrapped joined back)."""
        return self._tmux("capture-pane", "-p", *(["-J"] if joined else []), "-t", "t")

    def keys(self, *keys: str) -> None:
        for k in keys:
            self._tmux("send-keys", "-t", "t", k)
            time.sleep(0.03)

    def type(self, text: str) -> None:
        self._tmux("send-keys", "-t", "t", "-l", text)

    def wait(self, cond: Callable[[str], bool], what: str, timeout: float = 20.0) -> str:
        end = time.monotonic() + timeout
        while True:
            s = self.screen()
            if cond(s):
                return s
            if time.monotonic() > end:
                raise AssertionError(f"timed out waiting for {what}; screen:\n{s}")
            time.sleep(0.02)

    def wait_text(self, text: str, timeout: float = 20.0) -> str:
        return self.wait(lambda s: text in s, repr(text), timeout)

    def command(self, line: str) -> None:
        self.keys(":")
        self.type(line)
        self.keys("Enter")

    def title(self) -> str:
        return self._tmux("display-message", "-p", "-t", "t", "#{pane_title}").strip()

    def kill_pane(self) -> None:
        """Close the pane as a closed terminal window would: its processes get SIGHUP."""
        self._tmux("kill-pane", "-t", "t")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], env=self.env, capture_output=True, timeout=30)


@pytest.fixture
def tmux_app(request: pytest.FixtureRequest) -> Any:
    sessions: list[Tmux] = []

    def start(*args: str, cwd: Path = REPO, env: dict[str, str] | None = None, wrapper: str = "",
              size: tuple[int, int] = (WIDTH, HEIGHT)) -> Tmux:
        """``python -m explorer ARGS``, or with ``wrapper`` (Python code that patches the app, then
        runs the CLI on ARGS) ``python -c WRAPPER ARGS``."""
        launch = ["-c", wrapper + _RUN_CLI] if wrapper else ["-m", "explorer"]
        t = Tmux([sys.executable, *launch, *args], cwd, env, size)
        sessions.append(t)
        return t

    yield start
    for t in sessions:
        t.close()


_RUN_CLI = "\nimport sys\nfrom explorer.cli import main\nsys.exit(main(sys.argv[1:]))\n"


def _variables_rows(screen: str) -> list[str]:
    """The top-level rows of the Variables pane (the right column of the upper half)."""
    rows = []
    for line in screen.splitlines()[3:]:
        parts = line.split("││")
        if len(parts) < 2:
            break
        right = parts[1].strip("│ ")
        if right.startswith(("▶ ", "▼ ")):
            right = right[2:]
        if right.startswith(("arg ", "loc ")):
            rows.append(right)
    return rows


def test_first_screen_and_the_whole_path(tmux_app: Any, corpus: Any, tmp_path: Path,
                                         record_property: Any) -> None:
    case = corpus("1.24.11", "noopt", "httpabort")
    body = bytes.fromhex(case.values["body_hex"])
    gid = case.values["handler_goid"]
    t = tmux_app(str(case.core), str(case.binary), cwd=tmp_path)

    # The first screen: the crashing goroutine's backtrace, a user frame selected.
    # Its status as the runtime printed it ("running, locked to thread": the crash handler locked it).
    status = next(g.status for g in case.trace.goroutines if g.id == gid)
    s = t.wait_text(f"Backtrace: goroutine {gid} [{status}]")
    seconds = time.monotonic() - t.started
    record_property("first_screen_seconds", round(seconds, 3))
    print(f"\nfirst screen with the crashing goroutine's backtrace after {seconds:.2f} s")
    s = t.wait(lambda s: "Source: scenario_httpabort.go" in s and "▶" in s, "source of the user frame")
    assert "SIGABRT" in s and "unsupported order record version" in s

    # :frame N, then tab to the variables, down to body, x.
    lines = [ln for ln in s.splitlines() if HANDLER in ln and "scenario_httpabort.go" in ln]
    assert lines, s
    n = int(lines[0].split("│")[1].split()[0])
    t.command(f"frame {n}")
    s = t.wait(lambda s: f"Variables: frame {n}" in s and " body = " in s, ":frame N")
    t.keys("Tab")
    rows = _variables_rows(s)
    i = next(i for i, r in enumerate(rows) if r.split(" = ")[0].split()[-1] == "body")
    for _ in range(i):
        t.keys("Down")
    t.keys("x")
    s = t.wait_text(f"{len(body)} bytes")
    assert " body " in s and "4f 52 44 39" in s
    for _ in range(3):
        t.keys("S-Right")
    t.wait_text("selection [0:4] 4 bytes")

    # s: the dialog has the focus and a proposed name; ctrl+u clears it; a path; enter.
    t.keys("s")
    t.wait_text("body-0-4.bin")
    t.keys("C-u")
    t.wait(lambda s: "body-0-4.bin" not in s, "cleared path")
    out = tmp_path / "four.bin"
    t.type(str(out))
    t.keys("Enter")
    t.wait_text("saved 4 bytes")
    assert out.read_bytes() == body[:4]

    # The same name again: refused without confirmation (n), then y overwrites.
    t.keys("S-Right", "s")
    t.wait_text("body-0-5.bin")
    t.keys("C-u")
    t.type(str(out))
    t.keys("Enter")
    t.wait_text("Overwrite (y)")
    t.keys("n")
    t.wait_text("not overwritten")
    assert out.read_bytes() == body[:4]
    t.keys("Enter")
    t.wait_text("Overwrite (y)")
    t.keys("y")
    t.wait_text("saved 5 bytes")
    assert out.read_bytes() == body[:5]

    # / search and g go-to in the hex view.
    t.keys("/")
    t.wait_text("Search")
    t.type("customer")
    t.keys("Enter")
    off = body.index(b"customer")
    t.wait_text(f"selection [{off}:{off + 8}] 8 bytes")
    t.keys("g")
    t.wait_text("Go to")
    t.type("+0x20")
    t.keys("Enter")
    t.wait_text("cursor +0x20 ")
    t.keys("Escape")  # back to the main screen
    t.wait_text("Variables: frame")

    # :save with an existing file asks; :save to a new file writes the whole value.
    whole = tmp_path / "body.bin"
    t.command(f"save body {whole}")
    t.wait(lambda s: whole.exists(), ":save")
    assert whole.read_bytes() == body
    t.command(f"save body {whole}")
    t.wait_text("Overwrite (y)")
    t.keys("Escape")
    t.wait(lambda s: "not overwritten" in s and "Overwrite (y)" not in s, "refused")
    time.sleep(0.3)  # the main screen takes the focus back after the dialog is gone

    # Errors are notifications, the app keeps going.
    t.command("frame 9999")
    t.wait_text("no frame 9999")
    t.command("print no_such_thing")
    t.wait(lambda s: "no_such_thing" in s.split("│ : for commands")[0], "print error")

    # tab/shift+tab move between panes; j/k move the frame; G groups the goroutines.
    t.keys("BTab", "BTab")  # variables -> backtrace -> goroutines
    t.keys("G")
    t.wait(lambda s: "×" in s, "grouped goroutines")
    t.keys("G", "Tab")
    t.keys("j")
    t.wait_text(f"Variables: frame {n + 1}")
    t.keys("k")
    t.wait_text(f"Variables: frame {n} ")

    # ? shows every binding; q quits.
    t.keys("?")
    t.wait_text("keys and commands")
    t.keys("Escape")
    t.wait(lambda s: "keys and commands" not in s, "help closed")
    t.keys("q")
    t.wait_text("EXITED 0")


def test_start_options(tmux_app: Any, corpus: Any) -> None:
    case = corpus("1.24.11", "noopt", "httpabort")
    gid = case.ready["goroutines"]["chan_send"][0]
    t = tmux_app(str(case.core), str(case.binary), "-g", str(gid), "-f", "0")
    t.wait_text(f"Backtrace: goroutine {gid} [chan send]")
    t.wait_text("Variables: frame 0 runtime.gopark")
    t.keys("q")
    t.wait_text("EXITED 0")


def test_labels_and_the_creator_link(tmux_app: Any) -> None:
    """tests/testprogs/oncall (Go 1.24, optimized): the crashing worker's labels in the backtrace's
    title, enter on "created by" goes to the handler that created it, ``:goroutines -group label``
    groups by a label's value (the program printed each goroutine's labels)."""
    from corpus import make_core

    case = make_core("1.24.11", "opt", "handler", prog="oncall")
    r = case.ready
    acme = sum(1 for g in r["goroutines"] if (g["labels"] or {}).get("tenant") == "acme")
    t = tmux_app(str(case.core), str(case.binary))
    t.wait(lambda s: f"Backtrace: goroutine {r['worker']} [running]" in s
           and "labels {request_id=7f3a9c, route=/orders, tenant=acme}" in s, "labels")
    t.keys("End")
    t.wait_text(f"created by main.(*server).handle in goroutine {r['handler']}")
    t.keys("Enter")
    t.wait(lambda s: f"Backtrace: goroutine {r['handler']} [chan receive]" in s
           and "Variables: frame 3 main.(*server).handle" in s, "the creator at its go statement's frame")
    t.command("goroutines -group label tenant")
    s = t.wait_text(f"{acme}× tenant=acme")
    assert "1× tenant=globex" in s and "no label tenant" in s
    t.keys("q")
    t.wait_text("EXITED 0")


def test_machine_commands(tmux_app: Any, corpus: Any) -> None:
    """``:regs``, ``:threads``, ``:thread N``, ``:stack``, ``:list`` and ``:disassemble`` typed into a
    real terminal: the selected frame's pc as the runtime printed it, a row per thread of the core
    (as readelf counts its NT_PRSTATUS notes), a thread's rip as gdb reads it, the runtime's frames,
    the function's line of its source file, and go tool objdump's first instruction of it."""
    from test_inspect import gdb_threads, objdump

    case = corpus("1.24.11", "noopt", "httpabort")
    crashing = case.trace.crashing
    mine = next(f for f in crashing.frames if f.function.startswith("main."))
    notes = subprocess.run(["readelf", "-n", "-W", str(case.core)], capture_output=True, text=True, check=True).stdout
    threads = notes.count("NT_PRSTATUS")
    decl = next(i for i, t in enumerate(Path(mine.file).read_text().splitlines(), 1)
                if t.startswith("func processOrder("))
    first = objdump(case.version, case.binary, "main.processOrder")[0][2]
    t = tmux_app(str(case.core), str(case.binary))
    t.wait(lambda s: "Source: scenario_httpabort.go" in s and "▶" in s, "the first screen")
    t.command("regs")
    t.wait(lambda s: "Registers: goroutine" in s and f"rip = {mine.pc:#018x}" in s, ":regs")
    t.keys("Escape")
    t.wait(lambda s: "Registers: goroutine" not in s, "registers closed")
    t.command("threads")
    s = t.wait_text("Threads:")
    rows = [ln for ln in s.splitlines() if re.search(r"[ *] \d+ +0x[0-9a-f]{16} 0x[0-9a-f]{16} ", ln)]
    assert len(rows) == threads, s
    t.keys("Escape")
    t.wait(lambda s: "Threads:" not in s, "threads closed")
    lwps, gdb_regs = gdb_threads(case)  # gdb's LWPs and registers: :thread N shows the same rip
    lwp = max(lwps)
    t.command(f"thread {lwp}")
    t.wait(lambda s: f"Thread {lwp}" in s and f"rip = {gdb_regs[lwp]['rip']:#018x}" in s, ":thread")
    t.keys("Escape")
    t.wait(lambda s: f"Thread {lwp}" not in s, "thread closed")
    t.command("stack")  # the backtrace, maximized: the runtime's frames of the crashing goroutine
    t.wait(lambda s: all(f.function.rsplit(".", 1)[-1] in s for f in crashing.frames[-3:]), ":stack")
    t.keys("z")
    t.command("list processOrder")
    t.wait(lambda s: f"Source: {Path(mine.file).name}:{decl} (list" in s and "func processOrder(" in s, ":list")
    t.command("disassemble -l main.processOrder")
    t.wait(lambda s: "Disassembly: main.processOrder" in s and f"{first:#x}" in s, ":disassemble")
    t.keys("q")
    t.wait_text("EXITED 0")


def test_demo(tmux_app: Any, record_property: Any) -> None:
    t = tmux_app("demo")
    t.wait(lambda s: "Backtrace: goroutine" in s and "[running" in s, "demo first screen")
    record_property("demo_first_screen_seconds", round(time.monotonic() - t.started, 3))
    t.wait_text("Source: scenario_httpabort.go")
    t.wait(lambda s: "crasher" in s and "SIGABRT" in s, "crash summary")
    t.keys("q")
    t.wait_text("EXITED 0")


def test_unreadable_input_fails_cleanly(tmux_app: Any, tmp_path: Path) -> None:
    bad = tmp_path / "not-a-core"
    bad.write_bytes(b"hello")
    t = tmux_app(str(bad), cwd=tmp_path)
    s = t.wait_text("EXITED 1")
    assert "gocore-tui:" in s and "Traceback" not in s


FIRST_SCREEN_CASES = [("1.24.11", m, s) for m in ("opt", "stripped")
                      for s in ("httpabort", "panic", "nilderef", "waits", "deadlock")] + [
    ("1.21.13", "noopt", "httpabort"), ("1.27.3", "opt", "httpabort")]


@pytest.mark.parametrize("version,mode,scenario", FIRST_SCREEN_CASES,
                         ids=["-".join(c) for c in FIRST_SCREEN_CASES])
def test_first_screen_on_corpus_cores(tmux_app: Any, corpus: Any, record_property: Any, version: str, mode: str,
                                      scenario: str) -> None:
    """Every kind of crash opens on a backtrace: the crashing goroutine's (``deadlock`` has none:
    the scheduler died on its system stack, so goroutine 1's)."""
    case = corpus(version, mode, scenario)
    t = tmux_app(str(case.core), str(case.binary))
    s = t.wait(lambda s: "Backtrace: goroutine" in s and "│  0 " in s, "the first backtrace")
    seconds = time.monotonic() - t.started
    record_property("first_screen_seconds", round(seconds, 3))
    print(f"\n{case.id}: first screen with a backtrace after {seconds:.2f} s")
    if scenario != "deadlock":
        crashed = [ln for ln in s.splitlines() if "✖" in ln]
        assert crashed, s
    t.keys("q")
    t.wait_text("EXITED 0")


def test_unhandled_error_restores_the_terminal(tmux_app: Any, corpus: Any, tmp_path: Path) -> None:
    """A bug that escapes every handler (injected: the help screen fails to compose): the terminal
    comes back, one line names the log file holding the traceback, the exit status is 1."""
    case = corpus("1.24.11", "noopt", "httpabort")
    inject = ("from explorer.tui.widgets import HelpScreen\n"
              "def compose(self):\n    raise RuntimeError('injected failure')\n"
              "HelpScreen.compose = compose\n")
    t = tmux_app(str(case.core), str(case.binary), cwd=tmp_path, env={"XDG_STATE_HOME": str(tmp_path)},
                 wrapper=inject)
    t.wait_text("Backtrace: goroutine")
    t.keys("?")
    s = t.wait(lambda s: "EXITED" in s, "the exit", timeout=30)
    assert "EXITED 1" in s, s
    assert "╭" not in s and "Goroutines" not in s, s  # the alternate screen is gone
    lines = [ln for ln in t.screen(joined=True).splitlines() if ln.strip()]
    assert len(lines) == 2, lines  # the one line, then the shell's EXITED
    logs = list((tmp_path / "gocore-tui").glob("gocore-tui-crash-*.log"))
    assert len(logs) == 1
    assert lines[0] == f"gocore-tui: internal error: RuntimeError: injected failure (the traceback is in {logs[0]})"
    assert "Traceback" in logs[0].read_text() and "injected failure" in logs[0].read_text()


#: Saves in pieces of 16 KiB, 20 ms each: a 4 MiB save takes ~5 s, long enough to be interrupted.
SLOW_SAVES = """
import os, time
from explorer.tui import session
open(os.environ["GOCORE_TEST_PIDFILE"], "w").write(str(os.getpid()))
import faulthandler, signal as _sig
faulthandler.register(_sig.SIGUSR1, file=open(os.environ["GOCORE_TEST_PIDFILE"] + ".stacks", "w"), all_threads=True)
session.SAVE_PIECE = 1 << 14
_chunks = session.InterruptibleMemory.chunks
def chunks(self, addr, size):
    for i, piece in enumerate(_chunks(self, addr, size)):
        if i == 4:  # the save is under way (its file may have no name yet: O_TMPFILE)
            open(os.environ["GOCORE_TEST_PIDFILE"] + ".saving", "w").close()
        time.sleep(0.02)
        yield piece
session.InterruptibleMemory.chunks = chunks
"""


def _big_readable_range(case: Any, size: int) -> int:
    from explorer.goruntime.process import GoProcess

    with GoProcess.open(case.core, case.binary) as proc:
        return next(lo for lo, hi, reg in proc.memory.regions if reg.buf is not None and hi - lo >= size)


@pytest.mark.parametrize("how", ["SIGTERM", "SIGHUP", "closed terminal"])
def test_signal_during_a_save_leaves_no_file(tmux_app: Any, corpus: Any, tmp_path: Path, how: str) -> None:
    """SIGTERM, SIGHUP, or the terminal closing while the TUI saves 4 MiB: the app ends (exit status
    128 + signal, the terminal restored) and neither the file nor its temporary file is left."""
    case = corpus("1.24.11", "noopt", "httpabort")
    size = 4 << 20
    addr = _big_readable_range(case, size)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    pidfile = tmp_path / "pid"
    t = tmux_app(str(case.core), str(case.binary), cwd=tmp_path, env={"GOCORE_TEST_PIDFILE": str(pidfile)},
                 wrapper=SLOW_SAVES)
    t.wait_text("Backtrace: goroutine")
    pid = int(pidfile.read_text())
    t.command(f"save {addr:#x}:{size} {out_dir / 'big.bin'}")
    deadline = time.monotonic() + 20
    while not Path(str(pidfile) + ".saving").exists():
        assert time.monotonic() < deadline, "the save never started"
        time.sleep(0.05)
    assert "big.bin" not in os.listdir(out_dir)  # mid-save: no file yet (at most a temporary one)
    if how == "closed terminal":
        t.kill_pane()
    else:
        os.kill(pid, signal.SIGTERM if how == "SIGTERM" else signal.SIGHUP)
    deadline = time.monotonic() + 15
    while Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text():
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGUSR1)
            time.sleep(1)
            raise AssertionError("the app did not end:\n" + Path(str(pidfile) + ".stacks").read_text())
        time.sleep(0.05)
    assert list(out_dir.iterdir()) == []
    if how != "closed terminal":
        status = 128 + (signal.SIGTERM if how == "SIGTERM" else signal.SIGHUP)
        s = t.wait(lambda s: "EXITED" in s, "the exit")
        assert f"EXITED {status}" in s and "╭" not in s, s
