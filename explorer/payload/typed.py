"""Schema-directed protobuf decoding: a FileDescriptorSet (``protoc -o``, ``buf build -o``) and a
message type name.

Two results, for two uses:

* :func:`decode_typed` parses the bytes with the ``protobuf`` package (its own parser: merging of
  repeated occurrences, packed and unpacked repeated fields, oneofs, maps, closed enums and unknown
  fields behave as protobuf says) into a :class:`TypedMessage`: the fields in the order ``protoc
  --decode=TYPE`` prints them (field number order, repeated values in order, map entries sorted by
  key), then the message's unknown fields as a raw wire tree.
* :func:`annotate` walks the wire fields themselves with the schema beside them: every occurrence
  of every field, with its offsets, its name, its declared type and its typed value (a list for a
  packed field), nested messages annotated in turn. This is what the ``--json`` tree and the TUI
  show (a byte range for each field), and where a parse that protobuf rejects is explained.

The ``protobuf`` package is imported only here, and only when a schema is used.
"""

from __future__ import annotations

import importlib
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from explorer.errors import ExplorerError, InputError
from explorer.payload.wire import (
    EGROUP,
    I32,
    I64,
    LEN,
    PRINT_BUDGET,
    SGROUP,
    VARINT,
    DecodeFailure,
    Field,
    Message,
    RawDecode,
    as_unknown,
    decode_raw,
    gc_paused,
    parse_fields,
)

__all__ = [
    "Schema",
    "SchemaField",
    "TypedDecode",
    "TypedMessage",
    "TypedValue",
    "annotate",
    "decode_typed",
]

#: Message nesting a schema-directed walk follows (protobuf's own recursion limit).
MAX_DEPTH = 100

# FieldDescriptor.TYPE_* numbers (descriptor.proto), spelled out to keep the protobuf import lazy.
_T_DOUBLE, _T_FLOAT, _T_INT64, _T_UINT64, _T_INT32, _T_FIXED64, _T_FIXED32, _T_BOOL = 1, 2, 3, 4, 5, 6, 7, 8
_T_STRING, _T_GROUP, _T_MESSAGE, _T_BYTES, _T_UINT32, _T_ENUM = 9, 10, 11, 12, 13, 14
_T_SFIXED32, _T_SFIXED64, _T_SINT32, _T_SINT64 = 15, 16, 17, 18

TYPE_NAMES = {
    _T_DOUBLE: "double", _T_FLOAT: "float", _T_INT64: "int64", _T_UINT64: "uint64", _T_INT32: "int32",
    _T_FIXED64: "fixed64", _T_FIXED32: "fixed32", _T_BOOL: "bool", _T_STRING: "string", _T_GROUP: "group",
    _T_MESSAGE: "message", _T_BYTES: "bytes", _T_UINT32: "uint32", _T_ENUM: "enum", _T_SFIXED32: "sfixed32",
    _T_SFIXED64: "sfixed64", _T_SINT32: "sint32", _T_SINT64: "sint64",
}
_VARINT_TYPES = {_T_INT64, _T_UINT64, _T_INT32, _T_BOOL, _T_UINT32, _T_ENUM, _T_SINT32, _T_SINT64}
_I64_TYPES = {_T_DOUBLE, _T_FIXED64, _T_SFIXED64}
_I32_TYPES = {_T_FLOAT, _T_FIXED32, _T_SFIXED32}

_F32 = struct.Struct("<f")
_F64 = struct.Struct("<d")


def _signed(v: int, bits: int) -> int:
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


def _zigzag(v: int) -> int:
    return (v >> 1) ^ -(v & 1)


def scalar_value(type_: int, wire_type: int, raw: int) -> int | float | bool:
    """The value of a scalar field of descriptor type ``type_`` from its wire integer."""
    if type_ == _T_INT32 or type_ == _T_ENUM:
        return _signed(raw, 32)
    if type_ == _T_INT64 or type_ == _T_SFIXED64:
        return _signed(raw, 64)
    if type_ == _T_UINT32:
        return raw & 0xFFFFFFFF
    if type_ == _T_SINT32:
        return _zigzag(raw & 0xFFFFFFFF)
    if type_ == _T_SINT64:
        return _zigzag(raw)
    if type_ == _T_BOOL:
        return raw != 0
    if type_ == _T_SFIXED32:
        return _signed(raw, 32)
    if type_ == _T_FLOAT:
        return float(_F32.unpack(raw.to_bytes(4, "little"))[0])
    if type_ == _T_DOUBLE:
        return float(_F64.unpack(raw.to_bytes(8, "little"))[0])
    return raw  # uint64, fixed32, fixed64


