"""The architecture, as the import contracts in pyproject.toml state it, checked by lint-imports.

Imports flow one way: clinic <- patients <- scheduling, with config (the wiring) on top; a
patient page may read scheduling's selectors; no import cycles inside scheduling. Imports
inside functions count as much as those at the top of a module.

The first test holds the real tree to the contracts. The others prove each contract can fail:
they copy the Python sources of the four packages (nothing else) to a temporary folder, add one
import that breaks the contract, and run lint-imports there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.config.support import ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
# Every package the contracts name, read from the same place lint-imports reads them.
PACKAGES = tuple(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["root_packages"])


def lint_imports(root: Path, *contracts: str) -> subprocess.CompletedProcess:
    """lint-imports on the tree at `root`, limited to `contracts` when any are named."""
    command = [str(LINT_IMPORTS), "--no-cache", "--no-logo", *(f"--contract={contract}" for contract in contracts)]
    # The packages are found from the working directory, never from the tree the tests run in;
    # a wide console keeps each contract's name and verdict on one line.
    environment = os.environ | {"PYTHONPATH": str(root), "COLUMNS": "200"}
    return subprocess.run(command, cwd=root, env=environment, capture_output=True, text=True, timeout=60)


def _not_python_source(folder: str, names: list[str]) -> list[str]:
    return [name for name in names if name == "__pycache__" or (Path(folder, name).is_file() and name[-3:] != ".py")]


@pytest.fixture
def tree_copy(tmp_path) -> Path:
    """The four packages' Python files and pyproject.toml, in a folder of their own."""
    root = tmp_path / "tree"
    for package in PACKAGES:
        shutil.copytree(ROOT / package, root / package, ignore=_not_python_source)
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def write(root: Path, path: str, text: str) -> None:
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)


def test_the_tree_keeps_every_import_contract():
    result = lint_imports(ROOT)

    assert result.returncode == 0, result.stdout + result.stderr
    assert " kept, 0 broken." in result.stdout, result.stdout


@pytest.mark.parametrize(
    ("probe", "imports"),
    [
        ("from scheduling.models import Appointment\n", "clinic.architecture_probe -> scheduling.models"),
        ("def plan():\n    from patients import models\n", "clinic.architecture_probe -> patients.models"),
        ("import config.urls\n", "clinic.architecture_probe -> config.urls"),
    ],
    ids=["scheduling", "patients-inside-a-function", "config"],
)
def test_it_fails_when_a_clinic_module_imports_an_app_above_it(tree_copy, probe, imports):
    write(tree_copy, "clinic/architecture_probe.py", probe)

    result = lint_imports(tree_copy, "clinic-stands-alone")

    assert result.returncode != 0, result.stdout
    assert "clinic imports nothing of patients, scheduling or config BROKEN" in result.stdout, result.stdout
    assert imports in result.stdout, result.stdout


def test_it_fails_when_patients_reaches_into_scheduling_other_than_from_a_page(tree_copy):
    write(
        tree_copy,
        "patients/architecture_probe.py",
        "def doses_given():\n    from scheduling.models import Appointment\n",
    )

    result = lint_imports(tree_copy, "patients-below-scheduling")

    assert result.returncode != 0, result.stdout
    assert "patients imports nothing of scheduling" in result.stdout and "BROKEN" in result.stdout, result.stdout
    assert "patients.architecture_probe -> scheduling.models" in result.stdout, result.stdout


def test_only_a_patient_page_may_read_schedulings_selectors(tree_copy):
    seam = "\nimport scheduling.doses  # noqa: E402, F401\nimport scheduling.reminders.selectors  # noqa: E402, F401\n"
    for selectors in ("scheduling/doses.py", "scheduling/reminders/selectors.py"):
        if not (tree_copy / selectors).exists():
            write(tree_copy, selectors, "")
    for module in ("patients/views.py", "patients/forms.py"):
        path = tree_copy / module
        path.write_text(path.read_text() + seam)

    result = lint_imports(tree_copy, "patients-below-scheduling")

    assert "patients.forms -> scheduling.doses" in result.stdout, result.stdout
    assert "patients.forms -> scheduling.reminders.selectors" in result.stdout, result.stdout
    assert "patients.views -> scheduling.doses" not in result.stdout, result.stdout
    assert "patients.views -> scheduling.reminders.selectors" not in result.stdout, result.stdout


def test_it_fails_on_an_import_cycle_inside_scheduling(tree_copy):
    write(tree_copy, "scheduling/architecture_probe/__init__.py", "")
    write(tree_copy, "scheduling/architecture_probe/slots.py", "from scheduling.architecture_probe import rules\n")
    write(tree_copy, "scheduling/architecture_probe/rules.py", "def check():\n    from . import slots\n")

    result = lint_imports(tree_copy, "scheduling-acyclic")

    assert result.returncode != 0, result.stdout
    assert "no import cycles between the parts of scheduling BROKEN" in result.stdout, result.stdout
    assert "No cycles are allowed in scheduling.architecture_probe." in result.stdout, result.stdout


def test_the_apps_never_import_the_wiring(tree_copy):
    write(tree_copy, "scheduling/architecture_probe.py", "from config.settings import SITE_URL\n")

    result = lint_imports(tree_copy, "apps-below-config")

    assert result.returncode != 0, result.stdout
    assert "scheduling.architecture_probe -> config.settings" in result.stdout, result.stdout
