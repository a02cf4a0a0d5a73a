"""Symbol-free ways to find runtime globals in stripped binaries (``-ldflags=-s -w``).

Every finding is validated against the data it must describe, so a wrong candidate is rejected
rather than trusted:

- ``[N]string`` tables (``runtime.waitReasonStrings``, ``runtime.gStatusStrings``): statically
  initialised arrays of string headers in ``.data`` whose elements are known texts.
- ``runtime.allgs`` (``[]*g`` in ``.bss``): the slice header whose array holds the goroutines that the
  threads' TLS leads to, and whose every element looks like a g.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable

from explorer.binary.elf import Executable
from explorer.core import AddressSpace
from explorer.errors import ExplorerError, NotGoError

_STRHDR = struct.Struct("<QQ")


def _find_all(hay: bytes | memoryview, needle: bytes) -> list[int]:
    data = bytes(hay)
    out: list[int] = []
    pos = data.find(needle)
    while pos >= 0 and len(out) < 64:
        out.append(pos)
        pos = data.find(needle, pos + 1)
    return out


def find_string_array(exe: Executable, index: int, text: str, *, bias: int = 0) -> int | None:
    """Address of a static ``[N]string`` whose element ``index`` is ``text``.

    The text's bytes are looked up in the read-only data; then ``.data`` is scanned for an aligned
    string header (pointer, length) that names them.
    """
    needle = text.encode()
    hdr_targets: set[bytes] = set()
    for sec_name in (".rodata", ".noptrdata", ".go.string"):
        sec = exe.sections.get(sec_name)
        data = exe.section_data(sec_name)
        if sec is None or data is None:
            continue
        for off in _find_all(data, needle):
            hdr_targets.add(_STRHDR.pack(sec.addr + off + bias, len(needle)))
    if not hdr_targets:
        return None
    for sec_name in (".data", ".noptrdata"):
        sec = exe.sections.get(sec_name)
        data = exe.section_data(sec_name)
        if sec is None or data is None:
            continue
        raw = bytes(data)
        for target in hdr_targets:
            pos = raw.find(target)
            while pos >= 0:
                if (sec.addr + pos) % 8 == 0 and pos >= 16 * index:
                    return sec.addr + bias + pos - 16 * index
                pos = raw.find(target, pos + 1)
    return None


def read_string_array(mem: AddressSpace, addr: int, count: int | None, *, max_count: int = 512,
                      max_len: int = 256, holes: Callable[[str], bool] | None = None) -> list[str]:
    """Read a ``[N]string``; with ``count`` None, read until an element stops looking like a string.

    ``holes``: the table has empty elements past element 0 (``gStatusStrings`` leaves the unused
    statuses 5 and 7 empty); then reading goes on past them, for as long as every element passes
    ``holes`` (e.g. looks like a status word), and trailing empty elements are dropped.
    """
    out: list[str] = []
    n = count if count is not None else max_count
    for i in range(min(n, max_count)):
        try:
            ptr, ln = _STRHDR.unpack(mem.read(addr + 16 * i, 16))
            if ln > max_len or (ln and ptr == 0):
                raise ExplorerError("not a string")
            s = mem.read(ptr, ln).decode("utf-8", "replace") if ln else ""
        except ExplorerError:
            if count is not None:
                out.append("?")
                continue
            break
        if count is None and holes is not None:
            if not holes(s):
                break
        elif count is None and i > 0 and not s:
            break  # only element 0 of these tables is empty
        out.append(s)
    if count is None and holes is not None:
        while out and not out[-1]:
            out.pop()
    return out


def find_allgs(exe: Executable, mem: AddressSpace, known_gs: Iterable[int],
               looks_like_g: Callable[[int], bool], *, bias: int = 0) -> int | None:
    """Address of ``runtime.allgs`` (a ``[]*g`` slice header in ``.bss``/``.noptrbss``/``.data``)."""
    bss = exe.sections.get(".bss")
    if bss is not None and bss.size and mem.why_unreadable(bss.addr + bias) == "unmapped":
        # A core of this program maps .bss (dumped, or at least described by a program header).
        raise NotGoError(f"{exe.path}'s .bss ({bss.addr + bias:#x}) is not in the dumped process's memory: the "
                         f"core is not of this Go program (another executable, or not a Go program at all)")
    known = {g for g in known_gs if g}
    for sec_name in (".bss", ".data", ".noptrbss"):
        sec = exe.sections.get(sec_name)
        if sec is None:
            continue
        start = sec.addr + bias
        n = mem.readable_prefix(start, sec.size)
        if n < 24:
            continue
        raw = mem.read(start, n)
        words = struct.unpack_from(f"<{n // 8}Q", raw)
        for i in range(len(words) - 2):
            ptr, ln, cap = words[i], words[i + 1], words[i + 2]
            if not ptr or not 0 < ln <= cap or cap > 1 << 24 or ptr % 8:
                continue
            arr = mem.try_read(ptr, 8 * ln)
            if arr is None:
                continue
            elems = struct.unpack(f"<{len(arr) // 8}Q", arr[: len(arr) // 8 * 8])
            if known and not known.issubset(elems):
                continue
            sample = elems[: min(ln, 32)]
            if all(looks_like_g(g) for g in sample):
                return start + 8 * i
    return None
