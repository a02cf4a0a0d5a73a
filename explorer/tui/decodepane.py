"""The decode pane: the hex view's selection (or a value's bytes) read as protobuf, JSON, text or
bytes, under the hex view.

Decoding runs in a worker thread (a 10 MB selection takes seconds) with a progress bar, and can be
cancelled by closing the pane. A protobuf decode is a tree: each field one row (``number wire
value``), expanded with enter/right into its nested fields, or into the readings of a number (signed,
zigzag, float, double) or of a payload (text, hex, packed values). Moving onto a row highlights its
bytes in the hex view (when the bytes were not decompressed: offsets then are in the decompressed
payload). ``f`` cycles the format, ``s`` saves the decode as text (protoc's text for protobuf).
The tree is flattened into rows on Textual's line API, so a million fields cost what the screen
shows.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import ProgressBar, Static
from textual.worker import Worker, WorkerState, get_current_worker

from explorer.gcpause import gc_paused
from explorer.payload.detect import FORMATS, Recognized, recognize
from explorer.payload.wire import Cancelled, Field
from explorer.render.payload import field_details, field_summary, raw_text, recognized_lines
from explorer.render.text import safe
from explorer.tui.guard import guarded
from explorer.tui.lines import LineList

#: Formats ``f`` cycles through.
CYCLE = FORMATS
#: Decodes of more bytes than this are kept out of the garbage collector's walks (gc.freeze).
FREEZE_ABOVE = 256 << 10


@dataclass(slots=True)
class _Row:
    """One row of the flattened tree: a field (expandable), or a detail line under one."""

    depth: int
    field: Field | None = None
    label: str = ""
    text: str = ""
    expanded: bool = False
    parent: Field | None = None

    @property
    def expandable(self) -> bool:
        return self.field is not None


class DecodeTree(LineList):
    """The decoded payload as rows; see the module docstring."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter,space", "toggle_row", "Expand", show=False),
        Binding("right,l", "expand_row", "Expand", show=False),
        Binding("left,h", "collapse_row", "Collapse", show=False),
    ]

    class Highlight(Message):
        """Show bytes [offset, offset+size) of the decoded payload (None: nothing)."""

        def __init__(self, offset: int | None, size: int = 0) -> None:
            super().__init__()
            self.offset = offset
            self.length = size

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: list[_Row] = []
        self.data = b""

    def set_rows(self, data: bytes, rows: list[_Row]) -> None:
        self.data = data
        self.rows = rows
        self.set_row_count(len(rows))
        self.set_cursor(0, notify=True)

    def row_text(self, index: int) -> Text:
        r = self.rows[index]
        t = Text(no_wrap=True, end="")
        t.append("  " * r.depth)
        if r.field is not None:
            t.append("▾ " if r.expanded else "▸ ", style="dim")
            t.append(field_summary(self.data, r.field))
        elif r.label:
            t.append("  ")
            t.append(f"{r.label}: ", style="cyan")
            t.append(r.text)
        else:
            t.append(r.text)
        return t

    def _children(self, r: _Row) -> list[_Row]:
        f = r.field
        assert f is not None
        if f.message is not None:
            return [_Row(r.depth + 1, field=c) for c in f.message.fields]
        return [_Row(r.depth + 1, label=label, text=text, parent=f) for label, text in field_details(self.data, f)]

    def _subtree_end(self, index: int) -> int:
        depth = self.rows[index].depth
        end = index + 1
        while end < len(self.rows) and self.rows[end].depth > depth:
            end += 1
        return end

    def expand_row(self, index: int) -> None:
        r = self.rows[index]
        if r.field is None or r.expanded:
            return
        r.expanded = True
        self.rows[index + 1 : index + 1] = self._children(r)
        self.set_row_count(len(self.rows))

    def collapse_row(self, index: int) -> None:
        r = self.rows[index]
        if not r.expanded:
            return
        r.expanded = False
        del self.rows[index + 1 : self._subtree_end(index)]
        self.set_row_count(len(self.rows))

    @guarded
    def action_toggle_row(self) -> None:
        if not self.rows:
            return
        r = self.rows[self.cursor]
        if r.expanded:
            self.collapse_row(self.cursor)
        else:
            self.expand_row(self.cursor)

    @guarded
    def action_expand_row(self) -> None:
        if self.rows:
            self.expand_row(self.cursor)

    @guarded
    def action_collapse_row(self) -> None:
        if not self.rows:
            return
        r = self.rows[self.cursor]
        if r.expanded:
            self.collapse_row(self.cursor)
            return
        for i in range(self.cursor - 1, -1, -1):  # to the parent
            if self.rows[i].depth < r.depth:
                self.set_cursor(i)
                return

    @guarded
    def on_line_list_cursor_moved(self, event: LineList.CursorMoved) -> None:
        if event.sender is not self or not self.rows:
            return
        r = self.rows[min(event.index, len(self.rows) - 1)]
        if r.field is not None:
            self.post_message(self.Highlight(r.field.start, r.field.end - r.field.start))
        elif r.parent is not None:
            self.post_message(self.Highlight(r.parent.value_start, r.parent.value_end - r.parent.value_start))
        else:
            self.post_message(self.Highlight(None))