# --------------------------------------------------------------------------------------------------
# Loading a descriptor set


#: Files protobuf ships (its well-known types): a descriptor set built without --include_imports
#: may leave them out.
_BUNDLED = {
    "google/protobuf/any.proto": "any_pb2",
    "google/protobuf/api.proto": "api_pb2",
    "google/protobuf/descriptor.proto": "descriptor_pb2",
    "google/protobuf/duration.proto": "duration_pb2",
    "google/protobuf/empty.proto": "empty_pb2",
    "google/protobuf/field_mask.proto": "field_mask_pb2",
    "google/protobuf/source_context.proto": "source_context_pb2",
    "google/protobuf/struct.proto": "struct_pb2",
    "google/protobuf/timestamp.proto": "timestamp_pb2",
    "google/protobuf/type.proto": "type_pb2",
    "google/protobuf/wrappers.proto": "wrappers_pb2",
}


class SchemaError(InputError):
    """The descriptor set cannot be used, or names no such message type."""


class Schema:
    """A descriptor pool built from one FileDescriptorSet."""

    def __init__(self, pool: Any, files: list[str]) -> None:
        self.pool = pool
        self.files = files

    @classmethod
    def load(cls, path: str | Path) -> Schema:
        """Read a FileDescriptorSet file."""
        try:
            data = Path(path).read_bytes()
        except OSError as e:
            raise SchemaError(f"cannot read the descriptor set {path}: {e.strerror or e}") from e
        return cls.from_bytes(data, str(path))

    @classmethod
    def from_bytes(cls, data: bytes, label: str = "descriptor set") -> Schema:
        try:
            from google.protobuf import descriptor_pb2, descriptor_pool
            from google.protobuf.message import DecodeError
        except ImportError as e:  # pragma: no cover - a runtime dependency
            raise SchemaError("decoding with a schema needs the 'protobuf' package") from e
        try:
            fds = descriptor_pb2.FileDescriptorSet.FromString(data)
        except DecodeError as e:
            raise SchemaError(f"{label} is not a FileDescriptorSet (as protoc -o writes it): {e}") from e
        if not fds.file:
            raise SchemaError(f"{label} holds no .proto file")
        files = {f.name: f for f in fds.file}
        pool = descriptor_pool.DescriptorPool()
        added: list[str] = []
        visiting: set[str] = set()

        def add(name: str, wanted_by: str | None) -> None:
            if name in added:
                return
            if name in visiting:
                raise SchemaError(f"{label}: import cycle through {name}")
            proto = files.get(name)
            if proto is None:
                proto = _bundled(name)
            if proto is None:
                raise SchemaError(f"{label}: {wanted_by} imports {name}, which it does not hold "
                                  f"(build it with protoc --include_imports)")
            visiting.add(name)
            for dep in proto.dependency:
                add(dep, name)
            visiting.discard(name)
            try:
                pool.Add(proto)
            except Exception as e:  # protobuf raises TypeError/ValueError/its own errors
                raise SchemaError(f"{label}: {name}: {e}") from e
            added.append(name)

        for name in files:
            add(name, None)
        return cls(pool, added)

    def message(self, full_name: str) -> Any:
        """The Descriptor of message type ``full_name`` (a leading dot is allowed)."""
        name = full_name.lstrip(".")
        try:
            return self.pool.FindMessageTypeByName(name)
        except KeyError:
            pass
        known = sorted(self.message_names())
        near = [n for n in known if n.rsplit(".", 1)[-1] == name.rsplit(".", 1)[-1]]
        hint = f"; did you mean {', '.join(near[:5])}?" if near else (
            f"; it has {', '.join(known[:8])}{' ...' if len(known) > 8 else ''}" if known else "")
        raise SchemaError(f"the descriptor set has no message type {name!r}{hint}")

    def message_names(self) -> list[str]:
        out: list[str] = []

        def walk(desc: Any) -> None:
            out.append(desc.full_name)
            for nested in desc.nested_types:
                walk(nested)

        for name in self.files:
            for desc in self.pool.FindFileByName(name).message_types_by_name.values():
                walk(desc)
        return out


def _bundled(name: str) -> Any:
    module = _BUNDLED.get(name)
    if module is None:
        return None
    from google.protobuf import descriptor_pb2

    mod = importlib.import_module(f"google.protobuf.{module}")
    return descriptor_pb2.FileDescriptorProto.FromString(mod.DESCRIPTOR.serialized_pb)


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


