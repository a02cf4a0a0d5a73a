"""tests/needs.py, the TUI tests' requirements: a missing tool skips locally, fails under CI=true."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent


def test_missing_tool_skips_locally_and_fails_under_ci(tmp_path: Path) -> None:
    """The TUI's tmux and snapshot tests skip without their tool, except under CI=true (tests/needs.py)."""
    (tmp_path / "test_x.py").write_text(
        "from needs import need_tool\nneed_tool('no-such-tool-gocore')\n\ndef test_x():\n    pass\n")
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'tests'}{os.pathsep}{REPO}"}
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", os.devnull, str(tmp_path)]
    env.pop("CI", None)
    local = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert local.returncode in (0, 5) and "1 skipped" in local.stdout, local.stdout  # 5: nothing ran
    ci = subprocess.run(cmd, capture_output=True, text=True, env={**env, "CI": "true"}, cwd=tmp_path, timeout=120)
    assert ci.returncode not in (0, 5) and "no-such-tool-gocore is not installed" in ci.stdout, ci.stdout
