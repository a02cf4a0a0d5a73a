"""``decode`` (and ``print EXPR --as FORMAT``): the bytes behind a value, read as protobuf, JSON,
text or hex, compression peeled first (contract: docs/CLI.md).

``--as protobuf`` prints exactly what ``protoc --decode_raw`` prints for the same bytes; with
``--proto DESCRIPTOR_SET --type NAME``, what ``protoc --decode=NAME`` prints. Bytes that are not what
was asked for give what could be read (a message's valid prefix), where and why it broke on stderr,
and exit status 1. ``--json`` gives the decoded tree. Notes (a compression layer peeled, a value
only partly held by the core) go to stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from explorer.errors import ExplorerError
from explorer.render.text import safe

#: Bytes ``decode`` reads at most (a bigger value: give ADDR:LEN for a part of it).
MAX_DECODE = 64 << 20

FORMATS = ("auto", "protobuf", "json", "text", "hex")


def add_format_options(p: argparse.ArgumentParser) -> None:
    """``--as``, ``--proto``, ``--type`` (decode, and print). The parser is kept in the parsed
    arguments, so that a bad combination is reported as bad usage (exit 2) by the parser itself."""
    p.set_defaults(format_parser=p)
    p.add_argument("--as", dest="as_", choices=FORMATS, default=None,
                   help="read the bytes as this format (default for decode: auto)")
    p.add_argument("--proto", metavar="DESCRIPTOR_SET",
                   help="a FileDescriptorSet (protoc -o / buf build -o) for typed protobuf decoding")
    p.add_argument("--type", dest="msg_type", metavar="FULL.MESSAGE.NAME", help="the message type in --proto")


def add_parser(sub: Any, add_inputs: Callable[[argparse.ArgumentParser], None],
               add_where: Callable[[argparse.ArgumentParser], None]) -> None:
    """Register ``decode`` on the command line's subparsers (``add_inputs``: CORE [BINARY];
    ``add_where``: -g and -f)."""
    p = sub.add_parser("decode", help="decode the bytes behind a value (or ADDR:LEN): protobuf, JSON, text, "
                                      "compressed payloads")
    add_inputs(p)
    add_where(p)
    p.add_argument("target", metavar="EXPR|ADDR:LEN", help="an expression whose bytes to decode, or a raw range")
    add_format_options(p)
    p.add_argument("--json", action="store_true", help="print the decoded tree as JSON (docs/CLI.md)")


def _check_options(args: argparse.Namespace) -> None:
    parser: argparse.ArgumentParser = args.format_parser
    if bool(args.proto) != bool(args.msg_type):
        parser.error("--proto and --type go together")
    if args.proto and (args.as_ or "auto") not in ("auto", "protobuf"):
        parser.error(f"--proto decodes protobuf, not {args.as_}")


def _load_schema(args: argparse.Namespace) -> Any:
    if not args.proto:
        return None
    from explorer.payload.schema import Schema

    schema = Schema.load(args.proto)
    schema.message(args.msg_type)  # a clear error before the core is opened
    return schema


def read_range(proc: Any, addr: int, size: int, label: str) -> tuple[bytes, list[str]]:
    """The bytes at [addr, addr+size) the core holds (a prefix, with a note, when it holds only part)."""
    if size > MAX_DECODE:
        raise ExplorerError(f"{label}: {size} bytes; decode reads at most {MAX_DECODE} (give ADDR:LEN for a part)")
    n = proc.memory.readable_prefix(addr, size) if size else 0
    if size and n == 0:
        raise ExplorerError(f"{label}: cannot read {size} bytes at {addr:#x}: {proc.memory.why_unreadable(addr)}")
    notes = []
    if n < size:
        notes.append(f"the core holds only the first {n} of {size} bytes at {addr:#x} "
                     f"({proc.memory.why_unreadable(addr + n)}): decoding those")
    return proc.memory.read(addr, n), notes


def cmd_decode(args: argparse.Namespace) -> int:
    from explorer.cli_common import open_process, resolve_frame, resolve_goroutine
    from explorer.goruntime.expr import evaluate, parse_range, value_bytes

    _check_options(args)
    schema = _load_schema(args)
    with open_process(args) as proc:
        rng = parse_range(args.target)
        if rng is not None:
            addr, size = rng
        else:
            g = None
            if args.goroutine is not None or proc.crashed_goroutine is not None:
                g = resolve_goroutine(proc, args.goroutine)
            value = evaluate(proc, args.target, g, resolve_frame(proc, g, args.frame))
            addr, size = value_bytes(value, args.target, "decode")
        data, notes = read_range(proc, addr, size, args.target)
    return emit(data, args.as_ or "auto", schema, args.msg_type, as_json=args.json, notes=notes,
                source={"address": addr, "size": size})


def print_as(proc: Any, value: Any, args: argparse.Namespace) -> int:
    """``print EXPR --as FORMAT``: a string's or a byte slice's (or array's) bytes, decoded."""
    from explorer.goruntime.expr import value_bytes

    _check_options(args)
    byteish = value.kind in ("slice", "array") and value.elem_type in ("uint8", "byte", "int8")
    if value.kind != "string" and not byteish:
        raise ExplorerError(f"{args.expr} is {value.type_name}: --as decodes a string, a []byte or a byte array")
    schema = _load_schema(args)
    addr, size = value_bytes(value, args.expr, "decode")
    data, notes = read_range(proc, addr, size, args.expr)
    return emit(data, args.as_, schema, args.msg_type, as_json=args.json, notes=notes,
                source={"address": addr, "size": size})


def _note(text: str) -> None:
    print(f"gocore-tui: note: {safe(text)}", file=sys.stderr)


def _fail(text: str) -> int:
    print(f"gocore-tui: {safe(text)}", file=sys.stderr)
    return 1


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def emit(data: bytes, fmt: str, schema: Any, type_name: str | None, *, as_json: bool,
         notes: list[str], source: dict[str, Any]) -> int:
    """Decode ``data`` as ``fmt`` and print it (text or JSON); the exit status."""
    from explorer.cli_common import emit_json
    from explorer.payload.detect import recognize
    from explorer.render.payload import fields_json, raw_text, recognized_lines

    rec = recognize(data, "protobuf" if schema is not None else fmt)
    notes = notes + rec.notes
    out: dict[str, Any] = {"format": rec.format, **source, "length": len(rec.data),
                           "compression": [{"kind": x.kind, "compressed": x.compressed, "size": x.size, "cut": x.cut}
                                           for x in rec.layers]}
    failure: str | None = None
    text: str
    if rec.format == "protobuf" and rec.raw is not None:
        typed = _typed(rec.data, schema, type_name) if schema is not None else None
        if typed is not None:
            out["type"] = typed[0]
            out["fields"] = fields_json(rec.data, typed[1].message)
            failure = typed[2]
            text = typed[3] if failure is None else raw_text(rec.raw)
            if failure is not None:
                failure += "; shown without the schema" if rec.raw.ok else ""
        else:
            out["fields"] = fields_json(rec.data, rec.raw.message)
            text = raw_text(rec.raw)
        if rec.raw.error is not None and failure is None:
            failure = f"not a valid protobuf message: {rec.raw.error.describe()}"
            if rec.raw.message.fields:
                failure += f" (the {rec.raw.error.offset} bytes before it decode as shown)"
        out["error"] = failure
    elif rec.format in ("json", "text") and rec.text is not None:
        out["text"] = rec.text
        text = "\n".join(recognized_lines(rec)) + "\n"
    else:
        if fmt == "json":
            failure = "not JSON"
        out["hex"] = rec.data.hex()
        lines = recognized_lines(rec) if rec.format != "json" else []
        text = "\n".join(lines) + "\n" if lines else ""
    if notes:
        out["notes"] = notes
    for n in notes:
        _note(n)
    if as_json:
        emit_json(out)
    else:
        _write(text)
    return _fail(failure) if failure else 0


def _typed(data: bytes, schema: Any, type_name: str | None) -> tuple[str, Any, str | None, str]:
    """(type, annotated tree, failure or None, protoc --decode text) of ``data`` as ``type_name``."""
    from explorer.payload.annotate import annotate
    from explorer.payload.typed import decode_typed
    from explorer.render.payload import typed_text

    assert type_name is not None
    desc = schema.message(type_name)
    tree = annotate(data, desc)
    result = decode_typed(data, schema, type_name)
    if result.message is None:
        return desc.full_name, tree, result.error or f"not a valid {desc.full_name}", ""
    return desc.full_name, tree, None, typed_text(result.message)

