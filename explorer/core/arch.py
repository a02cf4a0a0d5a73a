"""Machine descriptions: what the ISA, the Linux kernel and Go's ABI fix for each architecture.

One :class:`Arch` per supported architecture (amd64, arm64; Linux, 64-bit little-endian), so that the
layers above ask it rather than test the architecture's name:

- the register set of an ``NT_PRSTATUS`` note (``elf_gregset_t`` at ``pr_reg``, offset 112);
- which registers are the pc, the stack pointer, the frame pointer and the link register, and the
  register Go keeps the current ``g`` in (arm64 ``R28``; amd64 keeps it in TLS, ``fs_base - 8``);
- how a call leaves its return address: pushed on the stack (amd64) or in the link register, saved
  by the callee's prologue at the bottom of its frame (arm64), and what that means for Go's frames
  (``sys.MinFrameSize``, ``sys.StackAlign``, pc quantum);
- DWARF register numbers (the psABIs: amd64 rax 0, rdx 1, ... rsp 7, r8-r15 8-15, rip 16, xmm0-15
  17-32; AArch64 x0-x30 0-30, sp 31, v0-v31 64-95);
- the kernel's signal frame, where the interrupted registers are when a signal handler runs
  (:class:`SigFrame`).

Signal frames (``arch/x86/include/asm/sigframe.h``, ``arch/arm64/kernel/signal.c``; Go mirrors them
in ``runtime/defs_linux_{amd64,arm64}.go``):

- amd64: ``rt_sigframe {char *pretcode; struct ucontext uc; struct siginfo info}``; the handler is
  entered as if called, so its caller's SP (its CFA) is ``&uc``. ``uc_mcontext`` is at +40 of the
  ucontext (flags 8, link 8, stack_t 24) and holds r8..r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp,
  rip, eflags, cs/gs/fs/ss, err, trapno, oldmask, cr2; the ucontext is 304 bytes, siginfo follows.
- arm64: ``rt_sigframe {struct siginfo info; struct ucontext uc}`` (plus a ``{fp, lr}`` frame record
  above it); the handler is entered with SP = ``&info`` and LR = the sigreturn trampoline, so the
  handler's CFA is ``&info``. siginfo is 128 bytes; in the ucontext, ``uc_sigmask`` is followed by
  padding to a 1024-bit sigset (ends at 168) and ``uc_mcontext`` (16-byte aligned) is at +176:
  ``fault_address``, ``regs[31]``, ``sp``, ``pc``, ``pstate``. So from the CFA: fault_address +304,
  x0 +312, sp +560, pc +568, pstate +576. qemu-user builds the same frame for its guests
  (``linux-user/aarch64/signal.c``: ``target_rt_sigframe {info; uc}``, SP = the frame, x1 = &info,
  x2 = &uc).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from explorer.core.elfstructs import EM_AARCH64, EM_X86_64


@dataclass(frozen=True)
class SigFrame:
    """Where a signal handler finds what the kernel saved, as offsets from the handler's CFA (the SP
    it was entered with, plus the return address a call would have pushed)."""

    regs: Mapping[str, int]
    """Register name (as in NT_PRSTATUS) -> offset of its saved value."""
    signo: int
    """Offset of ``siginfo.si_signo`` (an int32)."""
    fault_address: int
    """Offset of the faulting address the kernel recorded (amd64 ``cr2``, arm64 ``fault_address``)."""

    @property
    def span(self) -> tuple[int, int]:
        """[lo, hi) of the register block: what one read must cover."""
        offs = list(self.regs.values())
        return min(offs), max(offs) + 8


@dataclass(frozen=True)
class Arch:
    """One architecture's facts (see the module docstring)."""

    name: str
    """GOARCH: ``amd64`` or ``arm64``."""
    elf_machine: int
    ptr_size: int
    pc_quantum: int
    """Instruction alignment (pclntab's minLC): pc deltas are multiples of it."""
    prstatus_regs: tuple[str, ...]
    """The registers of NT_PRSTATUS's ``pr_reg``, in order."""
    pc_reg: str
    sp_reg: str
    fp_reg: str
    lr_reg: str | None
    """The link register (None: calls push the return address)."""
    g_reg: str | None
    """The register Go's ABI keeps the current g in (None: TLS)."""
    min_frame_size: int
    """``sys.MinFrameSize``: the saved-LR slot at the bottom of every frame on LR machines."""
    stack_align: int
    """``sys.StackAlign``."""
    dwarf_regs: Mapping[str, int]
    """Register name -> DWARF register number (the general registers)."""
    dwarf_vector: tuple[int, int, str]
    """(first DWARF number, count, name prefix) of the floating-point/vector registers."""
    sigframe: SigFrame
    general_regs: tuple[str, ...] = ()
    """What ``regs`` shows of a thread's registers, in order (gdb's ``info registers`` order)."""
    fpregs_layout: str = ""
    """How NT_FPREGSET is laid out: ``fxsave`` (amd64) or ``fpsimd`` (arm64)."""

    def decode_fpregs(self, raw: bytes) -> dict[str, int]:
        """The floating-point and vector registers of an NT_FPREGSET note, by name (empty when the
        note is too short). amd64 (``user_fpregs_struct``, the FXSAVE area): the x87 control,
        status and abridged tag words, last opcode and instruction/operand pointers (``cw sw tw
        fop fip fdp``), ``mxcsr mxcsr_mask``, ``st0``-``st7`` (80 bits each) and ``xmm0``-``xmm15``.
        arm64 (``user_fpsimd_state``): ``v0``-``v31`` (128 bits), ``fpsr``, ``fpcr``."""
        out: dict[str, int] = {}
        if self.fpregs_layout == "fxsave" and len(raw) >= 416:
            for name, off, size in (("cw", 0, 2), ("sw", 2, 2), ("tw", 4, 2), ("fop", 6, 2), ("fip", 8, 8),
                                    ("fdp", 16, 8), ("mxcsr", 24, 4), ("mxcsr_mask", 28, 4)):
                out[name] = int.from_bytes(raw[off : off + size], "little")
            for i in range(8):
                out[f"st{i}"] = int.from_bytes(raw[32 + 16 * i : 32 + 16 * i + 10], "little")
            for i in range(16):
                out[f"xmm{i}"] = int.from_bytes(raw[160 + 16 * i : 176 + 16 * i], "little")
        elif self.fpregs_layout == "fpsimd" and len(raw) >= 520:
            for i in range(32):
                out[f"v{i}"] = int.from_bytes(raw[16 * i : 16 * i + 16], "little")
            out["fpsr"] = int.from_bytes(raw[512:516], "little")
            out["fpcr"] = int.from_bytes(raw[516:520], "little")
        return out

    @property
    def uses_lr(self) -> bool:
        """Calls leave the return address in a register (Go: ``usesLR = sys.MinFrameSize > 0``)."""
        return self.min_frame_size > 0

    @property
    def prstatus_size(self) -> int:
        """Bytes of NT_PRSTATUS up to the end of ``pr_reg``."""
        return 112 + 8 * len(self.prstatus_regs)

    @property
    def dwarf_sp(self) -> int:
        return self.dwarf_regs[self.sp_reg]

    def dwarf_reg_name(self, n: int | None) -> str:
        """The name of DWARF register ``n`` (``rax``, ``x0``, ``xmm3``, ``v3``; ``#n`` if unknown)."""
        if n is None:
            return "?"
        for name, num in self.dwarf_regs.items():
            if num == n:
                return name
        first, count, prefix = self.dwarf_vector
        if first <= n < first + count:
            return f"{prefix}{n - first}"
        return f"#{n}"

    def pc(self, regs: Mapping[str, int]) -> int:
        return regs.get(self.pc_reg, 0)

    def sp(self, regs: Mapping[str, int]) -> int:
        return regs.get(self.sp_reg, 0)


