"""Text of decoded payloads (:mod:`explorer.payload`).

* :func:`raw_text`: a schemaless protobuf decode exactly as ``protoc --decode_raw`` prints it
  (text_format.cc ``PrintUnknownFields``): ``N: value`` lines, varints as unsigned 64-bit decimals,
  fixed32/fixed64 as ``0x%08x``/``0x%016x``, ``N {`` ... ``}`` for nested messages and groups,
  indented by two spaces a level, strings in double quotes with absl's ``CEscape`` escapes.
* :func:`typed_text`: a schema-directed decode as ``protoc --decode=TYPE`` prints it.
* :func:`fields_json`: the wire tree as JSON (``decode --json``), :func:`interpretations` the
  readings of a number a user needs (signed, zigzag, float, double), :func:`hex_lines` a hex dump of
  decoded bytes, :func:`recognized_lines` any recognised payload as text lines.

Both are safe for a terminal as they are: ``CEscape`` leaves only printable ASCII inside quotes
(``\\n \\r \\t \\" \\' \\\\`` and three-digit octal escapes for every other byte below 0x20 or
above 0x7e), and the rest of each line is numbers, field names checked by :func:`explorer.render.text.safe`
and punctuation.
"""

from __future__ import annotations

import math
import re
import struct
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from explorer.gcpause import gc_paused
from explorer.payload.wire import I32, I64, LEN, SGROUP, VARINT, WIRE_NAMES, Field, Message, RawDecode
from explorer.render.text import go_quote, safe

if TYPE_CHECKING:
    from explorer.payload.detect import Recognized
    from explorer.payload.typed import TypedMessage

__all__ = [
    "cescape",
    "field_details",
    "field_summary",
    "fields_json",
    "hex_lines",
    "interpretations",
    "raw_lines",
    "raw_text",
    "recognized_lines",
    "simple_dtoa",
    "simple_ftoa",
    "typed_lines",
    "typed_text",
]


def _escape_table() -> list[str]:
    table = []
    for b in range(256):
        c = chr(b)
        if c == "\n":
            table.append("\\n")
        elif c == "\r":
            table.append("\\r")
        elif c == "\t":
            table.append("\\t")
        elif c in "\"'\\":
            table.append("\\" + c)
        elif b < 0x20 or b >= 0x7F:
            table.append(f"\\{b:03o}")
        else:
            table.append(c)
    return table


_ESCAPES = _escape_table()
_NEEDS_ESCAPE = re.compile(rb"[^\x20-\x7e]|[\"'\\]")


def cescape(raw: bytes) -> str:
    """absl::CEscape of ``raw``: what protoc prints between the quotes of a string or bytes value."""
    if _NEEDS_ESCAPE.search(raw) is None:
        return raw.decode("ascii")
    return "".join(map(_ESCAPES.__getitem__, raw))


def raw_lines(decode: RawDecode) -> list[str]:
    """The lines ``protoc --decode_raw`` prints for ``decode`` (without their newlines); for input
    that is not a valid message, the lines of its valid prefix."""
    out: list[str] = []
    _raw(decode.data, decode.message.fields, "", out)
    return out


def raw_text(decode: RawDecode) -> str:
    """What ``protoc --decode_raw`` prints for ``decode`` (for a valid message, byte for byte)."""
    lines = raw_lines(decode)
    return "\n".join(lines) + "\n" if lines else ""


def _raw(data: bytes, fields: list[Field], indent: str, out: list[str]) -> None:
    append = out.append
    for f in fields:
        wt = f.wire_type
        if wt == VARINT:
            append(f"{indent}{f.number}: {f.value}")
        elif wt == LEN:
            if f.message is not None:
                append(f"{indent}{f.number} {{")
                _raw(data, f.message.fields, indent + "  ", out)
                append(f"{indent}}}")
            else:
                append(f'{indent}{f.number}: "{cescape(data[f.value_start:f.value_end])}"')
        elif wt == I32:
            append(f"{indent}{f.number}: 0x{f.value:08x}")
        elif wt == I64:
            append(f"{indent}{f.number}: 0x{f.value:016x}")
        elif wt == SGROUP:
            append(f"{indent}{f.number} {{")
            if f.message is not None:
                _raw(data, f.message.fields, indent + "  ", out)
            append(f"{indent}}}")


