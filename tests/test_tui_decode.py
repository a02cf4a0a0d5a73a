"""Pilot tests of the decode pane (``d``): the protobuf request body a crashed handler holds, read
in the TUI as protoc reads it.

The core is tests/testprogs/protobody's (see tests/test_decode.py): its handler frame holds ``body``,
a shop.v1.Order the Python test client encoded. The oracles are protoc (the saved text is exactly
``protoc --decode_raw``'s) and the body's own bytes (a field's highlighted range is where its tag and
value sit in the body). A 10 MB decode runs in a worker: the pane answers keys while it runs.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_decode import order_body, order_case, protoc_raw
from test_tui import command, frame_settled, make_app, notifications, run, type_text, wait_for

from explorer.core.memory import AddressSpace, Region
from explorer.tui.decodepane import DecodePane, DecodeTree
from explorer.tui.hexview import HexScreen, HexView
from explorer.tui.panes import VariablesTree
from explorer.tui.widgets import SaveDialog

VERSION = "1.24.11"
HANDLER = "main.(*orderAPI).ServeHTTP"


@pytest.fixture(scope="module")
def case() -> Any:
    return order_case(VERSION, "noopt")


async def _to_body(pilot: Any) -> None:
    """`:frame N` to the handler, then the variables pane's cursor on ``body``."""
    app = pilot.app
    n = next(f.index for f in app.frames if f.function == HANDLER)
    await command(pilot, f"frame {n}")
    await wait_for(pilot, lambda: app.frame_index == n and frame_settled(app), "frame")
    await pilot.press("tab")
    tree = app.query_one(VariablesTree)
    assert app.focused is tree
    labels = [str(node.label) for node in tree.root.children]
    i = next(i for i, lab in enumerate(labels) if lab.split(" = ")[0].split()[-1] == "body")
    while tree.cursor_line < i:
        await pilot.press("down")


def _rows(tree: DecodeTree) -> list[str]:
    return [tree.row_text(i).plain for i in range(tree.row_count)]


async def _decoded(pilot: Any) -> DecodePane:
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, HexScreen) and bool(app.screen.query(DecodePane)),
                   "the decode pane")
    pane = app.screen.query_one(DecodePane)
    await wait_for(pilot, lambda: pane.rec is not None and pane.dtree.row_count > 0, "the decode")
    return pane


def test_d_on_a_value_decodes_and_saves_protoc_text(case: Any, tmp_path: Path) -> None:
    """`d` on ``body``: the hex view with the decode pane; rows highlight their bytes; `s` saves
    exactly what protoc --decode_raw prints."""
    app = make_app(case.core, case.binary)
    body = order_body()
    out = tmp_path / "order.txtpb"

    async def steps(pilot: Any) -> None:
        await _to_body(pilot)
        await pilot.press("d")
        pane = await _decoded(pilot)
        view = app.screen.query_one(HexView)
        tree = pane.dtree
        assert app.focused is tree
        assert pane.rec is not None and pane.rec.format == "protobuf"
        rows = _rows(tree)
        customer = "alice@example.com \u2014 \u00e9t\u00e9".encode()
        assert rows[0] == "▸ 1 varint  9007199254740993"
        assert rows[1] == f'▸ 2 len[{len(customer)}]  "alice@example.com \u2014 \u00e9t\u00e9"'
        # The first row's bytes: tag 0x08 and the 8-byte varint.
        assert view.highlight == (0, 9)
        await pilot.press("down")
        at = body.index(b"\x12" + bytes([len(customer)]) + customer)
        assert view.highlight == (at, 2 + len(customer))
        # Expand the first item (field 3): its fields, then a varint's readings.
        await pilot.press("down")
        assert tree.row_text(tree.cursor).plain == "▸ 3 message  {6 fields, 50 bytes}"
        await pilot.press("enter")
        rows = _rows(tree)
        assert rows[3] == '  ▸ 1 len[10]  "SKU-RED-XL"'
        assert rows[4] == "  ▸ 2 varint  2"
        await pilot.press("down", "down", "right")
        readings = _rows(tree)[5:10]
        assert "      int64: 2" in readings and "      sint64 (zigzag): 1" in readings
        await pilot.press("left", "left")  # to the item, then collapse it
        assert tree.row_text(tree.cursor).plain == "▾ 3 message  {6 fields, 50 bytes}"
        await pilot.press("left")
        assert tree.row_text(tree.cursor).plain == "▸ 3 message  {6 fields, 50 bytes}"
        assert tree.row_text(tree.cursor + 1).plain.startswith("▸ 3 message  {6 fields, 48 bytes}")
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, SaveDialog), "save dialog")
        await pilot.press("ctrl+u")
        await type_text(pilot, str(out))
        await pilot.press("enter")
        await wait_for(pilot, out.exists, "the text file")
        await wait_for(pilot, lambda: any("bytes of text" in m for m in notifications(app)), "saved notice")

    run(app, steps)
    assert out.read_text() == protoc_raw()


