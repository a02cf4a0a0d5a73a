"""ELF core files and the address space of a dumped process. Knows nothing of Go."""

from __future__ import annotations

from explorer.core.elfcore import CoreFile, FileMapping, Segment, SigInfo, Thread, is_elf_core
from explorer.core.memory import (
    PRIO_CORE,
    PRIO_CORE_TRUNCATED,
    PRIO_HOLE,
    AddressSpace,
    Memory,
    Region,
)


def core_regions(core: CoreFile) -> list[Region]:
    """The core's layer of an address space: its dumped bytes, and holes that say why not."""
    out: list[Region] = []
    for seg in core.segments:
        data_end = seg.vaddr + seg.available
        if seg.available:
            out.append(Region(seg.vaddr, data_end, core.data, seg.offset, PRIO_CORE, source="core"))
        if seg.truncated:
            out.append(Region(data_end, seg.vaddr + seg.filesz, None, 0, PRIO_CORE_TRUNCATED,
                              reason="core file truncated", source="core"))
        if seg.memsz > seg.filesz:
            # Not dumped (coredump_filter): lower layers such as the executable may supply it.
            out.append(Region(seg.vaddr + seg.filesz, seg.end, None, 0, PRIO_HOLE,
                              reason="not included in the core dump", source="core"))
    return out


__all__ = [
    "AddressSpace",
    "CoreFile",
    "FileMapping",
    "Memory",
    "Region",
    "Segment",
    "SigInfo",
    "Thread",
    "core_regions",
    "is_elf_core",
]
