"""The TUI on a hostile core, in a real terminal (tmux, as tests/test_tui_tmux.py): the terminal's
title is unchanged, nothing reached the clipboard, and the hostile strings are shown escaped.

The core is tests/testprogs/hostile's (see tests/test_hostile.py): OSC 0 (retitle), OSC 52
(clipboard), OSC 8, CSI, BEL, C1 controls, bidi overrides and Rich markup in its panic message,
source paths, globals, locals, map keys, struct fields and pprof labels. tmux keeps what an OSC 0/2
sets as ``#{pane_title}``, and with ``set-clipboard on`` what an OSC 52 sets as a paste buffer: both
must be as they were after the TUI has shown every one of those strings.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from needs import need_tool

need_tool("tmux", "apt-get install tmux")

from corpus import make_core  # noqa: E402
from test_tui_tmux import tmux_app  # noqa: E402, F401  (the fixture)

VERSION = "1.27.3"


def test_hostile_core_leaves_the_terminal_title_and_clipboard_alone(tmux_app: Any, tmp_path: Path) -> None:  # noqa: F811
    case = make_core(VERSION, "noopt", "panic", prog="hostile")
    t = tmux_app(str(case.core), str(case.binary), cwd=tmp_path)
    t._tmux("set-option", "-g", "set-clipboard", "on")  # an OSC 52 would become a paste buffer
    title = t._tmux("display-message", "-p", "-t", "t", "#{pane_title}")

    def unchanged(what: str) -> None:
        assert t._tmux("display-message", "-p", "-t", "t", "#{pane_title}") == title, f"retitled by {what}"
        assert t._tmux("list-buffers") == "", f"clipboard written by {what}"

    # The first screen: crash summary (the panic message), goroutines, the backtrace of main.handle
    # (source paths with the escape), its source pane, its variables (hostile locals).
    s = t.wait_text("Backtrace: goroutine 1")
    s = t.wait(lambda s: "PWNED-TITLE" in s, "the panic message on the first screen")
    assert "\\x1b]0;PWNED-TITLE" in s  # shown escaped, Go-style
    unchanged("the first screen")

    # The goroutine with the hostile pprof labels: Go 1.27's traceback prints them in its header.
    labelled = re.search(r"^goroutine (\d+) .*LABEL-TITLE.*:$", case.stderr, re.M)
    assert labelled, "the runtime printed no goroutine with the hostile labels"
    gid = labelled[1]
    t.command(f"goroutine {gid}")
    t.wait_text(f"Backtrace: goroutine {gid} [")
    unchanged("the labelled goroutine")
    t.command("goroutine 1")
    t.wait_text("Backtrace: goroutine 1 [")
    for i, expr in enumerate(("main.GlobalTitle", "main.GlobalKeys", "*main.GlobalRequest",
                              "main.GlobalRequest.Body"), 1):
        t.command(f"print {expr}")  # the value joins the Variables pane as $i
        t.wait(lambda s, i=i: f"${i} " in s, f"print {expr}")
    t.wait(lambda s: "GLOBAL-TITLE" in s, "the global's value")
    unchanged("print of the hostile globals")
    t.command("x main.GlobalRequest.Body")
    t.wait_text("24 bytes")
    t.keys("Escape")
    t.wait_text("Backtrace: goroutine")
    unchanged("the hex view")
    t.keys("q")
    t.wait_text("EXITED")
    unchanged("quitting")
