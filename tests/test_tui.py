"""Pilot tests of the TUI (Textual's App.run_test) on corpus cores: the path from "the service
crashed" to "the bytes of the request are in a file", with the keyboard alone.

The corpus program's httpabort scenario crashes in an HTTP handler whose frame holds ``body
[]byte``; the program printed the body (``ready["values"]["body_hex"]``), which is the oracle.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from explorer.goruntime.process import GoProcess
from explorer.tui.app import GoCoreApp
from explorer.tui.hexview import HexScreen, HexView
from explorer.tui.panes import GoroutineList, VariablesTree
from explorer.tui.session import Session
from explorer.tui.widgets import ConfirmDialog, HelpScreen, SaveDialog

SIZE = (160, 48)
HANDLER = "main.(*orderServer).ServeHTTP"


# ---------------------------------------------------------------------------------------------------
# Helpers (also used by test_tui_snapshots.py)


def make_app(core: Any, binary: Any, rules: list[tuple[str, str]] | None = None, **kw: Any) -> GoCoreApp:
    proc = GoProcess.open(core, binary)
    return GoCoreApp(Session(proc, rules or []), **kw)


async def wait_for(pilot: Any, cond: Callable[[], bool], what: str = "condition", timeout: float = 30.0) -> None:
    """Let the app run until ``cond()`` holds (workers post their results asynchronously)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


def frame_settled(app: GoCoreApp) -> bool:
    return all(app.frame_ready.get(k) == app.token for k in ("vars", "source", "disasm"))


async def wait_ready(pilot: Any) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: app.loaded and app.frames and frame_settled(app) and app.where_done
                   and app.labels_done, "first screen")
    await pilot.pause()


def run(app: GoCoreApp, body: Callable[[Any], Awaitable[None]], size: tuple[int, int] = SIZE,
        notifications: bool = False) -> None:
    """Run ``body`` on the app's first screen (``notifications``: show toasts, which run_test hides)."""

    async def main() -> None:
        async with app.run_test(size=size, notifications=notifications) as pilot:
            await wait_ready(pilot)
            await body(pilot)
            assert not app.internal_errors, app.internal_errors

    try:
        asyncio.run(main())
    finally:
        app.session.proc.close()


async def command(pilot: Any, line: str, typed: bool = False) -> None:
    """``:`` then the command, then enter. Typing each key costs a layout pass of the whole screen
    (~0.1 s here), so unless ``typed``, the text is put into the command line in one go."""
    await pilot.press("colon")
    if typed:
        await type_text(pilot, line)
    else:
        inp = pilot.app.screen.query_one("#cmdline")
        assert pilot.app.focused is inp
        inp.value = line
        inp.cursor_position = len(line)
    await pilot.press("enter")
    await pilot.pause()


def _key(ch: str) -> str:
    names = {" ": "space", ":": "colon", "/": "slash", ".": "full_stop", "_": "underscore", "-": "minus",
             "[": "left_square_bracket", "]": "right_square_bracket", "*": "asterisk", "\"": "quotation_mark",
             "+": "plus", "&": "ampersand", "(": "left_parenthesis", ")": "right_parenthesis", "~": "tilde",
             "?": "question_mark", "=": "equals_sign", ",": "comma"}
    return names.get(ch, ch)


async def type_text(pilot: Any, text: str) -> None:
    for ch in text:
        await pilot.press(_key(ch))


def notifications(app: GoCoreApp) -> list[str]:
    return [m for _severity, m in app.notices]


def screen_lines(app: GoCoreApp) -> list[str]:
    """The screen's text as a user sees it, one string per row (from Textual's SVG screenshot)."""
    import html

    rows: dict[float, list[tuple[float, str]]] = {}
    for m in re.finditer(r'<text class="[^"]*" x="([\d.]+)" y="([\d.]+)"[^>]*>([^<]*)</text>', app.export_screenshot()):
        text = html.unescape(m.group(3)).replace("\xa0", " ")
        rows.setdefault(float(m.group(2)), []).append((float(m.group(1)), text))
    out = []
    for y in sorted(rows):
        line = ""
        for x, text in sorted(rows[y]):
            line = line.ljust(round(x / 12.2)) + text  # 12.2 px per cell in Textual's SVGs
        out.append(line)
    return out


def handler_frame(app: GoCoreApp) -> int:
    return next(f.index for f in app.frames if f.function == HANDLER)


async def goto_frame_and_var(pilot: Any, name: str) -> None:
    """`:frame N` to the handler, focus the variables, put the cursor on ``name``."""
    app = pilot.app
    n = handler_frame(app)
    await command(pilot, f"frame {n}", typed=True)
    await wait_for(pilot, lambda: app.frame_index == n and frame_settled(app), "frame")
    await pilot.press("tab")
    tree = app.query_one(VariablesTree)
    assert app.focused is tree
    labels = [str(node.label) for node in tree.root.children]
    i = next(i for i, lab in enumerate(labels) if lab.split(" = ")[0].split()[-1] == name)
    while tree.cursor_line < i:
        await pilot.press("down")
    assert tree.cursor_node is not None and tree.cursor_node.data is not None
    assert tree.cursor_node.data.path == name


# ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def httpabort(corpus: Any) -> Any:
    return corpus("1.24.11", "noopt", "httpabort")


