"""Protobuf decoding (explorer.payload, explorer.render.payload) against protoc itself.

The oracle is ``protoc`` from the grpcio-tools wheel: ``--decode_raw`` for schemaless decoding and
``--decode=TYPE`` with a descriptor set compiled from tests/protos at test time. Inputs are
hypothesis-drawn wire messages (nested, packed, negative int32s, groups, overlong varints, chains
deeper than protoc's print budget), kitchen.Sink messages encoded by the protobuf package with
unknown fields added, and garbage: every valid input must print exactly as protoc prints it, and
every input protoc rejects must be reported as broken (with its valid prefix), within a time bound.
protoc runs once per input, batched in one helper process (tests/protoc.py).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))

from payload_gen import fill_sink, garbage, tag, unknown_fields, varint, wire_message
from protoc import decode_many, decode_raw_many, descriptor_set

from explorer.payload.annotate import annotate
from explorer.payload.schema import Schema
from explorer.payload.typed import decode_typed
from explorer.payload.wire import LEN, SGROUP, decode_raw
from explorer.render.payload import cescape, raw_text, typed_text

_SEED = os.environ.get("GOCORE_TUI_FUZZ_SEED")
#: Inputs hypothesis draws for each comparison with protoc ($GOCORE_TUI_PAYLOAD_EXAMPLES).
EXAMPLES = int(os.environ.get("GOCORE_TUI_PAYLOAD_EXAMPLES", "200"))


def draw_inputs(strategy: st.SearchStrategy[bytes], examples: int = EXAMPLES) -> list[bytes]:
    """``examples`` inputs drawn by hypothesis (derandomized unless $GOCORE_TUI_FUZZ_SEED is set).

    protoc is a subprocess, so the inputs are drawn first and compared in one batch afterwards: a
    mismatch is reported with its input bytes, unshrunk.
    """
    out: list[bytes] = []
    conf = settings(max_examples=examples, deadline=None, derandomize=_SEED is None, database=None,
                    suppress_health_check=list(HealthCheck))

    @conf
    @given(strategy)
    def collect(data: bytes) -> None:
        out.append(data)

    if _SEED is not None:
        collect = seed(int(_SEED))(collect)
    collect()
    return out


def _check_raw(inputs: list[bytes], must_be_valid: bool) -> None:
    for data, want in zip(inputs, decode_raw_many(inputs), strict=True):
        got = decode_raw(data)
        if must_be_valid:
            assert want.returncode == 0, (data, want.stderr)
        assert got.ok == (want.returncode == 0), (data, got.error, want.stderr)
        if got.ok:
            assert raw_text(got) == want.text, data
        else:
            assert got.error is not None and 0 <= got.error.offset <= len(data)
            assert got.message.end == got.error.offset


# --------------------------------------------------------------------------------------------------
# Schemaless: protoc --decode_raw


def test_known_shapes() -> None:
    deep = b"\x08\x01"
    for _ in range(12):  # past the print budget: the innermost payloads print as strings
        deep = b"\x12" + bytes([len(deep)]) + deep
    groups = b"\x0b" * 12 + b"\x08\x01" + b"\x0c" * 12
    inputs = [
        b"\x08\x96\x01\x12\x07testing\x1a\x03\x08\x96\x01\x25\x01\x00\x00\x00\x29\x01\x00\x00\x00\x00\x00\x00\x00",
        b"", b"\x12\x00", b"\x12\x01\x00", b"\x12\x02\x08\x01\x0b\x10\x01\x0c",
        b"\x08" + varint(-1), b"\x08" + varint(-(1 << 31)), b"\x08" + b"\xff" * 9 + b"\x7f",  # bits past 64 dropped
        b"\x12\x07\x88\x80\x80\x80\x80\x00\x01",  # a 6-byte tag: fine in a nested payload ...
        b"\x88\x80\x80\x80\x80\x00\x01",  # ... not at the top level
        b"\x88\x80\x80\x80\x10\x01",  # a 5-byte tag keeps its low 32 bits
        b"\x12\x0c\x0a\x85\x80\x80\x80\x80\x01abcde",  # a 6-byte length, nested
        deep, groups, b"\x12" + bytes([len(groups)]) + groups,
        b"\x12\x80\x01" + bytes(range(128)), b"\x12\x03abc\x0a\x01", b"\x08\x01\x0c", b"\x00\x01",
        b"\x0b" * 100 + b"\x0c" * 100, b"\x0b" * 101 + b"\x0c" * 101,  # the top-level group limit
        b"\x0b\x08\x01\x14", b"\x0f\x00", b"\x0e", b"\x08", b"\x09\x01\x02", b"\x15\x01",
    ]
    _check_raw(inputs, must_be_valid=False)


def test_escapes_match_protoc() -> None:
    """Every byte value inside a string, as protoc escapes it: no raw control byte survives."""
    raw = bytes(range(256)) + b"\"'\\"
    data = b"\x0a" + varint(len(raw)) + raw
    (want,) = decode_raw_many([data])
    assert want.returncode == 0
    assert raw_text(decode_raw(data)) == want.text
    assert f'1: "{cescape(raw)}"\n' == want.text
    inner = want.text[4:-2]
    assert all(0x20 <= ord(c) < 0x7F for c in inner)


def test_raw_matches_protoc() -> None:
    _check_raw(draw_inputs(wire_message()), must_be_valid=True)


def test_garbage_matches_protoc() -> None:
    """protoc's verdict on broken bytes is ours, and what it accepts prints the same."""
    _check_raw(draw_inputs(garbage), must_be_valid=False)