class Decoded(Message):
    """A worker's decode is ready."""

    def __init__(self, rec: Recognized, rows: list[_Row], fmt: str) -> None:
        super().__init__()
        self.rec = rec
        self.rows = rows
        self.fmt = fmt


class DecodePane(Vertical):
    """A decode of bytes [addr, addr+size) of ``memory``; see the module docstring."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f", "cycle_format", "Format", tooltip="Read the bytes as auto, protobuf, JSON, text or hex"),
        Binding("s", "save_text", "Save text", tooltip="Save the decode as text (protoc's text for protobuf)"),
        Binding("escape", "close", "Close", tooltip="Close the decode pane"),
    ]
    DEFAULT_CSS = """
    DecodePane { height: 45%; border-top: solid $primary; }
    DecodePane > #decode-title { height: 1; }
    DecodePane > #decode-progress { height: 1; }
    DecodePane > DecodeTree { height: 1fr; }
    """

    class Closed(Message):
        """The pane was closed (escape)."""

    def __init__(self, memory: Any, addr: int, size: int, label: str, *, fmt: str = "auto",
                 on_highlight: Callable[[int | None, int], None] | None = None,
                 on_close: Callable[[], None] | None = None) -> None:
        super().__init__(id="decode-pane")
        self.on_highlight = on_highlight
        self.on_close = on_close
        self.memory = memory
        self.addr = addr
        self.nbytes = size
        self.label = label
        self.fmt = fmt
        self.rec: Recognized | None = None
        self._worker: Worker[None] | None = None
        self._frozen = False
        self.dtree = DecodeTree(id="decode-tree")

    def compose(self) -> ComposeResult:
        yield Static(id="decode-title")
        yield ProgressBar(total=max(self.nbytes, 1), show_eta=False, id="decode-progress")
        yield self.dtree

    @guarded
    def on_mount(self) -> None:
        self.start()

    def retarget(self, addr: int, size: int, label: str) -> None:
        self.addr, self.nbytes, self.label = addr, size, label
        self.start()

    def start(self) -> None:
        """(Re)decode in a worker; the previous one, if running, is cancelled."""
        _release(self.rec, self.dtree.rows, unfreeze=False)
        self.rec = None
        self._title(f"decoding {self.nbytes} bytes…")
        bar = self.query_one(ProgressBar)
        bar.update(total=max(self.nbytes, 1), progress=0)
        bar.display = True
        self.dtree.set_rows(b"", [])
        self._worker = self._decode(self.addr, self.nbytes, self.fmt)

    def _title(self, status: str) -> None:
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(" decode ", style="bold reverse")
        t.append(f" {safe(self.label)}  {self.nbytes} bytes at {self.addr:#x}  ", style="bold")
        t.append(f"[{self.fmt}]  ", style="cyan")
        t.append(status)
        self.query_one("#decode-title", Static).update(t)

    @work(thread=True, exclusive=True, group="decode", exit_on_error=False)
    def _decode(self, addr: int, size: int, fmt: str) -> None:
        worker = get_current_worker()
        n = self.memory.readable_prefix(addr, size) if size else 0
        data = self.memory.read(addr, n) if n else b""

        def progress(pos: int) -> None:
            if not worker.is_cancelled:
                self.app.call_from_thread(self._progress, pos)

        with gc_paused():
            try:
                rec = recognize(data, fmt, progress=progress, cancelled=lambda: worker.is_cancelled)
            except Cancelled:
                return
            if n < size:
                rec.notes.insert(0, f"the core holds only the first {n} of {size} bytes")
            rows = build_rows(rec)
            # A big decode is millions of objects: left to the collector, every full collection
            # would walk them all, seconds with the screen frozen. They hold no cycles; the pane
            # unfreezes them when it closes.
            if len(rec.data) > FREEZE_ABOVE:
                gc.freeze()
                self._frozen = True
        if not worker.is_cancelled:
            self.post_message(Decoded(rec, rows, fmt))

    def _progress(self, pos: int) -> None:
        self.query_one(ProgressBar).update(progress=pos)

    @guarded
    def on_decoded(self, msg: Decoded) -> None:
        msg.stop()
        if msg.fmt != self.fmt:
            return
        self.rec = msg.rec
        self.query_one(ProgressBar).display = False
        rec = msg.rec
        status = rec.format
        if rec.layers:
            status += " (" + ", ".join(f"{x.kind} {x.compressed}→{x.size}" for x in rec.layers) + \
                      "; offsets are in the decompressed bytes)"
        if rec.format == "protobuf" and rec.raw is not None:
            n = len(rec.raw.message.fields)
            status += f"  {n} field{'s' if n != 1 else ''}"
            if rec.raw.error is not None:
                status += f"  ! not a valid message {rec.raw.error.describe()}"
        for note in rec.notes:
            status += f"  · {note}"
        self._title(safe(status))
        self.dtree.set_rows(rec.data, msg.rows)

    @on(DecodeTree.Highlight)
    @guarded
    def _highlight(self, event: DecodeTree.Highlight) -> None:
        event.stop()
        if self.on_highlight is None:
            return
        # Decompressed payloads have their own offsets: nothing in the hex view to point at.
        if self.rec is None or self.rec.layers or self.rec.format != "protobuf":
            self.on_highlight(None, 0)
        else:
            self.on_highlight(event.offset, event.length)

    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker is self._worker:
            self._title(f"decode failed: {safe(str(event.worker.error))}")

    @guarded
    def action_cycle_format(self) -> None:
        self.fmt = CYCLE[(CYCLE.index(self.fmt) + 1) % len(CYCLE)]
        self.start()

    def text(self) -> str:
        """The decode as text: protoc's for protobuf, the lines shown for the others."""
        if self.rec is None:
            return ""
        if self.rec.format == "protobuf" and self.rec.raw is not None:
            return raw_text(self.rec.raw)
        lines = recognized_lines(self.rec)
        return "\n".join(lines) + "\n" if lines else ""

    @guarded
    def action_save_text(self) -> None:
        if self.rec is None:
            self.app.notify("still decoding", severity="warning")
            return
        from explorer.tui.widgets import SaveDialog

        text = self.text().encode()
        name = f"{_file_stem(self.label)}.{'txtpb' if self.rec.format == 'protobuf' else 'txt'}"

        def done(answer: tuple[str, bool] | None) -> None:
            if answer is not None:
                self._save(text, answer[0], answer[1])

        self.app.push_screen(SaveDialog(f"the {self.rec.format} decode ({len(text)} bytes of text)", name), done)

    @work(thread=True, group="save", exit_on_error=False)
    def _save(self, text: bytes, path: str, force: bool) -> None:
        from explorer.core.memory import AddressSpace, Region
        from explorer.goruntime.save import save_memory

        mem = AddressSpace([Region(0, len(text), text, 0, 30)])
        n = save_memory(mem, 0, len(text), path, force=force)
        self.app.call_from_thread(self.app.notify, f"saved {n} bytes of text to {path}", title="saved", timeout=6)

    @guarded
    def action_close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
        self.post_message(self.Closed())
        if self.on_close is not None:
            self.on_close()
        self.remove()

    def on_unmount(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
        rec, rows = self.rec, self.dtree.rows
        self.rec = None
        self.dtree.rows = []
        _release(rec, rows, unfreeze=self._frozen)
        self._frozen = False


def _release(rec: Recognized | None, rows: list[_Row], *, unfreeze: bool) -> None:
    """Free a decode without stalling the screen: dropping a million-field tree at once is one
    deallocation cascade that holds the interpreter for a second; a thread drops it in slices,
    then lets the garbage collector see the rest of the heap again."""
    def run() -> None:
        fields = rec.raw.message.fields if rec is not None and rec.raw is not None else []
        for items in (rows, fields):
            while items:
                del items[-4096:]
        if unfreeze:
            gc.unfreeze()

    if len(rows) < 4096 and not unfreeze:
        return
    threading.Thread(target=run, name="decode-release", daemon=True).start()


def _file_stem(label: str) -> str:
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in label).strip("._") or "payload"
    return f"{stem[:40]}.decoded"