@pytest.fixture(scope="module")
def body_bytes(httpabort: Any) -> bytes:
    return bytes.fromhex(httpabort.values["body_hex"])


def test_first_screen_crashing_goroutine_and_user_frame(httpabort: Any) -> None:
    app = make_app(httpabort.core, httpabort.binary)

    async def body(pilot: Any) -> None:
        gl = app.query_one(GoroutineList)
        assert gl.current_goroutine().id == httpabort.values["handler_goid"]
        assert app.current_g.id == httpabort.values["handler_goid"]
        f = app.frames[app.frame_index]
        assert f.function.startswith("main."), f.function  # the innermost frame of the program's code
        assert app.query_one("#backtrace").cursor == app.frame_index
        # Source around the frame's line, the current instruction marked in the disassembly.
        src = app.query_one("#source")
        assert src.current == f.line and src.cursor == f.line - 1
        dis = app.query_one("#disasm")
        assert dis.listing is not None and dis.current is not None
        ins = dis.listing.lines[dis.current]
        assert ins.is_call  # a caller frame stops at its call
        # The summary names the signal and the panic.
        summary = str(app.query_one("#summary").render())
        assert "SIGABRT" in summary and "unsupported order record version" in summary

    run(app, body)


def test_frame_x_select_save_exact_bytes(httpabort: Any, body_bytes: bytes, tmp_path: Path) -> None:
    """`:frame N` → the variable → x → shift+right ×3 → s → a path → enter: exactly 4 bytes."""
    app = make_app(httpabort.core, httpabort.binary)
    out = tmp_path / "first4.bin"

    async def body(pilot: Any) -> None:
        await goto_frame_and_var(pilot, "body")
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, HexScreen), "hex view")
        view = app.screen.query_one(HexView)
        assert view.base == int(httpabort.values["body_addr"], 16)
        assert view.length == len(body_bytes)
        for _ in range(3):
            await pilot.press("shift+right")
        assert view.selection == (0, 4)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, SaveDialog), "save dialog")
        inp = app.screen.query_one("#save-path")
        assert app.focused is inp and inp.value == "body-0-4.bin"
        await pilot.press("ctrl+u")
        assert inp.value == ""
        await type_text(pilot, str(out))
        await pilot.press("enter")
        await wait_for(pilot, out.exists, "the file")
        await wait_for(pilot, lambda: any("saved 4 bytes" in m for m in notifications(app)), "saved notice")

    run(app, body)
    assert out.read_bytes() == body_bytes[:4]


def test_save_whole_value_from_hex_view(httpabort: Any, body_bytes: bytes, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """No selection: s saves the whole value under the proposed name (relative to the cwd)."""
    monkeypatch.chdir(tmp_path)
    app = make_app(httpabort.core, httpabort.binary)

    async def body(pilot: Any) -> None:
        await goto_frame_and_var(pilot, "body")
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, HexScreen), "hex view")
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, SaveDialog), "save dialog")
        assert app.screen.query_one("#save-path").value == "body.bin"
        await pilot.press("enter")
        await wait_for(pilot, (tmp_path / "body.bin").exists, "body.bin")

    run(app, body)
    assert (tmp_path / "body.bin").read_bytes() == body_bytes


def test_save_command(httpabort: Any, body_bytes: bytes, tmp_path: Path) -> None:
    app = make_app(httpabort.core, httpabort.binary)
    a, b, c = tmp_path / "body.bin", tmp_path / "range.bin", tmp_path / "alias.bin"
    addr = int(httpabort.values["body_addr"], 16)

    async def body(pilot: Any) -> None:
        await command(pilot, f"frame {handler_frame(app)}")
        await wait_for(pilot, lambda: frame_settled(app), "frame")
        await command(pilot, f"save body {a}", typed=True)
        await wait_for(pilot, a.exists, "save EXPR PATH")
        await command(pilot, f"save {addr:#x}:4 {b}", typed=True)  # ":" inside the command line
        await wait_for(pilot, b.exists, "save ADDR:LEN PATH")
        await command(pilot, f"writebytestofile body[8:16] {c}")
        await wait_for(pilot, c.exists, "writebytestofile")

    run(app, body)
    assert a.read_bytes() == body_bytes
    assert b.read_bytes() == body_bytes[:4]
    assert c.read_bytes() == body_bytes[8:16]


def test_overwrite_needs_confirmation(httpabort: Any, body_bytes: bytes, tmp_path: Path) -> None:
    app = make_app(httpabort.core, httpabort.binary)
    out = tmp_path / "exists.bin"
    out.write_bytes(b"precious")

    async def body(pilot: Any) -> None:
        await goto_frame_and_var(pilot, "body")
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, HexScreen), "hex view")
        await pilot.press("shift+right")
        # Through the dialog: enter on an existing file asks; "n" (or esc) keeps the file.
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, SaveDialog), "save dialog")
        await pilot.press("ctrl+u")
        await type_text(pilot, str(out))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), "confirmation")
        await pilot.press("enter")  # the focused button is Cancel
        await wait_for(pilot, lambda: isinstance(app.screen, SaveDialog), "back in the dialog")
        await pilot.pause(0.2)
        assert out.read_bytes() == b"precious"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), "confirmation again")
        await pilot.press("n")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, HexScreen), "back in the hex view")
        await pilot.pause(0.2)
        assert out.read_bytes() == b"precious"
        # Through :save: refused unless confirmed; "y" overwrites.
        await command(pilot, f"save body {out}")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), ":save confirmation")
        await pilot.press("escape")
        await pilot.pause(0.2)
        assert out.read_bytes() == b"precious"
        await command(pilot, f"save body {out}")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), ":save confirmation")
        await pilot.press("y")
        await wait_for(pilot, lambda: out.read_bytes() != b"precious", "overwritten")

    run(app, body)
    assert out.read_bytes() == body_bytes