def test_broken_input_keeps_its_prefix() -> None:
    good = b"\x08\x01\x12\x03abc\x1b\x08\x02\x1c"
    for cut in range(1, len(good)):
        d = decode_raw(good[:cut])
        ok_prefix = [f for f in d.message.fields if f.wire_type != SGROUP or f.end <= cut]
        assert all(f.end <= cut for f in ok_prefix)
    d = decode_raw(good + b"\x22\x05ab")
    assert not d.ok and d.error is not None
    assert d.error.offset == len(good)
    assert "length 5 runs past the end (2 bytes left)" in d.error.reason
    assert raw_text(d) == '1: 1\n2: "abc"\n3 {\n  1: 2\n}\n'
    d = decode_raw(b"\x08\x01\x1b\x08\x02\x13\x10")
    assert d.error is not None and d.error.path == (3, 2)


# --------------------------------------------------------------------------------------------------
# Bounds


_HOSTILE = {
    "random-1MiB": lambda: os.urandom(1 << 20),
    "groups-100k": lambda: b"\x0b" * 100_000,
    "len-chain": lambda: b"".join(b"\x0a" + varint(10 * (20_000 - i)) for i in range(20_000)),
    "nested-chain": lambda: b"\x0a\xff\xff\x03" * 50_000,
    "strings-256KiB": lambda: (b"\x0a\x05" + b"\x0a\x03\x0a\x01\x00") * 40_000,
}


@pytest.mark.parametrize("name", sorted(_HOSTILE))
def test_bounded(name: str) -> None:
    data = _HOSTILE[name]()
    t0 = time.monotonic()
    d = decode_raw(data)
    raw_text(d)
    assert time.monotonic() - t0 < 20, name
    if name == "strings-256KiB":
        assert d.ok


def test_deadline_keeps_the_top_level() -> None:
    data = (b"\x0a\x05" + b"\x0a\x03\x0a\x01\x00") * 10_000
    d = decode_raw(data, deadline=0.0)
    assert d.ok and d.notes and "stopped" in d.notes[0]
    assert len(d.message.fields) == 10_000
    assert all(f.message is None for f in d.message.fields)


# --------------------------------------------------------------------------------------------------
# Typed: protoc --decode=TYPE


@pytest.fixture(scope="module")
def kitchen() -> tuple[Schema, Path, Any]:
    from google.protobuf import message_factory

    path = descriptor_set("kitchen.proto")
    schema = Schema.load(path)
    cls = message_factory.GetMessageClass(schema.message("kitchen.Sink"))
    return schema, path, cls


