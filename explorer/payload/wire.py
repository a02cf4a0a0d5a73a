"""Schemaless protobuf wire-format decoding, deciding what ``protoc --decode_raw`` decides.

``protoc --decode_raw`` (libprotobuf 22 .. 35; checked against ``grpcio-tools``' protoc by the tests)
works in two stages, each with its own reader, and they differ in corner cases, so we follow both:

1. **Parse** (``ParseContext``, the reader of ``Message::ParsePartialFromZeroCopyStream``): the whole
   input is parsed as a message with no known fields. A tag varint is at most 5 bytes and a length
   prefix at most 5 bytes (both keep their low 32 bits), groups nest at most 100 deep. Anything wrong
   fails the whole input (protoc prints ``Failed to parse input.`` and nothing else); we keep the
   longest valid prefix and say where and why it broke.
2. **Print** (``TextFormat::Printer::PrintUnknownFields``), with a recursion budget of 10 at the top:
   a length-delimited field printed with budget ``b`` is shown as a nested message, printed with
   budget ``b - 1``, when its bytes are not empty, ``b > 0``, and they parse as a message with the
   other reader (``CodedInputStream`` + ``WireFormat::SkipMessage``: tag and length varints up to 10
   bytes keeping their low 32 bits, groups nested at most ``b`` deep, the last field ending exactly
   at the end); otherwise it is a string. A group is printed with budget ``b - 1``, whatever ``b``.

Common to both readers: field number 0, wire types 6 and 7, an end-group tag that does not close the
open group (or comes with none open), a varint longer than 10 bytes and bytes cut short are errors;
a varint's bits beyond the 64th are dropped.

The work is bounded: each byte is read by at most one attempt per nesting level (at most 10 levels of
length-delimited nesting are tried), groups nest at most 100 deep, and a deadline stops the walk.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from explorer.gcpause import gc_paused

__all__ = [
    "EGROUP",
    "I32",
    "I64",
    "LEN",
    "PRINT_BUDGET",
    "SGROUP",
    "VARINT",
    "WIRE_NAMES",
    "Cancelled",
    "DecodeFailure",
    "Field",
    "Message",
    "RawDecode",
    "as_unknown",
    "decode_raw",
    "parse_fields",
]

VARINT, I64, LEN, SGROUP, EGROUP, I32 = 0, 1, 2, 3, 4, 5
WIRE_NAMES = {VARINT: "varint", I64: "i64", LEN: "len", SGROUP: "group", EGROUP: "egroup", I32: "i32"}

#: protoc's recursion budget for printing unknown fields (text_format.cc kUnknownFieldRecursionLimit).
PRINT_BUDGET = 10
#: Group nesting the top-level parse allows (CodedInputStream's default recursion limit).
TOP_GROUP_DEPTH = 100
#: Seconds a decode may take before it stops with what it has.
DEFAULT_DEADLINE = 30.0

_CHECK_EVERY = 1 << 16
_MASK64 = (1 << 64) - 1
_MASK32 = (1 << 32) - 1
_U32 = struct.Struct("<I").unpack_from
_U64 = struct.Struct("<Q").unpack_from


class Field:
    """One field as it sits in the bytes; offsets are absolute in the decoded buffer.

    ``start`` is the tag's offset, ``[value_start, value_end)`` the value's bytes (a varint, the
    fixed bytes, the length-delimited payload after its length, a group's content before its end
    tag), ``end`` the offset after the field (after a group's end tag). ``value`` is the integer of
    a varint (unsigned 64-bit) or fixed field (unsigned), None for the others. ``message`` is the
    nested message of a group, or of a length-delimited field that protoc would print as one.
    """

    __slots__ = ("end", "message", "number", "start", "value", "value_end", "value_start", "wire_type")

    def __init__(self, number: int, wire_type: int, start: int, value_start: int, value_end: int, end: int,
                 value: int | None, message: Message | None) -> None:
        self.number = number
        self.wire_type = wire_type
        self.start = start
        self.value_start = value_start
        self.value_end = value_end
        self.end = end
        self.value = value
        self.message = message

    def payload(self, data: bytes) -> bytes:
        """The value's bytes (a length-delimited field's payload)."""
        return data[self.value_start : self.value_end]

    def __repr__(self) -> str:
        return (f"Field({self.number}, {WIRE_NAMES.get(self.wire_type, self.wire_type)}, "
                f"{self.start}..{self.end}, value={self.value!r}, message={self.message!r})")


class Message:
    """A run of fields: the whole input, a group's content or a length-delimited payload."""

    __slots__ = ("end", "fields", "start")

    def __init__(self, fields: list[Field], start: int, end: int) -> None:
        self.fields = fields
        self.start = start
        self.end = end

    def __repr__(self) -> str:
        return f"Message({self.start}..{self.end}, {self.fields!r})"