def test_errors_are_notifications(httpabort: Any) -> None:
    app = make_app(httpabort.core, httpabort.binary)

    async def body(pilot: Any) -> None:
        for line in ("frame 9999", "print no_such_variable", "bogus", "goroutine 99999", "x", "save body",
                     "print body[", "up 500"):
            await command(pilot, line)
        await pilot.pause(0.3)
        msgs = notifications(app)
        assert any("no frame 9999" in m for m in msgs), msgs
        assert any("unknown command" in m for m in msgs), msgs
        assert any("no goroutine 99999" in m for m in msgs), msgs
        assert any("usage: save" in m for m in msgs), msgs
        assert app.is_running

    run(app, body)


def test_hex_view_unreadable_bytes_show_as_question_marks(httpabort: Any) -> None:
    app = make_app(httpabort.core, httpabort.binary)

    async def body(pilot: Any) -> None:
        await command(pilot, "x 0x1000 32")
        await wait_for(pilot, lambda: isinstance(app.screen, HexScreen), "hex view")
        view = app.screen.query_one(HexView)
        text = view._row_text(0).plain
        assert "?? ?? ??" in text and " 00 " not in text
        assert view.row_bytes(0) == [None] * 16

    run(app, body)


def test_hex_goto_and_search(httpabort: Any, body_bytes: bytes) -> None:
    app = make_app(httpabort.core, httpabort.binary)

    async def body(pilot: Any) -> None:
        await goto_frame_and_var(pilot, "body")
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, HexScreen), "hex view")
        view = app.screen.query_one(HexView)
        await pilot.press("slash")
        await type_text(pilot, "customer")
        await pilot.press("enter")
        want = body_bytes.index(b"customer")
        await wait_for(pilot, lambda: view.selection == (want, len("customer")), "search hit")
        await pilot.press("slash")
        await type_text(pilot, "de ad")  # hex bytes: not in the body (it holds ef be ad de)
        await pilot.press("enter")
        await pilot.pause(0.3)
        await pilot.press("slash")
        await type_text(pilot, "0xbeadde")
        await pilot.press("enter")
        await wait_for(pilot, lambda: view.selection == (body_bytes.index(bytes.fromhex("beadde")), 3), "hex hit")
        # 0xdeadbeef: these bytes in this order (not in the body); u32:0xdeadbeef: the integer's
        # little-endian bytes, as the inspector reads them at the hit.
        await pilot.press("slash")
        await type_text(pilot, "0xdeadbeef")
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("not found: de ad be ef" in m for m in notifications(app)), "no hit")
        await pilot.press("slash")
        await type_text(pilot, "u32:0xdeadbeef")
        await pilot.press("enter")
        hit = body_bytes.index((0xDEADBEEF).to_bytes(4, "little"))
        await wait_for(pilot, lambda: view.selection == (hit, 4), "u32 hit")
        await pilot.press("ctrl+home")
        view._move_to(hit, False)
        await pilot.pause()
        assert "u32 0xdeadbeef" in str(app.screen.query_one("#hex-status").render())
        await pilot.press("g")
        await type_text(pilot, "+0x10")
        await pilot.press("enter")
        await wait_for(pilot, lambda: view.cursor == 16 and view.selection is None, "goto offset")
        await pilot.press("g")
        await type_text(pilot, f"{view.base + 40:#x}")
        await pilot.press("enter")
        await wait_for(pilot, lambda: view.cursor == 40, "goto address")
        # Movement keys.
        await pilot.press("down", "right", "left", "up", "end")
        assert view.cursor == 47
        await pilot.press("pagedown")
        assert view.cursor == view.length - 1
        await pilot.press("pageup", "ctrl+home")
        assert view.cursor == 0
        await pilot.press("shift+pagedown")
        assert view.selection == (0, view.length)
        await pilot.press("escape")  # clears the selection
        assert view.selection is None and isinstance(app.screen, HexScreen)
        await pilot.press("escape")  # closes the view
        await wait_for(pilot, lambda: not isinstance(app.screen, HexScreen), "closed")

    run(app, body)


def test_print_and_expand(httpabort: Any) -> None:
    app = make_app(httpabort.core, httpabort.binary)

    async def body(pilot: Any) -> None:
        await command(pilot, f"frame {handler_frame(app)}")
        await wait_for(pilot, lambda: frame_settled(app), "frame")
        await command(pilot, "print body[0:4]")
        tree = app.query_one(VariablesTree)
        await wait_for(pilot, lambda: any(str(n.label).startswith("$1 body[0:4]") for n in tree.root.children),
                       "printed value")
        assert any("body[0:4] = " in m for m in notifications(app))
        # Enter expands a node; its children load then.
        await pilot.press("tab")
        node = tree.cursor_node
        assert node is not None and str(node.label).startswith("$1")
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(node.children) == 4 and "[0]" in str(node.children[0].label),
                       "children")
        await pilot.press("down", "x")  # x on an element: the hex view at its byte
        await wait_for(pilot, lambda: isinstance(app.screen, HexScreen), "hex view")
        assert app.screen.query_one(HexView).length == 1

    run(app, body)


