"""Where an unhandled error of the TUI goes: a log file with the traceback, and one line for the user.

Textual, left alone, prints a full traceback with local variables on the restored terminal (locals
that may hold a core's data) and the process exits 0. gocore-tui instead writes the traceback to a
file and prints one line that names it; the process exits non-zero. The log directory is
``$XDG_STATE_HOME/gocore-tui`` (``~/.local/state/gocore-tui``), or the temporary directory when that
cannot be written.
"""

from __future__ import annotations

import os
import tempfile
import time
import traceback
from pathlib import Path

from explorer.render.text import safe


def log_dirs() -> list[Path]:
    """Where crash logs go, in order of preference."""
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return [Path(state) / "gocore-tui", Path(tempfile.gettempdir())]


def write_crash_log(error: BaseException, context: str = "") -> Path | None:
    """Write ``error``'s traceback (escaped: a message may quote a core) to a new log file; its path,
    or None when no directory could take it."""
    text = "".join(traceback.format_exception(error))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    body = f"gocore-tui {stamp} pid {os.getpid()}\n{context}\n\n{safe(text, keep_newlines=True)}"
    for directory in log_dirs():
        try:
            directory.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=f"gocore-tui-crash-{stamp}-", suffix=".log", dir=directory)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(body)
            return Path(name)
        except OSError:
            continue
    return None


def crash_line(error: BaseException, log: Path | None) -> str:
    """The one line the user sees after the terminal is restored."""
    what = safe(f"{type(error).__name__}: {error}")
    if len(what) > 200:
        what = what[:199] + "…"
    where = f"the traceback is in {safe(str(log))}" if log is not None else "no log file could be written"
    return f"gocore-tui: internal error: {what} ({where})"
