"""What every command of the command line shares: opening the inputs, printing JSON, choosing the
goroutine. Command modules (cli_commands, cli_values, ...) import from here, never from each other."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from explorer.errors import ExplorerError
from explorer.goruntime.goroutines import Goroutine
from explorer.goruntime.process import GoProcess
from explorer.render.text import safe


class UsageError(Exception):
    """Bad usage: the command line prints the message (one line, ``gocore-tui COMMAND: ...``) and
    exits 2. Raised by the parsers and by command handlers that find a bad word late."""


def usage_error(args: argparse.Namespace, message: str) -> UsageError:
    """A :class:`UsageError` of ``args``' command, worded as its parser words its own."""
    command = getattr(args, "command", None)
    return UsageError(f"gocore-tui {command}: {message}" if command else f"gocore-tui: {message}")


#: Warnings a command prints on stderr before its output (the rest are for `info` to show).
_ALWAYS_WARN = ("build_id_mismatch", "name_mismatch", "core_truncated", "dwarf_unusable")


def open_process(args: argparse.Namespace) -> GoProcess:
    """The GoProcess of ``args.core`` and ``args.binary``, with its warnings printed on stderr."""
    proc = GoProcess.open(args.core, args.binary)
    for w in proc.warnings:
        if w.code in _ALWAYS_WARN:
            print(f"gocore-tui: warning: {safe(w.message)}", file=sys.stderr)
    return proc


def emit_json(obj: Any) -> None:
    """Indented for a person at a terminal; compact (and C-accelerated: json's indenting encoder
    is pure Python, seconds for 100k goroutines) for scripts. ``ensure_ascii`` stays on: no
    control character from a core reaches the terminal raw."""
    if sys.stdout.isatty():
        sys.stdout.write(json.dumps(obj, indent=2))
    else:
        sys.stdout.write(json.dumps(obj, separators=(",", ":")))
    sys.stdout.write("\n")


def resolve_goroutine(proc: GoProcess, gid: int | None) -> Goroutine:
    """Goroutine ``gid``, or by default the one that was running on the crashing thread."""
    if gid is None:
        g = proc.crashed_goroutine
        if g is None:
            raise ExplorerError("no goroutine was running on the crashing thread: pass -g ID")
        return g
    return proc.goroutine(gid)


def resolve_frame(proc: GoProcess, g: Goroutine | None, frame: int | None) -> int:
    """``-f``: the frame given, or by default the one the TUI opens on (the goroutine's innermost
    frame in the program's own code: explorer.goruntime.frameselect); 0 without a goroutine."""
    if frame is not None:
        return frame
    from explorer.goruntime.frameselect import selected_frame

    return selected_frame(proc, g)