def test_frames_up_down_keys_and_commands(httpabort: Any) -> None:
    app = make_app(httpabort.core, httpabort.binary)

    async def body(pilot: Any) -> None:
        start = app.frame_index
        await command(pilot, "up")
        await wait_for(pilot, lambda: app.frame_index == start + 1, "up")
        await command(pilot, "down 1")
        await wait_for(pilot, lambda: app.frame_index == start, "down")
        assert app.focused is app.query_one("#backtrace")
        await pilot.press("j")
        await wait_for(pilot, lambda: app.frame_index == start + 1, "j")
        await pilot.press("k", "k")
        await wait_for(pilot, lambda: app.frame_index == start - 1, "k")
        await command(pilot, "f 0")
        await wait_for(pilot, lambda: app.frame_index == 0 and frame_settled(app), "f 0")

    run(app, body)


def test_goroutine_selection_filter_and_groups(httpabort: Any) -> None:
    app = make_app(httpabort.core, httpabort.binary)
    waiters = httpabort.ready["goroutines"]

    async def body(pilot: Any) -> None:
        gl = app.query_one(GoroutineList)
        target = waiters["chan_send"][0]
        await command(pilot, f"g {target}")
        await wait_for(pilot, lambda: app.current_g.id == target and frame_settled(app), "goroutine")
        assert gl.current_goroutine().id == target
        assert app.frames[app.frame_index].function == "main.sendForever"
        # Filter: / in the goroutine list.
        await pilot.press("shift+tab")
        assert app.focused is gl
        await pilot.press("slash")
        await type_text(pilot, "sendForever")
        await wait_for(pilot, lambda: gl.data.keep is not None and gl.row_count == 1, "filtered")
        await pilot.press("enter")
        assert app.focused is gl
        await pilot.press("slash", "escape")
        await wait_for(pilot, lambda: gl.data.keep is None, "unfiltered")
        # Group by stack: G.
        await pilot.press("G")
        await wait_for(pilot, lambda: gl.data.grouped and gl.data.groups is not None, "grouped")
        groups = gl.data.groups
        assert groups is not None and sum(len(grp.goroutines) for grp in groups) == len(app.goroutines)
        assert sum(1 for kind, _ in gl._items if kind == "group") == len(groups)
        await pilot.press("G")
        await wait_for(pilot, lambda: not gl.data.grouped, "ungrouped")
        # Moving in the list selects goroutines (and their first user frame).
        await pilot.press("home")
        await wait_for(pilot, lambda: app.current_g.id == httpabort.values["handler_goid"] and frame_settled(app),
                       "crashed goroutine first")

    run(app, body)


def test_start_options_select_goroutine_and_frame(httpabort: Any) -> None:
    gid = httpabort.ready["goroutines"]["select"][0]
    app = make_app(httpabort.core, httpabort.binary, goroutine=gid, frame=0)

    async def body(pilot: Any) -> None:
        assert app.current_g.id == gid
        assert app.frame_index == 0

    run(app, body)


def test_help_and_palette(httpabort: Any) -> None:
    app = make_app(httpabort.core, httpabort.binary)

    async def body(pilot: Any) -> None:
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
        text = " ".join(k for _, rows in app.screen.sections for k, _ in rows)
        for key in ("shift+left", "G", "/", "x", "s", "g", "n", "esc", ":", "?", "q", "tab", "ctrl+p", "ctrl+u"):
            assert key in text.split() or key in text, key
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen), "help closed")
        await command(pilot, "help")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "help command")
        await pilot.press("escape")
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for t in ("Goroutine…", "Frame up", "Frame down", "Print…", "Examine memory…", "Save bytes…",
                  "Filter goroutines", "Group goroutines", "Help", "Quit"):
            assert t in titles
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running, "quit")

    async def main() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await wait_ready(pilot)
            await body(pilot)
        assert not app.internal_errors

    try:
        asyncio.run(main())
    finally:
        app.session.proc.close()


def test_stripped_binary_says_no_variables(corpus: Any) -> None:
    case = corpus("1.24.11", "stripped", "httpabort")
    app = make_app(case.core, case.binary)

    async def body(pilot: Any) -> None:
        tree = app.query_one(VariablesTree)
        labels = " ".join(str(n.label) for n in tree.root.children)
        assert "DWARF" in labels or "no arguments" in labels, labels
        dis = app.query_one("#disasm")
        assert dis.listing is not None  # disassembly needs no DWARF

    run(app, body)


def test_substitute_path(httpabort: Any, tmp_path: Path) -> None:
    src_dir = Path(httpabort.binary).parent  # any directory: the rule must send the lookup there
    fake = tmp_path / "src"
    fake.mkdir()
    app0 = make_app(httpabort.core, httpabort.binary)
    f = None

    async def first(pilot: Any) -> None:
        nonlocal f
        f = app0.frames[app0.frame_index]

    run(app0, first)
    assert f is not None
    orig = Path(f.file)
    (fake / orig.name).write_text("\n".join(f"// substituted line {i}" for i in range(1, f.line + 10)))
    app = make_app(httpabort.core, httpabort.binary, rules=[(str(orig.parent), str(fake))])

    async def body(pilot: Any) -> None:
        src = app.query_one("#source")
        assert src.lines and f"substituted line {f.line}" in src.lines[f.line - 1].plain

    run(app, body)
    _ = src_dir


