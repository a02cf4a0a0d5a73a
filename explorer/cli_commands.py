"""The non-interactive commands: each opens the model, asks it, and prints text or JSON."""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import sys
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from explorer.cli_common import emit_json, open_process, resolve_goroutine, usage_error
from explorer.errors import ExplorerError
from explorer.goruntime.goroutines import Goroutine
from explorer.goruntime.process import GoProcess
from explorer.render.text import safe

if TYPE_CHECKING:
    from explorer.goruntime.filters import GoroutineQuery


def _hex(v: int | None) -> str:
    return "-" if v is None else f"{v:#x}"


def _match_text(match: bool | None) -> str:
    return {True: "matches the core", False: "MISMATCH: not the binary that dumped this core"}.get(
        match, "the core does not say")  # type: ignore[arg-type]


def _or_dash(v: object) -> str:
    """A value for text output: ``-`` when there is none (never Python's ``None``)."""
    return "-" if v is None else str(v)


@contextlib.contextmanager
def _open_then_check_unwinding(args: argparse.Namespace) -> Iterator[GoProcess]:
    """open_process; once the command has printed what it can tell without backtraces, exit 1 with
    one line saying why none can be made (a damaged ``.gopclntab``), as ``bt`` does."""
    from explorer.goruntime.model import unwind_error

    with open_process(args) as proc:
        yield proc
        why = unwind_error(proc)
        if why is not None:
            raise ExplorerError(f"no backtraces: {why}")


def cmd_info(args: argparse.Namespace) -> int:
    from explorer.goruntime.model import info_dict

    with _open_then_check_unwinding(args) as proc:
        d = info_dict(proc)
        if args.json:
            emit_json(d)
            return 0
        rows = [
            ("executable", d["executable"]),
            ("command line", d["command_line"] or "-"),  # the core's NT_PRPSINFO: argv as the kernel kept it
            ("go version", d["go_version"] or "unknown"),
            ("arch", d["arch"]),
            ("build id", f"{_or_dash(d['build_id'])} ({_match_text(d['build_id_match'])})"),
            ("signal", f"{d['signal_name']} ({d['signal']})" if d["signal"] else "none"),
        ]
        if d["go_signal"] and d["go_signal"]["signal"] != d["signal"]:
            gs = d["go_signal"]
            rows.append(("go signal", f"{gs['signal_name']} at pc {gs['pc']:#x}, addr {gs['address']:#x}"))
        rows += [
            ("fault address", _hex(d["fault_address"])),
            ("threads", str(d["threads"])),
            ("goroutines", _or_dash(d["goroutines"])),
            ("crashed goroutine", _or_dash(d["crashed_goroutine"])),
            ("panic", d["panic"] or ("- (a fatal runtime error, not a panic)" if d["fatal_error"] else "-")),
            ("crash site", f"{d['crash_site']['function']} {d['crash_site']['file']}:{d['crash_site']['line']}"
             if d["crash_site"] else "-"),
            ("core", d["core"] + (f" (truncated: {d['core_missing_bytes']} bytes missing)"
                                  if d["core_truncated"] else "")),
        ]
        # Every value may hold text from the core or the executable (paths, the panic message...).
        for k, v in rows:
            print(f"{k + ':':<19} {safe(v)}")
        for w in d["warnings"]:
            print(f"warning: {safe(w)}")
        for e in d["errors"]:
            print(f"error: {safe(e)}")
    return 0


def _goroutine_header(proc: GoProcess, g: Goroutine) -> str:
    """The runtime's own header line (``goroutine N gp=... m=... [status]:``), so that tools which
    read Go tracebacks read ours."""
    status = safe(g.header_status)  # the runtime's wait reason table is read from the binary
    if g.lockedm:
        status += ", locked to thread"
    m = "nil"
    if g.m:
        off = proc.layout.offset("runtime.m", "id")
        mid = proc.memory.try_read(g.m + off, 8) if off is not None else None
        m = f"{int.from_bytes(mid, 'little', signed=True)} mp={g.m:#x}" if mid else f"? mp={g.m:#x}"
    from explorer.goruntime.labels import traceback_labels
    from explorer.goruntime.model import labels_of

    labels = traceback_labels(labels_of(proc, g))  # after the status, as Go 1.27 prints them
    return f"goroutine {g.id} gp={g.addr:#x} m={m} [{status}]{' ' + safe(labels) if labels else ''}:"


def _print_traceback(proc: GoProcess, g: Goroutine) -> None:
    bt = proc.backtrace(g)
    for f in bt.frames:
        name = "panic" if f.function == "runtime.gopanic" else safe(f.function)  # as the runtime prints it
        print(f"{name}({'...' if f.inlined else ''})")
        loc = f"\t{safe(f.file)}:{f.line}"
        if not f.inlined:
            loc += f" +{f.offset:#x} fp={f.fp:#x} sp={f.sp:#x} pc={f.pc:#x}"
        print(loc)
    if bt.error:
        print(f"...backtrace stopped: {safe(bt.error)}")
    _print_created_by(proc, g)


