"""Constants of Go's ``internal/abi`` (``symtab.go``) that the function table uses, Go 1.18–1.27.

The pclntab magic numbers, the ``_func.flag`` bits, the PCDATA and FUNCDATA table indices (the
same numbers in every release handled; 1.26 added ``PCDATA_PanicBounds``) and, per release, the
number of ``FuncIDWrapper``. Shared by :mod:`explorer.binary.pclntab` and
:mod:`explorer.binary.inltree`.
"""

from __future__ import annotations

MAGIC_GO118 = 0xFFFFFFF0  # Go 1.18–1.19
MAGIC_GO120 = 0xFFFFFFF1  # Go 1.20–1.27

# internal/abi.FuncFlag bits (the same in every release 1.18–1.27).
FUNC_FLAG_TOPFRAME = 1 << 0
FUNC_FLAG_SPWRITE = 1 << 1
FUNC_FLAG_ASM = 1 << 2

# internal/abi PCDATA/FUNCDATA indices: unchanged from 1.18 to 1.27 (1.26 added PCDATA_PanicBounds = 4).
PCDATA_UNSAFE_POINT = 0
PCDATA_STACK_MAP_INDEX = 1
PCDATA_INL_TREE_INDEX = 2
PCDATA_ARG_LIVE_INDEX = 3
PCDATA_PANIC_BOUNDS = 4
FUNCDATA_ARGS_POINTER_MAPS = 0
FUNCDATA_LOCALS_POINTER_MAPS = 1
FUNCDATA_STACK_OBJECTS = 2
FUNCDATA_INL_TREE = 3
FUNCDATA_OPEN_CODED_DEFER_INFO = 4
FUNCDATA_ARG_INFO = 5
FUNCDATA_ARG_LIVE_INFO = 6
FUNCDATA_WRAP_INFO = 7

# internal/abi.FuncIDWrapper is the last FuncID and moves as FuncIDs are added: 1.21 has 21 special
# ids before it; 1.22 added FuncID_corostart; 1.25 replaced runfinq by runFinalizers and runCleanups.
# Prefer names for special functions; this is only for eliding inlined wrappers like the runtime.
FUNCID_WRAPPER_BY_MINOR: dict[int, int] = {21: 21, 22: 22, 23: 22, 24: 22, 25: 23, 26: 23, 27: 23}

NO_FUNCDATA = 0xFFFFFFFF  # a _func's funcdata offset when that funcdata is absent
