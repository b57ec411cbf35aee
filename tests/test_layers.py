"""The house by runtime role (DESIGN §3): import-linter's contracts in pyproject.toml hold for the package.

Each contract is also shown to fail: the same contracts, run over a small stand-in ``kiosk`` package with one
bad import added, name the contract that the import breaks. The stand-in holds one module in every package the
contracts name, each importing only what its layer allows.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import tomli_w

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]

# the stand-in package: a module per package, each importing the one below it
STAND_IN = {
    "cli/main.py": "import kiosk.demo.run\n",
    "demo/run.py": "import kiosk.terminal.app\nimport kiosk.central.app\n",
    "terminal/app.py": "import kivy\nimport kiosk.device.sync\n",
    "central/app.py": "import fastapi\nimport sqlalchemy\nimport kiosk.core.episodes\n",
    "device/sync.py": "import requests\nimport sqlite3\nimport kiosk.vision.pose\nimport kiosk.clock\n",
    "device/store.py": "import sqlite3\n",
    "vision/pose.py": "import cv2\nimport mediapipe\nimport kiosk.sim.simulate\n",
    "sim/simulate.py": "import kiosk.core.episodes\n",
    "core/episodes.py": "import kiosk.core.scene\nimport kiosk.settings.tree\n",
    "core/scene.py": "",
    "settings/tree.py": "import pydantic\nimport kiosk.wire.aggregate\n",
    "wire/aggregate.py": "import kiosk.vocabulary\n",
    "clock.py": "import datetime\n",
    "vocabulary.py": "import typing\n",
}


def lint(package_root: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
                               "sys.exit(lint_imports_command())", "--no-cache"],
        cwd=cwd, env={"PYTHONPATH": str(package_root), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120,
    )


def broken_contracts(output: str) -> set[str]:
    names = {c["name"]: c["id"] for c in CONTRACTS["contracts"]}
    return {cid for name, cid in names.items() if f"{name} BROKEN" in " ".join(output.split())}


def stand_in(tmp_path: Path, extra: dict[str, str]) -> Path:
    pkg = tmp_path / "src" / "kiosk"
    for rel, text in {**STAND_IN, **extra}.items():
        path = pkg / rel
        for folder in [pkg, *reversed(path.relative_to(pkg).parents[:-1])]:
            (pkg / folder).mkdir(parents=True, exist_ok=True)
            (pkg / folder / "__init__.py").touch()
        path.write_text(path.read_text() + text if path.exists() else text)
    (tmp_path / "pyproject.toml").write_text(tomli_w.dumps({"tool": {"importlinter": CONTRACTS}}))
    return tmp_path / "src"


def test_the_package_keeps_every_contract():
    out = lint(ROOT, ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert broken_contracts(out.stdout) == set()


def test_the_stand_in_keeps_every_contract(tmp_path: Path):
    out = lint(stand_in(tmp_path, {}), tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("case, extra, broken", [
    ("server loads the sync client", {"central/app.py": "import kiosk.device.sync\n"}, {"central"}),
    ("server loads the terminal", {"central/app.py": "import kiosk.terminal.app\n"}, {"central", "layers", "pixels"}),
    ("server loads requests", {"central/app.py": "import requests\n"}, {"central"}),
    ("core loads kivy", {"core/scene.py": "import kivy\n"}, {"core", "pixels"}),
    ("core loads cv2", {"core/scene.py": "import cv2\n"}, {"core"}),
    ("core loads mediapipe", {"core/scene.py": "import mediapipe\n"}, {"core"}),
    ("core loads fastapi", {"core/scene.py": "from fastapi import FastAPI\n"}, {"core"}),
    ("core loads sqlalchemy", {"core/scene.py": "import sqlalchemy.orm\n"}, {"core"}),
    ("core loads sqlite3", {"core/scene.py": "def f():\n    import sqlite3\n"}, {"core"}),
    ("core loads requests", {"core/scene.py": "import requests\n"}, {"core"}),
    ("core reads the wall clock", {"core/scene.py": "from kiosk.clock import utc_now\n"}, {"core"}),
    ("core loads the device", {"core/scene.py": "import kiosk.device.store\n"}, {"layers"}),
    ("settings load the core", {"settings/tree.py": "import kiosk.core.scene\n"}, {"layers"}),
    ("the vocabulary loads the wire format", {"vocabulary.py": "import kiosk.wire.aggregate\n"}, {"layers"}),
    ("two modules import each other", {"device/store.py": "import kiosk.device.sync\n",
                                       "device/sync.py": "import kiosk.device.store\n"}, {"cycles"}),
    ("two core modules import each other", {"core/scene.py": "import kiosk.core.episodes\n"}, {"cycles"}),
])
def test_a_bad_import_breaks_its_contract(tmp_path: Path, case: str, extra: dict[str, str], broken: set[str]):
    # ``broken`` is the contract the import is about; others may break too (the server imports the core, so a
    # core that loads cv2 makes a server that loads cv2).
    out = lint(stand_in(tmp_path, extra), tmp_path)
    assert out.returncode == 1, out.stdout + out.stderr
    assert broken <= broken_contracts(out.stdout)
