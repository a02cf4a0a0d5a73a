"""Lazy DWARF index of a Go executable: types, constants, globals, functions and their variables.

Handles what the Go linker writes on linux (amd64, arm64) for Go 1.21–1.27:

- DWARF 4 up to Go 1.24: ``.debug_info`` units of version 4, ``.debug_loc``, ``.debug_ranges``, a
  version 2 ``.debug_line``;
- DWARF 5 by default from Go 1.25: units of version 5, ``DW_FORM_addrx`` into ``.debug_addr``,
  ``.debug_loclists`` and ``.debug_rnglists`` (``DW_LLE/DW_RLE_base_addressx`` + ``offset_pair``),
  a version 5 ``.debug_line``;
- sections compressed with ``SHF_COMPRESSED`` (zlib, the Go linker's default; zstd too) or the old
  GNU ``.zdebug_*`` form.

The Go linker writes one compile unit per object file, named by the package's import path: a
package's Go code, plus one small unit per assembly file. It moves every type DIE into a ``runtime``
unit and puts a package's constants into its first unit. Types are named as Go spells them:
``runtime.g``, ``*main.Request``, ``[]uint8``, ``map[string]int``, ``main.Pair[string,int]``; a named
type has a ``DW_TAG_typedef`` and its definition under the same name, which are folded into one
:class:`GoType`.

Nothing is parsed up front. Opening reads the debug sections and inflates ``.debug_info``; unit
headers and root DIEs are read on first use; a unit's direct children are indexed the first time a
request touches that unit (the ``runtime`` units for types, the unit of a symbol's package for a
name, the unit whose ranges hold a pc); a function's DIE subtree is read when asked for. Addresses
are link-time addresses: add the PIE bias outside. Neither call frame information nor the line
number program is decoded: the pclntab serves unwinding (pcsp) and pc-to-line.

Modules, along the lines of pyelftools' ``elftools.dwarf``:

- :mod:`.constants`: the DWARF constants (pyelftools' values) and Go's ``DW_AT_go_*``;
- :mod:`.sections`: reading and inflating the sections, primitive readers, unit lengths;
- :mod:`.abbrevs`: abbreviation tables and the precompiled DIE skippers;
- :mod:`.reader`: compile units and DIEs (our own reader: faster than pyelftools', see there);
- :mod:`.index`: the per-unit index of types, functions, globals and constants;
- :mod:`.types`: :class:`GoType`; :mod:`.functions`: :class:`Subprogram`, :class:`Variable`,
  inlined calls; :mod:`.location`: location expressions; :mod:`.lists`: location and range lists;
  :mod:`.lineprogram`: the line table's file names;
- :mod:`.godwarf`: :class:`GoDwarf`, the facade the rest of the program uses.
"""

from __future__ import annotations

from explorer.binary.dwarf.functions import InlinedCall, LogicalFrame, Subprogram, Variable
from explorer.binary.dwarf.godwarf import DwarfLookupError, GlobalVar, GoDwarf
from explorer.binary.dwarf.lists import LocationEntry
from explorer.binary.dwarf.location import Piece, PieceKind, eval_location
from explorer.binary.dwarf.reader import CompileUnit
from explorer.binary.dwarf.types import Field, GoType, TypeKind

__all__ = [
    "CompileUnit",
    "DwarfLookupError",
    "Field",
    "GlobalVar",
    "GoDwarf",
    "GoType",
    "InlinedCall",
    "LocationEntry",
    "LogicalFrame",
    "Piece",
    "PieceKind",
    "Subprogram",
    "TypeKind",
    "Variable",
    "eval_location",
]
