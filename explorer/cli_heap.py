"""``heap`` and ``pprof``: the heap of a core, and pprof profiles rebuilt from it (docs/CLI.md).

::

    gocore-tui heap  CORE [BINARY] [--histogram] [--json]
    gocore-tui heap  CORE [BINARY] objects TYPE [-n N] | refs ADDR | path ADDR   [--json]
    gocore-tui pprof CORE [BINARY] goroutine|heap -o FILE [--force]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from explorer.errors import ExplorerError
from explorer.render.heap import step_text
from explorer.render.text import safe

HEAP_ACTIONS = ("objects", "refs", "path")
PROFILES = ("goroutine", "heap")


class _Usage(Exception):
    pass


def _split(words: list[str], actions: tuple[str, ...],
           need_arg: bool) -> tuple[str, str | None, str | None, str | None]:
    """(core, binary, action, argument) from ``CORE [BINARY] [ACTION [ARG]]``."""
    pos = next((i for i, w in enumerate(words) if w in actions and i >= 1), None)
    files = words if pos is None else words[:pos]
    rest = [] if pos is None else words[pos:]
    if not 1 <= len(files) <= 2:
        raise _Usage("expected CORE [BINARY]" + (" then an action" if actions else ""))
    action = rest[0] if rest else None
    arg = None
    if action is not None and need_arg:
        if len(rest) != 2:
            raise _Usage(f"{action} takes exactly one argument")
        arg = rest[1]
    elif len(rest) > 1:
        raise _Usage(f"unexpected {' '.join(rest[1:])!r}")
    return files[0], files[1] if len(files) == 2 else None, action, arg


def _addr(text: str) -> int:
    try:
        v = int(text, 0)
    except ValueError:
        raise _Usage(f"not an address: {text!r} (use 0x... or a decimal number)") from None
    if not 0 <= v < 1 << 64:
        raise _Usage(f"address out of range: {text}")
    return v


def _open(core: str, binary: str | None) -> Any:
    from explorer.cli_common import open_process

    return open_process(argparse.Namespace(core=core, binary=binary))


def _progress() -> Any:
    """A one-line progress display on stderr when it is a terminal (the heap of a big core takes
    seconds)."""
    if not sys.stderr.isatty():
        return None

    def show(what: str, frac: float) -> None:
        sys.stderr.write(f"\r\x1b[K{int(frac * 100):3d}% {what}")
        if frac >= 1.0:
            sys.stderr.write("\r\x1b[K")
        sys.stderr.flush()

    return show


def cmd_heap(args: argparse.Namespace) -> int:
    from explorer.cli_common import emit_json as _json
    from explorer.goruntime.heap import heap_of
    from explorer.goruntime.heap import paths as hp

    try:
        core, binary, action, arg = _split(list(args.words), HEAP_ACTIONS, True)
        target = _addr(arg) if action in ("refs", "path") and arg is not None else None
    except _Usage as e:
        print(f"gocore-tui heap: {e}", file=sys.stderr)
        return 2
    with _open(core, binary) as proc:
        heap = heap_of(proc, _progress())
        if action is None and not args.histogram:
            s = heap.summary()
            if args.json:
                _json(s)
            else:
                _print_summary(s, heap.notes)
        elif action is None:
            rows = heap.histogram()
            if args.json:
                _json(rows)
            else:
                _print_histogram(rows)
        elif action == "objects":
            assert arg is not None
            rows = hp.objects_of_type(heap, arg, args.limit)
            if args.json:
                _json(rows)
            elif not rows:
                print(f"no objects of type {safe(arg)} (see heap --histogram for the types there are)")
            else:
                for r in rows:
                    print(f"{r['address']:#x}  {r['size']:>8}  {safe(r['type'] or 'unknown')}"
                          f"{'' if r['reachable'] else '  (unreachable)'}")
        elif action == "refs":
            assert target is not None
            rows = hp.referrers(heap, target)
            if args.json:
                _json(rows)
            elif not rows:
                print(f"nothing points into the object at {target:#x}")
            else:
                for r in rows:
                    print(step_text(r))
        else:
            assert target is not None
            steps = hp.path(heap, target)
            if args.json:
                _json({"path": steps, "reachable": steps is not None})
            elif steps is None:
                print(f"the object at {target:#x} is not reachable from any root: garbage the next collection "
                      f"frees")
            else:
                for k, st in enumerate(steps):
                    print(("  " * min(k, 1)) + ("-> " if k else "") + step_text(st))
    return 0


def _print_summary(s: dict[str, Any], notes: list[str]) -> None:
    rows = [
        ("objects", f"{s['objects']:,}", "allocated (runtime.MemStats.HeapObjects)"),
        ("bytes", f"{s['bytes']:,}", "allocated (runtime.MemStats.HeapAlloc)"),
        ("reachable objects", f"{s['reachable_objects']:,}", "from globals, goroutine stacks, finalizers"),
        ("reachable bytes", f"{s['reachable_bytes']:,}", ""),
        ("unreachable", f"{s['objects'] - s['reachable_objects']:,} objects, "
                        f"{s['bytes'] - s['reachable_bytes']:,} bytes", "garbage not collected yet"),
        ("spans", f"{s['spans']:,}", "in use"),
    ]
    for k, v, note in rows:
        print(f"{k + ':':<19} {v:>14}  {note}".rstrip())
    print()
    print(f"{'class':>5} {'slot size':>10} {'spans':>7} {'objects':>10} {'bytes':>14}")
    for c in s["size_classes"]:
        size = f"{c['size']:,}" if c["size"] else "large"
        print(f"{c['class']:>5} {size:>10} {c['spans']:>7,} {c['objects']:>10,} {c['bytes']:>14,}")
    for n in notes:
        print(f"note: {safe(n)}")


def _print_histogram(rows: list[dict[str, Any]]) -> None:
    print(f"{'count':>10} {'bytes':>14}  type")
    for r in rows:
        t = safe(r["type"]) if r["type"] is not None else f"unknown ({r['size']}-byte slots)"
        print(f"{r['count']:>10,} {r['bytes']:>14,}  {t}")


def cmd_pprof(args: argparse.Namespace) -> int:
    from explorer.goruntime.heap.pprof import goroutine_profile, heap_profile

    try:
        core, binary, kind, _arg = _split(list(args.words), PROFILES, False)
        if kind is None:
            raise _Usage("which profile: goroutine or heap")
    except _Usage as e:
        print(f"gocore-tui pprof: {e}", file=sys.stderr)
        return 2
    out = Path(args.output)
    if out.exists() and not args.force:
        raise ExplorerError(f"{out} exists: not overwriting it (use --force)")
    with _open(core, binary) as proc:
        data = goroutine_profile(proc) if kind == "goroutine" else heap_profile(proc)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        tmp.write_bytes(data)
        tmp.replace(out)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise ExplorerError(f"cannot write {out}: {e.strerror or e}") from None
    print(f"wrote the {kind} profile to {safe(str(out))} ({len(data):,} bytes)", file=sys.stderr)
    return 0

