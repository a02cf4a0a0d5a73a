"""Hex dump lines of a process's memory, with ``??`` for bytes the core does not hold.

One line per ``width`` bytes, aligned to ``width``: the address, the bytes in hex (a gap after each
8), and an ASCII column (``.`` for non-printable bytes, a blank for missing ones)::

    0x000000c000012340  4f 52 44 39 ef be ad de  cb 04 fb 71 1f 01 00 00  |ORD9.......q....|

Bytes outside the requested range on the first and last lines are blank, so the columns stay
aligned. :func:`hexdump_lines` gives the data (the TUI renders it its own way, e.g. with a
``ScrollView`` that asks for one line at a time); :func:`format_line`/:func:`hexdump_text` give text,
:func:`hexdump_stream` the same text line by line (for dumps of any size, in constant memory);
:func:`rich_line` gives a styled :class:`rich.text.Text`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text

from explorer.render.text import safe

if TYPE_CHECKING:
    from explorer.core.memory import Memory

#: Bytes a single :func:`hexdump_lines` call dumps at most.
MAX_DUMP = 1 << 24


@dataclass(frozen=True, slots=True)
class HexLine:
    """One line: ``address`` (aligned), ``cells`` of (byte, or None if unreadable, or -1 if outside
    the requested range), and why missing bytes are missing (the first reason on the line)."""

    address: int
    cells: tuple[int | None, ...]
    reason: str = ""

    @property
    def readable(self) -> bool:
        return all(c is not None for c in self.cells)


def line_count(addr: int, size: int, width: int = 16) -> int:
    """How many lines :func:`hexdump_lines` gives for the range (for a scroll view's height)."""
    if size <= 0:
        return 0
    start = addr - addr % width
    end = addr + size
    return (end - start + width - 1) // width


def hexdump_line(mem: Memory, addr: int, size: int, index: int, width: int = 16) -> HexLine:
    """Line ``index`` of the dump of [addr, addr+size) (lines start at multiples of ``width``)."""
    base = addr - addr % width + index * width
    lo, hi = max(base, addr), min(base + width, addr + size)
    cells: list[int | None] = [-1] * width
    reason = ""
    if hi > lo:
        pieces = list(mem.chunks(lo, hi - lo))
        for k, (start, data, why) in enumerate(pieces):
            stop = pieces[k + 1][0] if k + 1 < len(pieces) else hi
            if data is None:
                for a in range(start, stop):
                    cells[a - base] = None
                reason = reason or why
            else:
                for n, b in enumerate(bytes(data)):
                    cells[start - base + n] = b
    return HexLine(base, tuple(cells), reason)


def hexdump_lines(mem: Memory, addr: int, size: int, width: int = 16) -> Iterator[HexLine]:
    """Every line of the dump of [addr, addr+size) (``size`` capped at :data:`MAX_DUMP`)."""
    size = max(0, min(size, MAX_DUMP))
    for i in range(line_count(addr, size, width)):
        yield hexdump_line(mem, addr, size, i, width)


def _hex_cells(cells: tuple[int | None, ...]) -> str:
    parts = []
    for i, c in enumerate(cells):
        if i and i % 8 == 0:
            parts.append("")
        parts.append("  " if c == -1 else "??" if c is None else f"{c:02x}")
    return " ".join(parts)


def _ascii(cells: tuple[int | None, ...]) -> str:
    return "".join(" " if c is None or c == -1 else chr(c) if 0x20 <= c < 0x7F else "." for c in cells)


def format_line(line: HexLine) -> str:
    """``0x000000c000012340  4f 52 ...  |OR..|`` (16-digit address)."""
    return f"{line.address:#018x}  {_hex_cells(line.cells)}  |{_ascii(line.cells)}|"


def hexdump_text(mem: Memory, addr: int, size: int, width: int = 16) -> str:
    """The whole dump as text, one line per ``width`` bytes, plus a note on missing bytes."""
    return "\n".join(hexdump_stream(mem, addr, size, width))


#: Bytes :func:`hexdump_stream` reads at a time (a multiple of every line width we use).
STREAM_BLOCK = 1 << 16

# Byte -> its character in the ASCII column.
_ASCII_COLUMN = bytes(c if 0x20 <= c < 0x7F else 0x2E for c in range(256))


def _groups(hexed: str) -> str:
    """``"00 01 ... 0f"`` (bytes.hex(" ") of one line) with the extra space after each 8 bytes."""
    if len(hexed) == 47:  # 16 bytes: the common case
        return hexed[:23] + " " + hexed[23:]
    return "  ".join(hexed[i:i + 23] for i in range(0, len(hexed), 24))


def hexdump_stream(mem: Memory, addr: int, size: int, width: int = 16) -> Iterator[str]:
    """The lines of :func:`hexdump_text`, one at a time: memory is read :data:`STREAM_BLOCK` bytes at
    a time, so a dump of any size (up to :data:`MAX_DUMP`) takes constant memory, and full readable
    lines are formatted without a loop per byte. The last line notes why ``??`` bytes are missing."""
    size = max(0, min(size, MAX_DUMP))
    if size == 0:
        return
    end = addr + size
    reasons: list[str] = []
    block = max(width, STREAM_BLOCK - STREAM_BLOCK % width)
    base = addr - addr % width
    while base < end:
        stop = min(base + block, end)
        lo = max(base, addr)
        data = bytearray(stop - base)
        holes: list[tuple[int, int, str]] = []  # [start, end) and why, in order
        pieces = list(mem.chunks(lo, stop - lo))
        for k, (start, piece, why) in enumerate(pieces):
            nxt = pieces[k + 1][0] if k + 1 < len(pieces) else stop
            if piece is None:
                holes.append((start, nxt, why))
            else:
                data[start - base:start - base + len(piece)] = piece
        # The whole block at once, sliced per line: no loop per byte for full readable lines.
        hexed = data.hex(" ")
        text = data.translate(_ASCII_COLUMN).decode("ascii")
        for line_addr in range(base, stop, width):
            line_end = line_addr + width
            hole = [h for h in holes if h[0] < line_end and h[1] > line_addr] if holes else []
            if not hole and line_addr >= addr and line_end <= end:
                o = line_addr - base
                yield (f"{line_addr:#018x}  {_groups(hexed[3 * o:3 * (o + width) - 1])}  "
                       f"|{text[o:o + width]}|")
                continue
            cells: list[int | None] = [-1] * width
            for a in range(max(line_addr, addr), min(line_end, end)):
                cells[a - line_addr] = data[a - base]
            for h_start, h_end, _why in hole:
                for a in range(max(h_start, line_addr, addr), min(h_end, line_end, end)):
                    cells[a - line_addr] = None
            reason = hole[0][2] if hole else ""
            if reason and reason not in reasons:
                reasons.append(reason)
            yield format_line(HexLine(line_addr, tuple(cells), reason))
        base = stop if stop % width == 0 else stop - stop % width + width
    if reasons:
        yield f"?? = not in the core ({safe(', '.join(reasons))})"


def rich_line(line: HexLine, highlight: tuple[int, int] | None = None) -> Text:
    """A styled line: dim address, ``??`` in red, non-printable ASCII dim; bytes inside
    ``highlight`` (addr, size) underlined."""
    t = Text()
    t.append(f"{line.address:#018x}", style="dim cyan")
    t.append("  ")
    for i, c in enumerate(line.cells):
        if i:
            t.append("  " if i % 8 == 0 else " ")
        addr = line.address + i
        hl = highlight is not None and highlight[0] <= addr < highlight[0] + highlight[1]
        if c == -1:
            t.append("  ")
        elif c is None:
            t.append("??", style="bold red")
        else:
            style = "dim" if c == 0 else ""
            if hl:
                style = (style + " underline").strip()
            t.append(f"{c:02x}", style=style)
    t.append("  |", style="dim")
    for c in line.cells:
        if c is None or c == -1:
            t.append(" ")
        elif 0x20 <= c < 0x7F:
            t.append(chr(c))
        else:
            t.append(".", style="dim")
    t.append("|", style="dim")
    return t