def test_many_goroutines_use_the_line_api() -> None:
    """A 100,000-row goroutine list renders only what is visible."""
    from dataclasses import dataclass

    from textual.app import App, ComposeResult

    @dataclass
    class FakeG:
        addr: int
        id: int
        status: str = "waiting"
        header_status: str = "chan receive"
        thread: int | None = None

    class ListApp(App[None]):
        def compose(self) -> ComposeResult:
            yield GoroutineList(id="goroutines")

    gs = [FakeG(0x1000 + i, i + 1) for i in range(100_000)]
    app = ListApp()
    rendered: list[int] = []

    async def main() -> None:
        async with app.run_test(size=(100, 30)) as pilot:
            gl = app.query_one(GoroutineList)
            orig = gl.row_text

            def counting(i: int) -> Any:
                rendered.append(i)
                return orig(i)

            gl.row_text = counting  # type: ignore[method-assign]
            gl.set_goroutines(gs, gs[500].addr)
            gl.focus()
            await pilot.pause()
            assert gl.row_count == 100_000
            assert gl.current_goroutine().id == 501  # the crashed goroutine comes first
            await pilot.press("end")
            await pilot.pause()
            assert gl.current_goroutine().id == 100_000
            await pilot.press("pageup", "up")
            await pilot.pause()

    asyncio.run(main())
    assert len(set(rendered)) < 500


def test_hex_view_of_a_frame_and_an_instruction(httpabort: Any) -> None:
    app = make_app(httpabort.core, httpabort.binary)

    async def body(pilot: Any) -> None:
        f = app.frames[app.frame_index]
        assert app.focused is app.query_one("#backtrace")
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, HexScreen), "frame hex view")
        view = app.screen.query_one(HexView)
        assert (view.base, view.length) == (f.sp, f.fp - f.sp)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, HexScreen), "closed")
        await pilot.press("tab", "tab", "tab")
        dis = app.query_one("#disasm")
        assert app.focused is dis
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, HexScreen), "instruction hex view")
        ins = dis.listing.lines[dis.cursor]
        view = app.screen.query_one(HexView)
        assert view.base == ins.address and view.bytes_at(0, ins.size) == list(ins.raw)

    run(app, body)


def test_build_id_mismatch_is_shown(httpabort: Any, corpus: Any) -> None:
    other = corpus("1.24.11", "opt", "httpabort")
    app = make_app(httpabort.core, other.binary)  # the wrong executable for this core

    async def body(pilot: Any) -> None:
        await wait_for(pilot, lambda: "build ID" in str(app.query_one("#summary").render()), "summary")
        summary = str(app.query_one("#summary").render())
        assert "⚠ build ID mismatch" in summary
        assert "SIGABRT" in summary
        assert any(sev == "error" and "build ID" in m for sev, m in app.notices)
        # Raw memory still works.
        await command(pilot, "x 0xc000000000 32")
        await wait_for(pilot, lambda: isinstance(app.screen, HexScreen), "hex view")

    async def main() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.loaded or app.load_failed, "loaded")
            await body(pilot)
            assert not app.internal_errors, app.internal_errors

    try:
        asyncio.run(main())
    finally:
        app.session.proc.close()


# ---------------------------------------------------------------------------------------------------
# Text the TUI does not control: typed by the user, or from a hostile core (issue 11)


async def open_hex_on_body(pilot: Any) -> HexView:
    app = pilot.app
    await goto_frame_and_var(pilot, "body")
    await pilot.press("x")
    await wait_for(pilot, lambda: isinstance(app.screen, HexScreen), "hex view")
    view: HexView = app.screen.query_one(HexView)
    return view


def test_markup_in_a_typed_path_is_text(httpabort: Any, body_bytes: bytes, tmp_path: Path) -> None:
    """A path with "[" typed into the save dialog: saved as typed, and the overwrite question shows
    it (a "[/b]" in it used to be parsed as a closing tag: a MarkupError ended the app)."""
    app = make_app(httpabort.core, httpabort.binary)
    (tmp_path / "q[").mkdir()
    exists = tmp_path / "q[" / "b]"
    exists.write_bytes(b"precious")
    fresh = tmp_path / "[bold]new[@click=app.quit()].bin"

    async def body(pilot: Any) -> None:
        view = await open_hex_on_body(pilot)
        assert view.length == len(body_bytes)
        for path in (fresh, exists):
            await pilot.press("s")
            await wait_for(pilot, lambda: isinstance(app.screen, SaveDialog), "save dialog")
            inp = app.screen.query_one("#save-path")
            inp.value = str(path)
            await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), "overwrite question")
        question = str(app.screen.query_one(".dialog-title").render())
        assert f"{exists} exists" in question, question
        await pilot.press("y")
        await wait_for(pilot, lambda: exists.read_bytes() != b"precious", "overwritten")
        await wait_for(pilot, lambda: sum("saved 64 bytes" in m for m in notifications(app)) == 2, "notices")
        assert any(str(fresh) in m for m in notifications(app))

    run(app, body)
    assert fresh.read_bytes() == body_bytes and exists.read_bytes() == body_bytes


