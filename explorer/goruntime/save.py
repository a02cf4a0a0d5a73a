"""Writing the bytes behind a value (or an address range) to a file, safely.

The bytes are checked against the core before anything is created: a range the core does not hold
entirely is a :class:`SaveError` and leaves nothing behind. What happens next depends on what the
path names (:func:`check_destination`, which the TUI's dialog can ask first):

- nothing yet: a new file, created atomically; a file that appears meanwhile is not clobbered;
- a regular file: refused without ``force``; with it, replaced atomically (same permissions);
- a symbolic link: the same, for the file it points to; the link stays a link (a link to nothing
  needs ``force`` to create its target);
- a FIFO or a character device (``/dev/null``, a named pipe to a decoder): written through, as
  ``cat > PATH`` would; nothing is replaced, so ``force`` is not needed. A terminal is refused:
  bytes from a core are no text for it;
- ``-`` (and ``/dev/stdout``, ``/dev/stderr``, ``/dev/fd/N``, ``/proc/self/fd/N``): the open file
  descriptor itself, whatever the shell made it (a pipe, a redirected file), unless it is a
  terminal, a directory or a block device;
- a directory, a block device, a socket (or anything else): refused, untouched.

A regular file is written into an unnamed temporary file (``O_TMPFILE``) in the target's directory,
flushed and fsynced, then given its name (``linkat``): if the process dies meanwhile, by any signal
even SIGKILL, nothing is left behind. Where unnamed files are not available the data goes to a named
temporary file (``.NAME.XXXX.tmp``), as it does for the instant between naming and renaming under
``force``. Named temporary files are tracked (:func:`remove_partial_files`) and, while a save runs
in the main thread, SIGTERM and SIGHUP raise :class:`~explorer.errors.Interrupted` so that every
cleanup runs (SIGINT already raises KeyboardInterrupt); the CLI then dies by the same signal.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import re
import signal
import stat
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from explorer.errors import ExplorerError, Interrupted, SaveError, UnreadableMemory

if TYPE_CHECKING:
    from explorer.core.memory import Memory
    from explorer.goruntime.process import GoProcess

#: The most ``save`` writes in one go (a larger request is almost surely a garbage length).
MAX_SAVE = 1 << 34
_CHUNK = 1 << 20

#: Signals that end a save cleanly (the terminal closed, a polite kill).
CLEAN_EXIT_SIGNALS = (signal.SIGTERM, signal.SIGHUP)

_AT_FDCWD = -100
_AT_EMPTY_PATH = 0x1000


@dataclass(frozen=True)
class Destination:
    """Where :func:`save_memory` would write ``path``.

    ``kind`` is ``"new"`` (no file yet), ``"file"`` (an existing regular file: needs ``force``),
    ``"stream"`` (a FIFO or character device, written through) or ``"fd"`` (an open file descriptor,
    ``fd``: ``-`` is 1); ``target`` is the file that is created or replaced (through symbolic links).
    """

    path: str
    kind: str
    target: Path
    via_link: bool = False
    fd: int | None = None

    @property
    def replaces(self) -> bool:
        """Whether saving replaces an existing file (and so needs ``force``)."""
        return self.kind == "file"


def check_destination(path: str | os.PathLike[str], force: bool = False) -> Destination:
    """What ``path`` is, or a :class:`SaveError` saying why nothing may be written there."""
    name = os.fspath(path)
    fd = fd_of_path(name)
    if fd is not None:
        return Destination(name, "fd", Path(name), fd=fd)
    if not name:
        raise SaveError("no file name given")
    p = Path(name)
    try:
        lst = os.lstat(p)
    except FileNotFoundError:
        return _new_file(p, p)
    except OSError as e:
        raise SaveError(f"cannot write {name}: {e.strerror or e}") from e
    via_link = stat.S_ISLNK(lst.st_mode)
    try:
        st = os.stat(p) if via_link else lst
    except FileNotFoundError:  # a link to nothing: create the file it points to
        real = Path(os.path.realpath(p))
        if not force:
            raise SaveError(f"{name} is a symbolic link to {real}, which does not exist: pass --force to "
                            f"create it") from None
        return _new_file(p, real, via_link=True)
    except OSError as e:  # a link loop, a component that is not a directory...
        raise SaveError(f"cannot write {name}: {e.strerror or e}") from e
    mode = st.st_mode
    if stat.S_ISREG(mode):
        if not force:
            raise SaveError(f"{name} exists: pass --force to overwrite it")
        return Destination(name, "file", Path(os.path.realpath(p)) if via_link else p, via_link)
    if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode):
        return Destination(name, "stream", p, via_link)
    what = ("a directory" if stat.S_ISDIR(mode) else "a block device" if stat.S_ISBLK(mode)
            else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
    raise SaveError(f"{name} is {what}: refusing to write to it")


_FD_PATH = re.compile(r"/(?:dev/fd|proc/(?:self|thread-self|\d+)/fd)/(\d+)")


def fd_of_path(path: str) -> int | None:
    """The file descriptor of ours that ``path`` names (``-`` and ``/dev/stdout``: 1), or None."""
    if path in ("-", "/dev/stdout"):
        return 1
    if path == "/dev/stderr":
        return 2
    m = _FD_PATH.fullmatch(path)
    if m is None or (m[0].startswith("/proc/") and m[0].split("/")[2] not in ("self", "thread-self",
                                                                              str(os.getpid()))):
        return None
    return int(m[1])


def _new_file(p: Path, target: Path, via_link: bool = False) -> Destination:
    parent = target.parent
    if not parent.is_dir():
        raise SaveError(f"cannot write {p}: directory {parent} does not exist")
    return Destination(str(p), "new", target, via_link)


def save_bytes(proc: GoProcess, addr: int, size: int, path: str | os.PathLike[str], force: bool = False) -> int:
    """Write ``size`` bytes at ``addr`` to ``path``; returns the number of bytes written."""
    return save_memory(proc.memory, addr, size, path, force=force)


def save_memory(mem: Memory, addr: int, size: int, path: str | os.PathLike[str], force: bool = False) -> int:
    """:func:`save_bytes` on any :class:`~explorer.core.memory.Memory`."""
    if size < 0 or addr < 0:
        raise SaveError(f"bad range {addr:#x}:{size}")
    if size > MAX_SAVE:
        raise SaveError(f"refusing to save {size} bytes (more than {MAX_SAVE}): is the length right?")
    got = mem.readable_prefix(addr, size) if size else 0
    if got < size:
        bad = addr + got
        reason = mem.why_unreadable(bad) or "unmapped"
        raise SaveError(f"cannot save {size} bytes at {addr:#x}: the core does not hold the bytes from "
                        f"{bad:#x} ({reason}); nothing written")
    dest = check_destination(path, force)
    try:
        with _signals_raise():
            if dest.kind == "fd":
                return _write_fd(mem, addr, size, dest)
            if dest.kind == "stream":
                return _write_stream(mem, addr, size, dest)
            return _write_file(mem, addr, size, dest, force)
    except (SaveError, Interrupted, KeyboardInterrupt):
        raise
    except UnreadableMemory as e:
        raise SaveError(f"cannot save: {e}; nothing written") from e
    except OSError as e:
        raise SaveError(f"cannot write {dest.path}: {e.strerror or e}") from e
    except ExplorerError as e:
        raise SaveError(f"cannot save: {e}") from e


def _copy_out(mem: Memory, addr: int, size: int, fh: IO[bytes]) -> int:
    written = 0
    for start, data, reason in mem.chunks(addr, size) if size else ():
        if data is None:  # the map changed under us: should not happen after the check
            raise UnreadableMemory(start, 1, reason)
        for off in range(0, len(data), _CHUNK):
            fh.write(data[off:off + _CHUNK])
        written += len(data)
    fh.flush()
    return written


# --------------------------------------------------------------------------------------------------
# Streams: FIFOs, character devices, standard output


def _write_fd(mem: Memory, addr: int, size: int, dest: Destination) -> int:
    fd = int(dest.fd or 0)
    what = "standard output" if fd == 1 else f"{dest.path} (file descriptor {fd})"
    try:
        st = os.fstat(fd)
    except OSError as e:
        raise SaveError(f"cannot write to {what}: {e.strerror or e}") from e
    if stat.S_ISDIR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        raise SaveError(f"{what} is a {'directory' if stat.S_ISDIR(st.st_mode) else 'block device'}: "
                        f"refusing to write to it")
    if os.isatty(fd):
        raise SaveError(f"{what} is a terminal: refusing to write binary data to it (redirect or pipe it)")
    for stream in (sys.stdout, sys.stderr):  # text already written comes first
        if stream is not None:
            stream.flush()
    with os.fdopen(os.dup(fd), "wb") as fh:
        try:
            return _copy_out(mem, addr, size, fh)
        except BrokenPipeError:
            raise SaveError(f"cannot write to {what}: its reader closed it (broken pipe)") from None


def _write_stream(mem: Memory, addr: int, size: int, dest: Destination) -> int:
    # O_NOCTTY: a terminal never becomes ours by being opened. No O_TRUNC and no O_CREAT: if the path
    # has meanwhile become a regular file, it is neither emptied nor created, and refused below.
    # Outside the main thread (the TUI's save worker) a FIFO without a reader is refused instead of
    # waited for: nothing could interrupt that wait (the CLI waits, as ``cat > FIFO`` does, and a
    # signal ends it).
    wait = _in_main_thread()
    try:
        fd = os.open(dest.path, os.O_WRONLY | os.O_NOCTTY | os.O_CLOEXEC | (0 if wait else os.O_NONBLOCK))
    except OSError as e:
        if e.errno == errno.ENXIO and not wait:
            raise SaveError(f"{dest.path} is a FIFO that nothing reads yet: start its reader first") from e
        raise SaveError(f"cannot write {dest.path}: {e.strerror or e}") from e
    if not wait:
        os.set_blocking(fd, True)
    with os.fdopen(fd, "wb") as fh:
        st = os.fstat(fd)
        if not (stat.S_ISFIFO(st.st_mode) or stat.S_ISCHR(st.st_mode)):
            raise SaveError(f"{dest.path} changed while being opened: not written")
        if os.isatty(fd):
            raise SaveError(f"{dest.path} is a terminal: refusing to write binary data to it")
        try:
            return _copy_out(mem, addr, size, fh)
        except BrokenPipeError:
            raise SaveError(f"cannot write {dest.path}: its reader closed it (broken pipe)") from None


# --------------------------------------------------------------------------------------------------
# Regular files


def _write_file(mem: Memory, addr: int, size: int, dest: Destination, force: bool) -> int:
    target = dest.target
    parent = target.parent if str(target.parent) else Path(".")
    old_mode = None
    if dest.kind == "file":
        with contextlib.suppress(OSError):
            old_mode = stat.S_IMODE(os.stat(target).st_mode) & 0o777
    fd = _open_unnamed(parent)
    tmp: str | None = None
    try:
        if fd is None:  # no O_TMPFILE here: a named temporary file, tracked and removed on every way out
            fd, tmp = _named_temp(parent, target.name)
        with os.fdopen(fd, "wb") as fh:
            written = _copy_out(mem, addr, size, fh)
            os.fsync(fh.fileno())
            if old_mode is not None:
                os.fchmod(fh.fileno(), old_mode)
            elif tmp is not None:  # mkstemp makes 0600; a new file gets what open(2) would give it
                os.fchmod(fh.fileno(), 0o666 & ~_umask())
            if tmp is None:
                tmp = _name_unnamed(fh.fileno(), target, parent, replace=force)
                if tmp is None:  # named directly: done
                    return written
        _place(tmp, target, force)
        tmp = None
        return written
    finally:
        if tmp is not None:
            _discard(tmp)


def _open_unnamed(parent: Path) -> int | None:
    """An unnamed file (O_TMPFILE) in ``parent``, or None where the system or filesystem has none."""
    flag = getattr(os, "O_TMPFILE", 0)
    if not flag:
        return None
    try:
        return os.open(parent, flag | os.O_WRONLY | os.O_CLOEXEC, 0o666)  # the umask applies
    except OSError as e:
        if e.errno in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT):
            return None
        raise SaveError(f"cannot write in {parent}: {e.strerror or e}") from e


def _link_fd(fd: int, dest: Path) -> bool:
    """Give the unnamed file ``fd`` the name ``dest`` (FileExistsError if taken); False where the
    kernel does not allow it (linkat AT_EMPTY_PATH needs Linux 6.10 or CAP_DAC_READ_SEARCH; the
    /proc/self/fd route fails across some mount setups)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.linkat(fd, b"", _AT_FDCWD, os.fsencode(dest), _AT_EMPTY_PATH) == 0:
            return True
        err = ctypes.get_errno()
    except (OSError, AttributeError):
        err = errno.ENOSYS
    if err == errno.EEXIST:
        raise FileExistsError(err, os.strerror(err), str(dest))
    try:
        os.link(f"/proc/self/fd/{fd}", dest, follow_symlinks=True)
        return True
    except FileExistsError:
        raise
    except OSError:
        return False


