"""The allocator's constants and per-release facts, Go 1.21–1.27 on 64-bit Linux (amd64, arm64).

Read from each release's runtime (``malloc.go``, ``mheap.go``, ``mbitmap.go``, ``sizeclasses.go``,
``mgcmark_greenteagc.go``):

- pages are 8 KiB (``_PageShift`` 13); heap arenas 64 MiB; on amd64 ``arenaBaseOffset`` is
  0xffff800000000000 (arm64: 0), ``arenaL1Bits`` 0 and ``arenaL2Bits`` 22.
- Pointer bits of heap words: Go 1.21 keeps one bit per heap word in the heap arena's metadata
  (``heapArena.bitmap``). From 1.22 (the "allocation headers" design): objects of at most
  ``minSizeForMallocHeader`` (512 bytes) in scannable spans have their bits at the end of their
  span, one bit per word of the span; bigger small objects start with an 8-byte malloc header, the
  ``*abi.Type`` of what they hold; large objects (their own span) record it in ``mspan.largeType``.
- Green Tea GC (an experiment in 1.25, the default from 1.26; ``GOEXPERIMENT=nogreenteagc`` turns
  it off): spans of objects of 16..512 bytes end with a 128-byte ``spanInlineMarkBits``; the heap
  bits of scannable ones sit just before it.
- The kind numbers of span specials moved: finalizer 1 (1.21–1.24) then 2 (1.25+, after the tiny
  block special); weak handles from 1.23, cleanups from 1.24.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PAGE_SIZE = 8192
ARENA_BYTES = 64 << 20
PTR = 8
MIN_SIZE_FOR_MALLOC_HEADER = 512
MALLOC_HEADER_SIZE = 8
MAX_SMALL_SIZE = 32768
SPAN_INLINE_MARK_BITS = 128  # unsafe.Sizeof(spanInlineMarkBits{})

MSPAN_DEAD, MSPAN_IN_USE, MSPAN_MANUAL = 0, 1, 2

# runtime._KindSpecial* per release (mheap.go).
_SPECIALS_121 = {"finalizer": 1, "profile": 2, "reachable": 3, "pincounter": 4}
_SPECIALS_123 = {"finalizer": 1, "weakhandle": 2, "profile": 3, "reachable": 4, "pincounter": 5}
_SPECIALS_124 = {**_SPECIALS_123, "cleanup": 6}
_SPECIALS_125 = {"tinyblock": 1, "finalizer": 2, "weakhandle": 3, "profile": 4, "reachable": 5, "pincounter": 6,
                 "cleanup": 7, "checkfinalizer": 8, "bubble": 9, "secret": 10}


def special_kinds(minor: int) -> dict[str, int]:
    """Name → kind number of the span specials of Go 1.``minor``."""
    if minor <= 22:
        return dict(_SPECIALS_121)
    if minor == 23:
        return dict(_SPECIALS_123)
    if minor == 24:
        return dict(_SPECIALS_124)
    return dict(_SPECIALS_125)


@dataclass(frozen=True)
class HeapParams:
    """What the heap walk needs to know of one binary's runtime."""

    minor: int
    arch: str
    green_tea: bool
    specials: dict[str, int] = field(default_factory=dict)

    @property
    def arena_heap_bitmap(self) -> bool:
        """Go 1.21: pointer bits in ``heapArena.bitmap``."""
        return self.minor <= 21

    @property
    def malloc_headers(self) -> bool:
        return self.minor >= 22

    @property
    def arena_base_offset(self) -> int:
        return 0xFFFF800000000000 if self.arch == "amd64" else 0

    def arena_index(self, addr: int) -> int:
        """The heap arena index (L2 index; L1 has one entry on 64-bit Linux) of ``addr``."""
        return ((addr - self.arena_base_offset) % (1 << 64)) // ARENA_BYTES

    def arena_start(self, index: int) -> int:
        return (index * ARENA_BYTES + self.arena_base_offset) % (1 << 64)


def green_tea_default(minor: int, version: str | None, settings: dict[str, str]) -> bool:
    """Whether the binary was built with the Green Tea GC (default from 1.26; an experiment in 1.25).

    The toolchain records non-default experiments in the build settings (``GOEXPERIMENT``) and in
    the version string (``go1.25.5 X:greenteagc``).
    """
    exps: set[str] = set()
    exp = settings.get("GOEXPERIMENT", "")
    exps.update(e.strip() for e in exp.split(",") if e.strip())
    if version and " X:" in version:
        exps.update(e.strip() for e in version.split(" X:", 1)[1].split(",") if e.strip())
    if "nogreenteagc" in exps:
        return False
    if "greenteagc" in exps:
        return minor >= 25
    return minor >= 26
