"""The machine-level commands, in delve's words: ``regs [-a]``, ``threads``, ``thread N``,
``list [LOCATION]`` and ``disassemble [-a START END | -l LOCATION]`` (contract: docs/CLI.md).

Each opens the model (explorer.goruntime.machine, explorer.goruntime.locations), asks it, and
prints the text explorer.render.inspect makes, or JSON.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from explorer.cli_common import emit_json, open_process, resolve_frame, resolve_goroutine
from explorer.errors import ExplorerError
from explorer.render.text import safe

if TYPE_CHECKING:
    from explorer.goruntime.goroutines import Goroutine
    from explorer.goruntime.process import GoProcess
    from explorer.goruntime.unwind import Frame

Adder = Callable[[argparse.ArgumentParser], None]


def _int(text: str) -> int:
    """An address or a number: ``0x4a0d60``, ``4853088``, ``0o...``."""
    try:
        return int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def add_parsers(sub: Any, add_inputs: Adder, add_where: Adder, add_json: Adder) -> None:
    """Register ``regs``, ``threads``, ``thread``, ``list`` and ``disassemble``."""
    p = sub.add_parser("regs", help="registers of a frame, as unwound (frame 0: the thread's)")
    add_inputs(p)
    add_where(p)
    p.add_argument("-a", dest="all", action="store_true",
                   help="every register the core holds there: segment, x87/SSE or SIMD registers too")
    add_json(p)

    p = sub.add_parser("threads", help="every thread (LWP) of the core: pc, sp, goroutine, signal, function")
    add_inputs(p)
    add_json(p)

    p = sub.add_parser("thread", help="one thread: its registers and its own stack, signal frames included")
    add_inputs(p)
    p.add_argument("lwp", metavar="LWP", type=int, help="the thread's id, as threads lists it")
    p.add_argument("-a", dest="all", action="store_true", help="every register the core holds for it")
    add_json(p)

    p = sub.add_parser("list", help="source around a frame's line, or around LOCATION")
    add_inputs(p)
    add_where(p)
    p.add_argument("location", metavar="LOCATION", nargs="?", default=None,
                   help="FUNC, FUNC:LINE, FILE:LINE, LINE, +N, -N or *ADDR (default: the frame's line)")
    p.add_argument("--substitute-path", action="append", default=[], metavar="FROM=TO",
                   help="find sources under TO instead of FROM (as delve's substitute-path; repeatable)")
    add_json(p)

    p = sub.add_parser("disassemble", help="disassembly of a frame's function, a location's, or an address range")
    add_inputs(p)
    add_where(p)
    how = p.add_mutually_exclusive_group()
    how.add_argument("-a", dest="range", nargs=2, metavar=("START", "END"), type=_int,
                     help="the instructions in [START, END)")
    how.add_argument("-l", dest="location", metavar="LOCATION",
                     help="the function holding LOCATION (FUNC, FILE:LINE, *ADDR, ...)")
    add_json(p)


# -- helpers ---------------------------------------------------------------------------------------


def _frames(proc: GoProcess, args: argparse.Namespace) -> tuple[Goroutine, list[Frame], int]:
    """The goroutine ``-g`` names (or the crashing one), its frames and the frame ``-f`` names (or
    the selected one)."""
    g = resolve_goroutine(proc, args.goroutine)
    frames = list(proc.backtrace(g).frames)
    if not frames:
        raise ExplorerError(f"goroutine {g.id} has no frames")
    index = resolve_frame(proc, g, args.frame)
    if not 0 <= index < len(frames):
        raise ExplorerError(f"no frame {index}: goroutine {g.id} has frames 0..{len(frames) - 1}")
    return g, frames, index


def _optional_frames(proc: GoProcess, args: argparse.Namespace) -> tuple[list[Frame], int] | None:
    """As :func:`_frames`, or None when no goroutine was asked for and none crashed (a location
    given in full needs none)."""
    if args.goroutine is None and proc.crashed_goroutine is None:
        return None
    _g, frames, index = _frames(proc, args)
    return frames, index


def _describer(proc: GoProcess) -> Callable[[int], str | None]:
    """pc → ``function+0xoff file:line`` (None outside every function)."""
    from explorer.render.inspect import describe_pc

    def describe(pc: int) -> str | None:
        try:
            pcln = proc.pclntab  # a damaged .gopclntab: registers are still shown, undescribed
        except ExplorerError:
            return None
        return describe_pc(pcln, pc)

    return describe


def _shift_binary(args: argparse.Namespace, name: str) -> None:
    """``list CORE main.go:12``: with BINARY left out, argparse gives the optional trailing word to
    BINARY. A word that is not an existing file is that trailing argument."""
    if getattr(args, name) is None and args.binary is not None and not os.path.isfile(args.binary):
        setattr(args, name, args.binary)
        args.binary = None


def _code_regs(proc: GoProcess) -> tuple[str, ...]:
    from explorer.render.inspect import code_registers

    return code_registers(proc.core.arch_desc)


# -- commands --------------------------------------------------------------------------------------


def cmd_regs(args: argparse.Namespace) -> int:
    from explorer.goruntime.machine import frame_registers
    from explorer.render.inspect import register_lines

    with open_process(args) as proc:
        g, frames, index = _frames(proc, args)
        regs = frame_registers(proc, frames, index, extra=args.all)
        if args.json:
            emit_json(regs)
            return 0
        f = frames[index]
        exact = "" if f.regs else " (as unwound: only what the unwinder knows)"
        print(f"goroutine {g.id} frame {index}: {safe(f.function)}{exact}")
        for line in register_lines(regs, _describer(proc), _code_regs(proc)):
            print(line)
    return 0


def cmd_threads(args: argparse.Namespace) -> int:
    from explorer.goruntime.machine import thread_dict, thread_views
    from explorer.render.inspect import thread_lines

    with open_process(args) as proc:
        views = thread_views(proc)
        if args.json:
            emit_json([thread_dict(proc, tv) for tv in views])
            return 0
        for line in thread_lines(views, _describer(proc)):
            print(line)
    return 0


def cmd_thread(args: argparse.Namespace) -> int:
    from explorer.goruntime.machine import frame_registers, thread_dict, thread_view
    from explorer.render.inspect import frame_lines, register_lines, signal_name

    with open_process(args) as proc:
        tv = thread_view(proc, args.lwp)
        frames = tv.backtrace.frames
        regs = frame_registers(proc, frames, 0, extra=args.all) if frames else dict(tv.info.regs)
        if args.json:
            d = thread_dict(proc, tv)
            d["registers"] = regs
            emit_json(d)
            return 0
        g = f"goroutine {tv.goroutine}" if tv.goroutine is not None else "no goroutine"
        sig = f", in a {signal_name(tv.signal)} handler" if tv.signal is not None else ""
        print(f"thread {tv.lwp}{' (crashed)' if tv.crashed else ''}: {g}, on its {tv.on} stack{sig}")
        for line in register_lines(regs, _describer(proc), _code_regs(proc)):
            print(line)
        print()
        for line in frame_lines(frames):
            print(line)
        if tv.backtrace.error:
            print(f"...backtrace stopped: {safe(tv.backtrace.error)}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from explorer.goruntime.locations import resolve
    from explorer.render.inspect import source_lines
    from explorer.render.source import SourceFinder, parse_rule

    _shift_binary(args, "location")
    rules = [parse_rule(r) for r in args.substitute_path]
    with open_process(args) as proc:
        need_frame = args.location is None or _relative(args.location)
        try:
            where = _optional_frames(proc, args)
        except ExplorerError:
            if need_frame or args.goroutine is not None or args.frame is not None:
                raise
            where = None  # a location given in full needs no frame
        current = where[0][where[1]] if where is not None else None
        function: str | None
        if args.location is None:
            if current is None:
                raise ExplorerError("no goroutine crashed: pass -g ID, or a LOCATION")
            file, line, function = current.file, current.line, current.function
        else:
            loc = resolve(proc.pclntab, args.location, current)
            file, line, function = loc.file, loc.line, loc.function
        src = SourceFinder(rules).load(file)
        if not 1 <= line <= len(src.lines):
            raise ExplorerError(f"{file} has {len(src.lines)} lines, not {line}")
        mark = current.line if current is not None and current.file == file else None
        first, last, lines = source_lines(src, line, current=mark)
        if args.json:
            emit_json({"file": file, "path": str(src.path), "line": line, "function": function, "first": first,
                       "last": last, "current": mark,
                       "lines": [{"line": i, "text": src.lines[i - 1]} for i in range(first, last + 1)]})
            return 0
        print(f"Showing {safe(str(src.path))}:{line}")
        for text in lines:
            print(text)
    return 0


def _relative(spec: str) -> bool:
    """LINE, +N, -N: a location in the current frame's file."""
    s = spec.strip()
    return s.isdigit() or (s[:1] in "+-" and s[1:].isdigit())


