"""``runtime.pcHeader``: the header at the start of ``.gopclntab`` (Go 1.18–1.27).

``magic u32, pad1 u8, pad2 u8, minLC u8, ptrSize u8`` then eight pointer-sized words: ``nfunc,
nfiles, textStart, funcnameOffset, cuOffset, filetabOffset, pctabOffset, pclnOffset`` (offsets from
the header). The magic is ``0xfffffff1`` from Go 1.20 and ``0xfffffff0`` in 1.18 and 1.19; it reads
differently in the other byte order, which is how the order is found. From Go 1.26 ``textStart``
is written as 0 (see :mod:`explorer.binary.pclntab`).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from explorer.binary.goabi import MAGIC_GO118, MAGIC_GO120
from explorer.errors import BinaryFormatError


@dataclass(frozen=True, slots=True)
class PcHeader:
    """The decoded ``runtime.pcHeader`` at the start of ``.gopclntab``."""

    magic: int
    min_lc: int
    ptr_size: int
    nfunc: int
    nfiles: int
    text_start: int  # 0 from Go 1.26 (the word is unused)
    funcname_offset: int
    cu_offset: int
    filetab_offset: int
    pctab_offset: int
    pcln_offset: int
    byteorder: str  # "<" or ">"

    @property
    def size(self) -> int:
        """Size of the header in bytes."""
        return 8 + 8 * self.ptr_size


def parse_header(data: bytes | bytearray | memoryview) -> PcHeader:
    """Decode and check the ``pcHeader`` at the start of ``data``."""
    if len(data) < 8:
        raise BinaryFormatError(".gopclntab is too short for a header")
    head = bytes(data[:8])
    for order in ("<", ">"):
        magic, pad1, pad2, min_lc, ptr_size = struct.unpack(order + "IBBBB", head)
        if magic in (MAGIC_GO118, MAGIC_GO120):
            break
    else:
        magic = struct.unpack("<I", head[:4])[0]
        raise BinaryFormatError(
            f".gopclntab magic {magic:#010x} is not one of Go 1.18–1.27 (0xfffffff0, 0xfffffff1)"
        )
    if pad1 or pad2 or ptr_size not in (4, 8) or min_lc not in (1, 2, 4):
        raise BinaryFormatError(
            f".gopclntab header is malformed (pad {pad1},{pad2} minLC {min_lc} ptrSize {ptr_size})"
        )
    words = struct.Struct(order + ("Q" if ptr_size == 8 else "I") * 8)
    if len(data) < 8 + words.size:
        raise BinaryFormatError(".gopclntab is too short for its header")
    nfunc, nfiles, text_start, fn_off, cu_off, file_off, pc_off, pcln_off = words.unpack(
        bytes(data[8 : 8 + words.size])
    )
    hdr = PcHeader(magic, min_lc, ptr_size, nfunc, nfiles, text_start, fn_off, cu_off, file_off,
                   pc_off, pcln_off, order)
    for name, off in (("funcname", fn_off), ("cu", cu_off), ("filetab", file_off),
                      ("pctab", pc_off), ("pcln", pcln_off)):
        if not hdr.size <= off <= len(data):
            raise BinaryFormatError(f".gopclntab {name} offset {off:#x} is outside the table")
    # The ftab alone holds nfunc+1 pairs of u32 after pclnOffset.
    if nfunc <= 0 or pcln_off + 8 * (nfunc + 1) > len(data):
        raise BinaryFormatError(f".gopclntab function count {nfunc} does not fit the table")
    return hdr