# --------------------------------------------------------------------------------------------------
# Numbers as protoc prints them (io/strtod.cc SimpleFtoa / SimpleDtoa)

_F32 = struct.Struct("<f")
_FLT_MIN = 1.1754943508222875e-38  # the smallest normal float


def _to_f32(x: float) -> float:
    """``x`` rounded to the nearest float (ties to even), inf beyond the float range."""
    try:
        return float(_F32.unpack(_F32.pack(x))[0])
    except OverflowError:
        return math.copysign(math.inf, x)


def _f32_neighbours(f: float) -> tuple[float, float]:
    bits = int.from_bytes(_F32.pack(f), "little")
    if f == 0:
        tiny = float(_F32.unpack((1).to_bytes(4, "little"))[0])
        return -tiny, tiny
    down = bits - 1 if f > 0 else bits + 1
    up = bits + 1 if f > 0 else bits - 1
    return (float(_F32.unpack(down.to_bytes(4, "little"))[0]),
            float(_F32.unpack((up & 0xFFFFFFFF).to_bytes(4, "little"))[0]))


def _strtof(text: str) -> tuple[float, bool]:
    """glibc's strtof of a ``%g`` string: the correctly rounded float, and whether it sets ERANGE
    (a subnormal or out-of-range result)."""
    d = float(text)
    f = _to_f32(d)
    if math.isinf(f):
        return f, True
    # float(text) rounds once to double, _to_f32 again: settle the rare double rounding exactly.
    exact = Fraction(text)
    best = f
    for cand in _f32_neighbours(f):
        if math.isinf(cand):
            continue
        dc, db = abs(Fraction(cand) - exact), abs(Fraction(best) - exact)
        if dc < db or (dc == db and int.from_bytes(_F32.pack(cand), "little") % 2 == 0):
            best = cand
    return best, best != 0 and abs(best) < _FLT_MIN


def simple_ftoa(v: float) -> str:
    """protoc's text for a float field's value: ``%.6g`` if strtof reads it back exactly (and
    without ERANGE), else ``%.9g``; ``inf``, ``-inf``, ``nan``."""
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    text = f"{v:.6g}"
    back, erange = _strtof(text)
    if erange or back != v:
        text = f"{v:.9g}"
    return text


def simple_dtoa(v: float) -> str:
    """protoc's text for a double: ``%.15g`` if it reads back exactly, else ``%.17g``."""
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    text = f"{v:.15g}"
    if float(text) != v:
        text = f"{v:.17g}"
    return text


# --------------------------------------------------------------------------------------------------
# protoc --decode=TYPE


def typed_lines(msg: TypedMessage) -> list[str]:
    """The lines ``protoc --decode=TYPE`` prints for a parsed message (without newlines)."""
    out: list[str] = []
    _typed(msg, "", out)
    return out


def typed_text(msg: TypedMessage) -> str:
    """What ``protoc --decode=TYPE`` prints for a parsed message, byte for byte."""
    lines = typed_lines(msg)
    return "\n".join(lines) + "\n" if lines else ""


def _scalar_text(kind: str, value: Any) -> str:
    if kind == "int":
        return str(value)
    if kind == "bool":
        return "true" if value else "false"
    if kind == "enum":
        return safe(str(value))
    if kind == "float":
        return simple_ftoa(float(value))
    if kind == "double":
        return simple_dtoa(float(value))
    raw = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else bytes(value)
    return f'"{cescape(raw)}"'


def _typed(msg: TypedMessage, indent: str, out: list[str]) -> None:
    for tv in msg.values:
        label = safe(tv.label)
        if tv.kind == "message":
            out.append(f"{indent}{label} {{")
            _typed(tv.value, indent + "  ", out)
            out.append(f"{indent}}}")
        else:
            out.append(f"{indent}{label}: {_scalar_text(tv.kind, tv.value)}")
    if msg.unknown is not None:
        _raw(msg.unknown.data, msg.unknown.message.fields, indent, out)


# --------------------------------------------------------------------------------------------------
# The wire tree as JSON, and readings of numbers

_F32S = struct.Struct("<f")
_F64S = struct.Struct("<d")


def _json_number(v: Any) -> Any:
    """JSON has no NaN or infinities: those become strings."""
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if isinstance(v, list):
        return [_json_number(x) for x in v]
    if isinstance(v, bytes):
        return v.decode("utf-8", "backslashreplace")
    return v


