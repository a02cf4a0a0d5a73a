"""The hex view: a byte range of the process (a value's bytes or any address), 16 bytes a row.

Offset, hex and ASCII columns; a byte cursor and a selection (shift+arrows); bytes the core does not
hold show as ``??``, never as zeros. Rows are read lazily through ``AddressSpace.chunks`` and cached,
so a view of a 100 MB slice costs what the screen shows.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Static

from explorer.errors import ExplorerError
from explorer.tui.guard import guarded
from explorer.tui.safetext import safe
from explorer.tui.session import Target

ROW = 16
#: The address space ends here: a view never shows a row past it.
ADDRESS_END = 1 << 64
#: Search reads the range in pieces this big.
SEARCH_CHUNK = 1 << 20


#: ``/u32:N``: an integer's bytes, little-endian (the inspector's reading), by width.
INT_FORMS = {"u8": 1, "u16": 2, "u32": 4, "u64": 8}
#: The search prompt's hint (also in the help).
SEARCH_HINT = ('text, "quoted text", bytes in order (4f 52 44 or 0x4f5244), '
               "or an integer's little-endian bytes as the inspector reads them (u16:N u32:N u64:N)")


def parse_pattern(text: str) -> bytes:
    """What ``/`` searches for: ``"text"`` (quoted) is text; ``0x4f5244`` or hex pairs separated by
    spaces (``4f 52 44``) are these bytes in this order; ``u32:0xdeadbeef`` (``u8:``, ``u16:``,
    ``u64:``) is the integer's little-endian bytes (``ef be ad de``), as the inspector below the
    view reads the bytes at the cursor; anything else is text."""
    t = text.strip()
    if not t:
        raise ExplorerError("nothing to search for")
    form, colon, number = t.partition(":")
    if colon and form.lower() in INT_FORMS:
        from explorer.tui.session import parse_int

        size = INT_FORMS[form.lower()]
        value = parse_int(number)
        if value is None:
            raise ExplorerError(f"{t}: {form}: wants an integer (42, 0x2a)")
        if value < 0:
            value += 1 << (8 * size)  # -1 is 0xff..ff, as a two's-complement value
        if not 0 <= value < 1 << (8 * size):
            raise ExplorerError(f"{t}: does not fit in {8 * size} bits")
        return value.to_bytes(size, "little")
    if len(t) >= 2 and t[0] == t[-1] and t[0] in "\"'":
        return t[1:-1].encode()
    if t.lower().startswith("0x"):
        h = re.sub(r"[\s_]", "", t[2:])
        if h and len(h) % 2 == 0 and re.fullmatch(r"[0-9a-fA-F]+", h):
            return bytes.fromhex(h)
        raise ExplorerError(f"{t}: not whole hex bytes")
    if re.fullmatch(r"[0-9a-fA-F]{2}(\s+[0-9a-fA-F]{2})+", t):
        return bytes.fromhex(t)
    return t.encode()


def find_bytes(read_chunks: Callable[[int, int], Any], start: int, end: int, pattern: bytes,
               cancelled: Callable[[], bool] = lambda: False) -> int | None:
    """First address in [start, end) where ``pattern`` lies wholly in readable memory, or None."""
    if not pattern:
        return None
    carry = b""
    pos = start
    while pos < end:
        if cancelled():
            return None
        stop = min(end, pos + SEARCH_CHUNK)
        for cstart, data, _reason in read_chunks(pos, stop - pos):
            if data is None:
                carry = b""
                continue
            buf = carry + bytes(data)
            base = cstart - len(carry)
            i = buf.find(pattern)
            if i >= 0:
                return base + i
            keep = len(pattern) - 1
            carry = buf[len(buf) - keep:] if keep else b""
        pos = stop
    return None


class HexView(ScrollView, can_focus=True):
    """A byte range as a hex dump with a cursor and a selection."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left,h", "move(-1)", "Left", show=False),
        Binding("right,l", "move(1)", "Right", show=False),
        Binding("up,k", "move(-16)", "Up", show=False),
        Binding("down,j", "move(16)", "Down", show=False),
        Binding("shift+left,H", "extend(-1)", "Extend left", show=False,
                tooltip="Select from the anchor byte to the cursor's, both included: n presses, n+1 bytes"),
        Binding("shift+right,L", "extend(1)", "Extend right", show=False,
                tooltip="Select from the anchor byte to the cursor's, both included: n presses, n+1 bytes"),
        Binding("shift+up,K", "extend(-16)", "Extend up", show=False),
        Binding("shift+down,J", "extend(16)", "Extend down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("shift+pageup", "page(-1, True)", "Extend page up", show=False),
        Binding("shift+pagedown", "page(1, True)", "Extend page down", show=False),
        Binding("home", "row_edge(0)", "Row start", show=False),
        Binding("end", "row_edge(1)", "Row end", show=False),
        Binding("ctrl+home", "jump(0)", "Start", show=False),
        Binding("ctrl+end", "jump(1)", "End", show=False),
        Binding("ctrl+a", "select_all", "Select all", show=False),
        Binding("escape", "clear_or_close", "Back", tooltip="Clear the selection, or close the hex view"),
        Binding("s", "save", "Save", tooltip="Save the selection (or the whole value) to a file"),
        Binding("g", "goto", "Go to", tooltip="Go to an address, +offset or expression"),
        Binding("slash", "search", "Search", tooltip="Search: text, bytes in order (0x4f5244), or u32:N / u64:N "
                "(an integer's little-endian bytes, as the inspector reads them)"),
        Binding("n", "search_next", "Next match"),
        Binding("d", "decode", "Decode", tooltip="Decode the selection (or the whole range): protobuf, JSON, text"),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "hexview--offset", "hexview--cursor", "hexview--selection", "hexview--missing", "hexview--zero",
        "hexview--printable", "hexview--highlight",
    }
    DEFAULT_CSS = """
    HexView > .hexview--offset { color: $text-muted; }
    HexView > .hexview--cursor { background: $accent; color: $text; text-style: bold; }
    HexView > .hexview--selection { background: $primary 55%; color: $text; }
    HexView > .hexview--missing { color: $error; }
    HexView > .hexview--zero { color: $text-disabled; }
    HexView > .hexview--printable { color: $success; }
    HexView > .hexview--highlight { background: $warning 45%; color: $text; }
    """

    cursor: reactive[int] = reactive(0, init=False)

    class Changed(Message):
        """Cursor or selection moved."""

    class SaveRequested(Message):
        def __init__(self, view: HexView, addr: int, size: int, whole: bool) -> None:
            super().__init__()
            self.view = view
            self.addr = addr
            self.length = size
            self.whole = whole

    class GotoRequested(Message):
        def __init__(self, view: HexView) -> None:
            super().__init__()
            self.view = view

    class SearchRequested(Message):
        def __init__(self, view: HexView) -> None:
            super().__init__()
            self.view = view

    class DecodeRequested(Message):
        """Decode bytes [offset, offset+length) of the view (``d``)."""

        def __init__(self, view: HexView, offset: int, length: int) -> None:
            super().__init__()
            self.view = view
            self.offset = offset
            self.length = length

    def __init__(self, memory: Any, target: Target, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.memory = memory
        self._row_cache: LRUCache[int, list[int | None]] = LRUCache(4096)
        self.sel_anchor: int | None = None
        self.last_pattern: bytes | None = None
        self.highlight: tuple[int, int] | None = None
        self.set_target(target)

    # -- data ------------------------------------------------------------------------------------

    def set_target(self, target: Target) -> None:
        if not 0 <= target.addr < ADDRESS_END:
            raise ExplorerError(f"{target.addr:#x} is outside the 64-bit address space")
        self.target = target
        self.base = target.addr
        # A range that would run past 0xffffffffffffffff stops there (the title says so).
        self.length = min(max(0, target.size), ADDRESS_END - target.addr)
        self.cut = target.size - self.length
        self._row_cache.clear()
        self.sel_anchor = None
        self.highlight = None
        self.set_reactive(HexView.cursor, 0)
        digits = max(8, len(f"{self.base + max(self.length, 1) - 1:x}"))
        self._addr_digits = digits
        self._off_digits = max(4, len(f"{max(self.length - 1, 0):x}"))
        self.virtual_size = Size(self._line_width(), max(1, (self.length + ROW - 1) // ROW))
        if self.is_mounted:
            self.scroll_to(0, 0, animate=False, immediate=True)
        self.refresh()
        self.post_message(self.Changed())

    def _line_width(self) -> int:
        return self._addr_digits + 2 + self._off_digits + 3 + ROW * 3 + 2 + ROW + 2

    def row_bytes(self, row: int) -> list[int | None]:
        """The bytes of a row (None where the core holds nothing); shorter for the last row."""
        cached = self._row_cache.get(row)
        if cached is not None:
            return cached
        start = row * ROW
        n = max(0, min(ROW, self.length - start))
        out: list[int | None] = []
        pieces = list(self.memory.chunks(self.base + start, n))
        for i, (cstart, data, _reason) in enumerate(pieces):
            if data is not None:
                out.extend(bytes(data))
                continue
            nxt = pieces[i + 1][0] if i + 1 < len(pieces) else self.base + start + n
            out.extend([None] * (nxt - cstart))
        out = out[:n] + [None] * (n - len(out))
        self._row_cache[row] = out
        return out

    def bytes_at(self, offset: int, size: int) -> list[int | None]:
        out: list[int | None] = []
        while size > 0 and 0 <= offset < self.length:
            row, col = divmod(offset, ROW)
            take = self.row_bytes(row)[col : col + size]
            if not take:
                break
            out.extend(take)
            offset += len(take)
            size -= len(take)
        return out

    @property
    def selection(self) -> tuple[int, int] | None:
        """(first offset, count) of the selection, or None. As in hex editors, the selection runs
        from the anchor byte (where shift+arrows started) to the cursor's byte, both included:
        n presses of shift+right select n+1 bytes, shown as [start:start+n+1]."""
        if self.sel_anchor is None:
            return None
        lo, hi = sorted((self.sel_anchor, self.cursor))
        return lo, hi - lo + 1

    # -- rendering -------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        row = int(scroll_y) + y
        width = self.scrollable_content_region.width or self.size.width
        base = self.rich_style
        if row * ROW >= max(self.length, 1) or self.length == 0:
            if row == 0 and self.length == 0:
                return Strip(list(Text("  (0 bytes)", style="dim").render(self.app.console))).crop_extend(
                    0, width, base)
            return Strip.blank(width, base)
        text = self._row_text(row)
        segments = list(Segment.apply_style(text.render(self.app.console), base))
        return Strip(segments).crop_extend(int(scroll_x), int(scroll_x) + width, base).apply_offsets(
            int(scroll_x), row)

    def _styles(self) -> dict[str, Style]:
        return {name: self.get_component_rich_style(f"hexview--{name}") for name in
                ("offset", "cursor", "selection", "missing", "zero", "printable", "highlight")}

    def set_highlight(self, offset: int | None, size: int = 0) -> None:
        """Mark bytes [offset, offset+size) (a decoded field's) and bring them into view; None clears."""
        self.highlight = None if offset is None or size <= 0 else (offset, size)
        self.refresh()
        if self.highlight is not None:
            first, last = offset // ROW, (offset + size - 1) // ROW  # type: ignore[operator]
            self.scroll_to_region(Region(0, first, 1, min(last - first + 1, self.size_rows())), animate=False,
                                  immediate=True)

    def _row_text(self, row: int) -> Text:
        st = self._styles()
        data = self.row_bytes(row)
        start = row * ROW
        sel = self.selection
        t = Text(no_wrap=True, end="")
        t.append(f"{self.base + start:0{self._addr_digits}x}", style=st["offset"])
        t.append(f"  +{start:0{self._off_digits}x}  ", style=st["offset"])

        hl = self.highlight

        def byte_style(off: int, b: int | None) -> Style:
            s = st["missing"] if b is None else st["zero"] if b == 0 else Style()
            if hl is not None and hl[0] <= off < hl[0] + hl[1]:
                s = s + st["highlight"]
            if sel is not None and sel[0] <= off < sel[0] + sel[1]:
                s = s + st["selection"]
            if off == self.cursor:
                s = s + st["cursor"]
            return s

        for i in range(ROW):
            off = start + i
            if i < len(data):
                b = data[i]
                t.append("??" if b is None else f"{b:02x}", style=byte_style(off, b))
                in_sel = sel is not None and sel[0] <= off < sel[0] + sel[1] - 1 and i != ROW - 1
                t.append(" " if i != 7 else "  ", style=st["selection"] if in_sel and i != 7 else "")
            else:
                t.append("   " if i != 7 else "    ")
        t.append(" │", style=st["offset"])
        for i, b in enumerate(data):
            off = start + i
            if b is None:
                ch, s = "?", st["missing"]
            elif 0x20 <= b < 0x7F:
                ch, s = chr(b), st["printable"]
            else:
                ch, s = ".", st["zero"] if b == 0 else Style()
            if hl is not None and hl[0] <= off < hl[0] + hl[1]:
                s = s + st["highlight"]
            if sel is not None and sel[0] <= off < sel[0] + sel[1]:
                s = s + st["selection"]
            if off == self.cursor:
                s = s + st["cursor"]
            t.append(ch, style=s)
        t.append(" " * (ROW - len(data)))
        t.append("│", style=st["offset"])
        return t

    def _refresh_rows(self, a: int, b: int) -> None:
        lo, hi = sorted((a // ROW, b // ROW))
        self.refresh(Region(0, lo - int(self.scroll_offset.y), max(self.size.width, self._line_width()),
                            hi - lo + 1))

    # -- movement --------------------------------------------------------------------------------

    def _move_to(self, offset: int, extend: bool) -> None:
        if self.length == 0:
            return
        offset = max(0, min(self.length - 1, offset))
        old_cursor, old_sel = self.cursor, self.selection
        if extend:
            if self.sel_anchor is None:
                self.sel_anchor = self.cursor
        else:
            self.sel_anchor = None
        self.set_reactive(HexView.cursor, offset)
        # Repaint the rows the cursor and selection covered before and cover now.
        span = [old_cursor, offset]
        if old_sel:
            span += [old_sel[0], old_sel[0] + old_sel[1] - 1]
        if self.selection:
            sel = self.selection
            span += [sel[0], sel[0] + sel[1] - 1]
        if (old_sel and not self.selection) or (old_sel and abs(old_sel[1]) > 4096):
            self.refresh()
        else:
            self._refresh_rows(min(span), max(span))
        self.scroll_to_region(Region(0, offset // ROW, 1, 1), animate=False, immediate=True, force=True)
        self.post_message(self.Changed())

    @guarded
    def action_move(self, delta: int) -> None:
        self._move_to(self.cursor + delta, False)

    @guarded
    def action_extend(self, delta: int) -> None:
        self._move_to(self.cursor + delta, True)

    @guarded
    def action_page(self, direction: int, extend: bool = False) -> None:
        self._move_to(self.cursor + direction * ROW * max(1, self.size_rows() - 1), extend)

    def size_rows(self) -> int:
        return self.scrollable_content_region.height or self.size.height or 1

    @guarded
    def action_row_edge(self, end: int) -> None:
        row = self.cursor // ROW
        self._move_to(row * ROW + (ROW - 1 if end else 0), False)

    @guarded
    def action_jump(self, end: int) -> None:
        self._move_to(self.length - 1 if end else 0, False)

    @guarded
    def action_select_all(self) -> None:
        if self.length:
            self.sel_anchor = 0
            self._move_to(self.length - 1, True)

    def select_range(self, offset: int, size: int) -> None:
        """Select [offset, offset+size) and put the cursor on its last byte."""
        if self.length == 0 or size <= 0:
            return
        self.sel_anchor = None
        self._move_to(offset, False)
        self._move_to(offset + size - 1, True)

    @guarded
    def action_clear_or_close(self) -> None:
        if self.sel_anchor is not None:
            self.sel_anchor = None
            self.refresh()
            self.post_message(self.Changed())
        elif isinstance(self.screen, HexScreen):
            self.screen.dismiss(None)

    @guarded
    def action_save(self) -> None:
        sel = self.selection
        if sel is not None:
            self.post_message(self.SaveRequested(self, self.base + sel[0], sel[1], False))
        else:
            self.post_message(self.SaveRequested(self, self.base, self.length, True))

    @guarded
    def action_goto(self) -> None:
        self.post_message(self.GotoRequested(self))

    @guarded
    def action_search(self) -> None:
        self.post_message(self.SearchRequested(self))

    @guarded
    def action_decode(self) -> None:
        sel = self.selection
        offset, size = sel if sel is not None else (0, self.length)
        self.post_message(self.DecodeRequested(self, offset, size))

    @guarded
    def action_search_next(self) -> None:
        if self.last_pattern is None:
            self.post_message(self.SearchRequested(self))
            return
        hook = getattr(self.app, "hex_search_next", None)
        if hook is not None:
            hook(self)

    @guarded
    async def _on_click(self, event: events.Click) -> None:
        x = event.x + int(self.scroll_offset.x)
        row = event.y + int(self.scroll_offset.y)
        hex_start = self._addr_digits + 2 + self._off_digits + 3
        col = None
        if hex_start <= x < hex_start + ROW * 3 + 1:
            rel = x - hex_start
            col = rel // 3 if rel < 8 * 3 else (rel - 1) // 3
        ascii_start = hex_start + ROW * 3 + 1 + 2
        if ascii_start <= x < ascii_start + ROW:
            col = x - ascii_start
        if col is not None and 0 <= col < ROW:
            self._move_to(row * ROW + col, event.shift)

    def value_at_cursor(self) -> str:
        """The bytes at the cursor read as little-endian integers (what a reader checks first)."""
        out = []
        for size, name in ((1, "u8"), (2, "u16"), (4, "u32"), (8, "u64")):
            bs = self.bytes_at(self.cursor, size)
            if len(bs) < size:
                break
            if any(b is None for b in bs):
                out.append(f"{name} ??")
                break
            v = int.from_bytes(bytes(b for b in bs if b is not None), "little")
            out.append(f"{name} {v}" if size == 1 else f"{name} {v:#x}")
        return "  ".join(out)


class SearchDone(Message):
    def __init__(self, view: HexView, pattern: bytes, offset: int | None, wrapped: bool = False) -> None:
        super().__init__()
        self.view = view
        self.pattern = pattern
        self.offset = offset
        self.wrapped = wrapped


class HexScreen(Screen[None]):
    """A full screen with the hex view, its title and status lines, and the command line."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("colon", "app.command_line", ":cmd", tooltip="Open the command line"),
        Binding("question_mark", "app.help", "Help"),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(self, memory: Any, target: Target, *, decode: bool = False) -> None:
        super().__init__()
        self.memory = memory
        self.initial = target
        self.decode_on_mount = decode

    def compose(self) -> ComposeResult:
        from explorer.tui.widgets import CommandLine, KeyBar

        yield Static(id="hex-title")
        yield HexView(self.memory, self.initial, id="hexview")
        yield Static(id="hex-status")
        yield CommandLine()
        yield KeyBar()

    @property
    def view(self) -> HexView:
        return self.query_one(HexView)

    @guarded
    def on_mount(self) -> None:
        self.view.focus()
        self._update_title()
        self._update_status()
        if self.decode_on_mount:
            self.open_decode()

    def retarget(self, target: Target) -> None:
        self.view.set_target(target)
        self._update_title()

    def open_decode(self, offset: int = 0, size: int | None = None) -> None:
        """The decode pane under the view, for bytes [offset, offset+size) (default: all)."""
        from explorer.tui.decodepane import open_decode_pane

        open_decode_pane(self, self.view, offset, self.view.length - offset if size is None else size)

    @guarded
    def on_hex_view_decode_requested(self, event: HexView.DecodeRequested) -> None:
        self.open_decode(event.offset, event.length)

    def _update_title(self) -> None:
        t = self.view.target
        title = Text(no_wrap=True, overflow="ellipsis")
        title.append(" x ", style="bold reverse")
        title.append(f" {safe(t.label)}", style="bold")
        if t.type_name:
            title.append(f"  {safe(t.type_name)}", style="cyan")
        size = self.view.length
        title.append(f"  {t.addr:#x}  {size} bytes", style="")
        if self.view.cut:
            title.append(f"  (cut at the end of the address space: {t.size} asked)", style="yellow")
        missing = size - self.memory.readable_prefix(t.addr, size) if size else 0
        if missing:
            title.append(f"  ({missing} bytes from {t.addr + size - missing:#x} not in the core: ??)",
                         style="yellow")
        self.query_one("#hex-title", Static).update(title)

    @guarded
    def on_hex_view_changed(self, _event: HexView.Changed) -> None:
        self._update_status()

    def _update_status(self) -> None:
        v = self.view
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(f" cursor +{v.cursor:#x} ({v.base + v.cursor:#x})", style="bold")
        sel = v.selection
        if sel is not None:
            # [start:end) as a Go slice of the view, the same numbers as the save's file name.
            t.append(f"  │  selection [{sel[0]}:{sel[0] + sel[1]}] {sel[1]} bytes", style="bold cyan")
        else:
            t.append("  │  no selection (s saves the whole range)", style="dim")
        t.append("  │  little-endian: " + v.value_at_cursor(), style="dim")
        self.query_one("#hex-status", Static).update(t)

    @guarded
    def on_search_done(self, event: SearchDone) -> None:
        if event.offset is None:
            self.app.notify(f"not found: {_shown(event.pattern)}", severity="warning")
            return
        self.view.select_range(event.offset, len(event.pattern))
        wrapped = " (wrapped around)" if event.wrapped else ""
        self.app.notify(f"{_shown(event.pattern)} at +{event.offset:#x} ({self.view.base + event.offset:#x}){wrapped}",
                        timeout=3)


def _shown(pattern: bytes) -> str:
    """A search pattern as the user would recognize it: text if printable, else hex bytes."""
    if all(0x20 <= b < 0x7F for b in pattern):
        return repr(pattern.decode())
    return pattern.hex(" ")
