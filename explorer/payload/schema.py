"""Protobuf schemas for decoding: a FileDescriptorSet (``protoc -o``, ``buf build -o``) loaded into
a descriptor pool (with the well-known types protobuf ships where the set leaves them out), the
descriptor type numbers, and a scalar's value from its wire integer.

The ``protobuf`` package is imported only here and in the decoders, and only when a schema is used.
"""

from __future__ import annotations

import importlib
import struct
from pathlib import Path
from typing import Any

from explorer.errors import InputError

MAX_DEPTH = 100

# FieldDescriptor.TYPE_* numbers (descriptor.proto), spelled out to keep the protobuf import lazy.
T_DOUBLE, T_FLOAT, T_INT64, T_UINT64, T_INT32, T_FIXED64, T_FIXED32, T_BOOL = 1, 2, 3, 4, 5, 6, 7, 8
T_STRING, T_GROUP, T_MESSAGE, T_BYTES, T_UINT32, T_ENUM = 9, 10, 11, 12, 13, 14
T_SFIXED32, T_SFIXED64, T_SINT32, T_SINT64 = 15, 16, 17, 18

TYPE_NAMES = {
    T_DOUBLE: "double", T_FLOAT: "float", T_INT64: "int64", T_UINT64: "uint64", T_INT32: "int32",
    T_FIXED64: "fixed64", T_FIXED32: "fixed32", T_BOOL: "bool", T_STRING: "string", T_GROUP: "group",
    T_MESSAGE: "message", T_BYTES: "bytes", T_UINT32: "uint32", T_ENUM: "enum", T_SFIXED32: "sfixed32",
    T_SFIXED64: "sfixed64", T_SINT32: "sint32", T_SINT64: "sint64",
}
VARINT_TYPES = {T_INT64, T_UINT64, T_INT32, T_BOOL, T_UINT32, T_ENUM, T_SINT32, T_SINT64}
I64_TYPES = {T_DOUBLE, T_FIXED64, T_SFIXED64}
I32_TYPES = {T_FLOAT, T_FIXED32, T_SFIXED32}

_F32 = struct.Struct("<f")
_F64 = struct.Struct("<d")


def _signed(v: int, bits: int) -> int:
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


def _zigzag(v: int) -> int:
    return (v >> 1) ^ -(v & 1)


def scalar_value(type_: int, wire_type: int, raw: int) -> int | float | bool:
    """The value of a scalar field of descriptor type ``type_`` from its wire integer."""
    if type_ == T_INT32 or type_ == T_ENUM:
        return _signed(raw, 32)
    if type_ == T_INT64 or type_ == T_SFIXED64:
        return _signed(raw, 64)
    if type_ == T_UINT32:
        return raw & 0xFFFFFFFF
    if type_ == T_SINT32:
        return _zigzag(raw & 0xFFFFFFFF)
    if type_ == T_SINT64:
        return _zigzag(raw)
    if type_ == T_BOOL:
        return raw != 0
    if type_ == T_SFIXED32:
        return _signed(raw, 32)
    if type_ == T_FLOAT:
        return float(_F32.unpack(raw.to_bytes(4, "little"))[0])
    if type_ == T_DOUBLE:
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


def field_label(fd: Any) -> str:
    """A field's name as protoc prints it: ``[ext.full.name]``, a group's type name, or its name."""
    if fd.is_extension:
        scope = fd.containing_type
        if (scope.GetOptions().message_set_wire_format and fd.type == T_MESSAGE
                and not is_repeated(fd) and fd.extension_scope is fd.message_type):
            return f"[{fd.message_type.full_name}]"
        return f"[{fd.full_name}]"
    if is_group_like(fd):
        return str(fd.message_type.name)
    return str(fd.name)


def is_repeated(fd: Any) -> bool:
    """Whether a field descriptor is repeated (on old and new protobuf releases)."""
    rep = getattr(fd, "is_repeated", None)
    if rep is not None:
        return bool(rep)
    return bool(fd.label == 3)  # LABEL_REPEATED (older protobuf)


def is_group_like(fd: Any) -> bool:
    """text_format's IsGroupLike: a group field is printed with its type's name."""
    if fd.type != T_GROUP:
        return False
    mt = fd.message_type
    if fd.name != mt.name.lower() or (mt.file is not fd.file and mt.file.name != fd.file.name):
        return False
    scope = fd.extension_scope if fd.is_extension else fd.containing_type
    owner = mt.containing_type
    if owner is None or scope is None:
        return owner is None and scope is None
    return bool(owner.full_name == scope.full_name)
