"""``.debug_line``: the file names of a unit's line program header (versions 2-5).

The Go linker writes a version 2 header up to Go 1.24 (include directories and file names as
strings) and a version 5 one from Go 1.25 (entry formats, ``DW_LNCT_path`` and
``DW_LNCT_directory_index``, strings in ``.debug_line_str``). ``DW_AT_decl_file`` and
``DW_AT_call_file`` index this table. The line-number program itself (pc to line rows) is not
decoded: the pclntab answers that for every Go function, DWARF or not.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from explorer.binary.dwarf.constants import (
    FORMS_STRX,
    DW_FORM_block,
    DW_FORM_data1,
    DW_FORM_data2,
    DW_FORM_data4,
    DW_FORM_data8,
    DW_FORM_data16,
    DW_FORM_line_strp,
    DW_FORM_string,
    DW_FORM_strp,
    DW_FORM_udata,
    DW_LNCT_directory_index,
    DW_LNCT_path,
)
from explorer.binary.dwarf.sections import cstr, read_uint, unit_length
from explorer.binary.varint import uleb128
from explorer.errors import BinaryFormatError

if TYPE_CHECKING:
    from explorer.binary.dwarf.reader import CompileUnit, DieReader

_DATA_SIZES = {DW_FORM_data1: 1, DW_FORM_data2: 2, DW_FORM_data4: 4, DW_FORM_data8: 8, DW_FORM_data16: 16}


def file_table(dw: DieReader, cu: CompileUnit, offset: int) -> list[str]:
    """The file names of the line program at ``offset`` of ``.debug_line``, by file number, joined
    with their directories (file 0 is the unit itself from DWARF 5, unused before)."""
    data = dw._section(".debug_line")
    length, offset_size, pos = unit_length(data, offset)
    if pos + length > len(data):
        raise BinaryFormatError(f"line table at {offset:#x} runs past .debug_line")
    version = read_uint(data, pos, 2)
    pos += 2
    if version >= 5:
        pos += 2  # address_size, segment_selector_size
    pos += offset_size + 1  # header_length, minimum_instruction_length
    if version >= 4:
        pos += 1  # maximum_operations_per_instruction
    opcode_base = data[pos + 3]  # after default_is_stmt, line_base, line_range
    pos += 4 + opcode_base - 1  # and standard_opcode_lengths
    files: list[str] = []
    if version >= 5:
        dirs_raw, pos = _entry_table(dw, cu, data, pos, offset_size)
        dirs = [d.get(DW_LNCT_path, "") for d in dirs_raw]
        files_raw, pos = _entry_table(dw, cu, data, pos, offset_size)
        for f in files_raw:
            files.append(_join_path(dirs, f.get(DW_LNCT_path, ""), f.get(DW_LNCT_directory_index, 0)))
    else:
        dirs = [cu.comp_dir]
        while data[pos] != 0:
            d, pos = cstr(data, pos)
            dirs.append(d)
        pos += 1
        files = [""]  # file numbers start at 1 before DWARF 5
        while data[pos] != 0:
            name, pos = cstr(data, pos)
            di, pos = uleb128(data, pos)
            _, pos = uleb128(data, pos)  # modification time
            _, pos = uleb128(data, pos)  # length
            files.append(_join_path(dirs, name, di))
    return files


def _entry_table(dw: DieReader, cu: CompileUnit, data: bytes, pos: int,
                 offset_size: int) -> tuple[list[dict[int, Any]], int]:
    """A DWARF 5 directory or file-name table: entry format, count, entries."""
    nformats = data[pos]
    pos += 1
    formats = []
    for _ in range(nformats):
        ct, pos = uleb128(data, pos)
        form, pos = uleb128(data, pos)
        formats.append((ct, form))
    count, pos = uleb128(data, pos)
    entries = []
    for _ in range(count):
        entry: dict[int, Any] = {}
        for ct, form in formats:
            v: Any
            if form == DW_FORM_string:
                v, pos = cstr(data, pos)
            elif form in (DW_FORM_line_strp, DW_FORM_strp):
                off = read_uint(data, pos, offset_size)
                pos += offset_size
                v = dw._string_at(".debug_line_str" if form == DW_FORM_line_strp else ".debug_str", off)
            elif form == DW_FORM_udata:
                v, pos = uleb128(data, pos)
            elif form in _DATA_SIZES:
                size = _DATA_SIZES[form]
                v = data[pos:pos + size] if size == 16 else read_uint(data, pos, size)
                pos += size
            elif form == DW_FORM_block:
                n, pos = uleb128(data, pos)
                v = data[pos:pos + n]
                pos += n
            elif form in FORMS_STRX:
                size = FORMS_STRX[form]
                if size:
                    i = read_uint(data, pos, size)
                    pos += size
                else:
                    i, pos = uleb128(data, pos)
                v = dw._str_index(cu, i)
            else:
                raise BinaryFormatError(f"unsupported form {form:#x} in a DWARF 5 line header")
            entry[ct] = v
        entries.append(entry)
    return entries, pos


def _join_path(dirs: Sequence[str], name: str, dir_index: int) -> str:
    if not name or name.startswith("/") or not (0 <= dir_index < len(dirs)):
        return name
    d = dirs[dir_index]
    if not d or d == ".":
        return name
    return d.rstrip("/") + "/" + name
