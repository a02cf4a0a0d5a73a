"""The wire fields of a protobuf message with its schema beside them.

:func:`annotate` walks the wire fields themselves: every occurrence of every field, with its
offsets, its name, its declared type and its typed value (a list for a packed field), nested
messages annotated in turn. This is what the ``--json`` tree and the TUI show (a byte range for each
field), and where a parse that protobuf rejects is explained.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from explorer.gcpause import gc_paused
from explorer.payload.schema import (
    I32_TYPES,
    I64_TYPES,
    MAX_DEPTH,
    T_BYTES,
    T_ENUM,
    T_GROUP,
    T_MESSAGE,
    T_STRING,
    TYPE_NAMES,
    VARINT_TYPES,
    field_label,
    is_repeated,
    scalar_value,
)
from explorer.payload.wire import (
    I32,
    I64,
    LEN,
    SGROUP,
    VARINT,
    DecodeFailure,
    Field,
    Message,
    as_unknown,
    parse_fields,
)

# --------------------------------------------------------------------------------------------------
# The wire fields with the schema beside them


class SchemaField(Field):
    """A wire :class:`Field` with what the schema says of it: ``name`` (as protoc prints it; None for
    a field the schema does not know), ``type`` (``int32``, ``string``, a message's full name...),
    ``typed`` (the value as that type: a number, text, an enum value's name, a list for a packed
    field; None for messages) and ``note`` (why the bytes do not fit the schema, or "")."""

    __slots__ = ("name", "note", "type", "typed")

    def __init__(self, raw: Field, name: str | None = None, type_: str | None = None, typed: Any = None,
                 note: str = "", message: Message | None = None) -> None:
        super().__init__(raw.number, raw.wire_type, raw.start, raw.value_start, raw.value_end, raw.end,
                         raw.value, message if message is not None else raw.message)
        self.name = name
        self.type = type_
        self.typed = typed
        self.note = note


@dataclass
class Annotated:
    """:func:`annotate`'s result: the top-level message's fields (:class:`SchemaField`), and where
    the bytes stopped fitting the schema (None when protobuf would accept them)."""

    data: bytes
    type_name: str
    message: Message
    failure: DecodeFailure | None = None
    notes: list[str] = field(default_factory=list)


def annotate(data: bytes, desc: Any) -> Annotated:
    """Walk the wire fields of ``data`` as message ``desc`` (a Descriptor): see the module docstring."""
    walk = _Walk(data)
    with gc_paused():
        msg = walk.message(0, len(data), desc, 0, ())
    failures = walk.failures
    return Annotated(data, desc.full_name, msg, failures[0] if failures else None)


@dataclass(slots=True)
class _Info:
    """What the walk needs of a field descriptor, looked up once per walk."""

    fd: Any
    t: int
    name: str
    type_name: str
    repeated: bool
    message_type: Any
    enum_names: dict[int, str] | None


class _Walk:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.failures: list[DecodeFailure] = []
        self._tables: dict[str, dict[int, _Info | None]] = {}
        self._proto3: dict[str, bool] = {}

    def info(self, desc: Any, number: int) -> _Info | None:
        table = self._tables.get(desc.full_name)
        if table is None:
            table = self._tables[desc.full_name] = {}
        if number in table:
            return table[number]
        fd = desc.fields_by_number.get(number)
        if fd is None:
            try:
                fd = desc.file.pool.FindExtensionByNumber(desc, number)
            except KeyError:
                fd = None
        info = None
        if fd is not None:
            t = fd.type
            enum_names = {v.number: v.name for v in fd.enum_type.values} if t == T_ENUM else None
            mt = fd.message_type if t in (T_MESSAGE, T_GROUP) else None
            type_name = (fd.enum_type.full_name if t == T_ENUM else mt.full_name if mt is not None
                         else TYPE_NAMES.get(t, str(t)))
            info = _Info(fd, t, field_label(fd), type_name, is_repeated(fd), mt, enum_names)
        table[number] = info
        return info

    def checks_utf8(self, fd: Any) -> bool:
        """Whether protobuf rejects a message whose string field ``fd`` is not UTF-8 (a proto3
        file's; proto2 strings may hold any bytes)."""
        name = fd.file.name
        got = self._proto3.get(name)
        if got is None:
            from google.protobuf import descriptor_pb2

            try:
                got = descriptor_pb2.FileDescriptorProto.FromString(fd.file.serialized_pb).syntax == "proto3"
            except Exception:  # a file without its serialized form: say nothing
                got = False
            self._proto3[name] = got
        return got

    def message(self, start: int, end: int, desc: Any, depth: int, path: tuple[int, ...],
                fields: list[Field] | None = None) -> Message:
        err: DecodeFailure | None = None
        if fields is None:
            fields, err = parse_fields(self.data, start, end)
        out: list[Field] = []
        for f in fields:
            out.append(self.field(f, self.info(desc, f.number), depth, path))
        if err is not None:
            self.failures.append(DecodeFailure(err.offset, err.reason, path + err.path))
        return Message(out, start, err.offset if err is not None else end)

    def unknown(self, f: Field, note: str = "") -> SchemaField:
        """A field the schema does not describe (or whose wire type does not fit it), with protoc's
        heuristics for unknown fields: a length-delimited payload tried as a nested message."""
        if f.wire_type in (LEN, SGROUP):
            f = as_unknown(self.data, f)
        return SchemaField(f, note=note)

    def field(self, f: Field, info: _Info | None, depth: int, path: tuple[int, ...]) -> SchemaField:
        if info is None:
            return self.unknown(f)
        data = self.data
        t, name, type_name = info.t, info.name, info.type_name
        wt = f.wire_type
        if info.message_type is not None:
            want = SGROUP if t == T_GROUP else LEN
            if wt != want:
                return self.unknown(f, f"wire type {wt} does not fit {TYPE_NAMES[t]} {type_name}")
            if depth >= MAX_DEPTH:
                self.failures.append(DecodeFailure(f.start, f"{name}: messages nested too deep", path))
                return SchemaField(f, name, type_name, note="nested too deep")
            before = len(self.failures)
            inner = (f.message.fields if f.message is not None else []) if wt == SGROUP else None
            sub = self.message(f.value_start, f.value_end, info.message_type, depth + 1, (*path, f.number), inner)
            note = f"not a valid {type_name}" if len(self.failures) > before else ""
            return SchemaField(f, name, type_name, note=note, message=sub)
        if wt == LEN:
            if t == T_STRING:
                raw = data[f.value_start : f.value_end]
                try:
                    return SchemaField(f, name, type_name, raw.decode("utf-8"))
                except UnicodeDecodeError as e:
                    why = f"invalid UTF-8 at byte {e.start}"
                    if self.checks_utf8(info.fd):  # protobuf refuses the message
                        self.failures.append(DecodeFailure(f.start, f"{name}: {why} (proto3 strings are UTF-8)",
                                                           path))
                    return SchemaField(f, name, type_name, raw.decode("utf-8", "backslashreplace"), note=why)
            if t == T_BYTES:
                return SchemaField(f, name, type_name, data[f.value_start : f.value_end])
            if info.repeated:  # packed
                values, why = _packed(data, f.value_start, f.value_end, t)
                if why:
                    self.failures.append(DecodeFailure(f.start, f"{name}: packed {type_name}: {why}", path))
                if info.enum_names is not None:
                    values = [info.enum_names.get(v, v) for v in values]
                return SchemaField(f, name, type_name, values, note=why)
            return self.unknown(f, f"wire type 2 does not fit {type_name}")
        expect = VARINT if t in VARINT_TYPES else I64 if t in I64_TYPES else I32 if t in I32_TYPES else LEN
        if wt != expect or f.value is None:
            return self.unknown(f, f"wire type {wt} does not fit {type_name}")
        value = scalar_value(t, wt, f.value)
        if info.enum_names is not None:
            ev = info.enum_names.get(int(value))
            if ev is None:
                return SchemaField(f, name, type_name, value, note=f"not a value of {type_name}")
            return SchemaField(f, name, type_name, ev)
        return SchemaField(f, name, type_name, value)


def _packed(data: bytes, start: int, end: int, t: int) -> tuple[list[Any], str]:
    """The values of a packed repeated field, and why the payload is not one ("" when it is)."""
    out: list[Any] = []
    if t in I32_TYPES or t in I64_TYPES:
        size = 4 if t in I32_TYPES else 8
        if (end - start) % size:
            return out, f"{end - start} bytes is not a multiple of {size}"
        for pos in range(start, end, size):
            out.append(scalar_value(t, I32 if size == 4 else I64, int.from_bytes(data[pos : pos + size], "little")))
        return out, ""
    pos = start
    while pos < end:
        v = 0
        shift = 0
        i = pos
        while True:
            if i >= end:
                return out, f"varint at offset {pos} cut short"
            if i - pos >= 10:
                return out, f"varint at offset {pos} longer than 10 bytes"
            b = data[i]
            v |= (b & 0x7F) << shift
            i += 1
            if b < 0x80:
                break
            shift += 7
        out.append(scalar_value(t, VARINT, v & ((1 << 64) - 1)))
        pos = i
    return out, ""


