"""Shared pytest fixtures: the crash corpus (see tests/corpus.py), made lazily, once per session.

Use ``corpus`` to ask for any core (``corpus("1.24.11", "opt", "panic")``, ``corpus("1.24.11", "opt",
"panic", arch="arm64")``), or parametrize the ``core_case`` fixture indirectly with
:func:`corpus.corpus_cases` cases::

    @pytest.mark.parametrize("core_case", corpus_cases(modes=["opt"]), ids=case_id, indirect=True)
    def test_something(core_case): ...

Cores are cached on disk between runs as well (cache_dir()/cores); a core that cannot be made is
a test failure, never a skip.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import CoreCase, make_core

CoreFactory = Callable[..., CoreCase]


@pytest.fixture(scope="session")
def corpus() -> CoreFactory:
    """A function (version, mode, scenario, args=(), arch="amd64") -> CoreCase, memoized for the
    session."""
    cache: dict[tuple[str, str, str, tuple[str, ...], str], CoreCase] = {}

    def get(version: str, mode: str, scenario: str, args: Sequence[str] = (), arch: str = "amd64") -> CoreCase:
        key = (version, mode, scenario, tuple(str(a) for a in args), arch)
        if key not in cache:
            cache[key] = make_core(version, mode, scenario, key[3], arch=arch)
        return cache[key]

    return get


@pytest.fixture
def core_case(request: pytest.FixtureRequest, corpus: CoreFactory) -> CoreCase:
    """The CoreCase of an indirect parameter: (version, mode, scenario[, args[, arch]])."""
    param = getattr(request, "param", None)
    if param is None:
        raise pytest.UsageError("core_case needs indirect parametrization with corpus_cases() cases")
    version, mode, scenario, *rest = param
    return corpus(version, mode, scenario, tuple(rest[0]) if rest else (), rest[1] if len(rest) > 1 else "amd64")