def _ext(schema: Schema) -> dict[str, Any]:
    return {n: schema.pool.FindExtensionByName(f"kitchen.{n}") for n in ("ext_i", "ext_s")} | {
        "ext_nested": schema.pool.FindExtensionByName("kitchen.Holder.ext_nested")}


def _check_typed(schema: Schema, path: Path, inputs: list[bytes], must_be_valid: bool) -> None:
    wants = decode_many(path, "kitchen.proto", "kitchen.Sink", inputs)
    for data, want in zip(inputs, wants, strict=True):
        got = decode_typed(data, schema, "kitchen.Sink")
        if must_be_valid:
            assert want.returncode == 0, (data, want.stderr)
        assert got.ok == (want.returncode == 0), (data, got.error, want.stderr)
        if got.ok:
            assert got.message is not None
            assert typed_text(got.message) == want.text, data
            assert annotate(data, schema.message("kitchen.Sink")).failure is None, data
        else:
            assert got.error


def test_typed_matches_protoc(kitchen: tuple[Schema, Path, Any]) -> None:
    """kitchen.Sink messages encoded by protobuf, with unknown fields after them."""
    schema, path, cls = kitchen
    ext = _ext(schema)

    @st.composite
    def sinks(draw: Any) -> bytes:
        msg = cls()
        fill_sink(draw, msg, 0, ext)
        return bytes(msg.SerializeToString()) + draw(unknown_fields())

    _check_typed(schema, path, draw_inputs(sinks(), EXAMPLES // 2), must_be_valid=True)


def test_typed_garbage_matches_protoc(kitchen: tuple[Schema, Path, Any]) -> None:
    schema, path, _ = kitchen
    _check_typed(schema, path, draw_inputs(garbage), must_be_valid=False)


def test_typed_known_shapes(kitchen: tuple[Schema, Path, Any]) -> None:
    schema, path, cls = kitchen
    floats = [0.1, 1e15, 1e16, 1e-7, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, -0.0,
              float("inf"), float("-inf"), float("nan"), 123456789.0, 0.3]
    f32 = [1.4e-45, 1.17549435e-38, 1.1754942e-38, 3.4028235e38, 0.1, 16777216.0, 16777217.0, 1e-40, 100.0]
    inputs = []
    for v in floats:
        inputs.append(cls(db=v, p_db=[v]).SerializeToString())
    for v in f32:
        inputs.append(cls(fl=v).SerializeToString())
    inputs.append(cls(s="caf\u00e9 \u202e\x1b[2J\n", by=bytes(range(256)), m_is={3: "c", -1: "a", 2: "b"},
                      m_bc={True: 2, False: 1}).SerializeToString())
    inputs.append(b"\x80\x01\x05")  # closed enum out of range: an unknown field
    inputs.append(b"\x72\x02\xff\xfe")  # proto2 string, not UTF-8
    inputs.append(b"\xba\x01\x02\x08\x01" * 3)  # a message field thrice: merged
    inputs.append(b"\xcb\x01\xd8\x01\x07\xcc\x01")  # group with a field
    inputs.append(b"\xcb\x01\xd8\x01\x07\xd4\x01")  # group closed by the wrong end tag
    _check_typed(schema, path, inputs, must_be_valid=False)


def test_annotate_names_fields(kitchen: tuple[Schema, Path, Any]) -> None:
    schema, _, cls = kitchen
    msg = cls(i32=-5, s="hi", p_i32=[1, -2], color=2)
    msg.grp.a = 4
    msg.child.s64 = -3
    data = msg.SerializeToString() + tag(500, 2) + b"\x02\x08\x01"
    a = annotate(data, schema.message("kitchen.Sink"))
    assert a.failure is None
    byname = {f.name: f for f in a.message.fields}
    assert byname["i32"].typed == -5 and byname["i32"].type == "int32"
    assert byname["s"].typed == "hi"
    assert byname["p_i32"].typed == [1, -2] and byname["p_i32"].wire_type == LEN
    assert byname["color"].typed == "BLUE"
    grp = byname["Grp"]
    assert grp.message is not None and grp.message.fields[0].name == "a"  # type: ignore[attr-defined]
    child = byname["child"]
    assert child.message is not None and child.message.fields[0].typed == -3  # type: ignore[attr-defined]
    unknown = byname[None]
    assert unknown.number == 500 and unknown.message is not None  # tried as a message, as protoc does
    for f in a.message.fields:
        assert data[f.start : f.end]


def test_schema_errors(tmp_path: Path) -> None:
    from explorer.payload.schema import SchemaError

    bad = tmp_path / "bad.desc"
    bad.write_bytes(b"\xff\xff")
    with pytest.raises(SchemaError, match="not a FileDescriptorSet"):
        Schema.load(bad)
    with pytest.raises(SchemaError, match="cannot read"):
        Schema.load(tmp_path / "missing.desc")
    schema = Schema.load(descriptor_set("orders.proto"))
    with pytest.raises(SchemaError, match=r"did you mean shop\.v1\.Order"):
        schema.message("Order")
    # Without --include_imports the well-known types come from the protobuf package.
    import subprocess

    out = tmp_path / "noimports.desc"
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", f"-I{Path(__file__).parent / 'protos'}",
                    f"-o{out}", "orders.proto"], check=True)
    assert Schema.load(out).message("shop.v1.Order").full_name == "shop.v1.Order"