def _print_created_by(proc: GoProcess, g: Goroutine) -> None:
    cb = proc.created_by(g)
    if cb:
        parent = f" in goroutine {g.parent_goid}" if g.parent_goid else ""
        print(f"created by {safe(cb[0])}{parent}")
        fn = proc.pclntab.find_func(cb[3])
        print(f"\t{safe(cb[1])}:{cb[2]} +{cb[3] - (fn.entry if fn else cb[3]):#x}")


def add_label_options(p: argparse.ArgumentParser) -> None:
    """``goroutines``' delve-style label options: ``-with label K=V``, ``-without``, ``-group label K``.
    Bad words are bad usage (exit 2)."""
    p.add_argument("-with", "--with", dest="with_", nargs=2, action="append", default=[],
                   metavar=("label", "KEY[=VALUE]"),
                   help="only goroutines with pprof label KEY (equal to VALUE); repeatable (delve's -with label)")
    p.add_argument("-without", "--without", dest="without", nargs=2, action="append", default=[],
                   metavar=("label", "KEY[=VALUE]"), help="leave out goroutines with pprof label KEY (=VALUE)")
    p.add_argument("-group", "--group-label", dest="group_label", nargs=2, metavar=("label", "KEY"),
                   help="one group per value of pprof label KEY, then those without it (delve's -group label)")


def _query(args: argparse.Namespace) -> GoroutineQuery:
    from explorer.goruntime.filters import GoroutineQuery, group_label_key, label_condition

    try:
        conditions = [label_condition(k, a) for k, a in getattr(args, "with_", None) or []]
        conditions += [label_condition(k, a, negate=True) for k, a in getattr(args, "without", None) or []]
        group = getattr(args, "group_label", None)
        key = group_label_key(*group) if group else None
    except ExplorerError as e:
        raise usage_error(args, str(e)) from None
    return GoroutineQuery(args.filter or "", conditions, key)


def _selected(proc: GoProcess, query: GoroutineQuery) -> list[Goroutine]:
    from explorer.goruntime.filters import select_goroutines

    gs = list(proc.goroutines)
    crashed = proc.crashed_goroutine
    if crashed is not None:  # the crashing goroutine first, as the runtime prints it
        gs.sort(key=lambda g: g.addr != crashed.addr)
    if query.filters:  # every goroutine's backtrace is matched: unwound together
        proc.prime_backtraces(gs)
    return select_goroutines(proc, gs, query)


def _print_label_groups(proc: GoProcess, gs: list[Goroutine], key: str, as_json: bool) -> None:
    """``goroutines -group label KEY``: each value's goroutines, then those without the label."""
    from explorer.goruntime.filters import group_by_label

    groups = group_by_label(proc, gs, key)
    if as_json:
        emit_json([{"label": key, "value": grp.key[1], "count": grp.count, "ids": [g.id for g in grp.goroutines]}
                   for grp in groups])
        return
    for i, grp in enumerate(groups):
        if i:
            print()
        print(f"{safe(grp.status)}: {grp.count} goroutine{'s' if grp.count != 1 else ''}")
        for g in grp.goroutines:
            print(_goroutine_row(proc, g))


def cmd_goroutines(args: argparse.Namespace) -> int:
    from explorer.goruntime.frameselect import program_frame
    from explorer.goruntime.grouping import group_goroutines
    from explorer.goruntime.model import goroutine_dict

    query = _query(args)  # bad label options are usage errors, before the core is opened
    if args.group and query.group_label:
        raise usage_error(args, "--group (by stack) and -group label KEY exclude each other")
    with _open_then_check_unwinding(args) as proc:
        gs = _selected(proc, query)
        if query.group_label:
            _print_label_groups(proc, gs, query.group_label, args.json)
            return 0
        if not args.json and not args.group:  # every backtrace is needed: unwound together
            proc.prime_backtraces(gs)
        if args.format == "traceback":
            for i, g in enumerate(gs):
                if i:
                    print()
                print(_goroutine_header(proc, g))
                _print_traceback(proc, g)
            return 0
        if args.group:
            groups = group_goroutines(proc, gs)
            if args.json:
                out = []
                for grp in groups:
                    first = grp.goroutines[0]
                    d = {"count": grp.count, "status": grp.status, "ids": [g.id for g in grp.goroutines],
                         "goroutine": goroutine_dict(proc, first, stacks=args.stacks)}
                    out.append(d)
                emit_json(out)
                return 0
            for grp in groups:
                first = grp.goroutines[0]
                ids = ", ".join(str(g.id) for g in grp.goroutines[:10]) + (" ..." if grp.count > 10 else "")
                print(f"{grp.count} goroutine{'s' if grp.count != 1 else ''} [{safe(grp.status)}]: {ids}")
                if args.stacks:
                    for f in proc.backtrace(first).frames:
                        print(f"    {safe(f.function)}\n        {safe(f.file)}:{f.line}")
                else:
                    u = program_frame(proc, proc.backtrace(first).frames)
                    if u:
                        print(f"    {safe(u.function)} {safe(u.file)}:{u.line}")
                print()
            return 0
        if args.json:
            _goroutines_json(proc, gs, args.stacks)
            return 0
        for g in gs:
            if args.stacks:
                print(_goroutine_header(proc, g))
                _print_traceback(proc, g)
                print()
                continue
            print(_goroutine_row(proc, g))
    return 0


