"""Screen text from strings the TUI does not control: never parsed as markup, never a raw control.

Strings from a core or an executable (panic messages, values, file and function names, wait
reasons) and strings the user typed (paths, expressions) reach widgets as rich :class:`Text` built
here, never as ``str`` (Textual parses a ``str`` title, label or tree node as markup: ``[/b]`` in a
path is an error that ends the app, ``[IO wait]`` vanishes as an unknown tag). Every string goes
through :func:`explorer.render.text.safe` first, so an ESC, C1 or bidi control shows as its escape
(``\\x1b``) instead of driving the terminal; :func:`safe_text` is the last check on a finished
``Text`` (rows of lists and trees, highlighted source lines).
"""

from __future__ import annotations

from rich.style import StyleType
from rich.text import Text

from explorer.render.text import safe

__all__ = ["plain", "safe", "safe_text"]


def plain(text: str, style: StyleType = "") -> Text:
    """``text`` as a ``Text``: escaped, unparsed, on one line (a newline shows as ``\\n``)."""
    return Text(safe(text), style=style, no_wrap=True, end="")


def safe_text(t: Text) -> Text:
    """``t`` itself when every character is printable, else a copy with the others escaped and the
    styles kept on the escaped runs."""
    if t.plain.isprintable():
        return t
    cuts = sorted({s.start for s in t.spans} | {s.end for s in t.spans})
    out = Text(style=t.style, justify=t.justify, overflow=t.overflow, no_wrap=t.no_wrap, end=t.end)
    for part in t.divide(cuts):
        start = len(out)
        out.append(safe(part.plain))
        for span in part.spans:  # cut at every span edge: each span covers its whole part
            out.stylize(span.style, start, len(out))
    return out