def test_payload_stands_apart() -> None:
    """explorer.payload is pure functions of bytes: of ours it imports explorer.errors and
    explorer.gcpause (the collector's pause, which knows nothing of cores either) alone."""
    import ast

    root = Path(__file__).resolve().parent.parent / "explorer" / "payload"
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                if name.startswith("explorer"):
                    assert name in ("explorer.errors", "explorer.gcpause") or name.startswith("explorer.payload"), \
                        (path, name)


# --------------------------------------------------------------------------------------------------
# Recognition: compression, JSON, text


def test_recognize_formats() -> None:
    import gzip
    import zlib

    import zstandard

    from explorer.payload.detect import recognize
    from explorer.render.payload import recognized_lines

    msg = b"\x08\x96\x01\x12\x07testing"
    assert recognize(msg).format == "protobuf"
    for packed, kind in ((gzip.compress(msg), "gzip"), (zlib.compress(msg), "zlib"),
                         (zstandard.ZstdCompressor().compress(msg), "zstd"),
                         (gzip.compress(zstandard.ZstdCompressor().compress(msg)), "gzip")):
        rec = recognize(packed)
        assert rec.format == "protobuf" and rec.data == msg and rec.layers[0].kind == kind, kind
        assert raw_text(rec.raw) == '1: 150\n2: "testing"\n'  # type: ignore[arg-type]
    # two gzip members are one stream; a cut stream is not compressed data
    rec = recognize(gzip.compress(b"hello ") + gzip.compress(b"world\n"))
    assert rec.format == "text" and rec.text == "hello world\n"
    assert recognize(gzip.compress(msg)[:-4]).layers == []
    # JSON as it was written: order, duplicate keys and the digits of numbers kept
    rec = recognize(b' {"b": 1.50, "a": [true, null, 12345678901234567890], "b": "\\u001b\xe2\x80\xae"}')
    assert rec.format == "json"
    assert rec.text == ('{\n  "b": 1.50,\n  "a": [\n    true,\n    null,\n    12345678901234567890\n  ],\n'
                        '  "b": "\\u001b\\u202e"\n}')
    assert recognize(b"[]").text == "[]" and recognize(b"42").format == "text"  # a bare number is text
    assert recognize(b"42", "json").text == "42"
    assert recognize(b'{"a": NaN}').format == "text"  # not JSON
    # text; two spaces are a valid message (field 4 = 32) but read as text
    assert recognize(b"  ").format == "text"
    assert recognize("caf\u00e9\n\tok".encode()).format == "text"
    rec = recognize(b"log line \x1b[31mred\x1b[0m and more text to make the controls rare enough\n")
    assert rec.format == "text"
    assert "\x1b" not in "\n".join(recognized_lines(rec))
    assert recognize(bytes(range(256))).format == "hex"
    assert recognize(b"").format == "hex"
    lines = recognized_lines(recognize(b"\x00\x01AB" * 5))
    assert lines == ["00000000  00 01 41 42 00 01 41 42  00 01 41 42 00 01 41 42 |..AB..AB..AB..AB|",
                     "00000010  00 01 41 42                                      |..AB|"]


