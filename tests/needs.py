"""What a test module needs from the machine (a tool, a Python module), skipped or failed.

On a developer's machine a missing tool skips the tests that need it, with the reason. Under CI
(``CI=true``, as every CI service sets it) the same absence is a failure: a CI run must not go green
by skipping the tests it was meant to run.
"""

from __future__ import annotations

import importlib
import os
import shutil
from types import ModuleType

import pytest


def in_ci() -> bool:
    """True under CI (``CI`` set to anything but empty, ``0`` or ``false``)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def need(condition: bool, why: str) -> None:
    """Skip the calling module (or test) unless ``condition``; under CI, fail instead."""
    if condition:
        return
    if in_ci():
        pytest.fail(f"{why} (CI=true: a missing requirement fails the run)", pytrace=False)
    pytest.skip(why, allow_module_level=True)


def need_module(name: str, hint: str = "") -> ModuleType:
    """``importorskip`` that fails under CI."""
    try:
        return importlib.import_module(name)
    except ImportError:
        need(False, f"Python module {name} is not installed{f' ({hint})' if hint else ''}")
        raise  # not reached: need() skips or fails


def need_tool(name: str, hint: str = "") -> str:
    """The path of executable ``name``; skips (fails under CI) when it is not on PATH."""
    path = shutil.which(name)
    need(path is not None, f"{name} is not installed{f' ({hint})' if hint else ''}")
    assert path is not None
    return path
