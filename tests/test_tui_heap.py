"""The TUI's heap screen, driven with Textual's pilot on the heap test program's core: the histogram
(built in a worker, with progress), filtered to a type, that type's objects, and one object's fields,
path from its root (the global the program keeps it in) and referrers."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("textual")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import gotools
from corpus import make_core
from test_tui import make_app, run, wait_for
from textual.widgets import DataTable, Input, Static

from explorer.tui.heapscreen import HeapScreen


def test_heap_screen_histogram_objects_and_path() -> None:
    version = gotools.test_versions()[-1]
    case = make_core(version, "opt", "heap", prog="heapprog")
    app = make_app(case.core, case.binary)

    async def body(pilot: Any) -> None:
        await pilot.press("H")
        await wait_for(pilot, lambda: isinstance(app.screen, HeapScreen), "heap screen")
        screen = app.screen
        assert isinstance(screen, HeapScreen)
        await wait_for(pilot, lambda: screen.heap is not None and bool(screen.rows), "heap built", timeout=120)
        hist = screen.query_one("#heap-hist", DataTable)
        types = [str(hist.get_row_at(i)[2]) for i in range(hist.row_count)]
        assert "main.Entry" in types and "main.Leak" in types
        title = str(screen.query_one("#heap-title", Static).render())
        assert f"{len(screen.heap.objects):,} objects" in title
        await pilot.press("slash")
        box = screen.query_one("#heap-filter", Input)
        await wait_for(pilot, lambda: box.has_focus, "the filter box")
        await pilot.press(*[ch if ch != "." else "full_stop" for ch in "main.Leak"])
        assert box.value == "main.Leak", box.value
        await pilot.press("enter")
        before = len(types)

        def shown() -> list[str]:
            return [str(hist.get_row_at(i)[2]) for i in range(hist.row_count)]

        await wait_for(pilot, lambda: 0 < hist.row_count < before, "filtered histogram")
        assert all("main.Leak" in t for t in shown())
        hist.focus()
        hist.move_cursor(row=shown().index("main.Leak"))
        await pilot.press("enter")
        objs = screen.query_one("#heap-objects", DataTable)
        await wait_for(pilot, lambda: objs.row_count == 1000, "the type's objects")
        objs.focus()
        await pilot.press("down")
        detail = screen.query_one("#heap-detail", Static)
        await wait_for(pilot, lambda: "global main.leakRoot" in str(detail.render()), "the object's path")
        text = str(detail.render())
        assert "main.Leak" in text and "referrers" in text and "Tag" in text
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, HeapScreen), "back")

    run(app, body)
