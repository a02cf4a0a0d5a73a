"""What the TUI knows of the process, without Textual: the model, a lock, and the small decisions
(which frame is "user code", what ``x 0xc000:64`` means, what a saved file is called).

Workers run in threads. pyelftools reads DWARF through one shared stream, so every call that may
touch DWARF (loading, variables, expressions, values) holds :attr:`Session.lock`; the unwinder and
memory reads use only pclntab tables and mmaps and run without it.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from explorer.errors import ExplorerError, SaveError
from explorer.goruntime.frameselect import default_frame_index, goroot, is_std_frame, package_path
from explorer.goruntime.unwind import Frame
from explorer.render.source import SourceFinder

#: Bytes shown for a bare address (``x 0xc000012000``) when no length is given.
DEFAULT_X_LEN = 256
#: The hex view refuses ranges bigger than this.
MAX_VIEW_BYTES = 1 << 32
#: A save checks whether it was interrupted after each piece this big.
SAVE_PIECE = 1 << 20

_INT = re.compile(r"^[+-]?(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|[0-9][0-9_]*)$")


def parse_int(text: str) -> int | None:
    """``0x1f``, ``31``, ``0o37``, ``0b11111`` (underscores allowed); None for anything else."""
    t = text.strip()
    if not _INT.match(t):
        return None
    try:
        return int(t.replace("_", ""), 0) if not re.match(r"^[+-]?0[0-9]", t) else int(t.replace("_", ""), 10)
    except ValueError:
        return None


def parse_range(text: str) -> tuple[int, int] | None:
    """``ADDR:LEN`` as (addr, len), or None when it is not two integers (``b[0:4]`` is an expression)."""
    if ":" not in text:
        return None
    a, _, n = text.strip().rpartition(":")
    addr, size = parse_int(a), parse_int(n)
    if addr is None or size is None:
        return None
    if addr < 0 or size < 0:
        raise ExplorerError(f"{text}: address and length must not be negative")
    return addr, size


def safe_name(text: str) -> str:
    """A file-name-safe form of an expression: ``s.ready["x"]`` → ``s.ready_x_``."""
    name = re.sub(r"[^A-Za-z0-9._+-]+", "_", text).strip("._") or "bytes"
    return name[:80]


def default_save_name(label: str, start: int, size: int, whole: int, base_addr: int = 0) -> str:
    """The name the save dialog proposes: ``body.bin`` for a whole value, ``body-4-20.bin`` for its
    bytes [4:20], ``mem-c000012000-64.bin`` for a raw range."""
    if parse_int(label) is not None or parse_range(label) is not None:
        return f"mem-{base_addr + start:x}-{size}.bin"
    name = safe_name(label)
    if start == 0 and size == whole:
        return f"{name}.bin"
    return f"{name}-{start}-{start + size}.bin"


def _check_address(text: str, addr: int) -> None:
    if addr >= 1 << 64:
        raise ExplorerError(f"{text}: past the end of the 64-bit address space")


package_of = package_path  # the package path of a function name (explorer.goruntime.frameselect)


@dataclass(frozen=True)
class Target:
    """Where a hex view or a save points: a labelled byte range."""

    label: str  # what the user typed or the variable's name
    addr: int
    size: int
    type_name: str = ""


class InterruptibleMemory:
    """The process's memory as a save reads it: ``chunks`` in pieces of at most :data:`SAVE_PIECE`
    bytes, raising :class:`SaveError` between two pieces once ``stop`` is set (a SIGTERM, SIGHUP or
    quit while a save runs). Everything else is the memory's own."""

    def __init__(self, memory: Any, stop: threading.Event) -> None:
        self._memory = memory
        self._stop = stop

    def chunks(self, addr: int, size: int) -> Iterator[tuple[int, Any, str]]:
        for start, data, reason in self._memory.chunks(addr, size):
            if data is None:
                yield start, data, reason
                continue
            for off in range(0, len(data), SAVE_PIECE):
                if self._stop.is_set():
                    raise SaveError("save interrupted: gocore-tui is closing")
                yield start + off, data[off : off + SAVE_PIECE], reason

    def __getattr__(self, name: str) -> Any:  # readable_prefix, why_unreadable, read...
        return getattr(self._memory, name)


