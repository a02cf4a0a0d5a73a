"""The heap screen: what fills memory, and who holds an object.

Left, the histogram (types by bytes; sortable by count, bytes or type; filterable); below it the
objects of the selected type; right, the selected object: its fields (decoded through its type),
its path from a root, and what points to it. The heap is built in a worker thread (a gigabyte heap
takes seconds) with a progress line; everything else stays usable meanwhile. Opened with ``H``
anywhere, or with ``o`` on a pointer in the variables pane (then it shows that object).
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static

from explorer.errors import ExplorerError
from explorer.render.heap import step_text
from explorer.render.text import safe
from explorer.tui.guard import guarded

MAX_OBJECT_ROWS = 5000


class HeapProgress(Message):
    def __init__(self, what: str, frac: float) -> None:
        super().__init__()
        self.what = what
        self.frac = frac


class HeapBuilt(Message):
    def __init__(self, rows: list[dict[str, Any]], summary: dict[str, Any]) -> None:
        super().__init__()
        self.rows = rows
        self.summary = summary


class ObjectsReady(Message):
    def __init__(self, type_name: str | None, size: int | None, rows: list[dict[str, Any]]) -> None:
        super().__init__()
        self.type_name = type_name
        self.size = size
        self.rows = rows


class DetailReady(Message):
    def __init__(self, addr: int, text: Text) -> None:
        super().__init__()
        self.addr = addr
        self.text = text


class HeapScreen(Screen[None]):
    """The heap of the process: histogram, a type's objects, one object's fields, path, referrers."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", tooltip="Back to the goroutines"),
        Binding("slash", "filter", "Filter", tooltip="Show only types whose name contains a text"),
        Binding("b", "sort('bytes')", "By bytes"),
        Binding("c", "sort('count')", "By count"),
        Binding("t", "sort('type')", "By type"),
        Binding("tab", "focus_next", "Next pane", show=False),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(self, proc: Any, focus_addr: int | None = None) -> None:
        super().__init__()
        self.proc = proc
        self.focus_addr = focus_addr
        self.rows: list[dict[str, Any]] = []
        self.sort_key = "bytes"
        self.filter_text = ""
        self.heap: Any = None

    def compose(self) -> ComposeResult:
        yield Static(" heap: building…", id="heap-title")
        with Horizontal(id="heap-body"):
            with Vertical(id="heap-left"):
                yield Input(placeholder="filter types (enter to apply, empty for all)", id="heap-filter")
                yield DataTable(id="heap-hist", cursor_type="row", zebra_stripes=True)
                yield DataTable(id="heap-objects", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(id="heap-right"):
                yield Static("select an object", id="heap-detail")

    @guarded
    def on_mount(self) -> None:
        hist = self.query_one("#heap-hist", DataTable)
        hist.add_columns("count", "bytes", "type")
        objs = self.query_one("#heap-objects", DataTable)
        objs.add_columns("address", "size", "reachable")
        self.query_one("#heap-filter", Input).display = False
        self.build()

    # -- building (worker thread) -----------------------------------------------------------------

    @work(thread=True, exclusive=True, group="heap-build", exit_on_error=False)
    def build(self) -> None:
        from explorer.goruntime.heap import heap_of

        def progress(what: str, frac: float) -> None:
            self.post_message(HeapProgress(what, frac))

        heap = heap_of(self.proc, progress)
        rows = heap.histogram()
        summary = heap.summary()
        self.heap = heap
        self.post_message(HeapBuilt(rows, summary))

    @on(HeapProgress)
    def _progress(self, event: HeapProgress) -> None:
        if self.heap is None:
            self.query_one("#heap-title", Static).update(
                Text(f" heap: {int(event.frac * 100):3d}% {event.what}…", style="bold"))

    @on(HeapBuilt)
    @guarded
    def _built(self, event: HeapBuilt) -> None:
        s = event.summary
        self.rows = event.rows
        title = Text(no_wrap=True, overflow="ellipsis")
        title.append(" heap ", style="bold reverse")
        title.append(f" {s['objects']:,} objects, {s['bytes']:,} bytes; reachable {s['reachable_objects']:,} "
                     f"objects, {s['reachable_bytes']:,} bytes; {s['spans']:,} spans")
        self.query_one("#heap-title", Static).update(title)
        self._fill_histogram()
        self.query_one("#heap-hist", DataTable).focus()
        if self.focus_addr is not None:
            self.detail(self.focus_addr)

    # -- the histogram -------------------------------------------------------------------------

    def _fill_histogram(self) -> None:
        table = self.query_one("#heap-hist", DataTable)
        table.clear()
        rows = [r for r in self.rows if not self.filter_text or self.filter_text.lower() in _type_label(r).lower()]
        if self.sort_key == "count":
            rows.sort(key=lambda r: (-r["count"], -r["bytes"]))
        elif self.sort_key == "type":
            rows.sort(key=lambda r: _type_label(r))
        else:
            rows.sort(key=lambda r: (-r["bytes"], -r["count"]))
        for i, r in enumerate(rows):
            table.add_row(f"{r['count']:,}", f"{r['bytes']:,}", Text(safe(_type_label(r))), key=str(i))
        self._shown = rows

    def action_sort(self, key: str) -> None:
        self.sort_key = key
        if self.rows:
            self._fill_histogram()

    def action_filter(self) -> None:
        box = self.query_one("#heap-filter", Input)
        box.display = True
        box.value = self.filter_text
        box.focus()

    @on(Input.Submitted, "#heap-filter")
    @guarded
    def _filtered(self, event: Input.Submitted) -> None:
        self.filter_text = event.value.strip()
        event.input.display = bool(self.filter_text)
        if self.rows:
            self._fill_histogram()
        self.query_one("#heap-hist", DataTable).focus()

    @on(DataTable.RowSelected, "#heap-hist")
    @on(DataTable.RowHighlighted, "#heap-hist")
    @guarded
    def _type_chosen(self, event: Any) -> None:
        if self.heap is None or event.row_key is None or event.row_key.value is None:
            return
        r = self._shown[int(event.row_key.value)]
        self.load_objects(r["type"], r.get("size"))

    @work(thread=True, exclusive=True, group="heap-objects", exit_on_error=False)
    def load_objects(self, type_name: str | None, size: int | None) -> None:
        from explorer.goruntime.heap.paths import objects_of_type

        heap = self.heap
        if type_name is None:
            rows = [r for r in objects_of_type(heap, "unknown") if r["size"] == size][:MAX_OBJECT_ROWS]
        else:
            rows = objects_of_type(heap, type_name, MAX_OBJECT_ROWS)
        self.post_message(ObjectsReady(type_name, size, rows))

    @on(ObjectsReady)
    @guarded
    def _objects(self, event: ObjectsReady) -> None:
        table = self.query_one("#heap-objects", DataTable)
        table.clear()
        for r in event.rows:
            table.add_row(f"{r['address']:#x}", f"{r['size']:,}", "yes" if r["reachable"] else "no (garbage)",
                          key=str(r["address"]))

    @on(DataTable.RowSelected, "#heap-objects")
    @on(DataTable.RowHighlighted, "#heap-objects")
    @guarded
    def _object_chosen(self, event: Any) -> None:
        if event.row_key is not None and event.row_key.value is not None:
            self.detail(int(event.row_key.value))

    # -- one object ----------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="heap-detail", exit_on_error=False)
    def detail(self, addr: int) -> None:
        self.post_message(DetailReady(addr, object_detail(self.heap, addr)))

    @on(DetailReady)
    def _detail(self, event: DetailReady) -> None:
        self.query_one("#heap-detail", Static).update(event.text)


def _type_label(r: dict[str, Any]) -> str:
    return r["type"] if r["type"] is not None else f"unknown ({r['size']}-byte slots)"


def object_detail(heap: Any, addr: int) -> Text:
    """The object at ``addr``: header, fields (decoded through its type), path, referrers."""
    from explorer.goruntime.heap.paths import object_index, path, referrers

    out = Text()
    try:
        i = object_index(heap, addr)
    except ExplorerError as e:
        out.append(safe(str(e)), style="red")
        return out
    objs = heap.objects
    base, size = int(objs.addr[i]), int(objs.size[i])
    tname = heap.type_name(i)
    out.append(f"{base:#x}", style="bold")
    out.append(f"  {safe(tname) if tname else 'unknown type'}  {size:,}-byte slot"
               f"{'' if heap.reach.reachable[i] else '  UNREACHABLE (garbage)'}\n\n")
    out.append("fields\n", style="bold underline")
    out.append(safe(object_value_text(heap, i), keep_newlines=True) + "\n\n")
    out.append("path from a root\n", style="bold underline")
    steps = path(heap, base)
    if steps is None:
        out.append("  none: nothing reachable points to it\n")
    else:
        for k, st in enumerate(steps):
            out.append(("  " if k == 0 else "  -> ") + step_text(st) + "\n")
    out.append("\nreferrers\n", style="bold underline")
    refs = referrers(heap, base, limit=200)
    if not refs:
        out.append("  none\n")
    for r in refs:
        out.append("  " + step_text(r) + "\n")
    return out


def object_value_text(heap: Any, i: int) -> str:
    """The object's value, pretty-printed through its type (DWARF; the type descriptor's DWARF twin)."""
    from explorer.goruntime.decode import decoder
    from explorer.goruntime.values import Loc
    from explorer.render.values import pretty

    tp = heap.types
    tid = int(tp.obj_type[i])
    if tid < 0:
        return "(unknown type: see the hex view, x, at its address)"
    t = heap.type_registry.types[tid]
    dec = decoder(heap.proc)
    gt = t.dwarf
    if gt is None and t.rtype is not None and heap.proc.dwarf is not None:
        gt = dec.type_of_descriptor(t.rtype.addr)
    if gt is None:
        return f"(no DWARF for {t.name})"
    start = int(tp.payload_start[i])
    n = heap.elements(i)
    parts = []
    for k in range(min(n, 8) if tp.obj_array[i] else 1):
        v = dec.decode(gt, Loc(start + k * t.size))
        parts.append((f"[{k}] " if tp.obj_array[i] else "") + pretty(v, depth=3, max_elements=16))
    if tp.obj_array[i] and n > 8:
        parts.append(f"... {n - 8} more")
    return "\n".join(parts)