def _goroutine_row(proc: GoProcess, g: Goroutine) -> str:
    """One line of the goroutine list: id, status, where in the program's code, thread, pprof
    labels, and ``*`` for the crashing goroutine."""
    from explorer.goruntime.frameselect import program_frame
    from explorer.goruntime.labels import format_labels
    from explorer.goruntime.model import labels_of

    frames = proc.backtrace(g).frames
    u = program_frame(proc, frames) or (frames[0] if frames else None)
    where = f"{safe(u.function)} {safe(u.file)}:{u.line}" if u else "?"
    mark = " *" if proc.crashed_goroutine is not None and g.addr == proc.crashed_goroutine.addr else ""
    thread = f" [thread {g.thread}]" if g.thread is not None else ""
    labels = format_labels(labels_of(proc, g))
    return f"{g.id:>7} {safe(g.header_status):<22} {where}{thread}{' ' + safe(labels) if labels else ''}{mark}"


#: Goroutines unwound (together) and encoded per piece of ``goroutines --json`` output.
JSON_BATCH = 4096


def _goroutines_json(proc: GoProcess, gs: list[Goroutine], stacks: bool) -> None:
    """The goroutine array, streamed: encoded in batches (in parallel chunks for big cores, see
    goruntime.parallel) and written as it is made, so memory does not grow with the output."""
    from explorer.goruntime.jsonlist import GoroutineJSON
    from explorer.goruntime.model import goroutine_dict
    from explorer.goruntime.parallel import stream_chunks

    if sys.stdout.isatty():
        emit_json([goroutine_dict(proc, g, stacks=stacks) for g in gs])
        return
    _ = proc.crashed_goroutine, proc.thread_infos  # shared by every chunk: compute before forking
    encoder = GoroutineJSON(proc, stacks)

    def encode(chunk: Sequence[Goroutine]) -> Iterator[bytes]:
        # In batches, dropping each batch's cached backtraces: memory stays flat on 100k goroutines.
        for i in range(0, len(chunk), JSON_BATCH):
            batch = chunk[i : i + JSON_BATCH]
            proc.prime_backtraces(batch)
            text = encoder.encode_many(batch)
            proc.forget_backtraces()
            yield text.encode()

    buffer = getattr(sys.stdout, "buffer", None)
    sys.stdout.flush()
    write = buffer.write if buffer is not None else (lambda b: sys.stdout.write(b.decode()))
    write(b"[")
    fileno = None
    if buffer is not None:
        try:
            fileno = sys.stdout.fileno()
        except (OSError, ValueError, io.UnsupportedOperation):  # not a real file (a test's capture)
            fileno = None
    stream_chunks(encode, gs, write, sep=b",", fileno=fileno, flush=buffer.flush if buffer is not None else None)
    write(b"]\n")
    if buffer is not None:
        buffer.flush()


def cmd_bt(args: argparse.Namespace) -> int:
    """``bt`` / ``stack [N]``: the goroutine's frames, numbered, the selected one (where ``-f``
    defaults to, and the TUI opens) marked; ``N`` as delve's depth: frames 0 to N."""
    from explorer.goruntime.frameselect import default_frame_index
    from explorer.goruntime.model import frame_dict
    from explorer.render.inspect import frame_lines

    if args.depth is None and args.binary is not None and re.fullmatch(r"-?\d+", args.binary) \
            and not os.path.isfile(args.binary):  # bt CORE N: BINARY left out
        if int(args.binary) < 0:
            raise usage_error(args, f"argument N: {args.binary}: must not be negative")
        args.depth, args.binary = int(args.binary), None
    with open_process(args) as proc:
        g = resolve_goroutine(proc, args.goroutine)
        bt = proc.backtrace(g)
        selected = default_frame_index(proc, bt.frames) if bt.frames else None
        frames = bt.frames if args.depth is None else bt.frames[: args.depth + 1]
        if args.json:
            emit_json([{**frame_dict(f), "selected": f.index == selected} for f in frames])
            return 0
        print(_goroutine_header(proc, g))
        for line in frame_lines(frames, selected):
            print(line)
        if len(frames) < len(bt.frames):
            print(f"...{len(bt.frames) - len(frames)} more frames (stack N shows frames 0..N)")
        elif bt.error:
            print(f"...backtrace stopped: {safe(bt.error)}")
        if len(frames) == len(bt.frames):
            _print_created_by(proc, g)
    return 0
