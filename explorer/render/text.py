"""The one sanitizer for text that came from a core or an executable.

A core holds whatever the crashed process held: request bodies, headers, pprof labels and panic
messages built from user input; an executable holds file and directory names. Printed raw, an ESC or
OSC sequence in any of them would drive the user's terminal (retitle it, blank rows, write the
clipboard with OSC 52), a C1 control would do the same on terminals that honour 8-bit controls, and a
bidi override would make the text read other than it is. So every such string goes through
:func:`safe` (in place, unquoted) or :func:`go_quote` (a Go string literal) before any text output,
CLI and TUI alike.

The escapes are Go's ``strconv.Quote``'s: ``\\a \\b \\f \\n \\r \\t \\v``, ``\\xNN`` for other
C0 controls, DEL and bytes that are not UTF-8, ``\\uNNNN`` / ``\\UNNNNNNNN`` for every other rune
that is not printable (Python's ``str.isprintable`` is Unicode's notion, as Go's ``unicode.IsPrint``:
controls, format characters such as the bidi overrides U+202A–U+202E and U+2066–U+2069, line and
paragraph separators, unassigned code points, and spaces other than U+0020).

JSON output needs none of this: ``json.dumps`` with its default ``ensure_ascii`` escapes every
control and non-ASCII character, and stays valid JSON.

The CLI also passes all of its text output through :func:`safe_output` (which keeps the newlines
and tabs of its own layout): a string that missed its :func:`safe` still cannot reach the terminal
raw.

This module imports nothing of ours, so every layer's output path can use it.
"""

from __future__ import annotations

import functools

__all__ = ["go_quote", "safe", "safe_bytes", "safe_output"]

_NAMED = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


@functools.lru_cache(maxsize=4096)
def _escape(c: str) -> str:
    o = ord(c)
    if 0xDC80 <= o <= 0xDCFF:  # an undecodable byte carried by surrogateescape
        return f"\\x{o - 0xDC00:02x}"
    named = _NAMED.get(c)
    if named is not None:
        return named
    if o < 0x80:
        return f"\\x{o:02x}"
    if o < 0x10000:
        return f"\\u{o:04x}"
    return f"\\U{o:08x}"


def safe(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with every character a terminal could act on escaped, Go-style; unquoted.

    Backslashes are left as they are (the result is for reading, not for parsing back). With
    ``keep_newlines``, ``\\n`` stays a line break (multi-line text shown as such, such as a panic
    message in a pane); every other control is still escaped.
    """
    if text.isprintable():  # the common case: one C-level scan, no copy
        return text
    if keep_newlines:
        return "\n".join(safe(part) for part in text.split("\n"))
    return "".join(c if c.isprintable() else _escape(c) for c in text)


# Printable ASCII, newline and tab: what output may hold as it is.
_PLAIN = bytes(range(0x20, 0x7F)) + b"\n\t"


def safe_output(text: str) -> str:
    """``text`` for a terminal as the last step of output: newlines and tabs (our own layout) kept,
    every other character a terminal could act on escaped as :func:`safe` does."""
    # The common case, plain ASCII, checked by two C loops (memory speed): a regular expression is
    # eight times slower, which shows on x's million-line dumps.
    if text.isascii() and not text.encode("ascii").translate(None, _PLAIN):
        return text
    return "".join(c if c in "\n\t" or c.isprintable() else _escape(c) for c in text)


def safe_bytes(raw: bytes) -> str:
    """Bytes from a core as safe text: UTF-8 where they are UTF-8, ``\\xNN`` where not."""
    return safe(raw.decode("utf-8", "surrogateescape"))


def go_quote(raw: bytes | str) -> str:
    """A Go double-quoted literal of ``raw``, as ``strconv.Quote`` gives it (invalid UTF-8 bytes as
    ``\\xNN``): always safe for a terminal."""
    text = raw.decode("utf-8", "surrogateescape") if isinstance(raw, bytes) else raw
    if text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    out = ['"']
    for c in text:
        if c == '"':
            out.append('\\"')
        elif c == "\\":
            out.append("\\\\")
        elif c.isprintable():
            out.append(c)
        else:
            out.append(_escape(c))
    out.append('"')
    return "".join(out)
