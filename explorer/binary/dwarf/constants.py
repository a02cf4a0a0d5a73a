"""The DWARF constants the package uses: pyelftools' values, and the Go linker's own attributes.

The standard ones come from pyelftools (``elftools.dwarf.enums``, ``elftools.dwarf.dwarf_expr``),
looked up by their DWARF names once, at import, into module-level ints (the DIE reader compares
forms in its innermost loop: a global int is the cheapest thing to compare with). A misspelt name
fails the import. ``DW_AT_go_*`` are Go's vendor attributes (``cmd/internal/dwarf/dwarf_defs.go``),
which pyelftools does not know.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from elftools.dwarf.dwarf_expr import DW_OP_name2opcode
from elftools.dwarf.enums import (
    ENUM_DW_AT,
    ENUM_DW_ATE,
    ENUM_DW_FORM,
    ENUM_DW_LLE,
    ENUM_DW_LNCT,
    ENUM_DW_RLE,
    ENUM_DW_TAG,
    ENUM_DW_UT,
)


def _value(enum: Mapping[str, Any], name: str) -> int:
    value = enum[name]
    if not isinstance(value, int):  # pragma: no cover - pyelftools' tables hold ints
        raise TypeError(f"{name} is not an integer in pyelftools")
    return value


def _tag(name: str) -> int:
    return _value(ENUM_DW_TAG, "DW_TAG_" + name)


def _at(name: str) -> int:
    return _value(ENUM_DW_AT, "DW_AT_" + name)


def _form(name: str) -> int:
    return _value(ENUM_DW_FORM, "DW_FORM_" + name)


def _op(name: str) -> int:
    return _value(DW_OP_name2opcode, "DW_OP_" + name)


# --- tags ------------------------------------------------------------------------------------------

DW_TAG_array_type = _tag("array_type")
DW_TAG_base_type = _tag("base_type")
DW_TAG_class_type = _tag("class_type")
DW_TAG_constant = _tag("constant")
DW_TAG_enumeration_type = _tag("enumeration_type")
DW_TAG_formal_parameter = _tag("formal_parameter")
DW_TAG_inlined_subroutine = _tag("inlined_subroutine")
DW_TAG_lexical_block = _tag("lexical_block")
DW_TAG_member = _tag("member")
DW_TAG_pointer_type = _tag("pointer_type")
DW_TAG_structure_type = _tag("structure_type")
DW_TAG_subprogram = _tag("subprogram")
DW_TAG_subrange_type = _tag("subrange_type")
DW_TAG_subroutine_type = _tag("subroutine_type")
DW_TAG_typedef = _tag("typedef")
DW_TAG_union_type = _tag("union_type")
DW_TAG_unspecified_type = _tag("unspecified_type")
DW_TAG_variable = _tag("variable")

#: Tags of the DIEs the unit index files as types.
TYPE_TAGS = frozenset({
    DW_TAG_array_type, DW_TAG_pointer_type, DW_TAG_structure_type, DW_TAG_subroutine_type,
    DW_TAG_typedef, DW_TAG_union_type, DW_TAG_base_type, DW_TAG_unspecified_type,
    DW_TAG_enumeration_type, DW_TAG_class_type,
})

# --- attributes ------------------------------------------------------------------------------------

DW_AT_abstract_origin = _at("abstract_origin")
DW_AT_addr_base = _at("addr_base")
DW_AT_byte_size = _at("byte_size")
DW_AT_call_file = _at("call_file")
DW_AT_call_line = _at("call_line")
DW_AT_comp_dir = _at("comp_dir")
DW_AT_const_value = _at("const_value")
DW_AT_count = _at("count")
DW_AT_data_member_location = _at("data_member_location")
DW_AT_decl_file = _at("decl_file")
DW_AT_decl_line = _at("decl_line")
DW_AT_encoding = _at("encoding")
DW_AT_external = _at("external")
DW_AT_frame_base = _at("frame_base")
DW_AT_high_pc = _at("high_pc")
DW_AT_location = _at("location")
DW_AT_loclists_base = _at("loclists_base")
DW_AT_low_pc = _at("low_pc")
DW_AT_name = _at("name")
DW_AT_producer = _at("producer")
DW_AT_ranges = _at("ranges")
DW_AT_rnglists_base = _at("rnglists_base")
DW_AT_stmt_list = _at("stmt_list")
DW_AT_str_offsets_base = _at("str_offsets_base")
DW_AT_trampoline = _at("trampoline")
DW_AT_type = _at("type")
DW_AT_upper_bound = _at("upper_bound")
DW_AT_variable_parameter = _at("variable_parameter")

# Go's own (cmd/internal/dwarf: DW_AT_go_kind = 0x2900 ...), the same in Go 1.21-1.27.
DW_AT_go_kind = 0x2900  # internal/abi.Kind of the type
DW_AT_go_key = 0x2901  # a map's key type
DW_AT_go_elem = 0x2902  # a map's value or a channel's or slice's element type
DW_AT_go_embedded_field = 0x2903  # the member is an embedded field
DW_AT_go_runtime_type = 0x2904  # the type descriptor's offset from runtime.types
DW_AT_go_package_name = 0x2905  # a unit's package name (its DW_AT_name is the import path)
DW_AT_go_dict_index = 0x2906  # a generic function's type parameter: its index in the dictionary
DW_AT_go_closure_offset = 0x2907  # a closure variable's offset in the closure's context

# --- forms -----------------------------------------------------------------------------------------

DW_FORM_addr = _form("addr")
DW_FORM_addrx = _form("addrx")
DW_FORM_block = _form("block")
DW_FORM_block1 = _form("block1")
DW_FORM_block2 = _form("block2")
DW_FORM_block4 = _form("block4")
DW_FORM_data1 = _form("data1")
DW_FORM_data2 = _form("data2")
DW_FORM_data4 = _form("data4")
DW_FORM_data8 = _form("data8")
DW_FORM_data16 = _form("data16")
DW_FORM_exprloc = _form("exprloc")
DW_FORM_flag = _form("flag")
DW_FORM_flag_present = _form("flag_present")
DW_FORM_implicit_const = _form("implicit_const")
DW_FORM_indirect = _form("indirect")
DW_FORM_line_strp = _form("line_strp")
DW_FORM_loclistx = _form("loclistx")
DW_FORM_ref1 = _form("ref1")
DW_FORM_ref2 = _form("ref2")
DW_FORM_ref4 = _form("ref4")
DW_FORM_ref8 = _form("ref8")
DW_FORM_ref_addr = _form("ref_addr")
DW_FORM_ref_udata = _form("ref_udata")
DW_FORM_rnglistx = _form("rnglistx")
DW_FORM_sdata = _form("sdata")
DW_FORM_sec_offset = _form("sec_offset")
DW_FORM_string = _form("string")
DW_FORM_strp = _form("strp")
DW_FORM_strx = _form("strx")
DW_FORM_udata = _form("udata")
DW_FORM_GNU_addr_index = _form("GNU_addr_index")
DW_FORM_GNU_str_index = _form("GNU_str_index")

#: Forms of a fixed size: the size (``"addr"``/``"offset"``: the unit's address or offset size;
#: ``"ref_addr"``: the address size up to DWARF 2, the offset size after). Forms that point into
#: supplementary or type-unit sections read as None; Go writes none of them.
FIXED_FORMS: dict[int, int | str] = {
    _form(name): size for name, size in (
        ("addr", "addr"), ("data1", 1), ("data2", 2), ("data4", 4), ("data8", 8), ("data16", 16),
        ("flag", 1), ("ref1", 1), ("ref2", 2), ("ref4", 4), ("ref8", 8), ("ref_sig8", 8),
        ("strp", "offset"), ("line_strp", "offset"), ("sec_offset", "offset"),
        ("ref_addr", "ref_addr"), ("flag_present", 0), ("implicit_const", 0), ("strx1", 1),
        ("strx2", 2), ("strx3", 3), ("strx4", 4), ("addrx1", 1), ("addrx2", 2), ("addrx3", 3),
        ("addrx4", 4), ("ref_sup4", 4), ("ref_sup8", 8), ("strp_sup", "offset"),
        ("GNU_ref_alt", "offset"), ("GNU_strp_alt", "offset"),
    )
}
#: Forms whose value is an index into ``.debug_addr`` / ``.debug_str_offsets``, by the size of
#: the index (0: a ULEB128).
FORMS_ADDRX = {_form(n): size for n, size in (("addrx", 0), ("addrx1", 1), ("addrx2", 2), ("addrx3", 3),
                                               ("addrx4", 4), ("GNU_addr_index", 0))}
FORMS_STRX = {_form(n): size for n, size in (("strx", 0), ("strx1", 1), ("strx2", 2), ("strx3", 3),
                                              ("strx4", 4), ("GNU_str_index", 0))}
#: Forms of the constant class (a ``DW_AT_high_pc`` in one of these is an offset from low_pc).
FORMS_CONST_CLASS = frozenset({DW_FORM_data1, DW_FORM_data2, DW_FORM_data4, DW_FORM_data8,
                               DW_FORM_udata, DW_FORM_sdata, DW_FORM_implicit_const})
#: Forms read and dropped (references into other files or sections), by their size.
FORMS_IGNORED: dict[int, int | str] = {
    _form(n): FIXED_FORMS[_form(n)] for n in ("ref_sig8", "ref_sup4", "ref_sup8", "strp_sup", "GNU_ref_alt",
                                               "GNU_strp_alt")
}

# --- unit types, base type encodings, line table content types --------------------------------------

DW_UT_compile = _value(ENUM_DW_UT, "DW_UT_compile")
DW_UT_type = _value(ENUM_DW_UT, "DW_UT_type")
DW_UT_partial = _value(ENUM_DW_UT, "DW_UT_partial")
DW_UT_skeleton = _value(ENUM_DW_UT, "DW_UT_skeleton")
DW_UT_split_compile = _value(ENUM_DW_UT, "DW_UT_split_compile")
DW_UT_split_type = _value(ENUM_DW_UT, "DW_UT_split_type")

#: Base type encodings (``DW_ATE_*``) as the coarse kinds of :class:`~.types.GoType`, for types
#: without ``DW_AT_go_kind``.
ENCODING_KINDS: dict[int, str] = {
    _value(ENUM_DW_ATE, "DW_ATE_" + name): kind for name, kind in (
        ("boolean", "bool"), ("complex_float", "complex"), ("float", "float"), ("signed", "int"),
        ("signed_char", "int"), ("unsigned", "uint"), ("unsigned_char", "uint"), ("UTF", "uint"),
    )
}

DW_LNCT_path = _value(ENUM_DW_LNCT, "DW_LNCT_path")
DW_LNCT_directory_index = _value(ENUM_DW_LNCT, "DW_LNCT_directory_index")

# --- location and range list entries (DWARF 5) ------------------------------------------------------

#: Entry kinds of ``.debug_rnglists`` and ``.debug_loclists`` by code, as their names without the
#: ``DW_RLE_``/``DW_LLE_`` prefix (the two share every kind but ``default_location``, numbered apart).
RLE_KINDS: dict[int, str] = {v: k[len("DW_RLE_"):] for k, v in ENUM_DW_RLE.items() if isinstance(v, int)}
LLE_KINDS: dict[int, str] = {v: k[len("DW_LLE_"):] for k, v in ENUM_DW_LLE.items() if isinstance(v, int)}

# --- location expression operations -----------------------------------------------------------------

DW_OP_addr = _op("addr")
DW_OP_deref = _op("deref")
DW_OP_const1u = _op("const1u")
DW_OP_const1s = _op("const1s")
DW_OP_const2u = _op("const2u")
DW_OP_const2s = _op("const2s")
DW_OP_const4u = _op("const4u")
DW_OP_const4s = _op("const4s")
DW_OP_const8u = _op("const8u")
DW_OP_const8s = _op("const8s")
DW_OP_constu = _op("constu")
DW_OP_consts = _op("consts")
DW_OP_dup = _op("dup")
DW_OP_drop = _op("drop")
DW_OP_over = _op("over")
DW_OP_pick = _op("pick")
DW_OP_swap = _op("swap")
DW_OP_rot = _op("rot")
DW_OP_abs = _op("abs")
DW_OP_and = _op("and")
DW_OP_div = _op("div")
DW_OP_minus = _op("minus")
DW_OP_mod = _op("mod")
DW_OP_mul = _op("mul")
DW_OP_neg = _op("neg")
DW_OP_not = _op("not")
DW_OP_or = _op("or")
DW_OP_plus = _op("plus")
DW_OP_plus_uconst = _op("plus_uconst")
DW_OP_shl = _op("shl")
DW_OP_shr = _op("shr")
DW_OP_shra = _op("shra")
DW_OP_xor = _op("xor")
DW_OP_bra = _op("bra")
DW_OP_eq = _op("eq")
DW_OP_ge = _op("ge")
DW_OP_gt = _op("gt")
DW_OP_le = _op("le")
DW_OP_lt = _op("lt")
DW_OP_ne = _op("ne")
DW_OP_skip = _op("skip")
DW_OP_lit0 = _op("lit0")
DW_OP_lit31 = _op("lit31")
DW_OP_reg0 = _op("reg0")
DW_OP_reg31 = _op("reg31")
DW_OP_breg0 = _op("breg0")
DW_OP_breg31 = _op("breg31")
DW_OP_regx = _op("regx")
DW_OP_fbreg = _op("fbreg")
DW_OP_bregx = _op("bregx")
DW_OP_piece = _op("piece")
DW_OP_deref_size = _op("deref_size")
DW_OP_nop = _op("nop")
DW_OP_call_frame_cfa = _op("call_frame_cfa")
DW_OP_bit_piece = _op("bit_piece")
DW_OP_implicit_value = _op("implicit_value")
DW_OP_stack_value = _op("stack_value")
DW_OP_addrx = _op("addrx")
DW_OP_constx = _op("constx")
DW_OP_GNU_addr_index = _op("GNU_addr_index")
DW_OP_GNU_const_index = _op("GNU_const_index")
