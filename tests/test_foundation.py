"""The project's foundation: version written once, CLI entry point, concept lookup."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest

import kg
from kg.concepts import concept_index

ROOT = Path(__file__).resolve().parents[1]
HMP = str(Path(sys.executable).with_name("hmp"))


def test_version_comes_from_package_metadata_only() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert kg.__version__ == version("hmp-kg") == declared
    # written once: no other Python file repeats the literal version string
    repeats = [
        p for p in (ROOT / "kg").rglob("*.py") if f'"{declared}"' in p.read_text() and p.name != "vocab.py"
    ]
    assert repeats == []


def test_console_script_prints_version() -> None:
    done = subprocess.run([HMP, "version"], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == kg.__version__


def test_top_level_layout_is_the_designed_one() -> None:
    for name in ("README.md", "pyproject.toml", "ontology", "kg", "shapes", "queries", "tests", "service"):
        assert (ROOT / name).exists(), name
    assert "make test" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize(
    ("scheme", "text", "local"),
    [
        ("occupation", "Doctor", "occupation-doctor"),
        ("occupation", "registered nurse", "occupation-nurse"),
        ("role", "GP", "role-general-practitioner"),
        ("role", "medical-director", "role-medical-director"),
        ("setting", "General Hospital", "setting-general-hospital"),
        ("band", "21-30", "band-21-30"),
        ("band", "band-over-30", "band-over-30"),
        ("stage", "awakening", "stage-awakening"),
        ("career-stage", "early", "career-stage-early"),  # regression: two-word scheme prefix
        ("initiative", "cost control and resource efficiency", "initiative-cost-control"),
    ],
)
def test_concept_lookup_normalises_what_researchers_write(scheme: str, text: str, local: str) -> None:
    found = concept_index().lookup(scheme, text)
    assert found is not None and found.local == local


def test_concept_lookup_is_scheme_bound_and_lists_accepted_values() -> None:
    index = concept_index()
    assert index.lookup("occupation", "matron") is None  # a role, not an occupation
    assert index.lookup("occupation", "surgeon") is None
    accepted = index.accepted("setting")
    for label in ("general hospital", "primary care", "national leadership"):
        assert label in accepted
