"""``gocore-tui CORE [BINARY]`` and ``gocore-tui demo``: open the TUI.

The core is opened before Textual starts, so an unreadable input fails like every other command
(one line, exit status 1). Textual is imported only here, and only when the TUI starts.
"""

from __future__ import annotations

import argparse
import contextlib
import sys

from explorer.errors import ExplorerError


def _run(core: str, binary: str | None, rules: list[tuple[str, str]], goroutine: int | None,
         frame: int | None, title: str | None = None) -> int:
    from explorer.goruntime.process import GoProcess

    proc = GoProcess.open(core, binary)
    try:
        if not sys.stdout.isatty() or not sys.stdin.isatty():
            raise ExplorerError("the TUI needs a terminal (for scripts, use info, goroutines, bt, vars, print, "
                                "x or save)")
        from explorer.tui.app import GoCoreApp
        from explorer.tui.session import Session

        app = GoCoreApp(Session(proc, rules), goroutine=goroutine, frame=frame, title=title)
        app.run()
    finally:
        proc.close()
    if app.crash_message:  # an unhandled error: one line naming the log file with the traceback
        _say(app.crash_message)
    return app.return_code or 0


def _say(line: str) -> None:
    """One line on stderr, if there still is one."""
    with contextlib.suppress(OSError):
        print(line, file=sys.stderr)


def cmd_tui(args: argparse.Namespace) -> int:
    from explorer.render.source import parse_rule

    rules = [parse_rule(r) for r in (getattr(args, "substitute_path", None) or [])]
    return _run(args.core, args.binary, rules, args.goroutine, args.frame)


def cmd_demo(args: argparse.Namespace) -> int:
    from explorer.demo import prepare

    demo = prepare()
    return _run(str(demo.core), str(demo.binary), demo.substitute, None, None,
                title=f"demo: {demo.meta.get('scenario')} (Go {demo.meta.get('go_version')})")