def test_unhandled_error_logs_and_exits_non_zero(httpabort: Any, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """An error no handler catches (here, a widget that fails to render) ends the app with return
    code 1, the traceback in a log file under $XDG_STATE_HOME/gocore-tui, and one line naming it."""
    from explorer.tui.widgets import KeyBar

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    app = make_app(httpabort.core, httpabort.binary)
    broken = False
    original = KeyBar.render

    def render(self: Any) -> Any:
        if broken:
            raise RuntimeError("injected [/b] \x1b]0;x\x07 failure")
        return original(self)

    monkeypatch.setattr(KeyBar, "render", render)

    async def main() -> None:
        nonlocal broken
        async with app.run_test(size=SIZE) as pilot:
            await wait_ready(pilot)
            broken = True
            app.query_one(KeyBar).refresh()
            await wait_for(pilot, lambda: app.return_code is not None, "the app to end")

    try:
        with pytest.raises(RuntimeError, match="injected"):
            asyncio.run(main())
    finally:
        app.session.proc.close()
    assert app.return_code == 1
    assert app.crash_log is not None and app.crash_log.parent == tmp_path / "gocore-tui"
    log = app.crash_log.read_text()
    assert "Traceback" in log and "RuntimeError: injected" in log and "in render" in log
    assert "\x1b" not in log and "\\x1b]0;x\\a" in log
    line = app.crash_message
    assert line is not None and "\n" not in line and "\x1b" not in line
    assert line.startswith("gocore-tui: internal error: RuntimeError: injected [/b] \\x1b]0;x\\a failure")
    assert str(app.crash_log) in line


def test_hex_view_ends_at_the_top_of_the_address_space(httpabort: Any) -> None:
    app = make_app(httpabort.core, httpabort.binary)
    top = (1 << 64) - 0x100

    async def body(pilot: Any) -> None:
        await command(pilot, f"x {top:#x} 4096")
        await wait_for(pilot, lambda: isinstance(app.screen, HexScreen), "hex view")
        view = app.screen.query_one(HexView)
        assert (view.base, view.length) == (top, 0x100)
        assert view.virtual_size.height == 16
        title = str(app.screen.query_one("#hex-title").render())
        assert "256 bytes" in title and "cut at the end of the address space" in title
        await pilot.press("ctrl+end", "pagedown", "down", "down")
        assert view.cursor == 0xFF
        last = view._row_text(15).plain
        assert last.startswith("fffffffffffffff0") and "??" in last
        rows = [view.render_line(y).text for y in range(view.size.height)]
        assert not any("10000000000000000" in r for r in rows), rows
        await pilot.press("escape")
        await command(pilot, "x 0x10000000000000000")
        await wait_for(pilot, lambda: any("64-bit address space" in m for m in notifications(app)), "refusal")

    run(app, body)


@pytest.fixture(scope="module")
def hostile(corpus: Any) -> Any:
    from corpus import make_core

    _ = corpus
    return make_core("1.24.11", "noopt", "panic", prog="tuihostile")


#: What must never reach the terminal raw: C0 controls (but newline, in SVG layout), DEL, C1, bidi.
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def test_hostile_strings_are_escaped_on_screen(hostile: Any) -> None:
    """The panic message, a local string, a map key and a printed value hold ESC/OSC/CSI, C1, a bidi
    override and markup: every screen shows them escaped (\\x1b, \\u009b, \\u202e), as text."""
    app = make_app(hostile.core, hostile.binary)
    screens: list[str] = []

    async def body(pilot: Any) -> None:
        assert app.frames[app.frame_index].function == "main.handle"
        screens.append(app.export_screenshot())
        summary = str(app.query_one("#summary").render())
        assert "panic: hostile osc0:\\x1b]0;PWNED-TITLE\\a osc52:\\x1b]52;c;aGFja2Vk\\a csi:\\x1b[2J" in summary
        await pilot.press("tab")
        tree = app.query_one(VariablesTree)
        header = next(n for n in tree.root.children if "header" in str(n.label))
        tree.move_cursor(header)
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(header.children) == 1 and "KEY-TITLE" in str(header.children[0].label),
                       "the map's key")
        await command(pilot, "print evil")
        await wait_for(pilot, lambda: any(m.startswith("evil = ") for m in notifications(app)), "printed")
        await pilot.pause(0.3)
        screens.append(app.export_screenshot())
        labels = [str(n.label) for n in tree.root.children] + [str(header.children[0].label)]
        evil = hostile.values["evil"]  # strconv.Quote of the local, printed by the program itself
        assert any(lab.endswith(f"evil = {evil}") for lab in labels), labels
        key = hostile.values["key"]
        assert any(lab.startswith(f"[{key}] = ") for lab in labels), labels
        await command(pilot, "x evil")
        await wait_for(pilot, lambda: isinstance(app.screen, HexScreen), "hex view")
        await pilot.pause(0.2)
        screens.append(app.export_screenshot())

    run(app, body)
    for svg in screens:
        assert not RAW_CONTROL.search(svg), RAW_CONTROL.findall(svg)
    assert "\\x1b]0;PWNED-TITLE\\a" in screens[0] and "\\u202edesrever\\u202c" in screens[0]
    assert "[bold&#160;red]loud[/]" in screens[0]  # markup shown as text (SVG spaces are &#160;)
    assert "\\x1b]0;KEY-TITLE\\a" in screens[1]


