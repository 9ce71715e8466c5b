"""Where the project's data files live (ontology, shapes, queries, example data).

The package is installed in editable mode from the repository (``make`` does this), so the data
directories sit beside the package. ``HMP_HOME`` overrides the root for unusual layouts.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(os.environ.get("HMP_HOME", Path(__file__).resolve().parents[1]))
ONTOLOGY_DIR = ROOT / "ontology"
ONTOLOGY_TTL = ONTOLOGY_DIR / "hmp.ttl"
ONTOLOGY_OWL = ONTOLOGY_DIR / "hmp.owl"
SHAPES_DIR = ROOT / "shapes"
QUERIES_DIR = ROOT / "queries"
CHECKS_DIR = QUERIES_DIR / "checks"
DATA_DIR = ROOT / "data"
EXAMPLE_STUDY = DATA_DIR / "example-study"
DEFAULT_STORE = Path(os.environ.get("HMP_STORE", ROOT / ".hmp-store"))
