"""Which frame a reader of a crash starts at: the one rule the TUI (the frame it opens on) and the
command line (``-f``'s default, ``bt``'s marker) share.

A goroutine's *selected frame* is its innermost frame in the program's own code: not the runtime,
not the rest of the Go distribution (the standard library), so that a nil dereference in a handler
opens on the handler rather than on ``runtime.sigpanic``, and a crash in ``net/http`` code called by
the program on the program's caller. Failing that, the innermost frame outside the runtime; failing
that, frame 0.

"The Go distribution" is told by where a frame's file is: under GOROOT (as the binary's own
``runtime.main`` names it). Binaries built with ``-trimpath`` record no absolute paths: then it is
told by the package path (the standard library's first path element has no dot).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from explorer.errors import ExplorerError
from explorer.goruntime.unwind import Frame

if TYPE_CHECKING:
    from explorer.goruntime.goroutines import Goroutine
    from explorer.goruntime.process import GoProcess


RUNTIME_PREFIXES = ("runtime.", "internal/runtime/", "runtime/internal/")


def is_runtime_function(name: str) -> bool:
    """True for the runtime's own functions (not runtime/pprof, runtime/debug...)."""
    return name.startswith(RUNTIME_PREFIXES)


def package_path(function: str) -> str:
    """The package path of a function name: ``net/http.(*conn).serve`` → ``net/http``;
    ``main.Map[...]`` → ``main`` (type arguments may hold dots and slashes)."""
    name = function.split("[", 1)[0]
    slash = name.rfind("/")
    dot = name.find(".", slash + 1)
    return name[:dot] if dot >= 0 else name


def goroot(proc: GoProcess) -> str | None:
    """GOROOT as the binary's file names give it (the directory above ``src/runtime/`` in the file
    of ``runtime.main``); None when it cannot be told (``-trimpath``, no such function). Cached on
    the process."""
    cache = proc.__dict__
    if "_selection_goroot" not in cache:
        root = None
        try:
            pcln = proc.pclntab
            f = pcln.func_by_name("runtime.main") or pcln.func_by_name("runtime.goexit")
            if f is not None:
                file, _ = pcln.file_line(f, f.entry)
                i = file.rfind("/src/runtime/")
                root = file[:i] if i >= 0 else None
        except ExplorerError:
            root = None
        cache["_selection_goroot"] = root
    return cache["_selection_goroot"]


def is_std_frame(proc: GoProcess, f: Frame) -> bool:
    """A frame in the Go distribution (the runtime, the standard library), not the program's code."""
    if is_runtime_function(f.function):
        return True
    root = goroot(proc)
    if root and f.file.startswith(root + "/src/"):
        return True
    if root is None or not f.file.startswith("/"):  # -trimpath: judge by the package path
        pkg = package_path(f.function)
        first = pkg.split("/", 1)[0]
        return pkg != "main" and "." not in first
    return False


def default_frame_index(proc: GoProcess, frames: Sequence[Frame]) -> int:
    """The index of the frame to start at in ``frames`` (a backtrace): the innermost in the
    program's own code, else the innermost outside the runtime, else 0."""
    for f in frames:
        if not is_std_frame(proc, f):
            return f.index
    for f in frames:
        if not is_runtime_function(f.function):
            return f.index
    return 0


def selected_frame(proc: GoProcess, g: Goroutine | None) -> int:
    """The frame ``-f`` means when it is not given: :func:`default_frame_index` of ``g``'s
    backtrace (0 without a goroutine, or without frames)."""
    if g is None:
        return 0
    return default_frame_index(proc, proc.backtrace(g).frames)
