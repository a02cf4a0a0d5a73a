"""Plain-data views of the model for the CLI's JSON and text, and for the TUI.

Shapes follow docs/CLI.md: keys are only ever added, never renamed or removed.
"""

from __future__ import annotations

from typing import Any

from explorer.core.elfcore import SIGNAL_NAMES
from explorer.errors import ExplorerError
from explorer.goruntime.frameselect import RUNTIME_PREFIXES as RUNTIME_PREFIXES  # re-exported (home: frameselect)
from explorer.goruntime.frameselect import is_runtime_function as is_runtime_function
from explorer.goruntime.frameselect import program_frame
from explorer.goruntime.goroutines import Goroutine
from explorer.goruntime.process import GoProcess
from explorer.goruntime.unwind import Frame


def frame_dict(f: Frame) -> dict[str, Any]:
    return {"index": f.index, "function": f.function, "file": f.file, "line": f.line, "pc": f.pc, "sp": f.sp,
            "inlined": f.inlined, "offset": f.offset, "stack": f.stack}


def user_frame(frames: list[Frame]) -> Frame | None:
    """The innermost frame outside the runtime (CLI.md's ``user``)."""
    for f in frames:
        if not is_runtime_function(f.function):
            return f
    return None


def labels_of(proc: GoProcess, g: Goroutine) -> dict[str, str] | None:
    """pprof labels of a goroutine, or None (needs the value layer; filled in when available)."""
    if not g.labels_ptr:
        return None
    try:
        from explorer.goruntime.labels import read_labels
    except ImportError:
        return None
    try:
        return read_labels(proc, g.labels_ptr)
    except ExplorerError:
        return None


def goroutine_dict(proc: GoProcess, g: Goroutine, *, stacks: bool = False) -> dict[str, Any]:
    bt = proc.backtrace(g)
    frames = bt.frames
    out = goroutine_fields(proc, g, frame_dict(frames[0]) if frames else None,
                           (lambda u: frame_dict(u) if u else None)(user_frame(frames)), bt.error)
    if stacks:  # always last (explorer.goruntime.jsonlist appends them to the encoded rest)
        out["frames"] = [frame_dict(f) for f in frames]
        out["truncated"] = bt.truncated
    return out


def goroutine_fields(proc: GoProcess, g: Goroutine, current: Any, user: Any, error: str | None) -> dict[str, Any]:
    """goroutine_dict without the frames: ``current`` and ``user`` are given (frame dicts, or what
    stands for them in explorer.goruntime.jsonlist)."""
    try:
        cb = proc.created_by(g)
        start = proc.func_name_at(g.startpc) if g.startpc else None
    except ExplorerError:  # no usable .gopclntab: backtrace_error says why
        cb, start = None, None
    crashed = proc.crashed_goroutine
    return {
        "id": g.id,
        "status": g.status,
        "wait_reason": g.wait_reason,
        "thread": g.thread,
        "current": current,
        "user": user,
        "go_statement": {"function": cb[0], "file": cb[1], "line": cb[2], "pc": cb[3]} if cb else None,
        "start": start,
        "labels": labels_of(proc, g),
        "address": g.addr,
        "parent_id": g.parent_goid,
        "wait_since": g.waitsince or None,
        "crashed": crashed is not None and crashed.addr == g.addr,
        "backtrace_error": error,
    }


# The runtime's own crash machinery, skipped when naming where a crash happened.
CRASH_MACHINERY = {
    "runtime.raise", "runtime.raiseproc", "runtime.dieFromSignal", "runtime.sigfwdgo", "runtime.sigtrampgo",
    "runtime.sigtramp", "runtime.sighandler", "runtime.crash", "runtime.fatalthrow", "runtime.fatalthrow.func1",
    "runtime.fatalpanic", "runtime.fatalpanic.func1", "runtime.fatalpanic.func2", "runtime.fatal",
    "runtime.throw", "runtime.throw.func1", "runtime.systemstack", "runtime.usleep", "runtime.gopanic",
    "runtime.panicmem", "runtime.panicmemAddr", "runtime.sigpanic", "runtime.startpanic_m", "runtime.dopanic_m",
    "runtime.mcall", "runtime.morestack",
}
THROWS = {"runtime.throw", "runtime.fatal", "runtime.fatalthrow"}


