"""The ``.go.buildinfo`` section: Go version and module information.

Layout (Go 1.18+, always used by 1.21–1.27): a 32-byte header ``"\\xff Go buildinf:"``, pointer
size, flags (bit 1: strings inline), then two varint-length-prefixed strings, the version and the
module info (which is wrapped in 16-byte sentinels). Older binaries (flags bit clear) store pointers
to string headers instead; we read those too when given a reader.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from explorer.binary.varint import uvarint
from explorer.errors import BinaryFormatError

MAGIC = b"\xff Go buildinf:"
FLAG_INLINE = 2


@dataclass(frozen=True)
class BuildInfo:
    """What ``go version -m`` shows."""

    go_version: str
    path: str = ""
    main_module: str = ""
    settings: dict[str, str] = field(default_factory=dict)
    deps: list[tuple[str, str]] = field(default_factory=list)
    raw_modinfo: str = ""


def parse_buildinfo(data: bytes | memoryview, read: Callable[[int, int], bytes] | None = None) -> BuildInfo:
    """Parse the bytes of ``.go.buildinfo``. ``read(addr, n)`` serves pre-1.18 pointer layouts."""
    data = bytes(data[: 1 << 20])
    if len(data) < 32 or not data.startswith(MAGIC):
        raise BinaryFormatError("no Go build info (.go.buildinfo has no magic)")
    ptr_size = data[14]
    flags = data[15]
    if flags & FLAG_INLINE:
        pos = 32
        n, pos = uvarint(data, pos, len(data), 10, ".go.buildinfo")  # a uint64
        version = data[pos : pos + n].decode("utf-8", "replace")
        pos += n
        n, pos = uvarint(data, pos, len(data), 10, ".go.buildinfo")  # a uint64
        modinfo = data[pos : pos + n].decode("utf-8", "replace")
    else:
        if read is None or ptr_size not in (4, 8):
            raise BinaryFormatError("pre-1.18 .go.buildinfo needs memory reads")
        def rstr(addr: int) -> str:
            hdr = read(addr, 2 * ptr_size)
            p = int.from_bytes(hdr[:ptr_size], "little")
            n = int.from_bytes(hdr[ptr_size:], "little")
            if n > 1 << 20:
                raise BinaryFormatError("bad string in .go.buildinfo")
            return read(p, n).decode("utf-8", "replace")
        version = rstr(int.from_bytes(data[16 : 16 + ptr_size], "little"))
        modinfo = rstr(int.from_bytes(data[16 + ptr_size : 16 + 2 * ptr_size], "little"))
    if len(modinfo) >= 33 and modinfo[-17] == "\n":
        modinfo = modinfo[16:-16]  # strip the sentinels
    return _parse_modinfo(version, modinfo)


def _parse_modinfo(version: str, modinfo: str) -> BuildInfo:
    path = main = ""
    settings: dict[str, str] = {}
    deps: list[tuple[str, str]] = []
    for line in modinfo.splitlines():
        parts = line.split("\t")
        if parts[0] == "path" and len(parts) > 1:
            path = parts[1]
        elif parts[0] == "mod" and len(parts) > 1:
            main = parts[1]
        elif parts[0] == "dep" and len(parts) > 2:
            deps.append((parts[1], parts[2]))
        elif parts[0] == "build" and len(parts) > 1:
            k, _, v = parts[1].partition("=")
            settings[k] = v
    return BuildInfo(version, path, main, settings, deps, modinfo)
