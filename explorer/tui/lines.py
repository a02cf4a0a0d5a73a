"""A cursor list on Textual's line API: only the visible rows are ever rendered.

Goroutine lists may hold 100,000 rows, and a disassembly thousands: :class:`LineList` keeps a row
count and asks its subclass for the rows it shows (``row_text``), caching them in an LRU cache.
"""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from explorer.tui.guard import guarded


class _RowMessage(Message):
    """A message about row ``index`` of a :class:`LineList`."""

    def __init__(self, sender: LineList, index: int) -> None:
        super().__init__()
        self.sender = sender
        self.index = index

    @property
    def control(self) -> LineList:
        return self.sender


class LineList(ScrollView, can_focus=True):
    """Rows with a cursor. Subclasses implement :meth:`row_text` and call :meth:`set_row_count`."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("pageup,ctrl+b", "page_up", "Page up", show=False),
        Binding("pagedown,ctrl+f", "page_down", "Page down", show=False),
        Binding("home", "first", "First", show=False),
        Binding("end", "last", "Last", show=False),
        Binding("enter", "activate", "Open", show=False),
        Binding("left,h", "scroll_left", "Scroll left", show=False),
        Binding("right,l", "scroll_right", "Scroll right", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {"linelist--cursor", "linelist--cursor-blurred"}
    DEFAULT_CSS = """
    LineList > .linelist--cursor { background: $accent 60%; color: $text; text-style: bold; }
    LineList > .linelist--cursor-blurred { background: $accent 25%; }
    LineList { scrollbar-size-horizontal: 0; }
    """

    cursor: reactive[int] = reactive(0, always_update=False, init=False)

    class CursorMoved(_RowMessage):
        """The cursor moved to ``index`` (posted by the list)."""

    class Activated(_RowMessage):
        """Enter (or a double click) on row ``index``."""

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._count = 0
        self._width = 0
        self._rows: LRUCache[int, Text] = LRUCache(2048)
        self.show_cursor = True

    # -- data ------------------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return self._count

    def set_row_count(self, count: int, width: int = 0) -> None:
        """New content: ``count`` rows, ``width`` cells wide at most (0: the widget's width)."""
        self._count = count
        self._width = width
        self._rows.clear()
        self.virtual_size = Size(width, count)
        if self.cursor >= count:
            self.set_cursor(max(0, count - 1), notify=False)
        self.refresh()

    def invalidate(self) -> None:
        """Rows changed in place (same count): re-render the visible ones."""
        self._rows.clear()
        self.refresh()

    def row_text(self, index: int) -> Text:
        """The text of row ``index`` (subclasses)."""
        return Text("")

    def set_cursor(self, index: int, *, notify: bool = True, center: bool = False) -> None:
        """Move the cursor (clamped), scroll it into view, and post CursorMoved if ``notify``."""
        index = max(0, min(index, self._count - 1)) if self._count else 0
        old = self.cursor
        self.set_reactive(LineList.cursor, index)
        self._refresh_row(old)
        self._refresh_row(index)
        if center:  # after the next refresh, when a new row count has been laid out
            self.call_after_refresh(self.scroll_cursor_visible, True)
        else:
            self.scroll_cursor_visible()
        if notify:
            self.post_message(self.CursorMoved(self, index))

    def scroll_cursor_visible(self, center: bool = False, _tries: int = 3) -> None:
        if not self._count:
            return
        height = self.scrollable_content_region.height or self.size.height
        y = self.cursor
        if center and height:
            target = max(0, min(y - height // 2, self._count - height))
            self.scroll_to(y=target, animate=False, immediate=True, force=True)
            if int(self.scroll_offset.y) != target and _tries:
                # The new row count is not laid out yet (scrolling is clamped to the old one): again
                # after the next refresh.
                self.call_after_refresh(self.scroll_cursor_visible, True, _tries - 1)
            else:
                self.call_after_refresh(self._sync_scrollbar)
            return
        self.scroll_to_region(Region(0, y, 1, 1), animate=False, immediate=True, force=True)

    def _sync_scrollbar(self) -> None:
        # A scroll made before the scrollbar was shown leaves the scrollbar's thumb where it was.
        if self.show_vertical_scrollbar and self.vertical_scrollbar.position != self.scroll_y:
            self.vertical_scrollbar.position = self.scroll_y

    def _refresh_row(self, index: int) -> None:
        self.refresh_line(index)

    # -- actions ---------------------------------------------------------------------------------

    @guarded
    def action_cursor_up(self) -> None:
        self.set_cursor(self.cursor - 1)

    @guarded
    def action_cursor_down(self) -> None:
        self.set_cursor(self.cursor + 1)

    @guarded
    def action_page_up(self) -> None:
        self.set_cursor(self.cursor - max(1, self.size.height - 1))

    @guarded
    def action_page_down(self) -> None:
        self.set_cursor(self.cursor + max(1, self.size.height - 1))

    @guarded
    def action_first(self) -> None:
        self.set_cursor(0)

    @guarded
    def action_last(self) -> None:
        self.set_cursor(self._count - 1)

    @guarded
    def action_activate(self) -> None:
        if self._count:
            self.post_message(self.Activated(self, self.cursor))

    @guarded
    async def _on_click(self, event: events.Click) -> None:
        y = event.y + int(self.scroll_offset.y)
        if 0 <= y < self._count:
            self.set_cursor(y)
            if event.chain >= 2:
                self.post_message(self.Activated(self, y))

    # -- rendering -------------------------------------------------------------------------------

    @guarded
    def _on_focus(self, event: events.Focus) -> None:
        self._refresh_row(self.cursor)

    @guarded
    def _on_blur(self, event: events.Blur) -> None:
        self._refresh_row(self.cursor)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = int(scroll_y) + y
        width = self.scrollable_content_region.width or self.size.width
        base = self.rich_style
        if index >= self._count:
            return Strip.blank(width, base)
        text = self._rows.get(index)
        if text is None:
            text = self.row_text(index)
            self._rows[index] = text
        pad_style = base
        if self.show_cursor and index == self.cursor:
            cursor_style = self.get_component_rich_style(
                "linelist--cursor" if self.has_focus else "linelist--cursor-blurred")
            text = text.copy()
            text.stylize(cursor_style)
            pad_style = base + cursor_style
        segments = list(Segment.apply_style(text.render(self.app.console), base))
        strip = Strip(segments).crop_extend(int(scroll_x), int(scroll_x) + width, pad_style)
        return strip.apply_offsets(int(scroll_x), index)

    @guarded
    def on_resize(self) -> None:
        self._rows.clear()
