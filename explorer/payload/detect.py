"""What a run of bytes is: compressed (gzip, zlib, zstd), JSON, UTF-8 text, a protobuf message, or
just bytes.

:func:`decompress` peels compression layers, each bounded (a decompression bomb stops at
``max_output`` bytes, with a note); :func:`recognize` then tries, in order: JSON (an object or an
array), text (valid UTF-8 of printable characters and whitespace), a protobuf message (the whole
input valid, as protoc would accept it), text with a few control characters, and falls back to
bytes. Text made only of printable characters comes before protobuf because such text can happen to
be a valid message (two spaces are field 4 = 32), while real messages nearly always hold a control
byte (a tag or a length below 0x20).

JSON is pretty-printed as it was written: keys in their order, duplicate keys kept, numbers with
their own digits (``1.50`` stays ``1.50``, big integers stay exact).
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from explorer.payload.wire import RawDecode, decode_raw

__all__ = ["FORMATS", "Layer", "Recognized", "decompress", "json_pretty", "recognize"]

FORMATS = ("auto", "protobuf", "json", "text", "hex")

#: Bytes a decompression may produce before it stops (a decompression bomb is data, not a wish).
MAX_OUTPUT = 64 << 20
#: Compression layers peeled at most (a gzip in a zstd in ...).
MAX_LAYERS = 4

_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class Layer:
    """One compression layer peeled: its kind, its size and what it gave; ``cut`` when the output
    reached the bound (the rest was not decompressed)."""

    kind: str
    compressed: int
    size: int
    cut: bool = False

    def describe(self) -> str:
        text = f"{self.kind}: {self.compressed} bytes decompressed to {self.size}"
        return text + (" (stopped at the size bound)" if self.cut else "")


@dataclass
class Recognized:
    """The bytes as a format: ``data`` are the bytes after decompression; ``raw`` the protobuf
    decode (format ``protobuf``), ``text`` the text to show (``json`` pretty-printed, ``text``)."""

    format: str
    data: bytes
    layers: list[Layer] = field(default_factory=list)
    raw: RawDecode | None = None
    text: str | None = None
    notes: list[str] = field(default_factory=list)


def _zlib_header(data: bytes) -> bool:
    if len(data) < 2:
        return False
    cmf, flg = data[0], data[1]
    return cmf & 0x0F == 8 and cmf >> 4 <= 7 and (cmf << 8 | flg) % 31 == 0


def _inflate(data: bytes, wbits: int, limit: int) -> tuple[bytes, bool] | None:
    """Whole zlib (15) or gzip (31, every member) stream, at most ``limit`` bytes; None if invalid."""
    out = bytearray()
    rest = data
    try:
        while True:
            d = zlib.decompressobj(wbits)
            out += d.decompress(rest, limit - len(out) + 1)
            if len(out) > limit:
                return bytes(out[:limit]), True
            if not d.eof:
                return None  # cut short or corrupt
            rest = d.unused_data
            if wbits != 31 or not rest.startswith(_GZIP_MAGIC):
                break
    except zlib.error:
        return None
    if rest.strip(b"\0"):
        return None  # trailing bytes: not (only) a compressed stream
    return bytes(out), False


def _unzstd(data: bytes, limit: int) -> tuple[bytes, bool] | None:
    """Every zstd frame of ``data``, at most ``limit`` bytes (read through a stream: a frame that
    promises gigabytes is cut, never allocated); None if invalid or empty."""
    import zstandard

    try:
        with zstandard.ZstdDecompressor().stream_reader(data, read_across_frames=True) as reader:
            out = reader.read(limit + 1)
    except zstandard.ZstdError:
        return None
    if not out:
        return None
    if len(out) > limit:
        return out[:limit], True
    return out, False


def decompress_once(data: bytes, limit: int = MAX_OUTPUT) -> tuple[Layer, bytes] | None:
    """Peel one layer when ``data`` is a whole gzip, zlib or zstd stream; None if it is not one."""
    if data.startswith(_GZIP_MAGIC):
        kind, got = "gzip", _inflate(data, 31, limit)
    elif data.startswith(_ZSTD_MAGIC):
        kind, got = "zstd", _unzstd(data, limit)
    elif _zlib_header(data):
        kind, got = "zlib", _inflate(data, 15, limit)
    else:
        return None
    if got is None:
        return None
    out, cut = got
    return Layer(kind, len(data), len(out), cut), out


def decompress(data: bytes, limit: int = MAX_OUTPUT) -> tuple[list[Layer], bytes]:
    """Every compression layer of ``data`` peeled (at most :data:`MAX_LAYERS`)."""
    layers: list[Layer] = []
    while len(layers) < MAX_LAYERS:
        peeled = decompress_once(data, limit)
        if peeled is None:
            break
        layer, data = peeled
        layers.append(layer)
        if layer.cut:
            break
    return layers, data


# --------------------------------------------------------------------------------------------------
# JSON


class _Number(str):
    """A JSON number kept as written."""


class _Object(list):
    """A JSON object as its (key, value) pairs, in order, duplicates kept."""


def _parse_json(text: str) -> Any:
    def reject(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, object_pairs_hook=_Object, parse_float=_Number, parse_int=_Number,
                      parse_constant=reject)


def _json_string(s: str) -> str:
    """``s`` as a JSON string literal readable in a terminal: non-ASCII printable characters kept,
    everything a terminal could act on (controls, DEL, bidi and other format characters...)
    escaped as ``\\uXXXX``, which keeps it valid JSON."""
    text = json.dumps(s, ensure_ascii=False)
    if text.isprintable():
        return text
    out = []
    for c in text:
        if c.isprintable():
            out.append(c)
        else:
            o = ord(c)
            if o > 0xFFFF:
                o -= 0x10000
                out.append(f"\\u{0xD800 + (o >> 10):04x}\\u{0xDC00 + (o & 0x3FF):04x}")
            else:
                out.append(f"\\u{o:04x}")
    return "".join(out)


def json_pretty(value: Any, indent: str = "  ") -> str:
    """A value parsed by :func:`_parse_json`, indented (each level by ``indent``)."""
    out: list[str] = []
    _pretty(value, "", indent, out)
    return "".join(out)


def _pretty(v: Any, pad: str, step: str, out: list[str]) -> None:
    if isinstance(v, _Object):
        if not v:
            out.append("{}")
            return
        out.append("{\n")
        inner = pad + step
        for i, (k, item) in enumerate(v):
            out.append(f"{inner}{_json_string(k)}: ")
            _pretty(item, inner, step, out)
            out.append(",\n" if i < len(v) - 1 else "\n")
        out.append(pad + "}")
    elif isinstance(v, list):
        if not v:
            out.append("[]")
            return
        out.append("[\n")
        inner = pad + step
        for i, item in enumerate(v):
            out.append(inner)
            _pretty(item, inner, step, out)
            out.append(",\n" if i < len(v) - 1 else "\n")
        out.append(pad + "]")
    elif isinstance(v, _Number):
        out.append(str(v))
    elif isinstance(v, str):
        out.append(_json_string(v))
    elif v is None:
        out.append("null")
    else:
        out.append("true" if v else "false")


def as_json(data: bytes, *, containers_only: bool = False) -> str | None:
    """``data`` pretty-printed if it is JSON (UTF-8, optionally with a BOM), else None."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    stripped = text.strip()
    if not stripped or (containers_only and stripped[0] not in "{["):
        return None
    try:
        return json_pretty(_parse_json(stripped))
    except (ValueError, RecursionError):  # not JSON, or nested deeper than Python's stack
        return None


