"""The ``:`` command line: delve's words, parsed without Textual (so they are unit-tested alone)."""

from __future__ import annotations

from dataclasses import dataclass

from explorer.errors import ExplorerError
from explorer.tui.session import parse_int


@dataclass(frozen=True)
class CommandSpec:
    name: str
    aliases: tuple[str, ...]
    usage: str
    help: str


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("goroutine", ("g", "gr"), "goroutine N", "select goroutine N (and its first user frame)"),
    CommandSpec("frame", ("f",), "frame N", "select frame N of the goroutine's backtrace"),
    CommandSpec("up", (), "up [N]", "move N frames towards the caller"),
    CommandSpec("down", (), "down [N]", "move N frames towards the innermost frame"),
    CommandSpec("print", ("p",), "print EXPR", "evaluate EXPR in the frame; the value joins the Variables pane"),
    CommandSpec("x", ("examinemem",), "x EXPR|ADDR [LEN]", "hex view at a value's bytes, or at an address"),
    CommandSpec("save", ("writebytestofile",), "save EXPR|ADDR:LEN PATH",
                "write a value's bytes (or a range) to PATH; asks before overwriting"),
    CommandSpec("goroutines", ("grs",), "goroutines [TEXT] [-with|-without label K[=V]] [-group label K]",
                "filter the goroutine list (TEXT, key=value, a label); group by a label's value (no words: all)"),
    CommandSpec("stack", ("bt",), "stack [N]", "the backtrace, maximized (z restores the layout)"),
    CommandSpec("regs", (), "regs [-a]", "the frame's registers as unwound (frame 0: the thread's); -a: all"),
    CommandSpec("threads", (), "threads", "every thread of the core: pc, sp, goroutine, signal (enter: thread N)"),
    CommandSpec("thread", ("tr",), "thread N", "thread N (its LWP): its registers and its own stack"),
    CommandSpec("locals", (), "locals", "the frame's locals in the Variables pane"),
    CommandSpec("args", (), "args", "the frame's arguments in the Variables pane"),
    CommandSpec("list", ("ls", "l"), "list [LOCATION]",
                "source around the frame, or LOCATION: FUNC, FILE:LINE, LINE, +N, -N, *ADDR"),
    CommandSpec("disassemble", ("disass",), "disassemble [-a START END | -l LOCATION]",
                "the frame's function, LOCATION's function, or the instructions in [START, END)"),
    CommandSpec("substitute-path", ("sp",), "substitute-path FROM TO", "find sources under TO instead of FROM"),
    CommandSpec("help", ("h",), "help", "show every key and command"),
    CommandSpec("quit", ("q", "exit"), "quit", "leave gocore-tui"),
)

_BY_WORD = {w: c.name for c in COMMANDS for w in (c.name, *c.aliases)}


@dataclass(frozen=True)
class Command:
    """A parsed command: its canonical name and arguments."""

    name: str
    args: tuple[str, ...] = ()
    rest: str = ""  # the raw text after the verb (expressions keep their spaces)
    number: int | None = None
    length: int | None = None
    path: str | None = None
    flags: tuple[str, ...] = ()  # options given (regs -a)
    span: tuple[int, int] | None = None  # disassemble -a START END


def parse(line: str) -> Command:
    """Parse one command line; raises ExplorerError with the usage when it is malformed."""
    text = line.strip()
    if text.startswith(":"):
        text = text[1:].lstrip()
    if not text:
        raise ExplorerError("empty command (try help)")
    verb, _, rest = text.partition(" ")
    rest = rest.strip()
    name = _BY_WORD.get(verb)
    if name is None:
        raise ExplorerError(f"unknown command {verb!r} (try help)")
    spec = next(c for c in COMMANDS if c.name == name)

    def usage() -> ExplorerError:
        return ExplorerError(f"usage: {spec.usage}")

    if name in ("goroutine", "frame"):
        n = parse_int(rest)
        if n is None or n < 0:
            raise usage()
        return Command(name, (rest,), rest, number=n)
    if name in ("up", "down"):
        if not rest:
            return Command(name, (), "", number=1)
        n = parse_int(rest)
        if n is None or n < 0:
            raise usage()
        return Command(name, (rest,), rest, number=n)
    if name == "print":
        if not rest:
            raise usage()
        return Command(name, (rest,), rest)
    if name == "x":
        if not rest:
            raise usage()
        head, _, last = rest.rpartition(" ")
        n = parse_int(last) if head.strip() else None
        if n is not None:
            if n < 0:
                raise ExplorerError("x: length must not be negative")
            return Command(name, (head.strip(), last), head.strip(), length=n)
        return Command(name, (rest,), rest)
    if name == "save":
        target, path = _split_path(rest)
        if not target or not path:
            raise usage()
        return Command(name, (target, path), target, path=path)
    if name == "goroutines":
        return Command(name, (rest,) if rest else (), rest)
    if name == "stack":
        if not rest:
            return Command(name)
        n = parse_int(rest)
        if n is None or n < 0:
            raise usage()
        return Command(name, (rest,), rest, number=n)
    if name in ("regs", "thread"):
        words = rest.split()
        flags = tuple(w for w in words if w.startswith("-"))
        others = [w for w in words if not w.startswith("-")]
        if any(f != "-a" for f in flags):
            raise usage()
        if name == "regs":
            if others:
                raise usage()
            return Command(name, tuple(words), rest, flags=flags)
        n = parse_int(others[0]) if len(others) == 1 else None
        if n is None or n < 0:
            raise usage()
        return Command(name, tuple(words), rest, number=n, flags=flags)
    if name in ("threads", "locals", "args"):
        if rest:
            raise usage()
        return Command(name)
    if name == "list":
        return Command(name, (rest,) if rest else (), rest)
    if name == "disassemble":
        return _disassemble(spec, rest)
    if name == "substitute-path":
        words = rest.split()
        if len(words) != 2:
            raise usage()
        return Command(name, tuple(words), rest)
    return Command(name, (), rest)


def _disassemble(spec: CommandSpec, rest: str) -> Command:
    """``disassemble``, ``disassemble -a START END``, ``disassemble -l LOCATION``."""
    words = rest.split()
    if not words:
        return Command(spec.name)
    if words[0] == "-a" and len(words) == 3:
        start, end = parse_int(words[1]), parse_int(words[2])
        if start is None or end is None or start < 0 or end <= start:
            raise ExplorerError("disassemble -a START END: two addresses, END after START")
        return Command(spec.name, tuple(words), rest, flags=("-a",), span=(start, end))
    if words[0] == "-l" and len(words) >= 2:
        loc = rest.split(None, 1)[1].strip()
        return Command(spec.name, tuple(words), loc, flags=("-l",))
    raise ExplorerError(f"usage: {spec.usage}")


def _split_path(rest: str) -> tuple[str, str]:
    """``EXPR PATH`` → (EXPR, PATH): the path is the last word, or a quoted string at the end."""
    rest = rest.strip()
    if rest and rest[-1] in "\"'":
        q = rest[-1]
        start = rest.rfind(q, 0, len(rest) - 1)
        if start > 0:
            return rest[:start].strip(), rest[start + 1 : -1]
    parts = rest.rsplit(None, 1)
    if len(parts) != 2:
        return "", ""
    return parts[0].strip(), parts[1]


def help_rows() -> list[tuple[str, str]]:
    """(usage with aliases, help) per command, for the help screen."""
    out = []
    for c in COMMANDS:
        alias = f"  ({', '.join(c.aliases)})" if c.aliases else ""
        out.append((c.usage + alias, c.help))
    return out
