"""One exception hierarchy for every layer.

The CLI turns any :class:`ExplorerError` into one line on stderr and exit status 1; the TUI turns it
into a notification. Anything else escaping is a bug.
"""

from __future__ import annotations


class ExplorerError(Exception):
    """Base of every error this package reports to a user."""


class InputError(ExplorerError):
    """A file could not be opened or is not what it should be (not ELF, not a core, ...)."""


class CoreFormatError(InputError):
    """The core file is malformed."""


class BinaryFormatError(InputError):
    """The executable is malformed or not usable."""


class NotGoError(InputError):
    """The executable (or the core's program) is not a Go program."""


class UnreadableMemory(ExplorerError):
    """An address range is not held by the core or the executable."""

    def __init__(self, addr: int, size: int, reason: str = "unmapped") -> None:
        super().__init__(f"cannot read {size} bytes at {addr:#x}: {reason}")
        self.addr = addr
        self.size = size
        self.reason = reason


class CorruptData(ExplorerError):
    """A structure in the core says something impossible (a negative or astronomic length, a nil
    pointer under a non-zero length): reported as data, never trusted."""


class NoDwarfError(ExplorerError):
    """The executable has no DWARF (stripped): typed variables cannot be shown."""


class ExpressionError(ExplorerError):
    """An expression did not parse or names nothing."""


class SaveError(ExplorerError):
    """Writing bytes to a file failed or was refused."""


class Interrupted(BaseException):
    """A termination signal (SIGTERM, SIGHUP) arrived during an operation that cleans up after itself
    (a save). Not an :class:`ExplorerError`: once the cleanup has run, the CLI exits by the same
    signal, as if it had not caught it."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"interrupted by signal {signum}")
        self.signum = signum