def fields_json(data: bytes, message: Message) -> list[dict[str, Any]]:
    """``message``'s fields as JSON objects: ``number``, ``wire_type`` (0-5), ``wire`` (its name),
    ``offset`` and ``length`` (of the whole field, in the decoded bytes), then ``value`` (a
    number; a length-delimited payload's text, invalid UTF-8 as ``\\xNN``, with its ``hex``) or
    ``message`` (nested fields). With a schema, also ``name`` and ``type``, ``value`` typed (an enum
    value's name, a packed field's list) and ``note`` where the bytes do not fit the schema."""
    with gc_paused():
        return _fields_json(data, message)


def _fields_json(data: bytes, message: Message) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for f in message.fields:
        d: dict[str, Any] = {"number": f.number, "wire_type": f.wire_type, "wire": WIRE_NAMES[f.wire_type],
                             "offset": f.start, "length": f.end - f.start}
        name = getattr(f, "name", None)
        typed = getattr(f, "typed", None)
        if name is not None:
            d["name"] = name
            d["type"] = getattr(f, "type", None)
        if f.wire_type in (VARINT, I32, I64):
            d["value"] = _json_number(typed) if name is not None and typed is not None else f.value
        elif f.message is not None and (name is None or typed is None):
            d["message"] = _fields_json(data, f.message)
        else:
            payload = data[f.value_start : f.value_end]
            d["value"] = _json_number(typed) if typed is not None else payload.decode("utf-8", "backslashreplace")
            if f.wire_type == LEN and not isinstance(typed, list):
                d["hex"] = payload.hex()
        note = getattr(f, "note", "")
        if note:
            d["note"] = note
        out.append(d)
    return out


def _signed(v: int, bits: int) -> int:
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


def interpretations(f: Field) -> list[tuple[str, str]]:
    """The readings of a varint or fixed field a user needs to guess its type: (label, text)."""
    v = f.value
    if v is None:
        return []
    if f.wire_type == VARINT:
        out = [("uint64", str(v)), ("int64", str(_signed(v, 64))), ("sint64 (zigzag)", str((v >> 1) ^ -(v & 1)))]
        if v < 1 << 32 or v >> 31 == (1 << 33) - 1:  # fits 32 bits, or a sign-extended negative int32
            out.append(("int32", str(_signed(v, 32))))
        if v in (0, 1):
            out.append(("bool", "true" if v else "false"))
        return out
    if f.wire_type == I32:
        f32 = _F32S.unpack(v.to_bytes(4, "little"))[0]
        return [("fixed32", str(v)), ("sfixed32", str(_signed(v, 32))), ("float", simple_ftoa(f32)),
                ("hex", f"0x{v:08x}")]
    if f.wire_type == I64:
        return [("fixed64", str(v)), ("sfixed64", str(_signed(v, 64))),
                ("double", simple_dtoa(_F64S.unpack(v.to_bytes(8, "little"))[0])), ("hex", f"0x{v:016x}")]
    return []


# --------------------------------------------------------------------------------------------------
# Any recognised payload as text


def hex_lines(data: bytes, base: int = 0, width: int = 16) -> list[str]:
    """``hexdump -C`` style lines of ``data``, offsets from ``base``."""
    out = []
    for off in range(0, len(data), width):
        chunk = data[off : off + width]
        cells = " ".join(f"{b:02x}" for b in chunk[:8])
        if len(chunk) > 8:
            cells += "  " + " ".join(f"{b:02x}" for b in chunk[8:])
        text = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in chunk)
        out.append(f"{base + off:08x}  {cells:<{width * 3}} |{text}|")
    return out


def recognized_lines(rec: Recognized) -> list[str]:
    """The payload as lines a terminal can show: protoc's text for protobuf (its valid prefix when
    broken), pretty JSON, text (every control escaped but newlines), or a hex dump."""
    if rec.format == "protobuf" and rec.raw is not None:
        return raw_lines(rec.raw)
    if rec.format in ("json", "text") and rec.text is not None:
        text = rec.text if rec.format == "json" else safe(rec.text, keep_newlines=True)
        return text.split("\n")
    return hex_lines(rec.data)


# --------------------------------------------------------------------------------------------------
# A field as the TUI's decode tree shows it

#: Characters of a payload shown on a tree row at most.
PREVIEW = 80