def test_decompression_is_bounded() -> None:
    import gzip

    import zstandard

    from explorer.payload.detect import recognize

    bomb = b"\0" * (100 << 20)
    for packed in (gzip.compress(bomb, 9), zstandard.ZstdCompressor(level=19).compress(bomb)):
        t0 = time.monotonic()
        rec = recognize(packed, limit=1 << 20)
        assert time.monotonic() - t0 < 20
        assert len(rec.data) == 1 << 20 and rec.layers[0].cut
        assert "stopped at the size bound" in rec.notes[0]


def test_interpretations() -> None:
    from explorer.render.payload import interpretations

    d = decode_raw(b"\x08" + varint(-2) + b"\x15\x00\x00\x80\x3f"  # -2, 1.0f
                   + b"\x19\x00\x00\x00\x00\x00\x00\x04\x40" + b"\x20\x03")  # 2.5, 3
    v, f32, f64, small = d.message.fields
    assert dict(interpretations(v)) == {"uint64": str((1 << 64) - 2), "int64": "-2",
                                        "sint64 (zigzag)": "9223372036854775807", "int32": "-2"}
    assert dict(interpretations(f32))["float"] == "1"
    assert dict(interpretations(f64))["double"] == "2.5"
    assert dict(interpretations(small))["sint64 (zigzag)"] == "-2"


def test_any_bytes_render() -> None:
    """Whatever the bytes, recognition and every rendering give a result, within a time bound."""
    import gzip

    from explorer.payload.detect import recognize
    from explorer.render.payload import field_details, field_summary, fields_json, recognized_lines

    inputs = draw_inputs(st.one_of(garbage, wire_message(), garbage.map(gzip.compress)), EXAMPLES // 2)
    inputs += [b"[" * 100_000, b'{"a":' * 50_000, b"\xef\xbb\xbf{}", b"\x1f\x8b" + bytes(30)]
    for data in inputs:
        t0 = time.monotonic()
        for fmt in ("auto", "protobuf", "json", "text", "hex"):
            rec = recognize(data, fmt)
            lines = recognized_lines(rec)
            assert all(line.isprintable() for line in lines), (data, fmt)
            if rec.raw is not None:
                fields_json(rec.data, rec.raw.message)
                for f in rec.raw.message.fields:
                    assert field_summary(rec.data, f).isprintable()
                    assert all(t.isprintable() for _, t in field_details(rec.data, f))
        assert time.monotonic() - t0 < 10, data


def test_typed_failure_says_where() -> None:
    """Bytes protoc --decode refuses: we refuse them too, and say where and why."""
    path = descriptor_set("orders.proto")
    schema = Schema.load(path)
    cases = {
        b"\x08\x01\x12\x02\xff\xfe": "at offset 2: customer: invalid UTF-8 at byte 0",  # proto3 string
        b"\x08\x01\x1a\x03\x08\x01\x0c": "at offset 6 (inside field 3): end-group tag",  # items: not a LineItem
        b"\x08\x01\x1a\x05\x0a\x07abc": "(inside field 3): field 1: length 7 runs past the end",
        b"\x3a\x02\x80\x80": "adjustments: packed int32: varint at offset 2 cut short",
    }
    wants = decode_many(path, "orders.proto", "shop.v1.Order", list(cases))
    for (data, why), want in zip(cases.items(), wants, strict=True):
        assert want.returncode != 0, (data, want.text)
        got = decode_typed(data, schema, "shop.v1.Order")
        assert not got.ok and got.error is not None and why in got.error, (data, got.error)
