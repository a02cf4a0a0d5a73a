"""The ``gocore-tui`` command line (contract: docs/CLI.md).

Exit status: 0 done; 1 the input could not be read or the request failed (one clear line on stderr,
never a traceback); 2 bad usage. Text and ``--json`` output come from the same model calls. Textual
is imported only when the TUI starts, so scripted commands start fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any

from explorer.cli_common import UsageError
from explorer.errors import ExplorerError, Interrupted
from explorer.render.text import safe, safe_output

COMMANDS = ("info", "goroutines", "bt", "stack", "vars", "args", "locals", "print", "x", "save", "decode", "regs",
            "threads", "thread", "list", "disassemble", "heap", "pprof", "demo", "tui")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def _add_inputs(p: argparse.ArgumentParser) -> None:
    p.add_argument("core", metavar="CORE", help="core file (may be .zst/.xz compressed)")
    p.add_argument("binary", metavar="BINARY", nargs="?", help="the executable (default: the one the core names)")


def _add_goroutine(p: argparse.ArgumentParser) -> None:
    p.add_argument("-g", dest="goroutine", type=int, metavar="ID",
                   help="goroutine id (default: the one running on the thread that received the fatal signal)")


def _add_frame(p: argparse.ArgumentParser) -> None:
    p.add_argument("-f", dest="frame", type=int, default=None, metavar="N",
                   help="frame number, as bt numbers them (default: the goroutine's innermost frame in the "
                        "program's own code, where the TUI opens; bt marks it)")


def _add_where(p: argparse.ArgumentParser) -> None:
    """``-g ID -f N``: which goroutine and frame a command looks at."""
    _add_goroutine(p)
    _add_frame(p)


def _depth(text: str) -> int:
    """``bt``/``stack`` N: frames 0 to N, so N >= 0 (a negative one is bad usage)."""
    n = int(text)
    if n < 0:
        raise argparse.ArgumentTypeError(f"{n}: must not be negative")
    return n


def _add_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON (docs/CLI.md)")


#: ``gocore-tui --help``: the TUI's form first (it is the default command), then the commands.
USAGE = """gocore-tui CORE [BINARY] [-g ID] [-f N] [--substitute-path FROM=TO]
       gocore-tui demo
       gocore-tui COMMAND CORE [BINARY] [OPTIONS]   (gocore-tui COMMAND --help for its options)"""
DESCRIPTION = """Post-mortem debugger for Go core dumps.