@dataclass(frozen=True)
class DecodeFailure:
    """Where and why the bytes stopped being a valid message: ``offset`` of the byte that broke it
    (the tag of the field that could not be read), ``path`` the field numbers of the open groups."""

    offset: int
    reason: str
    path: tuple[int, ...] = ()

    def describe(self) -> str:
        where = f"at offset {self.offset}"
        if self.path:
            where += " (inside field " + " > ".join(str(n) for n in self.path) + ")"
        return f"{where}: {self.reason}"


@dataclass
class RawDecode:
    """The result of :func:`decode_raw`: ``message`` holds every top-level field read before
    ``error`` (None when the whole input is a valid message, as protoc would accept it)."""

    data: bytes
    message: Message
    error: DecodeFailure | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None


class Cancelled(Exception):
    """A decode was stopped by its ``cancelled`` callback (the TUI closed the pane)."""


class _Stop(Exception):
    """The deadline passed: unwinds to the top, which keeps what it has."""


class _State:
    """The walk's clock: deadline, progress reports and cancellation, looked at every few thousand
    fields and at every nested message."""

    __slots__ = ("cancelled", "deadline", "last_report", "progress")

    def __init__(self, deadline: float, progress: Callable[[int], None] | None = None,
                 cancelled: Callable[[], bool] | None = None) -> None:
        self.deadline = deadline
        self.progress = progress
        self.cancelled = cancelled
        self.last_report = 0.0

    def check(self, pos: int) -> None:
        now = time.monotonic()
        if now > self.deadline:
            raise _Stop
        if self.cancelled is not None and self.cancelled():
            raise Cancelled
        if self.progress is not None and now - self.last_report > 0.05:
            self.last_report = now
            self.progress(pos)


def _varint(data: bytes, pos: int, end: int, limit: int) -> tuple[int, int]:
    """(value, next offset) of the varint at ``pos`` of at most ``limit`` bytes; (-1, reason code)
    when it is longer (-1, 1) or cut short by ``end`` (-1, 2). Bits past the 64th are dropped."""
    result = 0
    shift = 0
    stop = pos + limit
    i = pos
    while i < end:
        if i >= stop:
            return -1, 1
        b = data[i]
        result |= (b & 0x7F) << shift
        i += 1
        if b < 0x80:
            return result & _MASK64, i
        shift += 7
    return -1, 2


#: What a failed nested attempt returns: no reason is written for bytes that are simply not a
#: message (most strings), only for the top level, whose failure is reported.
_NOPE = DecodeFailure(0, "not a message")
_NOPE4: tuple[list[Field], int, int, DecodeFailure | None] = ([], 0, 0, _NOPE)


def _may_be_message(data: bytes, start: int, end: int) -> bool:
    """False when the payload ``data[start:end]`` (at least 2 bytes) cannot be a message, judged by
    its first field alone; saves a call for most strings. Exact: it rejects only what the parse
    would. A one-byte payload (a lone tag) never is one."""
    b = data[start]
    if b >= 0x80:
        return True
    wt = b & 7
    if wt == VARINT:
        return b >= 8
    if wt == LEN:
        n = data[start + 1]
        return b >= 8 and (n >= 0x80 or n <= end - start - 2)
    if wt == SGROUP:
        # Its end tag must follow: byte b+1, or b+1 with the continuation bit (an overlong tag).
        return b >= 8 and (data.find(b + 1, start + 1, end) >= 0 or data.find(b + 0x81, start + 1, end) >= 0)
    if wt == I64:
        return b >= 8 and end - start >= 9
    if wt == I32:
        return b >= 8 and end - start >= 5
    return False