class Session:
    """One open core for the TUI."""

    def __init__(self, proc: Any, substitute: Sequence[tuple[str, str]] = ()) -> None:
        self.proc = proc
        self.lock = threading.RLock()
        self.sources = SourceFinder(substitute)
        self._saves = threading.Condition()
        self._active = 0  # saves in progress
        self._closing = threading.Event()

    # -- frames ----------------------------------------------------------------------------------

    @property
    def goroot(self) -> str | None:
        """GOROOT as the binary's file names give it (explorer.goruntime.frameselect)."""
        return goroot(self.proc)

    @cached_property
    def main_module_dir(self) -> tuple[str, str] | None:
        """(directory on the build machine, module path) of the main module: the directory of
        main.main's file, less the main package's path below its module (``cmd/app``)."""
        info = getattr(self.proc.exe, "buildinfo", None)
        f = self.proc.pclntab.func_by_name("main.main")
        if info is None or not info.main_module or f is None:
            return None
        directory = os.path.dirname(self.proc.pclntab.file_line(f, f.entry)[0])
        module, package = info.main_module, info.path
        if package != module and not package.startswith(module + "/"):
            return None
        below = package[len(module):]  # "" or "/cmd/app"
        if below:
            if not directory.endswith(below):
                return None
            directory = directory[: -len(below)]
        return directory, module

    def source_place(self, file: str) -> str:
        """Where a source file lives, as the source pane's footer says it: under the main module
        (``example.com/app/internal/db``) rather than the build machine's directory, in GOROOT
        (``$GOROOT/src/net/http``), in the module cache (``github.com/x/y@v1.2.3/z``), else the
        directory the binary records."""
        directory = os.path.dirname(file)
        main = self.main_module_dir
        if main is not None and (directory == main[0] or directory.startswith(main[0] + "/")):
            return main[1] + directory[len(main[0]):]
        root = self.goroot
        if root and directory.startswith(root + "/src/"):
            return "$GOROOT/src/" + directory[len(root) + 5:]
        i = directory.find("/pkg/mod/")
        if i >= 0:
            return directory[i + len("/pkg/mod/"):]
        return directory

    def is_std(self, f: Frame) -> bool:
        """A frame in the Go distribution (runtime, standard library), not the program's code."""
        return is_std_frame(self.proc, f)

    def default_frame(self, frames: Sequence[Frame]) -> int:
        """The frame to select first: the one the command line's ``-f`` defaults to
        (explorer.goruntime.frameselect: the innermost in the program's own code, else outside the
        runtime, else the innermost)."""
        return default_frame_index(self.proc, frames)

    # -- values ----------------------------------------------------------------------------------

    def variables(self, g: Any, frame_index: int) -> list[Any]:
        """The frame's arguments and locals (explorer.goruntime.variables)."""
        try:
            from explorer.goruntime.variables import frame_variables
        except ImportError as e:
            raise ExplorerError("variables are not available in this build (no value layer)") from e
        with self.lock:
            return list(frame_variables(self.proc, g, frame_index))

    def evaluate(self, expr: str, g: Any, frame_index: int) -> Any:
        try:
            from explorer.goruntime.expr import evaluate
        except ImportError as e:
            raise ExplorerError("expressions are not available in this build (no value layer)") from e
        with self.lock:
            return evaluate(self.proc, expr, g, frame_index)

    def target(self, text: str, g: Any, frame_index: int, length: int | None = None) -> Target:
        """What ``x``/``save`` point at: ``ADDR``, ``ADDR:LEN`` or an expression's bytes."""
        text = text.strip()
        if not text:
            raise ExplorerError("an expression or an address is needed")
        rng = parse_range(text)
        if rng is not None:
            addr, size = rng
            _check_address(text, addr)
            return Target(text, addr, length if length is not None else size)
        bare = parse_int(text)
        if bare is not None:
            if bare < 0:
                raise ExplorerError(f"{text}: negative address")
            _check_address(text, bare)
            return Target(text, bare, length if length is not None else DEFAULT_X_LEN)
        value = self.evaluate(text, g, frame_index)
        return self.value_target(text, value, length)

    def value_target(self, label: str, value: Any, length: int | None = None) -> Target:
        from explorer.goruntime.expr import value_bytes

        with self.lock:
            addr, size = value_bytes(value, label, "show")
            type_name = value.type_name
        if length is not None:
            size = length
        return Target(label, addr, size, type_name)

    def save(self, addr: int, size: int, path: str | Path, *, force: bool = False) -> int:
        """Write the range to ``path`` (explorer.goruntime.save.save_memory, on the process's memory
        read through :class:`InterruptibleMemory`); :meth:`interrupt_saves` stops it
        between two pieces, and the save then removes what it wrote (its temporary file).

        Runs without :attr:`lock`: it reads only the core's mmaps, and a big save must not hold up the
        other workers."""
        try:
            from explorer.goruntime.save import save_memory
        except ImportError as e:
            raise ExplorerError("saving is not available in this build (no save module)") from e
        with self._saves:
            if self._closing.is_set():
                raise SaveError("gocore-tui is closing: nothing saved")
            self._active += 1
        try:
            return int(save_memory(InterruptibleMemory(self.proc.memory, self._closing), addr, size, str(path),
                                  force=force))
        finally:
            with self._saves:
                self._active -= 1
                self._saves.notify_all()

    def interrupt_saves(self) -> None:
        """Stop every save in progress (and refuse new ones): the app is closing."""
        self._closing.set()

    def wait_saves(self, timeout: float | None = None) -> bool:
        """Wait until no save is in progress (they have cleaned up); False on timeout."""
        with self._saves:
            return self._saves.wait_for(lambda: self._active == 0, timeout)

    # -- source --------------------------------------------------------------------------------

    def source_lines(self, name: str) -> Any:
        """(SourceFile, highlighted lines) of a file the binary names; cached (pygments is slow)."""
        from explorer.render.source import highlight

        src = self.sources.load(name)
        cache: dict[str, Any] = self.__dict__.setdefault("_highlighted", {})
        key = str(src.path)
        if key not in cache:
            if len(cache) > 32:
                cache.clear()
            cache[key] = highlight(src)
        return src, cache[key]

    # -- disassembly -----------------------------------------------------------------------------

    @cached_property
    def symbols(self) -> Any:
        from explorer.render.disasm import SymbolIndex

        with self.lock:
            return SymbolIndex(self.proc.exe.symbols, self.proc.pie_bias)

    def listing(self, pc: int) -> Any:
        """The disassembly of the function holding ``pc`` (cached per function)."""
        from explorer.render.disasm import disassemble

        func = self.proc.pclntab.find_func(pc)
        if func is None:
            raise ExplorerError(f"no function at pc {pc:#x}")
        cache: dict[int, Any] = self.__dict__.setdefault("_listings", {})
        if func.entry not in cache:
            if len(cache) > 64:
                cache.clear()
            cache[func.entry] = disassemble(self.proc.memory.read, self.proc.pclntab, func, self.proc.arch,
                                            self.symbols)
        return cache[func.entry]