def crash_site(proc: GoProcess) -> tuple[Frame | None, bool]:
    """Where the crash happened on the crashing thread (the program's own frame if there is one,
    else the first frame outside the runtime's crash machinery), and whether it was a runtime
    fatal error (throw/fatal) rather than a panic or signal."""
    t = proc.crashed_thread
    if t is None:
        return None, False
    frames = proc.thread_backtrace(t).frames
    fatal = any(f.function in THROWS for f in frames) and not any(f.function == "runtime.gopanic" for f in frames)
    # The program's own frame by the rule the backtrace's selected frame follows.
    site = program_frame(proc, frames)
    if site is None:
        site = next((f for f in frames if f.function not in CRASH_MACHINERY), None)
    return site, fatal


def unwind_error(proc: GoProcess) -> str | None:
    """Why no goroutine can be unwound at all (the executable's ``.gopclntab`` is missing or
    damaged), or None when backtraces can be made."""
    try:
        _ = proc.unwinder
    except ExplorerError as e:
        return str(e)
    return None


def info_dict(proc: GoProcess) -> dict[str, Any]:
    core = proc.core
    si = core.notes.siginfo
    errors: list[str] = []
    no_unwind = unwind_error(proc)
    if no_unwind is not None:
        errors.append(f"no backtraces: {no_unwind}")
    try:
        crashed_thread = proc.crashed_thread
        crashed = proc.crashed_goroutine
    except ExplorerError as e:  # e.g. a mismatched binary: runtime structures do not read
        crashed_thread, crashed = None, None
        errors.append(f"crashed goroutine: {e}")
    signo = si.signo if si else (core.threads[0].signal if core.threads else None) or None
    fault = si.addr if si else None
    goroutines: int | None
    try:
        goroutines = len(proc.goroutines)
        skipped = getattr(proc, "goroutine_errors", [])
        if skipped:  # entries of allgs that are unreadable or not goroutines at all
            errors.append(f"{len(skipped)} goroutine(s) skipped: {skipped[0]}" + (" ..." if len(skipped) > 1 else ""))
    except ExplorerError as e:
        goroutines = None
        errors.append(str(e))
    go_sig = None
    if crashed is not None and crashed.sig:
        go_sig = {"signal": crashed.sig, "signal_name": SIGNAL_NAMES.get(crashed.sig, f"signal {crashed.sig}"),
                  "code": crashed.sigcode0, "address": crashed.sigcode1, "pc": crashed.sigpc}
        if fault is None and crashed.sig in (7, 11):
            fault = crashed.sigcode1
    panic_text = None
    try:
        from explorer.goruntime.panics import panic_message

        panic_text = panic_message(proc, crashed) if crashed is not None else None
    except ImportError:
        pass
    except ExplorerError as e:
        errors.append(f"panic value: {e}")
    try:
        site, fatal = crash_site(proc)
    except ExplorerError as e:
        site, fatal = None, False
        errors.append(f"crash site: {e}")
    return {
        "executable": str(proc.exe.path),
        "core": str(core.path),
        "core_executable": core.executable_path,
        "go_version": proc.go_version,
        "arch": core.arch,
        "build_id": proc.exe.build_id,
        "core_build_id": proc.core_build_id,
        "build_id_match": proc.build_id_match,
        "signal": signo,
        "signal_name": SIGNAL_NAMES.get(signo, f"signal {signo}") if signo else None,
        "signal_code": si.code if si else None,
        "fault_address": fault,
        "go_signal": go_sig,
        "threads": len(core.threads),
        "crashed_thread": crashed_thread.tid if crashed_thread else None,
        "goroutines": goroutines,
        "crashed_goroutine": crashed.id if crashed is not None else None,
        "panic": panic_text,
        "fatal_error": fatal,
        "crash_site": frame_dict(site) if site else None,
        "core_truncated": core.truncated,
        "core_missing_bytes": core.missing_bytes,
        "core_compressed": core.compressed,
        "has_dwarf": proc.exe.has_dwarf,
        "pid": core.notes.prpsinfo.pid if core.notes.prpsinfo else None,
        "command_line": core.notes.prpsinfo.psargs if core.notes.prpsinfo else None,
        "warnings": [w.message for w in proc.warnings],
        "errors": errors,
    }