def _label(fd: Any) -> str:
    if fd.is_extension:
        scope = fd.containing_type
        if (scope.GetOptions().message_set_wire_format and fd.type == _T_MESSAGE
                and not _is_repeated(fd) and fd.extension_scope is fd.message_type):
            return f"[{fd.message_type.full_name}]"
        return f"[{fd.full_name}]"
    if _is_group_like(fd):
        return str(fd.message_type.name)
    return str(fd.name)


def _is_repeated(fd: Any) -> bool:
    rep = getattr(fd, "is_repeated", None)
    if rep is not None:
        return bool(rep)
    return bool(fd.label == 3)  # LABEL_REPEATED (older protobuf)


def _is_group_like(fd: Any) -> bool:
    """text_format's IsGroupLike: a group field is printed with its type's name."""
    if fd.type != _T_GROUP:
        return False
    mt = fd.message_type
    if fd.name != mt.name.lower() or (mt.file is not fd.file and mt.file.name != fd.file.name):
        return False
    scope = fd.extension_scope if fd.is_extension else fd.containing_type
    owner = mt.containing_type
    if owner is None or scope is None:
        return owner is None and scope is None
    return bool(owner.full_name == scope.full_name)


def _kind(fd: Any) -> str:
    t = fd.type
    if t in (_T_MESSAGE, _T_GROUP):
        return "message"
    if t == _T_ENUM:
        return "enum"
    if t == _T_BOOL:
        return "bool"
    if t == _T_FLOAT:
        return "float"
    if t == _T_DOUBLE:
        return "double"
    if t == _T_STRING:
        return "string"
    if t == _T_BYTES:
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
        label, kind = _label(fd), _kind(fd)
        if _is_map(fd):
            key_fd = fd.message_type.fields_by_name["key"]
            val_fd = fd.message_type.fields_by_name["value"]
            for k in sorted(value, key=_map_key_order):
                entry = TypedMessage(fd.message_type.full_name, [
                    TypedValue("key", _kind(key_fd), k, 1),
                    TypedValue("value", _kind(val_fd), _scalar(val_fd, _kind(val_fd), value[k], depth + 1), 2),
                ])
                out.values.append(TypedValue(label, "message", entry, fd.number))
        elif _is_repeated(fd):
            for v in value:
                out.values.append(TypedValue(label, kind, _scalar(fd, kind, v, depth), fd.number))
        else:
            out.values.append(TypedValue(label, kind, _scalar(fd, kind, value, depth), fd.number))
    unknown = _unknown_bytes(msg)
    if unknown:
        out.unknown = decode_raw(unknown)
    return out


def _is_map(fd: Any) -> bool:
    return bool(fd.type == _T_MESSAGE and fd.message_type.GetOptions().map_entry)


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
            enum_names = {v.number: v.name for v in fd.enum_type.values} if t == _T_ENUM else None
            mt = fd.message_type if t in (_T_MESSAGE, _T_GROUP) else None
            type_name = (fd.enum_type.full_name if t == _T_ENUM else mt.full_name if mt is not None
                         else TYPE_NAMES.get(t, str(t)))
            info = _Info(fd, t, _label(fd), type_name, _is_repeated(fd), mt, enum_names)
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
            want = SGROUP if t == _T_GROUP else LEN
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
            if t == _T_STRING:
                raw = data[f.value_start : f.value_end]
                try:
                    return SchemaField(f, name, type_name, raw.decode("utf-8"))
                except UnicodeDecodeError as e:
                    why = f"invalid UTF-8 at byte {e.start}"
                    if self.checks_utf8(info.fd):  # protobuf refuses the message
                        self.failures.append(DecodeFailure(f.start, f"{name}: {why} (proto3 strings are UTF-8)",
                                                           path))
                    return SchemaField(f, name, type_name, raw.decode("utf-8", "backslashreplace"), note=why)
            if t == _T_BYTES:
                return SchemaField(f, name, type_name, data[f.value_start : f.value_end])
            if info.repeated:  # packed
                values, why = _packed(data, f.value_start, f.value_end, t)
                if why:
                    self.failures.append(DecodeFailure(f.start, f"{name}: packed {type_name}: {why}", path))
                if info.enum_names is not None:
                    values = [info.enum_names.get(v, v) for v in values]
                return SchemaField(f, name, type_name, values, note=why)
            return self.unknown(f, f"wire type 2 does not fit {type_name}")
        expect = VARINT if t in _VARINT_TYPES else I64 if t in _I64_TYPES else I32 if t in _I32_TYPES else LEN
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
    if t in _I32_TYPES or t in _I64_TYPES:
        size = 4 if t in _I32_TYPES else 8
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


__all__ += ["PRINT_BUDGET", "Annotated", "SchemaError", "scalar_value"]