def cmd_disassemble(args: argparse.Namespace) -> int:
    from explorer.goruntime.locations import code_at, resolve
    from explorer.render.disasm import SymbolIndex, disassemble, disassemble_range
    from explorer.render.inspect import disassembly_lines

    with open_process(args) as proc:
        pcln = proc.pclntab
        symbols = SymbolIndex(proc.exe.symbols, proc.pie_bias)
        current: int | None = None
        if args.range is not None:
            parts = disassemble_range(proc.memory.read, pcln, args.range[0], args.range[1], proc.arch, symbols)
            where = _optional_frames(proc, args)
            if where is not None:
                current = where[0][where[1]].sym_pc or where[0][where[1]].pc
        else:
            if args.location is not None:
                where = _optional_frames(proc, args) if _relative(args.location) else None
                loc = resolve(pcln, args.location, where[0][where[1]] if where is not None else None)
                pc = code_at(pcln, loc)
                if loc.pc is not None:
                    current = loc.pc
            else:
                _g, frames, index = _frames(proc, args)
                f = frames[index]
                # The instruction the frame is at: for a caller, the call (its pc is the return
                # address after it), as the TUI's pane marks it.
                pc = current = f.sym_pc or f.pc
            fn = pcln.find_func(pc)
            if fn is None:
                raise ExplorerError(f"no function at {pc:#x}")
            parts = [(fn, disassemble(proc.memory.read, pcln, fn, proc.arch, symbols))]
        if args.json:
            emit_json(_disassembly_json(proc, parts, current))
        else:
            rows = [(listing.function, pcln.file_line(fn, fn.entry)[0], listing.lines) for fn, listing in parts]
            for line in disassembly_lines(rows, current):
                print(line)
        errors = [f"{listing.function}: {listing.error}" for _fn, listing in parts if listing.error]
        for e in errors:
            print(f"gocore-tui: {safe(e)}", file=sys.stderr)
    return 0


def _disassembly_json(proc: GoProcess, parts: list[Any], current: int | None) -> dict[str, Any]:
    instructions = []
    for _fn, listing in parts:
        for ln in listing.lines:
            instructions.append({
                "address": ln.address, "size": ln.size, "bytes": ln.raw.hex(), "mnemonic": ln.mnemonic,
                "operands": ln.operands, "target": ln.target, "target_name": ln.target_name,
                "function": listing.function, "file": ln.file, "line": ln.line,
                "current": current is not None and ln.address <= current < ln.address + ln.size,
            })
    return {"arch": proc.arch, "current": current,
            "functions": [{"name": listing.function, "entry": listing.entry, "end": listing.end,
                           "error": listing.error} for _fn, listing in parts],
            "instructions": instructions}