Without a command, opens the TUI on CORE (and BINARY; the two in either order, without BINARY the
executable the core names): -g ID selects a goroutine (default: the crashing one), -f N a frame of it
(default: its innermost frame in the program's own code), --substitute-path FROM=TO rewrites source
paths as delve's option does (repeatable). The JSON of every command: docs/CLI.md."""


def build_parser() -> _Parser:
    from explorer.cli_decode import add_format_options
    from explorer.cli_decode import add_parser as add_decode_parser

    root = _Parser(prog="gocore-tui", usage=USAGE, description=DESCRIPTION,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    # prog: argparse would otherwise name each command by the root's (three-line) usage, and every
    # usage error would print all of it.
    sub = root.add_subparsers(dest="command", parser_class=_Parser, title="commands", metavar="COMMAND",
                              help="what to do (the TUI without one)", prog="gocore-tui")

    p = sub.add_parser("info", help="summary of the core: program, Go version, signal, threads, goroutines")
    _add_inputs(p)
    _add_json(p)

    p = sub.add_parser("goroutines", help="list goroutines")
    _add_inputs(p)
    _add_json(p)
    p.add_argument("--stacks", action="store_true", help="include every goroutine's backtrace")
    p.add_argument("--group", action="store_true", help="collapse goroutines with the same stack")
    p.add_argument("--filter", metavar="TEXT",
                   help="only goroutines whose stack, status, wait reason or pprof labels (key=value) match")
    from explorer.cli_commands import add_label_options
    add_label_options(p)
    p.add_argument("--format", choices=("text", "traceback"), default="text",
                   help="traceback: print the core as a GOTRACEBACK=all traceback")

    for name, helptext in (("bt", "backtrace of a goroutine, its frames numbered (=> marks the selected one)"),
                           ("stack", "bt; stack N: frames 0 to N only (delve's stack [N])")):
        p = sub.add_parser(name, help=helptext)
        _add_inputs(p)
        _add_goroutine(p)
        p.add_argument("depth", metavar="N", nargs="?", type=_depth, default=None,
                       help="show frames 0 to N only, as delve's stack N (default: all)")
        _add_json(p)

    for name, helptext in (("vars", "arguments and locals of a frame"), ("args", "arguments of a frame"),
                           ("locals", "locals of a frame"), ("print", "evaluate an expression")):
        p = sub.add_parser(name, help=helptext)
        _add_inputs(p)
        _add_where(p)
        _add_json(p)
        if name == "print":
            p.add_argument("expr", metavar="EXPR", help="a Go expression (docs/CLI.md: Expressions)")
            add_format_options(p)  # print EXPR --as protobuf ...

    p = sub.add_parser("x", help="hex dump at an address or a value's base")
    _add_inputs(p)
    _add_where(p)
    p.add_argument("target", metavar="ADDR|EXPR",
                   help="an address (0x...), ADDR:LEN, or an expression whose bytes to show")
    p.add_argument("-n", dest="length", type=lambda s: int(s, 0), default=None, metavar="LEN",
                   help="bytes to show (default: the value's size, at most 1024; 64 at a bare address)")

    p = sub.add_parser("save", help="write the bytes behind a value (or ADDR:LEN) to a file")
    _add_inputs(p)
    _add_where(p)
    p.add_argument("target", metavar="EXPR|ADDR:LEN", help="an expression whose bytes to write, or a raw range")
    p.add_argument("-o", dest="output", required=True, metavar="FILE|-",
                   help="a new file, an existing one with --force, a FIFO or device (written through), or - "
                        "for standard output")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")

    add_decode_parser(sub, _add_inputs, _add_where)

    from explorer.cli_inspect import add_parsers as add_inspect_parsers

    add_inspect_parsers(sub, _add_inputs, _add_where, _add_json)

    p = sub.add_parser("heap", help="the heap: objects, bytes, reachability, types, who holds an object")
    p.add_argument("words", metavar="CORE [BINARY] [objects TYPE | refs ADDR | path ADDR]", nargs="+",
                   help="the inputs, then what to show (default: the totals)")
    p.add_argument("--histogram", action="store_true", help="objects by type, largest first")
    p.add_argument("-n", dest="limit", type=int, default=None, help="objects: at most N")
    _add_json(p)

    p = sub.add_parser("pprof", help="write a pprof profile (goroutine or heap) rebuilt from the core")
    p.add_argument("words", metavar="CORE [BINARY] goroutine|heap", nargs="+",
                   help="the inputs, then which profile")
    p.add_argument("-o", dest="output", required=True, help="the profile file to write (gzipped profile.proto)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")

    sub.add_parser("demo", help="open the TUI on the bundled sample core")
    root.set_defaults(_subparsers=sub)
    return root


def _fix_argv(argv: list[str]) -> list[str]:
    """``gocore-tui CORE [BINARY] [-g ID] [-f N]`` (no subcommand) opens the TUI."""
    if argv and argv[0] not in COMMANDS and not argv[0].startswith("-"):
        return ["tui", *argv]
    return argv


def _tui_parser() -> _Parser:
    p = _Parser(prog="gocore-tui", usage="gocore-tui CORE [BINARY] [-g ID] [-f N] [--substitute-path FROM=TO]",
                description="Open the TUI on a core (gocore-tui --help lists the other commands).")
    _add_inputs(p)
    _add_where(p)
    p.add_argument("--substitute-path", action="append", default=[], metavar="FROM=TO",
                   help="rewrite source paths (as delve's substitute-path)")
    return p


def _parse_command(argv: list[str]) -> argparse.Namespace:
    """Parse ``COMMAND ARGS``, options and positionals in any order (``print CORE BIN -f 2 EXPR``):
    argparse's plain parsing would give the optional BINARY the expression's place."""
    root = build_parser()
    if not argv or argv[0] not in COMMANDS:
        return root.parse_args(argv)
    sub = root.get_default("_subparsers")
    parser = sub.choices[argv[0]]
    args = parser.parse_intermixed_args(argv[1:])
    args.command = argv[0]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args_list = _fix_argv(list(sys.argv[1:] if argv is None else argv))
    try:
        if args_list and args_list[0] == "tui":
            args = _tui_parser().parse_args(args_list[1:])
            args.command = "tui"
        else:
            args = _parse_command(args_list)
    except UsageError as e:
        print(e, file=sys.stderr)
        return 2
    except SystemExit as e:  # --help
        return int(e.code or 0)
    if not args.command:
        build_parser().print_help(sys.stderr)
        return 2
    try:
        return _dispatch(args)
    except ExplorerError as e:
        print(f"gocore-tui: {safe(str(e))}", file=sys.stderr)
        return 1
    except UsageError as e:
        print(e, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Interrupted as e:  # a save cleaned up after SIGTERM/SIGHUP: now die by that signal
        sys.stdout.flush()
        signal.signal(e.signum, signal.SIG_DFL)
        os.kill(os.getpid(), e.signum)
        return 128 + e.signum
    except BrokenPipeError:
        return 0
    except Exception as e:  # a bug: still one line, unless asked for the traceback
        if os.environ.get("GOCORE_TUI_DEBUG"):
            raise
        print(f"gocore-tui: internal error: {type(e).__name__}: {safe(str(e))} (set GOCORE_TUI_DEBUG=1 for "
              f"details)", file=sys.stderr)
        return 1


class SafeText:
    """A text stream that passes everything written to it through :func:`safe_output` on its way to
    ``stream``: the CLI's last line of defence, so that no string from a core reaches the terminal
    raw even where its print site forgot :func:`safe`. Byte output (``buffer``: compact JSON, which
    is ASCII, and ``save -o -``'s data, which must stay raw) goes to the stream's own buffer."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(safe_output(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:  # flush, isatty, fileno, buffer, encoding...
        return getattr(self._stream, name)


def _dispatch(args: argparse.Namespace) -> int:
    handler: Callable[[argparse.Namespace], int] = _handler(args.command)
    if args.command in ("tui", "demo"):  # the TUI draws the terminal itself (and sanitizes its text)
        return handler(args)
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = SafeText(out), SafeText(err)
    try:
        return handler(args)
    finally:
        sys.stdout, sys.stderr = out, err


def _handler(command: str) -> Callable[[argparse.Namespace], int]:
    """The function that runs ``command`` (imported only when asked for: scripted commands start
    fast, and the TUI's textual only loads for the TUI)."""
    module, name = HANDLERS[command]
    return getattr(importlib.import_module(module), name)


#: command -> (module, function).
HANDLERS: dict[str, tuple[str, str]] = {
    "info": ("explorer.cli_commands", "cmd_info"),
    "goroutines": ("explorer.cli_commands", "cmd_goroutines"),
    "bt": ("explorer.cli_commands", "cmd_bt"),
    "stack": ("explorer.cli_commands", "cmd_bt"),
    "vars": ("explorer.cli_values", "cmd_vars"),
    "args": ("explorer.cli_values", "cmd_vars"),
    "locals": ("explorer.cli_values", "cmd_vars"),
    "print": ("explorer.cli_values", "cmd_print"),
    "x": ("explorer.cli_values", "cmd_x"),
    "save": ("explorer.cli_values", "cmd_save"),
    "decode": ("explorer.cli_decode", "cmd_decode"),
    "regs": ("explorer.cli_inspect", "cmd_regs"),
    "threads": ("explorer.cli_inspect", "cmd_threads"),
    "thread": ("explorer.cli_inspect", "cmd_thread"),
    "list": ("explorer.cli_inspect", "cmd_list"),
    "disassemble": ("explorer.cli_inspect", "cmd_disassemble"),
    "heap": ("explorer.cli_heap", "cmd_heap"),
    "pprof": ("explorer.cli_heap", "cmd_pprof"),
    "demo": ("explorer.cli_tui", "cmd_demo"),
    "tui": ("explorer.cli_tui", "cmd_tui"),
}
