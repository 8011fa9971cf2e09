"""Every ```python block of the README runs as pasted: in a fresh process, offline, from an empty folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```", README.read_text(), flags=re.S | re.M)


def test_the_readme_has_python_blocks():
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_block_runs_as_pasted(index, tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    env.pop("PYTHONPATH", None)
    result = subprocess.run(
        [sys.executable, "-c", BLOCKS[index]], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"README block {index + 1} failed:\n{BLOCKS[index]}\n{result.stderr[-3000:]}"


def test_ci_runs_the_readme_test_command():
    """`.ci/run` runs exactly the README's second command."""
    commands = re.findall(r"^```bash\n(.*?)\n```", README.read_text(), flags=re.S | re.M)
    ci = (README.parent / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert commands[1].strip() == ci.strip()
