"""The value commands: ``vars`` (``args``, ``locals``), ``print``, ``x`` and ``save`` (contract: docs/CLI.md)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from explorer.cli_common import emit_json, open_process, resolve_frame, resolve_goroutine
from explorer.errors import ExplorerError
from explorer.render.text import safe

if TYPE_CHECKING:
    from explorer.goruntime.goroutines import Goroutine
    from explorer.goruntime.process import GoProcess

#: ``x`` without ``-n``: bytes shown at a bare address, and at most for a value's bytes.
X_DEFAULT_LEN = 64
X_MAX_DEFAULT = 1024
#: ``x -n`` at most.
X_MAX_LEN = 1 << 24


def _goroutine(proc: GoProcess, args: argparse.Namespace) -> Goroutine | None:
    """The goroutine ``-g`` names, else the crashing one; None when there is none (globals only)."""
    if args.goroutine is None and proc.crashed_goroutine is None:
        return None
    return resolve_goroutine(proc, args.goroutine)


def _frame_header(proc: GoProcess, g: Goroutine, frame_index: int) -> str:
    from explorer.goruntime.variables import select_frame

    f = select_frame(proc, g, frame_index)
    return (f"goroutine {g.id} frame {f.index}: {safe(f.function)}{'(...)' if f.inlined else ''} "
            f"{safe(f.file)}:{f.line}")


def cmd_vars(args: argparse.Namespace) -> int:
    from explorer.goruntime.variables import frame_variables
    from explorer.render.valuejson import variable_json
    from explorer.render.values import format_variable

    with open_process(args) as proc:
        g = resolve_goroutine(proc, args.goroutine)
        args.frame = resolve_frame(proc, g, args.frame)
        variables = frame_variables(proc, g, args.frame)
        # vars: both; args and locals (delve's words): one kind.
        kinds: tuple[str, ...] = {"args": ("arg",), "locals": ("local",)}.get(getattr(args, "command", "vars"),
                                                                             ("arg", "local"))
        variables = [v for v in variables if v.kind in kinds]
        if args.json:
            emit_json([variable_json(v) for v in variables])
            return 0
        print(_frame_header(proc, g, args.frame))
        if not variables:
            what = {"args": "arguments", "locals": "locals"}.get(getattr(args, "command", "vars"), "variables")
            print(f"(no {what}: DWARF describes none at this pc)")
        for kind, title in (("arg", "arguments"), ("local", "locals")):
            group = [v for v in variables if v.kind == kind]
            if group:
                print(f"{title}:")
                for v in group:
                    print("  " + safe(format_variable(v)))
    return 0


def cmd_print(args: argparse.Namespace) -> int:
    from explorer.goruntime.expr import evaluate
    from explorer.render.valuejson import value_json
    from explorer.render.values import pretty

    with open_process(args) as proc:
        g = _goroutine(proc, args)
        value = evaluate(proc, args.expr, g, resolve_frame(proc, g, args.frame))
        if getattr(args, "as_", None) or getattr(args, "proto", None):  # print EXPR --as protobuf
            from explorer.cli_decode import print_as

            if args.as_ is None:
                args.as_ = "protobuf"
            return print_as(proc, value, args)
        if args.json:
            emit_json(value_json(value))
        else:
            print(safe(pretty(value), keep_newlines=True))  # strings are Go-quoted; names are not
    return 0


def _x_range(proc: GoProcess, args: argparse.Namespace) -> tuple[int, int, str]:
    from explorer.goruntime.expr import evaluate, parse_address, parse_range, value_bytes

    target = args.target
    length = args.length
    if length is not None and not 0 <= length <= X_MAX_LEN:
        raise ExplorerError(f"-n {length}: the length must be between 0 and {X_MAX_LEN}")
    rng = parse_range(target)
    if rng is not None:
        return rng[0], length if length is not None else rng[1], ""
    addr = parse_address(target)
    if addr is not None:
        return addr, length if length is not None else X_DEFAULT_LEN, ""
    g = _goroutine(proc, args)
    value = evaluate(proc, target, g, resolve_frame(proc, g, args.frame))
    start, size = value_bytes(value, target, "show")
    note = f"{safe(target)}: {safe(value.type_name)}, {size} bytes at {start:#x}"
    if length is not None:
        return start, length, note
    if size == 0 and value.kind == "ptr":
        size = X_DEFAULT_LEN
    if size > X_MAX_DEFAULT:
        note += f" (showing the first {X_MAX_DEFAULT}: use -n for more)"
        size = X_MAX_DEFAULT
    return start, size, note


def cmd_x(args: argparse.Namespace) -> int:
    from explorer.render.hexdump import hexdump_stream

    with open_process(args) as proc:
        addr, size, note = _x_range(proc, args)
        if addr + size > 1 << 64:  # the address space ends at 2**64
            size = max(0, (1 << 64) - addr)
            note = (note + "; " if note else "") + "cut at the end of the address space"
        if note:
            print(note)
        if size == 0:
            print("(0 bytes)")
            return 0
        # Streamed in batches of lines (16 MiB is a million lines, never held at once); the lines are
        # ASCII by construction, the note on missing bytes sanitized by hexdump_stream.
        batch: list[str] = []
        for line in hexdump_stream(proc.memory, addr, size):
            batch.append(line)
            if len(batch) >= 4096:
                batch.append("")
                sys.stdout.write("\n".join(batch))
                batch = []
        if batch:
            batch.append("")
            sys.stdout.write("\n".join(batch))
    return 0


def cmd_save(args: argparse.Namespace) -> int:
    from explorer.goruntime.expr import parse_range, read_bytes_for
    from explorer.goruntime.save import fd_of_path, save_bytes

    with open_process(args) as proc:
        if parse_range(args.target) is not None:
            g = None
        else:
            g = _goroutine(proc, args)
        addr, size = read_bytes_for(proc, args.target, g, resolve_frame(proc, g, args.frame))
        n = save_bytes(proc, addr, size, args.output, force=args.force)
        # With -o - (or /dev/stdout) the data is on stdout: the report goes to stderr.
        print(f"wrote {n} bytes ({addr:#x}..{addr + size:#x}) to {safe(args.output)}",
              file=sys.stderr if fd_of_path(args.output) == 1 else sys.stdout)
    return 0