def _name_unnamed(fd: int, target: Path, parent: Path, replace: bool) -> str | None:
    """Name the written unnamed file: ``target`` itself when nothing is replaced (None returned),
    else a temporary name for :func:`_place` to rename (returned, tracked)."""
    if not replace:
        try:
            if _link_fd(fd, target):
                return None
        except FileExistsError:
            raise SaveError(f"{target} exists: pass --force to overwrite it") from None
    with _blocked_signals():  # the temporary name and its tracking appear together
        for _ in range(100):
            name = os.path.join(parent, f".{target.name}.{os.urandom(4).hex()}.tmp")
            try:
                if _link_fd(fd, Path(name)):
                    _IN_FLIGHT.add(name)
                    return name
                break
            except FileExistsError:
                continue
    # No way to name it: copy it into a named temporary file (costs a second write of the data).
    out_fd, name = _named_temp(parent, target.name)
    try:
        with os.fdopen(out_fd, "wb") as out:
            src = os.dup(fd)
            with os.fdopen(src, "rb") as inp:
                inp.seek(0)
                while chunk := inp.read(_CHUNK):
                    out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
            os.fchmod(out.fileno(), stat.S_IMODE(os.fstat(fd).st_mode))
    except BaseException:
        _discard(name)
        raise
    return name