def _parse(data: bytes, pos: int, end: int, budget: int, groups_left: int, top: bool, end_tag: int,
           state: _State, path: tuple[int, ...]) -> tuple[list[Field], int, int, DecodeFailure | None]:
    """Fields from ``pos`` up to ``end`` (or, inside a group, up to the end tag ``end_tag``).

    ``budget`` is the print budget of these fields (a length-delimited one is tried as a message with
    ``budget - 1`` for its own fields when ``budget > 0``); ``groups_left`` how many more groups may
    open; ``top`` selects the top-level reader's limits. Returns (fields, offset after them, offset
    of the group's end tag or ``end``, failure or None); a nested attempt that fails returns
    ``_NOPE4``.
    """
    fields: list[Field] = []
    append = fields.append
    F = Field
    tag_limit = 5 if top else 10
    # The clock is read every 64 KiB of fields (a nested payload's bytes count once per level
    # tried, at most 11 times): cheaper than counting fields.
    checkpoint = pos + _CHECK_EVERY
    while pos < end:
        if pos > checkpoint:
            state.check(pos)
            checkpoint = pos + _CHECK_EVERY
        start = pos
        tag = data[pos]
        pos += 1
        if tag >= 0x80:
            tag, pos = _varint(data, start, end, tag_limit)
            if tag < 0:
                if not top:
                    return _NOPE4
                why = f"tag varint longer than {tag_limit} bytes" if pos == 1 else "tag cut short by the end"
                return fields, start, start, DecodeFailure(start, why, path)
            tag &= _MASK32
        wt = tag & 7
        if wt == VARINT:
            if tag < 8:
                break  # field number 0
            if pos < end:
                b = data[pos]
                if b < 0x80:
                    pos += 1
                    append(F(tag >> 3, VARINT, start, pos - 1, pos, pos, b, None))
                    continue
            vs = pos
            value, pos = _varint(data, pos, end, 10)
            if value < 0:
                if not top:
                    return _NOPE4
                why = "varint longer than 10 bytes" if pos == 1 else "varint cut short by the end"
                return fields, start, start, DecodeFailure(start, f"field {tag >> 3}: {why}", path)
            append(F(tag >> 3, VARINT, start, vs, pos, pos, value, None))
        elif wt == LEN:
            if tag < 8:
                break
            if pos < end and data[pos] < 0x80:
                length = data[pos]
                pos += 1
            else:
                length, pos = _varint(data, pos, end, tag_limit)
                if length < 0:
                    if not top:
                        return _NOPE4
                    why = "length varint longer than 5 bytes" if pos == 1 else "length cut short by the end"
                    return fields, start, start, DecodeFailure(start, f"field {tag >> 3}: {why}", path)
                length &= _MASK32
            vs = pos
            pos += length
            if pos > end:
                if not top:
                    return _NOPE4
                return fields, start, start, DecodeFailure(
                    start, f"field {tag >> 3}: length {length} runs past the end ({end - vs} bytes left)", path)
            sub: Message | None = None
            if length > 1 and budget > 0 and _may_be_message(data, vs, pos):
                sfields, _, _, serr = _parse(data, vs, pos, budget - 1, budget, False, -1, state, ())
                if serr is None:
                    sub = Message(sfields, vs, pos)
            append(F(tag >> 3, LEN, start, vs, pos, pos, None, sub))
        elif wt == I64:
            if tag < 8:
                break
            if end - pos < 8:
                if not top:
                    return _NOPE4
                return fields, start, start, DecodeFailure(
                    start, f"field {tag >> 3}: fixed64 cut short by the end ({end - pos} of 8 bytes)", path)
            append(F(tag >> 3, I64, start, pos, pos + 8, pos + 8, _U64(data, pos)[0], None))
            pos += 8
        elif wt == I32:
            if tag < 8:
                break
            if end - pos < 4:
                if not top:
                    return _NOPE4
                return fields, start, start, DecodeFailure(
                    start, f"field {tag >> 3}: fixed32 cut short by the end ({end - pos} of 4 bytes)", path)
            append(F(tag >> 3, I32, start, pos, pos + 4, pos + 4, _U32(data, pos)[0], None))
            pos += 4
        elif wt == EGROUP:
            if end_tag == tag:
                return fields, pos, start, None
            if not top:
                return _NOPE4
            if end_tag < 0:
                why = f"end-group tag of field {tag >> 3} with no group open"
            else:
                why = f"end-group tag of field {tag >> 3} inside group {end_tag >> 3}"
            return fields, start, start, DecodeFailure(start, why, path)
        elif wt == SGROUP:
            if tag < 8:
                break
            number = tag >> 3
            if groups_left <= 0:
                if not top:
                    return _NOPE4
                return fields, start, start, DecodeFailure(start, f"field {number}: groups nested too deep", path)
            vs = pos
            gfields, pos, gend, gerr = _parse(data, pos, end, budget - 1, groups_left - 1, top,
                                              (number << 3) | EGROUP, state, (*path, number) if top else path)
            if gerr is not None:
                if not top:
                    return _NOPE4
                # Keep the group's valid prefix, to show where it broke.
                append(F(number, SGROUP, start, vs, gerr.offset, gerr.offset, None, Message(gfields, vs, gerr.offset)))
                return fields, start, start, gerr
            append(F(number, SGROUP, start, vs, gend, pos, None, Message(gfields, vs, gend)))
        else:
            if not top:
                return _NOPE4
            return fields, start, start, DecodeFailure(start, f"field {tag >> 3}: invalid wire type {wt}", path)
    else:
        if end_tag >= 0:
            if not top:
                return _NOPE4
            return fields, pos, pos, DecodeFailure(pos, f"group {end_tag >> 3} not closed before the end", path)
        return fields, pos, pos, None
    # A tag with field number 0 (the loop's breaks).
    if not top:
        return _NOPE4
    return fields, start, start, DecodeFailure(start, f"field number 0 (tag byte {data[start]:#04x})", path)


