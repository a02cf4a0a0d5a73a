"""The sanitizer (explorer.render.text) against its oracle, Go's own ``strconv.Quote``.

tests/testprogs/quote prints ``strconv.Quote`` of each hex-encoded input line; ``go_quote`` must
give the same text for the same bytes, and ``safe`` must be that text without the quotes and the
escaping of quote and backslash. The inputs are the hostile ones a core can hold (ESC/OSC/CSI
sequences, BEL, C1 controls, bidi overrides, line separators, invalid UTF-8) and hypothesis-drawn
byte strings. Code points that Python's Unicode tables call unassigned are left out of the drawn
text: Go's tables may be a Unicode version newer, and would print them.
"""

from __future__ import annotations

import subprocess
import sys
import unicodedata
from functools import cache
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import build
from gotools import ALL_VERSIONS

from explorer.render.text import go_quote, safe, safe_bytes

HOSTILE: list[bytes] = [
    b"plain text",
    b"\x1b]0;pwned\x07",  # OSC 0: retitle the terminal
    b"\x1b]52;c;cGF5bG9hZA==\x07",  # OSC 52: write the clipboard
    b"\x1b]8;;http://evil/\x1b\\link\x1b]8;;\x1b\\",  # OSC 8 hyperlink
    b"\x1b[2J\x1b[H",  # clear the screen
    b"bell\x07 del\x7f nul\x00 tab\t nl\n cr\r",
    "c1: \u009b31m \u0085 \u009d".encode(),
    "rlo: \u202euser\u202c lri: \u2066x\u2069 lrm: \u200e".encode(),
    "line sep \u2028 para \u2029 nbsp \u00a0 zwsp \u200b bom \ufeff".encode(),
    b"invalid \xff\xfe utf8 \xe2\x82 cut \xc0\x80 overlong \xed\xa0\x80 surrogate",
    b'quotes " and \\ backslash',
    "emoji \U0001f600 cjk \u4e2d\u6587 rtl \u05d0\u05d1".encode(),
    "private \ue000 plane15 \U000f0000".encode(),
    b"[bold red]markup[/] [link=x]",
]


@cache
def _quoter() -> Path:
    return build(ALL_VERSIONS[-1], "opt", "quote")


def go_strconv_quote(inputs: list[bytes]) -> list[str]:
    """strconv.Quote of each input, from the Go program."""
    r = subprocess.run([str(_quoter())], input="".join(b.hex() + "\n" for b in inputs), capture_output=True,
                       text=True, timeout=120, check=True)
    out = r.stdout.split("\n")[:-1]
    assert len(out) == len(inputs)
    return out


def _unquoted(quoted: str) -> str:
    """Go's quoted text less its quotes and the escapes of ``"`` and ``\\`` (safe leaves those)."""
    body = quoted[1:-1]
    out, i = [], 0
    while i < len(body):
        if body[i] == "\\" and body[i + 1] in '"\\':
            out.append(body[i + 1])
            i += 2
        else:
            out.append(body[i])
            i += 1
    return "".join(out)


def test_go_quote_equals_strconv_quote_on_hostile_strings() -> None:
    want = go_strconv_quote(HOSTILE)
    assert [go_quote(b) for b in HOSTILE] == want
    assert [safe_bytes(b) for b in HOSTILE] == [_unquoted(w) for w in want]


def _assigned(c: str) -> bool:
    return unicodedata.category(c) != "Cn"


_texts = st.one_of(
    st.binary(max_size=40),
    st.text(st.characters(exclude_categories=("Cs",)).filter(_assigned), max_size=30).map(
        lambda s: s.encode("utf-8")),
)


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_texts, min_size=1, max_size=40))
def test_go_quote_equals_strconv_quote_on_drawn_bytes(inputs: list[bytes]) -> None:
    want = go_strconv_quote(inputs)
    assert [go_quote(b) for b in inputs] == want
    assert [safe_bytes(b) for b in inputs] == [_unquoted(w) for w in want]


@given(st.text(max_size=60))
@settings(max_examples=500, derandomize=True)
def test_safe_output_holds_nothing_a_terminal_acts_on(text: str) -> None:
    out = safe(text)
    assert out.isprintable()
    assert "\x1b" not in out and "\x07" not in out
    multi = safe(text, keep_newlines=True)
    assert all(line.isprintable() for line in multi.split("\n"))
    assert multi.count("\n") == text.count("\n")