def _named_temp(parent: Path, base: str) -> tuple[int, str]:
    with _blocked_signals():
        try:
            fd, name = tempfile.mkstemp(prefix=f".{base}.", suffix=".tmp", dir=parent)
        except OSError as e:
            raise SaveError(f"cannot write in {parent}: {e.strerror or e}") from e
        _IN_FLIGHT.add(name)
    return fd, name


def _place(tmp: str, target: Path, force: bool) -> None:
    """Move the complete temporary file ``tmp`` to ``target``."""
    with _blocked_signals():
        if force:
            # The target may have changed since it was checked: never rename over a special file.
            with contextlib.suppress(FileNotFoundError):
                st = os.lstat(target)
                if not stat.S_ISREG(st.st_mode):
                    raise SaveError(f"{target} changed while being written (no longer a regular file): "
                                    f"not replaced")
            os.replace(tmp, target)
        else:
            try:
                os.link(tmp, target)
            except FileExistsError:
                raise SaveError(f"{target} exists: pass --force to overwrite it") from None
            except OSError:  # a filesystem without hard links: fall back to a checked rename
                if os.path.lexists(target):
                    raise SaveError(f"{target} exists: pass --force to overwrite it") from None
                os.replace(tmp, target)
            else:
                os.unlink(tmp)
        _IN_FLIGHT.discard(tmp)


