"""Pilot tests of labels and links in the TUI, on tests/testprogs/oncall (Go 1.27, optimized): pprof
labels in the goroutine list and the backtrace's title, the filter on ``key=value``, ``:goroutines
-with label`` and ``-group label`` (and ``L``), ``created by ... in goroutine N`` as a link (enter on
it, or ``c``), the closure's body as one slice in the variables pane, and ``x`` on a pointer to a
slice. The oracle is what the program printed (see test_oncall.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from corpus import CoreCase, make_core
from gotools import test_versions as go_versions
from test_tui import command, frame_settled, make_app, notifications, run, type_text, wait_for

from explorer.tui.hexview import HexScreen, HexView
from explorer.tui.panes import BacktraceView, GoroutineList, VariablesTree

VERSION = next((v for v in ("1.27.3", "1.24.11") if v in go_versions()), go_versions()[-1])


@pytest.fixture(scope="module")
def oncall() -> CoreCase:
    return make_core(VERSION, "opt", "handler", prog="oncall")


def labelled(case: CoreCase, key: str, value: str | None = None) -> set[int]:
    """Ids of the live goroutines the program gave label ``key`` (= ``value``)."""
    out = set()
    for g in case.ready["goroutines"]:
        labels = g["labels"] or {}
        if key in labels and (value is None or labels[key] == value) and g["role"] != "spawner":
            out.add(int(g["id"]))
    return out


def test_labels_filter_and_label_groups(oncall: CoreCase) -> None:
    app = make_app(oncall.core, oncall.binary)
    r = oncall.ready

    async def body(pilot: Any) -> None:
        gl = app.query_one(GoroutineList)
        await wait_for(pilot, lambda: bool(app.goroutine_labels), "labels")
        # Each labelled goroutine's row ends with its labels, as key=value.
        rows = {obj.id: gl.row_text(i).plain for i, (kind, obj) in enumerate(gl._items) if kind == "g"}
        for g in r["goroutines"]:
            if g["id"] in rows and g["labels"]:
                for k, v in g["labels"].items():
                    shown = f'{k}="{v}"' if " " in v else f"{k}={v}"
                    assert shown in rows[g["id"]], (g, rows[g["id"]])
        plain = {gid for gid, row in rows.items() if "{" not in row}
        assert plain == set(rows) - labelled(oncall, "tenant") - labelled(oncall, "role")
        # The crashing worker is selected: its labels (inherited from the handler) are in the title.
        assert app.current_g.id == r["worker"]
        title = str(app.query_one(BacktraceView).border_title)
        assert "request_id=7f3a9c" in title and "tenant=acme" in title, title

        # The filter matches key=value as typed.
        await pilot.press("shift+tab")
        assert app.focused is gl
        await pilot.press("slash")
        await type_text(pilot, "tenant=globex")
        await wait_for(pilot, lambda: gl.data.keep is not None and len(gl.data.keep) == 1, "filtered")
        assert {g.id for g in app.goroutines if g.addr in gl.data.keep} == labelled(oncall, "tenant", "globex")
        await pilot.press("escape")
        await wait_for(pilot, lambda: gl.data.keep is None, "unfiltered")

        # :goroutines takes delve's -with label and -group label.
        await command(pilot, "goroutines -with label tenant=acme")
        await wait_for(pilot, lambda: gl.data.keep is not None, "-with")
        assert {g.id for g in app.goroutines if g.addr in gl.data.keep} == labelled(oncall, "tenant", "acme")
        await command(pilot, "goroutines -group label tenant")
        await wait_for(pilot, lambda: gl.data.group_label == "tenant", "-group")
        groups = [(o.status, len(o.goroutines)) for kind, o in gl._items if kind == "group"]
        others = len(app.goroutines) - len(labelled(oncall, "tenant"))
        assert groups == [("tenant=acme", len(labelled(oncall, "tenant", "acme"))),
                          ("tenant=globex", 1), ("no label tenant", others)], groups
        assert "grouped by label tenant" in str(gl.parent.border_subtitle)
        # G ungroups (the -group words leave the filter).
        gl.focus()
        await pilot.press("G")
        await wait_for(pilot, lambda: gl.data.group_label is None and not gl.data.grouped, "ungrouped")
        # L: the filter, ready for a key.
        await pilot.press("L")
        inp = app.screen.query_one("#filter")
        assert app.focused is inp and inp.value == "-group label "
        await type_text(pilot, "route")
        await wait_for(pilot, lambda: gl.data.group_label == "route", "grouped by route")
        titles = [o.status for kind, o in gl._items if kind == "group"]
        assert titles == ["route=/orders", "route=/users", "no label route"], titles

    run(app, body)


def test_created_by_is_a_link(oncall: CoreCase) -> None:
    app = make_app(oncall.core, oncall.binary)
    r = oncall.ready

    async def body(pilot: Any) -> None:
        bt = app.query_one(BacktraceView)
        assert app.current_g.id == r["worker"]
        # The last row: "created by main.(*server).handle in goroutine N"; end, then enter.
        bt.focus()
        await pilot.press("end")
        assert bt.cursor == bt.link_row == len(app.frames)
        assert f"created by main.(*server).handle in goroutine {r['handler']}" in bt.row_text(bt.cursor).plain
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.current_g.id == r["handler"] and frame_settled(app), "creator")
        assert app.frames[app.frame_index].function == "main.(*server).handle"
        assert app.query_one(GoroutineList).current_goroutine().id == r["handler"]
        assert any(f"created goroutine {r['worker']} at main.(*server).handle" in n for n in notifications(app))
        # c from anywhere in the backtrace; a creator that has exited is said so.
        await command(pilot, f"goroutine {r['orphan']}")
        await wait_for(pilot, lambda: app.current_g.id == r["orphan"] and frame_settled(app), "orphan")
        bt.focus()
        await pilot.press("c")
        await wait_for(pilot, lambda: any("has exited" in n for n in notifications(app)), "exited")
        assert app.current_g.id == r["orphan"]
        note = next(n for n in notifications(app) if "has exited" in n)
        assert note.startswith(f"goroutine {r['orphan_parent']}, which created goroutine {r['orphan']}")
        # A creator that has left the go statement's function: selected, and said so.
        await command(pilot, f"goroutine {r['launched']}")
        await wait_for(pilot, lambda: app.current_g.id == r["launched"] and frame_settled(app), "launched")
        bt.focus()
        await pilot.press("c")
        await wait_for(pilot, lambda: app.current_g.id == r["launcher"], "launcher")
        assert any("no longer in main.launch" in n for n in notifications(app))

    run(app, body)


def test_closure_body_and_x_on_a_pointer(oncall: CoreCase) -> None:
    app = make_app(oncall.core, oncall.binary)
    r = oncall.ready
    body_bytes = bytes.fromhex(r["body_hex"])

    async def body(pilot: Any) -> None:
        # The crashing worker opens on its closure's frame: one body, as the program printed it.
        assert app.frames[app.frame_index].function == "main.(*server).handle.func1"
        tree = app.query_one(VariablesTree)
        names = [str(n.label).split(" = ")[0].split()[-1] for n in tree.root.children]
        assert names.count("body") == 1 and not [n for n in names if "." in n], names
        node = next(n for n in tree.root.children if str(n.label).split(" = ")[0].split()[-1] == "body")
        tree.focus()
        tree.move_cursor(node)
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, HexScreen), "hex view")
        view = app.screen.query_one(HexView)
        assert (view.base, view.length) == (int(r["body_addr"], 16), len(body_bytes))
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, HexScreen), "closed")
        # x on a *[]byte: the bytes it points to.
        await command(pilot, "x main.LastBody")
        await wait_for(pilot, lambda: isinstance(app.screen, HexScreen), "hex view of the pointer")
        view = app.screen.query_one(HexView)
        assert view.length == len(body_bytes)
        assert bytes(app.session.proc.memory.read(view.base, view.length)) == body_bytes

    run(app, body)