def build_rows(rec: Recognized) -> list[_Row]:
    """The first rows: one per top-level field (a broken message's valid prefix, then where it
    broke), or one per line of text."""
    if rec.format == "protobuf" and rec.raw is not None:
        rows = [_Row(0, field=f) for f in rec.raw.message.fields]
        if rec.raw.error is not None:
            rows.append(_Row(0, label="not a valid message", text=safe(rec.raw.error.describe())))
        return rows
    return [_Row(0, text=line) for line in recognized_lines(rec)]


def open_decode_pane(screen: Any, view: Any, offset: int, size: int) -> DecodePane:
    """Open (or point again) the decode pane under the hex view ``view`` of ``screen``, for the
    view's bytes [offset, offset+size); rows moved onto highlight their bytes in the view."""
    whole = offset == 0 and size == view.length
    label = view.target.label if whole else f"{view.target.label}[{offset:#x}:{offset + size:#x}]"

    def highlight(off: int | None, n: int) -> None:
        view.set_highlight(None if off is None else offset + off, n)

    def closed() -> None:
        view.set_highlight(None)
        view.focus()

    found = list(screen.query(DecodePane))
    if found:
        pane = found[0]
        pane.on_highlight, pane.on_close = highlight, closed
        pane.retarget(view.base + offset, size, label)
    else:
        pane = DecodePane(view.memory, view.base + offset, size, label, on_highlight=highlight, on_close=closed)
        screen.mount(pane, after=view)
    view.set_highlight(None)
    screen.call_after_refresh(pane.dtree.focus)
    return pane
