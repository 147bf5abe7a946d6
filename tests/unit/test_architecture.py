"""The package boundaries hold (import-linter contracts in pyproject.toml), and they catch a break:
the same contracts, run on a copy of the code with one upward import added, fail."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT = str(Path(sys.executable).with_name("lint-imports"))


def _lint(where: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(where)}
    return subprocess.run([LINT, "--no-cache"], cwd=where, env=env, capture_output=True, text=True, timeout=120,
                          check=False)


def test_the_import_contracts_hold():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_upward_import_breaks_them(tmp_path):
    shutil.copytree(ROOT / "app", tmp_path / "app", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    units = tmp_path / "app" / "inventory" / "units.py"
    units.write_text("from app.swaps import reserve  # inventory reaching up into swaps\n" + units.read_text())
    result = _lint(tmp_path)
    assert result.returncode != 0
    assert "app.inventory.units -> app.swaps.reserve" in result.stdout