def _preview(raw: bytes, limit: int = PREVIEW) -> str:
    cut = raw[:limit]
    text = go_quote(cut)
    return text + ("…" if len(raw) > limit else "")


def field_summary(data: bytes, f: Field) -> str:
    """One line for a field: ``number wire value`` (``name type value`` with a schema), safe for a
    terminal."""
    name = getattr(f, "name", None)
    typed = getattr(f, "typed", None)
    wire = WIRE_NAMES[f.wire_type]
    head = f"{f.number} {wire}" if name is None else f"{safe(name)} ({f.number}) {safe(str(getattr(f, 'type', '')))}"
    note = getattr(f, "note", "")
    tail = f"  ! {safe(note)}" if note else ""
    if name is not None and typed is not None:
        if isinstance(typed, bytes):
            return f"{head}  {_preview(typed)}{tail}"
        if isinstance(typed, str) and getattr(f, "type", "") == "string":
            return f"{head}  {go_quote(typed[:PREVIEW])}{'…' if len(typed) > PREVIEW else ''}{tail}"
        if isinstance(typed, list):
            items = ", ".join(safe(str(_json_number(x))) for x in typed[:16])
            return f"{head}  [{items}{', …' if len(typed) > 16 else ''}] ({len(typed)} values){tail}"
        if isinstance(typed, float):
            return f"{head}  {simple_dtoa(typed)}{tail}"
        return f"{head}  {safe(str(typed))}{tail}"
    if f.wire_type == VARINT:
        return f"{head}  {f.value}{tail}"
    if f.wire_type == I32:
        return f"{head}  0x{f.value:08x}{tail}"
    if f.wire_type == I64:
        return f"{head}  0x{f.value:016x}{tail}"
    size = f.value_end - f.value_start
    if f.message is not None:
        n = len(f.message.fields)
        if name is None:
            head = f"{f.number} {'group' if f.wire_type == SGROUP else 'message'}"
        return f"{head}  {{{n} field{'s' if n != 1 else ''}, {size} bytes}}{tail}"
    return f"{head}[{size}]  {_preview(data[f.value_start : min(f.value_end, f.value_start + PREVIEW + 1)])}{tail}"


def _packed_varints(raw: bytes) -> list[int] | None:
    out = []
    v = shift = 0
    n = 0
    for b in raw:
        v |= (b & 0x7F) << shift
        n += 1
        if b < 0x80:
            out.append(v & ((1 << 64) - 1))
            v = shift = n = 0
        else:
            shift += 7
            if n >= 10:
                return None
    return out if n == 0 and out else None


def field_details(data: bytes, f: Field) -> list[tuple[str, str]]:
    """The rows under a field that has no nested fields: the readings of a number (signed, zigzag,
    float, double), or a payload's length, text, hex and packed values."""
    out: list[tuple[str, str]] = []
    if f.value is not None:
        out = interpretations(f)
    elif f.wire_type == LEN:
        raw = data[f.value_start : f.value_end]
        out.append(("length", str(len(raw))))
        if raw:
            out.append(("text", _preview(raw, 4 * PREVIEW)))
            out.append(("hex", raw[: 2 * PREVIEW // 3].hex(" ") + (" …" if len(raw) > 2 * PREVIEW // 3 else "")))
            packed = _packed_varints(raw[:4096]) if len(raw) <= 4096 else None
            if packed is not None and len(packed) > 1:
                shown = ", ".join(str(x) for x in packed[:16]) + (", …" if len(packed) > 16 else "")
                out.append((f"packed varints ({len(packed)})", shown))
            if len(raw) % 4 == 0 and 1 < len(raw) // 4 <= 4096:
                fs = [simple_ftoa(x) for (x,) in struct.iter_unpack("<f", raw[:64])]
                out.append((f"packed floats ({len(raw) // 4})", ", ".join(fs) + (", …" if len(raw) > 64 else "")))
            if len(raw) % 8 == 0 and 1 < len(raw) // 8 <= 4096:
                ds = [simple_dtoa(x) for (x,) in struct.iter_unpack("<d", raw[:64])]
                out.append((f"packed doubles ({len(raw) // 8})", ", ".join(ds) + (", …" if len(raw) > 64 else "")))
    note = getattr(f, "note", "")
    if note:
        out.append(("note", safe(note)))
    out.append(("bytes", f"+{f.start:#x}..+{f.end:#x} ({f.end - f.start} bytes with the tag)"))
    return out
