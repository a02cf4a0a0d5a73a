"""Writing the bytes behind a value (or an address range) to a file, safely.

The bytes are checked against the core before anything is created: a range the core does not hold
entirely is a :class:`SaveError` and leaves nothing behind. The data is streamed into a temporary
file in the target's directory, flushed and fsynced, then moved into place: with ``os.link`` when
the target must not be overwritten (atomic: a file that appears meanwhile is not clobbered), with
``os.replace`` under ``--force``. A missing directory, an existing file without ``force``, or a
write error is one clear :class:`SaveError`; the temporary file is always removed.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from explorer.errors import ExplorerError, SaveError, UnreadableMemory

if TYPE_CHECKING:
    from explorer.core.memory import Memory
    from explorer.goruntime.process import GoProcess

#: The most ``save`` writes in one go (a larger request is almost surely a garbage length).
MAX_SAVE = 1 << 34
_CHUNK = 1 << 20


def save_bytes(proc: GoProcess, addr: int, size: int, path: str | os.PathLike[str], force: bool = False) -> int:
    """Write ``size`` bytes at ``addr`` to ``path``; returns the number of bytes written."""
    return save_memory(proc.memory, addr, size, path, force=force)


def save_memory(mem: Memory, addr: int, size: int, path: str | os.PathLike[str], force: bool = False) -> int:
    """:func:`save_bytes` on any :class:`~explorer.core.memory.Memory`."""
    target = Path(path)
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
    if target.is_dir():
        raise SaveError(f"{target} is a directory")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise SaveError(f"cannot write {target}: directory {parent} does not exist")
    if target.exists() and not force:
        raise SaveError(f"{target} exists: pass --force to overwrite it")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent)
    except OSError as e:
        raise SaveError(f"cannot write in {parent}: {e.strerror or e}") from e
    written = 0
    try:
        with os.fdopen(fd, "wb") as fh:
            for start, data, reason in mem.chunks(addr, size) if size else ():
                if data is None:  # the map changed under us: should not happen after the check
                    raise UnreadableMemory(start, 1, reason)
                for off in range(0, len(data), _CHUNK):
                    fh.write(data[off:off + _CHUNK])
                written += len(data)
            fh.flush()
            os.fsync(fh.fileno())
        mode = 0o666 & ~_umask()
        os.chmod(tmp, mode)
        if force:
            os.replace(tmp, target)
        else:
            try:
                os.link(tmp, target)
            except FileExistsError:
                raise SaveError(f"{target} exists: pass --force to overwrite it") from None
            except OSError:  # a filesystem without hard links: fall back to a checked rename
                if target.exists():
                    raise SaveError(f"{target} exists: pass --force to overwrite it") from None
                os.replace(tmp, target)
    except SaveError:
        raise
    except UnreadableMemory as e:
        raise SaveError(f"cannot save: {e}; nothing written") from e
    except OSError as e:
        raise SaveError(f"cannot write {target}: {e.strerror or e}") from e
    except ExplorerError as e:
        raise SaveError(f"cannot save: {e}") from e
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return written


def _umask() -> int:
    """The process's umask, read without changing it (os.umask would race with other threads)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022
