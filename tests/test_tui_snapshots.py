"""SVG snapshots of the TUI on the bundled demo core (fixed bytes, so the screens are reproducible).

Run ``pytest tests/test_tui_snapshots.py --snapshot-update`` after a deliberate change of the
layout, or after ``scripts/make_demo.py`` rebuilt the demo, and look at the new SVGs in
tests/__snapshots__/test_tui_snapshots/ before committing them.
"""

from __future__ import annotations

from typing import Any

import pytest
from needs import need_module
from test_tui import HANDLER, command, frame_settled, make_app, wait_for, wait_ready

from explorer.demo import prepare
from explorer.tui.hexview import HexScreen
from explorer.tui.panes import VariablesTree

# The snap_compare fixture comes from this plugin: without it, skip (fail under CI=true).
need_module("pytest_textual_snapshot", "pip install pytest-textual-snapshot")

SIZE = (160, 48)


async def settle(pilot: Any) -> None:
    """Let late repaints land (a scrollbar repaints after the list it belongs to has scrolled)."""
    await pilot.wait_for_scheduled_animations()
    await pilot.pause(0.3)
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


@pytest.fixture(scope="module")
def demo() -> Any:
    return prepare()


def demo_app(demo: Any) -> Any:
    return make_app(demo.core, demo.binary, demo.substitute)


async def _handler_frame(pilot: Any) -> None:
    app = pilot.app
    await wait_ready(pilot)
    n = next(f.index for f in app.frames if f.function == HANDLER)
    await command(pilot, f"frame {n}")
    await wait_for(pilot, lambda: app.frame_index == n and frame_settled(app), "handler frame")
    await settle(pilot)
    assert app.frame_index == n, f"frame {app.frame_index} selected after :frame {n}"


def test_main_screen(snap_compare: Any, demo: Any) -> None:
    """The first screen: crash summary, goroutines, the crashing goroutine's backtrace with its
    first user frame selected, variables, source and disassembly."""

    async def before(pilot: Any) -> None:
        await wait_ready(pilot)
        await settle(pilot)

    app = demo_app(demo)
    try:
        assert snap_compare(app, terminal_size=SIZE, run_before=before)
    finally:
        app.session.proc.close()


def test_handler_frame(snap_compare: Any, demo: Any) -> None:
    """After :frame N, the HTTP handler's frame: body []byte among its locals."""
    app = demo_app(demo)
    try:
        assert snap_compare(app, terminal_size=SIZE, run_before=_handler_frame)
    finally:
        app.session.proc.close()


def test_hex_view_with_selection(snap_compare: Any, demo: Any) -> None:
    """x on body, then shift+right three times: a 4-byte selection."""

    async def before(pilot: Any) -> None:
        app = pilot.app
        await _handler_frame(pilot)
        await pilot.press("tab")
        tree = app.query_one(VariablesTree)
        labels = [str(n.label) for n in tree.root.children]
        i = next(i for i, lab in enumerate(labels) if " body = " in f" {lab}")
        while tree.cursor_line < i:
            await pilot.press("down")
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, HexScreen), "hex view")
        await pilot.press("shift+right", "shift+right", "shift+right")
        await settle(pilot)

    app = demo_app(demo)
    try:
        assert snap_compare(app, terminal_size=SIZE, run_before=before)
    finally:
        app.session.proc.close()