# ---------------------------------------------------------------------------------------------------
# Details found on the way (issue 13)


def test_palette_prefill_is_kept(httpabort: Any) -> None:
    """The palette's "Print…" and "Goroutine…" open the command line with the verb typed: the keys
    that follow are appended to it (they used to replace the selected prefill)."""
    from textual.command import CommandPalette

    app = make_app(httpabort.core, httpabort.binary)

    async def body(pilot: Any) -> None:
        inp = app.query_one("#cmdline")
        for title, verb, typed in (("Print…", "print ", "body"), ("Goroutine…", "goroutine ", "1")):
            await pilot.press("ctrl+p")
            await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
            await type_text(pilot, title.rstrip("…"))
            await pilot.pause(0.3)
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.focused is inp, "the command line")
            await pilot.pause(0.1)
            assert inp.value == verb
            await type_text(pilot, typed)
            assert inp.value == verb + typed, inp.value
            await pilot.press("escape")
        await pilot.press("ctrl+g")
        await type_text(pilot, "7")
        assert inp.value == "goroutine 7"

    run(app, body)


def test_backtrace_title_has_the_full_status(httpabort: Any) -> None:
    """The backtrace's title shows the status between brackets as the runtime printed it
    (``[IO wait]`` used to vanish: Textual read it as markup)."""
    app = make_app(httpabort.core, httpabort.binary)
    printed = {g.id: g.status for g in httpabort.trace.goroutines}
    ids = [httpabort.ready["goroutines"]["net_read"][0], httpabort.values["handler_goid"]]
    assert printed[ids[0]] == "IO wait"

    async def body(pilot: Any) -> None:
        for gid in ids:
            await command(pilot, f"goroutine {gid}")
            await wait_for(pilot, lambda g=gid: app.current_g.id == g and frame_settled(app), "goroutine")
            await pilot.pause(0.1)
            title = f"Backtrace: goroutine {gid} [{printed[gid]}]"
            assert any(title in line for line in screen_lines(app)), (title, screen_lines(app))

    run(app, body)


def test_status_column_fits_every_wait_reason() -> None:
    """Every wait reason of the newest runtime (its waitReasonStrings, read from the toolchain's
    source) shows whole in the goroutine list, "GOMAXPROCS updater (idle)" the longest."""
    from dataclasses import dataclass

    from gotools import goroot
    from textual.app import App, ComposeResult

    src = (goroot("1.27.3") / "src" / "runtime" / "runtime2.go").read_text()
    table = src[src.index("var waitReasonStrings"):]
    reasons = [r for r in re.findall(r':\s*"([^"]*)",', table[: table.index("\n}")]) if r]
    assert "GOMAXPROCS updater (idle)" in reasons and len(reasons) > 30

    @dataclass
    class FakeG:
        addr: int
        id: int
        header_status: str
        status: str = "waiting"
        thread: int | None = None

    class ListApp(App[None]):
        def compose(self) -> ComposeResult:
            yield GoroutineList(id="goroutines")

    gs = [FakeG(0x1000 + i, i + 1, r) for i, r in enumerate(reasons)]
    app = ListApp()

    async def main() -> None:
        async with app.run_test(size=(100, 30)):
            gl = app.query_one(GoroutineList)
            gl.set_goroutines(gs, None)
            for i, g in enumerate(gs):
                assert f" {g.header_status} " in gl.row_text(i).plain, gl.row_text(i).plain

    asyncio.run(main())


def test_selection_status_name_and_file_agree(httpabort: Any, body_bytes: bytes, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """n shift+arrows select n bytes beyond the anchor (both ends included, as hex editors do); the
    status line, the save dialog and the proposed file name show the same [start:end), and the file
    holds exactly those bytes."""
    monkeypatch.chdir(tmp_path)
    app = make_app(httpabort.core, httpabort.binary)

    async def body(pilot: Any) -> None:
        view = await open_hex_on_body(pilot)
        status = app.screen.query_one("#hex-status")
        for moves, (start, end) in ((["shift+right"] * 4, (0, 5)), (["right"] * 8 + ["shift+left"] * 2, (6, 9))):
            await pilot.press("ctrl+home", *moves)
            assert view.selection == (start, end - start)
            assert f"selection [{start}:{end}] {end - start} bytes" in str(status.render())
            await pilot.press("s")
            await wait_for(pilot, lambda: isinstance(app.screen, SaveDialog), "save dialog")
            assert app.screen.query_one("#save-path").value == f"body-{start}-{end}.bin"
            title = str(app.screen.query_one(".dialog-title").render())
            assert f"body[{start}:{end}]: {end - start} bytes at {view.base + start:#x}" in title, title
            await pilot.press("enter")
            out = tmp_path / f"body-{start}-{end}.bin"
            await wait_for(pilot, out.exists, out.name)
            await wait_for(pilot, lambda: isinstance(app.screen, HexScreen), "back in the hex view")
            assert out.read_bytes() == body_bytes[start:end]

    run(app, body)


def test_keys_typed_in_a_burst_keep_their_order(httpabort: Any) -> None:
    """ctrl+u then a path arriving at once (a paste, tmux send-keys): the path stays. Textual runs an
    Input's ordinary bindings only when the key has bubbled back to the app, after the keys behind
    it were typed: ctrl+u used to clear the path typed after it."""
    from textual import events

    app = make_app(httpabort.core, httpabort.binary)

    async def body(pilot: Any) -> None:
        await open_hex_on_body(pilot)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, SaveDialog), "save dialog")
        inp = app.screen.query_one("#save-path")
        burst = [events.Key("ctrl+u", None)] + [events.Key(_key(c), c) for c in "ab.bix"]
        burst += [events.Key("backspace", None), events.Key("n", "n")]
        for event in burst:  # as the terminal driver sends them: no wait in between
            event.set_sender(app)
            app._driver.send_message(event)
        for _ in range(20):
            await pilot.pause(0.02)
        assert inp.value == "ab.bin"

    run(app, body)


