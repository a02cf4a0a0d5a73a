"""``gocore-tui CORE [BINARY]`` and ``gocore-tui demo``: open the TUI.

The core is opened before Textual starts, so an unreadable input fails like every other command
(one line, exit status 1). Textual is imported only here, and only when the TUI starts.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
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

        session = Session(proc, rules)
        app = GoCoreApp(session, goroutine=goroutine, frame=frame, title=title)
        try:
            app.run()  # SIGTERM and SIGHUP end it (GoCoreApp.on_signal)
        finally:
            # A save still running (the app was quit or signalled meanwhile) stops and removes its
            # temporary file before the core is unmapped under it. The app's signal handlers are
            # gone with its event loop: one more SIGTERM or SIGHUP must not kill the process now.
            session.interrupt_saves()
            previous = {sig: signal.signal(sig, lambda _s, _f: session.interrupt_saves())
                        for sig in (signal.SIGTERM, signal.SIGHUP)}
            try:
                if not session.wait_saves(timeout=60):
                    _say("gocore-tui: a save did not stop within 60 s")
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)
    finally:
        proc.close()
    if app.crash_message:  # an unhandled error: one line naming the log file with the traceback
        _say(app.crash_message)
    return app.return_code or 0


def _say(line: str) -> None:
    """One line on stderr, if there still is one (after SIGHUP the terminal may be gone)."""
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