# --------------------------------------------------------------------------------------------------
# Text


_NOT_ASCII_TEXT = re.compile(r"[^\x20-\x7e\t\n\r]+")


def as_text(data: bytes, *, strict: bool) -> str | None:
    """``data`` as UTF-8 text: ``strict``, only printable characters and whitespace (tab, newline,
    carriage return); else at most one character in 20 something else (but no NUL)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not text:
        return None
    if text.isprintable():
        return text
    if strict:
        # Every character outside printable ASCII and whitespace must be a printable one. (A scan
        # by the regex engine: a 10 MB string is never split into pieces holding the GIL.)
        for m in _NOT_ASCII_TEXT.finditer(text):
            if not m.group().isprintable():
                return None
        return text
    if "\0" in text:
        return None
    sample = text[: 1 << 20]
    odd = sum(1 for c in sample if not c.isprintable() and c not in "\t\n\r")
    return None if odd * 20 > len(sample) else text


# --------------------------------------------------------------------------------------------------
# Recognition


def recognize(data: bytes, fmt: str = "auto", *, limit: int = MAX_OUTPUT, deadline: float = 30.0,
              progress: Callable[[int], None] | None = None,
              cancelled: Callable[[], bool] | None = None) -> Recognized:
    """``data`` as ``fmt`` (one of :data:`FORMATS`), compression layers peeled first (except for
    ``hex``, which shows the bytes as they are). For an explicit format that the bytes are not,
    the result says why in ``notes`` and, for ``protobuf``, ``raw`` holds the valid prefix."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    if fmt == "hex":
        return Recognized("hex", bytes(data))
    layers, body = decompress(bytes(data), limit)
    notes = [layer.describe() for layer in layers]
    if fmt == "protobuf":
        raw = decode_raw(body, deadline=deadline, progress=progress, cancelled=cancelled)
        return Recognized("protobuf", body, layers, raw=raw, notes=notes + raw.notes)
    if fmt == "json":
        text = as_json(body)
        if text is None:
            notes.append("not JSON")
        return Recognized("json", body, layers, text=text, notes=notes)
    if fmt == "text":
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as e:
            notes.append(f"not UTF-8 from byte {e.start}: shown with \\x escapes")
            text = body.decode("utf-8", "surrogateescape")
        return Recognized("text", body, layers, text=text, notes=notes)
    # auto
    pretty = as_json(body, containers_only=True)
    if pretty is not None:
        return Recognized("json", body, layers, text=pretty, notes=notes)
    text = as_text(body, strict=True)
    if text is not None:
        return Recognized("text", body, layers, text=text, notes=notes)
    if body:
        raw = decode_raw(body, deadline=deadline, progress=progress, cancelled=cancelled)
        if raw.ok and raw.message.fields:
            return Recognized("protobuf", body, layers, raw=raw, notes=notes + raw.notes)
        if raw.error is not None and raw.error.offset > len(body) // 2:
            notes.append(f"not a protobuf message: {raw.error.describe()}")
    text = as_text(body, strict=False)
    if text is not None:
        return Recognized("text", body, layers, text=text, notes=notes)
    return Recognized("hex", body, layers, notes=notes)