def test_toasts_leave_the_inspector_and_command_line_visible(httpabort: Any) -> None:
    from textual.widgets._toast import Toast

    app = make_app(httpabort.core, httpabort.binary)

    async def body(pilot: Any) -> None:
        await open_hex_on_body(pilot)
        for i in range(3):
            app.notify(f"notice {i}", timeout=30)
        await pilot.pause(0.3)
        toasts = list(app.screen.query(Toast))
        assert len(toasts) == 3
        keep = [app.screen.query_one(sel).region for sel in ("#hex-status", "#cmdline")]
        keep.append(app.screen.query_one("KeyBar").region)
        for toast in toasts:
            for region in keep:
                assert not toast.region.overlaps(region), (toast.region, region)

    run(app, body, notifications=True)


def test_narrow_terminal_layout_and_zoom(httpabort: Any) -> None:
    """At 80x24 source and disassembly stack, each as wide as the right column (side by side they
    were 17 columns wide); z maximizes the focused pane, tab moves the maximized view to the next
    pane, z restores the layout."""
    app = make_app(httpabort.core, httpabort.binary)

    async def body(pilot: Any) -> None:
        screen = app.screen
        src, dis, right = (screen.query_one(s).region for s in ("#source", "#disasm", "#right"))
        assert src.width == dis.width == right.width >= 44, (src, dis, right)
        assert src.y < dis.y
        await pilot.press("tab", "tab")
        assert app.focused is screen.query_one("#source")
        await pilot.press("z")
        await pilot.pause()
        assert screen.maximized is app.focused
        assert screen.query_one("#source").region.width == 80
        await pilot.press("tab")
        await pilot.pause()
        assert screen.maximized is screen.query_one("#disasm") and app.focused is screen.maximized
        lines = screen_lines(app)
        assert "Disassembly: " in lines[0] and lines[-1].lstrip().startswith("z  Zoom")
        await pilot.press("z")
        await pilot.pause()
        assert screen.maximized is None
        assert screen.query_one("#source").region.width == right.width
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
        assert any(k == "z" and "Maximize" in v for _, rows in app.screen.sections for k, v in rows)

    run(app, body, size=(80, 24))


def test_wide_terminal_keeps_source_beside_disassembly(httpabort: Any) -> None:
    app = make_app(httpabort.core, httpabort.binary)

    async def body(pilot: Any) -> None:
        src, dis = (app.screen.query_one(s).region for s in ("#source", "#disasm"))
        assert src.y == dis.y and src.right <= dis.x

    run(app, body)


def test_source_footer_names_the_module_not_the_build_machine(httpabort: Any) -> None:
    """The source pane's footer: the main module's path (as `go version -m` gives it) for the
    program's files, $GOROOT/src/... for the runtime's, not the build machine's directories."""
    import subprocess

    from gotools import go_command, go_env

    out = subprocess.run([go_command(httpabort.version), "version", "-m", str(httpabort.binary)],
                         capture_output=True, text=True, env=go_env(httpabort.version), check=True).stdout
    module = next(line.split("\t")[2] for line in out.splitlines() if line.startswith("\tmod\t"))
    # The runtime frame's file as the runtime's own traceback printed it.
    printed = next(f.file for g in httpabort.trace.goroutines if g.id == httpabort.values["handler_goid"]
                   for f in g.frames if f.function == "runtime.gopanic" or f.function == "panic")
    app = make_app(httpabort.core, httpabort.binary)

    async def body(pilot: Any) -> None:
        src = app.query_one("#source")
        await command(pilot, f"frame {handler_frame(app)}")
        await wait_for(pilot, lambda: frame_settled(app), "handler frame")
        await pilot.pause(0.1)
        assert module == "example.com/crasher"
        assert any(f"─ {module} ─╯" in line for line in screen_lines(app)), src.border_subtitle
        n = next(f.index for f in app.frames if f.function == "runtime.gopanic")
        await command(pilot, f"frame {n}")
        await wait_for(pilot, lambda: app.frame_index == n and frame_settled(app), "runtime frame")
        await pilot.pause(0.1)
        want = "$GOROOT/src/" + os.path.dirname(printed).split("/src/", 1)[1]
        assert any(f"─ {want} ─╯" in line for line in screen_lines(app)), want

    run(app, body)
