"""The READMEs' notebook example is examples/notebook.py, and it runs."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT

CRATE = ROOT / "crates" / "pharm-ffi" / "python"


def test_the_readmes_show_the_example_file() -> None:
    example = (CRATE / "examples" / "notebook.py").read_text("utf-8")
    for readme in (CRATE / "README.md", ROOT / "README.md"):
        assert f"```python\n{example}```" in readme.read_text("utf-8"), readme
    assert len(example.splitlines()) <= 15


def test_the_example_runs() -> None:
    pytest.importorskip("polars")
    pytest.importorskip("pyarrow")
    run = subprocess.run(
        [sys.executable, str(CRATE / "examples" / "notebook.py")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "A207687-001" in run.stdout  # a generic of Lipitor 10 mg
    assert "AB1" in run.stdout  # an edge's code
    assert "allow" in run.stdout and "10000" in run.stdout  # the batch's outcomes