def test_d_on_a_hex_selection(case: Any) -> None:
    """A selection in the hex view (the first item's payload) decodes on its own; escape closes the
    pane and clears the highlight."""
    app = make_app(case.core, case.binary)
    body = order_body()
    item = body.index(b"\x0a\x0aSKU-RED-XL")  # the first item's payload starts with its sku

    async def steps(pilot: Any) -> None:
        await _to_body(pilot)
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, HexScreen), "hex view")
        view = app.screen.query_one(HexView)
        size = body[item - 1]  # the item's length byte
        view.select_range(item, size)
        await pilot.press("d")
        pane = await _decoded(pilot)
        assert _rows(pane.dtree)[0] == '▸ 1 len[10]  "SKU-RED-XL"'
        assert view.highlight == (item, 12)  # offsets in the view, not in the selection
        await pilot.press("f")  # the next format: protobuf, then json...
        await wait_for(pilot, lambda: pane.rec is not None and pane.fmt == "protobuf", "protobuf")
        await pilot.press("f")
        await wait_for(pilot, lambda: pane.rec is not None and pane.fmt == "json", "json")
        assert "not JSON" in pane.rec.notes  # type: ignore[union-attr]
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.screen.query(DecodePane), "the pane closed")
        assert view.highlight is None and app.focused is view

    run(app, steps)


def test_big_decode_keeps_the_screen_alive() -> None:
    """A 10 MB protobuf decodes in a worker: the pane shows its progress and answers keys meanwhile
    (escape cancels the decode); left alone, the decode completes with every field."""
    from textual.app import App, ComposeResult

    unit = b"\x0a\x05\x0a\x03\x0a\x01\x00"  # a message in a message in a message, a million times
    data = unit * ((10 << 20) // len(unit))
    mem = AddressSpace([Region(0x10000, 0x10000 + len(data), data, 0, 30)])

    class Harness(App[None]):
        def __init__(self) -> None:
            super().__init__()
            self.internal_errors: list[BaseException] = []

        def report(self, err: BaseException) -> None:
            self.internal_errors.append(err)

        def compose(self) -> ComposeResult:
            yield DecodePane(mem, 0x10000, len(data), "big")

    async def main() -> None:
        app = Harness()
        async with app.run_test() as pilot:
            pane = app.query_one(DecodePane)
            pane.dtree.focus()
            await pilot.pause(0.2)
            assert pane.rec is None  # still decoding, and the app answers:
            await pilot.press("escape")
            await wait_for(pilot, lambda: not app.query(DecodePane), "the pane closed mid-decode")
            worker = pane._worker
            assert worker is not None
            await wait_for(pilot, lambda: worker.is_finished, "the cancelled worker to stop", timeout=120)
            assert pane.rec is None
            await app.mount(DecodePane(mem, 0x10000, len(data), "big"))
            pane = app.query_one(DecodePane)
            await wait_for(pilot, lambda: pane.rec is not None, "the whole decode", timeout=300)
            assert pane.rec is not None and pane.rec.raw is not None and pane.rec.raw.ok
            assert pane.dtree.row_count == len(data) // len(unit)
        assert not app.internal_errors, app.internal_errors

    asyncio.run(main())