def _discard(name: str) -> None:
    with _blocked_signals():
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
        _IN_FLIGHT.discard(name)


# --------------------------------------------------------------------------------------------------
# Signals


#: Named temporary files of saves in progress.
_IN_FLIGHT: set[str] = set()


def remove_partial_files() -> list[str]:
    """Remove the temporary files of saves in progress (for a signal handler of the TUI that is about
    to exit while a save runs in a worker thread); returns their names."""
    removed = []
    for name in list(_IN_FLIGHT):
        with contextlib.suppress(OSError):
            os.unlink(name)
            removed.append(name)
        _IN_FLIGHT.discard(name)
    return removed


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def _signals_raise() -> Iterator[None]:
    """While a save runs in the main thread, SIGTERM and SIGHUP raise Interrupted (unless ignored, as
    under nohup), so that the cleanup of every ``finally`` runs; the previous handlers come back after."""
    if not _in_main_thread():
        yield
        return

    def handler(signum: int, _frame: Any) -> None:
        raise Interrupted(signum)

    previous: dict[int, Any] = {}
    for sig in CLEAN_EXIT_SIGNALS:
        old = signal.getsignal(sig)
        if old is signal.SIG_IGN:
            continue
        previous[sig] = old
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for num, was in previous.items():
            signal.signal(num, was if was is not None else signal.SIG_DFL)


@contextlib.contextmanager
def _blocked_signals() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP back (in this thread) for a few system calls that must happen
    together: a temporary name and its removal or rename."""
    sigs = {signal.SIGINT, *CLEAN_EXIT_SIGNALS}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _umask() -> int:
    """The process's umask, read without changing it (os.umask would race with other threads)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022