def decode_raw(data: bytes | bytearray | memoryview, *, deadline: float = DEFAULT_DEADLINE,
               progress: Callable[[int], None] | None = None,
               cancelled: Callable[[], bool] | None = None) -> RawDecode:
    """Decode ``data`` as protoc --decode_raw does; see the module docstring for the rules.

    Never raises on bad input: ``error`` says where the bytes stopped being a message, and
    ``message`` holds the top-level fields before it (a group that broke keeps its valid prefix).
    After ``deadline`` seconds the nested attempts stop: the top level is read again without them
    (length-delimited fields then show as bytes) and ``notes`` says so. ``progress`` is called now
    and then with the offset reached; ``cancelled`` returning true raises :class:`Cancelled`.
    """
    buf = bytes(data)
    notes: list[str] = []
    state = _State(time.monotonic() + deadline, progress, cancelled)
    with gc_paused():
        try:
            fields, _, _, err = _parse(buf, 0, len(buf), PRINT_BUDGET, TOP_GROUP_DEPTH, True, -1, state, ())
        except _Stop:
            fields, _, _, err = _parse(buf, 0, len(buf), 0, TOP_GROUP_DEPTH, True, -1,
                                       _State(float("inf"), progress, cancelled), ())
            notes.append(f"stopped looking for nested messages after {deadline:g} s: "
                         "length-delimited fields are shown as bytes")
    end = err.offset if err is not None else len(buf)
    return RawDecode(buf, Message(fields, 0, end), err, notes)


def parse_fields(data: bytes, start: int, end: int, *, budget: int = 0,
                 groups: int = TOP_GROUP_DEPTH) -> tuple[list[Field], DecodeFailure | None]:
    """The fields of ``data[start:end]`` read as a message with the top-level reader, trying
    length-delimited payloads as messages down to ``budget`` levels (0: none). For schema-directed
    decoding, which knows which payloads are messages."""
    fields, _, _, err = _parse(data, start, end, budget, groups, True, -1, _State(float("inf")), ())
    return fields, err


def as_unknown(data: bytes, f: Field) -> Field:
    """``f`` (a valid field of ``data``) as protoc prints an unknown field of a typed message: with
    the full print budget, so a length-delimited payload is tried as a nested message."""
    fields, _, _, err = _parse(data, f.start, f.end, PRINT_BUDGET, TOP_GROUP_DEPTH, True, -1,
                               _State(float("inf")), ())
    return fields[0] if err is None and len(fields) == 1 else f