_AMD64_MCTX = 40  # uc_mcontext within the ucontext, which starts at the handler's CFA
AMD64 = Arch(
    name="amd64",
    elf_machine=EM_X86_64,
    ptr_size=8,
    pc_quantum=1,
    prstatus_regs=tuple(
        "r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi orig_rax rip cs eflags rsp ss "
        "fs_base gs_base ds es fs gs".split()),
    pc_reg="rip",
    sp_reg="rsp",
    fp_reg="rbp",
    lr_reg=None,
    g_reg=None,
    min_frame_size=0,
    stack_align=8,
    dwarf_regs=MappingProxyType({
        "rax": 0, "rdx": 1, "rcx": 2, "rbx": 3, "rsi": 4, "rdi": 5, "rbp": 6, "rsp": 7,
        "r8": 8, "r9": 9, "r10": 10, "r11": 11, "r12": 12, "r13": 13, "r14": 14, "r15": 15, "rip": 16,
    }),
    dwarf_vector=(17, 16, "xmm"),
    sigframe=SigFrame(
        regs=MappingProxyType({name: _AMD64_MCTX + 8 * i for i, name in enumerate(
            "r8 r9 r10 r11 r12 r13 r14 r15 rdi rsi rbp rbx rdx rax rcx rsp rip eflags".split())}),
        signo=304,  # the siginfo follows the 304-byte ucontext
        fault_address=_AMD64_MCTX + 176,  # cr2
    ),
    general_regs=tuple("rax rbx rcx rdx rsi rdi rbp rsp r8 r9 r10 r11 r12 r13 r14 r15 rip eflags".split()),
    fpregs_layout="fxsave",
)

_ARM64_MCTX = 128 + 176  # siginfo, then uc_mcontext within the ucontext
ARM64 = Arch(
    name="arm64",
    elf_machine=EM_AARCH64,
    ptr_size=8,
    pc_quantum=4,
    prstatus_regs=(*(f"x{i}" for i in range(31)), "sp", "pc", "pstate"),
    pc_reg="pc",
    sp_reg="sp",
    fp_reg="x29",
    lr_reg="x30",
    g_reg="x28",
    min_frame_size=8,
    stack_align=16,
    dwarf_regs=MappingProxyType({**{f"x{i}": i for i in range(31)}, "sp": 31}),
    dwarf_vector=(64, 32, "v"),
    sigframe=SigFrame(
        regs=MappingProxyType({
            **{f"x{i}": _ARM64_MCTX + 8 + 8 * i for i in range(31)},
            "sp": _ARM64_MCTX + 8 + 8 * 31, "pc": _ARM64_MCTX + 8 + 8 * 32, "pstate": _ARM64_MCTX + 8 + 8 * 33,
        }),
        signo=0,
        fault_address=_ARM64_MCTX,
    ),
    general_regs=(*(f"x{i}" for i in range(31)), "sp", "pc", "pstate"),
    fpregs_layout="fpsimd",
)

ARCHES: Mapping[str, Arch] = MappingProxyType({a.name: a for a in (AMD64, ARM64)})
BY_MACHINE: Mapping[int, Arch] = MappingProxyType({a.elf_machine: a for a in (AMD64, ARM64)})


def arch_named(name: str) -> Arch:
    """The Arch of a GOARCH name (KeyError for an unsupported one)."""
    return ARCHES[name]
