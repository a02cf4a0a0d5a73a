"""Schema-directed protobuf decoding, as ``protoc --decode=TYPE`` prints it.

:func:`decode_typed` parses the bytes with the ``protobuf`` package (its own parser: merging of
repeated occurrences, packed and unpacked repeated fields, oneofs, maps, closed enums and unknown
fields behave as protobuf says) into a :class:`TypedMessage`: the fields in the order ``protoc
--decode=TYPE`` prints them (field number order, repeated values in order, map entries sorted by
key), then the message's unknown fields as a raw wire tree. Where protobuf rejects the bytes,
:func:`explorer.payload.annotate.annotate` says where they stopped fitting the schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from explorer.errors import ExplorerError
from explorer.gcpause import gc_paused
from explorer.payload.annotate import annotate
from explorer.payload.schema import (
    MAX_DEPTH,
    T_BOOL,
    T_BYTES,
    T_DOUBLE,
    T_ENUM,
    T_FLOAT,
    T_GROUP,
    T_MESSAGE,
    T_STRING,
    Schema,
    field_label,
    is_repeated,
)
from explorer.payload.wire import (
    EGROUP,
    I32,
    I64,
    LEN,
    SGROUP,
    VARINT,
    DecodeFailure,
    RawDecode,
    decode_raw,
)

# --------------------------------------------------------------------------------------------------
# protobuf's parse, as protoc --decode prints it


@dataclass
class TypedValue:
    """One printed line (or block): ``label`` as protoc prints it (field name, group type name or
    ``[extension.full.name]``), ``kind`` (``int``, ``bool``, ``enum``, ``float``, ``double``,
    ``string``, ``bytes``, ``message``), the value (a :class:`TypedMessage` for ``message``)."""

    label: str
    kind: str
    value: Any
    number: int = 0


@dataclass
class TypedMessage:
    """A parsed message in print order: its set fields, then its unknown fields (raw wire fields,
    as ``protoc`` prints them, from the bytes in ``unknown_data``)."""

    type_name: str
    values: list[TypedValue] = field(default_factory=list)
    unknown: RawDecode | None = None


@dataclass
class TypedDecode:
    """:func:`decode_typed`'s result: ``message`` when protobuf parsed the bytes, else ``error`` (and
    ``failure``, where the schema-directed walk saw it break, when it did)."""

    type_name: str
    message: TypedMessage | None
    error: str | None = None
    failure: DecodeFailure | None = None

    @property
    def ok(self) -> bool:
        return self.message is not None


def decode_typed(data: bytes, schema: Schema, type_name: str) -> TypedDecode:
    """Parse ``data`` as ``type_name`` with protobuf (as ``protoc --decode=TYPE`` does)."""
    from google.protobuf import message_factory
    from google.protobuf.message import DecodeError

    desc = schema.message(type_name)
    cls = message_factory.GetMessageClass(desc)
    try:
        msg = cls.FromString(bytes(data))
    except DecodeError as e:
        failure = annotate(bytes(data), desc).failure
        why = failure.describe() if failure is not None else str(e)
        return TypedDecode(desc.full_name, None, f"not a valid {desc.full_name}: {why}", failure)
    except RecursionError:
        return TypedDecode(desc.full_name, None, f"not a valid {desc.full_name}: nested too deep")
    with gc_paused():
        return TypedDecode(desc.full_name, _typed_message(msg, 0))


def _kind(fd: Any) -> str:
    t = fd.type
    if t in (T_MESSAGE, T_GROUP):
        return "message"
    if t == T_ENUM:
        return "enum"
    if t == T_BOOL:
        return "bool"
    if t == T_FLOAT:
        return "float"
    if t == T_DOUBLE:
        return "double"
    if t == T_STRING:
        return "string"
    if t == T_BYTES:
        return "bytes"
    return "int"


def _scalar(fd: Any, kind: str, v: Any, depth: int) -> Any:
    if kind == "message":
        return _typed_message(v, depth + 1)
    if kind == "enum":
        ev = fd.enum_type.values_by_number.get(v)
        return ev.name if ev is not None else str(v)
    return v


def _typed_message(msg: Any, depth: int) -> TypedMessage:
    if depth > MAX_DEPTH:
        raise ExplorerError("message nested too deep")
    desc = msg.DESCRIPTOR
    out = TypedMessage(desc.full_name)
    for fd, value in msg.ListFields():
        label, kind = field_label(fd), _kind(fd)
        if _is_map(fd):
            key_fd = fd.message_type.fields_by_name["key"]
            val_fd = fd.message_type.fields_by_name["value"]
            for k in sorted(value, key=_map_key_order):
                entry = TypedMessage(fd.message_type.full_name, [
                    TypedValue("key", _kind(key_fd), k, 1),
                    TypedValue("value", _kind(val_fd), _scalar(val_fd, _kind(val_fd), value[k], depth + 1), 2),
                ])
                out.values.append(TypedValue(label, "message", entry, fd.number))
        elif is_repeated(fd):
            for v in value:
                out.values.append(TypedValue(label, kind, _scalar(fd, kind, v, depth), fd.number))
        else:
            out.values.append(TypedValue(label, kind, _scalar(fd, kind, value, depth), fd.number))
    unknown = _unknown_bytes(msg)
    if unknown:
        out.unknown = decode_raw(unknown)
    return out


def _is_map(fd: Any) -> bool:
    return bool(fd.type == T_MESSAGE and fd.message_type.GetOptions().map_entry)


def _map_key_order(k: Any) -> Any:
    # C++ sorts map keys by value; strings bytewise (UTF-8 order is code point order).
    return k


def _unknown_bytes(msg: Any) -> bytes:
    """The message's unknown fields, encoded again (protobuf gives them parsed, in order)."""
    from google.protobuf import unknown_fields

    try:
        ufs = unknown_fields.UnknownFieldSet(msg)
    except Exception:  # a message type without unknown-field support (map entries)
        return b""
    if not len(ufs):
        return b""
    out = bytearray()
    _encode_unknown(ufs, out)
    return bytes(out)


def _varint_bytes(v: int, out: bytearray) -> None:
    v &= (1 << 64) - 1
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)


def _encode_unknown(ufs: Any, out: bytearray) -> None:
    for i in range(len(ufs)):
        uf = ufs[i]
        number, wt, data = uf.field_number, uf.wire_type, uf.data
        _varint_bytes((number << 3) | wt, out)
        if wt == VARINT:
            _varint_bytes(data, out)
        elif wt == I64:
            out += (data & ((1 << 64) - 1)).to_bytes(8, "little")
        elif wt == I32:
            out += (data & 0xFFFFFFFF).to_bytes(4, "little")
        elif wt == LEN:
            _varint_bytes(len(data), out)
            out += data
        elif wt == SGROUP:
            _encode_unknown(data, out)
            _varint_bytes((number << 3) | EGROUP, out)

