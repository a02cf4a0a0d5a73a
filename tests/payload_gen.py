"""Hypothesis strategies for protobuf payloads: raw wire messages and kitchen.Sink messages.

Raw messages are built from wire parts (tags, varints with overlong encodings, fixed values,
length-delimited payloads that are bytes, text, packed varints or nested messages, groups, chains
deeper than protoc's print budget), so that every decision protoc's text format makes is exercised.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

MASK64 = (1 << 64) - 1


def varint(v: int, pad: int = 0) -> bytes:
    """``v`` (two's complement for negatives) as a varint, with ``pad`` redundant bytes (at most 10)."""
    v &= MASK64
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    for _ in range(min(pad, 10 - len(out))):
        out[-1] |= 0x80
        out.append(0)
    return bytes(out)


def tag(number: int, wire_type: int) -> bytes:
    return varint((number << 3) | wire_type)


field_numbers = st.one_of(st.integers(1, 20), st.integers(1, 2047), st.integers(1, (1 << 29) - 1))
varint_values = st.one_of(
    st.integers(0, 300),
    st.integers(-(1 << 31), (1 << 31) - 1),  # negative int32s: 10 bytes on the wire
    st.integers(0, MASK64),
    st.sampled_from([0, 1, 127, 128, (1 << 63), MASK64, (1 << 32) - 1, -1]),
)


def _len_field(number: int, payload: bytes) -> bytes:
    return tag(number, 2) + varint(len(payload)) + payload


@st.composite
def wire_message(draw: Any, depth: int = 0, max_fields: int = 6) -> bytes:
    """A valid message (as protoc's top-level reader sees it)."""
    out = bytearray()
    for _ in range(draw(st.integers(0, max_fields if depth < 3 else 2))):
        number = draw(field_numbers)
        kind = draw(st.sampled_from(["varint", "varint", "fixed32", "fixed64", "len", "len", "group"]))
        if kind == "varint":
            out += tag(number, 0) + varint(draw(varint_values), draw(st.sampled_from([0, 0, 0, 1, 3])))
        elif kind == "fixed32":
            out += tag(number, 5) + draw(st.integers(0, (1 << 32) - 1)).to_bytes(4, "little")
        elif kind == "fixed64":
            out += tag(number, 1) + draw(st.integers(0, MASK64)).to_bytes(8, "little")
        elif kind == "group" and depth < 4:
            out += tag(number, 3) + draw(wire_message(depth + 1, max_fields)) + tag(number, 4)
        else:
            out += _len_field(number, draw(payload(depth)))
    return bytes(out)


@st.composite
def payload(draw: Any, depth: int) -> bytes:
    """A length-delimited payload: bytes, text, packed varints, a nested message, or a chain."""
    choices = ["bytes", "text", "packed", "empty"]
    if depth < 4:
        choices += ["message", "message", "chain"]
    kind = draw(st.sampled_from(choices))
    if kind == "bytes":
        return bytes(draw(st.binary(max_size=24)))
    if kind == "text":
        return str(draw(st.text(max_size=16))).encode("utf-8", "surrogatepass")
    if kind == "packed":
        return b"".join(varint(v) for v in draw(st.lists(varint_values, max_size=6)))
    if kind == "empty":
        return b""
    if kind == "message":
        return bytes(draw(wire_message(depth + 1)))
    # A chain of nested messages around the print budget (10), ending in a group or a value.
    inner = tag(1, 3) + tag(2, 0) + b"\x05" + tag(1, 4) if draw(st.booleans()) else tag(1, 0) + b"\x07"
    for _ in range(draw(st.integers(7, 13))):
        inner = _len_field(draw(st.integers(1, 3)), inner)
    return inner


@st.composite
def mutated(draw: Any) -> bytes:
    """A valid message broken: a byte changed, inserted or removed, or the tail cut."""
    data = bytearray(draw(wire_message()))
    if not data:
        return bytes(draw(st.binary(min_size=1, max_size=16)))
    i = draw(st.integers(0, len(data) - 1))
    how = draw(st.sampled_from(["flip", "insert", "delete", "cut"]))
    if how == "flip":
        data[i] = draw(st.integers(0, 255))
    elif how == "insert":
        data.insert(i, draw(st.integers(0, 255)))
    elif how == "delete":
        del data[i]
    else:
        del data[i:]
    return bytes(data)


garbage = st.one_of(st.binary(max_size=48), mutated())


# --------------------------------------------------------------------------------------------------
# kitchen.Sink (tests/protos/kitchen.proto)

int32s = st.integers(-(1 << 31), (1 << 31) - 1)
int64s = st.integers(-(1 << 63), (1 << 63) - 1)
uint32s = st.integers(0, (1 << 32) - 1)
uint64s = st.integers(0, MASK64)
floats32 = st.floats(width=32, allow_nan=True)
floats64 = st.floats(allow_nan=True)
texts = st.text(max_size=12)
blobs = st.binary(max_size=12)

_SCALARS: dict[str, Any] = {
    "i32": int32s, "i64": int64s, "u32": uint32s, "u64": uint64s, "s32": int32s, "s64": int64s,
    "f32": uint32s, "f64": uint64s, "sf32": int32s, "sf64": int64s, "fl": floats32, "db": floats64,
    "b": st.booleans(), "s": texts, "by": blobs, "color": st.integers(0, 2),
}
_REPEATED: dict[str, Any] = {
    "r_i32": int32s, "p_i32": int32s, "p_s64": int64s, "p_db": floats64, "r_color": st.integers(0, 2),
    "r_s": texts,
}


def fill_sink(draw: Any, msg: Any, depth: int, ext: dict[str, Any]) -> None:
    """Set a random subset of kitchen.Sink's fields of ``msg`` (a message object)."""
    for name in draw(st.sets(st.sampled_from(sorted(_SCALARS)), max_size=6)):
        setattr(msg, name, draw(_SCALARS[name]))
    for name in draw(st.sets(st.sampled_from(sorted(_REPEATED)), max_size=3)):
        getattr(msg, name).extend(draw(st.lists(_REPEATED[name], max_size=4)))
    if draw(st.integers(0, 4)) == 0:
        for k, v in draw(st.dictionaries(int32s, texts, max_size=3)).items():
            msg.m_is[k] = v
    if draw(st.integers(0, 4)) == 0:
        for k, v in draw(st.dictionaries(st.booleans(), st.integers(0, 2), max_size=2)).items():
            msg.m_bc[k] = v
    choice = draw(st.sampled_from([None, None, "c_int", "c_str", "c_msg"]))
    if choice == "c_int":
        msg.c_int = draw(int32s)
    elif choice == "c_str":
        msg.c_str = draw(texts)
    if depth < 3:
        if choice == "c_msg":
            fill_sink(draw, msg.c_msg, depth + 1, ext)
        if draw(st.integers(0, 3)) == 0:
            fill_sink(draw, msg.child, depth + 1, ext)
        for _ in range(draw(st.integers(0, 2 if depth == 0 else 1))):
            fill_sink(draw, msg.children.add(), depth + 1, ext)
        if draw(st.integers(0, 3)) == 0:
            msg.grp.a = draw(int32s)
            if draw(st.booleans()):
                msg.grp.b = draw(texts)
            if draw(st.booleans()):
                fill_sink(draw, msg.grp.deep, depth + 1, ext)
        for _ in range(draw(st.integers(0, 2))):
            g = msg.rgrp.add()
            if draw(st.booleans()):
                g.x = draw(uint64s)
            g.fs.extend(draw(st.lists(floats32, max_size=2)))
        if draw(st.integers(0, 5)) == 0:
            fill_sink(draw, msg.m_sm[draw(texts)], depth + 1, ext)
    if ext and draw(st.integers(0, 3)) == 0:
        msg.Extensions[ext["ext_i"]] = draw(int32s)
        msg.Extensions[ext["ext_s"]].extend(draw(st.lists(texts, max_size=2)))
        msg.Extensions[ext["ext_nested"]] = draw(floats64)


@st.composite
def unknown_fields(draw: Any) -> bytes:
    """Fields kitchen.Sink does not declare (numbers 34..999), and known numbers with the wrong
    wire type, or closed enum values out of range: protobuf keeps them as unknown fields."""
    out = bytearray()
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["raw", "wrong", "enum"]))
        if kind == "raw":
            body = draw(wire_message(2, 3))
            # Re-number the fields of a raw message: its first field must be unknown to Sink.
            out += _len_field(draw(st.integers(34, 999)), body) if draw(st.booleans()) else (
                tag(draw(st.integers(34, 999)), 0) + varint(draw(varint_values)))
        elif kind == "wrong":
            out += tag(draw(st.sampled_from([1, 2, 13, 14, 16])), 5) + b"\x01\x02\x03\x04"
        else:
            out += tag(16, 0) + varint(draw(st.integers(3, 100)))
    return bytes(out)
