"""Source lines for a frame: path rewriting (delve's ``substitute-path``), reading, highlighting.

A core is usually read on another machine than the one that built the program, so the file names
the binary records (``/build/src/app/server.go``, ``/usr/local/go/src/net/http/server.go``) often
do not exist here. ``--substitute-path FROM=TO`` rewrites a path prefix, as delve's option does:
rules are tried in order, the first whose FROM is a whole-component prefix of the path wins.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rich.style import Style
from rich.syntax import Syntax
from rich.text import Span, Text

from explorer.errors import ExplorerError

#: Bigger files are shown without highlighting (pygments is slow on generated code).
MAX_HIGHLIGHT_BYTES = 2 << 20
#: Bigger files are not shown at all.
MAX_SOURCE_BYTES = 32 << 20


def parse_rule(rule: str) -> tuple[str, str]:
    """``"FROM=TO"`` as a (from, to) pair; raises ExplorerError for anything else."""
    if "=" not in rule:
        raise ExplorerError(f"--substitute-path wants FROM=TO, not {rule!r}")
    src, dst = rule.split("=", 1)
    if not src:
        raise ExplorerError(f"--substitute-path {rule!r}: FROM is empty")
    return src, dst


def substitute(path: str, rules: Sequence[tuple[str, str]]) -> str:
    """``path`` with the first matching rule applied (prefix on a path-component boundary)."""
    for src, dst in rules:
        s = src.rstrip("/") or "/"
        if path == s:
            return dst
        if path.startswith(s if s.endswith("/") else s + "/"):
            rest = path[len(s):].lstrip("/")
            return os.path.join(dst, rest) if dst else rest
    return path


@dataclass(frozen=True)
class SourceFile:
    """A resolved source file: the name the binary gives, where it was found, and its lines."""

    name: str
    path: Path
    lines: tuple[str, ...]


class SourceFinder:
    """Finds and reads source files, with substitute-path rules; results are cached."""

    def __init__(self, rules: Sequence[tuple[str, str]] = ()) -> None:
        self.rules = list(rules)
        self._load = lru_cache(maxsize=64)(self._load_uncached)

    def add_rule(self, src: str, dst: str) -> None:
        self.rules.append((src, dst))
        self._load.cache_clear()

    def candidates(self, name: str) -> list[str]:
        """Where ``name`` may be: rewritten by the rules first, then as the binary says."""
        out = []
        sub = substitute(name, self.rules)
        if sub != name:
            out.append(sub)
        out.append(name)
        return out

    def resolve(self, name: str) -> Path | None:
        for cand in self.candidates(name):
            p = Path(cand)
            if p.is_file():
                return p
        return None

    def load(self, name: str) -> SourceFile:
        """The file's lines; raises ExplorerError with the places tried when it cannot be read."""
        return self._load(name)

    def _load_uncached(self, name: str) -> SourceFile:
        if not name or name == "?":
            raise ExplorerError("no source file recorded for this frame")
        path = self.resolve(name)
        if path is None:
            tried = " or ".join(self.candidates(name))
            hint = "" if self.rules else " (use --substitute-path FROM=TO)"
            raise ExplorerError(f"source not found: {tried}{hint}")
        try:
            size = path.stat().st_size
            if size > MAX_SOURCE_BYTES:
                raise ExplorerError(f"{path}: too big to show ({size} bytes)")
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as e:
            raise ExplorerError(f"{path}: {e.strerror or e}") from e
        return SourceFile(name, path, tuple(text.splitlines()))


def highlight(src: SourceFile, theme: str = "monokai") -> list[Text]:
    """One rich Text per line, syntax-highlighted by file type where it is cheap."""
    if sum(len(line) for line in src.lines) > MAX_HIGHLIGHT_BYTES:
        return [Text(line.expandtabs(4)) for line in src.lines]
    lexer = Syntax.guess_lexer(str(src.path), code="")
    syntax = Syntax("", lexer, theme=theme, tab_size=4)
    code = "\n".join(line.expandtabs(4) for line in src.lines)
    try:
        text = syntax.highlight(code)
    except Exception:  # pygments on odd input: plain text is still worth showing
        return [Text(line.expandtabs(4)) for line in src.lines]
    # Foreground colours only: the pane's own background stays (a theme's would paint blocks).
    text.style = ""
    text.spans = [Span(sp.start, sp.end, _fg_only(sp.style)) for sp in text.spans]
    lines = list(text.split("\n", allow_blank=True))[: len(src.lines)]
    while len(lines) < len(src.lines):
        lines.append(Text(""))
    for line in lines:
        line.no_wrap = True
        line.end = ""
    return lines


def _fg_only(style: str | Style) -> Style:
    s = Style.parse(style) if isinstance(style, str) else style
    return Style(color=s.color, bold=s.bold, italic=s.italic, underline=s.underline)
